"""The Python face of the machine: stops, console, probes, reset state, memory view, and bad input.

Every bad index or address from Python must raise ValueError/IndexError naming the allowed range,
never crash the core.
"""
from __future__ import annotations

import pytest

import rv32

hw = pytest.importorskip("workbench.hw", reason="machine model not built")
Machine = hw.Machine
RAM = rv32.RAM_BASE


def asm(body: str, data: str = "", **kw):
    return rv32.build(body, data, **kw)


def test_stop_reasons():
    m = Machine(ram_size=1 << 20)
    m.load_elf(asm("    li a0, 7\n    j exit_fail"))
    info = m.run()
    assert (info.reason, info.code) == ("fail", 7)

    m = Machine(ram_size=1 << 20)
    m.load_elf(asm("    li t0, 0x100000\n    li t1, 0x7777\n    sw t1, 0(t0)\n1:  j 1b"))
    assert m.run(max_instructions=1000).reason == "reset"

    m = Machine(ram_size=1 << 20)
    m.load_elf(asm("1:  addi t0, t0, 1\n    j 1b"))
    info = m.run(max_instructions=1000)
    assert (info.reason, info.instructions) == ("instruction_limit", 1000)
    assert m.harts[0].instret == 1000
    info = m.run(max_instructions=500)          # limits count from now
    assert (info.reason, info.instructions) == ("instruction_limit", 1500)
    info = m.run(max_cycles=2000)
    assert info.reason == "cycle_limit" and info.cycles == m.cycle >= 3500

    m = Machine(ram_size=1 << 20)
    m.load_elf(asm("    csrw mie, x0\n1:  wfi\n    j 1b"))
    assert m.run(max_instructions=10_000).reason == "idle"


def test_reset_state_and_boot_arg():
    body = """\
    mv s0, a0
    mv s1, a1
    csrr s2, mhartid
    la t2, count
    li t1, 1
    amoadd.w x0, t1, (t2)
    bnez s2, 1f
2:  lw t1, 0(t2)
    li t3, 3
    bne t1, t3, 2b
    j exit_pass
1:  wfi
    j 1b"""
    m = Machine(harts=3, ram_size=1 << 20, boot_arg=0x8000_1234)
    m.load_elf(asm(body, ".balign 4\ncount: .word 0"))
    assert all(h.pc == RAM and h.priv == 3 for h in m.harts)
    assert m.run().reason == "poweroff"
    for i, h in enumerate(m.harts):
        assert (h.x[8], h.x[9], h.x[18]) == (i, 0x8000_1234, i)


def test_console_and_probes():
    src = asm("""\
    la s0, msg
    li s1, 0x10000000
1:  lbu t0, 0(s0)
    beqz t0, 2f
3:  lbu t1, 5(s1)
    andi t1, t1, 0x20
    beqz t1, 3b
    sb t0, 0(s1)
    addi s0, s0, 1
    j 1b
2:
probe_here:
    nop
""", "msg: .asciz \"hello, world\\n\"")
    img = rv32.read_elf(src)
    m = Machine(ram_size=1 << 20)
    m.load_elf(src)
    m.add_probe(img.symbols["probe_here"])
    assert m.run().reason == "poweroff"
    assert m.console == "hello, world\n"
    assert len(m.probe_hits) == 1
    cycle, hart, pc = m.probe_hits[0]
    assert (hart, pc) == (0, img.symbols["probe_here"]) and 0 < cycle < m.cycle

    m = Machine(ram_size=1 << 20)
    m.load_elf(src)
    m.add_probe(img.symbols["probe_here"], stop=True)
    info = m.run()
    assert info.reason == "probe" and m.harts[0].pc == img.symbols["probe_here"]
    assert m.console == "hello, world\n"


def test_memory_view_is_ram_without_copy():
    m = Machine(ram_size=1 << 20)
    view = m.memory
    assert view.dtype.name == "uint8" and view.shape == (1 << 20,)
    m.write(RAM + 16, b"\x01\x02\x03")
    assert bytes(view[16:19]) == b"\x01\x02\x03"        # the earlier view sees later writes
    m.load(RAM + 32, b"abcd")
    assert m.read(RAM + 32, 4) == b"abcd"
    m.load_elf(asm("    li t0, 0x55aa\n    la t1, word\n    sw t0, 0(t1)", ".balign 4\nword: .word 0"))
    m.run()
    off = rv32.read_elf(asm("    li t0, 0x55aa\n    la t1, word\n    sw t0, 0(t1)",
                            ".balign 4\nword: .word 0")).symbols["word"] - RAM
    assert bytes(view[off:off + 4]) == b"\xaa\x55\x00\x00"   # stores by the program, seen without copying


def test_csr_access_from_python():
    m = Machine(ram_size=1 << 20)
    h = m.harts[0]
    h.set_csr("mscratch", 0xDEAD_BEEF)
    assert h.csr("mscratch") == 0xDEAD_BEEF
    assert h.csr("mhartid") == 0
    assert h.csr("misa") & (1 << 8) and h.csr("misa") & (1 << 12) and h.csr("misa") & 1   # I, M, A
    with pytest.raises(ValueError):
        h.csr("no_such_csr")


def test_user_mode_visible_in_priv():
    m = Machine(ram_size=1 << 20)
    m.load_elf(asm("""\
    li t0, -1
    csrw pmpaddr0, t0
    li t0, 0x1f
    csrw pmpcfg0, t0
    la t0, user
    csrw mepc, t0
    li t0, 0x1800
    csrc mstatus, t0
    mret
user:
1:  j 1b
"""))
    m.run(max_instructions=100)
    assert m.harts[0].priv == 0


# ---- bad input ---------------------------------------------------------------------------------


def test_bad_machine_parameters():
    for kw in ({"harts": 0}, {"harts": 9}, {"ram_size": 0}, {"ram_size": -4096}, {"ram_size": 1000}):
        with pytest.raises(ValueError):
            Machine(**kw)


def test_non_rv32_elf_refused(tmp_path):
    good = rv32.build("    nop").read_bytes()
    m = Machine(ram_size=1 << 20)
    x86 = bytearray(good)
    x86[0x12:0x14] = (62).to_bytes(2, "little")            # e_machine = EM_X86_64
    (tmp_path / "x86.elf").write_bytes(x86)
    with pytest.raises(ValueError, match="RV32|RISC|machine"):
        m.load_elf(tmp_path / "x86.elf")
    elf64 = bytearray(good)
    elf64[4] = 2                                            # ELFCLASS64
    (tmp_path / "c64.elf").write_bytes(elf64)
    with pytest.raises(ValueError):
        m.load_elf(tmp_path / "c64.elf")
    (tmp_path / "text.elf").write_bytes(b"not an elf at all\n" * 10)
    with pytest.raises(ValueError):
        m.load_elf(tmp_path / "text.elf")
    with pytest.raises(FileNotFoundError):
        m.load_elf(tmp_path / "missing.elf")


def test_elf_outside_ram_refused():
    from workbench import toolchain
    low = toolchain.build_asm(".section .text.start\n.globl _start\n_start:\n    nop\n", base=0x1000_0000)
    m = Machine(ram_size=1 << 20)
    with pytest.raises(ValueError, match="outside RAM"):
        m.load_elf(low)
    big = rv32.build("    nop", ".space 2 * 1024 * 1024")              # ends past 1 MiB of RAM
    with pytest.raises(ValueError, match="outside RAM"):
        m.load_elf(big)


def test_bad_hart_index():
    m = Machine(harts=2, ram_size=1 << 20)
    with pytest.raises(IndexError):
        m.harts[2]
    for call in (lambda: m.inject_register(2, 5, 0, 10), lambda: m.inject_register(-1, 5, 0, 10),
                 lambda: m.failstop(7, 10), lambda: m.failstop(-1, 10)):
        with pytest.raises(IndexError, match=r"hart must be an integer 0\.\.1"):
            call()


def test_bad_register_and_bit():
    m = Machine(ram_size=1 << 20)
    with pytest.raises(ValueError, match="unknown register 32"):
        m.harts[0].x[32]
    with pytest.raises(ValueError, match="unknown register 32"):
        m.inject_register(0, 32, 0, 10)
    with pytest.raises(ValueError, match=r"bit must be an integer 0\.\.31"):
        m.inject_register(0, 5, 32, 10)
    with pytest.raises(ValueError, match=r"bit \(of one byte\) must be an integer 0\.\.7"):
        m.inject_memory(RAM, 8, 10)


@pytest.mark.parametrize("addr,n", [(0, 4), (RAM - 4, 4), (RAM - 2, 4), (RAM + (1 << 20) - 2, 4),
                                    (RAM + (1 << 20), 1), (0xFFFF_FFFF, 1)])
def test_address_outside_ram(addr, n):
    m = Machine(ram_size=1 << 20)
    with pytest.raises(ValueError, match="outside RAM"):
        m.read(addr, n)
    with pytest.raises(ValueError, match="outside RAM"):
        m.write(addr, bytes(n))
    with pytest.raises(ValueError, match="outside RAM"):
        m.load(addr, bytes(n))
    if not RAM <= addr < RAM + (1 << 20):
        with pytest.raises(ValueError, match="outside RAM"):
            m.inject_memory(addr, 0, 10)
        with pytest.raises(ValueError, match="outside RAM"):
            m.add_probe(addr)


# ---- decoded-code caches: a store into code that already ran changes what runs next ------------

ADDI_A0_42 = rv32.encode("addi", "a0", "x0", 42)
SMC = f"""\
    li s3, 0
    la t0, smc_insn
1:  jal smc_sub
    bnez s3, 2f
    mv s4, a0
    li t1, {ADDI_A0_42:#x}
    sw t1, 0(t0)              /* no fence.i: the store itself must invalidate the decoded page */
    li s3, 1
    j 1b
2:  j exit_pass
smc_sub:
smc_insn:
    addi a0, x0, 1
    ret
"""


def test_store_into_decoded_code():
    elf = asm(SMC)
    m = Machine(ram_size=1 << 20)
    m.load_elf(elf)
    assert m.run(max_instructions=10_000).reason == "poweroff"
    assert (m.harts[0].x[20], m.harts[0].x[10]) == (1, 42)
    regs, _ = rv32.run_unicorn(elf)                     # Unicorn agrees
    assert (regs[20], regs[10]) == (1, 42)


def test_python_write_into_decoded_code():
    elf = asm("""\
    jal smc_sub
    mv s4, a0
stop_here:
    jal smc_sub
    j exit_pass
smc_sub:
smc_insn:
    addi a0, x0, 1
    ret
""")
    sym = rv32.read_elf(elf).symbols
    m = Machine(ram_size=1 << 20)
    m.load_elf(elf)
    m.add_probe(sym["stop_here"], stop=True)
    assert m.run(max_instructions=10_000).reason == "probe"
    m.write(sym["smc_insn"], ADDI_A0_42.to_bytes(4, "little"))
    info = m.run(max_instructions=10_000)
    assert info.reason == "poweroff", "a run resumes past the stop probe it stopped at"
    assert (m.harts[0].x[20], m.harts[0].x[10]) == (1, 42)


def test_other_hart_store_into_decoded_code():
    """Hart 1 rewrites an instruction hart 0 has already executed (and decoded)."""
    elf = asm(f"""\
    csrr t0, mhartid
    bnez t0, hart1
    la s0, flag
    jal smc_sub
    mv s4, a0
    li t1, 1
    sw t1, 0(s0)              /* ask hart 1 to patch */
1:  lw t1, 0(s0)
    li t2, 2
    bne t1, t2, 1b
    jal smc_sub
    j exit_pass
hart1:
    la s0, flag
2:  lw t1, 0(s0)
    beqz t1, 2b
    la t0, smc_insn
    li t1, {ADDI_A0_42:#x}
    sw t1, 0(t0)
    li t1, 2
    sw t1, 0(s0)
3:  wfi
    j 3b
smc_sub:
smc_insn:
    addi a0, x0, 1
    ret
""", ".balign 4\nflag: .word 0")
    m = Machine(harts=2, ram_size=1 << 20)
    m.load_elf(elf)
    assert m.run(max_instructions=1_000_000).reason == "poweroff"
    assert (m.harts[0].x[20], m.harts[0].x[10]) == (1, 42)


def test_one_instruction_per_cycle_in_csrs():
    """mcycle and minstret advance by one per instruction on a single hart (no stalls, no WFI)."""
    m = Machine(ram_size=1 << 20)
    m.load_elf(asm("    csrr a0, mcycle\n    csrr a1, minstret\n" + "    nop\n" * 10 +
                   "    csrr a2, mcycle\n    csrr a3, minstret\n"))
    assert m.run().reason == "poweroff"
    x = m.harts[0].x
    assert (x[12] - x[10], x[13] - x[11]) == (12, 12)


# ---- one integer check for everything that crosses into the core (workbench/machine/validate.py) ----

INT_CALLS = {
    "harts": lambda v: Machine(harts=v, ram_size=1 << 20),
    "ram_size": lambda v: Machine(ram_size=v),
    "quantum": lambda v: Machine(ram_size=1 << 20, quantum=v),
    "disk_size": lambda v: Machine(ram_size=1 << 20, disk_size=v),
    "nmi_vector": lambda v: Machine(ram_size=1 << 20, nmi_vector=v),
    "boot_arg": lambda v: Machine(ram_size=1 << 20).reset(boot_arg=v),
    "bit": lambda v: Machine(ram_size=1 << 20).inject_register(0, "a0", v, 1),
    "at": lambda v: Machine(ram_size=1 << 20).failstop(0, at=v),
    "at_cycle": lambda v: Machine(ram_size=1 << 20).inject_memory(RAM, 0, v),
    "hart": lambda v: Machine(ram_size=1 << 20).fault_status(v),
    "probe address": lambda v: Machine(ram_size=1 << 20).add_probe(v),
    "address": lambda v: Machine(ram_size=1 << 20).read(v, 4),
    "max_cycles": lambda v: Machine(ram_size=1 << 20).run(max_cycles=v),
    "max_instructions": lambda v: Machine(ram_size=1 << 20).run(max_instructions=v),
    "PLIC source": lambda v: Machine(ram_size=1 << 20).plic_raise(v),
    "disk offset": lambda v: Machine(ram_size=1 << 20).write_disk(v, b"x"),
    "blk_latency": lambda v: Machine(ram_size=1 << 20).configure_devices(blk_latency=v),
    "seed": lambda v: Machine(ram_size=1 << 20).configure_peer([0], 1, 100, seed=v),
    "pc (32 bits)": lambda v: setattr(Machine(ram_size=1 << 20).harts[0], "pc", v),
}


@pytest.mark.parametrize("field", sorted(INT_CALLS))
@pytest.mark.parametrize("value", [True, False, 2 ** 64, -(2 ** 64), 1.0, "1", None])
def test_integer_arguments_are_checked_with_the_field_named(field, value):
    """A bool is not a count, a float not an index, and a number the core cannot hold is a ValueError
    naming the field (never an OverflowError or TypeError from inside the core)."""
    if value is None and field in ("max_cycles", "max_instructions", "blk_latency", "boot_arg"):
        pytest.skip("None means no limit / keep the value")
    if field == "at_cycle" and value is False:
        pytest.skip("covered by True")
    with pytest.raises(ValueError, match=field.replace("(", r"\(").replace(")", r"\)")):
        INT_CALLS[field](value)


def test_integer_check_accepts_numpy_and_reports_the_range():
    import numpy as np
    from workbench.machine.validate import IndexValueError, as_int
    assert as_int(np.uint8(7), "x", 0, 10) == 7 and type(as_int(np.uint8(7), "x", 0, 10)) is int
    with pytest.raises(ValueError, match=r"x must be an integer 0\.\.10, got 11"):
        as_int(11, "x", 0, 10)
    with pytest.raises(IndexError, match="hart"):
        as_int(3, "hart", 0, 1, index=True)
    assert issubclass(IndexValueError, ValueError)
    m = Machine(harts=2, ram_size=1 << 20)
    m.failstop(1, at=2 ** 64 - 1)                # the largest count the core holds is fine
    m.inject_register(0, "a0", 31, 0)
