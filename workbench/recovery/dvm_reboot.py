"""dvm_reboot, the workbench's half: the driver VM's microreboot happens inside the system (the
toolstack destroys the failed DVM, the hypervisor resets its devices, a new DVM boots from its module
and the frontends reconnect: privvm/recovery/dvm_reboot.c, hv/recovery/dvm_reboot.c,
dvm/recovery/dvm_reboot.c).  Recovery latency: detection to the new DVM answering its first request
(`dvm_reboot_phase_serving`)."""
from __future__ import annotations

from workbench.recovery.inplace import InPlace


class DvmReboot(InPlace):
    name = "dvm_reboot"
    component = "dvm"
    phases = (("privvm", "dvm_reboot_phase_destroyed"), ("privvm", "dvm_reboot_phase_created"),
              ("privvm", "dvm_reboot_phase_rewired"), ("dvm", "dvm_reboot_phase_serving"))
    ready = ("dvm", "dvm_reboot_phase_serving")
