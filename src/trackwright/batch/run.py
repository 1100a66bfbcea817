"""`run_batch`: every track through the chosen steps, locally or on Ray, then the catalogue.

The driver gathers the inputs, takes the output folder's lock, works out from the records which
tracks have work left (without reading their audio), sizes the pool to the memory the longest of
those files needs, hands them to the local pool or to Ray, and when all are back, reads every
track's records to find near-duplicates and write the catalogue and ``batch.json`` (this run's
log: settings, workers, what ran, what was skipped, what failed and why, time per step).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from trackwright import __version__
from trackwright.batch.catalog import CatalogPaths, catalog_rows, write_catalog
from trackwright.batch.distributed import run_ray
from trackwright.batch.duplicates import DuplicateReport, find_duplicates
from trackwright.batch.fingerprint import EMBEDDING_DIMS, Fingerprint
from trackwright.batch.inputs import TrackInput, gather_inputs
from trackwright.batch.local import run_local
from trackwright.batch.memory import (
    WorkerPlan,
    available_memory_mib,
    plan_workers,
    worker_peak_mib,
)
from trackwright.batch.qc import QcRules
from trackwright.batch.steps import (
    BLOCKED,
    DONE,
    FAILED,
    SKIPPED,
    BatchSettings,
    StepOutcome,
    TrackJob,
    TrackOutcome,
    pending_steps,
)
from trackwright.batch.store import TrackFolder, batch_lock, write_json
from trackwright.errors import ParameterError
from trackwright.mix.targets import resolve_target
from trackwright.progress import ProgressCallback, ignore_progress


@dataclass(frozen=True)
class BatchResult:
    """What a batch did.

    Attributes
    ----------
    output : Path
        The batch folder.
    tracks : int
        Tracks in the batch.
    counts : dict
        Per step, how many tracks it was ``done`` for in this run, ``skipped`` (done before),
        ``failed`` or ``blocked``.
    failures : list of (str, str)
        (track path, one-line error) for every track with a failed step.
    catalog : CatalogPaths
        The catalogue files.
    duplicate_groups : list of list of str
        Track ids of each near-duplicate group.
    verdicts : dict
        QC verdict → number of tracks.
    executor : str
        ``local`` or ``ray``; ``workers`` how many ran at once and why.
    wall_s, audio_s : float
        This run's wall time and the seconds of audio it processed (tracks with a step done).
    step_seconds : dict
        Per step, {"wall_s", "cpu_s", "audio_s", "tracks"} summed over the tracks it ran on.
    duplicate_stats : dict
        What the near-duplicate search cost (:class:`DuplicateReport` ``stats``).
    """

    output: Path
    tracks: int
    counts: dict[str, dict[str, int]]
    failures: list[tuple[str, str]]
    catalog: CatalogPaths
    duplicate_groups: list[list[str]]
    verdicts: dict[str, int]
    executor: str
    workers: str
    wall_s: float
    audio_s: float
    step_seconds: dict[str, dict[str, float]] = field(default_factory=dict)
    duplicate_stats: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``batch.json``)."""
        return {"trackwright": __version__, "output": str(self.output), "tracks": self.tracks, "counts": self.counts,
                "failures": [{"path": p, "error": e} for p, e in self.failures],
                "catalog": {"csv": str(self.catalog.csv), "json": str(self.catalog.json),
                            "html": str(self.catalog.html)},
                "duplicate_groups": self.duplicate_groups, "verdicts": self.verdicts, "executor": self.executor,
                "workers": self.workers, "wall_s": round(self.wall_s, 3), "audio_s": round(self.audio_s, 3),
                "step_seconds": {k: {kk: round(vv, 3) for kk, vv in v.items()} for k, v in self.step_seconds.items()},
                "duplicate_stats": self.duplicate_stats}


def _longest(jobs: Sequence[TrackJob]) -> tuple[float, float]:
    """(longest duration in seconds, largest samples per second) among the jobs' readable files."""
    longest, densest = 0.0, 0.0
    for job in jobs:
        try:
            info = sf.info(str(job.track.path))
        except (RuntimeError, OSError, sf.LibsndfileError):
            continue
        longest = max(longest, float(info.duration))
        densest = max(densest, float(info.samplerate * info.channels))
    return longest, densest


def _check_output(output: Path, tracks: Sequence[TrackInput]) -> None:
    if output.exists() and not output.is_dir():
        raise ParameterError(f"{output}: exists and is not a folder; -o takes the batch's output folder")
    resolved = output.resolve()
    for track in tracks:
        if track.path == resolved:
            raise ParameterError(f"{output}: the output folder is one of the inputs")


def _check_targets(settings: BatchSettings, tracks: Sequence[TrackInput]) -> None:
    if settings.target is not None:
        resolve_target(settings.target)
    if {"master", "deliver"} & set(settings.steps) and settings.target is None:
        missing = [t for t in tracks if t.target is None]
        if missing:
            raise ParameterError(f"--do {','.join(settings.steps)} needs --target NAME|LUFS (or a target column in "
                                 f"the manifest); {len(missing)} track(s) have none, e.g. {missing[0].path.name}")


def _find_duplicates(output: Path, tracks: Sequence[TrackInput]) -> DuplicateReport:
    paths = [TrackFolder(output, t.track_id).path / "fingerprint.npz" for t in tracks]
    done = [TrackFolder(output, t.track_id).record("fingerprint") is not None for t in tracks]
    empty = np.zeros((0, EMBEDDING_DIMS), np.float16)
    embeddings = []
    for path, ok in zip(paths, done):
        embeddings.append(Fingerprint.load(path).embeddings if ok and path.exists() else empty)
    return find_duplicates(embeddings, lambda index: Fingerprint.load(paths[index]))


class _Tally:
    """Counts and times per step as outcomes arrive, and the progress line."""

    def __init__(self, steps: tuple[str, ...], total: int, progress: ProgressCallback) -> None:
        self.steps, self.total, self.progress = steps, total, progress
        self.counts = {s: Counter() for s in steps}
        self.seconds = {s: {"wall_s": 0.0, "cpu_s": 0.0, "audio_s": 0.0, "tracks": 0.0} for s in steps}
        self.outcomes: dict[str, TrackOutcome] = {}
        self.finished = 0
        self.audio_s = 0.0

    def add(self, outcome: TrackOutcome) -> None:
        self.outcomes[outcome.track_id] = outcome
        self.finished += 1
        ran = False
        for name, step in outcome.steps.items():
            self.counts[name][step.status] += 1
            if step.status in (DONE, FAILED):
                times = self.seconds[name]
                times["wall_s"] += step.seconds
                times["cpu_s"] += step.cpu_s
                times["tracks"] += 1
                times["audio_s"] += outcome.audio_s or 0.0
                ran = ran or step.status == DONE
        if ran:
            self.audio_s += outcome.audio_s or 0.0
        self.report()

    def skip(self, job: TrackJob) -> None:
        self.add(TrackOutcome(job.track.track_id, str(job.track.path),
                              {s: StepOutcome(SKIPPED) for s in job.settings.track_steps()}))

    def report(self) -> None:
        shown = [s for s in self.steps if s != "fingerprint"]
        parts = [f"{s} {self.counts[s][DONE] + self.counts[s][SKIPPED]}" for s in shown]
        failed = sum(1 for o in self.outcomes.values() if o.failed)
        label = " · ".join(parts) + (f" · failed {failed}" if failed else "")
        self.progress(0.97 * self.finished / max(self.total, 1), label)


def run_batch(inputs: Sequence[str | Path], output: str | Path, *, steps: str | Sequence[str] = ("analyze", "qc"),
              target: str | None = None, workers: int | None = None, ray: str | None = None,
              rules: QcRules | None = None, progress: ProgressCallback | None = None) -> BatchResult:
    """Run a batch over ``inputs`` into ``output``.

    Parameters
    ----------
    inputs : sequence of str or path
        Folders, globs, audio files, CSV/JSON manifests (see :func:`~trackwright.batch.inputs.gather_inputs`).
    output : path
        The batch folder (created; a rerun into the same folder resumes and skips finished work).
    steps : str or sequence of str
        ``"analyze,qc"`` (default), any of analyze, qc, master, deliver.
    target : str, optional
        Delivery target name or LUFS for master/deliver (a manifest's ``target`` column wins).
    workers : int, optional
        Local worker processes (default: as many as cores and memory allow for the longest file).
    ray : str, optional
        Run on Ray instead: ``auto`` (join this machine's cluster), ``local`` (start one here), or
        the head's address.
    rules : QcRules, optional
        QC thresholds.
    progress : callable, optional
        ``(fraction, label)``; the label counts finished tracks per step.

    Returns
    -------
    BatchResult

    Examples
    --------
    >>> result = run_batch(["drafts/"], "catalogue")            # doctest: +SKIP
    >>> result.verdicts                                          # doctest: +SKIP
    {'needs work': 61, 'ready': 32, 'reject': 7}
    """
    report = progress or ignore_progress
    started = time.perf_counter()
    if workers is not None and workers < 1:
        raise ParameterError(f"--workers {workers}: give 1 or more")
    settings = BatchSettings(steps=BatchSettings.parse_steps(steps), target=target, rules=rules or QcRules())
    out = Path(output)
    tracks = gather_inputs(inputs, exclude=out)
    _check_output(out, tracks)
    _check_targets(settings, tracks)
    with batch_lock(out):
        report(0.0, f"planning {len(tracks)} tracks")
        jobs = [TrackJob(track, str(out.resolve()), settings) for track in tracks]
        tally = _Tally(settings.track_steps(), len(jobs), report)
        todo = []
        for job in jobs:
            if pending_steps(job):
                todo.append(job)
            else:
                tally.skip(job)
        longest, densest = _longest(todo)
        peak_mib = worker_peak_mib(settings.steps, longest, densest or 96_000)
        if ray is not None:
            executor = "ray"
            cpus = run_ray(todo, address=ray, memory_bytes=int(peak_mib * 2**20), on_outcome=tally.add) if todo else 0
            plan_text = f"Ray tasks: 1 CPU and {peak_mib:.0f} MiB each on {cpus} cluster CPUs"
        else:
            executor = "local"
            plan: WorkerPlan = plan_workers(tracks=len(todo), worker_mib=peak_mib, requested=workers,
                                            available_mib=available_memory_mib())
            if todo:
                run_local(todo, plan.workers, tally.add)
            plan_text = plan.describe()
        report(0.97, "near-duplicates and the catalogue")
        duplicates = _find_duplicates(out, tracks) if "fingerprint" in settings.track_steps() else None
        rows = catalog_rows(out, tracks, tally.outcomes, duplicates)
        paths = write_catalog(out, rows, duplicates, tracks)
        failures = [(o.path, o.error or "blocked") for o in tally.outcomes.values() if o.failed]
        result = BatchResult(
            output=out, tracks=len(tracks),
            counts={s: {k: tally.counts[s][k] for k in (DONE, SKIPPED, FAILED, BLOCKED)} for s in tally.steps},
            failures=failures, catalog=paths,
            duplicate_groups=[[tracks[i].track_id for i in g] for g in duplicates.groups] if duplicates else [],
            verdicts=dict(sorted(Counter(r["verdict"] for r in rows if r["verdict"]).items())),
            executor=executor, workers=plan_text, wall_s=time.perf_counter() - started, audio_s=tally.audio_s,
            step_seconds=tally.seconds, duplicate_stats=duplicates.stats if duplicates else {})
        write_json(out / "batch.json", {**result.to_dict(), "steps": list(settings.steps),
                                        "target": settings.target, "rules": settings.rules.to_dict(),
                                        "outcomes": [o.to_dict() for o in tally.outcomes.values()
                                                     if any(s.status != SKIPPED for s in o.steps.values())]})
        report(1.0, "done")
    return result
