"""Python models of what the I/O workloads leave behind, for golden checks: the `blk` workload's block
contents and checksum (as `appvm/wl_blk.c` computes them) and the `net` workload's requests, replies
and checksum (the protocol of `include/netproto.h`, the generator of the machine's network peer).
"""
from __future__ import annotations

import struct

from workbench.stack.abi import BLK_BLOCK, DEFAULT_DISK_REGION

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


# ---- the `net` workload (include/netproto.h) ----

ETHERTYPE = 0x88B5
HELLO, REQUEST, REPLY = 0x4948524D, 0x5152524D, 0x5052524D
PEER_MAC = bytes([2, 0, 0, 0, 0, 0xFE])


def appvm_mac(i: int) -> bytes:
    return bytes([2, 0, 0, 0, 1, i])


M64 = (1 << 64) - 1


def req_data(appvm: int, seq: int, seed: int = 0, payload_len: int = 64) -> bytes:
    """peer_fill of cyext/devices/net_peer.pxi: splitmix64 on seed ^ appvm << 32 ^ seq, 8 bytes a step."""
    x, out, z = (seed ^ (appvm << 32) ^ seq) & M64, bytearray(), 0
    for k in range(payload_len):
        if k % 8 == 0:
            x = (x + 0x9E3779B97F4A7C15) & M64
            z = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
            z ^= z >> 31
        out.append((z >> (8 * (k % 8))) & 0xFF)
    return bytes(out)


def reply_data(data: bytes, seq: int) -> bytes:
    return bytes(b ^ 0xA5 ^ (seq & 0xFF) for b in data)


def net_checksum(appvm: int, count: int, seed: int = 0, payload_len: int = 64) -> int:
    """The `net` result checksum when every request 0..count-1 is answered in order."""
    return net_checksum_over(appvm, range(count), seed, payload_len)


def net_checksum_over(appvm: int, seqs, seed: int = 0, payload_len: int = 64) -> int:
    """The `net` checksum over the requests `seqs` (the distinct ones answered), in order."""
    h = 0x811C9DC5
    for seq in seqs:
        data = reply_data(req_data(appvm, seq, seed, payload_len), seq)
        h = _mix(_mix(h, seq), len(data))
        for b in data:
            h = _mix(h, b)
    return h
