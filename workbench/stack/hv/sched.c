/* Scheduler: every vCPU is pinned to one hart; each hart round-robins its run queue with a time
 * slice and idles in WFI (interrupts polled with MIE off: the hypervisor is never interrupted).
 * Blocking and waking follow a set-flag / fence / re-check order so no wakeup is lost across harts. */
#include "hv.h"

static int can_run(struct vcpu *v)
{
    return (v->state == VCPU_RUNNABLE) && v->dom->state == DOMSTATE_RUNNING;
}

void sched_init_hart(void)
{
    struct percpu *pc = this_cpu();
    spin_init(&pc->rq_lock);
    pc->rq_head = pc->rq_tail = NULL;
    pc->curr = NULL;
}

/* Called with the hart's rq_lock held. */
static void enqueue(struct percpu *pc, struct vcpu *v)
{
    BUG_ON(v->on_rq);                                   /* queued twice would make a cycle */
    BUG_ON(!pc->rq_head != !pc->rq_tail);
    BUG_ON(pc->rq_tail && pc->rq_tail->rq_next);        /* the tail ends the list */
    v->on_rq = 1;
    v->rq_next = NULL;
    if (pc->rq_tail)
        pc->rq_tail->rq_next = v;
    else
        pc->rq_head = v;
    pc->rq_tail = v;
}

static struct vcpu *dequeue(struct percpu *pc)
{
    struct vcpu *v = pc->rq_head;
    BUG_ON(!pc->rq_head != !pc->rq_tail);
    if (v) {
        BUG_ON(!v->on_rq);                              /* linked but not marked: a corrupted queue */
        pc->rq_head = v->rq_next;
        if (!pc->rq_head)
            pc->rq_tail = NULL;
        v->on_rq = 0;
        v->rq_next = NULL;
    }
    return v;
}

static void ipi(u32 hart)
{
    if (hart != this_hart())
        mmio_write(CLINT_MSIP(hart), 1);
}

/* Make v runnable if it is blocked (or newly unpaused) and queue it on its hart. */
void vcpu_wake(struct vcpu *v)
{
    struct percpu *pc = &percpu[v->hart];
    LOCK(&pc->rq_lock);
    if (v->state == VCPU_BLOCKED)
        v->state = VCPU_RUNNABLE;
    v->poll_port = 0;
    if (can_run(v) && !v->on_rq && !v->running)
        enqueue(pc, v);
    spin_unlock(&pc->rq_lock);
    ipi(v->hart);
}

/* An upcall became pending for v: wake it, or interrupt its hart so the upcall is delivered. */
void vcpu_kick(struct vcpu *v)
{
    fence();
    if (READ_ONCE(v->state) == VCPU_BLOCKED)
        vcpu_wake(v);
    else if (READ_ONCE(v->running))
        ipi(v->hart);
}

/* v will never run again (shutdown, crash, destroy). */
void vcpu_down(struct vcpu *v)
{
    struct percpu *pc = &percpu[v->hart];
    LOCK(&pc->rq_lock);
    v->state = VCPU_DOWN;
    spin_unlock(&pc->rq_lock);
    timer_cancel(&v->timer);
    timer_cancel(&v->poll_timer);
    ipi(v->hart);
}

/* Block the current vCPU unless `pending()` already holds (checked after the state is published). */
static void block_unless(struct vcpu *v, int (*pending)(struct vcpu *))
{
    struct percpu *pc = &percpu[v->hart];
    LOCK(&pc->rq_lock);
    v->state = VCPU_BLOCKED;
    spin_unlock(&pc->rq_lock);
    fence();
    if (pending(v))
        vcpu_wake(v);
}

static int upcall_pending(struct vcpu *v) { return READ_ONCE(v->dom->shinfo->vcpu[0].upcall_pending) != 0; }

static int poll_ready(struct vcpu *v)
{
    u32 p = v->poll_port;
    return p == 0 || (READ_ONCE(v->dom->shinfo->evtchn_pending[p / 32]) >> (p % 32) & 1);
}

static void poll_timeout(struct timer *t) { vcpu_wake((struct vcpu *)t->data); }
static void guest_timer(struct timer *t) { evtchn_send_virq(((struct vcpu *)t->data)->dom, VIRQ_TIMER); }

/* A new vCPU, pinned to `hart`, runnable once its domain is unpaused. */
void sched_init_vcpu(struct vcpu *v, u32 hart)
{
    v->hart = hart;
    v->state = VCPU_RUNNABLE;
    v->hcall_nr = ~0u;
    v->timer = (struct timer){ .fn = guest_timer, .data = v, .dom = v->dom, .hart = hart };
    v->poll_timer = (struct timer){ .fn = poll_timeout, .data = v, .dom = v->dom, .hart = hart };
}

/* sched_op(cmd, arg1, arg2) */
long do_sched_op(struct vcpu *v, const u32 *a)
{
    struct vcpu_info *vi = &v->dom->shinfo->vcpu[0];
    timer_cancel(&v->poll_timer);           /* a finished poll's timeout must not wake us later */
    v->poll_port = 0;
    switch (a[0]) {
    case SCHEDOP_yield:                     /* the return path switches (if anyone else waits) */
        this_cpu()->yielded = 1;
        return 0;
    case SCHEDOP_block:                     /* Xen semantics: unmask upcalls, sleep until one */
        WRITE_ONCE(vi->upcall_mask, 0);
        block_unless(v, upcall_pending);
        return 0;
    case SCHEDOP_poll:                      /* sleep until port a[1] is pending, or a[2] ticks */
        if (a[1] == 0 || a[1] >= NR_EVTCHN)
            return -EINVAL;
        v->poll_port = a[1];
        if (a[2])
            timer_set(&v->poll_timer, now() + a[2]);
        block_unless(v, poll_ready);
        return 0;
    case SCHEDOP_shutdown:
        if (a[1] > SHUTDOWN_crash)
            return -EINVAL;
        if (a[1] == SHUTDOWN_crash)
            domain_crash(v->dom, 0, v->regs.x[REG_PC], 0);
        else
            domain_shutdown(v->dom, a[1]);
        return 0;
    case SCHEDOP_crash:
        domain_crash(v->dom, 0, v->regs.x[REG_PC], 0);
        return 0;
    }
    return -EINVAL;
}

/* Pick the next vCPU for this hart (the current one goes to the tail if it can still run).
 * Idles in WFI until something is runnable.  Called with no locks held. */
void schedule(void)
{
    struct percpu *pc = this_cpu();
    struct vcpu *prev = pc->curr, *next;
    LOCK(&pc->rq_lock);
    if (prev) {
        prev->running = 0;
        if (can_run(prev) && !prev->on_rq)
            enqueue(pc, prev);
    }
    for (;;) {
        while ((next = dequeue(pc)) && !can_run(next))
            ;
        if (next)
            break;
        pc->curr = NULL;
        spin_unlock(&pc->rq_lock);
        __asm__ volatile("wfi");
        u32 mip = csr_read(mip);
        if (hv_panicking)
            park_hart();
        if (mip & MIP_MSIP)
            mmio_write(CLINT_MSIP(pc->hartid), 0);
        if (mip & MIP_MTIP)
            timer_interrupt();
        if (mip & MIP_MEIP)
            plic_interrupt();
        LOCK(&pc->rq_lock);
    }
    next->running = 1;
    pc->curr = next;
    spin_unlock(&pc->rq_lock);
    pc->frame = &next->regs;
    pmp_load_domain(next->dom);             /* also when next == prev: its grant maps may have changed */
    pc->slice_end = now() + hv.slice_ticks;
    timer_reprogram();
}

/* Should the current vCPU give up the hart now (blocked, down, slice over with others waiting)? */
int sched_should_switch(struct percpu *pc)
{
    struct vcpu *v = pc->curr;
    int yielded = pc->yielded;
    pc->yielded = 0;
    if (!v || !can_run(v))
        return 1;
    int expired = now() >= pc->slice_end;
    if (READ_ONCE(pc->rq_head))
        return yielded || expired;
    if (expired) {                          /* alone on this hart: just start a new slice */
        pc->slice_end = now() + hv.slice_ticks;
        timer_reprogram();
    }
    return 0;
}


void sched_dump(void)
{
    for (u32 h = 0; h < hv.nharts; h++) {
        struct percpu *pc = &percpu[h];
        hv_printf("sched hart %u: curr d%d, rq lock %u:", h, pc->curr ? (int)pc->curr->dom->domid : -1,
                  pc->rq_lock.locked);
        u32 n = 0;
        for (struct vcpu *v = pc->rq_head; v && n < MAX_DOMAINS; v = v->rq_next, n++)
            hv_printf(" d%u", v->dom->domid);
        hv_printf("\n");
    }
}
