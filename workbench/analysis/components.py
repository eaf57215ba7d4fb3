"""Microreboot per component (issue 11, item 6): one table of outcome, causes and latency per target
component (hv / dvm / privvm), the service interruption as the network peer and each AppVM saw it,
the goals of issue 11 checked against campaign rows, and the papers' figures to set beside them.

Rows are grouped by `target` and `mechanism`: the mechanism configured for the target component,
read from the campaign's recovery ("hv=rehype,dvm=dvm_reboot,privvm=privvm_reboot" recovers a DVM
fault with dvm_reboot). Rates are over detected failures with 95% Wilson intervals
(`campaign.stats.wilson`), as `campaign.summary.recovery_table` computes them per fault type.
The DVM's back-to-I/O latency is the recovery latency of its dvm_reboot runs (detection to every
AppVM running again, blk and net served by the new DVM).
"""
from __future__ import annotations

import polars as pl

from workbench.analysis.data import mechanism_key, paper_figures, rows, target_key
from workbench.campaign.stats import wilson
from workbench.campaign.summary import CATEGORIES, DEFINITIONS
from workbench.system.config import COMPONENTS, parse_recovery

# The papers' figures a per-component table stands beside: key of data/paper/figures.csv -> the
# targets whose detected failures it counts.
PAPER_KEYS = {"thesis_dvm_privvm": ("dvm", "privvm"), "thesis_hv_service": ("hv",),
              "tr140019_service": COMPONENTS}
# Issue 11's goals: a rate over detected failures (papers' definition) per component, the DVM back
# serving I/O within this many simulated ms of detection, no request of the peer lost for good.
GOAL_RATE_PCT = 96.0
GOAL_DVM_BACK_MS = 50.0


def mechanism_of(target: str, recovery: str | None) -> str:
    """The mechanism that recovers `target` under a campaign's recovery ("-" for an AppVM target)."""
    if target not in COMPONENTS:
        return "-"
    return parse_recovery(recovery or "halt")[target]


def component_rows(results) -> pl.DataFrame:
    """`data.rows(results)` with `mechanism`: the mechanism configured for each row's target."""
    df = rows(results)
    pairs = df.select("target", "recovery").unique()
    mech = pl.DataFrame([{"target": t, "recovery": r, "mechanism": mechanism_of(t, r)} for t, r in pairs.iter_rows()],
                        schema={"target": pl.Utf8, "recovery": pl.Utf8, "mechanism": pl.Utf8})
    return df.join(mech, on=["target", "recovery"], how="left", nulls_equal=True)


def _order(df: pl.DataFrame) -> list[tuple[str, str]]:
    keys = df.select("target", "mechanism").unique().iter_rows()
    return sorted(keys, key=lambda k: (target_key(k[0]), mechanism_key(k[1])))


def _q(s: pl.Series, q: float):
    return s.quantile(q, "linear") if s.len() else None


def _share(name: str, k: int, n: int) -> dict:
    lo, hi = wilson(k, n)
    pct = 100 * k / n if n else None
    return {name: k, f"{name}_pct": pct, f"{name}_lo": 100 * lo if n else None, f"{name}_hi": 100 * hi if n else None}


def causes_text(df: pl.DataFrame) -> str:
    """The failed recoveries' causes, most frequent first: "cause xn; ..." ("" when none failed; "not
    recorded" for campaigns saved before causes were)."""
    failed = df.filter(pl.col("outcome") == "recovery_failed")
    if not failed.height:
        return ""
    counts = failed.group_by(pl.col("cause").fill_null("not recorded")).len().sort(["len", "cause"], descending=[True, False])
    return "; ".join(f"{c} x{n}" for c, n in counts.iter_rows())


COMPONENT_SCHEMA = {
    "target": pl.Utf8, "mechanism": pl.Utf8, "runs": pl.Int64,
    **{c: pl.Int64 for c in CATEGORIES}, "recovered": pl.Int64, "recovery_failed": pl.Int64,
    "detected_as_other": pl.Int64,
    **{f"{d}{s}": t for d in DEFINITIONS for s, t in (("", pl.Int64), ("_pct", pl.Float64), ("_lo", pl.Float64),
                                                      ("_hi", pl.Float64))},
    "causes": pl.Utf8, "detection_p50_ms": pl.Float64, "recovery_p50_ms": pl.Float64,
    "recovery_p90_ms": pl.Float64, "recovery_max_ms": pl.Float64,
}


def component_table(results) -> pl.DataFrame:
    """Outcome, causes and latency per target component and its mechanism, one row each:
    runs; the papers' categories (not_manifested, sdc, undetected_failure, detected); recovered and
    recovery_failed (they add up to detected); detected_as_other (detected as another component's
    failure: a DVM fault that crashed the hypervisor); success over detected failures under both
    definitions (`strict`, `papers`: count, percent, 95% Wilson interval); `causes` of the failed
    recoveries; detection latency median and recovery latency (detection to a working system)
    median, p90 and max, in simulated ms. results: what `data.rows` takes."""
    df = component_rows(results)
    out = []
    for target, mech in _order(df):
        g = df.filter((pl.col("target") == target) & (pl.col("mechanism") == mech))
        det = g.filter(pl.col("detected").is_not_null())
        row = {"target": target, "mechanism": mech, "runs": g.height}
        row |= {c: g.filter(pl.col("outcome").is_in(outs)).height for c, outs in CATEGORIES.items()}
        row |= {o: g.filter(pl.col("outcome") == o).height for o in ("recovered", "recovery_failed")}
        row["detected_as_other"] = det.filter(pl.col("failed_component").is_not_null()
                                              & (pl.col("failed_component") != target)).height
        for name, col in DEFINITIONS.items():
            row |= _share(name, int(det[col].fill_null(False).sum()), det.height)
        rec = g["recovery_latency_ms"].drop_nulls()
        row |= {"causes": causes_text(g), "detection_p50_ms": _q(g["detection_latency_ms"].drop_nulls(), 0.5),
                "recovery_p50_ms": _q(rec, 0.5), "recovery_p90_ms": _q(rec, 0.9),
                "recovery_max_ms": rec.max() if rec.len() else None}
        out.append(row)
    return pl.DataFrame(out, schema=COMPONENT_SCHEMA)


SERVICE_SCHEMA = {"target": pl.Utf8, "mechanism": pl.Utf8, "seen_by": pl.Utf8, "runs": pl.Int64,
                  "runs_interrupted": pl.Int64, "lost": pl.Int64, "runs_with_lost": pl.Int64,
                  "retransmissions": pl.Int64, "p50_ms": pl.Float64, "p90_ms": pl.Float64, "max_ms": pl.Float64}


def service_table(results, runs: str = "detected", threshold_ms: float = 10.0) -> pl.DataFrame:
    """The service interruption per target component and mechanism, as each user of the system saw
    it: one row for the network peer (requests lost for good, retransmissions, worst request latency)
    and one per AppVM (its longest stretch without progress), over the runs with a detected failure
    (runs="detected") or all runs ("all"). p50/p90/max are of the per-run value in simulated ms;
    runs_interrupted counts runs where it exceeded `threshold_ms`. An AppVM row needs the per-AppVM
    gaps (`gap_appvm<i>_ms`; older campaigns give "AppVMs (largest)":
    the largest gap of any AppVM); retransmissions likewise (null for older campaigns)."""
    if runs not in ("detected", "all"):
        raise ValueError(f"runs={runs!r} is invalid: allowed 'detected' or 'all'")
    df = component_rows(results)
    if runs == "detected":
        df = df.filter(pl.col("detected").is_not_null())
    out = []
    for target, mech in _order(df):
        g = df.filter((pl.col("target") == target) & (pl.col("mechanism") == mech))
        base = {"target": target, "mechanism": mech}
        worst = (g["peer_worst_latency_us"] / 1000).drop_nulls()
        retx = g["peer_retransmissions"].drop_nulls() if "peer_retransmissions" in g.columns else pl.Series([], dtype=pl.Int64)
        out.append(base | {"seen_by": "network peer", "runs": g.height,
                           "runs_interrupted": int((worst > threshold_ms).sum()),
                           "lost": int(g["peer_lost"].fill_null(0).sum()),
                           "runs_with_lost": int((g["peer_lost"].fill_null(0) > 0).sum()),
                           "retransmissions": int(retx.sum()) if retx.len() else None,
                           "p50_ms": _q(worst, 0.5), "p90_ms": _q(worst, 0.9),
                           "max_ms": worst.max() if worst.len() else None})
        per = _per_appvm(g, _workloads(results))
        for who, gaps in per.items():
            out.append(base | {"seen_by": who, "runs": gaps.len(), "runs_interrupted": int((gaps > threshold_ms).sum()),
                               "lost": None, "runs_with_lost": None, "retransmissions": None,
                               "p50_ms": _q(gaps, 0.5), "p90_ms": _q(gaps, 0.9),
                               "max_ms": gaps.max() if gaps.len() else None})
    return pl.DataFrame(out, schema=SERVICE_SCHEMA)


def _per_appvm(g: pl.DataFrame, workloads=()) -> dict[str, pl.Series]:
    """{"AppVM i (workload)": longest gap per run} from the `gap_appvm<i>_ms` columns, else {"AppVMs
    (largest)": progress_gap_ms}. workloads: the AppVMs' workloads when every campaign had the same."""
    from workbench.faults.report import gap_column
    n = 0
    while gap_column(n) in g.columns:
        n += 1
    if n and g.height and all(g[gap_column(i)].drop_nulls().len() == g.height for i in range(n)):
        name = lambda i: f"AppVM {i}" + (f" ({workloads[i]})" if len(workloads) == n else "")
        return {name(i): g[gap_column(i)].drop_nulls() for i in range(n)}
    return {"AppVMs (largest)": g["progress_gap_ms"].drop_nulls()}


def _workloads(results) -> tuple[str, ...]:
    """The AppVMs' workloads from the campaigns' manifests when they all agree, else ()."""
    from workbench.analysis.data import as_results
    items = results.values() if isinstance(results, dict) else results if isinstance(results, (list, tuple)) else [results]
    seen = set()
    for r in items:
        if isinstance(r, pl.DataFrame):
            return ()
        seen.add(tuple(as_results(r).manifest.get("config", {}).get("appvms") or ()))
    return seen.pop() if len(seen) == 1 else ()


GOALS_SCHEMA = {"goal": pl.Utf8, "target": pl.Utf8, "mechanism": pl.Utf8, "value": pl.Utf8, "required": pl.Utf8,
                "met": pl.Boolean, "certain": pl.Boolean}


def goals(results) -> pl.DataFrame:
    """Issue 11's goals checked against the rows of each component microreboot (dvm, privvm targets):
    recovered share of detected failures (papers' definition) >= 96% (`met` on the rate; `certain`
    when the whole Wilson interval is on one side of 96%, i.e. the campaign is large enough to say so); the DVM back serving I/O within 50 simulated ms of detection (every dvm_reboot run's
    recovery latency); no request of the network peer lost for good in a detected run. Block data
    never lost or corrupted shows as the blk AppVM's outcome: such a run is not recovered."""
    t = component_table(results)
    s = service_table(results)
    out = []
    for r in t.filter(pl.col("target").is_in(["dvm", "privvm"]) & (pl.col("mechanism") != "halt")).iter_rows(named=True):
        n, pct, lo = r["detected"], r["papers_pct"], r["papers_lo"]
        out.append({"goal": "detected failures recovered", "target": r["target"], "mechanism": r["mechanism"],
                    "value": "-" if not n else f"{pct:.1f}% [{lo:.1f}, {r['papers_hi']:.1f}] ({r['papers']}/{n})",
                    "required": f">= {GOAL_RATE_PCT:g}%", "met": None if not n else pct >= GOAL_RATE_PCT,
                    "certain": None if not n else lo >= GOAL_RATE_PCT or r["papers_hi"] < GOAL_RATE_PCT})
        if r["target"] == "dvm":
            mx = r["recovery_max_ms"]
            out.append({"goal": "DVM back serving I/O (recovery latency, max)", "target": "dvm",
                        "mechanism": r["mechanism"], "value": "-" if mx is None else f"{mx:.2f} ms",
                        "required": f"<= {GOAL_DVM_BACK_MS:g} ms", "met": None if mx is None else mx <= GOAL_DVM_BACK_MS,
                        "certain": None if mx is None else True})
        p = s.filter((pl.col("target") == r["target"]) & (pl.col("mechanism") == r["mechanism"])
                     & (pl.col("seen_by") == "network peer"))
        if p.height:
            lost, retx = p["lost"][0], p["retransmissions"][0]
            out.append({"goal": "network peer: no request lost for good", "target": r["target"],
                        "mechanism": r["mechanism"],
                        "value": f"{lost} lost" + ("" if retx is None else f", {retx} retransmissions"),
                        "required": "0 lost", "met": lost == 0, "certain": True})
    return pl.DataFrame(out, schema=GOALS_SCHEMA)


def beside_papers(results) -> pl.DataFrame:
    """Our success rates (papers' definition, over detected failures) beside the papers' figures they
    compare with (`PAPER_KEYS`): the thesis's 96% of DVM and PrivVM failures, its 86% of hypervisor
    failures, the TR's 87% of all components' failures with every mechanism on. One row per figure:
    key, quantity, published value (a lower bound), citation, our targets, our rate and interval."""
    df = component_rows(results).filter(pl.col("detected").is_not_null() & (pl.col("mechanism") != "halt"))
    pub = paper_figures().filter(pl.col("key").is_in(list(PAPER_KEYS)))
    out = []
    for r in pub.iter_rows(named=True):
        targets = PAPER_KEYS[r["key"]]
        g = df.filter(pl.col("target").is_in(list(targets)))
        k = int(g["success_papers"].fill_null(False).sum())
        sh = _share("ours", k, g.height)
        out.append({"key": r["key"], "quantity": r["quantity"], "published_pct": r["value"], "unit": r["unit"],
                    "citation": r["citation"], "our_targets": "+".join(t for t in targets if t in set(g["target"])) or "-",
                    "our_detected": g.height, "our_pct": sh["ours_pct"], "our_lo": sh["ours_lo"], "our_hi": sh["ours_hi"]})
    return pl.DataFrame(out, schema={"key": pl.Utf8, "quantity": pl.Utf8, "published_pct": pl.Float64, "unit": pl.Utf8,
                                     "citation": pl.Utf8, "our_targets": pl.Utf8, "our_detected": pl.Int64,
                                     "our_pct": pl.Float64, "our_lo": pl.Float64, "our_hi": pl.Float64})
