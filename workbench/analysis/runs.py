"""One run of a campaign seen again, and a whole campaign reproduced: re-run a row on this machine, its
timeline (phases, per-AppVM progress gaps, the peer), rows compared with a saved table ignoring what
may differ (`wall_s`), and the appendix a paper can cite from a campaign's manifest."""
from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version

import polars as pl

from workbench.analysis.data import as_results
from workbench.campaign import Campaign, CampaignResults
from workbench.campaign.manifest import config_from_dict, git_commit, package_version
from workbench.campaign.results import FAULT_FIELDS
from workbench.machine.clock import cycles_to_ms

VARYING = ("wall_s",)         # the only columns a re-run may change: the host's time, not the simulation's
PACKAGES = ("numpy", "polars", "Cython", "pyelftools", "ziglang", "seaborn", "matplotlib", "ipywidgets",
            "distributed", "tqdm")


def row_of(results, run: int) -> dict:
    """The row of run number `run` (ValueError naming `run` if the table lacks it)."""
    r = as_results(results)
    if not isinstance(run, int) or isinstance(run, bool):
        raise ValueError(f"run={run!r} is invalid: allowed an int run number")
    got = r.df.filter(pl.col("run") == run)
    if not got.height:
        raise ValueError(f"run={run} is invalid: allowed one of the {r.df.height} runs in the table "
                         f"(0..{r.n - 1}, {len(r.missing)} not run yet)")
    return got.row(0, named=True)


def fault_of(results, run: int):
    from workbench.faults import fault_from_row
    row = row_of(results, run)
    return fault_from_row({k: row[k] for k in FAULT_FIELDS})


def rerun(results, run: int):
    """Run one fault of a campaign again on this machine, with the configuration its manifest recorded
    (this process boots it once), and return the `RunReport` with its timeline."""
    from workbench.campaign.worker import system_for
    r = as_results(results)
    fault = fault_of(r, run)
    return system_for(config_from_dict(r.manifest["config"])).inject(fault)


def same_row(report, row: dict) -> list[str]:
    """The columns in which a re-run's report differs from a saved row (except VARYING); [] if none."""
    new = report.row()
    return [k for k, v in new.items() if k not in VARYING and k in row and not _eq(row[k], v)]


def _eq(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (a != a and b != b)
    return a == b


def phases(report) -> pl.DataFrame:
    """The run's phases on the simulated clock (ms from the steady snapshot): the fault latent from
    injection to detection, then recovery to a working system (an in-place recovery's own phases,
    `RunReport.phases`, as "recovery: <phase>"), then the rest of the run; open phases end with it."""
    ms = cycles_to_ms
    end = ms(report.cycles)
    inj = report.injection_cycle
    if inj is None:
        inj = next((c for c, label in report.events if label.startswith("injected")), None)
    det = report.detection_cycle
    out = []
    if inj is not None:
        out.append(("fault latent" if det is not None else "after injection", ms(inj), ms(det) if det is not None else end))
    if det is not None:
        t = ms(det)
        for name, took in (getattr(report, "phases", None) or {}).items():
            out.append((f"recovery: {name}", t, t + took))
            t += took
        if report.recovery_cycles is not None:
            stop = ms(det + report.recovery_cycles)
            if stop - t > 1e-6:          # time the phases do not cover (none when they reach "done")
                out.append(("recovery", t, stop))
            t = max(t, stop)
            if t < end:
                out.append(("after recovery", t, end))
        elif t < end:
            out.append(("after detection", t, end))
    return pl.DataFrame([{"phase": p, "start_ms": a, "end_ms": b} for p, a, b in out],
                        schema={"phase": pl.Utf8, "start_ms": pl.Float64, "end_ms": pl.Float64})


def events(report) -> pl.DataFrame:
    """The run's timeline as a table: cycle, simulated ms, event."""
    return pl.DataFrame([{"cycle": c, "ms": cycles_to_ms(c), "event": lbl} for c, lbl in report.events],
                        schema={"cycle": pl.Int64, "ms": pl.Float64, "event": pl.Utf8})


# -- a campaign reproduced --

def reproduce(results, executor="processes", workers: int | None = None, progress: bool = True, out=None,
              runs: int | None = None) -> CampaignResults:
    """Run a saved campaign again on this machine from its manifest (configuration, fault list) and
    return the new results. runs: only the first `runs` faults (a quick check), default all."""
    r = as_results(results)
    m = r.manifest
    if runs is not None:
        if not isinstance(runs, int) or isinstance(runs, bool) or not 1 <= runs <= r.n:
            raise ValueError(f"runs={runs!r} is invalid: allowed None or 1..{r.n}")
        m = {**m, "n": runs, "sizes": runs, "faults": m["faults"][:runs]}     # the same faults, fewer
    return Campaign.from_manifest(m).run(executor, workers=workers, progress=progress, out=out)


def differences(a, b) -> pl.DataFrame:
    """Rows of `a` and `b` (same runs) that differ in any column but VARYING: one row per (run, column)
    with both values as text; empty when the tables agree. Runs only one side has are ignored."""
    da, db = as_results(a).df, as_results(b).df
    cols = [c for c in da.columns if c in db.columns and c not in VARYING and c != "run"]
    j = da.select(["run"] + cols).join(db.select(["run"] + cols), on="run", how="inner", suffix="__b")
    out = []
    for c in cols:
        bad = j.filter(~pl.col(c).eq_missing(pl.col(f"{c}__b")))
        out += [{"run": r, "column": c, "a": str(x), "b": str(y)} for r, x, y in bad.select("run", c, f"{c}__b").iter_rows()]
    return pl.DataFrame(out, schema={"run": pl.Int64, "column": pl.Utf8, "a": pl.Utf8, "b": pl.Utf8}).sort("run", "column")


def _dist(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def appendix(results) -> str:
    """The reproducibility appendix a paper can cite, from a campaign's manifest: what was run (target,
    fault types, runs, seeds, configuration), from which code (package version, git commit, image
    hashes) and the versions of the packages on the machine that reads it."""
    r = as_results(results)
    m = r.manifest
    cfg = m["config"]
    seeds = m.get("seeds") or {}
    lines = [
        f"Fault-injection campaign {'in ' + str(r.path) if r.path else ''}".rstrip(),
        f"  target {m['target']}, fault types {', '.join(m.get('fault_types') or [])}, {m['n']} runs "
        f"({r.df.height} with results), recovery {m.get('recovery')}, fault window {m.get('window') or 'default'}",
        f"  seeds: campaign {seeds.get('campaign', m.get('seed'))}, system {seeds.get('system', cfg.get('seed'))}, "
        f"AppVMs {seeds.get('appvms', '-')}, network peer {seeds.get('peer', '-')}",
        f"  system: {cfg.get('harts')} harts, AppVMs {', '.join(cfg.get('appvms') or [])} "
        f"(iterations {cfg.get('iterations')}), driver VM {cfg.get('dvm')}, RAM {cfg.get('ram_size', 0) >> 20} MiB",
        f"  code: microreboot-workbench {m.get('package_version')}, git commit {m.get('git_commit')}, "
        f"Python {m.get('python')}",
        "  stack images (sha256):",
    ]
    lines += [f"    {k:8s} {v}" for k, v in (m.get("image_hashes") or {}).items()]
    if m.get("versions"):
        lines.append("  packages when it ran: " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()))
    lines.append(f"  read on: microreboot-workbench {package_version()}, git commit {git_commit()}, "
                 f"Python {platform.python_version()}; " + ", ".join(f"{p} {_dist(p)}" for p in PACKAGES))
    return "\n".join(lines)


def stack_changed(results) -> list[str]:
    """The stack images whose hash on this machine differs from the manifest's (a re-run of a campaign
    whose images changed gives other rows, not a failure to reproduce); [] when all agree."""
    from workbench.campaign.manifest import image_hashes
    from workbench.campaign.worker import system_for
    m = as_results(results).manifest
    now = image_hashes(system_for(config_from_dict(m["config"])))
    old = m.get("image_hashes") or {}
    return sorted(k for k in set(now) | set(old) if now.get(k) != old.get(k))
