"""The system layer: a `SystemConfig` -> stack images -> a booted virtualized system on the machine.

config.py (`SystemConfig`), images.py (the stack images, built and cached), system.py (`System`: boot,
run, golden), results.py (what runs return), views/ (live DWARF views of the components), iomodel.py
(Python models of the I/O workloads' results), qemu.py + qemu_peer.py (the QEMU cross-check).
"""
from workbench.system.config import (  # noqa: F401
    DEFAULT_APPVMS, DEFAULT_ITERATIONS, MAX_APPVMS, SystemConfig, workload_names)
from workbench.system.images import cache_dir, stack_images  # noqa: F401
from workbench.system.qemu import QemuRun  # noqa: F401
from workbench.system.results import BootError, RunSummary, WorkloadResult  # noqa: F401
from workbench.system.system import System  # noqa: F401
