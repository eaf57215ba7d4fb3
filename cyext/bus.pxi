# The bus: RAM fast path in exec.pxi; everything else is routed here by address. One line per device.

cdef enum:
    RAM_BASE = 0x80000000
    SYSCON_BASE = 0x00100000
    WDOG_BASE = 0x00102000
    CLINT_BASE = 0x02000000
    PLIC_BASE = 0x0C000000
    UART_BASE = 0x10000000
    VIRTIO_SLOTS_BASE = 0x10001000

cdef int mmio_load(Mach* m, Hart* h, uint32_t addr, int size, uint32_t* val, int peek) noexcept nogil:
    """Device read: 0 done, -1 no device there (access fault). `peek` reads without side effects."""
    if addr - SYSCON_BASE < 0x1000:
        val[0] = 0
        return 0
    if addr - WDOG_BASE < 0x80:
        return wdog_load(m, h, addr - WDOG_BASE, size, val)
    if addr - CLINT_BASE < 0x10000:
        return clint_load(m, h, addr - CLINT_BASE, size, val)
    if addr - PLIC_BASE < 0x400000:
        return plic_load(m, h, addr - PLIC_BASE, size, val, peek)
    if addr - UART_BASE < 0x100:
        return uart_load(m, h, addr - UART_BASE, size, val)
    if addr - VIRTIO_SLOTS_BASE < 0x8000:
        return virtio_load(m, h, addr, size, val)
    return -1

cdef int mmio_store(Mach* m, Hart* h, uint32_t addr, int size, uint32_t val) noexcept nogil:
    """Device write: 0 done, 2 the machine stops, -1 no device there (access fault)."""
    if addr - SYSCON_BASE < 0x1000:
        return syscon_store(m, h, addr - SYSCON_BASE, size, val)
    if addr - WDOG_BASE < 0x80:
        return wdog_store(m, h, addr - WDOG_BASE, size, val)
    if addr - CLINT_BASE < 0x10000:
        return clint_store(m, h, addr - CLINT_BASE, size, val)
    if addr - PLIC_BASE < 0x400000:
        return plic_store(m, h, addr - PLIC_BASE, size, val)
    if addr - UART_BASE < 0x100:
        return uart_store(m, h, addr - UART_BASE, size, val)
    if addr - VIRTIO_SLOTS_BASE < 0x8000:
        return virtio_store(m, h, addr, size, val)
    return -1
