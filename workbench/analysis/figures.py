"""The paper's figures of campaign results, one function each, returning a matplotlib `Figure`.

Every function takes what `data.rows` takes (a `CampaignResults`, a campaign directory, a list or a
{label: results} dict) and groups by `target` and `recovery`, so rows of a mechanism that lands later
(rehype, dvm_reboot, ...) get their own bars, boxes and curves. Where `data/paper/figures.csv` holds a
published figure of the same quantity it is drawn beside ours (`paper=True`), labelled with its citation.
Figures are made without pyplot (no global state: a notebook shows the returned Figure once).
"""
from __future__ import annotations

import functools

import polars as pl

from workbench.analysis.data import mechanism_key as _mechanism_key, paper_figures, rows
from workbench.analysis.data import target_key as _target_key
from workbench.campaign.summary import CATEGORIES, DEFINITIONS, recovery_table
from workbench.faults.report import OUTCOMES
from workbench.machine.clock import cycles_to_ms
SEP = " · "
CATEGORY_LABELS = {"not_manifested": "not manifested", "sdc": "SDC", "undetected_failure": "undetected failure",
                   "detected": "detected"}
# The papers' category shares are quantities "<fault type> faults not manifested / causing SDC / detected".
PAPER_CATEGORY = {"not manifested": "not_manifested", "causing SDC": "sdc", "detected": "detected"}
PAPER_MARKERS = {"exact": "D", "lower": "^", "upper": "v"}


@functools.cache                   # matplotlib is imported on first use, and the class made once
def _figure_class():
    from matplotlib.figure import Figure

    class PaperFigure(Figure):
        """A Figure that shows itself in a notebook as PNG without pyplot (no global figure list)."""

        def _repr_png_(self):
            import io
            buf = io.BytesIO()
            self.savefig(buf, format="png", dpi=100)
            return buf.getvalue()
    return PaperFigure


def _figure(ncols=1, width=5.0, height=3.6, **kw):
    import seaborn as sns
    sns.set_theme(style="whitegrid", context="paper")
    fig = _figure_class()(figsize=(width * ncols, height), layout="constrained")
    axes = fig.subplots(1, ncols, squeeze=False, **kw)[0]
    return fig, list(axes)


def with_series(df: pl.DataFrame) -> pl.DataFrame:
    """Add `series`: "target · recovery", plus the campaign when two campaigns share both. A recovery
    per component ("hv=rehype,dvm=dvm_reboot,...") is named by the target component's mechanism."""
    from workbench.analysis.components import mechanism_of
    pairs = df.select("target", "recovery").unique()
    names = pl.DataFrame([{"target": t, "recovery": r,
                           "_rec": mechanism_of(t, r) if r and "=" in r and not t.startswith("appvm") else r}
                          for t, r in pairs.iter_rows()], schema={"target": pl.Utf8, "recovery": pl.Utf8, "_rec": pl.Utf8})
    df = df.join(names, on=["target", "recovery"], how="left", nulls_equal=True)
    df = df.with_columns(pl.concat_str([pl.col("target"), pl.col("_rec").fill_null("-")], separator=SEP)
                         .alias("series")).drop("_rec")
    per = df.select("series", "campaign").unique().group_by("series").len()
    if per["len"].max() > 1:
        df = df.with_columns(pl.concat_str([pl.col("series"), pl.col("campaign")], separator=SEP).alias("series"))
    return df


def series_order(df: pl.DataFrame) -> list[str]:
    keys = df.select("series", "target", "recovery", "campaign").unique()
    keys = sorted(keys.iter_rows(named=True), key=lambda r: (_target_key(r["target"]), _mechanism_key(r["recovery"]),
                                                             r["campaign"]))
    return list(dict.fromkeys(r["series"] for r in keys))


def _fault_types(df: pl.DataFrame) -> list[str]:
    from workbench.faults import FAULT_TYPES
    seen = set(df["fault_type"].to_list())
    return [t for t in FAULT_TYPES if t in seen] + sorted(seen - set(FAULT_TYPES))


def _bound(unit: str | None) -> str:
    u = unit or ""
    return "lower" if "lower bound" in u else "upper" if "upper bound" in u else "exact"


def _palette(n):
    import seaborn as sns
    return sns.color_palette("colorblind", n)


# -- outcomes by fault type and target --

def fig_outcomes(results, by: str = "category", paper: bool = True):
    """Stacked shares of runs per fault type, one panel per target (and a bar per recovery mechanism
    when a target was run with several). by: "category" (the papers' not manifested / SDC / detected,
    undetected failures apart) or "outcome" (the full taxonomy). With `paper`, the papers' shares per
    fault type stand beside the hypervisor's bars (hatched, labelled with the citation)."""
    if by not in ("category", "outcome"):
        raise ValueError(f"by={by!r} is invalid: allowed 'category' or 'outcome'")
    df = with_series(rows(results))
    segments = tuple(CATEGORIES) if by == "category" else OUTCOMES
    names = CATEGORY_LABELS if by == "category" else {o: o for o in OUTCOMES}
    if by == "category":
        df = df.with_columns(pl.col("outcome").replace_strict(
            {o: c for c, outs in CATEGORIES.items() for o in outs}, default=None).alias("segment"))
    else:
        df = df.with_columns(pl.col("outcome").alias("segment"))
    targets = sorted(set(df["target"].to_list()), key=_target_key)
    refs = _paper_categories() if paper and by == "category" else {}
    nbars = max(df.filter(pl.col("target") == t).select("fault_type", "series").unique().height for t in targets)
    fig, axes = _figure(len(targets), width=max(3.0, 0.9 * (nbars + len(refs)) + 1), height=4.0, sharey=True)
    colors = dict(zip(segments, _palette(len(segments))))
    cites = set()
    for ax, target in zip(axes, targets):
        d = df.filter(pl.col("target") == target)
        bars = []                       # (label, {segment: share}, is_paper)
        for ft in _fault_types(d):
            for s in series_order(d):
                g = d.filter((pl.col("fault_type") == ft) & (pl.col("series") == s))
                if not g.height:
                    continue
                counts = dict(g.group_by("segment").len().iter_rows())
                sub = s.split(SEP, 1)[1] if len(series_order(d)) > 1 else ""
                bars.append((f"{ft}\n{sub}".strip(), {k: counts.get(k, 0) / g.height for k in segments}, None))
            if target == "hv" and ft in refs:
                cite, shares = refs[ft]
                bars.append((f"{ft}\n[paper]", shares, cite))
                cites.add(cite)
        for i, (_, shares, cite) in enumerate(bars):
            bottom = 0.0
            for seg in segments:
                v = shares.get(seg, 0.0)
                ax.bar(i, v, bottom=bottom, color=colors[seg], width=0.8, edgecolor="white" if cite is None else "black",
                       hatch=None if cite is None else "//", label=names[seg])
                bottom += v
        ax.set_xticks(range(len(bars)), [b[0] for b in bars])
        ax.set_title(f"target {target}")
        ax.set_xlabel("fault type")
        ax.set_ylim(0, 1)
    axes[0].set_ylabel("share of runs")
    from matplotlib.patches import Patch
    handles = [Patch(color=colors[s], label=names[s]) for s in segments]
    if cites:
        handles.append(Patch(facecolor="white", edgecolor="black", hatch="//",
                             label="[paper] " + "; ".join(sorted(cites))))
    fig.legend(handles=handles, loc="outside lower center", fontsize="small", ncols=2)
    fig.suptitle("Outcomes by fault type" + (" (papers' categories)" if by == "category" else ""))
    return fig


def _paper_categories() -> dict[str, tuple[str, dict[str, float]]]:
    """{fault type: (citation, {category: share})} from the papers' hypervisor campaigns."""
    p = paper_figures().filter(pl.col("mechanism").is_null() & pl.col("unit").str.starts_with("percent"))
    out: dict = {}
    for r in p.iter_rows(named=True):
        for phrase, cat in PAPER_CATEGORY.items():
            if r["quantity"].endswith(phrase) and r["fault_type"]:
                cite, shares = out.setdefault(r["fault_type"], (r["cite"], {}))
                shares[cat] = r["value"] / 100
    return out


# -- recovery latency by mechanism --

def fig_recovery_latency(results, paper: bool = True, log: bool = True):
    """Recovery latency (simulated ms, detection to a working system) per target · recovery mechanism:
    a box and every run as a point. With `paper`, the papers' latencies of each mechanism are marked
    in their own columns (diamond: reported value; v: an upper bound), labelled with the citation."""
    import pandas as pd
    import seaborn as sns
    df = with_series(rows(results)).filter(pl.col("recovery_latency_ms").is_not_null())
    order = series_order(df) if df.height else []
    refs = _paper_latencies() if paper else []
    mechs = list(dict.fromkeys(r["mechanism"] for r in refs))
    cats = order + [f"{m}\n[paper]" for m in mechs]
    fig, (ax,) = _figure(1, width=max(5.0, 1.3 * len(cats) + 2))
    if df.height:
        data = pd.DataFrame({"series": df["series"].to_list(), "ms": df["recovery_latency_ms"].to_list()})
        sns.boxplot(data=data, x="series", y="ms", order=cats, ax=ax, showfliers=False, color="0.85", width=0.6)
        sns.stripplot(data=data, x="series", y="ms", order=cats, ax=ax, size=3, jitter=0.2, color="C0", alpha=0.7)
    else:
        ax.text(0.5, 0.5, "no run measured a recovery latency", transform=ax.transAxes, ha="center")
    for r in refs:
        ax.plot([len(order) + mechs.index(r["mechanism"])], [r["value"]], marker=PAPER_MARKERS[_bound(r["unit"])], color="C3",
                linestyle="none", markersize=8, label=f"{r['cite']}: {r['quantity']} ({r['value']:g} {r['unit']})")
    if cats:
        ax.set_xticks(range(len(cats)), cats)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("target · recovery mechanism")
    ax.set_ylabel("recovery latency (simulated ms)")
    ax.set_title("Recovery latency by recovery mechanism")
    if refs:
        ax.legend(loc="upper left", fontsize="x-small")
    return fig


def _paper_latencies() -> list[dict]:
    """The papers' whole-recovery latencies (not their breakdowns into phases)."""
    p = paper_figures().filter(pl.col("unit").str.starts_with("ms") & pl.col("mechanism").is_not_null()
                               & ~pl.col("quantity").str.contains(":"))
    return list(p.iter_rows(named=True))


# -- service interruption at the network peer --

SERVICE_RUNS = ("detected", "all")


def fig_service_interruption(results, runs: str = "detected", paper: bool = True):
    """Empirical CDFs of the service interruption each run caused, one curve per target · recovery:
    the network peer's worst request latency (left) and the longest stretch any AppVM made no progress
    (right), in simulated ms. A run in which the peer lost requests (never answered) had no bounded
    interruption: it counts in the total but never under the curve, which then ends below 1 (the
    legend gives the share). runs: "detected" (runs whose failure was detected) or "all". With
    `paper`, the papers' service interruptions are vertical lines labelled with the citation."""
    import numpy as np
    if runs not in SERVICE_RUNS:
        raise ValueError(f"runs={runs!r} is invalid: allowed {', '.join(map(repr, SERVICE_RUNS))}")
    df = with_series(rows(results))
    if runs == "detected":
        df = df.filter(pl.col("detected").is_not_null())
    df = df.with_columns(pl.when(pl.col("peer_lost").fill_null(0) > 0).then(float("inf"))
                         .otherwise(pl.col("peer_worst_latency_us") / 1000).alias("peer_worst_latency_ms"))
    order = series_order(df) if df.height else []
    colors = dict(zip(order, _palette(len(order))))
    fig, axes = _figure(2, sharey=True)
    refs = _paper_interruptions() if paper else []
    for ax, col, xlabel in zip(axes, ("peer_worst_latency_ms", "progress_gap_ms"),
                               ("network peer: worst request latency (ms)", "AppVMs: longest progress gap (ms)")):
        drawn = 0
        for s in order:
            v = df.filter((pl.col("series") == s) & pl.col(col).is_not_null())[col].to_numpy()
            if not len(v):
                continue
            finite = np.sort(v[np.isfinite(v)])
            y = np.arange(1, len(finite) + 1) / len(v)
            unbounded = f", {100 * (len(v) - len(finite)) / len(v):.0f}% lost requests" if len(finite) < len(v) else ""
            if len(finite):
                ax.step(np.concatenate([[finite[0]], finite]), np.concatenate([[0.0], y]), where="post",
                        color=colors[s], label=f"{s} ({len(v)} runs{unbounded})")
                drawn += 1
        if not drawn:
            ax.text(0.5, 0.5, "no runs", transform=ax.transAxes, ha="center")
        else:
            ax.set_xscale("log")
            ax.legend(loc="upper left", fontsize="x-small")
        ax.set_xlabel(xlabel)
        ax.set_ylim(0, 1.02)
    for i, r in enumerate(refs):
        axes[0].axvline(r["value"], color="C3", linestyle=("--", ":", "-.")[i % 3],
                        label=f"{r['cite']}: {r['quantity']} ({r['value']:g} ms)")
    if refs:
        axes[0].legend(loc="lower right", fontsize="x-small")
    axes[0].set_ylabel("share of runs")
    fig.suptitle(f"Service interruption ({'runs with a detected failure' if runs == 'detected' else 'all runs'})")
    return fig


def _paper_interruptions() -> list[dict]:
    p = paper_figures().filter(pl.col("unit").str.starts_with("ms") & pl.col("quantity").str.contains("service interruption"))
    return list(p.iter_rows(named=True))


# -- recovery rate with intervals --

def fig_recovery_rate(results, definition: str = "papers", paper: bool = True):
    """Recovery success rate over detected failures per fault type (and all together), one series per
    target · recovery, each a point with its 95% Wilson interval (`campaign.summary.recovery_table`).
    definition: "papers" (at most one AppVM affected and a new AppVM completes) or "strict" (no AppVM
    affected). With `paper`, the papers' rates of the same definition for the mechanisms they measured
    are drawn beside (diamond: reported; ^: a lower bound; bars: their interval)."""
    if definition not in DEFINITIONS:
        raise ValueError(f"definition={definition!r} is invalid: allowed {', '.join(map(repr, DEFINITIONS))}")
    df = with_series(rows(results))
    order = series_order(df)
    tables = {}
    for s in order:
        g = df.filter(pl.col("series") == s)
        tables[s] = recovery_table(g, tuple(_fault_types(g))).filter(pl.col("detected") > 0)
    refs = _paper_rates(definition) if paper else []
    xs = list(dict.fromkeys([ft for t in tables.values() for ft in t["fault_type"].to_list()]
                            + [r["x"] for r in refs]))
    from workbench.faults import FAULT_TYPES
    xs = sorted((x for x in xs if x != "all"), key=lambda x: (FAULT_TYPES + (x,)).index(x)) + (["all"] if "all" in xs else [])
    nser = len(order) + (1 if refs else 0)
    width = 0.8 / max(1, nser)
    fig, (ax,) = _figure(1, width=max(5.0, 1.2 * len(xs) + 3))
    colors = _palette(len(order) + 1)
    for j, s in enumerate(order):
        t = tables[s]
        if not t.height:
            continue
        x = [xs.index(ft) - 0.4 + width * (j + 0.5) for ft in t["fault_type"].to_list()]
        y = t[f"{definition}_pct"].to_list()
        lo = [max(0.0, v - l) for v, l in zip(y, t[f"{definition}_lo"].to_list())]     # rounding at 0%
        hi = [max(0.0, h - v) for v, h in zip(y, t[f"{definition}_hi"].to_list())]
        ax.errorbar(x, y, yerr=[lo, hi], fmt="o", color=colors[j], capsize=3,
                    label=f"{s} (n detected: {', '.join(map(str, t['detected'].to_list()))})")
    jx = len(order)
    for r in refs:
        x = xs.index(r["x"]) - 0.4 + width * (jx + 0.5)
        yerr = None if r["low"] is None else [[r["value"] - r["low"]], [r["high"] - r["value"]]]
        ax.errorbar([x], [r["value"]], yerr=yerr, fmt=PAPER_MARKERS[_bound(r["unit"])], color="C3", capsize=3,
                    markerfacecolor="none", label=f"{r['cite']}: {r['mechanism']}")
    ax.set_xticks(range(len(xs)), xs)
    ax.set_xlim(-0.5, len(xs) - 0.5)
    ax.set_ylim(-2, 102)
    ax.set_xlabel("fault type")
    ax.set_ylabel(f"success, {definition} def. (%)")
    ax.set_title("Recovery rate over detected failures (95% Wilson intervals)")
    handles, labels = ax.get_legend_handles_labels()
    uniq = dict(zip(labels, handles))
    fig.legend(uniq.values(), uniq.keys(), loc="outside lower center", fontsize="x-small", ncols=1)
    return fig


def _paper_rates(definition: str) -> list[dict]:
    """The papers' recovery rates of mechanisms we model, complete systems only (the DSN 2018 ablation
    ladder has its own figure); `x` is the fault type ("all" for a mix)."""
    p = paper_figures().filter(pl.col("unit").str.starts_with("percent") & (pl.col("definition") == definition)
                               & pl.col("mechanism").is_not_null() & ~pl.col("key").str.contains("ladder")
                               & ~pl.col("mechanism").str.contains(r"\(") & (pl.col("mechanism") != "all"))
    out = []
    for r in p.iter_rows(named=True):
        out.append(r | {"x": "all" if r["fault_type"] in (None, "mixed") else r["fault_type"]})
    return out


# -- one run's timeline --

PHASE_COLORS = {"fault latent": "C1", "recovery": "C3", "after recovery": "C2", "after injection": "C0",
                "after detection": "C7"}


def _reds(i: int):
    import seaborn as sns
    return sns.color_palette("Reds", 8)[2 + i % 6]


def fig_timeline(report):
    """One run (`RunReport`) on the simulated clock: its phases (fault latent, recovery, ...) as spans with
    every event marked (top), and each AppVM's longest progress gap beside the network peer's worst
    request latency (bottom)."""
    from workbench.analysis.runs import events, phases
    fig, (top, bottom) = _figure(2, width=5.5, height=3.4)
    ph, ev = phases(report), events(report)
    for i, r in enumerate(ph.iter_rows(named=True)):
        sub = r["phase"].startswith("recovery: ")        # an in-place recovery's own phases: shades of red
        color = PHASE_COLORS.get(r["phase"], "C4") if not sub else _reds(i)
        top.broken_barh([(r["start_ms"], max(r["end_ms"] - r["start_ms"], 1e-3))], (0.6, 0.8),
                        color=color, label=r["phase"])
    # zoom on injection -> end of recovery when there is one: the rest of the run is one long phase
    end_ms = cycles_to_ms(report.cycles)
    lo = ph["start_ms"].min() if ph.height else 0.0
    rec = ph.filter(pl.col("phase") != "after recovery")
    hi = rec["end_ms"].max() if rec.height and "after recovery" in ph["phase"].to_list() else end_ms
    pad = max(hi - lo, 1e-3) * 0.08
    window = (max(0.0, lo - pad), hi + pad)
    shown = [e for e in ev.iter_rows(named=True) if window[0] <= e["ms"] <= window[1]]
    for j, e in enumerate(shown):
        top.axvline(e["ms"], color="0.3", linewidth=0.8)
        top.annotate(e["event"][:48], (e["ms"], 1.5 + 0.27 * (j % 6)), fontsize="x-small", annotation_clip=True)
    top.set_xlim(*window)
    top.set_ylim(0, 3.2)
    top.set_yticks([])
    top.set_xlabel("simulated ms from the steady snapshot" +
                   (f" (the run goes on to {end_ms:.1f} ms)" if window[1] < end_ms else ""))
    top.set_title(f"{report.fault}: {report.outcome}" + (f" ({report.reason})" if report.reason else ""),
                  fontsize="small")
    if ph.height:
        top.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), ncols=4, fontsize="xx-small")
    names = [f"AppVM {i}" for i in range(len(report.progress_gap_ms))] + ["peer worst latency"]
    peer = (report.peer_worst_latency_us or 0) / 1000
    bottom.bar(range(len(names)), list(report.progress_gap_ms) + [peer],
               color=["C0"] * len(report.progress_gap_ms) + ["C4"])
    bottom.set_xticks(range(len(names)), names, rotation=20)
    bottom.set_ylabel("longest gap / latency (ms)")
    bottom.set_title(f"service: progress gaps, peer ({report.peer_lost} lost)", fontsize="small")
    return fig


# -- microreboot per component (issue 11) --

def fig_components(results, paper: bool = True):
    """Microreboot per component, one column per target · mechanism (`components.component_table`):
    left, the share of detected failures recovered (papers' definition) with its 95% Wilson interval,
    issue 11's goal (96%) as a dotted line and, with `paper`, the papers' figures of the same targets
    (the thesis's DVM/PrivVM and hypervisor rates, the TR's all-components service; ^: a lower bound);
    right, every run's recovery latency (simulated ms, detection to a working system) with the goal
    for the DVM back serving I/O (50 ms)."""
    import pandas as pd
    import seaborn as sns
    from workbench.analysis.components import (GOAL_DVM_BACK_MS, GOAL_RATE_PCT, PAPER_KEYS, component_rows,
                                               component_table)
    t = component_table(results)
    df = component_rows(results)
    labels = [f"{r['target']}{SEP}{r['mechanism']}" for r in t.iter_rows(named=True)]
    fig, (left, right) = _figure(2, width=max(4.5, 1.1 * len(labels) + 2.5), height=4.0)
    colors = _palette(max(1, len(labels)))
    for i, r in enumerate(t.iter_rows(named=True)):
        if not r["detected"]:
            continue
        y = r["papers_pct"]
        left.errorbar([i], [y], yerr=[[max(0.0, y - r["papers_lo"])], [max(0.0, r["papers_hi"] - y)]], fmt="o",
                      color=colors[i], capsize=4, label=f"{labels[i]} ({r['papers']}/{r['detected']})")
    left.axhline(GOAL_RATE_PCT, color="0.3", linestyle=":", label=f"issue 11 goal ({GOAL_RATE_PCT:g}%, dvm and privvm)")
    if paper:
        pub = paper_figures().filter(pl.col("key").is_in(list(PAPER_KEYS)))
        for j, r in enumerate(pub.iter_rows(named=True)):
            xs = [i for i, row in enumerate(t.iter_rows(named=True)) if row["target"] in PAPER_KEYS[r["key"]]]
            xs = xs or [len(labels) - 0.5]
            left.plot(xs, [r["value"]] * len(xs), marker=PAPER_MARKERS[_bound(r["unit"])], color=f"C{3 + j}",
                      linestyle="none", markersize=8, markerfacecolor="none",
                      label=f"{r['cite']}: {r['quantity']} ({r['value']:g}%)")
    left.set_xticks(range(len(labels)), labels, rotation=15)
    left.set_xlim(-0.5, max(len(labels), 1) - 0.5)
    left.set_ylim(-2, 102)
    left.set_ylabel("detected failures recovered, papers' def. (%)")
    left.set_title("Recovery rate per component (95% Wilson)", fontsize="small")
    lat = df.filter(pl.col("recovery_latency_ms").is_not_null())
    if lat.height:
        data = pd.DataFrame({"series": [f"{a}{SEP}{b}" for a, b in zip(lat["target"], lat["mechanism"])],
                             "ms": lat["recovery_latency_ms"].to_list()})
        sns.boxplot(data=data, x="series", y="ms", order=labels, ax=right, showfliers=False, color="0.85", width=0.6)
        sns.stripplot(data=data, x="series", y="ms", order=labels, ax=right, size=3, jitter=0.2, color="C0", alpha=0.7)
        right.set_yscale("log")
    else:
        right.text(0.5, 0.5, "no run measured a recovery latency", transform=right.transAxes, ha="center")
    right.axhline(GOAL_DVM_BACK_MS, color="0.3", linestyle=":", label=f"goal: DVM back serving I/O ({GOAL_DVM_BACK_MS:g} ms)")
    right.set_xticks(range(len(labels)), labels, rotation=15)
    right.set_xlabel("")
    right.set_ylabel("recovery latency (simulated ms)")
    right.set_title("Recovery latency per component", fontsize="small")
    right.legend(loc="upper left", fontsize="x-small")
    fig.legend(*left.get_legend_handles_labels(), loc="outside lower center", fontsize="x-small", ncols=2)
    fig.suptitle("Microreboot per component")
    return fig


def fig_component_service(results, runs: str = "detected"):
    """The service interruption per component as each user saw it (`components.service_table`'s runs):
    one panel per target · mechanism, a box and every run as a point for the network peer's worst
    request latency and each AppVM's longest progress gap (simulated ms, log scale). A run in which
    the peer lost requests is counted in the panel's title, not drawn (its interruption had no end)."""
    import pandas as pd
    import seaborn as sns
    from workbench.analysis.components import _order, _per_appvm, _workloads, component_rows
    if runs not in SERVICE_RUNS:
        raise ValueError(f"runs={runs!r} is invalid: allowed {', '.join(map(repr, SERVICE_RUNS))}")
    df = component_rows(results)
    if runs == "detected":
        df = df.filter(pl.col("detected").is_not_null())
    keys = _order(df) if df.height else []
    fig, axes = _figure(max(1, len(keys)), width=3.6, height=3.8, sharey=True)
    for ax, (target, mech) in zip(axes, keys):
        g = df.filter((pl.col("target") == target) & (pl.col("mechanism") == mech))
        answered = g.filter(pl.col("peer_lost").fill_null(0) == 0)
        parts = {"peer worst latency": (answered["peer_worst_latency_us"] / 1000).drop_nulls().to_list()}
        parts |= {k: v.to_list() for k, v in _per_appvm(g, _workloads(results)).items()}
        data = pd.DataFrame({"who": [k for k, v in parts.items() for _ in v],
                             "ms": [x for v in parts.values() for x in v]})
        data = data[data["ms"] > 0]          # a log scale: a run without a gap has nothing to draw
        if len(data):
            sns.boxplot(data=data, x="who", y="ms", order=list(parts), ax=ax, showfliers=False, color="0.85", width=0.6)
            sns.stripplot(data=data, x="who", y="ms", order=list(parts), ax=ax, size=3, jitter=0.2, color="C0", alpha=0.7)
            ax.set_yscale("log")
        ax.set_xticks(range(len(parts)), list(parts), rotation=30)
        ax.set_xlabel("")
        lost = int((g["peer_lost"].fill_null(0) > 0).sum())
        ax.set_title(f"{target}{SEP}{mech}: {g.height} runs, {lost} with requests lost", fontsize="small")
    axes[0].set_ylabel("longest interruption per run (simulated ms)")
    fig.suptitle(f"Service interruption per component ({'runs with a detected failure' if runs == 'detected' else 'all runs'})")
    return fig
