"""The tables the figures draw: campaign rows gathered into one polars frame with `recovery` and
`campaign` columns, and the papers' published figures (`data/paper/figures.csv`) with short citations.

Figures group by `target` and `recovery` only, never by a mechanism's name, so rows of any recovery
mechanism (halt, reboot, rehype, dvm_reboot, ...) appear as soon as a campaign produced them.
"""
from __future__ import annotations

import csv
import os
import re
from pathlib import Path

import polars as pl

from workbench.campaign import CampaignResults
from workbench.system.config import RECOVERY_IMPLEMENTED, RECOVERY_PLANNED

MECHANISMS = RECOVERY_IMPLEMENTED + RECOVERY_PLANNED        # include/recovery_list.h's order

ROOT = Path(__file__).resolve().parents[2]
PAPER_FIGURES = ROOT / "data" / "paper" / "figures.csv"
REFERENCE_CAMPAIGNS = ROOT / "data" / "campaigns"
PAPER_SCHEMA = {"key": pl.Utf8, "quantity": pl.Utf8, "value": pl.Float64, "low": pl.Float64, "high": pl.Float64,
                "unit": pl.Utf8, "mechanism": pl.Utf8, "fault_type": pl.Utf8, "definition": pl.Utf8,
                "citation": pl.Utf8, "cite": pl.Utf8}


def as_results(source) -> CampaignResults:
    """A `CampaignResults`, or a campaign directory to load (`ResultsFileError` if it is damaged)."""
    if isinstance(source, CampaignResults):
        return source
    if isinstance(source, (str, os.PathLike)):
        return CampaignResults.load(source)
    raise TypeError(f"results must be CampaignResults or a campaign directory, got {type(source).__name__}")


def label(results: CampaignResults) -> str:
    """A campaign's short name: its folder, else target, recovery and seed."""
    if results.path is not None:
        return Path(results.path).name
    m = results.manifest
    return f"{m['target']}-{m.get('recovery')}-seed{m.get('seed')}"


def rows(results) -> pl.DataFrame:
    """One frame of every run of `results` with `recovery` and `campaign` columns.

    results: a `CampaignResults`, a campaign directory, a polars frame of rows (it must have a
    `recovery` column), or a list of these / a dict {label: one of these} to compare campaigns."""
    if isinstance(results, dict):
        parts = [_one(r, name) for name, r in results.items()]
    elif isinstance(results, (list, tuple)):
        parts = [_one(r, None) for r in results]
    else:
        parts = [_one(results, None)]
    if not parts:
        raise ValueError("results is empty: allowed one or more campaigns")
    return pl.concat(parts, how="diagonal_relaxed")


def _one(source, name) -> pl.DataFrame:
    if isinstance(source, pl.DataFrame):
        if "recovery" not in source.columns:
            raise ValueError("results frame has no 'recovery' column: pass CampaignResults (its manifest names it)")
        df = source
        name = name or "rows"
    else:
        r = as_results(source)
        df = r.df
        if "recovery" not in df.columns:           # one mechanism per campaign: its manifest says which
            df = df.with_columns(pl.lit(r.manifest.get("recovery"), pl.Utf8).alias("recovery"))
        name = name or label(r)
    return df.with_columns(pl.lit(str(name)).alias("campaign"))


def short_citation(citation: str) -> str:
    """The authors and venue of a citation, without the title: "D. Zhou, Y. Tamir, DSN 2018"."""
    first = citation.split(";")[0]
    parts = [p.strip() for p in first.split(", ")]
    keep = [p for p in parts if re.match(r"^([A-Z]\.\s?)+[A-Z][a-z]", p)
            or re.search(r"\b(19|20)\d\d\b|thesis|TR \d+", p)]
    return ", ".join(p.split(" (doi")[0] for p in keep if not p.startswith("doi")) or first


def paper_figures(path=None) -> pl.DataFrame:
    """The papers' published figures, one row each, with `cite` (a short citation for legends)."""
    path = Path(path) if path is not None else PAPER_FIGURES
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the papers' figures are read from data/paper/figures.csv of a source tree")
    with open(path, newline="") as f:
        recs = list(csv.DictReader(f))
    out = []
    for r in recs:
        out.append({k: (float(r[k]) if r[k] else None) if PAPER_SCHEMA[k] == pl.Float64 else (r.get(k) or None)
                    for k in PAPER_SCHEMA if k != "cite"} | {"cite": short_citation(r["citation"])})
    return pl.DataFrame(out, schema=PAPER_SCHEMA)


def reference_campaigns() -> list[Path]:
    """The reference campaign directories saved under `data/campaigns/`."""
    if not REFERENCE_CAMPAIGNS.is_dir():
        return []
    return sorted(p for p in REFERENCE_CAMPAIGNS.iterdir() if (p / "manifest.json").is_file())


def target_key(t: str):
    """Sort key of targets: hv, privvm, dvm, then the AppVMs by number."""
    order = {"hv": 0, "privvm": 1, "dvm": 2}
    return (order.get(t, 3), int(t.split(":")[1]) if t.startswith("appvm:") else 0, t)


def mechanism_key(r):
    """Sort key of recovery mechanisms: include/recovery_list.h's order, unknown names last."""
    return (MECHANISMS.index(r) if r in MECHANISMS else len(MECHANISMS), str(r))


# -- service interruption: two mechanisms on the same faults --

SERVICE_RUNS = ("detected", "all")


def service_comparison(first, second, labels: tuple[str, str] | None = None, runs: str = "detected") -> pl.DataFrame:
    """Two campaigns over the same fault list (e.g. `rehype` and `reboot`, same seed) side by side, one row
    per fault type (and all): per campaign, the runs counted, recovery latency p50/p90/max (simulated ms,
    detection to a working system), each AppVM's longest progress gap (max over the runs, ms), the
    network peer's lost requests (total, and runs with any) and worst request latency (p50 and max over
    the runs, ms); then `latency_ratio`, the second's median recovery latency over the first's.
    Columns are `<quantity>_<label>`; labels default to each campaign's recovery mechanism (its folder
    name when both used the same one). runs: "detected" (runs whose failure was detected: where a
    recovery ran) or "all". A campaign saved before per-AppVM gaps were recorded shows its largest gap
    over all AppVMs as `gap_max_ms` only. Raises ValueError when the fault lists differ."""
    from workbench.campaign.summary import ALL, _groups
    from workbench.faults.report import GAP_PREFIX, MS_SUFFIX
    if runs not in SERVICE_RUNS:
        raise ValueError(f"runs={runs!r} is invalid: allowed {', '.join(map(repr, SERVICE_RUNS))}")
    a, b = as_results(first), as_results(second)
    if a.manifest["faults"] != b.manifest["faults"] or a.manifest["target"] != b.manifest["target"]:
        raise ValueError("first and second must be campaigns over the same fault list (same target, fault types, "
                         "n and seed, and the same stack images)")
    if labels is None:
        labels = tuple(str(r.manifest.get("recovery")) for r in (a, b))
        if labels[0] == labels[1]:
            labels = (label(a), label(b))
    if not (isinstance(labels, (tuple, list)) and len(labels) == 2 and all(isinstance(x, str) and x for x in labels)
            and labels[0] != labels[1]):
        raise ValueError(f"labels={labels!r} is invalid: allowed None or two different non-empty names")
    order = tuple(a.manifest.get("fault_types") or ())

    def quantities(df: pl.DataFrame) -> list[tuple[str, dict]]:
        if runs == "detected":
            df = df.filter(pl.col("detected").is_not_null())
        gaps = [c for c in df.columns if c.startswith(GAP_PREFIX) and c.endswith(MS_SUFFIX)] or ["progress_gap_ms"]
        out = []
        for t, g in _groups(df, order):
            lat = g["recovery_latency_ms"].drop_nulls()
            worst = (g["peer_worst_latency_us"] / 1000).drop_nulls()
            q = {"runs": g.height, "recovered": g.filter(pl.col("outcome") == "recovered").height,
                 "recovery_p50_ms": lat.median(), "recovery_p90_ms": lat.quantile(0.9, "linear") if lat.len() else None,
                 "recovery_max_ms": lat.max()}
            for c in gaps:
                name = "gap_max_ms" if c == "progress_gap_ms" else c.removeprefix("gap_").replace(MS_SUFFIX, "_gap_max_ms")
                q[name] = g[c].max()
            q |= {"peer_lost": int(g["peer_lost"].fill_null(0).sum()),
                  "peer_lost_runs": g.filter(pl.col("peer_lost").fill_null(0) > 0).height,
                  "peer_worst_p50_ms": worst.median(), "peer_worst_max_ms": worst.max()}
            out.append((t, q))
        return out

    qa, qb = dict(quantities(a.df)), dict(quantities(b.df))
    types = list(dict.fromkeys([t for t in qa if t != ALL] + [t for t in qb if t != ALL]))
    types += [ALL] if ALL in qa or ALL in qb else []
    names = list(dict.fromkeys([k for q in (*qa.values(), *qb.values()) for k in q]))
    out = []
    for t in types:
        row = {"fault_type": t}
        for k in names:
            for lab, q in zip(labels, (qa, qb)):
                row[f"{k}_{lab}"] = q.get(t, {}).get(k)
        p1, p2 = row[f"recovery_p50_ms_{labels[0]}"], row[f"recovery_p50_ms_{labels[1]}"]
        row["latency_ratio"] = p2 / p1 if p1 and p2 is not None else None
        out.append(row)
    schema = {"fault_type": pl.Utf8}
    for k in names:
        for lab in labels:
            schema[f"{k}_{lab}"] = pl.Int64 if k in ("runs", "recovered", "peer_lost", "peer_lost_runs") else pl.Float64
    schema["latency_ratio"] = pl.Float64
    return pl.DataFrame(out, schema=schema)
