"""The Machine object as a whole: snapshots, saved snapshots, determinism, fault hooks, probes, stop
reasons and the validation of everything that comes from Python.

Programs are small RV32 assembly snippets built with the project toolchain (cached by content). Their
expected results are computed here from the program text (instruction counts, symbol addresses), not
taken from the machine model itself.
"""
from __future__ import annotations

import hashlib
import struct
from functools import lru_cache
from pathlib import Path

import pytest

hw = pytest.importorskip("workbench.hw", reason="the Cython core is not built")
from workbench import toolchain  # noqa: E402
from workbench.hw import Machine, SnapshotError  # noqa: E402

RAM_BASE = 0x8000_0000
SYSCON = 0x0010_0000
UART = 0x1000_0000
MTIME = 0x0200_BFF8
MTIMECMP = 0x0200_4000
SMALL_RAM = 1 << 20

EXIT = "    li t0, 0x100000\n    li t1, 0x5555\n    sw t1, 0(t0)\n1:  j 1b\n"


def fail_with(code: int) -> str:
    return f"    li t0, 0x100000\n    li t1, {(code << 16) | 0x3333:#x}\n    sw t1, 0(t0)\n1:  j 1b\n"


def source(body: str, data: str = "", bss: str = "") -> str:
    return (f".section .text.start, \"ax\"\n.globl _start\n_start:\n{body}\n"
            f".section .data\n.balign 16\n{data}\n.section .bss\n.balign 16\n{bss}\n")


@lru_cache(maxsize=None)
def build(text: str, base: int = RAM_BASE) -> Path:
    return toolchain.build_asm(text, base=base)


@lru_cache(maxsize=None)
def symbols(elf: Path) -> dict[str, int]:
    from elftools.elf.elffile import ELFFile
    with open(elf, "rb") as f:
        tab = ELFFile(f).get_section_by_name(".symtab")
        return {s.name: s["st_value"] for s in tab.iter_symbols() if s.name}


def boot(text: str, harts: int = 1, ram_size: int = SMALL_RAM, **kw) -> Machine:
    m = Machine(harts=harts, ram_size=ram_size, **kw)
    m.load_elf(build(text))
    return m


def sym(text: str, name: str) -> int:
    return symbols(build(text))[name]


def index_of(text: str, name: str) -> int:
    """Instruction index of a label in straight-line code starting at RAM_BASE."""
    return (sym(text, name) - RAM_BASE) // 4


def observe(m: Machine):
    """Everything a test compares between two machines that should be in the same state."""
    return (m.state_hash(), [(list(h.x), h.pc, h.priv, h.instret, h.cycle) for h in m.harts], m.console, m.cycle)


def u32(x: int) -> int:
    return x & 0xFFFF_FFFF


# ---------------------------------------------------------------------------------------------
# Programs

# One hart: a pseudo-random fill of a 16 KiB buffer (4 pages) with console output every 256 words.
COMPUTE = source(f"""
    la s0, buf
    li s1, 0
    li s2, 4096
    li s3, 0x12345678
loop:
    li t0, 1103515245
    mul s3, s3, t0
    li t0, 12345
    add s3, s3, t0
    slli t1, s1, 2
    add t1, t1, s0
    sw s3, 0(t1)
    andi t2, s1, 255
    bnez t2, 2f
    srli t3, s3, 28
    addi t3, t3, 97
    li t4, {UART:#x}
    sb t3, 0(t4)
2:  addi s1, s1, 1
    bne s1, s2, loop
    li t4, {UART:#x}
    li t3, 10
    sb t3, 0(t4)
{EXIT}""", bss="buf: .space 16384")

# One hart: writes every word of 1 MiB (256 pages).
BIGMEM = source(f"""
    la s0, big
    li s1, 0
    li s2, 0x40000
loop:
    slli t1, s1, 2
    add t1, t1, s0
    xori t2, s1, 0x5a5
    sw t2, 0(t1)
    addi s1, s1, 1
    bne s1, s2, loop
{EXIT}""", bss=".balign 4096\nbig: .space 0x100000")

# One hart, self-modifying: calls f ten times; after the fifth call it stores a new first instruction
# into f (same page as the running code, already decoded). 5 * 1 + 5 * 7 = 40 in s0.
SMC = source(f"""
    li s0, 0
    li s1, 0
    li s2, 10
loop:
    jal ra, f
    add s0, s0, a0
    addi s1, s1, 1
    li t0, 5
    bne s1, t0, 1f
    la t1, f
    la t2, patch
    lw t3, 0(t2)
    sw t3, 0(t1)
    fence.i
1:  bne s1, s2, loop
{EXIT}
f:  addi a0, zero, 1
    ret
patch:
    addi a0, zero, 7
""")
SMC_RESULT = 40


def multihart(nharts: int, iters: int = 150, period: int = 37) -> str:
    """Every hart: `iters` times take a spinlock (amoswap), bump a shared counter and print its hart
    digit; a timer interrupt every `period` (+ hart) ticks counts per-hart ticks (handler uses s8-s11
    only). Hart 0 waits for all, checks the counter and powers off (fail 1 if wrong)."""
    return source(f"""
    la t0, trap
    csrw mtvec, t0
    li t0, {MTIME:#x}
    lw t1, 0(t0)
    addi t1, t1, {period}
    add t1, t1, a0
    slli t2, a0, 3
    li t3, {MTIMECMP:#x}
    add t3, t3, t2
    sw t1, 0(t3)
    sw zero, 4(t3)
    li t0, 0x80
    csrw mie, t0
    csrsi mstatus, 8
    li s0, {iters}
loop:
    la t0, lock
    li t1, 1
spin:
    amoswap.w.aq t2, t1, (t0)
    bnez t2, spin
    la t3, counter
    lw t4, 0(t3)
    addi t4, t4, 1
    sw t4, 0(t3)
    li t5, {UART:#x}
    addi t6, a0, '0'
    sb t6, 0(t5)
    amoswap.w.rl zero, zero, (t0)
    addi s0, s0, -1
    bnez s0, loop
    la t0, done
    li t1, 1
    amoadd.w zero, t1, (t0)
    bnez a0, park
wait:
    lw t1, 0(t0)
    li t2, {nharts}
    bne t1, t2, wait
    la t3, counter
    lw t4, 0(t3)
    li t5, {nharts * iters}
    bne t4, t5, bad
{EXIT}
bad:
{fail_with(1)}
park:
    wfi
    j park
trap:
    csrr s8, mcause
    bgez s8, bad
    la s9, ticks
    slli s10, a0, 2
    add s9, s9, s10
    lw s10, 0(s9)
    addi s10, s10, 1
    sw s10, 0(s9)
    li s9, {MTIME:#x}
    lw s10, 0(s9)
    addi s10, s10, {period}
    add s10, s10, a0
    li s9, {MTIMECMP:#x}
    slli s11, a0, 3
    add s9, s9, s11
    sw s10, 0(s9)
    mret
""", data="lock: .word 0\ncounter: .word 0\ndone: .word 0\nticks: .space 32")


# Straight-line increments: a0 = number of `addi`s executed so far; mscratch = 0x55; a trap handler
# that fails with code mcause (and records mtval, minstret in a2, a3).
INCREMENTS = source(f"""
    la t0, handler
    csrw mtvec, t0
    li t0, 0x55
    csrw mscratch, t0
    li a0, 0
incs:
    .rept 100
    addi a0, a0, 1
    .endr
incs_end:
    csrr a4, mscratch
{EXIT}
handler:
    csrr a1, mcause
    csrr a2, mtval
    csrr a3, minstret
    li t0, 0x100000
    slli t1, a1, 16
    li t2, 0x3333
    or t1, t1, t2
    sw t1, 0(t0)
2:  j 2b
""")
def pre() -> int:
    """Instruction index of `incs` in INCREMENTS: after pre() + k instructions, a0 == k (k <= 100)."""
    return index_of(INCREMENTS, "incs")


# ---------------------------------------------------------------------------------------------
# Snapshot / restore


def _run_all(m: Machine, stops):
    return [m.run(**kw) for kw in stops]


SNAP_CASES = {
    # name: (program, harts, stops before the snapshot (A), stops after (B))
    "compute": (COMPUTE, 1, [dict(max_instructions=20_000)], [dict()]),
    "compute-partial": (COMPUTE, 1, [dict(max_instructions=5_000)], [dict(max_instructions=7_000), dict()]),
    "multihart-2": (multihart(2), 2, [dict(max_instructions=3_001)], [dict(max_cycles=2_000), dict()]),
    "multihart-4": (multihart(4), 4, [dict(max_cycles=2_222)], [dict()]),
    "bigmem": (BIGMEM, 1, [dict(max_instructions=400_000)], [dict()]),
    "smc-before-patch": (SMC, 1, [dict(max_instructions=20)], [dict()]),
    "smc-after-patch": (SMC, 1, [dict(max_instructions=80)], [dict()]),
}


@pytest.mark.parametrize("case", list(SNAP_CASES))
def test_snapshot_restore_replays_identically(case):
    """A then B == A, snapshot, B, restore, B: same stops, state_hash, registers and console."""
    text, harts, a, b = SNAP_CASES[case]
    ram = 4 << 20
    ref = boot(text, harts, ram)
    _run_all(ref, a)
    ref_stops = _run_all(ref, b)
    want = observe(ref)

    m = boot(text, harts, ram)
    _run_all(m, a)
    at_snap = m.state_hash()
    snap = m.snapshot()
    assert m.state_hash() == at_snap, "taking a snapshot changed the machine"
    assert _run_all(m, b) == ref_stops
    assert observe(m) == want
    m.restore(snap)
    assert m.state_hash() == at_snap
    assert _run_all(m, b) == ref_stops
    assert observe(m) == want
    assert ref_stops[-1].reason == "poweroff"


DELTA_CASES = {   # SNAP_CASES name -> stops from the snapshot to the point kept as a delta
    "compute-partial": [dict(max_instructions=4_000)],
    "multihart-2": [dict(max_cycles=1_500)],
    "bigmem": [dict(max_instructions=150_000)],
    "smc-before-patch": [dict(max_instructions=45)],     # the program patches its code after the snapshot
}


@pytest.mark.parametrize("case", list(DELTA_CASES))
def test_restore_delta_replays_identically(case):
    """A point kept as a delta from a snapshot comes back exactly: same state, same pages counted as
    changed since the snapshot, and the same run from there, whatever ran in between."""
    text, harts, a, _ = SNAP_CASES[case]
    m = boot(text, harts, 4 << 20)
    _run_all(m, a)
    snap = m.snapshot()
    _run_all(m, DELTA_CASES[case])
    delta, here = m.delta(snap), observe(m)
    changed, since = m.changed_pages(snap).tolist(), m.state_hash_since(snap)
    assert changed, "the case should store to RAM between the snapshot and the point"
    rest, end = m.run(), observe(m)
    m.restore(snap)
    m.run(max_instructions=777)          # another timeline from the snapshot dirties its own pages
    m.restore_delta(snap, delta)
    assert observe(m) == here and m.changed_pages(snap).tolist() == changed and m.state_hash_since(snap) == since
    assert m.run() == rest and observe(m) == end
    m.restore_delta(snap, delta)         # twice, straight after a whole run
    assert observe(m) == here and m.run() == rest and observe(m) == end
    with pytest.raises(ValueError):
        boot(text, harts, 4 << 20).restore_delta(snap, delta)      # a snapshot of another machine


def test_restore_undoes_code_changes():
    """After the program patched its own (decoded) code, restore brings back the old code and the
    old code is what runs again (no stale decoded instruction survives)."""
    m = boot(SMC)
    f = sym(SMC, "f")
    original = m.read(f, 4)
    m.run(max_instructions=20)          # f called (decoded) but not yet patched
    assert m.read(f, 4) == original
    snap = m.snapshot()
    assert m.run().reason == "poweroff"
    assert m.harts[0].x["s0"] == SMC_RESULT
    assert m.read(f, 4) == m.read(sym(SMC, "patch"), 4) != original
    m.restore(snap)
    assert m.read(f, 4) == original
    assert m.run().reason == "poweroff"
    assert m.harts[0].x["s0"] == SMC_RESULT     # 5 * 1 + 5 * 7: a stale 'addi a0, zero, 7' would give 70


def test_self_modifying_code_runs_new_instruction():
    m = boot(SMC)
    assert m.run().reason == "poweroff"
    assert m.harts[0].x["s0"] == SMC_RESULT


def test_python_write_into_decoded_code_changes_what_runs():
    m = boot(SMC)
    m.run(max_instructions=20)          # f has run (decoded): returns 1
    m.write(sym(SMC, "f"), m.read(sym(SMC, "patch"), 4))
    assert m.run().reason == "poweroff"
    # two calls returned 1; calls 3..10 return 7 (the program's own patch writes the same word again)
    assert m.harts[0].x["s0"] == 2 + 8 * 7


def touch_pages(k: int) -> str:
    """Stores one word into each of k distinct pages of a page-aligned buffer, nothing else."""
    return source(f"""
    la t0, area
    li t1, {k}
1:  beqz t1, 2f
    sw t1, 0(t0)
    li t2, 4096
    add t0, t0, t2
    addi t1, t1, -1
    j 1b
2:
{EXIT}""", bss=".balign 4096\narea: .space 0x10000")


@pytest.mark.parametrize("k", [0, 1, 3, 9])
def test_restore_copies_only_dirtied_pages(k):
    m = boot(touch_pages(k))
    snap = m.snapshot()
    before = m.memory.copy()
    assert m.run().reason == "poweroff"
    assert m.restore(snap) == k
    assert (m.memory == before).all()


def test_restore_copy_count_large_write():
    m = boot(BIGMEM, ram_size=4 << 20)
    snap = m.snapshot()
    assert m.run().reason == "poweroff"
    assert m.restore(snap) == 256
    assert not m.memory[sym(BIGMEM, "big") - RAM_BASE:][:1 << 20].any()


def test_restore_snapshot_of_another_machine_copies_everything():
    a, b = boot(COMPUTE), boot(COMPUTE)
    a.run(max_instructions=10_000)
    n = b.restore(a.snapshot())
    assert n == SMALL_RAM // 4096
    assert observe(b) == observe(a)
    assert b.run() == a.run()
    assert observe(b) == observe(a)


def test_restore_twice_and_snapshot_after_restore():
    m = boot(COMPUTE)
    m.run(max_instructions=3_000)
    s1, h1 = m.snapshot(), m.state_hash()
    first = m.run(max_instructions=9_000)
    o1 = observe(m)
    for _ in range(2):                  # the same snapshot restored twice, with a run in between
        m.restore(s1)
        assert m.state_hash() == h1
        assert m.run(max_instructions=9_000) == first
        assert observe(m) == o1
    m.restore(s1)
    m.restore(s1)                       # restoring twice in a row is harmless
    assert m.state_hash() == h1
    # a snapshot taken after restores
    m.run(max_instructions=4_000)
    s2, h2 = m.snapshot(), m.state_hash()
    end = m.run()
    o_end = observe(m)
    m.restore(s2)
    assert m.state_hash() == h2
    assert m.run() == end and observe(m) == o_end
    m.restore(s1)
    assert m.state_hash() == h1
    m.restore(s2)
    assert m.state_hash() == h2


def test_restore_older_snapshot_after_newer():
    m = boot(COMPUTE)
    snaps = []
    for _ in range(4):
        m.run(max_instructions=4_000)
        snaps.append((m.snapshot(), m.state_hash(), m.memory.copy(), m.console))
    m.run()
    for i in (3, 0, 2, 1, 3, 0):
        snap, h, mem, console = snaps[i]
        m.restore(snap)
        assert m.state_hash() == h, f"snapshot {i}"
        assert (m.memory == mem).all() and m.console == console
    # from the oldest, running forward reaches the newer snapshots' states exactly
    for i in (1, 2, 3):
        m.run(max_instructions=4_000)
        assert m.state_hash() == snaps[i][1]


def test_restore_after_memory_writes_from_python_and_faults():
    m = boot(COMPUTE)
    m.run(max_instructions=1_000)
    snap, h = m.snapshot(), m.state_hash()
    m.write(RAM_BASE + 0x8000, b"\xff" * 10_000)
    m.inject_memory(RAM_BASE + 0x20, 3, m.cycle + 5)
    m.run(max_instructions=100)
    assert m.restore(snap) >= 4
    assert m.state_hash() == h


def test_restore_disarms_fault_hooks_and_rejects_foreign_snapshots():
    m = boot(INCREMENTS)
    snap = m.snapshot()
    m.inject_register(0, "a0", 3, 50)
    m.failstop(0, 60)
    m.restore(snap)
    assert m.fault_status(0)["armed"] is False
    assert m.run().reason == "poweroff"
    assert m.harts[0].x["a0"] == 100
    with pytest.raises(ValueError, match="harts"):
        Machine(harts=2, ram_size=SMALL_RAM).restore(snap)
    with pytest.raises(ValueError, match="RAM"):
        Machine(harts=1, ram_size=2 * SMALL_RAM).restore(snap)
    with pytest.raises(TypeError):
        m.restore("not a snapshot")


# ---------------------------------------------------------------------------------------------
# Saved snapshots


def test_save_load_round_trip(tmp_path):
    text = multihart(2)
    m = boot(text, 2, quantum=313, boot_arg=0x1234)
    m.run(max_instructions=2_321)
    path = m.save_snapshot(tmp_path / "mid.snap")
    assert path.is_file()
    m2 = Machine.load_snapshot(path)
    assert m2.state_hash() == m.state_hash()
    assert (len(m2.harts), m2.ram_size, m2.quantum, m2.boot_arg) == (2, SMALL_RAM, 313, 0x1234)
    assert observe(m2) == observe(m)
    trace = run_with_stops(m)
    assert run_with_stops(m2) == trace
    assert trace[-1][0].reason == "poweroff"


def test_save_earlier_snapshot(tmp_path):
    m = boot(COMPUTE)
    m.run(max_instructions=2_000)
    snap, h = m.snapshot(), m.state_hash()
    m.run()
    m2 = Machine.load_snapshot(m.save_snapshot(tmp_path / "early.snap", snap))
    assert m2.state_hash() == h
    assert m2.run().reason == "poweroff"
    assert m2.state_hash() == m.state_hash()


def test_saved_snapshot_keeps_nmi_vector(tmp_path):
    """A machine built with another nmi_vector continues identically after save/load: the watchdog
    NMI enters at the same vector."""
    text = source(f"""
    j main
    j nmi            # 0x8000_0004: the default vector
nmi_alt:             # 0x8000_0008: this machine's vector
{fail_with(2)}
nmi:
{fail_with(1)}
main:
    li t0, 0x102000
    li t1, 5
    sw t1, 8(t0)
    li t1, 1
    sw t1, 4(t0)
3:  j 3b
""")
    m = boot(text, nmi_vector=sym(text, "nmi_alt"))
    m.run(max_instructions=10)
    m2 = Machine.load_snapshot(m.save_snapshot(tmp_path / "nmi.snap"))
    a, b = m.run(max_cycles=10_000), m2.run(max_cycles=10_000)
    assert (a.reason, a.code) == ("fail", 2)
    assert b == a
    assert m2.state_hash() == m.state_hash()


def _corrupt(kind: str, raw: bytes) -> bytes:
    if kind == "empty":
        return b""
    if kind == "truncated-head":
        return raw[:20]
    if kind == "truncated-tail":
        return raw[:-1]
    if kind == "truncated-middle":
        return raw[:len(raw) // 2]
    if kind == "extra-byte":
        return raw + b"\0"
    if kind.startswith("flip-"):
        pos = {"flip-version": 8, "flip-meta": 20, "flip-body": len(raw) // 2, "flip-last": len(raw) - 1,
               "flip-ram": len(raw) - 40}[kind]
        return raw[:pos] + bytes([raw[pos] ^ 0x10]) + raw[pos + 1:]
    if kind == "wrong-magic":
        return b"NOTASNAP" + raw[8:]
    if kind == "magic-flip":
        return raw[:3] + bytes([raw[3] ^ 1]) + raw[4:]
    if kind == "future-version":           # consistent checksum, but a format this build does not read
        body = raw[:8] + struct.pack("<I", 99) + raw[12:-32]
        return body + hashlib.sha256(body).digest()
    raise AssertionError(kind)


@pytest.fixture(scope="module")
def saved_snapshot(tmp_path_factory):
    m = boot(COMPUTE)
    m.run(max_instructions=5_000)
    return m.save_snapshot(tmp_path_factory.mktemp("snap") / "good.snap").read_bytes()


@pytest.mark.parametrize("kind", ["empty", "truncated-head", "truncated-tail", "truncated-middle", "extra-byte",
                                  "flip-version", "flip-meta", "flip-body", "flip-ram", "flip-last",
                                  "wrong-magic", "magic-flip", "future-version"])
def test_corrupt_snapshot_refused(tmp_path, saved_snapshot, kind):
    path = tmp_path / f"{kind}.snap"
    path.write_bytes(_corrupt(kind, saved_snapshot))
    with pytest.raises(SnapshotError) as e:
        Machine.load_snapshot(path)
    assert str(path) in str(e.value)


def test_good_snapshot_file_loads(tmp_path, saved_snapshot):
    path = tmp_path / "copy.snap"
    path.write_bytes(saved_snapshot)
    assert Machine.load_snapshot(path).harts[0].instret == 5_000


def test_missing_snapshot_file(tmp_path):
    path = tmp_path / "nope" / "missing.snap"
    with pytest.raises(FileNotFoundError) as e:
        Machine.load_snapshot(path)
    assert str(path) in str(e.value)
    with pytest.raises(FileNotFoundError):
        Machine.load_snapshot(tmp_path)     # a directory is not a snapshot file either


# ---------------------------------------------------------------------------------------------
# Determinism

STOPS = [dict(max_instructions=1_000), dict(max_cycles=777), dict(max_instructions=2_345), dict(max_instructions=1),
         dict(max_cycles=1_500), dict(max_instructions=3_001)]


def run_with_stops(m: Machine, limit: int = 200):
    """Run through STOPS (cyclically) until the program powers off; the trace of every stop."""
    trace = []
    for i in range(limit):
        info = m.run(**STOPS[i % len(STOPS)])
        trace.append((info, observe(m)))
        if info.reason not in ("instruction_limit", "cycle_limit"):
            return trace
    raise AssertionError(f"no end after {limit} stops: {trace[-1][0]}")


@pytest.mark.parametrize("nharts,quantum", [(2, 1000), (2, 61), (4, 1000), (4, 97)])
def test_multihart_determinism(nharts, quantum):
    text = multihart(nharts)
    runs = []
    for _ in range(2):
        m = boot(text, nharts, quantum=quantum)
        runs.append((m, run_with_stops(m)))
    (m1, t1), (_, t2) = runs
    assert len(t1) >= 5
    assert t1 == t2
    hashes = [obs[0] for _, obs in t1]
    assert len(set(hashes)) == len(hashes), "every stop should be at a different state"
    last = t1[-1][0]
    assert last.reason == "poweroff", last
    # the program really exercised what it is meant to: the lock, the console and timer interrupts
    ticks = struct.unpack(f"<{nharts}I", m1.read(sym(text, "ticks"), 4 * nharts))
    assert all(t > 0 for t in ticks), ticks
    assert m1.read_u32(sym(text, "counter")) == nharts * 150
    assert sorted(m1.console) == sorted("".join(str(h) * 150 for h in range(nharts)))


def test_single_hart_stops_do_not_change_the_run():
    """On one hart where to stop is invisible to the program: many stops or none, same end state."""
    a = boot(COMPUTE)
    a.run()
    b = boot(COMPUTE)
    while b.run(max_instructions=3_333).reason == "instruction_limit":
        pass
    assert [list(h.x) for h in a.harts] == [list(h.x) for h in b.harts]
    assert a.console == b.console and (a.memory == b.memory).all()
    assert a.harts[0].instret == b.harts[0].instret


# ---------------------------------------------------------------------------------------------
# Fault hooks: register flips


@pytest.mark.parametrize("bit", [0, 5, 31])
@pytest.mark.parametrize("n_after", [0, 1, 7, 64, 99])
def test_register_flip_at_exact_count(bit, n_after):
    """The flip lands exactly when the count reaches n: not one instruction earlier, nor later."""
    n = pre() + n_after                   # n instructions retired: a0 == n_after
    flipped = n_after ^ (1 << bit)
    m = boot(INCREMENTS)
    m.inject_register(0, "a0", bit, n)
    m.run(max_instructions=n - 1)
    h = m.harts[0]
    assert h.x["a0"] == max(n_after - 1, 0)
    assert m.fault_status(0)["fired"] is False
    m.run(max_instructions=1)
    assert h.instret == n
    assert h.x["a0"] == flipped
    st = m.fault_status(0)
    assert st["fired"] and not st["armed"]
    assert st["instret"] == n and st["old_value"] == n_after
    m.run(max_instructions=1)              # the next addi reads the flipped value
    assert h.x["a0"] == u32(flipped + 1)
    assert m.fault_status(0)["result"] == "read"
    assert m.run().reason == "poweroff"
    assert h.x["a0"] == u32(flipped + 100 - n_after)


def test_register_flip_by_register_name_forms():
    for reg in (10, "x10", "a0", "A0"):
        m = boot(INCREMENTS)
        m.inject_register(0, reg, 4, pre() + 10)
        m.run()
        assert m.harts[0].x["a0"] == (10 ^ 16) + 90


def two_hart_increments() -> str:
    return source(f"""
    li a0, 0
incs:
    .rept 100
    addi a0, a0, 1
    .endr
    csrr t0, mhartid
    la t1, results
    slli t2, t0, 2
    add t1, t1, t2
    sw a0, 0(t1)
    la t1, done
    li t2, 1
    amoadd.w zero, t2, (t1)
    bnez t0, park
wait:
    lw t2, 0(t1)
    li t3, 2
    bne t2, t3, wait
{EXIT}
park:
    wfi
    j park
""", data="results: .word 0, 0\ndone: .word 0")


@pytest.mark.parametrize("hart", [0, 1])
def test_register_flip_counts_the_harts_own_instructions(hart):
    text = two_hart_increments()
    n_after, bit = 40, 9
    m = boot(text, harts=2, quantum=7)
    m.inject_register(hart, "a0", bit, 1 + n_after)
    assert m.run().reason == "poweroff"
    res = struct.unpack("<2I", m.read(sym(text, "results"), 8))
    assert res[hart] == (n_after ^ (1 << bit)) + 100 - n_after
    assert res[1 - hart] == 100
    assert m.fault_status(hart)["instret"] == 1 + n_after
    assert m.fault_status(1 - hart)["fired"] is False


MASKING = source(f"""
    li s0, 0
    li s1, 100
set_s1:
    li s1, 200
use_s1:
    add s0, s0, s1
    addi s0, s0, 1
{EXIT}""")


def test_masked_flip_overwritten_first():
    golden = boot(MASKING)
    golden.run()
    m = boot(MASKING)
    m.inject_register(0, "s1", 6, index_of(MASKING, "set_s1"))
    info = m.run()
    assert info.reason == "masked" and info.hart == 0
    st = m.fault_status(0)
    assert st["fired"] and st["result"] == "overwritten" and st["old_value"] == 100
    assert m.harts[0].x["s1"] == 200 and m.harts[0].pc == sym(MASKING, "use_s1")
    assert m.run().reason == "poweroff"
    assert m.harts[0].x["s0"] == 201
    assert m.state_hash() == golden.state_hash()


def test_masked_flip_read_first():
    golden = boot(MASKING)
    golden.run()
    m = boot(MASKING)
    m.inject_register(0, "s1", 6, index_of(MASKING, "use_s1"))
    info = m.run()
    assert info.reason == "poweroff"
    assert m.fault_status(0)["result"] == "read"
    assert m.harts[0].x["s0"] == (200 ^ 64) + 1 != golden.harts[0].x["s0"]
    assert m.state_hash() != golden.state_hash()


def test_masked_flip_without_stopping():
    m = boot(MASKING)
    m.inject_register(0, "s1", 6, index_of(MASKING, "set_s1"), stop_on_masked=False)
    assert m.run().reason == "poweroff"
    assert m.fault_status(0)["result"] == "overwritten"


def test_masked_detection_reads_by_store_and_branch():
    """A register read as a store's data or a branch operand counts as read (not masked)."""
    text = source(f"""
    la t0, cell
    li s1, 3
    li s2, 3
st: sw s1, 0(t0)
    li s1, 0
br: beq s2, s1, 1f
    li s2, 0
1:
{EXIT}""", data="cell: .word 0")
    for reg, label in (("s1", "st"), ("s2", "br")):
        m = boot(text)
        m.inject_register(0, reg, 0, index_of(text, label))
        assert m.run().reason == "poweroff"
        assert m.fault_status(0)["result"] == "read", reg


def masking_case(insn: str) -> str:
    return source(f"""
    la t0, handler
    csrw mtvec, t0
    la t0, cell
    li t1, 3
    li s0, 0
    li s1, 100
x:  {insn}
    add s0, s0, s1
{EXIT}
handler:
    csrr t2, mepc
    addi t2, t2, 4
    csrw mepc, t2
    mret
""", data="cell: .word 7")


@pytest.mark.parametrize("insn,result", [
    ("li s1, 5", "overwritten"), ("lui s1, 1", "overwritten"), ("auipc s1, 0", "overwritten"),
    ("jal s1, 1f\n1:", "overwritten"), ("mul s1, t1, t1", "overwritten"), ("lw s1, 0(t0)", "overwritten"),
    ("lr.w s1, (t0)", "overwritten"), ("sc.w s1, t1, (t0)", "overwritten"), ("amoswap.w s1, t1, (t0)", "overwritten"),
    ("csrrwi s1, mscratch, 5", "overwritten"), ("csrr s1, mscratch", "overwritten"),
    ("addi s1, s1, 1", "read"), ("slli s1, s1, 0", "read"), ("sw s1, 0(t0)", "read"), ("sh s1, 2(t0)", "read"),
    ("beq s1, zero, 1f\n1:", "read"), ("csrw mscratch, s1", "read"), ("amoadd.w s1, s1, (t0)", "read"),
    ("amoadd.w zero, s1, (t0)", "read"), ("addi zero, s1, 1", "read"),
    ("jalr zero, 4(s1)", "read"),            # to a misaligned address: traps, the handler skips it
    ("lw s1, 0(zero)", "read"),              # access fault: s1 is not written, the next add reads it
    ("lw s1, 1(t0)", "read"),                # misaligned: likewise
    ("nop", "read"),
])
def test_masked_detection_per_instruction(insn, result):
    text = masking_case(insn)
    m = boot(text)
    m.inject_register(0, "s1", 1, index_of(text, "x"), stop_on_masked=False)
    assert m.run().reason == "poweroff"
    assert m.fault_status(0)["result"] == result


def test_flip_of_unused_register_stays_pending():
    m = boot(INCREMENTS)
    m.inject_register(0, "s7", 0, pre() + 5)
    assert m.run().reason == "poweroff"
    st = m.fault_status(0)
    assert st["fired"] and st["result"] == "pending" and st["tracking"]
    assert m.harts[0].x["s7"] == 1


USER_MODE = source(f"""
    li t0, -1
    csrw pmpaddr0, t0
    li t0, 0x1f
    csrw pmpcfg0, t0
    la t0, handler
    csrw mtvec, t0
    la t0, user
    csrw mepc, t0
    li t0, 0x1800
    csrc mstatus, t0
    li a0, 0
    .rept 30
    addi a0, a0, 1
    .endr
    mret
user:
    li a0, 0
    .rept 50
    addi a0, a0, 1
    .endr
user_end:
    ecall
handler:
{EXIT}""")


@pytest.mark.parametrize("n", [1, 10, 50])
def test_register_flip_counts_only_user_mode(n):
    """context priv=0: the count starts at the first user instruction, M-mode code is not counted."""
    bit = 3
    m = boot(USER_MODE)
    m.inject_register(0, "a0", bit, n, context={"priv": 0})
    assert m.run().reason == "poweroff"
    assert m.harts[0].priv == 3
    assert m.harts[0].x["a0"] == ((n - 1) ^ (1 << bit)) + 51 - n
    st = m.fault_status(0)
    assert st["instret"] == index_of(USER_MODE, "user") + n
    assert st["result"] == "read" and st["context_count"] == n


def test_register_flip_counts_only_pc_range():
    """context pc_range: only instructions in [lo, hi) are counted; the oracle is a probe trace."""
    text = source(f"""
    li s0, 0
    li s1, 3
1:  jal ra, g
    addi s1, s1, -1
    bnez s1, 1b
{EXIT}
g:  addi s0, s0, 1
    addi s0, s0, 1
    addi s0, s0, 1
    ret
g_end:
""")
    lo, hi = sym(text, "g"), sym(text, "g_end")
    golden = boot(text)
    for a in range(lo, hi, 4):
        golden.add_probe(a)
    golden.run()
    in_range = sorted(c for c, _, _ in golden.probe_hits)    # one hart, no traps: cycle == instret
    assert len(in_range) == 12
    for n in (0, 5, 11):
        m = boot(text)
        m.inject_register(0, "s0", 12, n, context={"pc_range": (lo, hi)})
        m.run()
        assert m.fault_status(0)["instret"] == in_range[n]
        assert m.harts[0].x["s0"] == 9 + (1 << 12)


@pytest.mark.parametrize("bit", [2, 3, 4])
def test_pc_flip(bit):
    n_after = 40
    n = pre() + n_after
    m = boot(INCREMENTS)
    m.inject_register(0, "pc", bit, n)
    m.run(max_instructions=n)
    old = RAM_BASE + 4 * n
    assert m.harts[0].pc == old ^ (1 << bit)
    assert m.fault_status(0)["old_value"] == old
    assert m.run().reason == "poweroff"
    j = n ^ (1 << (bit - 2))                    # instruction index the flipped pc resumes at
    assert pre() <= j < pre() + 100
    assert m.harts[0].x["a0"] == n_after + (pre() + 100 - j)


def test_pc_flip_to_unmapped_address_traps():
    n = pre() + 20
    m = boot(INCREMENTS)
    m.inject_register(0, "pc", 31, n)
    info = m.run()
    bad_pc = (RAM_BASE + 4 * n) ^ (1 << 31)
    assert (info.reason, info.code) == ("fail", 1)        # fetch access fault
    h = m.harts[0]
    assert h.x["a2"] == bad_pc and h.csr("mepc") == bad_pc
    # minstret read by the handler: n instructions, then the two csrr before it
    assert h.x["a3"] == n + 2


def test_fetch_fault_does_not_uncount_instructions():
    """A fetch fault retires nothing, but must not take back an instruction retired before it."""
    text = source(f"""
    la t0, handler
    csrw mtvec, t0
    li t1, 0x1000
jump:
    jr t1
handler:
    csrr a1, minstret
{EXIT}""")
    m = boot(text)
    assert m.run().reason == "poweroff"
    assert m.harts[0].x["a1"] == index_of(text, "jump") + 1


def test_csr_flip():
    n = pre() + 30
    m = boot(INCREMENTS)
    m.inject_register(0, "mscratch", 8, n)
    m.run(max_instructions=n - 1)
    assert m.harts[0].csr("mscratch") == 0x55
    m.run(max_instructions=1)
    assert m.harts[0].csr("mscratch") == 0x155
    assert m.fault_status(0)["old_value"] == 0x55
    assert m.run().reason == "poweroff"
    assert m.harts[0].x["a4"] == 0x155 and m.harts[0].x["a0"] == 100


def test_second_flip_on_a_hart_waits_for_the_first():
    m = boot(INCREMENTS)
    m.inject_register(0, "a0", 1, 50)
    with pytest.raises(ValueError, match="already"):
        m.inject_register(0, "a1", 1, 60)


# ---------------------------------------------------------------------------------------------
# Fault hooks: memory flips


def poll_program(nharts: int) -> str:
    return source(f"""
    la s0, flag
    lbu s2, 0(s0)
poll:
    lbu t2, 0(s0)
    beq t2, s2, poll
    csrr a0, mcycle
    la t0, done
    li t1, 1
    amoadd.w zero, t1, (t0)
    csrr t3, mhartid
    bnez t3, park
2:  lw t1, 0(t0)
    li t2, {nharts}
    bne t1, t2, 2b
{EXIT}
park:
    wfi
    j park
""", data="flag: .word 0x5a\ndone: .word 0")


@pytest.mark.parametrize("t", [100, 101, 1000, 2501])
def test_memory_flip_at_exact_cycle(t):
    """One hart: the byte changes exactly when its clock reaches t (instruction limits stop exactly)."""
    text = poll_program(1)
    flag = sym(text, "flag")
    m = boot(text, harts=1, quantum=333)
    m.inject_memory(flag, 7, t)
    m.run(max_instructions=t - 1)
    assert m.cycle == t - 1 and m.read(flag, 1) == b"\x5a"
    m.run(max_instructions=1)
    assert m.cycle == t and m.read(flag, 1) == bytes([0x5a ^ 0x80])
    assert m.run().reason == "poweroff"
    c0 = index_of(text, "poll")             # cycle of the first poll load (straight-line prelude)
    first_seen = c0 + 2 * -(-(t - c0) // 2)  # first load at a cycle >= t (the loop is 2 instructions)
    assert m.harts[0].x["a0"] == first_seen + 2


@pytest.mark.parametrize("quantum", [1, 333])
@pytest.mark.parametrize("t", [1000, 2501])      # after both harts' first read of the flag
def test_memory_flip_seen_by_every_hart(t, quantum):
    """Two harts: the first hart to reach t sees the flip at t; a hart that runs later in the same
    round sees it from the start of its turn (the round starts at a multiple of the quantum). A flip
    does not cut rounds, so arming one does not change the interleaving before it lands."""
    text = poll_program(2)
    flag = sym(text, "flag")
    m = boot(text, harts=2, quantum=quantum)
    m.inject_memory(flag, 7, t)
    assert m.run().reason == "poweroff"
    c0 = index_of(text, "poll")

    def first_poll_at_or_after(c):
        return c0 + 2 * -(-(c - c0) // 2)
    assert m.harts[0].x["a0"] == first_poll_at_or_after(t) + 2
    assert m.harts[1].x["a0"] == first_poll_at_or_after(max(c0, (t // quantum) * quantum)) + 2


def test_code_flip_in_decoded_loop():
    """A flip in an instruction of a loop that has already run (so is decoded) changes what runs."""
    text = source(f"""
    li a0, 0
    li t0, 1000
body:
    addi a0, a0, 1
    addi t0, t0, -1
    bnez t0, body
{EXIT}""")
    body = sym(text, "body")
    m = boot(text)
    assert int.from_bytes(m.read(body, 4), "little") == 0x00150513   # addi a0, a0, 1
    t = 1500
    m.inject_memory(body + 2, 5, t)         # instruction bit 21: immediate 1 -> 3
    m.run(max_cycles=t)
    assert int.from_bytes(m.read(body, 4), "little") == 0x00350513
    h = m.harts[0]
    a0, t0, pc = h.x["a0"], h.x["t0"], h.pc
    assert 0 < a0 < 1000
    remaining = {body: t0, body + 4: t0 - 1, body + 8: t0}[pc]
    assert m.run().reason == "poweroff"
    assert h.x["a0"] == a0 + 3 * remaining


def test_memory_flip_pending_list_and_restore():
    m = boot(INCREMENTS)
    m.inject_memory(RAM_BASE + 0x3000, 0, 10_000)
    snap = m.snapshot()
    m.restore(snap)
    m.run(max_cycles=20_000)
    assert m.read(RAM_BASE + 0x3000, 1) == b"\0"     # the restore disarmed the flip


# ---------------------------------------------------------------------------------------------
# Fail-stop


def spin_forever(nharts: int) -> str:
    return source("""
    la s0, counters
    slli t0, a0, 2
    add s0, s0, t0
1:  lw t1, 0(s0)
    addi t1, t1, 1
    sw t1, 0(s0)
    j 1b
""", data=f"counters: .space {4 * nharts}")


@pytest.mark.parametrize("hart,at", [(0, 50), (1, 123), (2, 0)])
def test_failstop_stops_one_hart(hart, at):
    m = boot(spin_forever(3), harts=3, quantum=100)
    m.failstop(hart, at)
    info = m.run(max_cycles=5_000)
    assert info.reason == "cycle_limit"
    for h in m.harts:
        if h.index == hart:
            assert h.instret == at and h.state["halted"]
        else:
            assert h.instret == 5_000 and not h.state["halted"]
    pc = m.harts[hart].pc
    m.run(max_cycles=1_000)
    assert m.harts[hart].instret == at and m.harts[hart].pc == pc
    assert all(h.instret == 6_000 for h in m.harts if h.index != hart)


def test_failstop_all_harts_is_idle():
    m = boot(spin_forever(2), harts=2)
    m.failstop(0, 10)
    m.failstop(1, 20)
    assert m.run().reason == "idle"
    assert [h.instret for h in m.harts] == [10, 20]


# ---------------------------------------------------------------------------------------------
# Probes


LOOP10 = source(f"""
    li s0, 0
    li s1, 10
loop:
    addi s0, s0, 1
probe_here:
    addi s1, s1, -1
    bnez s1, loop
{EXIT}""")


def test_probe_records_cycle_hart_pc():
    m = boot(LOOP10)
    p = sym(LOOP10, "probe_here")
    m.add_probe(p)
    assert m.run().reason == "poweroff"
    hits = m.probe_hits
    first = index_of(LOOP10, "probe_here")
    assert hits == [(first + 3 * i, 0, p) for i in range(10)]


def test_probe_multihart_records_hart():
    m = boot(LOOP10, harts=2, quantum=5)
    p = sym(LOOP10, "probe_here")
    m.add_probe(p)
    m.run()
    hits = m.probe_hits
    assert {h for _, h, _ in hits} == {0, 1}
    assert all(pc == p for _, _, pc in hits)
    assert [c for c, h, _ in hits if h == 0] == [index_of(LOOP10, "probe_here") + 3 * i for i in range(10)]


def test_probe_stop_and_resume():
    m = boot(LOOP10)
    p = sym(LOOP10, "probe_here")
    m.add_probe(p, stop=True)
    stops = 0
    while True:
        info = m.run()
        if info.reason != "probe":
            break
        stops += 1
        h = m.harts[0]
        assert info.hart == 0 and h.pc == p
        assert h.x["s1"] == 10 - (stops - 1)          # stopped before the instruction ran
        assert h.x["s0"] == stops
        assert len(m.probe_hits) == stops
    assert info.reason == "poweroff" and stops == 10
    assert len(m.probe_hits) == 10 and len(set(m.probe_hits)) == 10


def test_probe_hits_read_slice_by_slice():
    # what a run reads after each stop: only the new hits, counted without copying the log
    m = boot(LOOP10)
    m.add_probe(sym(LOOP10, "probe_here"), stop=True)
    seen, got = m.probe_hit_count, []
    while m.run().reason == "probe":
        new = m.probe_hits_since(seen)
        assert len(new) == 1 and m.probe_hit_count == seen + 1
        seen += len(new)
        got += new
    assert got == m.probe_hits and m.probe_hits_since(4) == m.probe_hits[4:] and m.probe_hits_since(99) == []
    with pytest.raises(ValueError, match="start"):
        m.probe_hits_since(-1)


def test_probe_stop_then_snapshot_restore_continues():
    """A snapshot taken at a probe stop, restored: running on does not stop at the same visit again."""
    m = boot(LOOP10)
    p = sym(LOOP10, "probe_here")
    m.add_probe(p, stop=True)
    assert m.run().reason == "probe"
    snap = m.snapshot()
    first = m.run()
    o = observe(m)
    hits = m.probe_hits
    m.restore(snap)
    assert len(m.probe_hits) == 1                # the discarded run's hit is forgotten
    assert m.run() == first
    assert observe(m) == o
    assert m.probe_hits == hits and len(hits) == 2 and hits[0][0] < hits[1][0]


LOOP100 = source(f"""
    li s1, 100
loop:
probe_here:
    addi s1, s1, -1
    bnez s1, loop
{EXIT}""")


def test_restore_rolls_the_probe_log_back_to_the_snapshot():
    """A campaign restoring per run must not read the hits of runs it threw away."""
    m = boot(LOOP100)
    m.add_probe(sym(LOOP100, "probe_here"))
    m.run(max_instructions=2 * 10 + 1)
    before = m.probe_hits
    assert len(before) == 10
    snap = m.snapshot()
    m.run(max_instructions=2 * 50)
    assert len(m.probe_hits) == 60
    m.restore(snap)
    assert m.probe_hits == before
    # clearing is public, and a restore brings back what the snapshot saw
    m.clear_probe_hits()
    assert m.probe_hits == []
    m.restore(snap)
    assert m.probe_hits == before
    m.clear_probe_hits()
    empty = m.snapshot()
    m.run()
    assert len(m.probe_hits) == 90
    m.restore(empty)
    assert m.probe_hits == []


def test_memory_flip_breaks_every_harts_reservation():
    """A flip is no hart's store: the reservation of hart 0 on the word breaks too (one RAM-write path)."""
    text = source("""
    la t0, word
    lr.w a1, (t0)
1:  j 1b
""", data="word: .word 0")
    m = boot(text, harts=2)
    m.run(max_cycles=100)
    word = sym(text, "word")
    assert [h.state["reservation"] for h in m.harts] == [word, word]
    m.inject_memory(word + 2, 3, m.cycle + 10)
    m.run(max_cycles=100)
    assert [h.state["reservation"] for h in m.harts] == [None, None]
    assert m.read(word, 4) == bytes([0, 0, 8, 0])


def test_probe_on_code_the_program_rewrites():
    """A probe on an instruction the program overwrites (stale decoded slot) keeps firing."""
    m = boot(SMC)
    f = sym(SMC, "f")
    m.add_probe(f)
    assert m.run().reason == "poweroff"
    assert m.harts[0].x["s0"] == SMC_RESULT
    assert [pc for _, _, pc in m.probe_hits] == [f] * 10


def test_too_many_pending_memory_flips():
    m = Machine(ram_size=SMALL_RAM)
    for i in range(64):
        m.inject_memory(RAM_BASE + i, 0, 100 + i)
    with pytest.raises(ValueError, match="64"):
        m.inject_memory(RAM_BASE, 0, 1000)


def test_remove_probe():
    m = boot(LOOP10)
    p = sym(LOOP10, "probe_here")
    m.add_probe(p, stop=True)
    assert m.run().reason == "probe"
    m.remove_probe(p)
    assert m.run().reason == "poweroff"
    assert len(m.probe_hits) == 1


# ---------------------------------------------------------------------------------------------
# Stop reasons


def test_stop_poweroff():
    m = boot(source(EXIT))
    info = m.run()
    assert (info.reason, info.code, info.hart) == ("poweroff", 0, 0)
    assert info.instructions == 4 and info.cycles == 4


@pytest.mark.parametrize("code", [0, 1, 42, 0xFFFF])
def test_stop_fail_with_code(code):
    info = boot(source(fail_with(code))).run()
    assert (info.reason, info.code) == ("fail", code)


def test_stop_fail_reports_hart():
    text = source(f"""
    beqz a0, 1f
{fail_with(9)}
1:  j 1b
""")
    info = boot(text, harts=3).run()
    assert (info.reason, info.code, info.hart) == ("fail", 9, 1)


def test_stop_reset():
    text = source("    li t0, 0x100000\n    li t1, 0x7777\n    sw t1, 0(t0)\n1:  j 1b\n")
    assert boot(text).run().reason == "reset"


@pytest.mark.parametrize("n", [1, 2, 999, 12_345])
def test_stop_instruction_limit(n):
    m = boot(spin_forever(1))
    info = m.run(max_instructions=n)
    assert (info.reason, info.instructions) == ("instruction_limit", n)
    info = m.run(max_instructions=n)
    assert info.instructions == 2 * n


@pytest.mark.parametrize("harts", [1, 3])
def test_stop_cycle_limit(harts):
    """A cycle limit stops at the first round boundary (a multiple of the quantum here) at or after it."""
    m = boot(spin_forever(harts), harts=harts)
    info = m.run(max_cycles=2_500)
    assert (info.reason, info.cycles) == ("cycle_limit", 3_000)
    assert m.run(max_cycles=10).cycles == 4_000
    assert all(h.instret == 4_000 for h in m.harts)


@pytest.mark.parametrize("harts", [2, 4])
def test_stopping_and_resuming_never_changes_the_run(harts):
    """Cut a run anywhere, by cycles or instructions, as often as you like: it ends in the same state
    as the uninterrupted run (the interleaving of harts and the points where interrupts are taken do
    not depend on where a run was stopped)."""
    text = multihart(harts, iters=60, period=23)
    ref = boot(text, harts=harts, quantum=97)
    assert ref.run().reason == "poweroff"
    m = boot(text, harts=harts, quantum=97)
    cuts = [dict(max_cycles=333), dict(max_instructions=1), dict(max_cycles=100_001), dict(max_instructions=77),
            dict(max_instructions=12_345), dict(max_cycles=7)] * 3
    for kw in cuts:
        if m.run(**kw).reason == "poweroff":
            break
    assert m.run().reason == "poweroff"
    assert m.state_hash() == ref.state_hash() and m.cycle == ref.cycle


def test_an_armed_fault_that_is_masked_leaves_the_run_unchanged():
    """Arming a register flip cuts the hart's chunk at the flip; when the flipped register is
    overwritten before it is read, the run is identical to the fault-free one."""
    text = multihart(2, iters=40, period=23)
    ref = boot(text, harts=2, quantum=97)
    assert ref.run().reason == "poweroff"
    masked = 0
    for at in range(ref.harts[1].instret // 2, ref.harts[1].instret // 2 + 12):
        m = boot(text, harts=2, quantum=97)
        m.inject_register(1, "t2", 3, at=at, stop_on_masked=False)
        assert m.run().reason == "poweroff"
        if m.fault_status(1)["result"] == "overwritten":
            masked += 1
            assert m.state_hash() == ref.state_hash(), f"flip at {at} was masked but changed the run"
    assert masked >= 3          # t2 is dead at most points of the spin loop


@pytest.mark.parametrize("harts", [1, 4])
def test_stop_idle(harts):
    m = boot(source("    csrw mie, zero\n1:  wfi\n    j 1b\n"), harts=harts)
    info = m.run()
    assert info.reason == "idle"
    assert all(h.state["wfi"] for h in m.harts)
    assert info.instructions == 2 * harts


def test_wfi_with_timer_is_not_idle():
    """WFI with a timer armed: time jumps to the timer, the interrupt is taken, the program ends."""
    text = source(f"""
    la t0, handler
    csrw mtvec, t0
    li t0, {MTIMECMP:#x}
    li t1, 100000
    sw t1, 0(t0)
    sw zero, 4(t0)
    li t0, 0x80
    csrw mie, t0
    csrsi mstatus, 8
1:  wfi
    j 1b
handler:
{EXIT}""")
    m = boot(text)
    info = m.run()
    assert info.reason == "poweroff"
    assert info.cycles >= 1_000_000 and info.instructions < 50


# ---------------------------------------------------------------------------------------------
# Bad input


def elf64_x86() -> bytes:
    """A minimal, valid ELF64 x86-64 executable header with no program headers."""
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    return ident + struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, 0x401000, 0, 0, 0, 64, 56, 0, 64, 0, 0)


def elf32(machine: int, endian: int = 1) -> bytes:
    ident = b"\x7fELF" + bytes([1, endian, 1, 0]) + bytes(8)
    fmt = ("<" if endian == 1 else ">") + "HHIIIIIHHHHHH"
    return ident + struct.pack(fmt, 2, machine, 1, 0x80000000, 0, 0, 0, 52, 32, 0, 40, 0, 0)


@pytest.mark.parametrize("kind", ["x86-64", "elf32-i386", "rv32-big-endian", "garbage", "empty", "truncated"])
def test_load_elf_rejects_non_rv32(tmp_path, kind):
    data = {"x86-64": elf64_x86(), "elf32-i386": elf32(3), "rv32-big-endian": elf32(243, 2),
            "garbage": b"hello world, not an ELF" * 10, "empty": b"",
            "truncated": build(source(EXIT)).read_bytes()[:30]}[kind]
    path = tmp_path / f"{kind}.elf"
    path.write_bytes(data)
    m = Machine(ram_size=SMALL_RAM)
    before = m.state_hash()
    with pytest.raises(ValueError) as e:
        m.load_elf(path)
    assert str(path) in str(e.value)
    assert m.state_hash() == before


def test_load_elf_x86_64_names_the_problem(tmp_path):
    path = tmp_path / "x.elf"
    path.write_bytes(elf64_x86())
    with pytest.raises(ValueError, match="RV32"):
        Machine(ram_size=SMALL_RAM).load_elf(path)


def test_load_elf_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.elf"):
        Machine(ram_size=SMALL_RAM).load_elf(tmp_path / "missing.elf")


@pytest.mark.parametrize("base", [0x1000, RAM_BASE - 0x100, RAM_BASE + SMALL_RAM - 8, RAM_BASE + SMALL_RAM])
def test_load_elf_outside_ram(base):
    elf = toolchain.build_asm(source(EXIT), base=base)
    m = Machine(ram_size=SMALL_RAM)
    before = m.state_hash()
    with pytest.raises(ValueError, match="outside RAM") as e:
        m.load_elf(elf)
    assert str(elf) in str(e.value) and "0x80000000" in str(e.value)
    assert m.state_hash() == before      # nothing half-loaded


@pytest.mark.parametrize("call", [
    lambda m, h: m.inject_register(h, "a0", 0, 1),
    lambda m, h: m.failstop(h, 1),
    lambda m, h: m.fault_status(h),
    lambda m, h: m.peek_device(0x0200_BFF8, hart=h),
])
@pytest.mark.parametrize("hart", [2, 8, -1, 1 << 40, True, "0", 0.0])
def test_bad_hart_index(call, hart):
    m = Machine(harts=2, ram_size=SMALL_RAM)
    with pytest.raises(IndexError, match=r"0\.\.1"):
        call(m, hart)


def test_bad_hart_index_on_harts_tuple():
    m = Machine(harts=2, ram_size=SMALL_RAM)
    with pytest.raises(IndexError):
        m.harts[2]


END = RAM_BASE + SMALL_RAM


@pytest.mark.parametrize("call", [
    lambda m, a: m.read(a, 4),
    lambda m, a: m.write(a, b"abcd"),
    lambda m, a: m.load(a, b"abcd"),
    lambda m, a: m.read_u32(a),
    lambda m, a: m.inject_memory(a, 0, 10),
    lambda m, a: m.add_probe(a),
])
@pytest.mark.parametrize("addr", [0, 0x1000, RAM_BASE - 4, END, END + 4096, 0xFFFF_FFFC, 1 << 32, -4])
def test_address_outside_ram(call, addr):
    m = Machine(ram_size=SMALL_RAM)
    with pytest.raises(ValueError, match=r"outside RAM \[0x80000000, 0x80100000\)"):
        call(m, addr)


@pytest.mark.parametrize("addr,n", [(END - 2, 4), (END - 1, 2), (RAM_BASE, SMALL_RAM + 1), (RAM_BASE, -1)])
def test_access_straddling_ram_end(addr, n):
    m = Machine(ram_size=SMALL_RAM)
    with pytest.raises(ValueError, match="outside RAM"):
        m.read(addr, n)
    if n > 0:
        with pytest.raises(ValueError, match="outside RAM"):
            m.write(addr, bytes(n))


def test_ram_edges_are_usable():
    m = Machine(ram_size=SMALL_RAM)
    m.write(END - 4, b"\x01\x02\x03\x04")
    assert m.read(END - 4, 4) == b"\x01\x02\x03\x04"
    assert m.read(RAM_BASE, 0) == b""
    m.inject_memory(END - 1, 7, 0)
    m.add_probe(END - 4)
    with pytest.raises(ValueError, match="aligned"):
        m.add_probe(RAM_BASE + 2)
    with pytest.raises(ValueError, match="read-only"):
        m.memory[0] = 1


@pytest.mark.parametrize("call,match", [
    (lambda m: m.inject_register(0, "a0", 32, 1), "bit"),
    (lambda m: m.inject_register(0, "a0", -1, 1), "bit"),
    (lambda m: m.inject_register(0, "a0", 1.5, 1), "bit"),
    (lambda m: m.inject_register(0, "pc", 32, 1), "bit"),
    (lambda m: m.inject_register(0, "mscratch", 40, 1), "bit"),
    (lambda m: m.inject_memory(RAM_BASE, 8, 1), "bit"),
    (lambda m: m.inject_memory(RAM_BASE, -1, 1), "bit"),
    (lambda m: m.inject_register(0, "x0", 1, 1), "x0"),
    (lambda m: m.inject_register(0, 0, 1, 1), "x0"),
    (lambda m: m.inject_register(0, "x32", 1, 1), "register"),
    (lambda m: m.inject_register(0, 32, 1, 1), "register"),
    (lambda m: m.inject_register(0, "nosuch", 1, 1), "register"),
    (lambda m: m.inject_register(0, "a0", 1, -1), "at"),
    (lambda m: m.inject_register(0, "a0", 1, 1, context={"priv": 1}), "priv"),
    (lambda m: m.inject_register(0, "a0", 1, 1, context={"mode": 0}), "context"),
    (lambda m: m.inject_register(0, "a0", 1, 1, context={"pc_range": (8, 4)}), "pc_range"),
    (lambda m: m.inject_memory(RAM_BASE, 1, -5), "at_cycle"),
    (lambda m: m.failstop(0, -1), "at"),
    (lambda m: m.run(max_instructions=0), "max_instructions"),
    (lambda m: m.run(max_cycles=-1), "max_cycles"),
    (lambda m: m.harts[0].csr("nosuch"), "CSR"),
    (lambda m: m.harts[0].csr(0x7C0), "CSR"),
    (lambda m: m.harts[0].csr(5000), "CSR"),
    (lambda m: m.harts[0].set_csr("mscratch", 1 << 32), "32 bits"),
    (lambda m: m.harts[0].x.__setitem__(5, -(1 << 32)), "32 bits"),
    (lambda m: m.peek_device(0x5000_0000), "device"),
    (lambda m: m.peek_device(0x0200_BFF8, size=3), "size"),
    (lambda m: m.plic_raise(0), "PLIC"),
    (lambda m: m.plic_raise(64), "PLIC"),
])
def test_bad_arguments(call, match):
    m = Machine(ram_size=SMALL_RAM)
    with pytest.raises(ValueError, match=match):
        call(m)
    assert m.fault_status(0)["armed"] is False


@pytest.mark.parametrize("kw,match", [
    (dict(harts=0), "harts"), (dict(harts=9), "harts"), (dict(harts=-1), "harts"), (dict(harts=1.0), "harts"),
    (dict(ram_size=4097 * 16), "ram_size"), (dict(ram_size=(1 << 20) + 1), "ram_size"), (dict(ram_size=0), "ram_size"),
    (dict(ram_size=-4096), "ram_size"), (dict(ram_size=2 << 30), "ram_size"),
    (dict(quantum=0), "quantum"), (dict(nmi_vector=1 << 32), "nmi_vector"),
])
def test_bad_machine_config(kw, match):
    with pytest.raises(ValueError, match=match):
        Machine(**{"ram_size": SMALL_RAM, **kw})


@pytest.mark.parametrize("harts", [1, 8])
def test_hart_count_limits_accepted(harts):
    m = Machine(harts=harts, ram_size=64 << 10)
    assert len(m.harts) == harts
    assert [h.x["a0"] for h in m.harts] == list(range(harts))


def test_repeated_restores_copy_only_what_each_experiment_dirtied():
    """A fault-injection campaign: one snapshot, many experiments each dirtying one different page."""
    m = boot(source("1: j 1b\n"))
    snap = m.snapshot()
    counts = []
    for i in range(6):
        m.run(max_instructions=10)
        m.inject_memory(RAM_BASE + 0x10000 + 4096 * i, 0, m.cycle)
        m.run(max_cycles=10)
        counts.append(m.restore(snap))
    assert counts == [1] * 6
