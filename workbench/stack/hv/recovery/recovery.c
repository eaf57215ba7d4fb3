/* Recovery after a panic (DESIGN section 6).  Mechanisms and enhancements register by name in the
 * tables below, one file each under hv/recovery/; the boot-info block selects them (recovery,
 * recovery_flags).  The mechanisms are those of include/recovery_list.h.  `halt`: recovery_on_panic
 * returns and the hart halts.  `reboot` (the baseline of a full system reboot): ask the board for a
 * reset, as a power button would; the firmware (the workbench, or QEMU's loader) puts the images back
 * and everything boots again, VMs' work lost.
 *
 * `rehype` (Le & Tamir, VEE 2011): the panicking hart waits until every other hart has parked (each
 * saves the context of the vCPU it ran into that vCPU), copies the pristine image over the
 * hypervisor's text and data, and sends every hart to the reset entry.  The new instance boots in
 * recovery mode: it keeps the preserved heap (no heap_init, no PrivVM), rebuilds its static state,
 * re-integrates every domain (basic: PLIC routing, run queues from the vCPUs marked runnable, timers
 * marked active) with the enhancements switched on in boot_info.recovery_flags, and resumes the
 * vCPUs.  Each phase ends in a rehype_phase_<name> call: the workbench's probes time them. */
#include "rehype.h"

struct recovery_enhancement {
    const char *name;
    u32 flag;                        /* bit in boot_info.recovery_flags */
    void (*apply)(u32 stage);        /* run by the new hv instance at each enum rehype_stage */
};

/* From include/enhancement_list.h (papers' order, which is also the order they run in at a stage);
 * the workbench reads it back through DWARF. */
const struct recovery_enhancement recovery_enhancements[] = {
#define ENHANCEMENT(bit, name) { #name, 1u << (bit), rehype_##name },
#include "enhancement_list.h"
#undef ENHANCEMENT
};

struct recovery_mechanism {
    const char *name;
    u32 implemented;                 /* 0: planned (DESIGN section 6), the hart halts instead */
};

/* From include/recovery_list.h; the workbench reads it through DWARF to check it against the header. */
const struct recovery_mechanism recovery_mechanisms[RECOVERY_COUNT] = {
#define RECOVERY(nr, name, implemented) [nr] = { #name, implemented },
#include "recovery_list.h"
#undef RECOVERY
};

#define REHYPE_MAX_ATTEMPTS 2           /* a microreboot that fails again and again: give up, halt */
#define PARK_WAIT_TICKS (TIMEBASE_HZ / 100)   /* 10 ms for the other harts to park */

/* ---- phases: one call each, out of line (distinct bodies, so the linker keeps one symbol each) ---- */
#define PHASE(n, name) \
    void __attribute__((noinline)) rehype_phase_##name(void) { WRITE_ONCE(PRESERVED->rehype.phase, n); }
PHASE(1, stop)          /* other harts parked, their vCPUs' contexts saved */
PHASE(2, image)         /* pristine text and data copied over the image */
PHASE(3, boot)          /* the new instance runs its boot path in recovery mode */
PHASE(4, harts)         /* every hart is back, static per-hart state rebuilt */
PHASE(5, reintegrate)   /* domains re-integrated, enhancements applied */
PHASE(6, done)          /* vCPUs resumed: recovery done */
#undef PHASE

extern char _hv_image_start[], _hv_image_end[];
extern void rehype_wait(volatile u32 *release) __attribute__((noreturn));      /* start.S */
extern void rehype_restart(volatile u32 *release) __attribute__((noreturn));   /* start.S */

int recovery_booting(void)
{
    struct preserved *p = PRESERVED;
    return p->magic == PRESERVED_MAGIC && READ_ONCE(p->rehype.recovering);
}

extern char trap_vector[], trap_frame_saved[];   /* start.S */

/* The guest's registers when this hart stopped inside the entry of a trap from U mode, before the
 * vCPU's frame was whole.  `live` holds the registers where the hart stopped (the NMI frame, or the
 * ktrap frame of a fault inside the entry, whose entry code put the guest's sp, t0 and t1 there):
 * every register but sp, t0, t1 is still the guest's.  After the entry noted the guest pc
 * (in_entry), sp is in mscratch (NMI) or the ktrap frame, t0 and t1 in the scratch words; before
 * that (an NMI only: a fault there overwrote mepc), the pc says how far the entry got. */
static void entry_context(struct percpu *pc, const struct guest_regs *live, int nmi, struct guest_regs *r)
{
    *r = *live;
    if (pc->in_entry) {
        r->x[REG_PC] = pc->entry_epc;
        if (nmi)
            r->x[2] = csr_read(mscratch);
        r->x[5] = pc->scratch[0];
        r->x[6] = pc->scratch[1];
        return;
    }
    u32 at = live->x[REG_PC] - (u32)(uptr)trap_vector;
    r->x[REG_PC] = csr_read(mepc);
    if (at >= 4)                          /* csrrw sp, mscratch, sp done */
        r->x[2] = csr_read(mscratch);
    if (at >= 8)                          /* sw t0, -8(sp) done */
        r->x[5] = pc->scratch[0];
    if (at >= 12)                         /* sw t1, -4(sp) done; t0, t1 used from here */
        r->x[6] = pc->scratch[1];
}

/* Where this hart's interrupted vCPU context is, made whole in vcpu->regs before the new instance
 * wipes the static state: normally vcpu->regs already (the trap entry saved it); after an NMI that
 * interrupted the guest itself, only the static NMI frame; after a stop inside a trap entry from U
 * mode, partly the frame, partly the stopped registers, scratch words and CSRs (entry_context).
 * Records the hart's vCPU as the trusted copy.  Runs on hart h itself (the CSRs are its own). */
static void save_context(u32 h, int nmi)
{
    struct percpu *pc = &percpu[h];
    struct vcpu *v = pc->curr;
    const struct guest_regs *live = nmi ? &pc->nmi : &pc->ktrap;
    u32 at = live->x[REG_PC];
    if (v && nmi && pc->nmi_from_guest)
        v->regs = pc->nmi;
    else if (v && pc->in_entry)
        entry_context(pc, live, nmi, &v->regs);
    else if (v && nmi && at >= (u32)(uptr)trap_vector && at < (u32)(uptr)trap_frame_saved &&
             !(csr_read(mstatus) & MSTATUS_MPP))
        entry_context(pc, live, nmi, &v->regs);
    PRESERVED->rehype.curr[h] = v;
}

/* Every hart but the panicking one ends here (park_hart while a rehype recovery is under way). */
void recovery_park(void)
{
    u32 h = this_hart();
    if (hv.bi.recovery != RECOVERY_rehype || PRESERVED->magic != PRESERVED_MAGIC || h >= MAX_HARTS) {
        csr_write(mie, 0);
        for (;;)
            __asm__ volatile("wfi");
    }
    save_context(h, percpu[h].nmi_taken);
    fence();
    __atomic_fetch_or(&PRESERVED->rehype.parked, 1u << h, __ATOMIC_SEQ_CST);
    rehype_wait(&PRESERVED->rehype.release);        /* no stack from here: .bss is about to be cleared */
}

/* Copy n words, eight per iteration (the copy is most of this phase's time). */
static void copy_image(u32 *d, const u32 *s, u32 n)
{
    for (; n >= 8; n -= 8, d += 8, s += 8) {
        u32 a = s[0], b = s[1], c = s[2], e = s[3], f = s[4], g = s[5], h = s[6], i = s[7];
        d[0] = a, d[1] = b, d[2] = c, d[3] = e, d[4] = f, d[5] = g, d[6] = h, d[7] = i;
    }
    while (n--)
        *d++ = *s++;
}

/* The failing instance's half: stop, save, restore the image, restart every hart. */
static void rehype_start(void)
{
    struct preserved *p = PRESERVED;
    struct rehype_state *r = &p->rehype;
    u32 self = this_hart();
    if (p->magic != PRESERVED_MAGIC) {
        hv_printf("hv: rehype: no preserved heap, halting\n");
        return;
    }
    if (++r->attempts > REHYPE_MAX_ATTEMPTS) {
        hv_printf("hv: rehype: %u attempts failed, halting\n", r->attempts - 1);
        return;
    }
    mmio_write(WDOG_BASE + WDOG_STRIDE * self + 12, 1);   /* a hang from here on is still caught */
    hv_printf("hv: rehype: microreboot (attempt %u) from hart %u\n", r->attempts, self);
    r->panic_hart = self;
    r->time_at_panic = now();
    save_context(self, percpu[self].nmi_taken);
    u32 want = 0;
    for (u32 h = 0; h < hv.nharts && h < MAX_HARTS; h++)
        if (h != self && percpu[h].online)
            want |= 1u << h;
    u64 deadline = now() + PARK_WAIT_TICKS;
    while ((READ_ONCE(r->parked) & want) != want && now() < deadline)
        ;
    if ((READ_ONCE(r->parked) & want) != want)
        hv_printf("hv: rehype: harts %x did not park\n", want & ~READ_ONCE(r->parked));
    rehype_phase_stop();
    WRITE_ONCE(r->recovering, 1);
    fence();
    copy_image((u32 *)_hv_image_start, (const u32 *)(uptr)PRISTINE_BASE,
               (u32)(_hv_image_end - _hv_image_start) / 4);
    __asm__ volatile("fence.i" ::: "memory");
    rehype_phase_image();
    rehype_restart(&r->release);                    /* release the parked harts, jump to the reset entry */
}

void recovery_on_panic(void)
{
    if (hv.bi.recovery == RECOVERY_reboot) {
        hv_printf("hv: recovery 'reboot': resetting the board\n");
        mmio_write(SYSCON_BASE, SYSCON_RESET);
        return;                         /* only without a syscon: then halt */
    }
    if (hv.bi.recovery == RECOVERY_rehype) {
        rehype_start();
        return;                         /* it returns only when it gives up */
    }
    if (hv.bi.recovery != RECOVERY_halt)
        hv_printf("hv: recovery '%s' not implemented yet, halting\n",
                  hv.bi.recovery < RECOVERY_COUNT ? recovery_mechanisms[hv.bi.recovery].name : "?");
}

/* ---- the new instance ---- */

static void run_stage(u32 stage)
{
    for (u32 i = 0; i < ARRAY_SIZE(recovery_enhancements); i++)
        if (hv.bi.recovery_flags & recovery_enhancements[i].flag)
            recovery_enhancements[i].apply(stage);
}

/* Hart 0, right after reading the boot info, before the other harts start. */
void recovery_early(void)
{
    struct preserved *p = PRESERVED;
    p->generation++;
    rehype_phase_boot();
    hv_printf("hv: rehype: new instance (generation %u) adopts the preserved heap\n", p->generation);
    run_stage(STAGE_EARLY);
}

/* ---- the audit: which hazards (recovery_cause_list.h) the adopted heap holds ---- */

static u32 found_bits;
static char found_detail[RC_COUNT][48];

void rehype_hazard(u32 cause, const char *fmt, ...)
{
    if (found_bits & (1u << cause))
        return;
    found_bits |= 1u << cause;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(found_detail[cause], sizeof(found_detail[cause]), fmt, ap);
    va_end(ap);
}

static void audit_lock(struct spinlock *l, const char *what, int dom)
{
    if (!READ_ONCE(l->locked))
        return;
    if (dom >= 0)
        rehype_hazard(RC_lock_held, "d%d.%s held by hart %d", dom, what, (int)l->holder - 1);
    else
        rehype_hazard(RC_lock_held, "%s held by hart %d", what, (int)l->holder - 1);
}

static u32 lost_timers;
static void audit_timer(struct timer *t, const char *owner, u32 id)
{
    if (t->in_handler && !t->active && !lost_timers++)
        rehype_hazard(RC_timer_lost, "%s %u: unlinked in its handler", owner, id);
}

static void audit(void)
{
    struct preserved *p = PRESERVED;
    struct domain *d;
    char why[48];
    audit_lock(&p->dom_lock, "dom_lock", -1);
    audit_lock(&p->heap_lock, "heap_lock", -1);
    audit_lock(&p->irq_lock, "irq_lock", -1);
    for_each_domain(i, d) {
        audit_lock(&d->lock, "lock", d->domid);
        audit_lock(&d->evtchn_lock, "evtchn_lock", d->domid);
        audit_lock(&d->grant_lock, "grant_lock", d->domid);
        struct vcpu *v = d->vcpu;
        struct shared_info *si = d->shinfo;
        if (v->hcall_nr != ~0u)
            rehype_hazard(RC_hypercall_stuck, "d%u in hypercall %u", d->domid, v->hcall_nr);
        if (v->hcall_nr == HC_multicall && v->mc_index > 0)
            rehype_hazard(RC_multicall_repeated, "d%u batch at entry %u", d->domid, v->mc_index);
        if (v->running && v->state != VCPU_DOWN)
            rehype_hazard(RC_sched_inconsistent, "d%u marked running on hart %u", d->domid, v->hart);
        else if (v->hart >= hv.nharts)
            rehype_hazard(RC_sched_inconsistent, "d%u pinned to hart %u (gone)", d->domid, v->hart);
        if (v->state == VCPU_BLOCKED && d->state == DOMSTATE_RUNNING &&
            ((si->vcpu[0].upcall_pending && !si->vcpu[0].upcall_mask) ||
             (v->poll_port && v->poll_port < NR_EVTCHN &&
              (si->evtchn_pending[v->poll_port / 32] >> (v->poll_port % 32) & 1))))
            rehype_hazard(RC_event_lost, "d%u blocked with an event pending", d->domid);
        if (si->time_version & 1)
            rehype_hazard(RC_time_backwards, "d%u time_version odd", d->domid);
    }
    for (u32 irq = 1; irq < NR_PIRQS; irq++) {
        struct pirq *q = &p->pirq[irq];
        struct domain *o = q->owner ? domain_get(q->owner - 1) : NULL;
        u32 port = o ? o->pirq_port[irq] : 0;
        if (q->inflight && (!port || !(o->shinfo->evtchn_pending[port / 32] >> (port % 32) & 1)))
            rehype_hazard(RC_irq_unacked, "irq %u claimed for d%u, no event", irq, q->owner - 1);
    }
    if (!enhancement_on(ENH_grant_fixup) && rehype_grant_check(0, why, sizeof(why)))
        rehype_hazard(RC_frame_counts, "%s", why);      /* else grant_fixup's own pass reports it (one walk) */
    lost_timers = 0;
    rehype_for_each_timer(audit_timer);
    rehype_hazard(RC_time_backwards, "system time restarts at 0 (was %u)", (u32)p->rehype.time_at_panic);
}

/* Hazards of causes that an enhancement switched on removes are not left (the pairing is the one in
 * recovery_cause_list.h). */
static const int cause_enhancement[RC_COUNT] = {
#define RECOVERY_CAUSE(nr, name, enhancement, text) [nr] = ENH_##enhancement,
#include "recovery_cause_list.h"
#undef RECOVERY_CAUSE
};

static u32 left_after(u32 found)
{
    u32 left = found;
    for (u32 c = 0; c < RC_COUNT; c++)
        if ((found >> c & 1) && cause_enhancement[c] >= 0 && enhancement_on((u32)cause_enhancement[c]))
            left &= ~(1u << c);
    return left;
}

/* ---- basic re-integration (stack README: what basic ReHype rebuilds) ---- */

/* Every preserved timer: each vCPU's guest and poll timers, the hypervisor's recurring ones. */
void rehype_for_each_timer(void (*fn)(struct timer *t, const char *owner, u32 id))
{
    struct preserved *p = PRESERVED;
    struct domain *d;
    for_each_domain(i, d) {
        fn(&d->vcpu->timer, "timer of d", d->domid);
        fn(&d->vcpu->poll_timer, "poll timer of d", d->domid);
    }
    for (u32 h = 0; h < hv.nharts; h++)
        fn(&p->acct_timer[h], "accounting timer of hart", h);
    fn(&p->hb_timer, "heartbeat monitor", 0);
}

static void relink(struct timer *t, const char *owner, u32 id)
{
    if (!t->active || t->hart >= hv.nharts)
        return;
    t->active = 0;
    t->next = NULL;
    timer_set(t, t->deadline);
}

static void reintegrate_basic(void)
{
    struct domain *d;
    physdev_restore_routing();                       /* PLIC enables from the preserved pirq[] */
    for_each_domain(i, d) {                          /* the old run queues are gone */
        d->vcpu->on_rq = 0;
        d->vcpu->rq_next = NULL;
    }
    for_each_domain(i, d) {
        struct vcpu *v = d->vcpu;
        if (v->state == VCPU_RUNNABLE && !v->running && v->hart < hv.nharts)
            vcpu_wake(v);
    }
    rehype_for_each_timer(relink);
    /* the monitored components could not heartbeat while the hypervisor was down: their limit
     * counts from now, or the first monitor check would call a healthy PrivVM (or DVM) hung */
    u64 t = now();
    for_each_domain(i, d)
        if (d->heartbeat)
            d->heartbeat = t;
}

/* Hart 0 of the new instance, every hart online: re-integrate the domains, then resume. */
void recovery_resume(void)
{
    struct preserved *p = PRESERVED;
    struct rehype_state *r = &p->rehype;
    WRITE_ONCE(r->release, 0);
    WRITE_ONCE(r->parked, 0);
    rehype_phase_harts();
    found_bits = 0;
    audit();
    run_stage(STAGE_FIX);
    r->found = found_bits;                           /* grant_fixup notes what its walk found */
    reintegrate_basic();
    run_stage(STAGE_POST);
    r->left = left_after(found_bits);
    r->detail[0] = 0;
    for (u32 c = 0; c < RC_COUNT; c++)
        if (r->left >> c & 1) {
            strlcpy(r->detail, found_detail[c], sizeof(r->detail));
            break;
        }
    struct domain *priv = domain_get(0);
    if (priv)                                        /* the toolstack runs the health check at its end */
        priv->shinfo->start.hv_recoveries++;
    rehype_phase_reintegrate();
    r->recovering = 0;
    r->attempts = 0;
    r->count++;
    hv_printf("hv: rehype: recovered (found %x, left %x%s%s), resuming\n", r->found, r->left,
              r->detail[0] ? ": " : "", r->detail);
    rehype_phase_done();
}
