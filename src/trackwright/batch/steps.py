"""One track through the batch's steps: what a worker process (or a Ray task) runs.

:func:`process_track` is the unit of work. It never raises for a bad track: every step's
failure becomes a one-line error in its :class:`TrackOutcome`, so one bad file never stops a
batch. It is idempotent: a step whose record holds its current key (see :mod:`.keys`) is
skipped, and everything is written atomically (:mod:`.store`), so running it twice, or again
after it was killed at any instant, leaves the same files as running it once.

Steps and what each writes into ``OUT/tracks/<id>/``:

``analyze``      ``analysis.json`` (`trackwright analyze --json`), ``report.html``, the QC facts
``fingerprint``  ``fingerprint.npz`` (runs with ``analyze``; feeds the near-duplicate search)
``qc``           ``qc.json``: the verdict and reasons (:mod:`.qc`)
``master``       ``master.wav`` (24-bit) mastered to the track's target
``deliver``      ``deliver/project`` (a trackwright project of the draft) and ``deliver/delivery``
"""

from __future__ import annotations

import hashlib
import json
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trackwright.analysis.analyze import analyze
from trackwright.analysis.brief import load_brief
from trackwright.analysis.report import write_html_report
from trackwright.audio import Audio, load_audio, save_audio
from trackwright.batch.fingerprint import FINGERPRINT_VERSION, fingerprint
from trackwright.batch.inputs import TrackInput
from trackwright.batch.keys import FileStat, cached_digest, step_key
from trackwright.batch.qc import QcFacts, QcRules, judge, measure_facts
from trackwright.batch.store import TrackFolder, read_json, write_json
from trackwright.deliver import deliver
from trackwright.errors import ParameterError, TrackwrightError
from trackwright.mix.master import master
from trackwright.mix.targets import resolve_target
from trackwright.project import Project

#: The steps a user asks for (``--do``), in the order they run.
STEPS = ("analyze", "qc", "master", "deliver")
#: Every step a track goes through, including the fingerprint that rides with ``analyze``.
ALL_STEPS = ("analyze", "fingerprint", "qc", "master", "deliver")
#: Version of each step's output; bump one to redo that step everywhere.
STEP_VERSIONS = {"analyze": 1, "fingerprint": FINGERPRINT_VERSION, "qc": 1, "master": 1, "deliver": 1}
NEEDS = {"qc": ("analyze",)}
DONE, SKIPPED, FAILED, BLOCKED = "done", "skipped", "failed", "blocked"


@dataclass(frozen=True)
class BatchSettings:
    """What a batch does to every track.

    Parameters
    ----------
    steps : tuple of str
        Steps to run, from :data:`STEPS` (``qc`` brings ``analyze``).
    target : str, optional
        Delivery target for ``master`` and ``deliver`` when a track names none.
    rules : QcRules
        QC thresholds.
    """

    steps: tuple[str, ...] = ("analyze", "qc")
    target: str | None = None
    rules: QcRules = field(default_factory=QcRules)

    @classmethod
    def parse_steps(cls, text: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
        """The steps of ``"analyze,qc"`` (or a sequence) with what they need, in run order."""
        names = [s.strip().lower() for s in (text.split(",") if isinstance(text, str) else text) if s.strip()]
        unknown = [n for n in names if n not in STEPS]
        if unknown or not names:
            raise ParameterError(f"--do {','.join(names) or '(nothing)'}: unknown step {unknown[0] if unknown else ''!r}"
                                 f"; choose from {', '.join(STEPS)}".replace(" ''", ""))
        wanted = set(names)
        for name in names:
            wanted.update(NEEDS.get(name, ()))
        return tuple(s for s in STEPS if s in wanted)

    def track_steps(self) -> tuple[str, ...]:
        """The steps every track goes through (with the fingerprint after ``analyze``)."""
        return tuple(s for s in ALL_STEPS if s in self.steps or (s == "fingerprint" and "analyze" in self.steps))


@dataclass(frozen=True)
class TrackJob:
    """A track, the output folder (a path every worker sees) and the settings."""

    track: TrackInput
    output: str
    settings: BatchSettings


@dataclass(frozen=True)
class StepOutcome:
    """How one step went: ``status`` done, skipped (already done), failed or blocked (a step it needs failed)."""

    status: str
    seconds: float = 0.0
    cpu_s: float = 0.0
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"status": self.status, "seconds": round(self.seconds, 3), "cpu_s": round(self.cpu_s, 3),
                "error": self.error}


@dataclass(frozen=True)
class TrackOutcome:
    """What happened to one track in this run."""

    track_id: str
    path: str
    steps: dict[str, StepOutcome]
    audio_s: float | None = None

    @property
    def failed(self) -> bool:
        """A step failed or was blocked."""
        return any(s.status in (FAILED, BLOCKED) for s in self.steps.values())

    @property
    def error(self) -> str | None:
        """The first failed step's one-line error, prefixed by the step."""
        for name, step in self.steps.items():
            if step.status == FAILED:
                return f"{name}: {step.error}"
        return None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"id": self.track_id, "path": self.path, "audio_s": self.audio_s,
                "steps": {k: v.to_dict() for k, v in self.steps.items()}}


def _input_files(track: TrackInput) -> dict[str, list[Path]]:
    """The files each input of ``track`` is made of (stems: every non-hidden file in the folder)."""
    files: dict[str, list[Path]] = {"draft": [track.path]}
    for name in ("brief", "midi"):
        path = getattr(track, name)
        files[name] = [path] if path is not None else []
    files["stems"] = []
    if track.stems is not None:
        if not track.stems.is_dir():
            raise ParameterError(f"{track.stems}: no such stems folder")
        files["stems"] = sorted(p for p in track.stems.rglob("*") if p.is_file() and not any(
            part.startswith(".") for part in p.relative_to(track.stems).parts))
    return files


def _combine(files: list[Path], shas: dict[str, str], folder: Path | None) -> str | None:
    if not files:
        return None
    if folder is None:
        return shas[str(files[0])]
    names = [[str(p.relative_to(folder)), shas[str(p)]] for p in files]
    return hashlib.sha256(json.dumps(names).encode()).hexdigest()


def _digests(track: TrackInput, folder: TrackFolder, *, read: bool) -> dict[str, str | None] | None:
    """SHA-256 of every input of ``track`` (draft, brief, MIDI; the stems folder as one digest).

    Digests are cached with each file's stat in ``source.json``. With ``read`` every file whose
    stat changed is read (and the cache updated); without, None is returned as soon as one
    digest is not in the cache (so the driver can plan without reading audio).
    """
    cache = read_json(folder.path / "source.json")
    known = cache.get("files", {}) if isinstance(cache, dict) else {}
    try:
        files = _input_files(track)
    except TrackwrightError:
        if read:
            raise
        return None
    shas: dict[str, str] = {}
    fresh: dict[str, Any] = {}
    for path in (p for group in files.values() for p in group):
        entry = known.get(str(path))
        if read:
            sha, stat = cached_digest(path, entry)
        else:
            try:
                stat = FileStat.of(path)
            except TrackwrightError:
                return None
            if not entry or entry.get("stat") != stat.to_dict():
                return None
            sha = entry["sha256"]
        shas[str(path)] = sha
        fresh[str(path)] = {"sha256": sha, "stat": stat.to_dict()}
    if read and fresh != known:
        write_json(folder.path / "source.json", {"path": str(track.path), "files": fresh})
    return {name: _combine(group, shas, track.stems if name == "stems" else None) for name, group in files.items()}


def step_keys(job: TrackJob, digests: dict[str, str | None]) -> dict[str, str | None]:
    """The key of each of the job's steps (None where it cannot be made: an unknown target)."""
    settings, track = job.settings, job.track
    keys: dict[str, str | None] = {}
    keys["analyze"] = step_key("analyze", STEP_VERSIONS["analyze"], digests["draft"], digests["brief"],
                               settings.rules.silence_floor_dbfs, settings.rules.silence_below_body_db)
    keys["fingerprint"] = step_key("fingerprint", STEP_VERSIONS["fingerprint"], digests["draft"])
    keys["qc"] = step_key("qc", STEP_VERSIONS["qc"], keys["analyze"], settings.rules.to_dict())
    spec = track.target or settings.target
    try:
        target = resolve_target(spec).to_dict() if spec is not None else None
    except TrackwrightError:
        target = None
    keys["master"] = step_key("master", STEP_VERSIONS["master"], digests["draft"], target) if target else None
    keys["deliver"] = (step_key("deliver", STEP_VERSIONS["deliver"], digests, track.title, target)
                       if target else None)
    return {name: keys[name] for name in settings.track_steps()}


def pending_steps(job: TrackJob) -> list[str]:
    """The job's steps not yet done, judged from the records and the stat cache alone (reads no audio).

    A track whose digests are not cached yet counts as wholly pending.
    """
    folder = TrackFolder(Path(job.output), job.track.track_id)
    if not folder.steps.is_dir():
        return list(job.settings.track_steps())
    digests = _digests(job.track, folder, read=False)
    if digests is None:
        return list(job.settings.track_steps())
    keys = step_keys(job, digests)
    return [name for name, key in keys.items() if key is None or folder.done(name, key) is None]


class _Track:
    """The audio and analysis of the track being processed, loaded at most once."""

    def __init__(self, track: TrackInput) -> None:
        self.track = track
        self._audio: Audio | None = None

    @property
    def duration_s(self) -> float | None:
        """Length of the audio in seconds, when it was loaded."""
        return None if self._audio is None else self._audio.duration_s

    @property
    def audio(self) -> Audio:
        if self._audio is None:
            self._audio = load_audio(self.track.path)
        return self._audio


def _summary(analysis: Any) -> dict[str, Any]:
    data = analysis.to_dict()
    loud = data["loudness"]
    return {"duration_s": data["duration_s"], "tempo_bpm": data["tempo_bpm"], "time_signature": data["time_signature"],
            "key": analysis.harmony.key.name, "key_confidence": round(analysis.harmony.key.confidence, 3),
            "integrated_lufs": loud.get("integrated_lufs"), "true_peak_dbtp": loud.get("true_peak_dbtp"),
            "loudness_range_lu": loud.get("loudness_range_lu"), "findings": len(analysis.findings),
            "major_findings": sum(1 for f in analysis.findings if f.severity == "major"),
            "sections": len(analysis.structure.sections)}


def _run_analyze(job: TrackJob, state: _Track, folder: TrackFolder, key: str) -> None:
    track = job.track
    brief = load_brief(track.brief) if track.brief is not None else None
    analysis = analyze(state.audio, brief=brief)
    facts = measure_facts(state.audio, analysis, rules=job.settings.rules)
    write_json(folder.path / "analysis.json", {"file": str(track.path), **analysis.to_dict()})
    write_html_report(analysis, folder.path / "report.html", title=track.title, audio=state.audio)
    folder.commit("analyze", key, ["analysis.json", "report.html"],
                  {"summary": _summary(analysis), "facts": facts.to_dict()})


def _run_fingerprint(job: TrackJob, state: _Track, folder: TrackFolder, key: str) -> None:
    print_ = fingerprint(state.audio)
    print_.save(folder.path / "fingerprint.npz")
    folder.commit("fingerprint", key, ["fingerprint.npz"],
                  {"frames": int(print_.chroma.shape[1]), "windows": len(print_.embeddings)})


def _run_qc(job: TrackJob, state: _Track, folder: TrackFolder, key: str) -> None:
    record = folder.record("analyze")
    if record is None:
        raise ParameterError("the analysis is missing")
    verdict = judge(QcFacts.from_dict(record["result"]["facts"]), job.settings.rules)
    write_json(folder.path / "qc.json", {"file": str(job.track.path), "title": job.track.title, **verdict.to_dict()})
    folder.commit("qc", key, ["qc.json"], verdict.to_dict())


def _target(job: TrackJob) -> str:
    spec = job.track.target or job.settings.target
    if spec is None:
        raise ParameterError("no delivery target: give --target or a target column in the manifest")
    resolve_target(spec)
    return spec


def _run_master(job: TrackJob, state: _Track, folder: TrackFolder, key: str) -> None:
    result = master(state.audio, resolve_target(_target(job)))
    warnings = save_audio(result.audio, folder.path / "master.wav", bit_depth="24", inputs=[job.track.path])
    summary = result.to_dict()
    summary["warnings"] = list(summary["warnings"]) + [w.replace(str(folder.path) + "/", "") for w in warnings]
    folder.commit("master", key, ["master.wav"], summary)


def _run_deliver(job: TrackJob, state: _Track, folder: TrackFolder, key: str) -> None:
    track = job.track
    target = _target(job)
    stage = folder.stage("deliver")
    project = Project.create(stage / "project", track.path, stems=track.stems, midi=track.midi, brief=track.brief)
    result = deliver(project.path, target=target, output=stage / "delivery", title=track.title)
    folder.publish(stage, "deliver")
    summary = result.to_dict()
    summary["folder"] = "deliver/delivery"
    folder.commit("deliver", key, ["deliver/project", "deliver/delivery"], summary)


_RUNNERS = {"analyze": _run_analyze, "fingerprint": _run_fingerprint, "qc": _run_qc, "master": _run_master,
            "deliver": _run_deliver}
_NEEDS_RECORD = {"qc": "analyze"}


def _one_line(err: BaseException) -> str:
    if isinstance(err, TrackwrightError):
        return str(err)
    if isinstance(err, MemoryError):
        return "out of memory"
    return f"internal error: {type(err).__name__}: {' '.join(str(err).split())}"


def process_track(job: TrackJob) -> TrackOutcome:
    """Run the job's steps on its track; skip those done; never raise for the track's own problems.

    Returns
    -------
    TrackOutcome
        Per step: done, skipped, failed (with one line) or blocked, with wall and CPU seconds.
    """
    track = job.track
    folder = TrackFolder(Path(job.output), track.track_id)
    outcomes: dict[str, StepOutcome] = {}
    steps = job.settings.track_steps()
    try:
        folder.prepare()
        keys = step_keys(job, _digests(track, folder, read=True) or {})
    except Exception as err:  # noqa: BLE001 - a bad track is reported, never raised
        line = _one_line(err)
        return TrackOutcome(track.track_id, str(track.path), {s: StepOutcome(FAILED, error=line) for s in steps})
    state = _Track(track)
    for name in steps:
        needed = _NEEDS_RECORD.get(name)
        if needed is not None and outcomes.get(needed, StepOutcome(DONE)).status in (FAILED, BLOCKED):
            outcomes[name] = StepOutcome(BLOCKED, error=f"needs {needed}, which failed")
            continue
        key = keys[name]
        if key is not None and folder.done(name, key) is not None:
            outcomes[name] = StepOutcome(SKIPPED)
            continue
        started, cpu = time.perf_counter(), time.process_time()
        try:
            folder.forget(name)
            if key is None:
                _target(job)  # raises the one-line reason
                raise ParameterError("this step cannot run for this track")
            _RUNNERS[name](job, state, folder, key)
            status, error = DONE, None
        except Exception as err:  # noqa: BLE001 - one bad file never stops the batch
            status, error = FAILED, _one_line(err)
            if not isinstance(err, TrackwrightError):
                error += f" (at {traceback.extract_tb(err.__traceback__)[-1].name})"
        outcomes[name] = StepOutcome(status, time.perf_counter() - started, time.process_time() - cpu, error)
    return TrackOutcome(track.track_id, str(track.path), outcomes, state.duration_s)
