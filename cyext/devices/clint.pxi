# CLINT (SiFive layout, as QEMU virt): msip per hart, mtimecmp per hart, mtime at 10 MHz.
# mtime is derived from the reading hart's local cycle count, so it never goes back on one hart.

cdef enum:
    CYCLES_PER_SECOND = 100000000   # nominal clock: one instruction is one cycle (workbench.machine.clock)
    MTIME_DIVIDER = 10      # cycles per mtime tick: 100 MHz cycles, 10 MHz timebase (platform.h TIMEBASE_HZ)

cdef inline uint64_t mtime_of(Mach* m, Hart* h) noexcept nogil:
    return <uint64_t>(<int64_t>(h.cycle // MTIME_DIVIDER) + m.s.clint.mtime_off)

cdef int clint_load(Mach* m, Hart* h, uint32_t unit, uint32_t off, int size, uint32_t* val, int peek) noexcept nogil:
    cdef uint32_t i
    cdef uint64_t v
    if off < 0x4000:
        i = off >> 2
        val[0] = m.s.clint.msip[i] if i < m.s.nharts else 0
        return 0
    if off >= 0x4000 and off < 0x4000 + 8 * m.s.nharts:
        v = m.s.clint.mtimecmp[(off - 0x4000) >> 3]
    elif off >= 0xBFF8 and off < 0xC000:
        v = mtime_of(m, h)
    else:
        return -1
    val[0] = <uint32_t>(v >> 32) if off & 4 else <uint32_t>v
    return 0

cdef int clint_store(Mach* m, Hart* h, uint32_t unit, uint32_t off, int size, uint32_t val) noexcept nogil:
    cdef uint32_t i
    cdef uint64_t v
    if off < 0x4000:
        i = off >> 2
        if i < m.s.nharts:
            m.s.clint.msip[i] = val & 1
        return 0
    if off >= 0x4000 and off < 0x4000 + 8 * m.s.nharts:
        i = (off - 0x4000) >> 3
        v = m.s.clint.mtimecmp[i]
        if off & 4:
            v = (v & 0xFFFFFFFFu) | ((<uint64_t>val) << 32)
        else:
            v = (v & 0xFFFFFFFF00000000u) | val
        m.s.clint.mtimecmp[i] = v
        return 0
    if off >= 0xBFF8 and off < 0xC000:
        v = mtime_of(m, h)
        if off & 4:
            v = (v & 0xFFFFFFFFu) | ((<uint64_t>val) << 32)
        else:
            v = (v & 0xFFFFFFFF00000000u) | val
        m.s.clint.mtime_off = <int64_t>v - <int64_t>(h.cycle // MTIME_DIVIDER)
        return 0
    return -1

cdef inline uint64_t clint_timer_cycle(Mach* m, Hart* h) noexcept nogil:
    """The hart-local cycle at which mtime reaches this hart's mtimecmp."""
    cdef int64_t t = <int64_t>m.s.clint.mtimecmp[h.id] - m.s.clint.mtime_off
    if m.s.clint.mtimecmp[h.id] >= (<uint64_t>1) << 58:
        return NEVER          # far beyond any run (and cycles = ticks * divider must not overflow)
    if t <= 0:
        return 0
    return <uint64_t>t * MTIME_DIVIDER
