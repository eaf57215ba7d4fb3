/* reset_locks: the failed instance may have died holding locks in preserved structures (the heap,
 * domain table and IRQ table locks, each domain's lock, event-channel and grant locks); nothing
 * of it runs any more, so every one of them is released before anything takes them. */
#include "rehype.h"

void rehype_reset_locks(u32 stage)
{
    struct preserved *p = PRESERVED;
    struct domain *d;
    if (stage != STAGE_FIX)
        return;
    spin_init(&p->dom_lock);
    spin_init(&p->heap_lock);
    spin_init(&p->irq_lock);
    for_each_domain(i, d) {
        spin_init(&d->lock);
        spin_init(&d->evtchn_lock);
        spin_init(&d->grant_lock);
    }
}
