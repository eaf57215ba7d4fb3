# Per-hart watchdog (not in QEMU): if not reloaded within TIMEOUT mtime ticks it raises an NMI on its
# hart and disables itself. Bank of hart h at 0x102000 + 0x10*h: ID, CTRL, TIMEOUT, RELOAD.

cdef enum:
    WDOG_ID = 0x57444F47
    WDOG_STRIDE = 0x10      # one bank per hart

cdef int wdog_load(Mach* m, Hart* h, uint32_t unit, uint32_t off, int size, uint32_t* val, int peek) noexcept nogil:
    cdef uint32_t i = off // WDOG_STRIDE
    cdef Hart* t
    if i >= m.s.nharts:
        return -1
    t = &m.s.harts[i]
    off &= 0xF
    if off == 0:
        val[0] = WDOG_ID
    elif off == 4:
        val[0] = m.s.wdog.ctrl[i]
    elif off == 8:
        val[0] = m.s.wdog.timeout[i]
    else:
        val[0] = <uint32_t>((m.s.wdog.deadline[i] - t.cycle) // MTIME_DIVIDER) if (
            m.s.wdog.ctrl[i] and m.s.wdog.deadline[i] > t.cycle) else 0
    return 0

cdef int wdog_store(Mach* m, Hart* h, uint32_t unit, uint32_t off, int size, uint32_t val) noexcept nogil:
    cdef uint32_t i = off // WDOG_STRIDE
    if i >= m.s.nharts:
        return -1
    off &= 0xF
    if off == 4:
        if (val & 1) and not m.s.wdog.ctrl[i]:
            m.s.wdog.deadline[i] = m.s.harts[i].cycle + MTIME_DIVIDER * <uint64_t>m.s.wdog.timeout[i]
        m.s.wdog.ctrl[i] = val & 1
    elif off == 8:
        m.s.wdog.timeout[i] = val
    elif off == 12:
        m.s.wdog.deadline[i] = m.s.harts[i].cycle + MTIME_DIVIDER * <uint64_t>m.s.wdog.timeout[i]
    return 0
