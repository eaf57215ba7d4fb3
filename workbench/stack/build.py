"""Build of the simulated virtualization stack (C for RV32) and the ABI facts Python needs.

`build_images(outdir)` compiles the hypervisor, the PrivVM, the driver VM and the AppVM kernel with
the ziglang toolchain (`workbench.toolchain`).  Guests run at physical addresses (no MMU, PMP only),
so the AppVM kernel is linked once per AppVM slot: `appvm_s2.elf` .. `appvm_s7.elf` (`appvm.elf` is
the slot-2 one); the driver VM (`dvm.elf`) is linked for slot 1.
Listings (`.sym`, and `.asm` when llvm-objdump exists) are written next to each image.

The numbers shared with C (RAM layout, hypercall numbers, workload ids, boot-info layout) are read
from the headers in `include/`, so they are declared once.
"""
from __future__ import annotations

import re
import shutil
import struct
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Sequence

from workbench import toolchain

STACK_DIR = Path(__file__).resolve().parent
INCLUDE = STACK_DIR / "include"
LIB = STACK_DIR / "lib"

# Flat, explicit object lists per component (xv6 style).
LIB_SRCS = ["lib/string.c", "lib/printf.c"]
GUEST_SRCS = ["lib/guest_start.S", "lib/guest.c", "lib/store_client.c", "lib/xenbus.c"]
HV_SRCS = ["hv/start.S", "hv/setup.c", "hv/trap.c", "hv/hypercall.c", "hv/console.c", "hv/sched.c",
           "hv/timer.c", "hv/event_channel.c", "hv/grant_table.c", "hv/multicall.c", "hv/domctl.c",
           "hv/domain.c", "hv/heap.c", "hv/pmp.c", "hv/physdev.c", "hv/panic.c", "hv/dump.c",
           "hv/recovery/recovery.c"]
PRIVVM_SRCS = ["privvm/main.c", "privvm/toolstack.c", "privvm/store_server.c", "privvm/store_tree.c"]
APPVM_SRCS = ["appvm/main.c", "appvm/wl_compute.c", "appvm/wl_hcall.c", "appvm/wl_faulty.c", "appvm/frontend.c",
              "appvm/blkfront.c", "appvm/netfront.c", "appvm/wl_blk.c", "appvm/wl_net.c"]
DVM_SRCS = ["dvm/main.c", "dvm/virtio.c", "dvm/virtio_blk.c", "dvm/virtio_net.c", "dvm/backend.c", "dvm/blkback.c",
            "dvm/netback.c", "dvm/bridge.c"]
# Pure-logic C compiled for the host and run by the tests (STYLE: Xen's tools/tests).
HOST_TESTS = {"store_tree": ["privvm/store_tree_test.c", "privvm/store_tree.c"] + LIB_SRCS}


# ---- ABI facts parsed from include/ ----

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


def workload_ids() -> dict[str, int]:
    """workload name -> id, from WORKLOAD_NAMES in include/workload.h."""
    m = re.search(r"#define WORKLOAD_NAMES \{([^}]*)\}", (INCLUDE / "workload.h").read_text())
    return {name: i for i, name in enumerate(re.findall(r'"(\w+)"', m.group(1)))}


P = platform_constants()
BOOTINFO_MAGIC = 0x4257524D
BOOTINFO_VERSION = 2               # 2: struct io_config appended (version 1 blocks still boot)
BOOTINFO_SIZE = 292                # 73 u32
IO_WORKLOADS = ("blk", "net")      # workloads that need the driver VM
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
RESULT_MAGIC = 0x444E4F44
RESULT_RE = re.compile(r"RESULT app=(\d+) wl=(\w+) status=(\w+) iters=(\d+) checksum=(0x[0-9a-f]{8})")


def appvm_slot(index: int) -> int:
    return P["SLOT_APPVM0"] + index


def pack_boot_info(*, nharts: int, appvms: Sequence[tuple[str, int, int]], modules: Sequence[tuple[int, int, int, int]],
                   ram_size: int = 64 << 20, recovery: int = 0, recovery_flags: int = 0,
                   panic_action: int = PANIC_POWEROFF_FAIL, slice_ticks: int = 0, watchdog_ticks: int = 0,
                   boot_flags: int = 0, sys_flags: int = 0, harts_of: Sequence[int] | None = None,
                   disk_region: int = 0, net_count: int = 0, dvm_restart: int = 0) -> bytes:
    """The boot-info block (include/bootinfo.h, version 2): all u32, little endian.

    appvms: (workload name, iterations, seed) per AppVM; modules: (kind, slot, addr, size).
    disk_region: bytes of disk per AppVM (0 = DEFAULT_DISK_REGION; a multiple of 4096);
    net_count: requests the peer sends each `net` AppVM (0 = that AppVM's iterations);
    dvm_restart: test hook, the DVM restarts its devices and backends once after answering this many
    block requests (0 = never): the frontends must reconnect and resubmit.
    """
    if disk_region < 0 or disk_region % BLK_BLOCK or disk_region >= 1 << 32:
        raise ValueError(f"disk_region: a multiple of {BLK_BLOCK} below 4 GiB, got {disk_region}")
    for name, v in (("net_count", net_count), ("dvm_restart", dvm_restart)):
        if not 0 <= v < 1 << 32:
            raise ValueError(f"{name}: 0 .. 2**32-1, got {v}")
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
    words += [disk_region, net_count, dvm_restart, 0]     # struct io_config
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


def qemu_command(images: dict[str, Path], bootinfo: Path, *, harts: int, nappvms: int, ram_mb: int = 64,
                 dvm: bool = False, disk: str | Path | None = None, netdev: str | None = None,
                 mac: str = "02:00:00:00:00:01") -> list[str]:
    """qemu-system-riscv32 command line booting these images with the boot-info block at BOOTINFO_ADDR.

    dvm: load the driver VM module; disk: raw image for a virtio-blk device; netdev: a `-netdev`
    value with id n0 (e.g. "socket,id=n0,udp=127.0.0.1:5555,localaddr=127.0.0.1:5556") for a
    virtio-net device with MAC `mac`.  The virtio-mmio transports are forced to version 2 (modern):
    QEMU defaults to the legacy version 1, which the driver VM does not speak.
    """
    cmd = ["qemu-system-riscv32", "-machine", "virt", "-bios", "none", "-smp", str(harts), "-m", f"{ram_mb}M",
           "-nographic", "-monitor", "none", "-serial", "stdio", "-kernel", str(images["hv"]),
           "-device", f"loader,file={bootinfo},addr={P['BOOTINFO_ADDR']:#x},force-raw=on"]
    for _, _, addr, path in module_table(images, nappvms, dvm=dvm):
        cmd += ["-device", f"loader,file={path},addr={addr:#x},force-raw=on"]
    if disk is not None or netdev is not None:
        cmd += ["-global", "virtio-mmio.force-legacy=false"]
    if disk is not None:
        cmd += ["-drive", f"if=none,id=d0,file={disk},format=raw", "-device", "virtio-blk-device,drive=d0"]
    if netdev is not None:
        cmd += ["-netdev", netdev, "-device", f"virtio-net-device,netdev=n0,mac={mac}"]
    return cmd


def qemu_setup(images: dict[str, Path], workdir: str | Path, *, harts: int, appvms: Sequence[tuple[str, int, int]],
               ram_mb: int = 64, dvm: bool | None = None, disk: str | Path | None = None, netdev: str | None = None,
               **bootinfo) -> list[str]:
    """Write the boot-info block for this configuration into `workdir`; return the QEMU command line.

    appvms: (workload, iterations, seed) per AppVM; extra keywords go to pack_boot_info.  With a
    driver VM (`dvm`, by default when some workload does I/O) a zeroed disk image `disk.img` with one
    region per AppVM is created in `workdir` unless `disk` names one; `netdev` as in qemu_command.
    """
    dvm = needs_dvm(appvms) if dvm is None else dvm
    mods = module_table(images, len(appvms), dvm=dvm)
    block = pack_boot_info(nharts=harts, appvms=appvms, ram_size=ram_mb << 20,
                           modules=[(k, s, a, p.stat().st_size) for k, s, a, p in mods], **bootinfo)
    path = Path(workdir) / "bootinfo.bin"
    path.write_bytes(block)
    if dvm and disk is None:
        disk = Path(workdir) / "disk.img"
        region = bootinfo.get("disk_region") or DEFAULT_DISK_REGION
        with open(disk, "wb") as f:
            f.truncate(max(len(appvms), 1) * region)
    return qemu_command(images, path, harts=harts, nappvms=len(appvms), ram_mb=ram_mb, dvm=dvm,
                        disk=disk if dvm else None, netdev=netdev if dvm else None)


# ---- what the I/O workloads leave behind (their generators, as in appvm/wl_blk.c) ----

def _mix(h: int, v: int) -> int:
    return ((h ^ v) * 0x01000193) & 0xFFFFFFFF


def _xorshift(x: int) -> int:
    x ^= (x << 13) & 0xFFFFFFFF
    x ^= x >> 17
    x ^= (x << 5) & 0xFFFFFFFF
    return x


def blk_block(seed: int, pass_: int, block: int) -> bytes:
    """Content the `blk` workload writes to block `block` (4 KiB) in pass 1 or 2."""
    s = _mix(_mix(_mix(0x811C9DC5, seed), pass_), block) or 1
    words = []
    for _ in range(BLK_BLOCK // 4):
        s = _xorshift(s)
        words.append(s)
    return struct.pack("<1024I", *words)


def blk_expected_region(seed: int, iterations: int, region: int = DEFAULT_DISK_REGION) -> bytes:
    """The whole disk region of a `blk` AppVM after a successful run (zeros beyond what it wrote)."""
    n = min(iterations, region // BLK_BLOCK)
    data = b"".join(blk_block(seed, 2, b) for b in range(n))
    return data + bytes(region - len(data))


def blk_checksum(seed: int, iterations: int, region: int = DEFAULT_DISK_REGION) -> int:
    """The `blk` result checksum: mix over every word read back (pass 1, then pass 2)."""
    n = min(iterations, region // BLK_BLOCK)
    h = 0x811C9DC5
    for p in (1, 2):
        for b in range(n):
            for (w,) in struct.iter_unpack("<I", blk_block(seed, p, b)):
                h = _mix(h, w)
    return h


def parse_results(console: str) -> dict[int, dict]:
    """RESULT lines of a console log -> {appvm index: {workload, status, iterations, checksum}}."""
    return {int(m[1]): {"workload": m[2], "status": m[3], "iterations": int(m[4]), "checksum": int(m[5], 16)}
            for m in RESULT_RE.finditer(console)}


# ---- the build ----

def _guest_script(slot: int, outdir: Path) -> Path:
    base = P["SLOTS_BASE"] + slot * P["SLOT_SIZE"]
    text = (LIB / "guest.ld.in").read_text()
    text = text.replace("@BASE@", hex(base + P["SLOT_IMAGE_OFF"])).replace("@LIMIT@", hex(base + P["SLOT_SIZE"]))
    path = outdir / f"guest_s{slot}.ld"
    path.write_text(text)
    return path


def _listings(elf: Path) -> None:
    """`.sym` (always, via pyelftools when available) and `.asm` (when llvm-objdump is installed)."""
    try:
        from elftools.elf.elffile import ELFFile
        from elftools.elf.sections import SymbolTableSection
        with open(elf, "rb") as f:
            syms = []
            for sec in ELFFile(f).iter_sections():
                if isinstance(sec, SymbolTableSection):
                    syms += [(s["st_value"], s["st_size"], s.name) for s in sec.iter_symbols()
                             if s.name and not s.name.startswith(("$", ".L"))
                             and s["st_info"]["type"] in ("STT_FUNC", "STT_OBJECT", "STT_NOTYPE")]
        elf.with_suffix(".sym").write_text("".join(f"{a:08x} {n:6d} {s}\n" for a, n, s in sorted(set(syms))))
    except ImportError:
        pass
    objdump = shutil.which("llvm-objdump")
    if objdump:
        res = subprocess.run([objdump, "-d", "--mattr=+m,+a", "--no-show-raw-insn", str(elf)], capture_output=True, text=True)
        if res.returncode == 0:
            elf.with_suffix(".asm").write_text(res.stdout)


def build_images(outdir: str | Path, *, listings: bool = True) -> dict[str, Path]:
    """Build hv.elf, privvm.elf, dvm.elf and appvm_s<slot>.elf for every AppVM slot into `outdir`.

    Returns name -> path: "hv", "privvm", "dvm", "appvm_s2".."appvm_s7", and "appvm" (= appvm_s2).
    """
    outdir = Path(outdir)
    objdir = outdir / "obj"
    objdir.mkdir(parents=True, exist_ok=True)
    common_inc = [INCLUDE, LIB]
    jobs = {}  # source -> (object, includes)
    for src in LIB_SRCS + GUEST_SRCS:
        jobs[src] = common_inc
    for src in HV_SRCS:
        jobs[src] = common_inc + [STACK_DIR / "hv"]
    for src in PRIVVM_SRCS:
        jobs[src] = common_inc + [STACK_DIR / "privvm"]
    for src in APPVM_SRCS:
        jobs[src] = common_inc + [STACK_DIR / "appvm"]
    for src in DVM_SRCS:
        jobs[src] = common_inc + [STACK_DIR / "dvm"]

    def compile_one(src: str) -> Path:
        obj = objdir / (src.replace("/", "_").rsplit(".", 1)[0] + ".o")
        return toolchain.compile_object(STACK_DIR / src, obj, includes=jobs[src])

    with ThreadPoolExecutor() as pool:
        objs = dict(zip(jobs, pool.map(compile_one, jobs)))

    def objects(srcs: Sequence[str]) -> list[Path]:
        return [objs[s] for s in srcs]

    images: dict[str, Path] = {}
    links = [("hv", objects(HV_SRCS + LIB_SRCS), STACK_DIR / "hv" / "hv.ld")]
    links.append(("privvm", objects(GUEST_SRCS + PRIVVM_SRCS + LIB_SRCS), _guest_script(P["SLOT_PRIVVM"], objdir)))
    links.append(("dvm", objects(GUEST_SRCS + DVM_SRCS + LIB_SRCS), _guest_script(P["SLOT_DVM"], objdir)))
    for slot in range(P["SLOT_APPVM0"], P["MAX_SLOTS"]):
        links.append((f"appvm_s{slot}", objects(GUEST_SRCS + APPVM_SRCS + LIB_SRCS), _guest_script(slot, objdir)))

    def link_one(item):
        name, objl, script = item
        out = toolchain.link(objl, outdir / f"{name}.elf", script=script)
        if listings:
            _listings(out)
        return name, out

    with ThreadPoolExecutor() as pool:
        images.update(pool.map(link_one, links))
    images["appvm"] = images[f"appvm_s{P['SLOT_APPVM0']}"]
    return images


def build_host_tests(outdir: str | Path) -> dict[str, Path]:
    """Compile each host test program (native target, same warnings) into `outdir`."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, srcs in HOST_TESTS.items():
        exe = outdir / f"host_{name}"
        cmd = toolchain._cc() + ["-O1", "-g", "-Wall", "-Werror", "-fno-builtin", f"-I{INCLUDE}", f"-I{LIB}",
                                 f"-I{STACK_DIR / 'privvm'}", "-o", str(exe)] + [str(STACK_DIR / s) for s in srcs]
        toolchain._run(cmd, f"building host test {name}")
        out[name] = exe
    return out


if __name__ == "__main__":
    import sys
    for name, path in build_images(sys.argv[1] if len(sys.argv) > 1 else "build/stack").items():
        print(f"{name:10s} {path}")
