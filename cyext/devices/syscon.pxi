# sifive_test: the one way software ends the machine (QEMU's exit device).

cdef int syscon_load(Mach* m, Hart* h, uint32_t unit, uint32_t off, int size, uint32_t* val, int peek) noexcept nogil:
    val[0] = 0
    return 0

cdef int syscon_store(Mach* m, Hart* h, uint32_t unit, uint32_t off, int size, uint32_t val) noexcept nogil:
    cdef uint32_t kind = val & 0xFFFF
    if off != 0:
        return 0
    if kind == 0x5555:
        m.s.stop_reason = STOP_POWEROFF
    elif kind == 0x3333:
        m.s.stop_reason = STOP_FAIL
    elif kind == 0x7777:
        m.s.stop_reason = STOP_RESET
    else:
        return 0
    m.s.stop_code = val >> 16
    m.s.stop_hart = h.id
    return 2
