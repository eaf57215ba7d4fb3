"""`CampaignPanel` driven as a user would: set the controls, click Run, watch rows and counts arrive;
click Stop and find the rows written so far kept (issue 8, item 7)."""
from __future__ import annotations

import pytest

pytest.importorskip("ipywidgets")

from workbench.campaign import CampaignResults  # noqa: E402
from workbench.system import SystemConfig  # noqa: E402
from workbench.widgets import CampaignPanel  # noqa: E402

SMALL = SystemConfig(iterations=(16, 20, 40))


def test_run_shows_progress_and_outcome_counts(tmp_path):
    panel = CampaignPanel(SMALL, executor="inline")
    panel.target.value = "hv"
    panel.fault_types.value = ("reg", "failstop")
    panel.n.value = 4
    panel.seed.value = 5
    panel.recovery.value = "reboot"
    panel.run_button.click()
    results = panel.wait(300)
    assert panel.error is None, panel.status.value
    assert results is not None and results.df.height == 4 and results.complete
    assert set(results.df["fault_type"]) <= {"reg", "failstop"} and results.manifest["recovery"] == "reboot"
    assert panel.progress.value == panel.progress.max == 4
    assert panel.status.value.startswith("done: 4 of 4")
    for outcome, k in results.counts().items():
        assert f"{outcome}: <b>{k}</b>" in panel.counts.value
    assert not panel.run_button.disabled and panel.stop_button.disabled
    assert CampaignResults.load(panel.out).df.equals(results.df)


def test_stop_keeps_the_rows_written(tmp_path):
    panel = CampaignPanel(SMALL, executor="inline")
    panel.fault_types.value = ("reg", "code", "failstop")
    panel.n.value = 12
    clicked = []
    progress = panel._on_progress

    def then_stop(done, total, counts):          # the user clicks Stop as soon as rows show up
        progress(done, total, counts)
        if not clicked:
            clicked.append(done)
            panel.stop_button.click()
    panel._on_progress = then_stop
    panel.run(out=tmp_path / "p")
    results = panel.wait(300)
    assert panel.error is None, panel.status.value
    assert clicked and 0 < results.df.height < 12 and not results.complete
    assert panel.status.value.startswith(f"stopped: {results.df.height} of 12")
    assert CampaignResults.load(tmp_path / "p").df.equals(results.df)


def test_invalid_controls_are_reported():
    panel = CampaignPanel(SMALL, executor="inline")
    panel.fault_types.value = ()
    panel.run_button.click()
    assert "invalid" in panel.status.value and "fault_types" in panel.status.value
    assert not panel.run_button.disabled and panel.results is None
    with pytest.raises(ValueError, match="fault_types"):
        panel.run()


# -- issue 12: Resume, the other panels, saved and damaged folders, HTML everywhere --


import polars as pl  # noqa: E402

from workbench.analysis.data import REFERENCE_CAMPAIGNS  # noqa: E402
from workbench.campaign import Campaign  # noqa: E402
from workbench.faults import FailStop  # noqa: E402
from workbench.widgets import ComparePanel, RunExplorer, SystemPanel  # noqa: E402

REF = REFERENCE_CAMPAIGNS / "hv-reboot-200"


def _no_wall(df):
    return df.drop("wall_s")


@pytest.fixture(scope="module")
def small_saved(tmp_path_factory):
    """A small campaign run here and saved (its rows are what this machine computes)."""
    d = tmp_path_factory.mktemp("small") / "c"
    Campaign(SMALL, "hv", ("reg", "failstop"), n=4, seed=11, recovery="reboot").run("inline", progress=False, out=d)
    return d


@pytest.fixture
def corrupt(tmp_path, small_saved):
    """A copy of a campaign folder whose results file was cut in half (a crash mid-copy)."""
    d = tmp_path / "corrupt"
    d.mkdir()
    (d / "manifest.json").write_bytes((small_saved / "manifest.json").read_bytes())
    data = (small_saved / "results.parquet").read_bytes()
    (d / "results.parquet").write_bytes(data[: len(data) // 2])
    return d


def test_stop_then_resume_gives_the_full_identical_table(tmp_path):
    panel = CampaignPanel(SMALL, executor="inline")
    panel.fault_types.value = ("reg", "failstop")
    panel.n.value, panel.seed.value = 6, 9
    panel.folder.value = str(tmp_path / "r")
    clicked = []
    progress = panel._on_progress

    def then_stop(done, total, counts):
        progress(done, total, counts)
        if not clicked:
            clicked.append(done)
            panel.stop_button.click()
    panel._on_progress = then_stop
    panel.run_button.click()
    stopped = panel.wait(300)
    assert panel.error is None, panel.status.value
    assert 0 < stopped.df.height < 6 and not panel.resume_button.disabled
    panel._on_progress = progress
    panel.resume_button.click()
    done = panel.wait(300)
    assert panel.error is None, panel.status.value
    assert done.complete and panel.status.value.startswith("done: 6 of 6") and panel.resume_button.disabled
    whole = Campaign(SMALL, "hv", ("reg", "failstop"), n=6, seed=9, recovery=SMALL.recovery).run("inline", progress=False)
    assert _no_wall(done.df).equals(_no_wall(whole.df))
    assert _no_wall(CampaignResults.load(tmp_path / "r").df).equals(_no_wall(whole.df))
    # the saved folder opened later offers nothing to resume
    again = CampaignPanel(SMALL, executor="inline", results=tmp_path / "r")
    assert again.status.value.startswith("complete: 6 of 6") and again.resume_button.disabled


def test_resume_without_a_folder_is_reported():
    panel = CampaignPanel(SMALL, executor="inline")
    panel.resume_button.click()
    assert "nothing to resume" in panel.status.value
    with pytest.raises(ValueError, match="results folder"):
        panel.resume()


def test_every_panel_shows_a_damaged_folder_error(corrupt):
    want = "truncated or corrupt results file"
    assert want in CampaignPanel(SMALL, executor="inline", results=corrupt).status.value
    explorer = RunExplorer(corrupt)
    assert want in explorer.status.value and explorer.results is None and explorer.rerun_button.disabled
    assert want in SystemPanel(results=corrupt).status.value
    compare = ComparePanel(REF, corrupt)
    assert compare.status.value.startswith("B: ") and want in compare.status.value and compare.figure.value == ""
    missing = RunExplorer()
    missing.folder.value = str(corrupt / "nowhere")
    missing.load_button.click()
    assert "does not exist" in missing.status.value


def test_run_explorer_over_the_saved_reference():
    ex = RunExplorer(REF)
    ref = CampaignResults.load(REF)
    assert len(ex.run.options) == 200 and ex.status.value.startswith("200 of 200 runs")
    ex.outcome.value = "masked"
    masked = ref.df.filter(pl.col("outcome") == "masked")["run"].to_list()
    assert [v for _, v in ex.run.options] == masked and ex.run.value == masked[0]
    assert f"run {masked[0]}: masked" in ex.details.value
    ex.next_button.click()
    assert ex.run.value == masked[1] and f"run {masked[1]}: masked" in ex.details.value
    ex.prev_button.click()
    ex.prev_button.click()                      # stays at the first
    assert ex.run.value == masked[0]
    assert "<table" in ex.table.value and ex.report_html.value == ""


def test_run_explorer_rerun_shows_report_and_timeline(small_saved):
    ex = RunExplorer()
    ex.folder.value = str(small_saved)
    ex.load_button.click()
    saved = CampaignResults.load(small_saved)
    detected = saved.df.filter(pl.col("detected").is_not_null())["run"].to_list()
    ex.run.value = detected[0]
    ex.rerun_button.click()
    assert ex.report is not None, ex.status.value
    assert ex.status.value == f"run {detected[0]} re-run: identical to the saved row (except wall_s)"
    assert "RunReport" in ex.report_html.value and "injected" in ex.report_html.value
    assert ex.figure.value.startswith('<img class="mrwb-figure"')
    row = saved.df.filter(pl.col("run") == detected[0]).row(0, named=True)
    assert ex.report.outcome == row["outcome"] and ex.report.recovery_latency_ms == row["recovery_latency_ms"]
    ex.next_button.click()                      # another run: the old report is cleared
    assert ex.report is None and ex.report_html.value == "" and ex.figure.value == ""


def test_compare_panel_side_by_side(small_saved):
    panel = ComparePanel()
    panel.a.value, panel.b.value = str(REF), str(small_saved)
    panel.compare_button.click()
    assert "Campaign summary" in panel.left.value and "hv-reboot-200" in panel.left.value
    assert "Campaign summary" in panel.right.value and "95% Wilson interval" in panel.right.value
    assert panel.status.value == "A: 200 runs, B: 4 runs"
    papers = panel.figure.value
    assert papers.startswith("<img")
    panel.definition.value = "strict"
    panel.compare_button.click()
    assert panel.figure.value.startswith("<img") and panel.figure.value != papers


def test_system_panel_boots_and_shows_live_views():
    panel = SystemPanel()
    panel.iterations.value = "a,b"
    panel.boot_button.click()
    assert "invalid" in panel.status.value and "iterations" in panel.status.value and panel.system is None
    panel.iterations.value = "16,20,40"
    panel.recovery.value = "reboot"
    panel.boot_button.click()
    s = panel.system
    assert s is not None and s.config == SystemConfig(iterations=(16, 20, 40), recovery="reboot")
    assert panel.status.value.startswith("booted to steady state")
    assert list(panel.view.options)[:3] == ["system", "hypervisor", "PrivVM"]
    assert {"DVM", "AppVM 0", "AppVM 2", "network peer", "domains", "I/O"} <= set(panel.view.options)
    assert panel.shown.value == s._repr_html_()
    panel.view.value = "AppVM 1"
    assert panel.shown.value == s.appvms[1]._repr_html_()
    panel.view.value = "domains"
    assert "<table" in panel.shown.value and "AppVM 2" in panel.shown.value
    # every object a user meets renders as HTML
    objs = [s, s.hv, s.privvm, s.dvm, s.peer, *s.appvms, *s.devices.values(), s.boot_summary,
            s.inject(FailStop(target="hv", at=2_000)),
            CampaignResults.load(REF), CampaignResults.load(REF).summary()]
    for o in objs:
        html = o._repr_html_()
        assert isinstance(html, str) and html.lstrip().startswith("<"), type(o).__name__
    # the boot summary's HTML shows every fact of its summary (the text repr stays the dataclass's)
    from html_text import VisibleText
    v = VisibleText()
    v.feed(s.boot_summary._repr_html_())
    shown = "\n".join(v.parts)
    assert all(fact in shown for fact in s.boot_summary.summary().strings())


def test_system_panel_from_saved_configuration():
    panel = SystemPanel(results=REF)
    m = CampaignResults.load(REF).manifest["config"]
    assert panel.config() == SystemConfig(iterations=tuple(m["iterations"]), recovery=m["recovery"])
    assert panel.system is None and "not booted" in panel.status.value
    panel.enhancements.value = ()                   # basic ReHype
    panel.recovery.value = "rehype"
    assert panel.config().enhancements == () and panel.config().recovery == "rehype"
