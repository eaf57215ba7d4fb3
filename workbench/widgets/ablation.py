"""`AblationPanel`: pick the ladder's steps and the fault space, run the ablation, watch the table fill
step by step and the figure appear; or open a saved ablation folder. A thin face over
`workbench.analysis.ablation` / `Ablation.load`: every control is one argument of those calls."""
from __future__ import annotations

import io
import tempfile
import threading
from html import escape

from workbench.analysis.ablation import BASELINE, LADDER_RECOVERY, Ablation, ablation, ladder
from workbench.faults import FaultSpace
from workbench.system import SystemConfig
from workbench.system.config import ALL_ENHANCEMENTS
from workbench.widgets.panel import FAULT_TYPES, targets

BASELINES = (BASELINE, "halt", "none")


class AblationPanel:
    """Steps (the enhancements to add, one per step, in the papers' order), baseline, target, fault
    types, n, seed; Run and Stop; the table as each step ends, the figure, the next enhancement. Load
    opens a saved ablation folder (`folder`) without running anything.

    recovery: the mechanism the ladder runs under (ReHype; another one only to test the plumbing).
    executor/workers: as `Campaign.run`. `ablation` holds the last result (partial while running)."""

    def __init__(self, config: SystemConfig | None = None, executor="processes", workers: int | None = None,
                 recovery: str = LADDER_RECOVERY):
        import ipywidgets as w
        self.config = config or SystemConfig()
        self.executor, self.workers, self.recovery = executor, workers, recovery
        self.steps = w.SelectMultiple(options=ALL_ENHANCEMENTS, value=ALL_ENHANCEMENTS, rows=len(ALL_ENHANCEMENTS),
                                      description="add in turn")
        self.baseline = w.Dropdown(options=BASELINES, value=BASELINE, description="baseline")
        self.target = w.Dropdown(options=targets(self.config), value="hv", description="target")
        self.fault_types = w.SelectMultiple(options=FAULT_TYPES, value=("reg", "code", "failstop"),
                                            description="faults", rows=len(FAULT_TYPES))
        self.n = w.BoundedIntText(value=20, min=1, max=1_000_000, description="n")
        self.seed = w.BoundedIntText(value=0, min=0, max=2**32 - 1, description="seed")
        self.run_button = w.Button(description="Run", button_style="primary", icon="play")
        self.stop_button = w.Button(description="Stop", icon="stop", disabled=True)
        self.folder = w.Text(value="", placeholder="a saved ablation folder", description="folder")
        self.load_button = w.Button(description="Load", icon="folder-open")
        self.progress = w.IntProgress(value=0, min=0, max=1, description="runs")
        self.status = w.HTML("idle")
        self.table = w.HTML("")
        self.figure = w.Image(format="png", value=b"", layout=w.Layout(max_width="100%"))
        self.run_button.on_click(self._click_run)
        self.stop_button.on_click(lambda _: self.stop())
        self.load_button.on_click(lambda _: self.load())
        self.widget = w.VBox([
            w.HBox([w.VBox([self.steps, self.baseline]),
                    w.VBox([self.target, self.fault_types, self.n, self.seed])]),
            w.HBox([self.run_button, self.stop_button, self.progress]),
            w.HBox([self.folder, self.load_button]), self.status, self.table, self.figure])
        self.ablation: Ablation | None = None
        self.error: BaseException | None = None
        self.out = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._nsteps = 0

    # -- what the controls mean --

    def ladder_steps(self) -> list[str]:
        """The enhancements chosen, in the papers' order: one step each (`ablation(steps=...)`)."""
        return [e for e in ALL_ENHANCEMENTS if e in set(self.steps.value)]

    def arguments(self) -> dict:
        """The `ablation(...)` call the controls describe (faults: a FaultSpace sampled once)."""
        return {"config": self.config, "faults": FaultSpace(self.target.value, tuple(self.fault_types.value)),
                "steps": self.ladder_steps(), "n": self.n.value, "seed": self.seed.value,
                "baseline": None if self.baseline.value == "none" else self.baseline.value,
                "recovery": self.recovery}

    # -- Run, Stop, Load --

    def _click_run(self, _):
        try:
            self.run()
        except (ValueError, RuntimeError, NotImplementedError):
            pass                         # already shown in the status line

    def run(self, out=None) -> threading.Thread:
        """What Run does: the ablation in a background thread, into `out` (default a new temporary
        directory, so Stop keeps every row written); returns the thread."""
        if self._thread is not None and self._thread.is_alive():
            self.status.value = "an ablation is already running: Stop it first"
            raise RuntimeError("an ablation is already running: Stop it first")
        try:
            kw = self.arguments()
            self._nsteps = len(ladder(kw["steps"], kw["recovery"], kw["baseline"]))
        except ValueError as e:
            self.status.value = f"<b>invalid:</b> {escape(str(e))}"
            raise
        self.out = out or tempfile.mkdtemp(prefix="mrwb-ablation-")
        self.ablation, self.error = None, None
        self._stop.clear()
        self.table.value, self.figure.value = "", b""
        self.progress.max, self.progress.value = kw["n"], 0
        self.status.value = f"sampling {kw['n']} faults ..."
        self.run_button.disabled, self.stop_button.disabled, self.load_button.disabled = True, False, True
        self._thread = threading.Thread(target=self._work, args=(kw,), daemon=True, name="AblationPanel")
        self._thread.start()
        return self._thread

    def _work(self, kw: dict):
        try:
            result = ablation(**kw, executor=self.executor, workers=self.workers, out=self.out, progress=False,
                              stop=self._stop, on_step=self._on_step, on_runs=self._on_runs)
            self._show(result)
            state = "done" if result.complete else "stopped"
            self.status.value = (f"{state}: {len(result.results)} of {len(result.steps)} steps in "
                                 f"{escape(str(self.out))}")
        except BaseException as e:       # shown in the panel; a thread has nobody else to tell
            self.error = e
            self.status.value = f"<b>failed:</b> {escape(type(e).__name__)}: {escape(str(e))}"
        finally:
            self.run_button.disabled, self.stop_button.disabled, self.load_button.disabled = False, True, False

    def _on_step(self, partial: Ablation):
        self.ablation = partial
        self.table.value = partial._repr_html_()

    def _on_runs(self, step, done: int, total: int, counts: dict):
        self.progress.max, self.progress.value = total, done
        self.status.value = f"step {step.index + 1} of {self._nsteps}: {escape(step.name)}, {done} of {total} runs"

    def stop(self):
        """What Stop does: the step running stops (its rows written stay), no further step starts."""
        self._stop.set()
        self.status.value = "stopping ..."

    def load(self, folder=None) -> Ablation | None:
        """What Load does: show the ablation saved in `folder` (default the folder box); a missing or
        damaged folder is reported in the status line."""
        path = folder if folder is not None else self.folder.value.strip()
        try:
            if not path:
                raise ValueError("folder is empty: type the path of a saved ablation")
            result = Ablation.load(path)
            self._show(result)
        except Exception as e:           # a damaged folder is the user's to fix: show it, do not raise
            self.error = e
            self.status.value = f"<b>cannot load:</b> {escape(type(e).__name__)}: {escape(str(e))}"
            return None
        self.error = None
        self.status.value = (f"loaded: {len(result.results)} of {len(result.steps)} steps from {escape(str(path))}"
                             + ("" if result.complete else " (incomplete)"))
        return result

    def _show(self, result: Ablation):
        self.ablation = result
        self.table.value = result._repr_html_()
        if result.results:
            buf = io.BytesIO()
            result.figure().savefig(buf, format="png", dpi=80)
            self.figure.value = buf.getvalue()

    def wait(self, timeout: float | None = None) -> Ablation | None:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.ablation

    def _repr_mimebundle_(self, **kw):
        return self.widget._repr_mimebundle_(**kw)
