"""Campaigns (issue 8, item 5): the same campaign gives the same rows on every executor, a stopped or
killed campaign resumes to the same table, the manifest records what was run."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import polars as pl
import pytest

from workbench.campaign import PAPERS_SIZES, Campaign, CampaignResults
from workbench.system import SystemConfig

ROOT = Path(__file__).resolve().parents[1]
# the default 3AppVM system with short workloads: a run is a few hundred thousand instructions
SMALL = SystemConfig(iterations=(16, 20, 40))
TYPES = ("reg", "code", "mem", "failstop")


def same_rows(a: pl.DataFrame, b: pl.DataFrame) -> bool:
    return a.drop("wall_s").equals(b.drop("wall_s"))


@pytest.fixture(scope="module")
def reference():
    """A 10-run campaign run inline (in this process): the table every other way must reproduce."""
    return Campaign(SMALL, "hv", TYPES, n=10, seed=3).run("inline", progress=False)


def test_table_has_the_columns_and_one_row_per_fault(reference):
    df = reference.df
    assert df.height == 10 and df["run"].to_list() == list(range(10))
    for col in ("run", "target", "fault_type", "at", "reg", "bit", "addr", "outcome", "reason", "detected",
                "detection_latency_ms", "recovery_latency_ms", "instructions", "wall_s"):
        assert col in df.columns
    assert set(df["outcome"]) <= {"masked", "no_effect", "sdc", "undetected_failure", "recovered", "recovery_failed"}
    assert set(df["fault_type"]) <= set(TYPES) and set(df["target"]) == {"hv"}
    assert (df["instructions"] > 0).all()
    faults = pl.DataFrame(reference.manifest["faults"])
    assert df.select(faults.columns).equals(faults.select(df.select(faults.columns).columns).cast(
        df.select(faults.columns).schema))


def test_same_campaign_twice_gives_identical_rows(reference):
    again = Campaign(SMALL, "hv", TYPES, n=10, seed=3)
    assert again.fault_rows == reference.manifest["faults"]
    assert same_rows(again.run("inline", progress=False).df, reference.df)
    other = Campaign(SMALL, "hv", TYPES, n=10, seed=4)
    assert other.fault_rows != reference.manifest["faults"]          # the seed matters


def test_processes_and_dask_give_identical_rows(reference, tmp_path):
    distributed = pytest.importorskip("distributed")
    local = Campaign(SMALL, "hv", TYPES, n=10, seed=3).run("processes", workers=2, progress=False)
    assert same_rows(local.df, reference.df)
    with distributed.LocalCluster(processes=True, n_workers=2, threads_per_worker=1, dashboard_address=None) as cl, \
            distributed.Client(cl) as client:
        dask = Campaign(SMALL, "hv", TYPES, n=10, seed=3).run(client, progress=False)
        # the command line's --scheduler reaches the same cluster
        from workbench.cli import main
        assert main(["campaign", "--iterations", "16,20,40", "--faults", ",".join(TYPES), "-n", "10", "--seed", "3",
                     "--scheduler", cl.scheduler_address, "--out", str(tmp_path / "cli"), "--quiet"]) == 0
    assert same_rows(dask.df, reference.df)
    assert same_rows(CampaignResults.load(tmp_path / "cli").df, reference.df)


def test_stopped_campaign_resumes_to_the_same_table(reference, tmp_path):
    stop = threading.Event()
    seen = []

    def after(done, total, counts):
        seen.append(done)
        if done >= 4:
            stop.set()
    part = Campaign(SMALL, "hv", TYPES, n=10, seed=3).run("inline", progress=False, out=tmp_path, batch=2,
                                                         stop=stop, callback=after)
    assert not part.complete and 4 <= part.df.height < 10
    saved = CampaignResults.load(tmp_path)
    assert saved.df.equals(part.df) and saved.missing == part.missing          # every row received was written
    done = Campaign.resume(tmp_path, "inline", progress=False)
    assert done.complete and same_rows(done.df, reference.df)
    # the rows written before the stop were kept, not run again (their wall times are unchanged)
    assert done.df.filter(pl.col("run").is_in(part.df["run"].to_list())).equals(part.df)
    assert CampaignResults.load(tmp_path).df.equals(done.df)
    again = Campaign.resume(tmp_path, "inline", progress=False)                 # nothing left to run
    assert again.df.equals(done.df)


def test_killed_campaign_resumes_to_the_same_table(reference, tmp_path):
    out = tmp_path / "c"
    cmd = [sys.executable, "-m", "workbench.cli", "campaign", "--iterations", "16,20,40", "--target", "hv",
           "--faults", ",".join(TYPES), "-n", "10", "--seed", "3", "--out", str(out), "--workers", "1",
           "--batch", "1", "--quiet"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while not (out / "results.parquet").exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)         # the campaign and its worker process, at once
        proc.wait()
    assert (out / "manifest.json").exists(), proc.stderr.read().decode()[-2000:]
    before = CampaignResults.load(out)                  # whatever it wrote is whole and readable
    resumed = Campaign.resume(out, "inline", progress=False)
    assert resumed.complete and same_rows(resumed.df, reference.df)
    assert resumed.df.filter(pl.col("run").is_in(before.df["run"].to_list())).equals(before.df)


def test_manifest_records_what_was_run(reference, tmp_path):
    m = reference.manifest
    assert m["n"] == 10 and m["seed"] == 3 and m["target"] == "hv" and m["recovery"] == SMALL.recovery
    assert m["config"]["iterations"] == [16, 20, 40] and m["seeds"]["appvms"] == list(SMALL.appvm_seeds)
    assert set(m["image_hashes"]) == {"hv", "privvm", "dvm", "appvm0", "appvm1", "appvm2"}
    assert all(len(h) == 64 for h in m["image_hashes"].values())
    assert "package_version" in m and "git_commit" in m and len(m["faults"]) == 10
    reference.save(tmp_path)
    back = CampaignResults.load(tmp_path)
    assert back.manifest == m and back.df.equals(reference.df)


def test_out_holding_another_campaign_is_refused(reference, tmp_path):
    reference.save(tmp_path)
    with pytest.raises(FileExistsError, match="another campaign"):
        Campaign(SMALL, "hv", TYPES, n=10, seed=5).run("inline", progress=False, out=tmp_path)


def test_recovery_argument_replaces_the_configuration_s():
    c = Campaign(SMALL, "hv", ("failstop",), n=2, seed=1, recovery="reboot")
    assert c.config.recovery == "reboot" and SMALL.recovery == "halt"
    assert Campaign(SMALL, "hv", ("failstop",), n=2).config.recovery == "halt"


def test_papers_preset_sizes():
    c = Campaign.papers(SMALL)
    assert c.sizes == PAPERS_SIZES == {"failstop": 1000, "reg": 5000, "code": 2000}
    assert c.n == 8000 and c.fault_types == ("failstop", "reg", "code")


def test_sizes_per_fault_type_sample_each_type():
    c = Campaign(SMALL, "hv", n={"failstop": 2, "reg": 3}, seed=1)
    assert [r["fault_type"] for r in c.fault_rows] == ["failstop"] * 2 + ["reg"] * 3


def test_instruction_budget_cuts_runs_the_same_way_inline_and_on_processes(reference, tmp_path):
    budget = 60_000
    c = Campaign(SMALL, "hv", TYPES, n=10, seed=3, instruction_budget=budget)
    inline = c.run("inline", progress=False, out=tmp_path / "b")
    df = inline.df
    cut = df.filter(pl.col("reason") == "workbench_timeout")
    assert cut.height > 0 and set(cut["outcome"]) <= {"undetected_failure", "recovery_failed"}
    assert (cut["instructions"] > budget).all()
    # runs that ended within the budget are the unguarded campaign's rows
    kept = df.filter(pl.col("reason") != "workbench_timeout")["run"].to_list()
    assert same_rows(df.filter(pl.col("run").is_in(kept)), reference.df.filter(pl.col("run").is_in(kept)))
    assert inline.manifest["instruction_budget"] == budget and inline.manifest["wall_budget_s"] is None
    assert reference.manifest["instruction_budget"] is None
    procs = Campaign(SMALL, "hv", TYPES, n=10, seed=3, instruction_budget=budget).run("processes", workers=2,
                                                                                      progress=False)
    assert same_rows(procs.df, df)
    # the manifest carries the guard: a resume runs with it, another guard on the same directory is refused
    assert Campaign.from_manifest(inline.manifest).budgets == {"instruction_budget": budget}
    with pytest.raises(ValueError, match="instruction_budget"):
        Campaign(SMALL, "hv", TYPES, n=10, seed=3).run("inline", progress=False, out=tmp_path / "b")


def test_workers_start_with_the_recorded_golden_profile_only_when_it_is_theirs():
    from workbench.faults.golden import adopt_profile, golden_profile
    from workbench.system import System
    exported = Campaign(SMALL, "hv", TYPES, n=2, seed=3)._golden_export()
    assert "hv" in exported[1].counts and "hv" in exported[1].last_access
    fresh = System(SMALL)
    assert adopt_profile(fresh, exported) and golden_profile(fresh, "hv") is exported[1]
    other = System(SystemConfig(iterations=(16, 20, 41)))
    assert not adopt_profile(other, exported) and golden_profile(other, "hv") is not exported[1]


def test_wall_budget_cuts_a_run():
    c = Campaign(SMALL, "hv", ("reg",), n=2, seed=3, wall_budget_s=1e-6)
    df = c.run("inline", progress=False).df
    assert set(df["reason"]) == {"workbench_timeout"} and c.manifest()["wall_budget_s"] == 1e-6
    assert "wall_budget_s=1e-06" in repr(c)


@pytest.mark.parametrize("kw,field", [({"n": 0}, "n="), ({"n": {"reg": 0}}, "n="), ({"seed": -1}, "seed="),
                                      ({"fault_types": ("reg", "cosmic")}, "cosmic"), ({"target": "hx"}, "target"),
                                      ({"instruction_budget": 0}, "instruction_budget=0"),
                                      ({"instruction_budget": 1.5}, "instruction_budget=1.5"),
                                      ({"wall_budget_s": -1}, "wall_budget_s=-1"),
                                      ({"wall_budget_s": True}, "wall_budget_s=True"),
                                      ({"wall_budget_s": float("nan")}, "wall_budget_s=nan")])
def test_invalid_campaigns_name_the_field(kw, field):
    args = {"config": SMALL, "target": "hv", "fault_types": ("reg",), "n": 2, "seed": 0} | kw
    with pytest.raises(ValueError, match=field):
        Campaign(**args)


def test_invalid_executor_and_workers_name_the_field():
    c = Campaign(SMALL, "hv", ("reg",), n=1)
    with pytest.raises(ValueError, match="executor='threads'"):
        c.run("threads", progress=False)
    with pytest.raises(ValueError, match="workers=0"):
        c.run("processes", workers=0, progress=False)
