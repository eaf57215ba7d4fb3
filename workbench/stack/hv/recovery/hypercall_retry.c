/* hypercall_retry: a vCPU cut off inside a hypercall (vcpu.hcall_nr) would resume after its ecall
 * with a0 still holding its first argument.  From the progress record trap.c keeps (hc_pc, hc_done,
 * hc_result): a hypercall that had returned is completed with its result; an iret is completed here
 * (the frame it restores is intact in shared info, and it may have been cut off half-way through
 * overwriting the vCPU's registers); one that had made its change (hc_committed: a grant map or
 * unmap) is completed with result 0, not repeated; any other goes back to its ecall and runs again
 * (a7 and the arguments are untouched until it returns).  A batch is retried from its first entry
 * unless multicall_progress keeps its progress. */
#include "rehype.h"

void rehype_hypercall_retry(u32 stage)
{
    struct domain *d;
    if (stage != STAGE_FIX)
        return;
    for_each_domain(i, d) {
        struct vcpu *v = d->vcpu;
        u32 nr = v->hcall_nr;
        if (nr == ~0u)
            continue;
        if (v->hc_done) {
            if (nr != HC_iret) {
                v->regs.x[10] = v->hc_result;
                v->regs.x[REG_PC] = v->hc_pc + 4;
            }
        } else if (nr == HC_iret) {
            do_iret(v, NULL);
        } else if (v->hc_committed && nr != HC_multicall) {
            v->regs.x[10] = 0;
            v->regs.x[REG_PC] = v->hc_pc + 4;
        } else {
            v->regs.x[REG_PC] = v->hc_pc;
            v->hc_retry = nr + 1;
        }
        v->hcall_nr = ~0u;
    }
}
