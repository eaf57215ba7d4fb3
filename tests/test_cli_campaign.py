"""`mrwb campaign`, `resume`, `report`, `run`, `demo` and `bench campaign` run and say what they did
(issue 8, item 6). Small workloads and a handful of faults keep them quick."""
from __future__ import annotations

import pytest

from workbench.campaign import CampaignResults
from workbench.cli import main

SYS = ["--iterations", "16,20,40"]


def test_campaign_report_and_resume(tmp_path, capsys):
    out = tmp_path / "c"
    rc = main(["campaign", *SYS, "--target", "hv", "--faults", "reg,code,mem,failstop", "-n", "6", "--seed", "7",
               "--recovery", "reboot", "--out", str(out), "--workers", "1", "--quiet"])
    text = capsys.readouterr().out
    assert rc == 0 and "Campaign summary" in text and f"results: {out} (complete" in text
    r = CampaignResults.load(out)
    assert r.complete and r.manifest["recovery"] == "reboot" and r.manifest["seed"] == 7
    assert main(["report", str(out)]) == 0
    report = capsys.readouterr().out
    assert "recovery success over detected failures" in report and "runs       : 6 of 6" in report
    assert main(["resume", str(out), "--workers", "1", "--quiet"]) == 0          # nothing missing: same table
    assert CampaignResults.load(out).df.equals(r.df)


def test_campaign_guard_flags_reach_the_runs(tmp_path, capsys):
    out = tmp_path / "c"
    assert main(["campaign", *SYS, "--faults", "reg", "-n", "2", "--seed", "3", "--instruction-budget", "20000",
                 "--out", str(out), "--workers", "1", "--quiet"]) == 0
    r = CampaignResults.load(out)
    assert r.manifest["instruction_budget"] == 20000 and set(r.df["reason"]) == {"workbench_timeout"}
    assert main(["campaign", *SYS, "--faults", "reg", "-n", "2", "--wall-budget", "0", "--quiet"]) == 2
    assert "wall_budget_s=0.0" in capsys.readouterr().err


def test_report_of_a_damaged_campaign_names_the_file(tmp_path, capsys):
    out = tmp_path / "c"
    assert main(["campaign", *SYS, "--faults", "failstop", "-n", "2", "--out", str(out), "--workers", "1",
                 "--quiet"]) == 0
    p = out / "results.parquet"
    p.write_bytes(p.read_bytes()[:100])
    capsys.readouterr()
    assert main(["report", str(out)]) == 2
    err = capsys.readouterr().err
    assert "results.parquet: truncated or corrupt" in err


def test_bad_arguments_name_the_field(tmp_path, capsys):
    assert main(["campaign", *SYS, "--faults", "reg,cosmic", "-n", "2", "--quiet"]) == 2
    assert "cosmic" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["campaign", "--window", "x"])


def test_run_prints_the_report_and_timeline(capsys):
    assert main(["run", *SYS, "--target", "hv", "--fault", "failstop", "--at", "500"]) == 0
    text = capsys.readouterr().out
    assert "RunReport" in text and "timeline" in text and "failstop fault in hv" in text


def test_run_register_flip(capsys):
    assert main(["run", *SYS, "--target", "hv", "--fault", "reg", "--at", "300", "--reg", "a0", "--bit", "3"]) == 0
    assert "reg fault in hv" in capsys.readouterr().out


def test_demo_runs_a_campaign_and_says_where_it_saved_it(tmp_path, capsys):
    assert main(["demo", *SYS, "-n", "4", "--workers", "1", "--out", str(tmp_path / "d")]) == 0
    text = capsys.readouterr().out
    assert "Campaign summary" in text and f"saved in {tmp_path / 'd'}" in text
    r = CampaignResults.load(tmp_path / "d")
    assert r.complete and r.manifest["recovery"] == "rehype"   # the demo recovers by microreboot by default


def test_bench_campaign_prints_its_figures(capsys):
    from workbench.bench.campaign import campaign
    from workbench.system import SystemConfig
    figures = campaign(n=4, workers=1, config=SystemConfig(iterations=(16, 20, 40)))
    text = capsys.readouterr().out
    for phrase in ("runs per second", "stopped early", "mean simulated instructions per run", "restore", "CPU time",
                   "where a run's CPU time goes"):
        assert phrase in text
    parts = figures["breakdown"]
    assert parts["runs"] == 1 and parts["ms"]["simulation"] > 0 and 0 < parts["simulated"] <= parts["instructions"]
    assert figures["cpu_s"] > 0 and figures["runs_per_s_cpu"] > 0
    assert figures["runs_per_s"] > 0 and 0 <= figures["early_share"] <= 1 and figures["restore_ms"] >= 0
