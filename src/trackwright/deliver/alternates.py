"""Alternates, cutdowns and stems: versions of the mix with parts changed, each mastered to the target.

Conventions
-----------
* A :class:`Source` is what a delivery is cut from: the version's edited mix, its edited stems
  and the residual (mix − Σ stems), with each stem's delivery role (:data:`DELIVERY_ROLES`).
* Each alternate and each cutdown is a typed job (:class:`AlternateJob`, :class:`CutdownJob`):
  ``make()`` masters it (or raises a :class:`~trackwright.errors.TrackwrightError` that skips
  it with a warning) and ``write()`` queues its file. Jobs run in parallel.
* The underscore sits :data:`UNDERSCORE_DROP_LU` under the target; the others are mastered to it.
* Stems are the edited stems through the main master's linear EQ × its make-up gain (32-bit
  float); what the master's compression and limiting change, plus the residual, is the
  ``MasterDiff`` stem, so stems + MasterDiff sum to the main master.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

import numpy as np
import pedalboard

from trackwright.arrange.fit import FitResult, fit_to_duration
from trackwright.arrange.grid import BarGrid
from trackwright.arrange.splice import apply_plan, plan_splices
from trackwright.audio import Audio, load_audio
from trackwright.deliver.files import DeliveryWriter
from trackwright.mix.master import MasterResult, master
from trackwright.mix.targets import Target
from trackwright.project.render import RESIDUAL_PART

#: The underscore is mastered this much under the target, LU.
UNDERSCORE_DROP_LU = 6.0
#: Presence dip of the underscore: centre (Hz), gain (dB) and Q spanning about 300 Hz–3 kHz.
PRESENCE_HZ, PRESENCE_DB, PRESENCE_Q = 950.0, -5.0, 0.35
#: The underscore keeps the drums this much lower, dB ("sparser parts").
UNDERSCORE_DRUMS_DB = -8.0
#: Delivery roles: a stem role (:mod:`trackwright.analysis.roles`) → the delivered stem group.
DELIVERY_ROLES = {"vocals": "vocal", "drums": "drums", "bass": "bass", "lead": "lead"}
#: The delivery group of the residual part (what no stem holds, when the stems do not add up to the draft).
RESIDUAL_GROUP = "residual"
#: Delivered stems: one per delivery role (the parts of that role summed), in this order, under these names.
ROLE_STEMS = {"drums": "Drums", "bass": "Bass", "bed": "Music", "lead": "Lead", "vocal": "Vocals",
              RESIDUAL_GROUP: "Residual"}


def delivery_role(role: str) -> str:
    """The delivery group of a stem role: vocal, drums, bass, lead or bed (pads, keys, everything else)."""
    return DELIVERY_ROLES.get(role, "bed")


def delivery_roles(roles: Mapping[str, str], parts: Sequence[str]) -> dict[str, str]:
    """Part name → delivery group of each of ``parts``, from the project's roles (part name → role,
    :func:`trackwright.project.roles.part_roles`); the residual part is its own group and a part
    with no role is in the bed."""
    return {part: RESIDUAL_GROUP if part == RESIDUAL_PART else delivery_role(roles.get(part, "other"))
            for part in parts}


def presence_dip(audio: Audio, *, gain_db: float = PRESENCE_DB) -> Audio:
    """``audio`` with a broad peaking cut centred at :data:`PRESENCE_HZ` (about 300 Hz–3 kHz), dB."""
    board = pedalboard.Pedalboard([pedalboard.PeakFilter(cutoff_frequency_hz=PRESENCE_HZ, gain_db=gain_db,
                                                         q=PRESENCE_Q)])
    return audio.with_samples(board(audio.samples, float(audio.sample_rate)))


@dataclass(frozen=True)
class Source:
    """What a delivery is cut from.

    Attributes:
        mix: the version's edited mix (channels × frames).
        stems: part name → edited stem (empty without stems).
        residual: what no stem holds, or None.
        roles: part name → delivery role (:func:`delivery_role`).
    """

    mix: Audio
    stems: Mapping[str, Audio]
    residual: Audio | None
    roles: Mapping[str, str]

    def parts(self, *roles: str) -> list[str]:
        """The parts whose delivery role is one of ``roles``."""
        return [part for part, role in self.roles.items() if role in roles]

    def mix_of(self, weights: Mapping[str, float]) -> Audio:
        """residual + Σ weight × stem: the mix with some parts changed (the mix itself without stems)."""
        if not self.stems:
            return self.mix
        total = (np.zeros_like(self.mix.samples, dtype=np.float64) if self.residual is None
                 else self.residual.samples.astype(np.float64))
        for part, stem in self.stems.items():
            total += weights.get(part, 1.0) * stem.samples
        return self.mix.with_samples(total.astype(np.float32))


class Alternate(Enum):
    """The alternate mixes: what each leaves out or changes."""

    INSTRUMENTAL = "instrumental"
    UNDERSCORE = "underscore"
    LITE = "lite"

    @property
    def words(self) -> str:
        """What it is, in a few words (in its file's description)."""
        return {Alternate.INSTRUMENTAL: "without the vocal", Alternate.LITE: "without the drums",
                Alternate.UNDERSCORE: "under dialogue: no vocal or lead, drums lower, presence dipped, "
                                      f"{UNDERSCORE_DROP_LU:g} LU quieter"}[self]


@dataclass(frozen=True)
class Mastered:
    """A job's outcome: the master and what the job records about it (removed stems, the fit)."""

    result: MasterResult
    removed: Sequence[str] = ()
    fit: FitResult | None = None


@dataclass(frozen=True)
class AlternateJob:
    """An alternate mix of the source, mastered to ``target``."""

    kind: Alternate
    weights: Mapping[str, float]
    removed: Sequence[str]
    target: Target

    @property
    def label(self) -> str:
        """The job in words, for warnings."""
        return self.kind.value

    def make(self, source: Source) -> Mastered:
        """Master the alternate (raises a TrackwrightError when it cannot be)."""
        audio = source.mix_of(self.weights)
        if self.kind is Alternate.UNDERSCORE:
            audio = presence_dip(audio)
        return Mastered(master(audio, self.target), self.removed)

    def write(self, writer: DeliveryWriter, made: Mastered) -> None:
        """Queue its file."""
        name = self.kind.value
        writer.write(made.result.audio, (name.capitalize(),), name,
                     f"{writer.title} {name} ({self.kind.words})", target_lufs=made.result.target.integrated_lufs,
                     info={"removed_stems": list(made.removed)})


@dataclass(frozen=True)
class CutdownJob:
    """A cutdown of ``length_s`` seconds with the song's own ending, mastered to ``target``."""

    length_s: float
    grid: BarGrid
    likeness: np.ndarray
    target: Target

    @property
    def label(self) -> str:
        """The job in words, for warnings."""
        return f"{self.length_s:g} s cutdown"

    def make(self, source: Source) -> Mastered:
        """Fit the mix to the length, splice it, master it (raises a TrackwrightError when it cannot be)."""
        fit = fit_to_duration(self.grid, self.likeness, self.length_s, ending="natural")
        edited = apply_plan(source.mix, plan_splices(source.mix, fit.edits))
        return Mastered(master(edited, self.target), fit=fit)

    def write(self, writer: DeliveryWriter, made: Mastered) -> None:
        """Queue its file."""
        fit = made.fit
        if fit is None:
            raise RuntimeError("a cutdown was mastered without its fit")  # a bug, not a user error
        seconds = f"{self.length_s:g}"
        writer.write(made.result.audio, (f"{seconds}s",), "cutdown",
                     f"{writer.title} {seconds} s cutdown with the song's own ending",
                     target_lufs=made.result.target.integrated_lufs,
                     info={"length_s": float(self.length_s), "ending": fit.ending, "source_bars": fit.bars,
                           "jumps": fit.jumps, "notes": fit.notes})


MasterJob = AlternateJob | CutdownJob


def alternate_jobs(source: Source, kinds: set[str], target: Target, warnings: list[str]) -> list[AlternateJob]:
    """The alternates asked for in ``kinds`` that the source can make; the others are warned about."""
    jobs: list[AlternateJob] = []
    stems = sorted(source.stems)
    if "instrumental" in kinds:
        vocals = source.parts("vocal")
        if not stems:
            warnings.append("instrumental skipped: the project has no stems (import them with `trackwright new "
                            "--stems`, or give --separation-model with Demucs weights to split the mix)")
        elif not vocals:
            warnings.append(f"instrumental skipped: no part has the role vocals (stems: {', '.join(stems)}; set one "
                            "with `trackwright stems PROJECT --set PART=vocals`)")
        else:
            jobs.append(AlternateJob(Alternate.INSTRUMENTAL, {p: 0.0 for p in vocals}, vocals, target))
    if "underscore" in kinds:
        removed = source.parts("vocal", "lead")
        weights = {p: 0.0 for p in removed}
        weights.update({p: 10 ** (UNDERSCORE_DRUMS_DB / 20) for p in source.parts("drums")})
        quiet = Target(target.name, target.integrated_lufs - UNDERSCORE_DROP_LU, target.ceiling_dbtp,
                       target.description)
        jobs.append(AlternateJob(Alternate.UNDERSCORE, weights, removed, quiet))
    if "lite" in kinds:
        drums = source.parts("drums")
        if not drums:
            warnings.append("lite skipped: " + ("the project has no stems" if not stems else
                            f"no part has the role drums (stems: {', '.join(stems)}; set one with "
                            "`trackwright stems PROJECT --set PART=drums`)"))
        else:
            jobs.append(AlternateJob(Alternate.LITE, {p: 0.0 for p in drums}, drums, target))
    return jobs


def cutdown_jobs(source: Source, lengths: Sequence[float], grid: BarGrid, likeness: np.ndarray, target: Target,
                 warnings: list[str]) -> list[CutdownJob]:
    """A cutdown job per length shorter than the piece; the others are warned about."""
    jobs = []
    for length in lengths:
        if length >= source.mix.duration_s - 0.01:
            warnings.append(f"{length:g} s cutdown skipped: the piece is only {source.mix.duration_s:.1f} s long")
            continue
        jobs.append(CutdownJob(length, grid, likeness, target))
    return jobs


def write_stems(writer: DeliveryWriter, stems: Mapping[str, Audio], roles: Mapping[str, str], master_audio: Audio,
                gain: float) -> None:
    """Queue one float stem per delivery role (the master's EQ'd parts × the master's gain) and MasterDiff."""
    # the sum is checked against the master as written (24-bit, or 16-bit dithered) when it is part of
    # the delivery at the master's rate; a resampled delivery sums to the float master, resampled alike
    main = writer.find("main")
    master_24 = load_audio(writer.folder / main.name) if main is not None and main.sample_rate == \
        master_audio.sample_rate and main.name.endswith((".wav", ".flac")) else master_audio
    total = np.zeros(master_24.samples.shape, dtype=np.float64)
    for role, label in ROLE_STEMS.items():
        parts = sorted(p for p, r in roles.items() if r == role)
        if not parts:
            continue
        summed = sum(stems[p].samples.astype(np.float64) for p in parts) * gain
        total += summed
        writer.write(master_24.with_samples(summed.astype(np.float32)), ("Stem", label), "stem",
                     f"{label} stem ({', '.join(parts)}) with the main master's EQ and gain", target_lufs=None,
                     ceiling=False, info={"parts": parts, "role": role})
    diff = master_24.samples.astype(np.float64) - total
    master_power = float(np.mean(master_24.samples.astype(np.float64) ** 2))
    level = 10 * math.log10(max(float(np.mean(diff ** 2)), 1e-30) / max(master_power, 1e-30))
    writer.write(master_24.with_samples(diff.astype(np.float32)), ("Stem", "MasterDiff"), "stem",
                 "what the stems do not hold: the mix residual and the master's compression and limiting",
                 target_lufs=None, ceiling=False,
                 info={"parts": [], "role": "master_diff", "level_re_master_db": round(level, 2)})
