# UART 16550 subset: transmit only; every byte written to THR is appended to the console.

cdef int uart_load(Mach* m, Hart* h, uint32_t unit, uint32_t off, int size, uint32_t* val, int peek) noexcept nogil:
    if off == 5:
        val[0] = 0x60          # LSR: transmitter empty, holding register empty
    elif off < 8:
        val[0] = m.s.uart.regs[off] if off != 0 else 0
    else:
        return -1
    return 0

cdef int uart_store(Mach* m, Hart* h, uint32_t unit, uint32_t off, int size, uint32_t val) noexcept nogil:
    cdef uint64_t cap
    cdef char* grown
    if off == 0 and not (m.s.uart.regs[3] & 0x80):     # THR (DLAB clear)
        if m.s.console_len >= m.console_cap:
            cap = m.console_cap * 2
            if cap > CONSOLE_LIMIT:
                return 0       # console full: drop output rather than grow without bound
            grown = <char*>realloc(m.console, cap)
            if grown == NULL:
                return 0
            m.console = grown
            m.console_cap = cap
        m.console[m.s.console_len] = <char>(val & 0xFF)
        m.s.console_len += 1
    elif off < 8:
        m.s.uart.regs[off] = val & 0xFF
    else:
        return -1
    return 0
