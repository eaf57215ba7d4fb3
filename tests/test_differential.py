"""Differential tests: random RV32IM(+A) programs on our machine and on Unicorn must end in the same state.

A batch is one image of many small programs run back to back. Program j loads all registers from its
own init table, runs a random body (straight-line ALU ops, loads, stores and AMOs on its own 256-byte
data region, forward branches and jumps, bounded loops), then stores its registers into its own dump area.
After the batch we compare the final registers and the whole data area (init tables, data regions,
dumps) and, on a difference, name the first program that differs and print its listing. Generation is
seeded, so a failure reproduces with the seed in the test id.

Register roles inside a body: x31 points into the data region (never written), x30 is a scratch for
address arithmetic and auipc/jalr pairs, x29 is the loop counter; random destinations are x0..x28.
"""
from __future__ import annotations

import random

import pytest

import rv32
from rv32 import INT_MIN, Asm, Rel, u32

DATA_BASE = rv32.RAM_BASE + 0x4_0000     # code below, per-program areas from here
AREA = 512                              # per program: init table 128 B, data 256 B, dump 128 B
PROGRAMS_PER_BATCH = 40
SEEDS = range(300)                      # 300 batches x 40 programs = 12000 programs per run
REF_SEEDS = set(SEEDS)               # every batch also runs on the pure-Python reference

RD = list(range(29))                    # random destinations (x0 included: writes must be ignored)
RS = list(range(32))
EDGE = [0, 1, 2, 0xFFFF_FFFF, 0xFFFF_FFFE, INT_MIN, 0x7FFF_FFFF, 0x8000_0001, 31, 32, 0x7FF, 0xFFFF_F800]
RR = list(rv32.OPS)
IMM = ["addi", "slti", "sltiu", "xori", "ori", "andi"]
SHIFT = ["slli", "srli", "srai"]


def rand_value(rng: random.Random) -> int:
    r = rng.random()
    if r < 0.35:
        return rng.choice(EDGE)
    if r < 0.55:
        return u32(rng.randint(-64, 64))
    return rng.getrandbits(32)


def rand_imm(rng: random.Random) -> int:
    r = rng.random()
    if r < 0.3:
        return rng.choice([0, 1, -1, 2047, -2048, 31, -32])
    return rng.randint(-2048, 2047)


class Gen:
    def __init__(self, rng: random.Random, asm: Asm):
        self.rng, self.a = rng, asm
        self.nlabel = 0

    def new_label(self) -> str:
        self.nlabel += 1
        return f"L{self.nlabel}"

    def simple(self) -> None:
        """One group that falls through: ALU, upper-immediate, load or store."""
        rng, a = self.rng, self.a
        rd, rs1, rs2 = rng.choice(RD), rng.choice(RS), rng.choice(RS)
        k = rng.random()
        if k < 0.35:
            a(rng.choice(RR), rd, rs1, rs2)
        elif k < 0.55:
            a(rng.choice(IMM), rd, rs1, rand_imm(rng))
        elif k < 0.63:
            a(rng.choice(SHIFT), rd, rs1, rng.choice([0, 1, 31, rng.randint(0, 31)]))
        elif k < 0.67:
            a(rng.choice(["lui", "auipc"]), rd, rng.getrandbits(20))
        elif k < 0.70:                  # AMOs (and lr.w) on an aligned word of the data region
            op = rng.choice(list(rv32.AMOS) + ["lr.w"])
            a("andi", 30, rs1, 0xFC)
            a("add", 30, 30, 31)
            a("addi", 30, 30, -128)
            if op == "lr.w":
                a(op, rd, 30)
            else:
                a(op, rd, rs2, 30)
        elif k < 0.84:
            op = rng.choice(list(rv32.LOADS))
            size = rv32.LOADS[op][0]
            if rng.random() < 0.5:
                a(op, rd, 31, rng.randrange(-128, 128, size))
            else:                       # address from a random register's value
                a("andi", 30, rs1, 0xFF & ~(size - 1))
                a("add", 30, 30, 31)
                a(op, rd, 30, -128)
        else:
            op = rng.choice(list(rv32.STORES))
            size = rv32.STORES[op]
            if rng.random() < 0.5:
                a(op, rs2, 31, rng.randrange(-128, 128, size))
            else:
                a("andi", 30, rs1, 0xFF & ~(size - 1))
                a("add", 30, 30, 31)
                a(op, rs2, 30, -128)

    def block(self, n: int, depth: int = 0) -> None:
        """n groups; forward control transfers land on group boundaries inside this block."""
        rng, a = self.rng, self.a
        pending: list[tuple[int, str]] = []       # (group index to place label before, label)
        for i in range(n):
            for _, lab in [p for p in pending if p[0] == i]:
                a.label(lab)
            pending = [p for p in pending if p[0] != i]
            k = rng.random()
            if k < 0.12 and i + 1 < n:
                lab = self.new_label()
                pending.append((rng.randint(i + 1, min(n, i + 8)), lab))
                r = rng.random()
                if r < 0.7:
                    a(rng.choice(list(rv32.BRANCHES)), rng.choice(RS), rng.choice(RS), lab)
                elif r < 0.85:
                    a("jal", rng.choice(RD), lab)
                else:                               # jalr to the label, sometimes with bit 0 set
                    a("auipc", 30, 0)
                    a("jalr", rng.choice(RD), 30, Rel(lab, 4 + rng.getrandbits(1)))
            elif k < 0.16 and depth == 0 and n - i > 4:
                loop = self.new_label()
                a("addi", 29, 0, rng.randint(1, 6))
                a.label(loop)
                self.block(rng.randint(2, 10), depth + 1)
                a("addi", 29, 29, -1)
                a("bne", 29, 0, loop)
            else:
                self.simple()
        for _, lab in pending:                       # targets at the end of the block
            a.label(lab)


PROLOGUE = 2 + 29 + 2                   # li x30; lw x1..x29; li x31
EPILOGUE = 2 + 30                       # li x30; sw x1..x29, x31


def make_batch(seed: int, programs: int = PROGRAMS_PER_BATCH):
    """Returns (code bytes, data-area bytes, asm, per-program item ranges)."""
    rng = random.Random(seed)
    a = Asm()
    g = Gen(rng, a)
    data = bytearray()
    spans = []
    for j in range(programs):
        area = DATA_BASE + AREA * j
        start = len(a.items)
        inits = [rand_value(rng) for _ in range(32)]
        data += b"".join(v.to_bytes(4, "little") for v in inits)
        data += bytes(rng.getrandbits(8) for _ in range(256))
        data += bytes(128)
        a.li(30, area)
        for r in range(1, 30):
            a("lw", r, 30, 4 * r)
        a.li(31, area + 128 + 128)
        g.block(rng.randint(20, 80))
        a.li(30, area + 384)
        for r in list(range(1, 30)) + [31]:
            a("sw", r, 30, 4 * r)
        spans.append((start, len(a.items)))
        assert a.items[start + PROLOGUE - 2][0] == "lui" and a.items[len(a.items) - EPILOGUE][0] == "lui"
    a.li(30, rv32.SYSCON)
    a.li(29, rv32.PASS)
    a("sw", 29, 30, 0)
    a("jal", 0, 0)
    code = a.code()
    assert len(code) <= DATA_BASE - rv32.RAM_BASE, "batch code overlaps the data area"
    return code, bytes(data), a, spans


def image(code: bytes, data: bytes) -> bytes:
    return code + bytes(DATA_BASE - rv32.RAM_BASE - len(code)) + data


def explain(a: Asm, spans, data: bytes, want: bytes, got: bytes, who: str) -> str:
    """Message naming the first program whose area differs, with its init values and listing."""
    for j, (s, e) in enumerate(spans):
        lo, hi = AREA * j, AREA * (j + 1)
        if want[lo:hi] != got[lo:hi]:
            lines = [f"program {j} differs ({who} vs unicorn)"]
            for off in range(0, AREA, 4):
                w, g = want[lo + off:lo + off + 4], got[lo + off:lo + off + 4]
                if w != g:
                    part = ("init", "data", "data", "dump")[off // 128]
                    what = f"x{(off - 384) // 4}" if part == "dump" else f"+{off - 128}"
                    lines.append(f"  {part} {what}: unicorn {w[::-1].hex()} {who} {g[::-1].hex()}")
            inits = [int.from_bytes(data[lo + 4 * r:lo + 4 * r + 4], "little") for r in range(32)]
            lines.append("  init: " + " ".join(f"x{r}={v:#x}" for r, v in enumerate(inits) if 0 < r < 30))
            lines.append(f"  x31 = {DATA_BASE + AREA * j + 256:#x} (data + 128); body:")
            lines.append(a.listing(s + PROLOGUE, e - EPILOGUE))
            return "\n".join(lines)
    return "areas equal"


def run_reference(code: bytes, data: bytes, size: int):
    ref = rv32.Ref(image(code, data) + bytes(size - (DATA_BASE - rv32.RAM_BASE) - len(data)))
    ref.run()
    return ref.x, bytes(ref.mem)


@pytest.fixture(scope="module")
def unicorn_results():
    pytest.importorskip("unicorn")
    cache = {}

    def get(seed):
        if seed not in cache:
            code, data, a, spans = make_batch(seed)
            regs, mem = rv32.run_unicorn(image(code, data), ram_size=1 << 20)
            off = DATA_BASE - rv32.RAM_BASE
            cache[seed] = (code, data, a, spans, regs, mem[off:off + len(data)])
        return cache[seed]
    return get


@pytest.mark.parametrize("seed", SEEDS)
def test_machine_matches_unicorn(seed, unicorn_results, machine_run):
    code, data, a, spans, uregs, udata = unicorn_results(seed)
    m, info = machine_run(image(code, data), ram_size=1 << 20)
    assert info.reason == "poweroff", (info.reason, hex(m.harts[0].pc))
    got = m.read(DATA_BASE, len(data))
    assert got == udata, explain(a, spans, data, udata, got, "machine")
    assert rv32.regs_of(m.harts[0]) == uregs


@pytest.mark.parametrize("seed", sorted(REF_SEEDS))
def test_reference_matches_unicorn(seed, unicorn_results):
    """The generator and the Python reference agree with Unicorn (guards the test's own logic)."""
    code, data, a, spans, uregs, udata = unicorn_results(seed)
    rregs, rmem = run_reference(code, data, 1 << 20)
    off = DATA_BASE - rv32.RAM_BASE
    got = rmem[off:off + len(data)]
    assert got == udata, explain(a, spans, data, udata, got, "reference")
    assert rregs == uregs


def test_encoder_matches_toolchain():
    """Our encoder produces the same words as the project's assembler for a random mix of instructions."""
    rng = random.Random(1234)
    a = Asm()
    for _ in range(400):
        Gen(rng, a).simple()
    for op in rv32.BRANCHES:
        a(op, rng.choice(RS), rng.choice(RS), rng.randrange(-4096, 4096, 2))
    for _ in range(8):
        a("jal", rng.choice(RS), rng.randrange(-(1 << 20), 1 << 20, 2))
        a("jalr", rng.choice(RS), rng.choice(RS), rand_imm(rng))
    for op in list(rv32.AMOS) + ["sc.w"]:
        a(op, rng.choice(RS), rng.choice(RS), rng.choice(RS))
    a("lr.w", 5, 6)
    for op in ("csrrw", "csrrs", "csrrc"):
        a(op, rng.choice(RS), "mscratch", rng.choice(RS))
    for op in ("csrrwi", "csrrsi", "csrrci"):
        a(op, rng.choice(RS), "mtvec", rng.randint(0, 31))
    for op in ("ecall", "ebreak", "mret", "wfi", "fence.i"):
        a(op)
    items = a.resolved()
    src = ".section .text.start\n.globl _start\n_start:\n" + "\n".join(
        "    " + rv32.asm_text(n, ops) for n, ops in items) + "\n"
    img = rv32.read_elf(rv32.toolchain_build(src))
    blob = rv32.image_bytes(img, rv32.RAM_BASE, 4 * len(items))
    for i, ((n, ops), w) in enumerate(zip(items, a.words())):
        tw = int.from_bytes(blob[4 * i:4 * i + 4], "little")
        assert w == tw, f"{rv32.asm_text(n, ops)}: ours {w:#010x}, toolchain {tw:#010x}"
