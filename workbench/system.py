"""`SystemConfig` -> a booted virtualized system on the machine model (DESIGN sections 4 and 7).

    system = System(SystemConfig(harts=2, appvms=("hcall", "compute", "hcall")))
    system.boot()            # runs to steady state: every AppVM runs its workload; snapshot kept
    system.run()             # to the end (the PrivVM powers off when every AppVM is done)
    system.results()         # each AppVM's result record, read from RAM through DWARF
    system.golden()          # the fault-free results from the steady snapshot (memoised)
    system.hv, system.privvm, system.appvms[i]    # live component views (components.py)

The stack images are built once per content of `workbench/stack/` and cached (`$MRWB_CACHE`, else
`~/.cache/mrwb`), so parallel test processes share them.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from workbench import hw
from workbench.hw import Machine, StopInfo
from workbench.stack import build

MAX_HARTS = 8
MAX_APPVMS = build.P["MAX_SLOTS"] - build.P["SLOT_APPVM0"]
RECOVERY_IMPLEMENTED = ("halt",)
RECOVERY_PLANNED = ("reboot", "rehype", "dvm_reboot", "privvm_reboot")   # DESIGN section 6
# Iterations per workload (the default system runs about 0.3 simulated seconds on 2 harts).
DEFAULT_ITERATIONS = {"hcall": 400, "compute": 4000, "pmp": 20, "badcall": 1, "devpmp": 1, "blk": 128, "net": 250}
DEFAULT_APPVMS = tuple(a[0] for a in build.DEFAULT_APPVMS)     # the papers' 3AppVM system: blk, net, hcall
DEFAULT_PEER_INTERVAL = 100_000    # cycles between two requests to a `net` AppVM (1 ms)
DEFAULT_PEER_PAYLOAD = 64          # bytes of request data
MIN_PEER_INTERVAL, MAX_PEER_INTERVAL = 1_000, 1_000_000_000
PEER_MAX_PAYLOAD = hw.PEER_MAX_PAYLOAD   # an Ethernet frame less the Ethernet and protocol headers
MAX_PEER_REQUESTS = 1 << 24        # the peer's record table
BLOCK = build.BLK_BLOCK            # disk regions are whole 4 KiB blocks
MAX_DISK = 1 << 30                 # the machine's disk is at most 1 GiB
FALLBACK_ITERATIONS = 100
SLICE_CYCLES = 100_000             # boot polls the result records this often
RUN_SLICE_CYCLES = 2_000_000       # progress granularity of run()
BOOT_LIMIT_CYCLES = 200_000_000    # 2 simulated seconds to reach steady state
RUN_LIMIT_CYCLES = 2_000_000_000   # 20 simulated seconds to finish
MAGIC_RUNNING = 0x474E5552         # "RUNG" (include/workload.h)
MAGIC_DONE = build.RESULT_MAGIC    # "DONE"


def workload_names() -> tuple[str, ...]:
    """Workloads an AppVM can run: those of include/workload.h the AppVM kernel dispatches."""
    implemented = set(re.findall(r"case WL_(\w+):", (build.STACK_DIR / "appvm" / "main.c").read_text()))
    return tuple(n for n in build.workload_ids() if n.upper() in implemented)


def _choices(values) -> str:
    return ", ".join(repr(v) for v in values)


@dataclass(frozen=True)
class SystemConfig:
    """What to boot. `iterations`: one per AppVM, one int for all, or None for per-workload defaults.

    Each AppVM's seed is derived from `seed` and its index (`appvm_seeds`), so one number reproduces
    the whole system. `recovery` names a mechanism of DESIGN section 6; only "halt" exists so far.

    I/O (issue 4): `dvm` runs the driver VM (None: exactly when some AppVM runs `blk` or `net`, which
    need it); AppVM i owns bytes [i * disk_region, (i + 1) * disk_region) of a disk of `disk_size`
    bytes (None: one region per AppVM).  The network peer sends every `net` AppVM as many requests as
    its iterations (so all `net` AppVMs have the same number), one every `peer_interval` cycles, each
    with `peer_payload` bytes drawn from `seed`, starting at steady state.  `dvm_restart` is the
    stack's test hook: the DVM resets its devices and restarts its backends once, after answering
    that many block requests (0 = never).
    """
    harts: int = 2
    appvms: tuple[str, ...] = DEFAULT_APPVMS
    iterations: tuple[int, ...] | int | None = None
    seed: int = 1
    quantum: int = 1000
    ram_size: int = 64 << 20
    recovery: str = "halt"
    dvm: bool | None = None
    disk_region: int = build.DEFAULT_DISK_REGION
    disk_size: int | None = None
    peer_interval: int = DEFAULT_PEER_INTERVAL
    peer_payload: int = DEFAULT_PEER_PAYLOAD
    dvm_restart: int = 0

    def __post_init__(self):
        def bad(name, allowed):
            raise ValueError(f"SystemConfig.{name}={getattr(self, name)!r} is invalid: allowed {allowed}")

        if not _is_int(self.harts) or not 1 <= self.harts <= MAX_HARTS:
            bad("harts", f"1..{MAX_HARTS}")
        appvms = self.appvms
        if isinstance(appvms, str):
            appvms = tuple(a.strip() for a in appvms.split(",") if a.strip())
        if not isinstance(appvms, (tuple, list)) or not 1 <= len(appvms) <= MAX_APPVMS:
            bad("appvms", f"a tuple of 1..{MAX_APPVMS} workload names from {_choices(workload_names())}")
        names = workload_names()
        for i, a in enumerate(appvms):
            if a not in names:
                raise ValueError(f"SystemConfig.appvms[{i}]={a!r} is invalid: allowed workloads {_choices(names)}")
        object.__setattr__(self, "appvms", tuple(appvms))
        it = self.iterations
        if it is None:
            it = tuple(DEFAULT_ITERATIONS.get(a, FALLBACK_ITERATIONS) for a in appvms)
        elif _is_int(it):
            it = (it,) * len(appvms)
        if not isinstance(it, (tuple, list)) or len(it) != len(appvms) \
                or not all(_is_int(n) and 1 <= n < 1 << 31 for n in it):
            bad("iterations", f"None, a positive int, or {len(appvms)} positive ints (one per AppVM)")
        object.__setattr__(self, "iterations", tuple(int(n) for n in it))
        if not _is_int(self.seed) or not 0 <= self.seed < 1 << 32:
            bad("seed", "an int 0..2**32-1")
        if not _is_int(self.quantum) or not 1 <= self.quantum <= 1_000_000:
            bad("quantum", "1..1000000 cycles")
        if not _is_int(self.ram_size) or self.ram_size % (1 << 20) or not 32 << 20 <= self.ram_size <= 1 << 30:
            bad("ram_size", "a multiple of 1 MiB from 32 MiB to 1 GiB")
        if self.recovery in RECOVERY_PLANNED:
            raise NotImplementedError(f"SystemConfig.recovery={self.recovery!r} is not implemented yet; "
                                      f"implemented: {_choices(RECOVERY_IMPLEMENTED)}")
        if self.recovery not in RECOVERY_IMPLEMENTED:
            bad("recovery", _choices(RECOVERY_IMPLEMENTED + RECOVERY_PLANNED) + " (only 'halt' implemented)")
        self._check_io(bad)

    def _check_io(self, bad):
        io = [a for a in self.appvms if a in build.IO_WORKLOADS]
        if self.dvm is None:
            object.__setattr__(self, "dvm", bool(io))
        elif not isinstance(self.dvm, bool):
            bad("dvm", "True, False, or None (automatic: on when some AppVM runs 'blk' or 'net')")
        elif not self.dvm and io:
            bad("dvm", f"True or None: AppVM workloads {_choices(sorted(set(io)))} need the driver VM")
        n = len(self.appvms)
        if not _is_int(self.disk_region) or self.disk_region < BLOCK or self.disk_region % BLOCK \
                or n * self.disk_region > MAX_DISK:
            bad("disk_region", f"a multiple of {BLOCK} bytes, at least {BLOCK}, with {n} regions (one per "
                               f"AppVM) in at most {MAX_DISK >> 20} MiB")
        if self.disk_size is None:
            object.__setattr__(self, "disk_size", n * self.disk_region)
        blk = [i for i, a in enumerate(self.appvms) if a == "blk"]
        need = (max(blk) + 1) * self.disk_region if blk else BLOCK
        if not _is_int(self.disk_size) or self.disk_size % BLOCK or not need <= self.disk_size <= MAX_DISK:
            bad("disk_size", f"None (one disk_region per AppVM) or a multiple of {BLOCK} bytes from {need} "
                             f"(every 'blk' AppVM's region) to {MAX_DISK >> 20} MiB")
        for i in blk:
            if self.iterations[i] > self.disk_region // BLOCK:
                raise ValueError(f"SystemConfig.iterations[{i}]={self.iterations[i]} is invalid for a 'blk' "
                                 f"AppVM: allowed 1..{self.disk_region // BLOCK} (4 KiB blocks in disk_region="
                                 f"{self.disk_region})")
        counts = {self.iterations[i] for i in self.net_appvms}
        if len(counts) > 1:
            bad("iterations", "the same number for every 'net' AppVM (the network peer sends each of them "
                              f"that many requests); got {sorted(counts)}")
        if len(self.net_appvms) * max(counts, default=0) > MAX_PEER_REQUESTS:
            bad("iterations", f"at most {MAX_PEER_REQUESTS} requests in all for the 'net' AppVMs")
        if not _is_int(self.peer_interval) or not MIN_PEER_INTERVAL <= self.peer_interval <= MAX_PEER_INTERVAL:
            bad("peer_interval", f"{MIN_PEER_INTERVAL}..{MAX_PEER_INTERVAL} cycles")
        if not _is_int(self.peer_payload) or not 0 <= self.peer_payload <= PEER_MAX_PAYLOAD:
            bad("peer_payload", f"0..{PEER_MAX_PAYLOAD} bytes")
        if not _is_int(self.dvm_restart) or not 0 <= self.dvm_restart < 1 << 32 or (self.dvm_restart and not self.dvm):
            bad("dvm_restart", "0 (never), or 1..2**32-1 block requests with the driver VM on")

    @property
    def appvm_seeds(self) -> tuple[int, ...]:
        """Seed of each AppVM, derived from `seed` (stable across versions and platforms)."""
        return tuple(int.from_bytes(hashlib.sha256(f"mrwb:{self.seed}:{i}".encode()).digest()[:4], "little")
                     for i in range(len(self.appvms)))

    @property
    def appvm_table(self) -> list[tuple[str, int, int]]:
        """(workload, iterations, seed) per AppVM, as the boot-info block takes them."""
        return list(zip(self.appvms, self.iterations, self.appvm_seeds))

    @property
    def net_appvms(self) -> tuple[int, ...]:
        """Indices of the AppVMs running `net` (the network peer's streams)."""
        return tuple(i for i, a in enumerate(self.appvms) if a == "net")

    @property
    def net_count(self) -> int:
        """Requests the peer sends each `net` AppVM (their iterations; 0 without one)."""
        return self.iterations[self.net_appvms[0]] if self.net_appvms else 0

    @property
    def peer_seed(self) -> int:
        """Seed of the network peer's request data: the system seed."""
        return self.seed

    def disk_region_of(self, i: int) -> tuple[int, int]:
        """(offset, size) in bytes of AppVM i's disk region."""
        return i * self.disk_region, self.disk_region


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


# ---- images, built once per stack content ----

def _stack_digest() -> str:
    h = hashlib.sha256()
    for p in sorted(build.STACK_DIR.rglob("*")):
        if p.is_file() and "__pycache__" not in p.parts and p.suffix in (".c", ".h", ".S", ".ld", ".in", ".py"):
            h.update(str(p.relative_to(build.STACK_DIR)).encode() + b"\0" + p.read_bytes() + b"\0")
    from workbench import toolchain
    h.update(Path(toolchain.__file__).read_bytes())
    try:
        from importlib.metadata import version
        h.update(version("ziglang").encode())
    except Exception:
        pass
    return h.hexdigest()[:16]


def cache_dir() -> Path:
    return Path(os.environ.get("MRWB_CACHE") or Path.home() / ".cache" / "mrwb")


def stack_images(cache: str | os.PathLike | None = None) -> dict[str, Path]:
    """Build (or reuse) the stack images for the current sources; returns name -> ELF path."""
    root = Path(cache) if cache else cache_dir()
    final = root / f"stack-{_stack_digest()}"
    if not (final / "hv.elf").is_file():
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=root))
        try:
            build.build_images(tmp, listings=True)
            try:
                os.replace(tmp, final)       # atomic: a parallel builder either wins or finds it there
            except OSError:
                if not (final / "hv.elf").is_file():
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    names = ["hv", "privvm", "dvm"] + [f"appvm_s{s}" for s in range(build.P["SLOT_APPVM0"], build.P["MAX_SLOTS"])]
    images = {n: final / f"{n}.elf" for n in names}
    images["appvm"] = images[f"appvm_s{build.P['SLOT_APPVM0']}"]
    return images


# ---- what runs return ----

@dataclass(frozen=True)
class RunSummary:
    """How a `System.run` (or boot) ended."""
    reason: str            # poweroff, fail, cycle_limit, steady (boot), ... (hw.StopInfo reasons)
    code: int              # syscon code (fail 1: hypervisor panic with panic_action = poweroff-fail)
    cycles: int            # machine time at the end
    elapsed_cycles: int    # simulated cycles this call ran
    instructions: int      # retired by all harts since reset
    wall_seconds: float

    @property
    def simulated_seconds(self) -> float:
        return self.elapsed_cycles / 1e8

    @property
    def finished(self) -> bool:
        """The system stopped by itself (power off or failure), not at a limit."""
        return self.reason in ("poweroff", "fail", "reset")


@dataclass(frozen=True)
class WorkloadResult:
    """One AppVM's result record (struct wl_result), as read from its memory."""
    appvm: int
    workload: str
    state: str             # "not started", "running", "done" (from the record's magic)
    status: str            # "running", "ok", "fail"
    iterations: int
    checksum: int

    def matches(self, other: "WorkloadResult | dict") -> bool:
        """Same final record (workload, status, iterations, checksum); dicts from build.parse_results too."""
        o = other if isinstance(other, dict) else other.__dict__
        return (self.workload, self.status, self.iterations, self.checksum) == \
            (o["workload"], o["status"], o["iterations"], o["checksum"])


@dataclass(frozen=True)
class QemuRun:
    command: list[str]
    console: str
    returncode: int | None
    timed_out: bool
    results: dict[int, dict] = field(default_factory=dict)   # build.parse_results of the console
    disk: bytes = b""                   # the disk image after the run (configurations with a driver VM)
    peer: tuple[dict, ...] = ()         # netpeer.Peer.stats(): one row per request (with `net` AppVMs)


def _record_text(r: WorkloadResult) -> str:
    return f"{r.status} {r.iterations} 0x{r.checksum:08x}" if r.state == "done" else f"- ({r.state})"


def opt_dom(domid: int | None) -> str:
    return "-" if domid is None else f"d{domid}"


class BootError(RuntimeError):
    """The system stopped, panicked or hung before every AppVM was running its workload."""


# ---- the system ----

class System:
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
        return self.images[f"appvm_s{build.appvm_slot(i)}"]

    @cached_property
    def types(self):
        """DwarfTypes per image: "hv", "privvm", "dvm" (with a driver VM), "appvm0".. (one per
        configured AppVM)."""
        from workbench.dwarf import DwarfTypes
        out = {"hv": DwarfTypes.of(self.images["hv"]), "privvm": DwarfTypes.of(self.images["privvm"])}
        if self.config.dvm:
            out["dvm"] = DwarfTypes.of(self.images["dvm"])
        for i in range(len(self.config.appvms)):
            out[f"appvm{i}"] = DwarfTypes.of(self.appvm_image(i))
        return out

    def modules(self) -> list[tuple[int, int, int, Path]]:
        """The boot modules: (kind, slot, address, file); the DVM's last, when configured."""
        return build.module_table(self.images, len(self.config.appvms), dvm=self.config.dvm)

    def boot_info(self) -> bytes:
        c = self.config
        return build.pack_boot_info(nharts=c.harts, appvms=c.appvm_table, ram_size=c.ram_size,
                                    modules=[(k, s, a, p.stat().st_size) for k, s, a, p in self.modules()],
                                    disk_region=c.disk_region, net_count=c.net_count, dvm_restart=c.dvm_restart)

    def _new_machine(self) -> Machine:
        c = self.config
        m = Machine(harts=c.harts, ram_size=c.ram_size, quantum=c.quantum, disk_size=c.disk_size)
        m.load_elf(self.images["hv"])
        for _, _, addr, path in self.modules():
            m.write(addr, path.read_bytes())
        m.write(build.P["BOOTINFO_ADDR"], self.boot_info())
        m.reset(boot_arg=build.P["BOOTINFO_ADDR"])
        return m

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
                                        seed=c.peer_seed)

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

    # -- components (live views) --

    # Made on each access (they are cheap): caching them would tie System and views in a reference
    # cycle, and a System's machine and snapshot would then outlive it until a full GC.

    @property
    def hv(self):
        from workbench.components import Hypervisor
        return Hypervisor(self)

    @property
    def privvm(self):
        from workbench.components import PrivVM
        return PrivVM(self)

    @property
    def appvms(self):
        from workbench.components import AppVM
        return tuple(AppVM(self, i) for i in range(len(self.config.appvms)))

    @property
    def dvm(self):
        """The driver VM's live view (None when the configuration has no driver VM)."""
        if not self.config.dvm:
            return None
        from workbench.components import DVM
        return DVM(self)

    @property
    def peer(self):
        """The network peer on the NIC's wire (streams to the `net` AppVMs, started at steady state)."""
        from workbench.components import NetworkPeer
        return NetworkPeer(self)

    @property
    def devices(self) -> dict:
        """The machine's virtio devices, {"blk": VirtioDevice, "net": VirtioDevice} (live)."""
        from workbench.components import VirtioDevice
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
        from workbench.components import domain_console, slot_role
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
        rows.append({"domain": f"d{p.domid}" if p else "-", "role": "PrivVM", "workload": "toolstack",
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
            rows.append({"domain": f"d{d.domid}" if d else "-", "role": f"AppVM {a.index}", "workload": a.workload,
                         "hart": d.vcpu.hart if d else None, "state": a.state, "progress": a.progress,
                         "iterations": a.iterations, "result": r.status if r.state == "done" else r.state,
                         "checksum": f"0x{r.checksum:08x}" if r.state == "done" else None})
        return pl.DataFrame(rows, schema={"domain": pl.Utf8, "role": pl.Utf8, "workload": pl.Utf8, "hart": pl.Int64,
                                          "state": pl.Utf8, "progress": pl.Int64, "iterations": pl.Int64,
                                          "result": pl.Utf8, "checksum": pl.Utf8})

    def compare_with_qemu(self, q: "QemuRun"):
        """Golden results next to QEMU's result records, one row per AppVM, with a `match` column."""
        import polars as pl
        rows = []
        for g in self.golden():
            o = q.results.get(g.appvm)
            rows.append({"appvm": g.appvm, "workload": g.workload, "ours": _record_text(g),
                         "qemu": "-" if o is None else f"{o['status']} {o['iterations']} 0x{o['checksum']:08x}",
                         "match": (o is None and g.state != "done") or (o is not None and g.matches(o))})
        return pl.DataFrame(rows)

    # -- the QEMU cross-check --

    def qemu_command(self, workdir: str | os.PathLike, netdev: str | None = None) -> list[str]:
        """The qemu-system-riscv32 command line for this configuration (boot-info written to `workdir`).

        With a driver VM, a zeroed raw disk image of `disk_size` bytes (`workdir`/disk.img) backs
        QEMU's virtio-blk; with `net` AppVMs, `netdev` is the `-netdev` of a peer (run_qemu starts a
        `workbench.stack.netpeer.Peer`; without one, a UDP socket on 127.0.0.1:5555/5556 is named)."""
        c = self.config
        disk = None
        if c.dvm:
            disk = Path(workdir) / "disk.img"
            with open(disk, "wb") as f:
                f.truncate(c.disk_size)
            if c.net_appvms and netdev is None:
                netdev = "socket,id=n0,udp=127.0.0.1:5555,localaddr=127.0.0.1:5556"
        return build.qemu_setup(self.images, workdir, harts=c.harts, appvms=c.appvm_table, ram_mb=c.ram_size >> 20,
                                dvm=c.dvm, disk=disk, netdev=netdev if c.net_appvms else None,
                                disk_region=c.disk_region, net_count=c.net_count, dvm_restart=c.dvm_restart)

    def run_qemu(self, timeout: float = 60.0, workdir: str | os.PathLike | None = None,
                 peer_interval_s: float = 0.005) -> QemuRun:
        """Boot the same images under QEMU until it powers off (or `timeout` seconds).  With `net`
        AppVMs a Python peer (workbench/stack/netpeer.py) answers their hellos on loopback with the
        same requests as the machine's peer (seed, payload), one every `peer_interval_s` wall seconds
        (QEMU's time is wall-clock time, so it gets slack)."""
        if shutil.which("qemu-system-riscv32") is None:
            raise FileNotFoundError("qemu-system-riscv32 is not on PATH (Debian package qemu-system-misc)")
        c = self.config
        peer = None
        if c.net_appvms:
            from workbench.stack.netpeer import Peer
            peer = Peer(interval=peer_interval_s, timeout=timeout, seed=c.peer_seed, payload_len=c.peer_payload)
        with tempfile.TemporaryDirectory(prefix="mrwb-qemu-") as tmp:
            work = Path(workdir or tmp)
            cmd = self.qemu_command(work, netdev=peer.netdev() if peer else None)
            if peer:
                peer.start()
            try:
                p = subprocess.run(cmd, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
                out, rc, timed_out = p.stdout.decode(errors="replace"), p.returncode, False
            except subprocess.TimeoutExpired as e:
                out, rc, timed_out = (e.stdout or b"").decode(errors="replace"), None, True
            finally:
                if peer:
                    peer.stop()
                    peer.join()
            disk = (work / "disk.img").read_bytes() if c.dvm else b""
        return QemuRun(cmd, out, rc, timed_out, build.parse_results(out), disk,
                       tuple(peer.stats()) if peer else ())

    # -- display --

    def summary(self):
        from workbench import formatting
        return formatting.system_summary(self)

    def __repr__(self):
        from workbench import formatting
        return formatting.render(self.summary())

    def _repr_html_(self):
        from workbench import formatting_html
        return formatting_html.render(self.summary())
