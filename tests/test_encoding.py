"""The decoder's table (cyext/encoding.py ENCODINGS) against itself, the Op enum and the assembler."""
from __future__ import annotations

import itertools
import types

import pytest

from cyext import encoding, generate
from cyext.encoding import ENCODINGS, FORMATS, READS_RS1, READS_RS2, WRITES_RD


def matches(word: int) -> list[str]:
    return [name for name, match, mask, _ in ENCODINGS if word & mask == match]


def test_names_unique_and_formats_known():
    names = [e[0] for e in ENCODINGS]
    assert len(names) == len(set(names))
    assert {e[3] for e in ENCODINGS} <= set(FORMATS) and len(set(FORMATS)) == len(FORMATS)
    assert READS_RS1 | READS_RS2 | WRITES_RD <= set(FORMATS)


@pytest.mark.parametrize("entry", ENCODINGS, ids=[e[0] for e in ENCODINGS])
def test_match_has_no_bits_outside_mask(entry):
    name, match, mask, _ = entry
    assert 0 <= match < 1 << 32 and 0 <= mask < 1 << 32
    assert match & ~mask == 0, f"{name}: match {match:#010x} has bits outside mask {mask:#010x}"
    assert mask & 0x7F == 0x7F, f"{name}: the opcode must be fully decoded"
    assert match & 3 == 3, f"{name}: a 32-bit instruction has low bits 11"


def test_no_two_encodings_overlap():
    """No word matches two entries: for masks m1, m2 and matches c1, c2 a common word exists exactly
    when c1 and c2 agree on every bit both masks fix."""
    for (n1, c1, m1, _), (n2, c2, m2, _) in itertools.combinations(ENCODINGS, 2):
        assert (c1 ^ c2) & m1 & m2 != 0, f"{n1} and {n2} overlap: e.g. {c1 | c2:#010x}"


def test_formats_follow_the_major_opcode():
    by_opcode = {0x37: {"U"}, 0x17: {"U"}, 0x6F: {"J"}, 0x67: {"I"}, 0x63: {"B"}, 0x03: {"L"}, 0x23: {"S"},
                 0x13: {"I", "SH"}, 0x33: {"R"}, 0x0F: {"N"}, 0x73: {"N", "C", "CI"}, 0x2F: {"A", "LR"}}
    for name, match, _, fmt in ENCODINGS:
        assert fmt in by_opcode[match & 0x7F], name
    # register use by format: stores and branches write no rd, U/J read nothing, CSR-immediates read no rs1
    assert not {"S", "B", "N"} & WRITES_RD
    assert not {"U", "J", "CI", "N"} & READS_RS1
    assert READS_RS2 == {"R", "S", "B", "A"}


def test_op_enum_is_generated_from_encodings():
    core = pytest.importorskip("cyext.core", reason="the Cython core is not built")
    ops = {m.name: m.value for m in core.Op}
    assert ops["OP_ILLEGAL"] == 0
    by_value = {v: k for k, v in ops.items()}
    assert len(by_value) == len(ops), "two Op members share a value"
    for i, (name, *_rest) in enumerate(ENCODINGS):
        assert by_value.get(i + 1) == "OP_" + name.upper().replace(".", "_"), name
    # the members after the instructions are the decoder's own (probe, stale slot, count), never an instruction
    extra = sorted((v, k) for k, v in ops.items() if v > len(ENCODINGS))
    assert extra[-1][1] == "OP_COUNT" and extra[-1][0] == len(ENCODINGS) + len(extra)
    assert [v for v, _ in extra] == list(range(len(ENCODINGS) + 1, len(ENCODINGS) + len(extra) + 1))
    # the core was built from this very table
    assert core.GENERATED_FROM == generate.digest(encoding)


def test_generated_sources_match_a_fresh_generation():
    # setup.py writes them at build time; once built, regenerating must give the same bytes
    outputs = generate.outputs()
    if not all(p.exists() for p in outputs):
        pytest.skip("the generated sources are written by setup.py at build time")
    for path, text in outputs.items():
        assert path.read_text() == text, f"{path.name} is stale: rebuild (python setup.py build_ext --inplace)"


def test_generation_follows_the_table():
    # a changed table gives another Op enum and another digest, so a stale core refuses to import
    fake = types.SimpleNamespace(**{k: getattr(encoding, k) for k in
                                    ("ENCODINGS", "FORMATS", "READS_RS1", "READS_RS2", "WRITES_RD")})
    fake.ENCODINGS = encoding.ENCODINGS[:-1]
    assert generate.digest(fake) != generate.digest(encoding)
    assert "OP_AMOMAXU_W" in generate.render_ops(encoding) and "OP_AMOMAXU_W" not in generate.render_ops(fake)
    assert all(f in encoding.FORMATS for *_r, f in ENCODINGS)


# One sample per instruction, assembled by the project toolchain (an independent encoder): each word must
# match exactly the entry of its own name. mnret is not known to the assembler and is given as a word.
SAMPLES = [
    ("lui", "lui a0, 0xfffff"), ("auipc", "auipc t1, 0x12345"), ("jal", "jal ra, .+2044"),
    ("jalr", "jalr ra, -4(a5)"), ("beq", "beq a0, a1, .-4096"), ("bne", "bne t0, t6, .+8"),
    ("blt", "blt s0, s1, .+4094"), ("bge", "bge a0, zero, .-2"), ("bltu", "bltu a2, a3, .+12"),
    ("bgeu", "bgeu a4, a5, .+16"), ("lb", "lb a0, -2048(a1)"), ("lh", "lh a0, 2047(sp)"),
    ("lw", "lw s11, 0(t6)"), ("lbu", "lbu t0, 1(t1)"), ("lhu", "lhu t2, -2(t3)"), ("sb", "sb a0, -1(a1)"),
    ("sh", "sh a2, 2(a3)"), ("sw", "sw t6, -2048(sp)"), ("addi", "addi a0, a1, -1"), ("addi", "nop"),
    ("slti", "slti a0, a1, 5"), ("sltiu", "sltiu a0, a1, -1"), ("xori", "xori a0, a1, -1"),
    ("ori", "ori a0, a1, 0x7ff"), ("andi", "andi a0, a1, 0xf"), ("slli", "slli a0, a1, 31"),
    ("srli", "srli a0, a1, 1"), ("srai", "srai a0, a1, 31"), ("add", "add a0, a1, a2"), ("sub", "sub a0, a1, a2"),
    ("sll", "sll a0, a1, a2"), ("slt", "slt a0, a1, a2"), ("sltu", "sltu a0, a1, a2"), ("xor", "xor a0, a1, a2"),
    ("srl", "srl a0, a1, a2"), ("sra", "sra a0, a1, a2"), ("or", "or a0, a1, a2"), ("and", "and a0, a1, a2"),
    ("mul", "mul a0, a1, a2"), ("mulh", "mulh a0, a1, a2"), ("mulhsu", "mulhsu a0, a1, a2"),
    ("mulhu", "mulhu a0, a1, a2"), ("div", "div a0, a1, a2"), ("divu", "divu a0, a1, a2"),
    ("rem", "rem a0, a1, a2"), ("remu", "remu a0, a1, a2"), ("fence", "fence"), ("fence", "fence rw, w"),
    ("fence.i", "fence.i"), ("ecall", "ecall"), ("ebreak", "ebreak"), ("mret", "mret"),
    ("mnret", ".word 0x70200073"), ("wfi", "wfi"),
    ("csrrw", "csrrw a0, mscratch, a1"), ("csrrs", "csrr a0, mstatus"), ("csrrc", "csrc mie, t0"),
    ("csrrwi", "csrwi mscratch, 31"), ("csrrsi", "csrsi mstatus, 8"), ("csrrci", "csrrci a0, 0x7c0, 1"),
    ("lr.w", "lr.w a0, (a1)"), ("lr.w", "lr.w.aqrl a0, (a1)"), ("sc.w", "sc.w a0, a2, (a1)"),
    ("sc.w", "sc.w.rl a0, a2, (a1)"), ("amoswap.w", "amoswap.w.aq a0, a2, (a1)"),
    ("amoadd.w", "amoadd.w zero, a2, (a1)"), ("amoxor.w", "amoxor.w a0, a2, (a1)"),
    ("amoand.w", "amoand.w a0, a2, (a1)"), ("amoor.w", "amoor.w a0, a2, (a1)"),
    ("amomin.w", "amomin.w a0, a2, (a1)"), ("amomax.w", "amomax.w a0, a2, (a1)"),
    ("amominu.w", "amominu.w a0, a2, (a1)"), ("amomaxu.w", "amomaxu.w.aqrl a0, a2, (a1)"),
]


@pytest.fixture(scope="module")
def assembled():
    toolchain = pytest.importorskip("workbench.toolchain")
    from elftools.elf.elffile import ELFFile
    src = ".section .text.start, \"ax\"\n.globl _start\n_start:\n" + "".join(
        f"    .option norvc\n    {text}\n" for _, text in SAMPLES)
    with open(toolchain.build_asm(src), "rb") as f:
        data = ELFFile(f).get_section_by_name(".text").data()
    return [int.from_bytes(data[4 * i:4 * i + 4], "little") for i in range(len(SAMPLES))]


def test_every_instruction_has_a_sample():
    assert {n for n, _ in SAMPLES} == {e[0] for e in ENCODINGS}


@pytest.mark.parametrize("i", range(len(SAMPLES)), ids=[t for _, t in SAMPLES])
def test_assembled_word_decodes_to_its_own_entry(assembled, i):
    name, text = SAMPLES[i]
    assert matches(assembled[i]) == [name], f"{text}: {assembled[i]:#010x}"


@pytest.mark.parametrize("word,what", [
    (0x00000000, "all zeros"), (0xFFFFFFFF, "all ones"), (0x10200073, "sret (no S mode)"),
    (0x00200073, "uret"), (0x12000073, "sfence.vma"), (0x0205_1513, "slli with shamt bit 5 (RV64)"),
    (0x0005_B503, "ld (RV64)"), (0x0005_3023, "sd (RV64)"), (0x0000_051B, "addiw (RV64)"),
    (0x4005_1513, "slli with funct7 0100000"), (0x0000_2007, "flw (F)"),
    (0x1005_202F | (1 << 20), "lr.w with rs2 != 0"), (0x3020_0077, "opcode 0x77"), (0x0000_4067, "jalr funct3 4"),
    (0x0000_2063, "branch funct3 2"), (0x0000_3003, "load funct3 3 (ld)"), (0x0000_4073, "SYSTEM funct3 4"),
    (0x0000_0001, "compressed quadrant 1"),
])
def test_invalid_words_match_nothing(word, what):
    assert matches(word) == [], f"{what} ({word:#010x}) decodes as {matches(word)}"
