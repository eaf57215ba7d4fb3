"""The frame table (issue 9): per page of the domain slots, who granted it, its references (grant
entries + maps) and its maps, kept by grant/end/map/unmap and domain free, checked by BUG_ON."""
from __future__ import annotations

from collections import Counter

import hv_fixtures as fx
from workbench.system import System, SystemConfig


def boot(appvms=("hcall", "blk"), harts=2) -> System:
    its = tuple({"hcall": 400, "blk": 64}[a] for a in appvms)
    s = System(SystemConfig(harts=harts, appvms=appvms, iterations=its, ram_size=32 << 20))
    s.boot()
    return s


def expected_frames(s) -> dict[int, dict]:
    """The frame table as the grant tables say it must be."""
    count, maps, owner = Counter(), Counter(), {}
    for d in s.hv.domains:
        for g in d.grants:
            count[g["addr"]] += 1 + g["mapcount"]
            maps[g["addr"]] += g["mapcount"]
            owner[g["addr"]] = d.domid
    return {a: dict(owner=owner[a], count=count[a], type_count=maps[a]) for a in count}


def test_frame_table_matches_the_grant_tables_after_boot_and_io():
    s = boot()
    s.machine.run(max_cycles=3_000_000)
    frames = s.hv.frames
    assert frames == expected_frames(s)
    # every domain's store ring is granted and mapped by the PrivVM (one map each)
    for d in s.hv.domains[1:]:
        ring = d.view.base + 0x1000
        assert frames[ring]["owner"] == d.domid and frames[ring]["type_count"] >= 1


def test_map_and_unmap_change_the_counts():
    s = boot()
    app = s.appvms[0].domid
    page = fx.scratch(s, app, 2)
    gr = fx.write_words(s, fx.scratch(s, app), 0, page, 0, 0)           # grant to d0, writable
    assert fx.hypercall(s, app, "grant_table_op", fx.const(s, "GNTTABOP_grant"), gr) == 0
    ref = fx.read_words(s, gr + 12, 1)[0]
    assert s.hv.frames[page] == dict(owner=app, count=1, type_count=0)
    mp = fx.write_words(s, fx.scratch(s, 0), app, ref, 0, 0)
    assert fx.hypercall(s, 0, "grant_table_op", fx.const(s, "GNTTABOP_map"), mp) == 0
    handle = fx.read_words(s, mp + 12, 1)[0]
    assert s.hv.frames[page] == dict(owner=app, count=2, type_count=1)
    assert fx.hypercall(s, app, "grant_table_op", fx.const(s, "GNTTABOP_end"),
                        fx.write_words(s, fx.scratch(s, app), ref)) == -16   # -EBUSY while mapped
    assert fx.hypercall(s, 0, "grant_table_op", fx.const(s, "GNTTABOP_unmap"),
                        fx.write_words(s, fx.scratch(s, 0), handle)) == 0
    assert s.hv.frames[page] == dict(owner=app, count=1, type_count=0)
    assert fx.hypercall(s, app, "grant_table_op", fx.const(s, "GNTTABOP_end"),
                        fx.write_words(s, fx.scratch(s, app), ref)) == 0
    assert page not in s.hv.frames
    assert s.hv.frames == expected_frames(s)


def test_destroyed_domain_releases_its_frames():
    s = boot(appvms=("hcall", "hcall"))
    app = s.appvms[1].domid
    base = s.hv.domain(app).view.base
    assert any(base <= a < base + 0x200000 for a in s.hv.frames)
    fx.forget_store_ring(s, 1)                         # its ring map goes with the destroy
    assert fx.unmap_pages_of(s, 0, app) >= 1           # the PrivVM's maps of its pages
    assert fx.destroy(s, app) == 0
    mine = {a: f for a, f in s.hv.frames.items() if f["owner"] == app}
    assert mine == {}, mine
    assert s.hv.panic is None and s.hv.frames == expected_frames(s)


def test_unmap_of_an_uncounted_map_is_caught():
    # a frame's map count lost (a stray store): the next unmap of that page panics in the BUG_ON
    # instead of letting the count go negative
    s = boot(appvms=("hcall", "hcall"))
    from workbench.stack import abi
    t = s.hv.types
    app = s.appvms[0].domid
    ring = s.hv.domain(app).view.base + 0x1000
    entry = t.type("preserved").fields["frame"][1].element
    addr = (abi.P["PHEAP_BASE"] + t.offset("preserved", "frame")
            + (ring - abi.P["SLOTS_BASE"]) // 0x1000 * entry.size + entry.fields["type_count"][0])
    s.machine.write(addr, b"\0\0\0\0")
    handle = next(m["index"] for m in s.hv.domain(0).mappings if m["dom"] == app)
    fx.forget_store_ring(s, 0)
    try:
        fx.hypercall(s, 0, "grant_table_op", fx.const(s, "GNTTABOP_unmap"),
                     fx.write_words(s, fx.scratch(s, 0), handle), max_cycles=2_000_000)
    except RuntimeError:
        pass                                           # the hypercall never returns: the hv panicked
    s.run(20_000_000)
    assert s.hv.panic is not None and s.hv.panic.function == "frame_unmap", s.console[-800:]
    assert "BUG_ON" in s.hv.panic.message


def test_block_backend_maps_data_pages_in_multicall_batches():
    # the DVM maps the data pages of the requests it takes in one round in one multicall: stop at
    # grant_table_op and look at who calls and how far its batch has got (mc_index > 0 = a later entry)
    s = boot(appvms=("blk", "blk"))
    dvm = s.dvm.domid
    t = s.hv.types
    seen = set()
    for _ in range(60):
        h = fx.stop_at(s, "do_grant_table_op")
        curr = fx.hv_view(s, "percpu")[h.index].curr
        v = t.view_at(s.machine, curr, "vcpu")
        d = t.view_at(s.machine, v.dom, "domain")
        seen.add((d.domid, v.mc_index > 0))
        if (dvm, True) in seen:
            break
    assert (dvm, True) in seen, seen
    assert s.hv.panic is None
    s.run(400_000_000)
    assert all(a.result.status == "ok" for a in s.appvms), [a.result for a in s.appvms]
    assert s.hv.frames == expected_frames(s)
