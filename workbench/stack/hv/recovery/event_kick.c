/* event_kick: an event the failed instance marked pending (port bit, upcall_pending) without the
 * kick that wakes its vCPU leaves a blocked vCPU asleep until some other event comes, which may be
 * never.  After basic re-integration, wake every blocked vCPU with an unmasked upcall pending or
 * with the port it polls pending (a running one gets the upcall on its next return anyway). */
#include "rehype.h"

void rehype_event_kick(u32 stage)
{
    struct domain *d;
    if (stage != STAGE_POST)
        return;
    for_each_domain(i, d) {
        struct vcpu *v = d->vcpu;
        struct shared_info *si = d->shinfo;
        u32 port = v->poll_port;
        int upcall = si->vcpu[0].upcall_pending && !si->vcpu[0].upcall_mask;
        int polled = port && port < NR_EVTCHN && (si->evtchn_pending[port / 32] >> (port % 32) & 1);
        if (v->state == VCPU_BLOCKED && (upcall || polled))
            vcpu_wake(v);
    }
}
