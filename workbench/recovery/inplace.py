"""What the component microreboots (dvm_reboot, privvm_reboot) share: the in-place interface of
faults/run.py (`in_place`, `phase_symbols`, `done_phase`, `at_done`, `end_problems`, `panic_site`,
`cause`; see recovery/__init__.py), for phases marked in more than one image.

Phase marks are out-of-line functions `<mechanism>_phase_<name>` in the image that runs that part
(the hypervisor, the PrivVM, the DVM), listed in order in `phases`; `done_phase` ends the recovery
latency.  The health check (DESIGN section 5: once the AppVMs are done the toolstack creates a fresh
AppVM that must run to completion) is the stack's own doing: the PrivVM runs it after a DVM
microreboot (its toolstack counts them) or its own (the hypervisor counts those in its start info);
the workbench never writes the simulated state.
"""
from __future__ import annotations



class InPlace:
    name = ""
    component = ""
    attempted = True
    in_place = True
    phases: tuple[tuple[str, str], ...] = ()     # (image key in system.types, phase name), in order
    done_phase = ""

    def __init__(self):
        self.results_at_detection = None
        self.system = None

    def microreboots(self, system) -> int:
        """How many microreboots of the component the system has made (the stack's own count)."""
        return 0

    def kept_state(self, system) -> str | None:
        """What of the component's kept state its new instance found corrupt beyond repair, if any."""
        return None

    def on_reset_request(self, system) -> bool:
        return False                   # recovers inside the running system: never resets the board

    def phase_symbols(self, system) -> tuple[tuple[str, int], ...]:
        """((phase name, probe address), ...) in phase order, for the images this system has."""
        return tuple((n, system.types[img].address(f"{self.name}_phase_{n}")) for img, n in self.phases
                     if img in system.types)

    def on_detect(self, system, detection) -> None:
        """The failure was detected (the run is stopped there): note the AppVMs' results. (The
        health check needs no help: the PrivVM runs it after any microreboot it knows of.)"""
        self.results_at_detection = system.results()
        self.system = system

    def at_done(self, system) -> dict:
        return {}

    def end_problems(self, system, done: dict) -> list[tuple[str, str]]:
        return []

    def panic_site(self, system, hart: int) -> str:
        """The hypervisor failed during or after this recovery: where (as ReHype names it)."""
        from workbench.recovery.rehype import ReHype
        return ReHype.panic_site(self, system, hart)

    def cause(self, *, crashed_at: str | None, last_phase: str | None, done: dict | None,
              problems: list[tuple[str, str]], results=(), golden=(), health: bool | None) -> tuple[str, str]:
        """The cause of a failed recovery (a name of recovery_cause_list.h) and its detail."""
        # run.py passes the AppVMs' results since main's 1a9e869 (as ReHype.cause takes them)
        wrong = sum(1 for r, g in zip(results, golden) if r.state == "done" and not r.matches(g))
        affected = sum(1 for r, g in zip(results, golden) if not (r.state == "done" and r.matches(g)))
        s = self.system
        kept = self.kept_state(s) if s is not None else None
        if kept:
            return "kept_state_corrupt", kept
        if done is None:
            if crashed_at:
                return "recovery_crashed", crashed_at
            return "recovery_hung", f"after phase {last_phase}" if last_phase else "no phase reached"
        if crashed_at:
            return "recovery_crashed", f"after recovery, at {crashed_at}"
        n = self.microreboots(s) if s is not None else 0
        if n > 1 and health is None and not affected:
            return "recovery_hung", f"the {self.component} failed again after recovery ({n} microreboots)"
        early = sum(1 for r in self.results_at_detection or () if r.state == "done" and r.status != "ok")
        if wrong or affected:
            what = "appvm_wrong" if wrong else "appvm_lost"
            n = wrong or affected
            return what, (f"{early} AppVM(s) had already failed when the {self.component} failure was detected"
                          if early else f"{n} AppVM(s)")
        if health is False:
            return "health_check_failed", ""
        return "other", ""
