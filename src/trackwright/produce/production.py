"""The production layer: MIDI parts re-rendered with instruments and expression, drum layers.

A recipe's optional ``production:`` block (:class:`Production`) says, per MIDI part (the part
names of :func:`trackwright.produce.instruments.part_names`), which instrument plays it, whose
audio it replaces and how it is shaped; and optionally which drum stem gets a Hydrogen layer::

    production:
      parts:
        lead: {instrument: ms-strings, replaces: keys, arc: auto, humanize_seed: 7, legato: true}
        drums: {instrument: ms-drums, replaces: null, arc: none, humanize_seed: null, legato: false}
      drums: {stem: midi:drums, kit: null, blend_db: -3.0}

Conventions
-----------
* A re-rendered part joins the placed parts as ``midi:<part>``. ``replaces`` names a stem whose
  audio it replaces: that stem leaves the sum. ``replaces: draft`` replaces the whole draft
  (every stem and the residual): the music is then the re-rendered parts alone.
* The MIDI rendered is the *edited* MIDI (the arrangement applied, plus the recipe's score
  operations when it has them), so the parts play on the output timeline; each is rendered at
  the project's rate, fitted to the output's channels and length, with the arrangement's edge
  fades.
* ``arc: auto`` shapes velocities and CC1/CC11 along :func:`~trackwright.produce.expression.arc_from_sections`
  of the sections *as played* (:func:`trackwright.arrange.grid.played_sections`); ``humanize_seed``
  humanises timing (≤ 10 ms) and velocity (± 8) reproducibly; ``legato`` overlaps the part's notes.
* A part that replaces a stem lands at that stem's loudness and band balance, never above
  :data:`~trackwright.produce.levelmatch.DEFAULT_CEILING_DBTP` (:func:`~trackwright.produce.levelmatch.match_level`);
  parts that replace the whole draft are brought together to the draft's loudness; an added part
  only kept under the ceiling.
* Drum layering (:func:`~trackwright.produce.drums.layer_drums`) applies to the named part's
  placed audio (a stem, or ``midi:<part>``), before automation and the mix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mido
import numpy as np

from trackwright.analysis.loudness import measure_loudness
from trackwright.analysis.stemsum import ABSENT_GAIN_DB
from trackwright.arrange.grid import Span
from trackwright.arrange.splice import apply_edge_fades
from trackwright.audio import Audio
from trackwright.errors import ParameterError, reject_unknown_fields
from trackwright.parallel import thread_map
from trackwright.produce.drums import layer_drums
from trackwright.produce.expression import Arc, arc_from_sections, humanize, legato, shape_dynamics
from trackwright.produce.instruments import assign_instrument, render_part, resolve_instrument, split_parts
from trackwright.produce.levelmatch import DEFAULT_CEILING_DBTP, PeakLimiter, hold_under_ceiling, match_level

#: ``replaces`` value that replaces the whole draft (residual and every stem).
REPLACE_DRAFT = "draft"
#: Prefix of a re-rendered part's name among the placed parts.
MIDI_PREFIX = "midi:"
ARC_MODES = ("auto", "none")
_PART_FIELDS = ("instrument", "replaces", "arc", "humanize_seed", "legato")
_DRUM_FIELDS = ("stem", "kit", "blend_db")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.\-]*$")


def _field_error(field_name: str, problem: str) -> ParameterError:
    return ParameterError(f"{field_name}: {problem}")


@dataclass(frozen=True)
class PartProduction:
    """How one MIDI part is rebuilt.

    Attributes:
        instrument: a preset or text form :func:`~trackwright.produce.instruments.resolve_instrument` accepts.
        replaces: a stem name (or ``draft``) whose audio this part replaces; None adds it.
        arc: ``auto`` (dynamics and CC1/CC11 along the sections as played) or ``none``.
        humanize_seed: seed for humanised timing and velocity, or None (as written).
        legato: overlap consecutive notes (strings, pads).
    """

    instrument: str
    replaces: str | None = None
    arc: str = "none"
    humanize_seed: int | None = None
    legato: bool = False

    def __post_init__(self) -> None:
        _check_part(self, "part")

    def to_dict(self) -> dict[str, Any]:
        """The recipe form (every field)."""
        return {"instrument": self.instrument, "replaces": self.replaces, "arc": self.arc,
                "humanize_seed": self.humanize_seed, "legato": self.legato}

    @classmethod
    def from_dict(cls, data: Any, field_name: str = "part") -> PartProduction:
        """Parse the recipe form (only ``instrument`` required); errors name the field."""
        if isinstance(data, str):
            data = {"instrument": data}
        if not isinstance(data, Mapping):
            raise _field_error(field_name, f"must be a mapping of {', '.join(_PART_FIELDS)}, got {type(data).__name__}")
        reject_unknown_fields(data, _PART_FIELDS, field_name)
        if "instrument" not in data:
            raise _field_error(f"{field_name}.instrument", "missing (a preset like ms-strings, or gm:48)")
        part = cls.__new__(cls)
        for key, default in (("instrument", None), ("replaces", None), ("arc", "none"), ("humanize_seed", None),
                             ("legato", False)):
            object.__setattr__(part, key, data.get(key, default))
        _check_part(part, field_name)
        return part

    def describe(self, name: str) -> str:
        """In words: ``lead re-rendered as ms-strings, replacing stem keys, arc, humanised (seed 7), legato``."""
        words = [f"{name} re-rendered as {self.instrument}"]
        if self.replaces == REPLACE_DRAFT:
            words.append("replacing the draft")
        elif self.replaces is not None:
            words.append(f"replacing stem {self.replaces}")
        if self.arc == "auto":
            words.append("dynamics shaped along the sections")
        if self.humanize_seed is not None:
            words.append(f"humanised (seed {self.humanize_seed})")
        if self.legato:
            words.append("legato")
        return ", ".join(words)


def _check_part(part: PartProduction, field_name: str) -> None:
    if not isinstance(part.instrument, str) or not part.instrument.strip():
        raise _field_error(f"{field_name}.instrument", f"must be a preset name or form like gm:48, got {part.instrument!r}")
    try:
        resolve_instrument(part.instrument)
    except ParameterError as err:
        raise _field_error(f"{field_name}.instrument", str(err)) from err
    if part.replaces is not None and (not isinstance(part.replaces, str) or not part.replaces.strip()):
        raise _field_error(f"{field_name}.replaces", f"must be a stem name, draft or null, got {part.replaces!r}")
    if part.arc not in ARC_MODES:
        raise _field_error(f"{field_name}.arc", f"must be auto or none, got {part.arc!r}")
    seed = part.humanize_seed
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise _field_error(f"{field_name}.humanize_seed", f"must be a whole number ≥ 0 or null, got {seed!r}")
    if not isinstance(part.legato, bool):
        raise _field_error(f"{field_name}.legato", f"must be true or false, got {part.legato!r}")


@dataclass(frozen=True)
class DrumLayer:
    """A Hydrogen kit layered on a drum part's kick and snare hits.

    Attributes:
        stem: the part layered: a stem name or ``midi:<part>``.
        kit: a Hydrogen kit name or folder; None for :data:`trackwright.produce.drums.DEFAULT_KIT`.
        blend_db: the samples' level relative to each hit, dB (−24…+12).
    """

    stem: str
    kit: str | None = None
    blend_db: float = -3.0

    def __post_init__(self) -> None:
        _check_drums(self, "drums")

    def to_dict(self) -> dict[str, Any]:
        """The recipe form."""
        return {"stem": self.stem, "kit": self.kit, "blend_db": float(self.blend_db)}

    @classmethod
    def from_dict(cls, data: Any, field_name: str = "drums") -> DrumLayer:
        """Parse the recipe form (``stem`` required); errors name the field."""
        if not isinstance(data, Mapping):
            raise _field_error(field_name, f"must be a mapping of {', '.join(_DRUM_FIELDS)}, got {type(data).__name__}")
        reject_unknown_fields(data, _DRUM_FIELDS, field_name)
        layer = cls.__new__(cls)
        for key, default in (("stem", None), ("kit", None), ("blend_db", -3.0)):
            object.__setattr__(layer, key, data.get(key, default))
        _check_drums(layer, field_name)
        object.__setattr__(layer, "blend_db", float(layer.blend_db))
        return layer


def _check_drums(layer: DrumLayer, field_name: str) -> None:
    if not isinstance(layer.stem, str) or not layer.stem.strip():
        raise _field_error(f"{field_name}.stem", f"must be a stem name or midi:PART, got {layer.stem!r}")
    if layer.kit is not None and (not isinstance(layer.kit, str) or not layer.kit.strip()):
        raise _field_error(f"{field_name}.kit", f"must be a Hydrogen kit name or folder, or null, got {layer.kit!r}")
    blend = layer.blend_db
    if isinstance(blend, bool) or not isinstance(blend, (int, float)) or not -24.0 <= blend <= 12.0:
        raise _field_error(f"{field_name}.blend_db", f"must be a number −24…+12 dB, got {blend!r}")


@dataclass(frozen=True)
class Production:
    """A recipe's ``production:`` block: re-rendered MIDI parts and an optional drum layer.

    Attributes:
        parts: MIDI part name → :class:`PartProduction`.
        drums: :class:`DrumLayer` or None.
    """

    parts: Mapping[str, PartProduction] = field(default_factory=dict)
    drums: DrumLayer | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "parts", dict(sorted(self.parts.items())))
        replaced: dict[str, str] = {}
        for name, part in self.parts.items():
            if not isinstance(name, str) or not _NAME.match(name):
                raise _field_error("production.parts", f"part names are lower-case MIDI part names, got {name!r}")
            if not isinstance(part, PartProduction):
                raise _field_error(f"production.parts.{name}", f"must be PartProduction, got {type(part).__name__}")
            if part.replaces is not None and part.replaces != REPLACE_DRAFT:
                if part.replaces in replaced:
                    raise _field_error(f"production.parts.{name}.replaces",
                                       f"stem {part.replaces} is already replaced by part {replaced[part.replaces]}")
                replaced[part.replaces] = name
        if self.drums is not None and self.drums.stem.startswith(MIDI_PREFIX) \
                and self.drums.stem[len(MIDI_PREFIX):] not in self.parts:
            raise _field_error("production.drums.stem", f"{self.drums.stem} is not a re-rendered part "
                               f"(parts: {', '.join(self.parts) or 'none'})")

    @property
    def is_empty(self) -> bool:
        """True when nothing is re-rendered or layered."""
        return not self.parts and self.drums is None

    @property
    def replaces_draft(self) -> bool:
        """True when a part replaces the whole draft."""
        return any(p.replaces == REPLACE_DRAFT for p in self.parts.values())

    @property
    def replaced_stems(self) -> set[str]:
        """Stem names some part replaces."""
        return {p.replaces for p in self.parts.values() if p.replaces not in (None, REPLACE_DRAFT)}

    def check_stems(self, stems: Sequence[str]) -> None:
        """Check that ``replaces`` and ``drums.stem`` name stems of the project (one-line error otherwise)."""
        have = f"stems: {', '.join(sorted(stems))}" if stems else "this project has no stems"
        for name, part in self.parts.items():
            if part.replaces not in (None, REPLACE_DRAFT) and part.replaces not in stems:
                raise _field_error(f"production.parts.{name}.replaces",
                                   f"no stem named {part.replaces!r} ({have}; or draft for the whole draft)")
        if self.drums is not None and not self.drums.stem.startswith(MIDI_PREFIX) and self.drums.stem not in stems:
            raise _field_error("production.drums.stem", f"no stem named {self.drums.stem!r} ({have}; or midi:PART)")

    def to_dict(self) -> dict[str, Any]:
        """The recipe form (``{}`` when empty)."""
        out: dict[str, Any] = {}
        if self.parts:
            out["parts"] = {name: part.to_dict() for name, part in self.parts.items()}
        if self.drums is not None:
            out["drums"] = self.drums.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: Any, field_name: str = "production") -> Production:
        """Parse a ``production:`` block (None or ``{}`` is empty); errors name the field."""
        if data is None:
            return cls()
        if isinstance(data, Production):
            return data
        if not isinstance(data, Mapping):
            raise _field_error(field_name, f"must be a mapping of parts, drums, got {type(data).__name__}")
        reject_unknown_fields(data, ("parts", "drums"), field_name)
        raw = data.get("parts") or {}
        if not isinstance(raw, Mapping):
            raise _field_error(f"{field_name}.parts", f"must be a mapping of MIDI part names, got {type(raw).__name__}")
        parts = {str(name): PartProduction.from_dict(value, f"{field_name}.parts.{name}") for name, value in raw.items()}
        drums = None if data.get("drums") is None else DrumLayer.from_dict(data["drums"], f"{field_name}.drums")
        return cls(parts, drums)

    def describe(self) -> list[str]:
        """One line per part and the drum layer, in words."""
        lines = [part.describe(name) for name, part in self.parts.items()]
        if self.drums is not None:
            lines.append(f"{self.drums.stem} layered with {self.drums.kit or 'the default'} Hydrogen kit "
                         f"({self.drums.blend_db:+.1f} dB)")
        return lines


# -- rendering ---------------------------------------------------------------------------------
@dataclass
class ProductionRender:
    """What :func:`render_production` did to the placed parts.

    Attributes:
        parts: the placed parts afterwards (replaced stems gone, ``midi:<part>`` added, drum
            layer applied), each channels × frames on the output timeline.
        replaces_draft: True when the residual must leave the sum too.
        warnings: one line each.
    """

    parts: dict[str, Audio]
    replaces_draft: bool = False
    warnings: list[str] = field(default_factory=list)


def section_arc(sections: Sequence[Span], *, length_s: float, bar_s: float) -> Arc:
    """The dynamic arc over ``sections`` as played (output seconds), named "chorus 2" etc. (the
    trailing number is dropped to give the role); the whole output as one section when there are none."""
    spans = []
    for item in sections:
        start, end, name = item.start_s, item.end_s, item.name
        role = re.sub(r"\s*\d+$", "", str(name)).strip().lower() or "section"
        if end > start:
            spans.append((float(start), float(end), role))
    if not spans:
        spans = [(0.0, max(length_s, bar_s), "section")]
    return arc_from_sections(spans, bar_s=bar_s)


def _notes_track_name(part: mido.MidiFile) -> str:
    for track in part.tracks:
        if any(m.type == "note_on" and m.velocity > 0 for m in track):
            return next((m.name.strip().lower() for m in track if m.type == "track_name"), "")
    return ""


def _fit(audio: Audio, channels: int, frames: int) -> np.ndarray:
    samples = audio.samples
    if samples.shape[0] != channels:
        mono = samples.mean(axis=0, keepdims=True)
        samples = np.repeat(mono, channels, axis=0) if channels <= 2 else \
            np.vstack([samples[:2], np.zeros((channels - 2, samples.shape[1]), samples.dtype)])
    if samples.shape[1] >= frames:
        samples = samples[:, :frames].copy()
        ramp = min(frames, round(0.01 * audio.sample_rate))  # no click where the render is cut
        if ramp:
            samples[:, frames - ramp:] *= np.linspace(1.0, 0.0, ramp, dtype=np.float32)
    else:
        samples = np.pad(samples, ((0, 0), (0, frames - samples.shape[1])))
    return samples.astype(np.float32)


def render_production(production: Production, midi: str | Path | mido.MidiFile, placed: Mapping[str, Audio], *,
                      sample_rate: int, frames: int, channels: int = 2, sections: Sequence[Span] = (),
                      bar_s: float = 2.0, edge_fades: tuple[int, int] = (0, 0),
                      as_given: Mapping[str, Audio] | None = None, draft: Audio | None = None,
                      limiter: PeakLimiter | None = None) -> ProductionRender:
    """Rebuild the configured MIDI parts and the drum layer into the placed parts.

    Parameters
    ----------
    production : Production
    midi : path or mido.MidiFile
        The edited MIDI (output timeline): ``arrangement.mid`` or ``score.mid``.
    placed : mapping of str to Audio
        The placed stems (channels × frames each, ``frames`` long); not changed.
    sample_rate : int
        The project's rate, Hz.
    frames, channels : int
        The output's length (frames) and channels: every rebuilt part is fitted to them.
    sections : sequence of Span
        The sections as played (:func:`~trackwright.arrange.grid.played_sections`), output
        seconds, for ``arc: auto``.
    bar_s : float
        One bar, seconds (the arc's swell and phrase length).
    edge_fades : (int, int)
        The arrangement's fade-in and fade-out, frames, applied to the rebuilt parts as to the stems.
    as_given : mapping of str to Audio, optional
        Replaced stems as their files have them (edited like ``placed``): the level a replacement
        takes when its stem is silent among ``placed`` (the draft does not hold it).
    draft : Audio, optional
        The edited draft: parts replacing the whole draft are brought, together, to its loudness.
    limiter : PeakLimiter, optional
        Limits a replacement's peaks where, at the level of the stem it replaces, they would cross
        the ceiling (:func:`~trackwright.produce.levelmatch.match_level`); without one it is turned down.

    Returns
    -------
    ProductionRender

    Raises
    ------
    ParameterError
        A configured part is not in the MIDI, or the drum layer names no placed part.
    """
    out = dict(placed)
    warnings: list[str] = []
    if production.parts:
        parts = split_parts(midi)
        unknown = sorted(set(production.parts) - set(parts))
        if unknown:
            raise ParameterError(f"production.parts.{unknown[0]}: no part named {unknown[0]!r} in the MIDI "
                                 f"(parts: {', '.join(parts)})")
        length_s = frames / sample_rate
        arc = None
        if any(p.arc == "auto" for p in production.parts.values()):
            arc = section_arc(sections, length_s=length_s, bar_s=bar_s)

        def one(name: str) -> Audio:
            setting = production.parts[name]
            instrument = resolve_instrument(setting.instrument)
            music = assign_instrument(parts[name], instrument)
            if arc is not None and setting.arc == "auto":
                music = shape_dynamics(music, arc)
            if setting.legato:
                music = legato(music, parts=[_notes_track_name(music)])
            if setting.humanize_seed is not None:
                music = humanize(music, seed=setting.humanize_seed)
            return render_part(music, instrument, sample_rate=sample_rate)

        names = list(production.parts)
        rebuilt = {}
        for name, audio in zip(names, thread_map(one, names)):
            samples = _fit(audio, channels, frames)
            apply_edge_fades(samples, *edge_fades)
            rebuilt[name] = Audio(samples, sample_rate)
        rebuilt = _matched(production, rebuilt, placed, as_given or {}, draft, warnings, limiter)
        out.update({f"{MIDI_PREFIX}{name}": audio for name, audio in rebuilt.items()})
        for stem in production.replaced_stems:
            out.pop(stem, None)
        if production.replaces_draft:
            out = {name: audio for name, audio in out.items() if name.startswith(MIDI_PREFIX)}
    if production.drums is not None:
        name = production.drums.stem
        if name not in out:
            raise ParameterError(f"production.drums.stem: no placed part named {name!r} (parts: {', '.join(out)})")
        layered = layer_drums(out[name], kit=production.drums.kit, blend_db=production.drums.blend_db)
        if not layered.hits:
            warnings.append(f"drum layer: no kick or snare hits found in {name}")
        out[name] = layered.audio
    return ProductionRender(dict(sorted(out.items())), production.replaces_draft, warnings)


def _matched(production: Production, rebuilt: dict[str, Audio], placed: Mapping[str, Audio],
             as_given: Mapping[str, Audio], draft: Audio | None, warnings: list[str],
             limiter: PeakLimiter | None = None) -> dict[str, Audio]:
    """The rebuilt parts level-matched (:func:`~trackwright.produce.levelmatch.match_level`) to what
    they replace: a stem as placed (else as its file has it, when the draft does not hold it: it is
    silent there, or under :data:`~trackwright.analysis.stemsum.ABSENT_GAIN_DB`); the
    parts replacing the whole draft together to the draft's loudness; added parts kept under the ceiling."""
    out = dict(rebuilt)
    for name, audio in rebuilt.items():
        replaces = production.parts[name].replaces
        if replaces is None or replaces == REPLACE_DRAFT or replaces not in placed:
            continue
        reference = placed[replaces]
        if replaces in as_given and _absent(reference, as_given[replaces]):
            reference = as_given[replaces]   # the draft does not hold the stem: its file says its level
        matched, done = match_level(audio, reference, limiter=limiter)
        if done is None:
            warnings.append(f"{MIDI_PREFIX}{name}: stem {replaces} is silent; the part plays at its rendered level")
            continue
        out[name] = matched
        warnings.extend(f"{MIDI_PREFIX}{name}: {note}" for note in done.notes)
    whole = [name for name in rebuilt if production.parts[name].replaces == REPLACE_DRAFT]
    if whole and draft is not None:
        total = draft.with_samples(np.sum([rebuilt[name].samples for name in whole], axis=0, dtype=np.float32))
        _, done = match_level(total, draft, balance=False)
        if done is not None:
            gain = np.float32(10.0 ** (done.gain_db / 20.0))
            out.update({name: rebuilt[name].with_samples(rebuilt[name].samples * gain) for name in whole})
            warnings.extend(f"parts replacing the draft: {note}" for note in done.notes)
    for name in rebuilt:
        if production.parts[name].replaces is None:
            out[name], taken = hold_under_ceiling(out[name])
            if taken:
                warnings.append(f"{MIDI_PREFIX}{name}: turned down {taken:.1f} dB to keep its peaks under "
                                f"{DEFAULT_CEILING_DBTP:g} dBTP")
    return out


def _absent(placed: Audio, as_given: Audio) -> bool:
    """True when a stem as placed in the draft holds less than :data:`ABSENT_GAIN_DB` of the power
    of the stem as its file has it (silent, or all but: the draft does not hold it)."""
    given = float(np.mean(np.square(as_given.samples, dtype=np.float64)))
    held = float(np.mean(np.square(placed.samples, dtype=np.float64)))
    return given > 0.0 and held < given * 10.0 ** (ABSENT_GAIN_DB / 10.0)


def production_changes(old: Production | None, new: Production | None) -> list[str]:
    """What changed between two recipes' ``production:`` blocks, in words (for ``trackwright diff``).

    e.g. ``["lead re-rendered as ms-strings, replacing stem keys", "pad back to its own audio"]``.
    """
    a, b = Production.from_dict(old), Production.from_dict(new)
    lines = [part.describe(name) for name, part in b.parts.items() if a.parts.get(name) != part]
    lines += [f"{name} no longer re-rendered" for name in a.parts if name not in b.parts]
    if a.drums != b.drums:
        lines += [line for line in Production({}, b.drums).describe()] if b.drums is not None else \
            [f"drum layer on {a.drums.stem} removed"]  # type: ignore[union-attr]
    return lines


def measure_production(audio: Audio) -> dict[str, float | None]:
    """What a production pass should move, measured on a mix (channels × frames).

    Returns
    -------
    dict
        ``loudness_range_lu`` (EBU R128 LRA, LU), ``arc_range_lu`` (short-term loudness from its
        2nd to 98th percentile over the audible windows, ungated, LU: how far the music rises and
        falls, swells and releases included),
        ``centroid_hz`` (power-weighted spectral centroid, Hz: brightness) and ``width``
        (side/mid RMS ratio: 0 mono, 1 as wide as it is centred).
    """
    report = measure_loudness(audio)
    series = report.short_term.lufs
    audible = series[np.isfinite(series) & (series > -70.0)]
    arc = float(np.percentile(audible, 98) - np.percentile(audible, 2)) if audible.size else None
    samples = audio.samples.astype(np.float64)
    mono = samples.mean(axis=0)
    power = np.abs(np.fft.rfft(mono)) ** 2
    freqs = np.fft.rfftfreq(mono.size, 1.0 / audio.sample_rate)
    centroid = float((power * freqs).sum() / max(power.sum(), 1e-20))
    width = 0.0
    if samples.shape[0] >= 2:
        mid, side = (samples[0] + samples[1]) / 2, (samples[0] - samples[1]) / 2
        width = float(np.sqrt(np.mean(side ** 2)) / max(np.sqrt(np.mean(mid ** 2)), 1e-12))
    return {"loudness_range_lu": report.loudness_range_lu, "arc_range_lu": arc, "centroid_hz": centroid,
            "width": width}
