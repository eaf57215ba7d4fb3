"""Failure detection: the one place that says what was detected, and when.

Today: the hypervisor's panic path (a machine-mode exception or failed assertion: "crash"; the
watchdog NMI: "hang"), seen at the entry of `panic()` by a PC probe (that gives the cycle and stops
the run there, so the injector can act at once) and confirmed by the panic record the hypervisor
fills in. Later issues add the DVM's and PrivVM's failures (a user-mode fault reported by the
hypervisor, a missed heartbeat) here, as more `Detection` sources.
"""
from __future__ import annotations

from dataclasses import dataclass

NMI_CAUSE = 0x8000_0000          # mcause the hypervisor records for a watchdog NMI (Smrnmi's mncause)
DETECTED = ("crash", "hang")


@dataclass(frozen=True)
class Detection:
    kind: str                    # "crash" or "hang"
    cycle: int                   # machine cycle (absolute) at which the failure was detected
    hart: int
    source: str                  # "hv_panic" (later: "dvm_crash", "privvm_heartbeat", ...)
    detail: str = ""             # the panic record, when there is one


class Detector:
    """Watches one run: `arm()` before it, `on_stop(stop)` after every `Machine.run` slice (returns a
    Detection the first time one happens), `finish()` at the end (fills in what the panic record
    says once the panic path has written it)."""

    def __init__(self, system):
        self.system = system
        self.panic_addr = system.types["hv"].address("panic")
        self.detection: Detection | None = None
        self._seen = 0
        self._added = False

    def arm(self) -> None:
        m = self.system.machine
        self._added = self.panic_addr not in m._probes
        if self._added:
            m.add_probe(self.panic_addr, stop=True)
        self._seen = len(m.probe_hits)

    def disarm(self) -> None:
        if self._added:
            self.system.machine.remove_probe(self.panic_addr)
            self._added = False

    def on_stop(self, stop) -> Detection | None:
        """A new detection after this slice, or None."""
        if self.detection is not None:
            return None
        m = self.system.machine
        hits = m.probe_hits
        new = [h for h in hits[self._seen:] if h[2] == self.panic_addr]
        self._seen = len(hits)
        if new:
            cycle, hart, _ = new[0]
            self.detection = Detection(self._kind(hart), cycle, hart, "hv_panic")
            return self.detection
        rec = self.system.hv.panic
        if rec is not None:          # panic reached without passing its entry (a jump into its middle)
            self.detection = Detection(self._kind(rec.hart), m.cycle, rec.hart, "hv_panic", str(rec))
            return self.detection
        return None

    def _kind(self, hart: int) -> str:
        """At the probe the record is not written yet: the cause the hart's trap entry saved in its
        percpu (nmi_trap saves mncause there) tells a watchdog NMI."""
        types = self.system.types["hv"]
        try:
            cause = types.view(self.system.machine, "percpu")[hart].mcause
        except (IndexError, ValueError):
            cause = None
        return "hang" if cause == NMI_CAUSE else "crash"

    def refine(self) -> Detection | None:
        """Once the panic path has run: kind and detail from the panic record (NMI -> hang)."""
        d = self.detection
        if d is None:
            return None
        rec = self.system.hv.panic
        if rec is not None:
            self.detection = Detection("hang" if rec.mcause == NMI_CAUSE else "crash", d.cycle, d.hart, d.source,
                                       str(rec))
        return self.detection
