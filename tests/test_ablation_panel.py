"""`AblationPanel` driven as a user would (issue 10 item 7, issue 12 item 1): pick steps and faults,
click Run, watch the table fill step by step, click Stop, Load a saved folder (or a damaged one).

Until ReHype is merged the panel's ladder runs under `reboot` (plumbing only)."""
from __future__ import annotations

import json

import pytest

pytest.importorskip("ipywidgets")

from html_text import VisibleText  # noqa: E402

from workbench.analysis import Ablation  # noqa: E402
from workbench.system import SystemConfig  # noqa: E402
from workbench.widgets import AblationPanel  # noqa: E402

SMALL = SystemConfig(iterations=(16, 20, 40))


def visible(html: str) -> str:
    v = VisibleText()
    v.feed(html)
    return "\n".join(v.parts)


def panel(**kw) -> AblationPanel:
    p = AblationPanel(SMALL, executor="inline", recovery="reboot", **kw)
    p.steps.value = ("ack_irqs", "reset_locks")          # any order: the ladder takes the papers' order
    p.baseline.value = "halt"
    p.fault_types.value = ("reg", "failstop")
    p.n.value = 4
    p.seed.value = 5
    return p


def test_run_fills_the_table_step_by_step_and_draws_the_figure(tmp_path):
    p = panel()
    tables, statuses = [], []
    on_step, on_runs = p._on_step, p._on_runs
    p._on_step = lambda partial: (on_step(partial), tables.append(visible(p.table.value)))
    p._on_runs = lambda *a: (on_runs(*a), statuses.append(p.status.value))
    p.run(out=tmp_path / "a")
    result = p.wait(300)
    assert p.error is None, p.status.value
    assert p.ladder_steps() == ["reset_locks", "ack_irqs"]
    assert [s.name for s in result.steps] == ["basic", "+reset_locks", "+ack_irqs", "halt"] and result.complete
    assert len(tables) == 4                                   # the table was shown after each step
    assert statuses[0].startswith("step 1 of 4: basic,") and statuses[-1].startswith("step 4 of 4: halt, ")
    assert [t.split("steps run")[1].split()[:3] for t in tables] == [[f"{k}", "of", "4"] for k in (1, 2, 3, 4)]
    assert "(incomplete)" in tables[0] and "(incomplete)" not in tables[3]
    assert p.status.value.startswith("done: 4 of 4 steps")
    assert p.figure.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert not p.run_button.disabled and p.stop_button.disabled
    assert result.table.equals(Ablation.load(tmp_path / "a").table)
    assert result.plan["faults"] and len(result.plan["faults"]) == 4 and result.plan["seed"] == 5


def test_stop_keeps_the_steps_done_and_load_shows_them(tmp_path):
    p = panel()
    on_step = p._on_step

    def then_stop(partial):                                   # the user clicks Stop when the first step ends
        on_step(partial)
        p.stop_button.click()
    p._on_step = then_stop
    p.run(out=tmp_path / "s")
    result = p.wait(300)
    assert p.error is None, p.status.value
    assert list(result.results) == ["basic"] and not result.complete
    assert p.status.value.startswith("stopped: 1 of 4 steps")
    other = panel()
    other.folder.value = str(tmp_path / "s")
    other.load_button.click()
    assert other.status.value.startswith("loaded: 1 of 4 steps") and "incomplete" in other.status.value
    assert other.ablation.table.equals(result.table) and "basic" in visible(other.table.value)


def test_a_damaged_folder_is_reported_not_raised(tmp_path):
    p = panel()
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "ablation.json").write_text("{not json")
    p.folder.value = str(tmp_path / "bad")
    p.load_button.click()
    assert "cannot load" in p.status.value and "ablation.json" in p.status.value and p.ablation is None
    p.folder.value = str(tmp_path / "nowhere")
    p.load_button.click()
    assert "cannot load" in p.status.value and "does not exist" in p.status.value
    (tmp_path / "bad" / "ablation.json").write_text(json.dumps({"format": 1}))
    assert p.load(tmp_path / "bad") is None and "missing" in p.status.value


def test_invalid_controls_are_reported():
    p = panel()
    p.fault_types.value = ()
    p.run_button.click()
    assert "invalid" in p.status.value and "fault_types" in p.status.value
    assert not p.run_button.disabled and p.ablation is None
