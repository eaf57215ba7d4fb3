"""A network peer for the QEMU cross-check, speaking the protocol of include/netproto.h.

QEMU's `-netdev socket,udp=127.0.0.1:<peer port>,localaddr=127.0.0.1:<qemu port>` carries each
Ethernet frame of the virtio-net device as one UDP datagram on loopback.  This peer stands where the
machine model's peer stands: when an AppVM says hello it sends that AppVM `count` requests, one every
`interval` seconds, never retransmitted, checks every reply, and records one row per request.  It
runs in a thread, only on loopback, and stops by itself (all replies in, or `timeout`).
"""
from __future__ import annotations

import socket
import struct
import threading
import time

from workbench.system.iomodel import ETHERTYPE, HELLO, PEER_MAC, REPLY, REQUEST, appvm_mac, reply_data, req_data


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Peer(threading.Thread):
    def __init__(self, *, interval: float = 0.002, timeout: float = 20.0, seed: int = 0, payload_len: int = 64):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.001)
        self.port = self.sock.getsockname()[1]
        self.qemu_port = free_udp_port()
        self.interval, self.timeout = interval, timeout
        self.seed, self.payload_len = seed, payload_len
        self.streams: dict[int, dict] = {}       # appvm -> {count, next_seq, next_time}
        self.rows: dict[tuple[int, int], dict] = {}
        self.hellos = 0
        self.bad_frames = 0
        self._halt = threading.Event()

    def netdev(self) -> str:
        return f"socket,id=n0,udp=127.0.0.1:{self.port},localaddr=127.0.0.1:{self.qemu_port}"

    def stop(self) -> None:
        self._halt.set()

    def _send(self, frame: bytes) -> None:
        self.sock.sendto(frame.ljust(60, b"\0"), ("127.0.0.1", self.qemu_port))

    def _receive(self, frame: bytes, now: float) -> None:
        if len(frame) < 30 or struct.unpack(">H", frame[12:14])[0] != ETHERTYPE:
            return
        magic, appvm, seq, n = struct.unpack("<4I", frame[14:30])
        if magic == HELLO:
            self.hellos += 1
            if appvm not in self.streams:
                self.streams[appvm] = {"count": seq, "next_seq": 0, "next_time": now}
        elif magic == REPLY and (appvm, seq) in self.rows:
            row = self.rows[(appvm, seq)]
            want = reply_data(req_data(appvm, seq, self.seed, self.payload_len), seq)
            ok = n == len(want) and frame[30:30 + n] == want
            if row["reply"] is None:
                row["reply"], row["ok"] = now, ok
            else:
                row["duplicates"] += 1
        else:
            self.bad_frames += 1

    def _done(self) -> bool:
        return bool(self.streams) and all(
            st["next_seq"] == st["count"] and all(self.rows[(a, s)]["reply"] is not None for s in range(st["count"]))
            for a, st in self.streams.items())

    def run(self) -> None:
        end = time.monotonic() + self.timeout
        try:
            while not self._halt.is_set() and time.monotonic() < end and not self._done():
                now = time.monotonic()
                for appvm, st in self.streams.items():
                    if st["next_seq"] < st["count"] and now >= st["next_time"]:
                        seq = st["next_seq"]
                        data = req_data(appvm, seq, self.seed, self.payload_len)
                        self._send(appvm_mac(appvm) + PEER_MAC + struct.pack(">H", ETHERTYPE)
                                   + struct.pack("<4I", REQUEST, appvm, seq, len(data)) + data)
                        self.rows[(appvm, seq)] = {"sent": now, "reply": None, "ok": False, "duplicates": 0}
                        st["next_seq"] += 1
                        st["next_time"] = now + self.interval
                try:
                    frame = self.sock.recv(2048)
                except (socket.timeout, BlockingIOError):
                    continue
                self._receive(frame, time.monotonic())
        finally:
            self.sock.close()

    def stats(self) -> list[dict]:
        """One row per request sent: appvm, seq, sent, reply (None = lost), ok, duplicates."""
        return [{"appvm": a, "seq": s, **r} for (a, s), r in sorted(self.rows.items())]
