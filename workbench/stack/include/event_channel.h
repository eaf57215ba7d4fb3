/* ABI of event_channel_op(cmd, arg): arg points to the sub-operation's struct in the caller's slot. */
#ifndef EVENT_CHANNEL_ABI_H
#define EVENT_CHANNEL_ABI_H
#include "types.h"

#define DOMID_SELF 0x7FF0u

enum evtchn_cmd { EVTCHNOP_alloc_unbound = 0, EVTCHNOP_bind_interdomain = 1, EVTCHNOP_bind_virq = 2,
                  EVTCHNOP_send = 3, EVTCHNOP_close = 4, EVTCHNOP_mask = 5, EVTCHNOP_unmask = 6,
                  EVTCHNOP_bind_pirq = 7 };

struct evtchn_alloc_unbound {
    u32 dom;          /* IN: domain to allocate in (DOMID_SELF; another only for the PrivVM) */
    u32 remote_dom;   /* IN: who may bind to it */
    u32 port;         /* OUT */
};
struct evtchn_bind_interdomain {
    u32 remote_dom;   /* IN */
    u32 remote_port;  /* IN: an unbound port of remote_dom allocated for us */
    u32 local_port;   /* OUT */
};
struct evtchn_bind_virq {
    u32 virq;         /* IN: enum virq */
    u32 port;         /* OUT */
};
struct evtchn_bind_pirq {
    u32 pirq;         /* IN: PLIC source of a device assigned to the caller (physdev.h) */
    u32 port;         /* OUT */
};
struct evtchn_port {  /* send, close, mask, unmask */
    u32 port;         /* IN */
};
#endif
