/* PMP: a guest in U mode reaches only its own slot, the pages it has grant-mapped and, for a driver
 * domain, the MMIO windows of the devices assigned to it.  Entry 15
 * locks the pristine copy read-only, for M mode too, so a failing hypervisor cannot corrupt it.
 * A locked entry applies to U mode as well, so entry 14 (the guard: no permissions, unlocked) sits
 * in front of it while a guest runs; start.S turns it on at mret and off at every trap, because an
 * unlocked matching entry would let M mode write the pristine copy. */
#include "hv.h"

#define PMP_R 1u
#define PMP_W 2u
#define PMP_X 4u
#define PMP_NAPOT (3u << 3)
#define PMP_L 0x80u

static u32 napot(u32 base, u32 size) { return (base >> 2) | ((size >> 3) - 1); }

static void pmpaddr_write(u32 i, u32 v)
{
    switch (i) {
#define C(n) case n: csr_write(pmpaddr##n, v); break;
    C(0) C(1) C(2) C(3) C(4) C(5) C(6) C(7) C(8) C(9) C(10) C(11) C(12) C(13) C(14) C(15)
#undef C
    }
}

void pmp_lock_pristine(void)
{
    pmpaddr_write(PMP_GUARD, napot(PRISTINE_BASE, PRISTINE_SIZE));   /* cfg stays 0 (off) in M mode */
    pmpaddr_write(PMP_PRISTINE, napot(PRISTINE_BASE, PRISTINE_SIZE));
    csr_write(pmpcfg3, (PMP_L | PMP_NAPOT | PMP_R) << 24);
}

/* Program entries 0..14 for domain d (called when the hart switches to one of d's vCPUs, and when
 * the running domain maps or unmaps a page). */
void pmp_load_domain(struct domain *d)
{
    u8 cfg[16] = { 0 };
    pmpaddr_write(PMP_SLOT, napot(d->base, d->size));
    cfg[PMP_SLOT] = PMP_NAPOT | PMP_R | PMP_W | PMP_X;
    for (u32 i = 0; i < NR_PMP_MAPS; i++) {
        struct grant_map *m = &d->map[i];
        if (!m->in_use)
            continue;
        pmpaddr_write(PMP_MAP0 + i, napot(m->addr, PAGE_SIZE));
        cfg[PMP_MAP0 + i] = PMP_NAPOT | PMP_R | (m->readonly ? 0 : PMP_W);
    }
    physdev_pmp(d, cfg, pmpaddr_write);    /* assigned device windows (driver domains only) */
    cfg[PMP_PRISTINE] = PMP_L | PMP_NAPOT | PMP_R;
    u32 w[4];
    for (int i = 0; i < 4; i++)
        w[i] = cfg[4 * i] | cfg[4 * i + 1] << 8 | cfg[4 * i + 2] << 16 | (u32)cfg[4 * i + 3] << 24;
    csr_write(pmpcfg0, w[0]);
    csr_write(pmpcfg1, w[1]);
    csr_write(pmpcfg2, w[2]);
    csr_write(pmpcfg3, w[3]);
}

/* Whether pmp_load_domain grants d the access that faulted with `cause` (fetch, load or store
 * access fault) at addr, decided again from d's records: the slot, its mapped pages, its devices. */
int pmp_grants(struct domain *d, u32 cause, u32 addr)
{
    if (addr - d->base < d->size)
        return 1;
    if (cause == CAUSE_FETCH_ACCESS)
        return 0;                                   /* only the slot is executable */
    for (u32 i = 0; i < NR_PMP_MAPS; i++) {
        struct grant_map *m = &d->map[i];
        if (m->in_use && addr - m->addr < PAGE_SIZE && (cause == CAUSE_LOAD_ACCESS || !m->readonly))
            return 1;
    }
    for (u32 k = 0; k < d->ndev && k < MAX_DEVICES; k++)
        if (addr - d->dev[k].base < d->dev[k].size)
            return 1;
    return 0;
}

void pmp_dump(void)
{
    hv_printf("pmp (hart %u): cfg %08x %08x %08x %08x\n", this_hart(), csr_read(pmpcfg0),
              csr_read(pmpcfg1), csr_read(pmpcfg2), csr_read(pmpcfg3));
}
