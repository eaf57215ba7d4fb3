"""Directed faults (issue 9): each stops a hart at a probe where one ReHype hazard exists, forces a
panic there (fail-stop, no timing dependence) and checks the inconsistency in the state left."""
from __future__ import annotations

import pytest

import hv_fixtures as fx
from workbench.system import System, SystemConfig
from workbench.system.views.dwarf import addressof


def boot(appvms=("compute", "blk"), harts=2) -> System:
    its = tuple({"compute": 400000, "blk": 64, "hcall": 400}[a] for a in appvms)
    s = System(SystemConfig(harts=harts, appvms=appvms, iterations=its, ram_size=32 << 20))
    s.boot()
    return s


def panicked(s, r):
    assert (r.reason, r.code) == ("fail", 1), s.console[-800:]
    assert s.hv.panic is not None


def test_claimed_interrupt_never_completed():
    s = boot()
    dvm = s.dvm.domid
    # the DVM's vCPU is handed an interrupt (claimed, in flight) and has not acknowledged it yet
    h = fx.stop_where(s, "evtchn_set_pending",
                      lambda h: any(q.inflight for q in s.hv.preserved.pirq))
    panicked(s, fx.force_panic(s, h))
    q = [(i, p.owner - 1) for i, p in enumerate(s.hv.preserved.pirq) if p.inflight]
    assert q and all(owner == dvm for _, owner in q), q


def test_vcpu_inside_a_hypercall():
    s = boot()
    h = fx.stop_at(s, "do_grant_table_op")
    v = fx.curr_vcpu(s, h.index)
    panicked(s, fx.force_panic(s, h))
    assert v.hcall_nr in (fx.hcall_nr("grant_table_op"), fx.hcall_nr("multicall"))   # alone or in a batch


def test_lock_held():
    s = boot(appvms=("hcall", "hcall"))
    app = s.appvms[0].domid
    gr = fx.write_words(s, fx.scratch(s, app), 0, fx.scratch(s, app, 2), 0, 0)
    assert fx.hypercall(s, app, "grant_table_op", fx.const(s, "GNTTABOP_grant"), gr) == 0
    ref = fx.read_words(s, gr + 12, 1)[0]
    mp = fx.write_words(s, fx.scratch(s, 0), app, ref, 0, 0)
    # panic where map() takes the granter's reference, both grant locks held
    with pytest.raises(RuntimeError):
        fx.hypercall(s, 0, "grant_table_op", fx.const(s, "GNTTABOP_map"), mp,
                     hooks={"get_domain": lambda h: fx.force_panic(s, h)})
    assert s.hv.panic is not None
    assert s.hv.domain(0).view.grant_lock.locked and s.hv.domain(app).view.grant_lock.locked


def test_grant_batch_half_applied():
    s = boot(appvms=("blk", "blk"))
    dvm = s.dvm.domid

    def mid_batch(h):
        v = fx.curr_vcpu(s, h.index)
        return v is not None and s.hv.types.view_at(s.machine, v.dom, "domain").domid == dvm and v.mc_index >= 1
    h = fx.stop_where(s, "do_grant_table_op", mid_batch, tries=400)
    v = fx.curr_vcpu(s, h.index)
    panicked(s, fx.force_panic(s, h))
    assert v.hcall_nr == fx.hcall_nr("multicall") and v.mc_index >= 1
    # the batch's earlier maps are applied in the hypervisor (frame counts, map slots) but the DVM
    # has not recorded them: a map slot and a frame reference nobody will unmap
    inflight = s.types["dvm"].view(s.machine, "inflight", file="blkback.c")
    recorded = {e.handle for e in inflight if e.mapped}
    apps = {a.domid for a in s.appvms}
    data_maps = [m for m in s.hv.domain(dvm).mappings if m["dom"] in apps and m["index"] not in recorded
                 and m["addr"] != s.hv.domain(m["dom"]).view.base + 0x1000]
    assert data_maps, (s.hv.domain(dvm).mappings, recorded)
    for m in data_maps:
        assert s.hv.frames[m["addr"]]["type_count"] >= 1


def test_vcpu_marked_running_on_a_stopped_hart():
    s = boot()
    # hart 0 panics while hart 1 runs a vCPU: the NMI stops hart 1 with its vCPU still `running`
    h = fx.stop_where(s, "schedule", lambda h: h.index == 0 and fx.curr_vcpu(s, 1) is not None)
    v = fx.curr_vcpu(s, 1)
    panicked(s, fx.force_panic(s, h))
    assert v.running == 1
    assert fx.function_at(s, s.machine.harts[1].pc) == "park_hart"


def test_timer_unlinked_but_not_fired():
    s = boot()
    h = fx.stop_at(s, "acct_tick")
    panicked(s, fx.force_panic(s, h))
    a = s.hv.preserved.acct_timer[h.index]
    assert a.in_handler == 1 and a.active == 0
    linked, addr = [], fx.hv_view(s, "percpu")[h.index].timers
    while addr and len(linked) < 64:
        linked.append(addr)
        addr = s.hv.types.view_at(s.machine, addr, "timer").next
    assert addressof(a) not in linked


def test_event_pending_without_its_upcall():
    s = boot()
    h = fx.stop_at(s, "vcpu_kick")
    v = s.hv.types.view_at(s.machine, h.x[10], "vcpu")
    d = s.hv.types.view_at(s.machine, v.dom, "domain")
    panicked(s, fx.force_panic(s, h))
    si = s.hv.types.view_at(s.machine, d.shinfo, "shared_info")
    # the port's bit and upcall_pending are set; the kick that would wake the vCPU or deliver the
    # upcall never happened
    assert si.vcpu[0].upcall_pending == 1 and any(si.evtchn_pending[w] for w in range(2))


def test_time_version_left_odd():
    s = boot()
    h = fx.stop_at(s, "write_time")
    si_addr = h.x[10]
    panicked(s, fx.force_panic(s, h))
    si = s.hv.types.view_at(s.machine, si_addr, "shared_info")
    assert si.time_version % 2 == 1
