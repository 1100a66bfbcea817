"""The embedded executor: a pool of worker processes on this machine.

Workers are started with ``spawn`` (no state inherited from the driver), one BLAS thread each
(the analysis already spreads channels over threads), and on Linux they die with the driver
(``PR_SET_PDEATHSIG``), so killing a batch never leaves orphans writing into its folder. At most
two tracks per worker are in flight. When a worker dies (killed, out of memory) the pool is
rebuilt and the tracks that were in flight run again one at a time: the one whose worker dies
alone is reported failed instead of taking the batch down.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from trackwright.batch.steps import (
    FAILED,
    StepOutcome,
    TrackJob,
    TrackOutcome,
    process_track,
)

#: A worker process is replaced after this many tracks (returns memory fragmentation to the system).
TASKS_PER_WORKER = 200
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")


def _worker_init() -> None:
    """In each worker: die with the driver (Linux) and leave Ctrl-C to the driver."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() == 1:  # the driver died before the line above ran
            os._exit(1)


@contextlib.contextmanager
def _single_threaded_children() -> Iterator[None]:
    """Spawned workers inherit the environment: one BLAS/OpenMP thread each while they start."""
    saved = {name: os.environ.get(name) for name in _THREAD_VARIABLES}
    for name in _THREAD_VARIABLES:
        os.environ.setdefault(name, "1")
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _pool(workers: int) -> ProcessPoolExecutor:
    with _single_threaded_children():
        return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_worker_init, max_tasks_per_child=TASKS_PER_WORKER)


def _died(job: TrackJob) -> TrackOutcome:
    line = "the worker process died while working on this track alone (out of memory, or killed)"
    steps = {name: StepOutcome(FAILED, error=line) for name in job.settings.track_steps()}
    return TrackOutcome(job.track.track_id, str(job.track.path), steps)


def run_local(jobs: Sequence[TrackJob], workers: int, on_outcome: Callable[[TrackOutcome], None], *,
              work: Callable[[TrackJob], TrackOutcome] = process_track, in_process: bool | None = None) -> None:
    """Process ``jobs`` on ``workers`` processes, calling ``on_outcome`` (in the driver) as each finishes.

    When a worker dies, every track that was in flight is a suspect: the pool is rebuilt and the
    suspects run again one at a time; a track whose worker dies while it runs alone is reported
    failed, the others go on.

    Parameters
    ----------
    work : callable
        What a worker does with a job (a module-level function, so that workers can import it).
    in_process : bool, optional
        Run in this process without a pool; default when ``workers`` is 1 (what debuggers want).
    """
    if in_process is None:
        in_process = workers <= 1
    if in_process:
        for job in jobs:
            on_outcome(work(job))
        return
    queue = list(reversed(range(len(jobs))))
    suspects: list[int] = []
    pool = _pool(workers)
    running: dict[Future[TrackOutcome], int] = {}
    try:
        while queue or suspects or running:
            if suspects:  # one at a time until the culprit is found
                if not running:
                    index = suspects.pop()
                    running[pool.submit(work, jobs[index])] = index
            else:
                while queue and len(running) < 2 * workers:
                    index = queue.pop()
                    running[pool.submit(work, jobs[index])] = index
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            broken = False
            alone = len(running) == 1
            for future in finished:
                index = running.pop(future)
                try:
                    outcome = future.result()
                except BrokenProcessPool:
                    broken = True
                    if alone:
                        on_outcome(_died(jobs[index]))
                    else:
                        suspects.append(index)
                else:
                    on_outcome(outcome)
            if broken:
                suspects.extend(running.values())
                running.clear()
                pool.shutdown(wait=False, cancel_futures=True)
                pool = _pool(workers)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
