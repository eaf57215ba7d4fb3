/* dvm_reboot, the toolstack's half (DESIGN section 6): the PrivVM monitors the driver VM's heartbeat
 * (a hang) and hears of its crash from the hypervisor (VIRQ_DOM_EXC); with dvm_reboot configured it
 * destroys the failed DVM (the hypervisor resets its devices, releases its maps and completes its
 * interrupts: hv/recovery/dvm_reboot.c), creates a new one from the DVM boot module, assigns it the
 * devices again, writes every frontend's backend directory under the new domain and points the
 * frontends at it, then removes the old domain's directory: the frontends' watches fire, they see
 * their backend gone, reconnect to the new one and resubmit what was in flight. */
#include "privvm.h"

u32 dvm_reboots;                       /* read by the workbench */

void __attribute__((noinline, used)) dvm_hung(u32 domid, u32 age)
{
    gprintf("privvm: DVM d%u missed its heartbeat (%u us)\n", domid, age / (TIMEBASE_HZ / 1000000));
}

void __attribute__((noinline, used)) dvm_reboot_phase_destroyed(u32 old)
{
    gprintf("privvm: dvm_reboot: d%u destroyed\n", old);
}

void __attribute__((noinline, used)) dvm_reboot_phase_created(u32 domid)
{
    gprintf("privvm: dvm_reboot: new DVM d%u\n", domid);
}

void __attribute__((noinline, used)) dvm_reboot_phase_rewired(u32 n)
{
    gprintf("privvm: dvm_reboot: %u device(s) moved to the new DVM\n", n);
}

/* On every PrivVM tick: a DVM that is running but whose heartbeat is older than the limit hangs. */
void dvm_monitor(void)
{
    if (!dvm.domid || dvm.done)
        return;
    struct domctl_getinfo gi = { dvm.domid };
    if (hc_domctl(DOMCTL_getinfo, &gi) < 0 || gi.state != DOMSTATE_RUNNING || gi.heartbeat_age == ~0u ||
        gi.heartbeat_age <= DVM_HEARTBEAT_LIMIT)
        return;
    dvm_hung(dvm.domid, gi.heartbeat_age);
    dvm_failed();
}

/* The DVM crashed or hangs: reboot it if so configured, else leave it (reported once). */
void dvm_failed(void)
{
    if (COMPONENT_RECOVERY_DVM(&start->io) != RECOVERY_dvm_reboot || dvm_reboots >= COMPONENT_MAX_REBOOTS) {
        if (dvm_reboots)
            gprintf("privvm: dvm_reboot: failed %u times, giving up\n", dvm_reboots);
        dvm.done = 1;
        return;
    }
    u32 old = dvm.domid;
    struct gnttab_unmap u = { dvm.ring_handle };
    hc_gnttab(GNTTABOP_unmap, &u);                 /* our map of its store ring holds it */
    dvm.ring = NULL;
    struct evtchn_port p = { dvm.store_port };
    hc_evtchn(EVTCHNOP_close, &p);
    st_unwatch_dom(old);
    struct domctl_domid d = { old };
    long r;
    while ((r = hc_domctl(DOMCTL_destroy, &d)) == -EBUSY)  /* its hart has not switched away yet */
        hc_yield();
    dvm_reboot_phase_destroyed(old);
    for (u32 tries = 0; (r = create_dvm(++dvm_reboots)) == -EBUSY && tries < 100000; tries++)
        hc_yield();                                /* the slot is free once the last reference goes */
    if (r < 0) {
        gprintf("privvm: dvm_reboot: cannot create a new DVM (%d)\n", (int)r);
        dvm.domid = 0;
        keep_save();
        return;
    }
    dvm_reboot_phase_created(dvm.domid);
    u32 n = 0;
    for (u32 i = 0; i < napps; i++)
        if (!apps[i].done)
            n += add_devices(&apps[i], 1);
    char k[STORE_MAX_PATH];
    snprintf(k, sizeof(k), "/local/domain/%u", old);
    st_rm(0, k);                                   /* the frontends see their backend go */
    keep_save();
    dvm_reboot_phase_rewired(n);
}
