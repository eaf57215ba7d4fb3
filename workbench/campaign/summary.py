"""A campaign's summary: outcome counts, the papers' three categories (plus undetected failures), recovery
success rates over detected failures under both definitions with 95% Wilson intervals, latency
percentiles (whole recovery, and each phase of an in-place recovery), and failed recoveries by cause,
per fault type. Each table is built once as a polars frame; text and HTML render it
through workbench/display."""
from __future__ import annotations

import math
from dataclasses import dataclass

import polars as pl

from workbench.campaign.stats import wilson
from workbench.faults.report import MS_SUFFIX, OUTCOMES, PHASE_PREFIX, is_measure_column
from workbench.display import formatting, formatting_html

ALL = "all"
# The papers' three categories (DESIGN 5); an undetected failure fits none of them, so it is shown apart.
CATEGORIES = {"not_manifested": ("masked", "no_effect"), "sdc": ("sdc",),
              "undetected_failure": ("undetected_failure",), "detected": ("recovered", "recovery_failed")}
DEFINITIONS = {"strict": "success_strict", "papers": "success_papers"}
PERCENTILES = (50, 90, 99)


def _groups(df: pl.DataFrame, order=()) -> list[tuple[str, pl.DataFrame]]:
    seen = set(df["fault_type"].to_list())
    types = [t for t in order if t in seen] + sorted(seen - set(order))     # the campaign's order first
    out = [(t, df.filter(pl.col("fault_type") == t)) for t in types]
    return out + [(ALL, df)] if len(types) != 1 else out


def outcome_table(df: pl.DataFrame, order=()) -> pl.DataFrame:
    """Runs per outcome, per fault type (and all together)."""
    rows = []
    for t, g in _groups(df, order):
        counts = dict(g.group_by("outcome").len().iter_rows())
        rows.append({"fault_type": t, "runs": g.height, **{o: counts.get(o, 0) for o in OUTCOMES}})
    return pl.DataFrame(rows, schema={"fault_type": pl.Utf8, "runs": pl.Int64, **{o: pl.Int64 for o in OUTCOMES}})


def _share(name: str, k: int, n: int) -> dict:
    """k of n as the four columns of a share: count, percent, 95% Wilson interval (percent)."""
    lo, hi = wilson(k, n)
    return {name: k, f"{name}_pct": _pct(k, n), f"{name}_lo": 100 * lo, f"{name}_hi": 100 * hi}


def _share_schema(name: str) -> dict:
    return {name: pl.Int64, f"{name}_pct": pl.Float64, f"{name}_lo": pl.Float64, f"{name}_hi": pl.Float64}


def category_table(df: pl.DataFrame, order=()) -> pl.DataFrame:
    """Share of runs in each of the papers' categories, per fault type, with its 95% Wilson interval."""
    rows = []
    for t, g in _groups(df, order):
        row = {"fault_type": t, "runs": g.height}
        for cat, outs in CATEGORIES.items():
            k = g.filter(pl.col("outcome").is_in(outs)).height
            row |= _share(cat, k, g.height)
        rows.append(row)
    schema = {"fault_type": pl.Utf8, "runs": pl.Int64}
    for cat in CATEGORIES:
        schema |= _share_schema(cat)
    return pl.DataFrame(rows, schema=schema).fill_nan(None)


def recovery_table(df: pl.DataFrame, order=()) -> pl.DataFrame:
    """Recovery success rate over detected failures, both definitions, with 95% Wilson intervals."""
    rows = []
    for t, g in _groups(df, order):
        det = g.filter(pl.col("detected").is_not_null())
        row = {"fault_type": t, "detected": det.height}
        for name, col in DEFINITIONS.items():
            k = int(det[col].fill_null(False).sum())
            row |= _share(name, k, det.height)
        rows.append(row)
    schema = {"fault_type": pl.Utf8, "detected": pl.Int64}
    for name in DEFINITIONS:
        schema |= _share_schema(name)
    return pl.DataFrame(rows, schema=schema).fill_nan(None)


def latency_table(df: pl.DataFrame, order=()) -> pl.DataFrame:
    """Detection and recovery latency percentiles (simulated ms) over the runs that measured them."""
    rows = []
    for t, g in _groups(df, order):
        for col in ("detection_latency_ms", "recovery_latency_ms"):
            row = {"fault_type": t, "latency": col.removesuffix("_ms"), "runs": g[col].drop_nulls().len()}
            row |= _percentiles(g[col])
            if row["runs"]:                # a fault type that never got there has nothing to show
                rows.append(row)
    return pl.DataFrame(rows, schema={"fault_type": pl.Utf8, "latency": pl.Utf8, "runs": pl.Int64,
                                      **{f"p{q}": pl.Float64 for q in PERCENTILES}, "max": pl.Float64})


def _percentiles(s: pl.Series) -> dict:
    """p50/p90/p99 and max of a column (nulls dropped); None each when nothing was measured."""
    s = s.drop_nulls()
    return {f"p{q}": s.quantile(q / 100, "linear") if s.len() else None for q in PERCENTILES} | {
        "max": s.max() if s.len() else None}


def phase_columns(df: pl.DataFrame) -> list[str]:
    """The table's per-phase columns (`phase_<name>_ms`), in phase order (the rows' own order)."""
    return [c for c in df.columns if is_measure_column(c) and c.startswith(PHASE_PREFIX)]


def phase_table(df: pl.DataFrame, order=()) -> pl.DataFrame:
    """Per-phase latency percentiles (simulated ms, each phase from the end of the one before, the first
    from detection) of the in-place recoveries, per fault type; empty for campaigns without phases."""
    rows = []
    for t, g in _groups(df, order):
        for col in phase_columns(g):
            n = g[col].drop_nulls().len()
            if n:
                phase = col.removeprefix(PHASE_PREFIX).removesuffix(MS_SUFFIX)
                rows.append({"fault_type": t, "phase": phase, "runs": n} | _percentiles(g[col]))
    return pl.DataFrame(rows, schema={"fault_type": pl.Utf8, "phase": pl.Utf8, "runs": pl.Int64,
                                      **{f"p{q}": pl.Float64 for q in PERCENTILES}, "max": pl.Float64})


def cause_table(df: pl.DataFrame, order=()) -> pl.DataFrame:
    """Failed recoveries by `cause` per fault type: count and share of that type's failed recoveries
    (95% Wilson interval), most common first. Empty when no recovery failed."""
    rows = []
    for t, g in _groups(df, order):
        failed = g.filter(pl.col("outcome") == "recovery_failed")
        counts = failed.group_by(pl.col("cause").fill_null("unknown")).len().sort(["len", "cause"],
                                                                                  descending=[True, False])
        for cause, k in counts.iter_rows():
            rows.append({"fault_type": t, "cause": cause, "failed": failed.height} | _share("runs", k, failed.height))
    return pl.DataFrame(rows, schema={"fault_type": pl.Utf8, "cause": pl.Utf8, "failed": pl.Int64,
                                      **_share_schema("runs")}).fill_nan(None)


def _pct(k: int, n: int) -> float | None:
    return 100 * k / n if n else None


def _rate_text(k, n, pct, lo, hi) -> str:
    if not n:
        return "-"
    return f"{pct:.1f}% [{lo:.1f}, {hi:.1f}] ({k}/{n})"


def _num(v) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}" if isinstance(v, float) else str(v)


@dataclass(frozen=True)
class CampaignSummary:
    """The frames of a campaign's summary; `str()` and `_repr_html_()` render the same facts."""
    outcomes: pl.DataFrame
    categories: pl.DataFrame
    recovery: pl.DataFrame
    latency: pl.DataFrame
    facts: tuple[tuple[str, str], ...] = ()
    phases: pl.DataFrame | None = None      # phase_table: in-place recoveries only
    causes: pl.DataFrame | None = None      # cause_table: failed recoveries only

    def display_summary(self) -> formatting.Summary:
        t_out = formatting.Table("outcomes (runs)", tuple(self.outcomes.columns),
                                 tuple(tuple(map(str, r)) for r in self.outcomes.iter_rows()))
        cats = tuple(CATEGORIES)
        t_cat = formatting.Table(
            "papers' categories (% of runs, 95% Wilson interval)", ("fault_type", "runs") + cats,
            tuple((r["fault_type"], str(r["runs"])) + tuple(
                _rate_text(r[c], r["runs"], r[f"{c}_pct"], r[f"{c}_lo"], r[f"{c}_hi"]) for c in cats)
                for r in self.categories.iter_rows(named=True)))
        t_rec = formatting.Table(
            "recovery success over detected failures (95% Wilson interval)",
            ("fault_type", "detected", "strict (no AppVM affected)", "papers (<= 1 AppVM affected, new VM runs)"),
            tuple((r["fault_type"], str(r["detected"])) + tuple(
                _rate_text(r[d], r["detected"], r[f"{d}_pct"], r[f"{d}_lo"], r[f"{d}_hi"]) for d in DEFINITIONS)
                for r in self.recovery.iter_rows(named=True)))
        t_lat = formatting.Table("latency (simulated ms)", tuple(self.latency.columns),
                                 tuple(tuple(map(_num, r)) for r in self.latency.iter_rows()))
        tables = [t_out, t_cat, t_rec, t_lat]
        if self.phases is not None and self.phases.height:
            tables.append(formatting.Table("recovery phases (simulated ms; each from the end of the previous)",
                                           tuple(self.phases.columns),
                                           tuple(tuple(map(_num, r)) for r in self.phases.iter_rows())))
        if self.causes is not None and self.causes.height:
            tables.append(formatting.Table(
                "failed recoveries by cause (share of the fault type's failed recoveries, 95% Wilson interval)",
                ("fault_type", "cause", "failed recoveries"),
                tuple((r["fault_type"], r["cause"], _rate_text(r["runs"], r["failed"], r["runs_pct"], r["runs_lo"],
                                                               r["runs_hi"]))
                      for r in self.causes.iter_rows(named=True))))
        return formatting.Summary("Campaign summary", self.facts, tuple(tables))

    def __str__(self):
        return formatting.render(self.display_summary())

    __repr__ = __str__

    def _repr_html_(self):
        return formatting_html.render(self.display_summary())


def summarize(results) -> CampaignSummary:
    """The summary of a campaign's results (`CampaignResults`) or of a polars table of rows."""
    df = results if isinstance(results, pl.DataFrame) else results.df
    facts, order = (), ()
    if not isinstance(results, pl.DataFrame):
        m = results.manifest
        order = tuple(m.get("fault_types") or ())
        facts = (("target", m["target"]), ("runs", f"{df.height} of {m['n']}"),
                 ("recovery", str(m.get("recovery"))), ("seed", str(m.get("seed"))),
                 ("git commit", str(m.get("git_commit"))))
    return CampaignSummary(outcome_table(df, order), category_table(df, order), recovery_table(df, order),
                           latency_table(df, order), facts, phase_table(df, order), cause_table(df, order))
