/* Recovery after a panic (DESIGN section 6).  Mechanisms and enhancements register by name in the
 * tables below, one file each under hv/recovery/; the boot-info block selects them (recovery,
 * recovery_flags).  `halt`: recovery_on_panic returns and the hart halts.  `reboot` (the baseline of a
 * full system reboot): ask the board for a reset, as a power button would; the firmware (the
 * workbench, or QEMU's loader) puts the images back and everything boots again, VMs' work lost. */
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

const char *const recovery_mechanisms[] = { "halt", "reboot", "rehype" };

void recovery_on_panic(void)
{
    if (hv.bi.recovery == RECOVERY_REBOOT) {
        hv_printf("hv: recovery 'reboot': resetting the board\n");
        mmio_write(SYSCON_BASE, SYSCON_RESET);
        return;                         /* only without a syscon: then halt */
    }
    if (hv.bi.recovery != RECOVERY_HALT)
        hv_printf("hv: recovery '%s' not implemented yet, halting\n",
                  hv.bi.recovery < ARRAY_SIZE(recovery_mechanisms) ? recovery_mechanisms[hv.bi.recovery] : "?");
}
