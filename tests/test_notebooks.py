"""The notebooks run top to bottom at a small size (papermill injects the parameters)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

papermill = pytest.importorskip("papermill")

ROOT = Path(__file__).resolve().parents[1]


def test_tour_notebook_runs(tmp_path, monkeypatch):
    # the kernel is another Python: it must import this tree's workbench, not an installed one
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    out = tmp_path / "tour.ipynb"
    nb = papermill.execute_notebook(str(ROOT / "notebooks" / "01_tour.ipynb"), str(out), cwd=str(ROOT),
                                    parameters={"n": 4, "iterations": [16, 20, 40], "executor": "inline"},
                                    kernel_name="python3", progress_bar=False)
    text = "\n".join(str(o.get("data", {}).get("text/plain", "")) + str(o.get("text", ""))
                     for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "Campaign summary" in text and "RunReport" in text and "recovery success" in text
    assert any("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code"
               for o in c.get("outputs", []))          # the seaborn figure


def _run(name, tmp_path, monkeypatch, parameters):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    return papermill.execute_notebook(str(ROOT / "notebooks" / name), str(tmp_path / name), cwd=str(ROOT),
                                      parameters=parameters, kernel_name="python3", progress_bar=False)


def _outputs(nb):
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]


def _text(nb):
    return "\n".join(str(o.get("data", {}).get("text/plain", "")) + str(o.get("text", "")) for o in _outputs(nb))


def test_tour_shows_the_panels_and_figures(tmp_path, monkeypatch):
    nb = _run("01_tour.ipynb", tmp_path, monkeypatch, {"n": 4, "iterations": [16, 20, 40], "executor": "inline"})
    last = {c.source.strip().splitlines()[-1]: c.outputs for c in nb.cells if c.cell_type == "code" and c.source.strip()}
    for panel in ("CampaignPanel(config)", "SystemPanel(system=system)", "RunExplorer(results)",
                  "ComparePanel(reference, results)"):
        assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in last[panel]), panel
    assert sum("image/png" in o.get("data", {}) for o in _outputs(nb)) >= 3


def test_latency_and_service_notebook_runs(tmp_path, monkeypatch):
    nb = _run("04_latency_and_service.ipynb", tmp_path, monkeypatch,
              {"run_n": 3, "run_recoveries": ["halt"], "iterations": [16, 20, 40], "executor": "inline"})
    text = _text(nb)
    assert "hv-reboot-200" in text and "hv-halt-3-new" in text
    assert sum("image/png" in o.get("data", {}) for o in _outputs(nb)) == 4     # latency, 2 CDFs, rate


def test_reproducibility_notebook_reruns_and_prints_the_appendix(tmp_path, monkeypatch):
    nb = _run("05_reproducibility.ipynb", tmp_path, monkeypatch,
              {"runs": 3, "executor": "inline", "fresh_n": 3, "iterations": [16, 20, 40]})
    text = _text(nb)
    assert "identical: every re-run row equals the saved one" in text
    assert "stack images (sha256):" in text and "git commit" in text and "seeds: campaign 7" in text
