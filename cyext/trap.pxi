# Trap entry and return (privileged spec 3.1.6-3.1.7, 3.3.2) and the Smrnmi NMI.

cdef enum:
    MSTATUS_MIE = 1 << 3
    MSTATUS_MPIE = 1 << 7
    MSTATUS_MPP = 3 << 11
    MSTATUS_MPRV = 1 << 17
    MSTATUS_TW = 1 << 21
    MSTATUS_WRITABLE = (1 << 3) | (1 << 7) | (3 << 11) | (1 << 17) | (1 << 21)
    MNSTATUS_NMIE = 1 << 3
    MNSTATUS_MNPP = 3 << 11

cdef enum:
    CAUSE_MISALIGNED_FETCH = 0
    CAUSE_FETCH_ACCESS = 1
    CAUSE_ILLEGAL = 2
    CAUSE_BREAKPOINT = 3
    CAUSE_MISALIGNED_LOAD = 4
    CAUSE_LOAD_ACCESS = 5
    CAUSE_MISALIGNED_STORE = 6
    CAUSE_STORE_ACCESS = 7
    CAUSE_ECALL_U = 8
    CAUSE_ECALL_M = 11
    IRQ_MSI = 3
    IRQ_MTI = 7
    IRQ_MEI = 11

cdef void _trap_enter(Hart* h, uint32_t cause, uint32_t tval, uint32_t epc) noexcept nogil:
    cdef uint32_t s = h.mstatus
    h.mepc = epc
    h.mcause = cause
    h.mtval = tval
    s = (s & ~(MSTATUS_MPIE | MSTATUS_MPP)) | ((s & MSTATUS_MIE) << 4) | (h.priv << 11)
    h.mstatus = s & ~MSTATUS_MIE
    h.priv = 3
    if (cause >> 31) and (h.mtvec & 3) == 1:
        h.pc = (h.mtvec & ~3u) + 4 * (cause & 0x7FFFFFFF)
    else:
        h.pc = h.mtvec & ~3u

cdef void take_exception(Hart* h, uint32_t cause, uint32_t tval) noexcept nogil:
    """A synchronous exception at h.pc. The faulting instruction does not retire (the run loop counts
    every step as retired afterwards, so take one back here)."""
    h.instret -= 1
    _trap_enter(h, cause, tval, h.pc)

cdef void take_interrupt(Hart* h, uint32_t irq) noexcept nogil:
    h.wfi = 0
    _trap_enter(h, 0x80000000u | irq, 0, h.pc)

cdef void take_nmi(Mach* m, Hart* h) noexcept nogil:
    h.nmi_pending = 0
    h.wfi = 0
    h.mnepc = h.pc
    h.mncause = 0x80000000u
    h.mnstatus = (h.mnstatus & ~(MNSTATUS_MNPP | MNSTATUS_NMIE)) | (h.priv << 11)
    h.priv = 3
    h.pc = m.nmi_vector

cdef void do_mret(Hart* h) noexcept nogil:
    cdef uint32_t s = h.mstatus
    cdef uint32_t mpp = (s >> 11) & 3
    h.priv = mpp
    s = (s & ~(MSTATUS_MIE | MSTATUS_MPP)) | ((s & MSTATUS_MPIE) >> 4) | MSTATUS_MPIE
    if mpp != 3:
        s &= ~MSTATUS_MPRV
    h.mstatus = s
    h.pc = h.mepc

cdef void do_mnret(Hart* h) noexcept nogil:
    h.priv = (h.mnstatus >> 11) & 3
    if h.priv != 3:
        h.mstatus &= ~MSTATUS_MPRV
    h.mnstatus = (h.mnstatus & ~MNSTATUS_MNPP) | MNSTATUS_NMIE
    h.pc = h.mnepc
