"""Fault injection (DESIGN section 5): fault models, fault spaces, one run -> RunReport.

    from workbench.faults import RegisterFlip, FaultSpace, run_fault
    report = system.inject(RegisterFlip("hv", at=120_000, reg="a0", bit=3))
    faults = FaultSpace("hv", ("reg", "code", "failstop", "mem")).sample(system, 100, seed=7)
"""
from workbench.faults.detection import Detection, Detector  # noqa: F401
from workbench.faults.models import (FAULT_TYPES, REGISTERS, ROW_KEYS, CodeFlip, FailStop, Fault,  # noqa: F401
                                     MemoryFlip, RegisterFlip, fault_from_row)
from workbench.faults.report import OUTCOMES, RunReport  # noqa: F401
from workbench.faults.run import DEFAULT_TIMEOUT_FACTOR, run_fault  # noqa: F401
from workbench.faults.space import DEFAULT_WINDOW, FaultSpace  # noqa: F401


def _inject_into(fault, system, **kw):
    """`System.inject(fault)` lands here: the system layer does not import faults, so it calls the
    fault, and the method is attached here so that models.py need not import run.py (which uses it)."""
    return run_fault(system, fault, **kw)


Fault.inject_into = _inject_into

__all__ = ["CodeFlip", "DEFAULT_TIMEOUT_FACTOR", "DEFAULT_WINDOW", "Detection", "FAULT_TYPES", "FailStop", "Fault",
           "FaultSpace", "MemoryFlip", "OUTCOMES", "REGISTERS", "ROW_KEYS", "RegisterFlip", "RunReport",
           "fault_from_row", "run_fault"]
