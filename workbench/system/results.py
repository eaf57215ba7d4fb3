"""What runs return: how a run ended, each AppVM's result record, a QEMU run."""
from __future__ import annotations

from dataclasses import dataclass

from workbench.machine import cycles_to_s

@dataclass(frozen=True)
class RunSummary:
    """How a `System.run` (or boot) ended."""
    reason: str            # poweroff, fail, cycle_limit, steady (boot), ... (machine.StopInfo reasons)
    code: int              # syscon code (fail 1: hypervisor panic with panic_action = poweroff-fail)
    cycles: int            # machine time at the end
    elapsed_cycles: int    # simulated cycles this call ran
    instructions: int      # retired by all harts since reset
    wall_seconds: float

    @property
    def simulated_seconds(self) -> float:
        return cycles_to_s(self.elapsed_cycles)

    @property
    def finished(self) -> bool:
        """The system stopped by itself (power off or failure), not at a limit."""
        return self.reason in ("poweroff", "fail", "reset")

    def summary(self):
        from workbench.display.formatting import Summary, cycles_text
        return Summary(f"RunSummary: {self.reason}", (
            ("ended", f"{self.reason} (code {self.code})"), ("ran", cycles_text(self.elapsed_cycles)),
            ("clock", f"{self.cycles:,} cycles"), ("instructions", f"{self.instructions:,} since reset"),
            ("wall", f"{self.wall_seconds:.2f} s")))

    def _repr_html_(self):          # a notebook shows `system.boot()`'s result; the text repr stays the dataclass's
        from workbench.display import formatting_html
        return formatting_html.render(self.summary())


@dataclass(frozen=True)
class WorkloadResult:
    """One AppVM's result record (struct wl_result), as read from its memory."""
    appvm: int
    workload: str
    state: str             # "not started", "running", "done" (from the record's magic)
    status: str            # "running", "ok", "fail"
    iterations: int
    checksum: int

    def matches(self, other: "WorkloadResult | dict") -> bool:
        """Same final record (workload, status, iterations, checksum); dicts from abi.parse_results too."""
        o = other if isinstance(other, dict) else other.__dict__
        return (self.workload, self.status, self.iterations, self.checksum) == \
            (o["workload"], o["status"], o["iterations"], o["checksum"])


def record_text(r: WorkloadResult) -> str:
    return f"{r.status} {r.iterations} 0x{r.checksum:08x}" if r.state == "done" else f"- ({r.state})"


def opt_dom(domid: int | None) -> str:
    return "-" if domid is None else f"d{domid}"


class BootError(RuntimeError):
    """The system stopped, panicked or hung before every AppVM was running its workload."""
