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
