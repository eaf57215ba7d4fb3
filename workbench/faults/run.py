"""One fault-injection run: restore the steady snapshot, arm the fault, run to the end (every AppVM
done and the system powered off), a timeout or an early stop; on detection apply the configured
recovery; classify (DESIGN section 5). `run_fault(system, fault) -> RunReport`.

Two recovery shapes after a detection: a board reset (`reboot`: the run is cut to the panic path,
then the rebooted system runs to a working state and to its end) and a recovery in place
(`rehype`, and the component microreboots: `mechanism.in_place`): the run simply goes on, the
mechanism's phase probes mark its phases (latency of each, and recovery done), then the run goes to
its end (`timeout_factor` golden lengths after recovery done) and the mechanism names the cause of a
failed recovery.  A failure of a component with no recovery of its own (DVM, PrivVM under `halt`)
ends the run as `no_recovery` (cause `component_failed` when the fault was in another component),
unless the stack hands it to the hypervisor's in-place recovery (a later hypervisor panic:
"escalated"), which the run then follows.

The machine runs in slices ending on multiples of CHECK_CYCLES (as the golden run did), so a run
whose state has become the golden run's stops at the same cycles as it: there the digests of the
state changed since the snapshot are compared (`Machine.state_hash_since`), and equal means the rest
of the run is the golden one ("converged", outcome no_effect). A register or memory flip overwritten
before it is read stops at once ("masked": the core watches the register or the byte).
"""
from __future__ import annotations

import time

from workbench.faults.detection import Detector
from workbench.faults.golden import (CHECK_CYCLES, checkpoints, golden_profile, last_access_pass, target_context,
                                     text_range)
from workbench.faults.models import CodeFlip, FailStop, Fault, MemoryFlip, RegisterFlip
from workbench.faults.measure import ProgressGaps, affected as _affected, first_results, peer_totals
from workbench.faults.report import RunReport
from workbench.machine import cycles_to_ms

DEFAULT_TIMEOUT_FACTOR = 2.0     # a run may last this many golden runs before it counts as hung
PANIC_PATH_CYCLES = 2_000_000    # after detection, time for the panic path to halt or ask for a reset (~40k cycles)
FINISHED = ("poweroff", "fail", "reset")
COMPONENT_LABELS = {"hv": "hypervisor", "dvm": "DVM", "privvm": "PrivVM"}


def run_fault(system, fault: Fault, *, timeout_factor: float = DEFAULT_TIMEOUT_FACTOR,
              convergence: bool = True, masking: bool = True, wall_budget_s: float | None = None,
              instruction_budget: int | None = None, at_end=None) -> RunReport:
    """Inject `fault` into `system` (booted to its steady state, or booted now) and report the run.
    `timeout_factor`: the run is cut (undetected_failure, timeout) after this many golden-run lengths;
    `convergence`: compare with the golden run at checkpoints and stop early when equal; `masking`: stop
    early when a flipped register or memory byte is overwritten before anything reads it;
    `wall_budget_s` / `instruction_budget`: the workbench's own guard, so one run cannot stall a campaign:
    a run past either is cut and recorded with reason `workbench_timeout` (undetected_failure, or
    recovery_failed once a failure was detected); `at_end`: called with the system where the run
    ended, before it goes back to its steady state (to look at what the report does not keep)."""
    if not isinstance(fault, Fault):
        raise TypeError(f"fault must be a RegisterFlip, CodeFlip, FailStop or MemoryFlip, got {type(fault).__name__}")
    if isinstance(timeout_factor, bool) or not isinstance(timeout_factor, (int, float)) or not 1.0 <= timeout_factor <= 100:
        raise ValueError(f"timeout_factor={timeout_factor!r} is invalid: allowed a number 1..100 (golden-run lengths)")
    for name, v in (("wall_budget_s", wall_budget_s), ("instruction_budget", instruction_budget)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0):
            raise ValueError(f"{name}={v!r} is invalid: allowed None or a positive number")
    r = _Run(system, fault, float(timeout_factor), bool(convergence), bool(masking))
    r.wall_budget_s, r.instruction_budget, r.at_end = wall_budget_s, instruction_budget, at_end
    return r.go()


class _OverBudget(Exception):
    """The workbench's per-run guard (wall clock or simulated instructions) cut the run."""


class _Run:
    wall_budget_s = instruction_budget = at_end = None

    def __init__(self, system, fault, timeout_factor, convergence, masking=True):
        from workbench.recovery import mechanisms
        self.system, self.fault = system, fault
        ctx = target_context(system, fault.target)
        if fault.hart >= system.config.harts:
            raise ValueError(f"{type(fault).__name__}.hart={fault.hart} is invalid: this configuration has harts "
                             f"0..{system.config.harts - 1}")
        if isinstance(fault, CodeFlip) and fault.addr is not None:
            lo, hi = text_range(system, fault.target)
            if not lo <= fault.addr < hi:
                raise ValueError(f"CodeFlip.addr={fault.addr:#x} is invalid: allowed None or an address in "
                                 f"{fault.target}'s code [{lo:#x}, {hi:#x})")
        self.ctx = ctx
        self.mechanisms = mechanisms(system.config)       # per component
        self.recovery = self.mechanisms["hv"]
        self.active = self.recovery                        # the mechanism at work once a failure is detected
        self.timeout_factor, self.convergence, self.masking = timeout_factor, convergence, masking
        self.golden = golden_profile(system, fault.target)
        if isinstance(fault, MemoryFlip) and masking:
            last_access_pass(system, fault.target)
        self.dormant = False
        self.events: list[tuple[int, str]] = []

    # -- the clock: run-relative cycles across board resets --

    def rel(self, cycle: int) -> int:
        return cycle + self.offset

    def event(self, cycle: int, label: str) -> None:
        self.events.append((self.rel(cycle), label))

    # -- the run --

    def go(self) -> RunReport:
        s, f, g = self.system, self.fault, self.golden
        t0 = time.perf_counter()
        s.boot()
        m = s.machine
        self.m, self.start = m, m.cycle
        self.offset = -m.cycle
        self.instr0, self.instr_done = m.instructions, 0
        self.injection = None
        self.repair = None                 # (addr, original word) of a code flip
        self.detector = Detector(s)
        self.gaps = ProgressGaps(s)
        if f.at >= g.target_counts(f.target)[f.hart]:
            # the target never executes that many instructions on that hart before the golden run
            # ends: the run is the golden one
            return self._report(t0, "no_effect", "not_reached", early=None)
        self.detector.arm()
        self.t0 = t0
        self.skipped = 0                   # target instructions of the fault's hart before the start point
        try:
            self._fast_forward()
            self._arm()
            end = self._main_phase()
            return self._finish(t0, end)
        except _OverBudget:
            self.event(m.cycle, "cut by the workbench's per-run budget")
            det = self.detector.detection
            return self._report(t0, "recovery_failed" if det is not None else "undetected_failure",
                                "workbench_timeout", affected=_affected(s.results(), g.results), det=det)
        finally:
            self.detector.disarm()
            if self.at_end is not None:
                self.at_end(s)
            s.boot()               # leave the system at its steady state, hooks disarmed

    def _fast_forward(self):
        """Until the fault fires the run is the golden run: start it at the latest golden checkpoint
        this process recorded (`golden.checkpoints`) at which the fault's hart has not yet reached
        `at`, with the progress-gap sampler as it was there; the trigger then counts the rest. Not past
        a checkpoint where the instruction budget would have cut the run (it is checked at each one)."""
        f, m, g = self.fault, self.m, self.golden
        self.hits0 = m.probe_hit_count
        self.points = checkpoints(self.system, tuple(sorted(m._probes.items())))
        budget = self.instruction_budget
        best = None
        for cycle, counts in g.counts[f.target]:
            if counts[f.hart] >= f.at:
                break
            point = self.points.get(cycle)
            if point is not None:
                if budget is not None and point[2] > budget:
                    break
                best = cycle, counts[f.hart]
        if best is not None:
            delta, gaps, _ = self.points[best[0]]
            m.restore_delta(self.system.steady_snapshot, delta)
            self.gaps.load(gaps)
            self.skipped = best[1]

    def _record_point(self):
        """Before the fault fired, at a checkpoint not recorded yet: keep the state for later runs if
        it is the golden run's (digest equal, no probe hit)."""
        m = self.m
        if m.probe_hit_count == self.hits0 and \
                m.state_hash_since(self.system.steady_snapshot) == self.golden.digests[m.cycle]:
            self.points[m.cycle] = (m.delta(self.system.steady_snapshot), self.gaps.state(),
                                    m.instructions - self.instr0)

    def _arm(self):
        f, m = self.fault, self.m
        if isinstance(f, RegisterFlip):
            m.inject_register(f.hart, f.reg, f.bit, f.at - self.skipped, context=self.ctx,
                              stop_on_masked=self.masking)
        else:
            m.arm_trigger(f.hart, f.at - self.skipped, context=self.ctx)

    def _apply_at_trigger(self):
        """The trigger stopped the run just before the target's instruction number `at`: apply the
        fault the core has no hook for."""
        f, m = self.fault, self.m
        h = m.harts[f.hart]
        if isinstance(f, FailStop):
            h.pc = 0
        elif isinstance(f, CodeFlip):
            addr = f.addr if f.addr is not None else h.pc
            word = m.read_u32(addr)
            self.repair = (addr, word)
            m.write(addr, (word ^ (1 << f.bit)).to_bytes(4, "little"))
        elif isinstance(f, MemoryFlip):
            word = f.addr & ~3
            # the write breaks LR reservations on the word, a change no read explains: watch only without one
            reserved = any(h.state["reservation"] == word for h in m.harts)
            byte = m.read(f.addr, 1)[0]
            m.write(f.addr, bytes([byte ^ (1 << f.bit)]))
            if self.masking and not reserved:
                now = min(h.cycle for h in m.harts)     # every access stamped earlier happened before the flip
                if self.golden.untouched_after(f.target, f.addr, now):
                    self.dormant = True
                else:
                    m.watch_byte(f.addr, stop_on_masked=True)

    def _guard(self):
        if self.wall_budget_s is not None and time.perf_counter() - self.t0 > self.wall_budget_s:
            raise _OverBudget()
        if self.instruction_budget is not None and \
                self.instr_done + self.m.instructions - self.instr0 > self.instruction_budget:
            raise _OverBudget()

    def _slices(self):
        """Run slice by slice (ending on multiples of CHECK_CYCLES, as the golden run did) up to
        `self.deadline`, which the caller may move; yields each slice's stop."""
        m = self.m
        while True:
            nxt = min((m.cycle // CHECK_CYCLES + 1) * CHECK_CYCLES, self.deadline)
            stop = m.run(max_cycles=max(1, nxt - m.cycle))
            self.gaps.sample(self.rel(m.cycle))
            self._guard()
            yield stop

    def _check_injected(self):
        if self.injection is None:
            st = self.m.fault_status(self.fault.hart)
            if st["fired"]:
                self.injection = st["cycle"]
                self.event(st["cycle"], f"injected: {self.fault}")

    def _main_phase(self) -> str:
        """Run until the system stops by itself, a timeout, an early stop, or (after a detection) the
        panic path halted or asked for a reset. Returns how it ended."""
        m, g = self.m, self.golden
        self.deadline = self.start + int(self.timeout_factor * g.length)
        checks_after_injection = 0
        escalation = False
        for stop in self._slices():
            if stop.reason == "trigger":
                self._check_injected()
                self._apply_at_trigger()
                if self.dormant:
                    self.event(m.cycle, "byte never accessed again in the golden run: dormant")
                    return "dormant"
                continue
            self._check_injected()
            d = self.detector.on_stop(stop)
            if (self.injection is None and d is None and stop.reason == "cycle_limit" and m.cycle in g.digests
                    and m.cycle not in self.points):
                self._record_point()
            if d is None and escalation:
                hv = next((x for x in self.detector.later if x.component == "hv"), None)
                if hv is not None:     # the stack handed the unrecovered failure to the hypervisor's recovery
                    self.event(hv.cycle, f"escalated: {hv.kind} ({hv.source}, hart {hv.hart}) starts the "
                                         f"hypervisor's recovery")
                    self.active = self.recovery
                    return "detected"
            if d is not None:
                self.det_rel = self.rel(d.cycle)
                self.event(d.cycle, f"detected: {d.kind} ({d.source}, hart {d.hart})")
                if self.repair is not None:
                    addr, word = self.repair
                    m.write(addr, word.to_bytes(4, "little"))
                    self.event(m.cycle, f"code repaired at {addr:#x}")
                mech = self.mechanisms.get(d.component, self.recovery)
                if mech.in_place:          # the run goes on: recovery inside the system
                    self.active = mech
                    on_detect = getattr(mech, "on_detect", None)
                    if on_detect is not None:
                        on_detect(self.system, d)
                    return "detected"
                # no recovery for that component: the stack may still hand the failure to the
                # hypervisor's in-place recovery (hv/component.c: a hung PrivVM under rehype)
                escalation = not mech.attempted and d.component != "hv" and self.recovery.in_place
                self.deadline = min(self.deadline, m.cycle + PANIC_PATH_CYCLES)
            if stop.reason == "masked":
                what = "byte" if isinstance(self.fault, MemoryFlip) else "register"
                self.event(m.cycle, f"{what} overwritten before read: masked")
                return "masked"
            if stop.reason in FINISHED:
                return stop.reason
            if stop.reason == "idle":
                return "idle"
            if stop.reason == "probe":
                continue
            if m.cycle >= self.deadline:
                return "timeout"
            if (self.convergence and self.injection is not None and self.detector.detection is None
                    and m.cycle in g.digests):
                checks_after_injection += 1
                # the first checkpoints after the fault, then ever sparser: a check costs ~1 ms
                if checks_after_injection & (checks_after_injection - 1) == 0 \
                        and m.state_hash_since(self.system.steady_snapshot) == g.digests[m.cycle]:
                    self.event(m.cycle, "state equal to the golden run's: converged")
                    return "converged"

    def _finish(self, t0, end) -> RunReport:
        s, m, g = self.system, self.m, self.golden
        if end == "masked":
            return self._report(t0, "masked", "overwritten", early="masked")
        if end == "dormant":
            return self._report(t0, "no_effect", "dormant", early="dormant")
        if end == "converged":
            return self._report(t0, "no_effect", "converged", early="converged")
        if end == "detected":
            return self._in_place(t0)
        det = self.detector.refine()
        if det is None:
            self.event(m.cycle, {"poweroff": "powered off", "timeout": "timeout"}.get(end, f"stopped ({end})"))
            if end == "poweroff":
                wrong = _affected(s.results(), g.results)
                if not wrong:
                    return self._report(t0, "no_effect", None)
                done = all(r.state == "done" for r in s.results())
                return self._report(t0, "sdc" if done else "undetected_failure",
                                    "wrong_result" if done else "appvm_failed", affected=wrong)
            return self._report(t0, "undetected_failure", end, affected=_affected(s.results(), g.results))
        self.panic = det.detail or None
        # AppVMs whose work is lost or wrong: not finished with the golden result by now
        affected = _affected(s.results(), g.results)
        reset_at, peer_before, instructions = m.cycle, peer_totals(m), m.instructions
        if end != "reset" or not self.recovery.on_reset_request(s):
            self.event(m.cycle, "halted" if end == "fail" else f"stopped ({end})")
            if det.component != self.fault.target and not self.mechanisms[det.component].attempted:
                # the fault spread from its target into another component, which failed first and
                # which the configuration does not recover: the target's mechanism never had a failure
                self.cause = ("component_failed", f"{COMPONENT_LABELS.get(det.component, det.component)} "
                              f"{'crashed' if det.kind == 'crash' else 'hung'} ({det.source}) after a fault in the "
                              f"{COMPONENT_LABELS.get(self.fault.target, self.fault.target)}; its recovery is 'halt'")
            return self._report(t0, "recovery_failed", "no_recovery", affected=affected, det=det)
        # the board's clock and instruction counters start again at 0: carry them over
        self.event(reset_at, "board reset: firmware reloads the images")
        self.peer_before = peer_before
        self.instr_done += instructions - self.instr0
        self.offset += reset_at
        self.instr0 = m.instructions
        return self._reboot(t0, det, affected)

    def _reboot(self, t0, det, affected) -> RunReport:
        """The board was reset and the firmware loaded the images: boot to a working system (every
        AppVM running), then run to the end with the health check."""
        s, m, g = self.system, self.m, self.golden
        self.deadline = int(self.timeout_factor * max(s.boot_summary.cycles, CHECK_CYCLES))
        ready = None
        for stop in self._slices():
            if stop.reason in FINISHED or stop.reason == "idle":
                reason = "recovery_crashed" if s.hv.panic is not None or stop.reason == "fail" else "recovery_hung"
                self.event(m.cycle, f"reboot failed ({stop.reason})")
                return self._report(t0, "recovery_failed", reason, affected=affected, det=det)
            if s._started():
                ready = m.cycle
                break
            if m.cycle >= self.deadline:
                self.event(m.cycle, "reboot did not reach a working system")
                return self._report(t0, "recovery_failed", "recovery_hung", affected=affected, det=det)
        self.event(ready, "rebooted: every AppVM running again")
        self.recovery_cycles = self.rel(ready) - self.det_rel
        s._start_peer()
        self.deadline = ready + int(self.timeout_factor * g.length)
        for stop in self._slices():
            if stop.reason != "cycle_limit" or m.cycle >= self.deadline:
                break
        health = s.types["privvm"].view(m, "health_check_result") == 1 if stop.reason == "poweroff" else False
        self.health = health
        if stop.reason != "poweroff":
            self.event(m.cycle, f"rebooted system stopped ({stop.reason if stop.reason != 'cycle_limit' else 'timeout'})")
            reason = "recovery_crashed" if s.hv.panic is not None else "recovery_hung"
            return self._report(t0, "recovery_failed", reason, affected=affected, det=det)
        self.event(m.cycle, f"health check {'ok' if health else 'failed'}; powered off")
        if affected:
            return self._report(t0, "recovery_failed", "appvm_lost", affected=affected, det=det)
        if not health:
            return self._report(t0, "recovery_failed", "health_check_failed", affected=affected, det=det)
        return self._report(t0, "recovered", None, affected=affected, det=det)

    def _in_place(self, t0) -> RunReport:
        """A recovery in place: the stack recovers by itself while the run goes on. Phase probes
        time each phase; once the done phase is reached the run goes to its end; the mechanism
        names the cause when the recovery failed."""
        s, m, g, mech = self.system, self.m, self.golden, self.active
        phases = dict((a, n) for n, a in mech.phase_symbols(s))
        first = next(iter(phases.values()))
        panic_addr = self.detector.panic_addr
        added = [a for a in phases if a not in m._probes]
        for a in added:
            m.add_probe(a, stop=True)
        seen, last, det = m.probe_hit_count, self.det_rel, self.detector.detection
        self.phases, self.crashed_at, done, stop = {}, None, None, None
        self.deadline = m.cycle + int(self.timeout_factor * g.length)
        try:
            for stop in self._slices():
                hits = m.probe_hits_since(seen)
                seen += len(hits)
                for cycle, hart, addr in hits:
                    if addr in phases:
                        name = phases[addr]
                        self.phases[name] = round(cycles_to_ms(self.rel(cycle) - last), 6)
                        last = self.rel(cycle)
                        self.event(cycle, f"{mech.name}: phase {name}")
                        if name == first:
                            det = self.detector.refine()   # the panic record, before the new instance wipes it
                        if name == mech.done_phase and done is None:
                            done = mech.at_done(s)
                            self.recovery_cycles = self.rel(cycle) - self.det_rel
                            found = ", ".join(done.get("found", ())) or "none"
                            self.event(cycle, f"{mech.name}: recovery done (hazards found: {found})")
                            self.deadline = cycle + int(self.timeout_factor * g.length)
                    elif addr == panic_addr and self.crashed_at is None and self.phases:
                        # (before the first phase, the other harts' NMIs bring them through panic()
                        # on their way to park: not a failure)
                        self.crashed_at = mech.panic_site(s, hart)
                        self.event(cycle, f"failed again at {self.crashed_at}"
                                   + (" (after recovery)" if done is not None else " (recovery path)"))
                if stop.reason in FINISHED or stop.reason == "idle" or m.cycle >= self.deadline:
                    break
                if done is not None and self.crashed_at is not None:
                    break                  # a failure after recovery: the recovery did not hold
        finally:
            for a in added:
                m.remove_probe(a)
        self.panic = det.detail or None if det is not None else None
        results = first_results(s)
        affected = _affected(results, g.results)
        end = stop.reason if stop is not None and stop.reason != "cycle_limit" else "timeout"
        self.health = s.types["privvm"].view(m, "health_check_result") == 1 if end == "poweroff" else None
        problems = mech.end_problems(s, done) if done is not None and end == "poweroff" else []
        if done is None:
            reason = "recovery_crashed" if self.crashed_at else "recovery_hung"
        elif self.crashed_at is not None:
            reason = "recovery_crashed"
        elif end != "poweroff":
            reason = "recovery_hung" if end in ("timeout", "idle") else "recovery_crashed"
        elif affected:
            reason = "appvm_lost"
        elif not self.health:
            reason = "health_check_failed"
        elif problems:
            reason = "hv_inconsistent"
        else:
            reason = None
        self.event(m.cycle, {"poweroff": "powered off", "timeout": "timeout"}.get(end, f"stopped ({end})")
                   + ("" if self.health is None else f"; health check {'ok' if self.health else 'failed'}"))
        if reason is None:
            return self._report(t0, "recovered", None, affected=affected, det=det)
        self.cause = mech.cause(crashed_at=self.crashed_at, last_phase=next(reversed(self.phases), None),
                                done=done, problems=problems, results=results, golden=g.results,
                                health=self.health)
        return self._report(t0, "recovery_failed", reason, affected=affected, det=det)

    def _report(self, t0, outcome, reason, *, early=None, affected=0, det=None) -> RunReport:
        m, g = self.m, self.golden
        ev = dict((lbl.split(":")[0], c) for c, lbl in reversed(self.events))   # first of each kind
        inj, det_cycle = ev.get("injected"), ev.get("detected")
        rec_cycles = getattr(self, "recovery_cycles", None)
        health = getattr(self, "health", None)
        if early is not None or reason == "not_reached":
            # provably the golden run from here on: its measurements are this run's
            gaps, peer = g.progress_gap_ms, g.peer
        else:
            gaps, peer = self.gaps.result(self.rel(m.cycle)), peer_totals(m)
            if hasattr(self, "peer_before"):        # the original streams, before a board reset
                peer = self.peer_before.then(peer)
        net = "net" in self.system.config.appvms
        strict = papers = None
        if det is not None:
            strict = outcome == "recovered"
            papers = health is True and affected <= 1 and reason in (None, "appvm_lost")
        cause, cause_detail = getattr(self, "cause", (None, None))
        if outcome == "recovery_failed" and cause is None:
            cause, cause_detail = ("recovery_crashed" if reason == "recovery_crashed" else
                                   "recovery_hung" if reason == "recovery_hung" else
                                   "appvm_lost" if reason == "appvm_lost" else
                                   "health_check_failed" if reason == "health_check_failed" else "other"), reason
        return RunReport(
            fault=self.fault, outcome=outcome, reason=reason, detected=det.kind if det else None,
            injection_cycle=inj, detection_cycle=det_cycle,
            detection_latency_ms=cycles_to_ms(det_cycle - inj) if det_cycle is not None and inj is not None else None,
            recovery_latency_ms=None if rec_cycles is None else cycles_to_ms(rec_cycles), recovery_cycles=rec_cycles,
            appvms_affected=affected, health_check=health, success_strict=strict, success_papers=papers,
            progress_gap_ms=gaps, peer_lost=peer.lost, peer_worst_latency_us=peer.worst_latency_us,
            peer_retransmissions=peer.retransmissions if net else None,
            peer_longest_gap_us=peer.longest_gap_us if net else None,
            instructions=self.instr_done + m.instructions - self.instr0, cycles=self.rel(m.cycle),
            wall_s=time.perf_counter() - t0, early_stop=early, events=tuple(self.events),
            panic=getattr(self, "panic", None), cause=cause, cause_detail=cause_detail or None,
            phases=dict(getattr(self, "phases", {})), failed_component=det.component if det else None)
