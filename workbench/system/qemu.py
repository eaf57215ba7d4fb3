"""The QEMU cross-check: the same stack images booted on `qemu-system-riscv32 -machine virt -bios none`,
an independent implementation of the board, with the boot-info block and boot modules placed by
QEMU's generic loader, and a loopback network peer (`qemu_peer.Peer`) for the `net` AppVMs.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from workbench.stack import abi
from workbench.stack.abi import DEFAULT_DISK_REGION, P, module_table, needs_dvm, pack_boot_info
from workbench.system.qemu_peer import Peer
from workbench.system.results import record_text


@dataclass(frozen=True)
class QemuRun:
    command: list[str]
    console: str
    returncode: int | None
    timed_out: bool
    results: dict[int, dict] = field(default_factory=dict)   # abi.parse_results of the console
    disk: bytes = b""                   # the disk image after the run (configurations with a driver VM)
    peer: tuple[dict, ...] = ()         # qemu_peer.Peer.stats(): one row per request (with `net` AppVMs)



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


def system_command(system, workdir: str | os.PathLike, netdev: str | None = None) -> list[str]:
    """The qemu-system-riscv32 command line for this configuration (boot-info written to `workdir`).

    With a driver VM, a zeroed raw disk image of `disk_size` bytes (`workdir`/disk.img) backs
    QEMU's virtio-blk; with `net` AppVMs, `netdev` is the `-netdev` of a peer (run_qemu starts a
    `qemu_peer.Peer`; without one, a UDP socket on 127.0.0.1:5555/5556 is named)."""
    c = system.config
    disk = None
    if c.dvm:
        disk = Path(workdir) / "disk.img"
        with open(disk, "wb") as f:
            f.truncate(c.disk_size)
        if c.net_appvms and netdev is None:
            netdev = "socket,id=n0,udp=127.0.0.1:5555,localaddr=127.0.0.1:5556"
    return qemu_setup(system.images, workdir, harts=c.harts, appvms=c.appvm_table, ram_mb=c.ram_size >> 20,
                            dvm=c.dvm, disk=disk, netdev=netdev if c.net_appvms else None,
                            disk_region=c.disk_region, net_count=c.net_count, dvm_restart=c.dvm_restart)


def run(system, timeout: float = 60.0, workdir: str | os.PathLike | None = None,
             peer_interval_s: float = 0.005) -> QemuRun:
    """Boot the same images under QEMU until it powers off (or `timeout` seconds).  With `net`
    AppVMs a Python peer (qemu_peer.py) answers their hellos on loopback with the
    same requests as the machine's peer (seed, payload), one every `peer_interval_s` wall seconds
    (QEMU's time is wall-clock time, so it gets slack)."""
    if shutil.which("qemu-system-riscv32") is None:
        raise FileNotFoundError("qemu-system-riscv32 is not on PATH (Debian package qemu-system-misc)")
    c = system.config
    peer = None
    if c.net_appvms:
        peer = Peer(interval=peer_interval_s, timeout=timeout, seed=c.peer_seed, payload_len=c.peer_payload)
    with tempfile.TemporaryDirectory(prefix="mrwb-qemu-") as tmp:
        work = Path(workdir or tmp)
        cmd = system_command(system, work, netdev=peer.netdev() if peer else None)
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
    return QemuRun(cmd, out, rc, timed_out, abi.parse_results(out), disk,
                   tuple(peer.stats()) if peer else ())


def compare(system, q: QemuRun):
    """Golden results next to QEMU's result records, one row per AppVM, with a `match` column."""
    import polars as pl
    rows = []
    for g in system.golden():
        o = q.results.get(g.appvm)
        rows.append({"appvm": g.appvm, "workload": g.workload, "ours": record_text(g),
                     "qemu": "-" if o is None else f"{o['status']} {o['iterations']} 0x{o['checksum']:08x}",
                     "match": (o is None and g.state != "done") or (o is not None and g.matches(o))})
    return pl.DataFrame(rows)
