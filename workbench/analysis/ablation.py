"""The papers' method in one call (issue 10, item 4): run ONE fault list under the cumulative ladder of
ReHype's enhancements -- basic, then each enhancement added in turn (include/enhancement_list.h's order
by default) -- and under the `reboot` baseline, and tabulate the recovery success per step and fault
type with 95% Wilson intervals (both success definitions), the top causes of failed recoveries per step,
and a figure beside the published ladder (DSN 2018).  `next_enhancement` is one turn of the loop the
papers built ReHype with: the most common cause of the failed recoveries and the enhancement that
removes it (include/recovery_cause_list.h says which).

Each step is a `Campaign` of the same fault list (`Campaign.of_faults`); with `out=` each step lives in
its own subfolder, so a stopped ablation resumes step by step and run by run.
"""
from __future__ import annotations

import dataclasses
import json
import math
import threading
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from workbench.campaign import Campaign, CampaignResults
from workbench.campaign.manifest import config_dict, config_from_dict
from workbench.campaign.results import write_atomic
from workbench.campaign.stats import wilson
from workbench.campaign.summary import ALL, DEFINITIONS, outcome_table, recovery_table
from workbench.stack import abi
from workbench.system import SystemConfig
from workbench.system.config import ALL_ENHANCEMENTS

PLAN = "ablation.json"
FORMAT = 1
LADDER_RECOVERY = "rehype"
BASELINE = "reboot"
BASIC = "basic"
NOT_RECORDED = "not recorded"        # a failed recovery whose row has no `cause` (a mechanism that names none)


# ---- the ladder ----

@dataclass(frozen=True)
class Step:
    """One rung: `name` ("basic", "+reset_locks", or the baseline's mechanism), the recovery it runs
    under, what it added to the step before, and every enhancement switched on."""
    index: int
    name: str
    recovery: str
    added: tuple[str, ...]
    enhancements: tuple[str, ...]
    baseline: bool = False

    @property
    def dirname(self) -> str:
        return f"baseline-{self.recovery}" if self.baseline else f"{self.index:02d}-{self.name.lstrip('+')}"

    def config(self, config: SystemConfig) -> SystemConfig:
        return dataclasses.replace(config, recovery=self.recovery, enhancements=self.enhancements)

    def as_dict(self) -> dict:
        return {"index": self.index, "name": self.name, "recovery": self.recovery, "added": list(self.added),
                "enhancements": list(self.enhancements), "baseline": self.baseline}

    @classmethod
    def from_dict(cls, d: dict) -> "Step":
        return cls(d["index"], d["name"], d["recovery"], tuple(d["added"]), tuple(d["enhancements"]),
                   bool(d["baseline"]))


def ladder(steps=None, recovery: str = LADDER_RECOVERY, baseline: str | None = BASELINE) -> list[Step]:
    """The steps of an ablation: basic (no enhancement), then each item of `steps` added cumulatively
    (an enhancement name, or a tuple of names added together; default: each of ALL_ENHANCEMENTS in the
    papers' order), then the baseline (`None`: none)."""
    allowed = ", ".join(map(repr, ALL_ENHANCEMENTS))
    items = [(e,) for e in ALL_ENHANCEMENTS] if steps is None else steps
    if isinstance(items, str) or not isinstance(items, (list, tuple)):
        raise ValueError(f"steps={steps!r} is invalid: allowed None or a list of enhancement names or tuples of "
                         f"names from {allowed}")
    out = [Step(0, BASIC, recovery, (), ())]
    on: set[str] = set()
    for i, item in enumerate(items, 1):
        names = (item,) if isinstance(item, str) else item
        if not isinstance(names, (tuple, list)) or not names or any(n not in ALL_ENHANCEMENTS for n in names):
            raise ValueError(f"steps[{i - 1}]={item!r} is invalid: allowed an enhancement name or a non-empty "
                             f"tuple of names from {allowed}")
        again = [n for n in names if n in on]
        if again or len(set(names)) != len(names):
            raise ValueError(f"steps[{i - 1}]={item!r} is invalid: {', '.join(again) or 'a name'} is added twice "
                             f"(steps are cumulative)")
        on |= set(names)
        out.append(Step(i, "+" + "+".join(names), recovery, tuple(names),
                        tuple(n for n in ALL_ENHANCEMENTS if n in on)))
    if baseline is not None:
        if not isinstance(baseline, str):
            raise ValueError(f"baseline={baseline!r} is invalid: allowed None or a recovery mechanism name")
        out.append(Step(len(out), baseline, baseline, (), (), baseline=True))
    return out


def parse_steps(text: str | None):
    """`--steps` of the command line: names separated by commas, `+` joining names added in one step
    ("reset_locks,hypercall_retry+ack_irqs"); empty or None: the default ladder."""
    if not text:
        return None
    return [tuple(n.strip() for n in item.split("+")) if "+" in item else item.strip()
            for item in text.split(",") if item.strip()]


# ---- running it ----

def ablation(config: SystemConfig | None, faults, steps=None, *, n: int | None = None, seed: int = 0,
             baseline: str | None = BASELINE, recovery: str = LADDER_RECOVERY, executor="processes",
             workers: int | None = None, out=None, progress: bool = True, stop: threading.Event | None = None,
             on_step=None, on_runs=None) -> "Ablation":
    """Run one fault list under every step of the ladder (`ladder(steps, recovery, baseline)`).

    faults: a list of `Fault`s (or their rows), a `CampaignResults` (its fault list), or a `FaultSpace`,
    sampled once -- `n` faults from `seed` -- on the first step's system. `recovery`: the mechanism the
    ladder runs under (ReHype; another only to test the plumbing). executor/workers/progress: as
    `Campaign.run`. out: a directory; `ablation.json` (the plan: steps, configuration, fault list) is
    written first, then one campaign folder per step, so calling again with the same arguments (or
    `Ablation.resume(out)`) continues where it stopped. stop: an Event; when set, the step running stops
    as `Campaign.run` does and no further step starts. on_step(ablation): called after each step with
    what is done so far; on_runs(step, done, total, counts): as `Campaign.run`'s callback.
    """
    config = SystemConfig() if config is None else config
    if not isinstance(config, SystemConfig):
        raise TypeError(f"config must be a SystemConfig, got {type(config).__name__}")
    plan_steps = ladder(steps, recovery, baseline)
    fault_rows, space = _fault_list(faults, plan_steps[0].config(config), n, seed)
    plan = {"format": FORMAT, "recovery": recovery, "baseline": baseline, "seed": seed,
            "fault_space": space, "config": config_dict(config), "steps": [s.as_dict() for s in plan_steps],
            "n": len(fault_rows), "faults": fault_rows}
    if out is not None:
        _open(Path(out), plan)
    return _run(plan, executor, workers, out, progress, stop, on_step, on_runs)


def _fault_list(faults, first: SystemConfig, n, seed) -> tuple[list[dict], dict | None]:
    from workbench.faults import FaultSpace
    if isinstance(faults, FaultSpace):
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n={n!r} is invalid: allowed a positive int (faults to sample from the FaultSpace)")
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 1 << 32:
            raise ValueError(f"seed={seed!r} is invalid: allowed an int 0..2**32-1")
        from workbench.campaign.worker import system_for
        sampled = faults.sample(system_for(first), n, seed)
        space = {"target": faults.target, "fault_types": list(faults.fault_types), "window": list(faults.window)}
        return [f.row() for f in sampled], space
    if isinstance(faults, CampaignResults):
        faults = faults.manifest["faults"]
    if n is not None:
        raise ValueError(f"n={n!r} is invalid with a fault list: allowed None (n is the list's length)")
    return Campaign.of_faults(first, faults).fault_rows, None


def _open(out: Path, plan: dict) -> None:
    path = out / PLAN
    if path.exists():
        old = _read_plan(out)
        same = ("recovery", "baseline", "config", "steps", "faults")
        if any(old.get(k) != plan[k] for k in same):
            raise FileExistsError(f"{out} holds another ablation; choose a new directory, or "
                                  f"Ablation.resume({str(out)!r}) to finish that one")
        return
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty and holds no {PLAN}; choose a new directory")
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(path, lambda p: p.write_text(json.dumps(plan, indent=1)))


def _read_plan(directory) -> dict:
    from workbench.campaign.results import read_json_record
    return read_json_record(directory, PLAN, kind="ablation", absent="not an ablation directory",
                            corrupt="truncated or corrupt", what="an ablation plan",
                            keys=("format", "steps", "faults", "config"), version=FORMAT)[1]


def _run(plan, executor, workers, out, progress, stop, on_step, on_runs) -> "Ablation":
    config = config_from_dict(plan["config"])
    steps = [Step.from_dict(s) for s in plan["steps"]]
    done: dict[str, CampaignResults] = {}
    result = Ablation(plan, done, path=out)
    for step in steps:
        if stop is not None and stop.is_set():
            break
        c = Campaign.of_faults(step.config(config), plan["faults"], seed=plan.get("seed") or 0)
        c.label = f"ablation {step.name}"
        cb = None if on_runs is None else (lambda d, t, counts, s=step: on_runs(s, d, t, counts))
        done[step.name] = c.run(executor, workers, progress,
                                out=None if out is None else Path(out) / step.dirname, stop=stop, callback=cb)
        if on_step is not None:
            on_step(result)
        if not done[step.name].complete:
            break                        # stopped: the next step would only start to be stopped
    return result


# ---- the result ----

class Ablation:
    """An ablation's plan (`steps`, the fault list) and each step's `CampaignResults` (`results`, by step
    name; a stopped ablation has fewer). `table`, `causes`, `figure()` are built from them."""

    def __init__(self, plan: dict, results: dict[str, CampaignResults], path=None):
        self.plan = plan
        self.steps = [Step.from_dict(s) for s in plan["steps"]]
        self.results = results
        self.path = None if path is None else Path(path)

    @property
    def n(self) -> int:
        return self.plan["n"]

    @property
    def ladder_steps(self) -> list[Step]:
        return [s for s in self.steps if not s.baseline]

    @property
    def complete(self) -> bool:
        return all(s.name in self.results and self.results[s.name].complete for s in self.steps)

    @property
    def fault_types(self) -> tuple[str, ...]:
        """The fault types of the list: the fault space's order when it was sampled, else first seen."""
        seen = dict.fromkeys(r["fault_type"] for r in self.plan["faults"])
        space = (self.plan.get("fault_space") or {}).get("fault_types") or ()
        return tuple(t for t in space if t in seen) + tuple(t for t in seen if t not in space)

    @property
    def table(self) -> pl.DataFrame:
        """Per step and fault type (and "all"): runs, detected failures, and the recovered ones under both
        definitions (count, percent, 95% Wilson interval): campaign.summary's recovery table per step."""
        parts = []
        for s in self.steps:
            r = self.results.get(s.name)
            if r is None:
                continue
            rec = recovery_table(r.df, self.fault_types)
            runs = outcome_table(r.df, self.fault_types).select("fault_type", "runs")
            rec = rec.join(runs, on="fault_type", how="left", maintain_order="left")
            parts.append(rec.select(
                pl.lit(s.index, pl.Int64).alias("step"), pl.lit(s.name).alias("name"),
                pl.lit(s.recovery).alias("recovery"), pl.lit(",".join(s.enhancements)).alias("enhancements"),
                "fault_type", "runs", pl.exclude("fault_type", "runs")))
        if not parts:
            return _empty_table()
        return pl.concat(parts)

    @property
    def causes(self) -> pl.DataFrame:
        """Failed recoveries per step and cause (the `cause` column), most common first, with the
        enhancement that removes each cause (include/recovery_cause_list.h)."""
        parts = [cause_table(self.results[s.name].df).select(
                    pl.lit(s.index, pl.Int64).alias("step"), pl.lit(s.name).alias("name"), pl.all())
                 for s in self.steps if s.name in self.results]
        parts = [p for p in parts if p.height]
        return pl.concat(parts) if parts else cause_table(pl.DataFrame(schema={"detected": pl.Utf8}))

    def top_causes(self, k: int = 3) -> pl.DataFrame:
        """The `k` most common causes of failed recoveries at each step."""
        return self.causes.group_by("step", maintain_order=True).head(k)

    def next_enhancement(self, definition: str = "strict") -> "NextEnhancement":
        """`next_enhancement` of the last ladder step that ran."""
        ran = [s for s in self.ladder_steps if s.name in self.results]
        if not ran:
            raise ValueError("no ladder step has run yet")
        return next_enhancement(self.results[ran[-1].name], definition)

    def figure(self, definition: str = "papers", paper: bool = True):
        """Seaborn figure: recovery success per step (95% Wilson intervals) per fault type and for all,
        the baseline last; with `paper`, the published ladder and per-type rates beside (DSN 2018).
        Returns a matplotlib Figure (not registered with pyplot: a notebook shows it once)."""
        return ladder_figure(self, definition, paper)

    def save(self, directory) -> Path:
        """Write the plan and each step's results (one campaign folder per step) into `directory`."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        write_atomic(d / PLAN, lambda p: p.write_text(json.dumps(self.plan, indent=1)))
        for s in self.steps:
            if s.name in self.results:
                self.results[s.name].save(d / s.dirname)
        self.path = d
        return d

    @classmethod
    def load(cls, directory) -> "Ablation":
        """Read a saved (or stopped) ablation: the plan and every step folder present. A damaged file
        raises `ResultsFileError` naming it."""
        plan = _read_plan(directory)
        results = {}
        for s in plan["steps"]:
            sub = Path(directory) / Step.from_dict(s).dirname
            if (sub / "manifest.json").exists():
                results[s["name"]] = CampaignResults.load(sub)
        return cls(plan, results, path=directory)

    @classmethod
    def resume(cls, directory, executor="processes", workers: int | None = None, progress: bool = True,
               **kw) -> "Ablation":
        """Run what the ablation in `directory` still lacks, with the plan it recorded."""
        plan = _read_plan(directory)
        return _run(plan, executor, workers, directory, progress, kw.get("stop"), kw.get("on_step"),
                    kw.get("on_runs"))

    # -- reprs --

    def display_summary(self):
        from workbench.display.formatting import Summary, Table
        p = self.plan
        types = ", ".join(self.fault_types)
        facts = (("faults", f"{p['n']} ({types})" + (f", sampled with seed {p['seed']}" if p.get("fault_space") else
                                                      ", given")),
                 ("ladder", f"{p['recovery']}: " + " -> ".join(s.name for s in self.ladder_steps)),
                 ("baseline", str(p.get("baseline") or "-")),
                 ("steps run", f"{len(self.results)} of {len(self.steps)}" + ("" if self.complete else
                                                                               " (incomplete)")),
                 ("saved in", str(self.path) if self.path else "-"))
        t = self.table
        rate = Table("recovery success over detected failures (95% Wilson interval)",
                     ("step", "fault type", "runs", "detected", "strict (no AppVM affected)",
                      "papers (<= 1 AppVM affected, new VM runs)"),
                     tuple((r["name"], r["fault_type"], str(r["runs"]), str(r["detected"]))
                           + tuple(_rate_text(r, d) for d in DEFINITIONS) for r in t.iter_rows(named=True)))
        top = self.top_causes(3)
        causes = Table("top causes of failed recoveries", ("step", "cause", "failed", "share", "removed by"),
                       tuple((r["name"], r["cause"], str(r["failed"]), f"{r['share_pct']:.1f}%",
                              r["removed_by"] or "-") for r in top.iter_rows(named=True)))
        return Summary("Ablation", facts, (rate, causes))

    def __repr__(self):
        from workbench.display import formatting
        return formatting.render(self.display_summary())

    def _repr_html_(self):
        from workbench.display import formatting_html
        return formatting_html.render(self.display_summary())


def _empty_table() -> pl.DataFrame:
    schema = {"step": pl.Int64, "name": pl.Utf8, "recovery": pl.Utf8, "enhancements": pl.Utf8,
              "fault_type": pl.Utf8, "runs": pl.Int64, "detected": pl.Int64}
    for d in DEFINITIONS:
        schema |= {d: pl.Int64, f"{d}_pct": pl.Float64, f"{d}_lo": pl.Float64, f"{d}_hi": pl.Float64}
    return pl.DataFrame(schema=schema)


def _rate_text(r: dict, d: str) -> str:
    if not r["detected"]:
        return "-"
    return f"{r[f'{d}_pct']:.1f}% [{r[f'{d}_lo']:.1f}, {r[f'{d}_hi']:.1f}] ({r[d]}/{r['detected']})"


# ---- causes and the next enhancement ----

def _failed(df: pl.DataFrame, definition: str) -> pl.DataFrame:
    if definition not in DEFINITIONS:
        raise ValueError(f"definition={definition!r} is invalid: allowed {', '.join(map(repr, DEFINITIONS))}")
    det = df.filter(pl.col("detected").is_not_null())
    if "cause" not in det.columns:
        det = det.with_columns(pl.lit(None, pl.Utf8).alias("cause"))
    return det.filter(~pl.col(DEFINITIONS[definition]).fill_null(False))


def cause_table(df: pl.DataFrame, definition: str = "strict") -> pl.DataFrame:
    """Detected failures not recovered (under `definition`), tallied by `cause`: cause, its description,
    the enhancement that removes it (None: none does), failed runs, share of the failed (percent).
    Most common first; ties in the cause list's order."""
    table = abi.recovery_causes()
    cols = {"cause": pl.Utf8, "text": pl.Utf8, "removed_by": pl.Utf8, "failed": pl.Int64, "share_pct": pl.Float64}
    if "detected" not in df.columns or not df.height:
        return pl.DataFrame(schema=cols)
    failed = _failed(df, definition)
    counts = failed.group_by("cause").len().iter_rows()
    rows = []
    for cause, k in counts:
        c = table.get(cause) if cause is not None else None
        rows.append({"cause": cause if cause is not None else NOT_RECORDED,
                     "text": c.text if c else ("no cause in the row" if cause is None else "not in the cause list"),
                     "removed_by": c.enhancement if c else None, "failed": k,
                     "share_pct": 100 * k / failed.height, "_order": c.id if c else math.inf})
    rows.sort(key=lambda r: (-r["failed"], r["_order"], r["cause"]))
    return pl.DataFrame([{k: v for k, v in r.items() if k != "_order"} for r in rows], schema=cols)


@dataclass(frozen=True)
class NextEnhancement:
    """One turn of the papers' loop: of `failed` failed recoveries among `detected` detected failures,
    `count` had `cause`, which `enhancement` removes (None: no enhancement does, or nothing failed).
    `enabled`: that enhancement was already on in the campaign (so it does not remove every case)."""
    cause: str | None
    text: str | None
    enhancement: str | None
    count: int
    failed: int
    detected: int
    enabled: bool
    definition: str
    causes: pl.DataFrame

    @property
    def advice(self) -> str:
        if self.failed == 0:
            return f"no failed recovery among {self.detected} detected failures: nothing to add"
        share = f"{self.count} of {self.failed} failed recoveries"
        if self.cause == NOT_RECORDED:
            return f"{share} name no cause (the recovery mechanism records none): run it under rehype"
        if self.enhancement is None:
            return f"most common cause: {self.cause} ({self.text}; {share}); no enhancement removes it"
        if self.enabled:
            return (f"most common cause: {self.cause} ({self.text}; {share}); {self.enhancement} removes it "
                    f"and is already on: it misses these cases")
        return f"most common cause: {self.cause} ({self.text}; {share}); add {self.enhancement}"

    def display_summary(self):
        from workbench.display.formatting import Summary, frame_table
        facts = (("next enhancement", self.enhancement or "none"), ("why", self.advice),
                 ("failed recoveries", f"{self.failed} of {self.detected} detected ({self.definition} definition)"))
        t = self.causes.with_columns(pl.col("share_pct").round(1))
        return Summary("NextEnhancement", facts, (frame_table("failed recoveries by cause", t),))

    def __repr__(self):
        from workbench.display import formatting
        return formatting.render(self.display_summary())

    def _repr_html_(self):
        from workbench.display import formatting_html
        return formatting_html.render(self.display_summary())


def next_enhancement(results, definition: str = "strict") -> NextEnhancement:
    """The papers' loop in one call: the most common cause of failed recoveries among the detected
    failures of `results` (a `CampaignResults`, an `Ablation` -- its last ladder step -- or a polars
    table of rows) and the enhancement that removes it (include/recovery_cause_list.h), if any."""
    if isinstance(results, Ablation):
        return results.next_enhancement(definition)
    df = results.df if isinstance(results, CampaignResults) else results
    if not isinstance(df, pl.DataFrame):
        raise TypeError(f"results must be CampaignResults, an Ablation or a polars DataFrame, "
                        f"got {type(results).__name__}")
    causes = cause_table(df, definition)
    detected = df.filter(pl.col("detected").is_not_null()).height if "detected" in df.columns else 0
    failed = int(causes["failed"].sum()) if causes.height else 0
    if not causes.height:
        return NextEnhancement(None, None, None, 0, 0, detected, False, definition, causes)
    top = causes.row(0, named=True)
    on = set()
    if isinstance(results, CampaignResults):
        cfg = results.manifest.get("config", {})
        if cfg.get("recovery") == LADDER_RECOVERY:
            on = set(cfg.get("enhancements") or ())
    return NextEnhancement(top["cause"], top["text"], top["removed_by"], top["failed"], failed, detected,
                           top["removed_by"] in on, definition, causes)


# ---- the figure ----

PAPER_LADDER = ("dsn18_basic_rehype", "dsn18_ladder_ported", "dsn18_ladder_platform", "dsn18_ladder_nonidem")
PAPER_LADDER_LABELS = ("basic", "ported", "+platform", "+non-idem.")
PAPER_RATES = {"papers": ("dsn18_rehype_failstop", "dsn18_rehype_reg", "dsn18_rehype_code"),
               "strict": ("dsn18_rehype_failstop_novmf", "dsn18_rehype_reg_novmf", "dsn18_rehype_code_novmf")}


def _success_points(ab: Ablation, definition: str):
    """One point per detected run (success 100 or 0) per step, fault type and "all": seaborn's mean is
    the rate, and the Wilson interval is its error bar."""
    import pandas as pd
    col = DEFINITIONS[definition]
    step, ftype, ok = [], [], []
    for s in ab.steps:
        r = ab.results.get(s.name)
        if r is None:
            continue
        det = r.df.filter(pl.col("detected").is_not_null())
        label = _label(s)
        for t, v in zip(det["fault_type"].to_list(), det[col].fill_null(False).to_list()):
            for group in (t, ALL):
                step.append(label)
                ftype.append(group)
                ok.append(100.0 if v else 0.0)
    return pd.DataFrame({"step": step, "fault type": ftype, "recovered (%)": ok})


def _label(s: Step) -> str:
    if s.baseline:
        return f"{s.name}\n(baseline)"
    # a step adding many at once would squeeze the axes: name its first and count the rest
    return s.name if len(s.added) <= 2 else f"+{s.added[0]}\n+{len(s.added) - 1} more"


def _wilson_bar(values):
    k, n = int(round(sum(values) / 100)), len(values)
    lo, hi = wilson(k, n)
    return 100 * lo, 100 * hi


def ladder_figure(ab: Ablation, definition: str = "papers", paper: bool = True):
    """The ablation ladder (issue 12 item 2); see `Ablation.figure`."""
    import seaborn as sns
    from matplotlib.figure import Figure
    if definition not in DEFINITIONS:
        raise ValueError(f"definition={definition!r} is invalid: allowed {', '.join(map(repr, DEFINITIONS))}")
    data = _success_points(ab, definition)
    from workbench.faults import FAULT_TYPES
    palette = dict(zip(FAULT_TYPES + (ALL,), sns.color_palette("colorblind", len(FAULT_TYPES) + 1)))
    fig = Figure(figsize=(12 if paper else 8, 4.6), layout="constrained")
    axes = fig.subplots(1, 2, width_ratios=(3, 2)) if paper else [fig.subplots()]
    ax = axes[0]
    order = [_label(s) for s in ab.steps]
    hues = [t for t in ab.fault_types + (ALL,) if t in set(data["fault type"])] if len(data) else []
    base = {_label(s) for s in ab.steps if s.baseline}
    # the ladder's points joined by lines; the baseline's alone (same x order, so they line up)
    for part, extra in ((data[~data["step"].isin(base)], {}), (data[data["step"].isin(base)],
                                                               {"linestyle": "none", "markers": "s", "legend": False})):
        if len(part):
            sns.pointplot(data=part, x="step", y="recovered (%)", hue="fault type", order=order, hue_order=hues,
                          errorbar=_wilson_bar, dodge=0.35, capsize=0.12, err_kws={"linewidth": 1.2},
                          palette=palette, ax=ax, **extra)
    ax.tick_params(axis="x", labelrotation=45, labelsize=8)
    for lab in ax.get_xticklabels():
        lab.set_horizontalalignment("right")
    if base:
        ax.axvline(len(ab.ladder_steps) - 0.5, color="grey", linewidth=0.8, linestyle=":")
    ax.set_ylim(-2, 102)
    ax.set_title(f"Measured: one fault list per step ({ab.n} faults; {definition} definition; 95% Wilson)",
                 fontsize=10)
    if paper:
        _paper_panel(axes[1], definition, palette)
    return fig


fig_ablation = ladder_figure          # the name the paper's other figures go by (analysis/figures.py)


def _paper_panel(ax, definition: str, palette) -> None:
    from workbench.analysis.data import paper_figures
    try:
        figs = {r["key"]: r for r in paper_figures().iter_rows(named=True)}
    except FileNotFoundError:
        ax.text(0.5, 0.5, "data/paper/figures.csv not found", ha="center", transform=ax.transAxes)
        return
    xs = list(range(len(PAPER_LADDER)))
    vals = [figs[k]["value"] for k in PAPER_LADDER]
    lo = [v - (figs[k]["low"] if figs[k]["low"] is not None else v) for k, v in zip(PAPER_LADDER, vals)]
    hi = [(figs[k]["high"] if figs[k]["high"] is not None else v) - v for k, v in zip(PAPER_LADDER, vals)]
    colour = palette.get("failstop", "black")
    ax.errorbar(xs, vals, yerr=[lo, hi], marker="o", capsize=3, color=colour, label="ladder, fail-stop, 1 AppVM")
    x0 = len(xs) + 0.6
    for j, key in enumerate(PAPER_RATES[definition]):
        r = figs[key]
        ax.plot([x0 + j], [r["value"]], marker="D", linestyle="", color=palette.get(r["fault_type"], "black"),
                label=f"enhanced ReHype, {r['fault_type']}, 3AppVM")
    ax.axvline(len(xs) - 0.2, color="grey", linewidth=0.8, linestyle=":")
    ax.set_xticks(xs + [x0 + j for j in range(len(PAPER_RATES[definition]))],
                  list(PAPER_LADDER_LABELS) + [figs[k]["fault_type"] for k in PAPER_RATES[definition]],
                  rotation=45, ha="right", fontsize=8)
    ax.set_ylim(-2, 102)
    ax.set_ylabel("recovered (%)")
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title("Published: Zhou & Tamir, DSN 2018 (ReHype on Xen)", fontsize=10)
    # the citation under both panels (a figure label: constrained layout leaves room for it)
    ax.figure.supxlabel("Published: ladder from D. Zhou, Y. Tamir, Fast Hypervisor Recovery Without Reboot, DSN 2018 "
                        "(basic 5.6%; then 95% intervals +-2.9/2.3/1.2);\nper type: DSN 2018 and D. Zhou's thesis, UCLA "
                        f"({definition} definition). Their steps are Xen's, not these enhancements.", fontsize=7)
