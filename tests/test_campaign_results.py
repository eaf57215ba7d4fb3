"""Campaign results without running anything: statistics, the summary, the files and their errors
(issue 8, item 5). Rows are constructed here as `RunReport.row()` would give them."""
from __future__ import annotations

import json
import math

import polars as pl
import pytest
from html_text import VisibleText

from workbench.analysis import summarize, wilson
from workbench.campaign import CampaignResults, ResultsFileError
from workbench.campaign import results as store


def visible(html: str) -> str:
    v = VisibleText()
    v.feed(html)
    return "\n".join(v.parts)


def faults(n):
    types = ["reg", "code", "failstop"]
    return [{"target": "hv", "fault_type": types[i % 3], "hart": 0, "at": 100 + i, "reg": "a0" if i % 3 == 0 else None,
             "bit": i % 32, "addr": None if i % 3 != 1 else 0x80001000 + 4 * i} for i in range(n)]


def row(i, f, outcome, detected=None, strict=None, papers=None):
    return {"run": i, **f, "outcome": outcome, "reason": None if outcome != "recovery_failed" else "appvm_lost",
            "detected": detected, "detection_latency_ms": 0.5 if detected else None,
            "recovery_latency_ms": 12.0 + i if detected else None, "appvms_affected": 0 if strict else 1,
            "health_check": None, "success_strict": strict, "success_papers": papers, "progress_gap_ms": 1.0,
            "peer_lost": 0, "peer_worst_latency_us": 80.0, "early_stop": None, "instructions": 1000 * i,
            "cycles": 2000 * i, "wall_s": 0.01}


def make(n=30):
    fl = faults(n)
    cycle = [("masked",), ("no_effect",), ("sdc",), ("recovered", "crash", True, True),
             ("recovery_failed", "hang", False, True), ("recovery_failed", "crash", False, False)]
    rows = [row(i, f, *cycle[i % len(cycle)]) for i, f in enumerate(fl)]
    manifest = {"format": store.FORMAT, "target": "hv", "fault_types": ["reg", "code", "failstop"], "n": n,
                "seed": 7, "recovery": "reboot", "config": {}, "faults": fl}
    return CampaignResults(store.frame(rows), manifest)


def test_wilson_known_values():
    lo, hi = wilson(963, 1000)                  # the papers' ~96.3% from 1,000 faults
    assert round(lo, 4) == 0.9494 and round(hi, 4) == 0.9730
    assert all(wilson(0, n)[0] == 0.0 and wilson(n, n)[1] == 1.0 for n in (10, 50, 557, 1000))
    assert all(math.isnan(x) for x in wilson(0, 0))
    with pytest.raises(ValueError, match="k=11"):
        wilson(11, 10)


def test_frame_types_and_order():
    r = make(12)
    assert r.df["run"].to_list() == list(range(12))
    shuffled = store.frame(list(reversed(r.df.to_dicts())))
    assert shuffled.equals(r.df)                                   # rows in fault order whatever the arrival
    assert r.df.schema["success_strict"] == pl.Boolean and r.df.schema["addr"] == pl.Int64
    assert set(store.REQUIRED) <= set(r.df.columns)


def test_summary_counts_categories_and_rates():
    r = make(30)
    s = summarize(r)
    allrow = s.outcomes.filter(pl.col("fault_type") == "all").row(0, named=True)
    assert allrow["runs"] == 30 and allrow["masked"] == 5 and allrow["recovery_failed"] == 10
    cat = s.categories.filter(pl.col("fault_type") == "all").row(0, named=True)
    assert (cat["not_manifested"], cat["sdc"], cat["detected"]) == (10, 5, 15)
    rec = s.recovery.filter(pl.col("fault_type") == "all").row(0, named=True)
    assert rec["detected"] == 15 and rec["strict"] == 5 and rec["papers"] == 10
    assert rec["papers_lo"] < rec["papers_pct"] < rec["papers_hi"]
    assert (rec["papers_lo"], rec["papers_hi"]) == pytest.approx(tuple(100 * x for x in wilson(10, 15)))
    assert s.outcomes["fault_type"].to_list() == ["reg", "code", "failstop", "all"]
    lat = s.latency.filter((pl.col("fault_type") == "all") & (pl.col("latency") == "recovery_latency"))
    assert lat["runs"][0] == 15 and lat["max"][0] == 12.0 + 29
    # results.summary() is the same summary
    assert str(r.summary()) == str(s)


def test_summary_text_and_html_show_the_same_facts():
    s = summarize(make(18))
    text, html = str(s), visible(s._repr_html_())
    for fact in s.display_summary().strings():
        assert fact in text and fact in html
    assert "66.7% [" in text        # a rate with its interval


def test_save_load_round_trip(tmp_path):
    r = make(12)
    r.save(tmp_path / "c")
    back = CampaignResults.load(tmp_path / "c")
    assert back.df.equals(r.df) and back.manifest == r.manifest and back.complete
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == ["manifest.json", "results.parquet"]
    assert "12 of 12" in repr(back) and "12 of 12" in visible(back._repr_html_())


def test_partial_results_load_as_incomplete(tmp_path):
    r = make(12)
    CampaignResults(r.df.filter(pl.col("run") % 2 == 0), r.manifest).save(tmp_path)
    back = CampaignResults.load(tmp_path)
    assert not back.complete and back.missing == list(range(1, 12, 2))


def test_truncated_results_file_is_named(tmp_path):
    make(12).save(tmp_path)
    p = tmp_path / "results.parquet"
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    with pytest.raises(ResultsFileError, match=r"results\.parquet: truncated or corrupt"):
        CampaignResults.load(tmp_path)


def test_garbage_results_and_manifest_are_named(tmp_path):
    make(6).save(tmp_path)
    (tmp_path / "results.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(ResultsFileError, match="results.parquet"):
        CampaignResults.load(tmp_path)
    (tmp_path / "manifest.json").write_text('{"format": 1, "n": 3')
    with pytest.raises(ResultsFileError, match="manifest.json: truncated or corrupt"):
        CampaignResults.load(tmp_path)
    (tmp_path / "manifest.json").unlink()
    with pytest.raises(ResultsFileError, match="manifest.json: missing"):
        CampaignResults.load(tmp_path)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        CampaignResults.load(tmp_path / "nowhere")


def test_rows_of_another_campaign_are_refused(tmp_path):
    r = make(6)
    r.save(tmp_path)
    m = json.loads((tmp_path / "manifest.json").read_text())
    m["faults"][2]["bit"] += 1
    (tmp_path / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(ResultsFileError, match=r"disagree with the manifest's fault list \(runs \[2\]\)"):
        CampaignResults.load(tmp_path)


def test_repeated_runs_and_missing_columns_are_refused(tmp_path):
    r = make(6)
    CampaignResults(pl.concat([r.df, r.df.head(1)]), r.manifest).save(tmp_path)
    with pytest.raises(ResultsFileError, match="unique"):
        CampaignResults.load(tmp_path)
    CampaignResults(r.df.drop("outcome"), r.manifest).save(tmp_path)
    with pytest.raises(ResultsFileError, match="missing columns outcome"):
        CampaignResults.load(tmp_path)


def test_atomic_write_leaves_old_file_when_writing_fails(tmp_path):
    r = make(6)
    r.save(tmp_path)

    def boom(p):
        p.write_bytes(b"partial")
        raise OSError("disk full")
    with pytest.raises(OSError, match="disk full"):
        store.write_atomic(tmp_path / "results.parquet", boom)
    assert CampaignResults.load(tmp_path).df.equals(r.df)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.json", "results.parquet"]


def with_phases(r: CampaignResults) -> CampaignResults:
    """`make()`'s rows as an in-place recovery reports them: the phases reached, each AppVM's gap, a cause."""
    rows = []
    for d in r.df.to_dicts():
        if d["detected"]:
            reached = ("stop", "image", "boot", "done") if d["outcome"] == "recovered" else ("stop", "image")
            d |= {f"phase_{p}_ms": 0.1 * (k + 1) + 0.001 * d["run"] for k, p in enumerate(reached)}
            d |= {"gap_appvm0_ms": 2.0, "gap_appvm1_ms": 3.0 + d["run"]}
        if d["outcome"] == "recovery_failed":
            d["cause"] = "lock_held" if d["detected"] == "hang" else "recovery_crashed"
        rows.append(d)
    return CampaignResults(store.frame(rows), r.manifest)


def test_phase_and_gap_columns_are_float_and_survive_batches_and_saving(tmp_path):
    r = with_phases(make(30))
    assert r.df.schema["phase_done_ms"] == pl.Float64 and r.df.schema["gap_appvm1_ms"] == pl.Float64
    # a batch in which no run reached a phase still gets a Float64 column (a resumed campaign concatenates)
    first = store.frame([d | {"phase_boot_ms": None} for d in make(6).df.to_dicts()])
    assert first.schema["phase_boot_ms"] == pl.Float64
    both = store.concat([first, r.df.filter(pl.col("run") >= 6)])
    assert both.height == 30 and both.schema["phase_stop_ms"] == pl.Float64
    r.save(tmp_path / "c")
    assert CampaignResults.load(tmp_path / "c").df.equals(r.df)


def test_columns_do_not_depend_on_which_batch_arrived_first():
    # batch 1 has no detected run (service columns only), batch 2 adds gaps and phases: processes and
    # Dask deliver them in either order, and the table must come out the same
    r = with_phases(make(12))
    rows = [d | {"peer_retransmissions": 0, "peer_longest_gap_us": 1.0} for d in r.df.to_dicts()]
    quiet = [{k: v for k, v in d.items() if not k.startswith(("phase_", "gap_"))} for d in rows[:2]]
    busy = [{k: v for k, v in d.items() if v is not None or not k.startswith(("phase_", "gap_"))} for d in rows[2:]]
    one, two = store.frame(quiet), store.frame(busy)
    assert store.concat([one, two]).equals(store.concat([two, one]))
    cols = store.concat([one, two]).columns
    extra = cols[cols.index("cause_detail") + 1:]
    assert extra == ["gap_appvm0_ms", "gap_appvm1_ms", "phase_stop_ms", "phase_image_ms", "phase_boot_ms",
                     "phase_done_ms", "peer_retransmissions", "peer_longest_gap_us"]


def test_summary_phase_percentiles_and_cause_tally():
    s = summarize(with_phases(make(30)))
    allp = s.phases.filter(pl.col("fault_type") == "all")
    assert allp["phase"].to_list() == ["stop", "image", "boot", "done"]          # phase order
    assert allp.filter(pl.col("phase") == "stop")["runs"][0] == 15               # every detected run got there
    assert allp.filter(pl.col("phase") == "done")["runs"][0] == 5                # only the recovered ones
    assert allp.filter(pl.col("phase") == "done")["max"][0] == pytest.approx(0.4 + 0.027)
    c = s.causes.filter(pl.col("fault_type") == "all")
    assert c["cause"].to_list() == ["lock_held", "recovery_crashed"] and c["runs"].to_list() == [5, 5]
    assert c["failed"].to_list() == [10, 10] and c["runs_pct"].to_list() == [50.0, 50.0]
    assert (c["runs_lo"][0], c["runs_hi"][0]) == pytest.approx(tuple(100 * x for x in wilson(5, 10)))
    text = str(s)
    assert "recovery phases" in text and "failed recoveries by cause" in text and "lock_held" in text
    # a campaign without in-place recoveries or failures shows neither table
    plain = summarize(make(3))
    assert plain.phases.height == 0 and "recovery phases" not in str(plain)


def test_old_saved_campaigns_still_load_and_summarise():
    from workbench.analysis import reference_campaigns
    for d in reference_campaigns():
        r = CampaignResults.load(d)
        s = r.summary()
        # phases only for in-place recoveries (rehype, dvm_reboot, privvm_reboot)
        assert s.phases.height == 0 or "_reboot" in r.manifest.get("recovery") or "rehype" in r.manifest.get("recovery")
        assert str(s)
