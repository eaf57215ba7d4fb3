"""Shared fixtures: the machine under test is optional until `workbench.hw` builds; references skip if absent."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # lets test files `import rv32`

import rv32  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "qemu: runs a program under qemu-system-riscv32 (skipped if absent)")
    config.addinivalue_line("markers", "slow: long-running test")


def _hw_or_skip():
    try:
        import workbench.hw  # noqa: F401
    except ImportError as e:  # the Cython core is not built (yet)
        pytest.skip(f"workbench.hw not importable: {e}")


@pytest.fixture
def machine_run():
    """run(elf_or_code, harts=1, **kw) -> (machine, StopInfo) on our machine model."""
    _hw_or_skip()
    return rv32.run_machine


@pytest.fixture
def qemu():
    if rv32.qemu_path() is None:
        pytest.skip("qemu-system-riscv32 not installed (Debian package qemu-system-misc)")
    return rv32.run_qemu
