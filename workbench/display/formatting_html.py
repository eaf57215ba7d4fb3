"""HTML reprs (`_repr_html_`) from the same `formatting.Summary` as the text reprs; each carries the
text repr as a fallback for front ends that show no HTML."""
from __future__ import annotations

from html import escape

from workbench.display import formatting
from workbench.display.formatting import Summary

_STYLE = ("<style>.mrwb-repr table{border-collapse:collapse;margin:2px 0 6px 0}"
          ".mrwb-repr td,.mrwb-repr th{padding:1px 8px;text-align:left;font-family:monospace}"
          ".mrwb-repr th{border-bottom:1px solid #999}.mrwb-repr caption{text-align:left;font-weight:bold}</style>")


def facts_html(facts) -> str:
    rows = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in facts)
    return f"<table>{rows}</table>" if rows else ""


def table_html(t: formatting.Table) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in t.columns)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in t.rows)
    return f"<table><caption>{escape(t.caption)}</caption><tr>{head}</tr>{body}</table>"


def render(s: Summary) -> str:
    fallback = f"<pre class='mrwb-text' style='display:none'>{escape(formatting.render(s))}</pre>"
    return (f"<div class='mrwb-repr'>{_STYLE}<b>{escape(s.title)}</b>{facts_html(s.facts)}"
            + "".join(table_html(t) for t in s.tables) + fallback + "</div>")
