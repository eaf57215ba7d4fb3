"""Live views of the stack's components: `system.hv`, `system.privvm`, `system.appvms[i]`.

Everything is read from simulated memory on access, through the images' DWARF (`views/dwarf.py`):
the hypervisor's preserved root (`struct preserved` at PHEAP_BASE) and its domains and vCPUs,
`percpu[]`, `panic_record` and every `struct spinlock` reachable from its globals; the PrivVM's
`apps[]`; each AppVM's `wl_result` and `wl_progress`.  Nothing here writes to the machine or runs it
(running the hypervisor's own C dumps is `System.dump_c`, in system/hvdump.py).

Reprs: each component's `summary()` gives a `formatting.Summary`; `__repr__` renders it as text
(`display/formatting.py`) and `_repr_html_` as HTML (`display/formatting_html.py`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from workbench.system.views.dwarf import (ArrayView, DwarfTypes, ImageMemory, View, addressof,  # noqa: F401
                                          find_instances, labelof)
from workbench.display.reprs import SummaryReprs
from workbench.machine import cycles_to_us
from workbench.stack import abi

P = abi.P
PRESERVED_MAGIC = 0x56525350     # "PSRV" (hv/hv.h)
DOMAIN_MAGIC = 0x4E4D4F44        # "DOMN"
PANIC_MAGIC = 0x43494E50         # "PNIC"
BLK_USED = 0x44455355            # "USED" (hv/heap.c)
MAGIC_RUNNING = abi.RESULT_MAGIC_RUNNING
MAGIC_DONE = abi.RESULT_MAGIC


def _enum_names(types: DwarfTypes, enum: str, prefix: str) -> dict[int, str]:
    """{value: short lower-case name} of a C enum: DOMSTATE_RUNNING -> "running"."""
    return {v: n[len(prefix):].lower() if n.startswith(prefix) else n for v, n in types.enum(enum).items()}


def slot_role(slot: int) -> str:
    if slot == P["SLOT_PRIVVM"]:
        return "PrivVM"
    if slot == P.get("SLOT_DVM"):
        return "DVM"
    return f"AppVM {slot - P['SLOT_APPVM0']}"


class _Component(SummaryReprs):
    def __init__(self, system):
        self._system = system

    @property
    def _m(self):
        return self._system._require_machine()


# ---- hypervisor ----

@dataclass(frozen=True)
class LockState:
    name: str          # where it lives: "percpu[1].rq_lock", "d2.evtchn_lock", "console_lock"
    addr: int
    locked: int
    holder: int        # hart id + 1 of the holder, 0 = none (lib.h)

    @property
    def holder_hart(self) -> int | None:
        return self.holder - 1 if self.holder else None


@dataclass(frozen=True)
class PanicRecord:
    hart: int
    mcause: int
    mepc: int
    mtval: int
    function: str
    message: str

    def __str__(self):
        return (f"hart {self.hart} in {self.function}: {self.message} "
                f"(mcause {self.mcause:#010x}, mepc {self.mepc:#010x}, mtval {self.mtval:#010x})")


@dataclass(frozen=True)
class EventChannel:
    port: int
    state: str         # unbound, interdomain, virq, pirq, reserved
    remote_dom: int
    remote_port: int
    virq: int


class VCpu:
    """A domain's (single) vCPU, live."""

    def __init__(self, hv: "Hypervisor", view: View):
        self._hv, self.view = hv, view

    @property
    def hart(self) -> int:
        return self.view.hart

    @property
    def running(self) -> bool:
        return bool(self.view.running)

    @property
    def state(self) -> str:
        """runnable, running, blocked, down (running when it is on its hart now)."""
        return "running" if self.view.running else self._hv._vcpu_states.get(self.view.state, "?")

    @property
    def pc(self) -> int:
        return self.view.regs.x[0]

    @property
    def on_runqueue(self) -> bool:
        return bool(self.view.on_rq)

    @property
    def timer(self) -> dict:
        """The guest's one-shot timer (VIRQ_TIMER): deadline (hv system time), active, the hart it is armed on."""
        t = self.view.timer
        return {"deadline": t.deadline, "active": bool(t.active), "hart": t.hart}

    @property
    def hypercall(self) -> int | None:
        """Hypercall in progress (vcpu.hcall_nr), None for none."""
        n = self.view.hcall_nr
        return None if n == 0xFFFFFFFF else n

    def __repr__(self):
        return f"<VCpu hart={self.hart} state={self.state} pc={self.pc:#010x}>"


class Domain(_Component):
    """One domain of the hypervisor (struct domain in the preserved heap), live."""

    def __init__(self, hv: "Hypervisor", view: View):
        super().__init__(hv._system)
        self._hv, self.view = hv, view

    domid = property(lambda self: self.view.domid)
    slot = property(lambda self: self.view.slot)
    privileged = property(lambda self: bool(self.view.privileged))
    role = property(lambda self: slot_role(self.view.slot))

    @property
    def state(self) -> str:
        """paused, running, shutdown, crashed."""
        return self._hv._dom_states.get(self.view.state, "?")

    @property
    def paused(self) -> bool:
        return self.state == "paused"

    @property
    def vcpu(self) -> VCpu:
        return VCpu(self._hv, self.view.ptr("vcpu"))

    @property
    def crash(self) -> dict | None:
        if self.state != "crashed":
            return None
        v = self.view
        return {"mcause": v.crash_cause, "pc": v.crash_pc, "address": v.crash_tval}

    @property
    def heartbeat(self) -> int:
        """hv system time (now()) of the last heartbeat, 0 = never."""
        return self.view.heartbeat

    @property
    def event_channels(self) -> list[EventChannel]:
        states = self._hv._evtchn_states
        out = []
        for port, c in enumerate(self.view.evtchn):
            if port and c.state:
                out.append(EventChannel(port, states.get(c.state, "?"), c.remote_dom, c.remote_port, c.virq))
        return out

    @property
    def grants(self) -> list[dict]:
        return [dict(ref=r, **g) for r, g in enumerate(self.view.grant.to_list()) if g["in_use"]]

    @property
    def mappings(self) -> list[dict]:
        return [dict(index=i, **g) for i, g in enumerate(self.view.map.to_list()) if g["in_use"]]

    def summary(self):
        from workbench.display import formatting
        return formatting.domain_summary(self)


class Hypervisor(_Component):
    """The hypervisor's live state: domains, harts, locks, panic record, dumps."""

    def __init__(self, system):
        super().__init__(system)
        t = self.types = system.types["hv"]
        self._dom_states = _enum_names(t, "dom_state", "DOMSTATE_")
        self._vcpu_states = _enum_names(t, "vcpu_state", "VCPU_")
        self._evtchn_states = _enum_names(t, "evtchn_state", "ECS_")

    @property
    def preserved(self) -> View:
        """The preserved heap's root (struct preserved at PHEAP_BASE)."""
        return self.types.view_at(self._m, P["PHEAP_BASE"], "preserved", "PRESERVED")

    @property
    def generation(self) -> int:
        return self.preserved.generation

    @property
    def frames(self) -> dict[int, dict]:
        """The frame table (struct preserved.frame): page address -> {owner domid, count,
        type_count} for every page some domain shares; read in one block (4096 entries)."""
        t = self.types
        ft = t.type("preserved").fields["frame"][1]
        entry = ft.element
        offs = {k: entry.fields[k][0] for k in ("owner", "count", "type_count")}
        raw = self._m.read(P["PHEAP_BASE"] + t.offset("preserved", "frame"), ft.size)
        out = {}
        for i in range(ft.count):
            b = i * entry.size
            owner, count, tc = (int.from_bytes(raw[b + offs[k]:b + offs[k] + 4], "little")
                                for k in ("owner", "count", "type_count"))
            if owner or count or tc:
                out[P["SLOTS_BASE"] + i * P["PAGE_SIZE"]] = dict(owner=owner - 1, count=count, type_count=tc)
        return out

    def _domain_views(self) -> list[View]:
        root = self.preserved
        if root.magic != PRESERVED_MAGIC:
            return []
        out = []
        for i in range(len(root.dom)):
            addr = root.dom[i]
            if addr:
                v = View(self._m.read, addr, self.types.type("domain"), f"d{i}")
                try:
                    magic = v.magic
                except ValueError:         # a corrupt pointer (a fault): no domain there
                    continue
                if magic == DOMAIN_MAGIC:
                    out.append(v)
        return out

    @property
    def domains(self) -> list[Domain]:
        return [Domain(self, v) for v in self._domain_views()]

    def domain(self, domid: int) -> Domain | None:
        return next((d for d in self.domains if d.domid == domid), None)

    def domain_in_slot(self, slot: int) -> Domain | None:
        return next((d for d in self.domains if d.slot == slot), None)

    @property
    def nharts(self) -> int:
        return self.types.view(self._m, "hv").nharts or self._system.config.harts

    def _percpu(self, h: int) -> View:
        return self.types.view(self._m, "percpu")[h]

    @property
    def harts(self) -> list[dict]:
        """Per hart: online, current domain (None = idle), run queue (domids), timer deadlines."""
        out = []
        for h in range(self._system.config.harts):
            pc = self._percpu(h)
            cur = pc.ptr("curr")
            out.append({"hart": h, "online": bool(pc.online),
                        "current": None if cur is None else cur.ptr("dom").domid,
                        "runqueue": [v.ptr("dom").domid for v in self._walk(pc.ptr("rq_head"), "rq_next")],
                        "timers": [t.deadline for t in self._walk(pc.ptr("timers"), "next", 16)],
                        "watchdog": bool(pc.has_wdog)})
        return out

    @staticmethod
    def _walk(v: View | None, link: str, limit: int = 8):
        n = 0
        while v is not None and n < limit:
            try:
                nxt = v.ptr(link)
            except ValueError:             # a corrupt link (a fault): the list ends there
                return
            yield v
            v, n = nxt, n + 1

    @property
    def locks(self) -> list[LockState]:
        """Every spinlock of the hypervisor, found through DWARF: in its globals (per hart only the
        configured harts), in the preserved root and in each domain."""
        m, out = self._m, []
        roots = []
        for name, var in sorted(self.types.variables.items()):
            v = self.types.view(m, name)
            if name == "percpu":
                roots += [(f"percpu[{h}]", v[h]) for h in range(self._system.config.harts)]
            else:
                roots.append((name, v))
        if self.preserved.magic == PRESERVED_MAGIC:
            roots.append(("PRESERVED", self.preserved))
            roots += [(labelof(v), v) for v in self._domain_views()]
        for label, v in roots:
            if isinstance(v, (View, ArrayView)):
                for path, lv in find_instances(v, "spinlock", label):
                    out.append(LockState(path, addressof(lv), lv.locked, lv.holder))
        return out

    @property
    def held_locks(self) -> list[LockState]:
        return [lk for lk in self.locks if lk.locked]

    @property
    def panic(self) -> PanicRecord | None:
        r = self.types.view(self._m, "panic_record")
        if r.magic != PANIC_MAGIC:
            return None
        return PanicRecord(r.hart, r.mcause, r.mepc, r.mtval, r.string("fn"), r.string("msg"))

    @property
    def config(self) -> dict:
        """The boot configuration the hypervisor runs with (its `hv` global)."""
        return self.types.view(self._m, "hv").to_dict()

    # -- dumps: Python renderings of hv/dump.c's table, same format as the C ones --

    def dump_names(self) -> list[str]:
        """The names of hv/dump.c's `dumpers[]` (the only list of them), read from the hypervisor
        image through DWARF."""
        table = self.types.view(ImageMemory(self._system.images["hv"]), "dumpers", "dump.c")
        return [d.string("name") for d in table]

    def dump(self, name: str = "all") -> str:
        """The text `hv_dump(name)` would print now, rendered in Python from the same structures
        (read without locks, as the C dumps do; nothing runs).  `pmp` prints one line per hart (the
        C dump prints the hart that runs it).  `System.dump_c` runs the C dumps themselves."""
        names = self.dump_names()
        if name != "all" and name not in names:
            raise ValueError(f"unknown dump {name!r}: allowed 'all', {', '.join(map(repr, names))}")
        out = []
        for n in names:
            if name in ("all", n):
                fn = getattr(self, f"_dump_{n}", None)
                if fn is None:
                    if name == n:
                        raise NotImplementedError(f"no Python rendering of the hv dump {n!r} yet: "
                                                  f"use system.dump_c({n!r}) to run the hypervisor's own")
                    continue                  # "all": the ones rendered in Python (see unrendered_dumps)
                out.append(fn())
        return "".join(out)

    def unrendered_dumps(self) -> list[str]:
        """Dump names of hv/dump.c without a Python rendering yet (System.dump_c runs them)."""
        return [n for n in self.dump_names() if not hasattr(self, f"_dump_{n}")]

    def _dump_domains(self) -> str:
        st = ["paused", "running", "shutdown", "crashed"]
        s = ""
        for d in self._domain_views():
            v = d.ptr("vcpu")
            vi = d.ptr("shinfo").vcpu[0]
            s += (f"d{d.domid} slot {d.slot} {st[d.state] if d.state < 4 else '?'}: vcpu hart {v.hart} state "
                  f"{v.state}{' (running)' if v.running else ''} pc 0x{v.regs.x[0]:08x}, upcall pending "
                  f"{vi.upcall_pending} mask {vi.upcall_mask}, lock {d.lock.locked}\n")
        return s

    def _dump_sched(self) -> str:
        s = ""
        for h in range(self.nharts):
            pc = self._percpu(h)
            cur = pc.ptr("curr")
            s += f"sched hart {h}: curr d{-1 if cur is None else cur.ptr('dom').domid}, rq lock {pc.rq_lock.locked}:"
            s += "".join(f" d{v.ptr('dom').domid}" for v in self._walk(pc.ptr("rq_head"), "rq_next"))
            s += "\n"
        return s

    def _dump_timers(self) -> str:
        s = ""
        for h in range(self.nharts):
            pc = self._percpu(h)
            s += f"timers hart {h} (lock {pc.timer_lock.locked}):"
            s += "".join(f" {t.deadline & 0xFFFFFFFF}" for t in self._walk(pc.ptr("timers"), "next", 16)) + "\n"
        return s

    def _dump_evtchn(self) -> str:
        s = ""
        for d in self._domain_views():
            sh = d.ptr("shinfo")
            p, k = sh.evtchn_pending.to_list(), sh.evtchn_mask.to_list()
            s += (f"evtchn d{d.domid} (lock {d.evtchn_lock.locked}) pending {p[0]:08x} {p[1]:08x} "
                  f"mask {k[0]:08x} {k[1]:08x}:")
            for port, c in enumerate(d.evtchn.to_list()):
                if port and c["state"]:
                    letter = "FUIVPR"[c["state"]] if c["state"] < 6 else "?"
                    s += f" {port}:{letter}{c['remote_dom']}.{c['virq'] if c['state'] == 3 else c['remote_port']}"
            s += "\n"
        return s

    def _dump_grants(self) -> str:
        s = ""
        for d in self._domain_views():
            s += f"grants d{d.domid} (lock {d.grant_lock.locked}):"
            s += "".join(f" {r}->d{g['grantee']}@{g['addr']:x}/{g['mapcount']}"
                         for r, g in enumerate(d.grant.to_list()) if g["in_use"])
            s += "".join(f" map{i}=d{g['dom']}:{g['ref']}" for i, g in enumerate(d.map.to_list()) if g["in_use"])
            s += "\n"
        return s

    def _dump_heap(self) -> str:
        p = self.preserved
        blk = self.types.type("blk")
        used = free = n = 0
        addr = p.heap_start
        while addr < p.heap_end and n < 4096:
            b = View(self._m.read, addr, blk, "blk")
            if not b.size:
                break
            if b.magic == BLK_USED:
                used += b.size
            else:
                free += b.size
            addr, n = addr + b.size, n + 1
        return (f"heap: generation {p.generation}, {n} blocks, {used} used, {free} free, "
                f"lock {p.heap_lock.locked} (holder {p.heap_lock.holder})\n")

    def _dump_pmp(self) -> str:
        s = ""
        for h in range(self.nharts):
            hart = self._m.harts[h]
            s += f"pmp (hart {h}): cfg " + " ".join(f"{hart.csr(f'pmpcfg{i}'):08x}" for i in range(4)) + "\n"
        return s

    def _dump_console(self) -> str:
        lk = self.types.view(self._m, "console_lock")
        return f"console: lock {lk.locked} (holder {lk.holder})\n"

    def summary(self):
        from workbench.display import formatting
        return formatting.hv_summary(self)


# ---- guests ----

def domain_console(console: str, domid: int) -> list[str]:
    """The lines domain `domid` wrote ("(dN) ..." on the shared console), prefix removed."""
    prefix = f"(d{domid}) "
    return [line[len(prefix):] for line in console.splitlines() if line.startswith(prefix)]


class PrivVM(_Component):
    """The privileged VM: its toolstack's `apps[]` table and its domain."""

    def __init__(self, system):
        super().__init__(system)
        self.types = system.types["privvm"]

    @property
    def domain(self) -> Domain | None:
        return self._system.hv.domain_in_slot(P["SLOT_PRIVVM"])

    @property
    def napps(self) -> int:
        return self.types.view(self._m, "napps")

    @property
    def apps(self) -> list[View]:
        """`apps[i]` (struct appvm) for the AppVMs the toolstack knows."""
        a = self.types.view(self._m, "apps")
        return [a[i] for i in range(min(self.napps, len(a)))]

    def status(self):
        """The toolstack's per-AppVM status view (its last `domctl_getinfo` per AppVM), as polars."""
        import polars as pl
        wl = {v: k for k, v in abi.workload_ids().items()}
        hv = self._system.hv
        rows = []
        for a in self.apps:
            info = a.info
            rows.append({"appvm": a.index, "domid": a.domid, "workload": wl.get(a.cfg.workload, "?"),
                         "iterations": a.cfg.iterations, "seed": a.cfg.seed,
                         "state": hv._dom_states.get(info.state, "?"),
                         "vcpu": hv._vcpu_states.get(info.vcpu_state, "?"),
                         "heartbeat_age_ticks": None if info.heartbeat_age == 0xFFFFFFFF else info.heartbeat_age,
                         "store_port": a.store_port, "ping_port": a.ping_port, "done": bool(a.done)})
        return pl.DataFrame(rows, schema={"appvm": pl.Int64, "domid": pl.Int64, "workload": pl.Utf8,
                                          "iterations": pl.Int64, "seed": pl.Int64, "state": pl.Utf8,
                                          "vcpu": pl.Utf8, "heartbeat_age_ticks": pl.Int64,
                                          "store_port": pl.Int64, "ping_port": pl.Int64, "done": pl.Boolean})

    @property
    def console(self) -> list[str]:
        d = self.domain
        return domain_console(self._m.console, d.domid if d else 0)

    def summary(self):
        from workbench.display import formatting
        return formatting.privvm_summary(self)


class _SlotGuest(_Component):
    """A guest known by the RAM slot it lives in; its domain is whatever the hypervisor has there."""
    slot: int

    @property
    def domain(self) -> Domain | None:
        return self._system.hv.domain_in_slot(self.slot)

    @property
    def domid(self) -> int | None:
        d = self.domain
        return d.domid if d else None

    @property
    def state(self) -> str:
        """The domain's state (paused, running, shutdown, crashed), or "not created"."""
        d = self.domain
        return d.state if d else "not created"


class AppVM(_SlotGuest):
    """AppVM `index` of the configuration: slot 2 + index, its domain, progress and result record."""

    def __init__(self, system, index: int):
        super().__init__(system)
        self.index = index
        self.slot = abi.appvm_slot(index)
        self.workload = system.config.appvms[index]
        self.iterations = system.config.iterations[index]
        self.seed = system.config.appvm_seeds[index]
        self.types = system.types[f"appvm{index}"]

    @property
    def progress(self) -> int:
        """The workload's progress counter (`wl_progress`)."""
        return self.types.view(self._m, abi.PROGRESS_SYMBOL)

    @property
    def record(self) -> View:
        return self.types.view(self._m, abi.RESULT_SYMBOL)

    @property
    def result(self):
        """The result record (`wl_result`) as a WorkloadResult."""
        from workbench.system.results import WorkloadResult
        r = self.record.to_dict()
        names = {v: k for k, v in abi.workload_ids().items()}
        state = {MAGIC_DONE: "done", MAGIC_RUNNING: "running"}.get(r["magic"], "not started")
        status = {0: "running", 1: "ok", 2: "fail"}.get(r["status"], "?") if state != "not started" else "running"
        workload = names.get(r["workload"], "?") if state != "not started" else self.workload
        return WorkloadResult(self.index, workload, state, status, r["iterations"], r["checksum"])

    @property
    def console(self) -> list[str]:
        d = self.domid
        return [] if d is None else domain_console(self._m.console, d)

    IO_DEVICES = {"blk": ("vbd", "blkfront.c"), "net": ("vif", "netfront.c")}

    @property
    def io(self) -> dict | None:
        """This AppVM's I/O counters (None for a workload without I/O), from four places: the
        workload (`completed`: its progress, one block request or one answered network request per
        step, so it counts over the whole run), its frontend (`fe` of blkfront.c / netfront.c:
        connected, reconnects; block requests in flight from its shadows), the DVM's backend for it
        (block requests taken, frames sent and received since the current connection: a closed or
        restarted backend starts again at 0), and the network peer (requests sent to it, answered,
        lost)."""
        if self.workload not in self.IO_DEVICES:
            return None
        kind, src = self.IO_DEVICES[self.workload]
        m, t = self._m, self.types
        fe = t.view(m, "fe", file=src)
        out = {"device": kind, "completed": self.progress, "connected": bool(fe.connected),
               "reconnects": fe.reconnects, "in_flight": 0,
               "backend": None, "blk_requests": None, "net_tx": None, "net_rx": None,
               "peer_sent": None, "peer_answered": None, "peer_lost": None}
        if kind == "vbd":
            out["in_flight"] = sum(1 for sh in t.view(m, "shadow", file=src) if sh.in_use and not sh.done)
        dvm = self._system.dvm
        b = None if dvm is None else next((b for b in dvm.backends if b.kind == kind and b.appvm == self.index), None)
        if b is not None:
            out["backend"] = b.state
            if kind == "vbd":
                out["blk_requests"] = b.requests
            else:
                out["net_tx"], out["net_rx"] = b.requests, b.received
        if kind == "vif":
            df = self._system.peer.stats()
            mine = df.filter(df["appvm"] == self.index)
            out["peer_sent"] = int((mine["outcome"] != "not sent").sum())
            out["peer_answered"] = int((mine["outcome"] == "answered").sum())
            out["peer_lost"] = int((mine["outcome"] == "lost").sum())
        return out

    def summary(self):
        from workbench.display import formatting
        return formatting.appvm_summary(self)


# ---- split I/O: virtio devices, driver VM, network peer (issue 4) ----

VIRTIO_STATUS_BITS = ((1, "ACKNOWLEDGE"), (2, "DRIVER"), (8, "FEATURES_OK"), (4, "DRIVER_OK"),
                      (0x40, "NEEDS_RESET"), (0x80, "FAILED"))        # virtio 1.2, 2.1


def virtio_status_text(status: int) -> str:
    """"ACKNOWLEDGE|DRIVER|FEATURES_OK|DRIVER_OK" for 15; "reset" for 0."""
    return "|".join(n for b, n in VIRTIO_STATUS_BITS if status & b) or "reset"


def xenbus_states() -> dict[int, str]:
    """{number: name} of enum xenbus_state (include/xenbus.h, the one list): 4 -> "Connected"."""
    text = (abi.INCLUDE / "xenbus.h").read_text()
    names = {"INITIALISING": "Initialising", "INITWAIT": "InitWait", "INITIALISED": "Initialised"}
    return {int(v): names.get(n, n.capitalize()) for n, v in re.findall(r"XB_(\w+)\s*=\s*(\d+)", text)}


def dvm_stat_names() -> list[str]:
    """Names of the dvm_stats[] counters, from the ST_* enum of dvm/dvm.h: "blk_reqs", ..."""
    text = (abi.STACK_DIR / "dvm" / "dvm.h").read_text()
    m = re.search(r"enum\s*\{\s*(ST_[^}]*)\}", text)
    return [n.strip()[3:].lower() for n in m.group(1).split(",") if n.strip()]


class VirtioDevice(_Component):
    """A virtio-mmio device of the machine ("blk" or "net"), read from `Machine.virtio_state()` on
    every access: status, features, the error that stopped it, counters, and per virtqueue its
    size, readiness, avail/used indices and chains in flight."""

    def __init__(self, system, name: str):
        super().__init__(system)
        self.name = name

    @property
    def state(self) -> dict:
        return self._m.virtio_state()[self.name]

    @property
    def status(self) -> str:
        return virtio_status_text(self.state["status"])

    @property
    def running(self) -> bool:
        st = self.state["status"]
        return bool(st & 4) and not st & 0xC0

    @property
    def error(self) -> str | None:
        return self.state["error"]

    @property
    def counters(self) -> dict:
        return dict(self.state["counters"])

    @property
    def queues(self):
        """One row per virtqueue (polars): queue, size, ready, avail_idx, last_avail, used_idx,
        pending (chains taken, not yet used), completed, bytes."""
        import polars as pl
        cols = ("size", "ready", "avail_idx", "last_avail", "used_idx", "pending", "completed", "bytes")
        rows = [{"queue": i, **{c: q.get(c) for c in cols}} for i, q in enumerate(self.state["queues"])]
        return pl.DataFrame(rows, schema={"queue": pl.Int64, "size": pl.Int64, "ready": pl.Boolean,
                                          "avail_idx": pl.Int64, "last_avail": pl.Int64, "used_idx": pl.Int64,
                                          "pending": pl.Int64, "completed": pl.Int64, "bytes": pl.Int64})

    @property
    def pending(self) -> int:
        """Chains the device has taken and not yet returned, over all its queues."""
        return sum(q["pending"] for q in self.state["queues"])

    def summary(self):
        from workbench.display import formatting
        return formatting.virtio_summary(self)


@dataclass(frozen=True)
class Backend:
    """One backend of the driver VM: a `vbd` (block) or `vif` (network) serving one AppVM."""
    kind: str              # "vbd" or "vif"
    index: int             # in vbds[] / vifs[]
    frontend_domid: int
    appvm: int | None      # index of the AppVM in that domain (None: it is gone)
    state: str             # the backend's xenbus state: "InitWait", "Connected", "Closed", ...
    ring_mapped: bool      # the frontend's ring page is mapped (connected)
    requests: int          # vbd: block requests taken from the ring; vif: frames transmitted (since connect)
    received: int          # vif: frames delivered to the AppVM (since connect); vbd: 0
    where: str             # vbd: "sectors start+count"; vif: the MAC

    @property
    def connected(self) -> bool:
        return self.state == "Connected" and self.ring_mapped


class DVM(_SlotGuest):
    """The driver VM, live: its domain, counters (`dvm_stats`), backends (`vbds[]`, `vifs[]`), the
    frontends connected to them, the devices it drives, and the requests in flight on them."""

    slot = P["SLOT_DVM"]

    def __init__(self, system):
        super().__init__(system)
        self.types = system.types["dvm"]

    @property
    def stats(self) -> dict[str, int]:
        """`dvm_stats[]` by name: blk_reqs (block requests answered), blk_errs, net_tx (frames sent
        for AppVMs), net_rx (frames delivered to AppVMs), net_drops (no receive buffer posted), irqs,
        heartbeats."""
        vals = self.types.view(self._m, abi.DVM_STATS_SYMBOL).to_list()
        return dict(zip(dvm_stat_names(), vals))

    def _appvm_of(self) -> dict[int, int]:
        return {d.domid: d.slot - P["SLOT_APPVM0"] for d in self._system.hv.domains if d.slot >= P["SLOT_APPVM0"]}

    @property
    def backends(self) -> list[Backend]:
        states, appvm_of, out = xenbus_states(), self._appvm_of(), []
        for kind, table in (("vbd", "vbds"), ("vif", "vifs")):
            for i, v in enumerate(self.types.view(self._m, table)):
                b = v.b
                if not b.used:
                    continue
                if kind == "vbd":
                    reqs, rx, where = v.req_cons, 0, f"sectors {v.start}+{v.sectors}"
                else:
                    reqs, rx = v.tx_cons, v.rx_cons
                    where = ":".join(f"{x:02x}" for x in v.mac.to_list())
                out.append(Backend(kind, i, b.fe_domid, appvm_of.get(b.fe_domid), states.get(b.state, str(b.state)),
                                   b.ring != 0, reqs, rx, where))
        return out

    @property
    def frontends(self) -> list[tuple[str, int | None, int]]:
        """The connected frontends: (kind, AppVM index, domid)."""
        return [(b.kind, b.appvm, b.frontend_domid) for b in self.backends if b.connected]

    @property
    def devices(self) -> dict[str, VirtioDevice]:
        return self._system.devices

    @property
    def pending(self) -> list[dict]:
        """Requests in flight in the driver VM: block requests on the device (blkback's `inflight[]`:
        appvm, op, sector, sectors) and frames on the wire awaiting their answer (netback's `onwire[]`)."""
        m, t = self._m, self.types
        backends = self.backends
        vbd_of = {b.index: b for b in backends if b.kind == "vbd"}
        vif_of = {b.index: b for b in backends if b.kind == "vif"}
        vbds, vifs = t.variable("vbds"), t.variable("vifs")
        out = []
        for slot, f in enumerate(t.view(m, "inflight", file="blkback.c")):
            if f.v:
                i = (f.v - vbds.addr) // vbds.type.element.size
                b = vbd_of.get(i)
                r = f.req
                out.append({"kind": "vbd", "slot": slot, "appvm": b.appvm if b else None,
                            "op": {0: "read", 1: "write"}.get(r.op, str(r.op)), "sector": r.sector,
                            "sectors": r.nsectors, "id": r.id})
        for slot, f in enumerate(t.view(m, "onwire", file="netback.c")):
            if f.v:
                b = vif_of.get((f.v - vifs.addr) // vifs.type.element.size)
                out.append({"kind": "vif", "slot": slot, "appvm": b.appvm if b else None, "op": "transmit",
                            "sector": None, "sectors": None, "id": f.id})
        return out

    @property
    def heartbeat(self) -> int:
        """hv system time (now()) of the DVM's last heartbeat, 0 = never."""
        d = self.domain
        return d.heartbeat if d else 0

    @property
    def console(self) -> list[str]:
        d = self.domid
        return [] if d is None else domain_console(self._m.console, d)

    def summary(self):
        from workbench.display import formatting
        return formatting.dvm_summary(self)


@dataclass(frozen=True)
class PeerReport:
    """What the network peer saw, as a remote client would: requests sent, answered (first reply
    with the right payload or not), lost (given up after the peer's tries, or no reply at all once
    the system stopped), still waiting, the latency of the answered ones in microseconds (from the
    first transmission), retransmissions in all and the longest service gap (longest stretch with a
    request outstanding and no reply) in microseconds."""
    appvms: tuple[int, ...]
    count: int             # requests configured per AppVM
    sent: int
    answered: int
    ok: int
    waiting: int
    lost: int
    duplicates: int
    bad: int
    out_of_order: int
    wire_drops: int        # requests that found no receive buffer (the machine's counter)
    latency_us: dict       # {"p50", "p90", "p99", "max"} over the answered requests (None: none)
    retransmissions: int = 0
    retransmitted: int = 0     # requests sent more than once
    longest_gap_us: float = 0.0

    def __str__(self):
        from workbench.display.formatting import latency_text
        return (f"sent {self.sent}, answered {self.answered} ({self.ok} ok), lost {self.lost}, "
                f"waiting {self.waiting}; latency {latency_text(self.latency_us)}; retransmissions "
                f"{self.retransmissions}, longest gap {self.longest_gap_us:,.0f} us")


class NetworkPeer(_Component):
    """The network peer on the NIC's wire (the machine's, configured by `System.boot` at steady
    state): `stats()` one row per request, `report()` the totals and latency percentiles."""

    @property
    def config(self) -> dict:
        return self._m.peer_config

    def stats(self):
        """One row per request the peer is configured to send (polars): appvm, seq, sent_cycle and
        reply_cycle (null: not sent / no reply), latency_cycles, ok (the reply's payload verified),
        replies, duplicates, bad, out_of_order, retransmissions, given_up, and outcome: "answered",
        "waiting", "lost" (given up, or no reply once the system stopped) or "not sent"."""
        import polars as pl
        df = self._m.peer_stats()
        stopped = self._system.finished is not None
        return df.with_columns(
            pl.when(pl.col("reply_cycle").is_not_null()).then(pl.lit("answered"))
            .when(pl.col("sent_cycle").is_null()).then(pl.lit("not sent"))
            .when(pl.lit(stopped) | pl.col("given_up")).then(pl.lit("lost"))
            .otherwise(pl.lit("waiting")).alias("outcome"))

    def report(self) -> PeerReport:
        import numpy as np
        df = self.stats()
        c = self._m.peer_summary()
        cfg = self.config
        n = lambda outcome: int((df["outcome"] == outcome).sum())
        lat = df["latency_cycles"].drop_nulls().to_numpy()
        if len(lat):
            p = cycles_to_us(np.percentile(lat, [50, 90, 99]))
            latency = {"p50": float(p[0]), "p90": float(p[1]), "p99": float(p[2]), "max": cycles_to_us(float(lat.max()))}
        else:
            latency = {"p50": None, "p90": None, "p99": None, "max": None}
        return PeerReport(tuple(cfg.get("appvms", ())), int(cfg.get("count", 0)),
                          sent=len(df) - n("not sent"), answered=n("answered"), ok=int(df["ok"].sum()),
                          waiting=n("waiting"), lost=n("lost"), duplicates=int(df["duplicates"].sum()),
                          bad=int(df["bad"].sum()), out_of_order=int(df["out_of_order"].sum()),
                          wire_drops=int(c["lost"]), latency_us=latency,
                          retransmissions=int(c["retransmissions"]),
                          retransmitted=int((df["retransmissions"] > 0).sum()),
                          longest_gap_us=cycles_to_us(float(c["longest_gap_cycles"])))

    def summary(self):
        from workbench.display import formatting
        return formatting.peer_summary(self)
