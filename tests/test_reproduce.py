"""A campaign reproduced from its manifest (workbench/analysis/runs.py): the same rows on this machine
except wall_s, differences named by run and column, one run re-run with its phases, and the appendix."""
from __future__ import annotations

import polars as pl
import pytest

from workbench.analysis import appendix, differences, phases, reproduce, rerun, stack_changed
from workbench.analysis.runs import row_of, same_row
from workbench.campaign import Campaign, CampaignResults
from workbench.system import SystemConfig

SMALL = SystemConfig(iterations=(16, 20, 40), recovery="reboot")


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    d = tmp_path_factory.mktemp("repro") / "c"
    Campaign(SMALL, "hv", ("reg", "code", "failstop"), n=5, seed=4).run("inline", progress=False, out=d)
    return CampaignResults.load(d)


def test_reproduce_gives_identical_rows(saved):
    again = reproduce(saved.path, executor="inline", progress=False)
    assert again.df.height == 5 and differences(saved, again).height == 0
    assert stack_changed(saved) == []
    first = reproduce(saved, executor="inline", progress=False, runs=2)
    assert first.df["run"].to_list() == [0, 1] and differences(saved, first).height == 0
    with pytest.raises(ValueError, match="runs="):
        reproduce(saved, runs=6)


def test_differences_name_run_and_column(saved):
    run, was = saved.df.filter(pl.col("outcome") != "sdc").select("run", "outcome").row(0)
    changed = saved.df.with_columns(pl.when(pl.col("run") == run).then(pl.lit("sdc")).otherwise(pl.col("outcome"))
                                    .alias("outcome"), pl.col("wall_s") * 2)
    d = differences(saved, CampaignResults(changed, saved.manifest))
    assert d.rows() == [(run, "outcome", was, "sdc")]       # wall_s differs everywhere, and is ignored


def test_rerun_one_run_and_its_phases(saved):
    run = saved.df.filter(pl.col("fault_type") == "failstop")["run"][0]
    report = rerun(saved, run)
    assert same_row(report, row_of(saved, run)) == []
    ph = phases(report)
    assert ph["phase"].to_list() == ["fault latent", "recovery", "after recovery"]
    rec = ph.filter(pl.col("phase") == "recovery").row(0, named=True)
    assert rec["end_ms"] - rec["start_ms"] == pytest.approx(report.recovery_latency_ms)
    with pytest.raises(ValueError, match="run="):
        row_of(saved, 99)


def test_appendix_cites_what_the_manifest_records(saved):
    text = appendix(saved)
    m = saved.manifest
    assert f"git commit {m['git_commit']}" in text and "seeds: campaign 4, system 1" in text
    for name, digest in m["image_hashes"].items():
        assert f"{name:8s} {digest}" in text
    assert "numpy " + m["versions"]["numpy"] in text and "target hv, fault types reg, code, failstop, 5 runs" in text
