"""Running the hypervisor's own state dumps (`hv_dump(name)`, hv/dump.c) on the machine.

Unlike the live views (`views/`), which only read memory, this executes hypervisor code: it writes
the dump's name into `dump_request`, redirects a hart into `hv_dump_request` and runs the machine
until the call returns.  All of it happens on a snapshot taken first and restored afterwards, so the
machine's state (`state_hash`) is what it was; what the dump printed is returned.
"""
from __future__ import annotations

DEFAULT_MAX_CYCLES = 20_000_000


def run_c_dump(system, name: str = "all", max_cycles: int = DEFAULT_MAX_CYCLES) -> str:
    """Run `hv_dump(name)` and return what it prints, leaving the machine as it was: on a snapshot,
    wait until some hart enters the hypervisor (a probe at a few hv entry points), call
    `hv_dump_request` there with `ra` pointing at a probed `park_hart`, run until it returns,
    restore.  Other harts run on meanwhile, so their output may interleave.  Probes the caller set
    at those addresses are removed afterwards."""
    m, t = system._require_machine(), system.types["hv"]
    names = system.hv.dump_names()
    if name != "all" and name not in names:
        raise ValueError(f"unknown dump {name!r}: allowed 'all', {', '.join(map(repr, names))}")
    if "hv_dump_request" not in t.symbols or "dump_request" not in t.variables:
        raise NotImplementedError("this hypervisor has no hv_dump_request entry point")
    entries = [t.symbols[f] for f in ("hypercall_dispatch", "timer_interrupt", "schedule") if f in t.symbols]
    back = t.symbols["park_hart"]
    snap = m.snapshot()
    try:
        m.write(t.address("dump_request"), name.encode()[:15] + b"\0")
        for a in entries + [back]:
            m.add_probe(a, stop=True)
        start_cycle = m.cycle
        while True:                       # a hart at a hypervisor entry point, in machine mode
            stop = m.run(max_cycles=max_cycles)
            if stop.reason == "probe" and m.harts[stop.hart].pc in entries and m.harts[stop.hart].priv == 3:
                break
            if stop.reason != "probe" or m.cycle - start_cycle > max_cycles:
                raise RuntimeError(f"no hart entered the hypervisor ({stop.reason} at cycle {stop.cycles})")
        hart = m.harts[stop.hart]
        before = len(m.console)
        hart.x["ra"] = back
        hart.pc = t.symbols["hv_dump_request"]
        while True:
            stop = m.run(max_cycles=max_cycles)
            if stop.reason == "probe" and stop.hart == hart.index and hart.pc == back:
                break
            if stop.reason != "probe" or m.cycle - start_cycle > 2 * max_cycles:
                raise RuntimeError(f"hv_dump({name!r}) did not return ({stop.reason} at cycle {stop.cycles})")
        return m.console[before:]
    finally:
        for a in entries + [back]:
            m.remove_probe(a)
        m.restore(snap)
