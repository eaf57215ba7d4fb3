"""The RV32IMA + Zicsr + Zifencei + Smrnmi instruction encodings the machine model decodes.

One list: name, match, mask, format. The `Op` enum and the decoder's tables are generated from it at
build time (cyext/generate.py, run by setup.py): op number = index + 1, 0 is reserved for illegal,
the name is OP_ + the upper-cased name with "." as "_". The decoder tries entries in order and takes the first whose
`word & mask == match`; a test checks that no two entries overlap, so the order never matters.
Formats say which fields an instruction has, and so which registers it reads and writes
(used by the register-fault tracking): R: rd rs1 rs2; I: rd rs1 imm; L: load (rd rs1 imm);
S: store (rs1 rs2 imm); B: branch (rs1 rs2 imm); U: rd imm; J: rd imm; SH: rd rs1 shamt;
C: CSR with rs1; CI: CSR with 5-bit immediate; A: AMO (rd rs1 rs2); LR: rd rs1; N: none.
"""

FORMATS = ("R", "I", "L", "S", "B", "U", "J", "SH", "C", "CI", "A", "LR", "N")

ENCODINGS = (
    ("lui",       0x00000037, 0x0000007F, "U"),
    ("auipc",     0x00000017, 0x0000007F, "U"),
    ("jal",       0x0000006F, 0x0000007F, "J"),
    ("jalr",      0x00000067, 0x0000707F, "I"),
    ("beq",       0x00000063, 0x0000707F, "B"),
    ("bne",       0x00001063, 0x0000707F, "B"),
    ("blt",       0x00004063, 0x0000707F, "B"),
    ("bge",       0x00005063, 0x0000707F, "B"),
    ("bltu",      0x00006063, 0x0000707F, "B"),
    ("bgeu",      0x00007063, 0x0000707F, "B"),
    ("lb",        0x00000003, 0x0000707F, "L"),
    ("lh",        0x00001003, 0x0000707F, "L"),
    ("lw",        0x00002003, 0x0000707F, "L"),
    ("lbu",       0x00004003, 0x0000707F, "L"),
    ("lhu",       0x00005003, 0x0000707F, "L"),
    ("sb",        0x00000023, 0x0000707F, "S"),
    ("sh",        0x00001023, 0x0000707F, "S"),
    ("sw",        0x00002023, 0x0000707F, "S"),
    ("addi",      0x00000013, 0x0000707F, "I"),
    ("slti",      0x00002013, 0x0000707F, "I"),
    ("sltiu",     0x00003013, 0x0000707F, "I"),
    ("xori",      0x00004013, 0x0000707F, "I"),
    ("ori",       0x00006013, 0x0000707F, "I"),
    ("andi",      0x00007013, 0x0000707F, "I"),
    ("slli",      0x00001013, 0xFE00707F, "SH"),
    ("srli",      0x00005013, 0xFE00707F, "SH"),
    ("srai",      0x40005013, 0xFE00707F, "SH"),
    ("add",       0x00000033, 0xFE00707F, "R"),
    ("sub",       0x40000033, 0xFE00707F, "R"),
    ("sll",       0x00001033, 0xFE00707F, "R"),
    ("slt",       0x00002033, 0xFE00707F, "R"),
    ("sltu",      0x00003033, 0xFE00707F, "R"),
    ("xor",       0x00004033, 0xFE00707F, "R"),
    ("srl",       0x00005033, 0xFE00707F, "R"),
    ("sra",       0x40005033, 0xFE00707F, "R"),
    ("or",        0x00006033, 0xFE00707F, "R"),
    ("and",       0x00007033, 0xFE00707F, "R"),
    ("mul",       0x02000033, 0xFE00707F, "R"),
    ("mulh",      0x02001033, 0xFE00707F, "R"),
    ("mulhsu",    0x02002033, 0xFE00707F, "R"),
    ("mulhu",     0x02003033, 0xFE00707F, "R"),
    ("div",       0x02004033, 0xFE00707F, "R"),
    ("divu",      0x02005033, 0xFE00707F, "R"),
    ("rem",       0x02006033, 0xFE00707F, "R"),
    ("remu",      0x02007033, 0xFE00707F, "R"),
    ("fence",     0x0000000F, 0x0000707F, "N"),
    ("fence.i",   0x0000100F, 0x0000707F, "N"),
    ("ecall",     0x00000073, 0xFFFFFFFF, "N"),
    ("ebreak",    0x00100073, 0xFFFFFFFF, "N"),
    ("mret",      0x30200073, 0xFFFFFFFF, "N"),
    ("mnret",     0x70200073, 0xFFFFFFFF, "N"),
    ("wfi",       0x10500073, 0xFFFFFFFF, "N"),
    ("csrrw",     0x00001073, 0x0000707F, "C"),
    ("csrrs",     0x00002073, 0x0000707F, "C"),
    ("csrrc",     0x00003073, 0x0000707F, "C"),
    ("csrrwi",    0x00005073, 0x0000707F, "CI"),
    ("csrrsi",    0x00006073, 0x0000707F, "CI"),
    ("csrrci",    0x00007073, 0x0000707F, "CI"),
    ("lr.w",      0x1000202F, 0xF9F0707F, "LR"),
    ("sc.w",      0x1800202F, 0xF800707F, "A"),
    ("amoswap.w", 0x0800202F, 0xF800707F, "A"),
    ("amoadd.w",  0x0000202F, 0xF800707F, "A"),
    ("amoxor.w",  0x2000202F, 0xF800707F, "A"),
    ("amoand.w",  0x6000202F, 0xF800707F, "A"),
    ("amoor.w",   0x4000202F, 0xF800707F, "A"),
    ("amomin.w",  0x8000202F, 0xF800707F, "A"),
    ("amomax.w",  0xA000202F, 0xF800707F, "A"),
    ("amominu.w", 0xC000202F, 0xF800707F, "A"),
    ("amomaxu.w", 0xE000202F, 0xF800707F, "A"),
)

READS_RS1 = frozenset({"R", "I", "L", "S", "B", "SH", "C", "A", "LR"})
READS_RS2 = frozenset({"R", "S", "B", "A"})
WRITES_RD = frozenset({"R", "I", "L", "U", "J", "SH", "C", "CI", "A", "LR"})

# CSR names -> numbers for the CSRs the harts implement (pmpcfg0-3 and pmpaddr0-15 added below).
CSRS = {
    "mstatus": 0x300, "misa": 0x301, "mie": 0x304, "mtvec": 0x305, "mcounteren": 0x306,
    "menvcfg": 0x30A, "mstatush": 0x310, "menvcfgh": 0x31A, "mcountinhibit": 0x320,
    "mscratch": 0x340, "mepc": 0x341, "mcause": 0x342, "mtval": 0x343, "mip": 0x344,
    "mnscratch": 0x740, "mnepc": 0x741, "mncause": 0x742, "mnstatus": 0x744,
    "mcycle": 0xB00, "minstret": 0xB02, "mcycleh": 0xB80, "minstreth": 0xB82,
    "cycle": 0xC00, "time": 0xC01, "instret": 0xC02, "cycleh": 0xC80, "timeh": 0xC81, "instreth": 0xC82,
    "mvendorid": 0xF11, "marchid": 0xF12, "mimpid": 0xF13, "mhartid": 0xF14, "mconfigptr": 0xF15,
}
CSRS.update({f"pmpcfg{i}": 0x3A0 + i for i in range(4)})
CSRS.update({f"pmpaddr{i}": 0x3B0 + i for i in range(16)})
