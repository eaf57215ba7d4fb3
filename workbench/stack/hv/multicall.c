/* Multicall: a batch of hypercalls in one trap.  The vCPU records how far the batch has got
 * (mc_index: the entry under way) and whether that entry has made its change (hc_committed), so a
 * batch retried after a hypervisor microreboot with its progress kept (hc_resume, set by
 * multicall_progress; trap.c starts the batch there) skips the entries already done. */
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
    for (; v->mc_index < n; v->mc_index++) {   /* from 0, or where a retried batch resumes (trap.c) */
        struct multicall_entry *m = &e[v->mc_index];
        v->hc_committed = 0;
        m->result = hypercall_dispatch(v, m->op, m->args, 1);
        if (v->dom->state != DOMSTATE_RUNNING)     /* e.g. a shutdown inside the batch */
            break;
    }
    v->mc_index = 0;
    return 0;
}
