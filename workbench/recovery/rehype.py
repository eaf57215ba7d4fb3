"""ReHype's Python half: the hypervisor recovers by itself (hv/recovery/); the workbench only watches.

- Phases: the hypervisor calls one `rehype_phase_<name>` function at the end of each phase (stop,
  image, boot, harts, reintegrate, done); their addresses come from hv.elf's symbol table, in
  address order (recovery.c defines them in phase order; tests/test_rehype.py checks it).
- Causes (include/recovery_cause_list.h): the new instance audits the preserved heap it adopts and
  records which hazards it found and which it left (no enhancement switched on removes them), with
  the first one left in words (`PRESERVED->rehype`); the run adds what only the run shows: a second
  panic inside the recovery path (its pc as a symbol), a recovery that never finished (its last
  phase), system time behind the failed instance's at recovery done, the hypervisor's recurring
  timers never firing again, a frame table that disagrees with the grants and maps at the end.
"""
from __future__ import annotations

from bisect import bisect_right
from functools import lru_cache

from workbench.stack import abi

PHASE_PREFIX = "rehype_phase_"


@lru_cache(maxsize=None)
def _functions(path: str) -> tuple[tuple[int, int, str], ...]:
    from elftools.elf.elffile import ELFFile
    with open(path, "rb") as f:
        symtab = ELFFile(f).get_section_by_name(".symtab")
        return tuple(sorted((s["st_value"], s["st_size"], s.name) for s in symtab.iter_symbols()
                            if s["st_info"]["type"] == "STT_FUNC"))


def function_at(system, addr: int, image: str = "hv") -> str | None:
    """The function of `image` (an ELF STT_FUNC symbol) that contains `addr`, or None."""
    funcs = _functions(str(system.types[image].path))
    i = bisect_right(funcs, (addr, 1 << 40, "")) - 1
    if i >= 0:
        start, size, name = funcs[i]
        if start <= addr < start + max(size, 4):
            return name
    return None


def cause_names() -> tuple[str, ...]:
    """The causes in bit order (recovery_cause_list.h)."""
    return tuple(abi.recovery_causes())


def _bits(mask: int) -> tuple[str, ...]:
    return tuple(n for i, n in enumerate(cause_names()) if mask >> i & 1)


class ReHype:
    name = "rehype"
    attempted = True
    in_place = True
    phase_image = "hv"
    done_phase = "done"

    def on_reset_request(self, system) -> bool:
        return False                   # ReHype never resets the board

    def phase_symbols(self, system) -> tuple[tuple[str, int], ...]:
        """((phase name, probe address), ...) in phase order."""
        syms = system.types[self.phase_image].symbols
        found = sorted((a, n[len(PHASE_PREFIX):]) for n, a in syms.items() if n.startswith(PHASE_PREFIX))
        return tuple((n, a) for a, n in found)

    def panic_site(self, system, hart: int) -> str:
        """At the entry of panic() on `hart` (a second failure): where it failed, as a symbol. A trap
        or watchdog NMI (ktrap, nmi_trap called panic) failed at the pc its entry saved in percpu; a
        software panic (BUG_ON, ASSERT) in its caller."""
        m = system.machine
        ra = m.harts[hart].x[1]
        caller = function_at(system, ra - 4)
        if caller in ("ktrap", "nmi_trap"):
            pc = system.types["hv"].view(m, "percpu")[hart].mepc
            return function_at(system, pc) or f"{pc:#010x}"
        return caller or f"{ra - 4:#010x}"

    def at_done(self, system) -> dict:
        """What the new instance says at recovery done, and the clocks: hazards found and left,
        whether system time went back, the hypervisor timers' progress so far."""
        p = system.hv.preserved
        r = p.rehype
        t = system.types["hv"].view(system.machine, "hv_time")
        return {"found": _bits(r.found), "left": _bits(r.left), "detail": r.string("detail"),
                "time_back": t.base < r.time_at_panic, "time_at_panic": r.time_at_panic, "time_base": t.base,
                "hb_checks": p.hb_checks,
                "acct": tuple(p.acct_timer[h].deadline for h in range(system.config.harts))}

    def end_problems(self, system, done: dict) -> list[tuple[str, str]]:
        """Failures of the hypervisor itself that the finished run shows ((cause, detail), ...):
        its recurring timers (heartbeat monitor, accounting) never ran again; frame or reference counts that disagree
        with the grants and maps."""
        out = []
        p = system.hv.preserved
        t = hv_now(system)

        def overdue(timer) -> bool:       # lost: unlinked, or due before the end and never run
            return not timer.active or timer.deadline < t
        if p.hb_checks == done["hb_checks"] and overdue(p.hb_timer):
            out.append(("timer_lost", "the heartbeat monitor never ran after recovery"))
        for h, deadline in enumerate(done["acct"]):
            if p.acct_timer[h].deadline == deadline and overdue(p.acct_timer[h]):
                out.append(("timer_lost", f"the accounting timer of hart {h} never ran after recovery"))
        bad = frame_inconsistency(system)
        if bad:
            out.append(("frame_counts", bad))
        return out

    def cause(self, *, crashed_at: str | None, last_phase: str | None, done: dict | None,
              problems: list[tuple[str, str]], results=(), golden=(), health: bool | None) -> tuple[str, str]:
        """The cause of a failed recovery (a name of recovery_cause_list.h) and its detail, most
        specific first: the recovery path crashed or hung; a hazard the new instance left; a time
        jump back; the hypervisor's own failures at the end; then what the VMs show."""
        if done is None:
            if crashed_at:
                return "recovery_crashed", crashed_at
            return "recovery_hung", f"after phase {last_phase}" if last_phase else "no phase reached"
        if done["left"]:
            left = [c for c in done["left"] if c != "time_backwards"]
            if left:
                return left[0], done["detail"]
        if done["time_back"]:
            return "time_backwards", f"system time {done['time_base']} after {done['time_at_panic']} at the failure"
        if problems:
            return problems[0]
        if crashed_at:
            return "recovery_crashed", f"after recovery, at {crashed_at}"
        wrong = [r for r, g in zip(results, golden) if r.state == "done" and not r.matches(g)]
        lost = [r for r in results if r.state != "done"]
        if wrong:
            return "appvm_wrong", "; ".join(f"AppVM {r.appvm} ({r.workload}): {r.status}, {r.iterations} iterations, "
                                            f"checksum {r.checksum:#010x}" for r in wrong)
        if lost:
            return "appvm_lost", "; ".join(f"AppVM {r.appvm} ({r.workload}) did not finish" for r in lost)
        if health is False:
            return "health_check_failed", ""
        return "other", ""


def hv_now(system) -> int:
    """The hypervisor's system time now (its now(): hv_time over hart 0's mtime), in TIMEBASE_HZ ticks."""
    m = system.machine
    t = system.types["hv"].view(m, "hv_time")
    at = abi.P["CLINT_BASE"] + abi.P["CLINT_MTIME_OFF"]
    mtime = m.peek_device(at) | m.peek_device(at + 4) << 32
    return t.base + ((max(mtime - t.stamp, 0) * t.mul) >> 16)


def frame_inconsistency(system) -> str | None:
    """The first disagreement between the frame table (and grant map counts) and what the grant
    entries and map slots say, or None (the check grant_fixup makes, read from outside)."""
    hv = system.hv
    want: dict[int, list[int]] = {}
    mapcount: dict[tuple[int, int], int] = {}
    doms = hv.domains
    for d in doms:
        v = d.view
        for r in range(len(v.grant)):
            g = v.grant[r]
            if g.in_use:
                e = want.setdefault(g.addr, [d.domid + 1, 0, 0])
                e[1] += 1
    for d in doms:
        v = d.view
        for k in range(len(v.map)):
            mp = v.map[k]
            if mp.in_use:
                e = want.setdefault(mp.addr, [mp.dom + 1, 0, 0])
                e[1] += 1
                e[2] += 1
                mapcount[(mp.dom, mp.ref)] = mapcount.get((mp.dom, mp.ref), 0) + 1
    for d in doms:
        v = d.view
        for r in range(len(v.grant)):
            if v.grant[r].mapcount != mapcount.get((d.domid, r), 0):
                return f"d{d.domid} grant {r} mapcount {v.grant[r].mapcount}, maps say {mapcount.get((d.domid, r), 0)}"
    frames = hv.frames
    for addr in sorted(set(frames) | set(want)):
        have = frames.get(addr)
        w = want.get(addr)
        h = (have["count"], have["type_count"]) if have else (0, 0)
        if h != ((w[1], w[2]) if w else (0, 0)):
            return f"frame {addr:#x} count {h[0]}/{h[1]}, grants and maps say {w[1] if w else 0}/{w[2] if w else 0}"
    return None

