"""Runs side by side: ``run --jobs N`` spreads a suite's runs over N worker processes on one machine.

Small models on a CPU use a second core poorly inside one run (measured on the 2-core machines here: a
1M-param ResNet trains at 773 img/s on one thread and 1,156 on two, so two one-thread runs side by side do
about 1,550), so the runner can run independent runs at once.  Each worker is a fresh ``spawn`` process
with ``cores // jobs`` intra-op threads (the run may still choose fewer by measurement, see
:mod:`benchmark.train.tune`), and runs :func:`benchmark.runner.run_unit`: the same lock per run key, the
same records, the same resume as a run in the main process.  Two workers never run the same key: the
units of one suite have distinct keys, and a second command with the same key waits on nothing, it
refuses (the lock says whose it is).

Ctrl-C reaches every worker (one process group); SIGTERM reaches the main process, which passes it on to
the workers; either way each worker records its run as ``interrupted`` and the same command resumes it.
"""

from __future__ import annotations

import logging
import os
import signal
import warnings
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from multiprocessing import get_context
from typing import Any, Callable, Dict, List, Optional, Sequence

log = logging.getLogger(__name__)


def available_cores() -> int:
    """The cores this process may use (its CPU affinity where the OS tells it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def default_jobs(device: str, runs: int, distributed: bool = False) -> int:
    """What fits the machine: one run per core on a CPU (at most one per run), one on a GPU or under torchrun."""
    if distributed or not device.startswith("cpu"):
        return 1
    return max(1, min(available_cores(), runs))


def threads_per_job(jobs: int) -> int:
    return max(1, available_cores() // max(1, jobs))


JOBS_ENV = "SASE_BENCH_JOBS"


def _init_worker(threads: int, jobs: int) -> None:
    os.environ[JOBS_ENV] = str(jobs)  # the runner records it: a run timed beside others says so
    os.environ["OMP_NUM_THREADS"] = str(threads)
    os.environ["MKL_NUM_THREADS"] = str(threads)
    import torch

    torch.set_num_threads(threads)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"torch\.jit")  # fvcore's tracer, as cli does
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


_STOPPED: List[int] = []  # in a worker: the SIGTERMs it received (then it starts no further run)


def _raise_interrupt(signum, frame) -> None:
    _STOPPED.append(signum)
    raise KeyboardInterrupt("SIGTERM")


def _work(unit) -> Optional[Dict[str, Any]]:
    """Run one unit in a worker; nothing once the worker was told to stop.  (The pool hands each worker its
    next unit before the current one ends, so a stopped worker would otherwise start that one, unsignalled,
    and the suite's shutdown would wait for it to train to the end.)"""
    if _STOPPED:
        return None
    from benchmark.results import RecordIndex
    from benchmark.runner import run_unit, task_for

    return run_unit(unit, task_for(unit.suite), RecordIndex(unit.results_dir))


def run_units_parallel(units: Sequence[Any], jobs: int,
                       on_record: Optional[Callable[[Dict[str, Any]], None]] = None) -> List[Dict[str, Any]]:
    """Run ``units`` (:class:`benchmark.runner.Unit`) on ``jobs`` worker processes; records in unit order.

    A worker's exception (a user error, a full disk, an interrupt) stops the suite as it would in one
    process: nothing new starts, the other workers' current runs are recorded as interrupted (the same
    command resumes them), and the exception is re-raised here."""
    threads = threads_per_job(jobs)
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn"), initializer=_init_worker,
                               initargs=(threads, jobs))
    futures: Dict[Future, int] = {}
    records: List[Optional[Dict[str, Any]]] = [None] * len(units)
    try:
        futures = {pool.submit(_work, u): i for i, u in enumerate(units)}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for f in done:
                records[futures[f]] = f.result()  # re-raises a worker's exception here
                if on_record:
                    on_record(records[futures[f]])
    except BaseException:
        for f in futures:
            f.cancel()
        _stop_workers(pool)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return [r for r in records if r is not None]


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """SIGTERM each live worker: its run is recorded as interrupted (the worker's handler raises Ctrl-C)."""
    for proc in list(getattr(pool, "_processes", {}).values()):
        if proc.is_alive():
            try:
                os.kill(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
