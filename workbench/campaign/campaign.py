"""`Campaign`: a fault list sampled once from a seed, run on local processes or a Dask cluster, its rows
written in atomic batches so a stopped or killed campaign resumes to the same table (DESIGN 7)."""
from __future__ import annotations

import dataclasses
import hashlib
import math
import threading
import time
from collections import Counter
from pathlib import Path

from workbench.campaign import executors, results as store
from workbench.campaign.manifest import config_from_dict, image_hashes, manifest
from workbench.campaign.results import CampaignResults
from workbench.campaign.worker import system_for
from workbench.system import SystemConfig

# The papers' campaign sizes (Zhou & Tamir, DSN 2018), each giving a 95% interval within +-2%.
PAPERS_SIZES = {"failstop": 1000, "reg": 5000, "code": 2000}
FLUSH_SECONDS = 5.0      # write a batch at least this often while runs arrive


def type_seed(seed: int, fault_type: str) -> int:
    """Seed of one fault type's sample when sizes are given per type (stable across versions)."""
    return int.from_bytes(hashlib.sha256(f"mrwb-campaign:{seed}:{fault_type}".encode()).digest()[:4], "little")


class Campaign:
    """`n` faults of `fault_types` in `target`, sampled once from `seed` (`FaultSpace.sample`), run against
    `config` with its recovery and enhancements (or `recovery` / `enhancements`, which replace them). `n`
    may also map each fault type to its own count, as the papers' campaigns do (`Campaign.papers`).

    `wall_budget_s` / `instruction_budget`: the workbench's per-run guard (`run_fault`), so one run cannot
    stall the campaign: a run past either is cut and recorded with reason `workbench_timeout`. None: no
    guard. An instruction budget is deterministic; a wall-clock budget depends on the machine's load."""

    def __init__(self, config: SystemConfig | None = None, target: str = "hv",
                 fault_types=("reg", "code", "failstop"), n: int | dict = 100, seed: int = 0,
                 recovery: str | None = None, window=None, enhancements=None, wall_budget_s: float | None = None,
                 instruction_budget: int | None = None):
        config = SystemConfig() if config is None else config
        if not isinstance(config, SystemConfig):
            raise TypeError(f"config must be a SystemConfig, got {type(config).__name__}")
        if recovery is not None:
            config = dataclasses.replace(config, recovery=recovery)
        if enhancements is not None:
            config = dataclasses.replace(config, enhancements=enhancements)
        self.config = config
        if isinstance(fault_types, str):
            fault_types = tuple(t.strip() for t in fault_types.split(",") if t.strip())
        if isinstance(n, dict):
            if not n or not all(isinstance(k, str) and _posint(v) for k, v in n.items()):
                raise ValueError(f"n={n!r} is invalid: allowed a positive int or {{fault type: positive int}}")
            fault_types = tuple(n)
            self.sizes = dict(n)
        elif _posint(n):
            self.sizes = int(n)
        else:
            raise ValueError(f"n={n!r} is invalid: allowed a positive int or {{fault type: positive int}}")
        if not isinstance(fault_types, (tuple, list)) or not fault_types:
            raise ValueError(f"fault_types={fault_types!r} is invalid: allowed a non-empty tuple of fault types")
        if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 1 << 32:
            raise ValueError(f"seed={seed!r} is invalid: allowed an int 0..2**32-1")
        self.target, self.fault_types, self.seed, self.window = target, tuple(fault_types), seed, window
        self.wall_budget_s, self.instruction_budget = check_budgets(wall_budget_s, instruction_budget)
        self._fault_rows: list[dict] | None = None
        self.given = False           # True: the fault list was given (`of_faults`), not sampled from `seed`
        self.label = f"campaign {target}"      # the progress bar's title
        self._check_space()

    @classmethod
    def papers(cls, config: SystemConfig | None = None, target: str = "hv", seed: int = 0,
               recovery: str | None = None, window=None, enhancements=None, **budgets) -> "Campaign":
        """The papers' campaign sizes: 1,000 fail-stop, 5,000 register and 2,000 code faults."""
        return cls(config, target, n=dict(PAPERS_SIZES), seed=seed, recovery=recovery, window=window,
                   enhancements=enhancements, **budgets)

    @classmethod
    def of_faults(cls, config: SystemConfig | None, faults, recovery: str | None = None, enhancements=None,
                  seed: int = 0, **budgets) -> "Campaign":
        """A campaign of a given fault list (`Fault` objects or their rows), run in that order; the
        manifest records the list and `faults_given: true`. All faults must be in one target. `seed` is
        only recorded (say, the seed the list was sampled with). Resumes like any campaign."""
        from workbench.faults import Fault, fault_from_row
        if isinstance(faults, (str, bytes, dict)) or not hasattr(faults, "__iter__"):
            raise ValueError(f"faults={faults!r} is invalid: allowed a non-empty list of Fault objects or fault rows")
        rows = []
        for i, f in enumerate(faults):
            if isinstance(f, dict):
                try:
                    f = fault_from_row(f)
                except (ValueError, TypeError, KeyError) as e:
                    raise ValueError(f"faults[{i}]={f!r} is invalid: {e}") from None
            if not isinstance(f, Fault):
                raise ValueError(f"faults[{i}]={f!r} is invalid: allowed a Fault or a fault row (Fault.row())")
            rows.append(f.row())
        if not rows:
            raise ValueError("faults=[] is invalid: allowed a non-empty list of Fault objects or fault rows")
        targets = sorted({r["target"] for r in rows})
        if len(targets) != 1:
            raise ValueError(f"faults are in targets {targets}: allowed faults of one target per campaign")
        types = tuple(dict.fromkeys(r["fault_type"] for r in rows))     # first-seen order
        c = cls(config, targets[0], types, n=len(rows), seed=seed, recovery=recovery, enhancements=enhancements,
                **budgets)
        c._fault_rows, c.given = rows, True
        return c

    def _spaces(self):
        from workbench.faults import FaultSpace
        if isinstance(self.sizes, dict):
            return [(FaultSpace(self.target, (t,), window=self.window), k, type_seed(self.seed, t))
                    for t, k in self.sizes.items()]
        return [(FaultSpace(self.target, self.fault_types, window=self.window), self.sizes, self.seed)]

    def _check_space(self):
        self._spaces()          # FaultSpace validates target, fault types and window (ValueError naming them)

    # -- the fault list --

    @property
    def system(self):
        """This process's booted System of the configuration (sampling, manifests, inline runs)."""
        return system_for(self.config)

    @property
    def fault_rows(self) -> list[dict]:
        """The fault list as rows (`Fault.row()`), sampled on first use and fixed from then on."""
        if self._fault_rows is None:
            rows = []
            for space, k, seed in self._spaces():
                rows += [f.row() for f in space.sample(self.system, k, seed)]
            self._fault_rows = rows
        return self._fault_rows

    @property
    def faults(self) -> list:
        from workbench.faults import fault_from_row
        return [fault_from_row(r) for r in self.fault_rows]

    @property
    def budgets(self) -> dict:
        """The per-run guard as `run_fault` keywords (only the ones set)."""
        return {k: v for k, v in (("wall_budget_s", self.wall_budget_s),
                                  ("instruction_budget", self.instruction_budget)) if v is not None}

    @property
    def n(self) -> int:
        return sum(self.sizes.values()) if isinstance(self.sizes, dict) else self.sizes

    def manifest(self) -> dict:
        return manifest(self, self.system)

    def __repr__(self):
        sizes = self.sizes if isinstance(self.sizes, int) else ", ".join(f"{t} {k}" for t, k in self.sizes.items())
        return (f"Campaign(target={self.target!r}, fault_types={self.fault_types}, n={sizes}, seed={self.seed}, "
                f"recovery={self.config.recovery_spec!r}"
                + "".join(f", {k}={v!r}" for k, v in self.budgets.items()) + ")")

    # -- running --

    def run(self, executor="processes", workers: int | None = None, progress: bool = True, out=None, *,
            batch: int | None = None, stop: threading.Event | None = None, callback=None) -> CampaignResults:
        """Run every fault not yet in `out` (all of them without `out`) and return the results.

        executor: "processes" (a local pool of `workers` processes, default all cores), "inline" (this
        process) or a `distributed.Client`. Each worker boots one System and reuses its snapshot.
        out: a directory; the manifest is written first, then the rows in atomic batches of `batch` runs
        (or every few seconds), so a campaign stopped or killed loses at most the batch in progress.
        An `out` that already holds this campaign is continued (`Campaign.resume`).
        stop: an Event; when set, runs not yet started are cancelled and the results so far returned.
        callback(done, total, counts): called in this thread after each chunk of runs.
        """
        executors.check_executor(executor, workers)
        if batch is not None and not _posint(batch):
            raise ValueError(f"batch={batch!r} is invalid: allowed None or a positive int")
        info = self.manifest()
        done = self._open(Path(out), info) if out is not None else store.concat([])
        have = set(done["run"].to_list())
        pending = [(i, r) for i, r in enumerate(self.fault_rows) if i not in have]
        nworkers = 1 if executor == "inline" else (
            len(executor.scheduler_info()["workers"]) if executors.is_dask_client(executor)
            else workers or executors.default_workers())
        size = max(1, min(8, math.ceil(len(pending) / (max(1, nworkers) * 4))))
        chunks = [pending[i:i + size] for i in range(0, len(pending), size)]
        batch = batch or max(20, 2 * size * nworkers)

        table, unwritten = done, []       # rows merged into the table (and written, with `out`); rows not yet
        counts = Counter(done["outcome"].to_list())
        last_write = time.monotonic()
        bar = None
        if progress:
            from tqdm.auto import tqdm
            bar = tqdm(total=self.n, initial=done.height, unit="run", desc=self.label,
                       smoothing=0.1)

        def merge():
            nonlocal table, last_write
            if unwritten:
                table = store.concat([table, store.frame(unwritten)])
                unwritten.clear()
                if out is not None:
                    store.write_rows(Path(out), table)
            last_write = time.monotonic()

        def on_rows(rows):
            unwritten.extend(rows)
            counts.update(r["outcome"] for r in rows)
            if out is not None and (len(unwritten) >= batch or time.monotonic() - last_write >= FLUSH_SECONDS):
                merge()
            if bar is not None:
                bar.update(len(rows))
                bar.set_postfix_str(" ".join(f"{k} {counts[k]}" for k in store.OUTCOMES if counts[k]), refresh=False)
            if callback is not None:
                callback(table.height + len(unwritten), self.n, dict(counts))

        try:
            executors.execute(executor, workers, (self.config, self.budgets), chunks, on_rows,
                              (lambda: stop.is_set()) if stop is not None else (lambda: False),
                              golden=self._golden_export)
        finally:
            merge()                      # whatever happens (stop, error, Ctrl-C), rows received are kept
            if bar is not None:
                bar.close()
        return CampaignResults(table, info, path=out)

    def _golden_export(self):
        """The golden profile this process recorded for sampling (plus the last-access pass memory flips
        use), for local workers to start with instead of recording it again each."""
        from workbench.faults.golden import export_profile
        types = set(self.sizes) if isinstance(self.sizes, dict) else set(self.fault_types)
        return export_profile(self.system, self.target, last_access="mem" in types)

    def _open(self, out: Path, info: dict):
        """Start `out` (write the manifest) or, if it holds this same campaign, return its rows so far."""
        if (out / store.MANIFEST).exists():
            old = store.read_manifest(out)
            same = ("faults", "config", "target", "n")
            if any(old[k] != info[k] for k in same):
                raise FileExistsError(f"{out} holds another campaign ({old['target']}, n={old['n']}); "
                                      f"choose a new directory, or Campaign.resume({str(out)!r}) to finish it")
            for k in BUDGETS:
                if old.get(k) != info.get(k):
                    raise ValueError(f"{out} was run with {k}={old.get(k)!r}, not {info.get(k)!r}: a different guard "
                                     f"would cut other runs; use Campaign.resume({str(out)!r}) to finish it as started")
            _check_images(out, old, info)
            return store.read_rows(out, old)
        if (out / store.RESULTS).exists():
            raise FileExistsError(f"{out / store.RESULTS} exists without a manifest; choose a new directory")
        store.write_manifest(out, info)
        return store.concat([])

    @classmethod
    def from_manifest(cls, info: dict) -> "Campaign":
        sizes = info.get("sizes") or info["n"]
        c = cls(config_from_dict(info["config"]), info["target"], tuple(info.get("fault_types") or ()) or ("reg",),
                n=sizes, seed=info.get("seed", 0), window=info.get("window"),
                **{k: info[k] for k in BUDGETS if info.get(k) is not None})
        c._fault_rows = [dict(r) for r in info["faults"]]
        c.given = bool(info.get("faults_given", False))
        return c

    @classmethod
    def resume(cls, directory, executor="processes", workers: int | None = None, progress: bool = True,
               **kw) -> CampaignResults:
        """Finish the campaign in `directory`: run only the faults its results lack, with the fault list
        its manifest recorded, and return the whole table."""
        info = store.read_manifest(directory)
        return cls.from_manifest(info).run(executor, workers, progress, out=directory, **kw)


def _check_images(out: Path, old: dict, now: dict):
    if old.get("image_hashes") != now["image_hashes"]:
        changed = sorted(k for k in set(old.get("image_hashes", {})) | set(now["image_hashes"])
                         if old.get("image_hashes", {}).get(k) != now["image_hashes"].get(k))
        raise ValueError(f"{out}: the stack images changed since the campaign started ({', '.join(changed)}); "
                         f"resuming would mix two versions in one table")


BUDGETS = ("wall_budget_s", "instruction_budget")


def check_budgets(wall_budget_s, instruction_budget):
    """The per-run guard's two fields, validated (ValueError naming the field)."""
    if wall_budget_s is not None and (isinstance(wall_budget_s, bool) or not isinstance(wall_budget_s, (int, float))
                                      or not 0 < wall_budget_s < float("inf")):
        raise ValueError(f"wall_budget_s={wall_budget_s!r} is invalid: allowed None or a positive number of seconds")
    if instruction_budget is not None and not _posint(instruction_budget):
        raise ValueError(f"instruction_budget={instruction_budget!r} is invalid: allowed None or a positive int "
                         f"(simulated instructions per run)")
    return (None if wall_budget_s is None else float(wall_budget_s)), instruction_budget


def _posint(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v > 0


__all__ = ["Campaign", "PAPERS_SIZES", "image_hashes"]
