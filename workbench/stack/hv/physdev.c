/* Device assignment and physical interrupts (Xen's physdev and pirq roles).  The toolstack gives a
 * device to a driver domain (DOMCTL_assign_device): its MMIO window becomes reachable from the
 * domain's PMP device entries and its PLIC source is enabled on the PLIC context of the hart the
 * domain's vCPU is pinned to.  An interrupt is claimed by the hypervisor there and delivered as an
 * event on the port the domain bound (EVTCHNOP_bind_pirq); the claim is completed only when the
 * domain says PHYSDEVOP_eoi, so a device the driver has not yet serviced cannot interrupt again.
 * The routing table lives in the preserved heap (pirq[], guarded by irq_lock): a claimed but
 * unacknowledged interrupt is exactly what a hypervisor microreboot must not forget (ack_irqs). */
#include "hv.h"

/* Every hart: accept every priority on its own machine-mode context, nothing enabled yet. */
void plic_init_hart(void)
{
    u32 ctx = PLIC_CTX(this_hart());
    mmio_write(PLIC_ENABLE(ctx), 0);
    mmio_write(PLIC_THRESHOLD(ctx), 0);
}

static void plic_enable(u32 irq, u32 hart, int on)
{
    u32 reg = PLIC_ENABLE(PLIC_CTX(hart)) + 4 * (irq / 32);
    u32 bit = 1u << (irq % 32);
    mmio_write(PLIC_PRIORITY(irq), on ? 1 : 0);
    mmio_write(reg, on ? mmio_read(reg) | bit : mmio_read(reg) & ~bit);
}

int physdev_owns(struct domain *d, u32 pirq)
{
    return pirq > 0 && pirq < NR_PIRQS && READ_ONCE(PRESERVED->pirq[pirq].owner) == d->domid + 1;
}

/* Is [base, base+size) a window some domain other than `d` already has? */
static int window_taken(struct domain *self, u32 base, u32 size)
{
    for (u32 i = 0; i < MAX_DOMAINS; i++) {
        struct domain *o = domain_at(i);
        if (!o)
            continue;
        for (u32 k = 0; k < o->ndev; k++)
            if (base < o->dev[k].base + o->dev[k].size && o->dev[k].base < base + size)
                return 1;
    }
    return 0;
}

/* Merge d's windows into address ranges (adjacent windows share one), ascending; returns how many
 * ranges there are, or max + 1 if they do not fit in `max`. */
static u32 dev_ranges(struct domain *d, u32 *lo, u32 *hi, u32 max)
{
    struct dev_window w[MAX_DEVICES];
    u32 n = d->ndev < MAX_DEVICES ? d->ndev : MAX_DEVICES, r = 0;
    memcpy(w, d->dev, n * sizeof(w[0]));
    for (u32 i = 1; i < n; i++)                      /* insertion sort by base */
        for (u32 j = i; j > 0 && w[j - 1].base > w[j].base; j--) {
            struct dev_window t = w[j];
            w[j] = w[j - 1], w[j - 1] = t;
        }
    for (u32 i = 0; i < n; i++) {
        if (r && hi[r - 1] == w[i].base) {
            hi[r - 1] += w[i].size;
        } else {
            if (r == max)
                return max + 1;
            lo[r] = w[i].base, hi[r] = w[i].base + w[i].size, r++;
        }
    }
    return r;
}

#define NR_DEV_RANGES (NR_PMP_DEV / 2)   /* one TOR pair per range */

/* Program PMP device entries for d (part of pmp_load_domain): TOR pairs, read/write. */
void physdev_pmp(struct domain *d, u8 *cfg, void (*addr_write)(u32, u32))
{
    u32 lo[NR_DEV_RANGES], hi[NR_DEV_RANGES];
    u32 n = dev_ranges(d, lo, hi, NR_DEV_RANGES);
    for (u32 r = 0; r < n && r < NR_DEV_RANGES; r++) {
        addr_write(PMP_DEV0 + 2 * r, lo[r] >> 2);
        addr_write(PMP_DEV0 + 2 * r + 1, hi[r] >> 2);
        cfg[PMP_DEV0 + 2 * r + 1] = (1u << 3) /* TOR */ | 1 /* R */ | 2 /* W */;
    }
}

/* DOMCTL_assign_device.  The domain must not be running yet (its vCPU's hart is where its
 * interrupts go, and its PMP entries are loaded when it is next scheduled). */
long physdev_assign(struct domain *d, const struct domctl_assign_device *a)
{
    struct preserved *p = PRESERVED;
    u32 end = VIRTIO_BASE + VIRTIO_SLOTS * VIRTIO_STRIDE;
    if ((a->base & (PAGE_SIZE - 1)) || !a->size || (a->size & (PAGE_SIZE - 1)) || a->base < VIRTIO_BASE ||
        a->base >= end || a->size > end - a->base || a->irq >= NR_PIRQS)
        return -EINVAL;
    if (!probe_read(a->base))
        return -ENODEV;
    LOCK(&p->dom_lock);                              /* no other assignment runs meanwhile */
    long ret = 0;
    if (d->ndev == MAX_DEVICES)
        ret = -ENOSPC;
    else if (window_taken(d, a->base, a->size) || (a->irq && p->pirq[a->irq].owner))
        ret = -EBUSY;
    if (!ret) {
        LOCK(&d->lock);
        d->dev[d->ndev++] = (struct dev_window){ a->base, a->size, a->irq };
        u32 lo[NR_DEV_RANGES], hi[NR_DEV_RANGES];
        if (dev_ranges(d, lo, hi, NR_DEV_RANGES) > NR_DEV_RANGES) {   /* more than our PMP entries */
            d->ndev--;
            ret = -ENOSPC;
        }
        spin_unlock(&d->lock);
    }
    if (!ret && a->irq) {
        LOCK(&p->irq_lock);
        p->pirq[a->irq] = (struct pirq){ d->domid + 1, d->vcpu->hart, 0, 0 };
        plic_enable(a->irq, d->vcpu->hart, 1);
        spin_unlock(&p->irq_lock);
    }
    spin_unlock(&p->dom_lock);
    if (!ret)
        hv_printf("hv: d%u assigned device 0x%08x+0x%x, irq %u on hart %u\n", d->domid, a->base, a->size,
                  a->irq, d->vcpu->hart);
    return ret;
}

/* A new hypervisor instance (ReHype): route every assigned source again, from the preserved pirq[]
 * (plic_init_hart disabled them all on this boot). */
void physdev_restore_routing(void)
{
    struct preserved *p = PRESERVED;
    for (u32 irq = 1; irq < NR_PIRQS; irq++)
        if (p->pirq[irq].owner && p->pirq[irq].hart < hv.nharts)
            plic_enable(irq, p->pirq[irq].hart, 1);
}

/* An interrupt that arrived before the owner bound a port is delivered at bind time. */
void physdev_bound(struct domain *d, u32 pirq)
{
    if (READ_ONCE(PRESERVED->pirq[pirq].inflight) && d->pirq_port[pirq])
        evtchn_set_pending(d, d->pirq_port[pirq]);
}

/* Machine external interrupt on this hart: claim every pending source and pass each to its owner.
 * A source nobody owns (any more) is completed and disabled. */
void plic_interrupt(void)
{
    struct preserved *p = PRESERVED;
    u32 ctx = PLIC_CTX(this_hart()), irq;
    while ((irq = mmio_read(PLIC_CLAIM(ctx))) != 0) {
        struct domain *d = NULL;
        if (irq < NR_PIRQS) {
            LOCK(&p->irq_lock);
            struct pirq *q = &p->pirq[irq];
            d = q->owner ? domain_get(q->owner - 1) : NULL;
            if (d) {
                get_domain(d);                        /* held until the event is set */
                q->inflight = 1;
                q->count++;
            }
            spin_unlock(&p->irq_lock);
        }
        if (!d) {
            plic_enable(irq, this_hart(), 0);
            mmio_write(PLIC_CLAIM(ctx), irq);
            continue;
        }
        u32 port = READ_ONCE(d->pirq_port[irq]);
        if (port)
            evtchn_set_pending(d, port);              /* else physdev_bound delivers it */
        put_domain(d);
    }
}

/* The owner is done with an interrupt: complete the claim so the source can interrupt again. */
static long eoi(struct domain *d, u32 irq)
{
    struct preserved *p = PRESERVED;
    if (!physdev_owns(d, irq))
        return -EPERM;
    LOCK(&p->irq_lock);
    struct pirq *q = &p->pirq[irq];
    long ret = q->inflight ? 0 : -EINVAL;
    if (q->inflight) {
        q->inflight = 0;
        mmio_write(PLIC_CLAIM(PLIC_CTX(q->hart)), irq);
    }
    spin_unlock(&p->irq_lock);
    return ret;
}

/* physdev_op(cmd, arg) */
long do_physdev_op(struct vcpu *v, const u32 *a)
{
    u32 cmd = a[0], arg = a[1];
    if (cmd != PHYSDEVOP_eoi)
        return -EINVAL;
    if ((arg & 3) || !guest_range_ok(v->dom, arg, sizeof(struct physdev_eoi)))
        return -EFAULT;
    return eoi(v->dom, ((struct physdev_eoi *)(uptr)arg)->irq);
}

/* On destroy: give the domain's interrupts back (completing any it left claimed). */
void physdev_release(struct domain *d)
{
    struct preserved *p = PRESERVED;
    LOCK(&p->irq_lock);
    for (u32 irq = 1; irq < NR_PIRQS; irq++) {
        struct pirq *q = &p->pirq[irq];
        if (q->owner != d->domid + 1)
            continue;
        plic_enable(irq, q->hart, 0);
        if (q->inflight)
            mmio_write(PLIC_CLAIM(PLIC_CTX(q->hart)), irq);
        *q = (struct pirq){ 0, 0, 0, 0 };
    }
    spin_unlock(&p->irq_lock);
    d->ndev = 0;
}

void physdev_dump(void)
{
    struct preserved *p = PRESERVED;
    hv_printf("irqs (lock %u):", p->irq_lock.locked);
    for (u32 irq = 1; irq < NR_PIRQS; irq++) {
        struct pirq *q = &p->pirq[irq];
        if (q->owner)
            hv_printf(" %u->d%u@h%u%s/%u", irq, q->owner - 1, q->hart, q->inflight ? "*" : "", q->count);
    }
    hv_printf("\n");
}
