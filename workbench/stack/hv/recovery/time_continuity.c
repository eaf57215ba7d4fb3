/* time_continuity: system time (NOW()) is static, so a new instance starts it at 0 and every guest
 * sees time jump back (timeouts computed from it misfire, deadlines in the old time lie far ahead);
 * an update of a guest's time cut off between the two increments of time_version leaves it odd,
 * and the guest's reader then spins forever.  Before any other hart runs: continue system time
 * from the latest value the failed instance used or published, and make every time_version even. */
#include "rehype.h"

void rehype_time_continuity(u32 stage)
{
    struct preserved *p = PRESERVED;
    struct domain *d;
    if (stage != STAGE_EARLY)
        return;
    u64 last = p->rehype.time_at_panic;
    for_each_domain(i, d) {
        struct shared_info *si = d->shinfo;
        u64 t = (u64)si->time_hi << 32 | si->time_lo;
        if (t > last)
            last = t;
        if (si->time_version & 1)
            si->time_version++;
    }
    time_continue(last);
}
