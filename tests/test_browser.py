"""The tour as a person sees it (issue 12, item 4): JupyterLab started headless on a loopback port with a
token, Debian's chromium driven by Playwright opens notebooks/01_tour.ipynb, runs every cell, waits for
the kernel, and checks what the page shows: no cell with an error, the four panels rendered, a click
that changes one, figures as <img>. A screenshot is saved in the test's tmp_path.

Needs /usr/bin/chromium (Debian's `chromium`, installed by .ci/run) and the `playwright` package (dev
extras); skipped, saying which is missing, without them. No browser is downloaded.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import secrets
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("MRWB_CHROMIUM", "/usr/bin/chromium")
RUN_TIMEOUT_MS = 240_000          # the tour at its small size runs in well under a minute on this machine
PANELS = ("mrwb-campaign-panel", "mrwb-system-panel", "mrwb-run-explorer", "mrwb-compare-panel")


def _requirements():
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"{CHROMIUM} missing: install Debian's chromium (apt-get install -y chromium; .ci/run does)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("the playwright package is missing: pip install -e '.[dev]' (or pip install playwright)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def lab(tmp_path):
    """A JupyterLab server on a free loopback port serving a copy of the notebooks folder (the browser
    saves the notebook it ran; the repository's copy stays without outputs). Yields (url, token)."""
    _requirements()
    root = tmp_path / "notebooks"
    root.mkdir()
    shutil.copy(ROOT / "notebooks" / "01_tour.ipynb", root / "01_tour.ipynb")
    settings = tmp_path / "lab-settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    # render every cell (JupyterLab 4 otherwise leaves cells outside the viewport out of the DOM)
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    news = tmp_path / "lab-settings" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True)
    # no "get notified about Jupyter news?" toast over the screenshot
    (news / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "MRWB_NOTEBOOK_SMALL": "1", "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "lab-settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "lab-workspaces"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"), "JUPYTER_CONFIG_DIR": str(tmp_path / "config")}
    log = open(tmp_path / "jupyterlab.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
         "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
         "--ServerApp.allow_root=True", "--LabApp.news_url=", "--LabApp.check_for_updates_class="
         "jupyterlab.NeverCheckForUpdate"],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"JupyterLab exited ({proc.returncode}): {(tmp_path / 'jupyterlab.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("JupyterLab did not answer within 90 s")
            time.sleep(0.5)
        yield url, token
    finally:
        proc.terminate()             # the server shuts its kernels down on SIGTERM
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()


def test_tour_runs_in_a_real_browser(lab, tmp_path):
    from playwright.sync_api import sync_playwright
    url, token = lab
    with sync_playwright() as p:
        # --no-sandbox: CI runs as root, where chromium's sandbox refuses to start
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{url}/lab/tree/01_tour.ipynb?token={token}")
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
            indicator = ".jp-Notebook-ExecutionIndicator"
            page.wait_for_selector(f"{indicator}[data-status='idle']", timeout=90_000)   # the kernel started
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=90_000)
            page.click(".jp-Notebook .jp-Cell >> nth=0")           # focus the notebook: Run acts on it
            for attempt in range(3):                  # a click while the session still settles can be lost
                page.click("#jp-MainMenu .lm-MenuBar-itemLabel:text-is('Run')")
                page.click(".lm-Menu-item:has-text('Run All Cells')")
                try:
                    page.wait_for_function(
                        """() => [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]
                                 .some(e => /\\[(\\*|\\d+)\\]/.test(e.textContent))""", timeout=30_000)
                    break
                except Exception:
                    if attempt == 2:
                        raise
            # every code cell gets its execution count; "[*]" while queued or running
            try:
                page.wait_for_function(
                    """() => { const p = [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')];
                               return p.length > 0 && p.every(e => /\\[\\d+\\]/.test(e.textContent)); }""",
                    timeout=RUN_TIMEOUT_MS)
                page.wait_for_selector(f"{indicator}[data-status='idle']", timeout=RUN_TIMEOUT_MS)
            except Exception:
                page.screenshot(path=str(tmp_path / "tour-timeout.png"), full_page=True)   # what it was waiting on
                raise
            page.screenshot(path=str(tmp_path / "tour-after-run.png"), full_page=True)

            errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
            bad = [t for t in errors.all_inner_texts() if "Traceback" in t or re.search(r"\w+Error\b", t)]
            assert not bad, bad[0][:2000]
            assert page.locator(".jp-RenderedText.jp-mod-error, .jp-OutputArea-output.jp-mod-error").count() == 0
            assert page.get_by_text("Error displaying widget").count() == 0

            for cls in PANELS:                                  # each panel's DOM is there
                assert page.locator(f".{cls}").count() == 1, cls
                assert page.locator(f".{cls} button").count() >= 1, cls
            explorer = page.locator(".mrwb-run-explorer")
            before = explorer.inner_text()
            explorer.locator("button:has-text('Next')").click()
            page.wait_for_function(
                "b => document.querySelector('.mrwb-run-explorer').innerText !== b", arg=before, timeout=30_000)
            assert "run 0:" in before and "run 1:" not in before and "run 1:" in explorer.inner_text()

            images = page.locator(".jp-OutputArea-output img")
            assert images.count() >= 4                          # plot_outcomes, fig_outcomes, fig_recovery_rate, compare
            assert page.locator(".jp-OutputArea-output[data-mime-type='image/png'] img").count() >= 3
            assert page.locator(".mrwb-compare-panel img.mrwb-figure").count() == 1
            page.screenshot(path=str(tmp_path / "tour.png"), full_page=True)
        finally:
            browser.close()
    assert (tmp_path / "tour.png").stat().st_size > 10_000
