/* Failures of the other components as the hypervisor sees them (DESIGN section 5): a user-mode fault
 * (or a crash the guest asked for) in the driver VM or the PrivVM, and a PrivVM whose heartbeat is
 * late (the monitor in timer.c; the PrivVM monitors the DVM itself).  These are the only places the
 * hypervisor reports them, out of line so the workbench's detector can probe them, and where the
 * configured recovery of that component (boot_info.io.component_recovery) starts. */
#include "hv.h"

void __attribute__((noinline, used)) dvm_crashed(struct domain *d)
{
    hv_printf("hv: DVM d%u crashed (mcause %u at pc 0x%08x)\n", d->domid, d->crash_cause, d->crash_pc);
}

void __attribute__((noinline, used)) privvm_crashed(struct domain *d)
{
    hv_printf("hv: PrivVM d%u crashed (mcause %u at pc 0x%08x)\n", d->domid, d->crash_cause, d->crash_pc);
}

void __attribute__((noinline, used)) privvm_hung(struct domain *d)
{
    hv_printf("hv: PrivVM d%u missed its heartbeat (last at %u, now %u)\n", d->domid, (u32)d->heartbeat,
              (u32)now());
}

/* The PrivVM failed (crashed, or hung: its vCPU is taken down here): reboot it if so configured,
 * else leave it down; the AppVMs keep running without a toolstack. */
void privvm_failed(struct domain *d, int hung)
{
    int recover = COMPONENT_RECOVERY_PRIVVM(&hv.bi.io) == RECOVERY_privvm_reboot;
    if (hung) {
        privvm_hung(d);
        if (!recover)                 /* reported only: it may just be slow (a console in wall-clock time) */
            return;
        LOCK(&d->lock);
        if (d->state == DOMSTATE_RUNNING || d->state == DOMSTATE_PAUSED)
            d->state = DOMSTATE_CRASHED;
        spin_unlock(&d->lock);
        vcpu_down(d->vcpu);
    } else {
        privvm_crashed(d);
    }
    if (recover)
        privvm_reboot_start(d);
    else
        hv_printf("hv: no PrivVM recovery configured: it stays down\n");
}
