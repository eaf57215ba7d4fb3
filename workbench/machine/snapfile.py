"""Snapshot files: a machine snapshot written with a format version and a checksum, read back only
if it is intact and made by a build with the same machine-state layout."""
from __future__ import annotations

import hashlib
import json
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from cyext import core as _core

_SNAP_MAGIC = b"MRWBSNAP"
_SNAP_VERSION = 2     # 2: disk and network peer records


class SnapshotError(ValueError):
    """A snapshot file that cannot be used: wrong format, truncated, altered or for another build."""


def save(machine, path: str | os.PathLike, snap) -> Path:
    """Write `snap` of `machine` to `path`, with a format version and a checksum."""
    meta = json.dumps({"harts": len(machine.harts), "ram_size": machine.ram_size, "quantum": machine.quantum,
                       "boot_arg": machine.boot_arg, "nmi_vector": machine.nmi_vector, "state_size": _core.STATE_SIZE,
                       "state_layout": _core.STATE_LAYOUT, "disk_size": machine.disk_size}).encode()
    ram = zlib.compress(snap.ram.tobytes(), 1)
    disk = zlib.compress(snap.disk.tobytes(), 1)
    body = b"".join([struct.pack("<I", len(meta)), meta,
                     struct.pack("<Q", len(snap.state)), snap.state,
                     struct.pack("<Q", len(snap.console)), snap.console,
                     struct.pack("<Q", len(snap.peer)), snap.peer,
                     struct.pack("<Q", len(ram)), ram, disk])
    header = _SNAP_MAGIC + struct.pack("<I", _SNAP_VERSION)
    digest = hashlib.sha256(header + body).digest()
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(header + body + digest)
    os.replace(tmp, path)      # never leave a half-written snapshot under the real name
    return path

def load(cls, path: str | os.PathLike):
    """A new `cls` (Machine) in the state saved at `path`. Refuses truncated, altered or foreign files."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no snapshot file at {path}")
    raw = path.read_bytes()
    if len(raw) < len(_SNAP_MAGIC) + 4 + 32 or raw[:8] != _SNAP_MAGIC:
        raise SnapshotError(f"{path} is not a workbench snapshot (bad magic or too short)")
    (version,) = struct.unpack_from("<I", raw, 8)
    if version != _SNAP_VERSION:
        raise SnapshotError(f"{path} has snapshot format {version}; this build reads {_SNAP_VERSION}")
    if hashlib.sha256(raw[:-32]).digest() != raw[-32:]:
        raise SnapshotError(f"{path} is corrupt: checksum mismatch (truncated or altered)")
    try:
        pos = 12
        (n,) = struct.unpack_from("<I", raw, pos)
        meta = json.loads(raw[pos + 4:pos + 4 + n])
        pos += 4 + n
        (n,) = struct.unpack_from("<Q", raw, pos)
        state = raw[pos + 8:pos + 8 + n]
        pos += 8 + n
        (n,) = struct.unpack_from("<Q", raw, pos)
        console = raw[pos + 8:pos + 8 + n]
        pos += 8 + n
        (n,) = struct.unpack_from("<Q", raw, pos)
        peer = raw[pos + 8:pos + 8 + n]
        pos += 8 + n
        (n,) = struct.unpack_from("<Q", raw, pos)
        ram = np.frombuffer(zlib.decompress(raw[pos + 8:pos + 8 + n]), dtype=np.uint8).copy()
        pos += 8 + n
        disk = np.frombuffer(zlib.decompress(raw[pos:-32]), dtype=np.uint8).copy()
    except (struct.error, ValueError, zlib.error) as e:
        raise SnapshotError(f"{path} is corrupt: {e}") from None
    if meta.get("state_layout") != _core.STATE_LAYOUT or meta.get("state_size") != _core.STATE_SIZE:
        raise SnapshotError(f"{path} was saved by a build with another machine-state layout")
    if len(ram) != meta["ram_size"] or len(disk) != meta.get("disk_size"):
        raise SnapshotError(f"{path} is corrupt: RAM/disk are {len(ram)}/{len(disk)} bytes, header says "
                            f"{meta['ram_size']}/{meta.get('disk_size')}")
    m = cls(meta["harts"], meta["ram_size"], quantum=meta["quantum"], boot_arg=meta["boot_arg"],
            **({"nmi_vector": meta["nmi_vector"]} if "nmi_vector" in meta else {}),
            disk_size=meta["disk_size"])
    snap = _core.Snapshot(bytes(state), ram, bytes(console), 0, 0, meta["harts"], meta["ram_size"],
                          disk, bytes(peer))
    m._core.restore(snap)
    return m
