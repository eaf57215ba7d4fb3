"""Microreboot per component (issue 11, item 6): the tables of workbench.analysis.components driven by
small real DVM and PrivVM campaigns, beside the saved hypervisor reference campaign."""
from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from workbench import SystemConfig
from workbench.analysis import beside_papers, component_table, fig_component_service, fig_components, goals, service_table
from workbench.analysis.components import CATEGORIES, causes_text, mechanism_of
from workbench.campaign import Campaign, CampaignResults
from workbench.campaign.stats import wilson

ROOT = Path(__file__).resolve().parents[1]
HV_REF = ROOT / "data" / "campaigns" / "hv-halt-200"
RECOVERY = {"hv": "rehype", "dvm": "dvm_reboot", "privvm": "privvm_reboot"}
SIZES = {"failstop": 6, "reg": 2, "code": 2}       # fail-stop faults are always detected: rows to recover


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    config = SystemConfig(recovery=RECOVERY)
    out = {}
    for target in ("dvm", "privvm"):
        c = Campaign(config, target, n=dict(SIZES), seed=3)
        out[f"{target}-new"] = c.run("processes", workers=2, progress=False,
                                     out=tmp_path_factory.mktemp(target))
    out["hv-halt-200"] = HV_REF
    return out


def test_mechanism_of_reads_the_target_component():
    assert mechanism_of("dvm", "hv=rehype,dvm=dvm_reboot,privvm=privvm_reboot") == "dvm_reboot"
    assert mechanism_of("privvm", "rehype") == "halt"
    assert mechanism_of("hv", "rehype") == "rehype"
    assert mechanism_of("dvm", "dvm_reboot") == "dvm_reboot"
    assert mechanism_of("appvm:1", "rehype") == "-"


def test_component_table_counts_add_up(sources):
    t = component_table(sources)
    keys = [(r["target"], r["mechanism"]) for r in t.iter_rows(named=True)]
    assert keys == [("hv", "halt"), ("privvm", "privvm_reboot"), ("dvm", "dvm_reboot")]     # hv, privvm, dvm
    n = sum(SIZES.values())
    for r in t.iter_rows(named=True):
        assert r["runs"] == (200 if r["target"] == "hv" else n)
        assert sum(r[c] for c in CATEGORIES) == r["runs"]
        assert r["recovered"] + r["recovery_failed"] == r["detected"]
        for d in ("strict", "papers"):
            lo, hi = wilson(r[d], r["detected"])
            assert r[f"{d}_lo"] == pytest.approx(100 * lo) and r[f"{d}_hi"] == pytest.approx(100 * hi)
            assert r[f"{d}_lo"] <= r[f"{d}_pct"] <= r[f"{d}_hi"]
        assert r["strict"] == r["recovered"]           # strict success is "recovered"
        failed = sum(int(part.rsplit(" x", 1)[1]) for part in r["causes"].split("; ") if part)
        assert failed == r["recovery_failed"]
    for target in ("dvm", "privvm"):
        r = t.filter(pl.col("target") == target).row(0, named=True)
        assert r["detected"] > 0 and r["detected_as_other"] <= r["detected"]
        assert r["recovery_p50_ms"] is not None and r["recovery_p50_ms"] <= r["recovery_max_ms"]
    hv = t.filter(pl.col("target") == "hv").row(0, named=True)
    assert hv["recovered"] == 0 and hv["recovery_max_ms"] is None      # halt does not recover
    assert hv["causes"].startswith("other x")


def test_rows_carry_each_appvms_gap_and_the_peers_retransmissions(sources):
    df = sources["dvm-new"].df
    gaps = [f"gap_appvm{i}_ms" for i in range(3)]                                     # blk, net, hcall
    assert df.select(pl.max_horizontal(gaps)).to_series().to_list() == pytest.approx(df["progress_gap_ms"].to_list())
    assert df["peer_retransmissions"].null_count() == 0 and df["peer_longest_gap_us"].null_count() == 0


def test_service_table_per_user(sources):
    s = service_table(sources)
    for target in ("dvm", "privvm"):
        g = s.filter(pl.col("target") == target)
        assert g["seen_by"].to_list() == ["network peer", "AppVM 0 (blk)", "AppVM 1 (net)", "AppVM 2 (hcall)"]
        det = sources[f"{target}-new"].df.filter(pl.col("detected").is_not_null())
        assert set(g["runs"].to_list()) == {det.height}
        peer = g.row(0, named=True)
        assert peer["lost"] == det["peer_lost"].sum() and peer["retransmissions"] == det["peer_retransmissions"].sum()
        assert peer["p50_ms"] <= peer["max_ms"] == pytest.approx(det["peer_worst_latency_us"].max() / 1000)
    hv = s.filter(pl.col("target") == "hv")
    assert hv["seen_by"].to_list() == ["network peer", "AppVM 0 (blk)", "AppVM 1 (net)", "AppVM 2 (hcall)"]
    # a campaign saved before per-AppVM gaps and the peer's retransmissions shows its largest gap only
    old = CampaignResults.load(HV_REF)
    old_df = old.df.drop([c for c in old.df.columns if c.startswith("gap_appvm") or c.startswith("peer_re")])
    o = service_table(old_df.with_columns(pl.lit("halt").alias("recovery")))
    assert o["seen_by"].to_list() == ["network peer", "AppVMs (largest)"] and o["retransmissions"].to_list() == [None, None]
    rows_only = service_table(sources["dvm-new"].df.with_columns(pl.lit("dvm=dvm_reboot").alias("recovery")))
    assert rows_only["seen_by"].to_list()[1:] == ["AppVM 0", "AppVM 1", "AppVM 2"]     # no manifest: no workloads
    every = service_table(sources, runs="all").filter(pl.col("target") == "dvm")
    assert set(every["runs"].to_list()) == {sum(SIZES.values())}
    with pytest.raises(ValueError, match="runs="):
        service_table(sources, runs="some")


def test_goals_and_papers(sources):
    t = component_table(sources)
    g = goals(sources)
    assert set(g["target"].to_list()) == {"dvm", "privvm"}
    assert g.filter(pl.col("goal") == "detected failures recovered").height == 2
    dvm_back = g.filter(pl.col("goal").str.starts_with("DVM back")).row(0, named=True)
    mx = t.filter(pl.col("target") == "dvm")["recovery_max_ms"][0]
    assert dvm_back["value"] == f"{mx:.2f} ms" and dvm_back["met"] == (mx <= 50)
    for r in g.filter(pl.col("goal") == "detected failures recovered").iter_rows(named=True):
        row = t.filter(pl.col("target") == r["target"]).row(0, named=True)
        assert r["met"] == (row["papers_pct"] >= 96)
        assert r["certain"] == (row["papers_lo"] >= 96 or row["papers_hi"] < 96)
    p = beside_papers(sources)
    assert sorted(p["key"].to_list()) == ["thesis_dvm_privvm", "thesis_hv_service", "tr140019_service"]
    dp = p.filter(pl.col("key") == "thesis_dvm_privvm").row(0, named=True)
    assert dp["published_pct"] == 96 and "thesis" in dp["citation"]
    assert dp["our_detected"] == t.filter(pl.col("target").is_in(["dvm", "privvm"]))["detected"].sum()
    hv = p.filter(pl.col("key") == "thesis_hv_service").row(0, named=True)
    assert hv["our_detected"] == 0 and hv["our_pct"] is None          # halt's rows are no microreboot


def test_causes_text_orders_by_count():
    df = pl.DataFrame({"outcome": ["recovery_failed"] * 3 + ["recovered"], "cause": ["b", "a", "b", None]})
    assert causes_text(df) == "b x2; a x1"
    assert causes_text(df.filter(pl.col("outcome") == "recovered")) == ""


def test_component_figures(sources):
    fig = fig_components(sources)
    left = fig.axes[0]
    assert [t.get_text() for t in left.get_xticklabels()] == ["hv · halt", "privvm · privvm_reboot", "dvm · dvm_reboot"]
    labels = " ".join(fig.legends[0].texts[i].get_text() for i in range(len(fig.legends[0].texts)))
    assert "PhD thesis" in labels and "TR 140019" in labels and "96%" in labels
    fig = fig_component_service(sources)
    assert len([a for a in fig.axes if a.get_title()]) == 3
    with pytest.raises(ValueError, match="runs="):
        fig_component_service(sources, runs="x")
