"""`mrwb bench campaign`: throughput of a hypervisor fault-injection campaign on the default system."""
from __future__ import annotations

import resource
import statistics
import time

FAULTS = ("reg", "code", "mem", "failstop")


def campaign(n: int = 200, workers: int | None = None, seed: int = 1, config=None) -> dict:
    """Run an `n`-run hypervisor campaign (register, code, memory, fail-stop) on the default 3AppVM system
    with its default iterations on all cores, and print runs per second, the share of runs stopped early
    (masked, converged), mean simulated instructions per run, and the time to restore the steady snapshot."""
    from workbench.campaign import Campaign
    from workbench.campaign.executors import default_workers
    from workbench.system import SystemConfig
    config = config or SystemConfig()
    workers = workers or default_workers()
    t0 = time.perf_counter()
    c = Campaign(config, "hv", FAULTS, n=n, seed=seed)
    c.fault_rows                                   # boot, golden run and sampling in this process
    t_sample = time.perf_counter() - t0
    cpu0 = _cpu_seconds()
    t1 = time.perf_counter()
    results = c.run("processes", workers=workers, progress=True)
    wall = time.perf_counter() - t1
    cpu = _cpu_seconds() - cpu0          # this process and its (joined) workers: less sensitive to other load
    df = results.df
    run_wall = float(df["wall_s"].sum())
    early = dict(df.filter(df["early_stop"].is_not_null()).group_by("early_stop").len().iter_rows())
    restore_ms = _restore_ms(c, int(df["cycles"].mean()))
    parts = breakdown(c, step=4)
    print(f"system: {config.harts} harts, AppVMs {', '.join(config.appvms)}, iterations "
          f"{', '.join(map(str, config.iterations))}, recovery {config.recovery}")
    print(f"campaign: {n} hypervisor faults ({', '.join(FAULTS)}), {workers} worker process(es)")
    print(f"sampling (boot, golden run, fault list) in this process: {t_sample:.2f} s")
    print(f"runs per second: {n / wall:.1f} over the whole campaign ({wall:.2f} s, worker start and boot included); "
          f"{n / run_wall * workers:.1f} from the runs' own wall time ({run_wall / n * 1e3:.1f} ms per run)")
    print(f"CPU time of the campaign (this process and its workers): {cpu:.1f} s, {cpu / n * 1e3:.0f} ms per run: "
          f"{n / cpu * workers:.1f} runs per second on {workers} otherwise idle core(s)")
    print(f"stopped early: {sum(early.values()) / n:.1%} "
          f"({', '.join(f'{k} {v}' for k, v in sorted(early.items())) or 'none'})")
    print(f"mean simulated instructions per run: {df['instructions'].mean():,.0f} (each run's own count from the "
          f"steady snapshot; what the core ran is below)")
    print(f"restore of the steady snapshot after a run's mean length ({df['cycles'].mean():,.0f} cycles): "
          f"median {restore_ms:.3f} ms")
    print(f"where a run's CPU time goes (every 4th run again, in this process, {parts['runs']} runs): "
          f"{parts['ms_per_run']:.1f} ms per run = " + ", ".join(
              f"{k} {v:.1f}" for k, v in parts["ms"].items()) + " ms; "
          f"simulated {parts['simulated'] / max(1, parts['instructions']):.0%} of the runs' instructions "
          f"({parts['simulated'] / parts['runs']:,.0f} per run), the rest started from golden checkpoints")
    print(f"campaign CPU per run beyond the runs themselves (worker start and boot, rows, pickling, "
          f"checkpoints recorded by each worker): ~{max(0.0, cpu / n * 1e3 - parts['ms_per_run']):.0f} ms")
    print("outcomes: " + ", ".join(f"{k} {v}" for k, v in results.counts().items()))
    print("(target: >= 20 runs per second on a 2-core machine)")
    return {"runs_per_s": n / wall, "runs_per_s_runs": n / run_wall * workers, "wall": wall, "cpu_s": cpu,
            "runs_per_s_cpu": n / cpu * workers,
            "early_share": sum(early.values()) / n, "early": early,
            "mean_instructions": float(df["instructions"].mean()), "restore_ms": restore_ms, "breakdown": parts}


def _cpu_seconds() -> float:
    """User + system CPU seconds of this process and of its children that have ended."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _restore_ms(c, cycles: int, k: int = 5) -> float:
    """Median time to restore the steady snapshot after the fault-free system ran `cycles` from it (a
    run's mean length): the copy-back of what a run dirtied, which every run pays first."""
    system = c.system
    times = []
    for _ in range(k):
        system.restore_steady()
        system.run(max(1, cycles))
        t0 = time.perf_counter()
        system.restore_steady()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


TIMED = {"simulation": ("run",), "restore": ("restore", "restore_delta"), "golden digests": ("state_hash_since",),
         "checkpoint capture": ("delta",)}


def breakdown(c, step: int = 4) -> dict:
    """CPU time of every `step`-th run of `c`'s fault list run again in this process (after the others'
    checkpoints, as a worker would have them), split by what the machine does (simulation in the
    core's run loop, snapshot and checkpoint restores, state digests for the convergence checks and
    checkpoints, checkpoint capture) and the rest (Python: arming, detection, measurements, report).
    Machine methods are timed through wrappers on this one instance, removed afterwards."""
    from workbench.faults import fault_from_row
    system = c.system
    m = system.machine
    spent = dict.fromkeys(TIMED, 0.0)
    simulated = [0]

    def timed(part, fn, counts=False):
        def call(*a, **k):
            t = time.process_time()
            before = m.instructions if counts else 0
            try:
                out = fn(*a, **k)
            finally:
                spent[part] += time.process_time() - t
            if counts:
                simulated[0] += max(0, out.instructions - before)
            return out
        return call

    from workbench.faults.golden import golden_profile, last_access_pass
    rows = c.fault_rows[::step]
    for target in {r["target"] for r in rows}:      # the golden passes first, outside the timing
        golden_profile(system, target)
        last_access_pass(system, target)
    names = [(part, name) for part, names in TIMED.items() for name in names]
    for part, name in names:
        setattr(m, name, timed(part, getattr(m, name), counts=name == "run"))
    instructions = 0
    try:
        t0 = time.process_time()
        for row in rows:
            instructions += system.inject(fault_from_row(row)).instructions
        total = time.process_time() - t0
    finally:
        for _, name in names:
            delattr(m, name)
    ms = {k: v / len(rows) * 1e3 for k, v in spent.items()}
    ms["Python"] = total / len(rows) * 1e3 - sum(ms.values())
    return {"runs": len(rows), "ms_per_run": total / len(rows) * 1e3, "ms": ms, "simulated": simulated[0],
            "instructions": instructions}
