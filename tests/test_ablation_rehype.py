"""The ablation under ReHype itself (issue 10, item 4): on one small fail-stop list, basic ReHype
recovers less than ReHype with every enhancement, the reboot baseline loses the AppVMs' work, the
failed recoveries name causes of include/recovery_cause_list.h, and one turn of the papers' loop
(`next_enhancement`, then add it) removes the cause it named."""
from __future__ import annotations

import polars as pl
import pytest

from workbench import ALL_ENHANCEMENTS
from workbench.analysis import ablation, next_enhancement
from workbench.faults import FaultSpace
from workbench.stack import abi
from workbench.system import SystemConfig

SMALL = SystemConfig(iterations=(16, 20, 40))
SPACE = FaultSpace("hv", ("failstop",))


@pytest.fixture(scope="module")
def ends():
    """basic -> all nine at once -> reboot, on 8 hypervisor fail-stops (detected at once, as in Gigan)."""
    return ablation(SMALL, SPACE, [tuple(ALL_ENHANCEMENTS)], n=8, seed=3, executor="inline", progress=False)


def rate(ab, name):
    return ab.table.filter((pl.col("name") == name) & (pl.col("fault_type") == "failstop")).row(0, named=True)


def test_basic_rehype_recovers_less_than_all_enhancements(ends):
    names = [s.name for s in ends.steps]
    assert names == ["basic", "+" + "+".join(ALL_ENHANCEMENTS), "reboot"]
    basic, full = rate(ends, names[0]), rate(ends, names[1])
    assert basic["detected"] == full["detected"] == 8                  # fail-stops are all detected
    assert basic["strict"] < full["strict"] and basic["papers"] < full["papers"]
    assert full["strict"] >= 4                                          # most recovered with every enhancement


def test_reboot_baseline_loses_the_appvms_work(ends):
    base = rate(ends, "reboot")
    assert base["detected"] == 8 and base["strict"] == 0
    assert ends.results["reboot"].df["recovery_latency_ms"].drop_nulls().len() > 0


def test_failed_recoveries_name_causes_of_the_list(ends):
    causes = ends.causes
    known = set(abi.recovery_causes())
    assert causes.height and set(causes["cause"]) <= known
    basic = causes.filter(pl.col("name") == "basic")
    assert basic["failed"].sum() == 8 - rate(ends, "basic")["strict"]
    # basic ReHype's failures are hazards some enhancement removes
    assert basic.filter(pl.col("removed_by").is_not_null())["failed"].sum() > 0


def test_one_turn_of_the_loop_removes_the_cause_it_named(ends):
    nxt = next_enhancement(ends.results["basic"])
    assert nxt.enhancement in ALL_ENHANCEMENTS and not nxt.enabled
    assert abi.recovery_causes()[nxt.cause].enhancement == nxt.enhancement
    faults = ends.plan["faults"]
    turn = ablation(SMALL, faults, [nxt.enhancement], baseline=None, executor="inline", progress=False)
    before = turn.causes.filter((pl.col("name") == "basic") & (pl.col("cause") == nxt.cause))["failed"].sum()
    after = turn.causes.filter((pl.col("name") == f"+{nxt.enhancement}") & (pl.col("cause") == nxt.cause))
    assert before == nxt.count and after["failed"].sum() < before
    # the basic step of this second ablation is the same runs as the first one's
    assert turn.table.filter(pl.col("name") == "basic").equals(ends.table.filter(pl.col("name") == "basic"))
