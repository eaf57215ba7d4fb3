# Physical memory protection (privileged spec 3.7): 16 entries, OFF/TOR/NA4/NAPOT, lock bit.
# Results are cached per hart, PMP configuration, privilege and 4 KiB page in a small TLB; a page that
# a region boundary cuts is marked non-uniform and checked access by access.

cdef enum:
    PMP_R = 1
    PMP_W = 2
    PMP_X = 4
    PMP_L = 0x80
    PERM_NONUNIFORM = 0x80
    PERM_VALID = 0x40

cdef inline int _pmp_range(Hart* h, int i, uint64_t* lo, uint64_t* hi) noexcept nogil:
    """[lo, hi) of entry i; returns 0 when the entry is off."""
    cdef uint8_t cfg = h.pmpcfg[i]
    cdef int a = (cfg >> 3) & 3
    cdef uint64_t addr = h.pmpaddr[i]
    cdef int t
    if a == 0:
        return 0
    if a == 1:
        lo[0] = 0 if i == 0 else (<uint64_t>h.pmpaddr[i - 1]) << 2
        hi[0] = addr << 2
    elif a == 2:
        lo[0] = addr << 2
        hi[0] = lo[0] + 4
    else:
        t = 0
        while t < 32 and (addr >> t) & 1:
            t += 1
        lo[0] = (addr & ~((<uint64_t>1 << t) - 1)) << 2
        hi[0] = lo[0] + (<uint64_t>1 << (t + 3))
    return 1

cdef inline uint8_t _pmp_perm_of(Hart* h, int i, uint32_t priv) noexcept nogil:
    cdef uint8_t cfg = h.pmpcfg[i]
    if priv == 3 and not (cfg & PMP_L):
        return PMP_R | PMP_W | PMP_X
    return cfg & 7

cdef uint8_t pmp_region_perm(Hart* h, uint32_t priv, uint64_t lo, uint64_t hi) noexcept nogil:
    """Permissions for the whole of [lo, hi), or PERM_NONUNIFORM when an entry covers only part of it."""
    cdef int i
    cdef uint64_t rlo, rhi
    for i in range(16):
        if not _pmp_range(h, i, &rlo, &rhi) or rhi <= lo or rlo >= hi:
            continue
        if rlo <= lo and rhi >= hi:
            return _pmp_perm_of(h, i, priv)
        return PERM_NONUNIFORM
    return (PMP_R | PMP_W | PMP_X) if priv == 3 else 0

cdef PmpTlb* pmp_tlb_select(Mach* m, Hart* h) noexcept nogil:
    """The set of h's current PMP configuration: a cached one with the same registers, or a fresh one."""
    cdef PmpTlb* t
    cdef int j
    cdef uint64_t key = 0
    for j in range(16):
        key = (key ^ h.pmpaddr[j] ^ (<uint64_t>h.pmpcfg[j] << 32)) * 0x100000001B3u
    for j in range(16):
        t = &m.tlb_sets[h.id][j]
        if t.used and t.key == key and memcmp(t.cfg, h.pmpcfg, sizeof(t.cfg)) == 0 and \
                memcmp(t.addr, h.pmpaddr, sizeof(t.addr)) == 0:
            m.tlb[h.id] = t
            return t
    j = m.tlb_victim[h.id]
    m.tlb_victim[h.id] = (j + 1) & 15
    t = &m.tlb_sets[h.id][j]
    t.key = key
    memcpy(t.cfg, h.pmpcfg, sizeof(t.cfg))
    memcpy(t.addr, h.pmpaddr, sizeof(t.addr))
    memset(t.tag, 0, sizeof(t.tag))
    memset(t.wtag, 0, sizeof(t.wtag))
    t.used = 1
    m.tlb[h.id] = t
    return t

cdef PmpTlb* pmp_tlb_fill(Mach* m, Hart* h, uint32_t priv, uint32_t page) noexcept nogil:
    """A TLB miss: pick the configuration's set first (after a change), then fill the page's entry."""
    cdef PmpTlb* t = m.tlb[h.id]
    cdef uint32_t idx = page & (TLB_SIZE - 1), slot = 1 if priv == 3 else 0
    if t == &m.tlb_none:
        t = pmp_tlb_select(m, h)
        if t.tag[slot][idx] == page + 1:
            return t
    t.tag[slot][idx] = page + 1
    t.perm[slot][idx] = pmp_region_perm(h, priv, (<uint64_t>page) << PAGE_SHIFT, ((<uint64_t>page) + 1) << PAGE_SHIFT)
    return t

cdef inline int pmp_allows(Mach* m, Hart* h, uint32_t priv, uint32_t addr, int size, int need) noexcept nogil:
    cdef uint32_t page, idx, slot, word, w
    cdef uint8_t perm
    cdef PmpTlb* t
    if priv == 3 and not m.m_locked[h.id]:
        return 1
    page = addr >> PAGE_SHIFT
    idx = page & (TLB_SIZE - 1)
    slot = 1 if priv == 3 else 0
    t = m.tlb[h.id]
    if t.tag[slot][idx] != page + 1:
        t = pmp_tlb_fill(m, h, priv, page)
    perm = t.perm[slot][idx]
    if perm & PERM_NONUNIFORM:
        word = addr & ~3u
        if (addr & 3) + <uint32_t>size > 4:
            perm = pmp_region_perm(h, priv, addr, <uint64_t>addr + size)    # misaligned: not one word
        else:
            # a page a region boundary cuts (a device window, a grant): its words, cached
            w = (word >> 2) & 15
            if t.wtag[slot][w] != word + 1:
                t.wtag[slot][w] = word + 1
                t.wperm[slot][w] = pmp_region_perm(h, priv, word, <uint64_t>word + 4)
            perm = t.wperm[slot][w]
        if perm & PERM_NONUNIFORM:
            return 0          # an access straddling a region boundary fails
    return (perm & need) == need

cdef inline int pmp_page_uniform(Mach* m, Hart* h, uint32_t priv, uint32_t addr) noexcept nogil:
    """True when every word of addr's page has the same permissions (fetch may then skip checks)."""
    cdef uint32_t page = addr >> PAGE_SHIFT, idx = page & (TLB_SIZE - 1), slot = 1 if priv == 3 else 0
    cdef PmpTlb* t = m.tlb[h.id]
    if priv == 3 and not m.m_locked[h.id]:
        return 1
    # the TLB entry holds this very question for the whole page (pmp_allows just filled it on a fetch)
    if t.tag[slot][idx] == page + 1:
        return not (t.perm[slot][idx] & PERM_NONUNIFORM)
    return not (pmp_region_perm(h, priv, addr & ~0xFFFu, (addr & ~0xFFFu) + 4096) & PERM_NONUNIFORM)

cdef void pmp_changed(Mach* m, Hart* h) noexcept nogil:
    cdef int i
    m.m_locked[h.id] = 0
    for i in range(16):
        if (h.pmpcfg[i] & PMP_L) and (h.pmpcfg[i] >> 3) & 3:
            m.m_locked[h.id] = 1
    m.tlb[h.id] = &m.tlb_none     # the set is looked up at the next check, so a burst of writes costs one lookup
