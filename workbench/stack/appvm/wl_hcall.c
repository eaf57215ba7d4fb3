/* `hcall`: hypercall- and event-intensive (UnixBench's role in the papers).  Each iteration yields,
 * ping-pongs an event with the PrivVM, sends itself an event over a loopback channel, runs a
 * multicall batch, grant-copies a block to itself and one from the PrivVM's shared page, polls a
 * silent port with a timeout, computes, and every 8th iteration sleeps on a one-shot timer.  The checksum depends only on (iterations, seed): never on time or harts. */
#include "appvm.h"

static u8 gpage[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));   /* granted to ourselves */
static u32 src[16];

void wl_hcall(const struct wl_params *p)
{
    u32 h = 0x811C9DC5u, x = p->seed ? p->seed : 1, ok = 1;
    char k[STORE_MAX_PATH], v[16];

    long ping = evtchn_alloc_unbound(0);                   /* to the PrivVM, which echoes */
    GASSERT(ping > 0);
    snprintf(k, sizeof(k), "/local/domain/%u/ping-port", my_domid);
    snprintf(v, sizeof(v), "%d", (int)ping);
    GASSERT(store_write(k, v) == 0);
    long lb_rx = evtchn_alloc_unbound(my_domid);           /* loopback pair */
    GASSERT(lb_rx > 0);
    long lb_tx = evtchn_bind_interdomain(DOMID_SELF, lb_rx);
    GASSERT(lb_tx > 0);
    struct gnttab_grant g = { my_domid, (u32)(uptr)gpage, 0, 0 };
    GASSERT(hc_gnttab(GNTTABOP_grant, &g) == 0);
    struct evtchn_port lbp = { (u32)lb_tx };
    snprintf(k, sizeof(k), "/local/domain/%u/shared-gref", my_domid);
    GASSERT(store_read(k, v, sizeof(v)) > 0);
    u32 shared_gref = atou(v);
    long silent = evtchn_alloc_unbound(0);                 /* nobody ever binds it */
    GASSERT(silent > 0);

    for (u32 it = 0; it < p->iterations; it++) {
        hc_yield();

        u32 seen = port_count[ping];                       /* ping-pong with the PrivVM */
        GASSERT(evtchn_send(ping) == 0);
        wait_port(ping, seen);
        h = mix(h, 1);

        seen = port_count[lb_rx];                          /* loopback event */
        GASSERT(evtchn_send(lb_tx) == 0);
        wait_port(lb_rx, seen);
        h = mix(h, 2);

        struct multicall_entry mc[4] = {                   /* a batch */
            { HC_version, { 0 }, 0 },
            { HC_heartbeat, { 0 }, 0 },
            { HC_event_channel_op, { EVTCHNOP_send, (u32)(uptr)&lbp }, 0 },
            { HC_sched_op, { SCHEDOP_yield }, 0 },
        };
        seen = port_count[lb_rx];
        GASSERT(hv_multicall((long)mc, 4, 0, 0, 0, 0) == 0);
        wait_port(lb_rx, seen);
        for (u32 i = 0; i < 4; i++)
            h = mix(h, (u32)mc[i].result);

        for (u32 i = 0; i < 16; i++)                       /* grant copy, then check */
            src[i] = x = xorshift(x);
        u32 off = (it * 64) % PAGE_SIZE;
        struct gnttab_copy c = { { (u32)(uptr)src, DOMID_SELF, 0 }, { g.ref, my_domid, off }, 64, 1 };
        GASSERT(hc_gnttab(GNTTABOP_copy, &c) == 0 && c.status == 0);
        if (memcmp(gpage + off, src, 64))
            ok = 0;
        for (u32 i = 0; i < 16; i++)
            h = mix(h, ((u32 *)(gpage + off))[i]);

        u32 soff = (it * 68) % (PAGE_SIZE - 64) & ~3u;      /* cross-domain copy from the PrivVM */
        struct gnttab_copy sc = { { shared_gref, 0, soff }, { (u32)(uptr)src, DOMID_SELF, 0 }, 64, 1 };
        GASSERT(hc_gnttab(GNTTABOP_copy, &sc) == 0);
        for (u32 i = 0; i < 16; i++) {
            if (src[i] != (soff / 4 + i) * 0x9E3779B9u)
                ok = 0;
            h = mix(h, src[i]);
        }
        struct gnttab_copy wc = { { (u32)(uptr)src, DOMID_SELF, 0 }, { shared_gref, 0, soff }, 4, 1 };
        if (hc_gnttab(GNTTABOP_copy, &wc) != -EINVAL)     /* the grant is read-only */
            ok = 0;

        if ((it & 3) == 3) {                               /* poll with timeout on a silent port */
            GASSERT(hv_sched_op(SCHEDOP_poll, silent, 500, 0, 0, 0) == 0);
            h = mix(h, 4);
        }

        for (u32 j = 0; j < 32; j++)                       /* some computation */
            h = mix(h, x = xorshift(x));

        if ((it & 7) == 7) {                               /* timer */
            sleep_ticks(2000);
            h = mix(h, 3);
        }
        wl_progress = it + 1;
    }
    wl_result.iterations = p->iterations;
    wl_result.checksum = h;
    wl_result.status = ok ? WL_OK : WL_FAIL;
}
