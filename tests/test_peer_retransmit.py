"""The network peer behaves like a client (issue 11, item 3): it sends an unanswered request again
after its timeout, up to its tries; the `net` workload counts distinct sequence numbers, so the
frames a DVM restart loses show up as retransmissions and a service gap, not as a failed workload."""
import pytest

from workbench.system import System, SystemConfig
from workbench.system.iomodel import net_checksum, net_checksum_over


def cfg_of(**kw) -> SystemConfig:
    kw.setdefault("iterations", (24, 30))
    return SystemConfig(harts=2, appvms=("blk", "net"), seed=3, ram_size=32 << 20, **kw)


def run(cfg: SystemConfig) -> System:
    s = System(cfg)
    s.boot()
    s.run("done")
    return s


@pytest.fixture(scope="module")
def restarted():
    # the DVM resets its devices and restarts its backends after 8 block requests, while net traffic
    # flows: the request frames in flight then are lost on the way
    return run(cfg_of(dvm_restart=8))


def test_dvm_restart_every_request_answered_some_retransmitted(restarted):
    s, cfg = restarted, restarted.config
    assert "dvm: restarting devices and backends" in s.console
    df = s.peer.stats()
    assert (df["outcome"] == "answered").all() and df["ok"].all() and len(df) == cfg.net_count
    assert df["retransmissions"].sum() > 0 and not df["given_up"].any()
    res = s.results()[1]
    assert (res.status, res.iterations, res.checksum) == ("ok", cfg.net_count,
                                                          net_checksum(1, cfg.net_count, cfg.peer_seed, cfg.peer_payload))
    r = s.peer.report()
    assert r.lost == 0 and r.answered == cfg.net_count
    assert r.retransmissions == int(df["retransmissions"].sum()) and r.retransmitted > 0
    # a retransmitted request waited at least one timeout; while frames were lost no reply came for
    # longer than a request interval (without loss a reply follows every request within it)
    again = df.filter(df["retransmissions"] > 0)
    assert (again["latency_cycles"] >= cfg.peer_timeout).all()
    assert r.longest_gap_us * 100 > cfg.peer_interval
    c = s.machine.peer_summary()
    assert c["retransmissions"] == r.retransmissions and c["given_up"] == 0 and c["outstanding"] == 0
    assert "retransmissions" in str(r) and any("longest service gap" in x for x in s.peer.summary().strings())


def test_no_loss_no_retransmission():
    # requests 2 ms apart: at the default 1 ms a reply can wait out another vCPU's time slice on the
    # DVM's hart and come after the next request, which is queueing, not loss
    s = run(cfg_of(iterations=(4, 12), peer_interval=200_000))
    r = s.peer.report()
    assert r.answered == 12 and r.retransmissions == 0 and r.retransmitted == 0 and r.duplicates == 0
    assert 0 < r.longest_gap_us * 100 < s.config.peer_interval      # every reply before the next request
    assert s.results()[1].status == "ok"


def test_same_config_same_peer_stats(restarted):
    again = run(restarted.config)
    assert again.peer.stats().equals(restarted.peer.stats())
    assert again.machine.peer_summary() == restarted.machine.peer_summary()


@pytest.mark.parametrize("field,value", [("peer_timeout", 0), ("peer_timeout", 10**10), ("peer_timeout", 1.5),
                                         ("peer_tries", 0), ("peer_tries", 10**6), ("peer_tries", True)])
def test_bad_values_are_rejected(field, value):
    with pytest.raises(ValueError, match=field):
        cfg_of(**{field: value})


def test_machine_level_bad_values():
    from workbench.machine import Machine
    m = Machine(ram_size=1 << 20)
    with pytest.raises(ValueError, match="tries"):
        m.configure_peer([0], 1, 100, tries=0)
    with pytest.raises(ValueError, match="timeout_cycles"):
        m.configure_peer([0], 1, 100, timeout_cycles=0)


def test_one_try_makes_the_loss_permanent_and_net_accounts_for_it():
    # peer_tries=1: a lost request is given up after its timeout; net answers what came, waits for
    # the quiet time and fails, having counted each request that reached it once (a reply lost on
    # the way back is one the peer never saw)
    cfg = cfg_of(dvm_restart=8, peer_tries=1)
    s = run(cfg)
    df = s.peer.stats()
    answered = sorted(df.filter(df["outcome"] == "answered")["seq"].to_list())
    r = s.peer.report()
    assert r.retransmissions == 0 and r.lost == cfg.net_count - len(answered) > 0
    assert df.filter(df["outcome"] == "lost")["given_up"].all()
    res = s.results()[1]
    assert res.status == "fail" and len(answered) <= res.iterations < cfg.net_count
    if res.iterations == len(answered):
        assert res.checksum == net_checksum_over(1, answered, cfg.peer_seed, cfg.peer_payload)



def test_stopping_and_resuming_changes_nothing(restarted):
    # stopped every 700,000 cycles (retry timers and retransmissions in flight at some stops), the
    # run ends in the same state, peer records and gap included
    s = System(restarted.config)
    s.boot()
    while s.finished is None:
        s.run(700_000)
    assert s.machine.state_hash() == restarted.machine.state_hash()
    assert s.machine.peer_summary() == restarted.machine.peer_summary()
