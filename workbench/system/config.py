"""`SystemConfig`: what to boot, validated field by field (DESIGN sections 4 and 7)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from workbench.machine import MAX_HARTS
from workbench.machine import PEER_MAX_PAYLOAD as _PEER_MAX_PAYLOAD
from workbench.machine import PEER_MAX_TRIES, PEER_TIMEOUT, PEER_TRIES
from workbench.stack import abi

MAX_APPVMS = abi.P["MAX_SLOTS"] - abi.P["SLOT_APPVM0"]
# Both lists are include/recovery_list.h's and include/workload_list.h's (the C reads the same lines).
RECOVERY_IMPLEMENTED = tuple(r.name for r in abi.recovery_mechanisms().values() if r.implemented)
RECOVERY_PLANNED = tuple(r.name for r in abi.recovery_mechanisms().values() if not r.implemented)
# Recovery per component: a mechanism named "<component>_..." recovers that component, any other
# the hypervisor; "halt" (no recovery) is valid for all, and the default of a component not named.
COMPONENTS = ("hv", "dvm", "privvm")


def component_mechanisms(component: str) -> tuple[str, ...]:
    """Mechanisms of include/recovery_list.h that recover `component` (implemented or planned)."""
    names = tuple(abi.recovery_mechanisms())
    if component == "hv":
        return tuple(n for n in names if not any(n.startswith(c + "_") for c in COMPONENTS[1:]))
    return ("halt",) + tuple(n for n in names if n.startswith(component + "_"))


def parse_recovery(value) -> dict[str, str]:
    """{"hv": ..., "dvm": ..., "privvm": ...} from SystemConfig.recovery's forms: a mapping (missing
    components: "halt"), "hv=rehype,dvm=dvm_reboot" (the same as text), or one name: a component's own
    mechanism (dvm_reboot, privvm_reboot) recovers that component, any other name is the hypervisor's."""
    if isinstance(value, str) and "=" in value:
        items = {}
        for part in value.split(","):
            k, sep, v = part.partition("=")
            if not sep or not k.strip() or not v.strip():
                raise ValueError(f"SystemConfig.recovery={value!r} is invalid: allowed 'component=mechanism' pairs "
                                 f"separated by commas, components {_choices(COMPONENTS)}")
            items[k.strip()] = v.strip()
        value = items
    if isinstance(value, str):
        owner = next((c for c in COMPONENTS[1:] if value.startswith(c + "_")), "hv")
        value = {owner: value}
    if not isinstance(value, dict):
        raise ValueError(f"SystemConfig.recovery={value!r} is invalid: allowed a mechanism name, a mapping "
                         f"component -> mechanism with components {_choices(COMPONENTS)}, or 'hv=...,dvm=...'")
    for k in value:
        if k not in COMPONENTS:
            raise ValueError(f"SystemConfig.recovery[{k!r}] is invalid: allowed components {_choices(COMPONENTS)}")
    return {c: value.get(c, "halt") for c in COMPONENTS}
# include/enhancement_list.h, in the papers' order: ReHype's nine switchable enhancements.
ALL_ENHANCEMENTS = tuple(abi.enhancements())
DEFAULT_ITERATIONS = {w.name: w.iterations for w in abi.workloads().values()}
DEFAULT_APPVMS = tuple(a[0] for a in abi.DEFAULT_APPVMS)     # the papers' 3AppVM system: blk, net, hcall
DEFAULT_PEER_INTERVAL = 100_000    # cycles between two requests to a `net` AppVM (1 ms)
DEFAULT_PEER_PAYLOAD = 64          # bytes of request data
MIN_PEER_INTERVAL, MAX_PEER_INTERVAL = 1_000, 1_000_000_000
PEER_MAX_PAYLOAD = _PEER_MAX_PAYLOAD   # an Ethernet frame less the Ethernet and protocol headers
MAX_PEER_REQUESTS = 1 << 24        # the peer's record table
BLOCK = abi.BLK_BLOCK            # disk regions are whole 4 KiB blocks
MAX_DISK = 1 << 30                 # the machine's disk is at most 1 GiB


def workload_names() -> tuple[str, ...]:
    """Workloads an AppVM can run: include/workload_list.h's (the AppVM kernel dispatches each)."""
    return tuple(abi.workloads())


def _choices(values) -> str:
    return ", ".join(repr(v) for v in values)


@dataclass(frozen=True)
class SystemConfig:
    """What to boot. `iterations`: one per AppVM, one int for all, or None for per-workload defaults.

    Each AppVM's seed is derived from `seed` and its index (`appvm_seeds`), so one number reproduces
    the whole system. `recovery`: the mechanisms of DESIGN section 6, per component: a mapping
    {"hv": "rehype", "dvm": "dvm_reboot", "privvm": "privvm_reboot"} (a component left out gets "halt":
    its failure is detected and nothing recovers it), the same as text "hv=rehype,dvm=dvm_reboot", or one
    name (a string means the hypervisor's, except a component's own dvm_reboot / privvm_reboot).  It
    is stored split: `recovery` the hypervisor's, `dvm_recovery` and `privvm_recovery` (a mapping
    given to `recovery` sets all three; `recovery_map` gives them back as a mapping).
    `enhancements`: the ReHype enhancements switched on (names of ALL_ENHANCEMENTS, any order; stored
    in the papers' order); default all of them, `()` for basic ReHype. They take effect only under
    `rehype` and are passed in the boot-info block, so no rebuild is needed.

    I/O (issue 4): `dvm` runs the driver VM (None: exactly when some AppVM runs `blk` or `net`, which
    need it); AppVM i owns bytes [i * disk_region, (i + 1) * disk_region) of a disk of `disk_size`
    bytes (None: one region per AppVM).  The network peer sends every `net` AppVM as many requests as
    its iterations (so all `net` AppVMs have the same number), one every `peer_interval` cycles, each
    with `peer_payload` bytes drawn from `seed`, starting at steady state; a request with no reply
    after `peer_timeout` cycles is sent again, up to `peer_tries` transmissions.  `dvm_restart` is the
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
    dvm_recovery: str = "halt"
    privvm_recovery: str = "halt"
    dvm: bool | None = None
    disk_region: int = abi.DEFAULT_DISK_REGION
    disk_size: int | None = None
    peer_interval: int = DEFAULT_PEER_INTERVAL
    peer_payload: int = DEFAULT_PEER_PAYLOAD
    peer_timeout: int = PEER_TIMEOUT
    peer_tries: int = PEER_TRIES
    dvm_restart: int = 0
    enhancements: tuple[str, ...] = ALL_ENHANCEMENTS

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
            it = tuple(DEFAULT_ITERATIONS[a] for a in appvms)
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
        self._check_io(bad)
        self._check_recovery()
        self._check_enhancements(bad)

    def _check_recovery(self):
        given = self.recovery
        m = parse_recovery(given)
        if isinstance(given, str) and "=" not in given:     # one name: the other fields stay
            owner = next(c for c, v in m.items() if v == given) if given != "halt" else "hv"
            m = {"hv": "halt" if owner != "hv" else given, "dvm": self.dvm_recovery,
                 "privvm": self.privvm_recovery, owner: given}
        for comp, field in (("hv", "recovery"), ("dvm", "dvm_recovery"), ("privvm", "privvm_recovery")):
            name, allowed = m[comp], component_mechanisms(comp)
            if not isinstance(name, str) or name not in allowed:
                raise ValueError(f"SystemConfig.{field}={name!r} is invalid for the {comp}: allowed {_choices(allowed)}")
            if name in RECOVERY_PLANNED:
                raise NotImplementedError(f"SystemConfig.{field}={name!r} is not implemented yet; "
                                          f"implemented: {_choices(RECOVERY_IMPLEMENTED)}")
            object.__setattr__(self, field, name)
        if (self.dvm_recovery != "halt") and not self.dvm:
            raise ValueError(f"SystemConfig.dvm_recovery={self.dvm_recovery!r} is invalid without a driver VM: "
                             f"allowed 'halt' (or dvm=True)")

    @property
    def recovery_spec(self) -> str:
        """The recovery as text SystemConfig(recovery=...) takes back: the hypervisor's name alone when
        the other components have none, else "hv=...,dvm=...,privvm=..."."""
        m = self.recovery_map
        if m["dvm"] == m["privvm"] == "halt":
            return m["hv"]
        return ",".join(f"{c}={v}" for c, v in m.items())

    @property
    def recovery_map(self) -> dict[str, str]:
        """The recovery of each component: {"hv": ..., "dvm": ..., "privvm": ...}."""
        return {"hv": self.recovery, "dvm": self.dvm_recovery, "privvm": self.privvm_recovery}

    def _check_enhancements(self, bad):
        e = self.enhancements
        if isinstance(e, str):
            e = tuple(x.strip() for x in e.split(",") if x.strip())
        if not isinstance(e, (tuple, list, set, frozenset)):
            bad("enhancements", f"a tuple of names from {_choices(ALL_ENHANCEMENTS)} (or () for basic ReHype)")
        for name in e:
            if name not in ALL_ENHANCEMENTS:
                raise ValueError(f"SystemConfig.enhancements: {name!r} is invalid: allowed {_choices(ALL_ENHANCEMENTS)}")
        object.__setattr__(self, "enhancements", tuple(n for n in ALL_ENHANCEMENTS if n in set(e)))

    @property
    def recovery_flags(self) -> int:
        """boot_info.recovery_flags: one bit per enhancement switched on (include/enhancement_list.h)."""
        return abi.recovery_flags(self.enhancements)

    def _check_io(self, bad):
        io = [a for a in self.appvms if a in abi.IO_WORKLOADS]
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
        if not _is_int(self.peer_timeout) or not MIN_PEER_INTERVAL <= self.peer_timeout <= MAX_PEER_INTERVAL:
            bad("peer_timeout", f"{MIN_PEER_INTERVAL}..{MAX_PEER_INTERVAL} cycles")
        if not _is_int(self.peer_tries) or not 1 <= self.peer_tries <= PEER_MAX_TRIES:
            bad("peer_tries", f"1..{PEER_MAX_TRIES} transmissions (1: never retransmit)")
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
