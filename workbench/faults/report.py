"""`RunReport`: what one fault-injection run found (DESIGN section 5), and its reprs."""
from __future__ import annotations

from dataclasses import dataclass

from workbench.faults.models import Fault

OUTCOMES = ("masked", "no_effect", "sdc", "undetected_failure", "recovered", "recovery_failed")
EARLY_STOPS = ("masked", "converged", "dormant")
ROW_SCALARS = ("outcome", "reason", "detected", "injection_cycle", "detection_cycle", "detection_latency_ms",
               "recovery_latency_ms", "recovery_cycles", "appvms_affected", "health_check", "success_strict",
               "success_papers", "progress_gap_ms", "peer_lost", "peer_worst_latency_us", "instructions",
               "cycles", "wall_s", "early_stop", "failed_component", "cause", "cause_detail")
# The network peer's service interruption (None in a system without a `net` AppVM)
SERVICE_SCALARS = ("peer_retransmissions", "peer_longest_gap_us")
# Columns a row has only when the run measured them (float ms each): an in-place recovery's phases
# (`phase_<name>_ms`, in phase order) and each AppVM's longest progress gap (`gap_appvm<i>_ms`).
PHASE_PREFIX, GAP_PREFIX, MS_SUFFIX = "phase_", "gap_appvm", "_ms"


def phase_column(name: str) -> str:
    return f"{PHASE_PREFIX}{name}{MS_SUFFIX}"


def gap_column(appvm: int) -> str:
    return f"{GAP_PREFIX}{appvm}{MS_SUFFIX}"


def is_measure_column(column: str) -> bool:
    """A per-phase or per-AppVM column of `RunReport.row()` (a Float64 column of the campaign table)."""
    return column.endswith(MS_SUFFIX) and (column.startswith(PHASE_PREFIX) or column.startswith(GAP_PREFIX))


@dataclass(frozen=True)
class RunReport:
    """One run. Cycles are counted from the steady snapshot on one continuous clock (a board reset
    does not set it back). `events`: ((cycle, label), ...) in order."""
    fault: Fault
    outcome: str                       # one of OUTCOMES
    reason: str | None                 # why (wrong_result, appvm_lost, timeout, overwritten, converged, ...)
    detected: str | None               # "crash", "hang" or None
    injection_cycle: int | None        # when the fault landed (None: the target never got there)
    detection_cycle: int | None
    detection_latency_ms: float | None
    recovery_latency_ms: float | None  # detection to a working system (every AppVM running again)
    recovery_cycles: int | None
    appvms_affected: int               # AppVMs whose work was lost or wrong
    health_check: bool | None          # the fresh AppVM after recovery completed (None: not run)
    success_strict: bool | None        # detected runs: no AppVM affected and recovered ("noVMF")
    success_papers: bool | None        # detected runs: <= 1 AppVM affected and the health check passed
    progress_gap_ms: tuple[float, ...] # per AppVM: longest stretch without progress while it ran
    peer_lost: int                     # requests of the network peer never answered
    peer_worst_latency_us: float | None
    instructions: int                  # simulated in this run (all harts)
    cycles: int                        # simulated in this run
    wall_s: float
    early_stop: str | None             # "masked", "converged", "dormant" or None
    events: tuple[tuple[int, str], ...]
    panic: str | None = None           # the hypervisor's panic record, when it panicked
    failed_component: str | None = None  # detected runs: "hv", "dvm" or "privvm" (Detection.component)
    cause: str | None = None           # failed recoveries: a name of include/recovery_cause_list.h
    cause_detail: str | None = None    # ... in words (the symbol, lock, domain, frame)
    phases: dict | None = None         # in-place recoveries: phase name -> ms since the previous one
    peer_retransmissions: int | None = None   # requests the peer sent again for want of a reply
    peer_longest_gap_us: float | None = None  # its longest stretch with a request outstanding, no reply

    def row(self) -> dict:
        """Flat dict for one polars row: the fault's `row()` keys, then ROW_SCALARS (progress gap: the
        largest over the AppVMs), then each AppVM's gap, each phase reached (`phase_column`), and the
        peer's SERVICE_SCALARS."""
        out = self.fault.row()
        for k in ROW_SCALARS:
            v = getattr(self, k)
            out[k] = (max(v) if v else None) if k == "progress_gap_ms" else v
        out |= {gap_column(i): float(g) for i, g in enumerate(self.progress_gap_ms)}
        out |= {phase_column(name): float(ms) for name, ms in (self.phases or {}).items()}
        out |= {k: getattr(self, k) for k in SERVICE_SCALARS}
        return out

    def summary(self):
        from workbench.display.formatting import Summary, Table
        ms = lambda v: "-" if v is None else f"{v:.3f} ms"
        facts = [("fault", str(self.fault)), ("outcome", self.outcome + (f" ({self.reason})" if self.reason else "")),
                 ("detected", self.detected or "-"),
                 ("detection latency", ms(self.detection_latency_ms)),
                 ("recovery latency", ms(self.recovery_latency_ms)),
                 ("AppVMs affected", str(self.appvms_affected)),
                 ("health check", "-" if self.health_check is None else ("ok" if self.health_check else "failed")),
                 ("success (strict / papers)", f"{_b(self.success_strict)} / {_b(self.success_papers)}"),
                 ("progress gap", ", ".join(f"{g:.1f} ms" for g in self.progress_gap_ms) or "-"),
                 ("peer", f"{self.peer_lost} lost, worst latency "
                          + ("-" if self.peer_worst_latency_us is None else f"{self.peer_worst_latency_us:.0f} us")
                          + ("" if self.peer_retransmissions is None else f", {self.peer_retransmissions} "
                             f"retransmissions, longest gap {self.peer_longest_gap_us:.0f} us")),
                 ("simulated", f"{self.cycles:,} cycles, {self.instructions:,} instructions"),
                 ("early stop", self.early_stop or "-")]
        if self.panic:
            facts.append(("panic", self.panic))
        if self.cause:
            facts.append(("cause", self.cause + (f": {self.cause_detail}" if self.cause_detail else "")))
        if self.phases:
            facts.append(("phases", ", ".join(f"{k} {v:.3f} ms" for k, v in self.phases.items())))
        from workbench.machine.clock import cycles_to_ms
        rows = tuple((f"{c:,}", f"{cycles_to_ms(c):.3f}", label) for c, label in self.events)
        return Summary(f"RunReport: {self.outcome}", tuple(facts),
                       (Table("timeline", ("cycle", "ms", "event"), rows),))

    def __repr__(self):
        from workbench.display import formatting
        return formatting.render(self.summary())

    def _repr_html_(self):
        from workbench.display import formatting_html
        return formatting_html.render(self.summary())


def _b(v) -> str:
    return "-" if v is None else ("yes" if v else "no")
