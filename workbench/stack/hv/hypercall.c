/* Hypercall dispatch: the table is generated from hypercall_list.h, so numbers live in one place.
 * Handlers take the vCPU and the six argument registers; an unknown number returns -ENOSYS. */
#include "hv.h"
#include "hypercall.h"

typedef long (*hcall_fn)(struct vcpu *v, const u32 *args);

static long do_heartbeat(struct vcpu *v, const u32 *a)
{
    v->dom->heartbeat = now();
    return 0;
}

static long do_version(struct vcpu *v, const u32 *a) { return HV_VERSION; }

static const hcall_fn hcall_table[NR_HYPERCALLS] = {
#define HCALL(nr, name) [nr] = do_##name,
#include "hypercall_list.h"
#undef HCALL
};

/* Hypercalls that only make sense as the whole trap, not as part of a multicall batch. */
static int batchable(u32 nr) { return nr != HC_multicall && nr != HC_iret && nr != HC_set_callbacks; }

long hypercall_dispatch(struct vcpu *v, u32 nr, const u32 *args, int in_multicall)
{
    if (nr >= NR_HYPERCALLS || !hcall_table[nr])
        return -ENOSYS;
    if (in_multicall && !batchable(nr))
        return -EINVAL;
    return hcall_table[nr](v, args);
}
