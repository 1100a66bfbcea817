"""The delivery package of a project version: every file a music supervisor or a game team asks for.

Conventions
-----------
* Everything is cut from one render of the version (:meth:`Project.render`): the edited mix,
  the edited stems and the residual (mix − Σ stems). Times are seconds, levels LUFS / dBTP.
* **Main** and the **alternates** (instrumental, underscore, lite) and the **cutdowns** are
  mastered to the target with :func:`~trackwright.mix.master.master`; the underscore sits
  :data:`UNDERSCORE_DROP_LU` under it. These are "full-length" material and are checked at
  ±:data:`LOUDNESS_TOLERANCE_LU` of their loudness; every file is checked against the ceiling.
* **Stingers**, **loops**, **segments** and the **full layer** are cut from the main master, so
  they play at its level. Loops are crossfaded *before* the loop point: the last
  :data:`LOOP_FADE_S` of the loop blend into the audio that precedes its first bar, so the wrap
  from the loop's last sample to its first is the music's own sample-to-sample step.
* **Stems** are the edited stems through the main master's linear EQ (high-pass and shelves,
  :func:`master_eq`) × its make-up gain (32-bit float, so nothing clips). The master's
  compression and limiting are not linear, so they cannot be split
  between stems: what they change, plus the residual no stem holds, is delivered as the
  ``MasterDiff`` stem. Stems + MasterDiff sum to the main master (the test holds it to −40 dB;
  in practice the 24-bit quantisation of the master, about −140 dB); ``deliverables.json``
  reports the MasterDiff level relative to the master, i.e. how much the stems alone miss.
* Files are written into a hidden folder beside the output and renamed into place at the end;
  a file that misses its target fails the command and nothing is left under the output.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import os
import re
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from trackwright.analysis.loudness import measure_loudness, true_peak_dbtp
from trackwright.arrange.grid import BarGrid, grid_from_analysis
from trackwright.audio import Audio, load_audio, save_audio, write_atomic
from trackwright.deliver.wavmeta import BextInfo, LoopPoint, bext_chunk, smpl_chunk, write_wav_chunks
from trackwright.errors import MeasurementError, ParameterError, TrackwrightError
from trackwright.mix.targets import Target, resolve_target
from trackwright.progress import ProgressCallback, ignore_progress

#: What ``--only`` may name; ``alternates`` stands for instrumental, underscore and lite.
DELIVERABLE_KINDS = ("main", "instrumental", "underscore", "lite", "cutdowns", "stingers", "loops", "layers",
                     "segments", "stems")
DEFAULT_CUTDOWNS_S = (60.0, 30.0, 15.0, 6.0)
#: Full-length material must land within this of its loudness target, LU.
LOUDNESS_TOLERANCE_LU = 0.5
#: The underscore is mastered this much under the target, LU.
UNDERSCORE_DROP_LU = 6.0
#: Presence dip of the underscore: centre (Hz), gain (dB) and Q spanning about 300 Hz–3 kHz.
PRESENCE_HZ, PRESENCE_DB, PRESENCE_Q = 950.0, -5.0, 0.35
#: The underscore keeps the drums this much lower, dB ("sparser parts").
UNDERSCORE_DRUMS_DB = -8.0
#: Crossfade before each loop point, seconds.
LOOP_FADE_S = 0.040
#: A span of bars loops musically when the bars at both ends of the wrap are at least this alike (0–1).
LOOP_LIKENESS = 0.5
#: Stinger length, seconds.
STING_RANGE_S = (2.0, 5.0)
#: Transitions: bars this alike may jump at the next bar; less alike ones wait for the exit cue.
NEXT_BAR_LIKENESS = 0.7
FOLLOWS_WELL_LIKENESS = 0.4
ORIGINATOR = "trackwright"
#: Delivered stems: one per role (the parts of that role summed), in this order, under these names.
ROLE_STEMS = {"drums": "Drums", "bass": "Bass", "bed": "Music", "lead": "Lead", "vocal": "Vocals"}

def stem_role(name: str) -> str:
    """The delivery role of a stem from its name: vocal, drums, bass, lead or bed (pads, keys,
    everything else), from the project's one name reader (:func:`trackwright.produce.stems.role_from_name`)."""
    from trackwright.produce.stems import role_from_name

    guess = role_from_name(name)
    role = guess.role if guess is not None else "other"
    return {"vocals": "vocal", "drums": "drums", "bass": "bass", "lead": "lead"}.get(role, "bed")


def title_for(text: str) -> str:
    """A file-name-safe title: ``"my first song"`` → ``"MyFirstSong"``."""
    words = [w for w in re.split(r"[^A-Za-z0-9]+", text) if w]
    title = "".join(w[:1].upper() + w[1:] for w in words)
    if not title:
        raise ParameterError(f"title {text!r} has no letters or digits to name the files with")
    return title[:60]


@dataclass(frozen=True)
class Deliverable:
    """One delivered file and its measurements.

    Attributes:
        name: file name inside the delivery folder.
        kind: main, instrumental, underscore, lite, cutdown, stinger, loop, layer, segment, stem.
        description: what it is, in words (also in its ``bext``).
        duration_s: length, seconds; frames: length in sample frames.
        integrated_lufs, true_peak_dbtp, loudness_range_lu: measured from the written file.
        target_lufs: loudness it was held to (±0.5 LU), or None (cut from the master, or a stem).
        ceiling_dbtp: true-peak ceiling it was held to, or None (stems, float).
        loop: (start, end) frames of its ``smpl`` loop (end inclusive), or None.
        info: kind-specific facts (cue points, source bars, ending…).
    """

    name: str
    kind: str
    description: str
    duration_s: float
    frames: int
    integrated_lufs: float | None
    true_peak_dbtp: float
    loudness_range_lu: float | None
    target_lufs: float | None
    ceiling_dbtp: float | None
    loop: tuple[int, int] | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def misses(self) -> list[str]:
        """How the file misses its targets (empty when it meets them)."""
        out = []
        if self.target_lufs is not None and (self.integrated_lufs is None or
                                             abs(self.integrated_lufs - self.target_lufs) > LOUDNESS_TOLERANCE_LU):
            got = "unmeasurable" if self.integrated_lufs is None else f"{self.integrated_lufs:.2f} LUFS"
            out.append(f"{self.name}: {got}, target {self.target_lufs:g} ±{LOUDNESS_TOLERANCE_LU:g} LU")
        if self.ceiling_dbtp is not None and self.true_peak_dbtp > self.ceiling_dbtp:
            out.append(f"{self.name}: true peak {self.true_peak_dbtp:.2f} dBTP over the "
                       f"{self.ceiling_dbtp:g} dBTP ceiling")
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (ISRC fields left for the label to fill)."""
        data = asdict(self)
        for key in ("duration_s", "integrated_lufs", "true_peak_dbtp", "loudness_range_lu"):
            if data[key] is not None:
                data[key] = round(data[key], 3)
        data["loop"] = None if self.loop is None else {"start_frame": self.loop[0], "end_frame": self.loop[1]}
        data["isrc"] = None
        return data


@dataclass(frozen=True)
class DeliveryResult:
    """The delivery folder and what is in it."""

    folder: Path
    title: str
    version: int
    target: Target
    files: list[Deliverable]
    manifest: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {"folder": str(self.folder), "title": self.title, "version": self.version,
                "target": self.target.to_dict(), "files": [f.to_dict() for f in self.files],
                "warnings": list(self.warnings)}


# -- building blocks -----------------------------------------------------------------------------
def presence_dip(audio: Audio, *, gain_db: float = PRESENCE_DB) -> Audio:
    """``audio`` with a broad peaking cut centred at :data:`PRESENCE_HZ` (about 300 Hz–3 kHz), dB."""
    import pedalboard

    board = pedalboard.Pedalboard([pedalboard.PeakFilter(cutoff_frequency_hz=PRESENCE_HZ, gain_db=gain_db,
                                                         q=PRESENCE_Q)])
    return audio.with_samples(board(audio.samples, float(audio.sample_rate)))


def master_eq(audio: Audio, chain: Mapping[str, Any]) -> Audio:
    """``audio`` through the linear part of a master's chain (``MasterResult.chain``): the high-pass
    and the corrective shelves, so stems and layers carry the same tone (and phase) as the master."""
    import pedalboard

    from trackwright.mix import master as mastering

    plugins: list[pedalboard.Plugin] = [pedalboard.HighpassFilter(cutoff_frequency_hz=float(chain["highpass_hz"]))]
    low, high = float(chain.get("low_shelf_db", 0.0)), float(chain.get("high_shelf_db", 0.0))
    if abs(low) >= 0.05:
        plugins.append(pedalboard.LowShelfFilter(cutoff_frequency_hz=mastering._LOW_SHELF_HZ, gain_db=low, q=0.707))
    if abs(high) >= 0.05:
        plugins.append(pedalboard.HighShelfFilter(cutoff_frequency_hz=mastering._HIGH_SHELF_HZ, gain_db=high, q=0.707))
    board = pedalboard.Pedalboard(plugins)
    channels = [board(audio.samples[c:c + 1], float(audio.sample_rate))[0] for c in range(audio.channels)]
    return audio.with_samples(np.stack(channels))


def seamless_loop(samples: np.ndarray, sample_rate: int, start: int, end: int, *,
                  fade_s: float = LOOP_FADE_S, seam: str = "before") -> np.ndarray:
    """Frames ``start``…``end`` − 1 of ``samples`` (channels × frames) made to loop without a click.

    ``seam="before"``: the last ``fade_s`` seconds cross-fade (equal power, normalised for
    correlated sides) into the audio just before ``start``, so the loop's last sample is the one
    that precedes ``start`` in the music. ``seam="after"``: the first ``fade_s`` seconds fade in
    from the audio that follows ``end``, so the loop's first sample is the one that follows its
    last. Either way the wrap is one of the music's own sample steps. Audio beyond the signal's
    ends counts as silence.
    """
    from trackwright.arrange.splice import _fade_curve, _take

    if not 0 <= start < end <= samples.shape[1]:
        raise ParameterError(f"loop {start}–{end} lies outside the {samples.shape[1]} frames")
    if seam not in ("before", "after"):
        raise ParameterError(f"loop seam must be 'before' or 'after', got {seam!r}")
    body = np.array(samples[:, start:end], dtype=np.float32)
    n = min(max(1, round(fade_s * sample_rate)), (end - start) // 2)
    at = slice(body.shape[1] - n, None) if seam == "before" else slice(0, n)
    other = _take(samples, start - n, start) if seam == "before" else _take(samples, end, end + n)
    x, y = body[:, at].astype(np.float64).ravel(), other.astype(np.float64).ravel()
    denominator = math.sqrt(float(np.dot(x, x) * np.dot(y, y)))
    rho = float(np.clip(np.dot(x, y) / denominator, 0.0, 1.0)) if denominator > 1e-20 else 0.0
    rising = seam == "after"  # the loop's own audio fades in at its head, out at its tail
    body[:, at] = body[:, at] * _fade_curve(n, rising=rising, rho=rho) + other * _fade_curve(n, rising=not rising, rho=rho)
    return body


def loop_wrap_step(samples: np.ndarray) -> float:
    """Largest per-channel jump from the last sample to the first (the click a loop player would play)."""
    return float(np.max(np.abs(samples[:, 0].astype(np.float64) - samples[:, -1])))


def loop_score(likeness: np.ndarray, first: int, end: int) -> tuple[float, str]:
    """How well bars ``first``…``end`` − 1 loop (0–1) and where to put the seam.

    The wrap plays the span's last bar into its first. That is a transition the song itself
    makes when the bar after the span resembles its first bar (the seam then goes ``"after"``:
    the loop's head fades in from that bar) or when the bar before the span resembles its last
    bar (the seam goes ``"before"``: the loop's tail fades into the end of that bar).
    """
    bars = likeness.shape[0]
    if not 0 <= first < end <= bars:
        return 0.0, "before"
    ahead = float(likeness[end, first]) if end < bars else 0.0
    behind = float(likeness[first - 1, end - 1]) if first > 0 else 0.0
    return (behind, "before") if behind >= ahead else (ahead, "after")


def best_span(likeness: np.ndarray, first_bar: int, end_bar: int, *, lengths: Sequence[int] = (8, 4, 2),
              levels: np.ndarray | None = None) -> tuple[int, int, float, str] | None:
    """(first bar, end bar, score, seam) of the best-looping span of whole bars inside ``first_bar``…``end_bar``.

    Longer spans are preferred (the first length in ``lengths`` with a span scoring at least
    :data:`LOOP_LIKENESS`); among equals a span that starts on a phrase of its own length within
    the range, and (with ``levels``, dB per bar) one in the louder half of the song, wins. None
    when no span loops.
    """
    bars = likeness.shape[0]
    for length in lengths:
        candidates = []
        for a in range(max(first_bar, 0), min(end_bar, bars) - length + 1):
            score, seam = loop_score(likeness, a, a + length)
            bonus = 0.03 * ((a - first_bar) % length == 0)
            if levels is not None and len(levels) == bars:
                bonus += 0.05 * float(np.mean(levels[a:a + length]) > np.median(levels))
            candidates.append((score + bonus, -a, score, seam))
        if candidates:
            _, a, score, seam = max(candidates)
            if score >= LOOP_LIKENESS:
                return -a, -a + length, score, seam
    return None


def best_groove(likeness: np.ndarray, grid: BarGrid,
                levels: np.ndarray | None = None) -> tuple[int, int, float, str] | None:
    """(first bar, end bar, score, seam) of the song's best-looping 4-bar span (2 or 1 bars when none loops)."""
    return best_span(likeness, 0, grid.bars, lengths=(4, 2, 1), levels=levels)


# -- the package -------------------------------------------------------------------------------
class _Writer:
    """Writes, measures and tags the files of one delivery into the staging folder."""

    def __init__(self, folder: Path, title: str, version: int, target: Target, reference: str) -> None:
        self.folder, self.title, self.version, self.target, self.reference = folder, title, version, target, reference
        self.files: list[Deliverable] = []
        self.pending: list[tuple[Any, ...]] = []
        now = dt.datetime.now(dt.timezone.utc)
        self.date, self.time = now.strftime("%Y-%m-%d"), now.strftime("%H:%M:%S")

    def name(self, *parts: str) -> str:
        return "_".join([self.title, *parts, f"v{self.version}"]) + ".wav"

    def write(self, audio: Audio, name: str, kind: str, description: str, *, target_lufs: float | None,
              ceiling: bool = True, loop: tuple[int, int] | None = None, bit_depth: str = "24",
              info: Mapping[str, Any] | None = None) -> None:
        """Queue a file; :meth:`flush` writes the queue in parallel and keeps the order."""
        if name in {f.name for f in self.files} | {job[2] for job in self.pending}:
            raise RuntimeError(f"deliver: two files named {name}")  # a bug, not a user error
        self.pending.append((len(self.files) + len(self.pending), audio, name, kind, description, target_lufs,
                             ceiling, loop, bit_depth, dict(info or {})))

    def flush(self) -> None:
        """Write, read back, measure and tag every queued file."""
        from trackwright.parallel import thread_map

        work, self.pending = self.pending, []
        self.files.extend(thread_map(lambda job: self._write_one(*job), work))

    def _write_one(self, index: int, audio: Audio, name: str, kind: str, description: str, target_lufs: float | None,
                   ceiling: bool, loop: tuple[int, int] | None, bit_depth: str, info: dict[str, Any]) -> Deliverable:
        path = self.folder / name
        save_audio(audio, path, bit_depth=bit_depth)
        written = load_audio(path)  # measure what a client will get
        report = measure_loudness(written)
        integrated = report.integrated_lufs if math.isfinite(report.integrated_lufs) else None
        history = (f"A=PCM,F={audio.sample_rate},W={'32' if bit_depth == 'float' else bit_depth},"
                   f"M={'stereo' if audio.channels == 2 else 'mono' if audio.channels == 1 else 'multi'},"
                   f"T=trackwright deliver {self.target.name}")
        bext = BextInfo(description[:256], ORIGINATOR, f"TW{self.reference[:10]}{index:04d}"[:32],
                        self.date, self.time, integrated, report.loudness_range_lu, report.true_peak_dbtp, history)
        chunks = {b"bext": bext_chunk(bext)}
        if loop is not None:
            chunks[b"smpl"] = smpl_chunk([LoopPoint(*loop)], audio.sample_rate)
        write_wav_chunks(path, chunks)
        return Deliverable(name, kind, description, written.duration_s, written.frames, integrated,
                           report.true_peak_dbtp, report.loudness_range_lu, target_lufs,
                           self.target.ceiling_dbtp if ceiling else None, loop, info)


def _parse_only(only: Sequence[str] | str | None) -> set[str]:
    if only is None:
        return set(DELIVERABLE_KINDS)
    items = [s.strip().lower() for s in (only.split(",") if isinstance(only, str) else only) if s.strip()]
    kinds: set[str] = set()
    for item in items:
        if item == "alternates":
            kinds |= {"instrumental", "underscore", "lite"}
        elif item in DELIVERABLE_KINDS:
            kinds.add(item)
        else:
            raise ParameterError(f"--only: unknown kind {item!r}; use {', '.join(DELIVERABLE_KINDS)} or alternates")
    if not kinds:
        raise ParameterError("--only names no kind of file to deliver")
    return kinds


def _check_cutdowns(cutdowns: Sequence[float]) -> list[float]:
    out = []
    for value in cutdowns:
        if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            raise ParameterError(f"--cutdowns: each length must be a positive number of seconds, got {value!r}")
        out.append(float(value))
    return sorted(set(out), reverse=True)


def _stage(output: Path) -> Path:
    if output.exists() and (not output.is_dir() or any(output.iterdir())):
        raise ParameterError(f"{output}: already exists and is not empty; choose a new folder for the delivery")
    if not output.parent.is_dir():
        raise ParameterError(f"{output}: folder {output.parent} does not exist")
    staging = output.parent / f".{output.name}.delivering-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    return staging


def deliver(project: str | os.PathLike[str], *, target: str | float, version: int | None = None,
            output: str | os.PathLike[str] | None = None, only: Sequence[str] | str | None = None,
            cutdowns: Sequence[float] = DEFAULT_CUTDOWNS_S, title: str | None = None,
            ceiling_dbtp: float | None = None, separation_model: str | os.PathLike[str] | None = None,
            progress: ProgressCallback | None = None) -> DeliveryResult:
    """Write the delivery package of a project version into ``output``.

    Parameters
    ----------
    project : path-like
        A trackwright project folder.
    target : str or float
        Delivery target name (``streaming``, ``broadcast``, ``game``…) or loudness in LUFS.
    version : int, optional
        The version to deliver (default: the latest).
    separation_model : path-like, optional
        Demucs weights on disk (the ``[separation]`` extra). A project without stems is then split
        with them (:func:`trackwright.produce.separate.separate`), so the instrumental, lite, layers
        and stems can be made; without it those are skipped with a warning.
    output : path-like, optional
        The delivery folder; it must not exist or be empty. Default:
        ``PROJECT/deliveries/v<N>-<target>``.
    only : str or sequence of str, optional
        Kinds to deliver (:data:`DELIVERABLE_KINDS`, or ``alternates``); default all.
    cutdowns : sequence of float
        Cutdown lengths, seconds; those not shorter than the piece are skipped.
    title : str, optional
        Title in the file names (default: the project folder's name).
    ceiling_dbtp : float, optional
        True-peak ceiling overriding the target's, dBTP.
    progress : callable, optional
        ``(fraction, label)`` callback.

    Returns
    -------
    DeliveryResult

    Raises
    ------
    MeasurementError
        A written file missed its loudness or true-peak target (the list is in the message);
        nothing is left under ``output``.
    """
    from trackwright.project import Project

    report = progress or ignore_progress
    kinds = _parse_only(only)
    lengths = _check_cutdowns(cutdowns)
    delivery_target = resolve_target(target, ceiling_dbtp=ceiling_dbtp)
    opened = Project.open(project)
    number = opened.latest() if version is None else version
    recipe = opened.recipe(number)
    name = title_for(title if title is not None else opened.path.resolve().name)
    out = Path(output) if output is not None else opened.path / "deliveries" / f"v{number}-{delivery_target.name}"
    if output is None:
        out.parent.mkdir(exist_ok=True)
    report(0.0, "rendering the version")
    render = opened.render(number, progress=lambda f, label: report(0.15 * f, f"rendering: {label}"))
    staging = _stage(out)
    try:
        result = _build(opened, recipe, render, staging, name, number, delivery_target, kinds, lengths,
                        lambda f, label: report(0.15 + 0.83 * f, label), separation_model)
        if out.exists():
            out.rmdir()  # an empty folder the caller made
        os.rename(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    report(1.0, "done")
    return DeliveryResult(out, name, number, delivery_target, result["files"], result["manifest"], result["warnings"])


def _analysis_of(opened: Any, recipe: Any, mix: Audio) -> dict[str, Any]:
    """The analysis of the version's mix: the project's own when the arrangement is untouched."""
    from trackwright.arrange.edl import EditList

    analysis = opened.analysis()
    whole = EditList.whole(float(analysis.get("duration_s", -1)))
    if recipe.arrangement.merged() == whole and abs(float(analysis["duration_s"]) - mix.duration_s) < 0.01:
        return analysis
    from trackwright.analysis.analyze import analyze

    return analyze(mix).to_dict()


def _build(opened: Any, recipe: Any, render: Any, folder: Path, title: str, version: int, target: Target,
           kinds: set[str], lengths: list[float], report: ProgressCallback,
           separation_model: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    from trackwright.analysis.features import compute_features
    from trackwright.arrange.fit import bar_likeness, fit_to_duration
    from trackwright.arrange.splice import apply_plan, plan_splices
    from trackwright.mix.master import master
    from trackwright.parallel import thread_map

    warnings: list[str] = []
    writer = _Writer(folder, title, version, target, render.cache_key)
    mix = load_audio(render.mix)
    rate = mix.sample_rate
    stems = {part: load_audio(path) for part, path in render.stems.items()}
    residual = load_audio(render.residual) if render.residual is not None else None
    roles = {part: stem_role(part) for part in stems}
    if not stems and separation_model is not None:
        from trackwright.produce.separate import separate

        report(0.01, "separating the mix (Demucs)")
        split = separate(mix, method="demucs", model=separation_model)
        stems = dict(split.stems)
        roles = {part: {"vocals": "vocal", "drums": "drums", "bass": "bass"}.get(split.roles.get(part, ""), "bed")
                 for part in stems}
        warnings.append(f"the project has no stems: {', '.join(sorted(stems))} were separated from the mix "
                        f"with Demucs ({Path(separation_model).name})")

    report(0.02, "mastering the main mix")
    main = master(mix, target)
    warnings += [f"main: {line}" for line in main.warnings]
    master_audio = main.audio
    gain = 10.0 ** (main.gain_db / 20.0)

    def mix_of(weights: Mapping[str, float]) -> Audio:
        """residual + Σ weight × stem: the mix with some parts changed (the mix itself without stems)."""
        if not stems:
            return mix
        total = (np.zeros_like(mix.samples, dtype=np.float64) if residual is None
                 else residual.samples.astype(np.float64))
        for part, stem in stems.items():
            total += weights.get(part, 1.0) * stem.samples
        return mix.with_samples(total.astype(np.float32))

    # alternates and cutdowns are mastered in parallel (the master's own threads leave cores idle)
    jobs: list[tuple[str, Callable[[], Any]]] = []
    if "instrumental" in kinds:
        vocals = [p for p, r in roles.items() if r == "vocal"]
        if not stems:
            warnings.append("instrumental skipped: the project has no stems (import them with `trackwright new "
                            "--stems`, or give --separation-model with Demucs weights to split the mix)")
        elif not vocals:
            warnings.append(f"instrumental skipped: no stem is named as a vocal (vocal/vox/voice); stems: "
                            f"{', '.join(sorted(stems))}")
        else:
            jobs.append(("instrumental", lambda: (master(mix_of({p: 0.0 for p in vocals}), target), vocals)))
    if "underscore" in kinds:
        def underscore() -> tuple[Any, list[str]]:
            removed = [p for p, r in roles.items() if r in ("vocal", "lead")]
            weights = {p: 0.0 for p in removed}
            weights.update({p: 10 ** (UNDERSCORE_DRUMS_DB / 20) for p, r in roles.items() if r == "drums"})
            quiet = Target(target.name, target.integrated_lufs - UNDERSCORE_DROP_LU, target.ceiling_dbtp,
                           target.description)
            return master(presence_dip(mix_of(weights)), quiet), removed
        jobs.append(("underscore", underscore))
    if "lite" in kinds:
        drums = [p for p, r in roles.items() if r == "drums"]
        if not drums:
            warnings.append("lite skipped: " + ("the project has no stems" if not stems else
                            f"no stem is named as drums or percussion; stems: {', '.join(sorted(stems))}"))
        else:
            jobs.append(("lite", lambda: (master(mix_of({p: 0.0 for p in drums}), target), drums)))

    needs_grid = kinds & {"cutdowns", "stingers", "loops", "layers", "segments"}
    grid = likeness = levels = None
    analysis: dict[str, Any] = {}
    if needs_grid:
        report(0.12, "reading the bar grid")
        analysis = _analysis_of(opened, recipe, mix)
        features = compute_features(mix)
        try:
            grid = grid_from_analysis(analysis, mix)
            likeness = np.clip(bar_likeness(features, grid), 0.0, 1.0)
            from trackwright.analysis.structure import bar_similarity

            levels = bar_similarity(features, np.append(grid.starts_s, grid.ends_s[-1]))[2]
        except TrackwrightError as err:
            warnings.append(f"no bar grid ({err}): cutdowns, stingers, loops, layers and segments skipped")
            needs_grid = set()
    if "cutdowns" in kinds and grid is not None:
        for length in lengths:
            if length >= mix.duration_s - 0.01:
                warnings.append(f"{length:g} s cutdown skipped: the piece is only {mix.duration_s:.1f} s long")
                continue

            def cutdown(length: float = length) -> tuple[Any, Any]:
                fit = fit_to_duration(grid, likeness, length, ending="natural")
                edited = apply_plan(mix, plan_splices(mix, fit.edits))
                return master(edited, target), fit
            jobs.append((f"cutdown:{length:g}", cutdown))

    report(0.2, f"mastering {len(jobs)} alternates and cutdowns")
    outcomes = thread_map(lambda job: _attempt(job[1]), jobs)

    report(0.6, "writing the main master")
    if "main" in kinds:
        writer.write(master_audio, writer.name("Main"), "main", f"{title} main mix, {target.name} master",
                     target_lufs=target.integrated_lufs, info={"gain_db": round(main.gain_db, 2),
                                                               "max_limiting_db": round(main.max_limiting_db, 2)})
    for (label, _), outcome in zip(jobs, outcomes):
        if isinstance(outcome, TrackwrightError):
            warnings.append(f"{label.replace(':', ' ')} s skipped: {outcome}" if label.startswith("cutdown")
                            else f"{label} skipped: {outcome}")
            continue
        made, detail = outcome
        if label.startswith("cutdown"):
            seconds = label.split(":")[1]
            writer.write(made.audio, writer.name(f"{seconds}s"), "cutdown",
                         f"{title} {seconds} s cutdown with the song's own ending",
                         target_lufs=made.target.integrated_lufs,
                         info={"length_s": float(seconds), "ending": detail.ending, "source_bars": detail.bars,
                               "jumps": detail.jumps, "notes": detail.notes})
        else:
            words = {"instrumental": "without the vocal", "lite": "without the drums",
                     "underscore": "under dialogue: no vocal or lead, drums lower, presence dipped, "
                                   f"{UNDERSCORE_DROP_LU:g} LU quieter"}[label]
            writer.write(made.audio, writer.name(label.capitalize()), label, f"{title} {label} ({words})",
                         target_lufs=made.target.integrated_lufs, info={"removed_stems": detail})

    if kinds & {"stems", "layers"} and stems:
        report(0.65, "the master's EQ on the stems")
        from trackwright.parallel import thread_map as each

        stems = dict(zip(stems, each(lambda stem: master_eq(stem, main.chain), list(stems.values()))))
    writer.flush()
    if "stems" in kinds:
        report(0.7, "writing the stems")
        if not stems:
            warnings.append("stems skipped: the project has no stems")
        else:
            _write_stems(writer, stems, roles, master_audio, gain)

    if grid is not None and likeness is not None:
        if "stingers" in kinds:
            report(0.8, "stingers")
            _write_stingers(writer, master_audio, grid, levels, warnings)
        groove = best_groove(likeness, grid, levels)
        if "loops" in kinds:
            report(0.85, "loops")
            _write_loops(writer, master_audio, grid, likeness, groove, warnings)
        if "layers" in kinds:
            report(0.9, "layers")
            if not stems:
                warnings.append("layers skipped: vertical layers are built from stems and the project has none")
            elif groove is None:
                warnings.append("layers skipped: no span of bars loops")
            else:
                _write_layers(writer, stems, roles, master_audio, gain, grid, groove, target, warnings)
        if "segments" in kinds:
            report(0.94, "segments")
            _write_segments(writer, master_audio, grid, likeness)

    report(0.95, "writing the loops, layers and segments")
    writer.flush()
    report(0.97, "checking every file")
    misses = [line for item in writer.files for line in item.misses()]
    if misses:
        raise MeasurementError(f"{len(misses)} file{'s' if len(misses) > 1 else ''} missed the "
                               f"{target.name} target: " + "; ".join(misses))
    manifest = _manifest(writer, recipe, analysis, grid, target, warnings)
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    write_atomic(folder / "deliverables.json", lambda tmp: tmp.write_text(text, encoding="utf-8"))
    sheet = _cue_sheet(writer.files, version)
    write_atomic(folder / f"{title}_CueSheet_v{version}.csv", lambda tmp: tmp.write_text(sheet, encoding="utf-8"))
    return {"files": writer.files, "manifest": manifest, "warnings": warnings}


def _attempt(job: Callable[[], Any]) -> Any:
    try:
        return job()
    except TrackwrightError as err:
        return err


def _write_stems(writer: _Writer, stems: Mapping[str, Audio], roles: Mapping[str, str], master_audio: Audio,
                 gain: float) -> None:
    # the sum is checked against the master as written (24-bit) when it is part of the delivery
    master_24 = load_audio(writer.folder / writer.name("Main")) if any(
        f.kind == "main" for f in writer.files) else master_audio
    total = np.zeros(master_24.samples.shape, dtype=np.float64)
    for role, label in ROLE_STEMS.items():
        parts = sorted(p for p, r in roles.items() if r == role)
        if not parts:
            continue
        summed = sum(stems[p].samples.astype(np.float64) for p in parts) * gain
        total += summed
        writer.write(master_24.with_samples(summed.astype(np.float32)), writer.name("Stem", label), "stem",
                     f"{label} stem ({', '.join(parts)}) with the main master's EQ and gain", target_lufs=None,
                     ceiling=False, bit_depth="float", info={"parts": parts, "role": role})
    diff = master_24.samples.astype(np.float64) - total
    master_power = float(np.mean(master_24.samples.astype(np.float64) ** 2))
    level = 10 * math.log10(max(float(np.mean(diff ** 2)), 1e-30) / max(master_power, 1e-30))
    writer.write(master_24.with_samples(diff.astype(np.float32)), writer.name("Stem", "MasterDiff"), "stem",
                 "what the stems do not hold: the mix residual and the master's compression and limiting",
                 target_lufs=None, ceiling=False, bit_depth="float",
                 info={"parts": [], "role": "master_diff", "level_re_master_db": round(level, 2)})


def _span_frames(grid: BarGrid, first: int, end: int, rate: int) -> tuple[int, int]:
    return round(grid.starts_s[first] * rate), round(grid.ends_s[end - 1] * rate)


def _write_stingers(writer: _Writer, audio: Audio, grid: BarGrid, levels: np.ndarray | None,
                    warnings: list[str]) -> None:
    rate = audio.sample_rate
    lo_s, hi_s = STING_RANGE_S
    # Sting 1: the ending: the last bar(s) and their ring-out
    start_bar = grid.bars - 1
    while start_bar > 0 and grid.duration_s - grid.starts_s[start_bar] < lo_s:
        start_bar -= 1
    start = round(grid.starts_s[start_bar] * rate)
    stop = min(audio.frames, start + round(hi_s * rate))
    if (stop - start) / rate >= lo_s:
        chunk = np.array(audio.samples[:, start:stop])
        if stop < audio.frames:
            _fade_out(chunk, round(0.5 * rate))
        writer.write(audio.with_samples(chunk), writer.name("Sting1"), "stinger",
                     f"{writer.title} ending sting: the final bar{'s' if start_bar < grid.bars - 1 else ''} "
                     "ringing out", target_lufs=None, info={"source_start_s": round(start / rate, 4)})
    else:
        warnings.append("ending sting skipped: the piece is shorter than a sting")
    # Sting 2: a downbeat hit and its decay, from the loudest bar
    bar = int(np.argmax(levels)) if levels is not None and len(levels) == grid.bars else 0
    start = round(grid.starts_s[bar] * rate)
    length = round(min(3.0, max(lo_s, (audio.frames - start) / rate)) * rate)
    if start + length <= audio.frames:
        chunk = np.array(audio.samples[:, start:start + length])
        hold = round(min(0.25, grid.bar_s / grid.beats_per_bar) * rate)
        t = np.arange(length - hold) / rate
        chunk[:, hold:] *= np.exp(-t * 6.9 / max(t[-1], 1e-3)).astype(np.float32)  # −60 dB at the end
        writer.write(audio.with_samples(chunk), writer.name("Sting2"), "stinger",
                     f"{writer.title} hit sting: the downbeat of bar {bar + 1} and its decay", target_lufs=None,
                     info={"source_start_s": round(start / rate, 4)})


def _fade_out(samples: np.ndarray, n: int) -> None:
    n = min(n, samples.shape[1])
    samples[:, samples.shape[1] - n:] *= (0.5 + 0.5 * np.cos(np.linspace(0, np.pi, n))).astype(np.float32)


def _loop_file(writer: _Writer, audio: Audio, start: int, end: int, name: str, kind: str, description: str,
               info: dict[str, Any]) -> None:
    looped = seamless_loop(audio.samples, audio.sample_rate, start, end, seam=info["seam"])
    info = {**info, "source_start_frame": start}  # where the loop lies in the main master and the stems
    peak = true_peak_dbtp(audio.with_samples(looped))
    if peak > writer.target.ceiling_dbtp - 0.02:  # the cross-fade of two peaks can add a little
        looped *= np.float32(10 ** ((writer.target.ceiling_dbtp - 0.05 - peak) / 20))
    writer.write(audio.with_samples(looped), name, kind, description, target_lufs=None,
                        loop=(0, looped.shape[1] - 1), info=info)


def _write_loops(writer: _Writer, audio: Audio, grid: BarGrid, likeness: np.ndarray,
                 groove: tuple[int, int, float, str] | None, warnings: list[str]) -> None:
    rate = audio.sample_rate
    if groove is None:
        warnings.append("main groove loop skipped: no span of bars loops")
    else:
        first, end, score, seam = groove
        start, stop = _span_frames(grid, first, end, rate)
        _loop_file(writer, audio, start, stop, writer.name("Loop", "Main"), "loop",
                   f"{writer.title} main groove, bars {first + 1}–{end}, seamless loop",
                   {"bars": [first, end], "likeness": round(score, 3), "section": "groove", "seam": seam})
    seen: set[str] = set()
    names: set[str] = set()
    for section in grid.sections:
        key = section.label
        if key in seen:
            continue
        seen.add(key)
        span = best_span(likeness, section.first_bar, section.end_bar)
        if span is None:
            continue
        first, end, score, seam = span
        start, stop = _span_frames(grid, first, end, rate)
        role = title_for(section.role)
        stem = role if role not in names else f"{role}{title_for(key)}"
        stem = next(f"{stem}{n}" for n in ("", *range(2, len(names) + 3)) if f"{stem}{n}" not in names)
        names.update((role, stem))
        name = writer.name("Loop", stem)
        _loop_file(writer, audio, start, stop, name, "loop",
                   f"{writer.title} {section.role} ({section.label}), bars {first + 1}–{end}, seamless loop",
                   {"bars": [first, end], "likeness": round(score, 3), "section": section.label, "seam": seam})


def _write_layers(writer: _Writer, stems: Mapping[str, Audio], roles: Mapping[str, str], master_audio: Audio,
                  gain: float, grid: BarGrid, groove: tuple[int, int, float, str], target: Target,
                  warnings: list[str]) -> None:
    from trackwright.mix import limiter

    rate = master_audio.sample_rate
    first, end, _, seam = groove
    start, stop = _span_frames(grid, first, end, rate)
    # each layer is limited over the loop and a margin, so the loop cross-fade reads its own signal
    lo, hi = max(0, start - rate), min(master_audio.frames, stop + rate)
    # cumulative layers in the order a score builds up: bed, + bass, + drums, + lead (the full mix last)
    order = [("Bed", "bed", "ambient bed: pads, keys and other sustained parts"), ("Bass", "bass", "plus the bass"),
             ("Drums", "drums", "plus the drums"), ("Lead", "lead", "plus the lead")]
    chosen: set[str] = set()
    made = 0
    for label, role, words in order:
        chosen.add(role)
        parts = [p for p, r in roles.items() if r in chosen]
        if not any(r == role for r in roles.values()) or len(parts) == len(stems):
            continue
        window = sum(stems[p].samples[:, lo:hi].astype(np.float64) for p in parts) * gain
        limited = limiter.limit(window.astype(np.float32), rate, target.ceiling_dbtp - 0.1).samples
        padded = np.zeros_like(master_audio.samples)
        padded[:, lo:hi] = limited
        _loop_file(writer, master_audio.with_samples(padded), start, stop, writer.name("Layer", f"{made + 1}{label}"),
                   "layer", f"{writer.title} vertical layer {made + 1} ({words}), bars {first + 1}–{end}",
                   {"layer": made + 1, "stems": sorted(parts), "bars": [first, end], "seam": seam})
        made += 1
    if made == 0:
        warnings.append("only the full layer was made: the stems hold no bed, bass, drums or lead to build up from")
    _loop_file(writer, master_audio, start, stop, writer.name("Layer", f"{made + 1}Full"), "layer",
               f"{writer.title} vertical layer {made + 1} (full mix), bars {first + 1}–{end}",
               {"layer": made + 1, "stems": sorted(stems), "bars": [first, end], "seam": seam})


def _write_segments(writer: _Writer, audio: Audio, grid: BarGrid, likeness: np.ndarray) -> None:
    rate = audio.sample_rate
    beat_s = grid.bar_s / grid.beats_per_bar
    for index, section in enumerate(grid.sections):
        entry_s = float(grid.starts_s[section.first_bar])
        exit_s = float(grid.ends_s[section.end_bar - 1]) if section.end_bar < grid.bars else float(grid.ends_s[-1])
        pre_s = min(beat_s, entry_s)
        last = index == len(grid.sections) - 1
        tail_s = (grid.duration_s - exit_s) if last else min(grid.bar_s, grid.duration_s - exit_s)
        lo, hi = round((entry_s - pre_s) * rate), min(audio.frames, round((exit_s + tail_s) * rate))
        chunk = np.array(audio.samples[:, lo:hi])
        pre, tail = round(pre_s * rate), hi - round(exit_s * rate)
        if pre:  # the pickup plays as it is; a 5 ms fade keeps the file's first sample from clicking
            edge = min(pre, round(0.005 * rate))
            chunk[:, :edge] *= (0.5 - 0.5 * np.cos(np.linspace(0, np.pi, edge))).astype(np.float32)
        if tail > 0 and not last:
            _fade_out(chunk, tail)
        transitions = []
        for other, dest in enumerate(grid.sections):
            if other == index:
                continue
            natural = other == index + 1
            alike = float(likeness[dest.first_bar, section.end_bar]) if section.end_bar < grid.bars else 0.0
            alike = 1.0 if natural else alike
            sync = "next_bar" if alike >= NEXT_BAR_LIKENESS and not natural else "exit_cue"
            transitions.append({"to": other, "sync": sync, "likeness": round(alike, 3),
                                "follows_well": bool(natural or alike >= FOLLOWS_WELL_LIKENESS),
                                "fade_s": 0.0 if natural or alike >= FOLLOWS_WELL_LIKENESS else round(grid.bar_s, 3)})
        writer.write(audio.with_samples(chunk), writer.name(f"Segment{index + 1:02d}", title_for(section.role)),
                     "segment", f"{writer.title} segment {index + 1}: {section.role} ({section.label}), "
                                f"bars {section.first_bar + 1}–{section.end_bar}", target_lufs=None,
                     info={"segment": index, "label": section.label, "role": section.role,
                           "bars": [section.first_bar, section.end_bar], "entry_cue_s": round(pre / rate, 6),
                           "exit_cue_s": round((round(exit_s * rate) - lo) / rate, 6),
                           "pre_roll_s": round(pre / rate, 6), "tail_s": round(max(tail, 0) / rate, 6),
                           "source_entry_s": round(entry_s, 4), "transitions": transitions})


def _manifest(writer: _Writer, recipe: Any, analysis: Mapping[str, Any], grid: BarGrid | None, target: Target,
              warnings: list[str]) -> dict[str, Any]:
    from trackwright import __version__

    files = [f.to_dict() for f in writer.files]
    game: dict[str, Any] = {}
    if grid is not None:
        tempo = 60.0 / (grid.bar_s / grid.beats_per_bar)
        game = {
            "tempo_bpm": round(tempo, 3), "meter": f"{grid.beats_per_bar}/4",
            "bar_grid_s": [round(float(t), 4) for t in grid.starts_s],
            "loops": [{"file": f.name, "loop_start_frame": f.loop[0], "loop_end_frame": f.loop[1],
                       "bars": f.info.get("bars")} for f in writer.files if f.loop is not None and f.kind == "loop"],
            "vertical_layers": [{"file": f.name, "layer": f.info["layer"], "stems": f.info["stems"],
                                 "loop_start_frame": f.loop[0], "loop_end_frame": f.loop[1]}
                                for f in writer.files if f.kind == "layer" and f.loop is not None],
            "horizontal_segments": [{"file": f.name, **{k: v for k, v in f.info.items() if k != "transitions"}}
                                    for f in writer.files if f.kind == "segment"],
            "transitions": [{"from": f.info["segment"], **t} for f in writer.files if f.kind == "segment"
                            for t in f.info["transitions"]],
            "mapping": {
                "wwise": {"segment": "Music Segment (entry cue = entry_cue_s, exit cue = exit_cue_s; pre-entry and "
                                     "post-exit are the pre-roll and tail)",
                          "loop": "Music Segment in a Music Playlist Container with loop count 0 (infinite)",
                          "vertical_layers": "Music Tracks of one Music Segment, volumes driven by an RTPC",
                          "transitions": "Music Switch Container transition rules: exit_cue = Exit Cue, "
                                         "next_bar = Next Bar, fade_s = fade-out / fade-in"},
                "fmod": {"segment": "Timeline region on an Event; entry_cue_s = destination marker, exit_cue_s = "
                                    "transition marker",
                         "loop": "Loop Region over the instrument (the file's smpl loop)",
                         "vertical_layers": "parallel audio tracks on one timeline, volumes automated by a parameter",
                         "transitions": "Transition Region quantised to the bar (next_bar) or a Transition Marker "
                                        "at the exit cue (exit_cue) to the destination marker"}},
        }
    return {"format": 1, "generator": f"trackwright {__version__}", "title": writer.title, "version": writer.version,
            "recipe_sha256": recipe.version.recipe_sha256 if recipe.version else None,
            "target": target.to_dict(), "loudness_tolerance_lu": LOUDNESS_TOLERANCE_LU,
            "isrc": {"main": None, "note": "ISRC codes are assigned by the label; fill each file's isrc field"},
            "files": files, "game": game, "warnings": list(warnings)}


def _cue_sheet(files: Sequence[Deliverable], version: int) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["file", "version", "duration_s", "loudness_lufs", "true_peak_dbtp", "description"])
    for item in files:
        writer.writerow([item.name, f"v{version}", f"{item.duration_s:.3f}",
                         "" if item.integrated_lufs is None else f"{item.integrated_lufs:.2f}",
                         f"{item.true_peak_dbtp:.2f}", item.description])
    return buffer.getvalue()
