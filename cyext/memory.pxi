# "RAM was written": the one bookkeeping for every change to RAM, whoever makes it (a hart's store, a
# device's DMA, a memory-fault flip, Python). It stamps the change (a restore copies back only pages whose
# stamp differs from the snapshot's), marks decoded instructions stale, and breaks LR reservations on the
# bytes. The disk's blocks take stamps the same way (stamp_range).

cdef inline void stamp_range(uint32_t* stamps, uint64_t off, uint64_t n, int shift, uint32_t epoch) noexcept nogil:
    """Granules (RAM pages, disk blocks) holding bytes [off, off+n), n > 0, changed in `epoch`."""
    cdef uint64_t g
    for g in range(off >> shift, ((off + n - 1) >> shift) + 1):
        stamps[g] = epoch

cdef inline void ram_written(Mach* m, uint32_t off, uint32_t n, int writer) noexcept nogil:
    """Bytes [off, off+n) of RAM (n > 0) changed. `writer`: the hart whose store it was (its own LR
    reservation survives, as on hardware), -1 for anything else (every reservation on the bytes breaks).
    Inlined with a constant n = 1 for stores, so the hot path stays one page and one word."""
    cdef uint32_t p, w, last = off + n - 1, lo, hi, i
    cdef Hart* h
    if writer < 0 and watched(m, off, n):
        watch_read(m, off, n, now_bound(m))    # DMA or Python: not proven to leave the run fault-free, so live
    stamp_range(m.page_epoch, off, n, PAGE_SHIFT, m.epoch)
    for p in range(off >> PAGE_SHIFT, (last >> PAGE_SHIFT) + 1):
        if not m.page_valid[p]:
            continue
        lo = off if (off >> PAGE_SHIFT) == p else p << PAGE_SHIFT
        hi = last if (last >> PAGE_SHIFT) == p else ((p + 1) << PAGE_SHIFT) - 1
        if n >= (1u << PAGE_SHIFT) and hi - lo == (1u << PAGE_SHIFT) - 1:
            m.page_valid[p] = 0          # all of it: decode the page again when it is next fetched
            continue
        # a few words: decode each again when next executed, so data next to code costs a slot, not a page
        for w in range(lo >> 2, (hi >> 2) + 1):
            m.pages[p][w & ((1u << (PAGE_SHIFT - 2)) - 1)].op = OP_REDECODE
    if m.nresv:
        for i in range(m.s.nharts):
            h = &m.s.harts[i]
            if <int>i != writer and h.resv_valid and h.resv_addr - RAM_BASE + 4 > off and h.resv_addr - RAM_BASE <= last:
                h.resv_valid = 0
                m.nresv -= 1

cdef uint32_t copy_changed(uint8_t* dst, const uint8_t* src, uint64_t size, int shift, uint32_t* stamps,
                           const uint32_t* snap_stamps, uint32_t epoch, uint8_t* stale) noexcept nogil:
    """Restore: copy back from src every granule whose stamp differs from the snapshot's (every granule when
    snap_stamps is NULL, stamping them `epoch`), giving it the snapshot's stamp; `stale` (or NULL) marks
    each copied granule's decoded page invalid. Returns the number copied."""
    cdef uint64_t g, n = (size + (1u << shift) - 1) >> shift, at
    cdef uint32_t copied = 0
    for g in range(n):
        if snap_stamps == NULL or stamps[g] != snap_stamps[g]:
            at = g << shift
            memcpy(dst + at, src + at, min(<uint64_t>1 << shift, size - at))
            stamps[g] = epoch if snap_stamps == NULL else snap_stamps[g]
            if stale != NULL:
                stale[g] = 0
            copied += 1
    return copied

cdef inline int watched(Mach* m, uint32_t off, uint32_t n) noexcept nogil:
    """Bytes [off, off+n) meet the watched bytes. One unsigned compare where nothing is watched."""
    return off + n - 1 - m.hooks.watch_off < m.hooks.watch_len + n - 1 and m.hooks.watch_on

cdef inline uint64_t now_bound(Mach* m) noexcept nogil:
    """A cycle no earlier than now on any hart's clock (for accesses that are not one hart's step)."""
    cdef uint64_t t = m.s.round_start
    cdef uint32_t i
    for i in range(m.s.nharts):
        if m.s.harts[i].cycle > t:
            t = m.s.harts[i].cycle
    return t

cdef void watch_range(Mach* m, uint32_t off, uint32_t n, uint64_t cycle) noexcept nogil:
    cdef uint32_t lo = off if off > m.hooks.watch_off else m.hooks.watch_off
    cdef uint64_t hi = min(<uint64_t>off + n, <uint64_t>m.hooks.watch_off + m.hooks.watch_len), b
    for b in range(lo, hi):
        if m.watch_last[b - m.hooks.watch_off] < cycle:
            m.watch_last[b - m.hooks.watch_off] = cycle

cdef inline void watch_read(Mach* m, uint32_t off, uint32_t n, uint64_t cycle) noexcept nogil:
    """The watched bytes [off, off+n) were (or may have been) read: a watched flip is live."""
    if m.hooks.watch_on == 2:
        watch_range(m, off, n, cycle)
        return
    m.hooks.watch_on = 0
    m.hooks.watch_result = 1
    m.hooks.watch_cycle = cycle

cdef inline int watch_overwritten(Mach* m, Hart* h, uint32_t off, uint32_t n) noexcept nogil:
    """A hart's store replaced the watched byte before anything read it: the flip is gone and the run is
    the fault-free one from here. Returns ST_STOP (STOP_MASKED) when the watch asks to stop there."""
    if m.hooks.watch_on == 2:
        watch_range(m, off, n, h.cycle)
        return ST_OK
    m.hooks.watch_on = 0
    m.hooks.watch_result = 2
    m.hooks.watch_cycle = h.cycle
    if m.hooks.watch_stop:
        m.s.stop_reason = STOP_MASKED
        m.s.stop_hart = h.id
        return ST_STOP
    return ST_OK
