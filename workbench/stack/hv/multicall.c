/* Multicall: a batch of hypercalls in one trap.  The vCPU records how far the batch has got
 * (mc_index: the entry under way) and whether that entry has made its change (hc_committed), so a
 * batch retried after a hypervisor microreboot with its progress kept (hc_resume, set by
 * multicall_progress) skips the entries already done. */
#include "hv.h"
#include "multicall.h"

/* multicall(entries, count) -> 0, or -errno if the batch itself is invalid */
long do_multicall(struct vcpu *v, const u32 *a)
{
    u32 addr = a[0], n = a[1];
    if (n > MAX_MULTICALL)
        return -EINVAL;
    if ((addr & 3) || !guest_range_ok(v->dom, addr, n * sizeof(struct multicall_entry)))
        return -EFAULT;
    struct multicall_entry *e = (void *)(uptr)addr;
    u32 first = 0;
    if (v->hc_resume && v->mc_index < n) {
        first = v->mc_index;
        if (v->hc_committed)                   /* its change was made, its OUT fields written */
            e[first++].result = 0;
    }
    v->hc_resume = 0;
    for (v->mc_index = first; v->mc_index < n; v->mc_index++) {
        struct multicall_entry *m = &e[v->mc_index];
        v->hc_committed = 0;
        m->result = hypercall_dispatch(v, m->op, m->args, 1);
        if (v->dom->state != DOMSTATE_RUNNING)     /* e.g. a shutdown inside the batch */
            break;
    }
    v->mc_index = 0;
    return 0;
}
