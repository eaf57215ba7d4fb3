"""privvm_reboot, the workbench's half: the PrivVM's microreboot happens inside the system (the
hypervisor tears down the old instance's channels and maps and reloads d0 from its module; the new
instance reattaches the kept configuration store and reconnects every domain:
hv/recovery/privvm_reboot.c, privvm/recovery/privvm_reboot.c).  Recovery done: every domain
reconnected (`privvm_reboot_phase_reconnected`)."""
from __future__ import annotations

from workbench.recovery.inplace import InPlace


class PrivvmReboot(InPlace):
    name = "privvm_reboot"
    component = "privvm"
    phases = (("hv", "teardown"), ("hv", "reload"), ("hv", "resume"), ("privvm", "reattach"),
              ("privvm", "reconnected"))
    done_phase = "reconnected"

    def microreboots(self, system) -> int:
        return int(system.types["hv"].view(system.machine, "reboots", file="privvm_reboot.c"))

    def kept_state(self, system) -> str | None:
        """The last instance found both copies of the store or of the bookkeeping wrong
        (privvm/recovery/privvm_reboot.c: `keep_corrupt`)."""
        v = system.types["privvm"].view(system.machine, "keep_corrupt")
        names = system.types["privvm"].enum("keep_corrupt_state")
        name = names.get(int(v), str(int(v)))
        return {"KEPT_OK": None, "KEPT_STORE": "the configuration store", "KEPT_BOOK": "the toolstack's bookkeeping"
                }.get(name, name)
