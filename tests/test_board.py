"""The board map: the core's one device table (cyext/bus.pxi) against itself, the bus, the stack's
include/platform.h and the nominal clock."""
from __future__ import annotations

import pytest

core = pytest.importorskip("cyext.core", reason="the Cython core is not built")

from workbench.machine import board, clock  # noqa: E402
from workbench.machine import BOARD, Machine  # noqa: E402
from workbench.stack.abi import P  # noqa: E402

ROWS = core.BOARD


def row(name, **kw):
    return {"name": name, "base": 0, "size": 0, "irq": 0, "events": (), "state": (0, 0), "counters": (), **kw}


def test_the_table_is_a_board():
    core.check_devices(ROWS)
    assert [r["name"] for r in ROWS][0] == "ram"
    assert len({r["name"] for r in ROWS}) == len(ROWS)


@pytest.mark.parametrize("rows,match", [
    ([row("uart", base=0x100, size=0x100), row("uart", base=0x400, size=0x100)], "twice"),
    ([row("a", base=0x100, size=0x100), row("b", base=0x1FF, size=0x10)], "a and b overlap"),
    ([row("a", base=0x100, size=0x100), row("b", base=0x200, size=0x10)], None),
    ([row("a", events=(1, 2)), row("b", events=(2,))], "event kind 2"),
    ([row("a", state=(0, 16)), row("b", state=(8, 8))], "State slice"),
    ([row("a", state=(core.STATE_SIZE, 1))], "outside State"),
])
def test_check_devices_refuses_overlaps_and_duplicates(rows, match):
    if match is None:
        core.check_devices(rows)
    else:
        with pytest.raises(ValueError, match=match):
            core.check_devices(rows)


def test_the_bus_reads_the_table():
    m = Machine(harts=2, ram_size=1 << 20)
    starts = {r["base"] for r in ROWS}
    for r in ROWS[1:]:
        if not r["size"]:
            continue
        m.peek_device(r["base"])                  # every window answers at its base ...
        if r["base"] + r["size"] not in starts:   # ... and nothing answers just past it
            with pytest.raises(ValueError, match="no device"):
                m.peek_device(r["base"] + r["size"])
    c = core.CONSTANTS
    for slot in range(c["VIRTIO_SLOTS"]):         # every virtio slot answers (magic "virt"), as on QEMU
        assert m.peek_device(c["VIRTIO_BASE"] + c["VIRTIO_STRIDE"] * slot) == 0x74726976


def test_device_events_and_counters_come_from_the_rows():
    # every event kind the device code queues has exactly one owner
    owned = sorted(k for r in ROWS for k in r["events"])
    assert owned == list(range(1, len(owned) + 1))
    m = Machine(ram_size=1 << 20)
    v = m.virtio_state()
    for name in ("blk", "net"):
        r = BOARD["virtio_" + name]
        assert (v[name]["base"], v[name]["irq"]) == (r.base, r.irq)
        assert tuple(v[name]["counters"]) == r.counters
    assert set(BOARD["net_peer"].counters) <= set(m.peer_summary())


def test_python_constants_derive_from_the_table():
    from workbench import machine
    assert machine.RAM_BASE == BOARD["ram"].base
    assert BOARD["virtio_blk"].base == machine.VIRTIO_BASE + board.VIRTIO_STRIDE * machine.BLK_SLOT
    assert BOARD["virtio_net"].base == machine.VIRTIO_BASE + board.VIRTIO_STRIDE * machine.NET_SLOT
    assert Machine(ram_size=1 << 20).board["ram"].size == 1 << 20


def test_platform_header_agrees_with_the_table():
    """The stack's include/platform.h and the core declare the same board."""
    for define, name in (("RAM_BASE", "ram"), ("SYSCON_BASE", "syscon"), ("WDOG_BASE", "watchdog"),
                         ("CLINT_BASE", "clint"), ("PLIC_BASE", "plic"), ("UART_BASE", "uart")):
        assert P[define] == BOARD[name].base, define
    c = core.CONSTANTS
    assert (P["VIRTIO_BASE"], P["VIRTIO_STRIDE"], P["VIRTIO_SLOTS"]) == (
        c["VIRTIO_BASE"], c["VIRTIO_STRIDE"], c["VIRTIO_SLOTS"])
    assert P["MAX_HARTS"] == c["MAX_HARTS"]
    assert BOARD["watchdog"].size == P["WDOG_STRIDE"] * P["MAX_HARTS"]
    # the virtio devices sit in slots inside the window, with PLIC source slot + 1 (platform.h VIRTIO_IRQ)
    for name in ("virtio_blk", "virtio_net"):
        slot = (BOARD[name].base - P["VIRTIO_BASE"]) // P["VIRTIO_STRIDE"]
        assert 0 <= slot < P["VIRTIO_SLOTS"] and BOARD[name].irq == slot + 1
    m = Machine(ram_size=1 << 20)
    assert m.peek_device(P["WDOG_BASE"]) == P["WDOG_ID_VALUE"]


def test_clock_and_mtime_divider_agree_with_the_core():
    c = core.CONSTANTS
    assert clock.CYCLES_PER_SECOND == c["CYCLES_PER_SECOND"]
    assert c["CYCLES_PER_SECOND"] // c["MTIME_DIVIDER"] == P["TIMEBASE_HZ"]
    # and the divider is the one the CLINT uses: mtime after n cycles of an idle spin
    m = Machine(ram_size=1 << 20)
    m.write(board.RAM_BASE, bytes.fromhex("6f000000"))     # j .
    m.run(max_cycles=12345)
    assert m.peek_device(BOARD["clint"].base + 0xBFF8) == m.cycle // board.MTIME_DIVIDER
