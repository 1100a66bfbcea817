"""A small symbolic layer over MIDI: parts, notes on the beat grid, the key and a chord track.

Conventions
-----------
* Times are in **beats** (quarter notes from the start of the file) inside a :class:`Score`;
  :meth:`Score.seconds` converts with the file's first tempo (one tempo per song, as the
  project's drafts have). Bars are ``beats_per_bar`` beats from beat 0.
* Pitches are MIDI note numbers; pitch classes 0–11 with C = 0.
* A chord is ``(root pitch class, quality)`` with qualities from :data:`QUALITIES`; its label is
  ``"C"``, ``"Am"``, ``"G7"``, ``"Fmaj7"``, ``"Bdim"``, ``"Dsus4"``, ``"Cadd9"``, ``"C6"``, ``"Cm7"``.
* The key is estimated with Krumhansl–Kessler profiles on duration-weighted pitch classes; chords
  by template matching per beat (duration-weighted, the lowest note credits its root), then merged.
* A Score is immutable; operations build new ones with :meth:`Score.with_parts`.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

import mido
import numpy as np

from trackwright.errors import ParameterError
from trackwright.score.midifile import read_midi, track_notes

NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
#: Chord quality → pitch classes above the root.
QUALITIES: dict[str, tuple[int, ...]] = {
    "": (0, 4, 7), "m": (0, 3, 7), "dim": (0, 3, 6), "7": (0, 4, 7, 10), "maj7": (0, 4, 7, 11),
    "m7": (0, 3, 7, 10), "sus4": (0, 5, 7), "sus2": (0, 2, 7), "add9": (0, 2, 4, 7), "6": (0, 4, 7, 9),
    "madd9": (0, 2, 3, 7),
}
#: Qualities the chord estimator chooses from (added tones are written, not guessed).
_ESTIMATED = ("", "m", "dim", "7")
#: Scale steps above the tonic per mode.
MODES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10), "dorian": (0, 2, 3, 5, 7, 9, 10),
    "lydian": (0, 2, 4, 6, 7, 9, 11), "mixolydian": (0, 2, 4, 5, 7, 9, 10), "phrygian": (0, 1, 3, 5, 7, 8, 10),
}
_KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
DRUM_CHANNEL = 9


@dataclass(frozen=True, order=True)
class Note:
    """One note. ``start``/``end`` in beats, ``pitch`` MIDI 0–127, ``velocity`` 1–127."""

    start: float
    end: float
    pitch: int
    velocity: int = 90


@dataclass(frozen=True)
class Part:
    """One instrument: a name, its MIDI channel and General MIDI program, and its notes (sorted)."""

    name: str
    channel: int
    program: int
    notes: tuple[Note, ...]

    @property
    def is_drums(self) -> bool:
        """True for General MIDI percussion (channel 10)."""
        return self.channel == DRUM_CHANNEL

    @property
    def mean_pitch(self) -> float:
        """Duration-weighted mean pitch (0 for an empty part)."""
        if not self.notes:
            return 0.0
        weights = np.array([max(n.end - n.start, 1e-3) for n in self.notes])
        return float(np.average([n.pitch for n in self.notes], weights=weights))

    def with_notes(self, notes: Iterable[Note]) -> Part:
        """A copy with other notes (sorted)."""
        return replace(self, notes=tuple(sorted(notes)))


@dataclass(frozen=True)
class Key:
    """A key: tonic pitch class and mode (a name from :data:`MODES`)."""

    tonic: int
    mode: str = "major"

    @property
    def scale(self) -> tuple[int, ...]:
        """The key's pitch classes, tonic first."""
        return tuple((self.tonic + s) % 12 for s in MODES[self.mode])

    @property
    def is_minor(self) -> bool:
        """True for modes with a minor third (minor, Dorian, Phrygian)."""
        return MODES[self.mode][2] == 3

    @property
    def label(self) -> str:
        """``"C major"``, ``"F# minor"``, ``"D dorian"``."""
        return f"{NOTE_NAMES[self.tonic]} {self.mode}"


@dataclass(frozen=True)
class Chord:
    """A chord over a span of beats."""

    start: float
    end: float
    root: int
    quality: str = ""

    @property
    def pitch_classes(self) -> tuple[int, ...]:
        """The chord's pitch classes, root first."""
        return tuple((self.root + i) % 12 for i in QUALITIES[self.quality])

    @property
    def label(self) -> str:
        """``"Am"``, ``"G7"``…"""
        return NOTE_NAMES[self.root] + self.quality


@dataclass(frozen=True)
class Score:
    """A song as parts of notes on a beat grid.

    Attributes:
        parts: the instruments, in file order.
        bpm: tempo in beats per minute (the file's first tempo).
        beats_per_bar: from the first time signature (4 when none).
        ticks_per_beat: the MIDI resolution written back.
        melody: name of the melody part (``lead`` when there is one, else the highest pitched
            mostly one-note-at-a-time part), or None.
    """

    parts: tuple[Part, ...]
    bpm: float = 120.0
    beats_per_bar: int = 4
    ticks_per_beat: int = 480
    melody: str | None = None
    key_hint: Key | None = field(default=None, compare=False)

    # -- access -------------------------------------------------------------------------------
    def part(self, name: str) -> Part:
        """The part called ``name``; ParameterError naming the parts when there is none."""
        for part in self.parts:
            if part.name == name:
                return part
        raise ParameterError(f"no part named {name!r} (parts: {', '.join(p.name for p in self.parts)})")

    @property
    def pitched(self) -> tuple[Part, ...]:
        """Parts that are not drums."""
        return tuple(p for p in self.parts if not p.is_drums and p.notes)

    @property
    def accompaniment(self) -> tuple[Part, ...]:
        """Pitched parts other than the melody: the parts harmony operations rewrite."""
        return tuple(p for p in self.pitched if p.name != self.melody)

    @property
    def bass(self) -> str | None:
        """Name of the lowest pitched accompaniment part, or None."""
        parts = self.accompaniment
        return min(parts, key=lambda p: p.mean_pitch).name if parts else None

    @property
    def length_beats(self) -> float:
        """End of the last note, beats."""
        return max((n.end for p in self.parts for n in p.notes), default=0.0)

    @property
    def bars(self) -> int:
        """Number of bars (rounded up)."""
        return int(np.ceil(self.length_beats / self.beats_per_bar - 1e-6))

    def seconds(self, beats: float) -> float:
        """Beats → seconds at :attr:`bpm`."""
        return float(beats) * 60.0 / self.bpm

    def beats(self, seconds: float) -> float:
        """Seconds → beats at :attr:`bpm`."""
        return float(seconds) * self.bpm / 60.0

    def with_parts(self, parts: Iterable[Part]) -> Score:
        """A copy with other parts."""
        return replace(self, parts=tuple(parts))

    def replace_part(self, part: Part) -> Score:
        """A copy with the part of the same name replaced (or appended when new)."""
        names = [p.name for p in self.parts]
        if part.name in names:
            return self.with_parts(part if p.name == part.name else p for p in self.parts)
        return self.with_parts((*self.parts, part))

    # -- analysis -----------------------------------------------------------------------------
    def key(self) -> Key:
        """The estimated key (major or minor) of the whole score; see :func:`estimate_key`."""
        return estimate_key(n for p in self.pitched for n in p.notes)

    def chords(self, *, step_beats: float = 1.0) -> list[Chord]:
        """The chord track: one chord per ``step_beats`` (merged where equal); see :func:`estimate_chords`."""
        return estimate_chords(self, step_beats=step_beats)

    # -- MIDI ---------------------------------------------------------------------------------
    def to_midi(self) -> mido.MidiFile:
        """A type-1 MIDI file: a tempo track, then one track per part (deterministic bytes)."""
        tpb = self.ticks_per_beat
        midi = mido.MidiFile(type=1, ticks_per_beat=tpb)
        meta = mido.MidiTrack()
        meta.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(self.bpm), time=0))
        meta.append(mido.MetaMessage("time_signature", numerator=self.beats_per_bar, denominator=4, time=0))
        key = self.key()
        if key.mode in ("major", "minor"):
            meta.append(mido.MetaMessage("key_signature", key=NOTE_NAMES[key.tonic] + ("m" if key.is_minor else ""),
                                         time=0))
        meta.append(mido.MetaMessage("end_of_track", time=int(round(self.length_beats * tpb))))
        midi.tracks.append(meta)
        for part in self.parts:
            track = mido.MidiTrack()
            track.append(mido.MetaMessage("track_name", name=part.name, time=0))
            if not part.is_drums:
                track.append(mido.Message("program_change", program=part.program, channel=part.channel, time=0))
            events = []
            for note in part.notes:
                on, off = int(round(note.start * tpb)), int(round(note.end * tpb))
                if off <= on:
                    continue
                events.append((off, 0, note.pitch, mido.Message("note_off", note=note.pitch, velocity=0,
                                                                 channel=part.channel)))
                events.append((on, 1, note.pitch, mido.Message("note_on", note=note.pitch, velocity=note.velocity,
                                                                channel=part.channel)))
            events.sort(key=lambda e: (e[0], e[1], e[2]))
            now = 0
            for tick, _, _, message in events:
                track.append(message.copy(time=tick - now))
                now = tick
            track.append(mido.MetaMessage("end_of_track", time=0))
            midi.tracks.append(track)
        return midi

    def to_bytes(self) -> bytes:
        """The MIDI file's bytes."""
        buffer = io.BytesIO()
        self.to_midi().save(file=buffer)
        return buffer.getvalue()


def load_score(midi: str | os.PathLike[str] | mido.MidiFile | bytes, *, melody: str | None = None) -> Score:
    """Read MIDI into a :class:`Score`.

    Each (track, channel) pair with notes becomes a part named after the track (``track_name``)
    or ``part<N>``; names are made unique. ``melody`` names the melody part (default: ``lead`` or
    ``melody`` when present, else the highest mostly monophonic part).
    """
    source = mido.MidiFile(file=io.BytesIO(midi)) if isinstance(midi, bytes) else read_midi(midi)
    tpb = source.ticks_per_beat
    tempo, numerator = None, 4
    parts: list[Part] = []
    used: set[str] = set()
    for index, track in enumerate(source.tracks):
        name = None
        programs: dict[int, int] = {}
        paired = track_notes(track)
        for tick, msg in paired.other:
            if msg.type == "set_tempo" and tempo is None:
                tempo = msg.tempo
            elif msg.type == "time_signature" and tick == 0:
                numerator = msg.numerator if msg.denominator == 4 else 4
            elif msg.type == "track_name" and name is None:
                name = msg.name.strip()
            elif msg.type == "program_change":
                programs.setdefault(msg.channel, msg.program)
        notes: dict[int, list[Note]] = {}
        for on, off, channel, pitch, velocity in paired.notes:
            if off > on:
                notes.setdefault(channel, []).append(Note(on / tpb, off / tpb, pitch, velocity))
        for channel in sorted(notes):
            base = (name or f"part{index}").lower().replace(" ", "_") or f"part{index}"
            unique, n = base, 2
            while unique in used:
                unique, n = f"{base}{n}", n + 1
            used.add(unique)
            parts.append(Part(unique, channel, programs.get(channel, 0), tuple(sorted(notes[channel]))))
    if not parts:
        raise ParameterError("the MIDI has no notes")
    bpm = mido.tempo2bpm(tempo) if tempo else 120.0
    score = Score(tuple(parts), bpm=float(bpm), beats_per_bar=int(numerator), ticks_per_beat=480)
    return replace(score, melody=melody if melody is not None else _guess_melody(score))


def _guess_melody(score: Score) -> str | None:
    names = [p.name for p in score.pitched]
    for preferred in ("lead", "melody", "soprano", "vocal", "voice"):
        if preferred in names:
            return preferred
    mono = [p for p in score.pitched if _polyphony(p.notes) <= 1.2]
    return max(mono, key=lambda p: p.mean_pitch).name if mono else None


def _polyphony(notes: Sequence[Note]) -> float:
    """Mean number of notes starting together."""
    if not notes:
        return 0.0
    onsets: dict[float, int] = {}
    for n in notes:
        onsets[round(n.start, 3)] = onsets.get(round(n.start, 3), 0) + 1
    return len(notes) / len(onsets)


def pitch_class_weights(notes: Iterable[Note], start: float = -np.inf, end: float = np.inf) -> np.ndarray:
    """Duration (beats) of each pitch class sounding between ``start`` and ``end``, shape (12,)."""
    weights = np.zeros(12)
    for n in notes:
        overlap = min(n.end, end) - max(n.start, start)
        if overlap > 0:
            weights[n.pitch % 12] += overlap
    return weights


def estimate_key(notes: Iterable[Note]) -> Key:
    """Major or minor key by correlation of duration-weighted pitch classes with Krumhansl–Kessler profiles."""
    weights = pitch_class_weights(notes)
    if not weights.any():
        return Key(0, "major")
    best = (-2.0, 0, "major")
    for tonic in range(12):
        for mode, profile in (("major", _KK_MAJOR), ("minor", _KK_MINOR)):
            r = float(np.corrcoef(weights, np.roll(profile, tonic))[0, 1])
            if r > best[0] + 1e-9:
                best = (r, tonic, mode)
    return Key(best[1], best[2])


_TEMPLATES = [(root, quality) for root in range(12) for quality in _ESTIMATED]
_MASKS = np.array([np.isin(np.arange(12), [(root + i) % 12 for i in QUALITIES[quality]]) for root, quality in _TEMPLATES],
                  dtype=float)
_ROOTS = np.array([root for root, _ in _TEMPLATES])
_PENALISED = np.array([quality in ("7", "dim") for _, quality in _TEMPLATES], dtype=float)


def _best_chords(weights: np.ndarray, lowest: np.ndarray) -> list[tuple[int, str]]:
    """(root, quality) of the template best explaining each row of pitch-class ``weights`` (steps × 12)."""
    total = weights.sum(axis=1, keepdims=True)
    inside = weights @ _MASKS.T
    score = (2 * inside - total - 0.35 * total * _PENALISED[None, :]
             + 0.25 * total * (lowest[:, None] == _ROOTS[None, :])
             + 0.5 * weights[:, _ROOTS] + 0.3 * weights[:, (_ROOTS + 7) % 12])
    return [_TEMPLATES[i] for i in np.argmax(score, axis=1)]


def estimate_chords(score: Score, *, step_beats: float = 1.0, start: float = 0.0,
                    end: float | None = None) -> list[Chord]:
    """The chord track of the pitched parts: one estimate per ``step_beats`` beats, equal neighbours merged.

    Silent steps carry the previous chord. The melody counts at half weight (passing notes).
    """
    if step_beats <= 0:
        raise ParameterError(f"step_beats must be > 0, got {step_beats!r}")
    end = score.length_beats if end is None else end
    harmony = [n for p in score.accompaniment for n in p.notes]
    melody = [Note(n.start, n.start + (n.end - n.start) * 0.5, n.pitch, n.velocity)
              for p in score.pitched if p.name == score.melody for n in p.notes]
    pool = harmony + melody if harmony else melody
    edges = np.arange(start, end, step_beats)
    if not len(edges) or not pool:
        return []
    lo, hi = edges, np.minimum(edges + step_beats, end)
    starts = np.array([n.start for n in pool])
    ends = np.array([n.end for n in pool])
    pitches = np.array([n.pitch for n in pool])
    overlap = np.clip(np.minimum(ends[None, :], hi[:, None]) - np.maximum(starts[None, :], lo[:, None]), 0.0, None)
    weights = np.zeros((len(edges), 12))
    for pc in range(12):
        weights[:, pc] = overlap[:, pitches % 12 == pc].sum(axis=1)
    lowest = np.where(overlap > 0, pitches[None, :], 999).min(axis=1) % 12
    best = _best_chords(weights, lowest)
    out: list[Chord] = []
    for i, (t, t1) in enumerate(zip(lo, hi)):
        t, t1 = float(t), float(t1)
        if weights[i].sum() > 0:
            found: tuple[int, str] | None = best[i]
        else:
            found = (out[-1].root, out[-1].quality) if out else None
        if found is not None:
            if out and (out[-1].root, out[-1].quality) == found and abs(out[-1].end - t) < 1e-9:
                out[-1] = replace(out[-1], end=t1)
            else:
                out.append(Chord(t, t1, *found))
    return out


def chords_at_bars(chords: Sequence[Chord], beats_per_bar: int) -> list[str]:
    """The chord label sounding at each bar's downbeat (for tests and messages)."""
    if not chords:
        return []
    bars = int(np.ceil(chords[-1].end / beats_per_bar - 1e-9))
    out = []
    for bar in range(bars):
        t = bar * beats_per_bar + 1e-6
        out.append(next((c.label for c in chords if c.start <= t < c.end), chords[-1].label))
    return out
