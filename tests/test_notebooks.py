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


def test_ablation_notebook_runs(tmp_path, monkeypatch):
    from workbench.system.config import RECOVERY_IMPLEMENTED
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    out = tmp_path / "ablation.ipynb"
    # until ReHype is merged the ladder runs under reboot: the notebook's plumbing, not ReHype's numbers
    recovery = "rehype" if "rehype" in RECOVERY_IMPLEMENTED else "reboot"
    nb = papermill.execute_notebook(str(ROOT / "notebooks" / "02_rehype_ablation.ipynb"), str(out), cwd=str(ROOT),
                                    parameters={"n": 4, "iterations": [16, 20, 40], "executor": "inline",
                                                "steps": ["reset_locks", "hypercall_retry"], "recovery": recovery,
                                                "saved": "none", "fault_types": ["reg", "failstop"]},
                                    kernel_name="python3", progress_bar=False)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    text = "\n".join(str(o.get("data", {}).get("text/plain", "")) + str(o.get("text", "")) for o in outputs)
    for s in ("<Ablation>", "+hypercall_retry", "recovery success", "NextEnhancement", "recovery.c (shared)",
              "DSN 2018", "VEE 2011"):
        assert s in text, s
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 2      # the ladder and the latency CDF


def test_ablation_notebook_reads_the_saved_ablation(tmp_path, monkeypatch):
    saved = ROOT / "data" / "ablations" / "hv-ladder"
    if not (saved / "ablation.json").exists():
        pytest.skip("no saved ablation under data/ablations/hv-ladder")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    out = tmp_path / "ablation-saved.ipynb"
    nb = papermill.execute_notebook(str(ROOT / "notebooks" / "02_rehype_ablation.ipynb"), str(out), cwd=str(ROOT),
                                    parameters={"executor": "inline"}, kernel_name="python3", progress_bar=False)
    text = "\n".join(str(o.get("data", {}).get("text/plain", "")) + str(o.get("text", ""))
                     for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "read the saved ablation" in text and "+time_continuity" in text and "reboot" in text
