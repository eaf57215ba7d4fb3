"""The ablation (issue 10, item 4): one fault list under a cumulative ladder plus a baseline, resumable
and deterministic; failure causes tallied per step; `next_enhancement` reads the cause list.

Until ReHype is merged the ladder here runs under `reboot`, where the enhancements do nothing: these
tests check the plumbing (one fault list, one folder per step, resume, determinism, tables, causes),
not that an enhancement helps."""
from __future__ import annotations

import threading

import polars as pl
import pytest
from html_text import VisibleText

from workbench import ALL_ENHANCEMENTS
from workbench.analysis import Ablation, ablation, ladder, next_enhancement
from workbench.analysis.ablation import NOT_RECORDED, cause_table, parse_steps
from workbench.campaign import Campaign, CampaignResults
from workbench.faults import FaultSpace
from workbench.stack import abi
from workbench.system import SystemConfig

SMALL = SystemConfig(iterations=(16, 20, 40))
STEPS = ["reset_locks", ("hypercall_retry", "ack_irqs")]


def visible(html: str) -> str:
    v = VisibleText()
    v.feed(html)
    return "\n".join(v.parts)


@pytest.fixture(scope="module")
def faults():
    return Campaign(SMALL, "hv", ("reg", "failstop"), n=6, seed=2).faults


@pytest.fixture(scope="module")
def plumbing(faults):
    return ablation(SMALL, faults, STEPS, recovery="reboot", baseline="halt", executor="inline", progress=False)


# -- Campaign.of_faults --

def test_campaign_of_a_given_fault_list_runs_it_and_says_so(faults, tmp_path):
    c = Campaign.of_faults(SMALL, faults, recovery="reboot")
    assert c.fault_rows == [f.row() for f in faults] and c.n == 6 and c.target == "hv"
    r = c.run("inline", progress=False, out=tmp_path)
    assert r.manifest["faults_given"] is True and r.manifest["faults"] == c.fault_rows
    assert r.df["run"].to_list() == list(range(6)) and r.df["fault_type"].to_list() == [f.kind for f in faults]
    sampled = Campaign(SMALL, "hv", ("reg", "failstop"), n=6, seed=2, recovery="reboot").run("inline", progress=False)
    assert sampled.manifest["faults_given"] is False
    assert r.df.drop("wall_s").equals(sampled.df.drop("wall_s"))        # the same faults, the same rows
    again = Campaign.resume(tmp_path, "inline", progress=False)
    assert again.df.equals(r.df) and Campaign.from_manifest(again.manifest).given


def test_campaign_of_faults_rejects_bad_lists(faults):
    with pytest.raises(ValueError, match="faults=\\[\\]"):
        Campaign.of_faults(SMALL, [])
    with pytest.raises(ValueError, match=r"faults\[1\]"):
        Campaign.of_faults(SMALL, [faults[0], 42])
    other = dict(faults[0].row(), target="privvm")
    with pytest.raises(ValueError, match="one target"):
        Campaign.of_faults(SMALL, [faults[0], other])


# -- the ladder --

def test_default_ladder_is_basic_then_each_enhancement_in_the_papers_order_then_reboot():
    steps = ladder()
    assert [s.name for s in steps] == ["basic"] + [f"+{e}" for e in ALL_ENHANCEMENTS] + ["reboot"]
    assert tuple(abi.enhancements()) == ALL_ENHANCEMENTS
    for i, s in enumerate(steps[:-1]):
        assert s.recovery == "rehype" and s.enhancements == ALL_ENHANCEMENTS[:i] and not s.baseline
    assert steps[-1].baseline and steps[-1].recovery == "reboot"
    assert len({s.dirname for s in steps}) == len(steps)


def test_ladder_steps_are_cumulative_and_validated():
    s = ladder(["time_continuity", ("reset_locks", "ack_irqs")], baseline=None)
    assert [x.name for x in s] == ["basic", "+time_continuity", "+reset_locks+ack_irqs"]
    on = {"time_continuity", "reset_locks", "ack_irqs"}
    assert s[2].enhancements == tuple(e for e in ALL_ENHANCEMENTS if e in on)
    assert s[2].added == ("reset_locks", "ack_irqs")
    with pytest.raises(ValueError, match=r"steps\[0\]='nope'"):
        ladder(["nope"])
    with pytest.raises(ValueError, match="added twice"):
        ladder(["reset_locks", ("ack_irqs", "reset_locks")])
    with pytest.raises(ValueError, match="steps="):
        ladder("reset_locks")
    assert parse_steps("reset_locks, ack_irqs+event_kick") == ["reset_locks", ("ack_irqs", "event_kick")]
    assert parse_steps("") is None


# -- running it --

def test_every_step_runs_the_same_fault_list(plumbing, faults):
    assert plumbing.complete and [s.name for s in plumbing.steps] == ["basic", "+reset_locks",
                                                                      "+hypercall_retry+ack_irqs", "halt"]
    rows = [f.row() for f in faults]
    for s in plumbing.steps:
        r = plumbing.results[s.name]
        assert r.manifest["faults"] == rows and r.manifest["faults_given"]
        assert r.manifest["config"]["recovery"] == s.recovery
        assert tuple(r.manifest["config"]["enhancements"]) == s.enhancements
    t = plumbing.table
    assert t["name"].unique(maintain_order=True).to_list() == [s.name for s in plumbing.steps]
    assert set(t["fault_type"]) == {"reg", "failstop", "all"}
    allrows = t.filter(pl.col("fault_type") == "all")
    assert (allrows["runs"] == 6).all()
    for s in plumbing.steps:                 # the table is campaign.summary's recovery table, per step
        want = plumbing.results[s.name].summary().recovery
        got = t.filter(pl.col("name") == s.name).select(want.columns)
        assert got.equals(want)


def test_the_same_fault_list_twice_gives_identical_tables(plumbing, faults):
    again = ablation(SMALL, faults, STEPS, recovery="reboot", baseline="halt", executor="inline", progress=False)
    assert again.table.equals(plumbing.table) and again.causes.equals(plumbing.causes)


def test_a_fault_space_is_sampled_once_from_its_seed():
    space = FaultSpace("hv", ("reg", "failstop"))
    a = ablation(SMALL, space, ["reset_locks"], n=6, seed=2, recovery="reboot", baseline=None, executor="inline",
                 progress=False)
    want = [f.row() for f in space.sample(Campaign(SMALL, recovery="reboot").system, 6, 2)]
    assert a.plan["faults"] == want and a.plan["fault_space"]["fault_types"] == ["reg", "failstop"]
    with pytest.raises(ValueError, match="n=None"):
        ablation(SMALL, space, recovery="reboot", executor="inline", progress=False)


def test_stopped_ablation_resumes_to_the_same_table(plumbing, faults, tmp_path):
    stop = threading.Event()
    seen = []

    def after_step(ab):
        seen.append(len(ab.results))
        stop.set()                           # the user stops after the first step
    part = ablation(SMALL, faults, STEPS, recovery="reboot", baseline="halt", executor="inline", progress=False,
                    out=tmp_path, stop=stop, on_step=after_step)
    assert seen == [1] and not part.complete and list(part.results) == ["basic"]
    assert (tmp_path / "ablation.json").exists() and (tmp_path / "00-basic" / "manifest.json").exists()
    loaded = Ablation.load(tmp_path)
    assert list(loaded.results) == ["basic"] and loaded.table.equals(part.table)
    done = Ablation.resume(tmp_path, "inline", progress=False)
    assert done.complete and done.table.equals(plumbing.table)
    # the first step was read back, not run again
    assert done.results["basic"].df.equals(part.results["basic"].df)
    again = ablation(SMALL, faults, STEPS, recovery="reboot", baseline="halt", executor="inline", progress=False,
                     out=tmp_path)           # the same call continues the same folder: nothing left to run
    assert again.table.equals(plumbing.table)
    with pytest.raises(FileExistsError, match="another ablation"):
        ablation(SMALL, faults, ["reset_locks"], recovery="reboot", executor="inline", progress=False, out=tmp_path)


def test_save_and_load_round_trip(plumbing, tmp_path):
    plumbing.save(tmp_path / "a")
    back = Ablation.load(tmp_path / "a")
    assert back.complete and back.table.equals(plumbing.table) and back.plan == plumbing.plan
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == sorted(
        ["ablation.json"] + [s.dirname for s in plumbing.steps])


def test_text_and_html_reprs_show_the_same_facts(plumbing):
    text, html = repr(plumbing), visible(plumbing._repr_html_())
    for s in plumbing.display_summary().strings():
        assert s in text and s in html
    assert "+hypercall_retry+ack_irqs" in text and "recovery success" in text


def test_figure_has_the_measured_ladder_and_the_published_one(plumbing):
    fig = plumbing.figure()
    measured, published = fig.axes[:2]
    assert [t.get_text() for t in measured.get_xticklabels()][:3] == ["basic", "+reset_locks",
                                                                      "+hypercall_retry+ack_irqs"]
    assert "DSN 2018" in published.get_title()
    ys = [y for line in published.get_lines() for y in line.get_ydata()]
    assert 5.6 in ys and 65.4 in ys and 96.4 in ys and 98.9 in ys        # data/paper/figures.csv
    assert len(plumbing.figure(paper=False).axes) == 1
    with pytest.raises(ValueError, match="definition"):
        plumbing.figure(definition="loose")


# -- causes and the next enhancement --

def rows(causes, success=None):
    """A results table of detected runs with these causes (None: a run that names none)."""
    n = len(causes)
    ok = success or [c == "none" for c in causes]
    return pl.DataFrame({"detected": ["crash"] * n, "cause": causes, "success_strict": ok, "success_papers": ok,
                         "fault_type": ["reg"] * n, "outcome": ["recovered" if o else "recovery_failed" for o in ok]})


def test_causes_are_counted_most_common_first_with_the_enhancement_that_removes_them():
    df = rows(["lock_held", "timer_lost", "lock_held", "none", "recovery_crashed", "timer_lost", "lock_held"])
    t = cause_table(df)
    assert t["cause"].to_list() == ["lock_held", "timer_lost", "recovery_crashed"]
    assert t["failed"].to_list() == [3, 2, 1] and t["share_pct"].to_list() == pytest.approx([50, 100 / 3, 100 / 6])
    causes = abi.recovery_causes()
    assert t["removed_by"].to_list() == [causes["lock_held"].enhancement, causes["timer_lost"].enhancement, None]
    nxt = next_enhancement(df)
    assert (nxt.cause, nxt.enhancement, nxt.count, nxt.failed, nxt.detected) == ("lock_held", "reset_locks", 3, 6, 7)
    assert "add reset_locks" in nxt.advice and "add reset_locks" in repr(nxt) and "reset_locks" in nxt._repr_html_()


def test_ties_follow_the_cause_list_and_a_cause_without_enhancement_gives_none():
    assert next_enhancement(rows(["time_backwards", "event_lost"])).cause == "event_lost"   # 10 before 11
    n = next_enhancement(rows(["appvm_lost", "appvm_lost", "lock_held"]))
    assert n.cause == "appvm_lost" and n.enhancement is None and "no enhancement removes it" in n.advice
    clean = next_enhancement(rows(["none", "none"]))
    assert clean.cause is None and clean.enhancement is None and clean.failed == 0 and "nothing to add" in clean.advice


def test_definitions_and_unrecorded_causes():
    df = rows(["lock_held", "appvm_wrong"], success=[False, False]).with_columns(
        pl.Series("success_papers", [False, True]))
    assert next_enhancement(df, "papers").failed == 1 and next_enhancement(df, "strict").failed == 2
    with pytest.raises(ValueError, match="definition"):
        next_enhancement(df, "loose")
    n = next_enhancement(df.drop("cause"))
    assert n.cause == NOT_RECORDED and n.enhancement is None


def test_next_enhancement_of_campaign_results_knows_what_was_on(plumbing):
    r = plumbing.results["basic"]
    df = r.df.with_columns(pl.when(pl.col("outcome") == "recovery_failed").then(pl.lit("lock_held"))
                           .alias("cause"))
    on = dict(r.manifest, config=dict(r.manifest["config"], recovery="rehype", enhancements=["reset_locks"]))
    n = next_enhancement(CampaignResults(df, on))
    assert n.enhancement == "reset_locks" and n.enabled and "already on" in n.advice
    off = dict(on, config=dict(on["config"], enhancements=[]))
    assert not next_enhancement(CampaignResults(df, off)).enabled
    # reboot's failures (work lost) are nothing an enhancement removes, whether it names a cause or not
    last = next_enhancement(plumbing)
    assert last.enhancement is None and last.cause in {NOT_RECORDED, "appvm_lost", "other"}
    assert last.detected > 0 and last.failed == last.detected             # a reboot recovers none
