# Instruction decoder: one pass over the encoding table (cyext/encoding.py) per new word, once per page.
from cyext.encoding import ENCODINGS

cdef uint32_t _enc_match[128]
cdef uint32_t _enc_mask[128]
cdef uint8_t _enc_fmt[128]
cdef int _nenc = 0

# Register-use classes by format, for the read-before-overwrite tracking of register faults.
cdef uint8_t _op_reads1[128]
cdef uint8_t _op_reads2[128]
cdef uint8_t _op_writes[128]

cdef enum Fmt:
    F_R, F_I, F_L, F_S, F_B, F_U, F_J, F_SH, F_C, F_CI, F_A, F_LR, F_N

_FMT = {"R": F_R, "I": F_I, "L": F_L, "S": F_S, "B": F_B, "U": F_U, "J": F_J, "SH": F_SH,
        "C": F_C, "CI": F_CI, "A": F_A, "LR": F_LR, "N": F_N}

def _init_decoder():
    global _nenc
    from cyext.encoding import READS_RS1, READS_RS2, WRITES_RD
    if len(ENCODINGS) + 3 != OP_COUNT:
        raise ImportError("cyext.encoding.ENCODINGS does not match the Op enum in core.pxd")
    _nenc = len(ENCODINGS)
    for i, (name, match, mask, fmt) in enumerate(ENCODINGS):
        _enc_match[i] = match
        _enc_mask[i] = mask
        _enc_fmt[i] = _FMT[fmt]
        _op_reads1[i + 1] = fmt in READS_RS1
        _op_reads2[i + 1] = fmt in READS_RS2
        _op_writes[i + 1] = fmt in WRITES_RD

_init_decoder()

cdef inline int32_t _sext(uint32_t v, int bits) noexcept nogil:
    cdef int sh = 32 - bits
    return (<int32_t>(v << sh)) >> sh

cdef void decode(uint32_t w, Insn* d) noexcept nogil:
    cdef int i
    cdef uint8_t fmt
    d.raw = w
    d.op = OP_ILLEGAL
    d.op2 = OP_ILLEGAL
    d.rd = (w >> 7) & 31
    d.rs1 = (w >> 15) & 31
    d.rs2 = (w >> 20) & 31
    d._pad = 0
    d.imm = 0
    for i in range(_nenc):
        if (w & _enc_mask[i]) == _enc_match[i]:
            d.op = i + 1
            fmt = _enc_fmt[i]
            if fmt == F_I or fmt == F_L:
                d.imm = _sext(w >> 20, 12)
            elif fmt == F_S:
                d.imm = _sext(((w >> 25) << 5) | ((w >> 7) & 31), 12)
            elif fmt == F_B:
                d.imm = _sext((((w >> 31) & 1) << 12) | (((w >> 7) & 1) << 11) |
                              (((w >> 25) & 63) << 5) | (((w >> 8) & 15) << 1), 13)
            elif fmt == F_U:
                d.imm = <int32_t>(w & 0xFFFFF000u)
            elif fmt == F_J:
                d.imm = _sext((((w >> 31) & 1) << 20) | (((w >> 12) & 255) << 12) |
                              (((w >> 20) & 1) << 11) | (((w >> 21) & 1023) << 1), 21)
            elif fmt == F_SH:
                d.imm = (w >> 20) & 31
            elif fmt == F_C or fmt == F_CI:
                d.imm = w >> 20          # the CSR number; rs1 is the register or the 5-bit immediate
            break
    if d.rd == 0:
        d.rd = 32
