/* multicall_progress: a batch cut off at entry mc_index has made the changes of the entries before
 * it (and of that entry, if hc_committed).  Retried from the start, grant maps would be made twice
 * (map slots and frame references nobody unmaps).  Keep the progress: the retried batch (the
 * multicall the vCPU issues again at the same pc; an upcall may run other hypercalls first)
 * resumes at mc_index, or after it if it was committed (its result is then 0, written here as the
 * failed instance would have).  Works with hypercall_retry, which sends the vCPU back to its ecall. */
#include "rehype.h"
#include "multicall.h"

void rehype_multicall_progress(u32 stage)
{
    struct domain *d;
    if (stage != STAGE_FIX)
        return;
    for_each_domain(i, d) {
        struct vcpu *v = d->vcpu;
        if (v->hc_retry != HC_multicall + 1 || (v->mc_index == 0 && !v->hc_committed))
            continue;
        u32 first = v->mc_index;
        u32 addr = v->regs.x[10], n = v->regs.x[11];
        if (v->hc_committed && first < n && !(addr & 3) &&
            guest_range_ok(d, addr, n * sizeof(struct multicall_entry))) {
            ((struct multicall_entry *)(uptr)addr)[first].result = 0;
            first++;
        }
        v->hc_resume = first + 1;
        v->hc_resume_pc = v->regs.x[REG_PC];
    }
}
