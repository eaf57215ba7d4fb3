/* Grant tables: a domain grants one of its pages to another domain by reference.  The grantee can
 * map it (one of its PMP map entries then covers the page; used for shared rings) or copy to and
 * from it through the hypervisor (grant copy; used for data).  Lock order: grant locks by
 * ascending domid. */
#include "hv.h"

void gnttab_init_domain(struct domain *d)
{
    spin_init(&d->grant_lock);
    memset(d->grant, 0, sizeof(d->grant));
    memset(d->map, 0, sizeof(d->map));
}

static void lock2(struct domain *a, struct domain *b)
{
    if (!b || a == b) {
        LOCK(&a->grant_lock);
        return;
    }
    if (a->domid > b->domid) {
        struct domain *t = a;
        a = b, b = t;
    }
    LOCK(&a->grant_lock);
    LOCK(&b->grant_lock);
}

static void unlock2(struct domain *a, struct domain *b)
{
    spin_unlock(&a->grant_lock);
    if (b && b != a)
        spin_unlock(&b->grant_lock);
}

long gnttab_grant_in(struct domain *d, u32 grantee, u32 addr, u32 readonly)
{
    long ref = -ENOSPC;
    LOCK(&d->grant_lock);
    for (u32 i = 0; i < NR_GRANTS; i++)
        if (!d->grant[i].in_use) {
            d->grant[i] = (struct grant_entry){ 1, grantee, addr, readonly ? 1 : 0, 0 };
            ref = i;
            break;
        }
    spin_unlock(&d->grant_lock);
    return ref;
}

/* The grant entry `ref` of `gd` if it grants access to `to` (and writing, if `write`); caller holds
 * gd->grant_lock. */
static struct grant_entry *lookup(struct domain *gd, u32 ref, struct domain *to, int write)
{
    if (ref >= NR_GRANTS)
        return NULL;
    struct grant_entry *g = &gd->grant[ref];
    if (!g->in_use || g->grantee != to->domid || (write && g->readonly))
        return NULL;
    return g;
}

static long map(struct domain *d, struct gnttab_map *m)
{
    struct domain *gd = domain_get(m->dom == DOMID_SELF ? d->domid : m->dom);
    if (!gd)
        return -ESRCH;
    lock2(d, gd);
    long ret = -EINVAL;
    struct grant_entry *g = lookup(gd, m->ref, d, 0);
    if (g) {
        ret = -ENOSPC;
        for (u32 i = 0; i < NR_PMP_MAPS; i++)
            if (!d->map[i].in_use) {
                d->map[i] = (struct grant_map){ 1, gd->domid, m->ref, g->addr, g->readonly };
                g->mapcount++;
                m->addr = g->addr;
                m->handle = i;
                ret = 0;
                break;
            }
    }
    unlock2(d, gd);
    if (!ret)
        pmp_load_domain(d);
    return ret;
}

static long unmap(struct domain *d, u32 handle)
{
    if (handle >= NR_PMP_MAPS)
        return -EINVAL;
    LOCK(&d->grant_lock);
    struct grant_map m = d->map[handle];
    spin_unlock(&d->grant_lock);
    if (!m.in_use)
        return -EINVAL;
    struct domain *gd = domain_get(m.dom);
    lock2(d, gd);
    if (d->map[handle].in_use) {
        d->map[handle].in_use = 0;
        if (gd && m.ref < NR_GRANTS && gd->grant[m.ref].mapcount)
            gd->grant[m.ref].mapcount--;
    }
    unlock2(d, gd);
    pmp_load_domain(d);
    return 0;
}

/* Resolve one side of a copy to a physical address, or 0.  Caller holds the needed grant lock. */
static u32 resolve(struct domain *d, struct gnttab_copy_ptr *p, u32 len, int write)
{
    if (p->offset >= PAGE_SIZE || len > PAGE_SIZE - p->offset)
        return 0;
    if (p->domid == DOMID_SELF)
        return guest_range_ok(d, p->ref + p->offset, len) && p->ref + p->offset >= p->ref ? p->ref + p->offset : 0;
    struct domain *gd = domain_get(p->domid);
    struct grant_entry *g = gd ? lookup(gd, p->ref, d, write) : NULL;
    return g ? g->addr + p->offset : 0;
}

static long copy(struct domain *d, struct gnttab_copy *c)
{
    struct domain *sd = c->src.domid == DOMID_SELF ? d : domain_get(c->src.domid);
    struct domain *dd = c->dst.domid == DOMID_SELF ? d : domain_get(c->dst.domid);
    if (!sd || !dd)
        return c->status = -ESRCH;
    lock2(sd, dd);
    u32 s = resolve(d, &c->src, c->len, 0), t = resolve(d, &c->dst, c->len, 1);
    if (s && t)
        memcpy((void *)(uptr)t, (void *)(uptr)s, c->len);
    unlock2(sd, dd);
    return c->status = (s && t) ? 0 : -EINVAL;
}

/* grant_table_op(cmd, arg) */
long do_grant_table_op(struct vcpu *v, const u32 *a)
{
    struct domain *d = v->dom;
    static const u32 sizes[] = { sizeof(struct gnttab_grant), sizeof(struct gnttab_end),
                                 sizeof(struct gnttab_map), sizeof(struct gnttab_unmap),
                                 sizeof(struct gnttab_copy) };
    u32 cmd = a[0], arg = a[1];
    if (cmd >= ARRAY_SIZE(sizes))
        return -EINVAL;
    if ((arg & 3) || !guest_range_ok(d, arg, sizes[cmd]))
        return -EFAULT;
    switch (cmd) {
    case GNTTABOP_grant: {
        struct gnttab_grant *g = (void *)(uptr)arg;
        if ((g->addr & (PAGE_SIZE - 1)) || !guest_range_ok(d, g->addr, PAGE_SIZE) || g->domid >= MAX_DOMAINS)
            return -EINVAL;
        long ref = gnttab_grant_in(d, g->domid, g->addr, g->readonly);
        if (ref < 0)
            return ref;
        g->ref = ref;
        return 0;
    }
    case GNTTABOP_end: {
        u32 ref = *(u32 *)(uptr)arg;
        if (ref >= NR_GRANTS || ref == GREF_STORE)
            return -EINVAL;
        long ret = 0;
        LOCK(&d->grant_lock);
        if (!d->grant[ref].in_use)
            ret = -EINVAL;
        else if (d->grant[ref].mapcount)
            ret = -EBUSY;
        else
            d->grant[ref].in_use = 0;
        spin_unlock(&d->grant_lock);
        return ret;
    }
    case GNTTABOP_map: return map(d, (void *)(uptr)arg);
    case GNTTABOP_unmap: return unmap(d, *(u32 *)(uptr)arg);
    case GNTTABOP_copy: return copy(d, (void *)(uptr)arg);
    }
    return -EINVAL;
}

/* On destroy: drop the maps this domain holds. */
void gnttab_release_all(struct domain *d)
{
    for (u32 i = 0; i < NR_PMP_MAPS; i++)
        if (d->map[i].in_use)
            unmap(d, i);
}

void gnttab_dump(void)
{
    for (u32 i = 0; i < MAX_DOMAINS; i++) {
        struct domain *d = domain_get(i);
        if (!d)
            continue;
        hv_printf("grants d%u (lock %u):", i, d->grant_lock.locked);
        for (u32 r = 0; r < NR_GRANTS; r++)
            if (d->grant[r].in_use)
                hv_printf(" %u->d%u@%x/%u", r, d->grant[r].grantee, d->grant[r].addr, d->grant[r].mapcount);
        for (u32 m = 0; m < NR_PMP_MAPS; m++)
            if (d->map[m].in_use)
                hv_printf(" map%u=d%u:%u", m, d->map[m].dom, d->map[m].ref);
        hv_printf("\n");
    }
}
