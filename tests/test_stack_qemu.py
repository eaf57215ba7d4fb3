"""The virtualization stack under QEMU (the independent cross-check of DESIGN section 3).

Builds the hypervisor, PrivVM and AppVM images, boots them with `qemu-system-riscv32 -machine virt`
on 1, 2 and 4 harts with 1 and 3 AppVMs, and checks every workload's result record: the checksums
must not depend on the number of harts or on interleaving.  Also: a guest that writes outside its
slot is killed alone; every invalid hypercall returns an error and the system keeps running.
"""
from __future__ import annotations

import shutil
import subprocess

import pytest

from workbench.stack import abi
from workbench.stack import build
from workbench.system import qemu

QEMU = shutil.which("qemu-system-riscv32")
TIMEOUT = 20


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    return build.build_images(tmp_path_factory.mktemp("stack"), listings=False)


def run(images, tmp_path, harts, appvms, **bootinfo):
    """Boot one configuration; returns (console text, exit code, results by AppVM index)."""
    work = tmp_path / f"h{harts}-{len(appvms)}-{abs(hash(tuple(appvms))) % 10**6}"
    work.mkdir(exist_ok=True)
    cmd = qemu.qemu_setup(images, work, harts=harts, appvms=appvms, **bootinfo)
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace")
        pytest.fail(f"QEMU did not power off within {TIMEOUT} s; console:\n{out[-4000:]}")
    out = proc.stdout.decode(errors="replace")
    return out, proc.returncode, abi.parse_results(out)


def assert_all_ok(out, rc, results, appvms):
    assert rc == 0, out
    assert "HV PANIC" not in out, out
    assert sorted(results) == list(range(len(appvms))), out
    for i, (wl, iters, _seed) in enumerate(appvms):
        r = results[i]
        assert (r["workload"], r["status"]) == (wl, "ok"), out
        if wl in ("hcall", "compute"):
            assert r["iterations"] == iters


CONFIGS = {
    "1appvm": [("hcall", 60, 7)],
    "3appvm": [("hcall", 60, 7), ("compute", 200, 8), ("hcall", 40, 9)],
}


@pytest.mark.qemu
@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_results_independent_of_harts(images, tmp_path, config):
    appvms = CONFIGS[config]
    seen = {}
    for harts in (1, 2, 4):
        out, rc, results = run(images, tmp_path, harts, appvms)
        assert_all_ok(out, rc, results, appvms)
        assert f"{harts} hart(s) online" in out
        assert "privvm: all AppVMs finished" in out
        seen[harts] = results
    assert seen[1] == seen[2] == seen[4]


@pytest.mark.qemu
def test_same_configuration_same_results(images, tmp_path):
    appvms = [("hcall", 30, 3), ("compute", 50, 3)]
    a = run(images, tmp_path, 2, appvms)[2]
    b = run(images, tmp_path, 2, appvms)[2]
    assert a == b and len(a) == 2
    # the checksum depends on the seed, so a different seed must give a different record
    c = run(images, tmp_path, 2, [("hcall", 30, 4), ("compute", 50, 4)])[2]
    assert c[0]["checksum"] != a[0]["checksum"] and c[1]["checksum"] != a[1]["checksum"]


@pytest.mark.qemu
@pytest.mark.parametrize("seed,addr", [(0, "0x80802000"), (1, "0x80001000"), (2, "0x80100100")])
def test_pmp_violation_kills_only_that_domain(images, tmp_path, seed, addr):
    # seed % 3 picks the target: the PrivVM's slot, the hypervisor, the pristine copy
    appvms = [("hcall", 40, 5), ("pmp", 10, seed), ("compute", 100, 6)]
    out, rc, results = run(images, tmp_path, 2, appvms)
    assert rc == 0, out
    assert "crashed: store access fault (mcause 7) at pc" in out and f"address {addr}" in out, out
    assert "isolation is broken" not in out
    assert 1 not in results                                  # the faulty AppVM never finished
    assert results[0]["status"] == results[2]["status"] == "ok"
    assert "privvm: d2 (AppVM 1) crashed: mcause 7" in out  # the toolstack saw it too
    assert "HV PANIC" not in out


@pytest.mark.qemu
def test_invalid_hypercalls_return_errors(images, tmp_path):
    appvms = [("badcall", 1, 1), ("hcall", 30, 2)]
    out, rc, results = run(images, tmp_path, 2, appvms)
    assert rc == 0, out
    assert "badcall:" not in out, out                        # no check printed a mismatch
    assert "privvm: domctl argument checks: 10 of 10 ok" in out
    assert results[0]["status"] == "ok" and results[0]["iterations"] > 40
    assert results[1]["status"] == "ok"
    assert "HV PANIC" not in out


@pytest.mark.qemu
def test_pristine_copy_is_locked(images, tmp_path):
    out, rc, _ = run(images, tmp_path, 1, [("compute", 10, 1)])
    assert rc == 0
    assert "text matches, write-protected" in out, out


@pytest.mark.qemu
def test_built_in_default_configuration(images, tmp_path):
    # No boot-info block: the hypervisor falls back to one `hcall` AppVM with modules at the
    # standard addresses.
    mods = abi.module_table(images, 1)
    cmd = [QEMU, "-machine", "virt", "-bios", "none", "-smp", "1", "-m", "64M", "-nographic", "-monitor", "none",
           "-serial", "stdio", "-kernel", str(images["hv"])]
    for _, _, addr, path in mods:
        cmd += ["-device", f"loader,file={path},addr={addr:#x},force-raw=on"]
    proc = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    out = proc.stdout.decode(errors="replace")
    assert "boot info from built-in default" in out, out
    assert abi.parse_results(out)[0]["status"] == "ok"


@pytest.mark.qemu
def test_more_harts_than_configured_park(images, tmp_path):
    # QEMU brings up 4 harts, the configuration uses 2: the others must stay parked.
    appvms = CONFIGS["3appvm"]
    work = tmp_path / "park"
    work.mkdir()
    cmd = qemu.qemu_setup(images, work, harts=2, appvms=appvms)
    cmd[cmd.index("-smp") + 1] = "4"
    proc = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    out = proc.stdout.decode(errors="replace")
    assert "2 hart(s) online" in out
    assert_all_ok(out, proc.returncode, abi.parse_results(out), appvms)


def struct_sizes(elf):
    """struct name -> byte size, from an image's DWARF."""
    from elftools.elf.elffile import ELFFile
    with open(elf, "rb") as f:
        dwarf = ELFFile(f).get_dwarf_info()
        return {die.attributes["DW_AT_name"].value.decode(): die.attributes["DW_AT_byte_size"].value
                for cu in dwarf.iter_CUs() for die in cu.iter_DIEs()
                if die.tag == "DW_TAG_structure_type" and "DW_AT_name" in die.attributes
                and "DW_AT_byte_size" in die.attributes}


@pytest.mark.qemu
def test_panic_path(images, tmp_path):
    out, rc, _ = run(images, tmp_path, 2, [("hcall", 10, 1)], boot_flags=abi.BOOT_TEST_PANIC)
    assert rc == 1, out                                      # syscon "fail", code 1
    assert "HV PANIC on hart 0 in ktrap: machine-mode exception" in out
    assert "mcause 00000005" in out and "mtval 00f00000" in out
    assert " ra " in out and " sp " in out and "t6 " in out  # the register dump
    assert "hv: halted" in out


def test_layouts_match_dwarf(images):
    # The images' own DWARF says how big the shared structures are: Python must agree.
    pytest.importorskip("elftools")
    assert struct_sizes(images["hv"])["boot_info"] == len(abi.pack_boot_info(nharts=1, appvms=[], modules=[]))
    assert struct_sizes(images["appvm"])["wl_result"] == 20


@pytest.mark.qemu
def test_health_check_and_state_dumps(images, tmp_path):
    appvms = [("hcall", 20, 1), ("compute", 20, 2)]
    out, rc, results = run(images, tmp_path, 2, appvms, sys_flags=abi.SYS_HEALTH_CHECK,
                           boot_flags=abi.BOOT_DUMP_AT_EXIT)
    assert rc == 0, out
    assert "privvm: health check ok" in out, out
    assert "health check: destroyed d1, created d3" in out   # ids are never reused (issue 9)
    for name in ("sched hart 0", "timers hart 0", "evtchn d0", "grants d0", "heap: generation 1", "pmp (hart"):
        assert name in out, name


def test_abi_tables():
    nums = abi.hypercall_numbers()
    assert len(set(nums.values())) == len(nums)
    assert sorted(nums.values()) == list(range(len(nums)))
    assert {"console_io", "sched_op", "event_channel_op", "grant_table_op", "multicall", "domctl"} <= set(nums)
    assert abi.workload_ids()["hcall"] == 2 and abi.workload_ids()["compute"] == 1
    assert len(abi.pack_boot_info(nharts=1, appvms=[("hcall", 1, 1)], modules=[])) == abi.BOOTINFO_SIZE == 292
    with pytest.raises(ValueError, match="workload"):
        abi.pack_boot_info(nharts=1, appvms=[("nope", 1, 1)], modules=[])
    p = abi.P
    assert p["SLOTS_BASE"] % p["SLOT_SIZE"] == 0 and p["PRISTINE_BASE"] % p["PRISTINE_SIZE"] == 0


def test_store_tree_on_host(tmp_path):
    exe = build.build_host_tests(tmp_path)["store_tree"]
    proc = subprocess.run([str(exe)], capture_output=True, text=True, timeout=20)
    assert proc.returncode == 0 and "store_tree: ok" in proc.stdout, proc.stdout + proc.stderr
