"""The hypervisor's own recurring timers (issue 9): scheduler accounting on every hart and the
heartbeat monitor of the PrivVM and DVM, kept in preserved state with an in_handler flag."""
from __future__ import annotations

import hv_fixtures as fx
from workbench.system import System, SystemConfig


def boot(appvms=("compute", "blk"), harts=2) -> System:
    its = tuple({"compute": 400000, "blk": 64}[a] for a in appvms)
    s = System(SystemConfig(harts=harts, appvms=appvms, iterations=its, ram_size=32 << 20))
    s.boot()
    return s


def listed(s, hart) -> list[int]:
    """Addresses of the timers linked in `hart`'s list."""
    t = s.hv.types
    out, addr = [], fx.hv_view(s, "percpu")[hart].timers
    while addr and len(out) < 64:
        out.append(addr)
        addr = t.view_at(s.machine, addr, "timer").next
    return out


def test_hv_timers_are_armed_and_recurring():
    s = boot()
    root = s.hv.preserved
    t = s.hv.types
    from workbench.system.views.dwarf import addressof
    for h in range(2):
        a = root.acct_timer[h]
        assert a.active and a.period > 0 and a.in_handler == 0 and a.hart == h
        assert addressof(a) in listed(s, h)
    hb = root.hb_timer
    assert hb.active and addressof(hb) in listed(s, 0)
    checks = root.hb_checks
    s.machine.run(max_cycles=5_000_000)
    assert s.hv.preserved.hb_checks > checks
    # the accounting timer charged time to the vCPUs that ran
    charged = {d.domid: t.view_at(s.machine, d.view.vcpu, "vcpu").runtime for d in s.hv.domains}
    assert charged[s.appvms[0].domid] > 0, charged


def test_inside_a_recurring_handler_the_timer_is_unlinked_and_flagged():
    # a hart stopped on entry to the accounting handler (where a fault would panic): the timer is
    # unlinked (not yet re-armed) with in_handler set, in preserved state
    s = boot()
    h = fx.stop_at(s, "acct_tick")
    a = s.hv.preserved.acct_timer[h.index]
    from workbench.system.views.dwarf import addressof
    assert a.in_handler == 1 and a.active == 0 and addressof(a) not in listed(s, h.index)


def test_heartbeat_monitor_counts_a_silent_dvm():
    # the DVM's heartbeat stops (its vCPU paused by the test): every monitor run from then on
    # records a missed beat (5 periods of the monitor pass; the first may still find it recent)
    s = boot()
    dvm = s.dvm.domid
    before = s.hv.domain(dvm).view.hb_missed
    checks = s.hv.preserved.hb_checks
    assert fx.domctl(s, "DOMCTL_pause", dvm) == 0
    s.machine.run(max_cycles=5_000_000)
    ran = s.hv.preserved.hb_checks - checks
    assert ran >= 4 and s.hv.domain(dvm).view.hb_missed - before >= ran - 1
