/* dvm_reboot, the driver VM's half: a DVM created by a dvm_reboot (the toolstack wrote "rebooted")
 * marks the moment it serves I/O again (the first request answered), so the workbench can measure
 * the time from detection back to service.  Everything else a new DVM does is its ordinary start:
 * reset the devices, bind their interrupts, adopt the backend directories the toolstack wrote. */
#include "dvm.h"

static u32 rebooted;                 /* n-th dvm_reboot this instance comes from; 0 = first boot */

void dvm_reboot_init(const char *dir)
{
    xb_read_u32(dir, "rebooted", &rebooted);
}

void __attribute__((noinline, used)) dvm_reboot_phase_serving(u32 n)
{
    gprintf("dvm: serving again after dvm_reboot %u\n", n);
}

void dvm_reboot_check_serving(void)
{
    if (rebooted && (dvm_stats[ST_BLK_REQS] || dvm_stats[ST_NET_TX])) {
        dvm_reboot_phase_serving(rebooted);
        rebooted = 0;
    }
}
