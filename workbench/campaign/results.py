"""Campaign results: one row per run (polars), the manifest beside them, and the files they live in.

A campaign directory holds `manifest.json` (what was run: configuration, seeds, versions, image hashes,
the fault list) and `results.parquet` (the rows written so far, written by polars). Both are replaced
atomically (write a temporary file, then `os.replace`), so a campaign killed at any point leaves the
rows of every batch it finished and never a half-written file.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import polars as pl

from workbench.campaign.summary import summarize
from workbench.faults.report import GAP_PREFIX, MS_SUFFIX, OUTCOMES, PHASE_PREFIX, is_measure_column

MANIFEST = "manifest.json"
RESULTS = "results.parquet"
FORMAT = 1                      # bumped when the layout of the directory or the rows changes

# Columns with a fixed type: the fault's fields, then what `RunReport.row()` records. A column some
# run leaves null still has its type, so a table is the same however its rows were gathered.
FAULT_SCHEMA = {"run": pl.Int64, "target": pl.Utf8, "fault_type": pl.Utf8, "hart": pl.Int64, "at": pl.Int64,
                "reg": pl.Utf8, "bit": pl.Int64, "addr": pl.Int64}
REPORT_SCHEMA = {"outcome": pl.Utf8, "reason": pl.Utf8, "detected": pl.Utf8, "injection_cycle": pl.Int64,
                 "detection_cycle": pl.Int64, "detection_latency_ms": pl.Float64, "recovery_latency_ms": pl.Float64,
                 "recovery_cycles": pl.Int64, "appvms_affected": pl.Int64, "health_check": pl.Boolean,
                 "success_strict": pl.Boolean, "success_papers": pl.Boolean, "progress_gap_ms": pl.Float64,
                 "peer_lost": pl.Int64, "peer_worst_latency_us": pl.Float64, "early_stop": pl.Utf8,
                 "instructions": pl.Int64, "cycles": pl.Int64, "wall_s": pl.Float64,
                 "failed_component": pl.Utf8, "cause": pl.Utf8, "cause_detail": pl.Utf8}
# faults.report.SERVICE_SCALARS: typed when present, not added when absent (campaigns saved before
# them compare equal to their re-runs in the columns both have)
SERVICE_SCHEMA = {"peer_retransmissions": pl.Int64, "peer_longest_gap_us": pl.Float64}
SCHEMA = {**FAULT_SCHEMA, **REPORT_SCHEMA}
REQUIRED = ("run", "target", "fault_type", "at", "reg", "bit", "addr", "outcome", "reason", "detected",
            "detection_latency_ms", "recovery_latency_ms", "instructions", "wall_s")
FAULT_FIELDS = tuple(k for k in FAULT_SCHEMA if k != "run")


class ResultsFileError(ValueError):
    """A campaign directory's manifest or results file is missing, truncated, corrupt or inconsistent."""


def frame(rows: list[dict] | pl.DataFrame) -> pl.DataFrame:
    """Rows as the canonical table: fixed types for the known columns, known columns first, sorted by run."""
    df = rows if isinstance(rows, pl.DataFrame) else pl.DataFrame(rows, infer_schema_length=None)
    for name, dtype in SCHEMA.items():
        if name not in df.columns:
            df = df.with_columns(pl.lit(None, dtype).alias(name))
        elif df.schema[name] != dtype:
            df = df.with_columns(pl.col(name).cast(dtype, strict=True))
    for name, dtype in SERVICE_SCHEMA.items():
        if name in df.columns and df.schema[name] != dtype:
            df = df.with_columns(pl.col(name).cast(dtype, strict=True))
    extra = [c for c in df.columns if c not in SCHEMA]
    # per-phase / per-AppVM columns: Float64 even where a batch left them all null (never the Null type)
    df = df.with_columns(pl.col(c).cast(pl.Float64, strict=True) for c in extra if is_measure_column(c)
                         and df.schema[c] != pl.Float64)
    return df.select(list(SCHEMA) + sorted(extra, key=_extra_rank)).sort("run")


def _extra_rank(column: str) -> tuple:
    """Where a column beyond SCHEMA goes: per-AppVM gaps (by AppVM), then phases, then the service
    columns, then the rest. Stable within a group, so phases keep their recovery order (the rows'
    own); a table's columns never depend on which batch arrived first."""
    if column.startswith(GAP_PREFIX) and is_measure_column(column):
        return (0, int(column.removeprefix(GAP_PREFIX).removesuffix(MS_SUFFIX)))
    if column.startswith(PHASE_PREFIX) and is_measure_column(column):
        return (1, 0)
    if column in SERVICE_SCHEMA:
        return (2, list(SERVICE_SCHEMA).index(column))
    return (3, 0)


def concat(parts: list[pl.DataFrame]) -> pl.DataFrame:
    parts = [p for p in parts if p.height]
    if not parts:
        return frame(pl.DataFrame(schema=SCHEMA))
    return frame(pl.concat(parts, how="diagonal_relaxed"))


def write_atomic(path: Path, write) -> None:
    """`write(tmp_path)`, then rename over `path`: readers see the old file or the new one, never a part."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_manifest(directory: Path, manifest: dict) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    write_atomic(directory / MANIFEST, lambda p: p.write_text(json.dumps(manifest, indent=1, sort_keys=False)))


def write_rows(directory: Path, df: pl.DataFrame) -> None:
    write_atomic(directory / RESULTS, lambda p: df.write_parquet(p))


def read_json_record(directory, name: str, *, kind: str, absent: str, corrupt: str, what: str,
                     keys: tuple[str, ...], version: int) -> tuple[Path, dict]:
    """`directory/name` (a campaign's manifest, an ablation's plan) read and checked: a missing folder
    or file, text that is not JSON, a missing key or another format each raise naming what is wrong."""
    d = Path(directory)
    if not d.is_dir():
        raise FileNotFoundError(f"{kind} directory {str(d)!r} does not exist")
    path = d / name
    if not path.is_file():
        raise ResultsFileError(f"{path}: missing ({absent})")
    try:
        m = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as e:
        raise ResultsFileError(f"{path}: {corrupt} ({e})") from None
    missing = [k for k in keys if not isinstance(m, dict) or k not in m]
    if missing:
        raise ResultsFileError(f"{path}: not {what} (missing {', '.join(missing)})")
    if m["format"] != version:
        raise ResultsFileError(f"{path}: format {m['format']!r}, this version reads format {version}")
    return path, m


def read_manifest(directory: str | os.PathLike) -> dict:
    path, m = read_json_record(directory, MANIFEST, kind="campaign",
                               absent="not a campaign directory, or the campaign never started",
                               corrupt="truncated or corrupt manifest", what="a campaign manifest",
                               keys=("format", "n", "faults", "config", "target"), version=FORMAT)
    if len(m["faults"]) != m["n"]:
        raise ResultsFileError(f"{path}: {len(m['faults'])} faults listed for n={m['n']} runs")
    return m


def read_rows(directory: str | os.PathLike, manifest: dict) -> pl.DataFrame:
    """The rows written so far, checked against the manifest's fault list: a file that cannot be read,
    lacks columns, repeats a run or disagrees with the fault list raises `ResultsFileError` naming it."""
    path = Path(directory) / RESULTS
    if not path.exists():
        return concat([])               # started, no batch written yet
    try:
        df = pl.read_parquet(path)
    except Exception as e:              # polars raises several types for damaged files
        raise ResultsFileError(f"{path}: truncated or corrupt results file ({type(e).__name__}: {e})") from None
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise ResultsFileError(f"{path}: not campaign results (missing columns {', '.join(missing)})")
    try:
        df = frame(df)
    except Exception as e:
        raise ResultsFileError(f"{path}: columns of the wrong type ({e})") from None
    runs = df["run"]
    if runs.null_count() or runs.n_unique() != df.height or (df.height and not 0 <= runs.min() <= runs.max() < manifest["n"]):
        raise ResultsFileError(f"{path}: run numbers must be unique and within 0..{manifest['n'] - 1}")
    want = fault_frame(manifest["faults"]).join(df.select("run"), on="run", how="semi")
    got = df.select(want.columns)
    if not got.equals(want):
        differs = pl.any_horizontal([~got[c].eq_missing(want[c]) for c in want.columns])
        bad = got.filter(differs)["run"].to_list()[:5]
        raise ResultsFileError(f"{path}: rows disagree with the manifest's fault list (runs {bad}); "
                               f"the results belong to another campaign")
    return df


def fault_frame(fault_rows: list[dict]) -> pl.DataFrame:
    """The manifest's fault list as the fault columns of the table (run = position in the list)."""
    rows = [{"run": i, **{k: r.get(k) for k in FAULT_FIELDS}} for i, r in enumerate(fault_rows)]
    return pl.DataFrame(rows, schema=FAULT_SCHEMA)


class CampaignResults:
    """A campaign's table (`df`, polars, one row per run in fault order) and its `manifest`.

    `complete` says whether every fault of the manifest has its row; `missing` lists the runs without one.
    """

    def __init__(self, df: pl.DataFrame, manifest: dict, path=None):
        self.df = df
        self.manifest = manifest
        self.path = None if path is None else Path(path)

    @property
    def n(self) -> int:
        return self.manifest["n"]

    @property
    def complete(self) -> bool:
        return self.df.height == self.n

    @property
    def missing(self) -> list[int]:
        have = set(self.df["run"].to_list())
        return [i for i in range(self.n) if i not in have]

    def save(self, directory) -> Path:
        """Write `results.parquet` and `manifest.json` into `directory` (created if needed), atomically."""
        d = Path(directory)
        write_manifest(d, self.manifest)
        write_rows(d, self.df)
        self.path = d
        return d

    @classmethod
    def load(cls, directory) -> "CampaignResults":
        """Read a campaign directory; a missing, truncated or corrupt file raises `ResultsFileError`
        naming it. A campaign that was stopped loads with the rows it wrote (`complete` is False)."""
        m = read_manifest(directory)
        return cls(read_rows(directory, m), m, path=directory)

    def summary(self):
        """Outcome counts, the papers' three categories and recovery success rates with 95% Wilson
        intervals, per fault type (`summary.summarize`)."""
        return summarize(self)

    def counts(self) -> dict[str, int]:
        """Runs per outcome so far."""
        got = dict(self.df.group_by("outcome").len().iter_rows())
        return {k: got.get(k, 0) for k in OUTCOMES if got.get(k, 0)} | {k: v for k, v in got.items() if k not in OUTCOMES}

    def _summary(self):
        from workbench.display.formatting import Summary, Table
        m = self.manifest
        facts = (("target", m["target"]), ("fault types", ", ".join(m.get("fault_types") or [])),
                 ("runs", f"{self.df.height} of {self.n}" + ("" if self.complete else " (incomplete)")),
                 ("recovery", str(m.get("recovery"))), ("seed", str(m.get("seed"))),
                 ("saved in", str(self.path) if self.path else "-"))
        outcomes = Table("outcomes", ("outcome", "runs"), tuple((k, str(v)) for k, v in self.counts().items()))
        return Summary("CampaignResults", facts, (outcomes,))

    def __repr__(self):
        from workbench.display import formatting
        return formatting.render(self._summary())

    def _repr_html_(self):
        from workbench.display import formatting_html
        return formatting_html.render(self._summary())
