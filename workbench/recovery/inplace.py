"""What the workbench does around a recovery that happens inside the running system (in place: no
board reset), shared by the component microreboots (dvm_reboot, privvm_reboot).

On detection the mechanism asks for the health check (DESIGN section 5: once the AppVMs are done the
toolstack creates a fresh AppVM that must run to completion), by setting SYS_HEALTH_CHECK where the
PrivVM reads it (its start info, and the hypervisor's boot configuration a rebooted PrivVM's start
info is filled from), and the run goes on.  Its progress is seen through phase marks: out-of-line
functions `<mechanism>_phase_<name>` in the image that runs that part, probed without stopping;
`ready` is the phase that ends the recovery latency (detection to "serving again").  `cause`: why a
recovery failed, as far as the phases tell (the last phase reached).
"""
from __future__ import annotations

from workbench.stack import abi


class InPlace:
    name = ""
    component = ""
    attempted = True
    in_place = True
    phases: tuple[tuple[str, str], ...] = ()     # (image key in system.types, function), in order
    ready: tuple[str, str] | None = None

    def on_reset_request(self, system) -> bool:
        return False

    def probe_addresses(self, system) -> dict[int, str]:
        """Address -> phase function, for the phases whose image this system has."""
        return {system.types[img].address(fn): fn for img, fn in self.phases if img in system.types}

    def on_detect(self, system, detection) -> None:
        """The failure was detected (the run is stopped there): ask for the health check."""
        hv, m = system.types["hv"], system.machine
        for addr in (hv.address("hv") + hv.offset("hv_config", "bi.sys.flags"),
                     abi.P["SLOTS_BASE"] + abi.P["SLOT_PRIVVM"] * abi.P["SLOT_SIZE"]
                     + hv.offset("shared_info", "start.sys.flags")):
            m.write(addr, (m.read_u32(addr) | abi.SYS_HEALTH_CHECK).to_bytes(4, "little"))

    def cause(self, reached: list[str]) -> str:
        """Why a recovery failed: the first phase it never reached (or that it reached them all)."""
        for _, fn in self.phases:
            if fn not in reached:
                return f"before {fn}"
        return "after every phase"
