/* Domains: creation from a boot module (an ELF linked for its slot), pause, shutdown, crash and
 * destruction.  Domain and vCPU structures live in the preserved heap; their table is the
 * preserved root's dom[], guarded by dom_lock.  Domain ids are never reused (next_domid), so a
 * restarted component is never mistaken for its predecessor.  Destruction is Xen's: the domain
 * becomes dying (no new references), and is freed when its last reference goes (a grant map of
 * one of its pages, an event delivery or timer callback in flight on another hart). */
#include "hv.h"

/* Table entry i (a domain being created has magic 0 and is skipped); a corrupted entry panics. */
struct domain *domain_at(u32 i)
{
    struct domain *d = i < MAX_DOMAINS ? READ_ONCE(PRESERVED->dom[i]) : NULL;
    if (!d)
        return NULL;
    BUG_ON(d->magic != DOMAIN_MAGIC && d->magic != 0);   /* a freed or overwritten domain */
    return d->magic == DOMAIN_MAGIC ? d : NULL;
}

/* The live (not dying) domain with this id, or NULL. */
struct domain *domain_get(u32 domid)
{
    for (u32 i = 0; i < MAX_DOMAINS; i++) {
        struct domain *d = domain_at(i);
        if (d && d->domid == domid)
            return READ_ONCE(d->dying) ? NULL : d;
    }
    return NULL;
}

/* Has `domid` ever been given to a domain?  (Grants and unbound channels may name a domain that
 * has gone, but not one that never existed.) */
int domid_issued(u32 domid)
{
    return domid < READ_ONCE(PRESERVED->next_domid);
}

void get_domain(struct domain *d)
{
    BUG_ON(d->magic != DOMAIN_MAGIC);
    u32 old = __atomic_fetch_add(&d->refcnt, 1, __ATOMIC_ACQ_REL);
    BUG_ON(old == 0);                     /* only a holder of a reference may take another */
}

/* Drop a reference; the last one frees a dying domain (slot and table entry become free). */
void put_domain(struct domain *d)
{
    struct preserved *p = PRESERVED;
    BUG_ON(d->magic != DOMAIN_MAGIC);
    u32 old = __atomic_fetch_sub(&d->refcnt, 1, __ATOMIC_ACQ_REL);
    BUG_ON(old == 0);
    if (old != 1)
        return;
    BUG_ON(!d->dying);
    LOCK(&p->dom_lock);
    for (u32 i = 0; i < MAX_DOMAINS; i++)
        if (p->dom[i] == d)
            p->dom[i] = NULL;
    spin_unlock(&p->dom_lock);
    hv_printf("hv: d%u freed\n", d->domid);
    gnttab_free_domain(d);
    d->magic = 0;
    heap_free(d->vcpu);
    heap_free(d);
}

/* Is [addr, addr+len) inside d's own slot? */
int guest_range_ok(struct domain *d, u32 addr, u32 len)
{
    return addr >= d->base && len <= d->size && addr - d->base <= d->size - len;
}

struct elf32_ehdr {
    u8 ident[16];
    u16 type, machine;
    u32 version, entry, phoff, shoff, flags;
    u16 ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};
struct elf32_phdr {
    u32 type, offset, vaddr, paddr, filesz, memsz, flags, align;
};
#define PT_LOAD 1
#define EM_RISCV 243

/* Copy the module's loadable segments into d's slot; returns the entry point or 0. */
u32 load_elf(struct domain *d, const struct boot_module *m)
{
    const u8 *img = (const u8 *)(uptr)m->addr;
    struct elf32_ehdr eh;
    if (m->size < sizeof(eh))
        return 0;
    memcpy(&eh, img, sizeof(eh));
    if (memcmp(eh.ident, "\177ELF", 4) || eh.ident[4] != 1 || eh.machine != EM_RISCV ||
        eh.phentsize != sizeof(struct elf32_phdr) || eh.phoff > m->size ||
        eh.phnum > (m->size - eh.phoff) / sizeof(struct elf32_phdr))
        return 0;
    u32 lo = d->base + SLOT_IMAGE_OFF;
    for (u32 i = 0; i < eh.phnum; i++) {
        struct elf32_phdr ph;
        memcpy(&ph, img + eh.phoff + i * sizeof(ph), sizeof(ph));
        if (ph.type != PT_LOAD || ph.memsz == 0)
            continue;
        if (ph.vaddr < lo || !guest_range_ok(d, ph.vaddr, ph.memsz) || ph.filesz > ph.memsz ||
            ph.offset > m->size || ph.filesz > m->size - ph.offset)
            return 0;
        memcpy((void *)(uptr)ph.vaddr, img + ph.offset, ph.filesz);
        memset((void *)(uptr)(ph.vaddr + ph.filesz), 0, ph.memsz - ph.filesz);
    }
    return eh.entry >= lo && guest_range_ok(d, eh.entry, 4) ? eh.entry : 0;
}

/* Create a paused domain from boot module `module` in the slot the module is linked for. */
struct domain *domain_create(u32 module, u32 hart, u32 appvm_index, long *err)
{
    struct preserved *p = PRESERVED;
    if (module >= hv.bi.nmodules || hv.bi.module[module].kind == MOD_NONE ||
        hv.bi.module[module].slot >= MAX_SLOTS) {
        *err = -EINVAL;
        return NULL;
    }
    const struct boot_module *m = &hv.bi.module[module];
    if (hart != ~0u && hart >= hv.nharts) {
        *err = -EINVAL;
        return NULL;
    }
    struct domain *d = heap_alloc(sizeof(*d));
    struct vcpu *v = heap_alloc(sizeof(*v));
    if (!d || !v) {
        if (d) heap_free(d);
        if (v) heap_free(v);
        *err = -ENOMEM;
        return NULL;
    }
    u32 idx = MAX_DOMAINS, id;
    LOCK(&p->dom_lock);
    for (u32 i = 0; i < MAX_DOMAINS; i++)
        if (p->dom[i] && p->dom[i]->slot == m->slot)   /* a dying domain keeps its slot too */
            goto busy;
    for (u32 i = 0; i < MAX_DOMAINS && idx == MAX_DOMAINS; i++)
        if (!p->dom[i])
            idx = i;
    if (idx == MAX_DOMAINS || p->next_domid >= DOMID_SELF)
        goto busy;
    id = p->next_domid++;                 /* never reused */
    d->slot = m->slot;                    /* before publishing: the slot check above reads it */
    p->dom[idx] = d;                      /* reserved: magic is still 0, so domain_get ignores it */
    spin_unlock(&p->dom_lock);

    d->domid = id;
    d->refcnt = 1;                        /* the creation reference, dropped by domain_destroy */
    d->slot = m->slot;
    d->base = SLOT_ADDR(m->slot);
    d->size = SLOT_SIZE;
    d->module = module;
    d->shinfo = (struct shared_info *)(uptr)(d->base + SLOT_SHINFO_OFF);
    d->vcpu = v;
    d->state = DOMSTATE_PAUSED;
    v->dom = d;
    sched_init_vcpu(v, hart != ~0u ? hart : id % hv.nharts);
    memset(d->shinfo, 0, 2 * PAGE_SIZE);  /* shared info and config-store ring */
    u32 entry = load_elf(d, m);
    if (!entry) {
        hv_printf("hv: module %u is not a valid image for slot %u\n", module, m->slot);
        LOCK(&p->dom_lock);
        p->dom[idx] = NULL;
        spin_unlock(&p->dom_lock);
        heap_free(d);
        heap_free(v);
        *err = -EINVAL;
        return NULL;
    }
    struct start_info *si = &d->shinfo->start;
    si->magic = START_MAGIC;
    si->domid = id;
    si->slot = d->slot;
    si->slot_base = d->base;
    si->slot_size = d->size;
    si->nharts = hv.nharts;
    si->store_ring = d->base + SLOT_STORE_OFF;
    si->appvm_index = appvm_index;
    v->regs.x[REG_PC] = entry;
    v->regs.x[10] = id;
    v->regs.x[11] = (u32)(uptr)d->shinfo;
    evtchn_init_domain(d);
    gnttab_init_domain(d);
    gnttab_grant_in(d, 0, si->store_ring, 0);   /* GREF_STORE: the ring page, to the PrivVM */
    fence();
    d->magic = DOMAIN_MAGIC;
    hv_printf("hv: created d%u in slot %u from module %u, hart %u, entry 0x%08x\n", id, d->slot, module,
              v->hart, entry);
    return d;
busy:
    spin_unlock(&p->dom_lock);
    heap_free(d);
    heap_free(v);
    *err = -EBUSY;
    return NULL;
}

void domain_pause(struct domain *d, int pause)
{
    LOCK(&d->lock);
    if (pause && d->state == DOMSTATE_RUNNING)
        d->state = DOMSTATE_PAUSED;
    else if (!pause && d->state == DOMSTATE_PAUSED)
        d->state = DOMSTATE_RUNNING;
    spin_unlock(&d->lock);
    vcpu_wake(d->vcpu);                   /* queues it if it can run now, else kicks its hart */
}

static void notify_toolstack(struct domain *d)
{
    struct domain *priv = domain_get(0);
    if (priv && priv != d)
        evtchn_send_virq(priv, VIRQ_DOM_EXC);
}

void domain_shutdown(struct domain *d, u32 reason)
{
    LOCK(&d->lock);
    int was_alive = d->state == DOMSTATE_RUNNING || d->state == DOMSTATE_PAUSED;
    if (was_alive) {
        d->state = DOMSTATE_SHUTDOWN;
        d->shutdown_reason = reason;
    }
    spin_unlock(&d->lock);
    if (!was_alive)
        return;
    vcpu_down(d->vcpu);
    hv_printf("hv: d%u shut down (reason %u)\n", d->domid, reason);
    if (d->slot == SLOT_DVM)              /* the driver VM never stops of its own will: a failure */
        dvm_crashed(d);
    if (d->privileged) {                  /* the toolstack decides when the system stops */
        if (hv.bi.boot_flags & BOOT_DUMP_AT_EXIT)
            hv_dump("all");
        hv_printf("hv: PrivVM shut down at time %u: %s\n", (u32)now(),
                  reason == SHUTDOWN_reboot ? "reset" : "power off");
        mmio_write(SYSCON_BASE, reason == SHUTDOWN_reboot ? 0x7777 : SYSCON_POWEROFF);
        park_hart();
    }
    notify_toolstack(d);
}

/* Mark d crashed and take its vCPU down; -> 0 if it was already down. */
static int kill(struct domain *d, u32 cause, u32 pc, u32 tval)
{
    LOCK(&d->lock);
    int was_alive = d->state == DOMSTATE_RUNNING || d->state == DOMSTATE_PAUSED;
    if (was_alive) {
        d->state = DOMSTATE_CRASHED;
        d->shutdown_reason = SHUTDOWN_crash;
        d->crash_cause = cause;
        d->crash_pc = pc;
        d->crash_tval = tval;
    }
    spin_unlock(&d->lock);
    if (was_alive)
        vcpu_down(d->vcpu);
    return was_alive;
}

/* A fault (or the guest's own crash request): for the DVM and the PrivVM a component failure. */
void domain_crash(struct domain *d, u32 cause, u32 pc, u32 tval)
{
    if (!kill(d, cause, pc, tval))
        return;
    if (d->privileged) {
        privvm_failed(d, 0);
        return;
    }
    if (d->slot == SLOT_DVM)
        dvm_crashed(d);
    notify_toolstack(d);
}

/* Destroy a domain: it becomes dying (domain_get no longer finds it), gives back its channels,
 * the pages it mapped and its devices, and drops the creation reference; it is freed when the
 * last reference goes (at once, unless others still map its pages).  -EBUSY while its vCPU is
 * still on its hart (the caller retries). */
long domain_destroy(struct domain *d)
{
    struct preserved *p = PRESERVED;
    if (d->privileged)
        return -EPERM;
    if (kill(d, 0, 0, 0))                 /* the toolstack's decision, not a failure to report */
        notify_toolstack(d);
    struct percpu *pc = &percpu[d->vcpu->hart];
    LOCK(&pc->rq_lock);                   /* schedule() clears `running` under it */
    int busy = d->vcpu->running || d->vcpu->on_rq;
    spin_unlock(&pc->rq_lock);
    if (busy)
        return -EBUSY;
    LOCK(&p->dom_lock);
    int was_dying = d->dying;
    d->dying = 1;
    spin_unlock(&p->dom_lock);
    if (was_dying)
        return -ESRCH;
    evtchn_close_all(d);
    gnttab_release_all(d);
    if (d->ndev)
        dvm_reboot_reset_devices(d);      /* no DMA into a dead driver VM's buffers */
    physdev_release(d);
    put_domain(d);
    return 0;
}

void domain_dump(void)
{
    static const char *st[] = { "paused", "running", "shutdown", "crashed" };
    for (u32 i = 0; i < MAX_DOMAINS; i++) {
        struct domain *d = domain_at(i);
        if (!d)
            continue;
        struct vcpu *v = d->vcpu;
        hv_printf("d%u slot %u %s: vcpu hart %u state %u%s pc 0x%08x, upcall pending %u mask %u, lock %u\n",
                  d->domid, d->slot, d->state < 4 ? st[d->state] : "?", v->hart, v->state,
                  v->running ? " (running)" : "", v->regs.x[REG_PC], d->shinfo->vcpu[0].upcall_pending,
                  d->shinfo->vcpu[0].upcall_mask, d->lock.locked);
    }
}
