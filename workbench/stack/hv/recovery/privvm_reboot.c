/* privvm_reboot, the hypervisor's half: tear down what names the failed PrivVM (its event channels,
 * whose peers' ends become unbound again for d0; the grant maps it held: the other domains' store
 * rings) and boot a new instance of it in the same domain (d0, slot 0: the id every domain addresses
 * the toolstack by) from its boot module.  Its grants stay (AppVMs may map the shared page).  The
 * new instance finds the configuration store and its bookkeeping where the old one kept them
 * (PRIVVM_KEEP_OFF in its slot, not part of the image, so the reload does not touch them) and
 * reconnects every domain (privvm/recovery/privvm_reboot.c).  The reload runs from a one-shot timer
 * on the PrivVM's hart, by when its vCPU is no longer in a trap or hypercall of the old instance. */
#include "hv.h"

static struct timer reboot_timer;
static u32 reboots;

/* Phase marks: out of line so the workbench can see (probe) how far a reboot got. */
void __attribute__((noinline, used)) privvm_reboot_phase_teardown(struct domain *d)
{
    evtchn_close_all(d);
    gnttab_release_all(d);
}

int __attribute__((noinline, used)) privvm_reboot_phase_reload(struct domain *d)
{
    struct vcpu *v = d->vcpu;
    u32 entry = load_elf(d, &hv.bi.module[d->module]);
    if (!entry)
        return -1;
    u32 hv_recoveries = d->shinfo->start.hv_recoveries;
    memset(d->shinfo, 0, PAGE_SIZE);           /* events, masks and upcall state of the old instance */
    privvm_start_info(d);
    d->shinfo->start.hv_recoveries = hv_recoveries;
    d->shinfo->start.reboots = ++reboots;
    evtchn_init_domain(d);
    memset(&v->regs, 0, sizeof(v->regs));
    v->regs.x[REG_PC] = entry;
    v->regs.x[10] = d->domid;
    v->regs.x[11] = (u32)(uptr)d->shinfo;
    v->upcall_pc = 0;
    v->poll_port = 0;
    v->hcall_nr = ~0u;
    v->mc_index = 0;
    d->heartbeat = 0;
    d->hb_missed = 0;
    return 0;
}

void __attribute__((noinline, used)) privvm_reboot_phase_resume(struct domain *d)
{
    LOCK(&d->lock);
    d->state = DOMSTATE_RUNNING;
    d->shutdown_reason = d->crash_cause = d->crash_pc = d->crash_tval = 0;
    spin_unlock(&d->lock);
    struct percpu *pc = &percpu[d->vcpu->hart];
    LOCK(&pc->rq_lock);
    d->vcpu->state = VCPU_RUNNABLE;
    spin_unlock(&pc->rq_lock);
    vcpu_wake(d->vcpu);
    hv_printf("hv: PrivVM d%u rebooted (%u)\n", d->domid, reboots);
}

static void reboot(struct timer *t)
{
    struct domain *d = t->data;
    privvm_reboot_phase_teardown(d);
    if (privvm_reboot_phase_reload(d) < 0) {
        hv_printf("hv: PrivVM module is not a valid image: it stays down\n");
        return;
    }
    privvm_reboot_phase_resume(d);
    privvm_store_watch_reset();
}

void privvm_reboot_start(struct domain *d)
{
    if (reboots >= COMPONENT_MAX_REBOOTS) {
        hv_printf("hv: recovery 'privvm_reboot': failed %u times, giving up\n", reboots);
        return;
    }
    hv_printf("hv: recovery 'privvm_reboot': rebooting the PrivVM\n");
    reboot_timer = (struct timer){ .fn = reboot, .data = d, .hart = d->vcpu->hart };
    timer_set(&reboot_timer, now() + 1);
}
