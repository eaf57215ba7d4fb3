"""Microreboot of the driver VM and the PrivVM (issue 11): their failures are detected (a user-mode
fault reported by the hypervisor; a missed heartbeat), `dvm_reboot` and `privvm_reboot` recover them
inside the running system, and the I/O and the configuration store come through intact.

Directed faults stop the machine where the test wants the failure (a probe, or the component's vCPU
running in user mode) and kill the component there: its pc is set to 0, so its next fetch is an
access fault the hypervisor reports as that component's crash."""
from __future__ import annotations

import dataclasses
import re

import pytest

from hv_fixtures import memcpy_word_loop, run_until_guest
from workbench.campaign import Campaign
from workbench.campaign.manifest import config_dict, config_from_dict
from workbench.faults.detection import Detector
from workbench.faults.measure import first_results
from workbench.faults.models import CodeFlip, FailStop
from workbench.faults.run import run_fault
from workbench.machine import cycles_to_ms
from workbench.stack import abi
from workbench.system import System, SystemConfig
from workbench.system.iomodel import blk_expected_region

BOTH = {"dvm": "dvm_reboot", "privvm": "privvm_reboot"}
CFG = SystemConfig(harts=2, appvms=("blk", "net", "hcall"), iterations=(24, 30, 40), seed=3, ram_size=32 << 20,
                   recovery=BOTH)


def booted(cfg: SystemConfig = CFG) -> System:
    s = System(cfg)
    s.boot()
    return s


def kill_running(system, domid: int) -> None:
    """Stop where `domid` runs in user mode and send its pc to 0 (its next fetch faults)."""
    run_until_guest(system, domid).pc = 0


def dvm_domid(system) -> int:
    return system.types["privvm"].view(system.machine, "dvm").domid


def c_string(m, addr: int) -> str:
    return m.read(addr, 64).split(b"\0")[0].decode()


# -- configuration --

def test_recovery_per_component_validated_and_round_trips():
    c = SystemConfig(recovery={"hv": "reboot", "dvm": "dvm_reboot"})
    assert c.recovery_map == {"hv": "reboot", "dvm": "dvm_reboot", "privvm": "halt"}
    assert SystemConfig(recovery="hv=reboot,dvm=dvm_reboot").recovery_map == c.recovery_map
    assert SystemConfig(recovery="reboot").recovery_map == {"hv": "reboot", "dvm": "halt", "privvm": "halt"}
    assert SystemConfig(recovery="privvm_reboot").recovery_map["privvm"] == "privvm_reboot"
    assert config_from_dict(config_dict(c)) == c
    assert c.recovery_spec == "hv=reboot,dvm=dvm_reboot,privvm=halt" and SystemConfig(recovery=c.recovery_spec) == c
    assert dataclasses.replace(c, recovery="halt").recovery_map == {"hv": "halt", "dvm": "dvm_reboot", "privvm": "halt"}
    for bad, match in (({"disk": "halt"}, r"recovery\['disk'\].*'hv', 'dvm', 'privvm'"),
                       ({"dvm": "privvm_reboot"}, r"dvm_recovery='privvm_reboot'.*'halt', 'dvm_reboot'"),
                       ({"hv": "dvm_reboot"}, r"recovery='dvm_reboot'.*'halt', 'reboot', 'rehype'"),
                       ("hv=", r"component=mechanism"), (3, r"recovery=3")):
        with pytest.raises(ValueError, match=match):
            SystemConfig(recovery=bad)
    with pytest.raises(ValueError, match="without a driver VM"):
        SystemConfig(appvms=("hcall",), recovery="dvm_reboot")
    words = System(c).boot_info()
    io = abi.BOOTINFO_SIZE // 4 - 1                 # io_config.component_recovery: the last word
    r = abi.recovery_mechanisms()
    assert int.from_bytes(words[4 * io:4 * io + 4], "little") == r["dvm_reboot"].id | r["halt"].id << 8


# -- detection --

def test_golden_run_detects_nothing_and_heartbeats_are_never_late():
    s = booted()
    d = Detector(s)
    d.arm()
    s.run("done")
    d.on_stop(None)
    d.disarm()
    assert d.detection is None and not d.later
    assert all(dom.view.hb_missed == 0 for dom in s.hv.domains if dom.slot in (0, 1))
    assert "missed its heartbeat" not in s.console and "hangs" not in s.console and "crashed" not in s.console


def spin_forever(system, domid: int) -> None:
    """Stop where `domid` runs in user mode and make it loop there (`jal x0, 0`): a hang."""
    h = run_until_guest(system, domid)
    system.machine.write(h.pc, (0x6F).to_bytes(4, "little"))


@pytest.mark.parametrize("component, source", [("dvm", "dvm_heartbeat"), ("privvm", "privvm_heartbeat")])
def test_hang_detected_by_missed_heartbeat_within_the_limit(component, source):
    s = booted()
    m, d = s.machine, Detector(s)
    d.arm()
    start = m.cycle
    spin_forever(s, dvm_domid(s) if component == "dvm" else 0)
    hung = m.cycle
    while d.detection is None and m.cycle - start < 60_000_000:
        d.on_stop(m.run(max_cycles=100_000))
    d.disarm()
    det = d.detection
    assert det is not None and (det.kind, det.component, det.source) == ("hang", component, source)
    # the monitor runs every period (the PrivVM's tick, 1 ms; the hv's check, every limit): a late
    # heartbeat is seen within the limit, one period and the tick of the one that never came
    limit_ms = abi.P["DVM_HEARTBEAT_LIMIT"] / 10_000
    period_ms = 1.0 if component == "dvm" else limit_ms
    assert cycles_to_ms(det.cycle - hung) <= limit_ms + period_ms + 1.0


# -- dvm_reboot --

@pytest.fixture(scope="module")
def dvm_killed():
    """The DVM killed while block requests are on the device and network requests are outstanding,
    then the system run to its end."""
    s = booted()
    m = s.machine
    inflight = lambda: sum(1 for e in s.types["dvm"].view(m, "inflight", file="blkback.c") if e.v)
    for _ in range(400):
        run_until_guest(s, dvm_domid(s))
        if inflight() and m.peer_summary()["outstanding"]:
            break
        m.run(max_cycles=7_000)
    on_device, outstanding = inflight(), m.peer_summary()["outstanding"]
    served_before = sum(v.served for v in s.types["dvm"].view(m, "vbds", file="blkback.c"))
    kill_running(s, dvm_domid(s))
    s.run("done")
    return s, on_device, outstanding, served_before


def test_dvm_killed_with_block_requests_on_the_device(dvm_killed):
    s, on_device, _, served_before = dvm_killed
    assert on_device > 0
    assert re.search(r"hv: DVM d1 crashed", s.console) and "dvm_reboot: new DVM" in s.console
    n = [int(x) for x in re.findall(r"blkfront resubmitted (\d+) request", s.console)]
    assert n and n[0] >= 1
    g = s.golden()
    # the original AppVMs' results (the stack's health check then re-creates AppVM 0 after the reboot)
    assert first_results(s) == g                     # every request completed once, data verified
    assert s.types["privvm"].view(s.machine, "health_check_result") == 1   # run by the toolstack itself
    off, size = s.config.disk_region_of(0)
    want = blk_expected_region(s.config.appvm_seeds[0], 24, s.config.disk_region)
    hc = 8 * abi.BLK_BLOCK                           # the health check's blk AppVM rewrote the first 8 blocks
    assert bytes(s.machine.disk[off + hc:off + size]) == want[hc:]
    served_after = sum(v.served for v in s.types["dvm"].view(s.machine, "vbds", file="blkback.c"))
    assert served_after > 0                          # the new DVM served the rest


def test_dvm_crash_during_network_traffic_every_request_answered(dvm_killed):
    s, _, outstanding, _ = dvm_killed
    assert outstanding > 0
    r = s.peer.report()
    assert r.lost == 0 and r.answered == s.config.net_count and r.retransmissions > 0
    assert s.results()[1].status == "ok"


def test_backend_counters_survive_a_reconnect():
    # the stack's dvm_restart hook: every backend reconnects after 6 block requests
    s = booted(SystemConfig(harts=2, appvms=("blk",), iterations=(12,), seed=3, ram_size=32 << 20, dvm_restart=6))
    s.run("done")
    m = s.machine
    vbd = s.types["dvm"].view(m, "vbds", file="blkback.c")[0]
    stats = s.types["dvm"].view(m, "dvm_stats")
    assert "restarting devices and backends" in s.console
    assert vbd.served == stats[0] > 6                 # ST_BLK_REQS: all of them, before and after


def test_dvm_reboot_run_recovered_back_to_io_within_50_ms():
    s = booted()
    r = run_fault(s, FailStop("dvm", 5_000, hart=1))
    assert (r.outcome, r.detected, r.failed_component, r.health_check) == ("recovered", "crash", "dvm", True)
    labels = [e for _, e in r.events]
    assert [e for e in labels if e.startswith("dvm_reboot: phase")] == [
        "dvm_reboot: phase destroyed", "dvm_reboot: phase created", "dvm_reboot: phase rewired",
        "dvm_reboot: phase serving"]
    assert 0 < r.recovery_latency_ms < 50 and list(r.phases) == ["destroyed", "created", "rewired", "serving"]
    # the peer's counters as the run ended (a campaign row read them after the system went back to its
    # steady state once, and every row said 0): requests in flight across the reboot were sent again
    row = r.row()
    assert row["peer_lost"] == 0 and row["peer_retransmissions"] > 0
    assert row["peer_longest_gap_us"] >= 1000 * r.recovery_latency_ms / 2


def test_dvm_crash_without_recovery_is_detected_not_recovered():
    s = booted(dataclasses.replace(CFG, recovery="halt", dvm_recovery="halt", privvm_recovery="halt"))
    r = run_fault(s, FailStop("dvm", 5_000, hart=1))
    assert (r.outcome, r.reason, r.failed_component) == ("recovery_failed", "no_recovery", "dvm")


# -- privvm_reboot --

@pytest.mark.parametrize("when", ["before_applied", "after_applied"])
def test_privvm_crash_while_an_appvm_writes_to_the_store(when):
    """AppVM 0's frontend writes its state Closing (5) when its workload ends; the DVM watches that
    key (its backend must close for the AppVM to finish).  The PrivVM dies with that write in hand:
    before applying it, or after (before it answered).  The write lands once, the watch fires."""
    s = booted()
    m, pv = s.machine, s.types["privvm"]
    st_write, note = pv.address("st_write"), pv.address("keep_note_mutation")
    seen = pv.address("keep_seen_mutation")     # reached before st_write: the core resumes a hart
    appvm0 = pv.view(m, "apps")[0].domid        # stopped at a probe past its next hit of that probe
    path = f"/local/domain/{appvm0}/device/vbd/0/state"
    probes = (seen, st_write, note)
    for a in probes:
        m.add_probe(a, stop=True)

    def is_the_write(h) -> bool:
        return h.pc == st_write and h.x[10] == appvm0 and c_string(m, h.x[11]) == path and c_string(m, h.x[12]) == "5"

    applied = 0
    try:
        target = None
        while target is None:
            stop = m.run(max_cycles=1_000_000)
            assert stop.reason in ("probe", "cycle_limit"), stop.reason
            for h in m.harts:
                if is_the_write(h):
                    if when == "before_applied":
                        target = h
                    else:
                        applied += 1
                elif h.pc == note and applied and when == "after_applied":
                    target = h
        target.pc = 0                                  # the PrivVM dies here
        while True:
            stop = m.run(max_cycles=1_000_000)
            applied += sum(1 for h in m.harts if is_the_write(h))
            if stop.reason not in ("probe", "cycle_limit"):
                break
    finally:
        for a in probes:
            m.remove_probe(a)
    assert stop.reason == "poweroff"
    assert "PrivVM d0 crashed" in s.console and "privvm: reconnected" in s.console
    assert applied == 1                               # applied exactly once, before or after the reboot
    after = s.console.split("PrivVM d0 rebooted")[1]
    assert re.search(rf"dvm: /local/domain/\d+/backend/vbd/{appvm0} closed", after)   # the watch fired
    assert first_results(s) == s.golden()
    assert s.types["privvm"].view(m, "health_check_result") == 1   # the rebooted PrivVM ran it by itself


def test_privvm_crash_then_the_toolstack_creates_a_new_appvm():
    s = booted()
    r = run_fault(s, FailStop("privvm", 3_000, hart=0))
    assert (r.outcome, r.detected, r.failed_component) == ("recovered", "crash", "privvm")
    assert r.health_check is True                    # a fresh AppVM, created after the reboot, completed
    assert list(r.phases) == ["teardown", "reload", "resume", "reattach", "reconnected"]
    assert r.recovery_latency_ms is not None and r.recovery_latency_ms > 0


def test_getinfo_returns_the_store_port():
    s = booted()
    m = s.machine
    dvm = s.types["privvm"].view(m, "dvm")
    si = s.types["hv"].view_at(m, abi.P["SLOTS_BASE"] + abi.P["SLOT_SIZE"], "shared_info")
    assert dvm.info.store_port == si.start.store_port != 0


# -- what a failing component spoiled before it was detected --

def keep_addr(system, field: str) -> int:
    base = abi.P["SLOTS_BASE"] + abi.P["SLOT_PRIVVM"] * abi.P["SLOT_SIZE"] + abi.P["PRIVVM_KEEP_OFF"]
    return base + system.types["privvm"].offset("privvm_keep", field)


@pytest.mark.parametrize("at", [20_000, 100_000])
def test_privvm_memcpy_fault_before_detection_recovered(at):
    """A code fault in the PrivVM's memcpy (stores land 256 bytes off) until detection: it used to
    spoil the kept bookkeeping and store (at 20k: the new instance found no store) and leave a
    garbage answer on a client's response ring (at 100k: the client blocked behind it, the PrivVM
    was called hung again and again).  Now a kept copy that does not read back right stops the
    instance, the new one repairs from the other copy, and clients drop what it left unread."""
    s = booted()
    r = run_fault(s, CodeFlip("privvm", at, bit=28, hart=0, addr=memcpy_word_loop(s, "privvm")["sw"]))
    assert (r.outcome, r.failed_component, r.health_check) == ("recovered", "privvm", True), (r.reason, r.cause)
    assert [e for _, e in r.events].count("privvm_reboot: phase teardown") == 1     # one microreboot held


@pytest.mark.parametrize("spoil, repaired", [
    (("book_a", "store"), "the bookkeeping, 7 store entries"),     # one copy of each: the other one
    (("book_a", "book_b"), "the bookkeeping from the store, 0 store entries"),   # both books: rebuilt
])
def test_privvm_reboot_repairs_kept_state_a_stray_write_spoiled(spoil, repaired):
    s = booted()
    m, pv = s.machine, s.types["privvm"]
    junk = bytes((i * 37 + 11) & 0xFF for i in range(600))
    h = run_until_guest(s, 0)
    for field in spoil:                   # the failing PrivVM's last writes, then its crash
        m.write(keep_addr(s, field), junk[:pv.type("keep_book").size if field.startswith("book") else 600])
    h.pc = 0
    assert s.run("done").reason == "poweroff"
    assert f"privvm: microreboot: repaired {repaired}" in s.console
    assert first_results(s) == s.golden() and pv.view(m, "health_check_result") == 1


def test_privvm_kept_store_spoiled_in_both_copies_names_its_cause():
    from workbench.recovery.privvm_reboot import PrivvmReboot
    s = booted()
    m = s.machine
    h = run_until_guest(s, 0)
    for field in ("store", "store_mirror"):          # the same entries in both copies
        m.write(keep_addr(s, field), bytes(range(200, 256)) * 8)
    h.pc = 0
    s.run(30_000_000)
    assert s.console.count("kept store corrupted, nothing to recover from") == abi.P["COMPONENT_MAX_REBOOTS"]
    mech = PrivvmReboot()
    mech.on_detect(s, None)
    assert mech.cause(crashed_at=None, last_phase="resume", done=None, problems=[], results=s.results(),
                      golden=s.golden(), health=None) == ("kept_state_corrupt", "the configuration store")


@pytest.mark.parametrize("part, bit", [("add", 19), ("addi", 25), ("sw", 21)])
def test_dvm_memcpy_fault_never_passes_on_wrong_block_data(part, bit):
    """A code fault in the DVM's memcpy used to put wrong data on the disk or in an AppVM's page
    before the DVM crashed or hung (the blk AppVM failed: appvm_wrong).  Block copies are read back
    (copy_verified): the DVM stops at the first wrong copy, before it answers, and the frontend
    resubmits to the new DVM."""
    s = booted()
    r = run_fault(s, CodeFlip("dvm", 100_000, bit=bit, hart=1, addr=memcpy_word_loop(s, "dvm")[part]),
                  at_end=lambda sy: setattr(sy, "_t_console", sy.console))
    assert (r.outcome, r.detected, r.failed_component) == ("recovered", "crash", "dvm"), (r.reason, r.cause)
    assert r.recovery_latency_ms < 50
    if part == "add":                                # copies from a wrong source: caught by the read-back
        assert "guest panic: copy_verified" in s._t_console


# -- campaigns --

@pytest.mark.parametrize("target", ["dvm", "privvm"])
def test_component_campaigns_identical_on_processes_and_dask(target):
    distributed = pytest.importorskip("distributed")
    small = SystemConfig(iterations=(16, 20, 40), recovery=BOTH)
    types = ("reg", "code", "mem", "failstop")
    ref = Campaign(small, target, types, n=6, seed=5).run("processes", workers=2, progress=False)
    assert set(ref.df["target"]) == {target} and ref.df.height == 6
    with distributed.LocalCluster(processes=True, n_workers=2, threads_per_worker=1, dashboard_address=None) as cl, \
            distributed.Client(cl) as client:
        dask = Campaign(small, target, types, n=6, seed=5).run(client, progress=False)
    assert ref.df.drop("wall_s").equals(dask.df.drop("wall_s"))
    assert config_from_dict(ref.manifest["config"]).recovery_map == small.recovery_map
