# PLIC (as QEMU virt): level-triggered sources 1..63, one context per hart and mode (M-mode context of
# hart h is 2h; odd contexts exist for QEMU's numbering but no S mode takes them). A claimed source is
# not pending again until its completion is written.

cdef inline int plic_best(Plic* p, uint32_t ctx) noexcept nogil:
    """Highest-priority pending, enabled source above the context's threshold (0: none)."""
    cdef uint64_t cand = p.pending & p.enable[ctx] & ~p.claimed
    cdef int src, best = 0
    cdef uint32_t bestp = p.threshold[ctx]
    while cand:
        src = __builtin_ctzll(cand)
        cand &= cand - 1
        if p.priority[src] > bestp:
            bestp = p.priority[src]
            best = src
    return best

cdef inline void plic_update(Plic* p) noexcept nogil:
    # gateway: a line that is high and not in service becomes pending
    p.pending |= p.level & ~p.claimed

cdef int plic_load(Mach* m, Hart* h, uint32_t unit, uint32_t off, int size, uint32_t* val, int peek) noexcept nogil:
    cdef Plic* p = &m.s.plic
    cdef uint32_t ctx, nctx = 2 * m.s.nharts
    cdef int src
    if off < 0x1000:
        val[0] = p.priority[off >> 2] if (off >> 2) < PLIC_SOURCES else 0
    elif off < 0x1008:
        val[0] = <uint32_t>(p.pending >> (32 * ((off - 0x1000) >> 2)))
    elif off >= 0x2000 and off < 0x2000 + 0x80 * nctx:
        ctx = (off - 0x2000) >> 7
        val[0] = <uint32_t>(p.enable[ctx] >> 32) if (off & 0x7F) == 4 else (
            <uint32_t>p.enable[ctx] if (off & 0x7F) == 0 else 0)
    elif off >= 0x200000 and off < 0x200000 + 0x1000 * nctx:
        ctx = (off - 0x200000) >> 12
        if (off & 0xFFF) == 0:
            val[0] = p.threshold[ctx]
        elif (off & 0xFFF) == 4:
            src = plic_best(p, ctx)
            val[0] = src
            if src and not peek:
                p.pending &= ~(1ull << src)
                p.claimed |= 1ull << src
        else:
            val[0] = 0
    else:
        return -1
    return 0

cdef int plic_store(Mach* m, Hart* h, uint32_t unit, uint32_t off, int size, uint32_t val) noexcept nogil:
    cdef Plic* p = &m.s.plic
    cdef uint32_t ctx, nctx = 2 * m.s.nharts
    if off < 0x1000:
        if (off >> 2) < PLIC_SOURCES and off >= 4:
            p.priority[off >> 2] = val & 7
    elif off < 0x1008:
        pass  # pending bits are read-only
    elif off >= 0x2000 and off < 0x2000 + 0x80 * nctx:
        ctx = (off - 0x2000) >> 7
        if (off & 0x7F) == 0:
            p.enable[ctx] = (p.enable[ctx] & 0xFFFFFFFF00000000u) | (val & ~1u)
        elif (off & 0x7F) == 4:
            p.enable[ctx] = (p.enable[ctx] & 0xFFFFFFFFu) | ((<uint64_t>val) << 32)
    elif off >= 0x200000 and off < 0x200000 + 0x1000 * nctx:
        ctx = (off - 0x200000) >> 12
        if (off & 0xFFF) == 0:
            p.threshold[ctx] = val & 7
        elif (off & 0xFFF) == 4:
            # completion of a source the context may take (QEMU ignores others)
            if val > 0 and val < PLIC_SOURCES and (p.enable[ctx] >> val) & 1:
                p.claimed &= ~(1ull << val)
                plic_update(p)
    else:
        return -1
    return 0

cdef void plic_set_level(Plic* p, int src, int high) noexcept nogil:
    if high:
        p.level |= 1ull << src
    else:
        p.level &= ~(1ull << src)
        p.pending &= ~(1ull << src)
    plic_update(p)
