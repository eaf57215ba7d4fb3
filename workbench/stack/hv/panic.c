/* The one panic path: machine-mode exceptions, failed assertions and watchdog NMIs all end here.
 * It records what happened (panic_record, read by the workbench), prints a register dump, stops the
 * other harts, gives the configured recovery a chance, and halts. */
#include "hv.h"

struct panic_record {
    u32 magic;           /* PANIC_MAGIC once filled in */
    u32 hart;
    u32 mcause, mepc, mtval;
    const char *fn, *msg;
};
#define PANIC_MAGIC 0x43494E50u   /* "PNIC" */
struct panic_record panic_record;

static const char *regnames[32] = {
    "pc", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5",
    "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6" };

static void dump_regs(const struct guest_regs *r)
{
    for (int i = 0; i < 32; i++)
        hv_printf("%3s %08x%s", regnames[i], r->x[i], (i % 4 == 3) ? "\n" : "  ");
}

void __attribute__((noreturn)) panic(const char *fn, const char *msg)
{
    struct percpu *pc = &percpu[this_hart()];   /* not mscratch: it may be mid-swap in start.S */
    u32 first = !__atomic_exchange_n(&hv_panicking, 1, __ATOMIC_ACQ_REL);
    if (!first)
        park_hart();                    /* someone else is already panicking */
    for (u32 h = 0; h < hv.nharts; h++)
        if (h != pc->hartid)
            mmio_write(CLINT_MSIP(h), 1);
    panic_record = (struct panic_record){ PANIC_MAGIC, pc->hartid, pc->mcause, pc->mepc, pc->mtval, fn, msg };
    hv_printf("\nHV PANIC on hart %u in %s: %s\n", pc->hartid, fn, msg);
    hv_printf("mcause %08x mepc %08x mtval %08x\n", pc->mcause, pc->mepc, pc->mtval);
    if (pc->mcause == 0x80000000u)
        dump_regs(&pc->nmi);
    else
        dump_regs(&pc->ktrap);
    hv_dump("domains");
    hv_dump("sched");
    recovery_on_panic();                /* returns if no recovery is configured (or it failed) */
    hv_printf("hv: halted\n");
    if (hv.bi.panic_action == PANIC_POWEROFF_FAIL)
        mmio_write(SYSCON_BASE, (1u << 16) | SYSCON_FAIL);
    park_hart();
}
