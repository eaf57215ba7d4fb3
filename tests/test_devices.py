"""virtio-mmio block and network devices, the disk, the network peer and device time.

One bare-metal RV32 driver program (tests/programs/devtest.c + virtio.c) runs in several modes,
selected by poking its `mode` word before the run. Expected disk contents and peer payloads are computed
here from the program's and the protocol's definitions (README, "Devices"), not read back from the
model; the block mode is also run on QEMU's virtio-blk and the disk images compared.
"""
from __future__ import annotations

import struct
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

hw = pytest.importorskip("workbench.hw", reason="the Cython core is not built")
from workbench import toolchain  # noqa: E402
from workbench.hw import Machine  # noqa: E402

PROGRAMS = Path(__file__).parent / "programs"
BLK_BASIC, BLK_RESET, BLK_MALFORMED, NET_ECHO, BLK_EXEC = 1, 2, 3, 4, 5
VIRTIO = 0x1000_1000
RAM = 4 << 20
NQ = 16                       # receive buffers the test driver posts


@lru_cache(maxsize=None)
def devtest_elf(tmpdir: str) -> Path:
    out = Path(tmpdir) / "devtest.elf"
    return toolchain.build([PROGRAMS / "devtest.c", PROGRAMS / "virtio.c", PROGRAMS / "start.S"], out,
                           includes=[PROGRAMS])


@pytest.fixture(scope="module")
def elf(tmp_path_factory):
    return devtest_elf(str(tmp_path_factory.mktemp("devtest")))


@lru_cache(maxsize=None)
def symbols(elf: Path) -> dict[str, int]:
    from elftools.elf.elffile import ELFFile
    with open(elf, "rb") as f:
        return {s.name: s["st_value"] for s in ELFFile(f).get_section_by_name(".symtab").iter_symbols() if s.name}


def boot(elf, mode, disk_size=None, **words) -> Machine:
    m = Machine(ram_size=RAM, **({} if disk_size is None else {"disk_size": disk_size}))
    m.load_elf(elf)
    for name, v in {"mode": mode, **words}.items():
        m.write(symbols(elf)[name], struct.pack("<I", v))
    return m


def word(m, elf, name) -> int:
    return m.read_u32(symbols(elf)[name])


def pattern(first: int, nsec: int, salt: int) -> np.ndarray:
    """devtest.c pattern(): byte k of a 4 KiB request at sector s = s*7 + k*13 + k//512 + salt."""
    out = []
    for i in range(nsec // 8):
        k = np.arange(8 * 512)
        sector = first + 8 * i + k // 512
        out.append(((sector * 7 + k * 13 + (k >> 9) + salt) & 0xFF).astype(np.uint8))
    return np.concatenate(out)


def peer_payload(seed: int, appvm: int, seq: int, n: int) -> bytes:
    """The request payload as README defines it: splitmix64 from seed ^ appvm << 32 ^ seq."""
    mask = (1 << 64) - 1
    x, out = (seed ^ (appvm << 32) ^ seq) & mask, bytearray()
    while len(out) < n:
        x = (x + 0x9E3779B97F4A7C15) & mask
        z = x
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        out += (z ^ (z >> 31)).to_bytes(8, "little")
    return bytes(out[:n])


# ---------------------------------------------------------------------------------------------
# Registers


def test_slots_answer_like_qemu():
    m = Machine(ram_size=RAM)
    for slot in range(8):
        base = VIRTIO + 0x1000 * slot
        assert m.peek_device(base) == 0x74726976
        assert m.peek_device(base + 4) == 2
        assert m.peek_device(base + 0xC) == 0x554D4551
        assert m.peek_device(base + 8) == {7: 2, 6: 1}.get(slot, 0)
    blk, net = VIRTIO + 0x7000, VIRTIO + 0x6000
    assert m.peek_device(blk + 0x34) == 64                    # QueueNumMax
    assert m.peek_device(blk + 0x100) == (16 << 20) // 512    # capacity, low word
    assert m.peek_device(blk + 0x114) == 512                  # blk_size
    assert bytes(m.peek_device(net + 0x100 + k, 1) for k in range(6)) == bytes.fromhex("020000000001")
    st = m.virtio_state()
    assert (st["blk"]["slot"], st["blk"]["irq"], st["net"]["slot"], st["net"]["irq"]) == (7, 8, 6, 7)
    assert st["blk"]["device_features"] == (1 << 32) | (1 << 9)      # VERSION_1, BLK_F_FLUSH
    assert st["net"]["device_features"] == (1 << 32) | (1 << 5)      # VERSION_1, NET_F_MAC


def test_disk_api_validation():
    m = Machine(ram_size=RAM, disk_size=1 << 20)
    assert m.disk.shape == (1 << 20,) and not m.disk.flags.writeable
    m.write_disk(4096, b"abc")
    assert m.disk[4096:4099].tobytes() == b"abc"
    with pytest.raises(ValueError, match="outside the disk"):
        m.write_disk((1 << 20) - 2, b"abc")
    with pytest.raises(ValueError, match="disk_size"):
        Machine(ram_size=RAM, disk_size=1000)
    with pytest.raises(ValueError):
        m.configure_peer(appvms=[0, 0], count=1, interval_cycles=10)
    with pytest.raises(ValueError):
        m.configure_peer(appvms=[0], count=1, interval_cycles=10, payload_len=5000)
    with pytest.raises(ValueError):
        m.configure_devices(blk_latency=-1)


# ---------------------------------------------------------------------------------------------
# Block device


def test_blk_write_read_back(elf):
    m = boot(elf, BLK_BASIC)
    stop = m.run(max_instructions=20_000_000)
    assert (stop.reason, stop.code) == ("poweroff", 0), m.console
    cap = m.disk_size // 512
    assert np.array_equal(m.disk[16 * 512:48 * 512], pattern(16, 32, 0))
    assert np.array_equal(m.disk[(cap - 32) * 512:], pattern(cap - 32, 32, 5))
    assert np.count_nonzero(m.disk[:16 * 512]) == 0 and np.count_nonzero(m.disk[48 * 512:(cap - 32) * 512]) == 0
    assert m.read(symbols(elf)["disk_id"], 20) == b"mrwb-disk0".ljust(20, b"\0")
    assert word(m, elf, "vio_irqs_seen") == 1 << 8            # completions came on PLIC source 8
    blk = m.virtio_state()["blk"]
    assert blk["counters"] == {"reads": 8, "writes": 8, "flushes": 2, "get_ids": 1, "sectors_read": 64,
                               "sectors_written": 64, "ioerr": 1, "unsupp": 0}
    assert blk["error"] is None and blk["queues"][0]["pending"] == 0


def test_blk_latency_is_simulated_time(elf):
    """20 requests, each waited for: 10000 more cycles of latency each is >= 200000 more cycles."""
    a = boot(elf, BLK_BASIC)
    b = boot(elf, BLK_BASIC)
    b.configure_devices(blk_latency=12_000)
    ca, cb = a.run().cycles, b.run().cycles
    assert a.virtio_state()["blk"]["queues"][0]["completed"] == 20
    assert 200_000 <= cb - ca <= 200_000 + 20 * a.quantum
    assert np.array_equal(a.disk, b.disk)


def test_blk_dma_over_executed_code(elf):
    """DMA into a page whose code was already decoded: the new code runs (stale decoded words)."""
    m = boot(elf, BLK_EXEC)
    m.write_disk(0, struct.pack("<II", 0x00200513, 0x00008067))      # li a0, 2; ret
    assert m.run(max_instructions=5_000_000).code == 0
    assert word(m, elf, "exec_result") == 0x12


def test_blk_reset_drops_in_flight_requests(elf):
    m = boot(elf, BLK_RESET)
    stop = m.run(max_instructions=20_000_000)
    assert (stop.reason, stop.code) == ("poweroff", 0), m.console
    assert np.count_nonzero(m.disk[100 * 512:132 * 512]) == 0          # the four writes never happened
    assert np.array_equal(m.disk[200 * 512:232 * 512], pattern(200, 32, 9))
    blk = m.virtio_state()["blk"]
    assert blk["dropped"] == 4 and blk["resets"] >= 2


@pytest.mark.parametrize("kind, error", [(1, "descriptor_address"), (2, "loop"), (3, "direction"), (4, "index"),
                                         (5, "ring"), (6, "format")])
def test_blk_malformed_chain_sets_needs_reset(elf, kind, error):
    m = boot(elf, BLK_MALFORMED, bad_kind=kind)
    stop = m.run(max_instructions=20_000_000)
    assert (stop.reason, stop.code) == ("poweroff", 0), m.console      # the driver reset and carried on
    seen = word(m, elf, "status_seen")
    assert seen & 0x40 and seen & 0x0F == 0x0F                          # DEVICE_NEEDS_RESET, DRIVER_OK kept
    assert (seen >> 8) & 2                                              # config-change interrupt
    blk = m.virtio_state()["blk"]
    assert blk["last_error"] == error and blk["errors"] == 1 and blk["error"] is None
    assert np.count_nonzero(m.disk[:512]) == 0                          # the bad request wrote nothing
    assert np.array_equal(m.disk[200 * 512:232 * 512], pattern(200, 32, 9))


# ---------------------------------------------------------------------------------------------
# Network device and peer


def test_net_echo_no_loss(elf):
    m = boot(elf, NET_ECHO)
    m.configure_peer(appvms=[0, 1, 2], count=40, interval_cycles=6000, payload_len=100, start_cycle=5000, seed=3)
    stop = m.run(max_instructions=20_000_000)
    assert stop.reason == "idle"
    s = m.peer_summary()
    assert (s["sent"], s["replies"], s["ok"], s["lost"], s["duplicates"], s["out_of_order"], s["bad"]) == \
        (120, 120, 120, 0, 0, 0, 0)
    df = m.peer_stats()
    assert df.height == 120 and df["ok"].all() and df["reply_cycle"].null_count() == 0
    assert df.columns[:5] == ["appvm", "seq", "sent_cycle", "reply_cycle", "latency_cycles"]
    assert sorted(df["sent_cycle"].unique().to_list()) == [5000 + 6000 * i for i in range(40)]
    assert df["latency_cycles"].min() >= 2 * m.device_config["net_wire_latency"]
    assert bytes(m.read(symbols(elf)["mac"], 6)) == bytes.fromhex("020000000001")
    assert word(m, elf, "vio_irqs_seen") == 1 << 7
    net = m.virtio_state()["net"]
    assert net["counters"]["rx_frames"] == 120 and net["counters"]["tx_frames"] == 120


def test_net_request_frames_follow_the_protocol(elf):
    m = boot(elf, NET_ECHO)
    m.configure_peer(appvms=[2], count=3, interval_cycles=20000, payload_len=40, seed=0xABCDEF)
    m.run(max_instructions=5_000_000)
    rxb = symbols(elf)["rxb"]
    for seq in range(3):          # the driver posts buffer i first; request seq lands in buffer seq
        raw = m.read(rxb + 1536 * seq, 12 + 30 + 40)
        assert raw[:12] == bytes([0] * 10 + [1, 0])                    # virtio_net_hdr, num_buffers = 1
        f = raw[12:]
        assert f[:6] == bytes.fromhex("020000000102") and f[6:12] == bytes.fromhex("0200000000fe")
        assert f[12:14] == b"\x88\xb5"
        assert struct.unpack("<4I", f[14:30]) == (0x5152524D, 2, seq, 40)
        assert f[30:] == peer_payload(0xABCDEF, 2, seq, 40)


def test_net_reset_mid_traffic(elf):
    m = boot(elf, NET_ECHO, reset_after=20)
    m.configure_peer(appvms=[0, 1], count=60, interval_cycles=3000, payload_len=64)
    assert m.run(max_instructions=20_000_000).reason == "idle"
    assert word(m, elf, "resets_done") == 1
    df = m.peer_stats()
    lost = df.filter(~df["ok"])
    assert lost.height <= NQ                                      # at most what sat in the rings
    assert lost["reply_cycle"].null_count() == lost.height        # lost means no reply at all, not a bad one
    assert df.filter(df["seq"] >= 20)["ok"].all()                 # after re-initialisation: everything
    sent = df["sent_cycle"].is_not_null()
    assert m.peer_unanswered() == (int((sent & df["reply_cycle"].is_null()).sum()), df["latency_cycles"].max())
    assert m.peer_summary()["bad"] == 0 and m.virtio_state()["net"]["resets"] >= 3


def test_requests_without_receive_buffers_are_lost(elf):
    m = boot(elf, BLK_BASIC)                  # no network driver at all
    m.configure_devices(rx_wait_limit=50_000)
    m.configure_peer(appvms=[0], count=10, interval_cycles=1000, tries=1)   # each frame once: 10 lost
    assert m.run().reason == "poweroff"       # long after the last request's wait limit ran out
    assert m.run().reason == "poweroff"       # a board that is off stays off until reset
    s = m.peer_summary()
    assert (s["sent"], s["lost"], s["replies"], s["waiting"]) == (10, 10, 0, 0)
    assert m.peer_stats()["reply_cycle"].null_count() == 10
    assert m.peer_unanswered() == (10, None)


# ---------------------------------------------------------------------------------------------
# Snapshots and determinism


def test_snapshot_restore_brings_the_disk_back(elf):
    m = boot(elf, BLK_BASIC)
    m.write_disk(1 << 20, b"before")
    snap = m.snapshot()
    h0 = m.state_hash()
    assert m.run().code == 0
    m.write_disk(2 << 20, b"after")
    h1 = m.state_hash()
    assert h1 != h0
    m.restore(snap)
    assert m.state_hash() == h0
    assert np.count_nonzero(m.disk) == 6 and m.disk[1 << 20:(1 << 20) + 6].tobytes() == b"before"
    m.run()
    m.write_disk(2 << 20, b"after")
    assert m.state_hash() == h1


def test_snapshot_mid_traffic_replays_identically(elf, tmp_path):
    m = boot(elf, NET_ECHO)
    m.configure_peer(appvms=[0, 1], count=30, interval_cycles=5000, payload_len=32, seed=11)
    m.run(max_cycles=61_234)
    assert m.virtio_state()["events"] > 0 and m.peer_summary()["sent"] < 60
    snap = m.snapshot()
    path = m.save_snapshot(tmp_path / "mid.snap", snap)
    assert m.run().reason == "idle"
    end, stats = m.state_hash(), m.peer_stats()
    m.restore(snap)
    assert m.run().reason == "idle"
    assert m.state_hash() == end and m.peer_stats().equals(stats)
    m2 = Machine.load_snapshot(path)
    assert m2.disk_size == m.disk_size
    assert m2.run().reason == "idle"
    assert m2.state_hash() == end and m2.peer_stats().equals(stats)


def test_restore_undoes_peer_reconfiguration_and_reset_restarts_it(elf):
    m = boot(elf, NET_ECHO)
    m.configure_peer(appvms=[0], count=10, interval_cycles=3000)
    snap, h = m.snapshot(), m.state_hash()
    m.configure_peer(appvms=[0, 1, 2], count=50, interval_cycles=1000)
    m.run(max_cycles=50_000)
    m.restore(snap)
    assert m.state_hash() == h and m.peer_config["appvms"] == [0]
    assert m.run().reason == "idle" and m.peer_summary()["ok"] == 10
    m.reset()
    assert m.peer_summary()["sent"] == 0 and m.peer_config["count"] == 10
    assert m.peer_stats()["sent_cycle"].null_count() == 10


def test_io_runs_are_deterministic(elf):
    def run(mode):
        m = boot(elf, mode)
        m.configure_peer(appvms=[0, 1], count=20, interval_cycles=2500, payload_len=200, seed=5)
        m.run(max_instructions=20_000_000)
        return m.state_hash(), m.cycle
    assert run(BLK_BASIC) == run(BLK_BASIC)
    assert run(NET_ECHO) == run(NET_ECHO)


def test_reading_device_state_has_no_side_effects(elf):
    m = boot(elf, NET_ECHO)
    m.configure_peer(appvms=[0], count=10, interval_cycles=3000)
    m.run(max_cycles=20_000)
    h = m.state_hash()
    for _ in range(2):
        m.virtio_state(), m.peer_stats(), m.peer_summary()
        for off in range(0, 0x110, 4):
            m.peek_device(VIRTIO + 0x6000 + off)
    assert m.state_hash() == h


# ---------------------------------------------------------------------------------------------
# QEMU cross-check: the same block program on QEMU's virtio-blk writes the same disk image


@pytest.mark.qemu
def test_blk_disk_image_matches_qemu(elf, tmp_path, qemu):
    import subprocess
    import rv32
    img = tmp_path / "disk.img"
    img.write_bytes(bytes(16 << 20))
    cmd = [rv32.qemu_path(), "-machine", "virt", "-cpu", "rv32,c=false", "-bios", "none", "-nographic",
           "-monitor", "none", "-serial", "stdio", "-smp", "1", "-m", "64M",
           "-global", "virtio-mmio.force-legacy=false",
           "-device", "virtio-blk-device,drive=d0", "-drive", f"if=none,id=d0,file={img},format=raw",
           "-kernel", str(elf)]
    proc = subprocess.run(cmd, capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout.decode(errors="replace")
    assert b"devtest: ok" in proc.stdout
    m = boot(elf, BLK_BASIC)
    assert m.run().code == 0
    assert np.array_equal(np.fromfile(img, dtype=np.uint8), m.disk)


@pytest.mark.qemu
@pytest.mark.parametrize("kind", [2, 3, 4, 6])
def test_malformed_chain_status_matches_qemu(kind, tmp_path, qemu):
    """QEMU's virtio-blk also answers a looped, misordered, overrun or headerless chain with
    DEVICE_NEEDS_RESET, and the driver recovers by a reset on both. (Buffers or rings at unmapped
    addresses, kinds 1 and 5, QEMU accepts as writes to nowhere; the model refuses them.)"""
    import re
    import subprocess
    import rv32
    elf = toolchain.build([PROGRAMS / "devtest.c", PROGRAMS / "virtio.c", PROGRAMS / "start.S"],
                          tmp_path / "bad.elf", includes=[PROGRAMS],
                          defines={"DEVTEST_MODE": BLK_MALFORMED, "DEVTEST_BAD": kind})
    img = tmp_path / "disk.img"
    img.write_bytes(bytes(16 << 20))
    cmd = [rv32.qemu_path(), "-machine", "virt", "-cpu", "rv32,c=false", "-bios", "none", "-nographic",
           "-monitor", "none", "-serial", "stdio", "-smp", "1", "-m", "64M",
           "-global", "virtio-mmio.force-legacy=false",
           "-device", "virtio-blk-device,drive=d0", "-drive", f"if=none,id=d0,file={img},format=raw",
           "-kernel", str(elf)]
    proc = subprocess.run(cmd, capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    theirs = proc.stdout.decode(errors="replace")
    assert proc.returncode == 0 and "devtest: ok" in theirs, theirs
    m = Machine(ram_size=RAM)
    m.load_elf(elf)
    assert m.run().code == 0
    status = [int(re.search(r"status ([0-9a-f]{8})", text).group(1), 16) for text in (theirs, m.console)]
    assert status[0] & 0xFF == status[1] & 0xFF == 0x4F
    assert status[0] & 0x200 and status[1] & 0x200          # config-change interrupt on both
    # the writes in flight at blk_reset()'s reset (sectors 100..131): QEMU drains them to the disk
    # before resetting, the model drops them (README); everything else must match
    theirs_disk, ours = np.fromfile(img, dtype=np.uint8), m.disk.copy()
    theirs_disk[100 * 512:132 * 512] = ours[100 * 512:132 * 512] = 0
    assert np.array_equal(theirs_disk, ours)
