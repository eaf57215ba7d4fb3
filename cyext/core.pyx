# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The machine model: RV32IMA harts, RAM, CLINT, PLIC, UART, syscon and watchdog, in one object.

`Core` is the raw engine; `workbench.hw.Machine` wraps it, validates everything that comes from
Python, and is what users touch. Nothing here knows about the virtualization stack.
"""
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int8_t, int16_t, int32_t, int64_t
from libc.stdlib cimport malloc, calloc, realloc, free
from libc.string cimport memset, memcpy, memmove, memcmp
import hashlib
import numpy as np

cdef extern from *:
    int __builtin_ctzll(unsigned long long) nogil

cdef extern from *:
    """
    #define MRWB_NEVER 0xFFFFFFFFFFFFFFFFull
    #define MRWB_NO_PAGE (1ull << 40)
    """
    const uint64_t NEVER "MRWB_NEVER"
    const uint64_t NO_PAGE "MRWB_NO_PAGE"   # a fetch base no 32-bit pc is within 4 KiB of

cdef enum:
    CONSOLE_LIMIT = 64 << 20

include "isa.pxi"
include "pmp.pxi"
include "trap.pxi"
include "memory.pxi"
include "devices/clint.pxi"
include "devices/plic.pxi"
include "devices/uart.pxi"
include "devices/syscon.pxi"
include "devices/watchdog.pxi"
include "events.pxi"
include "devices/virtio_mmio.pxi"
include "devices/virtio_blk.pxi"
include "devices/virtio_net.pxi"
include "devices/net_peer.pxi"
include "bus.pxi"
include "csr.pxi"
include "exec.pxi"
include "run.pxi"

STOP_REASONS = {STOP_NONE: "none", STOP_POWEROFF: "poweroff", STOP_FAIL: "fail", STOP_RESET: "reset",
                STOP_INSTR_LIMIT: "instruction_limit", STOP_CYCLE_LIMIT: "cycle_limit", STOP_PROBE: "probe",
                STOP_MASKED: "masked", STOP_IDLE: "idle",
                STOP_TRIGGER: "trigger"}
STATE_SIZE = sizeof(State)
STATE_LAYOUT = 3      # bump whenever State changes shape: saved snapshots of another layout are refused

_next_owner = [1]

VIRTIO_ERRORS = {0: None, VERR_RING: "ring", VERR_INDEX: "index", VERR_DESC_ADDR: "descriptor_address",
                 VERR_LOOP: "loop", VERR_DIRECTION: "direction", VERR_INDIRECT: "indirect",
                 VERR_TOO_LONG: "too_long", VERR_FORMAT: "format", VERR_OVERFLOW: "overflow"}
# The board's facts Python derives its own from (workbench.machine); the devices are BOARD (bus.pxi).
_ROW = {r["name"]: r for r in BOARD}
CONSTANTS = {"RAM_BASE": <uint32_t>RAM_BASE, "MAX_HARTS": MAX_HARTS, "CYCLES_PER_SECOND": CYCLES_PER_SECOND,
             "MTIME_DIVIDER": MTIME_DIVIDER, "VIRTIO_BASE": VIRTIO_BASE, "VIRTIO_STRIDE": VIRTIO_STRIDE,
             "VIRTIO_SLOTS": VIRTIO_SLOTS, "WDOG_STRIDE": WDOG_STRIDE, "WDOG_ID": WDOG_ID,
             "PEER_PAYLOAD_MAX": PEER_PAYLOAD_MAX}
PEER_RECORD_DTYPE = np.dtype([("sent_cycle", "<u8"), ("reply_cycle", "<u8"), ("replies", "<u4"), ("flags", "<u4"),
                              ("tx", "<u4"), ("_pad", "<u4")])
DISK_BLOCK = 1 << DISK_BLOCK_SHIFT


cdef class Snapshot:
    """Everything architectural at one instant: the state struct, RAM and the console."""
    cdef readonly bytes state
    cdef readonly object ram
    cdef readonly bytes console
    cdef readonly uint32_t epoch
    cdef readonly uint64_t owner
    cdef readonly uint32_t nharts
    cdef readonly uint32_t ram_size
    cdef readonly object disk       # the disk array (numpy uint8)
    cdef readonly bytes peer        # the network peer's per-request records
    cdef readonly bytes probe_skip  # harts stopped at a probe (not architectural: only restored here)
    cdef readonly object page_stamps   # per RAM page / disk block: the epoch of its last change, so a
    cdef readonly object block_stamps  # restore here copies exactly the pages whose stamp differs
    cdef readonly bytes probe_log   # the probe hits so far: a restore forgets the hits of the run it discards

    def __init__(self, bytes state, ram, bytes console, uint32_t epoch, uint64_t owner,
                 uint32_t nharts, uint32_t ram_size, disk=None, bytes peer=b"", bytes probe_skip=b"",
                 page_stamps=None, block_stamps=None, bytes probe_log=b""):
        if len(state) != sizeof(State):
            raise ValueError(f"snapshot state is {len(state)} bytes, this build expects {sizeof(State)}")
        self.state, self.ram, self.console = state, ram, console
        self.epoch, self.owner, self.nharts, self.ram_size = epoch, owner, nharts, ram_size
        self.disk, self.peer, self.probe_skip = disk, peer, probe_skip
        self.page_stamps, self.block_stamps = page_stamps, block_stamps
        if len(probe_log) % 16:
            raise ValueError("snapshot's probe log is truncated")
        self.probe_log = probe_log


cdef class Core:
    def __cinit__(self, uint32_t nharts, uint32_t ram_size, uint32_t quantum, uint32_t nmi_vector,
                  uint64_t disk_size=16 << 20):
        memset(&self.m, 0, sizeof(Mach))
        memset(&self.state, 0, sizeof(State))
        self.ram_array = np.zeros(ram_size, dtype=np.uint8)
        self.disk_array = np.zeros(disk_size if disk_size else 1, dtype=np.uint8)
        cdef uint8_t[::1] view = self.ram_array
        cdef uint8_t[::1] dview = self.disk_array
        self.m.disk = &dview[0]
        self.m.disk_size = disk_size
        self.m.ndblocks = <uint32_t>((disk_size + DISK_BLOCK - 1) >> DISK_BLOCK_SHIFT)
        self.m.dblock_epoch = <uint32_t*>calloc(max(self.m.ndblocks, 1), sizeof(uint32_t))
        self.m.s = &self.state
        self.m.ram = &view[0]
        self.m.ram_size = ram_size
        self.m.npages = ram_size >> PAGE_SHIFT
        self.m.pages = <Insn**>calloc(self.m.npages, sizeof(Insn*))
        self.m.page_valid = <uint8_t*>calloc(self.m.npages, 1)
        self.m.page_epoch = <uint32_t*>calloc(self.m.npages, sizeof(uint32_t))
        self.m.console_cap = 4096
        self.m.console = <char*>malloc(self.m.console_cap)
        self.m.nmi_vector = nmi_vector
        self.m.instr_budget = -1
        cdef int k
        for k in range(MAX_HARTS):
            self.m.tlb[k] = &self.m.tlb_none
        if not (self.m.pages and self.m.page_valid and self.m.page_epoch and self.m.console and
                self.m.dblock_epoch):
            raise MemoryError("cannot allocate the machine's tables")
        self.state.nharts = nharts
        self.state.quantum = quantum
        us = CYCLES_PER_SECOND // 1000000
        self.state.devcfg.blk_latency = 20 * us
        self.state.devcfg.blk_sector_cycles = us          # per 512-byte sector (~500 MB/s)
        self.state.devcfg.net_wire_latency = 10 * us      # each way
        self.state.devcfg.net_tx_latency = us             # until a sent chain returns
        self.state.devcfg.rx_wait_limit = 1000 * us       # on the wire without a receive buffer: lost
        self.state.devcfg.mac[0], self.state.devcfg.mac[5] = 2, 1     # 02:00:00:00:00:01
        self.owner = _next_owner[0]
        _next_owner[0] += 1
        self.reset(0)

    def __dealloc__(self):
        cdef uint32_t p
        if self.m.pages != NULL:
            for p in range(self.m.npages):
                free(self.m.pages[p])
            free(self.m.pages)
        free(self.m.page_valid)
        free(self.m.page_epoch)
        free(self.m.console)
        free(self.m.probe_addrs)
        free(self.m.probe_stop)
        free(self.m.probe_log)
        free(self.m.dblock_epoch)
        free(self.m.peer_rec)

    # -- lifecycle -------------------------------------------------------------------------------

    def reset(self, uint32_t boot_arg):
        """Power-on reset of harts and devices (RAM, disk and console are kept; the network peer keeps
        its configuration and starts over)."""
        cdef uint32_t i, nharts = self.state.nharts, quantum = self.state.quantum
        cdef uint64_t console_len = self.state.console_len
        cdef DevConfig devcfg = self.state.devcfg
        cdef PeerConfig peercfg = self.state.peer.cfg
        cdef Hart* h
        memset(&self.state, 0, sizeof(State))
        self.state.nharts, self.state.quantum = nharts, quantum
        self.state.console_len = console_len
        self.state.devcfg, self.state.peer.cfg = devcfg, peercfg
        peer_start(&self.m)
        for i in range(nharts):
            h = &self.state.harts[i]
            h.id = i
            h.pc = RAM_BASE
            h.priv = 3
            h.x[10] = i
            h.x[11] = boot_arg
            h.mnstatus = MNSTATUS_NMIE        # see README: departure from Smrnmi's reset value
            self.state.clint.mtimecmp[i] = 0xFFFFFFFFFFFFFFFFu
        self._caches_changed()

    cdef void _caches_changed(self):
        cdef uint32_t i, n = 0
        # the PMP TLB sets stay: each is keyed by the exact configuration it answers for
        for i in range(MAX_HARTS):
            self.m.tlb[i] = &self.m.tlb_none
        for i in range(self.state.nharts):
            pmp_changed(&self.m, &self.state.harts[i])
            n += self.state.harts[i].resv_valid
            self.m.probe_skip[i] = 0
        self.m.nresv = n

    # -- running ---------------------------------------------------------------------------------

    def run(self, int64_t max_instructions, uint64_t max_cycles):
        """Run until a stop; limits count from now (-1 / 0: none). Returns (reason, code, hart)."""
        cdef uint64_t now = self.cycle, limit
        cdef int reason
        limit = now + max_cycles if max_cycles else NEVER
        self.m.instr_budget = max_instructions
        with nogil:
            reason = run_machine(&self.m, limit)
        self.m.instr_budget = -1
        return STOP_REASONS[reason], self.state.stop_code, self.state.stop_hart

    @property
    def cycle(self):
        """Machine time: the cycle every hart has reached."""
        cdef uint64_t c = NEVER
        cdef uint32_t i
        for i in range(self.state.nharts):
            if self.state.harts[i].cycle < c:
                c = self.state.harts[i].cycle
        return c

    @property
    def nharts(self):
        return self.state.nharts

    @property
    def ram_size(self):
        return self.m.ram_size

    @property
    def quantum(self):
        return self.state.quantum

    # -- harts (indices are validated by workbench.hw) --------------------------------------------

    def get_reg(self, uint32_t hart, uint32_t reg):
        return self.state.harts[hart].x[reg] if reg else 0

    def set_reg(self, uint32_t hart, uint32_t reg, uint32_t value):
        if reg:
            self.state.harts[hart].x[reg] = value

    def get_pc(self, uint32_t hart):
        return self.state.harts[hart].pc

    def set_pc(self, uint32_t hart, uint32_t value):
        self.state.harts[hart].pc = value

    def get_priv(self, uint32_t hart):
        return self.state.harts[hart].priv

    def get_instret(self, uint32_t hart):
        return self.state.harts[hart].instret

    def get_hart_cycle(self, uint32_t hart):
        return self.state.harts[hart].cycle

    def hart_flags(self, uint32_t hart):
        cdef Hart* h = &self.state.harts[hart]
        return {"wfi": bool(h.wfi), "halted": bool(h.halted), "nmi_pending": bool(h.nmi_pending),
                "reservation": h.resv_addr if h.resv_valid else None}

    def csr_read(self, uint32_t hart, uint32_t csr):
        """Side-effect-free read; None for a CSR the hart does not have."""
        cdef uint32_t v = 0
        if csr_read(&self.m, &self.state.harts[hart], csr, &v) < 0:
            return None
        return v

    def csr_write(self, uint32_t hart, uint32_t csr, uint32_t value):
        cdef uint32_t v = 0
        if csr_read(&self.m, &self.state.harts[hart], csr, &v) < 0:
            return False
        csr_write(&self.m, &self.state.harts[hart], csr, value)
        return True

    # -- memory ----------------------------------------------------------------------------------

    @property
    def ram(self):
        return self.ram_array

    def write_ram(self, uint32_t off, const uint8_t[::1] data):
        """Copy bytes into RAM at offset `off`, with the bookkeeping of a store (range checked by hw)."""
        cdef uint32_t n = data.shape[0]
        if n == 0:
            return
        memcpy(self.m.ram + off, &data[0], n)
        ram_written(&self.m, off, n, -1)

    def peek_mmio(self, uint32_t addr, int size, uint32_t hart=0):
        """Read a device register without side effects; None when no device answers there."""
        cdef uint32_t v = 0
        if mmio_load(&self.m, &self.state.harts[hart], addr, size, &v, 1) < 0:
            return None
        return v

    @property
    def console(self):
        return self.m.console[:self.state.console_len]

    def plic_set_level(self, int source, bint high):
        plic_set_level(&self.state.plic, source, high)

    # -- probes and fault hooks --------------------------------------------------------------------

    def set_probes(self, addrs, stops):
        """Replace the probe list. Decoded pages are dropped so probes are patched in on next fetch."""
        cdef int n = len(addrs), i
        free(self.m.probe_addrs)
        free(self.m.probe_stop)
        self.m.probe_addrs = <uint32_t*>malloc(max(n, 1) * sizeof(uint32_t))
        self.m.probe_stop = <int*>malloc(max(n, 1) * sizeof(int))
        for i in range(n):
            self.m.probe_addrs[i] = addrs[i]
            self.m.probe_stop[i] = stops[i]
        self.m.hooks.nprobes = n
        memset(self.m.page_valid, 0, self.m.npages)

    def probe_hits(self, uint64_t start=0):
        cdef uint64_t i
        return [(self.m.probe_log[i], self.m.probe_log[i + 1] >> 32, self.m.probe_log[i + 1] & 0xFFFFFFFF)
                for i in range(2 * start, self.m.probe_log_len, 2)]

    def probe_hit_count(self):
        return self.m.probe_log_len // 2

    def clear_probe_hits(self):
        self.m.probe_log_len = 0

    def _probe_log_bytes(self):
        if self.m.probe_log == NULL:
            return b""
        return (<char*>self.m.probe_log)[:self.m.probe_log_len * sizeof(uint64_t)]

    def _set_probe_log(self, bytes log):
        cdef uint64_t n = len(log) // sizeof(uint64_t)
        cdef uint64_t* grown
        if n > self.m.probe_log_cap:
            grown = <uint64_t*>realloc(self.m.probe_log, n * sizeof(uint64_t))
            if grown == NULL:
                raise MemoryError("cannot allocate the probe log")
            self.m.probe_log, self.m.probe_log_cap = grown, n
        if n:
            memcpy(self.m.probe_log, <const char*>log, n * sizeof(uint64_t))
        self.m.probe_log_len = n

    def arm_flip(self, uint32_t hart, int kind, int index, int bit, uint64_t at, int ctx_priv,
                 uint32_t ctx_lo, uint32_t ctx_hi, bint use_ctx, bint stop_on_masked):
        cdef RegFlip* f = &self.m.hooks.flip[hart]
        if f.armed:
            raise ValueError(f"hart {hart} already has a register flip armed; run until it fires first")
        memset(f, 0, sizeof(RegFlip))
        f.armed, f.kind, f.index, f.bit, f.at = 1, kind, index, bit, at
        f.ctx, f.ctx_priv, f.ctx_lo, f.ctx_hi = use_ctx, ctx_priv, ctx_lo, ctx_hi
        f.stop_on_masked = stop_on_masked

    def flip_status(self, uint32_t hart):
        cdef RegFlip* f = &self.m.hooks.flip[hart]
        return {"armed": bool(f.armed), "fired": bool(f.fired), "cycle": f.fired_cycle,
                "instret": f.fired_instret, "old_value": f.old_value, "tracking": bool(f.track),
                "result": ("pending", "read", "overwritten")[f.track_result], "context_count": f.ctx_count}

    def arm_failstop(self, uint32_t hart, uint64_t at):
        self.m.hooks.failstop_armed[hart] = 1
        self.m.hooks.failstop_at[hart] = at

    def arm_memory_flip(self, uint32_t off, int bit, uint64_t cycle):
        cdef int i, n = self.m.hooks.nmflips
        if n >= MAX_MEM_FLIPS:
            raise ValueError(f"at most {MAX_MEM_FLIPS} memory flips can wait at once")
        i = n
        while i > 0 and self.m.hooks.mflip_cycle[i - 1] > cycle:
            self.m.hooks.mflip_cycle[i] = self.m.hooks.mflip_cycle[i - 1]
            self.m.hooks.mflip_off[i] = self.m.hooks.mflip_off[i - 1]
            self.m.hooks.mflip_bit[i] = self.m.hooks.mflip_bit[i - 1]
            i -= 1
        self.m.hooks.mflip_cycle[i], self.m.hooks.mflip_off[i], self.m.hooks.mflip_bit[i] = cycle, off, bit
        self.m.hooks.nmflips = n + 1


    def watch_ram_byte(self, uint32_t off, bint stop_on_masked):
        """Watch RAM byte `off` for read-before-overwrite (a memory flip's): a hart's store over it before
        any read ends the run with STOP_MASKED when `stop_on_masked`; loads, AMOs, DMA, decoding its
        page count as reads. A restore or disarm_all ends the watch."""
        if off >= self.m.ram_size:
            raise ValueError(f"watch offset {off:#x} is outside RAM ({self.m.ram_size:#x} bytes)")
        self.m.hooks.watch_on, self.m.hooks.watch_off, self.m.hooks.watch_len = 1, off, 1
        self.m.hooks.watch_result, self.m.hooks.watch_stop, self.m.hooks.watch_cycle = 0, stop_on_masked, 0

    def watch_ram_range(self, uint32_t off, uint32_t n):
        """Watch RAM bytes [off, off+n) without stopping: `watch_last()` gives, per byte, an upper bound
        of the cycle of its last access (load, store, AMO, DMA, decoding its page; 0: none). Decoded
        pages over the range are dropped first, so executing a byte of it counts too."""
        cdef uint32_t p
        if n == 0 or off >= self.m.ram_size or n > self.m.ram_size - off:
            raise ValueError(f"watch range [{off:#x}, +{n:#x}) is not inside RAM ({self.m.ram_size:#x} bytes)")
        self._watch_last = np.zeros(n, dtype=np.uint64)
        cdef uint64_t[::1] arr = self._watch_last
        self.m.watch_last = &arr[0]
        for p in range(off >> PAGE_SHIFT, ((off + n - 1) >> PAGE_SHIFT) + 1):
            self.m.page_valid[p] = 0
        self.m.hooks.watch_on, self.m.hooks.watch_off, self.m.hooks.watch_len = 2, off, n
        self.m.hooks.watch_result, self.m.hooks.watch_stop, self.m.hooks.watch_cycle = 0, 0, 0

    def watch_last(self):
        return self._watch_last.copy()

    def watch_status(self):
        return {"watching": bool(self.m.hooks.watch_on), "cycle": self.m.hooks.watch_cycle,
                "result": ("pending", "read", "overwritten")[self.m.hooks.watch_result]}

    def pending_memory_flips(self):
        return [(self.m.hooks.mflip_cycle[i], self.m.hooks.mflip_off[i], self.m.hooks.mflip_bit[i])
                for i in range(self.m.hooks.nmflips)]

    def disarm_all(self):
        cdef int nprobes = self.m.hooks.nprobes
        memset(&self.m.hooks, 0, sizeof(Hooks))
        self.m.hooks.nprobes = nprobes

    # -- snapshots ---------------------------------------------------------------------------------

    def snapshot(self):
        snap = Snapshot((<char*>&self.state)[:sizeof(State)], self.ram_array.copy(), self.console,
                        self.m.epoch, self.owner, self.state.nharts, self.m.ram_size,
                        self.disk_array.copy(), self._peer_bytes(),
                        (<char*>&self.m.probe_skip[0])[:sizeof(self.m.probe_skip)],
                        np.asarray(<uint32_t[:self.m.npages]>self.m.page_epoch).copy(),
                        np.asarray(<uint32_t[:max(self.m.ndblocks, 1)]>self.m.dblock_epoch).copy(),
                        self._probe_log_bytes())
        self.m.epoch += 1          # stores from now on get stamps no snapshot holds
        return snap

    cdef _peer_records_from(self, const char* src, uint64_t npeer):
        """The peer's records become the `npeer` bytes at `src` (a whole number of records)."""
        cdef PeerRec* grown
        if npeer // sizeof(PeerRec) != self.m.peer_cap:
            grown = <PeerRec*>realloc(self.m.peer_rec, max(npeer, sizeof(PeerRec)))
            if grown == NULL:
                raise MemoryError("cannot allocate the peer's records")
            self.m.peer_rec = grown
            self.m.peer_cap = npeer // sizeof(PeerRec)
        if npeer:
            memcpy(self.m.peer_rec, src, npeer)

    def restore(self, Snapshot snap):
        """Return to `snap`. When it was taken here, only the pages (and disk blocks) whose change stamp
        differs from the snapshot's are copied back, and they take the snapshot's stamps again: so
        restoring the same snapshot after each of many experiments copies only what each one dirtied.
        Stamps are unique to a version of a page because the epoch advances at every snapshot and
        restore, and stores take the current epoch."""
        cdef uint32_t p, copied
        cdef bint full = snap.owner != self.owner or snap.page_stamps is None
        cdef const uint32_t[::1] pst = snap.page_stamps if not full else None
        cdef const uint32_t[::1] bst = snap.block_stamps if not full else None
        cdef const uint32_t* pstamps = NULL      # NULL: copy every page / block back
        cdef const uint32_t* bstamps = NULL
        cdef uint8_t[::1] src = snap.ram
        cdef const uint8_t* cons = snap.console
        cdef uint64_t ncons = len(snap.console)
        cdef const uint8_t[::1] dsrc
        cdef const uint8_t* prec
        cdef uint64_t npeer = len(snap.peer)
        cdef const State* sstate = <const State*><const char*>snap.state
        cdef uint64_t k
        if snap.nharts != self.state.nharts or snap.ram_size != self.m.ram_size:
            raise ValueError(f"snapshot is of a machine with {snap.nharts} harts and {snap.ram_size} bytes "
                             f"of RAM; this one has {self.state.nharts} and {self.m.ram_size}")
        if snap.disk is None or len(snap.disk) != len(self.disk_array):
            raise ValueError(f"snapshot has a disk of {0 if snap.disk is None else len(snap.disk)} bytes; "
                             f"this machine's disk has {self.m.disk_size}")
        if npeer % sizeof(PeerRec):
            raise ValueError("snapshot's peer records are truncated")
        dsrc = snap.disk
        if not full:
            pstamps, bstamps = &pst[0], &bst[0]
        copy_changed(self.m.disk, &dsrc[0], self.m.disk_size, DISK_BLOCK_SHIFT, self.m.dblock_epoch,
                     bstamps, self.m.epoch, NULL)
        prec = snap.peer
        if npeer // sizeof(PeerRec) == self.m.peer_cap and memcmp(&sstate.peer.cfg, &self.state.peer.cfg,
                                                                  sizeof(PeerConfig)) == 0:
            # same peer: records past both runs' next_seq are zero on both sides, copy the rest
            for p in range(sstate.peer.cfg.nslots):
                k = max(sstate.peer.next_seq[p], self.state.peer.next_seq[p])
                memcpy(&self.m.peer_rec[p * sstate.peer.cfg.count], &(<const PeerRec*>prec)[p * sstate.peer.cfg.count],
                       k * sizeof(PeerRec))
        else:
            self._peer_records_from(<const char*>prec, npeer)
        copied = copy_changed(self.m.ram, &src[0], self.m.ram_size, PAGE_SHIFT, self.m.page_epoch,
                              pstamps, self.m.epoch, self.m.page_valid)
        self.m.epoch += 1          # the abandoned timeline's stamps are never used again
        memcpy(&self.state, <const char*>snap.state, sizeof(State))
        if ncons > self.m.console_cap:
            self.m.console = <char*>realloc(self.m.console, ncons)
            self.m.console_cap = ncons
        if ncons:
            memcpy(self.m.console, cons, ncons)
        self.disarm_all()
        self._caches_changed()
        self._set_probe_log(snap.probe_log)
        if not full and len(snap.probe_skip) == sizeof(self.m.probe_skip):
            # a snapshot taken at a probe stop resumes past that probe, as the original run did
            memcpy(&self.m.probe_skip[0], <const char*>snap.probe_skip, sizeof(self.m.probe_skip))
        return copied

    def capture_delta(self, Snapshot base):
        """The machine now, as a difference from `base` (a snapshot taken here): the state struct,
        console, peer records, probe log and probe skips whole, and the RAM pages and disk blocks whose
        change stamp differs from `base`'s (indices and contents: every page stored to, even back to its
        old bytes, so the changed-page set is the same after `restore_delta`)."""
        if base.owner != self.owner or base.page_stamps is None:
            raise ValueError("capture_delta needs a snapshot taken on this machine")
        pages = np.flatnonzero(np.asarray(<uint32_t[:self.m.npages]>self.m.page_epoch) != base.page_stamps)
        blocks = np.flatnonzero(np.asarray(<uint32_t[:max(self.m.ndblocks, 1)]>self.m.dblock_epoch)
                                != base.block_stamps)
        if self.m.disk_size == 0:
            blocks = blocks[:0]
        return ((<char*>&self.state)[:sizeof(State)], self.console, self._peer_bytes(), self._probe_log_bytes(),
                (<char*>&self.m.probe_skip[0])[:sizeof(self.m.probe_skip)],
                pages.astype(np.uint32), self.ram_array.reshape(-1, 1 << PAGE_SHIFT)[pages].copy(),
                blocks.astype(np.uint32), self.disk_array.reshape(-1, DISK_BLOCK)[blocks].copy()
                if len(blocks) else np.zeros((0, DISK_BLOCK), np.uint8))

    def restore_delta(self, Snapshot base, tuple delta):
        """Return to the state `capture_delta(base)` recorded: restore `base` (copying back only what
        changed since), then write the delta's pages and blocks as a store would (stamped changed since
        `base`, decoded code invalidated), then its state, console, peer records and probe log."""
        cdef bytes state = delta[0], console = delta[1], peer = delta[2], log = delta[3], skip = delta[4]
        cdef const uint32_t[::1] pages = delta[5]
        cdef const uint8_t[:, ::1] pdata = delta[6]
        cdef const uint32_t[::1] blocks = delta[7]
        cdef const uint8_t[:, ::1] bdata = delta[8]
        cdef uint64_t i, off, ncons = len(console), npeer = len(peer)
        if len(state) != sizeof(State) or len(skip) != sizeof(self.m.probe_skip) or npeer % sizeof(PeerRec):
            raise ValueError("not a delta captured by this build")
        if base.owner != self.owner or base.page_stamps is None:
            # a foreign base restores whole, every page then counting as changed: not the recorded state
            raise ValueError("restore_delta needs the snapshot, taken on this machine, the delta was captured from")
        self.restore(base)
        for i in range(pages.shape[0]):
            off = <uint64_t>pages[i] << PAGE_SHIFT
            if off + (1u << PAGE_SHIFT) > self.m.ram_size:
                raise ValueError("delta page outside RAM")
            memcpy(self.m.ram + off, &pdata[i, 0], 1u << PAGE_SHIFT)
            ram_written(&self.m, <uint32_t>off, 1u << PAGE_SHIFT, -1)
        for i in range(blocks.shape[0]):
            off = <uint64_t>blocks[i] << DISK_BLOCK_SHIFT
            if off + DISK_BLOCK > self.m.disk_size:
                raise ValueError("delta block outside the disk")
            memcpy(self.m.disk + off, &bdata[i, 0], DISK_BLOCK)
            stamp_range(self.m.dblock_epoch, off, DISK_BLOCK, DISK_BLOCK_SHIFT, self.m.epoch)
        self._peer_records_from(<const char*>peer, npeer)
        memcpy(&self.state, <const char*>state, sizeof(State))
        if ncons > self.m.console_cap:
            self.m.console = <char*>realloc(self.m.console, ncons)
            self.m.console_cap = ncons
        if ncons:
            memcpy(self.m.console, <const char*>console, ncons)
        self.disarm_all()
        self._caches_changed()
        self._set_probe_log(log)
        memcpy(&self.m.probe_skip[0], <const char*>skip, sizeof(self.m.probe_skip))

    def page_stamps(self):
        """Read-only view (no copy) of each RAM page's change stamp: compared with a snapshot's
        `page_stamps`, it tells which pages changed since (the convergence check hashes only those)."""
        v = np.asarray(<uint32_t[:self.m.npages]>self.m.page_epoch)
        v.flags.writeable = False
        return v

    def block_stamps(self):
        """Read-only view (no copy) of each disk block's change stamp (as `page_stamps`)."""
        v = np.asarray(<uint32_t[:max(self.m.ndblocks, 1)]>self.m.dblock_epoch)
        v.flags.writeable = False
        return v

    def state_bytes(self):
        return (<char*>&self.state)[:sizeof(State)]

    def state_hash(self):
        """sha256 of all architectural and device state, RAM and console output."""
        d = hashlib.sha256()
        d.update(self.state_bytes())
        d.update(memoryview(self.ram_array))
        d.update(self.console)
        d.update(memoryview(self.disk_array))
        d.update(self._peer_bytes())
        return d.hexdigest()

    # -- devices: disk, latencies, network peer, virtio state ----------------------------------------

    @property
    def disk(self):
        return self.disk_array

    @property
    def disk_size(self):
        return self.m.disk_size

    def write_disk(self, uint64_t off, const uint8_t[::1] data):
        """Copy bytes into the disk at `off`, marking the blocks dirty (range checked by hw)."""
        cdef uint64_t n = data.shape[0]
        if n == 0:
            return
        memcpy(self.m.disk + off, &data[0], n)
        stamp_range(self.m.dblock_epoch, off, n, DISK_BLOCK_SHIFT, self.m.epoch)

    def device_config(self):
        cdef DevConfig* c = &self.state.devcfg
        return {"blk_latency": c.blk_latency, "blk_sector_cycles": c.blk_sector_cycles,
                "net_wire_latency": c.net_wire_latency, "net_tx_latency": c.net_tx_latency,
                "rx_wait_limit": c.rx_wait_limit, "mac": bytes(c.mac[:6])}

    def configure_devices(self, uint64_t blk_latency, uint64_t blk_sector_cycles, uint64_t net_wire_latency,
                          uint64_t net_tx_latency, uint64_t rx_wait_limit, bytes mac):
        cdef DevConfig* c = &self.state.devcfg
        c.blk_latency, c.blk_sector_cycles = blk_latency, blk_sector_cycles
        c.net_wire_latency, c.net_tx_latency, c.rx_wait_limit = net_wire_latency, net_tx_latency, rx_wait_limit
        memcpy(c.mac, <const char*>mac, 6)

    def configure_peer(self, appvms, uint32_t count, uint64_t interval, uint32_t payload_len, uint64_t start,
                       uint64_t seed, uint64_t timeout, uint32_t tries):
        """Replace the peer's configuration and restart it (validated by hw)."""
        cdef PeerConfig* c = &self.state.peer.cfg
        cdef uint64_t need = len(appvms) * <uint64_t>count
        cdef PeerRec* grown
        cdef uint32_t i
        if need != self.m.peer_cap:
            grown = <PeerRec*>realloc(self.m.peer_rec, (need if need else 1) * sizeof(PeerRec))
            if grown == NULL:
                raise MemoryError(f"cannot allocate {need} peer records")
            self.m.peer_rec = grown
            self.m.peer_cap = need
        memset(c, 0, sizeof(PeerConfig))
        c.nslots = len(appvms)
        for i in range(c.nslots):
            c.appvm[i] = appvms[i]
        c.count, c.interval, c.payload_len, c.seed = count, interval, payload_len, seed
        c.timeout, c.tries = timeout, tries
        c.start = start if start > <uint64_t>self.cycle else <uint64_t>self.cycle
        peer_start(&self.m)

    def _peer_bytes(self):
        if self.m.peer_rec == NULL:
            return b""
        return (<char*>self.m.peer_rec)[:self.m.peer_cap * sizeof(PeerRec)]

    def peer_config(self):
        cdef PeerConfig* c = &self.state.peer.cfg
        return {"appvms": [c.appvm[i] for i in range(c.nslots)], "count": c.count, "interval_cycles": c.interval,
                "payload_len": c.payload_len, "start_cycle": c.start, "seed": c.seed,
                "timeout_cycles": c.timeout, "tries": c.tries}

    def peer_records(self):
        """Copy of the per-request records: structured array of shape (slots, count)."""
        cdef PeerConfig* c = &self.state.peer.cfg
        recs = np.frombuffer(self._peer_bytes(), dtype=PEER_RECORD_DTYPE).copy()
        return recs[:c.nslots * c.count].reshape(c.nslots, c.count)

    def peer_counters(self):
        cdef Peer* p = &self.state.peer
        d = {name: p.ctr[i] for i, name in enumerate(_ROW["net_peer"]["counters"])}
        d["waiting"] = p.nwait
        d["outstanding"] = p.outstanding
        # a gap still open counts up to now (reading it changes nothing)
        now = self.cycle
        d["longest_gap_cycles"] = max(p.longest_gap, now - p.progress if p.outstanding and now > p.progress else 0)
        d["next_seq"] = [p.next_seq[i] for i in range(p.cfg.nslots)]
        return d

    def virtio_state(self):
        """Per device: registers, queues and counters, read without side effects."""
        out = {}
        cdef Virtio* d
        cdef VirtQueue* q
        cdef int dev
        cdef uint32_t qi
        for dev, name in ((VDEV_BLK, "blk"), (VDEV_NET, "net")):
            row = _ROW["virtio_" + name]
            d = &self.state.vdev[dev]
            queues = []
            for qi in range(vdev_nqueues(dev)):
                q = &d.q[qi]
                avail_idx = used_flags = None
                if vq_check(&self.m, q) == 0:
                    avail_idx = rd16(&self.m, q.avail - RAM_BASE + 2)
                queues.append({"size": q.num, "ready": bool(q.ready), "desc": q.desc, "avail": q.avail,
                               "used": q.used, "avail_idx": avail_idx, "last_avail": q.last_avail,
                               "used_idx": q.used_idx, "pending": q.inflight, "completed": q.completed,
                               "bytes": q.bytes})
            out[name] = {"slot": vdev_slot(dev), "base": row["base"], "irq": row["irq"],
                         "device_id": 2 if dev == VDEV_BLK else 1,
                         "status": d.status, "device_features": vdev_features(dev),
                         "driver_features": d.drv_features, "interrupt_status": d.int_status,
                         "error": VIRTIO_ERRORS.get(d.error, d.error),
                         "last_error": VIRTIO_ERRORS.get(d.last_error, d.last_error),
                         "resets": d.resets, "errors": d.errors,
                         "dropped": d.dropped, "queues": queues,
                         "counters": {n: d.ctr[i] for i, n in enumerate(row["counters"])}}
        out["events"] = self.state.nevents
        return out

    def pending_events(self):
        return [(self.state.events[i].cycle, self.state.events[i].kind, self.state.events[i].a,
                 self.state.events[i].b, self.state.events[i].c) for i in range(self.state.nevents)]
