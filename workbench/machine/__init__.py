"""The hardware layer: component objects over the Cython machine model (`cyext.core`).

`Machine` is the one object users hold (machine.py); snapshot files are snapfile.py; the nominal
clock and every cycle -> time conversion are clock.py; the board map (read from the core's device table)
is board.py; the one check for integers crossing into the core is validate.py.
"""
from workbench.machine.clock import CYCLES_PER_SECOND, cycles_to_ms, cycles_to_s, cycles_to_us  # noqa: F401
from workbench.machine.machine import (  # noqa: F401
    ABI_NAMES, BLK_SLOT, BOARD, DEFAULT_DISK_SIZE, DEFAULT_NMI_VECTOR, MAX_HARTS, NET_SLOT, PEER_MAX_PAYLOAD, PEER_MAX_TRIES, PEER_TIMEOUT,
    PEER_TRIES, PRIV_NAMES,
    RAM_BASE, VIRTIO_BASE, Device, Hart, Machine, Registers, StopInfo, csr_number, register_number)
from workbench.machine.snapfile import SnapshotError  # noqa: F401

__all__ = ["ABI_NAMES", "BLK_SLOT", "BOARD", "CYCLES_PER_SECOND", "DEFAULT_DISK_SIZE", "DEFAULT_NMI_VECTOR", "MAX_HARTS",
           "NET_SLOT", "PEER_MAX_PAYLOAD", "PEER_MAX_TRIES", "PEER_TIMEOUT", "PEER_TRIES", "PRIV_NAMES", "RAM_BASE", "VIRTIO_BASE", "Device", "Hart", "Machine", "Registers",
           "SnapshotError", "StopInfo", "csr_number", "cycles_to_ms", "cycles_to_s", "cycles_to_us", "register_number"]
