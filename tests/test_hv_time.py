"""Hypervisor system time (issue 9): NOW() = base + (mtime - stamp) * mul in static hv state,
published to each guest's shared info with the version protocol, used for every hv deadline."""
from __future__ import annotations

import hv_fixtures as fx
from workbench.machine.board import MTIME_DIVIDER
from workbench.system import System, SystemConfig


def boot(appvms=("compute", "compute"), harts=2) -> System:
    its = tuple({"hcall": 400, "compute": 400000, "net": 40, "blk": 64}[a] for a in appvms)
    s = System(SystemConfig(harts=harts, appvms=appvms, iterations=its, ram_size=32 << 20))
    s.boot()
    return s


def published(s, domid) -> tuple[int, int]:
    si = s.hv.types.view_at(s.machine, s.hv.domain(domid).view.shinfo, "shared_info")
    return si.time_version, si.time_hi << 32 | si.time_lo


def test_time_base_is_this_instances_boot():
    s = boot()
    t = fx.hv_view(s, "hv_time")
    assert t.base == 0 and t.stamp > 0                   # a fresh instance starts system time at 0
    assert t.mul == t.inv == 1 << 16


def test_published_time_is_even_at_rest_and_monotonic():
    s = boot()
    last = {}
    for round_ in range(12):
        for d in (a.domid for a in s.appvms):
            fx.run_until_guest(s, d)                       # its hart is in the guest: no update under way
            version, now = published(s, d)
            assert version % 2 == 0 and version > 0, (d, version)
            assert now >= last.get(d, 0), (d, now, last)
            # system time counts from this instance's boot stamp, not from mtime 0
            stamp = fx.hv_view(s, "hv_time").stamp
            assert now + stamp <= s.machine.cycle // MTIME_DIVIDER, (now, stamp, s.machine.cycle)
            last[d] = now
        s.machine.run(max_cycles=30_000)
    assert all(v > 0 for v in last.values())


def test_timer_deadlines_are_in_system_time():
    # the hv's timers (guest one-shot and poll timeouts) are armed in system time: an armed
    # deadline lies within a second of the published time
    s = boot(appvms=("net",))
    t = s.hv.types
    found = []
    for _ in range(300):
        s.machine.run(max_cycles=20_000)
        for d in s.hv.domains:
            v = t.view_at(s.machine, d.view.vcpu, "vcpu")
            for tm in (v.timer, v.poll_timer):
                if tm.active:
                    found.append((d.domid, tm.deadline, published(s, d.domid)[1]))
        if found:
            break
    assert found
    for domid, deadline, now in found:
        assert abs(deadline - now) < 10_000_000, (domid, deadline, now)
