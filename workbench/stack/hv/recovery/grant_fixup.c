/* grant_fixup: a grant map or unmap cut off half-way leaves the grant entry's map count, the frame
 * table (references and map uses per page) or a domain's reference count disagreeing with the map
 * slots that exist; a delivery or timer callback in flight held a domain reference nobody drops.
 * The map slots and grant entries are the truth: recompute everything else from them.  (PMP map
 * entries are loaded from the slots at every switch.)  The audit uses the same walk, read-only. */
#include "rehype.h"

/* What the grants and maps say, recomputed in one pass over them (static: rebuilt each recovery).
 * Only frames a grant or map names can want a count, at most one per grant and map: kept sparse,
 * sorted by frame, so the walk of the frame table needs no table-sized copy (clearing one took as
 * long as the walk). */
#define MAX_WANTED (MAX_DOMAINS * (NR_GRANTS + NR_PMP_MAPS))
static struct wanted { u32 frame; struct frame w; } wanted[MAX_WANTED];
static u32 nwanted;
static u32 mapcount[MAX_DOMAINS][NR_GRANTS];
static u32 refs[MAX_DOMAINS];

/* The wanted entry of slot address `addr`, inserted (zero) in frame order if new. */
static struct frame *want(u32 addr)
{
    u32 f = (addr - SLOTS_BASE) / PAGE_SIZE, lo = 0, hi = nwanted;
    while (lo < hi) {
        u32 mid = (lo + hi) / 2;
        if (wanted[mid].frame < f)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == nwanted || wanted[lo].frame != f) {
        for (u32 k = nwanted++; k > lo; k--)
            wanted[k] = wanted[k - 1];
        wanted[lo] = (struct wanted){ f, { 0, 0, 0 } };
    }
    return &wanted[lo].w;
}

static u32 issues;
static void report(char *why, u32 len, const char *fmt, u32 a, u32 b, u32 c)
{
    if (!issues++ && why)
        snprintf(why, len, fmt, a, b, c);
}

static u32 table_index(struct domain *d)
{
    for (u32 i = 0; i < MAX_DOMAINS; i++)
        if (PRESERVED->dom[i] == d)
            return i;
    return MAX_DOMAINS;
}

static int in_slots(u32 addr) { return addr >= SLOTS_BASE && addr - SLOTS_BASE < MAX_SLOTS * SLOT_SIZE; }

u32 rehype_grant_check(int fix, char *why, u32 len)
{
    struct preserved *p = PRESERVED;
    struct domain *d;
    u32 unreferenced = 0;                            /* bit i: dying, nothing maps it: free it */
    issues = 0;
    nwanted = 0;
    memset(mapcount, 0, sizeof(mapcount));
    for_each_domain(i, d) {
        refs[i] = !d->dying;                         /* the creation reference */
        for (u32 r = 0; r < NR_GRANTS; r++)
            if (d->grant[r].in_use && in_slots(d->grant[r].addr)) {
                struct frame *f = want(d->grant[r].addr);
                f->owner = d->domid + 1;
                f->count++;
            }
    }
    for_each_domain(i, d)
        for (u32 k = 0; k < NR_PMP_MAPS; k++) {
            struct grant_map *m = &d->map[k];
            u32 g = m->in_use ? table_index(m->granter) : MAX_DOMAINS;
            if (g == MAX_DOMAINS)
                continue;
            refs[g]++;                               /* a map holds its granter */
            if (m->ref < NR_GRANTS)
                mapcount[g][m->ref]++;
            if (in_slots(m->addr)) {
                struct frame *f = want(m->addr);
                f->count++;
                f->type_count++;
            }
        }
    for_each_domain(i, d) {
        for (u32 r = 0; r < NR_GRANTS; r++)
            if (d->grant[r].mapcount != mapcount[i][r]) {
                report(why, len, "d%u grant %u mapcount %u", d->domid, r, d->grant[r].mapcount);
                if (fix)
                    d->grant[r].mapcount = mapcount[i][r];
            }
        if (d->refcnt != refs[i]) {
            report(why, len, "d%u refcnt %u, maps say %u", d->domid, d->refcnt, refs[i]);
            if (fix)
                d->refcnt = refs[i] ? refs[i] : 1;   /* 1: freed below by dropping it */
        }
        if (!refs[i])
            unreferenced |= 1u << i;
    }
    static const struct frame none;                  /* what no grant or map names */
    u32 k = 0;
    for (u32 f = 0; f < NR_FRAMES; f++) {
        u32 next = k < nwanted ? wanted[k].frame : NR_FRAMES;
        while (f < next && !(p->frame[f].count | p->frame[f].type_count))
            f++;                                     /* unshared and unnamed: the common case */
        if (f == NR_FRAMES)
            break;
        struct frame *fr = &p->frame[f];
        const struct frame *w = f == next ? &wanted[k++].w : &none;
        if (fr->count != w->count || fr->type_count != w->type_count || (w->count && fr->owner != w->owner)) {
            report(why, len, "frame %x count %u/%u", SLOTS_BASE + f * PAGE_SIZE, fr->count, fr->type_count);
            if (fix)
                *fr = *w;
        }
    }
    if (fix)                                         /* a dying domain nothing maps any more */
        for_each_domain(i, d)
            if (unreferenced >> i & 1)
                put_domain(d);
    return issues;
}

void rehype_grant_fixup(u32 stage)
{
    char why[48];
    if (stage == STAGE_FIX && rehype_grant_check(1, why, sizeof(why)))
        rehype_hazard(RC_frame_counts, "%s", why);   /* found (and repaired): the audit left it to us */
}
