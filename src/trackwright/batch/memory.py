"""How many tracks a machine can work on at once without running out of memory.

Each worker process holds one track at a time. Its peak memory is the larger of what the imports
take (Python, NumPy, SciPy, librosa, pedalboard: :data:`WORKER_BASE_MIB`) and, for the step it
is in, a fixed part plus a part proportional to the length of the audio
(:data:`STEP_MEMORY`: peak RSS of one process measured by ``bench/bench_batch.py`` on 60 s and
150 s of 44.1 kHz stereo; a higher rate or more channels scale the proportional part). A batch
sizes its pool for the longest file it has to process:
``workers = min(cores, tracks, usable memory // worker peak)``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

#: Peak RSS of a worker process with trackwright's steps imported, MiB.
WORKER_BASE_MIB = 300.0
#: Per step: (fixed MiB, MiB per second of 44.1–48 kHz stereo audio) of a worker's peak RSS,
#: measured by bench/bench_batch.py (analyze includes the QC facts and the fingerprint).
STEP_MEMORY = {"analyze": (240.0, 1.1), "qc": (0.0, 0.0), "master": (210.0, 2.7), "deliver": (420.0, 5.2)}
#: Share of the available memory a batch plans to use (the rest is for the system and the driver).
USABLE_SHARE = 0.8
_REFERENCE_SAMPLES_PER_S = 48_000 * 2


@dataclass(frozen=True)
class WorkerPlan:
    """The number of workers and why: ``limit`` is ``"cores"``, ``"memory"``, ``"tracks"`` or ``"requested"``."""

    workers: int
    limit: str
    worker_mib: float
    available_mib: float | None

    def describe(self) -> str:
        """One line for people."""
        memory = f"{self.available_mib / 1024:.1f} GiB available" if self.available_mib else "memory unknown"
        return (f"{self.workers} worker{'s' if self.workers != 1 else ''} (limited by {self.limit}; "
                f"≈{self.worker_mib:.0f} MiB each for the longest file, {memory})")


def worker_peak_mib(steps: Iterable[str], longest_s: float, samples_per_s: float = _REFERENCE_SAMPLES_PER_S) -> float:
    """Estimated peak memory of one worker, MiB, doing ``steps`` on a file of ``longest_s`` seconds
    with ``samples_per_s`` samples per second (rate × channels)."""
    scale = max(1.0, samples_per_s / _REFERENCE_SAMPLES_PER_S)
    peaks = [fixed + per_second * max(longest_s, 0.0) * scale
             for fixed, per_second in (STEP_MEMORY.get(step, (0.0, 0.0)) for step in steps)]
    return max([WORKER_BASE_MIB, *peaks])


def available_memory_mib() -> float | None:
    """Memory this process may still use, MiB: ``MemAvailable`` from /proc/meminfo, or the cgroup
    (v2) limit minus its current use when that is smaller; None where neither can be read."""
    found: list[float] = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append(float(line.split()[1]) / 1024)
    except OSError:
        pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        current = Path("/sys/fs/cgroup/memory.current").read_text().strip()
        if limit != "max":
            found.append((float(limit) - float(current)) / 2**20)
    except (OSError, ValueError):
        pass
    return min(found) if found else None


def plan_workers(*, tracks: int, worker_mib: float, requested: int | None = None,
                 available_mib: float | None = None, cores: int | None = None) -> WorkerPlan:
    """How many worker processes to start for ``tracks`` tracks needing ``worker_mib`` MiB each.

    ``requested`` (``--workers``) wins when given; otherwise the smallest of the cores, the tracks
    and what :data:`USABLE_SHARE` of the available memory holds (at least one).
    """
    if requested is not None:
        return WorkerPlan(max(1, requested), "requested", worker_mib, available_mib)
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    limits = {"cores": max(1, cores), "tracks": max(1, tracks)}
    if available_mib is not None:
        limits["memory"] = max(1, int(available_mib * USABLE_SHARE // max(worker_mib, 1.0)))
    limit = min(limits, key=lambda name: (limits[name], name != "cores"))
    return WorkerPlan(limits[limit], limit, worker_mib, available_mib)
