"""Failure detection: the one place that says what was detected, and when.

Each source is a function of the stack reached on detection, seen by a PC probe (that gives the
cycle and stops the run there, so the injector can act at once):
- the hypervisor's panic path (a machine-mode exception or failed assertion: "crash"; the watchdog
  NMI: "hang"), at the entry of `panic()`, confirmed by the panic record the hypervisor fills in;
- a user-mode fault (or a crash the guest asked for) of the DVM or the PrivVM, reported by the
  hypervisor (`dvm_crashed`, `privvm_crashed` in hv/component.c: "crash");
- a missed heartbeat: the hypervisor monitors the PrivVM (`privvm_hung`), the PrivVM monitors the DVM
  (`dvm_hung` in privvm/recovery/dvm_reboot.c): "hang".
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
    source: str                  # "hv_panic", "dvm_crash", "dvm_heartbeat", "privvm_crash", "privvm_heartbeat"
    detail: str = ""             # the panic record, when there is one
    component: str = "hv"        # the component that failed: "hv", "dvm" or "privvm"


# (image, function) -> (kind, component, source) of the component failures (the hv panic is apart)
COMPONENT_SOURCES = {
    ("hv", "dvm_crashed"): ("crash", "dvm", "dvm_crash"),
    ("privvm", "dvm_hung"): ("hang", "dvm", "dvm_heartbeat"),
    ("hv", "privvm_crashed"): ("crash", "privvm", "privvm_crash"),
    ("hv", "privvm_hung"): ("hang", "privvm", "privvm_heartbeat"),
}


class Detector:
    """Watches one run: `arm()` before it, `on_stop(stop)` after every `Machine.run` slice (returns a
    Detection the first time one happens), `finish()` at the end (fills in what the panic record
    says once the panic path has written it)."""

    def __init__(self, system):
        self.system = system
        self.panic_addr = system.types["hv"].address("panic")
        self.sources = {system.types[img].address(fn): v for (img, fn), v in COMPONENT_SOURCES.items()
                        if img in system.types}
        self.detection: Detection | None = None
        self.later: list[Detection] = []          # failures detected after the first (during recovery)
        self._seen = 0
        self._added: list[int] = []

    def arm(self) -> None:
        m = self.system.machine
        self._added = [a for a in (self.panic_addr, *self.sources) if a not in m._probes]
        for a in self._added:
            m.add_probe(a, stop=True)
        self._seen = m.probe_hit_count

    def disarm(self) -> None:
        for a in self._added:
            self.system.machine.remove_probe(a)
        self._added = []

    def on_stop(self, stop) -> Detection | None:
        """A new detection after this slice, or None."""
        m = self.system.machine
        hits = m.probe_hits_since(self._seen)
        new = [self._detection(h) for h in hits if h[2] == self.panic_addr or h[2] in self.sources]
        self._seen += len(hits)
        if self.detection is not None:
            self.later += new
            return None
        if new:
            self.detection, self.later = new[0], new[1:]
            return self.detection
        rec = self.system.hv.panic
        if rec is not None:          # panic reached without passing its entry (a jump into its middle)
            self.detection = Detection(self._kind(rec.hart), m.cycle, rec.hart, "hv_panic", str(rec))
            return self.detection
        return None

    def _detection(self, hit) -> Detection:
        cycle, hart, addr = hit
        if addr == self.panic_addr:
            return Detection(self._kind(hart), cycle, hart, "hv_panic")
        kind, component, source = self.sources[addr]
        return Detection(kind, cycle, hart, source, component=component)

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
        if d is None or d.component != "hv":
            return d
        rec = self.system.hv.panic
        if rec is not None:
            self.detection = Detection("hang" if rec.mcause == NMI_CAUSE else "crash", d.cycle, d.hart, d.source,
                                       str(rec), d.component)
        return self.detection
