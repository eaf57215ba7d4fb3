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
