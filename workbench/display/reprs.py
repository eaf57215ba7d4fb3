"""`SummaryReprs`: the text and HTML reprs of any object with a `summary()` (a `formatting.Summary`),
written once for `System` and every component view."""
from __future__ import annotations

from workbench.display import formatting, formatting_html


class SummaryReprs:
    def __repr__(self):
        return formatting.render(self.summary())

    def _repr_html_(self):
        return formatting_html.render(self.summary())
