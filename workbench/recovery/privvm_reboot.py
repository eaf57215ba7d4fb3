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
