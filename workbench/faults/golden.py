"""What the fault injector knows about a system before injecting anything: where each target runs
(its counting context), its live data, and the fault-free ("golden") run from the steady snapshot,
recorded once per system: its length, results, the state digest at every checkpoint (for the
convergence early stop) and how many target instructions each hart has executed by then (for
sampling `at`).
"""
from __future__ import annotations

import functools
import io
import weakref
from dataclasses import dataclass, field

from workbench.faults.measure import PeerView
from workbench.faults.models import parse_target
from workbench.stack import abi

CHECK_CYCLES = 500_000          # checkpoint spacing (5 ms simulated): run slices end on multiples of it
NEVER = 1 << 62                 # a trigger count no run reaches: counts the context, never fires
P = abi.P


def target_context(system, target: str) -> dict:
    """The core's counting context of `target`: machine mode for the hypervisor; user mode with the pc
    in the domain's slot for a domain. ValueError if this configuration has no such component."""
    kind, i = parse_target(target)
    if kind == "hv":
        return {"priv": 3}
    if kind == "dvm" and not system.config.dvm:
        raise ValueError(f"target={target!r} is invalid for this configuration: it has no driver VM")
    if kind == "appvm" and i >= len(system.config.appvms):
        raise ValueError(f"target={target!r} is invalid: this configuration has AppVMs 0..{len(system.config.appvms) - 1}")
    slot = {"privvm": P["SLOT_PRIVVM"], "dvm": P["SLOT_DVM"]}.get(kind) if kind != "appvm" else abi.appvm_slot(i)
    base = P["SLOTS_BASE"] + slot * P["SLOT_SIZE"]
    return {"priv": 0, "pc_range": (base, base + P["SLOT_SIZE"])}


def target_image(system, target: str):
    kind, i = parse_target(target)
    return system.appvm_image(i) if kind == "appvm" else system.images[kind]


@functools.lru_cache(maxsize=64)
def _sections(path: str, mtime: int) -> dict[str, tuple[int, int]]:
    from elftools.elf.elffile import ELFFile
    with open(path, "rb") as f:
        elf = ELFFile(io.BytesIO(f.read()))
        return {s.name: (s["sh_addr"], s["sh_addr"] + s["sh_size"]) for s in elf.iter_sections()
                if s["sh_addr"] and s["sh_size"]}


def image_sections(path) -> dict[str, tuple[int, int]]:
    """name -> [start, end) of an ELF image's allocated sections."""
    return _sections(str(path), path.stat().st_mtime_ns)


def text_range(system, target: str) -> tuple[int, int]:
    return image_sections(target_image(system, target))[".text"]


def live_ranges(system, target: str) -> tuple[tuple[int, int], ...]:
    """The target's live data, as [start, end) byte ranges read at the current machine state.
    Hypervisor: .data, .bss, the stacks of the harts in use (its `hv_stacks` and `k_stacks`), the root
    of the preserved heap and its allocated blocks.  A domain: its image's .data and .bss (its stack is
    `guest_stack` in .bss; guests have no heap); the PrivVM also the region its microreboot keeps
    (the configuration store and the toolstack's bookkeeping, past its image: privvm/recovery/)."""
    target_context(system, target)
    secs = image_sections(target_image(system, target))
    out = [secs[s] for s in (".data", ".bss") if s in secs]
    if target == "privvm":
        t = system.types["privvm"]
        keep = P["SLOTS_BASE"] + P["SLOT_PRIVVM"] * P["SLOT_SIZE"] + P["PRIVVM_KEEP_OFF"]
        out.append((keep, keep + t.type("privvm_keep").size))
    if target == "hv":
        t, m, nh = system.types["hv"], system.machine, system.config.harts
        hv_stacks, k_stacks = t.address("hv_stacks"), t.address("k_stacks")
        hv_size = (k_stacks - hv_stacks) // P["MAX_HARTS"]
        k_size = (secs[".stacks"][1] - k_stacks) // P["MAX_HARTS"]
        out += [(hv_stacks, hv_stacks + nh * hv_size), (k_stacks, k_stacks + nh * k_size)]
        pre = system.hv.preserved
        out.append((P["PHEAP_BASE"], P["PHEAP_BASE"] + t.type("preserved").size))
        blk = t.type("blk")
        addr, n = pre.heap_start, 0
        while pre.heap_start <= addr < pre.heap_end and n < 1 << 16:
            b = t.view_at(m, addr, blk)
            if not b.size:
                break
            if b.magic == 0x44455355:      # BLK_USED (hv/heap.c)
                out.append((addr, addr + b.size))
            addr, n = addr + b.size, n + 1
    return tuple((lo, hi) for lo, hi in out if hi > lo)


@dataclass
class GoldenProfile:
    """The fault-free run from the steady snapshot (absolute machine cycles)."""
    start_cycle: int
    end_cycle: int
    end_reason: str
    results: tuple
    digests: dict[int, str] = field(default_factory=dict)      # checkpoint cycle -> state_hash_since
    counts: dict[str, list[tuple[int, tuple[int, ...]]]] = field(default_factory=dict)  # target -> rows
    progress_gap_ms: tuple[float, ...] = ()    # per AppVM, as a RunReport measures it
    peer: PeerView = PeerView()                # the network peer's view at the end
    last_access: dict = field(default_factory=dict)    # target -> (first address, per-byte last access)

    @property
    def length(self) -> int:
        return self.end_cycle - self.start_cycle

    def target_counts(self, target: str, cycle: int | None = None) -> tuple[int, ...]:
        """Instructions each hart executed in `target` from the steady snapshot to `cycle` (default:
        the end), at checkpoint resolution (the last checkpoint at or before `cycle`)."""
        rows = self.counts[target]
        if cycle is None:
            return rows[-1][1]
        best = rows[0][1]
        for c, n in rows:
            if c > cycle:
                break
            best = n
        return best


    def untouched_after(self, target: str, addr: int, cycle: int) -> bool:
        """The golden run accesses the byte at `addr` (of `target`'s live data) at no cycle from `cycle`
        on: a flip of it then is never read, so the run is the golden one (see `last_access_pass`)."""
        lo, last = self.last_access[target]
        return lo <= addr < lo + len(last) and int(last[addr - lo]) < cycle


_profiles: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def golden_profile(system, target: str | None = None) -> GoldenProfile:
    """The golden run of `system` (recorded once; one more observed pass per new `target` to count
    its instructions). Leaves the machine at the steady snapshot."""
    system.boot()
    snap = system.steady_snapshot
    prof = _profiles.get(system)
    if prof is not None and prof[0] is not snap:
        prof = None
    if prof is None:
        g = _golden_pass(system, None)
        _profiles[system] = prof = (snap, g)
    g = prof[1]
    if target is not None and target not in g.counts:
        g.counts[target] = _golden_pass(system, target).counts[target]
    return g


_checkpoints: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def checkpoints(system, probes: tuple) -> dict:
    """This process's points of the golden run of `system` with exactly `probes` armed: checkpoint
    cycle -> (`Machine.delta` from the steady snapshot, `ProgressGaps.state`, instructions executed
    since the steady snapshot). A run records a point
    when it reaches the checkpoint before its fault fired and its state digest there is the golden
    run's (so the point is the golden state, whichever run recorded it); a later run whose fault fires
    after a point starts there instead of at the steady snapshot (the simulation in between would be
    the golden run again), so its row is the same, only cheaper."""
    snap = system.steady_snapshot
    entry = _checkpoints.get(system)
    if entry is None or entry[0] is not snap:
        _checkpoints[system] = entry = (snap, {})
    return entry[1].setdefault(probes, {})


def _steady_key(system) -> tuple[str, str]:
    """What the golden run is a function of: the configuration and the whole machine at the steady
    snapshot (harts, devices, RAM holding the images, disk, console, peer)."""
    system.boot()
    return repr(system.config), system.machine.state_hash()


def export_profile(system, target: str, last_access: bool = False) -> tuple:
    """The golden profile of `system` for `target` (with the last-access pass if asked), keyed for
    `adopt_profile` in another process: a campaign's workers take it instead of running the golden
    passes again."""
    g = golden_profile(system, target)
    if last_access:
        last_access_pass(system, target)
    return _steady_key(system), g


def adopt_profile(system, exported) -> bool:
    """Use a profile from `export_profile` for `system` when its key (configuration and steady state)
    is this system's; otherwise leave it to be recorded here. Returns whether it was adopted."""
    key, g = exported
    if _steady_key(system) != key:
        return False
    _profiles[system] = (system.steady_snapshot, g)
    return True


def last_access_pass(system, target: str) -> None:
    """One more observed golden pass: the core's range watch over the span of `target`'s live data keeps,
    per byte, a cycle no earlier than its last access (0: none). A memory flip applied when every hart's
    clock is past that cycle is never read, since the run equals the golden one until the byte is read."""
    g = golden_profile(system, target)
    if target in g.last_access:
        return
    ranges = live_ranges(system, target)
    lo, hi = min(r[0] for r in ranges), max(r[1] for r in ranges)
    m = system.machine
    system.boot()
    try:
        m.watch_range(lo, hi - lo)
        while m.run(max_cycles=CHECK_CYCLES).reason == "cycle_limit" and m.cycle < g.end_cycle + CHECK_CYCLES:
            pass
        g.last_access[target] = (lo, m.watch_last())
    finally:
        system.boot()


def _golden_pass(system, target: str | None) -> GoldenProfile:
    from workbench.system.system import RUN_LIMIT_CYCLES
    system.boot()
    m, snap = system.machine, system.steady_snapshot
    start = m.cycle
    harts = range(len(m.harts))
    if target is not None:
        ctx = target_context(system, target)
        for h in harts:
            m.arm_trigger(h, NEVER, ctx)
    rows = [(start, tuple(0 for _ in harts))]
    digests = {}
    from workbench.faults.measure import ProgressGaps, peer_totals
    gaps = ProgressGaps(system)
    limit = start + RUN_LIMIT_CYCLES
    try:
        while True:
            nxt = min((m.cycle // CHECK_CYCLES + 1) * CHECK_CYCLES, limit)
            stop = m.run(max_cycles=max(1, nxt - m.cycle))
            gaps.sample(m.cycle - start)
            if target is not None:
                rows.append((m.cycle, tuple(m.fault_status(h)["context_count"] for h in harts)))
            if stop.reason != "cycle_limit":
                break
            if m.cycle >= limit:
                raise RuntimeError(f"the fault-free run did not finish within {RUN_LIMIT_CYCLES:,} cycles")
            if target is None:
                digests[m.cycle] = m.state_hash_since(snap)
        if stop.reason != "poweroff":
            raise RuntimeError(f"the fault-free run ended with {stop.reason!r} (code {stop.code}), not a power-off")
        g = GoldenProfile(start, m.cycle, stop.reason, system.results(), digests,
                          {target: rows} if target is not None else {}, gaps.result(m.cycle - start), peer_totals(m))
    finally:
        system.boot()
    return g
