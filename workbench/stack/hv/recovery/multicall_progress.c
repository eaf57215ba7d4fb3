/* multicall_progress: a batch cut off at entry mc_index has made the changes of the entries before
 * it (and of that entry, if hc_committed).  Retried from the start, grant maps would be made twice
 * (map slots and frame references nobody unmaps).  Keep the progress: the retried batch resumes at
 * mc_index and skips that entry if it was committed (multicall.c).  Works with hypercall_retry,
 * which sends the vCPU back to its ecall. */
#include "rehype.h"

void rehype_multicall_progress(u32 stage)
{
    struct domain *d;
    if (stage != STAGE_FIX)
        return;
    for_each_domain(i, d) {
        struct vcpu *v = d->vcpu;
        v->hc_resume = v->hc_retry == HC_multicall + 1 && (v->mc_index > 0 || v->hc_committed);
    }
}
