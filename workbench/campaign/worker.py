"""What runs in a worker process (a local process or a Dask worker): one booted `System` per process,
kept across tasks, so every run restores the same steady-state snapshot instead of booting again."""
from __future__ import annotations

_SYSTEMS: dict = {}      # repr(config) -> booted System; one configuration per process at a time


def system_for(config):
    """The booted System for `config` in this process (booted on first use, then reused)."""
    key = repr(config)
    system = _SYSTEMS.get(key)
    if system is None:
        from workbench.system import System
        _SYSTEMS.clear()                # a worker serves one campaign at a time: free the last machine
        system = System(config)
        system.boot()
        _SYSTEMS[key] = system
    return system


def prime(config, golden) -> None:
    """Worker start: boot the System and take the golden profile the campaign recorded
    (`faults.golden.export_profile`), so the worker does not run the golden passes again."""
    import gc
    from workbench.faults.golden import adopt_profile
    adopt_profile(system_for(config), golden)
    gc.freeze()        # the booted System lives as long as the worker: keep it out of every collection


class RunFailed(RuntimeError):
    """The workbench itself failed on one run (not an outcome of the fault): a bug to report."""


def run_chunk(job, items: list[tuple[int, dict]]) -> list[dict]:
    """Run each (run number, fault row) on this process's System; one flat row per run, in order. `job`:
    (configuration, `run_fault` keywords: the campaign's per-run guard)."""
    from workbench.faults import fault_from_row
    config, budgets = job
    system = system_for(config)
    rows = []
    for run, fault_row in items:
        try:
            report = system.inject(fault_from_row(fault_row), **budgets)
            rows.append({"run": run, **fault_row, **report.row()})
        except Exception as e:
            # a string keeps it picklable across processes and Dask, whatever the original type was
            raise RunFailed(f"run {run} ({fault_row}) failed: {type(e).__name__}: {e}") from None
    return rows
