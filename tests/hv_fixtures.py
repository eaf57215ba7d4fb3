"""Helpers that drive the hypervisor into a chosen state from a test, deterministically.

`hypercall(system, domid, op, *args)` makes a domain issue one hypercall of the test's choosing: the
run stops when that domain's vCPU executes in user mode, its registers are saved, it is sent to an
`ecall` of its own image with the test's number and arguments (structs are written into a scratch
area after the image, in the domain's slot), and once the hypercall has returned the registers are
put back, so the guest continues as if nothing had happened.  Enum values (DOMCTL_destroy, ...) come
from the hypervisor's DWARF (`const(system, "DOMCTL_destroy")`), never from hand-copied numbers.

`stop_at(system, symbol)` runs until some hart reaches a hypervisor function (a probe): the
directed-fault fixtures of the ReHype issue start from there.
"""
from __future__ import annotations

import struct
from functools import lru_cache

from elftools.elf.elffile import ELFFile

from workbench.recovery.rehype import function_at  # noqa: F401  (the one symbol lookup; tests use it from here)
from workbench.stack import abi

ECALL = 0x00000073


def types_key(system, domid: int) -> str:
    """The `system.types` key of the image domain `domid` runs (by its slot)."""
    d = system.hv.domain(domid)
    if d is None:
        raise KeyError(f"no domain d{domid}")
    slot = d.slot
    if slot == abi.P["SLOT_PRIVVM"]:
        return "privvm"
    if slot == abi.P["SLOT_DVM"]:
        return "dvm"
    return f"appvm{slot - abi.P['SLOT_APPVM0']}"


@lru_cache(maxsize=None)
def _ecall_address(path: str) -> int:
    with open(path, "rb") as f:
        elf = ELFFile(f)
        text = elf.get_section_by_name(".text")
        data, base = text.data(), text["sh_addr"]
    for off in range(0, len(data) - 3, 4):
        if struct.unpack_from("<I", data, off)[0] == ECALL:
            return base + off
    raise ValueError(f"{path}: no ecall in .text")


def const(system, name: str) -> int:
    """Value of enumerator `name` (DOMCTL_destroy, SCHEDOP_crash, ...) from the hypervisor's DWARF."""
    hv = system.types["hv"]
    for enum in ("domctl_cmd", "sched_cmd", "gnttab_cmd", "evtchn_cmd", "dom_state", "vcpu_state",
                 "evtchn_state", "virq", "shutdown_reason"):
        try:
            names = hv.enum(enum)
        except KeyError:
            continue
        for v, n in names.items():
            if n == name:
                return v
    raise KeyError(name)


def hcall_nr(name: str) -> int:
    return abi.hypercall_numbers()[name]


def scratch(system, domid: int, index: int = 0) -> int:
    """A free page of domain `domid`'s slot (after its image) for argument structs."""
    t = system.types[types_key(system, domid)]
    end = t.symbols["_end"]
    return ((end + 0xFFF) & ~0xFFF) + 0x1000 * index


def run_until_guest(system, domid: int, max_steps: int = 20_000, step: int = 500):
    """Run until domain `domid`'s vCPU is executing in user mode; returns its hart."""
    m = system.machine
    d = system.hv.domain(domid)
    base, size = d.view.base, d.view.size
    for _ in range(max_steps):
        for h in m.harts:
            if h.priv == 0 and base <= h.pc < base + size:
                return h
        stop = m.run(max_cycles=step)
        if stop.reason not in ("cycle_limit", "probe"):
            raise RuntimeError(f"machine stopped ({stop.reason}) before d{domid} ran")
    raise RuntimeError(f"d{domid} never ran in user mode")


def hypercall(system, domid: int, op: str | int, *args: int, max_cycles: int = 5_000_000,
              hooks: dict | None = None) -> int:
    """Make domain `domid` issue hypercall `op` (name or number) with `args`; returns a0 (signed).
    `hooks` maps hypervisor function names to callables `fn(hart)`, called each time the hart
    running the hypercall enters that function (to act between a check and a use, say)."""
    m = system.machine
    hooks = {system.types["hv"].symbols[k]: fn for k, fn in (hooks or {}).items()}
    nr = hcall_nr(op) if isinstance(op, str) else op
    hart = run_until_guest(system, domid)
    ecall = _ecall_address(str(system.types[types_key(system, domid)].path))
    saved_pc, saved = hart.pc, [hart.x[i] for i in range(32)]
    for i, a in enumerate(args):
        hart.x[10 + i] = a & 0xFFFFFFFF
    hart.x[17] = nr
    hart.pc = ecall
    back = ecall + 4
    for a in [back, *hooks]:
        m.add_probe(a, stop=True)
    try:
        start = m.cycle
        while True:
            stop = m.run(max_cycles=max_cycles)
            if stop.reason == "probe" and stop.hart == hart.index and hart.pc == back:
                break
            if stop.reason == "probe" and stop.hart == hart.index and hart.pc in hooks:
                hooks[hart.pc](hart)
                continue
            if stop.reason not in ("probe", "cycle_limit") or m.cycle - start > max_cycles:
                raise RuntimeError(f"hypercall {op} of d{domid} did not return ({stop.reason})")
    finally:
        for a in [back, *hooks]:
            m.remove_probe(a)
    result = hart.x[10]
    for i in range(1, 32):
        hart.x[i] = saved[i]
    hart.pc = saved_pc
    return result - (1 << 32) if result & 0x80000000 else result


def write_words(system, addr: int, *words: int) -> int:
    system.machine.write(addr, struct.pack(f"<{len(words)}I", *(w & 0xFFFFFFFF for w in words)))
    return addr


def read_words(system, addr: int, n: int) -> tuple[int, ...]:
    return struct.unpack(f"<{n}I", system.machine.read(addr, 4 * n))


def domctl(system, cmd: str, *words: int, caller: int = 0) -> int:
    """domctl(cmd, &struct{words}) from the PrivVM (or `caller`); the struct is left in scratch."""
    arg = write_words(system, scratch(system, caller), *words)
    return hypercall(system, caller, "domctl", const(system, cmd), arg)


def stop_at(system, symbol: str, *, hart: int | None = None, max_cycles: int = 50_000_000):
    """Run until a hart reaches hypervisor function `symbol` (in machine mode); returns that hart."""
    m = system.machine
    addr = system.types["hv"].symbols[symbol]
    m.add_probe(addr, stop=True)
    try:
        start = m.cycle
        while True:
            stop = m.run(max_cycles=max_cycles)
            if stop.reason == "probe" and m.harts[stop.hart].pc == addr and (hart is None or stop.hart == hart):
                return m.harts[stop.hart]
            if stop.reason not in ("probe", "cycle_limit") or m.cycle - start > max_cycles:
                raise RuntimeError(f"no hart reached {symbol} ({stop.reason})")
    finally:
        m.remove_probe(addr)


def hv_view(system, name: str):
    """A hypervisor global through DWARF (`percpu`, `panic_record`, `hv`, ...)."""
    return system.types["hv"].view(system.machine, name)


def domain_view(system, domid: int):
    d = system.hv.domain(domid)
    return None if d is None else d.view


@lru_cache(maxsize=None)
def _spin_address(path: str) -> int:
    """A `j .` (jal x0, 0) in the image's text: where a held hart waits."""
    with open(path, "rb") as f:
        text = ELFFile(f).get_section_by_name(".text")
        data, base = text.data(), text["sh_addr"]
    for off in range(0, len(data) - 3, 4):
        if struct.unpack_from("<I", data, off)[0] == 0x0000006F:
            return base + off
    raise ValueError(f"{path}: no `j .` in .text")


def hold_hart(system, hart):
    """Keep `hart` (stopped in the hypervisor) where it is while the others run: it spins on a `j .`
    (machine mode, interrupts off, so nothing else happens to it).  Returns a function that puts it
    back where it was."""
    pc = hart.pc
    hart.pc = _spin_address(str(system.types["hv"].path))

    def release():
        hart.pc = pc
    return release


def crash_domain(system, domid: int, max_cycles: int = 2_000_000) -> None:
    """Make domain `domid` crash itself (SCHEDOP_crash, from its own vCPU), as a faulting guest would."""
    m = system.machine
    hart = run_until_guest(system, domid)
    ecall = _ecall_address(str(system.types[types_key(system, domid)].path))
    hart.x[17] = hcall_nr("sched_op")
    hart.x[10] = const(system, "SCHEDOP_crash")
    hart.pc = ecall
    start = m.cycle
    while system.hv.domain(domid) is not None and system.hv.domain(domid).state != "crashed":
        stop = m.run(max_cycles=1_000)
        if stop.reason not in ("probe", "cycle_limit") or m.cycle - start > max_cycles:
            raise RuntimeError(f"d{domid} did not crash ({stop.reason})")


def unmap_pages_of(system, mapper: int, granter: int) -> int:
    """Domain `mapper` unmaps every page of `granter` it maps (GNTTABOP_unmap); returns how many."""
    n = 0
    for mp in system.hv.domain(mapper).mappings:
        if mp["dom"] == granter:
            r = hypercall(system, mapper, "grant_table_op", const(system, "GNTTABOP_unmap"),
                          write_words(system, scratch(system, mapper), mp["index"]))
            assert r == 0, r
            n += 1
    return n


def destroy(system, domid: int, tries: int = 20) -> int:
    """DOMCTL_destroy from the PrivVM, retried while -EBUSY (the vCPU still on its hart)."""
    for _ in range(tries):
        r = domctl(system, "DOMCTL_destroy", domid)
        if r != -16:
            return r
        system.machine.run(max_cycles=20_000)
    return r


def forget_store_ring(system, appvm: int) -> None:
    """The toolstack stops serving AppVM `appvm`'s store ring (apps[i].ring = NULL, as destroy_appvm
    does before unmapping it), so unmapping it behind the toolstack's back is safe."""
    from workbench.system.views.dwarf import addressof
    t = system.types["privvm"]
    app = t.view(system.machine, "apps")[appvm]
    write_words(system, addressof(app) + t.offset("appvm", "ring"), 0)


# ---- directed faults (issue 9): each leaves one inconsistency a ReHype enhancement repairs ----

@lru_cache(maxsize=None)
def _a_string(path: str) -> int:
    """Address of a NUL-terminated string in the image's .rodata (the forced panic's fn and msg)."""
    with open(path, "rb") as f:
        ro = ELFFile(f).get_section_by_name(".rodata")
        data, base = ro.data(), ro["sh_addr"]
    at = data.find(b"BUG_ON")
    if at < 0:
        raise ValueError(f"{path}: no 'BUG_ON' string in .rodata")
    return base + at


def force_panic(system, hart, max_cycles: int = 20_000_000):
    """A fail-stop at the probe where `hart` stands (in the hypervisor): it calls panic() there, as
    a detected fault would; runs until the machine stops.  Preserved state is left as the probe
    found it (with recovery "halt", nothing rebuilds it)."""
    s = _a_string(str(system.types["hv"].path))
    hart.x[10] = hart.x[11] = s
    hart.x[1] = hart.pc
    hart.pc = system.types["hv"].symbols["panic"]
    return system.run(max_cycles)


def curr_vcpu(system, hart_index: int):
    """The vCPU view percpu[hart].curr names, or None."""
    addr = hv_view(system, "percpu")[hart_index].curr
    return system.types["hv"].view_at(system.machine, addr, "vcpu") if addr else None


def stop_where(system, symbol: str, pred, tries: int = 200):
    """stop_at(symbol) until pred(hart) holds; returns that hart."""
    for _ in range(tries):
        h = stop_at(system, symbol)
        if pred(h):
            return h
    raise RuntimeError(f"{symbol}: the condition never held in {tries} stops")


# ---- ReHype (issue 10): the same directed faults, run through the whole fault-injection flow ----

def failstop_here(system, hart, **kw):
    """A fail-stop (FailStop: pc = 0) on `hart` right where it stands in the hypervisor (a probe
    reached by stop_at/stop_where), run through `run_fault` like any injected fault: see fault_here."""
    from workbench.faults import FailStop
    return fault_here(system, FailStop(target="hv", hart=hart.index, at=1), **kw)


def fault_here(system, fault, **kw):
    """`fault` (at=1: the next hypervisor instruction of its hart) injected right where the system
    stands (a probe reached by stop_at/stop_where), run through `run_fault` like any injected fault:
    the state here stands in for the steady snapshot for this one run, with the golden profile of the
    real steady state (the run from here without the fault is the golden one).  The golden profile
    must exist already (`golden_profile(system, "hv")` before driving the system here).  Returns the
    RunReport (keyword arguments go to run_fault: at_end, timeout_factor); the system is back at its
    steady state afterwards."""
    from workbench.faults import golden
    steady = system.steady_snapshot
    snap, prof = golden._profiles[system]
    assert snap is steady, "compute golden_profile(system, 'hv') before driving the system"
    here = system.machine.snapshot()
    system.steady_snapshot = here
    golden._profiles[system] = (here, prof)
    try:
        return system.inject(fault, convergence=False, **kw)
    finally:
        system.steady_snapshot = steady
        golden._profiles[system] = (steady, prof)
        system.boot()


def memcpy_word_loop(system, image: str) -> dict[str, int]:
    """Addresses in the word loop of `image`'s memcpy (add, lw, addi, sw): the hot spot of the
    campaigns' code faults in the PrivVM and the DVM (they copy pages and rings all the time)."""
    m, a = system.machine, system.types[image].address("memcpy")
    lw = next(a + o for o in range(0, 256, 4)
              if m.read_u32(a + o) & 0x707F == 0x2003 and (m.read_u32(a + o) >> 15) & 31 != 2)   # lw, base not sp
    return {"add": lw - 4, "lw": lw, "addi": lw + 8, "sw": lw + 12}
