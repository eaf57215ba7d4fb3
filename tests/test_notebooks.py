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
