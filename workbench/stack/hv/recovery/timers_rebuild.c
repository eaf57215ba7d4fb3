/* timers_rebuild: a timer the failed instance had unlinked to run its handler (in_handler set) was
 * never re-armed (recurring) or its handler may not have run (one-shot), and basic re-integration
 * re-links only the timers marked active.  Mark them active again: a one-shot one at its deadline
 * (past: it fires at once), a recurring one a period later.  The hypervisor's own recurring timers
 * (accounting, heartbeat monitor) must always run: re-arm any that is not active. */
#include "rehype.h"

static void rearm(struct timer *t, const char *owner, u32 id)
{
    if (t->in_handler && !t->active) {
        t->active = 1;
        t->next = NULL;
        if (t->period)
            t->deadline += t->period;
    }
    t->in_handler = 0;
}

void rehype_timers_rebuild(u32 stage)
{
    struct preserved *p = PRESERVED;
    if (stage != STAGE_FIX)
        return;
    rehype_for_each_timer(rearm);
    for (u32 h = 0; h < hv.nharts; h++)
        if (p->acct_timer[h].fn && !p->acct_timer[h].active)
            p->acct_timer[h].active = 1, p->acct_timer[h].deadline = now() + p->acct_timer[h].period;
    if (p->hb_timer.fn && !p->hb_timer.active)
        p->hb_timer.active = 1, p->hb_timer.deadline = now() + p->hb_timer.period;
}
