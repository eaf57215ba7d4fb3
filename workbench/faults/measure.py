"""Measurements taken along a run (the golden one too): AppVM progress gaps, the network peer's view,
AppVMs affected."""
from __future__ import annotations

from typing import NamedTuple

from workbench.machine import cycles_to_ms, cycles_to_us
from workbench.stack import abi


def affected(results, golden) -> int:
    return sum(1 for r, gr in zip(results, golden) if not (r.state == "done" and r.matches(gr)))


class PeerView(NamedTuple):
    """What the network peer saw so far: requests sent and never answered, the worst latency of an
    answered one (us), its retransmissions, its longest stretch with a request outstanding and no
    reply (us)."""
    lost: int = 0
    worst_latency_us: float | None = None
    retransmissions: int = 0
    longest_gap_us: float = 0.0

    def then(self, later: PeerView) -> PeerView:
        """This view (the streams before a board reset) followed by `later` (the new streams)."""
        worst = max((w for w in (self.worst_latency_us, later.worst_latency_us) if w is not None), default=None)
        return PeerView(self.lost + later.lost, worst, self.retransmissions + later.retransmissions,
                        max(self.longest_gap_us, later.longest_gap_us))


def peer_totals(m) -> PeerView:
    lost, worst = m.peer_unanswered()
    c = m.peer_summary()
    return PeerView(lost, cycles_to_us(float(worst)) if worst is not None else None, int(c["retransmissions"]),
                    cycles_to_us(int(c["longest_gap_cycles"])))


class ProgressGaps:
    """Each AppVM's longest stretch without progress while it runs (at slice resolution), read from
    its `wl_progress` and result record by address."""

    def __init__(self, system):
        self.system = system
        self.addrs = [(t.address(abi.PROGRESS_SYMBOL), t.address(abi.RESULT_SYMBOL))
                      for t in (system.types[f"appvm{i}"] for i in range(len(system.config.appvms)))]
        self.last = [None] * len(self.addrs)      # (progress, cycle of its last change)
        self.gap = [0] * len(self.addrs)
        self.done = [False] * len(self.addrs)
        self.sample(0)

    def sample(self, cycle: int) -> None:
        m = self.system.machine
        for i, (pa, ra) in enumerate(self.addrs):
            if self.done[i]:
                continue
            p, magic = m.read_u32(pa), m.read_u32(ra)
            if self.last[i] is None or p != self.last[i][0]:
                if self.last[i] is not None:
                    self.gap[i] = max(self.gap[i], cycle - self.last[i][1])
                self.last[i] = (p, cycle)
            if magic == abi.RESULT_MAGIC:
                self.gap[i] = max(self.gap[i], cycle - self.last[i][1])
                self.done[i] = True

    def state(self) -> tuple:
        """What `load` needs to continue from here (a golden checkpoint keeps it)."""
        return tuple(self.last), tuple(self.gap), tuple(self.done)

    def load(self, state: tuple) -> None:
        last, gap, done = state
        self.last, self.gap, self.done = list(last), list(gap), list(done)

    def result(self, end: int) -> tuple[float, ...]:
        out = []
        for i in range(len(self.addrs)):
            g = self.gap[i] if self.done[i] or self.last[i] is None else max(self.gap[i], end - self.last[i][1])
            out.append(round(cycles_to_ms(g), 6))
        return tuple(out)


def first_results(system):
    """Each AppVM's first RESULT line on the console as a WorkloadResult ("not started" if none):
    the original AppVMs' results, before the health check's fresh AppVM 0 prints its own."""
    from workbench.system.results import WorkloadResult
    first: dict[int, tuple] = {}
    for m in abi.RESULT_RE.finditer(system.console):
        first.setdefault(int(m[1]), (m[2], m[3], int(m[4]), int(m[5], 16)))
    out = []
    for i in range(len(system.config.appvms)):
        if i in first:
            wl, status, iters, checksum = first[i]
            out.append(WorkloadResult(i, wl, "done", status, iters, checksum))
        else:
            out.append(WorkloadResult(i, system.config.appvms[i], "running", "running", 0, 0))
    return tuple(out)
