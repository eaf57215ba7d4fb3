"""`CampaignPanel`: choose a fault space, run it, watch outcomes arrive; a thin face over `Campaign`.

Every control maps to one argument of `Campaign(...)` / `Campaign.run(...)`; the panel holds no logic
of its own. Runs go to a results folder (`panel.out`: the `folder` field, or a new temporary one), so
Stop keeps every row already written and Resume (`Campaign.resume`) finishes the campaign.
"""
from __future__ import annotations

import tempfile
import threading
from html import escape

from workbench.campaign import OUTCOMES, Campaign, CampaignResults
from workbench.system import SystemConfig
from workbench.system.config import RECOVERY_IMPLEMENTED
from workbench.widgets.common import LOAD_ERRORS, error_html, open_results

FAULT_TYPES = ("reg", "code", "mem", "failstop")
COLORS = {"masked": "#0173b2", "no_effect": "#56b4e9", "sdc": "#de8f05", "undetected_failure": "#cc78bc",
          "recovered": "#029e73", "recovery_failed": "#d55e00"}


def targets(config: SystemConfig) -> list[str]:
    return ["hv", "privvm"] + (["dvm"] if config.dvm else []) + [f"appvm:{i}" for i in range(len(config.appvms))]


def counts_html(counts: dict) -> str:
    """Runs per outcome as a row of labelled bars (the panel's live outcome chart)."""
    order = [k for k in OUTCOMES if counts.get(k)] + sorted(k for k in counts if k not in OUTCOMES)
    total = sum(counts.values()) or 1
    bars = "".join(f'<div title="{escape(k)}" style="background:{COLORS.get(k, "#999")};width:{100 * counts[k] / total:.2f}%;'
                   f'height:12px;display:inline-block"></div>' for k in order)
    labels = " ".join(f'<span class="mrwb-count">{escape(k)}: <b>{counts[k]}</b></span>' for k in order)
    return f'<div class="mrwb-counts"><div style="width:100%;white-space:nowrap">{bars}</div>{labels}</div>'


class CampaignPanel:
    """Target, fault types, n, seed, recovery, results folder; Run, Stop and Resume; live progress and
    outcome counts. `CampaignPanel(results="dir")` opens a saved campaign (no simulation runs until
    Resume or Run). executor/workers: as `Campaign.run`. `results`: the last campaign's results."""

    def __init__(self, config: SystemConfig | None = None, executor="processes", workers: int | None = None,
                 results=None):
        import ipywidgets as w
        self.config = config or SystemConfig()
        self.executor, self.workers = executor, workers
        self.target = w.Dropdown(options=targets(self.config), value="hv", description="target")
        self.fault_types = w.SelectMultiple(options=FAULT_TYPES, value=("reg", "code", "failstop"),
                                            description="faults", rows=len(FAULT_TYPES))
        self.n = w.BoundedIntText(value=20, min=1, max=1_000_000, description="n")
        self.seed = w.BoundedIntText(value=0, min=0, max=2**32 - 1, description="seed")
        self.recovery = w.Dropdown(options=RECOVERY_IMPLEMENTED, value=self.config.recovery, description="recovery")
        self.folder = w.Text(value="", description="results", placeholder="folder (blank: a new temporary one)")
        self.run_button = w.Button(description="Run", button_style="primary", icon="play")
        self.stop_button = w.Button(description="Stop", icon="stop", disabled=True)
        self.resume_button = w.Button(description="Resume", icon="forward", disabled=True)
        self.progress = w.IntProgress(value=0, min=0, max=1, description="runs")
        self.status = w.HTML("idle")
        self.counts = w.HTML("")
        self.run_button.on_click(lambda _: self._click(self.run))
        self.stop_button.on_click(lambda _: self.stop())
        self.resume_button.on_click(lambda _: self._click(self.resume))
        self.widget = w.VBox([w.HBox([w.VBox([self.target, self.fault_types]),
                                      w.VBox([self.n, self.seed, self.recovery, self.folder])]),
                              w.HBox([self.run_button, self.stop_button, self.resume_button, self.progress]),
                              self.status, self.counts])
        self.widget.add_class("mrwb-campaign-panel")
        self.results: CampaignResults | None = None
        self.error: BaseException | None = None
        self.out = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if results is not None:
            self.open(results)

    def campaign(self) -> Campaign:
        """The campaign the controls describe."""
        return Campaign(self.config, self.target.value, tuple(self.fault_types.value), n=self.n.value,
                        seed=self.seed.value, recovery=self.recovery.value)

    def _click(self, action):
        try:
            action()
        except (ValueError, RuntimeError, FileExistsError):
            pass                         # already shown in the status line

    def _busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def open(self, source) -> CampaignResults | None:
        """Show a saved campaign (a folder or `CampaignResults`): its counts, and Resume if it is
        incomplete. A damaged folder shows its error in the status line."""
        try:
            r = open_results(source)
        except LOAD_ERRORS as e:
            self.status.value = error_html(e)
            self.error = e
            return None
        self.results, self.error, self.out = r, None, r.path
        self.folder.value = "" if r.path is None else str(r.path)
        self.progress.max, self.progress.value = r.n, r.df.height
        self.counts.value = counts_html(r.counts())
        self.status.value = f"{'complete' if r.complete else 'incomplete'}: {r.df.height} of {r.n} runs" + \
            ("" if r.path is None else f" in {escape(str(r.path))}")
        self.resume_button.disabled = r.complete or r.path is None
        return r

    def run(self, out=None) -> threading.Thread:
        """What Run does: start the campaign in a background thread (results into `out`, else the
        folder field, else a new temporary folder) and return the thread."""
        if self._busy():
            self.status.value = "a campaign is already running: Stop it first"
            raise RuntimeError("a campaign is already running: Stop it first")
        try:
            campaign = self.campaign()
        except ValueError as e:
            self.status.value = f"<b>invalid:</b> {escape(str(e))}"
            raise
        self.out = out or self.folder.value.strip() or tempfile.mkdtemp(prefix="mrwb-panel-")
        self.folder.value = str(self.out)
        self.progress.max, self.progress.value = campaign.n, 0
        self.status.value = f"sampling {campaign.n} faults ..."
        return self._start(lambda: campaign.run(self.executor, workers=self.workers, progress=False, out=self.out,
                                                stop=self._stop, callback=self._on_progress))

    def resume(self) -> threading.Thread:
        """What Resume does: finish the campaign in the results folder (`Campaign.resume`): only the runs
        it lacks are run, and the table ends identical to an uninterrupted campaign's."""
        if self._busy():
            self.status.value = "a campaign is already running: Stop it first"
            raise RuntimeError("a campaign is already running: Stop it first")
        folder = self.folder.value.strip() or self.out
        if not folder:
            self.status.value = "<b>invalid:</b> results folder is empty: nothing to resume"
            raise ValueError("results folder is empty: nothing to resume")
        self.out = folder
        self.status.value = f"resuming {escape(str(folder))} ..."
        return self._start(lambda: Campaign.resume(self.out, self.executor, self.workers, progress=False,
                                                   stop=self._stop, callback=self._on_progress))

    def _start(self, job) -> threading.Thread:
        self.results, self.error = None, None
        self._stop.clear()
        self.counts.value = ""
        self.run_button.disabled, self.stop_button.disabled, self.resume_button.disabled = True, False, True
        self._thread = threading.Thread(target=self._work, args=(job,), daemon=True, name="CampaignPanel")
        self._thread.start()
        return self._thread

    def _work(self, job):
        try:
            self.results = r = job()
            self.counts.value = counts_html(r.counts())
            self.progress.max, self.progress.value = r.n, r.df.height
            state = "done" if r.complete else "stopped"
            self.status.value = f"{state}: {r.df.height} of {r.n} runs in {escape(str(self.out))}"
        except BaseException as e:       # shown in the panel; a thread has nobody else to tell
            self.error = e
            self.status.value = f"<b>failed:</b> {escape(type(e).__name__)}: {escape(str(e))}"
        finally:
            self.run_button.disabled, self.stop_button.disabled = False, True
            self.resume_button.disabled = self.out is None or (self.results is not None and self.results.complete)

    def _on_progress(self, done: int, total: int, counts: dict):
        self.progress.max, self.progress.value = total, done
        self.status.value = f"running: {done} of {total} runs"
        self.counts.value = counts_html(counts)

    def stop(self):
        """What Stop does: runs not yet started are cancelled; rows written stay in `out`."""
        self._stop.set()
        self.status.value = "stopping ..."

    def wait(self, timeout: float | None = None) -> CampaignResults | None:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.results

    def _repr_mimebundle_(self, **kw):
        return self.widget._repr_mimebundle_(**kw)
