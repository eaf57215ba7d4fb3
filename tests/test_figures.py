"""The paper's figures (workbench/analysis/figures.py) drawn from real results: the saved reference
campaign (200 hypervisor faults, full reboot) and a small halt campaign run here; each test reads back
what the figure shows (tick labels, bar heights, points, curves, the papers' markers)."""
from __future__ import annotations

import numpy as np
import polars as pl
import pytest

pytest.importorskip("seaborn")

from workbench.analysis import (fig_outcomes, fig_recovery_latency, fig_recovery_rate,  # noqa: E402
                                fig_service_interruption, paper_figures, rows)
from workbench.analysis.data import REFERENCE_CAMPAIGNS, short_citation  # noqa: E402
from workbench.campaign import Campaign, CampaignResults  # noqa: E402
from workbench.campaign.summary import recovery_table  # noqa: E402
from workbench.system import SystemConfig  # noqa: E402

REF = REFERENCE_CAMPAIGNS / "hv-reboot-200"
SMALL = SystemConfig(iterations=(16, 20, 40))


@pytest.fixture(scope="module")
def ref():
    return CampaignResults.load(REF)


@pytest.fixture(scope="module")
def halt():
    """A small campaign with the other implemented mechanism: detected failures halt, nothing recovers."""
    return Campaign(SMALL, "hv", ("failstop", "reg"), n=6, seed=3, recovery="halt").run("inline", progress=False)


@pytest.fixture(scope="module")
def rehype():
    """Fail-stops of the hypervisor microrebooted in place (ReHype): the mechanism the latency figure
    compares with the full reboot."""
    return Campaign(SMALL, "hv", ("failstop",), n=4, seed=3, recovery="rehype").run("inline", progress=False)


def test_latency_and_rates_put_rehype_beside_reboot(ref, rehype):
    fig = fig_recovery_latency([ref, rehype])
    (ax,) = fig.axes
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels[:2] == ["hv · reboot", "hv · rehype"]             # include/recovery_list.h's order
    points = np.concatenate([c.get_offsets() for c in ax.collections if len(c.get_offsets())])
    got = rehype.df["recovery_latency_ms"].drop_nulls()
    assert got.len() and sorted(points[points[:, 0].round() == 1][:, 1]) == pytest.approx(sorted(got.to_list()))
    rate = fig_recovery_rate([ref, rehype])
    assert any(c.get_label().startswith("hv · rehype") for c in rate.axes[0].containers)


def test_rows_add_recovery_and_campaign(ref, halt):
    df = rows({"ref": ref, "small": halt})
    assert df.height == 206 and set(df["recovery"]) == {"reboot", "halt"} and set(df["campaign"]) == {"ref", "small"}
    assert rows(REF)["campaign"].unique().to_list() == ["hv-reboot-200"]     # a folder is loaded
    with pytest.raises(ValueError, match="recovery"):
        rows(ref.df)                         # a bare frame cannot say its mechanism


def test_short_citation_keeps_authors_and_venue():
    assert short_citation("M. Le, Y. Tamir, ReHype: Enabling VM Survival Across Hypervisor Failures, VEE 2011, "
                          "doi 10.1145/1952682.1952692") == "M. Le, Y. Tamir, VEE 2011"
    assert short_citation("D. Zhou, Y. Tamir, DSN 2018; D. Zhou, PhD thesis, UCLA") == "D. Zhou, Y. Tamir, DSN 2018"
    p = paper_figures()
    assert p.filter(pl.col("key") == "dsn18_reg_sdc")["value"].item() == 5.6


def _stacks(ax):
    """{tick label: [segment heights bottom to top]} of a stacked bar chart."""
    labels = [t.get_text() for t in ax.get_xticklabels()]
    out = {lab: [] for lab in labels}
    for p in sorted(ax.patches, key=lambda p: (p.get_x(), p.get_y())):
        out[labels[round(p.get_x() + p.get_width() / 2)]].append(p.get_height())
    return out


def test_outcomes_by_fault_type_with_the_papers_bars(ref):
    fig = fig_outcomes(ref)
    (ax,) = fig.axes
    assert ax.get_title() == "target hv" and ax.get_ylabel() == "share of runs"
    stacks = _stacks(ax)
    assert list(stacks) == ["reg", "reg\n[paper]", "code", "code\n[paper]", "failstop", "failstop\n[paper]", "mem"]
    df = ref.df.filter(pl.col("fault_type") == "reg")
    not_manifested = df.filter(pl.col("outcome").is_in(["masked", "no_effect"])).height / df.height
    assert stacks["reg"][0] == pytest.approx(not_manifested)       # the bottom segment: not manifested
    assert sum(stacks["reg"]) == pytest.approx(1.0)
    assert stacks["reg\n[paper]"][:3] == pytest.approx([0.748, 0.056, 0.0])    # DSN 2018: 74.8% / 5.6% / -
    assert stacks["failstop"][3] == pytest.approx(1.0)             # every fail-stop detected
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "SDC" in legend and any("DSN 2018" in t for t in legend)


def test_outcomes_split_by_recovery_and_full_taxonomy(ref, halt):
    fig = fig_outcomes([ref, halt], by="outcome", paper=False)
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert "reg\nhalt" in labels and "reg\nreboot" in labels and "failstop\nhalt" in labels
    assert not any("[paper]" in lab for lab in labels)
    assert len(fig.axes[0].patches) == len(labels) * 6             # six outcomes stacked per bar
    with pytest.raises(ValueError, match="by="):
        fig_outcomes(ref, by="colour")


def test_recovery_latency_points_and_the_papers_marks(ref, halt):
    fig = fig_recovery_latency([ref, halt])
    (ax,) = fig.axes
    labels = [t.get_text() for t in ax.get_xticklabels()]
    # halt never recovers, so it has no latency to show; the papers' mechanisms have their own columns
    assert labels == ["hv · reboot", "rehype\n[paper]", "nilihype\n[paper]"]
    assert ax.get_ylabel() == "recovery latency (simulated ms)" and ax.get_yscale() == "log"
    points = np.concatenate([c.get_offsets() for c in ax.collections if len(c.get_offsets())])
    want = ref.df["recovery_latency_ms"].drop_nulls()
    assert len(points) == want.len() and sorted(points[:, 1]) == pytest.approx(sorted(want.to_list()))
    marks = {line.get_label(): tuple(line.get_xydata()[0]) for line in ax.lines if "[" not in line.get_label()
             and "Tamir" in line.get_label()}
    assert any("DSN 2018" in k and v == (1.0, 713.0) for k, v in marks.items())
    assert any("TR 140019" in k and v == (1.0, 750.0) for k, v in marks.items())


def test_service_interruption_cdfs(ref, halt):
    fig = fig_service_interruption([ref, halt])
    peer, gaps = fig.axes[:2]
    detected = ref.df.filter(pl.col("detected").is_not_null())
    curves = {line.get_label().split(" (")[0]: line for line in gaps.lines}
    assert set(curves) == {"hv · reboot", "hv · halt"}
    reboot = curves["hv · reboot"]
    assert reboot.get_ydata()[-1] == pytest.approx(1.0)
    assert max(reboot.get_xdata()) == pytest.approx(detected["progress_gap_ms"].max())
    # the peer: a run that lost requests never counts as served, so the curve ends at the share without
    (pcurve,) = [line for line in peer.lines if line.get_label().startswith("hv · reboot")]
    lost = detected.filter(pl.col("peer_lost") > 0).height
    assert 0 < lost and pcurve.get_ydata()[-1] == pytest.approx(1 - lost / detected.height)
    assert f"{100 * lost / detected.height:.0f}% lost requests" in pcurve.get_label()
    served = detected.filter(pl.col("peer_lost") == 0)
    assert max(pcurve.get_xdata()) == pytest.approx(served["peer_worst_latency_us"].max() / 1000)
    vlines = [line for line in peer.lines if "service interruption" in line.get_label()]
    assert sorted(line.get_xdata()[0] for line in vlines) == [22.0, 713.0]
    assert gaps.get_xlabel() == "AppVMs: longest progress gap (ms)"
    all_runs = fig_service_interruption(ref, runs="all", paper=False)
    (c2,) = all_runs.axes[1].lines
    assert max(c2.get_xdata()) == pytest.approx(ref.df["progress_gap_ms"].max())
    assert f"({ref.df.height} runs" in c2.get_label()
    with pytest.raises(ValueError, match="runs="):
        fig_service_interruption(ref, runs="some")


def test_recovery_rate_points_are_the_summary_intervals(ref, halt):
    fig = fig_recovery_rate({"ref": ref, "small": halt}, definition="strict")
    (ax,) = fig.axes
    # the fault types with a detected failure, then all
    detected = ref.df.filter(pl.col("detected").is_not_null())["fault_type"].unique().to_list()
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert sorted(ticks[:-1]) == sorted(detected) and ticks[-1] == "all"
    ours = {c.get_label(): c for c in ax.containers if c.get_label().startswith("hv · reboot")}
    (bars,) = ours.values()
    want = recovery_table(ref.df, ("reg", "code", "mem", "failstop")).filter(pl.col("detected") > 0)
    want = {r["fault_type"]: r for r in want.iter_rows(named=True)}
    xy = bars.lines[0].get_xydata()
    assert list(xy[:, 1]) == pytest.approx([want[t]["strict_pct"] for t in ticks])
    segs = bars.lines[2][0].get_segments()
    assert [s[1][1] for s in segs] == pytest.approx([want[t]["strict_hi"] for t in ticks])  # Wilson upper ends
    labels = [c.get_label() for c in ax.containers]
    assert any(lab.startswith("hv · halt") for lab in labels)
    paper = [c for c in ax.containers if "DSN 2018" in c.get_label()]
    assert paper and sorted(c.lines[0].get_xydata()[0, 1] for c in paper) == [85.2, 92.9, 95.0]   # noVMF rates
    with pytest.raises(ValueError, match="definition="):
        fig_recovery_rate(ref, definition="lenient")


def test_outcomes_one_panel_per_target(ref, halt):
    # the small campaign's rows relabelled as a driver-VM campaign: each target gets its own panel,
    # and the papers' hypervisor shares stand only beside the hypervisor's bars
    dvm = halt.df.with_columns(pl.lit("dvm").alias("target"), pl.lit("halt").alias("recovery"))
    fig = fig_outcomes({"ref": ref, "dvm": dvm})
    hv_ax, dvm_ax = fig.axes
    assert (hv_ax.get_title(), dvm_ax.get_title()) == ("target hv", "target dvm")
    assert [t.get_text() for t in dvm_ax.get_xticklabels()] == ["reg", "failstop"]
    assert sum("[paper]" in t.get_text() for t in hv_ax.get_xticklabels()) == 3
    assert sum(_stacks(dvm_ax)["failstop"]) == pytest.approx(1.0)


def test_timeline_of_a_rerun(ref):
    from workbench.analysis import fig_timeline, phases
    from workbench.faults import FailStop
    from workbench.machine.clock import cycles_to_ms
    from workbench.system import System
    s = System(SystemConfig(iterations=(16, 20, 40), recovery="reboot"))
    s.boot()
    report = s.inject(FailStop(target="hv", at=2_000))
    fig = fig_timeline(report)
    top, bottom = fig.axes
    spans = [c for c in top.collections]
    assert [c.get_label() for c in spans] == phases(report)["phase"].to_list() == \
        ["fault latent", "recovery", "after recovery"]
    assert [t.get_text() for t in bottom.get_xticklabels()] == ["AppVM 0", "AppVM 1", "AppVM 2", "peer worst latency"]
    heights = [p.get_height() for p in bottom.patches]
    assert heights[:3] == pytest.approx(list(report.progress_gap_ms))
    # zoomed on injection -> recovery: the events there are marked; the run's end is named on the axis
    lo, hi = top.get_xlim()
    inside = [lbl for c, lbl in report.events if lo <= cycles_to_ms(c) <= hi]
    assert [t.get_text() for t in top.texts] == [lbl[:48] for lbl in inside]
    assert "rebooted: every AppVM running again" in inside and "health check ok; powered off" not in inside
    assert f"the run goes on to {cycles_to_ms(report.cycles):.1f} ms" in top.get_xlabel()


def test_rehype_phases_split_the_recovery(rehype):
    from workbench.analysis import phases, rerun
    run = rehype.df.filter(pl.col("outcome") == "recovered")["run"][0]
    report = rerun(rehype, run)
    ph = phases(report)
    names = ph["phase"].to_list()
    assert names[0] == "fault latent" and names[-1] == "after recovery"
    assert names[1:-1] == [f"recovery: {p}" for p in report.phases]        # ReHype's own phases, in order
    rec = ph.filter(pl.col("phase").str.starts_with("recovery"))
    assert rec["end_ms"].max() - rec["start_ms"].min() == pytest.approx(report.recovery_latency_ms, abs=1e-4)
