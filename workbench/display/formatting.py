"""Text reprs of the workbench's objects, from small pure summary functions (xarray's pattern).

A `Summary` is plain data: a title, labelled facts and tables of strings.  The `*_summary`
functions turn a component into one; `render` turns one into text, and `formatting_html.render`
into HTML, so both show exactly the same facts.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from workbench.machine.clock import cycles_to_ms


@dataclass(frozen=True)
class Table:
    caption: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Summary:
    title: str
    facts: tuple[tuple[str, str], ...] = ()
    tables: tuple[Table, ...] = field(default_factory=tuple)

    def strings(self) -> list[str]:
        """Every fact shown, as strings (what a test compares between text and HTML)."""
        out = [self.title] + [s for kv in self.facts for s in kv]
        for t in self.tables:
            out += [t.caption, *t.columns] + [c for r in t.rows for c in r]
        return [s for s in out if s]


# ---- pure helpers ----

def hex32(v: int | None) -> str:
    return "-" if v is None else f"0x{v:08x}"


def opt(v) -> str:
    return "-" if v is None else str(v)


def cycles_text(cycles: int) -> str:
    return f"{cycles:,} cycles ({cycles_to_ms(cycles):.2f} ms simulated)"


def result_cells(r) -> tuple[str, str, str, str]:
    """(state, status, iterations, checksum) of a WorkloadResult."""
    if r is None:
        return ("-", "-", "-", "-")
    return (r.state, r.status, str(r.iterations), hex32(r.checksum) if r.state == "done" else "-")


def frame_table(caption: str, df) -> Table:
    """A polars frame as a Table of strings (null: "-"): a table is built once, as the frame the
    Python API returns, and the text and HTML reprs show that frame."""
    return Table(caption, tuple(df.columns), tuple(tuple(opt(x) for x in r) for r in df.iter_rows()))


def render(s: Summary) -> str:
    """A Summary as text: title, aligned facts, then each table with aligned columns."""
    lines = [f"<{s.title}>"]
    if s.facts:
        w = max(len(k) for k, _ in s.facts)
        lines += [f"  {k.ljust(w)} : {v}" for k, v in s.facts]
    for t in s.tables:
        lines.append(f"  {t.caption}:")
        widths = [max([len(c)] + [len(r[i]) for r in t.rows]) for i, c in enumerate(t.columns)]
        lines.append("    " + "  ".join(c.ljust(w) for c, w in zip(t.columns, widths)).rstrip())
        lines += ["    " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in t.rows]
    return "\n".join(lines)


# ---- summaries of components ----

DOMAIN_COLUMNS = ("dom", "role", "slot", "state", "hart", "vcpu", "pc")


def domain_row(d) -> tuple[str, ...]:
    v = d.vcpu
    return (f"d{d.domid}", d.role, str(d.slot), d.state, str(v.hart), v.state, hex32(v.pc))


def domain_summary(d) -> Summary:
    v = d.vcpu
    facts = [("role", d.role), ("slot", str(d.slot)), ("state", d.state), ("privileged", str(d.privileged)),
             ("vcpu", f"hart {v.hart}, {v.state}, pc {hex32(v.pc)}"), ("heartbeat (mtime)", str(d.heartbeat))]
    if d.crash:
        c = d.crash
        facts.append(("crash", f"mcause {c['mcause']} at pc {hex32(c['pc'])}, address {hex32(c['address'])}"))
    ev = Table("event channels", ("port", "state", "remote dom", "remote port / virq"),
               tuple((str(e.port), e.state, str(e.remote_dom), str(e.virq if e.state == "virq" else e.remote_port))
                     for e in d.event_channels))
    gr = Table("grants", ("ref", "grantee", "addr", "readonly", "maps"),
               tuple((str(g["ref"]), f"d{g['grantee']}", hex32(g["addr"]), str(bool(g["readonly"])),
                      str(g["mapcount"])) for g in d.grants))
    return Summary(f"Domain d{d.domid}", tuple(facts), (ev, gr))


def hv_summary(hv) -> Summary:
    panic = hv.panic
    held = hv.held_locks
    facts = (("domains", str(len(hv.domains))), ("heap generation", str(hv.generation)),
             ("panic", "none" if panic is None else str(panic)),
             ("held locks", ", ".join(f"{lk.name} (hart {opt(lk.holder_hart)})" for lk in held) or "none"))
    doms = Table("domains", DOMAIN_COLUMNS, tuple(domain_row(d) for d in hv.domains))
    harts = Table("harts", ("hart", "online", "current", "run queue", "timers"),
                  tuple((str(h["hart"]), str(h["online"]), "idle" if h["current"] is None else f"d{h['current']}",
                         " ".join(f"d{x}" for x in h["runqueue"]) or "-", str(len(h["timers"])))
                        for h in hv.harts))
    return Summary("Hypervisor", facts, (doms, harts))


def privvm_summary(p) -> Summary:
    d = p.domain
    facts = (("domain", "not created" if d is None else f"d{d.domid} ({d.state})"),
             ("AppVMs managed", str(p.napps)))
    return Summary("PrivVM", facts, (frame_table("status view", p.status()),))


def io_text(io: dict | None) -> str:
    """One AppVM's I/O counters (AppVM.io) in a line."""
    if io is None:
        return "-"
    parts = [f"{io['completed']} request(s) completed",
             f"{io['device']} {'connected' if io['connected'] else 'not connected'}",
             f"backend {opt(io['backend'])}", f"reconnects {io['reconnects']}"]
    if io["device"] == "vbd":
        parts += [f"requests {opt(io['blk_requests'])}", f"in flight {io['in_flight']}"]
    else:
        parts += [f"frames tx {opt(io['net_tx'])} rx {opt(io['net_rx'])}",
                  f"peer sent {opt(io['peer_sent'])} answered {opt(io['peer_answered'])} lost {opt(io['peer_lost'])}"]
    return ", ".join(parts)


def appvm_summary(a) -> Summary:
    r = a.result
    st, status, iters, cks = result_cells(r)
    facts = [("domain", opt(None if a.domid is None else f"d{a.domid}")), ("slot", str(a.slot)),
             ("state", a.state), ("workload", f"{a.workload} ({a.iterations} iterations, seed {a.seed})"),
             ("progress", f"{a.progress} / {a.iterations}"),
             ("result", f"{st}, {status}, {iters} iterations, checksum {cks}"),
             ("console lines", str(len(a.console)))]
    io = a.io
    if io is not None:
        facts.append(("I/O", io_text(io)))
    return Summary(f"AppVM {a.index}", tuple(facts))


# ---- split I/O (issue 4) ----

def virtio_summary(dev) -> Summary:
    st = dev.state
    facts = (("slot", f"{st['slot']} at {hex32(st['base'])}, irq {st['irq']}"), ("status", dev.status),
             ("error", opt(st["error"])), ("last error", opt(st["last_error"])),
             ("resets", str(st["resets"])), ("chains dropped by resets", str(st["dropped"])),
             ("counters", ", ".join(f"{k} {v}" for k, v in st["counters"].items())))
    return Summary(f"virtio-{dev.name}", facts, (frame_table("virtqueues", dev.queues),))


BACKEND_COLUMNS = ("backend", "AppVM", "frontend", "state", "ring", "requests / tx", "rx", "region / MAC")


def backend_row(b) -> tuple[str, ...]:
    return (f"{b.kind}{b.index}", opt(b.appvm), f"d{b.frontend_domid}", b.state, "mapped" if b.ring_mapped else "-",
            str(b.requests), str(b.received) if b.kind == "vif" else "-", b.where)


def dvm_summary(dvm) -> Summary:
    d = dvm.domain
    stats = dvm.stats
    facts = (("domain", "not created" if d is None else f"d{d.domid} ({d.state}, hart {d.vcpu.hart})"),
             ("heartbeat (mtime)", str(dvm.heartbeat)),
             ("counters", ", ".join(f"{k} {v}" for k, v in stats.items())),
             ("connected frontends",
              ", ".join(f"{k} AppVM {opt(a)} (d{dom})" for k, a, dom in dvm.frontends) or "none"),
             ("devices", ", ".join(f"{n}: {dev.status}" + (f" ({dev.error})" if dev.error else "")
                                   for n, dev in dvm.devices.items())))
    backends = Table("backends", BACKEND_COLUMNS, tuple(backend_row(b) for b in dvm.backends))
    pend = Table("requests in flight", ("kind", "slot", "AppVM", "op", "sector", "sectors", "id"),
                 tuple((p["kind"], str(p["slot"]), opt(p["appvm"]), p["op"], opt(p["sector"]), opt(p["sectors"]),
                        str(p["id"])) for p in dvm.pending))
    queues = tuple(frame_table(f"virtio-{n} virtqueues", dev.queues) for n, dev in dvm.devices.items())
    return Summary("Driver VM", facts, (backends, pend) + queues)


def latency_text(lat: dict) -> str:
    if lat["p50"] is None:
        return "-"
    return f"p50 {lat['p50']:.1f} us, p90 {lat['p90']:.1f} us, p99 {lat['p99']:.1f} us, max {lat['max']:.1f} us"


def peer_facts(r) -> list[tuple[str, str]]:
    return [("streams", ", ".join(f"AppVM {a}" for a in r.appvms) or "none"),
            ("requests", f"sent {r.sent} of {r.count * len(r.appvms)}, answered {r.answered} ({r.ok} ok), "
                         f"lost {r.lost}, waiting {r.waiting}"),
            ("anomalies", f"duplicates {r.duplicates}, bad payloads {r.bad}, out of order {r.out_of_order}, "
                          f"dropped on the wire {r.wire_drops}"),
            ("retransmissions", f"{r.retransmissions} ({r.retransmitted} requests), longest service gap "
                                f"{r.longest_gap_us:,.0f} us"),
            ("latency", latency_text(r.latency_us))]


def peer_summary(peer) -> Summary:
    r = peer.report()
    cfg = peer.config
    facts = peer_facts(r) + [("interval", cycles_text(cfg.get("interval_cycles", 0))),
                             ("retry", f"after {cycles_text(cfg.get('timeout_cycles', 0))}, "
                                       f"{cfg.get('tries', 1)} transmissions at most"),
                             ("payload", f"{cfg.get('payload_len', 0)} bytes, seed {cfg.get('seed', 0)}")]
    return Summary("Network peer", tuple(facts))


def system_summary(system) -> Summary:
    c = system.config
    facts = [("harts", str(c.harts)), ("AppVMs", ", ".join(c.appvms)),
             ("iterations", ", ".join(map(str, c.iterations))), ("seed", str(c.seed)),
             ("recovery", c.recovery_spec)]
    if c.dvm:
        facts.append(("I/O", f"driver VM, disk {c.disk_size >> 10} KiB ({c.disk_region >> 10} KiB per AppVM)"
                             + (f", peer: {c.net_count} requests per net AppVM every {c.peer_interval:,} cycles, "
                                f"{c.peer_payload} bytes" if c.net_appvms else "")))
    if system.machine is None:
        return Summary("System (not booted)", tuple(facts))
    m = system.machine
    facts += [("time", cycles_text(m.cycle)),
              ("steady state", "-" if system.boot_summary is None else cycles_text(system.boot_summary.cycles))]
    panic = system.hv.panic
    if panic is not None:
        facts.append(("hypervisor panic", str(panic)))
    dvm = system.dvm
    if dvm is not None:
        d = dvm.domain
        facts.append(("driver VM", "not created" if d is None else
                      f"d{d.domid} ({d.state}), {len(dvm.frontends)} frontend(s) connected, "
                      + ", ".join(f"{k} {v}" for k, v in dvm.stats.items() if k in ("blk_reqs", "net_tx", "net_rx"))))
    if c.net_appvms:
        facts += [(f"peer {k}", v) for k, v in peer_facts(system.peer.report())]
    tables = [frame_table("domains", system.domain_table())]
    io = system.io_table()
    if io.height:
        tables.append(frame_table("I/O per AppVM", io))
    tables.append(Table("hypervisor's domains", DOMAIN_COLUMNS, tuple(domain_row(d) for d in system.hv.domains)))
    return Summary("System", tuple(facts), tuple(tables))
