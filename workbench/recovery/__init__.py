"""The Python side of the recovery mechanisms (DESIGN section 6): what the workbench does around the
stack's own recovery code once a failure is detected.

- `halt`: nothing; the hypervisor halts after its panic dump (the run ends there).
- `reboot`: a full system reboot, the baseline. The hypervisor's panic path asks the board for a
  reset (hv/recovery/recovery.c); the board's firmware (here: `System.reset_board`) clears RAM as a
  power cycle does, loads the images again and everything boots from scratch; the disk keeps its
  content. Every AppVM's unfinished work is lost. The rebooted system boots with the health check on:
  once its AppVMs are done, the toolstack creates a fresh `blk` AppVM that must complete.
- `rehype` (recovery/rehype.py): a microreboot *in place*: the stack recovers by itself and the run
  goes on. An in-place mechanism (`in_place = True`) tells the run flow (faults/run.py) which probe
  symbols mark its phases (`phase_image`, `phase_symbols`, in order; `done_phase` = recovery done),
  what to note at recovery done (`at_done`), which failure causes the finished run shows
  (`end_problems`) and how to name the cause of a failed recovery (`cause`). The DVM and PrivVM
  microreboots implement the same interface.
"""
from __future__ import annotations

from workbench.stack import abi

IMPLEMENTED = ("halt", "reboot", "rehype")


class Halt:
    name = "halt"
    attempted = False              # no recovery: rates count it as a failed recovery (reason no_recovery)
    in_place = False

    def on_reset_request(self, system) -> bool:
        """The board was asked for a reset; True if this mechanism carries on from there."""
        return False


class Reboot:
    name = "reboot"
    attempted = True
    in_place = False
    sys_flags = abi.SYS_HEALTH_CHECK   # the rebooted system runs the health check when its AppVMs end

    def on_reset_request(self, system) -> bool:
        system.reset_board(sys_flags=self.sys_flags, clear_ram=True)
        return True


def mechanism(name: str):
    """The Python half of recovery `name` (a SystemConfig.recovery value)."""
    if name == "halt":
        return Halt()
    if name == "reboot":
        return Reboot()
    if name == "rehype":
        from workbench.recovery.rehype import ReHype
        return ReHype()
    raise NotImplementedError(f"recovery {name!r} is not implemented yet; implemented: {', '.join(IMPLEMENTED)}")
