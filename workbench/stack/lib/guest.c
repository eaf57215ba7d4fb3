/* Guest runtime: see guest.h. */
#include "guest.h"

struct shared_info *shinfo;
struct start_info *start;
u32 my_domid;
volatile u32 port_count[NR_EVTCHN];
static port_handler_t handlers[NR_EVTCHN];

extern void upcall_entry(void);
extern int main(void);
STATIC_ASSERT(HC_iret == 9);   /* guest_start.S hard-codes it */

void set_port_handler(u32 port, port_handler_t h)
{
    if (port < NR_EVTCHN)
        handlers[port] = h;
}

static u32 lowest_bit(u32 x)
{
    u32 n = 0;
    while (!(x & 1))
        x >>= 1, n++;
    return n;
}

/* Called from upcall_entry with upcalls masked: consume pending unmasked ports. */
void do_upcall(void)
{
    struct vcpu_info *vi = &shinfo->vcpu[0];
    WRITE_ONCE(vi->upcall_pending, 0);
    u32 sel = __atomic_exchange_n(&vi->pending_sel, 0, __ATOMIC_SEQ_CST);
    while (sel) {
        u32 w = lowest_bit(sel);
        sel &= sel - 1;
        u32 bits = READ_ONCE(shinfo->evtchn_pending[w]) & ~READ_ONCE(shinfo->evtchn_mask[w]);
        while (bits) {
            u32 b = lowest_bit(bits);
            bits &= bits - 1;
            u32 port = w * 32 + b;
            __atomic_fetch_and(&shinfo->evtchn_pending[w], ~(1u << b), __ATOMIC_SEQ_CST);
            port_count[port]++;
            if (handlers[port])
                handlers[port](port);
        }
    }
}

void upcalls_unmask(void)
{
    struct vcpu_info *vi = &shinfo->vcpu[0];
    WRITE_ONCE(vi->upcall_mask, 0);
    fence();
    if (READ_ONCE(vi->upcall_pending))
        hv_version(0, 0, 0, 0, 0, 0);     /* any hypercall: the upcall is delivered on return */
}

void guest_wait(int (*cond)(void *), void *arg)
{
    struct vcpu_info *vi = &shinfo->vcpu[0];
    for (;;) {
        WRITE_ONCE(vi->upcall_mask, 1);
        fence();
        if (cond(arg)) {
            upcalls_unmask();
            return;
        }
        hc_block();                       /* unmasks and sleeps unless an upcall is pending */
    }
}

struct port_wait { u32 port, seen; };
static int port_changed(void *a)
{
    struct port_wait *w = a;
    return port_count[w->port] != w->seen;
}

u32 wait_port(u32 port, u32 seen)
{
    struct port_wait w = { port, seen };
    guest_wait(port_changed, &w);
    return port_count[port];
}

u64 guest_now(void)
{
    u32 ver, lo, hi;
    do {
        ver = READ_ONCE(shinfo->time_version);
        fence();
        lo = READ_ONCE(shinfo->time_lo);
        hi = READ_ONCE(shinfo->time_hi);
        fence();
    } while ((ver & 1) || ver != READ_ONCE(shinfo->time_version));
    return (u64)hi << 32 | lo;
}

static u32 timer_port;

u32 guest_timer_port(void)
{
    if (!timer_port) {
        long p = evtchn_bind_virq(VIRQ_TIMER);
        GASSERT(p > 0);
        timer_port = p;
    }
    return timer_port;
}

void sleep_ticks(u32 ticks)
{
    guest_timer_port();
    u32 seen = port_count[timer_port];
    hc_set_timer(guest_now() + ticks);
    wait_port(timer_port, seen);
}

int gprintf(const char *fmt, ...)
{
    char buf[CONSOLE_MAX_WRITE];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n > (int)sizeof(buf) - 1)
        n = sizeof(buf) - 1;
    hv_console_io(CONSOLEIO_write, n, (long)buf, 0, 0, 0);
    return n;
}

void guest_panic(const char *msg)
{
    gprintf("guest panic: %s\n", msg);
    hv_sched_op(SCHEDOP_crash, 0, 0, 0, 0, 0);
    for (;;)
        ;
}

long evtchn_send(u32 port)
{
    struct evtchn_port p = { port };
    return hc_evtchn(EVTCHNOP_send, &p);
}

long evtchn_alloc_unbound(u32 remote)
{
    struct evtchn_alloc_unbound a = { DOMID_SELF, remote, 0 };
    long r = hc_evtchn(EVTCHNOP_alloc_unbound, &a);
    return r < 0 ? r : (long)a.port;
}

long evtchn_bind_interdomain(u32 dom, u32 port)
{
    struct evtchn_bind_interdomain b = { dom, port, 0 };
    long r = hc_evtchn(EVTCHNOP_bind_interdomain, &b);
    return r < 0 ? r : (long)b.local_port;
}

long evtchn_bind_virq(u32 virq)
{
    struct evtchn_bind_virq b = { virq, 0 };
    long r = hc_evtchn(EVTCHNOP_bind_virq, &b);
    return r < 0 ? r : (long)b.port;
}

/* First C code of every guest (guest_start.S). */
void guest_entry(u32 domid, struct shared_info *si)
{
    shinfo = si;
    start = &si->start;
    my_domid = domid;
    hv_set_callbacks((long)upcall_entry, 0, 0, 0, 0, 0);
    upcalls_unmask();
    int rc = main();
    if (rc)
        gprintf("main returned %d\n", rc);
    hc_shutdown(rc ? SHUTDOWN_crash : SHUTDOWN_poweroff);
    for (;;)
        ;
}
