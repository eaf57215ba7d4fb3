"""The stack's X-macro lists (issue 7): one C list each for the workloads (include/workload_list.h)
and the recovery mechanisms (include/recovery_list.h), compiled into the images and read by Python
from the headers.  These tests read the compiled tables back out of the images through DWARF (no
machine runs) and check that C and Python agree, row for row.
"""
from __future__ import annotations

import re
import struct

import pytest

from workbench.stack import abi
from workbench.system import System, SystemConfig, config
from workbench.system.images import stack_images
from workbench.system.views.dwarf import DwarfTypes, ImageMemory


@pytest.fixture(scope="module")
def images():
    return stack_images()


def table(elf, name, file=None):
    return DwarfTypes.of(elf).view(ImageMemory(elf), name, file)


def test_every_list_line_is_read():
    # a line the Python reader skipped (a typo in its layout) would silently drop a workload
    for header, macro, parsed in (("workload_list.h", "WORKLOAD", abi.workloads()),
                                  ("recovery_list.h", "RECOVERY", abi.recovery_mechanisms()),
                                  ("enhancement_list.h", "ENHANCEMENT", abi.enhancements()),
                                  ("recovery_cause_list.h", "RECOVERY_CAUSE", abi.recovery_causes())):
        lines = re.findall(rf"^\s*{macro}\(", (abi.INCLUDE / header).read_text(), re.M)
        assert len(lines) == len(parsed) > 0, header
    assert [w.id for w in abi.workloads().values()] == list(range(1, len(abi.workloads()) + 1))
    assert [r.id for r in abi.recovery_mechanisms().values()] == list(range(len(abi.recovery_mechanisms())))


@pytest.mark.parametrize("image", ["appvm", "privvm"])
def test_workload_table_in_the_images_is_the_header_list(images, image):
    rows = [(r.string("name"), r.iterations, bool(r.needs_dvm)) for r in table(images[image], "workloads")]
    expected = [("none", 0, False)] + [(w.name, w.iterations, w.needs_dvm) for w in abi.workloads().values()]
    assert rows == expected
    enum = DwarfTypes.of(images[image]).enum("workload_id")
    assert {v: n for v, n in enum.items() if n != "WL_COUNT"} == {i: f"WL_{n}" for n, i in abi.workload_ids().items()}


def test_appvm_dispatch_runs_each_listed_workload(images):
    # the generated dispatch: entry `id` is the function wl_<name>, WL_none has none
    t = DwarfTypes.of(images["appvm"])
    run = table(images["appvm"], "wl_run", "main.c").to_list()
    assert run[0] == 0
    assert run[1:] == [t.symbols[f"wl_{w.name}"] for w in abi.workloads().values()]


def test_recovery_table_in_the_hypervisor_is_the_header_list(images):
    rows = [(r.string("name"), bool(r.implemented)) for r in table(images["hv"], "recovery_mechanisms")]
    assert rows == [(r.name, r.implemented) for r in abi.recovery_mechanisms().values()]
    enum = DwarfTypes.of(images["hv"]).enum("recovery_kind")
    assert {v: n for v, n in enum.items() if n != "RECOVERY_COUNT"} == \
        {r.id: f"RECOVERY_{r.name}" for r in abi.recovery_mechanisms().values()}


def test_enhancement_table_in_the_hypervisor_is_the_header_list(images):
    rows = [(r.string("name"), r.flag) for r in table(images["hv"], "recovery_enhancements")]
    assert rows == [(e.name, 1 << e.bit) for e in abi.enhancements().values()]
    assert len({n for n, _ in rows}) == len(rows) and len({f for _, f in rows}) == len(rows)   # no duplicates


def test_python_lists_come_from_the_headers():
    w, r = abi.workloads(), abi.recovery_mechanisms()
    assert config.workload_names() == tuple(w) and "none" not in config.workload_names()
    assert config.DEFAULT_ITERATIONS == {n: x.iterations for n, x in w.items()}
    assert abi.IO_WORKLOADS == tuple(n for n, x in w.items() if x.needs_dvm) == ("blk", "net")
    assert config.RECOVERY_IMPLEMENTED == tuple(n for n, x in r.items() if x.implemented) == ("halt", "reboot", "rehype")
    assert set(config.RECOVERY_PLANNED) == {"dvm_reboot", "privvm_reboot"}
    for name in config.RECOVERY_PLANNED:
        with pytest.raises(NotImplementedError, match=name):
            SystemConfig(recovery=name)
    with pytest.raises(ValueError, match=r"SystemConfig\.recovery='nope'.*'privvm_reboot'"):
        SystemConfig(recovery="nope")


def test_boot_info_carries_the_recovery_number():
    words = struct.unpack("<8I", System(SystemConfig(appvms=("hcall",))).boot_info()[:32])
    assert words[4] == abi.recovery_mechanisms()["halt"].id == 0


def test_enhancement_and_cause_lists_agree():
    e, c = abi.enhancements(), abi.recovery_causes()
    assert sorted(x.bit for x in e.values()) == list(range(len(e)))      # one flag bit each
    assert [x.id for x in c.values()] == list(range(len(c)))
    # every cause names a real enhancement (or none), and every enhancement removes some cause
    assert {x.enhancement for x in c.values()} - {None} == set(e)


def test_enhancements_reach_the_boot_info_block():
    def flags(**kw):
        return struct.unpack("<8I", System(SystemConfig(appvms=("hcall",), **kw)).boot_info()[:32])[5]
    assert flags() == (1 << len(config.ALL_ENHANCEMENTS)) - 1
    assert flags(enhancements=()) == 0
    assert flags(enhancements=("time_continuity", "reset_locks")) == \
        1 << abi.enhancements()["time_continuity"].bit | 1 << abi.enhancements()["reset_locks"].bit
    # any order in, the papers' order stored: one configuration, one value
    assert SystemConfig(enhancements=("event_kick", "ack_irqs")) == SystemConfig(enhancements=("ack_irqs", "event_kick"))
    assert SystemConfig(enhancements="ack_irqs, event_kick").enhancements == ("ack_irqs", "event_kick")
    with pytest.raises(ValueError, match=r"SystemConfig\.enhancements: 'acks'.*'ack_irqs'"):
        SystemConfig(enhancements=("acks",))
    with pytest.raises(ValueError, match=r"SystemConfig\.enhancements=3"):
        SystemConfig(enhancements=3)
