"""Where a campaign's runs execute: "inline" (this process), "processes" (a local process pool), or a
Dask `distributed.Client`. Each takes chunks of (run, fault row) and hands back each chunk's rows as it
completes; the order of completion does not matter, the table is sorted by run."""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

from workbench.campaign.worker import prime, run_chunk

EXECUTORS = ("processes", "inline")


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def is_dask_client(executor) -> bool:
    return type(executor).__name__ == "Client" and type(executor).__module__.startswith("distributed")


def check_executor(executor, workers) -> None:
    if not (executor in EXECUTORS or is_dask_client(executor)):
        raise ValueError(f"executor={executor!r} is invalid: allowed 'processes', 'inline' or a distributed.Client")
    if workers is not None and (not isinstance(workers, int) or isinstance(workers, bool) or workers < 1):
        raise ValueError(f"workers={workers!r} is invalid: allowed None (all cores) or a positive int")


def execute(executor, workers, job, chunks, on_rows, should_stop, golden=None) -> bool:
    """Run `chunks` of `job` (the configuration and the runs' keywords, see `run_chunk`), calling
    `on_rows(rows)` in this thread for each finished chunk. When `should_stop()` turns true, chunks not yet started are cancelled and the ones running are still collected. Returns
    True when every chunk ran. `golden`: a thunk giving the exported golden profile local worker
    processes start with (`worker.prime`)."""
    if executor == "inline":
        for c in chunks:
            if should_stop():
                return False
            on_rows(run_chunk(job, c))
        return True
    if is_dask_client(executor):
        return _dask(executor, job, chunks, on_rows, should_stop)
    return _processes(workers or default_workers(), job, chunks, on_rows, should_stop, golden)


def _processes(workers, job, chunks, on_rows, should_stop, golden=None) -> bool:
    # spawn, not fork: the caller may be a Jupyter kernel or a widget's thread, and forking a process
    # with threads can copy a lock some other thread holds
    ctx = multiprocessing.get_context("spawn")
    init = {"initializer": prime, "initargs": (job[0], golden())} if golden is not None and chunks else {}
    with ProcessPoolExecutor(max_workers=min(workers, len(chunks)) or 1, mp_context=ctx, **init) as pool:
        pending = {pool.submit(run_chunk, job, c) for c in chunks}
        stopped = False
        try:
            while pending:
                done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                for f in done:
                    if not f.cancelled():
                        on_rows(f.result())
                if not stopped and should_stop():
                    stopped = True
                    pending = {f for f in pending if not f.cancel()}     # keep the ones already running
        finally:
            for f in pending:
                f.cancel()
    return not stopped


def _dask(client, job, chunks, on_rows, should_stop) -> bool:
    from distributed import as_completed
    futures = [client.submit(run_chunk, job, c, pure=False) for c in chunks]
    seq = as_completed(futures)
    try:
        for f in seq:
            on_rows(f.result())
            if should_stop():
                return False
        return True
    finally:
        client.cancel([f for f in futures if not f.done()])
