"""The notebooks run top to bottom at a small size (papermill injects the parameters)."""
from __future__ import annotations

import json
import re
import os
import shutil
from pathlib import Path

import pytest

papermill = pytest.importorskip("papermill")

ROOT = Path(__file__).resolve().parents[1]


def _run(name, tmp_path, monkeypatch, parameters):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    return papermill.execute_notebook(str(ROOT / "notebooks" / name), str(tmp_path / name), cwd=str(ROOT),
                                      parameters=parameters, kernel_name="python3", progress_bar=False)


def _outputs(nb):
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]


def _text(nb):
    return "\n".join(str(o.get("data", {}).get("text/plain", "")) + str(o.get("text", "")) for o in _outputs(nb))


def test_tour_notebook_runs(tmp_path, monkeypatch):
    nb = _run("01_tour.ipynb", tmp_path, monkeypatch, {"n": 4, "iterations": [16, 20, 40], "executor": "inline"})
    text = _text(nb)
    assert "Campaign summary" in text and "RunReport" in text and "recovery success" in text
    last = {c.source.strip().splitlines()[-1]: c.outputs for c in nb.cells if c.cell_type == "code" and c.source.strip()}
    for panel in ("CampaignPanel(config)", "SystemPanel(system=system)", "RunExplorer(results)",
                  "ComparePanel(reference, results)"):
        assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in last[panel]), panel
    assert sum("image/png" in o.get("data", {}) for o in _outputs(nb)) >= 3


def test_ablation_notebook_runs(tmp_path, monkeypatch):
    nb = _run("02_rehype_ablation.ipynb", tmp_path, monkeypatch,
              {"n": 4, "iterations": [16, 20, 40], "executor": "inline", "steps": ["reset_locks", "hypercall_retry"],
               "saved": "none", "fault_types": ["reg", "failstop"]})
    text = _text(nb)
    for s in ("<Ablation>", "+hypercall_retry", "recovery success", "NextEnhancement", "recovery.c (shared)",
              "DSN 2018", "VEE 2011"):
        assert s in text, s
    assert sum("image/png" in o.get("data", {}) for o in _outputs(nb)) >= 2      # the ladder and the latency CDF


def test_ablation_notebook_reads_the_saved_ablation(tmp_path, monkeypatch):
    if not (ROOT / "data" / "ablations" / "hv-ladder" / "ablation.json").exists():
        pytest.skip("no saved ablation under data/ablations/hv-ladder")
    text = _text(_run("02_rehype_ablation.ipynb", tmp_path, monkeypatch, {"executor": "inline"}))
    assert "read the saved ablation" in text and "+time_continuity" in text and "reboot" in text
    # the goal's campaign at the papers' sizes, read from data/ with its rate over all four fault types
    assert "hv-rehype-papers: code-2000, failstop-1000, mem-2000, reg-5000: 10000 runs" in text
    assert re.search(r"│ all\s+┆ 3578\s+┆", text), text[-3000:]


def test_latency_and_service_notebook_runs(tmp_path, monkeypatch):
    nb = _run("04_latency_and_service.ipynb", tmp_path, monkeypatch,
              {"run_n": 3, "run_recoveries": ["rehype"], "iterations": [16, 20, 40], "executor": "inline"})
    text = _text(nb)
    assert "hv-reboot-200" in text and "hv-halt-200" in text and "hv-rehype-3-new" in text
    assert re.search(r"│ hv\s+┆ rehype\s+┆", text)      # a fresh mechanism's rows join the tables
    assert sum("image/png" in o.get("data", {}) for o in _outputs(nb)) == 4     # latency, 2 CDFs, rate


def test_reproducibility_notebook_reruns_and_prints_the_appendix(tmp_path, monkeypatch):
    # a copy of the reference whose manifest names another hypervisor image: the notebook must say so,
    # still compare the saved runs, and show the reproduction on a campaign it saves itself
    saved = tmp_path / "hv-halt-200"
    shutil.copytree(ROOT / "data" / "campaigns" / "hv-halt-200", saved)
    m = json.loads((saved / "manifest.json").read_text())
    m["image_hashes"]["hv"] = "0" * 64
    (saved / "manifest.json").write_text(json.dumps(m))
    nb = _run("05_reproducibility.ipynb", tmp_path, monkeypatch,
              {"saved": str(saved), "runs": 3, "executor": "inline", "fresh_n": 3, "iterations": [16, 20, 40]})
    text = _text(nb)
    assert "images changed since the campaign ran: hv" in text
    assert "3 runs re-run; 0 differ" in text           # the images did not really change
    assert "identical: every re-run row equals the saved one (except wall_s) for hv, 3 faults" in text
    assert "stack images (sha256):" in text and "git commit" in text and "seeds: campaign 7" in text
    assert "iterations [16, 20, 40]" in text            # the appendix of the campaign saved here


def test_component_microreboot_notebook_runs(tmp_path, monkeypatch):
    # fresh: small DVM and PrivVM campaigns of fail-stop faults (always detected) beside the saved hv ones
    nb = _run("03_component_microreboot.ipynb", tmp_path, monkeypatch,
              {"fresh": True, "n": 3, "fault_types": ["failstop"], "iterations": [16, 20, 40], "executor": "inline",
               "save": str(tmp_path / "saved")})
    text = _text(nb)
    assert "dvm-3-new: target dvm, 3 runs" in text and "privvm-3-new: target privvm, 3 runs" in text
    assert "hv-halt-200: target hv, 200 runs" in text
    assert "│ dvm    ┆ dvm_reboot" in text and "│ privvm ┆ privvm_reboot" in text
    assert "thesis_dvm_privvm" in text and "tr140019_service" in text and "thesis_hv_service" in text
    assert "dvm · dvm_reboot: DVM back serving I/O (recovery latency, max)" in text
    assert "network peer" in text and "AppVM 2 (hcall)" in text
    assert sum("image/png" in o.get("data", {}) for o in _outputs(nb)) == 4     # components, service x2, rate
    assert (tmp_path / "saved" / "dvm-3" / "manifest.json").is_file()
    assert "│ dvm_reboot " in text and "│ privvm_reboot " in text      # complexity per mechanism
