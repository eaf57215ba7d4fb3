# Control and status registers (privileged spec chapter 2-3). Reads have no side effects, so Python
# can peek at any of them; writes follow the WARL rules of a machine with M and U modes only.

cdef enum:
    MISA_VALUE = 0x40101101         # RV32, A, I, M, U
    MIE_MASK = (1 << 3) | (1 << 7) | (1 << 11)

cdef uint32_t compute_mip(Mach* m, Hart* h) noexcept nogil:
    cdef uint32_t mip = 0
    if m.s.clint.msip[h.id]:
        mip |= 1 << IRQ_MSI
    if mtime_of(m, h) >= m.s.clint.mtimecmp[h.id]:
        mip |= 1 << IRQ_MTI
    if plic_best(&m.s.plic, 2 * h.id):
        mip |= 1 << IRQ_MEI
    return mip

cdef int csr_read(Mach* m, Hart* h, uint32_t csr, uint32_t* val) noexcept nogil:
    """0 and the value, or -1 for a CSR this hart does not have."""
    cdef uint64_t v64
    if csr >= 0x3A0 and csr < 0x3A4:
        memcpy(val, &h.pmpcfg[4 * (csr - 0x3A0)], 4)
        return 0
    if csr >= 0x3B0 and csr < 0x3C0:
        val[0] = h.pmpaddr[csr - 0x3B0]
        return 0
    if (csr >= 0xB03 and csr < 0xB20) or (csr >= 0xB83 and csr < 0xBA0) or (csr >= 0x323 and csr < 0x340):
        val[0] = 0                  # hpm counters and events: hardwired to zero
        return 0
    if csr == 0x300: val[0] = h.mstatus
    elif csr == 0x301: val[0] = MISA_VALUE
    elif csr == 0x304: val[0] = h.mie
    elif csr == 0x305: val[0] = h.mtvec
    elif csr == 0x306: val[0] = h.mcounteren
    elif csr == 0x30A or csr == 0x310 or csr == 0x31A or csr == 0x320: val[0] = 0
    elif csr == 0x340: val[0] = h.mscratch
    elif csr == 0x341: val[0] = h.mepc
    elif csr == 0x342: val[0] = h.mcause
    elif csr == 0x343: val[0] = h.mtval
    elif csr == 0x344: val[0] = compute_mip(m, h)
    elif csr == 0x740: val[0] = h.mnscratch
    elif csr == 0x741: val[0] = h.mnepc
    elif csr == 0x742: val[0] = h.mncause
    elif csr == 0x744: val[0] = h.mnstatus
    elif csr == 0xB00 or csr == 0xC00 or csr == 0xB80 or csr == 0xC80:
        v64 = h.cycle + h.mcycle_off
        val[0] = <uint32_t>(v64 >> 32) if csr & 0x80 else <uint32_t>v64
    elif csr == 0xB02 or csr == 0xC02 or csr == 0xB82 or csr == 0xC82:
        v64 = h.instret + h.minstret_off
        val[0] = <uint32_t>(v64 >> 32) if csr & 0x80 else <uint32_t>v64
    elif csr == 0xC01 or csr == 0xC81:
        v64 = mtime_of(m, h)
        val[0] = <uint32_t>(v64 >> 32) if csr & 0x80 else <uint32_t>v64
    elif csr == 0xF11 or csr == 0xF12 or csr == 0xF13 or csr == 0xF15: val[0] = 0
    elif csr == 0xF14: val[0] = h.id
    else:
        return -1
    return 0

cdef inline int csr_accessible(Hart* h, uint32_t csr) noexcept nogil:
    """Privilege check, including mcounteren for user-mode counter reads."""
    if ((csr >> 8) & 3) > h.priv:
        return 0
    if h.priv == 0 and csr >= 0xC00 and csr < 0xCA0:
        return (h.mcounteren >> (csr & 31)) & 1
    return 1

cdef int csr_write(Mach* m, Hart* h, uint32_t csr, uint32_t val) noexcept nogil:
    """Write a (present, writable) CSR. Returns 1 when the change may affect fetch or interrupts."""
    cdef int i, j
    cdef uint8_t b
    cdef uint64_t v64
    if csr >= 0x3A0 and csr < 0x3A4:
        for i in range(4):
            j = 4 * (csr - 0x3A0) + i
            b = (val >> (8 * i)) & 0xFF
            if h.pmpcfg[j] & PMP_L:
                continue                 # locked entries ignore writes until reset
            if (b & 3) == 2:
                b &= ~3                  # R=0 W=1 is reserved: make it no access
            h.pmpcfg[j] = b & 0x9F
        pmp_changed(m, h)
        return 1
    if csr >= 0x3B0 and csr < 0x3C0:
        i = csr - 0x3B0
        if h.pmpcfg[i] & PMP_L:
            return 0
        if i < 15 and (h.pmpcfg[i + 1] & PMP_L) and ((h.pmpcfg[i + 1] >> 3) & 3) == 1:
            return 0                     # the top of a locked TOR region is locked too
        h.pmpaddr[i] = val
        pmp_changed(m, h)
        return 1
    if csr == 0x300:
        val &= MSTATUS_WRITABLE
        if ((val >> 11) & 3) != 3:
            val &= ~MSTATUS_MPP          # only M and U exist: any other MPP reads as U
        h.mstatus = val
        return 1
    if csr == 0x304:
        h.mie = val & MIE_MASK
        return 1
    if csr == 0x305:
        h.mtvec = val & ~2u if (val & 3) < 2 else val & ~3u
    elif csr == 0x306: h.mcounteren = val & 7
    elif csr == 0x340: h.mscratch = val
    elif csr == 0x341: h.mepc = val & ~3u
    elif csr == 0x342: h.mcause = val
    elif csr == 0x343: h.mtval = val
    elif csr == 0x740: h.mnscratch = val
    elif csr == 0x741: h.mnepc = val & ~3u
    elif csr == 0x742: h.mncause = val
    elif csr == 0x744:
        # NMIE can be set by software but not cleared (Smrnmi); MNPP is WARL like MPP
        b = 3 if ((val >> 11) & 3) == 3 else 0
        h.mnstatus = (h.mnstatus & MNSTATUS_NMIE) | (val & MNSTATUS_NMIE) | (<uint32_t>b << 11)
        return 1
    elif csr == 0xB00 or csr == 0xB80:
        v64 = h.cycle + h.mcycle_off
        v64 = (v64 & 0xFFFFFFFFu) | ((<uint64_t>val) << 32) if csr & 0x80 else (v64 & 0xFFFFFFFF00000000u) | val
        h.mcycle_off = v64 - h.cycle
    elif csr == 0xB02 or csr == 0xB82:
        # the value written is what the next instruction reads: the writer's own retirement is not added
        v64 = h.instret + h.minstret_off
        v64 = (v64 & 0xFFFFFFFFu) | ((<uint64_t>val) << 32) if csr & 0x80 else (v64 & 0xFFFFFFFF00000000u) | val
        h.minstret_off = v64 - (h.instret + 1)
    return 0
