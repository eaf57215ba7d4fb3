/* The guest runtime shared by the PrivVM and the AppVM kernel (and later the driver VM): start-up,
 * console, event channels with upcalls, waiting, timers, and thin wrappers over the hypercalls. */
#ifndef GUEST_H
#define GUEST_H
#include "lib.h"
#include "platform.h"
#include "hypercall.h"
#include "hverrno.h"
#include "shared_info.h"
#include "sched.h"
#include "console.h"
#include "event_channel.h"
#include "grant_table.h"
#include "multicall.h"
#include "domctl.h"

extern struct shared_info *shinfo;
extern struct start_info *start;
extern u32 my_domid;

/* Events: upcalls count arrivals per port and call an optional handler (in upcall context). */
extern volatile u32 port_count[NR_EVTCHN];
typedef void (*port_handler_t)(u32 port);
void set_port_handler(u32 port, port_handler_t h);
void guest_init(u32 domid, struct shared_info *si);
void upcalls_unmask(void);

/* Sleep until cond(arg) holds; cond runs with upcalls masked, so no event can slip past. */
void guest_wait(int (*cond)(void *), void *arg);
/* Sleep until port_count[port] differs from `seen`; returns the new count. */
u32 wait_port(u32 port, u32 seen);

u64 guest_now(void);
void sleep_ticks(u32 ticks);    /* one-shot timer + VIRQ_TIMER */
u32 guest_timer_port(void);     /* the VIRQ_TIMER port (bound on first use) */

int gprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void guest_panic(const char *msg) __attribute__((noreturn));
#define GASSERT(c) do { if (!(c)) guest_panic("assertion failed: " #c); } while (0)

/* Thin hypercall wrappers. */
static inline long hc_yield(void) { return hv_sched_op(SCHEDOP_yield, 0, 0, 0, 0, 0); }
static inline long hc_block(void) { return hv_sched_op(SCHEDOP_block, 0, 0, 0, 0, 0); }
static inline long hc_shutdown(u32 reason) { return hv_sched_op(SCHEDOP_shutdown, reason, 0, 0, 0, 0); }
static inline long hc_heartbeat(void) { return hv_heartbeat(0, 0, 0, 0, 0, 0); }
static inline long hc_set_timer(u64 t) { return hv_set_timer_op((u32)t, (u32)(t >> 32), 0, 0, 0, 0); }
static inline long hc_evtchn(u32 cmd, void *arg) { return hv_event_channel_op(cmd, (long)arg, 0, 0, 0, 0); }
static inline long hc_gnttab(u32 cmd, void *arg) { return hv_grant_table_op(cmd, (long)arg, 0, 0, 0, 0); }
static inline long hc_domctl(u32 cmd, void *arg) { return hv_domctl(cmd, (long)arg, 0, 0, 0, 0); }
long evtchn_send(u32 port);
long evtchn_alloc_unbound(u32 remote);            /* -> port or -errno */
long evtchn_bind_interdomain(u32 dom, u32 port);  /* -> local port or -errno */
long evtchn_bind_virq(u32 virq);                  /* -> port or -errno */

/* Config-store client over the store ring (AppVMs; the PrivVM serves the store itself). */
typedef void (*store_watch_cb)(const char *path, const char *token);
void store_client_init(void);
int store_read(const char *path, char *buf, u32 size);   /* -> length, or -1 */
int store_write(const char *path, const char *value);    /* -> 0 or -1 */
int store_watch(const char *path, const char *token, store_watch_cb cb);
int store_directory(const char *path, char *buf, u32 size); /* child names, NUL separated */
void store_poll(void);                                   /* run callbacks of arrived watch events */
int store_pending(void);                                 /* a watch event waits for store_poll */

/* Split-driver helpers (xenbus.c): keys of a store directory, and its "state" (xenbus.h). */
int xb_read_u32(const char *dir, const char *key, u32 *val);   /* -> 0, or -1 if absent */
int xb_write_u32(const char *dir, const char *key, u32 val);
int xb_read_str(const char *dir, const char *key, char *buf, u32 size);
u32 xb_state(const char *dir);                                 /* XB_UNKNOWN if absent */
int xb_set_state(const char *dir, u32 state);
long hc_physdev_eoi(u32 irq);
long evtchn_bind_pirq(u32 pirq);                               /* -> port or -errno */
long evtchn_close(u32 port);
long gnttab_grant_page(u32 domid, void *page, int readonly);   /* -> ref or -errno */
long gnttab_copy_to(u32 domid, u32 ref, u32 off, const void *src, u32 len);    /* into a grant */
long gnttab_copy_from(u32 domid, u32 ref, u32 off, void *dst, u32 len);        /* out of one */
#endif
