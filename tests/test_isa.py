"""One self-checking assembly program per RV32IMA(+Zicsr, Zifencei, M-mode system) instruction.

Each program runs a list of cases, stores one word per result in `results`, and compares them with an
`expected` table computed here from the spec reference in rv32.py (or resolved by the linker where the
value is an address). The program powers off on success and fails with the first bad case number.
On our machine the test reports every mismatching case; the same ELF also runs on Unicorn (user-level
instructions) and QEMU, which checks the expectations themselves.
"""
from __future__ import annotations

import itertools

import pytest

import rv32
from rv32 import INT_MIN, OPS, u32

# Operand values chosen for edge cases: zero, ones, sign boundaries, shift amounts 31/32/33.
VALUES = [0, 1, 2, 3, 7, 31, 32, 33, 0x7FF, 0x800, 0x7FFF_FFFF, INT_MIN, 0x8000_0001, 0xFFFF_FFFF,
          0xFFFF_FFFE, 0xFFFF_FFF9, 0x1234_5678, 0xDEAD_BEEF]
IMMS = [0, 1, -1, 2, 7, 0x7FF, -0x800, 0x555, -0x556, 31, -31]
SHAMTS = [0, 1, 4, 15, 16, 31]


class Cases:
    """Collects cases: assembly that leaves values in registers, and the expected value of each."""

    def __init__(self):
        self.lines: list[str] = []
        self.expected: list[int | str] = []
        self.desc: list[str] = []
        self.pre = ""       # extra text before _start (handlers)
        self.data = ""      # extra .data
        self.n = 0

    def uid(self) -> int:
        self.n += 1
        return self.n

    def case(self, desc: str, asm: str, checks: list[tuple[str, int | str]]) -> None:
        self.lines.append(f"    /* {desc} */\n{asm}")
        for reg, exp in checks:
            self.lines.append(f"    sw {reg}, 0(s0)\n    addi s0, s0, 4")
            self.expected.append(exp)
            self.desc.append(f"{desc} -> {reg}")

    def source(self) -> str:
        n = len(self.expected)
        body = "\n".join(["    la s0, results"] + self.lines + [f"""\
    /* compare results with expected; fail with the 1-based case number */
    la s0, results
    la s1, expected
    li s2, {n}
    li a0, 1
1:  lw t0, 0(s0)
    lw t1, 0(s1)
    beq t0, t1, 2f
    j exit_fail
2:  addi s0, s0, 4
    addi s1, s1, 4
    addi a0, a0, 1
    addi s2, s2, -1
    bnez s2, 1b"""])
        words = "\n".join(f"    .word {e if isinstance(e, str) else hex(u32(e))}" for e in self.expected)
        data = f"{self.data}\n.balign 4\nresults:\n    .space {4 * n}\nexpected:\n{words}\n"
        return rv32.program(body, data, pre=self.pre)


# ------------------------------------------------------------------------------------------------
# Case generators, one per instruction


def gen_rr(op: str) -> Cases:
    c = Cases()
    for a, b in itertools.product(VALUES, VALUES):
        c.case(f"{op} {a:#x}, {b:#x}", f"    li a1, {a:#x}\n    li a2, {b:#x}\n    {op} a0, a1, a2",
               [("a0", OPS[op](a, b))])
    for a in (0x8000_0000, 0xFFFF_FFFF, 5):       # rd == rs1 == rs2
        c.case(f"{op} alias {a:#x}", f"    li a1, {a:#x}\n    {op} a1, a1, a1", [("a1", OPS[op](a, a))])
    c.case(f"{op} x0 destination", f"    li a1, 5\n    li a2, 3\n    {op} x0, a1, a2\n    mv a0, x0",
           [("a0", 0)])
    return c


def gen_imm(op: str) -> Cases:
    c = Cases()
    imms = SHAMTS if op in ("slli", "srli", "srai") else IMMS
    for a, i in itertools.product(VALUES, imms):
        c.case(f"{op} {a:#x}, {i}", f"    li a1, {a:#x}\n    {op} a0, a1, {i}", [("a0", rv32.imm_op(op, a, i))])
    c.case(f"{op} x0 destination", f"    li a1, 5\n    {op} x0, a1, 3\n    mv a0, x0", [("a0", 0)])
    return c


def gen_lui() -> Cases:
    c = Cases()
    for imm in (0, 1, 0x7FFFF, 0x80000, 0xFFFFF, 0x12345):
        c.case(f"lui {imm:#x}", f"    li a0, -1\n    lui a0, {imm:#x}", [("a0", imm << 12)])
    c.case("lui x0", "    lui x0, 0x12345\n    mv a0, x0", [("a0", 0)])
    return c


def gen_auipc() -> Cases:
    c = Cases()
    for imm in (0, 1, 0x7FFFF, 0x80000, 0xFFFFF):
        k = c.uid()
        add = rv32.sext(imm << 12, 32)
        c.case(f"auipc {imm:#x}", f"auipc_{k}:\n    auipc a0, {imm:#x}", [("a0", f"auipc_{k} + ({add})")])
    return c


def gen_jal() -> Cases:
    c = Cases()
    k = c.uid()
    c.case("jal forward", f"""\
    li t2, 0
    jal t1, jal_t_{k}
jal_r_{k}:
    li t2, 1
jal_t_{k}:""", [("t1", f"jal_r_{k}"), ("t2", 0)])
    k = c.uid()
    c.case("jal backward then forward", f"""\
    li t2, 0
    j jal_f_{k}
jal_b_{k}:
    addi t2, t2, 1
    j jal_d_{k}
jal_f_{k}:
    jal t1, jal_b_{k}
jal_r_{k}:
    li t2, 100
jal_d_{k}:""", [("t1", f"jal_r_{k}"), ("t2", 1)])
    k = c.uid()
    c.case("jal x0 (j)", f"""\
    li t2, 0
    jal x0, jal_t_{k}
    li t2, 1
jal_t_{k}:
    mv a0, x0""", [("t2", 0), ("a0", 0)])
    return c


def gen_jalr() -> Cases:
    c = Cases()
    for base_off, imm, what in [(0, 0, "plain"), (1, 0, "bit 0 cleared"), (-2, 3, "odd sum cleared"),
                                (8, -8, "negative offset"), (-2044, 2044, "max offset"), (2048, -2048, "min offset")]:
        k = c.uid()
        c.case(f"jalr {what}", f"""\
    la t0, jalr_t_{k} + ({base_off})
    li t2, 0
    jalr t1, {imm}(t0)
jalr_r_{k}:
    li t2, 1
jalr_t_{k}:""", [("t1", f"jalr_r_{k}"), ("t2", 0)])
    k = c.uid()
    c.case("jalr rd == rs1", f"""\
    la t0, jalr_t_{k}
    jalr t0, 0(t0)
jalr_r_{k}:
    li t0, 0
jalr_t_{k}:""", [("t0", f"jalr_r_{k}")])
    return c


def gen_branch(op: str) -> Cases:
    c = Cases()
    for a, b in itertools.product(VALUES, VALUES):
        c.case(f"{op} {a:#x}, {b:#x}", f"""\
    li a1, {a:#x}
    li a2, {b:#x}
    li a0, 1
    {op} a1, a2, 1f
    li a0, 0
1:""", [("a0", int(rv32.BRANCHES[op](a, b)))])
    # a backward taken branch: count down a loop
    a, b = {"beq": (0, 0), "bne": (1, 0), "blt": (-5, 0), "bge": (5, 0), "bltu": (1, 5), "bgeu": (5, 1)}[op]
    k = c.uid()
    c.case(f"{op} backward", f"""\
    li a0, 0
    li a1, {a}
    li a2, {b}
    j br_f_{k}
br_b_{k}:
    addi a0, a0, 1
    j br_d_{k}
br_f_{k}:
    {op} a1, a2, br_b_{k}
    li a0, 100
br_d_{k}:""", [("a0", 1)])
    return c


LOAD_BYTES = bytes([0x80, 0x7F, 0xFF, 0x00, 0x01, 0xFE, 0x80, 0x00, 0x00, 0x80, 0xFF, 0x7F, 0x78, 0x56, 0x34,
                    0x12, 0xEF, 0xBE, 0xAD, 0xDE, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x80, 0x55, 0xAA,
                    0x01, 0x80])


def gen_load(op: str) -> Cases:
    c = Cases()
    size = rv32.LOADS[op][0]
    c.data = "ldbuf:\n" + "\n".join(f"    .byte {b:#x}" for b in LOAD_BYTES)
    for off in range(-16, 16, size):
        exp = rv32.load_value(op, LOAD_BYTES[16 + off:16 + off + size])
        c.case(f"{op} ldbuf[{16 + off}]", f"    la t0, ldbuf + 16\n    li a0, 0x5a5a5a5a\n    {op} a0, {off}(t0)",
               [("a0", exp)])
    c.case(f"{op} x0 destination", f"    la t0, ldbuf\n    {op} x0, 0(t0)\n    mv a0, x0", [("a0", 0)])
    return c


def gen_store(op: str) -> Cases:
    c = Cases()
    size = rv32.STORES[op]
    buf = bytearray([0xAA] * 32)
    c.data = "stbuf:\n    .fill 32, 1, 0xaa"
    vals = [0x8765_4321, 0xFFFF_FFFF, 0, 0x0102_0380, 0x7F]
    for i, off in enumerate(range(-16, 16, size)):
        v = vals[i % len(vals)]
        buf[16 + off:16 + off + size] = (v & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
        w = (16 + off) & ~3
        c.case(f"{op} {v:#x} -> stbuf[{16 + off}]", f"""\
    la t0, stbuf + 16
    li a1, {v:#x}
    {op} a1, {off}(t0)
    lw a0, {w - 16}(t0)""", [("a0", int.from_bytes(buf[w:w + 4], "little"))])
    for w in range(0, 32, 4):
        c.case(f"{op} final stbuf[{w}]", f"    la t0, stbuf\n    lw a0, {w}(t0)",
               [("a0", int.from_bytes(buf[w:w + 4], "little"))])
    return c


def gen_amo(op: str) -> Cases:
    c = Cases()
    c.data = ".balign 4\namobuf:\n    .word 0"
    mems = [0, 1, 0xFFFF_FFFF, INT_MIN, 0x7FFF_FFFF, 0x1234_5678]
    for mv, rv in itertools.product(mems, mems):
        c.case(f"{op} mem={mv:#x} rs2={rv:#x}", f"""\
    la t0, amobuf
    li t1, {mv:#x}
    sw t1, 0(t0)
    li a1, {rv:#x}
    {op} a0, a1, (t0)
    lw a2, 0(t0)""", [("a0", mv), ("a2", rv32.AMOS[op](mv, rv))])
    c.case(f"{op} rd == rs2", f"""\
    la t0, amobuf
    li t1, 6
    sw t1, 0(t0)
    li a1, 9
    {op} a1, a1, (t0)
    lw a2, 0(t0)""", [("a1", 6), ("a2", rv32.AMOS[op](6, 9))])
    c.case(f"{op} rd == x0", f"""\
    la t0, amobuf
    li t1, 6
    sw t1, 0(t0)
    li a1, 9
    {op} x0, a1, (t0)
    lw a2, 0(t0)
    mv a0, x0""", [("a0", 0), ("a2", rv32.AMOS[op](6, 9))])
    return c


def gen_lrsc() -> Cases:
    c = Cases()
    c.data = ".balign 4\namobuf:\n    .word 0\n    .word 0"
    c.case("lr.w/sc.w pair succeeds, second sc.w fails", """\
    la t0, amobuf
    li t1, 5
    sw t1, 0(t0)
    lr.w a0, (t0)
    li a1, 7
    sc.w a2, a1, (t0)
    lw a3, 0(t0)
    li a1, 9
    sc.w a4, a1, (t0)
    snez a4, a4
    lw a5, 0(t0)""", [("a0", 5), ("a2", 0), ("a3", 7), ("a4", 1), ("a5", 7)])
    c.case("lr.w sign/full value", """\
    la t0, amobuf
    li t1, 0x80000001
    sw t1, 0(t0)
    lr.w a0, (t0)
    sc.w a2, t1, (t0)""", [("a0", 0x8000_0001), ("a2", 0)])
    c.case("sc.w without lr.w fails", """\
    la t0, amobuf
    addi t0, t0, 4
    li t1, 3
    sw t1, 0(t0)
    li a1, 4
    sc.w a2, a1, (t0)
    snez a2, a2
    lw a3, 0(t0)""", [("a2", 1), ("a3", 3)])
    return c


def gen_fence() -> Cases:
    c = Cases()
    c.data = ".balign 4\nfbuf:\n    .word 0"
    c.case("fence orders a store before a load", """\
    la t0, fbuf
    li t1, 0x1234
    sw t1, 0(t0)
    fence
    fence rw, rw
    fence iorw, iorw
    lw a0, 0(t0)""", [("a0", 0x1234)])
    return c


ADDI_A0_42 = rv32.encode("addi", "a0", "x0", 42)


def gen_fence_i() -> Cases:
    c = Cases()
    c.case("fence.i after rewriting already-executed code", f"""\
    li s3, 0
    la t0, smc_insn
1:  jal smc_sub
    bnez s3, 2f
    mv s4, a0
    li t1, {ADDI_A0_42:#x}
    sw t1, 0(t0)
    fence.i
    li s3, 1
    j 1b
2:  j 3f
smc_sub:
smc_insn:
    addi a0, x0, 1
    ret
3:""", [("s4", 1), ("a0", 42)])
    return c


# Machine-mode trap handler used by ecall/ebreak/mret cases: records mcause/mepc in s2/s3, skips the insn.
TRAP_PRE = """\
.section .text
.balign 4
isa_trap:
    csrr s2, mcause
    csrr s3, mepc
    addi t5, s3, 4
    csrw mepc, t5
    mret
"""
TRAP_SETUP = "    la t0, isa_trap\n    csrw mtvec, t0\n"


def gen_csr(op: str) -> Cases:
    c = Cases()
    init = [0, 0xFFFF_FFFF, 0x1234_5678]
    srcs = [0, 0xFFFF_FFFF, 0x0F0F_00FF] if not op.endswith("i") else [0, 1, 31, 0x15]
    for iv, sv in itertools.product(init, srcs):
        new = {"csrrw": sv, "csrrs": iv | sv, "csrrc": iv & ~sv & rv32.MASK}[op.rstrip("i")]
        src = str(sv) if op.endswith("i") else "a1"
        setup = "" if op.endswith("i") else f"    li a1, {sv:#x}\n"
        c.case(f"{op} mscratch={iv:#x} src={sv:#x}", f"""\
    li t1, {iv:#x}
    csrw mscratch, t1
{setup}    {op} a0, mscratch, {src}
    csrr a2, mscratch""", [("a0", iv), ("a2", new)])
    if op in ("csrrs", "csrrc"):
        c.case(f"{op} x0 source reads a read-only CSR without trapping", f"""\
    li s2, 0
    {op} a0, mhartid, x0""", [("a0", 0), ("s2", 0)])
    if op in ("csrrsi", "csrrci"):
        c.case(f"{op} zero uimm reads a read-only CSR without trapping", f"""\
    li s2, 0
    {op} a0, mhartid, 0""", [("a0", 0), ("s2", 0)])
    if op in ("csrrw", "csrrwi"):
        src = "7" if op == "csrrwi" else "a1"
        c.case(f"{op} rd == x0 writes", f"""\
    li a1, 7
    {op} x0, mscratch, {src}
    csrr a0, mscratch""", [("a0", 7)])
    c.pre = TRAP_PRE
    c.lines.insert(0, TRAP_SETUP)
    return c


def gen_ecall() -> Cases:
    c = Cases()
    c.pre = TRAP_PRE
    c.case("ecall from M", f"{TRAP_SETUP}    li s2, 0\n    li s3, 0\necall_1:\n    ecall",
           [("s2", 11), ("s3", "ecall_1")])
    return c


def gen_ebreak() -> Cases:
    c = Cases()
    c.pre = TRAP_PRE
    c.case("ebreak", f"{TRAP_SETUP}    li s2, 0\n    li s3, 0\nebreak_1:\n    ebreak",
           [("s2", 3), ("s3", "ebreak_1")])
    return c


def gen_mret() -> Cases:
    c = Cases()
    c.pre = TRAP_PRE
    c.case("mret to M: pc = mepc, MIE = MPIE, MPIE = 1, MPP = U", f"""\
{TRAP_SETUP}    csrw mie, x0
    la t0, mret_t
    csrw mepc, t0
    li t0, 0x1880
    csrs mstatus, t0
    li t0, 0x8
    csrc mstatus, t0
    li t2, 0
    li s2, 0
    mret
    li t2, 1
mret_t:
    csrr a0, mstatus
    li t0, 0x1888
    and a0, a0, t0
    csrr a1, mhartid
    li t0, 0x8
    csrc mstatus, t0""", [("a0", 0x88), ("t2", 0), ("s2", 0)])
    c.case("mret with MPIE = 0 clears MIE", """\
    la t0, mret_t2
    csrw mepc, t0
    li t0, 0x1800
    csrs mstatus, t0
    li t0, 0x88
    csrc mstatus, t0
    mret
mret_t2:
    csrr a0, mstatus
    li t0, 0x1888
    and a0, a0, t0""", [("a0", 0x80)])
    return c


def gen_wfi() -> Cases:
    c = Cases()
    c.case("wfi returns at once with an enabled pending interrupt while mstatus.MIE = 0", """\
    li t0, 0x8
    csrc mstatus, t0
    csrs mie, t0
    li t1, 0x2000000
    li t2, 1
    sw t2, 0(t1)
    li a0, 0
    wfi
    li a0, 1
    csrr a1, mip
    andi a1, a1, 8
    sw x0, 0(t1)
    csrr a2, mip
    andi a2, a2, 8
    csrw mie, x0""", [("a0", 1), ("a1", 8), ("a2", 0)])
    return c


GENERATORS = {}
for _op in OPS:
    GENERATORS[_op] = lambda op=_op: gen_rr(op)
for _op in rv32.IMM_OPS:
    GENERATORS[_op] = lambda op=_op: gen_imm(op)
for _op in rv32.BRANCHES:
    GENERATORS[_op] = lambda op=_op: gen_branch(op)
for _op in rv32.LOADS:
    GENERATORS[_op] = lambda op=_op: gen_load(op)
for _op in rv32.STORES:
    GENERATORS[_op] = lambda op=_op: gen_store(op)
for _op in rv32.AMOS:
    GENERATORS[_op] = lambda op=_op: gen_amo(op)
for _op in ("csrrw", "csrrs", "csrrc", "csrrwi", "csrrsi", "csrrci"):
    GENERATORS[_op] = lambda op=_op: gen_csr(op)
GENERATORS.update({"lui": gen_lui, "auipc": gen_auipc, "jal": gen_jal, "jalr": gen_jalr, "lr.w/sc.w": gen_lrsc,
                   "fence": gen_fence, "fence.i": gen_fence_i, "ecall": gen_ecall, "ebreak": gen_ebreak,
                   "mret": gen_mret, "wfi": gen_wfi})
# Instructions whose behaviour involves traps, CSRs or devices: checked against QEMU, not Unicorn.
SYSTEM = {"ecall", "ebreak", "mret", "wfi", "csrrw", "csrrs", "csrrc", "csrrwi", "csrrsi", "csrrci"}
ALL = sorted(GENERATORS)
USER = [n for n in ALL if n not in SYSTEM]

_built: dict[str, tuple] = {}


def built(name: str):
    """(elf path, Cases, results address, expected words) for one instruction's program, built once."""
    if name not in _built:
        cases = GENERATORS[name]()
        elf = rv32.toolchain_build(cases.source())
        img = rv32.read_elf(elf)
        n = len(cases.expected)
        exp_addr = img.symbols["expected"]
        blob = rv32.image_bytes(img, exp_addr, 4 * n)
        expected = [int.from_bytes(blob[4 * i:4 * i + 4], "little") for i in range(n)]
        _built[name] = (elf, cases, img.symbols["results"], expected)
    return _built[name]


def mismatches(cases: Cases, expected: list[int], got: bytes) -> list[str]:
    out = []
    for i, (e, d) in enumerate(zip(expected, cases.desc)):
        g = int.from_bytes(got[4 * i:4 * i + 4], "little")
        if g != e:
            out.append(f"case {i + 1}: {d}: got {g:#010x}, expected {e:#010x}")
    return out


def test_instruction_list_is_complete():
    isa = ("lui auipc jal jalr beq bne blt bge bltu bgeu lb lh lw lbu lhu sb sh sw addi slti sltiu xori ori "
           "andi slli srli srai add sub sll slt sltu xor srl sra or and fence fence.i ecall ebreak mul mulh "
           "mulhsu mulhu div divu rem remu amoswap.w amoadd.w amoxor.w amoand.w amoor.w amomin.w amomax.w "
           "amominu.w amomaxu.w csrrw csrrs csrrc csrrwi csrrsi csrrci mret wfi").split()
    assert set(isa) | {"lr.w/sc.w"} == set(GENERATORS)


def test_reference_edge_cases():
    """The spec's table of division corner cases, checked on the reference itself."""
    assert OPS["div"](5, 0) == 0xFFFF_FFFF and OPS["divu"](5, 0) == 0xFFFF_FFFF
    assert OPS["rem"](5, 0) == 5 and OPS["remu"](5, 0) == 5
    assert OPS["div"](INT_MIN, 0xFFFF_FFFF) == INT_MIN and OPS["rem"](INT_MIN, 0xFFFF_FFFF) == 0
    assert OPS["div"](u32(-7), 2) == u32(-3) and OPS["rem"](u32(-7), 2) == u32(-1)
    assert OPS["mulh"](INT_MIN, INT_MIN) == 0x4000_0000 and OPS["mulhsu"](0xFFFF_FFFF, 0xFFFF_FFFF) == 0xFFFF_FFFF


@pytest.mark.parametrize("name", ALL)
def test_machine(name, machine_run):
    elf, cases, res_addr, expected = built(name)
    m, info = machine_run(elf)
    got = m.read(res_addr, 4 * len(expected))
    bad = mismatches(cases, expected, got)
    assert not bad, "\n".join(bad[:30]) + f"\n({len(bad)} mismatches; console {m.console!r})"
    assert info.reason == "poweroff", (info.reason, info.code, m.console)
    assert m.harts[0].x[0] == 0


@pytest.mark.parametrize("name", USER)
def test_unicorn_agrees(name):
    """Our expectations hold on Unicorn (an independent implementation)."""
    pytest.importorskip("unicorn")
    elf, cases, res_addr, expected = built(name)
    regs, mem = rv32.run_unicorn(elf)
    off = res_addr - rv32.RAM_BASE
    bad = mismatches(cases, expected, mem[off:off + 4 * len(expected)])
    assert not bad, "\n".join(bad[:30])
    assert regs[0] == 0


@pytest.mark.qemu
@pytest.mark.parametrize("name", ALL)
def test_qemu_agrees(name, qemu):
    elf, cases, _, _ = built(name)
    status, out = qemu(elf)
    assert status == 0, f"QEMU: {out.strip()} ({cases.desc[int(out.split()[-1], 16) - 1] if 'FAIL' in out else ''})"


FINAL_STATE = "\n".join(f"    li x{i}, {u32(0x01010101 * i ^ (i << 28)):#x}" for i in range(1, 32)) + """
    addi x0, x0, 123
    li t0, 0x100000
    li t1, 0x5555
    sw t1, 0(t0)
"""


def test_final_registers(machine_run):
    """Registers as seen from Python after a run: all 32 values, x0 still zero."""
    src = f".section .text.start\n.globl _start\n_start:\n{FINAL_STATE}1: j 1b\n"
    elf = rv32.toolchain_build(src)
    m, info = machine_run(elf)
    assert info.reason == "poweroff"
    want = [0] + [u32(0x01010101 * i ^ (i << 28)) for i in range(1, 32)]
    want[5], want[6] = 0x100000, 0x5555
    assert rv32.regs_of(m.harts[0]) == want
    assert len(m.harts[0].x) == 32
    regs, _ = rv32.run_unicorn(elf)
    assert regs == want
