/* hypercall_retry: a vCPU cut off inside a hypercall (vcpu.hcall_nr) would resume after its ecall
 * with a0 still holding its first argument.  Re-execute it instead: the pc goes back to the ecall
 * (a7 and the arguments are untouched until the hypercall returns).  A hypercall that had already
 * made its change (hc_committed: a grant map or unmap, an iret) is completed, not repeated: its
 * OUT fields are in guest memory, its result is 0.  A batch is retried from its first entry unless
 * multicall_progress keeps its progress. */
#include "rehype.h"

void rehype_hypercall_retry(u32 stage)
{
    struct domain *d;
    if (stage != STAGE_FIX)
        return;
    for_each_domain(i, d) {
        struct vcpu *v = d->vcpu;
        if (v->hcall_nr == ~0u)
            continue;
        if (v->hc_committed && v->hcall_nr != HC_multicall) {
            if (v->hcall_nr != HC_iret)
                v->regs.x[10] = 0;
        } else {
            v->regs.x[REG_PC] -= 4;
            v->hc_retry = v->hcall_nr + 1;
        }
        v->hcall_nr = ~0u;
    }
}
