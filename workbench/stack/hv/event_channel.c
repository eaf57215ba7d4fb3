/* Event channels: per-domain ports that are unbound, connected to a port of another domain (or the
 * same one), or bound to a virtual IRQ.  Sending sets the peer's pending bit in its shared-info page;
 * if the port is unmasked, the peer gets an upcall (Xen-PV style: pending_sel, upcall_pending,
 * upcall_mask).  Lock order: evtchn locks by ascending domid, then run-queue locks. */
#include "hv.h"

void evtchn_init_domain(struct domain *d)
{
    spin_init(&d->evtchn_lock);
    memset(d->evtchn, 0, sizeof(d->evtchn));
    memset(d->virq_port, 0, sizeof(d->virq_port));
    memset(d->pirq_port, 0, sizeof(d->pirq_port));
    d->evtchn[0].state = ECS_RESERVED;
}

static int port_ok(u32 port) { return port > 0 && port < NR_EVTCHN; }

/* Lowest free port, or -ENOSPC.  Caller holds d->evtchn_lock. */
static long alloc_port(struct domain *d)
{
    for (u32 p = 1; p < NR_EVTCHN; p++)
        if (d->evtchn[p].state == ECS_FREE)
            return p;
    return -ENOSPC;
}

static void lock_pair(struct domain *a, struct domain *b)
{
    if (a == b) {
        LOCK(&a->evtchn_lock);
        return;
    }
    if (a->domid > b->domid) {
        struct domain *t = a;
        a = b, b = t;
    }
    LOCK(&a->evtchn_lock);
    LOCK(&b->evtchn_lock);
}

static void unlock_pair(struct domain *a, struct domain *b)
{
    spin_unlock(&a->evtchn_lock);
    if (a != b)
        spin_unlock(&b->evtchn_lock);
}

/* Mark `port` of d pending and, if it is unmasked, raise an upcall. */
void evtchn_set_pending(struct domain *d, u32 port)
{
    struct shared_info *si = d->shinfo;
    struct vcpu *v = d->vcpu;
    BUG_ON(!port_ok(port));                              /* callers pass bound ports only */
    u32 w = port / 32, bit = 1u << (port % 32);
    u32 old = __atomic_fetch_or(&si->evtchn_pending[w], bit, __ATOMIC_SEQ_CST);
    if (READ_ONCE(v->poll_port) == port)
        vcpu_wake(v);
    if ((old & bit) || (READ_ONCE(si->evtchn_mask[w]) & bit))
        return;
    __atomic_fetch_or(&si->vcpu[0].pending_sel, 1u << w, __ATOMIC_SEQ_CST);
    __atomic_store_n(&si->vcpu[0].upcall_pending, 1, __ATOMIC_SEQ_CST);
    vcpu_kick(v);
}

void evtchn_send_virq(struct domain *d, u32 virq)
{
    LOCK(&d->evtchn_lock);
    u32 port = virq < NR_VIRQ ? d->virq_port[virq] : 0;
    spin_unlock(&d->evtchn_lock);
    if (port)
        evtchn_set_pending(d, port);
}

long evtchn_alloc_unbound_in(struct domain *d, u32 remote)
{
    LOCK(&d->evtchn_lock);
    long port = alloc_port(d);
    if (port > 0) {
        d->evtchn[port].state = ECS_UNBOUND;
        d->evtchn[port].remote_dom = remote;
    }
    spin_unlock(&d->evtchn_lock);
    return port;
}

static long bind_interdomain(struct domain *ld, u32 remote_dom, u32 rport)
{
    struct domain *rd = domain_get(remote_dom == DOMID_SELF ? ld->domid : remote_dom);
    if (!rd)
        return -ESRCH;
    if (!port_ok(rport))
        return -EINVAL;
    lock_pair(ld, rd);
    long lport = -EINVAL;
    struct evtchn *r = &rd->evtchn[rport];
    if (r->state == ECS_UNBOUND && r->remote_dom == ld->domid) {
        lport = alloc_port(ld);
        if (lport > 0) {
            ld->evtchn[lport] = (struct evtchn){ ECS_INTERDOMAIN, rd->domid, rport, 0 };
            *r = (struct evtchn){ ECS_INTERDOMAIN, ld->domid, (u32)lport, 0 };
        }
    }
    unlock_pair(ld, rd);
    return lport;
}

static long bind_virq(struct domain *d, u32 virq)
{
    if (virq >= NR_VIRQ)
        return -EINVAL;
    if (virq == VIRQ_DOM_EXC && !d->privileged)
        return -EPERM;
    LOCK(&d->evtchn_lock);
    long port = d->virq_port[virq] ? -EEXIST : alloc_port(d);
    if (port > 0) {
        d->evtchn[port] = (struct evtchn){ ECS_VIRQ, 0, 0, virq };
        d->virq_port[virq] = port;
    }
    spin_unlock(&d->evtchn_lock);
    return port;
}

/* A physical IRQ of a device assigned to d (physdev.c) becomes an event on a new port. */
static long bind_pirq(struct domain *d, u32 pirq)
{
    if (!physdev_owns(d, pirq))
        return -EPERM;
    LOCK(&d->evtchn_lock);
    long port = d->pirq_port[pirq] ? -EEXIST : alloc_port(d);
    if (port > 0) {
        d->evtchn[port] = (struct evtchn){ ECS_PIRQ, 0, 0, pirq };
        d->pirq_port[pirq] = port;
    }
    spin_unlock(&d->evtchn_lock);
    if (port > 0)
        physdev_bound(d, pirq);
    return port;
}

static long send(struct domain *ld, u32 port)
{
    if (!port_ok(port))
        return -EINVAL;
    LOCK(&ld->evtchn_lock);
    struct evtchn *c = &ld->evtchn[port];
    long ret = 0;
    BUG_ON(c->state > ECS_RESERVED);                     /* not a state: the table is corrupted */
    if (c->state == ECS_INTERDOMAIN) {
        struct domain *rd = domain_get(c->remote_dom);
        if (rd)
            evtchn_set_pending(rd, c->remote_port);   /* under our lock: the binding cannot vanish */
    } else if (c->state != ECS_UNBOUND) {
        ret = -EINVAL;
    }
    spin_unlock(&ld->evtchn_lock);
    return ret;
}

static long close_port(struct domain *ld, u32 port)
{
    if (!port_ok(port))
        return -EINVAL;
    LOCK(&ld->evtchn_lock);
    struct evtchn c = ld->evtchn[port];
    spin_unlock(&ld->evtchn_lock);
    struct domain *rd = c.state == ECS_INTERDOMAIN ? domain_get(c.remote_dom) : NULL;
    if (rd)
        lock_pair(ld, rd);
    else
        LOCK(&ld->evtchn_lock);
    struct evtchn *lc = &ld->evtchn[port];
    long ret = 0;
    if (lc->state == ECS_FREE || lc->state == ECS_RESERVED || lc->state != c.state) {
        ret = lc->state == c.state ? -EINVAL : -EAGAIN;
    } else {
        if (lc->state == ECS_INTERDOMAIN && rd) {     /* the peer's end becomes unbound again */
            struct evtchn *r = &rd->evtchn[lc->remote_port];
            if (r->state == ECS_INTERDOMAIN && r->remote_dom == ld->domid && r->remote_port == port)
                *r = (struct evtchn){ ECS_UNBOUND, ld->domid, 0, 0 };
        }
        if (lc->state == ECS_VIRQ)
            ld->virq_port[lc->virq] = 0;
        if (lc->state == ECS_PIRQ && lc->virq < NR_PIRQS)
            ld->pirq_port[lc->virq] = 0;
        *lc = (struct evtchn){ ECS_FREE, 0, 0, 0 };
    }
    if (rd)
        unlock_pair(ld, rd);
    else
        spin_unlock(&ld->evtchn_lock);
    return ret;
}

void evtchn_close_all(struct domain *d)
{
    for (u32 p = 1; p < NR_EVTCHN; p++)
        if (d->evtchn[p].state != ECS_FREE)
            close_port(d, p);
}

static long unmask(struct domain *d, u32 port)
{
    if (!port_ok(port))
        return -EINVAL;
    struct shared_info *si = d->shinfo;
    u32 w = port / 32, bit = 1u << (port % 32);
    __atomic_fetch_and(&si->evtchn_mask[w], ~bit, __ATOMIC_SEQ_CST);
    if (READ_ONCE(si->evtchn_pending[w]) & bit) {     /* re-raise what arrived while masked */
        __atomic_fetch_or(&si->vcpu[0].pending_sel, 1u << w, __ATOMIC_SEQ_CST);
        __atomic_store_n(&si->vcpu[0].upcall_pending, 1, __ATOMIC_SEQ_CST);
    }
    return 0;
}

/* event_channel_op(cmd, arg).  The argument struct is copied in once, used from the copy, and
 * copied back for the OUT fields (see do_grant_table_op). */
long do_event_channel_op(struct vcpu *v, const u32 *a)
{
    struct domain *d = v->dom;
    static const u32 sizes[] = { sizeof(struct evtchn_alloc_unbound), sizeof(struct evtchn_bind_interdomain),
                                 sizeof(struct evtchn_bind_virq), 4, 4, 4, 4,
                                 sizeof(struct evtchn_bind_pirq) };
    u32 cmd = a[0], arg = a[1];
    if (cmd >= ARRAY_SIZE(sizes))
        return -EINVAL;
    if ((arg & 3) || !guest_range_ok(d, arg, sizes[cmd]))
        return -EFAULT;
    union {
        struct evtchn_alloc_unbound alloc;
        struct evtchn_bind_interdomain inter;
        struct evtchn_bind_virq virq;
        struct evtchn_bind_pirq pirq;
        struct evtchn_port port;
    } k;
    void *guest = (void *)(uptr)arg;
    guest_copy(&k, guest, sizes[cmd]);
    long r;
    switch (cmd) {
    case EVTCHNOP_alloc_unbound: {
        struct evtchn_alloc_unbound *u = &k.alloc;
        struct domain *td = u->dom == DOMID_SELF || u->dom == d->domid ? d : NULL;
        if (!td) {
            if (!d->privileged)
                return -EPERM;
            if (!(td = domain_get(u->dom)))
                return -ESRCH;
        }
        u32 remote = u->remote_dom == DOMID_SELF ? d->domid : u->remote_dom;
        if (!domid_issued(remote))
            return -EINVAL;
        r = evtchn_alloc_unbound_in(td, remote);
        if (r > 0)
            u->port = r, r = 0;
        break;
    }
    case EVTCHNOP_bind_interdomain:
        r = bind_interdomain(d, k.inter.remote_dom, k.inter.remote_port);
        if (r > 0)
            k.inter.local_port = r, r = 0;
        break;
    case EVTCHNOP_bind_virq:
        r = bind_virq(d, k.virq.virq);
        if (r > 0)
            k.virq.port = r, r = 0;
        break;
    case EVTCHNOP_bind_pirq:
        r = bind_pirq(d, k.pirq.pirq);
        if (r > 0)
            k.pirq.port = r, r = 0;
        break;
    case EVTCHNOP_send: return send(d, k.port.port);
    case EVTCHNOP_close: return close_port(d, k.port.port);
    case EVTCHNOP_mask: {
        u32 port = k.port.port;
        if (!port_ok(port))
            return -EINVAL;
        __atomic_fetch_or(&d->shinfo->evtchn_mask[port / 32], 1u << (port % 32), __ATOMIC_SEQ_CST);
        return 0;
    }
    case EVTCHNOP_unmask: return unmask(d, k.port.port);
    default: return -EINVAL;
    }
    if (r == 0)
        guest_copy(guest, &k, sizes[cmd]);
    return r;
}

/* If v has an unmasked pending upcall, divert it to its upcall entry; the interrupted frame is
 * saved in its vcpu_info for HV_iret. */
void upcall_maybe_deliver(struct vcpu *v)
{
    struct vcpu_info *vi = &v->dom->shinfo->vcpu[0];
    if (!v->upcall_pc || !READ_ONCE(vi->upcall_pending) || READ_ONCE(vi->upcall_mask))
        return;
    /* frame first: a failure before the mask is set leaves the upcall undelivered, to be delivered
     * again; read back, because a wrong frame would crash the guest only at its iret */
    guest_copy(&vi->saved, &v->regs, sizeof(v->regs));
    vi->upcall_mask = 1;
    v->regs.x[REG_PC] = v->upcall_pc;
}

long do_iret(struct vcpu *v, const u32 *a)
{
    struct vcpu_info *vi = &v->dom->shinfo->vcpu[0];
    guest_copy(&v->regs, &vi->saved, sizeof(v->regs));
    WRITE_ONCE(vi->upcall_mask, 0);
    v->hc_committed = 1;                      /* a retry would restore the frame twice */
    return 0;
}

/* set_callbacks(upcall_pc): 0 disables upcalls. */
long do_set_callbacks(struct vcpu *v, const u32 *a)
{
    if (a[0] && ((a[0] & 3) || !guest_range_ok(v->dom, a[0], 4)))
        return -EINVAL;
    v->upcall_pc = a[0];
    return 0;
}

void evtchn_dump(void)
{
    static const char *st = "FUIVPR";
    for (u32 i = 0; i < MAX_DOMAINS; i++) {
        struct domain *d = domain_at(i);
        if (!d)
            continue;
        hv_printf("evtchn d%u (lock %u) pending %08x %08x mask %08x %08x:", d->domid, d->evtchn_lock.locked,
                  d->shinfo->evtchn_pending[0], d->shinfo->evtchn_pending[1], d->shinfo->evtchn_mask[0],
                  d->shinfo->evtchn_mask[1]);
        for (u32 p = 1; p < NR_EVTCHN; p++) {
            struct evtchn *c = &d->evtchn[p];
            if (c->state != ECS_FREE)
                hv_printf(" %u:%c%u.%u", p, c->state < 6 ? st[c->state] : '?', c->remote_dom,
                          c->state == ECS_VIRQ ? c->virq : c->remote_port);
        }
        hv_printf("\n");
    }
}
