"""The ABI facts Python shares with the stack: constants read from the headers in `include/`, the
boot-info block, the boot-module table and the result records (declared once, in C).
"""
from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

STACK_DIR = Path(__file__).resolve().parent
INCLUDE = STACK_DIR / "include"

def platform_constants() -> dict[str, int]:
    """Numeric #defines of include/platform.h (RAM layout, devices, slots, PMP entries)."""
    out: dict[str, int] = {}
    for m in re.finditer(r"^#define\s+(\w+)\s+\(?(0x[0-9A-Fa-f]+|\d+)u?\)?", (INCLUDE / "platform.h").read_text(), re.M):
        out[m.group(1)] = int(m.group(2), 0)
    return out


def hypercall_numbers() -> dict[str, int]:
    """name -> number, from the one list in include/hypercall_list.h."""
    text = (INCLUDE / "hypercall_list.h").read_text()
    return {name: int(nr) for nr, name in re.findall(r"^HCALL\((\d+),\s*(\w+)\)", text, re.M)}


@dataclass(frozen=True)
class Workload:
    """One line of include/workload_list.h."""
    id: int
    name: str
    iterations: int        # default iterations
    needs_dvm: bool        # does block or network I/O through the driver VM


@dataclass(frozen=True)
class Recovery:
    """One line of include/recovery_list.h."""
    id: int
    name: str
    implemented: bool


def workloads() -> dict[str, Workload]:
    """name -> Workload, in id order, from the one list in include/workload_list.h (WL_none apart)."""
    text = (INCLUDE / "workload_list.h").read_text()
    rows = re.findall(r"^WORKLOAD\((\d+),\s*(\w+),\s*(\d+),\s*([01])\)", text, re.M)
    return {n: Workload(int(i), n, int(it), io == "1") for i, n, it, io in sorted(rows, key=lambda r: int(r[0]))}


def workload_ids() -> dict[str, int]:
    """workload name -> id as the boot-info block takes it: "none" (0) and those of workloads()."""
    return {"none": 0, **{w.name: w.id for w in workloads().values()}}


def recovery_mechanisms() -> dict[str, Recovery]:
    """name -> Recovery, in number order, from the one list in include/recovery_list.h."""
    text = (INCLUDE / "recovery_list.h").read_text()
    rows = re.findall(r"^RECOVERY\((\d+),\s*(\w+),\s*([01])\)", text, re.M)
    return {n: Recovery(int(i), n, f == "1") for i, n, f in sorted(rows, key=lambda r: int(r[0]))}


@dataclass(frozen=True)
class Enhancement:
    """One line of include/enhancement_list.h."""
    bit: int               # its flag in boot_info.recovery_flags
    name: str              # also its file: hv/recovery/<name>.c


@dataclass(frozen=True)
class RecoveryCause:
    """One line of include/recovery_cause_list.h."""
    id: int
    name: str
    enhancement: str | None    # the enhancement that removes this cause, if one does
    text: str


def enhancements() -> dict[str, Enhancement]:
    """name -> Enhancement, in the papers' order (the default ablation ladder), from the one list in
    include/enhancement_list.h."""
    text = (INCLUDE / "enhancement_list.h").read_text()
    return {n: Enhancement(int(b), n) for b, n in re.findall(r"^ENHANCEMENT\((\d+),\s*(\w+)\)", text, re.M)}


def recovery_causes() -> dict[str, RecoveryCause]:
    """name -> RecoveryCause, in number order, from the one list in include/recovery_cause_list.h."""
    text = (INCLUDE / "recovery_cause_list.h").read_text()
    rows = re.findall(r'^RECOVERY_CAUSE\((\d+),\s*(\w+),\s*(\w+),\s*"([^"]*)"\)', text, re.M)
    return {n: RecoveryCause(int(i), n, None if e == "none" else e, t)
            for i, n, e, t in sorted(rows, key=lambda r: int(r[0]))}


def recovery_flags(names) -> int:
    """boot_info.recovery_flags for the enhancements `names`."""
    table = enhancements()
    return sum(1 << table[n].bit for n in names)


P = platform_constants()
BOOTINFO_MAGIC = 0x4257524D
BOOTINFO_VERSION = 2               # 2: struct io_config appended (version 1 blocks still boot)
BOOTINFO_SIZE = 292                # 73 u32
IO_WORKLOADS = tuple(w.name for w in workloads().values() if w.needs_dvm)   # ("blk", "net")
DEFAULT_DISK_REGION = 1 << 20      # bytes of disk per AppVM (AppVM i owns region i)
# The papers' 3AppVM configuration (DESIGN section 4): PrivVM, DVM and three AppVMs.
DEFAULT_APPVMS = (("blk", 64, 1), ("net", 32, 2), ("hcall", 100, 3))
DVM_STATS_SYMBOL = "dvm_stats"     # u32[8] in dvm.elf: blk reqs, blk errors, net tx, net rx, drops, irqs, heartbeats
DISK_SECTOR = 512
BLK_BLOCK = 4096                   # the `blk` workload's block
MOD_PRIVVM, MOD_APPVM, MOD_DVM = 1, 2, 3
PANIC_HALT, PANIC_POWEROFF_FAIL = 0, 1
BOOT_DUMP_AT_EXIT = 1 << 1         # boot_flags: hv prints every state dump before powering off
BOOT_TEST_PANIC = 1 << 2           # boot_flags: hart 0 takes an access fault after boot (panic-path test)
SYS_HEALTH_CHECK = 1 << 0          # sys_flags: toolstack re-creates AppVM 0 and runs a short workload
RESULT_SYMBOL = "wl_result"        # struct wl_result {magic, status, workload, iterations, checksum}
PROGRESS_SYMBOL = "wl_progress"    # u32
RESULT_MAGIC = 0x444E4F44          # "DONE": the record is final
RESULT_MAGIC_RUNNING = 0x474E5552  # "RUNG": the workload runs (include/workload.h)
RESULT_RE = re.compile(r"RESULT app=(\d+) wl=(\w+) status=(\w+) iters=(\d+) checksum=(0x[0-9a-f]{8})")


def appvm_slot(index: int) -> int:
    return P["SLOT_APPVM0"] + index


def pack_boot_info(*, nharts: int, appvms: Sequence[tuple[str, int, int]], modules: Sequence[tuple[int, int, int, int]],
                   ram_size: int = 64 << 20, recovery: int = 0, recovery_flags: int = 0,
                   panic_action: int = PANIC_POWEROFF_FAIL, slice_ticks: int = 0, watchdog_ticks: int = 0,
                   boot_flags: int = 0, sys_flags: int = 0, harts_of: Sequence[int] | None = None,
                   disk_region: int = 0, net_count: int = 0, dvm_restart: int = 0,
                   dvm_recovery: int = 0, privvm_recovery: int = 0) -> bytes:
    """The boot-info block (include/bootinfo.h, version 2): all u32, little endian.

    appvms: (workload name, iterations, seed) per AppVM; modules: (kind, slot, addr, size).
    disk_region: bytes of disk per AppVM (0 = DEFAULT_DISK_REGION; a multiple of 4096);
    net_count: requests the peer sends each `net` AppVM (0 = that AppVM's iterations);
    dvm_restart: test hook, the DVM restarts its devices and backends once after answering this many
    block requests (0 = never): the frontends must reconnect and resubmit.
    dvm_recovery / privvm_recovery: the recovery of the DVM and of the PrivVM (numbers of
    include/recovery_list.h; 0 = halt: none), packed into io_config.component_recovery.
    """
    if disk_region < 0 or disk_region % BLK_BLOCK or disk_region >= 1 << 32:
        raise ValueError(f"disk_region: a multiple of {BLK_BLOCK} below 4 GiB, got {disk_region}")
    for name, v in (("net_count", net_count), ("dvm_restart", dvm_restart)):
        if not 0 <= v < 1 << 32:
            raise ValueError(f"{name}: 0 .. 2**32-1, got {v}")
    for name, v in (("dvm_recovery", dvm_recovery), ("privvm_recovery", privvm_recovery)):
        if not 0 <= v < 256:
            raise ValueError(f"{name}: a recovery number 0..255, got {v}")
    wl = workload_ids()
    max_mod, max_app = P["MAX_MODULES"], P["MAX_SLOTS"] - P["SLOT_APPVM0"]
    if len(modules) > max_mod:
        raise ValueError(f"modules: at most {max_mod}, got {len(modules)}")
    if len(appvms) > max_app:
        raise ValueError(f"appvms: at most {max_app}, got {len(appvms)}")
    words = [BOOTINFO_MAGIC, BOOTINFO_VERSION, nharts, ram_size, recovery, recovery_flags, panic_action,
             slice_ticks, watchdog_ticks, boot_flags, len(modules)]
    for i in range(max_mod):
        words += list(modules[i]) if i < len(modules) else [0, 0, 0, 0]
    words += [len(appvms), sys_flags]
    for i in range(max_app):
        if i < len(appvms):
            name, iters, seed = appvms[i]
            if name not in wl:
                raise ValueError(f"appvms[{i}]: workload {name!r} not one of {sorted(wl)}")
            hart = harts_of[i] if harts_of else 0xFFFFFFFF
            words += [wl[name], iters, seed, hart]
        else:
            words += [0, 0, 0, 0]
    words += [disk_region, net_count, dvm_restart, dvm_recovery | privvm_recovery << 8]     # struct io_config
    return struct.pack(f"<{len(words)}I", *words)


def needs_dvm(appvms: Sequence[tuple[str, int, int]]) -> bool:
    """Does this configuration need the driver VM (some AppVM does block or network I/O)?"""
    return any(a[0] in IO_WORKLOADS for a in appvms)


def module_table(images: dict[str, Path], nappvms: int, dvm: bool = False) -> list[tuple[int, int, int, Path]]:
    """Where each boot module goes: (kind, slot, addr, file); PrivVM first, then one per AppVM, then
    the driver VM when `dvm` (last, so the AppVMs' modules sit where they do without it)."""
    mods = [(MOD_PRIVVM, P["SLOT_PRIVVM"], images["privvm"])]
    mods += [(MOD_APPVM, appvm_slot(i), images[f"appvm_s{appvm_slot(i)}"]) for i in range(nappvms)]
    if dvm:
        mods.append((MOD_DVM, P["SLOT_DVM"], images["dvm"]))
    if len(mods) > P["MAX_MODULES"]:
        raise ValueError(f"at most {P['MAX_MODULES']} boot modules, this configuration needs {len(mods)}")
    out = []
    for i, (kind, slot, path) in enumerate(mods):
        if path.stat().st_size > P["MODULE_STRIDE"]:
            raise ValueError(f"module {path.name} is larger than MODULE_STRIDE")
        out.append((kind, slot, P["MODULES_BASE"] + i * P["MODULE_STRIDE"], path))
    return out


def parse_results(console: str) -> dict[int, dict]:
    """RESULT lines of a console log -> {appvm index: {workload, status, iterations, checksum}}."""
    return {int(m[1]): {"workload": m[2], "status": m[3], "iterations": int(m[4]), "checksum": int(m[5], 16)}
            for m in RESULT_RE.finditer(console)}
