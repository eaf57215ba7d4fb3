"""Benchmarks behind `mrwb bench`: they print figures, with a reference measured in the same run."""
from __future__ import annotations

import time

import numpy as np

from workbench.machine import RAM_BASE, Machine, cycles_to_ms, cycles_to_s


def cpu(scale: int = 1000, reference: bool = True) -> dict:
    """MIPS of the machine model on a CPU-bound program, and Unicorn's on the same binary."""
    from workbench.bench import programs as benchprog
    path = benchprog.cpu_program(scale)
    m = Machine()
    m.load_elf(path)
    t0 = time.perf_counter()
    stop = m.run()
    wall = time.perf_counter() - t0
    if stop.reason != "poweroff":
        raise RuntimeError(f"benchmark program did not finish: {stop}")
    ours = stop.instructions / wall / 1e6
    print(f"machine model: {stop.instructions:,} instructions in {wall:.2f} s = {ours:.0f} MIPS "
          f"(checksum a0={m.harts[0].x['a0']:#010x})")
    result = {"instructions": stop.instructions, "seconds": wall, "mips": ours}
    if reference:
        n, secs = benchprog.run_unicorn_bench(path)
        ref = n / secs / 1e6
        print(f"unicorn:       {n:,} instructions in {secs:.2f} s = {ref:.0f} MIPS")
        print(f"ratio machine/unicorn: {ours / ref:.2f}")
        result.update(unicorn_mips=ref, ratio=ours / ref)
    return result


def snapshot(ram_mib: int = 64, dirty_percent: float = 1.0, repeat: int = 20) -> dict:
    """Time to restore a snapshot of a `ram_mib` machine after dirtying `dirty_percent` of its pages,
    next to a plain full copy of RAM (what a restore without dirty tracking would cost)."""
    m = Machine(ram_size=ram_mib << 20)
    snap = m.snapshot()
    npages = m.ram_size // 4096
    rng = np.random.default_rng(1)
    pages = rng.choice(npages, size=max(1, int(npages * dirty_percent / 100)), replace=False)
    times = []
    for _ in range(repeat):
        for p in pages:
            m.write(RAM_BASE + int(p) * 4096, b"\x01")
        t0 = time.perf_counter()
        copied = m.restore(snap)
        times.append(time.perf_counter() - t0)
    full = np.empty(m.ram_size, np.uint8)
    t0 = time.perf_counter()
    np.copyto(full, snap.ram)
    full_copy = time.perf_counter() - t0
    med = float(np.median(times))
    print(f"restore of a {ram_mib} MiB machine with {len(pages)} of {npages} pages dirty "
          f"({dirty_percent}%): median {med * 1e3:.3f} ms over {repeat} runs, {copied} pages copied")
    print(f"reference, full RAM copy: {full_copy * 1e3:.3f} ms")
    return {"restore_ms": med * 1e3, "full_copy_ms": full_copy * 1e3, "pages": int(copied)}


def _boot_and_run(system):
    """Boot to steady state and run to the end: (boot summary, run summary, wall seconds of both)."""
    t0 = time.perf_counter()
    steady = system.boot()
    run = system.run("done")
    wall = time.perf_counter() - t0
    if not run.finished:
        raise RuntimeError(f"the system did not finish: {run}")
    return steady, run, wall


def boot(config=None) -> dict:
    """Cycles and wall time to steady state and for the whole run of the default system (2 harts,
    3 AppVMs unless `config` says otherwise), and simulated seconds per wall second. The images are
    built (or taken from the cache) before the clock starts; the first DWARF parse is inside it."""
    from workbench.system import System, SystemConfig
    system = System(config or SystemConfig())
    steady, run, wall = _boot_and_run(system)
    c = system.config
    print(f"system: {c.harts} harts, AppVMs {', '.join(c.appvms)}, iterations {', '.join(map(str, c.iterations))}")
    print(f"to steady state: {steady.cycles:,} cycles ({cycles_to_ms(steady.cycles):.2f} ms simulated) "
          f"in {steady.wall_seconds:.3f} s wall")
    print(f"whole run:       {run.cycles:,} cycles ({cycles_to_ms(run.cycles):.1f} ms simulated), "
          f"{run.instructions:,} instructions, in {wall:.3f} s wall (stop: {run.reason})")
    print(f"after steady state: {cycles_to_s(run.elapsed_cycles) / run.wall_seconds:.2f} simulated s per wall s "
          f"({run.instructions / wall / 1e6:.0f} MIPS over the whole run)")
    ratio = cycles_to_s(run.cycles) / wall
    print(f"simulated-to-wall ratio (whole run): {ratio:.2f}  (target: >= 0.5, i.e. 1 simulated s in < 2 s)")
    return {"steady_cycles": steady.cycles, "steady_wall": steady.wall_seconds, "cycles": run.cycles,
            "wall": wall, "instructions": run.instructions, "ratio": ratio,
            "ratio_after_steady": cycles_to_s(run.elapsed_cycles) / run.wall_seconds}


def io(config=None) -> dict:
    """I/O throughput of the default system (2 harts, PrivVM, DVM, AppVMs blk, net, hcall unless
    `config` says otherwise), run from power-on to the end: block requests (answered by the driver
    VM) and network round trips (requests the peer got answered) per simulated second and per wall
    second of the traffic phase (steady state to the end), and the simulated-to-wall ratio."""
    from workbench.system import System, SystemConfig
    system = System(config or SystemConfig())
    c = system.config
    if not c.dvm:
        raise ValueError("bench io needs a configuration with I/O (a 'blk' or 'net' AppVM)")
    steady, run, wall = _boot_and_run(system)
    bad = [r for r in system.results() if r.status != "ok"]
    if bad:
        raise RuntimeError(f"workloads failed: {bad}")
    blk = system.dvm.stats["blk_reqs"]
    peer = system.peer.report() if c.net_appvms else None
    rtt = peer.answered if peer else 0
    sim = cycles_to_s(run.elapsed_cycles)
    print(f"system: {c.harts} harts, PrivVM, DVM, AppVMs {', '.join(c.appvms)}, iterations "
          f"{', '.join(map(str, c.iterations))}; peer every {c.peer_interval:,} cycles, {c.peer_payload} bytes")
    print(f"to steady state: {steady.cycles:,} cycles ({cycles_to_ms(steady.cycles):.2f} ms simulated) "
          f"in {steady.wall_seconds:.3f} s wall")
    print(f"traffic phase:   {run.elapsed_cycles:,} cycles ({sim * 1e3:.1f} ms simulated) in "
          f"{run.wall_seconds:.3f} s wall (stop: {run.reason})")
    print(f"block requests:  {blk:,}: {blk / sim:,.0f} per simulated s, {blk / run.wall_seconds:,.0f} per wall s")
    if peer:
        print(f"net round trips: {rtt:,}: {rtt / sim:,.0f} per simulated s, {rtt / run.wall_seconds:,.0f} per wall s "
              f"(lost {peer.lost}; latency {peer.latency_us['p50']:.0f} us median, "
              f"{peer.latency_us['p99']:.0f} us p99)")
    ratio = cycles_to_s(run.cycles) / wall
    print(f"simulated-to-wall ratio: {ratio:.2f} over the whole run (boot included), "
          f"{sim / run.wall_seconds:.2f} in the traffic phase  (target: >= 0.5, i.e. 1 simulated s in < 2 s)")
    return {"blk_requests": blk, "round_trips": rtt, "simulated_seconds": sim, "wall_seconds": run.wall_seconds,
            "blk_per_sim_s": blk / sim, "blk_per_wall_s": blk / run.wall_seconds,
            "rtt_per_sim_s": rtt / sim, "rtt_per_wall_s": rtt / run.wall_seconds,
            "ratio": ratio, "ratio_traffic": sim / run.wall_seconds, "lost": peer.lost if peer else 0}
