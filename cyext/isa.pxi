# Instruction decoder: one pass over the encoding table (cyext/encoding.py) per new word, once per page.
include "decode_gen.pxi"    # match/mask/format and register-use tables, generated from encoding.py

def _check_generated():
    # a core built from another encoding.py would decode differently from what Python believes
    import cyext.encoding
    import cyext.generate
    if cyext.generate.digest(cyext.encoding) != GENERATED_FROM:
        raise ImportError("cyext.core was built from another cyext/encoding.py: rebuild it "
                          "(python setup.py build_ext --inplace)")

_check_generated()

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
    for i in range(NENC):
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
