"""`System`: a `SystemConfig` -> a booted virtualized system on the machine model (DESIGN sections 4, 7).

    system = System(SystemConfig(harts=2, appvms=("hcall", "compute", "hcall")))
    system.boot()            # runs to steady state: every AppVM runs its workload; snapshot kept
    system.run()             # to the end (the PrivVM powers off when every AppVM is done)
    system.results()         # each AppVM's result record, read from RAM through DWARF
    system.golden()          # the fault-free results from the steady snapshot (memoised)
    system.hv, system.privvm, system.appvms[i]    # live component views (views/)
    system.dump_c("evtchn")  # the hypervisor's own dump, run on a snapshot that is then restored
"""
from __future__ import annotations

import os
import re
import time
from functools import cached_property
from pathlib import Path

from workbench.display.reprs import SummaryReprs
from workbench.machine import RAM_BASE, Machine, StopInfo
from workbench.stack import abi
from workbench.system import hvdump, qemu
from workbench.system.config import SystemConfig, _is_int
from workbench.system.images import stack_images
from workbench.system.qemu import QemuRun
from workbench.system.results import BootError, RunSummary, WorkloadResult, opt_dom  # noqa: F401

SLICE_CYCLES = 100_000             # boot polls the result records this often
RUN_SLICE_CYCLES = 2_000_000       # progress granularity of run()
BOOT_LIMIT_CYCLES = 200_000_000    # 2 simulated seconds to reach steady state
RUN_LIMIT_CYCLES = 2_000_000_000   # 20 simulated seconds to finish


class System(SummaryReprs):
    """A configured virtualized system on a `Machine`. See the module docstring."""

    def __init__(self, config: SystemConfig | None = None, *, cache: str | os.PathLike | None = None):
        self.config = config if config is not None else SystemConfig()
        if not isinstance(self.config, SystemConfig):
            raise TypeError(f"config must be a SystemConfig, got {type(self.config).__name__}")
        self.images = stack_images(cache)
        self.machine: Machine | None = None
        self.steady_snapshot = None
        self.boot_summary: RunSummary | None = None
        self._golden: tuple[WorkloadResult, ...] | None = None
        self._end: RunSummary | None = None     # set once the system stopped by itself
        self._steady_end: RunSummary | None = None   # ... if it already had at the steady snapshot

    # -- images and symbols --

    def appvm_image(self, i: int) -> Path:
        return self.images[f"appvm_s{abi.appvm_slot(i)}"]

    @cached_property
    def types(self):
        """DwarfTypes per image: "hv", "privvm", "dvm" (with a driver VM), "appvm0".. (one per
        configured AppVM)."""
        from workbench.system.views.dwarf import DwarfTypes
        out = {"hv": DwarfTypes.of(self.images["hv"]), "privvm": DwarfTypes.of(self.images["privvm"])}
        if self.config.dvm:
            out["dvm"] = DwarfTypes.of(self.images["dvm"])
        for i in range(len(self.config.appvms)):
            out[f"appvm{i}"] = DwarfTypes.of(self.appvm_image(i))
        return out

    def modules(self) -> list[tuple[int, int, int, Path]]:
        """The boot modules: (kind, slot, address, file); the DVM's last, when configured."""
        return abi.module_table(self.images, len(self.config.appvms), dvm=self.config.dvm)

    def boot_info(self, sys_flags: int = 0) -> bytes:
        """The boot-info block of this configuration; `sys_flags` adds SYS_* flags (the fault
        injector boots a rebooted system with SYS_HEALTH_CHECK)."""
        c = self.config
        return abi.pack_boot_info(nharts=c.harts, appvms=c.appvm_table, ram_size=c.ram_size,
                                    modules=[(k, s, a, p.stat().st_size) for k, s, a, p in self.modules()],
                                    disk_region=c.disk_region, net_count=c.net_count, dvm_restart=c.dvm_restart,
                                    recovery=self.recovery_kind, recovery_flags=c.recovery_flags,
                                    dvm_recovery=abi.recovery_mechanisms()[c.dvm_recovery].id,
                                    privvm_recovery=abi.recovery_mechanisms()[c.privvm_recovery].id,
                                    sys_flags=sys_flags)

    @property
    def recovery_kind(self) -> int:
        """The hypervisor's number for `config.recovery` (include/recovery_list.h)."""
        return abi.recovery_mechanisms()[self.config.recovery].id

    def _new_machine(self) -> Machine:
        c = self.config
        m = Machine(harts=c.harts, ram_size=c.ram_size, quantum=c.quantum, disk_size=c.disk_size)
        self._load_firmware(m)
        return m

    def _load_firmware(self, m: Machine, sys_flags: int = 0) -> None:
        """What the board's firmware does at power-on: images and boot-info block into RAM, reset."""
        m.load_elf(self.images["hv"])
        for _, _, addr, path in self.modules():
            m.write(addr, path.read_bytes())
        m.write(abi.P["BOOTINFO_ADDR"], self.boot_info(sys_flags) if sys_flags else self.boot_info())
        m.reset(boot_arg=abi.P["BOOTINFO_ADDR"])

    def reset_board(self, sys_flags: int = 0, *, clear_ram: bool = False) -> None:
        """Reset the board: harts and devices reset (the machine's clock starts again at 0; the disk
        keeps its content, RAM too unless `clear_ram`, as after a power cycle), the firmware loads the
        images again, and the system boots from scratch on the next run. Used by the `reboot`
        recovery; the steady snapshot stays."""
        m = self._require_machine()
        if clear_ram:
            m.write(RAM_BASE, bytes(m.ram_size))
        self._load_firmware(m, sys_flags)
        self._end = None

    def _require_machine(self) -> Machine:
        if self.machine is None:
            raise RuntimeError("the system has not been booted: call system.boot() first")
        return self.machine

    # -- running --

    def _run_slice(self, limit_cycle: int, slice_cycles: int) -> StopInfo:
        """Run to the next multiple of `slice_cycles` (absolute, so every run slices alike), at most
        to `limit_cycle`."""
        m = self.machine
        target = min((m.cycle // slice_cycles + 1) * slice_cycles, limit_cycle)
        return m.run(max_cycles=max(1, target - m.cycle))

    def _started(self) -> bool:
        return all(r.state != "not started" for r in self.results())

    def boot(self, *, max_cycles: int = BOOT_LIMIT_CYCLES) -> RunSummary:
        """Power on and run to steady state (every AppVM's record says its workload runs), keeping a
        snapshot there (`steady_snapshot`). Booting again returns to that snapshot."""
        if self.steady_snapshot is not None:
            self.machine.restore(self.steady_snapshot)
            self._end = self._steady_end
            return self.boot_summary
        self._end = None
        self.machine = m = self._new_machine()
        t0 = time.perf_counter()
        while True:
            stop = self._run_slice(max_cycles, SLICE_CYCLES)
            if self._started():
                break
            if stop.reason != "cycle_limit" or m.cycle >= max_cycles:
                self._boot_failed(stop, max_cycles)
        self._start_peer()
        self.steady_snapshot = m.snapshot()
        self.boot_summary = RunSummary("steady", 0, m.cycle, m.cycle, m.instructions, time.perf_counter() - t0)
        if stop.reason in ("poweroff", "fail", "reset"):     # short workloads can end in the same slice
            self._end = self._steady_end = RunSummary(stop.reason, stop.code, m.cycle, 0, m.instructions, 0.0)
        return self.boot_summary

    def _start_peer(self) -> None:
        """At steady state every `net` AppVM's frontend is connected (it marks its record RUNG only
        then), so the peer's stream starts now and no request finds nobody to answer it.  Before,
        the AppVMs' hello frames went to a peer that was not listening."""
        c = self.config
        if c.net_appvms:
            self.machine.configure_peer(list(c.net_appvms), count=c.net_count, interval_cycles=c.peer_interval,
                                        payload_len=c.peer_payload, start_cycle=self.machine.cycle,
                                        seed=c.peer_seed, timeout_cycles=c.peer_timeout,
                                        tries=c.peer_tries)

    def _boot_failed(self, stop: StopInfo, max_cycles: int):
        m = self.machine
        waiting = [f"AppVM {r.appvm} ({r.workload or self.config.appvms[r.appvm]})"
                   for r in self.results() if r.state == "not started"]
        why = (f"no steady state within {max_cycles:,} cycles" if stop.reason == "cycle_limit"
               else f"machine stopped ({stop.reason}, code {stop.code}) at cycle {stop.cycles:,}")
        panic = self.hv.panic
        msg = f"boot failed: {why}; not started: {', '.join(waiting)}"
        if panic is not None:
            msg += f"\nhypervisor panic: {panic}"
        tail = "\n".join(m.console.splitlines()[-25:])
        raise BootError(f"{msg}\nconsole (last lines):\n{tail}")

    def run(self, until: str | int = "done", *, max_cycles: int = RUN_LIMIT_CYCLES,
            progress: bool = False) -> RunSummary:
        """Run until the system stops by itself ("done": power off or failure, at most `max_cycles`)
        or for a number of cycles. Boots first if needed."""
        if self.machine is None:
            self.boot()
        m = self.machine
        if self._end is not None:       # powered off or failed: the machine must not run on
            e = self._end
            return RunSummary(e.reason, e.code, e.cycles, 0, e.instructions, 0.0)
        if until == "done":
            budget = max_cycles
        elif _is_int(until) and until > 0:
            budget = until
        else:
            raise ValueError(f"until={until!r} is invalid: allowed 'done' or a positive number of cycles")
        start, t0 = m.cycle, time.perf_counter()
        end = start + budget
        bar = None
        if progress:
            from tqdm.auto import tqdm
            bar = tqdm(total=budget if until != "done" else None, unit="cycle", unit_scale=True,
                       desc="simulating", leave=False, delay=1.0)
        try:
            while True:
                before = m.cycle
                stop = self._run_slice(end, RUN_SLICE_CYCLES)
                if bar is not None:
                    bar.update(m.cycle - before)
                if stop.reason != "cycle_limit" or m.cycle >= end:
                    break
        finally:
            if bar is not None:
                bar.close()
        out = RunSummary(stop.reason, stop.code, m.cycle, m.cycle - start, m.instructions, time.perf_counter() - t0)
        if out.finished:
            self._end = out
        return out

    def restore_steady(self) -> None:
        """Back to the steady-state snapshot (boot first if needed)."""
        self.boot()

    @property
    def finished(self) -> RunSummary | None:
        """How the system stopped by itself (power off or failure), None while it can run on."""
        return self._end

    # -- results --

    def results(self) -> tuple[WorkloadResult, ...]:
        """Each AppVM's result record, read live from its memory."""
        return tuple(a.result for a in self.appvms)

    def golden(self) -> tuple[WorkloadResult, ...]:
        """Results of the fault-free run from the steady snapshot to the end (memoised); the machine is
        put back where it was afterwards."""
        if self._golden is None:
            if self.machine is None:
                self.boot()
            m = self.machine
            here, end = m.snapshot(), self._end
            m.restore(self.steady_snapshot)
            self._end = self._steady_end
            try:
                stop = self.run("done")
                if not stop.finished:
                    raise RuntimeError(f"the fault-free run did not finish within {RUN_LIMIT_CYCLES:,} cycles")
                self._golden = self.results()
            finally:
                m.restore(here)
                self._end = end
        return self._golden

    def state_hash(self) -> str:
        return self._require_machine().state_hash()

    def dump_c(self, name: str = "all", max_cycles: int = hvdump.DEFAULT_MAX_CYCLES) -> str:
        """What the hypervisor's own `hv_dump(name)` prints now: runs it on a snapshot, then restores
        (hvdump.py); `system.hv.dump(name)` renders the same structures without running anything."""
        return hvdump.run_c_dump(self, name, max_cycles)

    # -- fault injection (workbench.faults; reached through the fault, since layers import down only) --

    def inject(self, fault, **kw):
        """Run `fault` (a workbench.faults model) from the steady snapshot -> RunReport; keyword
        arguments go to `workbench.faults.run_fault` (timeout_factor, convergence)."""
        inject_into = getattr(fault, "inject_into", None)
        if inject_into is None:
            raise TypeError(f"expected a fault from workbench.faults, got {type(fault).__name__}")
        return inject_into(self, **kw)

    # -- components (live views) --

    # Made on each access (they are cheap): caching them would tie System and views in a reference
    # cycle, and a System's machine and snapshot would then outlive it until a full GC.

    @property
    def hv(self):
        from workbench.system.views.components import Hypervisor
        return Hypervisor(self)

    @property
    def privvm(self):
        from workbench.system.views.components import PrivVM
        return PrivVM(self)

    @property
    def appvms(self):
        from workbench.system.views.components import AppVM
        return tuple(AppVM(self, i) for i in range(len(self.config.appvms)))

    @property
    def dvm(self):
        """The driver VM's live view (None when the configuration has no driver VM)."""
        if not self.config.dvm:
            return None
        from workbench.system.views.components import DVM
        return DVM(self)

    @property
    def peer(self):
        """The network peer on the NIC's wire (streams to the `net` AppVMs, started at steady state)."""
        from workbench.system.views.components import NetworkPeer
        return NetworkPeer(self)

    @property
    def devices(self) -> dict:
        """The machine's virtio devices, {"blk": VirtioDevice, "net": VirtioDevice} (live)."""
        from workbench.system.views.components import VirtioDevice
        return {name: VirtioDevice(self, name) for name in ("blk", "net")}

    def io_table(self):
        """Per-AppVM I/O counters (polars), one row per AppVM doing I/O: requests its workload
        completed, its frontend (connected, reconnects, block requests in flight), its backend in the
        DVM (state; block requests or frames sent/received since the current connection), and the
        peer's view (requests sent, answered, lost).  See `AppVM.io`."""
        import polars as pl
        rows = []
        for a in self.appvms:
            io = a.io
            if io is not None:
                rows.append({"appvm": a.index, "workload": a.workload, "domain": opt_dom(a.domid), **io})
        return pl.DataFrame(rows, schema={
            "appvm": pl.Int64, "workload": pl.Utf8, "domain": pl.Utf8, "device": pl.Utf8, "completed": pl.Int64,
            "connected": pl.Boolean,
            "reconnects": pl.Int64, "in_flight": pl.Int64, "backend": pl.Utf8, "blk_requests": pl.Int64,
            "net_tx": pl.Int64, "net_rx": pl.Int64, "peer_sent": pl.Int64, "peer_answered": pl.Int64,
            "peer_lost": pl.Int64})

    @property
    def console(self) -> str:
        return self._require_machine().console

    def consoles(self) -> dict[str, list[str]]:
        """The shared console split by author: "hv" (the hypervisor's own lines), then "d<N> (<role>)"
        per domain that wrote something."""
        from workbench.system.views.components import domain_console, slot_role
        text = self.console
        out = {"hv": [ln for ln in text.splitlines() if ln and not re.match(r"\(d\d+\) ", ln)]}
        slots = {d.domid: d.slot for d in self.hv.domains}
        for domid in sorted({int(x) for x in re.findall(r"^\(d(\d+)\) ", text, re.M)}):
            role = slot_role(slots[domid]) if domid in slots else "gone"
            out[f"d{domid} ({role})"] = domain_console(text, domid)
        return out

    def domain_table(self):
        """One row per domain of the configuration (PrivVM, the DVM if any, then the AppVMs): state,
        hart, progress and result record, as a polars DataFrame."""
        import polars as pl
        rows = []
        p = self.privvm.domain
        rows.append({"domain": opt_dom(p.domid if p else None), "role": "PrivVM", "workload": "toolstack",
                     "hart": p.vcpu.hart if p else None, "state": p.state if p else "not created",
                     "progress": None, "iterations": None, "result": None, "checksum": None})
        dvm = self.dvm
        if dvm is not None:
            d = dvm.domain
            rows.append({"domain": opt_dom(d.domid if d else None), "role": "DVM", "workload": "I/O",
                         "hart": d.vcpu.hart if d else None, "state": dvm.state, "progress": None,
                         "iterations": None, "result": None, "checksum": None})
        for a in self.appvms:
            d, r = a.domain, a.result
            rows.append({"domain": opt_dom(d.domid if d else None), "role": f"AppVM {a.index}", "workload": a.workload,
                         "hart": d.vcpu.hart if d else None, "state": a.state, "progress": a.progress,
                         "iterations": a.iterations, "result": r.status if r.state == "done" else r.state,
                         "checksum": f"0x{r.checksum:08x}" if r.state == "done" else None})
        return pl.DataFrame(rows, schema={"domain": pl.Utf8, "role": pl.Utf8, "workload": pl.Utf8, "hart": pl.Int64,
                                          "state": pl.Utf8, "progress": pl.Int64, "iterations": pl.Int64,
                                          "result": pl.Utf8, "checksum": pl.Utf8})

    # -- the QEMU cross-check (qemu.py) --

    def qemu_command(self, workdir: str | os.PathLike, netdev: str | None = None) -> list[str]:
        """The qemu-system-riscv32 command line for this configuration (see `qemu.system_command`)."""
        return qemu.system_command(self, workdir, netdev)

    def run_qemu(self, timeout: float = 60.0, workdir: str | os.PathLike | None = None,
                 peer_interval_s: float = 0.005) -> QemuRun:
        """Boot the same images under QEMU until it powers off (or `timeout` s); see `qemu.run`."""
        return qemu.run(self, timeout, workdir, peer_interval_s)

    def compare_with_qemu(self, q: QemuRun):
        """Golden results next to QEMU's result records, one row per AppVM, with a `match` column."""
        return qemu.compare(self, q)


    # -- display --

    def summary(self):
        from workbench.display import formatting
        return formatting.system_summary(self)
