"""`System`, `SystemConfig` and the component views (issue 3, items 5-7).

Boots the stack on the machine model with 1, 2 and 4 harts and 1 and 3 AppVMs; checks that every
workload finishes with its golden result and that the golden result equals QEMU's for the same
configuration (the independent check); determinism (state_hash); PMP isolation; invalid hypercalls;
events, timers and grant copy across harts; the DWARF views; the reprs.
"""
from __future__ import annotations

import dataclasses
import re

import pytest
from html_text import VisibleText

from workbench.display import formatting, formatting_html
from workbench.stack import abi
from workbench.system import BootError, System, SystemConfig, workload_names


SMALL = {"hcall": 24, "compute": 120, "badcall": 1, "pmp": 10}


def small(harts: int, appvms: tuple[str, ...], seed: int = 1, **kw) -> SystemConfig:
    kw.setdefault("ram_size", 32 << 20)          # the layout needs 24 MiB; keeps 6 booted systems small
    return SystemConfig(harts=harts, appvms=appvms, iterations=tuple(SMALL[a] for a in appvms), seed=seed, **kw)


CONFIGS = {f"{h}h-{len(a)}vm": small(h, a) for h in (1, 2, 4)
           for a in (("hcall",), ("hcall", "compute", "hcall"))}


class Booted:
    """Booted Systems by configuration name, created on first use; only the two most recently used
    stay alive (each holds a machine and a steady snapshot). Golden results are kept for all."""

    def __init__(self):
        self._systems: dict[str, System] = {}
        self.goldens: dict[str, tuple] = {}

    def __getitem__(self, name: str) -> System:
        s = self._systems.pop(name, None)
        if s is None:
            s = System(CONFIGS[name])
            s.boot()
        self._systems[name] = s
        while len(self._systems) > 2:
            self._systems.pop(next(iter(self._systems)))
        return s

    def golden(self, name: str) -> tuple:
        if name not in self.goldens:
            self.goldens[name] = self[name].golden()
        return self.goldens[name]


@pytest.fixture(scope="module")
def booted():
    return Booted()


# ---- configuration ----

def test_config_defaults_and_seeds():
    c = SystemConfig()
    # the papers' 3AppVM system (issue 4): PrivVM, DVM, blk + net + hcall; see tests/test_system_io.py
    assert c.harts == 2 and c.appvms == ("blk", "net", "hcall") and c.recovery == "halt" and c.dvm
    assert len(c.iterations) == 3 and all(n > 0 for n in c.iterations)
    assert c.appvm_seeds == SystemConfig().appvm_seeds                      # derived deterministically
    assert len(set(c.appvm_seeds)) == 3                                     # and per AppVM
    assert SystemConfig(seed=2).appvm_seeds != c.appvm_seeds
    assert SystemConfig(appvms=("compute", "hcall"), iterations=7).iterations == (7, 7)
    assert not SystemConfig(appvms=("hcall", "compute", "hcall")).dvm      # no I/O: no driver VM
    assert SystemConfig(appvms="hcall,compute").appvms == ("hcall", "compute")
    assert "none" not in workload_names() and {"hcall", "compute", "pmp", "badcall"} <= set(workload_names())


@pytest.mark.parametrize("kw,field,allowed", [
    ({"harts": 0}, "harts", "1..8"), ({"harts": 9}, "harts", "1..8"), ({"harts": 2.0}, "harts", "1..8"),
    ({"appvms": ()}, "appvms", "1..6"), ({"appvms": ("hcall",) * 7}, "appvms", "1..6"),
    ({"appvms": ("hcall", "nope")}, r"appvms\[1\]", "'hcall'"), ({"appvms": ("none",)}, r"appvms\[0\]", "'compute'"),
    ({"iterations": (1, 2)}, "iterations", "one per AppVM"), ({"iterations": 0}, "iterations", "positive"),
    ({"seed": -1}, "seed", "2\\*\\*32"), ({"quantum": 0}, "quantum", "1..1000000"),
    ({"ram_size": 16 << 20}, "ram_size", "32 MiB"), ({"ram_size": (64 << 20) + 4096}, "ram_size", "1 MiB"),
    ({"recovery": "bogus"}, "recovery", "'halt'"),
])
def test_config_errors_name_field_and_allowed_values(kw, field, allowed):
    with pytest.raises(ValueError, match=rf"SystemConfig\.{field}=.*allowed.*{allowed}"):
        SystemConfig(**kw)


@pytest.mark.parametrize("name, component", [("rehype", "hv"), ("dvm_reboot", "dvm"), ("privvm_reboot", "privvm")])
def test_every_recovery_mechanism_is_implemented(name, component):
    # no mechanism is planned any more: each is accepted, for its own component
    assert SystemConfig(recovery=name).recovery_map[component] == name


def test_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        SystemConfig().harts = 3


# ---- boot, run, golden ----

@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_boot_to_steady_state_then_golden(booted, name):
    s = booted[name]
    cfg = s.config
    s.restore_steady()
    assert s.steady_snapshot is not None and s.boot_summary.reason == "steady"
    # steady state: every AppVM runs its workload
    assert all(r.state == "running" for r in s.results())
    assert [a.state for a in s.appvms] == ["running"] * len(cfg.appvms)
    assert sorted(d.slot for d in s.hv.domains) == [0] + [abi.appvm_slot(i) for i in range(len(cfg.appvms))]
    assert all(h["online"] for h in s.hv.harts) and len(s.hv.harts) == cfg.harts
    assert s.privvm.napps == len(cfg.appvms)
    # to the end: every workload finishes ok with the golden result
    run = s.run("done")
    assert run.reason == "poweroff", s.console[-2000:]
    res = s.results()
    assert all(r.state == "done" and r.status == "ok" for r in res), res
    assert [r.iterations for r in res] == list(cfg.iterations)
    assert res == booted.golden(name)
    assert s.hv.panic is None and "HV PANIC" not in s.console
    assert s.run("done").elapsed_cycles == 0          # a powered-off system does not run on


def test_results_do_not_depend_on_harts(booted):
    # hcall ping-pongs events with the PrivVM, sleeps on timers and grant-copies: with 1, 2 or 4 harts
    # the domains sit on different harts, and the records must still be the same.
    for n in (1, 3):
        goldens = {booted.golden(f"{h}h-{n}vm") for h in (1, 2, 4)}
        assert len(goldens) == 1, goldens


def test_system_that_ends_within_the_boot_slice(monkeypatch):
    # one short workload can start and finish between two polls: steady state is then also the end.
    # Where the polls fall depends on the images' sizes (the boot copies the hypervisor image), so
    # the polls are made sparse here: this workload starts after 0.7M cycles and ends before 1.4M.
    import workbench.system.system as system_module
    monkeypatch.setattr(system_module, "SLICE_CYCLES", 700_000)
    s = System(SystemConfig(harts=2, appvms=("compute",), iterations=1, ram_size=32 << 20))
    s.boot()
    assert s.finished is not None and s.finished.reason == "poweroff"
    assert s.run("done").elapsed_cycles == 0
    assert s.golden() == s.results() and s.results()[0].status == "ok"


def test_golden_restores_the_machine(booted):
    s = booted["2h-3vm"]
    s.restore_steady()
    s.run(300_000)
    before = s.state_hash()
    s._golden = None
    s.golden()
    assert s.state_hash() == before


def test_same_configuration_same_state_hash():
    cfg = small(2, ("hcall", "compute"))
    a, b = System(cfg), System(cfg)
    a.boot()
    b.boot()
    assert a.boot_summary.cycles == b.boot_summary.cycles
    assert a.state_hash() == b.state_hash()
    a.run("done")
    b.run("done")
    assert a.state_hash() == b.state_hash()
    assert a.results() == b.results()


def test_boot_failure_reports_panic(monkeypatch):
    s = System(small(2, ("hcall",)))
    orig = s.boot_info
    monkeypatch.setattr(s, "boot_info", lambda: orig()[:36] + (abi.BOOT_TEST_PANIC).to_bytes(4, "little")
                        + orig()[40:])     # boot_flags is word 9 of the block
    with pytest.raises(BootError, match=r"(?s)machine stopped \(fail, code 1\).*hypervisor panic: hart 0 in ktrap"
                                        r".*HV PANIC"):
        s.boot()
    assert s.hv.panic.function == "ktrap" and s.hv.panic.mcause == 5


# ---- the QEMU cross-check ----

@pytest.mark.qemu
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_golden_equals_qemu(booted, name):
    s = booted[name]
    q = s.run_qemu(timeout=30)
    assert not q.timed_out and q.returncode == 0, q.console[-3000:]
    golden = booted.golden(name)
    assert sorted(q.results) == list(range(len(golden)))
    for g in golden:
        assert g.matches(q.results[g.appvm]), (g, q.results[g.appvm])
    assert s.compare_with_qemu(q)["match"].all()


@pytest.mark.qemu
@pytest.mark.parametrize("appvms,seed", [(("hcall", "pmp", "compute"), 5), (("badcall", "hcall"), 9),
                                         (("compute", "hcall", "compute", "hcall"), 123)])
def test_golden_equals_qemu_other_workloads(appvms, seed):
    s = System(small(2, appvms, seed))
    q = s.run_qemu(timeout=30)
    assert not q.timed_out and q.returncode == 0, q.console[-3000:]
    table = s.compare_with_qemu(q)
    assert table["match"].all(), table
    assert sum(g.state == "done" for g in s.golden()) == len(q.results)


# ---- isolation and robustness ----

def seed_targeting(target: int, index: int, appvms) -> int:
    """A system seed whose derived seed for AppVM `index` selects pmp target `target` (seed % 3)."""
    return next(s for s in range(100) if small(2, appvms, s).appvm_seeds[index] % 3 == target)


@pytest.mark.parametrize("target,addr", [(0, 0x80802000), (1, 0x80001000), (2, 0x80100100)])
def test_pmp_fault_kills_only_that_domain(target, addr):
    appvms = ("hcall", "pmp", "compute")
    s = System(small(2, appvms, seed_targeting(target, 1, appvms)))
    s.boot()
    run = s.run("done")
    assert run.reason == "poweroff", s.console[-2000:]
    bad = s.appvms[1]
    assert bad.state == "crashed"
    crash = bad.domain.crash
    assert crash["mcause"] == 7 and crash["address"] == addr              # store access fault, there
    assert f"address {addr:#010x}" in s.console and "crashed: store access fault (mcause 7)" in s.console
    assert "isolation is broken" not in s.console
    assert bad.result.state == "running"                                  # never finished
    assert [s.results()[i].status for i in (0, 2)] == ["ok", "ok"]
    assert s.hv.panic is None
    status = s.privvm.status()
    assert status.filter(status["appvm"] == 1)["state"].item() == "crashed"


def test_invalid_hypercalls_return_errors():
    s = System(small(2, ("badcall", "hcall")))
    s.boot()
    assert s.run("done").reason == "poweroff"
    bad, ok = s.results()
    assert bad.status == "ok" and bad.iterations > 40                     # every check got its error code
    assert not any(line.startswith("badcall:") for line in s.appvms[0].console)
    assert ok.status == "ok" and s.hv.panic is None
    assert "privvm: domctl argument checks: 10 of 10 ok" in s.privvm.console


def test_events_timers_and_grants_across_harts(booted):
    s = booted["2h-3vm"]
    s.restore_steady()
    s.run(300_000)
    hv = s.hv
    d0 = hv.domain(0)
    for a in (s.appvms[0], s.appvms[2]):                                  # the two hcall AppVMs
        d = a.domain
        assert d.vcpu.hart != d0.vcpu.hart                                # not on the PrivVM's hart
        chans = d.event_channels
        # ping channel bound to the PrivVM across harts, and its peer port points back
        inter = [c for c in chans if c.state == "interdomain" and c.remote_dom == 0]
        assert len(inter) >= 2                                            # store + ping
        peer = {c.port: c for c in d0.event_channels}
        assert all(peer[c.remote_port].remote_dom == d.domid and peer[c.remote_port].remote_port == c.port
                   for c in inter)
        assert any(c.state == "interdomain" and c.remote_dom == d.domid for c in chans)   # loopback
        # the PrivVM granted its shared page to this AppVM; the AppVM granted a page to itself
        assert any(g["grantee"] == d.domid for g in d0.grants)
        assert any(g["grantee"] == d.domid for g in d.grants)
        # the PrivVM maps the AppVM's store ring (grant ref 0)
        assert any(m["dom"] == d.domid for m in d0.mappings)
    # a timer: step until an hcall AppVM sleeps (every 8th iteration): its one-shot timer is armed in
    # its own hart's timer list
    hcall_doms = [s.appvms[0].domid, s.appvms[2].domid]
    for _ in range(400):
        s.run(5_000)
        armed = [d for d in hv.domains if d.domid in hcall_doms and d.vcpu.timer["active"]]
        if armed:
            break
    assert armed, "no hcall AppVM armed a timer"
    v = armed[0].vcpu
    assert v.timer["hart"] == v.hart != d0.vcpu.hart
    assert v.timer["deadline"] in hv.harts[v.hart]["timers"]
    s.run("done")
    assert all(r.status == "ok" for r in s.results())


# ---- component views ----

def test_views_read_live_values(booted):
    s = booted["2h-3vm"]
    s.restore_steady()
    a = s.appvms[1]                                                       # compute
    p1 = a.progress
    s.run(500_000)
    p2 = a.progress
    assert p2 > p1
    assert a.domid == s.privvm.apps[1].domid and a.domain.slot == abi.appvm_slot(1)
    assert a.seed == s.config.appvm_seeds[1] == s.privvm.apps[1].cfg.seed
    # DWARF offsets agree with the C layout the stack's own test checks
    t = s.types["appvm1"]
    assert t.type("wl_result").size == 20 and t.offset("wl_result", "checksum") == 16
    assert t.address("wl_result") == t.symbols["wl_result"]
    s.run("done")
    console = abi.parse_results(s.console)
    for r in s.results():                                                 # record read via DWARF = console line
        assert r.matches(console[r.appvm])
    locks = {lk.name for lk in s.hv.locks}
    assert {"console_lock", "percpu[0].rq_lock", "percpu[1].timer_lock", "PRESERVED.dom_lock",
            "PRESERVED.heap_lock", "d0.lock", "d1.evtchn_lock", "d3.grant_lock"} <= locks
    assert not s.hv.held_locks                                            # powered off cleanly
    assert s.hv.config["nharts"] == 2
    assert a.console[-1].startswith("RESULT app=1 wl=compute status=ok")
    assert s.consoles()["d2 (AppVM 1)"] == a.console


def test_python_dumps_match_the_hypervisors(monkeypatch):
    # The hypervisor prints every dump before powering off when asked (BOOT_DUMP_AT_EXIT); stop at
    # hv_dump, render the same dumps in Python, let the C ones run, compare.
    s = System(small(2, ("hcall", "compute")))
    orig = s.boot_info
    monkeypatch.setattr(s, "boot_info", lambda: orig()[:36] + (abi.BOOT_DUMP_AT_EXIT).to_bytes(4, "little")
                        + orig()[40:])
    s.boot()
    m = s.machine
    m.add_probe(s.types["hv"].address("hv_dump"), stop=True)
    stop = s.run("done")
    assert stop.reason == "probe"
    ours = s.hv.dump("all")
    m.remove_probe(s.types["hv"].address("hv_dump"))
    before = len(m.console)
    s.run("done")
    theirs = m.console[before:]
    for line in ours.splitlines():
        if line.startswith("pmp"):
            continue                       # the C dump shows only the hart running it
        assert line in theirs, (line, theirs)
    with pytest.raises(ValueError, match="allowed 'all'"):
        s.hv.dump("nope")


def test_running_the_c_dumps_leaves_the_system_as_it_was(booted):
    s = booted["2h-3vm"]
    s.restore_steady()
    s.run(300_000)
    before = s.state_hash()
    c = s.dump_c("all")
    assert s.state_hash() == before and not hasattr(s.hv, "dump_c")
    for name in ("evtchn", "grants", "heap", "timers"):       # lines the dump itself does not change
        ours = s.hv.dump(name)
        assert ours and ours in c, (name, ours, c)
    assert s.dump_c("console") == s.hv.dump("console")
    assert s.state_hash() == before
    assert s.hv.dump_names()[:3] == ["domains", "sched", "timers"] and "irqs" in s.hv.unrendered_dumps()
    with pytest.raises(ValueError, match="allowed 'all', 'domains'"):
        s.dump_c("nope")
    s.run("done")
    assert s.results() == booted.golden("2h-3vm")


# ---- reprs ----

def test_text_and_html_reprs_show_the_same_facts(booted):
    s = booted["2h-3vm"]
    s.restore_steady()
    s.run(200_000)
    objects = [s, s.hv, s.privvm, s.hv.domains[1], *s.appvms]
    for obj in objects:
        summary = obj.summary()
        text, html = repr(obj), obj._repr_html_()
        parser = VisibleText()
        parser.feed(html)
        shown_html = parser.parts
        facts = summary.strings()
        assert facts, obj
        for f in facts:
            assert f in text, (f, text)
            assert f in shown_html, (f, shown_html)
        assert formatting.render(summary) in html.replace("&lt;", "<").replace("&gt;", ">").replace("&#x27;", "'")
    assert re.search(r"\n\s+d2\s+AppVM 1\s+compute\s+\d\s+running\s+\d+\s+120\s+running", repr(s))
    assert formatting_html.render(formatting.system_summary(System(small(1, ("hcall",))))).count("not booted") == 2


# ---- command line (thin faces over the calls above) ----

def test_mrwb_boot_and_qemu_print(capsys):
    from workbench import cli
    assert cli.main(["boot", "--harts", "2", "--appvms", "hcall,compute", "--iterations", "12,60"]) == 0
    out = capsys.readouterr().out
    assert "--- console: d1 (AppVM 0) ---" in out and "RESULT app=1 wl=compute status=ok iters=60" in out
    assert "AppVM 1" in out and "stop: poweroff" in out
    assert cli.main(["qemu", "--harts", "4", "--appvms", "compute"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("qemu-system-riscv32 -machine virt -bios none -smp 4") and "appvm_s2.elf" in out
    with pytest.raises(SystemExit):
        cli.main(["boot", "--appvms", "hcall,nope"])
    assert "SystemConfig.appvms[1]='nope'" in capsys.readouterr().err


def test_bench_boot_reports_figures(capsys):
    from workbench import bench
    r = bench.boot(small(2, ("hcall", "compute", "hcall")))
    assert r["steady_cycles"] > 0 and r["cycles"] > r["steady_cycles"] and r["ratio"] > 0
    assert "simulated-to-wall ratio" in capsys.readouterr().out



def test_watchdog_catches_a_hypervisor_hung_with_interrupts_off():
    """A hart stuck in the hypervisor (machine mode, interrupts disabled) stops reloading its watchdog:
    the NMI enters the panic path about one watchdog period (50 ms) later, and the panic names it."""
    s = System(SystemConfig(harts=2, appvms=("hcall", "compute", "hcall")))
    s.boot()
    m = s.machine
    start = m.cycle
    # `j .` over the first instruction of the scheduling hypercall, which hcall calls constantly
    m.write(s.types["hv"].address("do_sched_op"), (0x0000006F).to_bytes(4, "little"))
    r = s.run("done")
    assert (r.reason, r.code) == ("fail", 1)                  # panic_action: syscon fail code 1
    panic = str(s.hv.panic)
    assert "nmi_trap" in panic and "watchdog NMI" in panic
    # one 50 ms period from the hung hart's last reload, which may precede `start` by up to one tick
    assert 5_000_000 - 1_250_000 <= m.cycle - start <= 5_000_000 + 2_000_000
