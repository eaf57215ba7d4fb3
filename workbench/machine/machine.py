"""Hardware component objects over the Cython machine model (`cyext.core`).

`Machine` is the one object users hold: it validates every index and address that crosses into the
core (so nothing from Python can crash it), loads ELF images, runs, injects faults and takes snapshots.
"""
from __future__ import annotations

import dataclasses
import io
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from cyext import core as _core
from cyext.encoding import CSRS
from workbench.machine import snapfile
from workbench.machine.board import (  # noqa: F401  (re-exported: the board map lives in the core's table)
    BLK_SLOT, BOARD, MAX_HARTS, NET_SLOT, PEER_MAX_PAYLOAD, PEER_MAX_TRIES, PEER_TIMEOUT, PEER_TRIES, RAM_BASE, VIRTIO_BASE, Device)
from workbench.machine.snapfile import SnapshotError  # noqa: F401  (re-exported)
from workbench.machine.validate import U32_MAX, U64_MAX, as_int, as_u32

DEFAULT_DISK_SIZE = 16 << 20
DEFAULT_NMI_VECTOR = RAM_BASE + 4

ABI_NAMES = ("zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5",
             "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6")
PRIV_NAMES = {0: "U", 3: "M"}


def register_number(reg: int | str) -> int:
    """x-register number for 5, "x5", "t0" or "fp"; ValueError otherwise."""
    if isinstance(reg, (int, np.integer)) and not isinstance(reg, bool):
        if 0 <= reg < 32:
            return as_int(reg, "register", 0, 31)
    elif isinstance(reg, str):
        name = reg.strip().lower()
        if name == "fp":
            return 8
        if name in ABI_NAMES:
            return ABI_NAMES.index(name)
        if name.startswith("x") and name[1:].isdigit() and 0 <= int(name[1:]) < 32:
            return int(name[1:])
    raise ValueError(f"unknown register {reg!r}: expected 0..31, 'x0'..'x31' or an ABI name like 'a0'")


def csr_number(csr: int | str) -> int:
    if isinstance(csr, str):
        try:
            return CSRS[csr.strip().lower()]
        except KeyError:
            raise ValueError(f"unknown CSR {csr!r}; known: {', '.join(sorted(CSRS))}") from None
    return as_int(csr, "CSR (a name or a number)", 0, 4095)


FLIP_TRIGGER = 3     # cyext/run.pxi: a flip slot armed to stop the run instead of flipping


def _context_args(context: dict | None) -> tuple[int, int, int, bool]:
    """(priv, pc_lo, pc_hi, counted in a context) for the core's flip slot, validated."""
    priv, lo, hi = -1, 0, 0
    if context is None:
        return priv, lo, hi, False
    if not isinstance(context, dict):
        raise ValueError(f"context must be a dict with 'priv' and/or 'pc_range', got {context!r}")
    unknown = set(context) - {"priv", "pc_range"}
    if unknown:
        raise ValueError(f"unknown context keys {sorted(unknown)}: allowed 'priv', 'pc_range'")
    if context.get("priv") is not None:
        priv = as_int(context["priv"], "context priv", 0, 3)
        if priv not in (0, 3):
            raise ValueError(f"context priv must be 0 (user) or 3 (machine), got {priv!r}")
    if context.get("pc_range") is not None:
        lo, hi = (as_u32(v, "pc_range bound") for v in context["pc_range"])
        if hi <= lo:
            raise ValueError(f"pc_range must be (lo, hi) with lo < hi, got {context['pc_range']!r}")
    return priv, lo, hi, True


@dataclass(frozen=True)
class StopInfo:
    """Why and when `Machine.run` returned."""
    reason: str          # poweroff, fail, reset, instruction_limit, cycle_limit, probe, masked, idle, trigger
    code: int            # the syscon code for poweroff/fail
    hart: int            # the hart that caused the stop (0 for limits)
    cycles: int          # machine time at the stop
    instructions: int    # instructions retired by all harts since reset


class Registers:
    """x0..x31 of one hart: `hart.x[10]`, `hart.x["a0"]`, `hart.x[5] = 7`, `list(hart.x)`."""

    def __init__(self, core, hart: int):
        self._core, self._hart = core, hart

    def __getitem__(self, reg):
        if isinstance(reg, slice):
            return [self._core.get_reg(self._hart, i) for i in range(32)[reg]]
        return self._core.get_reg(self._hart, register_number(reg))

    def __setitem__(self, reg, value):
        self._core.set_reg(self._hart, register_number(reg), as_u32(value, "register value"))

    def __len__(self):
        return 32

    def __iter__(self) -> Iterator[int]:
        return iter(self[:])

    def __repr__(self):
        return "[" + ", ".join(f"{n}={v:#x}" for n, v in zip(ABI_NAMES, self)) + "]"


class Hart:
    """One RV32 hart of a Machine."""

    def __init__(self, core, index: int):
        self._core, self.index = core, index
        self.x = Registers(core, index)

    @property
    def pc(self) -> int:
        return self._core.get_pc(self.index)

    @pc.setter
    def pc(self, value):
        self._core.set_pc(self.index, as_u32(value, "pc"))

    @property
    def priv(self) -> int:
        """Current privilege: 3 machine, 0 user."""
        return self._core.get_priv(self.index)

    @property
    def instret(self) -> int:
        return self._core.get_instret(self.index)

    @property
    def cycle(self) -> int:
        """This hart's local time in cycles."""
        return self._core.get_hart_cycle(self.index)

    @property
    def state(self) -> dict:
        """wfi / halted (fail-stopped) / nmi_pending / reservation address."""
        return self._core.hart_flags(self.index)

    def csr(self, name: int | str) -> int:
        """Read a CSR without side effects."""
        num = csr_number(name)
        value = self._core.csr_read(self.index, num)
        if value is None:
            raise ValueError(f"hart {self.index} has no CSR {name!r} ({num:#x})")
        return value

    def set_csr(self, name: int | str, value: int) -> None:
        """Write a CSR as a csrw instruction in machine mode would (WARL rules apply)."""
        num = csr_number(name)
        if not self._core.csr_write(self.index, num, as_u32(value, "CSR value")):
            raise ValueError(f"hart {self.index} has no CSR {name!r} ({num:#x})")

    def __repr__(self):
        return f"<Hart {self.index} pc={self.pc:#010x} priv={PRIV_NAMES.get(self.priv, self.priv)} instret={self.instret}>"


class Machine:
    """A board of `harts` RV32IMA harts with `ram_size` bytes of RAM at 0x8000_0000 (see README)."""

    def __init__(self, harts: int = 1, ram_size: int = 64 << 20, *, quantum: int = 1000,
                 nmi_vector: int = DEFAULT_NMI_VECTOR, boot_arg: int = 0, disk_size: int = DEFAULT_DISK_SIZE):
        harts = as_int(harts, "harts", 1, MAX_HARTS)
        ram_size = as_int(ram_size, "ram_size", 64 << 10, BOARD["ram"].size)
        if ram_size % 4096:
            raise ValueError(f"ram_size must be a multiple of 4096 between 64 KiB and 1 GiB, got {ram_size!r}")
        quantum = as_int(quantum, "quantum", 1, 1_000_000)
        disk_size = as_int(disk_size, "disk_size", 4096, 1 << 30)
        if disk_size % 4096:
            raise ValueError(f"disk_size must be a multiple of 4096 between 4 KiB and 1 GiB, got {disk_size!r}")
        self._core = _core.Core(harts, ram_size, quantum, as_u32(nmi_vector, "nmi_vector"), disk_size)
        self.boot_arg = as_u32(boot_arg, "boot_arg")
        self.nmi_vector = as_u32(nmi_vector, "nmi_vector")
        self._core.reset(self.boot_arg)
        self.harts = tuple(Hart(self._core, i) for i in range(harts))
        self._probes: dict[int, bool] = {}
        self._last_stop: StopInfo | None = None

    # -- geometry and validation ------------------------------------------------------------------

    @property
    def ram_size(self) -> int:
        return self._core.ram_size

    @property
    def quantum(self) -> int:
        return self._core.quantum

    @property
    def board(self) -> dict[str, Device]:
        """The board map (the core's device table), with RAM at this machine's size."""
        return {**BOARD, "ram": dataclasses.replace(BOARD["ram"], size=self.ram_size)}

    def _ram_offset(self, addr: int, n: int, field: str = "address") -> int:
        addr = as_int(addr, field, None, None)
        off = addr - RAM_BASE
        if n < 0 or off < 0 or off + n > self.ram_size:
            raise ValueError(f"{field} range [{addr:#x}, {addr + n:#x}) is outside RAM "
                             f"[{RAM_BASE:#x}, {RAM_BASE + self.ram_size:#x})")
        return off

    def _hart_index(self, hart) -> int:
        return as_int(hart, "hart", 0, len(self.harts) - 1, index=True)

    # -- memory -----------------------------------------------------------------------------------

    @property
    def memory(self) -> np.ndarray:
        """RAM as a read-only numpy uint8 array (index 0 is 0x8000_0000), without copying.

        Read-only because writes must go through `write` (dirty-page tracking, decoded-code caches).
        """
        view = self._core.ram.view()
        view.flags.writeable = False
        return view

    def read(self, addr: int, n: int) -> bytes:
        off = self._ram_offset(addr, n)
        return self._core.ram[off:off + n].tobytes()

    def write(self, addr: int, data) -> None:
        data = bytes(data)
        off = self._ram_offset(addr, len(data))
        self._core.write_ram(off, data)

    load = write

    def read_u32(self, addr: int) -> int:
        return struct.unpack("<I", self.read(addr, 4))[0]

    def peek_device(self, addr: int, size: int = 4, hart: int = 0) -> int:
        """Read a device register without side effects (a PLIC claim read claims nothing)."""
        if as_int(size, "size", 1, 4) == 3:
            raise ValueError(f"size must be 1, 2 or 4, got {size!r}")
        value = self._core.peek_mmio(as_u32(addr, "address"), size, self._hart_index(hart))
        if value is None:
            raise ValueError(f"no device register at {addr:#x}")
        return value

    def load_elf(self, path: str | os.PathLike, *, set_pc: bool = True) -> int:
        """Load an RV32 ELF's segments into RAM; returns its entry (and points every hart there)."""
        from elftools.common.exceptions import ELFError
        from elftools.elf.elffile import ELFFile
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no ELF file at {path}")
        raw = path.read_bytes()
        try:
            elf = ELFFile(io.BytesIO(raw))
            if elf.elfclass != 32 or elf["e_machine"] != "EM_RISCV" or not elf.little_endian:
                raise ValueError(f"{path} is not a little-endian RV32 ELF "
                                 f"(class {elf.elfclass}, machine {elf['e_machine']})")
            segments = [(s["p_paddr"], s["p_memsz"], s.data()) for s in elf.iter_segments()
                        if s["p_type"] == "PT_LOAD" and s["p_memsz"] > 0]
            entry = elf["e_entry"]
        except ELFError as e:
            raise ValueError(f"{path} is not a valid ELF file: {e}") from None
        for addr, memsz, _ in segments:
            if addr < RAM_BASE or addr + memsz > RAM_BASE + self.ram_size:
                raise ValueError(f"{path}: segment [{addr:#x}, {addr + memsz:#x}) lies outside RAM "
                                 f"[{RAM_BASE:#x}, {RAM_BASE + self.ram_size:#x})")
        for addr, memsz, data in segments:
            self.write(addr, data + bytes(memsz - len(data)))
        if set_pc:
            for h in self.harts:
                h.pc = entry
        return entry

    # -- running ----------------------------------------------------------------------------------

    @property
    def cycle(self) -> int:
        """Machine time in cycles (100 MHz nominal): the cycle every hart has reached."""
        return self._core.cycle

    @property
    def instructions(self) -> int:
        return sum(h.instret for h in self.harts)

    @property
    def console(self) -> str:
        """Everything written to the UART so far."""
        return self._core.console.decode("utf-8", errors="replace")

    def run(self, max_instructions: int | None = None, max_cycles: int | None = None) -> StopInfo:
        """Run until the program stops the machine or a limit (counted from now) is reached."""
        # the core counts instructions in an int64 and adds max_cycles to the clock in a uint64
        max_instructions = None if max_instructions is None else as_int(max_instructions, "max_instructions",
                                                                        1, (1 << 63) - 1)
        max_cycles = None if max_cycles is None else as_int(max_cycles, "max_cycles", 1, 1 << 62)
        reason, code, hart = self._core.run(-1 if max_instructions is None else max_instructions,
                                            0 if max_cycles is None else max_cycles)
        self._last_stop = StopInfo(reason, code, hart, self.cycle, self.instructions)
        return self._last_stop

    def reset(self, boot_arg: int | None = None) -> None:
        """Power-on reset of harts and devices; RAM keeps its contents. Armed fault hooks are dropped."""
        if boot_arg is not None:
            self.boot_arg = as_u32(boot_arg, "boot_arg")
        self._core.reset(self.boot_arg)
        self._core.disarm_all()

    # -- devices (test hooks) -----------------------------------------------------------------------

    def plic_raise(self, source: int) -> None:
        """Drive PLIC interrupt line `source` high (as a device would)."""
        self._core.plic_set_level(self._plic_source(source), True)

    def plic_lower(self, source: int) -> None:
        self._core.plic_set_level(self._plic_source(source), False)

    @staticmethod
    def _plic_source(source) -> int:
        return as_int(source, "PLIC source", 1, 63)

    # -- disk, virtio devices and the network peer (README: Devices) --------------------------------

    @property
    def disk_size(self) -> int:
        return self._core.disk_size

    @property
    def disk(self) -> np.ndarray:
        """The block device's backing store as a read-only numpy uint8 array (no copy).

        Read-only because writes must go through `write_disk` (dirty-block tracking for snapshots)."""
        view = self._core.disk.view()
        view.flags.writeable = False
        return view

    def write_disk(self, offset: int, data) -> None:
        data = bytes(data)
        offset = as_int(offset, "disk offset", None, None)
        if offset < 0 or offset + len(data) > self.disk_size:
            raise ValueError(f"disk offset range [{offset:#x}, {offset + len(data):#x}) is outside the disk "
                             f"[0, {self.disk_size:#x})")
        self._core.write_disk(offset, data)

    @property
    def device_config(self) -> dict:
        """Device latencies in cycles (100 MHz) and the NIC's MAC."""
        return self._core.device_config()

    def configure_devices(self, *, blk_latency: int | None = None, blk_sector_cycles: int | None = None,
                          net_wire_latency: int | None = None, net_tx_latency: int | None = None,
                          rx_wait_limit: int | None = None, mac: bytes | str | None = None) -> None:
        """Change device timing (cycles; unset arguments keep their value) or the NIC's MAC
        ("02:00:00:00:00:01" or 6 bytes). Applies to requests submitted from now on."""
        cfg = self._core.device_config()
        for name, v in (("blk_latency", blk_latency), ("blk_sector_cycles", blk_sector_cycles),
                        ("net_wire_latency", net_wire_latency), ("net_tx_latency", net_tx_latency),
                        ("rx_wait_limit", rx_wait_limit)):
            if v is not None:
                cfg[name] = as_int(v, name, 0, 1 << 40)
        if mac is not None:
            if isinstance(mac, str):
                try:
                    mac = bytes(int(b, 16) for b in mac.split(":"))
                except ValueError:
                    raise ValueError(f"MAC must look like 02:00:00:00:00:01, got {mac!r}") from None
            if not isinstance(mac, (bytes, bytearray)) or len(mac) != 6:
                raise ValueError(f"MAC must be 6 bytes, got {mac!r}")
            cfg["mac"] = bytes(mac)
        self._core.configure_devices(cfg["blk_latency"], cfg["blk_sector_cycles"], cfg["net_wire_latency"],
                                     cfg["net_tx_latency"], cfg["rx_wait_limit"], cfg["mac"])

    def configure_peer(self, appvms: Sequence[int], count: int, interval_cycles: int, payload_len: int = 64,
                       start_cycle: int = 0, seed: int = 0, timeout_cycles: int = PEER_TIMEOUT,
                       tries: int = PEER_TRIES) -> None:
        """Start the network peer: from `start_cycle` (or now, if later) it sends request 0, 1, ...
        count-1 to every AppVM in `appvms`, one round every `interval_cycles`, each with `payload_len`
        payload bytes derived from `seed` (README: Devices). A request with no reply after
        `timeout_cycles` is sent again, up to `tries` transmissions in all (1: never), then given up.
        Replaces an earlier configuration and its records; `appvms=[]` turns the peer off."""
        appvms = [as_int(a, "appvms entry", 0, 255) for a in appvms]
        if len(appvms) > 8 or len(set(appvms)) != len(appvms):
            raise ValueError(f"appvms must be up to 8 distinct AppVM indices 0..255, got {appvms!r}")
        count = as_int(count, "count", 0, 1 << 24)
        interval_cycles = as_int(interval_cycles, "interval_cycles", 1, 1 << 40)
        payload_len = as_int(payload_len, "payload_len", 0, PEER_MAX_PAYLOAD)
        start_cycle = as_int(start_cycle, "start_cycle", 0, 1 << 62)
        seed = as_int(seed, "seed", 0, U64_MAX)
        timeout_cycles = as_int(timeout_cycles, "timeout_cycles", 1, 1 << 40)
        tries = as_int(tries, "tries", 1, PEER_MAX_TRIES)
        if len(appvms) * count > 1 << 24:
            raise ValueError(f"{len(appvms)} AppVMs x {count} requests is more than the peer records (2**24)")
        self._core.configure_peer(appvms, count, interval_cycles, payload_len, start_cycle, seed, timeout_cycles,
                                  tries)

    @property
    def peer_config(self) -> dict:
        return self._core.peer_config()

    def peer_stats(self):
        """One row per request the peer is configured to send: appvm, seq, sent_cycle and reply_cycle
        (null when not sent / no reply yet), latency_cycles, ok (first reply's payload verified),
        replies (duplicates = replies - 1), bad (some reply's payload was wrong), out_of_order (the first
        reply came after the reply to a later request), retransmissions (transmissions after the first),
        given_up (`tries` transmissions and no reply; latency counts from the first transmission)."""
        import polars as pl
        appvms, n, flat, sent, replied = self._peer_flat()
        seq = np.tile(np.arange(n, dtype=np.uint32), len(appvms))
        appvm = np.repeat(np.array(appvms, dtype=np.uint32), n)
        df = pl.DataFrame({
            "appvm": appvm, "seq": seq,
            "sent_cycle": pl.Series(flat["sent_cycle"].astype(np.int64)),
            "reply_cycle": pl.Series(flat["reply_cycle"].astype(np.int64)),
            "ok": (flat["flags"] & 1).astype(bool), "replies": flat["replies"].astype(np.uint32),
            "bad": (flat["flags"] & 2).astype(bool), "out_of_order": (flat["flags"] & 4).astype(bool),
            "given_up": (flat["flags"] & 8).astype(bool),
            "retransmissions": (flat["tx"].astype(np.int64) - 1).clip(0), "_sent": sent, "_replied": replied})
        return df.with_columns(
            pl.when(pl.col("_sent")).then(pl.col("sent_cycle")).otherwise(None).alias("sent_cycle"),
            pl.when(pl.col("_replied")).then(pl.col("reply_cycle")).otherwise(None).alias("reply_cycle"),
        ).with_columns(
            (pl.col("reply_cycle") - pl.col("sent_cycle")).alias("latency_cycles"),
            (pl.col("replies").cast(pl.Int64) - 1).clip(lower_bound=0).alias("duplicates"),
        ).select("appvm", "seq", "sent_cycle", "reply_cycle", "latency_cycles", "ok", "replies", "duplicates",
                 "bad", "out_of_order", "retransmissions", "given_up")

    def _peer_flat(self):
        """(appvms, requests per AppVM, the records flat, sent mask, replied mask)."""
        recs = self._core.peer_records()
        appvms = self._core.peer_config()["appvms"]
        n = recs.shape[1] if recs.ndim == 2 else 0
        flat = recs.reshape(-1)
        counters = self._core.peer_counters()
        sent = np.concatenate([np.arange(n) < k for k in counters["next_seq"]]) if appvms else np.zeros(0, bool)
        return appvms, n, flat, sent, flat["replies"] > 0

    def peer_unanswered(self) -> tuple[int, int | None]:
        """(requests sent and not answered, the longest latency in cycles of an answered one, None if
        none): two figures of `peer_stats` without building its table (a fault run reads them)."""
        _, _, flat, sent, replied = self._peer_flat()
        both = sent & replied
        lat = flat["reply_cycle"][both].astype(np.int64) - flat["sent_cycle"][both].astype(np.int64)
        return int((sent & ~replied).sum()), (int(lat.max()) if len(lat) else None)

    def peer_summary(self) -> dict:
        """The peer's counters: sent, replies, ok, bad, duplicates, out_of_order, lost (frames dropped
        before a receive buffer took them), foreign, malformed, bad_src, evq_full, hellos (an AppVM's
        "MRHI" announcement), retransmissions, given_up (requests with `tries` transmissions and no
        reply), waiting, outstanding (sent, unanswered, not given up), longest_gap_cycles (longest stretch
        with a request outstanding and no reply, an open one up to now), next_seq."""
        return self._core.peer_counters()

    @property
    def devices(self) -> dict:
        """The virtio devices' state, as `virtio_state()` (the name component views use)."""
        return self.virtio_state()

    def virtio_state(self) -> dict:
        """{"blk": {...}, "net": {...}, "events": n}: status, features, error, counters and per queue
        size, ready, avail/used indices and pending chains. Reading it changes nothing."""
        return self._core.virtio_state()

    # -- probes -------------------------------------------------------------------------------------

    def add_probe(self, addr: int, stop: bool = False) -> None:
        """Record (cycle, hart, pc) whenever a hart is about to execute `addr`; optionally stop there."""
        addr = RAM_BASE + self._ram_offset(addr, 4, "probe address")
        if addr % 4:
            raise ValueError(f"probe address {addr:#x} is not 4-byte aligned")
        self._probes[addr] = bool(stop)
        self._core.set_probes(list(self._probes), list(self._probes.values()))

    def remove_probe(self, addr: int) -> None:
        self._probes.pop(as_int(addr, "probe address", 0, U32_MAX), None)
        self._core.set_probes(list(self._probes), list(self._probes.values()))

    @property
    def probe_hits(self) -> list[tuple[int, int, int]]:
        """(cycle, hart, pc) of every probe hit since the last clear; `restore` returns it to what it
        was at the snapshot."""
        return self._core.probe_hits()

    def probe_hits_since(self, start: int) -> list[tuple[int, int, int]]:
        """The hits after the first `start` ones (a run reading the log slice by slice: reading it
        whole each time costs the square of its length when a probe is hit in a loop)."""
        return self._core.probe_hits(as_int(start, "start", 0, 2**63 - 1))

    @property
    def probe_hit_count(self) -> int:
        return self._core.probe_hit_count()

    def clear_probe_hits(self) -> None:
        """Forget the probe hits logged so far (the probes stay)."""
        self._core.clear_probe_hits()

    # -- fault hooks --------------------------------------------------------------------------------

    def inject_register(self, hart: int, reg: int | str, bit: int, at: int, context: dict | None = None,
                        *, stop_on_masked: bool = True) -> None:
        """Flip `bit` of `reg` (x1..x31, "pc" or a CSR name) on `hart` when its instruction count reaches
        `at` (just before instruction number `at` runs). With `context={"priv": 0|3, "pc_range": (lo, hi)}`
        only instructions executed in that context are counted, and the flip lands inside it.
        After an x-register flip the core watches whether the register is read before it is overwritten;
        overwritten first means the run is provably unaffected, and with `stop_on_masked` it stops there
        with reason "masked". `fault_status(hart)` tells what happened."""
        h = self._hart_index(hart)
        bit = as_int(bit, "bit", 0, 31)
        at = as_int(at, "at", 0, U64_MAX)
        if isinstance(reg, str) and reg.lower() == "pc":
            kind, index = 1, 0
        elif isinstance(reg, str) and reg.lower() in CSRS:
            kind, index = 2, CSRS[reg.lower()]
        else:
            kind, index = 0, register_number(reg)
            if index == 0:
                raise ValueError("x0 is hardwired to zero: choose x1..x31, 'pc' or a CSR")
        priv, lo, hi, use_ctx = _context_args(context)
        self._core.arm_flip(h, kind, index, bit, at, priv, lo, hi, use_ctx, bool(stop_on_masked))

    def arm_trigger(self, hart: int, at: int, context: dict | None = None) -> None:
        """Stop the run (reason "trigger") just before `hart` runs its instruction number `at`, counted
        as `inject_register` counts (only in `context` when given). The fault injector applies
        faults the core has no hook for there (a code flip, a fail-stop's pc = 0, a memory flip at an
        instruction count). Uses the hart's register-flip slot: `fault_status(hart)` tells when it fired."""
        h = self._hart_index(hart)
        at = as_int(at, "at", 0, (1 << 64) - 1)
        priv, lo, hi, use_ctx = _context_args(context)
        self._core.arm_flip(h, FLIP_TRIGGER, 0, 0, at, priv, lo, hi, use_ctx, False)

    def fault_status(self, hart: int) -> dict:
        """State of the register flip armed on `hart`: armed/fired, when, old value, read or overwritten."""
        return self._core.flip_status(self._hart_index(hart))

    def inject_memory(self, addr: int, bit: int, at_cycle: int) -> None:
        """Flip `bit` of the RAM byte at `addr` when the first hart's clock reaches `at_cycle` (harts that
        run later in the same round see it from the start of their turn)."""
        off = self._ram_offset(addr, 1)
        bit = as_int(bit, "bit (of one byte)", 0, 7)
        # a cycle not yet reached by any hart
        at_cycle = as_int(at_cycle, "at_cycle", max(h.cycle for h in self.harts), U64_MAX)
        self._core.arm_memory_flip(off, bit, at_cycle)

    def watch_byte(self, addr: int, stop_on_masked: bool = True) -> None:
        """Watch the RAM byte at `addr` (a memory flip's) for read-before-overwrite, as `inject_register`
        watches a flipped register: a hart's store over it before anything reads it ends the run with
        reason "masked" (when `stop_on_masked`); a load, AMO, device read or decoding its page counts as
        a read. `watch_status()` tells which came first; a restore ends the watch."""
        if not isinstance(stop_on_masked, bool):
            raise ValueError(f"stop_on_masked={stop_on_masked!r} is invalid: allowed True or False")
        self._core.watch_ram_byte(self._ram_offset(addr, 1), stop_on_masked)

    def watch_range(self, addr: int, n: int) -> None:
        """Watch RAM bytes [addr, addr+n) without stopping; `watch_last()` then gives, per byte, a cycle
        no earlier than its last access by the machine (load, store, AMO, device, decoding its page; 0:
        none since). A restore ends the watch."""
        n = as_int(n, "n", 1, self.ram_size)
        self._core.watch_ram_range(self._ram_offset(addr, n), n)

    def watch_last(self):
        """numpy uint64 array of the range watch: per byte, the last access's cycle bound (0: none)."""
        return self._core.watch_last()

    def watch_status(self) -> dict:
        """{"watching", "result": pending | read | overwritten, "cycle"} of the watched RAM byte."""
        return self._core.watch_status()

    def failstop(self, hart: int, at: int) -> None:
        """Stop `hart` for good when its instruction count reaches `at`."""
        self._core.arm_failstop(self._hart_index(hart), as_int(at, "at", 0, U64_MAX))

    # -- snapshots ----------------------------------------------------------------------------------

    def snapshot(self):
        """Copy of the whole machine (harts, devices, event queue, network peer, RAM, disk, console).
        Cheap to restore here."""
        return self._core.snapshot()

    def restore(self, snap) -> int:
        """Return to `snap`; copies back only the pages changed since. Fault hooks are disarmed
        (probes stay). Returns the number of pages copied."""
        if not isinstance(snap, _core.Snapshot):
            raise TypeError(f"expected a snapshot from Machine.snapshot(), got {type(snap).__name__}")
        return self._core.restore(snap)

    def delta(self, snap) -> tuple:
        """The machine now as a difference from `snap` (taken on this machine): what `restore_delta`
        needs to come back here, holding only the RAM pages and disk blocks changed since `snap`, so
        many points of one run from `snap` fit in memory where full snapshots would not."""
        self._own_snapshot(snap)
        return self._core.capture_delta(snap)

    def restore_delta(self, snap, delta: tuple) -> None:
        """Return to the state `delta(snap)` recorded (fault hooks disarmed, probes kept, as `restore`);
        the pages it holds count as changed since `snap` (`changed_pages`, `state_hash_since`), as they
        did when it was recorded."""
        self._own_snapshot(snap)
        if not isinstance(delta, tuple) or len(delta) != 9:
            raise TypeError("expected a delta from Machine.delta()")
        self._core.restore_delta(snap, delta)

    def state_hash(self) -> str:
        """Digest of all architectural and device state, RAM and console (determinism checks)."""
        return self._core.state_hash()

    def changed_pages(self, snap) -> np.ndarray:
        """Indices of the RAM pages (4 KiB from RAM_BASE) stored to since `snap` was taken or last
        restored here (by the change stamps a restore uses; a page written back to its old content
        still counts)."""
        self._own_snapshot(snap)
        return np.flatnonzero(self._core.page_stamps() != snap.page_stamps)

    def state_hash_since(self, snap) -> str:
        """Digest of the state as far as it can differ from `snap`: harts, devices, event queue,
        console, network peer, and the RAM pages and disk blocks changed since `snap` (indices and
        contents). Two runs from the same `snap` have equal digests exactly when their states are
        equal, provided they changed the same pages; it costs a fraction of `state_hash`."""
        import hashlib
        self._own_snapshot(snap)
        pages = self.changed_pages(snap)
        blocks = np.flatnonzero(self._core.block_stamps() != snap.block_stamps)
        d = hashlib.blake2b(digest_size=20)
        d.update(self._core.state_bytes())
        d.update(pages.astype(np.uint32).tobytes())
        d.update(self._core.ram.reshape(-1, 4096)[pages].tobytes())
        d.update(blocks.astype(np.uint32).tobytes())
        disk = self._core.disk
        for b in blocks:
            d.update(memoryview(disk[b * 4096:(b + 1) * 4096]))
        d.update(self._core.console)
        d.update(self._core._peer_bytes())
        return d.hexdigest()

    def _own_snapshot(self, snap) -> None:
        if not isinstance(snap, _core.Snapshot) or snap.page_stamps is None \
                or len(snap.page_stamps) != len(self._core.page_stamps()):
            raise ValueError("expected a snapshot taken on this machine (Machine.snapshot())")

    def save_snapshot(self, path: str | os.PathLike, snap=None) -> Path:
        """Write `snap` (default: a snapshot now) to `path`, with a format version and a checksum."""
        return snapfile.save(self, path, self.snapshot() if snap is None else snap)

    @classmethod
    def load_snapshot(cls, path: str | os.PathLike) -> "Machine":
        """A new Machine in the state saved at `path`. Refuses truncated, altered or foreign files."""
        return snapfile.load(cls, path)

    def __repr__(self):
        return (f"<Machine harts={len(self.harts)} ram={self.ram_size >> 20} MiB cycle={self.cycle} "
                f"instructions={self.instructions}>")
