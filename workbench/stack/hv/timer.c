/* Per-hart timers on the CLINT: a sorted list per hart; mtimecmp is set to the earliest of the first
 * timer, the end of the running vCPU's time slice and a periodic tick.  The tick path reloads this
 * hart's watchdog, so a hart stuck with interrupts disabled stops reloading it and is caught. */
#include "hv.h"

/* Hypervisor system time (Xen's NOW()): base + (mtime - stamp) * mul, static, so a new instance
 * starts it again from its own boot; published to guests in shared info (trap.c) and used for every
 * deadline the hypervisor keeps (guest timers, time slices, the tick).  Guarded by: written once by
 * hart 0 at boot, before any other hart reads it. */
struct hv_time hv_time;

static u64 mtime(void)
{
    u32 hi, lo;
    do {
        hi = mmio_read(CLINT_MTIME + 4);
        lo = mmio_read(CLINT_MTIME);
    } while (hi != mmio_read(CLINT_MTIME + 4));
    return (u64)hi << 32 | lo;
}

void time_init(void)
{
    hv_time.stamp = mtime();
    hv_time.base = 0;                   /* a fresh instance: system time starts at its boot */
    hv_time.mul = TIME_SCALE_ONE;
    hv_time.inv = TIME_SCALE_ONE;
}

/* ReHype's time_continuity: system time goes on from `t` (the failed instance's latest). */
void time_continue(u64 t)
{
    hv_time.stamp = mtime();
    hv_time.base = t;
}

u64 now(void)
{
    u64 m = mtime();
    if (m < hv_time.stamp)              /* harts' clocks differ by up to a quantum: never negative */
        m = hv_time.stamp;
    return hv_time.base + (((m - hv_time.stamp) * hv_time.mul) >> 16);
}

/* The mtime at which system time reaches t (for mtimecmp); past times give the stamp. */
static u64 mtime_at(u64 t)
{
    return t <= hv_time.base ? hv_time.stamp : hv_time.stamp + (((t - hv_time.base) * hv_time.inv) >> 16);
}

static void clint_set(u32 h, u64 t)
{
    mmio_write(CLINT_MTIMECMP(h) + 4, 0xFFFFFFFFu);   /* no spurious interrupt between the halves */
    mmio_write(CLINT_MTIMECMP(h), (u32)t);
    mmio_write(CLINT_MTIMECMP(h) + 4, (u32)(t >> 32));
}

void wdog_reload(void)
{
    struct percpu *pc = this_cpu();
    if (pc->has_wdog)
        mmio_write(WDOG_BASE + WDOG_STRIDE * pc->hartid + 12, 1);
}

/* Program this hart's mtimecmp for the next event. */
void timer_reprogram(void)
{
    struct percpu *pc = this_cpu();
    /* the periodic tick reloads the watchdog; its deadline must not move with every reprogram, or a
     * hart that reschedules more often than the tick would never take it and the watchdog would fire */
    if (!pc->tick_deadline)
        pc->tick_deadline = now() + hv.watchdog_ticks / 4;
    u64 next = pc->tick_deadline;
    if (pc->curr && pc->slice_end < next)
        next = pc->slice_end;
    struct timer *t = READ_ONCE(pc->timers);
    if (t && t->deadline < next)
        next = t->deadline;
    clint_set(pc->hartid, mtime_at(next));
}

void timer_init_hart(void)
{
    struct percpu *pc = this_cpu();
    spin_init(&pc->timer_lock);
    pc->timers = NULL;
    mmio_write(CLINT_MSIP(pc->hartid), 0);
    timer_reprogram();
    csr_write(mie, MIP_MTIP | MIP_MSIP | MIP_MEIP);
}

static void unlink(struct percpu *pc, struct timer *t)
{
    for (struct timer **pp = &pc->timers; *pp; pp = &(*pp)->next)
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    t->active = 0;
    t->next = NULL;
}

/* Arm t (re-arm if active) on its hart t->hart. */
void timer_set(struct timer *t, u64 deadline)
{
    struct percpu *pc = &percpu[t->hart];
    LOCK(&pc->timer_lock);
    if (t->active)
        unlink(pc, t);
    t->deadline = deadline;
    struct timer **pp = &pc->timers;
    while (*pp && (*pp)->deadline <= deadline)
        pp = &(*pp)->next;
    t->next = *pp;
    *pp = t;
    t->active = 1;
    spin_unlock(&pc->timer_lock);
    if (t->hart == this_hart())
        timer_reprogram();
    else
        mmio_write(CLINT_MSIP(t->hart), 1);
}

void timer_cancel(struct timer *t)
{
    struct percpu *pc = &percpu[t->hart];
    LOCK(&pc->timer_lock);
    if (t->active)
        unlink(pc, t);
    spin_unlock(&pc->timer_lock);
}

/* Machine timer interrupt: run expired timers (without the lock held), reload the watchdog. */
void timer_interrupt(void)
{
    struct percpu *pc = this_cpu();
    u64 t_now = now();
    for (;;) {
        LOCK(&pc->timer_lock);
        struct timer *t = pc->timers;
        if (!t || t->deadline > t_now) {
            spin_unlock(&pc->timer_lock);
            break;
        }
        unlink(pc, t);
        struct domain *d = t->dom;
        if (d)
            get_domain(d);              /* a destroy meanwhile must not free t under fn */
        spin_unlock(&pc->timer_lock);
        t->in_handler = 1;              /* recovery: unlinked, fn under way (not yet re-armed) */
        fence();
        t->fn(t);
        if (t->period) {
            u64 next = t->deadline + t->period;
            timer_set(t, next > t_now ? next : t_now + t->period);   /* late: no burst of catch-ups */
        }
        fence();
        t->in_handler = 0;
        if (d)
            put_domain(d);
    }
    if (t_now >= pc->tick_deadline) {
        wdog_reload();
        pc->tick_deadline = t_now + hv.watchdog_ticks / 4;
    }
    timer_reprogram();
}

/* ---- the hypervisor's own recurring timers ---- */
#define ACCT_PERIOD (TIMEBASE_HZ / 100)            /* 10 ms, like Xen's credit accounting tick */
#define HB_PERIOD   (DVM_HEARTBEAT_LIMIT)         /* check as often as the limit */

/* Scheduler accounting: charge the running vCPU one period. */
static void acct_tick(struct timer *t)
{
    struct vcpu *v = this_cpu()->curr;
    if (v)
        v->runtime += t->period;
}

/* Heartbeat monitor: a PrivVM or DVM whose last heartbeat is older than the limit missed one
 * (recorded in preserved state; the component-microreboot issue acts on it). */
static void hb_check(struct timer *t)
{
    struct preserved *p = PRESERVED;
    u64 t_now = now();
    p->hb_checks++;
    for (u32 i = 0; i < MAX_DOMAINS; i++) {
        struct domain *d = READ_ONCE(p->dom[i]);
        if (!d || d->magic != DOMAIN_MAGIC || d->dying || (d->slot != SLOT_PRIVVM && d->slot != SLOT_DVM))
            continue;
        if (d->heartbeat && t_now - d->heartbeat > t->period)
            d->hb_missed++;
    }
}

/* On every hart after timer_init_hart: link this hart's accounting timer (and, on hart 0, the
 * heartbeat monitor) into its list. */
void hv_timers_start(void)
{
    struct percpu *pc = this_cpu();
    struct preserved *p = PRESERVED;
    struct timer *a = &p->acct_timer[pc->hartid];
    *a = (struct timer){ .fn = acct_tick, .hart = pc->hartid, .period = ACCT_PERIOD };
    timer_set(a, now() + ACCT_PERIOD);
    if (pc->hartid == 0) {
        p->hb_timer = (struct timer){ .fn = hb_check, .hart = 0, .period = HB_PERIOD };
        timer_set(&p->hb_timer, now() + HB_PERIOD);
    }
}

/* set_timer_op(deadline_lo, deadline_hi): one-shot VIRQ_TIMER; 0 cancels. */
long do_set_timer_op(struct vcpu *v, const u32 *a)
{
    u64 deadline = (u64)a[1] << 32 | a[0];
    if (!deadline) {
        timer_cancel(&v->timer);
        return 0;
    }
    timer_set(&v->timer, deadline);
    return 0;
}

void timer_dump(void)
{
    for (u32 h = 0; h < hv.nharts; h++) {
        struct percpu *pc = &percpu[h];
        hv_printf("timers hart %u (lock %u):", h, pc->timer_lock.locked);
        u32 n = 0;
        for (struct timer *t = pc->timers; t && n < 16; t = t->next, n++)
            hv_printf(" %u", (u32)t->deadline);
        hv_printf("\n");
    }
}
