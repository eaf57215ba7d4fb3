"""Fault models, one run and its classification, early stops, detection, the halt and reboot baselines."""
from __future__ import annotations

import dataclasses

import pytest

from workbench.faults import (CodeFlip, FailStop, FaultSpace, MemoryFlip, RegisterFlip, RunReport, fault_from_row,
                              run_fault)
from workbench.faults.golden import golden_profile, live_ranges
from workbench.machine.machine import ABI_NAMES
from workbench.system import System, SystemConfig

OPCODE_WRITES_ONLY_RD = {0x37: "lui", 0x17: "auipc", 0x6F: "jal"}    # write rd, read no register
LOAD_STORE = {0x03, 0x23}


@pytest.fixture(scope="module")
def system():
    s = System(SystemConfig())
    s.boot()
    return s


def instruction_at(system, target, hart, at):
    """(pc, word) of the instruction the target runs as its number `at` on `hart` (golden run)."""
    from workbench.faults.golden import target_context
    m = system.machine
    system.boot()
    m.arm_trigger(hart, at, target_context(system, target))
    while m.run(max_cycles=1_000_000).reason != "trigger":
        pass
    pc = m.harts[hart].pc
    word = m.read_u32(pc)
    system.boot()
    return pc, word


def find_at(system, hart, pred, start=2000, n=400):
    for at in range(start, start + n):
        pc, word = instruction_at(system, "hv", hart, at)
        if pred(word):
            return at, word
    raise AssertionError("no such instruction in the window")


def test_failstop_of_hv_is_detected_at_once(system):
    g = golden_profile(system, "hv")
    for hart in (0, 1):
        for at in (0, 12_345, g.target_counts("hv")[hart] // 3):
            r = system.inject(FailStop("hv", at, hart=hart))
            assert r.detected == "crash" and r.outcome == "recovery_failed" and r.reason == "no_recovery"
            assert r.injection_cycle is not None and r.detection_cycle - r.injection_cycle < 1_000
            assert r.success_strict is False and r.success_papers is False
            assert "mepc 0x00000000" in r.panic
            assert [lbl.split(":")[0] for _, lbl in r.events][:2] == ["injected", "detected"]


def test_register_overwritten_before_read_is_masked(system):
    at, word = find_at(system, 0, lambda w: (w & 0x7F) in OPCODE_WRITES_ONLY_RD and (w >> 7) & 31)
    rd = ABI_NAMES[(word >> 7) & 31]
    r = system.inject(RegisterFlip("hv", at, rd, 7))
    assert (r.outcome, r.reason, r.early_stop) == ("masked", "overwritten", "masked")
    assert r.cycles < golden_profile(system).length // 10


def scratch_flip(system):
    # percpu[0].scratch[0] holds t0 during trap entry: the next trap overwrites it before any read
    # (flipped outside a trap entry, between its store and its load of that word)
    t = system.types["hv"]
    lo, hi = t.address("trap_vector"), t.address("trap_frame_saved")
    at = next(a for a in range(1_000, 3_000) if not lo <= instruction_at(system, "hv", 0, a)[0] < hi)
    return MemoryFlip("hv", at, t.address("percpu") + t.offset("percpu", "scratch"), 5)


def test_memory_flip_overwritten_before_read_is_masked(system):
    r = system.inject(scratch_flip(system))
    assert (r.outcome, r.reason, r.early_stop) == ("masked", "overwritten", "masked")
    assert r.cycles < golden_profile(system).length // 10
    assert any("byte overwritten before read" in lbl for _, lbl in r.events)
    # the same fault without early stops runs to the end: the golden run, so the early stop was right
    full = run_fault(system, scratch_flip(system), masking=False, convergence=False)
    assert (full.outcome, full.reason, full.early_stop) == ("no_effect", None, None)
    assert full.cycles >= golden_profile(system).length and full.appvms_affected == 0
    assert full.progress_gap_ms == r.progress_gap_ms


def test_byte_watch_reports_without_stopping_and_ends_at_restore(system):
    m = system.machine
    system.boot()
    # hart 1's scratch word: at the steady snapshot hart 1 runs a guest (hart 0 is inside a trap
    # entry, between its store of the word and its load), so the next access is the next trap's store
    t = system.types["hv"]
    m.watch_byte(t.address("percpu") + t.type("percpu").size + t.offset("percpu", "scratch"), stop_on_masked=False)
    assert m.run(max_cycles=2_000_000).reason == "cycle_limit"
    st = m.watch_status()
    assert st["result"] == "overwritten" and not st["watching"] and st["cycle"] > 0
    system.boot()                                     # a restore ends any watch
    assert m.watch_status()["watching"] is False
    with pytest.raises(ValueError, match="stop_on_masked"):
        m.watch_byte(scratch_flip(system).addr, stop_on_masked=1)


def test_converging_fault_is_no_effect_and_stopped_early(system):
    r = run_fault(system, scratch_flip(system), masking=False)
    assert (r.outcome, r.reason, r.early_stop) == ("no_effect", "converged", "converged")
    assert r.cycles < golden_profile(system).length // 4
    assert r.appvms_affected == 0 and r.detected is None


def test_bad_pointer_in_hv_is_a_detected_crash(system):
    # sp used as a base address in hypervisor C code: with bit 30 flipped it points outside RAM.
    # (Inside the trap entry sp is the percpu pointer and mscratch the guest's sp, so the same flip
    # there leaves no trustworthy base: that case ends as a watchdog hang, not this test's subject.)
    entry = system.types["hv"].address("trap_vector")
    c_code = lambda pc: not entry <= pc < entry + 0x200
    at = next(a for a in range(2000, 6000)
              if c_code((iw := instruction_at(system, "hv", 0, a))[0])
              and (iw[1] & 0x7F) in LOAD_STORE and (iw[1] >> 15) & 31 == 2)
    r = system.inject(RegisterFlip("hv", at, "sp", 30))
    assert r.detected == "crash" and r.outcome == "recovery_failed"
    assert "mtval 0xc" in r.panic or "mtval 0x4" in r.panic       # the address it tried
    assert r.detection_latency_ms is not None and r.detection_latency_ms < 1.0


def test_code_flip_never_executed_is_no_effect(system):
    nmi_trap = system.types["hv"].address("nmi_trap")       # no watchdog NMI in a fault-free run
    r = system.inject(CodeFlip("hv", 5_000, 3, addr=nmi_trap + 4))
    assert r.outcome == "no_effect" and r.detected is None and r.appvms_affected == 0


def test_same_fault_twice_gives_the_same_report(system):
    for f in (RegisterFlip("hv", 40_000, "a5", 2, hart=1), CodeFlip("hv", 77_777, 20),
              MemoryFlip("hv", 3_000, live_ranges(system, "hv")[0][0], 1)):
        a, b = (dataclasses.replace(system.inject(f), wall_s=0.0) for _ in range(2))
        assert a == b and repr(a) == repr(b)


def test_run_started_at_a_golden_checkpoint_reports_the_same(system, monkeypatch):
    """A run records the golden run's checkpoints it passes before its fault fires; the same fault run
    again starts at the latest of them (a delta restore) and reports exactly the same."""
    from workbench.faults import golden
    late = golden_profile(system, "hv").target_counts("hv")[1] * 2 // 3
    m, starts = system.machine, []
    real = m.restore_delta
    monkeypatch.setattr(m, "restore_delta", lambda snap, d: (starts.append(d[0]), real(snap, d))[1])
    for f in (RegisterFlip("hv", late, "a5", 2, hart=1), CodeFlip("hv", late, 20, hart=1),
              FailStop("hv", late, hart=1), MemoryFlip("hv", late, live_ranges(system, "hv")[0][0], 1, hart=1)):
        golden._checkpoints.pop(system, None)
        a = dataclasses.replace(system.inject(f), wall_s=0.0)
        assert not starts and any(golden._checkpoints[system][1].values()), "the first run recorded checkpoints"
        b = dataclasses.replace(system.inject(f), wall_s=0.0)
        assert len(starts) == 1 and a == b and repr(a) == repr(b)
        starts.clear()
    # the instruction budget is checked at every checkpoint: a run is not started past one where it cuts
    f = FailStop("hv", late, hart=1)
    golden._checkpoints.pop(system, None)
    a = dataclasses.replace(system.inject(f, instruction_budget=2_000_000), wall_s=0.0)
    system.inject(f)                  # records the checkpoints up to the fault
    b = dataclasses.replace(system.inject(f, instruction_budget=2_000_000), wall_s=0.0)
    assert a.reason == "workbench_timeout" and a == b


def test_reboot_baseline_loses_appvm_work_and_measures_recovery():
    s = System(SystemConfig(recovery="reboot"))
    r = s.inject(FailStop("hv", 20_000))
    assert (r.outcome, r.reason, r.detected) == ("recovery_failed", "appvm_lost", "crash")
    assert r.appvms_affected == 3 and r.health_check is True
    assert r.recovery_cycles > 0 and r.recovery_latency_ms > 0
    assert r.success_strict is False and r.success_papers is False
    labels = [lbl for _, lbl in r.events]
    assert any(lbl.startswith("board reset") for lbl in labels) and any("health check ok" in lbl for lbl in labels)
    cycles = [c for c, _ in r.events]
    assert cycles == sorted(cycles)


def test_not_reached_is_no_effect_without_running(system):
    total = golden_profile(system, "privvm").target_counts("privvm")[1]     # the PrivVM runs on hart 0 only
    r = system.inject(RegisterFlip("privvm", total + 10, "a0", 1, hart=1))
    assert (r.outcome, r.reason, r.instructions) == ("no_effect", "not_reached", 0)


@pytest.mark.parametrize("make, field", [
    (lambda: RegisterFlip("hv", 1, "x0", 1), "RegisterFlip.reg"),
    (lambda: RegisterFlip("hv", 1, "a0", 32), "RegisterFlip.bit"),
    (lambda: RegisterFlip("xen", 1, "a0", 1), "RegisterFlip.target"),
    (lambda: FailStop("hv", -1), "FailStop.at"),
    (lambda: FailStop("hv", 1, hart=9), "FailStop.hart"),
    (lambda: CodeFlip("hv", 1, 1, addr=0x8000_0002), "CodeFlip.addr"),
    (lambda: MemoryFlip("hv", 1, 0x10, 1), "MemoryFlip.addr"),
    (lambda: MemoryFlip("hv", 1, 0x8000_0000, 8), "MemoryFlip.bit"),
    (lambda: FaultSpace("hv", ("reg", "bogus")), "FaultSpace.fault_types"),
    (lambda: FaultSpace("hv", window=(0.5, 0.2)), "FaultSpace.window"),
    (lambda: fault_from_row({"fault_type": "nope"}), "fault_type"),
])
def test_invalid_fields_name_themselves(make, field):
    with pytest.raises(ValueError, match=rf"{field}=.*allowed"):
        make()


def test_invalid_for_the_configuration(system):
    with pytest.raises(ValueError, match="appvm:7"):
        system.inject(FailStop("appvm:7", 1))
    with pytest.raises(ValueError, match="hart=3"):
        system.inject(FailStop("hv", 1, hart=3))
    with pytest.raises(ValueError, match="timeout_factor"):
        run_fault(system, FailStop("hv", 1), timeout_factor=0)


def test_fault_space_samples_deterministically_inside_the_window(system):
    space = FaultSpace("hv", ("reg", "code", "failstop", "mem"))
    a, b = space.sample(system, 60, seed=7), space.sample(system, 60, seed=7)
    assert a == b and a != space.sample(system, 60, seed=8)
    assert {f.kind for f in a} == {"reg", "code", "failstop", "mem"}
    spans = {h: (lo, hi) for h, lo, hi in space.at_ranges(system)}
    ranges = live_ranges(system, "hv")
    for f in a:
        assert spans[f.hart][0] <= f.at < spans[f.hart][1]
        assert fault_from_row(f.row()) == f
        if f.kind == "mem":
            assert any(lo <= f.addr < hi for lo, hi in ranges)


def test_fault_space_enumerates_a_small_window(system):
    space = FaultSpace("hv", ("failstop", "code"), window=(100, 103))
    faults = space.enumerate(system)
    assert len(faults) == space.size(system) == 2 * 3 * (1 + 32)      # 2 harts x 3 instructions
    assert len(set(faults)) == len(faults)
    with pytest.raises(ValueError, match="max_faults"):
        FaultSpace("hv", ("reg",), window=(0, 1000)).enumerate(system, max_faults=1000)


def test_report_row_and_reprs(system):
    from html_text import VisibleText
    r = system.inject(FailStop("hv", 500))
    row = r.row()
    assert {"target", "fault_type", "hart", "at", "reg", "bit", "addr", "outcome", "reason", "detected",
            "detection_latency_ms", "recovery_latency_ms", "instructions", "wall_s"} <= set(row)
    assert row["fault_type"] == "failstop" and row["reg"] is None and isinstance(row["progress_gap_ms"], float)
    text, html = repr(r), r._repr_html_()
    assert "timeline" in text and "detected: crash" in text
    parser = VisibleText()
    parser.feed(html)
    assert "detected: crash (hv_panic, hart 0)" in parser.parts and r.summary().strings()
    assert isinstance(r, RunReport)


def test_per_run_guard_records_a_cut_run(system):
    # a byte nobody reads (the percpu block of a hart this system does not have): with no early stop,
    # the run would go on to the golden run's end, so only the budget ends it
    t = system.types["hv"]
    unused = t.address("percpu") + t.type("percpu").size * 7 + 4     # percpu[7].scratch[1]
    f = MemoryFlip("hv", 40_000, unused, 2)
    r = run_fault(system, f, instruction_budget=1_000_000, convergence=False, masking=False)
    assert r.reason == "workbench_timeout" and r.outcome in ("undetected_failure", "recovery_failed")
    assert 1_000_000 < r.instructions < golden_profile(system).length
    assert any("per-run budget" in lbl for _, lbl in r.events)
    r = run_fault(system, f, wall_budget_s=1e-6, convergence=False, masking=False)
    assert r.reason == "workbench_timeout"
    with pytest.raises(ValueError, match="instruction_budget"):
        run_fault(system, f, instruction_budget=0)


def test_memory_flip_never_accessed_again_is_dormant(system):
    from workbench.faults.golden import last_access_pass
    last_access_pass(system, "hv")
    lo, last = golden_profile(system, "hv").last_access["hv"]
    addr = next(a for a0, a1 in live_ranges(system, "hv") for a in range(a0, a1) if last[a - lo] == 0)
    f = MemoryFlip("hv", 5_000, addr, 3)
    r = system.inject(f)
    assert (r.outcome, r.reason, r.early_stop) == ("no_effect", "dormant", "dormant")
    # the same fault without early stops: runs to the end with the golden results
    full = run_fault(system, f, masking=False, convergence=False)
    assert (full.outcome, full.early_stop, full.appvms_affected) == ("no_effect", None, 0)
    assert full.cycles >= golden_profile(system).length > 10 * r.cycles
    # a byte the golden run keeps accessing is not dormant
    busy = scratch_flip(system)
    assert not golden_profile(system, "hv").untouched_after("hv", busy.addr, 0)


def test_lock_flip_hangs_the_hv_and_the_watchdog_detects_it(system):
    # console_lock.locked set while free: the next hart to print spins on it with interrupts off
    r = system.inject(MemoryFlip("hv", 1_000, system.types["hv"].address("console_lock"), 0))
    assert r.detected == "hang" and (r.outcome, r.reason) == ("recovery_failed", "no_recovery")
    assert r.injection_cycle < r.detection_cycle < golden_profile(system).length
    assert r.detection_latency_ms > 0 and "watchdog NMI" in r.panic
    assert [lbl.split(":")[0] for _, lbl in r.events][:2] == ["injected", "detected"]
    assert any(lbl.startswith("detected: hang") for _, lbl in r.events)
