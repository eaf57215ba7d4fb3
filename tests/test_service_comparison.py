"""ReHype against the full reboot on the same faults (issue 10, item 6): `analysis.service_comparison`
over two small campaigns with the same seed, read back against their rows."""
from __future__ import annotations

import polars as pl
import pytest

from workbench.analysis import service_comparison
from workbench.campaign import Campaign
from workbench.system import SystemConfig

SMALL = SystemConfig(iterations=(16, 20, 40))


@pytest.fixture(scope="module")
def pair():
    return tuple(Campaign(SMALL, "hv", ("failstop", "reg"), n=4, seed=3, recovery=rec).run("inline", progress=False)
                 for rec in ("rehype", "reboot"))


def test_columns_side_by_side_and_the_rows_agree(pair):
    rehype, reboot = pair
    t = service_comparison(rehype, reboot)
    assert t["fault_type"].to_list()[-1] == "all"
    for lab, r in (("rehype", rehype), ("reboot", reboot)):
        det = r.df.filter(pl.col("detected").is_not_null())
        row = t.filter(pl.col("fault_type") == "all").row(0, named=True)
        assert row[f"runs_{lab}"] == det.height > 0
        assert row[f"recovery_p50_ms_{lab}"] == pytest.approx(det["recovery_latency_ms"].median())
        assert row[f"peer_lost_{lab}"] == det["peer_lost"].sum()
        for i in range(len(SMALL.appvms)):        # each AppVM's longest gap, from its own column
            assert row[f"appvm{i}_gap_max_ms_{lab}"] == pytest.approx(det[f"gap_appvm{i}_ms"].max())
        assert max(row[f"appvm{i}_gap_max_ms_{lab}"] for i in range(len(SMALL.appvms))) == \
            pytest.approx(det["progress_gap_ms"].max())
    allrow = t.filter(pl.col("fault_type") == "all").row(0, named=True)
    # the microreboot resumes in place; the reboot boots everything again
    assert allrow["recovery_p50_ms_rehype"] < allrow["recovery_p50_ms_reboot"]
    assert allrow["latency_ratio"] == pytest.approx(allrow["recovery_p50_ms_reboot"] / allrow["recovery_p50_ms_rehype"])


def test_different_fault_lists_and_bad_arguments_are_refused(pair):
    rehype, _ = pair
    other = Campaign(SMALL, "hv", ("failstop",), n=2, seed=4, recovery="reboot").run("inline", progress=False)
    with pytest.raises(ValueError, match="same fault list"):
        service_comparison(rehype, other)
    with pytest.raises(ValueError, match="runs="):
        service_comparison(rehype, rehype, runs="some")
    with pytest.raises(ValueError, match="labels="):
        service_comparison(rehype, rehype, labels=("a", "a"))
    same = service_comparison(rehype, rehype, labels=("x", "y"))      # one mechanism twice: name them
    assert same["latency_ratio"].drop_nulls().to_list() == pytest.approx([1.0] * same["latency_ratio"].drop_nulls().len())


def test_old_campaign_without_per_appvm_gaps():
    from workbench.analysis.data import REFERENCE_CAMPAIGNS
    from workbench.campaign import CampaignResults
    saved = CampaignResults.load(REFERENCE_CAMPAIGNS / "hv-reboot-200")
    # as a campaign saved before the per-AppVM gap columns existed
    ref = CampaignResults(saved.df.drop([c for c in saved.df.columns if c.startswith("gap_appvm")]), saved.manifest)
    t = service_comparison(ref, ref, labels=("a", "b"))
    assert "gap_max_ms_a" in t.columns and not any(c.startswith("appvm") for c in t.columns)
