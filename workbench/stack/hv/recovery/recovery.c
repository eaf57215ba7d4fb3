/* Recovery after a panic (DESIGN section 6).  Mechanisms and enhancements register by name in the
 * tables below, one file each under hv/recovery/; the boot-info block selects them (recovery,
 * recovery_flags).  The mechanisms are those of include/recovery_list.h.  `halt`: recovery_on_panic
 * returns and the hart halts.  `reboot` (the baseline of a full system reboot): ask the board for a
 * reset, as a power button would; the firmware (the workbench, or QEMU's loader) puts the images back
 * and everything boots again, VMs' work lost. */
#include "hv.h"

struct recovery_enhancement {
    const char *name;
    u32 flag;                        /* bit in boot_info.recovery_flags */
    void (*apply)(void);             /* run by the new hv instance during a microreboot */
};

/* Filled in as enhancements are written (ack_irqs, hypercall_retry, reset_locks, ...). */
const struct recovery_enhancement recovery_enhancements[] = {
    { 0, 0, 0 },
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

void recovery_on_panic(void)
{
    if (hv.bi.recovery == RECOVERY_reboot) {
        hv_printf("hv: recovery 'reboot': resetting the board\n");
        mmio_write(SYSCON_BASE, SYSCON_RESET);
        return;                         /* only without a syscon: then halt */
    }
    if (hv.bi.recovery != RECOVERY_halt)
        hv_printf("hv: recovery '%s' not implemented yet, halting\n",
                  hv.bi.recovery < RECOVERY_COUNT ? recovery_mechanisms[hv.bi.recovery].name : "?");
}
