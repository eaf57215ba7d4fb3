"""dvm_reboot, the workbench's half: the driver VM's microreboot happens inside the system (the
toolstack destroys the failed DVM, the hypervisor resets its devices, a new DVM boots from its module
and the frontends reconnect: privvm/recovery/dvm_reboot.c, hv/recovery/dvm_reboot.c,
dvm/recovery/dvm_reboot.c).  Recovery done, and the recovery latency's end: the new DVM has answered
a request (`dvm_reboot_phase_serving`): back serving I/O."""
from __future__ import annotations

from workbench.recovery.inplace import InPlace


class DvmReboot(InPlace):
    name = "dvm_reboot"
    component = "dvm"
    phases = (("privvm", "destroyed"), ("privvm", "created"), ("privvm", "rewired"), ("dvm", "serving"))
    done_phase = "serving"

    def microreboots(self, system) -> int:
        return int(system.types["privvm"].view(system.machine, "dvm_reboots"))
