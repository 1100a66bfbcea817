"""Expression and realism for MIDI: a dynamic arc, CC1/CC11 curves, humanise, string legato.

Conventions
-----------
* Every function takes a :class:`mido.MidiFile` (or a path) and returns a new one; the input is
  never changed. Times are seconds, converted through the file's tempo map.
* An :class:`Arc` is the intended intensity over time, 0 (hushed) … 1 (full), sampled on a
  regular grid. :func:`arc_from_sections` builds one from sections (``(start_s, end_s, role)``):
  each role has a level, the last bar before a louder section *swells* into it, the last beat
  before a chorus *holds back*, phrases *breathe* (rise to their middle, fall at the end), and
  the final section *releases* to its end.
* :func:`shape_dynamics` maps the arc onto note velocities and draws CC11 (expression) on every
  melodic channel and CC1 (modulation: vibrato/dynamics layer) on sustained instruments.
* :func:`humanize` moves each note by at most ``timing_ms`` and changes its velocity by at most
  ``velocity``, from a seeded generator: the same seed gives the same file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import mido
import numpy as np

from trackwright.arrange.midi import _tempo_map, load_midi
from trackwright.errors import ParameterError
from trackwright.score.midifile import TrackNotes, append_in_order, track_notes

#: Intensity of each section role, 0…1.
ROLE_LEVELS: dict[str, float] = {"intro": 0.35, "verse": 0.55, "pre-chorus": 0.7, "prechorus": 0.7, "chorus": 0.95,
                                 "drop": 1.0, "bridge": 0.5, "breakdown": 0.3, "outro": 0.4, "section": 0.6}
#: General MIDI programs that sustain (strings, ensemble, brass, reeds, pipes, pads): they get
#: CC1 and, with :func:`legato`, overlapping notes.
SUSTAINED_PROGRAMS = range(40, 96)
_DRUM_CHANNEL = 9
_ARC_STEP_S = 0.05
#: Largest humanise offsets accepted: ms, velocity steps.
MAX_TIMING_MS, MAX_VELOCITY = 50.0, 40


@dataclass(frozen=True)
class Arc:
    """Intended intensity over time.

    Attributes:
        times_s: sample times, seconds, increasing.
        levels: intensity 0…1 at each time.
    """

    times_s: np.ndarray
    levels: np.ndarray

    def __post_init__(self) -> None:
        times, levels = np.asarray(self.times_s, float), np.asarray(self.levels, float)
        if times.ndim != 1 or times.shape != levels.shape or times.size == 0:
            raise ParameterError("an arc needs equally many times and levels (at least one)")
        if np.any(np.diff(times) <= 0):
            raise ParameterError("arc times must increase")
        if np.any((levels < 0) | (levels > 1)) or not np.all(np.isfinite(levels)):
            raise ParameterError("arc levels must be 0…1")
        object.__setattr__(self, "times_s", times)
        object.__setattr__(self, "levels", levels)

    def at(self, times_s: np.ndarray | float) -> np.ndarray:
        """Intensity at ``times_s`` (seconds); held flat before the first and after the last point."""
        return np.interp(times_s, self.times_s, self.levels)

    @classmethod
    def from_points(cls, points: Iterable[tuple[float, float]]) -> Arc:
        """An arc through ``(time_s, level)`` points, linear between them."""
        pairs = sorted(points)
        return cls(np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs]))


def arc_from_sections(sections: Sequence[tuple[float, float, str]], *, bar_s: float, phrase_bars: int = 2,
                      breathe: float = 0.15, release_to: float = 0.15) -> Arc:
    """The arc a producer would draw over ``sections``.

    Parameters
    ----------
    sections : sequence of (start_s, end_s, role)
        In order; roles from :data:`ROLE_LEVELS` (others count as ``section``).
    bar_s : float
        Length of one bar, seconds (the swell lasts one bar, the hold-back one beat).
    phrase_bars : int
        Phrase length in bars for the breathing.
    breathe : float
        Depth of the phrase breathing, 0…0.5 of the level.
    release_to : float
        Level reached at the very end of the last section (the release), 0…1.
    """
    if not sections:
        raise ParameterError("an arc needs at least one section")
    if bar_s <= 0 or phrase_bars < 1 or not 0 <= breathe <= 0.5 or not 0 <= release_to <= 1:
        raise ParameterError("bar_s > 0, phrase_bars ≥ 1, breathe 0…0.5 and release_to 0…1 are needed")
    end_s = float(sections[-1][1])
    times = np.arange(0.0, end_s + _ARC_STEP_S, _ARC_STEP_S)
    levels = np.zeros_like(times)
    base = [ROLE_LEVELS.get(role.lower(), ROLE_LEVELS["section"]) for _, _, role in sections]
    for index, (start, end, role) in enumerate(sections):
        inside = (times >= start) & (times < end) if index < len(sections) - 1 else times >= start
        local = times[inside] - start
        level = np.full(local.shape, base[index])
        # breathe: each phrase rises to its middle and settles at its end
        phrase = (local % (phrase_bars * bar_s)) / (phrase_bars * bar_s)
        level *= 1.0 - breathe + breathe * np.sin(np.pi * phrase)
        nxt = base[index + 1] if index + 1 < len(sections) else None
        if nxt is not None and nxt > base[index]:
            # swell over the last bar into a louder section …
            swell = np.clip((local - (end - start - bar_s)) / bar_s, 0.0, 1.0)
            level = level + (nxt - level) * swell
            if sections[index + 1][2].lower() in ("chorus", "drop"):
                # … and hold back on its last beat, so the arrival lands
                held = local >= end - start - bar_s / 4
                level[held] = base[index] * 0.8
        if nxt is None:
            # release: the last section falls away to its end
            fade = np.clip(local / max(end - start, 1e-9), 0.0, 1.0)
            level = level + (release_to - level) * fade
        levels[inside] = level
    return Arc(times, np.clip(levels, 0.0, 1.0))


def _pack(track: TrackNotes) -> mido.MidiTrack:
    events: list[tuple[int, int, mido.Message]] = []
    for tick, msg in track.other:
        events.append((tick, 1, msg))
    for on, off, channel, pitch, velocity in track.notes:
        events.append((on, 2, mido.Message("note_on", note=pitch, velocity=int(velocity), channel=channel)))
        events.append((max(off, on + 1), 0, mido.Message("note_off", note=pitch, velocity=0, channel=channel)))
    out = mido.MidiTrack()
    now = append_in_order(out, events)
    out.append(mido.MetaMessage("end_of_track", time=max(0, track.end_tick - now)))
    return out


class _Clock:
    """Ticks ↔ seconds through a file's tempo map."""

    def __init__(self, midi: mido.MidiFile) -> None:
        tempos = _tempo_map(midi)
        self.ticks = np.array([t for t, _ in tempos], float)
        self.tempos = np.array([tempo for _, tempo in tempos], float)
        per_tick = self.tempos / 1e6 / midi.ticks_per_beat
        self.seconds = np.concatenate([[0.0], np.cumsum(np.diff(self.ticks) * per_tick[:-1])])
        self.per_tick = per_tick

    def to_s(self, ticks: np.ndarray | float) -> np.ndarray:
        ticks = np.asarray(ticks, float)
        index = np.clip(np.searchsorted(self.ticks, ticks, side="right") - 1, 0, None)
        return self.seconds[index] + (ticks - self.ticks[index]) * self.per_tick[index]

    def to_ticks(self, seconds: np.ndarray | float) -> np.ndarray:
        seconds = np.asarray(seconds, float)
        index = np.clip(np.searchsorted(self.seconds, seconds, side="right") - 1, 0, None)
        return np.round(self.ticks[index] + (seconds - self.seconds[index]) / self.per_tick[index]).astype(int)


def _programs(track: mido.MidiTrack) -> dict[int, int]:
    return {m.channel: m.program for m in track if m.type == "program_change"}


def _transform(midi: str | os.PathLike[str] | mido.MidiFile, change) -> mido.MidiFile:  # noqa: ANN001
    source = load_midi(midi)
    out = mido.MidiFile(type=source.type, ticks_per_beat=source.ticks_per_beat)
    clock = _Clock(source)
    for index, track in enumerate(source.tracks):
        unpacked = track_notes(track)
        if unpacked.notes:
            change(index, unpacked, clock, _programs(track))
            out.tracks.append(_pack(unpacked))
        else:
            out.tracks.append(mido.MidiTrack(track))
    return out


def shape_dynamics(midi: str | os.PathLike[str] | mido.MidiFile, arc: Arc, *, depth: float = 1.0,
                   controllers: bool = True, cc_step_s: float = 0.1) -> mido.MidiFile:
    """Shape velocities and expression controllers to follow ``arc``.

    Parameters
    ----------
    midi : path or mido.MidiFile
        The draft (often with flat velocities).
    arc : Arc
        Intended intensity over time.
    depth : float
        0 leaves velocities alone, 1 scales them by 0.45× (level 0) … 1.25× (level 1).
    controllers : bool
        Also draw CC11 (expression, every melodic channel, 40…127) and CC1 (modulation, sustained
        programs only, 0…64) every ``cc_step_s`` seconds where the value changes.
    cc_step_s : float
        Controller resolution, seconds (≥ 0.01).

    Returns
    -------
    mido.MidiFile
        A new file; notes keep their timing and pitch.
    """
    if not 0.0 <= depth <= 1.0:
        raise ParameterError(f"depth must be 0…1, got {depth:g}")
    if cc_step_s < 0.01:
        raise ParameterError(f"cc_step_s must be at least 0.01 s, got {cc_step_s:g}")

    def change(_: int, track: TrackNotes, clock: _Clock, programs: dict[int, int]) -> None:
        starts = clock.to_s(np.array([n[0] for n in track.notes]))
        scale = 1.0 + depth * (0.45 + 0.8 * arc.at(starts) - 1.0)
        for note, factor in zip(track.notes, scale):
            note[4] = int(np.clip(round(note[4] * factor), 1, 127))
        if not controllers:
            return
        end_s = float(clock.to_s(max(n[1] for n in track.notes)))
        grid = np.arange(0.0, end_s + cc_step_s, cc_step_s)
        level = arc.at(grid)
        ticks = clock.to_ticks(grid)
        for channel in sorted({n[2] for n in track.notes} - {_DRUM_CHANNEL}):
            track.other = [(t, m) for t, m in track.other
                           if not (m.type == "control_change" and m.channel == channel and m.control in (1, 11))]
            lanes = [(11, np.round(40 + 87 * level))]
            if programs.get(channel, 0) in SUSTAINED_PROGRAMS:
                lanes.append((1, np.round(64 * level)))
            for control, values in lanes:
                last = -1
                for tick, value in zip(ticks, values.astype(int)):
                    if value != last:
                        track.other.append((int(tick), mido.Message("control_change", control=control,
                                                                    value=int(value), channel=channel)))
                        last = value

    return _transform(midi, change)


def humanize(midi: str | os.PathLike[str] | mido.MidiFile, *, seed: int, timing_ms: float = 10.0,
             velocity: int = 8) -> mido.MidiFile:
    """Move notes and vary their velocities a little, reproducibly.

    Each note is shifted (start and end together) by a normal amount with a standard deviation of
    ``timing_ms / 2``, clipped to ±``timing_ms``; its velocity changes by a whole number in
    ±``velocity``, kept within 1…127. Notes never move before time zero. Drums move half as much
    (a drummer's grid is tighter).

    Parameters
    ----------
    seed : int
        The same seed gives the same result.
    timing_ms : float
        Largest timing change, milliseconds (0…50).
    velocity : int
        Largest velocity change, steps (0…40).
    """
    if not 0.0 <= timing_ms <= MAX_TIMING_MS:
        raise ParameterError(f"timing_ms must be 0…{MAX_TIMING_MS:g} ms, got {timing_ms:g}")
    if isinstance(velocity, bool) or not isinstance(velocity, int) or not 0 <= velocity <= MAX_VELOCITY:
        raise ParameterError(f"velocity must be a whole number 0…{MAX_VELOCITY}, got {velocity!r}")
    rng = np.random.default_rng(seed)

    def change(_: int, track: TrackNotes, clock: _Clock, __: dict[int, int]) -> None:
        count = len(track.notes)
        shift_s = np.clip(rng.normal(0.0, timing_ms / 2000.0, count), -timing_ms / 1000.0, timing_ms / 1000.0)
        steps = rng.integers(-velocity, velocity + 1, count)
        for note, shift, step in zip(track.notes, shift_s, steps):
            if note[2] == _DRUM_CHANNEL:
                shift *= 0.5
            on_s, off_s = clock.to_s(np.array([note[0], note[1]]))
            # rounding to ticks must not carry a note past the bound: move by whole ticks toward zero
            new_on = int(clock.to_ticks(max(0.0, on_s + shift)))
            if abs(float(clock.to_s(new_on)) - on_s) > timing_ms / 1000.0:
                new_on += -1 if new_on > note[0] else 1
            moved = new_on - note[0]
            note[0], note[1] = new_on, max(new_on + 1, note[1] + moved)
            note[4] = int(np.clip(note[4] + step, 1, 127))

    return _transform(midi, change)


def legato(midi: str | os.PathLike[str] | mido.MidiFile, *, overlap_s: float = 0.04, max_gap_s: float = 0.3,
           parts: Iterable[str] | None = None) -> mido.MidiFile:
    """Join notes of sustained parts so each overlaps the next onset by ``overlap_s``.

    A note whose next onset on its channel (a different start) comes within ``max_gap_s`` after
    it ends is lengthened to that onset plus ``overlap_s`` (a repeated pitch only up to the
    onset). Notes are never shortened; drums are left alone.

    Parameters
    ----------
    overlap_s : float
        Overlap, seconds (0…0.2).
    max_gap_s : float
        Longest rest that is bridged, seconds; longer rests stay rests.
    parts : iterable of str, optional
        Track names (lower-case) to join; by default every track whose program sustains
        (:data:`SUSTAINED_PROGRAMS`).
    """
    if not 0.0 <= overlap_s <= 0.2 or max_gap_s < 0:
        raise ParameterError(f"overlap_s must be 0…0.2 s and max_gap_s ≥ 0, got {overlap_s:g}, {max_gap_s:g}")
    wanted = None if parts is None else {p.lower() for p in parts}
    source = load_midi(midi)
    names = [next((m.name.strip().lower() for m in t if m.type == "track_name"), "") for t in source.tracks]

    def change(index: int, track: TrackNotes, clock: _Clock, programs: dict[int, int]) -> None:
        for channel in sorted({n[2] for n in track.notes} - {_DRUM_CHANNEL}):
            if wanted is None and programs.get(channel, 0) not in SUSTAINED_PROGRAMS:
                continue
            if wanted is not None and names[index] not in wanted:
                continue
            notes = sorted((n for n in track.notes if n[2] == channel), key=lambda n: n[0])
            onsets = sorted({n[0] for n in notes})
            for note in notes:
                later = [t for t in onsets if t > note[0]]
                if not later:
                    continue
                nxt = later[0]
                end_s, next_s = clock.to_s(np.array([note[1], nxt]))
                if next_s - end_s > max_gap_s:
                    continue
                repeated = any(n[0] == nxt and n[3] == note[3] for n in notes)
                target = nxt if repeated else int(clock.to_ticks(next_s + overlap_s))
                note[1] = max(note[1], target)

    return _transform(source, change)
