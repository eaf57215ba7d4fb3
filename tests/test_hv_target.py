"""The hypervisor as a microreboot target (issue 9): detection that keeps working, and the state
where each recovery hazard arises, read through DWARF after a directed fault."""
from __future__ import annotations

import hv_fixtures as fx
from workbench.system.views.dwarf import addressof
from workbench.system import System, SystemConfig

NMIE = 1 << 3


def boot(appvms=("hcall", "hcall"), harts=2) -> System:
    s = System(SystemConfig(harts=harts, appvms=appvms, iterations=tuple(400 for _ in appvms), ram_size=32 << 20))
    s.boot()
    return s


def in_function(s, addr: int, name: str) -> bool:
    return fx.function_at(s, addr) == name


def test_nmi_enabled_on_every_hart_after_boot():
    s = boot()
    assert all(h.csr(0x744) & NMIE for h in s.machine.harts)      # mnstatus.NMIE, set by wdog_init


def test_corrupted_domain_panics_near_the_fault_and_stops_every_hart():
    # A domain's magic overwritten (a stray store): the next lookup or reference panics (BUG_ON in
    # domain_at or get_domain) instead of returning NULL; the panic's own dump meets the same corruption (a failure inside
    # the panic path), which must still reach the panic action instead of parking; the other hart,
    # held spinning in the hypervisor with interrupts off, is stopped by an NMI.
    s = boot()
    m = s.machine
    victim = s.appvms[1].domid
    h1 = fx.stop_at(s, "schedule", hart=1)
    fx.hold_hart(s, h1)                                           # spins in M mode, MIE off
    m.write(addressof(s.hv.domain(victim).view), b"\xef\xbe\xad\xde")
    start = m.cycle
    r = s.run(20_000_000)
    assert (r.reason, r.code) == ("fail", 1), s.console[-1500:]
    rec = fx.hv_view(s, "panic_record")
    p = s.hv.panic
    # whichever magic check meets the domain first: a lookup (domain_at) or a reference (get_domain)
    assert p.function in ("domain_at", "get_domain") and "BUG_ON" in p.message and "magic" in p.message
    assert rec.kind == 0 and rec.nested >= 1                      # software panic, then one inside it
    assert fx.function_at(s, rec.mepc) in ("domain_at", "get_domain", "domain_get", "domain_dump"), fx.function_at(s, rec.mepc)
    assert rec.sp and rec.ra == rec.mepc + 4
    # hart 1 left its `j .` for the NMI and parked
    assert in_function(s, m.harts[1].pc, "park_hart"), hex(m.harts[1].pc)
    assert m.cycle - start < 20_000_000


def test_corrupted_event_channel_state_panics_in_send():
    # An hcall AppVM sends on its channels all the time: a channel state overwritten with a value no
    # state has (a stray store) is caught by the invariant in send(), near the fault, as a crash.
    s = boot(appvms=("hcall",), harts=1)
    dom = s.appvms[0].domain
    chans = dom.view.evtchn
    state = s.types["hv"].offset("evtchn", "state")
    for port in range(1, len(chans)):
        if chans[port].state != 0:
            fx.write_words(s, addressof(chans[port]) + state, 99)
    s.run("done")
    panic = s.hv.panic
    assert panic is not None and "send" in str(panic) and "BUG_ON" in s.console

