/* Failures of the other components as the hypervisor sees them (DESIGN section 5): a user-mode fault
 * (or a crash the guest asked for) in the driver VM or the PrivVM, and a PrivVM whose heartbeat is
 * late (the monitor in timer.c; the PrivVM monitors the DVM itself).  These are the only places the
 * hypervisor reports them, out of line so the workbench's detector can probe them, and where the
 * configured recovery of that component (boot_info.io.component_recovery) starts. */
#include "hv.h"
#include "store.h"

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
    hv_printf("hv: PrivVM d%u hangs (heartbeat at %u, now %u)\n", d->domid, (u32)d->heartbeat,
              (u32)now());
}

/* A PrivVM that still heartbeats but no longer serves the configuration store hangs too (its event
 * loop runs, its service does not): some live domain's store request waits, not taken or not
 * answered (the client marks the id it waits for), from one monitor check to the next (a whole
 * DVM_HEARTBEAT_LIMIT).  Called by the monitor. */
static u32 last_cons[MAX_SLOTS], last_wait[MAX_SLOTS], waiting[MAX_SLOTS], stall_reported;

int privvm_store_stalled(struct domain *priv)
{
    int stalled = 0;
    for (u32 i = 0; i < MAX_DOMAINS; i++) {
        struct domain *d = domain_at(i);
        if (!d || d == priv || d->slot >= MAX_SLOTS)
            continue;
        u32 s = d->slot;
        if (READ_ONCE(d->dying) || READ_ONCE(d->state) != DOMSTATE_RUNNING) {
            waiting[s] = 0;
            continue;
        }
        const struct store_ring_page *r = (const void *)(uptr)(d->base + SLOT_STORE_OFF);
        u32 prod = READ_ONCE(r->req_prod), cons = READ_ONCE(r->req_cons), id = READ_ONCE(r->client_waiting);
        int now_waiting = prod != cons || id;     /* a request not taken, or taken and not answered */
        if (now_waiting && waiting[s] && cons == last_cons[s] && id == last_wait[s])
            stalled = 1;
        waiting[s] = now_waiting;
        last_cons[s] = cons;
        last_wait[s] = id;
    }
    if (!stalled || stall_reported)
        return 0;
    stall_reported = 1;                   /* once per instance: privvm_reboot_start clears it */
    return 1;
}

void privvm_store_watch_reset(void)
{
    memset(waiting, 0, sizeof(waiting));
    stall_reported = 0;
}

/* The PrivVM failed (crashed, or hung: its vCPU is taken down here): reboot it if so configured;
 * else a hang goes to the hypervisor's own microreboot when that is configured, and anything else
 * leaves it down (the AppVMs keep running without a toolstack). */
void privvm_failed(struct domain *d, int hung)
{
    int recover = COMPONENT_RECOVERY_PRIVVM(&hv.bi.io) == RECOVERY_privvm_reboot;
    if (hung) {
        privvm_hung(d);
        /* No PrivVM recovery, but a hypervisor microreboot: a PrivVM that stopped heartbeating is
         * most often one whose wakeup the hypervisor lost (an event, a timer, a run queue); the new
         * instance re-delivers and rebuilds those, and costs the VMs nothing. */
        if (!recover && hv.bi.recovery == RECOVERY_rehype)
            panic("privvm_failed", "the PrivVM hangs: microrebooting the hypervisor");
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
