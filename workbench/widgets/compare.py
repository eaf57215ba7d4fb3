"""`ComparePanel`: two campaigns side by side — each one's summary (outcomes, the papers' categories,
recovery success with 95% Wilson intervals, latencies) and one recovery-rate figure with both. A thin
face over `CampaignResults.summary` and `analysis.fig_recovery_rate`."""
from __future__ import annotations

from workbench.analysis.data import label
from workbench.analysis.figures import fig_recovery_rate
from workbench.campaign import CampaignResults
from workbench.campaign.summary import DEFINITIONS
from workbench.widgets.common import LOAD_ERRORS, error_html, figure_html, open_results


class ComparePanel:
    """Folders (or `CampaignResults`) A and B, the success definition, Compare."""

    def __init__(self, a=None, b=None, definition: str = "papers"):
        import ipywidgets as w
        self.a = w.Text(value=self._shown(a), description="A", placeholder="a campaign folder")
        self.b = w.Text(value=self._shown(b), description="B", placeholder="a campaign folder")
        self.definition = w.Dropdown(options=tuple(DEFINITIONS), value=definition, description="success")
        self.compare_button = w.Button(description="Compare", button_style="primary", icon="columns")
        self.status = w.HTML("")
        self.left, self.right = w.HTML(""), w.HTML("")
        self.figure = w.HTML("")
        self.compare_button.on_click(lambda _: self.compare())
        self.widget = w.VBox([w.HBox([w.VBox([self.a, self.b]), w.VBox([self.definition, self.compare_button])]),
                              self.status, w.HBox([self.left, self.right]), self.figure])
        self.widget.add_class("mrwb-compare-panel")
        # results given as objects are used while their field still shows what they were given as
        self._given = {"A": (a, self.a.value), "B": (b, self.b.value)}
        self.results: dict = {}
        if a is not None and b is not None:
            self.compare()

    @staticmethod
    def _shown(source) -> str:
        """What a field shows for what was given: a folder's path, or an unsaved campaign's label."""
        if source is None:
            return ""
        if isinstance(source, CampaignResults):
            return str(source.path) if source.path is not None else f"(not saved: {label(source)})"
        return str(source)

    def _source(self, name: str, text: str):
        obj, shown = self._given[name]
        return obj if obj is not None and text == shown else text

    def compare(self) -> dict:
        """What Compare does: load both, show their summaries and the rate figure; a damaged folder
        shows its error in the status line."""
        loaded = {}
        for name, field in (("A", self.a), ("B", self.b)):
            try:
                loaded[name] = open_results(self._source(name, field.value))
            except LOAD_ERRORS as e:
                self.status.value = f"{name}: {error_html(e)}"
                self.left.value = self.right.value = self.figure.value = ""
                self.results = {}
                return {}
        self.results = loaded
        self.left.value = f"<h4>A: {label(loaded['A'])}</h4>" + loaded["A"].summary()._repr_html_()
        self.right.value = f"<h4>B: {label(loaded['B'])}</h4>" + loaded["B"].summary()._repr_html_()
        series = {f"A {label(r)}" if name == "A" else f"B {label(r)}": r for name, r in loaded.items()}
        self.figure.value = figure_html(fig_recovery_rate(series, definition=self.definition.value))
        self.status.value = f"A: {loaded['A'].df.height} runs, B: {loaded['B'].df.height} runs"
        return loaded

    def _repr_mimebundle_(self, **kw):
        return self.widget._repr_mimebundle_(**kw)
