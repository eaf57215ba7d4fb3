/* Grant tables: a domain grants one of its pages to another domain by reference.  The grantee can
 * map it (one of its PMP map entries then covers the page; used for shared rings) or copy to and
 * from it through the hypervisor (grant copy; used for data).  Lock order: grant locks by
 * ascending domid. */
#include "hv.h"

/* ---- frame table: every change is made under the owner's grant_lock and checked (BUG_ON), so a
 * count that would go negative or a page mapped through a domain that does not own it is caught at
 * the change, not later.  Each grant entry holds one reference; each map one more and one type use. */
static struct frame *frame_of(u32 addr)
{
    BUG_ON(addr < SLOTS_BASE || addr - SLOTS_BASE >= MAX_SLOTS * SLOT_SIZE);
    return &PRESERVED->frame[(addr - SLOTS_BASE) / PAGE_SIZE];
}

static void frame_grant(struct domain *d, u32 addr)
{
    struct frame *f = frame_of(addr);
    BUG_ON(f->owner && f->owner != d->domid + 1);
    f->owner = d->domid + 1;
    f->count++;
}

static void frame_ungrant(struct domain *d, u32 addr)
{
    struct frame *f = frame_of(addr);
    BUG_ON(f->owner != d->domid + 1);
    BUG_ON(f->count == 0 || f->count <= f->type_count);   /* never negative; the maps keep theirs */
    if (!--f->count)
        f->owner = 0;
}

/* Out of line: a directed fault stops here, inside a map with both grant locks held. */
static void __attribute__((noinline)) frame_map(struct domain *gd, u32 addr)
{
    struct frame *f = frame_of(addr);
    BUG_ON(f->owner != gd->domid + 1 || f->count == 0);  /* only a granted page of its owner */
    f->count++;
    f->type_count++;
}

static void frame_unmap(struct domain *gd, u32 addr)
{
    struct frame *f = frame_of(addr);
    BUG_ON(f->owner != gd->domid + 1);
    BUG_ON(f->type_count == 0 || f->count <= f->type_count);  /* mapped pages are counted */
    f->count--;
    f->type_count--;
}

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
            frame_grant(d, addr);
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

/* Reload the PMP only if d runs on this hart now; otherwise its hart loads d's maps at the next
 * switch to it.  (Loading d's entries here would give the running domain d's view of memory.) */
static void pmp_reload_if_current(struct domain *d)
{
    struct vcpu *cur = this_cpu()->curr;
    if (cur && cur->dom == d)
        pmp_load_domain(d);
}

/* Map: the OUT fields reach the guest before the change is made, and the map slot is claimed last,
 * so a hypervisor failure before it leaves nothing a retry would repeat (grant_fixup recomputes
 * the counts from the slots); `committed` (the vCPU's hc_committed) is set once it is made. */
static long map(struct domain *d, struct gnttab_map *m, struct gnttab_map *guest, u32 *committed)
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
                m->addr = g->addr;
                m->handle = i;
                if (guest)
                    guest_copy(guest, m, sizeof(*m));
                get_domain(gd);           /* the map keeps the granter: a dying one stays until unmapped */
                g->mapcount++;
                frame_map(gd, g->addr);
                d->map[i] = (struct grant_map){ 0, gd->domid, m->ref, g->addr, g->readonly, gd };
                fence();
                d->map[i].in_use = 1;
                if (committed)
                    *committed = 1;
                ret = 0;
                break;
            }
    }
    unlock2(d, gd);
    if (!ret)
        pmp_reload_if_current(d);
    return ret;
}

static long unmap(struct domain *d, u32 handle, u32 *committed)
{
    if (handle >= NR_PMP_MAPS)
        return -EINVAL;
    LOCK(&d->grant_lock);
    struct grant_map m = d->map[handle];
    spin_unlock(&d->grant_lock);
    if (!m.in_use)
        return -EINVAL;
    struct domain *gd = m.granter;        /* referenced by the map, possibly dying */
    BUG_ON(!gd || gd->magic != DOMAIN_MAGIC);
    lock2(d, gd);
    int mine = d->map[handle].in_use && d->map[handle].granter == gd;
    if (mine) {
        d->map[handle].in_use = 0;
        d->map[handle].granter = NULL;
        BUG_ON(m.ref >= NR_GRANTS || !gd->grant[m.ref].mapcount);
        gd->grant[m.ref].mapcount--;
        frame_unmap(gd, m.addr);
        if (committed)
            *committed = 1;
    }
    unlock2(d, gd);
    pmp_reload_if_current(d);
    if (mine)
        put_domain(gd);                   /* may free a dying granter */
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

/* grant_table_op(cmd, arg).  The argument struct is copied into hypervisor memory once, checked
 * and used there, and the OUT fields are copied back: the guest (another of its vCPUs, or a
 * device) cannot change what was checked. */
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
    union {
        struct gnttab_grant grant;
        struct gnttab_end end;
        struct gnttab_map map;
        struct gnttab_unmap unmap;
        struct gnttab_copy copy;
    } k;
    void *guest = (void *)(uptr)arg;
    guest_copy(&k, guest, sizes[cmd]);
    long ret;
    switch (cmd) {
    case GNTTABOP_grant: {
        struct gnttab_grant *g = &k.grant;
        if ((g->addr & (PAGE_SIZE - 1)) || !guest_range_ok(d, g->addr, PAGE_SIZE) || !domid_issued(g->domid))
            return -EINVAL;
        ret = gnttab_grant_in(d, g->domid, g->addr, g->readonly);
        if (ret < 0)
            return ret;
        g->ref = ret;
        ret = 0;
        break;
    }
    case GNTTABOP_end: {
        u32 ref = k.end.ref;
        if (ref >= NR_GRANTS || ref == GREF_STORE)
            return -EINVAL;
        ret = 0;
        LOCK(&d->grant_lock);
        if (!d->grant[ref].in_use)
            ret = -EINVAL;
        else if (d->grant[ref].mapcount)
            ret = -EBUSY;
        else {
            d->grant[ref].in_use = 0;
            frame_ungrant(d, d->grant[ref].addr);
        }
        spin_unlock(&d->grant_lock);
        return ret;
    }
    case GNTTABOP_map: ret = map(d, &k.map, guest, &v->hc_committed); break;
    case GNTTABOP_unmap: return unmap(d, k.unmap.handle, &v->hc_committed);
    case GNTTABOP_copy: ret = copy(d, &k.copy); break;
    default: return -EINVAL;
    }
    guest_copy(guest, &k, sizes[cmd]);    /* OUT fields (the IN ones as the guest gave them) */
    return ret;
}

/* On destroy: drop the maps this domain holds. */
void gnttab_release_all(struct domain *d)
{
    for (u32 i = 0; i < NR_PMP_MAPS; i++)
        if (d->map[i].in_use)
            unmap(d, i, NULL);
}

/* On free (the last reference gone, so no map of d's pages is left): drop its grants' references. */
void gnttab_free_domain(struct domain *d)
{
    LOCK(&d->grant_lock);
    for (u32 r = 0; r < NR_GRANTS; r++)
        if (d->grant[r].in_use) {
            BUG_ON(d->grant[r].mapcount);
            d->grant[r].in_use = 0;
            frame_ungrant(d, d->grant[r].addr);
        }
    spin_unlock(&d->grant_lock);
}

void frame_dump(void)
{
    hv_printf("frames:");
    for (u32 i = 0; i < NR_FRAMES; i++) {
        struct frame *f = &PRESERVED->frame[i];
        if (f->owner || f->count || f->type_count)
            hv_printf(" %x=d%u/%u/%u", SLOTS_BASE + i * PAGE_SIZE, f->owner - 1, f->count, f->type_count);
    }
    hv_printf("\n");
}

void gnttab_dump(void)
{
    for (u32 i = 0; i < MAX_DOMAINS; i++) {
        struct domain *d = domain_at(i);
        if (!d)
            continue;
        hv_printf("grants d%u (lock %u):", d->domid, d->grant_lock.locked);
        for (u32 r = 0; r < NR_GRANTS; r++)
            if (d->grant[r].in_use)
                hv_printf(" %u->d%u@%x/%u", r, d->grant[r].grantee, d->grant[r].addr, d->grant[r].mapcount);
        for (u32 m = 0; m < NR_PMP_MAPS; m++)
            if (d->map[m].in_use)
                hv_printf(" map%u=d%u:%u", m, d->map[m].dom, d->map[m].ref);
        hv_printf("\n");
    }
}
