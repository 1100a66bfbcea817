"""Symbolic pieces for the metre development set: notes on a metrical lattice, a tempo map, MIDI.

Conventions
-----------
Positions are in quarter notes (``ql``) from the start of the piece; a :class:`Metre` says how
long a bar and a beat are in quarter notes (6/8: bar 3 ql, beat a dotted quarter, 1.5 ql; 2/2:
bar 4 ql, beat 2 ql). A :class:`TempoMap` turns positions into seconds exactly as a MIDI player
does (piecewise-constant tempo, one event per ``step`` of a beat), so the beat and downbeat
times of the rendered audio are known exactly, with rubato, accelerando or ritardando too.
Chord labels are Harte (``G:maj``, ``E:min``, ``D:7``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import mido
import numpy as np

from trackwright.score.midifile import append_in_order

TICKS = 480  #: MIDI ticks per quarter note
PITCHES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10)
QUALITY_INTERVALS = {"maj": (0, 4, 7), "min": (0, 3, 7), "7": (0, 4, 7, 10), "min7": (0, 3, 7, 10),
                     "maj7": (0, 4, 7, 11), "dim": (0, 3, 6)}


@dataclass(frozen=True)
class Metre:
    """A time signature: ``numerator/denominator``; compound when the numerator is 6, 9 or 12 over 8."""

    numerator: int
    denominator: int

    @classmethod
    def parse(cls, text: str) -> "Metre":
        top, bottom = text.split("/")
        return cls(int(top), int(bottom))

    @property
    def text(self) -> str:
        return f"{self.numerator}/{self.denominator}"

    @property
    def compound(self) -> bool:
        return self.denominator == 8 and self.numerator in (6, 9, 12)

    @property
    def bar_ql(self) -> float:
        return self.numerator * 4.0 / self.denominator

    @property
    def beat_ql(self) -> float:
        return 1.5 if self.compound else 4.0 / self.denominator

    @property
    def beats_per_bar(self) -> int:
        return round(self.bar_ql / self.beat_ql)

    @property
    def pulse_ql(self) -> float:
        """The subdivision of the beat: an eighth (compound metres and x/4), a quarter for x/2."""
        return 0.5 if self.denominator in (4, 8) else 1.0


@dataclass
class Note:
    start_ql: float
    end_ql: float
    pitch: int
    velocity: int
    channel: int


@dataclass
class Symbolic:
    """A piece: notes, programs per channel, metre and the first full bar's position (the pickup)."""

    metre: Metre
    pickup_ql: float
    length_ql: float
    notes: list[Note] = field(default_factory=list)
    programs: dict[int, int] = field(default_factory=dict)
    chords: list[tuple[float, float, str]] | None = None  # (start ql, end ql, Harte label)
    key: str | None = None  # "D major"

    def beats_ql(self) -> np.ndarray:
        """Beat positions: back from the first downbeat to 0, then on to the end."""
        beat = self.metre.beat_ql
        before = self.pickup_ql - beat * np.arange(int(np.floor(self.pickup_ql / beat + 1e-9)), 0, -1)
        after = self.pickup_ql + beat * np.arange(int(np.floor((self.length_ql - self.pickup_ql) / beat - 1e-9)) + 1)
        return np.concatenate((before, after[after < self.length_ql - 1e-9]))

    def downbeats_ql(self) -> np.ndarray:
        bar = self.metre.bar_ql
        out = self.pickup_ql + bar * np.arange(int(np.floor((self.length_ql - self.pickup_ql) / bar - 1e-9)) + 1)
        return out[out < self.length_ql - 1e-9]


class TempoMap:
    """Beats per minute of the metrical beat as a function of position, one value per ``step`` ql."""

    def __init__(self, bpm_per_step: np.ndarray, step_ql: float, beat_ql: float) -> None:
        self.step_ql = step_ql
        self.beat_ql = beat_ql
        self.bpm = np.asarray(bpm_per_step, dtype=float)
        # seconds per quarter note in each step; the MIDI tempo is whole microseconds
        self.us_per_quarter = np.round(60e6 / (self.bpm * beat_ql)).astype(int)
        step_ticks = round(step_ql * TICKS)
        if abs(step_ticks - step_ql * TICKS) > 1e-9:
            raise ValueError("the tempo step must be a whole number of ticks")
        self._cumulative = np.concatenate(([0.0], np.cumsum(self.us_per_quarter * 1e-6 * step_ql)))

    def seconds(self, ql: np.ndarray | float) -> np.ndarray:
        """Time in seconds of positions (quarter notes), as a MIDI player computes it."""
        q = np.asarray(ql, dtype=float)
        index = np.clip(np.floor(q / self.step_ql + 1e-9).astype(int), 0, len(self.bpm) - 1)
        return self._cumulative[index] + (q - index * self.step_ql) * self.us_per_quarter[index] * 1e-6

    def events(self) -> list[tuple[int, int]]:
        """(tick, microseconds per quarter) at every change."""
        out = []
        for i, us in enumerate(self.us_per_quarter):
            if not out or out[-1][1] != us:
                out.append((round(i * self.step_ql * TICKS), int(us)))
        return out


def tempo_map(kind: str, bpm: float, length_ql: float, beat_ql: float, rng: np.random.Generator) -> TempoMap:
    """A tempo map of ``kind``: steady, rubato (a slow ±12 % swell and a closing ritardando),
    accel (0.85 → 1.15 × ``bpm``), rit (steady, then the last third slows to 0.7 ×) or step
    (× 1.2 from the middle on). ``bpm`` counts metrical beats."""
    step = beat_ql / 4 if beat_ql in (1.0, 2.0) else beat_ql / 3
    n = int(np.ceil(length_ql / step)) + 4
    position = np.arange(n) * step / max(length_ql, 1e-9)  # 0 → 1 over the piece
    beats = np.arange(n) * step / beat_ql
    if kind == "steady":
        curve = np.ones(n)
    elif kind == "rubato":
        phase = rng.uniform(0, 2 * np.pi)
        period = rng.uniform(6.0, 10.0)
        curve = 1.0 + 0.12 * np.sin(2 * np.pi * beats / period + phase) + 0.04 * np.sin(2 * np.pi * beats / 2.7)
        curve *= np.where(position > 0.85, 1.0 - 0.25 * (position - 0.85) / 0.15, 1.0)
    elif kind == "accel":
        curve = 0.85 + 0.30 * np.clip(position, 0, 1)
    elif kind == "rit":
        curve = np.where(position > 0.66, 1.0 - 0.3 * (position - 0.66) / 0.34, 1.0)
    elif kind == "step":
        curve = np.where(position >= 0.5, 1.2, 1.0)
    else:
        raise ValueError(f"unknown tempo kind {kind!r}")
    return TempoMap(bpm * np.clip(curve, 0.5, 1.5), step, beat_ql)


def to_midi(piece: Symbolic, tempo: TempoMap, *, jitter_s: float = 0.0, rng: np.random.Generator | None = None
            ) -> mido.MidiFile:
    """Type-1 MIDI of ``piece`` under ``tempo``: one track per channel, overlapping notes of the
    same pitch on a channel shortened (FluidSynth can hang on them), optional timing jitter
    (Gaussian, ``jitter_s`` seconds, converted to ticks at the local tempo)."""
    midi = mido.MidiFile(type=1, ticks_per_beat=TICKS)
    meta = mido.MidiTrack()
    now = 0
    num = piece.metre.numerator
    den = piece.metre.denominator
    meta.append(mido.MetaMessage("time_signature", numerator=num, denominator=den, time=0))
    for tick, us in tempo.events():
        meta.append(mido.MetaMessage("set_tempo", tempo=us, time=tick - now))
        now = tick
    midi.tracks.append(meta)
    by_channel: dict[int, list[Note]] = {}
    for note in piece.notes:
        by_channel.setdefault(note.channel, []).append(note)
    for channel in sorted(by_channel):
        track = mido.MidiTrack()
        if channel != 9:
            track.append(mido.Message("program_change", program=piece.programs.get(channel, 0), channel=channel, time=0))
        events = []
        last_end: dict[int, int] = {}
        for note in sorted(by_channel[channel], key=lambda n: (n.start_ql, n.pitch)):
            on = round(note.start_ql * TICKS)
            off = round(note.end_ql * TICKS)
            if jitter_s > 0 and rng is not None:
                ticks_per_s = TICKS * 1e6 / float(tempo.us_per_quarter[min(int(note.start_ql / tempo.step_ql),
                                                                            len(tempo.bpm) - 1)])
                shift = int(round(rng.normal(0.0, jitter_s) * ticks_per_s))
                on, off = max(0, on + shift), max(0, off + shift)
            if on < last_end.get(note.pitch, -1):
                continue  # the same key struck again before its release: keep the first
            off = max(off, on + 10)
            last_end[note.pitch] = off
            events.append((on, 1, mido.Message("note_on", note=note.pitch, velocity=int(np.clip(note.velocity, 1, 127)),
                                               channel=channel)))
            events.append((off, 0, mido.Message("note_off", note=note.pitch, velocity=0, channel=channel)))
        append_in_order(track, events)
        midi.tracks.append(track)
    return midi


def chord_pcs(label: str) -> tuple[int, list[int]]:
    root, quality = label.split(":")
    r = PITCHES.index(root)
    return r, [(r + i) % 12 for i in QUALITY_INTERVALS[quality]]


def voicing(label: str, around: int = 62) -> list[int]:
    """Close-position chord tones nearest ``around`` (MIDI), root position not required."""
    _, pcs = chord_pcs(label)
    out = []
    for pc in pcs:
        candidates = [p for p in range(around - 7, around + 6) if p % 12 == pc]
        out.append(candidates[0] if candidates else around)
    return sorted(out)


def bass_pitch(pc: int, low: int = 36) -> int:
    """The pitch of pitch class ``pc`` in the octave from ``low``."""
    return low + (pc - low) % 12
