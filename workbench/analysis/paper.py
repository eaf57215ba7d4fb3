"""The published figures the workbench is compared with: data/paper/figures.csv, one row per figure with
its citation (data/README.md describes the columns). Read here once, so every table and plot that puts a
paper's number beside a measured one takes it from the same row."""
from __future__ import annotations

from pathlib import Path

import polars as pl

FIGURES_CSV = Path(__file__).resolve().parents[2] / "data" / "paper" / "figures.csv"
SCHEMA = {"key": pl.Utf8, "quantity": pl.Utf8, "value": pl.Float64, "low": pl.Float64, "high": pl.Float64,
          "unit": pl.Utf8, "mechanism": pl.Utf8, "fault_type": pl.Utf8, "definition": pl.Utf8, "citation": pl.Utf8}


def paper_figures(path=None) -> pl.DataFrame:
    """Every published figure as a polars frame (columns of data/paper/figures.csv)."""
    p = Path(path) if path is not None else FIGURES_CSV
    if not p.is_file():
        raise FileNotFoundError(f"{p}: the published figures are not there (a source checkout has data/paper/)")
    return pl.read_csv(p, schema=SCHEMA)


def paper_figure(key: str, path=None) -> dict:
    """One published figure by its key (say "dsn18_basic_rehype") as a dict of its columns."""
    df = paper_figures(path).filter(pl.col("key") == key)
    if df.height != 1:
        raise KeyError(f"no published figure {key!r} in {path or FIGURES_CSV}")
    return df.row(0, named=True)
