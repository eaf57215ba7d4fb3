/* Traps from guests (U mode): hypercalls, interrupts, and faults.  A guest fault kills only that
 * domain; the hypervisor reports it and carries on.  On the way out: maybe switch vCPU, refresh the
 * guest-visible time, deliver a pending upcall. */
#include "hv.h"
#include "hypercall.h"

extern void return_to_guest(void) __attribute__((noreturn));

static const char *cause_name(u32 c)
{
    static const char *names[] = { "insn misaligned", "insn access fault", "illegal insn", "breakpoint",
                                   "load misaligned", "load access fault", "store misaligned",
                                   "store access fault", "ecall U", "ecall S", "?", "ecall M" };
    return c < ARRAY_SIZE(names) ? names[c] : "?";
}

static void handle_interrupt(struct percpu *pc, u32 irq)
{
    if (irq == 3)
        mmio_write(CLINT_MSIP(pc->hartid), 0);   /* IPI: the return path re-checks everything */
    else if (irq == 7)
        timer_interrupt();
    else if (irq == 11)
        plic_interrupt();                       /* a device of a driver domain */
}

/* Out of line so a directed fault can stop between the version's two increments (a probe here). */
static void __attribute__((noinline)) write_time(struct shared_info *si, u64 t)
{
    si->time_lo = (u32)t;
    si->time_hi = (u32)(t >> 32);
}

/* Last steps before v runs again: refresh its view of time, deliver a pending upcall. */
static void prepare_return(struct vcpu *v)
{
    struct shared_info *si = v->dom->shinfo;
    si->time_version++;                      /* odd: an update is under way */
    fence();
    write_time(si, now());
    fence();
    si->time_version++;
    upcall_maybe_deliver(v);
}

/* Called by start.S with the vCPU's registers saved; returns to start.S, which resumes whatever
 * vCPU percpu->frame then names. */
void trap_user(struct percpu *pc)
{
    struct vcpu *v = pc->curr;
    u32 cause = csr_read(mcause);
    if (hv_panicking)
        park_hart();
    if (cause & MCAUSE_INT) {
        handle_interrupt(pc, cause & 0x1F);
    } else if (cause == CAUSE_ECALL_U) {
        u32 nr = v->regs.x[17];
        u32 at = v->regs.x[REG_PC];
        /* Progress record for ReHype's hypercall_retry, written before the pc moves past the
         * ecall: where the ecall is, whether the hypercall finished and with what result, how far
         * it got.  Whole before hcall_nr names the hypercall (a stop in between must not pair it
         * with the previous hypercall's hc_committed: a retried batch would skip an entry never
         * run), and hcall_nr before the pc moves on. */
        v->hc_pc = at;
        v->hc_done = 0;
        v->hc_result = 0;
        v->hc_committed = 0;
        v->mc_index = 0;
        if (nr == HC_multicall && v->hc_resume && v->hc_resume_pc == at)
            v->mc_index = v->hc_resume - 1;      /* the retried batch keeps its progress (ReHype) */
        fence();
        v->hcall_nr = nr;
        fence();
        v->regs.x[REG_PC] = at + 4;
        if (nr == HC_multicall)
            v->hc_resume = 0;
        v->hc_retry = 0;
        long r = hypercall_dispatch(v, nr, &v->regs.x[10], 0);
        v->hc_result = (u32)r;
        fence();
        v->hc_done = 1;
        if (nr != HC_iret)                       /* iret restored a whole frame, a0 included */
            v->regs.x[10] = (u32)r;
        fence();
        v->hcall_nr = ~0u;
    } else {
        u32 tval = csr_read(mtval);
        /* An access fault on memory the domain owns can only be PMP entries programmed wrong: the
         * hypervisor's failure, not the guest's (as Xen checks a guest page fault for a spurious one) */
        if ((cause == CAUSE_FETCH_ACCESS || cause == CAUSE_LOAD_ACCESS || cause == CAUSE_STORE_ACCESS) &&
            pmp_grants(v->dom, cause, tval))
            panic(__func__, "PMP denied a guest an access its domain owns");
        hv_printf("hv: d%u crashed: %s (mcause %u) at pc 0x%08x, address 0x%08x\n", v->dom->domid,
                  cause_name(cause), cause, v->regs.x[REG_PC], tval);
        domain_crash(v->dom, cause, v->regs.x[REG_PC], tval);
    }
    if (sched_should_switch(pc))
        schedule();
    prepare_return(pc->curr);
}

/* A hart's first entry into guest code (after boot). */
void enter_first_guest(void)
{
    schedule();
    prepare_return(this_cpu()->curr);
    return_to_guest();
}
