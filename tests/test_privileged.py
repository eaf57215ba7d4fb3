"""Privileged behaviour: traps, interrupts, PMP, CLINT, PLIC, watchdog NMI, WFI and LR/SC across harts.

Each program checks itself (CHECK macros from rv32.py) and powers off on success or fails with a code
naming the check: code = 16 * case + k, k = 1 no trap, 2 mcause, 3 mepc, 4 mtval, 5.. case-specific.
Every program runs on our machine; those whose behaviour QEMU models identically also run on QEMU
(`qemu` marker, run with `-cpu rv32,c=false` since our harts have no C extension), which checks the
expectations against an independent implementation. Machine-only: misaligned plain loads/stores (QEMU
performs them), the watchdog/NMI, the PLIC test hooks. Where QEMU 7.2 departs from the spec, the
`*_qemu_variant` programs leave out those checks and the full programs keep them for our machine:
mtval of a misaligned branch/jal target (QEMU: a stale pc), the cause of a misaligned or faulting
AMO (QEMU: a load cause), a misaligned sc.w without reservation (QEMU: fails, no trap).
Also known and avoided: QEMU makes `mret` to U illegal while no PMP entry is configured.
"""
from __future__ import annotations

import pytest

import rv32

CLINT = 0x0200_0000
MTIMECMP = CLINT + 0x4000
MTIME = CLINT + 0xBFF8
PLIC = 0x0C00_0000
WDOG = 0x0010_2000
RAM_END = 0x8400_0000          # both machines run with 64 MiB: first address past RAM

# Machine-mode trap handler: records mcause/mepc/mtval in s2/s3/s4 and returns to M mode at s5
# (or past the trapping instruction when s5 == 0). Counts traps in s7.
HANDLER = """\
.section .text
.balign 64
trap:
    csrr s2, mcause
    csrr s3, mepc
    csrr s4, mtval
    csrr s8, mstatus
    addi s7, s7, 1
    li t5, 0x1800
    csrs mstatus, t5          /* return to M mode */
    beqz s5, 1f
    csrw mepc, s5
    mret
1:  addi t5, s3, 4
    csrw mepc, t5
    mret
"""
SETUP = """\
    la t0, trap
    csrw mtvec, t0
    li s5, 0
    li s7, 0
"""
# Let U mode reach everything through the lowest-priority entry (PMP entry 15, NAPOT over all memory).
OPEN_PMP = """\
    li t0, -1
    csrw 0x3bf, t0            /* pmpaddr15 */
    li t0, 0x1f000000         /* pmpcfg3 byte 3: NAPOT | X | W | R */
    csrw 0x3a3, t0
"""


def to_user(label: str) -> str:
    """Assembly that continues at `label` in U mode."""
    return f"""\
    la t0, {label}
    csrw mepc, t0
    li t0, 0x1800
    csrc mstatus, t0
    mret
"""


class Prog:
    """Collects trap cases into one self-checking program."""

    def __init__(self):
        self.parts: list[str] = []
        self.n = 0

    def trap(self, insn: str, cause: int, mtval, *, mepc=None, setup: str = "", user: bool = False,
             after: str = "") -> None:
        """`insn` must trap with `cause`; mepc defaults to the instruction; `mtval`/`mepc` are ints or labels."""
        self.n += 1
        k = self.n
        code = 16 * k
        lab = f"fault_{k}"
        mepc = lab if mepc is None else mepc

        def check(reg, want, sub):
            if want is None:
                return ""
            if isinstance(want, str):
                return f"    la t6, {want}\n    CHECKR {reg}, t6, {code + sub}\n"
            return f"    CHECK {reg}, {want:#x}, {code + sub}\n"
        enter = to_user(lab) if user else ""
        *first, last = insn.rstrip().splitlines()
        first = "".join(line + "\n" for line in first)
        self.parts.append(f"""\
    /* case {k}: {last.strip()} -> cause {cause} */
{setup}{first}    la s5, 8f
    li s2, -1
    li s3, -1
    li s4, -1
{enter}{lab}:
{last}
    li a0, {code + 1}
    j exit_fail
8:
{check("s2", cause, 2)}{check("s3", mepc, 3)}{check("s4", mtval, 4)}{after}""")

    def add(self, text: str) -> None:
        self.parts.append(text)

    def source(self, data: str = "", pre: str = "") -> str:
        return rv32.program(SETUP + OPEN_PMP + "\n".join(self.parts), data, pre=HANDLER + pre)


ILLEGAL_CSRW_MHARTID = rv32.encode("csrrw", "x0", "mhartid", "t0")
U_CSRR_MSCRATCH = rv32.encode("csrrs", "a0", "mscratch", "x0")
BEQ_PLUS2 = rv32.encode("beq", "x0", "x0", 2)
BNE_PLUS2 = rv32.encode("bne", "x0", "x0", 2)
JAL_PLUS2 = rv32.encode("jal", "x0", 2)


def traps_program(group: str, qemu: bool = False) -> str:
    """Synchronous causes, one program per group so that one wrong cause does not hide the others.
    With qemu=True, leaves out the checks where QEMU 7.2 departs from the spec (module docstring)."""
    p = Prog()
    if group == "fetch":
        # 0: instruction address misaligned, reported on the jump/branch; rd not written
        p.trap("    li ra, 0\n    la t1, exit_pass\n    jalr ra, 2(t1)", 0, "exit_pass + 2",
               after="    CHECK ra, 0, 21\n")
        p.trap(f"    .word {BEQ_PLUS2:#x}", 0, None if qemu else "fault_2 + 2")
        p.trap(f"    .word {JAL_PLUS2:#x}", 0, None if qemu else "fault_3 + 2")
        # a not-taken branch to a misaligned target does not trap
        p.add(f"    li s5, 0\n    li s7, 0\n    .word {BNE_PLUS2:#x}\n    CHECK s7, 0, 5\n")
        # 1: instruction access fault, reported at the target
        p.trap("    li t1, 0\n    li ra, 0\n    jalr ra, 0(t1)", 1, 0, mepc=0)
        p.trap(f"    li t1, {RAM_END:#x}\n    jalr ra, 0(t1)", 1, RAM_END, mepc=RAM_END)
        p.trap(f"    li t1, {CLINT:#x}\n    jalr ra, 0(t1)", 1, CLINT, mepc=CLINT)   # devices do not execute
    elif group == "illegal":
        # 2: illegal instruction, mtval = the instruction bits
        p.trap("    .word 0xffffffff", 2, 0xFFFF_FFFF)
        p.trap(f"    li t0, 5\n    .word {ILLEGAL_CSRW_MHARTID:#x}", 2, ILLEGAL_CSRW_MHARTID)
        p.trap("    mret", 2, 0x3020_0073, user=True)
        p.trap("    wfi", 2, 0x1050_0073, user=True)
        p.trap(f"    .word {U_CSRR_MSCRATCH:#x}", 2, U_CSRR_MSCRATCH, user=True)
    elif group == "breakpoint":
        # 3: breakpoint; mtval 0 as QEMU (the spec allows 0 or the pc; DESIGN: match QEMU)
        p.trap("    ebreak", 3, 0)
    elif group == "memory":
        # 4/6: misaligned LR/SC/AMO (plain loads/stores: see misaligned_program)
        p.trap("    la t1, buf + 2\n    lr.w a0, (t1)", 4, "buf + 2")
        p.trap("    la t1, buf + 1\n    li a1, 1\n    amoadd.w a0, a1, (t1)", None if qemu else 6, "buf + 1")
        if not qemu:
            p.trap("    la t1, buf + 2\n    li a1, 1\n    sc.w a0, a1, (t1)", 6, "buf + 2")
        # 5/7: access faults on loads, stores and AMOs outside every device
        p.trap(f"    li t1, {RAM_END:#x}\n    lw a0, 0(t1)", 5, RAM_END)
        p.trap(f"    li t1, {RAM_END:#x}\n    lbu a0, 3(t1)", 5, RAM_END + 3)
        p.trap(f"    li t1, {RAM_END:#x}\n    sw a0, 8(t1)", 7, RAM_END + 8)
        p.trap(f"    li t1, {RAM_END:#x}\n    amoswap.w a0, a0, (t1)", None if qemu else 7, RAM_END)
        p.trap(f"    li t1, {WDOG + 0x100:#x}\n    lw a0, 0(t1)", 5, WDOG + 0x100)
    elif group == "ecall":
        # 8 / 11: environment calls; mstatus.MPP (seen in the handler) records the trapped privilege
        mpp = "    li t1, 0x1800\n    and t0, s8, t1\n    CHECK t0, {}, {}\n"
        p.trap("    ecall", 8, 0, user=True, after=mpp.format(0, 16 * (p.n + 1) + 6))
        p.trap("    ecall", 11, 0, after=mpp.format(0x1800, 16 * (p.n + 1) + 6))
    else:
        raise ValueError(group)
    return p.source(".balign 4\nbuf: .word 0x11223344, 0x55667788")


def misaligned_program() -> str:
    """Plain misaligned loads/stores trap on our machine (QEMU emulates them instead)."""
    p = Prog()
    for op, off in [("lh", 1), ("lhu", 3), ("lw", 1), ("lw", 2), ("lw", 3)]:
        p.trap(f"    la t1, buf\n    li a0, 0x77\n    {op} a0, {off}(t1)", 4, f"buf + {off}",
               after=f"    CHECK a0, 0x77, {16 * (p.n + 1) + 5}\n")
    for op, off in [("sh", 1), ("sw", 2), ("sw", 3)]:
        p.trap(f"    la t1, buf\n    li a0, -1\n    {op} a0, {off}(t1)", 6, f"buf + {off}",
               after=f"""\
    la t1, buf
    lw t0, 0(t1)
    CHECK t0, 0x11223344, {16 * (p.n + 1) + 5}
    lw t0, 4(t1)
    CHECK t0, 0x55667788, {16 * (p.n + 1) + 6}
""")
    return p.source(".balign 4\nbuf: .word 0x11223344, 0x55667788")


def vectored_program() -> str:
    """mtvec mode 1: interrupts go to base + 4*cause, exceptions to base."""
    return rv32.program(f"""\
    la t0, vtable
    ori t0, t0, 1
    csrw mtvec, t0
    csrr t1, mtvec
    CHECKR t0, t1, 1
    li s6, -1
    ecall
    CHECK s6, 0, 2
    CHECK s2, 11, 3
    /* machine software interrupt through the CLINT */
    li s6, -1
    li t0, 8
    csrs mie, t0
    csrs mstatus, t0
    li t1, {CLINT:#x}
    li t2, 1
    sw t2, 0(t1)
    li t3, 1000
1:  addi t3, t3, -1
    bgez s6, 2f
    bnez t3, 1b
2:  CHECK s6, 3, 4
    CHECK s2, 0x80000003, 5
    csrw mie, x0
    /* machine timer interrupt through entry 7 */
    li s6, -1
    li t0, {MTIMECMP:#x}
    li t1, -1
    sw t1, 4(t0)
    li t1, {MTIME:#x}
    lw t2, 0(t1)
    addi t2, t2, 30
    sw t2, 0(t0)
    sw x0, 4(t0)
    li t0, 0x80
    csrs mie, t0
    li t3, 10000000           /* give up 1 s (10^7 ticks) after the deadline (QEMU runs in real time) */
    add t3, t3, t2
3:  bgez s6, 4f
    lw t4, 0(t1)
    bltu t4, t3, 3b
4:  CHECK s6, 7, 6
    CHECK s2, 0x80000007, 7
    csrw mie, x0
""", pre="""\
.section .text
.balign 256
vtable:
    j vexc
    .word 0, 0
    j vmsi
    .word 0, 0, 0
    j vmti
    .word 0, 0, 0
    j vmei
vexc:
    li s6, 0
    csrr s2, mcause
    csrr t5, mepc
    addi t5, t5, 4
    csrw mepc, t5
    mret
vmsi:
    li s6, 3
    csrr s2, mcause
    li t5, 0x2000000
    sw x0, 0(t5)
    mret
vmti:
    li s6, 7
    csrr s2, mcause
    li t5, 0x2004004
    li t4, -1
    sw t4, 0(t5)              /* mtimecmp high = -1: no more timer interrupts */
    mret
vmei:
    li s6, 11
    mret
""")


# ----------------------------------------------------------------------------------------------
# PMP

R, W, X = 1, 2, 4
TOR, NA4, NAPOT, LOCK = 0x08, 0x10, 0x18, 0x80
PERMS = {"none": 0, "R": R, "RW": R | W, "X": X, "RWX": R | W | X}


def pmp_program() -> str:
    """U-mode loads, stores and fetches against NAPOT (entry 0), NA4 (entry 1) and TOR (entries 2-3)."""
    p = Prog()
    regions = {"NAPOT": "pmp_napot + 256", "NA4": "pmp_na4", "TOR": "pmp_tor + 64"}
    for pname, perm in PERMS.items():
        cfg = (NAPOT | perm) | (NA4 | perm) << 8 | (TOR | perm) << 24   # entry 2 stays OFF (TOR base)
        p.add(f"""\
    /* permissions {pname} */
    la t0, pmp_napot
    srli t0, t0, 2
    ori t0, t0, (4096 / 8) - 1
    csrw pmpaddr0, t0
    la t0, pmp_na4
    srli t0, t0, 2
    csrw 0x3b1, t0
    la t0, pmp_tor
    srli t0, t0, 2
    csrw 0x3b2, t0
    la t0, pmp_tor_end
    srli t0, t0, 2
    csrw 0x3b3, t0
    li t0, {cfg:#x}
    csrw pmpcfg0, t0
    csrr t1, pmpcfg0
    CHECKR t0, t1, {16 * (p.n + 1) + 9}
""")
        for region, addr in regions.items():
            for access, (routine, cause) in {"R": ("u_load", 5), "W": ("u_store", 7), "X": ("u_exec", 1)}.items():
                allowed = bool(perm & {"R": R, "W": W, "X": X}[access])
                setup = f"    la a1, {addr}\n"
                if allowed:   # the U routine ends with ecall from U
                    p.trap(f"    j {routine}", 8, 0, mepc=f"{routine}_ecall", setup=setup, user=True)
                else:
                    mepc = addr if access == "X" else f"{routine}_access"
                    p.trap(f"    j {routine}", cause, addr, mepc=mepc, setup=setup, user=True)
    # TOR in entry 0 has base 0: [0, tor0_lim) read-only for U; tor0_lim itself falls to entry 15
    p.add(f"""\
    la t0, tor0_lim
    srli t0, t0, 2
    csrw pmpaddr0, t0
    li t0, {TOR | R | X:#x}
    csrw pmpcfg0, t0
""")
    p.trap("    la a1, tor0_lim\n    j u_store", 8, 0, mepc="u_store_ecall", user=True)
    p.trap("    la a1, tor0_lim - 4\n    j u_load", 8, 0, mepc="u_load_ecall", user=True)
    p.trap("    la a1, tor0_lim - 4\n    j u_store", 7, "tor0_lim - 4", mepc="u_store_access", user=True)
    # NA4 and TOR cover exactly their words: the neighbours fall through to entry 15 (RWX)
    p.add(f"""\
    la t0, pmp_na4
    srli t0, t0, 2
    csrw 0x3b1, t0
    la t0, pmp_tor
    srli t0, t0, 2
    csrw 0x3b2, t0
    la t0, pmp_tor_end
    srli t0, t0, 2
    csrw 0x3b3, t0
    li t0, {(NA4 << 8) | (TOR << 24):#x}
    csrw pmpcfg0, t0
""")
    for addr in ("pmp_na4 - 4", "pmp_na4 + 4", "pmp_tor - 4", "pmp_tor_end"):
        p.trap(f"    la a1, {addr}\n    j u_store", 8, 0, mepc="u_store_ecall", user=True)
    for addr in ("pmp_na4", "pmp_tor", "pmp_tor_end - 4"):
        p.trap(f"    la a1, {addr}\n    j u_store", 7, addr, mepc="u_store_access", user=True)
    p.add("    li t0, 0\n    csrw pmpcfg0, t0\n")
    return p.source(data="", pre="""\
.section .text
.balign 4
u_load:
u_load_access:
    lw t0, 0(a1)
u_load_ecall:
    ecall
u_store:
    li t0, 0x00008067         /* store a `ret`, so that exec tests still find one */
u_store_access:
    sw t0, 0(a1)
u_store_ecall:
    ecall
u_exec:
    jalr ra, 0(a1)
u_exec_ecall:
    ecall
.section .data
.balign 4096
    .word 0
tor0_lim:
    .word 0
.balign 4096
pmp_napot:
    .fill 256, 4, 0x00008067
.balign 16
pmp_tor:
    .fill 32, 4, 0x00008067
pmp_tor_end:
.balign 16
    .word 0x00008067
pmp_na4:
    .word 0x00008067
    .word 0x00008067
""")


def pmp_lock_program() -> str:
    """Unlocked entries do not restrict M mode; a locked one does, and its cfg/addr stop changing."""
    p = Prog()
    p.add(f"""\
    /* unlocked read-only NA4 entry: M-mode store still succeeds */
    la t0, lk_word
    srli t0, t0, 2
    csrw pmpaddr0, t0
    li t0, {NA4 | R:#x}
    csrw pmpcfg0, t0
    la t1, lk_word
    li t2, 0x1234
    sw t2, 0(t1)
    lw t3, 0(t1)
    CHECK t3, 0x1234, 1
    CHECK s7, 0, 2
""")
    p.add(f"""\
    /* lock entry 1 as NA4 read-only over lk_word2 (entry 0 off) */
    li t0, 0
    csrw pmpcfg0, t0
    la t0, lk_word2
    srli t0, t0, 2
    csrw 0x3b1, t0
    li t0, {(LOCK | NA4 | R) << 8:#x}
    csrw pmpcfg0, t0
    /* locked: writes to its cfg and address are ignored */
    li t0, {(NA4 | R | W | X) << 8:#x}
    csrw pmpcfg0, t0
    csrr t1, pmpcfg0
    srli t1, t1, 8
    andi t1, t1, 0xff
    CHECK t1, {LOCK | NA4 | R:#x}, 3
    csrr t2, 0x3b1
    li t0, 0
    csrw 0x3b1, t0
    csrr t3, 0x3b1
    CHECKR t2, t3, 4
    la t1, lk_word2
    lw t3, 0(t1)
    CHECK t3, 0x5678, 5
""")
    p.trap("    la t1, lk_word2\n    sw t1, 0(t1)", 7, "lk_word2")
    p.trap("    la t1, lk_word2\n    jalr ra, 0(t1)", 1, "lk_word2", mepc="lk_word2")
    p.add(f"""\
    /* a locked TOR entry also freezes the address register below it */
    la t0, lk_tor
    srli t0, t0, 2
    csrw 0x3b2, t0
    la t0, lk_tor_end
    srli t0, t0, 2
    csrw 0x3b3, t0
    li t0, {((LOCK | NA4 | R) << 8) | ((LOCK | TOR | R) << 24):#x}
    csrw pmpcfg0, t0
    csrr t2, 0x3b2
    li t0, 0
    csrw 0x3b2, t0
    csrr t3, 0x3b2
    CHECKR t2, t3, 6
""")
    p.trap("    la t1, lk_tor\n    sw t1, 4(t1)", 7, "lk_tor + 4")
    p.add("    la t1, lk_tor\n    lw t2, 4(t1)\n    CHECK t2, 0, 7\n")
    return p.source(".balign 16\nlk_word: .word 0\nlk_word2: .word 0x5678\n.balign 16\nlk_tor: .fill 8, 4, 0\n"
                    "lk_tor_end:\n")


# ----------------------------------------------------------------------------------------------
# Timer, WFI, inter-hart interrupts, LR/SC across harts

TIMER_HANDLER = f"""\
.section .text
.balign 4
timer_trap:
    csrr s2, mcause
    csrr s3, mepc
    li t5, {MTIME:#x}
    lw s4, 0(t5)              /* mtime (low) when taken */
    li t5, {MTIMECMP:#x}
    li t4, -1
    sw t4, 4(t5)              /* push mtimecmp far away: high word first */
    sw t4, 0(t5)
    addi s7, s7, 1
    mret
"""
ARM_TIMER = f"""\
    la t0, timer_trap
    csrw mtvec, t0
    li s7, 0
    li t0, {MTIMECMP:#x}
    li t1, -1
    sw t1, 4(t0)
    li t1, {MTIME:#x}
    lw t2, 0(t1)
    li t3, {{ticks}}
    add s8, t2, t3            /* s8 = deadline (ignores low-word wrap: mtime starts near 0) */
    sw s8, 0(t0)
    sw x0, 4(t0)
    li t0, 0x80
    csrs mie, t0
"""


def timer_program() -> str:
    return rv32.program(ARM_TIMER.format(ticks=200) + """\
    li t0, 8
    csrs mstatus, t0
    li t3, 0
1:  addi t3, t3, 1
    beqz s7, 1b
    CHECK s7, 1, 1
    CHECK s2, 0x80000007, 2
    bltu s4, s8, 3f
    j 4f
3:  li a0, 3
    j exit_fail
4:  csrr t0, mip
    andi t0, t0, 0x80
    CHECK t0, 0, 4
    csrw mie, x0
""", pre=TIMER_HANDLER)


def wfi_timer_program() -> str:
    """WFI sleeps until the timer fires; the interrupt is taken with mepc after the WFI."""
    return rv32.program(ARM_TIMER.format(ticks=5000) + """\
    li t0, 8
    csrs mstatus, t0
    li s2, 0
wfi_at:
    wfi
wfi_next:
    CHECK s7, 1, 1
    CHECK s2, 0x80000007, 2
    la t0, wfi_next
    CHECKR s3, t0, 3
    bltu s4, s8, 3f
    j 4f
3:  li a0, 4
    j exit_fail
4:  csrw mie, x0
""", pre=TIMER_HANDLER)


def interrupt_priority_program() -> str:
    """MSI and MTI pending together: nothing until mstatus.MIE, then MSI before MTI (spec order
    MEI > MSI > MTI); in the handler MIE = 0, MPIE = 1, MPP = M; mip shows both pending bits."""
    return rv32.program(f"""\
    la t0, prio_trap
    csrw mtvec, t0
    csrw mie, x0
    la s0, prio_log
    li s7, 0
    li t0, {CLINT:#x}
    li t1, 1
    sw t1, 0(t0)              /* msip[0] = 1 */
    li t0, {MTIMECMP:#x}
    sw x0, 4(t0)
    sw x0, 0(t0)              /* mtimecmp = 0 <= mtime */
    nop
    csrr t1, mip
    andi t1, t1, 0x88
    CHECK t1, 0x88, 1
    li t0, 0x88
    csrs mie, t0
    nop
    nop
    CHECK s7, 0, 2            /* mstatus.MIE = 0: not taken */
    li t0, 8
    csrs mstatus, t0
    li t3, 1000
1:  addi t3, t3, -1
    li t4, 2
    beq s7, t4, 2f
    bnez t3, 1b
2:  CHECK s7, 2, 3
    lw t1, 0(s0)
    CHECK t1, 0x80000003, 4
    lw t1, 4(s0)
    CHECK t1, 0x80000007, 5
    lw t1, 8(s0)
    CHECK t1, 0x1880, 6
    csrr t1, mstatus
    andi t1, t1, 8
    CHECK t1, 8, 7            /* mret restored MIE */
    csrw mie, x0
""", ".balign 4\nprio_log: .word 0, 0, 0, 0", pre=f"""\
.section .text
.balign 4
prio_trap:
    csrr t5, mcause
    slli t4, s7, 2
    add t4, t4, s0
    sw t5, 0(t4)
    addi s7, s7, 1
    csrr t4, mstatus
    li t6, 0x1888
    and t4, t4, t6
    sw t4, 8(s0)
    li t4, 0x80000003
    bne t5, t4, 1f
    li t4, {CLINT:#x}
    sw x0, 0(t4)              /* clear msip */
    mret
1:  li t4, {MTIMECMP:#x}
    li t6, -1
    sw t6, 4(t4)
    mret
""")


def user_interrupt_program() -> str:
    """In U mode machine interrupts are taken even with mstatus.MIE = 0; the trap records MPP = U."""
    return rv32.program(OPEN_PMP + f"""\
    la t0, u_itrap
    csrw mtvec, t0
    li t0, 8
    csrc mstatus, t0          /* MIE = 0 */
    csrs mie, t0              /* MSIE = 1 */
    li s7, 0
    li t0, {CLINT:#x}
    li t1, 1
    sw t1, 0(t0)              /* msip[0] = 1: pending, not taken in M with MIE = 0 */
    nop
    CHECK s7, 0, 5
""" + to_user("u_spin") + """\
u_spin:
    li t3, 1000
1:  addi t3, t3, -1
    bnez s7, 2f
    bnez t3, 1b
2:  ecall                     /* back to M through u_itrap */
u_back:
    CHECK s7, 1, 1
    CHECK s2, 0x80000003, 2
    li t0, 0x1800
    and t1, s8, t0
    CHECK t1, 0, 3            /* MPP = U */
    la t1, u_spin
    bltu s3, t1, 3f
    la t1, u_back
    bgeu s3, t1, 3f
    csrw mie, x0
    j exit_pass
3:  li a0, 4
    j exit_fail
""" + f"""\
.section .text
.balign 4
u_itrap:
    csrr t5, mcause
    li t4, 8
    beq t5, t4, 1f
    mv s2, t5
    csrr s3, mepc
    csrr s8, mstatus
    addi s7, s7, 1
    li t4, {CLINT:#x}
    sw x0, 0(t4)
    mret
1:  la t5, u_back             /* ecall from U: continue in M */
    csrw mepc, t5
    li t5, 0x1800
    csrs mstatus, t5
    mret
""")


def timers_2harts_program(wfi: bool = True) -> str:
    """Each hart has its own mtimecmp: hart h sleeps in WFI (or spins) until mtime reaches its own
    deadline."""
    src = f"""\
    la t0, th_trap
    csrw mtvec, t0
    csrr s1, mhartid
    la s0, th_log
    slli t0, s1, 3
    li t1, {MTIMECMP:#x}
    add s10, t0, t1           /* &mtimecmp[hart] */
    li t1, -1
    sw t1, 4(s10)
    li t1, {MTIME:#x}
    lw t2, 0(t1)
    addi t3, s1, 1
    li t4, 3000
    mul t3, t3, t4
    add s8, t2, t3            /* deadline = now + 3000 * (hart + 1) ticks */
    sw s8, 0(s10)
    sw x0, 4(s10)
    li t0, 0x80
    csrs mie, t0
    li t0, 8
    csrs mstatus, t0
    li s7, 0
1:  wfi
    beqz s7, 1b
    slli t0, s1, 3
    add t0, t0, s0
    sw s8, 0(t0)              /* log[hart] = (deadline, mtime at the interrupt) */
    sw s4, 4(t0)
    bnez s1, 3f
2:  lw t1, 12(s0)             /* hart 0 waits for hart 1's entry */
    beqz t1, 2b
    lw t1, 0(s0)
    lw t2, 4(s0)
    bltu t2, t1, 9f
    lw t1, 8(s0)
    lw t2, 12(s0)
    bltu t2, t1, 9f
    j exit_pass
3:  wfi
    j 3b
9:  li a0, 1
    j exit_fail
"""
    if not wfi:
        src = src.replace("1:  wfi\n    beqz s7, 1b", "1:  beqz s7, 1b")
    return rv32.program(src, ".balign 8\nth_log: .word 0, 0, 0, 0", pre=f"""\
.section .text
.balign 4
th_trap:
    li t5, {MTIME:#x}
    lw s4, 0(t5)
    li t5, -1
    sw t5, 4(s10)
    addi s7, s7, 1
    mret
""")


def msip_program() -> str:
    """Hart 0 raises a software interrupt on hart 1 through msip[1]; hart 1 reports its mcause."""
    return rv32.program(f"""\
    csrr t0, mhartid
    bnez t0, hart1
    /* hart 0: wait for hart 1 to be ready, poke it, wait for the report */
    la s0, shared
1:  lw t1, 0(s0)
    beqz t1, 1b
    li t1, {CLINT + 4:#x}
    li t2, 1
    sw t2, 0(t1)
2:  lw t1, 4(s0)
    beqz t1, 2b
    CHECK t1, 0x80000003, 1
    lw t1, 8(s0)
    CHECK t1, 1, 2
    lw t1, 12(s0)
    CHECK t1, 0, 3
    j exit_pass
hart1:
    la t0, h1_trap
    csrw mtvec, t0
    li t0, 8
    csrs mie, t0
    csrs mstatus, t0
    la s0, shared
    li t1, 1
    sw t1, 0(s0)
3:  wfi
    j 3b
""", ".balign 4\nshared: .word 0, 0, 0, 0", pre=f"""\
.section .text
.balign 4
h1_trap:
    csrr t1, mcause
    csrr t2, mhartid
    li t3, {CLINT + 4:#x}
    sw x0, 0(t3)
    csrr t4, mip
    andi t4, t4, 8           /* MSIP clears with msip[1] */
    sw t2, 8(s0)
    sw t4, 12(s0)
    fence
    sw t1, 4(s0)
    mret
""")


LRSC_N = 2000


def lrsc_counter_program() -> str:
    """Two harts each add 1 to a shared counter N times with an LR/SC loop: it ends at 2N."""
    return rv32.program(f"""\
    la s0, counter
    li s1, {LRSC_N}
1:  lr.w t0, (s0)
    addi t0, t0, 1
    sc.w t1, t0, (s0)
    bnez t1, 1b
    addi s1, s1, -1
    bnez s1, 1b
    la t2, done
    li t3, 1
    amoadd.w x0, t3, (t2)
    csrr t0, mhartid
    bnez t0, 3f
2:  lw t3, 0(t2)
    li t4, 2
    bne t3, t4, 2b
    lw t0, 0(s0)
    CHECK t0, {2 * LRSC_N}, 1
    j exit_pass
3:  wfi
    j 3b
""", ".balign 64\ncounter: .word 0\n.balign 64\ndone: .word 0")


def atomics_program(harts: int = 4, n: int = 1500) -> str:
    """Every hart adds 1 to three shared counters n times: with amoadd.w, with an LR/SC loop, and
    with a plain load/add/store inside an amoswap.w spinlock. All three end at harts * n."""
    return rv32.program(f"""\
    la s0, at_vars
    li s1, {n}
1:  li t1, 1
    amoadd.w x0, t1, 0(s0)            /* counter 0: AMO */
    addi t2, s0, 64                   /* counter 1, in its own 64-byte block: LR/SC loop */
2:  lr.w t0, (t2)
    addi t0, t0, 1
    sc.w t3, t0, (t2)
    bnez t3, 2b
3:  addi t2, s0, 128                  /* spinlock word */
    amoswap.w.aq t0, t1, (t2)
    bnez t0, 3b
    lw t4, 192(s0)                    /* counter 2: plain increment under the lock */
    addi t4, t4, 1
    sw t4, 192(s0)
    amoswap.w.rl x0, x0, (t2)
    addi s1, s1, -1
    bnez s1, 1b
    addi t2, s0, 256
    amoadd.w x0, t1, (t2)             /* done count */
    csrr t0, mhartid
    bnez t0, 5f
4:  lw t3, 256(s0)
    li t4, {harts}
    bne t3, t4, 4b
    lw t3, 0(s0)
    CHECK t3, {harts * n}, 1
    lw t3, 64(s0)
    CHECK t3, {harts * n}, 2
    lw t3, 192(s0)
    CHECK t3, {harts * n}, 3
    j exit_pass
5:  wfi
    j 5b
""", ".balign 64\nat_vars: .fill 80, 4, 0")


def sc_after_store_program() -> str:
    """Hart 0's reservation is broken by hart 1's store to the address: SC fails. Storing elsewhere
    leaves it: SC succeeds (as on QEMU; the spec allows but does not require this)."""
    return rv32.program("""\
    csrr t0, mhartid
    bnez t0, hart1
    la s0, resv
    la s1, flags
    /* round 1: hart 1 stores to the reserved word */
    lr.w t0, (s0)
    li t1, 1
    sw t1, 0(s1)
1:  lw t1, 4(s1)
    beqz t1, 1b
    li t2, 99
    sc.w t3, t2, (s0)
    snez t3, t3
    CHECK t3, 1, 1
    lw t4, 0(s0)
    CHECK t4, 7, 2
    /* round 2: hart 1 stores next to it (a different word) */
    lr.w t0, (s0)
    li t1, 2
    sw t1, 0(s1)
2:  lw t1, 4(s1)
    li t2, 2
    bne t1, t2, 2b
    li t2, 55
    sc.w t3, t2, (s0)
    CHECK t3, 0, 3
    lw t4, 0(s0)
    CHECK t4, 55, 4
    j exit_pass
hart1:
    la s0, resv
    la s1, flags
3:  lw t1, 0(s1)
    li t2, 1
    bne t1, t2, 3b
    li t2, 7
    sw t2, 0(s0)
    li t2, 1
    sw t2, 4(s1)
4:  lw t1, 0(s1)
    li t2, 2
    bne t1, t2, 4b
    li t2, 8
    sw t2, 64(s0)
    li t2, 2
    sw t2, 4(s1)
5:  wfi
    j 5b
""", ".balign 64\nresv: .word 0\n.balign 64\nflags: .word 0, 0\n.balign 64\nother: .word 0")


# ----------------------------------------------------------------------------------------------
# Watchdog NMI (our machine only; nmi_vector defaults to RAM_BASE + 4)

NMI_HEAD = """\
    j nmi_main
nmi_entry:                    /* RAM_BASE + 4 */
    csrr s2, 0x742            /* mncause */
    csrr s3, 0x741            /* mnepc */
    csrr s4, 0x744            /* mnstatus */
    addi s9, s9, 1
    li t5, 0x102000
    lw s10, 4(t5)             /* CTRL after expiry */
    MNRET
nmi_main:
"""


def watchdog_program(user: bool = False) -> str:
    body = NMI_HEAD + f"""\
    li s9, 0
    li t0, {WDOG:#x}
    lw t1, 0(t0)
    CHECK t1, 0x57444F47, 1
    /* kept alive by reloads: no NMI over 3 timeouts */
    li t1, 20
    sw t1, 8(t0)
    li t1, 1
    sw t1, 4(t0)
    li t3, 150
1:  sw x0, 12(t0)
    li t4, 40
2:  addi t4, t4, -1
    bnez t4, 2b
    addi t3, t3, -1
    bnez t3, 1b
    /* a last reload, then stop reloading */
    sw x0, 12(t0)
    csrr s6, mcycle
    CHECK s9, 0, 2
    lw t1, 12(t0)
    beqz t1, 9f
""" + (OPEN_PMP + to_user("spin") if user else "") + """\
spin:
    addi t3, t3, 1
    beqz s9, spin
spin_end:
""" + (("    ecall\n" if user else "") + f"""\
back_in_m:
    CHECK s9, 1, 3
    CHECK s2, 0x80000000, 4
    la t1, spin
    bltu s3, t1, 9f
    la t1, spin_end
    bgeu s3, t1, 9f
    srli t1, s4, 11
    andi t1, t1, 3
    CHECK t1, {0 if user else 3}, 5
    andi t1, s4, 8
    CHECK t1, 0, 6            /* NMIE = 0 in the handler */
    csrr t1, 0x744
    andi t1, t1, 8
    CHECK t1, 8, 7            /* NMIE = 1 again after mnret */
    CHECK s10, 0, 8           /* the watchdog disabled itself */
    li t0, {WDOG:#x}
    lw t1, 4(t0)
    CHECK t1, 0, 10
    j exit_pass
9:  li a0, 9
    j exit_fail
""")
    pre = ""
    if user:
        pre = """\
.section .text
.balign 4
ecall_back:                   /* the U-mode ecall after the NMI returns to M at back_in_m */
    la t5, back_in_m
    csrw mepc, t5
    li t5, 0x1800
    csrs mstatus, t5
    mret
"""
        body = body.replace("    li s9, 0\n", "    li s9, 0\n    la t0, ecall_back\n    csrw mtvec, t0\n", 1)
    return rv32.program(body, pre=pre)


def watchdog_registers_program() -> str:
    """ID is read-only; RELOAD reads the ticks left, counting down at mtime's rate; a disabled
    watchdog neither counts nor fires; TIMEOUT reads back."""
    return rv32.program(NMI_HEAD + f"""\
    li s9, 0
    li t0, {WDOG:#x}
    li t1, 0x1234
    sw t1, 0(t0)
    lw t1, 0(t0)
    CHECK t1, 0x57444F47, 1
    li t1, 1000
    sw t1, 8(t0)
    lw t1, 8(t0)
    CHECK t1, 1000, 2
    li t1, 1
    sw t1, 4(t0)
    sw x0, 12(t0)             /* reload: 1000 ticks left */
    lw s1, 12(t0)
    li t3, 500                /* 500 iterations x 2 instructions = 1000 cycles = 100 ticks */
1:  addi t3, t3, -1
    bnez t3, 1b
    lw s2, 12(t0)
    sub t1, s1, s2
    addi t1, t1, -99          /* 100 ticks +- 1 */
    li t2, 3
    bgeu t1, t2, 8f
    /* disable: the count freezes and no NMI comes, even far past the timeout */
    sw x0, 4(t0)
    li t3, 10000
2:  addi t3, t3, -1
    bnez t3, 2b
    CHECK s9, 0, 4
    lw t1, 4(t0)
    CHECK t1, 0, 5
    j exit_pass
8:  li a0, 3
    j exit_fail
""")


def watchdog_nested_exception_program() -> str:
    """An exception inside the NMI handler (NMIE = 0) traps through mtvec as usual (README contract)."""
    head = NMI_HEAD.replace("    addi s9, s9, 1\n", "    addi s9, s9, 1\nnmi_ecall:\n    ecall\n")
    return rv32.program(head + f"""\
    la t0, nested_trap
    csrw mtvec, t0
    li s9, 0
    li s8, 0
    li t0, {WDOG:#x}
    li t1, 5
    sw t1, 8(t0)
    li t1, 1
    sw t1, 4(t0)
1:  beqz s9, 1b
    CHECK s8, 11, 1           /* mcause of the nested ecall */
    la t1, nmi_ecall
    CHECKR s6, t1, 2          /* its mepc */
    CHECK s2, 0x80000000, 3   /* mncause read before the ecall */
""", pre="""\
.section .text
.balign 4
nested_trap:
    csrr s8, mcause
    csrr s6, mepc
    addi t5, s6, 4
    csrw mepc, t5
    mret
""")


def watchdog_per_hart_program() -> str:
    """Hart 1's watchdog interrupts hart 1 only; hart 0 keeps running undisturbed."""
    return rv32.program(NMI_HEAD + f"""\
    li s9, 0
    csrr t0, mhartid
    bnez t0, 2f
    la s0, report
1:  lw t1, 0(s0)
    beqz t1, 1b
    CHECK s9, 0, 1            /* no NMI on hart 0 */
    CHECK t1, 1, 2            /* hart 1 took exactly one */
    li t0, {WDOG:#x}
    lw t1, 4(t0)
    CHECK t1, 0, 3            /* hart 0's watchdog was never enabled */
    j exit_pass
2:  li t0, {WDOG + 0x10:#x}
    lw t1, 0(t0)
    CHECK t1, 0x57444F47, 4
    li t1, 10
    sw t1, 8(t0)
    li t1, 1
    sw t1, 4(t0)
3:  beqz s9, 3b
    la s0, report
    sw s9, 0(s0)
4:  wfi
    j 4b
""", ".balign 4\nreport: .word 0")


PROGRAMS = {
    # name: (source builder, harts, runs on QEMU too)
    "traps_fetch": (lambda: traps_program("fetch"), 1, False),
    "traps_fetch_qemu_variant": (lambda: traps_program("fetch", qemu=True), 1, True),
    "traps_illegal": (lambda: traps_program("illegal"), 1, True),
    "traps_breakpoint": (lambda: traps_program("breakpoint"), 1, True),
    "traps_memory": (lambda: traps_program("memory"), 1, False),
    "traps_memory_qemu_variant": (lambda: traps_program("memory", qemu=True), 1, True),
    "traps_ecall": (lambda: traps_program("ecall"), 1, True),
    "misaligned": (misaligned_program, 1, False),
    "vectored": (vectored_program, 1, True),
    "pmp": (pmp_program, 1, True),
    "pmp_lock": (pmp_lock_program, 1, True),
    "timer": (timer_program, 1, True),
    "wfi_timer": (wfi_timer_program, 1, True),
    "interrupt_priority": (interrupt_priority_program, 1, True),
    "msip_2harts": (msip_program, 2, True),
    "interrupt_in_user_mode": (user_interrupt_program, 1, True),
    "timers_2harts": (timers_2harts_program, 2, True),
    "timers_2harts_spinning": (lambda: timers_2harts_program(wfi=False), 2, True),
    "lrsc_counter_2harts": (lrsc_counter_program, 2, True),
    "sc_after_store_2harts": (sc_after_store_program, 2, True),
    "atomics_4harts": (atomics_program, 4, True),
    "watchdog_nmi": (watchdog_program, 1, False),
    "watchdog_nmi_user": (lambda: watchdog_program(user=True), 1, False),
    "watchdog_nmi_nested_exception": (watchdog_nested_exception_program, 1, False),
    "watchdog_registers": (watchdog_registers_program, 1, False),
    "watchdog_per_hart_2harts": (watchdog_per_hart_program, 2, False),
}

_elfs = {}


def elf_of(name):
    if name not in _elfs:
        _elfs[name] = rv32.toolchain_build(PROGRAMS[name][0]())
    return _elfs[name]


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_machine(name, machine_run):
    _, harts, _ = PROGRAMS[name]
    m, info = machine_run(elf_of(name), harts=harts, ram_size=64 << 20, max_instructions=20_000_000)
    assert info.reason == "poweroff", (
        f"{name}: stopped with {info.reason} code {info.code} (see the CHECK codes in the program); "
        f"console {m.console!r}; pc {[hex(h.pc) for h in m.harts]}")


@pytest.mark.parametrize("quantum", [1, 7, 333])
@pytest.mark.parametrize("name", sorted(n for n, v in PROGRAMS.items() if v[1] > 1))
def test_machine_multi_hart_quanta(name, quantum, machine_run):
    """Multi-hart programs hold for fine and odd interleavings too (reservations across switches)."""
    _, harts, _ = PROGRAMS[name]
    m, info = machine_run(elf_of(name), harts=harts, ram_size=64 << 20, max_instructions=50_000_000,
                          quantum=quantum)
    assert info.reason == "poweroff", (info.reason, info.code, m.console)


@pytest.mark.qemu
@pytest.mark.parametrize("name", sorted(n for n, v in PROGRAMS.items() if v[2]))
def test_qemu_agrees(name, qemu):
    _, harts, _ = PROGRAMS[name]
    status, out = qemu(elf_of(name), harts=harts)
    assert status == 0, f"{name} on QEMU: exit {status}, console {out.strip()!r}"


def test_timer_fires_at_its_cycle(machine_run):
    """mtime runs at cycle/10: the interrupt is taken within a quantum-free bound after the deadline."""
    m, info = machine_run(elf_of("timer"), ram_size=64 << 20)
    assert info.reason == "poweroff"
    h = m.harts[0]
    deadline, taken = h.x[24], h.x[20]       # s8 = deadline, s4 = mtime seen by the handler
    assert deadline <= taken <= deadline + 1


def test_wfi_skips_idle_time(machine_run):
    """With the only hart in WFI the machine jumps to the timer event instead of stepping through it."""
    m, info = machine_run(elf_of("wfi_timer"), ram_size=64 << 20)
    assert info.reason == "poweroff"
    assert m.cycle >= 5000 * 10
    assert m.harts[0].instret < 1000


def test_watchdog_nmi_timing(machine_run):
    """The NMI arrives TIMEOUT ticks (x10 cycles) after the last reload, at the first spin instruction
    executed at or after that cycle."""
    from workbench.hw import Machine
    img = rv32.read_elf(elf_of("watchdog_nmi"))
    m = Machine(harts=1, ram_size=64 << 20)
    m.load_elf(elf_of("watchdog_nmi"))
    m.add_probe(img.symbols["nmi_entry"])
    info = m.run(max_instructions=10_000_000)
    assert info.reason == "poweroff", (info.reason, info.code, m.console)
    assert len(m.probe_hits) == 1
    cycle, hart, pc = m.probe_hits[0]
    assert (hart, pc) == (0, img.symbols["nmi_entry"])
    start = m.harts[0].x[22]                 # s6 = mcycle when reloads stopped
    assert start + 20 * 10 - 20 <= cycle <= start + 20 * 10 + 30, (start, cycle)


def plic_program() -> str:
    return rv32.program(f"""\
    la s0, plic_log
    la t0, plic_trap
    csrw mtvec, t0
    li t0, {PLIC + 4 * 5:#x}
    li t1, 1
    sw t1, 0(t0)              /* priority[5] = 1 */
    li t0, {PLIC + 0x2000:#x}
    li t1, 1 << 5
    sw t1, 0(t0)              /* enable source 5 for context 0 (hart 0 M mode) */
    li t0, {PLIC + 0x20_0000:#x}
    sw x0, 0(t0)              /* threshold 0 */
    li t0, 0x800
    csrs mie, t0
    li t0, 8
    csrs mstatus, t0
plic_ready:
    nop
1:  lw t1, 12(s0)             /* Python sets it to ask for the completion */
    beqz t1, 1b
    li t0, {PLIC + 0x20_0004:#x}
    lw t1, 0(s0)
    sw t1, 0(t0)              /* complete the first claim */
    sw x0, 12(s0)
2:  lw t1, 8(s0)
    li t2, 2
    bne t1, t2, 2b
    j exit_pass
""", ".balign 4\nplic_log: .word 0, 0, 0, 0", pre=f"""\
.section .text
.balign 4
plic_trap:
    li t5, {PLIC + 0x20_0004:#x}
    lw t4, 0(t5)              /* claim */
    lw t3, 8(s0)
    slli t6, t3, 2
    add t6, t6, s0
    sw t4, 0(t6)              /* log[count] = id */
    addi t3, t3, 1
    sw t3, 8(s0)
    li t6, 2
    bne t3, t6, 1f
    li t6, 0xc002000
    sw x0, 0(t6)              /* second claim: disable the source, complete at once */
    sw t4, 0(t5)
1:  mret
""")


def test_plic_claim_complete(machine_run):
    """A claimed source is not delivered again until completed, then it is."""
    from workbench.hw import Machine
    elf = rv32.toolchain_build(plic_program())
    img = rv32.read_elf(elf)
    log = img.symbols["plic_log"]
    m = Machine(harts=1, ram_size=64 << 20)
    m.load_elf(elf)
    m.add_probe(img.symbols["plic_ready"], stop=True)
    assert m.run(max_instructions=100_000).reason == "probe"

    def words():
        return [int.from_bytes(m.read(log + 4 * i, 4), "little") for i in range(4)]
    m.plic_raise(5)
    m.run(max_cycles=5_000)
    assert words()[:3] == [5, 0, 1], "first interrupt claimed once"
    m.plic_lower(5)
    m.plic_raise(5)                          # held high (level) or latched (edge): either way it waits
    m.run(max_cycles=20_000)
    assert words()[2] == 1, "no second delivery while the source is claimed"
    m.write(log + 12, (1).to_bytes(4, "little"))
    info = m.run(max_instructions=1_000_000)
    assert info.reason == "poweroff", (info.reason, words())
    assert words()[:3] == [5, 5, 2]


@pytest.mark.parametrize("quantum", [1000, 37])
@pytest.mark.parametrize("name", ["timers_2harts", "timers_2harts_spinning"])
def test_timers_2harts_exact(name, quantum, machine_run):
    """Each hart's timer interrupt is taken at its own deadline even while the other hart runs."""
    elf = elf_of(name)
    m, info = machine_run(elf, harts=2, ram_size=64 << 20, quantum=quantum)
    assert info.reason == "poweroff"
    log = rv32.read_elf(elf).symbols["th_log"]
    words = [int.from_bytes(m.read(log + 4 * i, 4), "little") for i in range(4)]
    for hart in (0, 1):
        deadline, taken = words[2 * hart], words[2 * hart + 1]
        assert 0 <= taken - deadline <= 1, (hart, deadline, taken)
