"""`CampaignPanel`: choose a fault space, run it, watch outcomes arrive; a thin face over `Campaign`.

Every control maps to one argument of `Campaign(...)` / `Campaign.run(...)`; the panel holds no logic
of its own. Runs go to a results directory (`panel.out`), so Stop keeps every row already written.
"""
from __future__ import annotations

import tempfile
import threading
from html import escape

from workbench.campaign import OUTCOMES, Campaign, CampaignResults
from workbench.system import SystemConfig
from workbench.system.config import RECOVERY_IMPLEMENTED

FAULT_TYPES = ("reg", "code", "mem", "failstop")


def targets(config: SystemConfig) -> list[str]:
    return ["hv", "privvm"] + (["dvm"] if config.dvm else []) + [f"appvm:{i}" for i in range(len(config.appvms))]


class CampaignPanel:
    """Target, fault types, n, seed, recovery; Run and Stop; live progress and outcome counts.

    executor/workers: as `Campaign.run`. `results` holds the last run's `CampaignResults` once it ends."""

    def __init__(self, config: SystemConfig | None = None, executor="processes", workers: int | None = None):
        import ipywidgets as w
        self.config = config or SystemConfig()
        self.executor, self.workers = executor, workers
        self.target = w.Dropdown(options=targets(self.config), value="hv", description="target")
        self.fault_types = w.SelectMultiple(options=FAULT_TYPES, value=("reg", "code", "failstop"),
                                            description="faults", rows=len(FAULT_TYPES))
        self.n = w.BoundedIntText(value=20, min=1, max=1_000_000, description="n")
        self.seed = w.BoundedIntText(value=0, min=0, max=2**32 - 1, description="seed")
        self.recovery = w.Dropdown(options=RECOVERY_IMPLEMENTED, value=self.config.recovery, description="recovery")
        self.run_button = w.Button(description="Run", button_style="primary", icon="play")
        self.stop_button = w.Button(description="Stop", icon="stop", disabled=True)
        self.progress = w.IntProgress(value=0, min=0, max=1, description="runs")
        self.status = w.HTML("idle")
        self.counts = w.HTML("")
        self.run_button.on_click(self._click_run)
        self.stop_button.on_click(lambda _: self.stop())
        self.widget = w.VBox([w.HBox([w.VBox([self.target, self.fault_types]),
                                      w.VBox([self.n, self.seed, self.recovery])]),
                              w.HBox([self.run_button, self.stop_button, self.progress]), self.status, self.counts])
        self.results: CampaignResults | None = None
        self.error: BaseException | None = None
        self.out = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def campaign(self) -> Campaign:
        """The campaign the controls describe."""
        return Campaign(self.config, self.target.value, tuple(self.fault_types.value), n=self.n.value,
                        seed=self.seed.value, recovery=self.recovery.value)

    def _click_run(self, _):
        try:
            self.run()
        except (ValueError, RuntimeError):
            pass                         # already shown in the status line

    def run(self, out=None) -> threading.Thread:
        """What Run does: start the campaign in a background thread (results into `out`, default a new
        temporary directory) and return the thread."""
        if self._thread is not None and self._thread.is_alive():
            self.status.value = "a campaign is already running: Stop it first"
            raise RuntimeError("a campaign is already running: Stop it first")
        try:
            campaign = self.campaign()
        except ValueError as e:
            self.status.value = f"<b>invalid:</b> {escape(str(e))}"
            raise
        self.out = out or tempfile.mkdtemp(prefix="mrwb-panel-")
        self.results, self.error = None, None
        self._stop.clear()
        self.progress.max, self.progress.value = campaign.n, 0
        self.counts.value = ""
        self.status.value = f"sampling {campaign.n} faults ..."
        self.run_button.disabled, self.stop_button.disabled = True, False
        self._thread = threading.Thread(target=self._work, args=(campaign,), daemon=True, name="CampaignPanel")
        self._thread.start()
        return self._thread

    def _work(self, campaign: Campaign):
        try:
            self.results = campaign.run(self.executor, workers=self.workers, progress=False, out=self.out,
                                        stop=self._stop, callback=self._on_progress)
            r = self.results
            self._show_counts(r.counts())
            self.progress.value = r.df.height
            state = "done" if r.complete else "stopped"
            self.status.value = f"{state}: {r.df.height} of {r.n} runs in {escape(str(self.out))}"
        except BaseException as e:       # shown in the panel; a thread has nobody else to tell
            self.error = e
            self.status.value = f"<b>failed:</b> {escape(type(e).__name__)}: {escape(str(e))}"
        finally:
            self.run_button.disabled, self.stop_button.disabled = False, True

    def _on_progress(self, done: int, total: int, counts: dict):
        self.progress.value = done
        self.status.value = f"running: {done} of {total} runs"
        self._show_counts(counts)

    def _show_counts(self, counts: dict):
        order = [k for k in OUTCOMES if counts.get(k)] + sorted(k for k in counts if k not in OUTCOMES)
        self.counts.value = " ".join(f"<span>{escape(k)}: <b>{counts[k]}</b></span>" for k in order)

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
