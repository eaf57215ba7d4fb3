"""The six hypervisor bugs of issue 9, each driven deterministically from Python (tests/hv_fixtures.py):
a domain is made to issue the hypercalls that expose the bug, and the hypervisor's state is read
through DWARF afterwards."""
from __future__ import annotations

import struct

import pytest
from elftools.elf.elffile import ELFFile

import hv_fixtures as fx
from workbench.stack import abi
from workbench.system import System, SystemConfig

P = abi.P


def boot(appvms=("compute", "hcall"), harts=2, iterations=None, **kw) -> System:
    its = iterations or tuple({"compute": 4000, "hcall": 400, "blk": 64, "net": 32}[a] for a in appvms)
    s = System(SystemConfig(harts=harts, appvms=appvms, iterations=its, ram_size=32 << 20, **kw))
    s.boot()
    return s


def load_insn(path) -> tuple[int, int, int]:
    """(address, rd, rs1) of an `lw rd, 0(rs1)` in the image's text."""
    with open(path, "rb") as f:
        text = ELFFile(f).get_section_by_name(".text")
        data, base = text.data(), text["sh_addr"]
    for off in range(0, len(data) - 3, 4):
        w = struct.unpack_from("<I", data, off)[0]
        rd, rs1 = (w >> 7) & 31, (w >> 15) & 31
        if w & 0x707F == 0x2003 and w >> 20 == 0 and rd not in (0, 2) and rs1 not in (0, 2) and rd != rs1:
            return base + off, rd, rs1
    raise ValueError("no lw rd, 0(rs1)")


# ---- 1. no guest may read hypervisor memory (the pristine copy's locked entry matched U mode) ----

@pytest.mark.parametrize("name", ["HV_BASE", "PRISTINE_BASE", "PHEAP_BASE", "BOOTINFO_ADDR", "MODULES_BASE"])
def test_guest_cannot_read_hypervisor_memory(name):
    s = boot()
    addr = P[name]
    domid = s.appvms[0].domid
    hart = fx.run_until_guest(s, domid)
    pc, rd, rs1 = load_insn(s.types["appvm0"].path)
    hart.pc = pc
    hart.x[rs1] = addr
    m = s.machine
    m.add_probe(pc + 4, stop=True)
    m.run(max_cycles=200_000)
    m.remove_probe(pc + 4)
    d = s.hv.domain(domid)
    loaded = hart.pc == pc + 4 and d.state != "crashed"
    assert not loaded, f"a guest read {hart.x[rd]:#010x} at {addr:#010x}"
    assert d.state == "crashed" and d.crash == {"mcause": 5, "pc": pc, "address": addr}
    assert s.hv.panic is None


# ---- 2. destroying a domain that holds grant maps must not touch the caller's PMP ----

def test_destroy_domain_holding_grant_maps():
    s = System(SystemConfig(ram_size=32 << 20))          # PrivVM, DVM (maps its frontends' rings), 3 AppVMs
    s.boot()
    dvm = s.dvm.domid
    assert s.hv.domain(dvm).mappings, "the DVM maps no page: nothing to test"
    mapped = [(a.domid, g["ref"]) for a in s.appvms for g in a.domain.grants if g["grantee"] == dvm and g["mapcount"]]
    assert mapped
    for _ in range(20):
        r = fx.domctl(s, "DOMCTL_destroy", dvm)
        if r != -16:                                      # -EBUSY: its hart has not switched away yet
            break
        s.machine.run(max_cycles=20_000)
    assert r == 0
    s.machine.run(max_cycles=200_000)
    assert s.hv.panic is None, s.console[-1500:]
    assert s.hv.domain(0).state == "running", s.console[-1500:]
    d = s.hv.domain(dvm)                                  # dying: the PrivVM still maps its store ring
    assert d is not None and d.view.dying
    for mp in s.hv.domain(0).mappings:
        if mp["dom"] == dvm:
            assert fx.hypercall(s, 0, "grant_table_op", fx.const(s, "GNTTABOP_unmap"),
                                fx.write_words(s, fx.scratch(s, 0), mp["index"])) == 0
    assert s.hv.domain(dvm) is None
    for domid, ref in mapped:                             # the DVM's maps of their pages are gone
        assert s.hv.domain(domid).view.grant[ref].mapcount == 0


# ---- 3. a crashed frontend whose pages the DVM maps can be destroyed (dying until unmapped) ----

def test_crashed_frontend_becomes_dying_then_is_freed():
    s = System(SystemConfig(ram_size=32 << 20))
    s.boot()
    blk = s.appvms[0].domid
    dvm = s.dvm.domid
    dmaps = [mp for mp in s.hv.domain(dvm).mappings if mp["dom"] == blk]
    assert dmaps
    fx.crash_domain(s, blk)
    assert s.hv.domain(blk).state == "crashed"
    addr = s.hv.domain(blk).view.base
    results = []
    for _ in range(5):
        results.append(fx.domctl(s, "DOMCTL_destroy", blk))
        if results[-1] != -16:
            break
        s.machine.run(max_cycles=50_000)
    assert results[-1] == 0, results                       # not -EBUSY forever
    d = s.hv.domain(blk)
    assert d is not None and d.view.dying                 # a zombie, kept while its pages are mapped
    # no new work for a dying domain, and its slot stays taken
    assert fx.domctl(s, "DOMCTL_getinfo", blk, *[0] * 9) == -3   # -ESRCH
    # the mappings go: the DVM's (and the PrivVM's store-ring map), then the zombie is freed
    # (re-read: the DVM unmaps a request's data page itself when the request completes)
    for mp in [mp for mp in s.hv.domain(dvm).mappings if mp["dom"] == blk]:
        assert fx.hypercall(s, dvm, "grant_table_op", fx.const(s, "GNTTABOP_unmap"),
                            fx.write_words(s, fx.scratch(s, dvm), mp["index"])) == 0
    for mp in s.hv.domain(0).mappings:
        if mp["dom"] == blk:
            assert fx.hypercall(s, 0, "grant_table_op", fx.const(s, "GNTTABOP_unmap"),
                                fx.write_words(s, fx.scratch(s, 0), mp["index"])) == 0
    assert s.hv.domain(blk) is None
    root = s.hv.preserved
    assert all(p == 0 or s.types["hv"].view_at(s.machine, p, "domain").base != addr for p in root.dom.to_list())
    assert s.hv.panic is None


# ---- 4. destroy never frees what another hart still uses ----

def test_destroy_during_timer_callback_is_safe():
    # AppVM `hcall` sleeps on its one-shot timer; with 2 harts it is alone on hart 1, so its timer
    # fires while hart 1 idles.  Hold hart 1 inside the callback, destroy the domain from the PrivVM
    # on hart 0 (kept busy by the other `hcall` AppVM's pings, so it runs before the watchdog
    # catches the held hart), release hart 1: the callback must not use freed memory (the heap
    # poisons it).
    s = boot(appvms=("hcall", "hcall"))
    victim = s.appvms[0].domid
    assert s.hv.domain(victim).vcpu.hart == 1
    for _ in range(50):
        h = fx.stop_at(s, "guest_timer", hart=1)
        if fx.hv_view(s, "percpu")[1].curr == 0:
            break
    else:
        pytest.fail("the timer never fired while hart 1 idled")
    release = fx.hold_hart(s, h)
    fx.forget_store_ring(s, 0)                            # as the toolstack's destroy_appvm does
    assert fx.unmap_pages_of(s, 0, victim) == 1
    assert fx.destroy(s, victim) == 0
    release()
    s.machine.run(max_cycles=500_000)
    assert s.hv.panic is None, s.console[-1500:]
    assert s.hv.domain(victim) is None
    assert fx.hv_view(s, "panic_record").magic == 0


# ---- 5. guest arguments are copied once, then checked ----

def test_grant_arguments_are_read_once():
    s = boot()
    domid = s.appvms[0].domid
    arg = fx.scratch(s, domid)
    page = fx.scratch(s, domid, 1)
    fx.write_words(s, arg, 0, page, 0, 0xFFFFFFFF)        # {domid 0, addr, readonly 0, ref OUT}

    def flip(hart):                                       # right after the hv checked the page
        if hart.x[11] == page:
            fx.write_words(s, arg + 4, P["HV_BASE"])
    r = fx.hypercall(s, domid, "grant_table_op", fx.const(s, "GNTTABOP_grant"), arg,
                     hooks={"guest_range_ok": flip})
    assert r == 0
    ref = fx.read_words(s, arg + 12, 1)[0]
    assert s.hv.domain(domid).view.grant[ref].addr == page


def test_grant_copy_arguments_are_read_once():
    s = boot()
    domid = s.appvms[0].domid
    arg = fx.scratch(s, domid)
    src, dst = fx.scratch(s, domid, 1), fx.scratch(s, domid, 2)
    s.machine.write(src, b"EVIL")
    target = s.types["hv"].address("dump_request")
    before = s.machine.read(target, 4)
    self_ = 0x7FF0                                         # DOMID_SELF (event_channel.h)
    fx.write_words(s, arg, src, self_, 0, dst, self_, 0, 4, 0)

    def flip(hart):                                       # the hv just checked the destination
        if hart.x[11] == dst:
            fx.write_words(s, arg + 12, target)
    fx.hypercall(s, domid, "grant_table_op", fx.const(s, "GNTTABOP_copy"), arg, hooks={"guest_range_ok": flip})
    assert s.machine.read(target, 4) == before
    assert s.machine.read(dst, 4) == b"EVIL"


# ---- 6. domain ids are never reused ----

def test_domain_ids_are_unique():
    s = boot(appvms=("compute", "hcall"))
    old = s.appvms[0].domid
    slot = s.hv.domain(old).slot
    fx.crash_domain(s, old)
    for mp in s.hv.domain(0).mappings:                     # the toolstack's map of its store ring
        if mp["dom"] == old:
            assert fx.hypercall(s, 0, "grant_table_op", fx.const(s, "GNTTABOP_unmap"),
                                fx.write_words(s, fx.scratch(s, 0), mp["index"])) == 0
    for _ in range(10):
        r = fx.domctl(s, "DOMCTL_destroy", old)
        if r != -16:
            break
        s.machine.run(max_cycles=20_000)
    assert r == 0 and s.hv.domain(old) is None
    bi = fx.hv_view(s, "hv").bi
    module = next(i for i in range(bi.nmodules) if bi.module[i].slot == slot)
    seen = {d.domid for d in s.hv.domains} | {old}
    assert fx.domctl(s, "DOMCTL_create", module, 0xFFFFFFFF, 0, 0) == 0
    new = fx.read_words(s, fx.scratch(s, 0) + 12, 1)[0]
    assert new not in seen and new > max(seen)
    assert s.hv.domain(new).slot == slot
