"""What every panel shares: a figure as an <img> (what the browser shows, and what a test can read), an
error as a message, and results opened from an object or a folder with the error shown, not raised."""
from __future__ import annotations

import base64
import io
from html import escape

from workbench.campaign import CampaignResults, ResultsFileError

# What opening a results folder may raise; a panel shows these instead of a traceback.
LOAD_ERRORS = (ResultsFileError, FileNotFoundError, NotADirectoryError, PermissionError, ValueError, TypeError)


def figure_html(fig, dpi: int = 90) -> str:
    """A matplotlib Figure as an inline PNG <img> (closed afterwards: a panel redraws often)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    data = base64.b64encode(buf.getvalue()).decode()
    return f'<img class="mrwb-figure" alt="{escape(fig.texts[0].get_text() if fig.texts else "figure")}" ' \
           f'src="data:image/png;base64,{data}"/>'


def error_html(e: BaseException) -> str:
    return f'<span class="mrwb-error" style="color:#b00"><b>{escape(type(e).__name__)}:</b> {escape(str(e))}</span>'


def open_results(source) -> CampaignResults:
    """`CampaignResults` as given, or loaded from a folder (a path or its text); errors propagate."""
    if isinstance(source, CampaignResults):
        return source
    if isinstance(source, str):
        source = source.strip()
        if not source:
            raise ValueError("results folder is empty: allowed the path of a folder saved by CampaignResults.save")
    return CampaignResults.load(source)


def frame_html(df, max_rows: int = 20) -> str:
    """A polars frame's own HTML table, the first `max_rows` rows."""
    import polars as pl
    with pl.Config(tbl_rows=max_rows, tbl_cols=-1, fmt_str_lengths=60):
        return df.head(max_rows)._repr_html_()
