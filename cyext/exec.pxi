# Instruction semantics (RISC-V unprivileged spec RV32IMA, Zicsr, Zifencei; privileged spec for
# mret/wfi and traps). One short body per instruction. `step` returns ST_OK to go on, ST_BREAK when the
# run loop must look again at fetch state and interrupts, ST_STOP when the machine stops.

cdef enum:
    ST_OK = 0
    ST_BREAK = 1      # the hart changed its own fetch or interrupt state: look again before going on
    ST_STOP = 2
    ST_REFETCH = 3    # run-loop internal: restart the chunk, but this is no point to take interrupts

cdef inline uint32_t data_priv(Hart* h) noexcept nogil:
    if h.priv == 3 and (h.mstatus & MSTATUS_MPRV):
        return (h.mstatus >> 11) & 3
    return h.priv

cdef inline int load(Mach* m, Hart* h, uint32_t addr, int size, uint32_t* val) noexcept nogil:
    """ST_OK/ST_BREAK with *val, or -1 after taking the exception."""
    cdef uint32_t off = addr - RAM_BASE
    if addr & (size - 1):
        take_exception(h, CAUSE_MISALIGNED_LOAD, addr)
        return -1
    if not pmp_allows(m, h, data_priv(h), addr, size, PMP_R):
        take_exception(h, CAUSE_LOAD_ACCESS, addr)
        return -1
    if off < m.ram_size:
        if watched(m, off, size):
            watch_read(m, off, size, h.cycle)
        if size == 4:
            val[0] = (<uint32_t*>(m.ram + off))[0]
        elif size == 2:
            val[0] = (<uint16_t*>(m.ram + off))[0]
        else:
            val[0] = m.ram[off]
        return ST_OK
    if mmio_load(m, h, addr, size, val, 0) < 0:
        take_exception(h, CAUSE_LOAD_ACCESS, addr)
        return -1
    return ST_BREAK               # a device read may change interrupt state (PLIC claim)

cdef inline int store(Mach* m, Hart* h, uint32_t addr, int size, uint32_t val) noexcept nogil:
    """ST_OK/ST_BREAK/ST_STOP, or -1 after taking the exception."""
    cdef uint32_t off = addr - RAM_BASE
    cdef int st = ST_OK, r
    if addr & (size - 1):
        take_exception(h, CAUSE_MISALIGNED_STORE, addr)
        return -1
    if not pmp_allows(m, h, data_priv(h), addr, size, PMP_W):
        take_exception(h, CAUSE_STORE_ACCESS, addr)
        return -1
    if off < m.ram_size:
        if size == 4:
            (<uint32_t*>(m.ram + off))[0] = val
        elif size == 2:
            (<uint16_t*>(m.ram + off))[0] = <uint16_t>val
        else:
            m.ram[off] = <uint8_t>val
        ram_written(m, off, 1, h.id)     # an aligned store lies inside one word: n = 1 names it
        if watched(m, off, size):
            return watch_overwritten(m, h, off, size)
        return st
    r = mmio_store(m, h, addr, size, val)
    if r < 0:
        take_exception(h, CAUSE_STORE_ACCESS, addr)
        return -1
    return ST_STOP if r == 2 else ST_BREAK

cdef inline int amo(Mach* m, Hart* h, Insn* d, int op) noexcept nogil:
    cdef uint32_t addr = h.x[d.rs1]
    cdef uint32_t off = addr - RAM_BASE
    cdef uint32_t* p
    cdef uint32_t old, src = h.x[d.rs2]
    cdef int st = ST_OK
    cdef uint32_t priv = data_priv(h)
    if watched(m, off, 4):
        watch_read(m, off, 4, h.cycle)    # LR, SC and AMOs: counted as reads (an SC's effect hangs on a reservation)
    if op == OP_LR_W:
        if addr & 3:
            take_exception(h, CAUSE_MISALIGNED_LOAD, addr)
            return ST_BREAK
        if off >= m.ram_size or not pmp_allows(m, h, priv, addr, 4, PMP_R):
            take_exception(h, CAUSE_LOAD_ACCESS, addr)
            return ST_BREAK
        h.x[d.rd] = (<uint32_t*>(m.ram + off))[0]
        if not h.resv_valid:
            m.nresv += 1
        h.resv_valid = 1
        h.resv_addr = addr
        h.pc += 4
        return ST_OK
    if addr & 3:
        take_exception(h, CAUSE_MISALIGNED_STORE, addr)
        return ST_BREAK
    if off >= m.ram_size or not pmp_allows(m, h, priv, addr, 4, PMP_R | PMP_W):
        take_exception(h, CAUSE_STORE_ACCESS, addr)
        return ST_BREAK
    p = <uint32_t*>(m.ram + off)
    if op == OP_SC_W:
        if h.resv_valid and h.resv_addr == addr:
            p[0] = src
            ram_written(m, off, 4, h.id)
            h.x[d.rd] = 0
        else:
            h.x[d.rd] = 1
        if h.resv_valid:
            h.resv_valid = 0
            m.nresv -= 1
        h.pc += 4
        return st
    old = p[0]
    if op == OP_AMOSWAP_W: p[0] = src
    elif op == OP_AMOADD_W: p[0] = old + src
    elif op == OP_AMOXOR_W: p[0] = old ^ src
    elif op == OP_AMOAND_W: p[0] = old & src
    elif op == OP_AMOOR_W: p[0] = old | src
    elif op == OP_AMOMIN_W: p[0] = old if <int32_t>old < <int32_t>src else src
    elif op == OP_AMOMAX_W: p[0] = old if <int32_t>old > <int32_t>src else src
    elif op == OP_AMOMINU_W: p[0] = old if old < src else src
    else: p[0] = old if old > src else src
    ram_written(m, off, 4, h.id)
    h.x[d.rd] = old
    h.pc += 4
    return st

cdef inline int jump(Hart* h, uint32_t target, uint32_t rd) noexcept nogil:
    if target & 3:
        take_exception(h, CAUSE_MISALIGNED_FETCH, target)
        return ST_BREAK
    h.x[rd] = h.pc + 4
    h.pc = target
    return ST_OK

cdef inline int branch(Hart* h, int taken, int32_t imm) noexcept nogil:
    cdef uint32_t target
    if taken:
        target = h.pc + <uint32_t>imm
        if target & 3:
            take_exception(h, CAUSE_MISALIGNED_FETCH, target)
            return ST_BREAK
        h.pc = target
    else:
        h.pc += 4
    return ST_OK

cdef inline int csr_op(Mach* m, Hart* h, Insn* d, int op) noexcept nogil:
    cdef uint32_t csr = <uint32_t>d.imm, old = 0, src, new
    cdef int writes, st
    if op >= OP_CSRRWI:
        src = d.rs1               # 5-bit immediate
    else:
        src = h.x[d.rs1]
    # csrrs/csrrc with x0 (or immediate 0) do not write, and so work on read-only CSRs
    writes = (op == OP_CSRRW or op == OP_CSRRWI or d.rs1 != 0)
    if not csr_accessible(h, csr) or csr_read(m, h, csr, &old) < 0 or (writes and (csr >> 10) == 3):
        take_exception(h, CAUSE_ILLEGAL, d.raw)
        return ST_BREAK
    st = ST_OK
    if writes:
        if op == OP_CSRRW or op == OP_CSRRWI: new = src
        elif op == OP_CSRRS or op == OP_CSRRSI: new = old | src
        else: new = old & ~src
        if csr_write(m, h, csr, new):
            st = ST_BREAK
    h.x[d.rd] = old
    h.pc += 4
    return st

cdef inline int step(Mach* m, Hart* h, Insn* d, int op) noexcept nogil:
    # every test below compares op with constants only, so Cython emits one C switch
    cdef uint32_t* x = h.x
    cdef uint32_t a = x[d.rs1], b = x[d.rs2], v = 0
    cdef int r
    if op == OP_ADDI:
        x[d.rd] = a + <uint32_t>d.imm
    elif op == OP_LW:
        r = load(m, h, a + <uint32_t>d.imm, 4, &v)
        if r < 0: return ST_BREAK
        x[d.rd] = v
        h.pc += 4
        return r
    elif op == OP_SW:
        r = store(m, h, a + <uint32_t>d.imm, 4, b)
        if r < 0: return ST_BREAK
        h.pc += 4
        return r
    elif op == OP_BEQ: return branch(h, a == b, d.imm)
    elif op == OP_BNE: return branch(h, a != b, d.imm)
    elif op == OP_BLT: return branch(h, <int32_t>a < <int32_t>b, d.imm)
    elif op == OP_BGE: return branch(h, <int32_t>a >= <int32_t>b, d.imm)
    elif op == OP_BLTU: return branch(h, a < b, d.imm)
    elif op == OP_BGEU: return branch(h, a >= b, d.imm)
    elif op == OP_JAL: return jump(h, h.pc + <uint32_t>d.imm, d.rd)
    elif op == OP_JALR: return jump(h, (a + <uint32_t>d.imm) & ~1u, d.rd)
    elif op == OP_LUI: x[d.rd] = <uint32_t>d.imm
    elif op == OP_AUIPC: x[d.rd] = h.pc + <uint32_t>d.imm
    elif op == OP_LB or op == OP_LH or op == OP_LBU or op == OP_LHU:
        r = load(m, h, a + <uint32_t>d.imm, 1 if (op == OP_LB or op == OP_LBU) else 2, &v)
        if r < 0: return ST_BREAK
        if op == OP_LB: v = <uint32_t><int32_t><int8_t>v
        elif op == OP_LH: v = <uint32_t><int32_t><int16_t>v
        x[d.rd] = v
        h.pc += 4
        return r
    elif op == OP_SB or op == OP_SH:
        r = store(m, h, a + <uint32_t>d.imm, 1 if op == OP_SB else 2, b)
        if r < 0: return ST_BREAK
        h.pc += 4
        return r
    elif op == OP_SLTI: x[d.rd] = <int32_t>a < d.imm
    elif op == OP_SLTIU: x[d.rd] = a < <uint32_t>d.imm
    elif op == OP_XORI: x[d.rd] = a ^ <uint32_t>d.imm
    elif op == OP_ORI: x[d.rd] = a | <uint32_t>d.imm
    elif op == OP_ANDI: x[d.rd] = a & <uint32_t>d.imm
    elif op == OP_SLLI: x[d.rd] = a << d.imm
    elif op == OP_SRLI: x[d.rd] = a >> d.imm
    elif op == OP_SRAI: x[d.rd] = <uint32_t>((<int32_t>a) >> d.imm)
    elif op == OP_ADD: x[d.rd] = a + b
    elif op == OP_SUB: x[d.rd] = a - b
    elif op == OP_SLL: x[d.rd] = a << (b & 31)
    elif op == OP_SLT: x[d.rd] = <int32_t>a < <int32_t>b
    elif op == OP_SLTU: x[d.rd] = a < b
    elif op == OP_XOR: x[d.rd] = a ^ b
    elif op == OP_SRL: x[d.rd] = a >> (b & 31)
    elif op == OP_SRA: x[d.rd] = <uint32_t>((<int32_t>a) >> (b & 31))
    elif op == OP_OR: x[d.rd] = a | b
    elif op == OP_AND: x[d.rd] = a & b
    elif op == OP_MUL: x[d.rd] = a * b
    elif op == OP_MULH: x[d.rd] = <uint32_t>((<int64_t><int32_t>a * <int64_t><int32_t>b) >> 32)
    elif op == OP_MULHSU: x[d.rd] = <uint32_t>((<int64_t><int32_t>a * <int64_t>b) >> 32)
    elif op == OP_MULHU: x[d.rd] = <uint32_t>((<uint64_t>a * <uint64_t>b) >> 32)
    elif op == OP_DIV:
        if b == 0: x[d.rd] = 0xFFFFFFFFu
        elif a == 0x80000000u and b == 0xFFFFFFFFu: x[d.rd] = a
        else: x[d.rd] = <uint32_t>(<int32_t>a / <int32_t>b)
    elif op == OP_DIVU: x[d.rd] = 0xFFFFFFFFu if b == 0 else a / b
    elif op == OP_REM:
        if b == 0: x[d.rd] = a
        elif a == 0x80000000u and b == 0xFFFFFFFFu: x[d.rd] = 0
        else: x[d.rd] = <uint32_t>(<int32_t>a % <int32_t>b)
    elif op == OP_REMU: x[d.rd] = a if b == 0 else a % b
    elif (op == OP_LR_W or op == OP_SC_W or op == OP_AMOSWAP_W or op == OP_AMOADD_W or op == OP_AMOXOR_W or
          op == OP_AMOAND_W or op == OP_AMOOR_W or op == OP_AMOMIN_W or op == OP_AMOMAX_W or op == OP_AMOMINU_W or
          op == OP_AMOMAXU_W):
        return amo(m, h, d, op)
    elif (op == OP_CSRRW or op == OP_CSRRS or op == OP_CSRRC or op == OP_CSRRWI or op == OP_CSRRSI or
          op == OP_CSRRCI):
        return csr_op(m, h, d, op)
    elif op == OP_FENCE:
        pass
    elif op == OP_FENCE_I:
        h.pc += 4
        return ST_BREAK           # decoded pages are kept coherent; just refetch
    elif op == OP_ECALL:
        take_exception(h, CAUSE_ECALL_M if h.priv == 3 else CAUSE_ECALL_U, 0)
        return ST_BREAK
    elif op == OP_EBREAK:
        take_exception(h, CAUSE_BREAKPOINT, 0)     # mtval 0, as QEMU (the spec allows pc or 0)
        return ST_BREAK
    elif op == OP_MRET:
        if h.priv != 3:
            take_exception(h, CAUSE_ILLEGAL, d.raw)
        else:
            do_mret(h)
        return ST_BREAK
    elif op == OP_MNRET:
        if h.priv != 3:
            take_exception(h, CAUSE_ILLEGAL, d.raw)
        else:
            do_mnret(h)
        return ST_BREAK
    elif op == OP_WFI:
        if h.priv != 3:
            take_exception(h, CAUSE_ILLEGAL, d.raw)
            return ST_BREAK
        h.pc += 4
        if not (compute_mip(m, h) & h.mie):
            h.wfi = 1
        return ST_BREAK
    else:
        take_exception(h, CAUSE_ILLEGAL, d.raw)
        return ST_BREAK
    h.pc += 4
    return ST_OK
