"""The CPU benchmark program: a CRC-32 and integer mix, and the same binary timed on Unicorn.

`cpu_program(scale)` builds an RV32IM image that repeats `scale` rounds of: fill a 16 KiB buffer from a
multiply-based generator (stores), CRC-32 it bit by bit (loads, shifts, a loop per bit), then mix every
word with divu/remu/mulh and a data-dependent branch. About 1.1 million instructions per round. It ends
with the checksum in a0 and a power-off write to the syscon.

Every path through the program has a data-independent length (both sides of the data-dependent
branch are four instructions), so the instruction count is exactly `c0 + c1 * scale`. That lets
`run_unicorn_bench` time Unicorn without any hook: it counts c0 and c1 once with a block hook at scale 1
and 2 (patching the scale word in memory), then runs the requested scale hook-free.
"""
from __future__ import annotations

import functools
import struct
import time
import zlib
from pathlib import Path

from workbench import toolchain

BUF_WORDS = 4096            # 16 KiB
FILL_MUL, FILL_ADD = 1664525, 1013904223
SEED = 0x1234_5678
SYSCON = 0x0010_0000

_SOURCE = """\
/* CPU benchmark: {rounds} rounds of fill / CRC-32 / integer mix; checksum in a0 at power-off. */
.section .text.start
.globl _start
_start:
    la s0, bench_buf
    li s4, {buf_bytes}
    add s4, s0, s4            /* end of buffer */
    lw s1, bench_scale
    li s2, {seed:#x}          /* generator state x */
    li s3, 0xEDB88320         /* reflected CRC-32 polynomial */
    li s5, {fill_mul}
    li s6, {fill_add}
    li a0, 0                  /* checksum */
    beqz s1, bench_done
round:
    /* 1. fill: x = x * MUL + ADD; word = x ^ (x >> 13) */
    mv a2, s0
1:  mul s2, s2, s5
    add s2, s2, s6
    srli t0, s2, 13
    xor t0, t0, s2
    sw t0, 0(a2)
    addi a2, a2, 4
    bne a2, s4, 1b
    /* 2. CRC-32 over the buffer, one bit at a time */
    li t1, -1
    mv a2, s0
2:  lbu t0, 0(a2)
    xor t1, t1, t0
    li t3, 8
3:  andi t4, t1, 1
    neg t4, t4
    and t4, t4, s3
    srli t1, t1, 1
    xor t1, t1, t4
    addi t3, t3, -1
    bnez t3, 3b
    addi a2, a2, 1
    bne a2, s4, 2b
    not t1, t1                /* t1 = CRC-32 of the buffer */
    /* 3. integer mix: divide, remainder, high multiply and a balanced data-dependent branch */
    li a3, 0                  /* acc */
    li a4, 0                  /* i */
    mv a2, s0
4:  lw t0, 0(a2)
    andi t2, a4, 255
    addi t2, t2, 3
    divu t3, t0, t2
    remu t4, t0, t2
    mulh t5, t0, s2
    andi t6, t0, 1
    beqz t6, 5f
    xor t6, t3, t5            /* odd: acc += q ^ h */
    add a3, a3, t6
    j 6f
5:  sub a3, a3, t4            /* even: acc = (acc - r) ^ h  (same length as the odd path) */
    xor a3, a3, t5
    nop
6:  sw a3, 0(a2)
    addi a4, a4, 1
    addi a2, a2, 4
    bne a2, s4, 4b
    /* checksum = rotl(checksum, 5) ^ crc + acc */
    slli t0, a0, 5
    srli t2, a0, 27
    or a0, t0, t2
    xor a0, a0, t1
    add a0, a0, a3
    addi s1, s1, -1
    bnez s1, round
.globl bench_done
bench_done:
    li t0, {syscon:#x}
    li t1, 0x5555
    sw t1, 0(t0)
7:  j 7b

.section .data
.balign 4
.globl bench_scale
bench_scale:
    .word {rounds}
.section .bss
.balign 64
bench_buf:
    .space {buf_bytes}
"""


def cpu_program(scale: int) -> Path:
    """Build (cached) the benchmark ELF for `scale` rounds; scale=1 is about 1.1e6 instructions."""
    if not isinstance(scale, int) or isinstance(scale, bool) or not 1 <= scale < (1 << 31):
        raise ValueError(f"scale must be an integer 1..2**31-1, got {scale!r}")
    src = _SOURCE.format(rounds=scale, buf_bytes=4 * BUF_WORDS, seed=SEED, fill_mul=FILL_MUL,
                         fill_add=FILL_ADD, syscon=SYSCON)
    return toolchain.build_asm(src)


def expected_checksum(scale: int) -> int:
    """The checksum the program leaves in a0, computed in Python (CRC-32 via zlib)."""
    m32 = 0xFFFF_FFFF
    x, chk = SEED, 0
    for _ in range(scale):
        words = []
        for _ in range(BUF_WORDS):
            x = (x * FILL_MUL + FILL_ADD) & m32
            words.append(x ^ (x >> 13))
        crc = zlib.crc32(struct.pack(f"<{BUF_WORDS}I", *words))
        hx = x - (1 << 32) if x >> 31 else x
        acc = 0
        for i, v in enumerate(words):
            d = (i & 255) + 3
            sv = v - (1 << 32) if v >> 31 else v
            h = ((sv * hx) >> 32) & m32
            if v & 1:
                acc = (acc + ((v // d) ^ h)) & m32
            else:
                acc = ((acc - v % d) & m32) ^ h
        chk = ((((chk << 5) | (chk >> 27)) & m32) ^ crc) + acc & m32
    return chk


# ------------------------------------------------------------------------------------------------
# Unicorn side


def _segments(path: Path):
    """(entry, [(addr, bytes incl. zero fill)], symbols) of an RV32 ELF image."""
    from elftools.elf.elffile import ELFFile
    with open(path, "rb") as f:
        elf = ELFFile(f)
        segs = [(seg["p_paddr"], seg.data() + bytes(seg["p_memsz"] - seg["p_filesz"]))
                for seg in elf.iter_segments() if seg["p_type"] == "PT_LOAD" and seg["p_memsz"]]
        syms = {sym.name: sym["st_value"] for sym in elf.get_section_by_name(".symtab").iter_symbols() if sym.name}
        return elf["e_entry"], segs, syms


def _unicorn(path: Path, scale: int | None = None):
    from unicorn import UC_ARCH_RISCV, UC_MODE_RISCV32, Uc

    entry, segs, syms = _segments(path)
    uc = Uc(UC_ARCH_RISCV, UC_MODE_RISCV32)
    lo = min(a for a, _ in segs) & ~0xFFF
    hi = max(a + len(b) for a, b in segs)
    uc.mem_map(lo, (hi - lo + 0xFFFF) & ~0xFFFF)
    uc.mem_map(SYSCON, 0x1000)
    for addr, blob in segs:
        uc.mem_write(addr, blob)
    if scale is not None:
        uc.mem_write(syms["bench_scale"], struct.pack("<I", scale))
    return uc, entry, syms["bench_done"]


def _count(path: Path, scale: int) -> int:
    from unicorn import UC_HOOK_BLOCK

    uc, entry, done = _unicorn(path, scale)
    n = [0]

    def on_block(_uc, _addr, size, _ud):
        n[0] += size // 4          # RV32 without compressed instructions: 4 bytes each

    uc.hook_add(UC_HOOK_BLOCK, on_block)
    uc.emu_start(entry, done)
    return n[0]


@functools.lru_cache(maxsize=16)
def _coefficients(path: str, mtime_ns: int) -> tuple[int, int]:
    c1 = _count(Path(path), 1)
    c2 = _count(Path(path), 2)
    return c1 - (c2 - c1), c2 - c1


def instruction_count(path, scale: int) -> int:
    """Instructions the program executes up to `bench_done` at `scale` rounds (counted on Unicorn)."""
    path = Path(path)
    c0, c1 = _coefficients(str(path.resolve()), path.stat().st_mtime_ns)
    return c0 + c1 * scale


def run_unicorn_bench(path) -> tuple[int, float]:
    """Run the benchmark ELF on Unicorn without hooks; returns (instructions, seconds).

    Also checks the result: the a0 checksum must match the Python model for small scales.
    """
    from unicorn.riscv_const import UC_RISCV_REG_A0

    path = Path(path)
    _, _, syms = _segments(path)
    uc, entry, done = _unicorn(path)
    scale = struct.unpack("<I", uc.mem_read(syms["bench_scale"], 4))[0]
    t0 = time.perf_counter()
    uc.emu_start(entry, done)
    seconds = time.perf_counter() - t0
    if scale <= 4 and uc.reg_read(UC_RISCV_REG_A0) != expected_checksum(scale):
        raise RuntimeError("unicorn computed a wrong benchmark checksum")
    return instruction_count(path, scale), seconds


def checksum_of(path) -> int:
    """The checksum expected in a0 for this image (reads its scale word)."""
    _, segs, syms = _segments(Path(path))
    addr = syms["bench_scale"]
    for base, blob in segs:
        if base <= addr < base + len(blob):
            return expected_checksum(struct.unpack_from("<I", blob, addr - base)[0])
    raise ValueError("bench_scale not found")
