"""Split I/O under QEMU: the driver VM's virtio drivers and backends, the AppVMs' frontends, the `blk`
and `net` workloads (issue 4), cross-checked on QEMU's own virtio-mmio devices.

The disk is a raw image file the test creates; the network is QEMU's UDP socket backend on loopback
with a small Python peer (workbench/system/qemu_peer.py) speaking include/netproto.h.  Checks: every
workload's result equals what Python computes from its generator, the disk holds exactly what `blk`
wrote, the peer got every reply right, the DVM's heartbeat reached the PrivVM, and an AppVM that
touches a virtio device is killed while the others carry on.
"""
from __future__ import annotations

import re
import struct
import subprocess

import pytest

from workbench.stack import abi
from workbench.stack import build
from workbench.system import iomodel
from workbench.system import qemu
from workbench.system.iomodel import net_checksum
from workbench.system.qemu_peer import Peer

TIMEOUT = 40


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    return build.build_images(tmp_path_factory.mktemp("stack"), listings=False)


def run(images, work, harts, appvms, *, net=False, **bootinfo):
    """Boot one configuration (with a peer when `net`): (console, exit code, results, disk bytes, peer)."""
    work.mkdir(parents=True, exist_ok=True)
    peer = Peer(interval=0.005, timeout=TIMEOUT) if net else None   # wall-clock time: leave slack
    cmd = qemu.qemu_setup(images, work, harts=harts, appvms=appvms, netdev=peer.netdev() if peer else None, **bootinfo)
    if peer:
        peer.start()
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"QEMU did not power off within {TIMEOUT} s; console:\n{(e.stdout or b'').decode(errors='replace')[-4000:]}")
    finally:
        if peer:
            peer.stop()
            peer.join()
    out = proc.stdout.decode(errors="replace")
    disk = (work / "disk.img").read_bytes() if (work / "disk.img").exists() else b""
    return out, proc.returncode, abi.parse_results(out), disk, peer


def heartbeat_seen(out: str) -> bool:
    # "ok" or "late": QEMU's mtime is wall-clock time, so a busy host can make it late; "never" fails
    return re.search(r"d1  DVM io .* heartbeat (ok|late)", out) is not None


def region(disk: bytes, i: int, size: int = abi.DEFAULT_DISK_REGION) -> bytes:
    return disk[i * size:(i + 1) * size]


@pytest.mark.qemu
def test_blk_writes_what_python_expects(images, tmp_path):
    out, rc, res, disk, _ = run(images, tmp_path / "blk", 2, [("blk", 64, 5)])
    assert rc == 0 and "HV PANIC" not in out, out
    assert res[0] == {"workload": "blk", "status": "ok", "iterations": 64, "checksum": iomodel.blk_checksum(5, 64)}, out
    assert region(disk, 0) == iomodel.blk_expected_region(5, 64)
    assert "dvm: virtio-blk in slot 7 (irq 8)" in out                 # QEMU fills the slots from the top
    assert heartbeat_seen(out), out                                    # the PrivVM saw the DVM's heartbeat
    assert "/local/domain/1/backend/vbd/2/state = \"6\"" in out      # closed cleanly at the end


@pytest.mark.qemu
def test_each_appvm_owns_its_region(images, tmp_path):
    size = 256 << 10
    appvms = [("blk", 16, 1), ("hcall", 20, 2), ("blk", 70, 3)]    # 70 blocks > 64 fit: capped, so "fail"
    out, rc, res, disk, _ = run(images, tmp_path / "regions", 2, appvms, disk_region=size)
    assert rc == 0, out
    assert res[0]["status"] == "ok" and res[0]["checksum"] == iomodel.blk_checksum(1, 16, size)
    assert res[2]["iterations"] == 64 and res[2]["checksum"] == iomodel.blk_checksum(3, 70, size)
    assert res[2]["status"] == "fail"                                  # it could not do all it was asked
    assert region(disk, 0, size) == iomodel.blk_expected_region(1, 16, size)
    assert region(disk, 1, size) == bytes(size)                        # the hcall AppVM has no disk
    assert region(disk, 2, size) == iomodel.blk_expected_region(3, 70, size)


@pytest.mark.qemu
def test_net_answers_the_peer(images, tmp_path):
    out, rc, res, _, peer = run(images, tmp_path / "net", 2, [("hcall", 10, 1), ("net", 25, 2)], net=True)
    assert rc == 0, out
    assert res[1] == {"workload": "net", "status": "ok", "iterations": 25, "checksum": net_checksum(1, 25)}, out
    rows = peer.stats()
    assert [(r["appvm"], r["seq"]) for r in rows] == [(1, s) for s in range(25)]
    assert all(r["ok"] and r["reply"] is not None and r["duplicates"] == 0 for r in rows)   # no loss


@pytest.mark.qemu
def test_net_count_comes_from_the_boot_info(images, tmp_path):
    out, rc, res, _, peer = run(images, tmp_path / "netcount", 1, [("net", 999, 1)], net=True, net_count=7)
    assert rc == 0, out
    assert res[0]["iterations"] == 7 and res[0]["checksum"] == net_checksum(0, 7)
    assert len(peer.stats()) == 7


@pytest.mark.qemu
@pytest.mark.parametrize("harts", [1, 2, 4])
def test_default_system(images, tmp_path, harts):
    # The papers' 3AppVM configuration: PrivVM, DVM, blk + net + hcall.  The results do not depend on
    # the number of harts, and hcall's equals its result in a system without any I/O.
    appvms = list(abi.DEFAULT_APPVMS)
    out, rc, res, disk, peer = run(images, tmp_path / f"default{harts}", harts, appvms, net=True)
    assert rc == 0 and "HV PANIC" not in out, out
    (bw, bi, bs), (nw, ni, ns), (hw, hi, hs) = appvms
    assert res[0] == {"workload": "blk", "status": "ok", "iterations": bi, "checksum": iomodel.blk_checksum(bs, bi)}, out
    assert res[1] == {"workload": "net", "status": "ok", "iterations": ni, "checksum": net_checksum(1, ni)}, \
        (out, [r for r in peer.stats() if not r["ok"]])
    alone = abi.parse_results(subprocess.run(qemu.qemu_setup(images, tmp_path / f"default{harts}", harts=harts,
                                                        appvms=[(hw, hi, hs)]), capture_output=True,
                                           timeout=TIMEOUT, stdin=subprocess.DEVNULL).stdout.decode())
    assert res[2] == alone[0] and res[2]["status"] == "ok"
    assert region(disk, 0) == iomodel.blk_expected_region(bs, bi)
    assert all(r["ok"] for r in peer.stats()) and len(peer.stats()) == ni
    assert heartbeat_seen(out), out


@pytest.mark.qemu
def test_appvm_cannot_reach_the_devices(images, tmp_path):
    # `devpmp` writes 0 (reset) to the status register of virtio slot 7 (the disk): PMP stops it, the
    # hypervisor kills that AppVM alone, and the disk keeps serving the other one.
    out, rc, res, disk, _ = run(images, tmp_path / "devpmp", 2, [("blk", 16, 4), ("devpmp", 1, 1)])
    assert rc == 0, out
    assert "crashed: store access fault (mcause 7)" in out and "address 0x10008070" in out, out
    assert "isolation is broken" not in out and 1 not in res
    assert res[0]["status"] == "ok" and region(disk, 0) == iomodel.blk_expected_region(4, 16)


@pytest.mark.qemu
def test_irq_routing_dump(images, tmp_path):
    out, rc, res, _, _ = run(images, tmp_path / "dump", 2, [("blk", 4, 1)], boot_flags=abi.BOOT_DUMP_AT_EXIT)
    assert rc == 0 and res[0]["status"] == "ok", out
    assert "hv: d1 assigned device 0x10008000+0x1000, irq 8 on hart 1" in out
    line = next(l for l in out.splitlines() if l.startswith("irqs "))
    # routed to the DVM on its hart; a claim may still be in service ('*') at power-off here, since
    # QEMU's clock is the host's (every claim completed: tests/test_system_io.py, on the model)
    assert re.search(r" 8->d1@h1\*?/", line), line


@pytest.mark.qemu
def test_no_dvm_without_io(images, tmp_path):
    out, rc, res, disk, _ = run(images, tmp_path / "noio", 1, [("hcall", 10, 1)])
    assert rc == 0 and res[0]["status"] == "ok"
    assert "DVM" not in out and "assigned device" not in out and disk == b""


@pytest.mark.qemu
def test_version_1_boot_info_still_boots(images, tmp_path):
    work = tmp_path / "v1"
    work.mkdir()
    cmd = qemu.qemu_setup(images, work, harts=1, appvms=[("hcall", 10, 1)])
    block = bytearray((work / "bootinfo.bin").read_bytes()[:276])
    struct.pack_into("<I", block, 4, 1)
    (work / "bootinfo.bin").write_bytes(block)
    out = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL).stdout.decode()
    assert "boot info from loader block" in out and abi.parse_results(out)[0]["status"] == "ok", out


def test_abi_of_io():
    assert abi.needs_dvm([("hcall", 1, 1), ("net", 1, 1)]) and not abi.needs_dvm([("hcall", 1, 1)])
    block = abi.pack_boot_info(nharts=1, appvms=[("blk", 1, 1)], modules=[], disk_region=8192, net_count=5)
    assert struct.unpack_from("<2I", block, 276) == (8192, 5) and struct.unpack_from("<I", block, 4) == (2,)
    with pytest.raises(ValueError, match="disk_region"):
        abi.pack_boot_info(nharts=1, appvms=[], modules=[], disk_region=1000)
    assert len(iomodel.blk_block(1, 2, 3)) == 4096 and iomodel.blk_block(1, 2, 3) != iomodel.blk_block(1, 1, 3)


@pytest.mark.qemu
@pytest.mark.parametrize("harts", [1, 2])
def test_backend_restart_frontend_resubmits(images, tmp_path, harts):
    # The DVM's test hook resets both devices and restarts its backends after 20 block answers (what a
    # DVM microreboot does to the I/O path): the block frontend reconnects and resubmits its shadow
    # requests, and the workload's result and the disk are exactly as without the restart.
    appvms = [("blk", 48, 9), ("hcall", 30, 1)]
    out, rc, res, disk, _ = run(images, tmp_path / f"restart{harts}", harts, appvms, dvm_restart=20)
    assert rc == 0, out
    assert "dvm: restarting devices and backends" in out and "vbd backend left Connected: reconnecting" in out, out
    assert "blkfront resubmitted" in out
    assert res[0] == {"workload": "blk", "status": "ok", "iterations": 48, "checksum": iomodel.blk_checksum(9, 48)}, out
    assert region(disk, 0) == iomodel.blk_expected_region(9, 48)
    assert res[1]["status"] == "ok"


@pytest.mark.qemu
def test_disk_too_small_fails_fast(images, tmp_path):
    # A region the disk cannot hold: the backend says so (error key, Closed) and the workload fails
    # at once instead of waiting for a connection that never comes.
    work = tmp_path / "small"
    work.mkdir()
    small = work / "small.img"
    small.write_bytes(bytes(64 << 10))
    cmd = qemu.qemu_setup(images, work, harts=2, appvms=[("blk", 4, 1), ("compute", 10, 1)], disk=small)
    out = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL).stdout.decode()
    res = abi.parse_results(out)
    assert res[0]["status"] == "fail" and res[1]["status"] == "ok", out
    assert "vbd backend: cannot serve this device" in out
