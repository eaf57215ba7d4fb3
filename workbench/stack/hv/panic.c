/* The one panic path: machine-mode exceptions, failed assertions and watchdog NMIs all end here.
 * It records what happened (panic_record, read by the workbench), stops the other harts (an NMI
 * through their watchdog banks, since MSIP is masked while they run in the hypervisor), prints a
 * register dump, gives the configured recovery a chance, and halts.  A second failure inside this
 * path on the same hart goes straight to the recovery entry instead of parking the hart. */
#include "hv.h"

enum panic_kind { PANIC_SOFTWARE = 0, PANIC_TRAP = 1, PANIC_NMI = 2 };

struct panic_record {
    u32 magic;           /* PANIC_MAGIC once filled in */
    u32 hart;
    u32 mcause, mepc, mtval;   /* of the trap; for a software panic: 0, the pc of the call, 0 */
    const char *fn, *msg;
    u32 kind;            /* enum panic_kind */
    u32 nested;          /* failures inside the panic path itself (each went to recovery) */
    u32 ra, sp;          /* of the panic() call (software) or the trapped context */
};
#define PANIC_MAGIC 0x43494E50u   /* "PNIC" */
struct panic_record panic_record;
static volatile u32 panic_hart;   /* hart id + 1 of the hart running the panic path, 0 = none */

static const char *regnames[32] = {
    "pc", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5",
    "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6" };

static void dump_regs(const struct guest_regs *r)
{
    for (int i = 0; i < 32; i++)
        hv_printf("%3s %08x%s", regnames[i], r->x[i], (i % 4 == 3) ? "\n" : "  ");
}

/* NMI every other hart through its watchdog bank: a one-tick timeout, reloaded now. */
static void stop_other_harts(u32 self)
{
    for (u32 h = 0; h < hv.nharts; h++) {
        if (h == self)
            continue;
        mmio_write(CLINT_MSIP(h), 1);                 /* harts idling in WFI see this first */
        if (!percpu[self].has_wdog)
            continue;
        u32 bank = WDOG_BASE + WDOG_STRIDE * h;
        mmio_write(bank + 8, 1);
        mmio_write(bank + 4, 1);
        mmio_write(bank + 12, 1);
    }
}

static void __attribute__((noreturn)) finish(void)
{
    recovery_on_panic();                /* returns if no recovery is configured (or it failed) */
    hv_printf("hv: halted\n");
    if (hv.bi.panic_action == PANIC_POWEROFF_FAIL)
        mmio_write(SYSCON_BASE, (1u << 16) | SYSCON_FAIL);
    park_hart();
}

void __attribute__((noreturn)) panic(const char *fn, const char *msg)
{
    u32 self = this_hart();                        /* not mscratch: it may be mid-swap in start.S */
    struct percpu *pc = &percpu[self];
    u32 kind = pc->trap_kind;                      /* set by ktrap/nmi_trap just before calling us */
    pc->trap_kind = PANIC_SOFTWARE;
    u32 first = !__atomic_exchange_n(&hv_panicking, 1, __ATOMIC_ACQ_REL);
    if (!first) {
        if (READ_ONCE(panic_hart) != self + 1)
            park_hart();                    /* someone else is already panicking: stop here */
        panic_record.nested++;              /* we failed inside our own panic path */
        finish();
    }
    panic_hart = self + 1;
    stop_other_harts(self);
    u32 ra = (u32)(uptr)__builtin_return_address(0), sp = (u32)(uptr)__builtin_frame_address(0);
    const struct guest_regs *r = kind == PANIC_NMI ? &pc->nmi : &pc->ktrap;
    if (kind == PANIC_SOFTWARE)
        panic_record = (struct panic_record){ PANIC_MAGIC, self, 0, ra - 4 /* the call: noreturn, so
                                              ra may already be past the caller's end */, 0, fn, msg, kind, 0, ra, sp };
    else
        panic_record = (struct panic_record){ PANIC_MAGIC, self, pc->mcause, pc->mepc, pc->mtval, fn, msg,
                                              kind, 0, r->x[1], r->x[2] };
    hv_printf("\nHV PANIC on hart %u in %s: %s\n", self, fn, msg);
    hv_printf("mcause %08x mepc %08x mtval %08x\n", panic_record.mcause, panic_record.mepc, panic_record.mtval);
    if (kind != PANIC_SOFTWARE)
        dump_regs(r);
    else
        hv_printf("software panic called from %08x, sp %08x\n", ra, sp);
    hv_dump("domains");
    hv_dump("sched");
    finish();
}
