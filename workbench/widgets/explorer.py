"""`RunExplorer`: pick one run of a campaign's table and read why it ended as it did: its row (fault,
outcome, reason, latencies), and on Re-run its `RunReport` from this machine with the timeline
(injection, detection, recovery phases, per-AppVM progress gaps, the peer). Works on a saved folder
without a simulation until Re-run is clicked. A thin face over `analysis.runs`."""
from __future__ import annotations

from html import escape

import polars as pl

from workbench.analysis.figures import fig_timeline
from workbench.analysis.runs import rerun, row_of, same_row, stack_changed
from workbench.campaign import CampaignResults
from workbench.display import formatting, formatting_html
from workbench.widgets.common import LOAD_ERRORS, error_html, figure_html, frame_html, open_results

ALL = "all outcomes"
TABLE_COLUMNS = ("run", "target", "fault_type", "at", "reg", "bit", "addr", "outcome", "reason", "cause", "detected",
                 "detection_latency_ms", "recovery_latency_ms", "appvms_affected", "peer_worst_latency_us")


def row_html(row: dict) -> str:
    facts = tuple((k, formatting.opt(v)) for k, v in row.items())
    return formatting_html.render(formatting.Summary(f"run {row['run']}: {row['outcome']}", facts))


class RunExplorer:
    """A results folder (or `CampaignResults`), an outcome filter, the run list with Prev/Next, the
    filtered table, the chosen run's row, and Re-run (its RunReport and timeline figure)."""

    def __init__(self, results=None):
        import ipywidgets as w
        self.folder = w.Text(value="", description="results", placeholder="a campaign folder")
        self.load_button = w.Button(description="Open", icon="folder-open")
        self.outcome = w.Dropdown(options=[ALL], value=ALL, description="outcome")
        self.run = w.Dropdown(options=[], description="run")
        self.prev_button = w.Button(description="Prev", icon="arrow-left")
        self.next_button = w.Button(description="Next", icon="arrow-right")
        self.rerun_button = w.Button(description="Re-run", button_style="primary", icon="play", disabled=True)
        self.status = w.HTML("no results open")
        self.table = w.HTML("")
        self.details = w.HTML("")
        self.report_html = w.HTML("")
        self.figure = w.HTML("")
        self.load_button.on_click(lambda _: self.open(self.folder.value))
        self.outcome.observe(lambda ch: self._filter(), names="value")
        self.run.observe(lambda ch: self.show(), names="value")
        self.prev_button.on_click(lambda _: self.step(-1))
        self.next_button.on_click(lambda _: self.step(+1))
        self.rerun_button.on_click(lambda _: self._click_rerun())
        self.widget = w.VBox([w.HBox([self.folder, self.load_button]),
                              w.HBox([self.outcome, self.run, self.prev_button, self.next_button, self.rerun_button]),
                              self.status, self.table, self.details, self.report_html, self.figure])
        self.widget.add_class("mrwb-run-explorer")
        self.results: CampaignResults | None = None
        self.report = None
        if results is not None:
            self.open(results)

    def open(self, source) -> CampaignResults | None:
        """Open a campaign's results; a damaged folder shows its error instead of raising."""
        try:
            r = open_results(source)
        except LOAD_ERRORS as e:
            self.results = None
            self.status.value = error_html(e)
            self.table.value = self.details.value = self.report_html.value = self.figure.value = ""
            self.run.options, self.rerun_button.disabled = [], True
            return None
        self.results, self.report = r, None
        self.folder.value = "" if r.path is None else str(r.path)
        present = r.counts()
        self.outcome.options = [ALL] + list(present)
        self.outcome.value = ALL
        self.status.value = f"{r.df.height} of {r.n} runs" + ("" if r.path is None else f" from {escape(str(r.path))}")
        self._filter()
        return r

    def shown_rows(self) -> pl.DataFrame:
        df = self.results.df
        return df if self.outcome.value == ALL else df.filter(pl.col("outcome") == self.outcome.value)

    def _filter(self):
        if self.results is None:
            return
        df = self.shown_rows()
        self.table.value = frame_html(df.select([c for c in TABLE_COLUMNS if c in df.columns]), 10)
        opts = [(f"{r}: {t} {o}", r) for r, t, o in df.select("run", "fault_type", "outcome").iter_rows()]
        self.run.options = opts
        self.rerun_button.disabled = not opts
        if opts:
            self.run.value = opts[0][1]
        self.show()

    def step(self, by: int):
        """Prev/Next: the run before or after the selected one in the filtered list."""
        values = [v for _, v in self.run.options]
        if values and self.run.value in values:
            self.run.value = values[max(0, min(len(values) - 1, values.index(self.run.value) + by))]

    def show(self):
        if self.results is None or self.run.value is None:
            self.details.value = ""
            return
        self.report = None
        self.report_html.value = self.figure.value = ""
        self.details.value = row_html(row_of(self.results, self.run.value))

    def _click_rerun(self):
        try:
            self.rerun()
        except Exception:
            pass                     # shown in the status line

    def rerun(self):
        """What Re-run does: `analysis.runs.rerun` on this machine; shows the RunReport, its timeline
        figure, and whether the new row equals the saved one (all columns but wall_s)."""
        if self.results is None or self.run.value is None:
            raise ValueError("run is not chosen: open results and pick a run first")
        run = self.run.value
        self.status.value = f"re-running run {run} (boots the campaign's system once) ..."
        self.rerun_button.disabled = True
        try:
            report = rerun(self.results, run)
            differs = same_row(report, row_of(self.results, run))
            changed = stack_changed(self.results) if differs else []
        except Exception as e:
            self.status.value = error_html(e)
            raise
        finally:
            self.rerun_button.disabled = False
        self.report = report
        self.report_html.value = report._repr_html_()
        self.figure.value = figure_html(fig_timeline(report))
        if not differs:
            self.status.value = f"run {run} re-run: identical to the saved row (except wall_s)"
        else:
            why = (f"; the stack images changed since the campaign ran ({', '.join(changed)})" if changed else "")
            self.status.value = f"run {run} re-run: differs from the saved row in {', '.join(differs)}{escape(why)}"
        return report

    def _repr_mimebundle_(self, **kw):
        return self.widget._repr_mimebundle_(**kw)
