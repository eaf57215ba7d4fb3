/* ReHype's internal interface (hv/recovery/): the stages at which an enhancement acts, the hazard
 * numbers (include/recovery_cause_list.h), and helpers the enhancements and the audit share. */
#ifndef REHYPE_H
#define REHYPE_H
#include "hv.h"
#include "hypercall.h"

/* When an enhancement runs during a microreboot (each enhancement's function gets the stage and acts
 * in the ones it cares about). */
enum rehype_stage {
    STAGE_EARLY = 0,      /* hart 0 of the new instance, before the other harts start (time) */
    STAGE_FIX = 1,        /* every hart online, before basic re-integration: repair preserved state */
    STAGE_POST = 2,       /* after basic re-integration (run queues and timers rebuilt): re-deliver */
};

enum recovery_cause {
#define RECOVERY_CAUSE(nr, name, enhancement, text) RC_##name = nr,
#include "recovery_cause_list.h"
#undef RECOVERY_CAUSE
    RC_COUNT
};

#define ENHANCEMENT(bit, name) void rehype_##name(u32 stage);
#include "enhancement_list.h"
#undef ENHANCEMENT
enum enhancement_bit {
    ENH_none = -1,                /* a cause no enhancement removes */
#define ENHANCEMENT(bit, name) ENH_##name = bit,
#include "enhancement_list.h"
#undef ENHANCEMENT
};
static inline int enhancement_on(u32 bit) { return (hv.bi.recovery_flags >> bit) & 1; }

/* Every domain of the adopted heap (a corrupted table entry panics in domain_at: the recovery then
 * fails as "recovery_crashed"). */
#define for_each_domain(i, d) \
    for (u32 i = 0; i < MAX_DOMAINS; i++) \
        if (((d) = domain_at(i)) != NULL)

/* grant_fixup.c: compare (fix = 0) or make (fix = 1) map counts, frame counts and domain references
 * agree with the maps and grants; returns the number of disagreements, the first one in `why`. */
u32 rehype_grant_check(int fix, char *why, u32 len);
/* timers_rebuild.c / basic re-integration: each preserved timer (vCPU, poll, hypervisor ones). */
void rehype_for_each_timer(void (*fn)(struct timer *t, const char *owner, u32 id));
#endif
