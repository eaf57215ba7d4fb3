/* sched_rebuild: scheduling state names harts that have been rebooted.  No vCPU runs on the new
 * instance yet, so no vCPU is `running` (the per-hart record of what each hart ran is the trusted
 * copy; a vCPU marked running elsewhere is stale); a state that is no state becomes runnable; a
 * vCPU pinned to a hart that did not come back moves to hart 0, its timers with it.  Basic
 * re-integration then queues every runnable vCPU. */
#include "rehype.h"

void rehype_sched_rebuild(u32 stage)
{
    struct domain *d;
    if (stage != STAGE_FIX)
        return;
    for_each_domain(i, d) {
        struct vcpu *v = d->vcpu;
        v->running = 0;
        v->on_rq = 0;
        v->rq_next = NULL;
        if (v->state > VCPU_DOWN || v->state == VCPU_RUNNING)
            v->state = VCPU_RUNNABLE;
        if (v->hart >= hv.nharts) {
            v->hart = 0;
            v->timer.hart = v->poll_timer.hart = 0;
        }
    }
}
