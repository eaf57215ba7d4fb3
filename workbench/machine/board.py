"""The board map as the core declares it (cyext/bus.pxi: one row per device). Nothing here restates an
address: every constant is read from the core's table, and tests/test_board.py checks the stack's
include/platform.h against it."""
from __future__ import annotations

from dataclasses import dataclass

from cyext import core as _core


@dataclass(frozen=True)
class Device:
    """One row of the core's device table."""
    name: str
    base: int                   # MMIO window [base, base + size); size 0: no window (events only)
    size: int
    irq: int                    # PLIC source, 0: none
    events: tuple[int, ...]     # the device-event kinds it owns
    state: tuple[int, int]      # (offset, size) of its slice of the machine State
    counters: tuple[str, ...]   # names of its counters

    @property
    def end(self) -> int:
        return self.base + self.size


BOARD: dict[str, Device] = {r["name"]: Device(**r) for r in _core.BOARD}
_C = _core.CONSTANTS

RAM_BASE = BOARD["ram"].base
MAX_HARTS = _C["MAX_HARTS"]
MTIME_DIVIDER = _C["MTIME_DIVIDER"]                 # cycles per mtime tick
VIRTIO_BASE, VIRTIO_STRIDE = _C["VIRTIO_BASE"], _C["VIRTIO_STRIDE"]   # slot i at VIRTIO_BASE + STRIDE*i
BLK_SLOT = (BOARD["virtio_blk"].base - VIRTIO_BASE) // VIRTIO_STRIDE
NET_SLOT = (BOARD["virtio_net"].base - VIRTIO_BASE) // VIRTIO_STRIDE
PEER_MAX_PAYLOAD = _C["PEER_PAYLOAD_MAX"]           # an Ethernet frame less its header and the peer's
PEER_TIMEOUT = 500_000                              # cycles (5 ms) before the peer sends a request again
# transmissions of a request before the peer gives up: 16 x 5 ms outlasts the hypervisor's 50 ms
# watchdog, and a DVM hang's detection (about 11 ms) plus the 50 ms the DVM has to be back serving I/O
PEER_TRIES = 16
PEER_MAX_TRIES = 1000
