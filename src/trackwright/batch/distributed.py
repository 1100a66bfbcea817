"""The distributed executor: the same per-track work as Ray tasks on a cluster.

Needs the ``[distributed]`` extra (``pip install 'trackwright[distributed]'``, which installs
``ray``); it is imported only when a batch asks for Ray. Every task runs
:func:`~trackwright.batch.steps.process_track` — the function the local pool runs — on one CPU
with the memory the longest file needs declared to Ray's scheduler, so a node never takes more
tracks than its memory holds. Inputs and outputs go through paths every node sees (a shared
folder or a mounted bucket): the tasks write the same per-track files a local batch writes, and
only small outcomes travel back to the driver. A task whose worker or node dies is retried by
Ray (:data:`MAX_RETRIES`); the work is idempotent, so a retry finishes what the first attempt began.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

from trackwright.batch.steps import (
    FAILED,
    StepOutcome,
    TrackJob,
    TrackOutcome,
    process_track,
)
from trackwright.errors import MissingDependencyError, ParameterError

MAX_RETRIES = 2
#: Tasks in flight per CPU of the cluster (keeps the driver's memory flat for huge catalogues).
IN_FLIGHT_PER_CPU = 2


def import_ray() -> ModuleType:
    """The ``ray`` module, or a one-line :class:`MissingDependencyError` naming the extra."""
    try:
        return importlib.import_module("ray")
    except ImportError:
        raise MissingDependencyError("--ray needs Ray: pip install 'trackwright[distributed]' "
                                     "(on every node of the cluster)") from None


def connect(ray: ModuleType, address: str) -> bool:
    """Join (or, for ``local``, start) a cluster; True when this call started the connection.

    ``address`` is ``auto`` (the cluster this machine belongs to: ``ray start --head`` or
    ``--address`` ran here), ``local`` (a new single-machine cluster for this batch), or a head's
    ``HOST:PORT`` / ``ray://HOST:10001``. A connection the caller already made is reused.
    """
    if ray.is_initialized():
        return False
    options: dict[str, Any] = {"log_to_driver": False, "logging_level": "warning", "configure_logging": True}
    try:
        if address == "local":
            ray.init(address="local", include_dashboard=False, **options)
        else:
            ray.init(address=address, **options)
    except (ConnectionError, ValueError, RuntimeError) as err:
        hint = ("start one with `ray start --head` (or use --ray local)" if address == "auto"
                else "check the address and that the head node is running `ray start --head`")
        raise ParameterError(f"--ray {address}: cannot join a Ray cluster ({' '.join(str(err).split())[:160]}); "
                             f"{hint}") from None
    return True


def cluster_cpus(ray: ModuleType) -> int:
    """CPUs the cluster offers (at least 1)."""
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def largest_node_memory(ray: ModuleType) -> int | None:
    """The ``memory`` resource of the cluster's largest live node, bytes (None when unknown)."""
    sizes = [node.get("Resources", {}).get("memory") for node in ray.nodes() if node.get("Alive")]
    sizes = [int(s) for s in sizes if s]
    return max(sizes) if sizes else None


def _lost(job: TrackJob, err: Exception) -> TrackOutcome:
    line = f"the Ray task failed after {MAX_RETRIES} retries ({type(err).__name__}: {' '.join(str(err).split())[:200]})"
    steps = {name: StepOutcome(FAILED, error=line) for name in job.settings.track_steps()}
    return TrackOutcome(job.track.track_id, str(job.track.path), steps)


def run_ray(jobs: Sequence[TrackJob], *, address: str, memory_bytes: int,
            on_outcome: Callable[[TrackOutcome], None]) -> int:
    """Process ``jobs`` as Ray tasks (one CPU, ``memory_bytes`` each), calling ``on_outcome`` as
    each finishes; returns the cluster's CPU count. Shuts down only a connection it made."""
    ray = import_ray()
    started = connect(ray, address)
    try:
        largest = largest_node_memory(ray)
        # a task asking more than any node has would wait for ever: ask for the largest node instead
        memory = max(1, min(int(memory_bytes), largest) if largest else int(memory_bytes))
        task = ray.remote(num_cpus=1, memory=memory, max_retries=MAX_RETRIES)(process_track)
        cpus = cluster_cpus(ray)
        window = IN_FLIGHT_PER_CPU * cpus
        queue = list(reversed(range(len(jobs))))
        running: dict[Any, int] = {}
        while queue or running:
            while queue and len(running) < window:
                index = queue.pop()
                running[task.remote(jobs[index])] = index
            ready, _ = ray.wait(list(running), num_returns=1)
            for ref in ready:
                index = running.pop(ref)
                try:
                    outcome = ray.get(ref)
                except ray.exceptions.RayError as err:
                    outcome = _lost(jobs[index], err)
                on_outcome(outcome)
        return cpus
    finally:
        if started:
            ray.shutdown()
