"""A plain description of a session that other tools open: tracks, clips, notes, tempo, metre, markers.

Conventions
-----------
* Times on the timeline are seconds from the session start (``time_s``, ``start_s``); the
  session start is beat 0 and the first bar line.
* A *beat* is a quarter note and tempo is quarter notes per minute (bpm), as DAWs, REAPER,
  DAWproject and MusicXML count them; a 6/8 bar is 3 beats long.
* The tempo map is a list of steps: each :class:`TempoChange` holds until the next one.
  :class:`TempoMap` converts seconds ↔ beats exactly (piecewise linear).
* Metre changes must fall on a bar line of the metre before them.
* Note clips are placed in beats (they follow the tempo map, as MIDI does); the notes inside a
  clip are in beats from the clip's start. Audio clips are placed in seconds (unwarped audio
  plays at its own speed whatever the tempo).
* Nothing here reads or writes files; the writers in :mod:`trackwright.export` do.

>>> tempo = TempoMap((TempoChange(0.0, 120.0), TempoChange(4.0, 60.0)))
>>> tempo.beats_at(5.0)
9.0
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

import numpy as np

from trackwright.errors import ParameterError
from trackwright.score.symbolic import Key

#: Tempo limits, bpm (outside them a grid is surely wrong).
MIN_BPM, MAX_BPM = 10.0, 999.0
#: How far a metre change may sit from the bar line it should fall on, beats.
BAR_TOLERANCE_BEATS = 1e-3


class MarkerKind(str, Enum):
    """What a marker marks: a section start, a hit point, an analysis finding or a review comment."""

    SECTION = "section"
    HIT = "hit"
    FINDING = "finding"
    COMMENT = "comment"


@dataclass(frozen=True)
class TempoChange:
    """From ``time_s`` (seconds) on, the tempo is ``bpm`` quarter notes per minute."""

    time_s: float
    bpm: float


@dataclass(frozen=True)
class MeterChange:
    """From ``time_s`` (seconds, on a bar line) on, bars are ``numerator``/``denominator``."""

    time_s: float
    numerator: int = 4
    denominator: int = 4

    @property
    def bar_beats(self) -> float:
        """Length of one bar in beats (quarter notes)."""
        return self.numerator * 4.0 / self.denominator


@dataclass(frozen=True)
class AudioClip:
    """A piece of an audio file placed on the timeline.

    Parameters
    ----------
    path : Path
        The audio file (WAV or FLAC; read by the writers for its rate and channels).
    start_s : float
        Where the clip starts on the timeline, seconds.
    length_s : float
        How long it plays, seconds.
    offset_s : float
        Where in the file it starts playing, seconds.
    gain_db : float
        Clip gain, dB.
    name : str
        Clip name (default: the file's stem).
    fade_in_s, fade_out_s : float
        Fades at the clip's start and end, seconds (an edit's crossfade is a fade-out on one
        clip overlapping a fade-in on the next).
    """

    path: Path
    start_s: float
    length_s: float
    offset_s: float = 0.0
    gain_db: float = 0.0
    name: str = ""
    fade_in_s: float = 0.0
    fade_out_s: float = 0.0

    @property
    def label(self) -> str:
        """The clip's name, or its file's stem."""
        return self.name or Path(self.path).stem


@dataclass(frozen=True, order=True)
class Note:
    """A note: ``start_beats`` from its clip's start, ``duration_beats``, MIDI ``pitch`` 0–127, ``velocity`` 1–127."""

    start_beats: float
    duration_beats: float
    pitch: int
    velocity: int = 90


@dataclass(frozen=True)
class NoteClip:
    """Notes placed on the timeline at ``start_beats`` for ``length_beats`` (notes relative to the clip)."""

    start_beats: float
    length_beats: float
    notes: tuple[Note, ...]
    name: str = ""


@dataclass(frozen=True)
class Track:
    """One track: audio clips and/or note clips, with its fader and pan.

    Parameters
    ----------
    name : str
    role : str
        What it is for the people downstream (``"stem"``, ``"part"``, ``"mix"``, a stem role
        such as ``"drums"``); shown in track comments.
    audio : tuple of AudioClip
    notes : tuple of NoteClip
    gain_db : float
        Fader, dB.
    pan : float
        −1 (left) … 0 (centre) … +1 (right).
    instrument : str
        Instrument name for note tracks (``"Acoustic Bass"``); printed on MusicXML parts.
    program : int or None
        General MIDI program 0–127 for note tracks.
    drums : bool
        General MIDI percussion (MIDI channel 10).
    mute : bool
        The track starts muted (a reference track, such as the mix beside its stems).
    """

    name: str
    role: str = "stem"
    audio: tuple[AudioClip, ...] = ()
    notes: tuple[NoteClip, ...] = ()
    gain_db: float = 0.0
    pan: float = 0.0
    instrument: str = ""
    program: int | None = None
    drums: bool = False
    mute: bool = False


@dataclass(frozen=True)
class Marker:
    """A named point on the timeline, seconds, of a :class:`MarkerKind`, with optional text."""

    time_s: float
    name: str
    kind: MarkerKind = MarkerKind.SECTION
    text: str = ""


class TempoMap:
    """Seconds ↔ beats for a list of tempo steps (the first at 0 s).

    >>> TempoMap((TempoChange(0.0, 90.0),)).seconds_at(3.0)
    2.0
    """

    def __init__(self, changes: Sequence[TempoChange]) -> None:
        if not changes:
            raise ParameterError("a tempo map needs at least one tempo (at 0 s)")
        times = np.array([c.time_s for c in changes], dtype=np.float64)
        bpms = np.array([c.bpm for c in changes], dtype=np.float64)
        if not np.all(np.isfinite(times)) or not np.all(np.isfinite(bpms)):
            raise ParameterError("tempo map: times and tempi must be finite numbers")
        if abs(times[0]) > 1e-9:
            raise ParameterError(f"tempo map: the first tempo must be at 0 s, got {times[0]:g} s")
        if np.any(np.diff(times) <= 0):
            raise ParameterError("tempo map: tempo change times must increase")
        bad = bpms[(bpms < MIN_BPM) | (bpms > MAX_BPM)]
        if len(bad):
            raise ParameterError(f"tempo map: {bad[0]:g} bpm is outside {MIN_BPM:g}–{MAX_BPM:g} bpm")
        self.times_s = times
        self.bpms = bpms
        spans = np.diff(times) * bpms[:-1] / 60.0
        self.beats = np.concatenate([[0.0], np.cumsum(spans)])

    @property
    def changes(self) -> tuple[TempoChange, ...]:
        """The steps as :class:`TempoChange` s."""
        return tuple(TempoChange(float(t), float(b)) for t, b in zip(self.times_s, self.bpms))

    def beats_at(self, time_s: float) -> float:
        """Beats (quarter notes) from the start at ``time_s`` seconds (times before 0 extrapolate)."""
        i = max(0, int(np.searchsorted(self.times_s, time_s, side="right")) - 1)
        return float(self.beats[i] + (time_s - self.times_s[i]) * self.bpms[i] / 60.0)

    def seconds_at(self, beats: float) -> float:
        """Seconds from the start at ``beats`` quarter notes."""
        i = max(0, int(np.searchsorted(self.beats, beats, side="right")) - 1)
        return float(self.times_s[i] + (beats - self.beats[i]) * 60.0 / self.bpms[i])

    def bpm_at(self, time_s: float) -> float:
        """The tempo in force at ``time_s`` seconds, bpm."""
        i = max(0, int(np.searchsorted(self.times_s, time_s, side="right")) - 1)
        return float(self.bpms[i])


@dataclass(frozen=True)
class Bar:
    """One bar of the session's grid: its number (1-based), start in beats, length in beats and metre."""

    number: int
    start_beats: float
    length_beats: float
    numerator: int
    denominator: int


@dataclass(frozen=True)
class Session:
    """Everything a DAW, a notation program or a game engine is handed.

    Parameters
    ----------
    title : str
    sample_rate : int
        The session's rate, Hz (audio files at other rates are resampled by the host).
    tempo : tuple of TempoChange
        Steps, the first at 0 s.
    meters : tuple of MeterChange
        Metre changes, the first at 0 s, each on a bar line.
    tracks : tuple of Track
    markers : tuple of Marker
    key : Key or None
        The key for notation (estimated from the notes when None).
    composer : str
        For the score header and metadata.
    """

    title: str
    sample_rate: int
    tempo: tuple[TempoChange, ...] = (TempoChange(0.0, 120.0),)
    meters: tuple[MeterChange, ...] = (MeterChange(0.0, 4, 4),)
    tracks: tuple[Track, ...] = ()
    markers: tuple[Marker, ...] = ()
    key: Key | None = None
    composer: str = ""
    tempo_map: TempoMap = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.title.strip():
            raise ParameterError("session title is empty")
        if not 8000 <= int(self.sample_rate) <= 384000:
            raise ParameterError(f"session sample rate {self.sample_rate} Hz is outside 8–384 kHz")
        object.__setattr__(self, "tempo_map", TempoMap(self.tempo))
        self._check_meters()
        for track in self.tracks:
            _check_track(track)
        for marker in self.markers:
            if not math.isfinite(marker.time_s) or marker.time_s < 0:
                raise ParameterError(f"marker {marker.name!r}: time {marker.time_s} s must be ≥ 0")

    def _check_meters(self) -> None:
        if not self.meters or abs(self.meters[0].time_s) > 1e-9:
            raise ParameterError("the first metre must be at 0 s")
        previous: MeterChange | None = None
        for meter in self.meters:
            if meter.numerator < 1 or meter.denominator not in (1, 2, 4, 8, 16, 32):
                raise ParameterError(f"metre {meter.numerator}/{meter.denominator} at {meter.time_s:g} s is not a "
                                     "time signature (numerator ≥ 1, denominator 1, 2, 4, 8, 16 or 32)")
            if previous is not None:
                if meter.time_s <= previous.time_s:
                    raise ParameterError("metre change times must increase")
                span = self.tempo_map.beats_at(meter.time_s) - self.tempo_map.beats_at(previous.time_s)
                bars = span / previous.bar_beats
                if abs(bars - round(bars)) * previous.bar_beats > BAR_TOLERANCE_BEATS:
                    raise ParameterError(f"metre change at {meter.time_s:g} s is not on a bar line of the "
                                         f"{previous.numerator}/{previous.denominator} before it ({bars:.3f} bars in)")
            previous = meter

    @property
    def duration_s(self) -> float:
        """Where the last clip, note or marker ends, seconds."""
        ends = [0.0]
        for track in self.tracks:
            ends += [c.start_s + c.length_s for c in track.audio]
            ends += [self.tempo_map.seconds_at(c.start_beats + c.length_beats) for c in track.notes]
        ends += [m.time_s for m in self.markers]
        return max(ends)

    def bars(self, until_s: float | None = None) -> list[Bar]:
        """The bars from the start to (at least) ``until_s`` seconds (default: :attr:`duration_s`)."""
        end_beats = self.tempo_map.beats_at(self.duration_s if until_s is None else until_s)
        starts = [self.tempo_map.beats_at(m.time_s) for m in self.meters]
        out: list[Bar] = []
        for index, meter in enumerate(self.meters):
            stop = starts[index + 1] if index + 1 < len(self.meters) else max(end_beats, starts[index] + 1e-9)
            at = starts[index]
            while at < stop - BAR_TOLERANCE_BEATS:
                out.append(Bar(len(out) + 1, at, meter.bar_beats, meter.numerator, meter.denominator))
                at += meter.bar_beats
        return out

    def meter_at_beats(self, beats: float) -> MeterChange:
        """The metre in force at ``beats``."""
        current = self.meters[0]
        for meter in self.meters:
            if self.tempo_map.beats_at(meter.time_s) <= beats + BAR_TOLERANCE_BEATS:
                current = meter
        return current


def _check_track(track: Track) -> None:
    where = f"track {track.name!r}"
    if not track.name.strip():
        raise ParameterError("a track has an empty name")
    if not -1.0 <= track.pan <= 1.0:
        raise ParameterError(f"{where}: pan {track.pan:g} is outside −1…+1")
    if track.program is not None and not 0 <= track.program <= 127:
        raise ParameterError(f"{where}: General MIDI program {track.program} is outside 0–127")
    for clip in track.audio:
        if clip.start_s < 0 or clip.offset_s < 0 or clip.length_s <= 0:
            raise ParameterError(f"{where}: clip {clip.label!r} needs start ≥ 0, offset ≥ 0 and length > 0 "
                                 f"(got {clip.start_s:g}, {clip.offset_s:g}, {clip.length_s:g} s)")
        if clip.fade_in_s < 0 or clip.fade_out_s < 0 or clip.fade_in_s + clip.fade_out_s > clip.length_s + 1e-9:
            raise ParameterError(f"{where}: clip {clip.label!r} fades ({clip.fade_in_s:g} + {clip.fade_out_s:g} s) "
                                 f"must be ≥ 0 and fit its {clip.length_s:g} s")
    for clip in track.notes:
        if clip.start_beats < 0 or clip.length_beats <= 0:
            raise ParameterError(f"{where}: note clip at {clip.start_beats:g} beats needs a positive length")
        for note in clip.notes:
            if not 0 <= note.pitch <= 127 or not 1 <= note.velocity <= 127 or note.duration_beats <= 0:
                raise ParameterError(f"{where}: note {note.pitch} at {note.start_beats:g} beats needs pitch 0–127, "
                                     f"velocity 1–127 and a positive duration")


def note_clip(notes: Iterable[Note], *, start_beats: float = 0.0, length_beats: float | None = None,
              name: str = "") -> NoteClip:
    """A clip at ``start_beats`` holding ``notes`` given in beats from the session start.

    The clip runs to the end of the last note unless ``length_beats`` is given.
    """
    notes = sorted(notes)
    end = max((n.start_beats + n.duration_beats for n in notes), default=start_beats + 1.0)
    length = length_beats if length_beats is not None else max(end - start_beats, 1e-3)
    inside = tuple(Note(n.start_beats - start_beats, n.duration_beats, n.pitch, n.velocity) for n in notes)
    return NoteClip(start_beats, length, inside, name)


def tempo_from_downbeats(downbeats_s: Sequence[float], beats_per_bar: int | Sequence[int], subdivision: int = 2,
                         ) -> tuple[tuple[TempoChange, ...], tuple[MeterChange, ...]]:
    """A tempo map and metres that put a bar line on every downbeat (seconds) of a measured grid.

    Each bar gets the tempo that makes it exactly its number of beats long (so a DAW's bar
    lines fall on the music's downbeats). ``beats_per_bar`` is one number for every bar, or one
    per bar (``len(downbeats_s) - 1`` of them: a bar an edit shortened keeps the beats it has),
    and the metre changes where that number does. Audio before the first downbeat becomes a
    pickup bar of the nearest whole number of beats in a metre of its own, at the tempo that
    fits it exactly; under half a beat of it joins the first bar instead (whose bar line then
    sits at 0 s, and every later one on its downbeat). The last bar's tempo holds to the end.

    ``subdivision`` 3 makes the beats dotted quarters (a compound metre): ``n`` of them are a bar
    of ``3n``/8 (two are 6/8), and the tempo counts quarter notes (1.5 to a beat), as a DAW's
    tempo map does; 2 (the default) makes them quarters, ``n``/4.
    """
    if subdivision not in (2, 3):
        raise ParameterError(f"a beat divides in 2 or 3, got {subdivision}")
    quarters = 1.5 if subdivision == 3 else 1.0  # quarter notes to a beat

    def meter(time_s: float, beats: int) -> MeterChange:
        return MeterChange(time_s, 3 * beats, 8) if subdivision == 3 else MeterChange(time_s, beats, 4)

    starts = [float(t) for t in downbeats_s]
    if len(starts) < 2 or any(b <= a for a, b in zip(starts, starts[1:])):
        raise ParameterError("a grid needs at least two increasing downbeats (seconds)")
    counts = [beats_per_bar] * (len(starts) - 1) if isinstance(beats_per_bar, int) else [int(b) for b in beats_per_bar]
    if len(counts) != len(starts) - 1:
        raise ParameterError(f"{len(starts)} downbeats make {len(starts) - 1} bars, but {len(counts)} beat counts "
                             "were given")
    if min(counts) < 1:
        raise ParameterError(f"beats per bar must be at least 1, got {min(counts)}")
    tempo: list[TempoChange] = []
    meters: list[MeterChange] = []
    pickup = round(starts[0] / ((starts[1] - starts[0]) / counts[0]))
    if pickup < 1:  # under half a beat before the first downbeat: the first bar starts at 0 s instead
        starts[0] = 0.0
    else:
        tempo.append(TempoChange(0.0, 60.0 * quarters * pickup / starts[0]))
        meters.append(meter(0.0, pickup))
    for (a, b), count in zip(zip(starts, starts[1:]), counts):
        tempo.append(TempoChange(a if tempo else 0.0, 60.0 * quarters * count / (b - a)))
        if len(meters) <= (1 if pickup >= 1 else 0) or meters[-1] != meter(meters[-1].time_s, count):
            meters.append(meter(a if meters else 0.0, count))
    return tuple(tempo), tuple(meters)
