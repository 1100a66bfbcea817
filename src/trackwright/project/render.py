"""Rendering a recipe: the edited mix, the edited stems, the MIDI and the master.

Conventions
-----------
* One splice plan is made on the draft and applied sample-for-sample to the draft, every stem
  and the *residual* (draft − Σ stems, what no stem holds), so everything stays in sync.
* Stems that do not add up to the draft (:mod:`trackwright.analysis.stemsum`) first take their
  measured place in it — gain, polarity, delay (:func:`~trackwright.analysis.stemsum.stems_in_mix`)
  — so a part replaced by the production leaves the sum for real. When what is left over is
  still louder than :data:`~trackwright.analysis.stemsum.RESIDUAL_WARN_DB` against the draft, it
  plays as a part of its own, :data:`RESIDUAL_PART`, mixed and delivered like the others.
* mix = edited residual + Σ part(edited stem), where part() applies the stem's gain, pan and
  mute. With every part as delivered the mix is the edited draft, and the written stems plus
  ``residual.wav`` always sum to ``mix.wav``.
* A re-rendered part that replaces a stem lands at that stem's loudness and band balance
  (:func:`~trackwright.produce.production.match_level`): the stem as it sits in the draft, or its
  own file when the draft does not hold it.
* Pan is a balance control: +0.5 lowers the left channel by cos(0.5·π/2) and keeps the right;
  0 changes nothing. It applies to the first two channels; mono parts ignore it.
* A recipe with a ``mix:`` block (:class:`trackwright.mix.mixer.MixPlan`) mixes the placed stems
  through its decisions (EQ, compression, pan, width, reverb bus, glue; no mastering here: the
  recipe's ``master`` does that): the written stems are then the processed parts, and the mix is
  the edited residual plus the mixed parts with their reverb and glue, so the stems no longer sum
  to it exactly.
* Renders are deterministic and cached by :func:`cache_key`: the same recipe over the same
  sources always gives the same bytes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from trackwright.analysis.analyze import Analysis
from trackwright.analysis.stemsum import RESIDUAL_WARN_DB, StemSum, stems_in_mix
from trackwright.arrange.grid import Span, grid_from_analysis, played_sections
from trackwright.arrange.midi import edit_midi
from trackwright.arrange.splice import SplicePlan, apply_plan, plan_splices
from trackwright.audio import Audio, save_audio, write_atomic
from trackwright.mix import limiter
from trackwright.mix.automation import apply_moves
from trackwright.mix.master import master
from trackwright.mix.mixer import apply_mix
from trackwright.produce.fluidsynth import render_midi
from trackwright.produce.production import MIDI_PREFIX, Production, render_production
from trackwright.progress import ProgressCallback, ignore_progress
from trackwright.project.recipe import FORMAT_VERSION, PartSettings, Recipe
from trackwright.project.sources import sha256_file
from trackwright.score.compose import compose_midi

#: Bumped whenever the renderer would give different audio for the same recipe.
RENDER_ENGINE = "4"  # 4: main's engine 3, and automation at the very start or end applies there in full
RENDER_MANIFEST = "render.json"
MIX_FILE = "mix.wav"
RESIDUAL_FILE = "residual.wav"
MIDI_FILE = "arrangement.mid"
SCORE_MIDI_FILE = "score.mid"
SCORE_AUDIO_FILE = "score.wav"
MASTER_FILE = "master.wav"
STEMS_DIR = "stems"
#: The part that plays what no stem holds, when the stems do not add up to the draft.
RESIDUAL_PART = "residual"


def cache_key(recipe: Recipe) -> str:
    """sha256 (hex) of the canonical JSON of what is heard, the sources' sha256s and :data:`RENDER_ENGINE`."""
    payload = {"music": recipe.music(), "sources": dict(sorted(recipe.sources.items())), "engine": RENDER_ENGINE}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class RenderResult:
    """Where a version's render lies.

    Attributes:
        version: the version rendered.
        cache_key: the render's content hash (its folder is ``renders/<cache_key>/``).
        cached: True when an earlier render was reused.
        mix: the edited (and balanced) mix, 32-bit float WAV.
        stems: part name → edited stem with its gain/pan/mute applied, 32-bit float WAV.
        midi: the edited MIDI (``arrangement.mid``), or None.
        master: the master, 24-bit WAV, or None when the recipe has no master target.
        residual: what no stem holds (draft − Σ stems), edited; None without stems.
        score_midi, score_audio: the edited MIDI after the recipe's ``score:`` operations and its
            FluidSynth render (``score.mid``, ``score.wav``); None without score operations.
        folder: the render folder.
        warnings: one line each (clipping, MIDI skipped…).
    """

    version: int
    cache_key: str
    cached: bool
    mix: Path
    stems: dict[str, Path] = field(default_factory=dict)
    midi: Path | None = None
    master: Path | None = None
    residual: Path | None = None
    folder: Path | None = None
    warnings: list[str] = field(default_factory=list)
    score_midi: Path | None = None
    score_audio: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (paths as strings)."""
        return {"version": self.version, "cache_key": self.cache_key, "cached": self.cached,
                "folder": None if self.folder is None else str(self.folder), "mix": str(self.mix),
                "stems": {name: str(path) for name, path in self.stems.items()},
                "residual": None if self.residual is None else str(self.residual),
                "midi": None if self.midi is None else str(self.midi),
                "master": None if self.master is None else str(self.master), "warnings": list(self.warnings),
                **({"score_midi": str(self.score_midi), "score_audio": str(self.score_audio)}
                   if self.score_midi is not None and self.score_audio is not None else {})}

    @classmethod
    def from_manifest(cls, folder: Path, manifest: Mapping[str, Any], *, version: int, cached: bool) -> RenderResult:
        """Rebuild from a render folder's ``render.json``."""
        files = manifest["files"]
        stems = {info["kind"].split(":", 1)[1]: folder / name for name, info in files.items()
                 if info["kind"].startswith("stem:")}
        by_kind = {info["kind"]: folder / name for name, info in files.items()}
        return cls(version=version, cache_key=manifest["cache_key"], cached=cached, mix=by_kind["mix"],
                   stems=dict(sorted(stems.items())), midi=by_kind.get("midi"), master=by_kind.get("master"),
                   residual=by_kind.get("residual"), folder=folder, warnings=list(manifest.get("warnings", [])),
                   score_midi=by_kind.get("score_midi"), score_audio=by_kind.get("score_audio"))


def part_gains(part: PartSettings, channels: int) -> np.ndarray:
    """Per-channel linear gain of a part: level, balance (first two channels) and mute."""
    if part.mute:
        return np.zeros(channels)
    gains = np.full(channels, 10.0 ** (part.gain_db / 20.0))
    if channels >= 2 and part.pan > 0:
        gains[0] *= math.cos(part.pan * math.pi / 2)
    elif channels >= 2 and part.pan < 0:
        gains[1] *= math.cos(-part.pan * math.pi / 2)
    return gains


def place_stems(recipe: Recipe, stems: Mapping[str, Audio], plan: SplicePlan, *,
                progress: ProgressCallback | None = None) -> dict[str, Audio]:
    """Each stem edited by ``plan`` (the splice plan of the recipe's arrangement) with its part's
    gain, pan and mute applied, by name (sorted)."""
    report = progress or ignore_progress
    placed = {}
    for index, (name, stem) in enumerate(sorted(stems.items())):
        report((index + 1) / max(len(stems), 1), f"editing {name}")
        edited = apply_plan(stem, plan)
        gains = part_gains(recipe.part(name), edited.channels)
        placed[name] = edited.with_samples((edited.samples * gains[:, None]).astype(np.float32))
    return placed


def render_score_ops(midi: Path, ops: Sequence[Mapping[str, Any]], midi_out: Path,
                     write_audio: Callable[[Audio], None] | None, *, sample_rate: int = 44100) -> list[str]:
    """Apply a recipe's ``score:`` operations to ``midi`` and write the result to ``midi_out`` (atomically).

    ``write_audio`` receives its FluidSynth render (float32, channels × frames at ``sample_rate``
    Hz); None renders nothing. Returns one warning line per operation whose written parts break
    a voice-leading rule.
    """
    score, results = compose_midi(midi, ops)
    data = score.to_bytes()
    write_atomic(Path(midi_out), lambda tmp: tmp.write_bytes(data))
    if write_audio is not None:
        write_audio(render_midi(score.to_midi(), sample_rate=sample_rate))
    return [f"score: {r.op}: {len(r.violations)} voice-leading violation(s), first: {r.violations[0].detail}"
            for r in results if r.violations]


def rebuild_production(recipe: Recipe, folder: Path, placed: Mapping[str, Audio], plan: SplicePlan, draft: Audio,
                       analysis: Callable[[], Analysis] | None, warnings: list[str],
                       as_given: Mapping[str, Audio] | None = None) -> tuple[dict[str, Audio], bool]:
    """:func:`~trackwright.produce.production.render_production` of the recipe's ``production:`` block.

    Reads the edited MIDI from the render ``folder`` (``score.mid`` when the recipe has score
    operations, else ``arrangement.mid``), the sections as played from ``analysis()`` (the draft's
    analysis; None: the whole output is one section), and appends warnings to ``warnings``.
    ``as_given`` holds the stems as their files have them (before taking their place in the
    draft), edited: a replaced stem the draft does not hold sets its replacement's level from its
    file. Returns the new placed parts and whether the draft's residual leaves the sum.
    """
    production = recipe.production or Production()
    midi = next((folder / name for name in (SCORE_MIDI_FILE, MIDI_FILE) if (folder / name).is_file()), None)
    if midi is None and production.parts:
        warnings.append("production parts not rendered: the project has no MIDI source")
        production = Production({}, production.drums if production.drums is None
                                 or not production.drums.stem.startswith(MIDI_PREFIX) else None)
    sections: list[Span] = []
    bar_s = 2.0
    if analysis is not None and any(p.arc == "auto" for p in production.parts.values()):
        grid = grid_from_analysis(analysis(), draft)
        sections = played_sections(grid, recipe.arrangement)
        bar_s = float(np.median(grid.ends_s - grid.starts_s))
    done = render_production(production, midi, placed, sample_rate=draft.sample_rate, frames=plan.frames,
                             channels=draft.channels, sections=sections, bar_s=bar_s,
                             edge_fades=(plan.fade_in, plan.fade_out), as_given=as_given,
                             draft=apply_plan(draft, plan) if production.replaces_draft else None,
                             limiter=_limit_part)
    warnings.extend(done.warnings)
    return done.parts, done.replaces_draft


def _limit_part(part: Audio, ceiling_dbtp: float, gain_db: float) -> Audio:
    """``part`` with ``gain_db``, its true peaks limited to ``ceiling_dbtp`` (the mix's limiter),
    for a replacement that must sit at its stem's level under the ceiling."""
    return part.with_samples(limiter.limit(part.samples, part.sample_rate, ceiling_dbtp, gain_db=gain_db).samples)


@dataclass(frozen=True)
class PlacedParts:
    """A version's parts as its render places them, before automation and the mix.

    Attributes:
        parts: part name → edited part (channels × frames on the output timeline) with its gain,
            pan and mute, the production applied; :data:`RESIDUAL_PART` among them when the
            residual plays as a part.
        residual: the edited residual when it plays outside the parts; None when it is a part or
            when the production replaces the whole draft.
        frames: the output's length, frames.
    """

    parts: dict[str, Audio]
    residual: Audio | None
    frames: int


def residual_of(draft: Audio, stems: Mapping[str, Audio]) -> Audio:
    """draft − Σ stems (what no stem holds), float32, channels × frames."""
    residual = draft.samples.astype(np.float64)
    for stem in stems.values():
        residual -= stem.samples
    return draft.with_samples(residual.astype(np.float32))


def residual_is_part(residual: Audio, draft: Audio, stems: Mapping[str, Audio]) -> bool:
    """True when the residual is louder than :data:`RESIDUAL_WARN_DB` against the draft (the stems
    do not add up to it) and no stem is already named :data:`RESIDUAL_PART`."""
    if not stems or RESIDUAL_PART in stems:
        return False
    left = float(np.mean(np.square(residual.samples, dtype=np.float64)))
    whole = float(np.mean(np.square(draft.samples, dtype=np.float64)))
    return left > 0.0 and 10.0 * math.log10(left / max(whole, 1e-30)) > RESIDUAL_WARN_DB


def place_parts(recipe: Recipe, draft: Audio, stems: Mapping[str, Audio], plan: SplicePlan, folder: Path, *,
                placement: StemSum | None = None, analysis: Callable[[], Analysis] | None = None,
                warnings: list[str] | None = None, progress: ProgressCallback | None = None) -> PlacedParts:
    """Place a recipe's parts on the output timeline: the stems where the draft has them (``placement``,
    see :func:`~trackwright.analysis.stemsum.stems_in_mix`), edited by ``plan`` with their gain,
    pan and mute, the residual (a part of its own when it is loud), then the production.

    ``folder`` holds the edited MIDI the production reads (``arrangement.mid``/``score.mid``);
    warnings are appended to ``warnings``.
    """
    report = progress or ignore_progress
    warnings = warnings if warnings is not None else []
    in_mix = stems_in_mix(stems, placement) if placement is not None else dict(stems)
    residual = residual_of(draft, in_mix) if stems or recipe.production is not None else None
    if residual is not None and residual_is_part(residual, draft, in_mix):
        in_mix[RESIDUAL_PART] = residual
        residual = None
    placed = place_stems(recipe, in_mix, plan, progress=report)
    edited_residual = None if residual is None else apply_plan(residual, plan)
    if recipe.production is not None:
        report(0.9, "rebuilding the production")
        replaced = recipe.production.replaced_stems & set(stems)
        as_given = place_stems(recipe, {n: stems[n] for n in replaced}, plan) if replaced else None
        placed, replaces_draft = rebuild_production(recipe, folder, placed, plan, draft, analysis, warnings,
                                                    as_given=as_given)
        if replaces_draft:  # the re-rendered parts are the whole music: no residual
            edited_residual = None
    return PlacedParts(placed, edited_residual, plan.frames)


def render_recipe(recipe: Recipe, draft: Audio, stems: Mapping[str, Audio], midi: Path | None, folder: Path, *,
                  version: int, key: str, notes: list[str] | None = None,
                  progress: ProgressCallback | None = None,
                  analysis: Callable[[], Analysis] | None = None,
                  placement: StemSum | None = None) -> dict[str, Any]:
    """Render ``recipe`` into the (empty, existing) ``folder``; write ``render.json`` last and return it.

    ``stems`` must already match the draft's rate, length and channels
    (:func:`trackwright.produce.stems.fit_stem`). ``analysis`` gives the draft's analysis (its
    sections shape a ``production:`` arc); it is only called when the recipe needs it.
    ``placement`` is how the stems sit in the draft (:func:`~trackwright.analysis.stemsum.measure_stem_sum`).
    """
    report = progress or ignore_progress
    files: dict[str, dict[str, str]] = {}
    warnings: list[str] = list(notes or [])

    def write(audio: Audio, name: str, kind: str, bit_depth: str = "float") -> None:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        for line in save_audio(audio, path, bit_depth=bit_depth):
            warnings.append(line.replace(str(folder) + "/", ""))
        files[name] = {"kind": kind, "sha256": sha256_file(path)}

    report(0.02, "planning the splices")
    plan = plan_splices(draft, recipe.arrangement)
    if midi is not None:
        report(0.03, "editing the MIDI")
        edit_midi(midi, plan).save(str(folder / MIDI_FILE))
        files[MIDI_FILE] = {"kind": "midi", "sha256": sha256_file(folder / MIDI_FILE)}
        if recipe.score:
            report(0.04, "composing the score")
            warnings.extend(render_score_ops(folder / MIDI_FILE, recipe.score, folder / SCORE_MIDI_FILE,
                                             lambda audio: write(audio, SCORE_AUDIO_FILE, "score_audio"),
                                             sample_rate=draft.sample_rate))
            files[SCORE_MIDI_FILE] = {"kind": "score_midi", "sha256": sha256_file(folder / SCORE_MIDI_FILE)}
    if recipe.score and SCORE_MIDI_FILE not in files:
        warnings.append("score operations not rendered: the project has no MIDI source")
    steps = len(stems) + 2
    if not stems and recipe.production is None:
        report(0.1, "editing the mix")
        mix = apply_moves(apply_plan(draft, plan), "mix", recipe.automation)
    else:
        report(0.1, "placing the parts")
        done = place_parts(recipe, draft, stems, plan, folder, placement=placement, analysis=analysis,
                           warnings=warnings,
                           progress=lambda f, label: report(0.1 + 0.6 * f * (steps - 2) / steps, label))
        if done.residual is None:  # a part of its own, or replaced with the whole draft
            total = np.zeros((draft.channels, plan.frames))
        else:
            edited_residual = apply_moves(done.residual, "residual", recipe.automation)
            total = edited_residual.samples.astype(np.float64)
            write(edited_residual, RESIDUAL_FILE, "residual")
        placed = {name: apply_moves(part, name, recipe.automation) for name, part in done.parts.items()}
        if recipe.mix is None:
            for part in placed.values():
                total += part.samples
        else:
            report(0.7, f"mixing ({recipe.mix.style})")
            # parts replaced by the production leave the plan
            chosen = dataclasses.replace(recipe.mix, target=None,
                                         parts={n: p for n, p in recipe.mix.parts.items() if n in placed})
            mixed = apply_mix(placed, chosen)
            warnings.extend(mixed.warnings)
            placed = mixed.parts
            total = total + mixed.premaster.samples  # parts, reverb bus and glue (stereo)
        for name, part in placed.items():
            write(part, f"{STEMS_DIR}/{name.replace(':', '-')}.wav", f"stem:{name}")
        mix = Audio(total.astype(np.float32), draft.sample_rate)
    report(0.72, "writing the mix")
    write(mix, MIX_FILE, "mix")
    target = recipe.master.resolved()
    if target is not None:
        report(0.8, f"mastering ({target.name})")
        result = master(mix, target, progress=lambda f, label: report(0.8 + 0.18 * f, f"mastering: {label}"))
        warnings.extend(result.warnings)
        write(result.audio, MASTER_FILE, "master", bit_depth="24")
    manifest = {"format": FORMAT_VERSION, "engine": RENDER_ENGINE, "cache_key": key, "version": version,
                "midi_skipped": midi is not None and MIDI_FILE not in files,
                "files": dict(sorted(files.items())), "warnings": warnings}
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    write_atomic(folder / RENDER_MANIFEST, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    report(1.0, "done")
    return manifest


def read_manifest(folder: Path, key: str) -> dict[str, Any] | None:
    """The folder's ``render.json`` when it is complete and every file's sha256 matches, else None."""
    try:
        manifest = json.loads((folder / RENDER_MANIFEST).read_text(encoding="utf-8"))
        if manifest.get("cache_key") != key or manifest.get("engine") != RENDER_ENGINE:
            return None
        files = manifest["files"]
        if not any(info.get("kind") == "mix" for info in files.values()):
            return None
        for name, info in files.items():
            path = folder / name
            if not path.is_file() or sha256_file(path) != info["sha256"]:
                return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return manifest
