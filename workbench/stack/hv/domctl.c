/* domctl: the toolstack's control over other domains.  PrivVM only. */
#include "hv.h"

static long getinfo(struct domain *d, struct domctl_getinfo *o)
{
    struct vcpu *v = d->vcpu;
    o->state = d->state;
    o->vcpu_state = v->state == VCPU_DOWN ? VCPU_DOWN : v->running ? VCPU_RUNNING : v->state;
    o->slot = d->slot;
    o->hart = v->hart;
    o->shutdown_reason = d->shutdown_reason;
    o->crash_cause = d->crash_cause;
    o->crash_pc = d->crash_pc;
    o->crash_tval = d->crash_tval;
    u64 hb = d->heartbeat;
    o->heartbeat_age = hb ? (u32)(now() - hb) : ~0u;
    o->store_port = d->shinfo->start.store_port;
    return 0;
}

/* domctl(cmd, arg) */
long do_domctl(struct vcpu *v, const u32 *a)
{
    if (!v->dom->privileged)
        return -EPERM;
    u32 cmd = a[0], arg = a[1];
    static const u32 sizes[] = { sizeof(struct domctl_create), sizeof(struct domctl_domid),
                                 sizeof(struct domctl_domid), sizeof(struct domctl_domid),
                                 sizeof(struct domctl_getinfo), sizeof(struct domctl_set_store),
                                 sizeof(struct domctl_assign_device) };
    if (cmd >= ARRAY_SIZE(sizes))
        return -EINVAL;
    if ((arg & 3) || !guest_range_ok(v->dom, arg, sizes[cmd]))
        return -EFAULT;
    union {                               /* the argument, copied in once (see do_grant_table_op) */
        struct domctl_create create;
        struct domctl_domid id;
        struct domctl_getinfo info;
        struct domctl_set_store store;
        struct domctl_assign_device assign;
    } k;
    void *guest = (void *)(uptr)arg;
    guest_copy(&k, guest, sizes[cmd]);
    if (cmd == DOMCTL_create) {
        long err = 0;
        struct domain *d = domain_create(k.create.module, k.create.hart, k.create.appvm_index, &err);
        if (!d)
            return err;
        k.create.domid = d->domid;
        guest_copy(guest, &k, sizeof(k.create));
        return 0;
    }
    u32 domid = k.id.domid;               /* every other struct starts with the domid */
    struct domain *d = domain_get(domid);
    if (!d)
        return -ESRCH;
    switch (cmd) {
    case DOMCTL_destroy: return domain_destroy(d);
    case DOMCTL_pause:
    case DOMCTL_unpause:
        if (d == v->dom)
            return -EINVAL;
        domain_pause(d, cmd == DOMCTL_pause);
        return 0;
    case DOMCTL_getinfo:
        getinfo(d, &k.info);
        guest_copy(guest, &k, sizeof(k.info));
        return 0;
    case DOMCTL_set_store: {
        struct domctl_set_store *s = &k.store;
        if (s->port == 0 || s->port >= NR_EVTCHN)
            return -EINVAL;
        d->shinfo->start.store_port = s->port;
        return 0;
    }
    case DOMCTL_assign_device:
        if (d == v->dom || d->state != DOMSTATE_PAUSED)
            return -EINVAL;
        return physdev_assign(d, &k.assign);
    }
    return -EINVAL;
}
