"""A MusicXML score from a session's note tracks: one part per track, for players who re-record parts.

Conventions
-----------
* MusicXML 4.0 ``score-partwise``, written directly (no notation library at run time); the
  tests validate it against the MusicXML 4.0 XSD and read it back with music21.
* Bars come from the session's metres (:meth:`Session.bars`): one ``<measure>`` per bar, the
  time signature where it changes, a final light-heavy bar line and a double bar line where a
  section marker starts a bar. A first bar shorter than the metre after it is a pickup
  (``number="0" implicit="yes"``).
* Notes are quantised to a grid (default a 16th note, ``grid_beats=0.25``): start and end snap
  to it, notes are split at bar lines and into note values a player reads (whole … 32nd,
  single dots) and tied. Notes with the same start and end form chords; overlapping notes
  go to further voices (up to :data:`MAX_VOICES`).
* The score is at concert pitch. Each part names its instrument, its General MIDI program
  and the range its notes span; notes outside the instrument's usual range are reported as
  warnings. Drum tracks are left out (percussion notation needs a drum map): their MIDI is
  in the DAWproject and REAPER exports.
* Tempo: every change is a ``<sound tempo>`` (exact, for playback); a metronome mark is printed
  at the start and where the rounded tempo moves by 2 bpm or more. Section markers become
  rehearsal marks.
* Key: the session's, or estimated from the notes (Krumhansl–Kessler profiles).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from trackwright import __version__
from trackwright.audio import write_atomic
from trackwright.errors import ParameterError
from trackwright.export.media import ExportResult
from trackwright.export.session import Bar, MarkerKind, Session, Track
from trackwright.score import symbolic
from trackwright.score.symbolic import MODES, Key

MAX_VOICES = 4
#: A note counts as moved by the quantisation when an end moves by more than this, beats.
MOVED_BEATS = 0.005
#: MusicXML note types and their length in quarter notes.
NOTE_TYPES = (("whole", Fraction(4)), ("half", Fraction(2)), ("quarter", Fraction(1)), ("eighth", Fraction(1, 2)),
              ("16th", Fraction(1, 4)), ("32nd", Fraction(1, 8)))
_SHARP_NAMES = (("C", 0), ("C", 1), ("D", 0), ("D", 1), ("E", 0), ("F", 0), ("F", 1), ("G", 0), ("G", 1), ("A", 0),
                ("A", 1), ("B", 0))
_FLAT_NAMES = (("C", 0), ("D", -1), ("D", 0), ("E", -1), ("E", 0), ("F", 0), ("G", -1), ("G", 0), ("A", -1), ("A", 0),
               ("B", -1), ("B", 0))
#: Fifths of each major key's tonic pitch class (flats for Db, Eb, Gb, Ab, Bb, F).
_MAJOR_FIFTHS = {0: 0, 7: 1, 2: 2, 9: 3, 4: 4, 11: 5, 6: 6, 1: -5, 8: -4, 3: -3, 10: -2, 5: -1}
#: Usual sounding range (lowest, highest MIDI pitch) of General MIDI programs, then of their families.
PROGRAM_RANGES = {32: (28, 67), 33: (28, 67), 34: (28, 67), 35: (28, 67), 40: (55, 103), 41: (48, 91),
                  42: (36, 76), 43: (28, 67), 56: (54, 84), 57: (40, 72), 58: (28, 58), 60: (34, 77), 64: (56, 88),
                  65: (49, 81), 66: (44, 76), 67: (36, 69), 68: (58, 91), 69: (52, 81), 70: (34, 75),
                  71: (50, 94), 72: (74, 108), 73: (60, 96), 74: (60, 96)}
FAMILY_RANGES = {0: (21, 108), 1: (53, 108), 2: (36, 96), 3: (40, 88), 4: (28, 67), 5: (28, 103), 6: (28, 103),
                 7: (34, 84), 8: (34, 94), 9: (60, 108)}
PITCH_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def pitch_name(pitch: int) -> str:
    """``"E1"`` for MIDI 28 (scientific pitch, middle C = C4)."""
    return f"{PITCH_NAMES[pitch % 12]}{pitch // 12 - 1}"


def key_fifths(key: Key) -> int:
    """Sharps (+) or flats (−) of ``key``'s signature, from the major key sharing its scale."""
    scale = set(key.scale)
    for tonic, fifths in _MAJOR_FIFTHS.items():
        if {(tonic + step) % 12 for step in MODES["major"]} == scale:
            return fifths
    return 0


def spell(pitch: int, fifths: int) -> tuple[str, int, int]:
    """(step, alter, octave) of MIDI ``pitch``: sharps in sharp keys and C, flats in flat keys."""
    step, alter = (_FLAT_NAMES if fifths < 0 else _SHARP_NAMES)[pitch % 12]
    return step, alter, pitch // 12 - 1


def note_values(length: Fraction) -> list[tuple[str, int]]:
    """Split ``length`` quarter notes into (type, dots) values, longest first, tied in order."""
    out: list[tuple[str, int]] = []
    rest = length
    while rest > 0:
        for name, value in NOTE_TYPES:
            if value * Fraction(3, 2) <= rest:
                out.append((name, 1))
                rest -= value * Fraction(3, 2)
                break
            if value <= rest:
                out.append((name, 0))
                rest -= value
                break
        else:
            raise ParameterError(f"note length {float(length):g} quarter notes is finer than a 32nd")
    return out


@dataclass(frozen=True)
class _Event:
    """A chord (or one note) in one voice: start and end in grid units, MIDI pitches."""

    start: int
    end: int
    pitches: tuple[int, ...]


def _track_events(track: Track, units_per_beat: int, warnings: list[str]) -> list[list[_Event]]:
    """The track's notes quantised to the grid, grouped into chords and voices."""
    spans: dict[tuple[int, int], set[int]] = {}
    moved = 0
    for clip in track.notes:
        for note in clip.notes:
            if note.start_beats >= clip.length_beats:
                continue
            start_b = clip.start_beats + note.start_beats
            end_b = clip.start_beats + min(note.start_beats + note.duration_beats, clip.length_beats)
            start, end = round(start_b * units_per_beat), round(end_b * units_per_beat)
            end = max(end, start + 1)
            moved += max(abs(start / units_per_beat - start_b), abs(end / units_per_beat - end_b)) > MOVED_BEATS
            spans.setdefault((start, end), set()).add(note.pitch)
    if moved:
        warnings.append(f"{track.name}: {moved} note{'s' if moved > 1 else ''} moved to the "
                        f"1/{4 * units_per_beat} note grid")
    voices: list[list[_Event]] = []
    dropped = 0
    for (start, end), pitches in sorted(spans.items()):
        event = _Event(start, end, tuple(sorted(pitches)))
        for voice in voices:
            if voice[-1].end <= start:
                voice.append(event)
                break
        else:
            if len(voices) < MAX_VOICES:
                voices.append([event])
            else:
                dropped += len(pitches)
    if dropped:
        warnings.append(f"{track.name}: {dropped} notes left out (more than {MAX_VOICES} overlapping voices)")
    return voices


def _clef(voices: list[list[_Event]]) -> tuple[str, str]:
    pitches = sorted(p for voice in voices for e in voice for p in e.pitches)
    if not pitches:
        return "G", "2"
    median = pitches[len(pitches) // 2]
    return ("F", "4") if median < 57 else ("G", "2")


def _range_warning(track: Track, low: int, high: int) -> str | None:
    if track.program is None:
        return None
    lo, hi = PROGRAM_RANGES.get(track.program, FAMILY_RANGES.get(track.program // 8, (0, 127)))
    if low >= lo and high <= hi:
        return None
    return (f"{track.name}: notes span {pitch_name(low)}–{pitch_name(high)}, outside the usual "
            f"{pitch_name(lo)}–{pitch_name(hi)} of GM program {track.program + 1} ({track.instrument or 'instrument'})")


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = text
    return element


class _Score:
    """Builds the ``score-partwise`` tree."""

    def __init__(self, session: Session, grid_beats: float) -> None:
        units = 1.0 / grid_beats
        if grid_beats <= 0 or abs(units - round(units)) > 1e-9 or round(units) not in (1, 2, 4, 8):
            raise ParameterError(f"grid_beats must be 1, 0.5, 0.25 or 0.125 (quarter … 32nd notes), got {grid_beats}")
        self.session = session
        self.units_per_beat = round(units)
        self.warnings: list[str] = []
        self.tracks = [t for t in session.tracks if t.notes and not t.drums]
        for track in session.tracks:
            if track.notes and track.drums:
                self.warnings.append(f"{track.name}: drum parts are not written to MusicXML (they need a drum map); "
                                     "the MIDI is in the DAWproject and REAPER exports")
        if not self.tracks:
            raise ParameterError("the session has no pitched note tracks to write as a score")
        self.voices = [_track_events(t, self.units_per_beat, self.warnings) for t in self.tracks]
        end_units = max(e.end for voices in self.voices for voice in voices for e in voice)
        end_s = session.tempo_map.seconds_at(end_units / self.units_per_beat)
        self.bars: list[Bar] = session.bars(until_s=end_s)
        self.key = session.key or symbolic.estimate_key(
            [symbolic.Note(n.start_beats + c.start_beats, n.start_beats + c.start_beats + n.duration_beats, n.pitch)
             for t in self.tracks for c in t.notes for n in c.notes])
        self.fifths = key_fifths(self.key)
        first, second = (self.bars + [None])[:2]
        self.pickup = (second is not None and first is not None and len(session.meters) > 1
                       and math.isclose(session.tempo_map.beats_at(session.meters[1].time_s), first.length_beats)
                       and first.length_beats < second.length_beats)

    def units(self, beats: float) -> int:
        return round(beats * self.units_per_beat)

    def build(self) -> ET.Element:
        session = self.session
        root = ET.Element("score-partwise", {"version": "4.0"})
        _sub(_sub(root, "work"), "work-title", session.title)
        identification = _sub(root, "identification")
        if session.composer:
            _sub(identification, "creator", session.composer, type="composer")
        encoding = _sub(identification, "encoding")
        _sub(encoding, "software", f"trackwright {__version__}")
        _sub(encoding, "encoding-date", dt.date.today().isoformat())
        miscellaneous = _sub(identification, "miscellaneous")
        for index, track in enumerate(self.tracks):
            pitches = [p for voice in self.voices[index] for e in voice for p in e.pitches]
            _sub(miscellaneous, "miscellaneous-field", f"{pitch_name(min(pitches))}–{pitch_name(max(pitches))}",
                 name=f"range-P{index + 1}")
            warning = _range_warning(track, min(pitches), max(pitches))
            if warning:
                self.warnings.append(warning)
        part_list = _sub(root, "part-list")
        for index, track in enumerate(self.tracks):
            part_id = f"P{index + 1}"
            score_part = _sub(part_list, "score-part", id=part_id)
            _sub(score_part, "part-name", track.name)
            _sub(score_part, "part-abbreviation", track.name[:5] + ("." if len(track.name) > 5 else ""))
            instrument = _sub(score_part, "score-instrument", id=f"{part_id}-I1")
            _sub(instrument, "instrument-name", track.instrument or track.name)
            midi = _sub(score_part, "midi-instrument", id=f"{part_id}-I1")
            _sub(midi, "midi-channel", str(index % 15 + 1 + (index % 15 >= 9)))
            if track.program is not None:
                _sub(midi, "midi-program", str(track.program + 1))
        for index, track in enumerate(self.tracks):
            self._part(_sub(root, "part", id=f"P{index + 1}"), track, self.voices[index], first=index == 0)
        return root

    def _part(self, part: ET.Element, track: Track, voices: list[list[_Event]], *, first: bool) -> None:
        session, tempo = self.session, self.session.tempo_map
        section_beats = {round(tempo.beats_at(m.time_s) * self.units_per_beat): m.name
                         for m in session.markers if m.kind is MarkerKind.SECTION}
        tempo_units = [(self.units(b), float(bpm)) for b, bpm in zip(tempo.beats, tempo.bpms)]
        shown_bpm: int | None = None
        divisions = self.units_per_beat
        for number, bar in enumerate(self.bars):
            start, length = self.units(bar.start_beats), self.units(bar.length_beats)
            end = start + length
            label = str(number if self.pickup else number + 1)
            attrs = {"number": label}
            if self.pickup and number == 0:
                attrs["implicit"] = "yes"
            measure = _sub(part, "measure", **attrs)
            previous = self.bars[number - 1] if number else None
            shown = self.bars[1] if self.pickup and number == 0 else bar
            changed = number == 0 or (previous is not None and (previous.numerator, previous.denominator) !=
                                      (bar.numerator, bar.denominator) and not (self.pickup and number == 1))
            if number == 0 or changed:
                attributes = _sub(measure, "attributes")
                if number == 0:
                    _sub(attributes, "divisions", str(divisions))
                    key = _sub(attributes, "key")
                    _sub(key, "fifths", str(self.fifths))
                    _sub(key, "mode", self.key.mode)
                time = _sub(attributes, "time")
                _sub(time, "beats", str(shown.numerator))
                _sub(time, "beat-type", str(shown.denominator))
                if number == 0:
                    sign, line = _clef(voices)
                    clef = _sub(attributes, "clef")
                    _sub(clef, "sign", sign)
                    _sub(clef, "line", line)
            if first:
                for at, name in sorted(section_beats.items()):
                    if start <= at < end:
                        self._direction(measure, at - start, rehearsal=name)
            for at, bpm in tempo_units:
                if start <= at < end:
                    mark = round(bpm)
                    show = shown_bpm is None or abs(mark - shown_bpm) >= 2
                    shown_bpm = mark if show else shown_bpm
                    self._direction(measure, at - start, tempo_bpm=bpm, metronome=mark if show else None)
            for voice_number, voice in enumerate(voices, start=1):
                if voice_number > 1:
                    _sub(_sub(measure, "backup"), "duration", str(length))
                self._voice(measure, voice, voice_number, start, end)
            following = end in section_beats and number + 1 < len(self.bars)
            if number == len(self.bars) - 1:
                barline = _sub(measure, "barline", location="right")
                _sub(barline, "bar-style", "light-heavy")
            elif following:
                barline = _sub(measure, "barline", location="right")
                _sub(barline, "bar-style", "light-light")

    def _direction(self, measure: ET.Element, offset: int, *, rehearsal: str | None = None,
                   tempo_bpm: float | None = None, metronome: int | None = None) -> None:
        direction = _sub(measure, "direction", placement="above")
        if rehearsal is not None:
            _sub(_sub(direction, "direction-type"), "rehearsal", rehearsal)
        if metronome is not None:
            mark = _sub(_sub(direction, "direction-type"), "metronome")
            _sub(mark, "beat-unit", "quarter")
            _sub(mark, "per-minute", str(metronome))
        if rehearsal is None and metronome is None:
            _sub(_sub(direction, "direction-type"), "words", "")
        if offset:
            _sub(direction, "offset", str(offset))
        if tempo_bpm is not None:
            _sub(direction, "sound", tempo=f"{tempo_bpm:.4f}".rstrip("0").rstrip("."))

    def _voice(self, measure: ET.Element, voice: list[_Event], number: int, start: int, end: int) -> None:
        at = start
        for event in voice:
            if event.end <= start or event.start >= end:
                continue
            lo, hi = max(event.start, start), min(event.end, end)
            if lo > at:
                self._gap(measure, lo - at, number)
            self._notes(measure, event, lo, hi, number)
            at = hi
        if at < end:
            self._gap(measure, end - at, number)

    def _gap(self, measure: ET.Element, units: int, voice: int) -> None:
        if voice > 1:
            forward = _sub(measure, "forward")
            _sub(forward, "duration", str(units))
            _sub(forward, "voice", str(voice))
            return
        for name, dots in note_values(Fraction(units, self.units_per_beat)):
            note = _sub(measure, "note")
            _sub(note, "rest")
            _sub(note, "duration", str(round(self._value(name, dots) * self.units_per_beat)))
            _sub(note, "voice", str(voice))
            _sub(note, "type", name)
            for _ in range(dots):
                _sub(note, "dot")

    @staticmethod
    def _value(name: str, dots: int) -> Fraction:
        value = dict(NOTE_TYPES)[name]
        return value * Fraction(3, 2) if dots else value

    def _notes(self, measure: ET.Element, event: _Event, lo: int, hi: int, voice: int) -> None:
        pieces = note_values(Fraction(hi - lo, self.units_per_beat))
        for index, (name, dots) in enumerate(pieces):
            tie_stop = index > 0 or lo > event.start
            tie_start = index < len(pieces) - 1 or hi < event.end
            for chord_index, pitch in enumerate(event.pitches):
                note = _sub(measure, "note")
                if chord_index:
                    _sub(note, "chord")
                step, alter, octave = spell(pitch, self.fifths)
                element = _sub(note, "pitch")
                _sub(element, "step", step)
                if alter:
                    _sub(element, "alter", str(alter))
                _sub(element, "octave", str(octave))
                _sub(note, "duration", str(round(self._value(name, dots) * self.units_per_beat)))
                if tie_stop:
                    _sub(note, "tie", type="stop")
                if tie_start:
                    _sub(note, "tie", type="start")
                _sub(note, "voice", str(voice))
                _sub(note, "type", name)
                for _ in range(dots):
                    _sub(note, "dot")
                if tie_stop or tie_start:
                    notations = _sub(note, "notations")
                    if tie_stop:
                        _sub(notations, "tied", type="stop")
                    if tie_start:
                        _sub(notations, "tied", type="start")


def musicxml_text(session: Session, *, grid_beats: float = 0.25) -> tuple[str, list[str]]:
    """The MusicXML document of ``session``'s pitched note tracks and the warnings (quantisation, ranges)."""
    score = _Score(session, grid_beats)
    root = score.build()
    ET.indent(root)
    head = ('<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
            '<!DOCTYPE score-partwise PUBLIC "-//Recordare//DTD MusicXML 4.0 Partwise//EN" '
            '"http://www.musicxml.org/dtds/partwise.dtd">\n')
    return head + ET.tostring(root, encoding="unicode") + "\n", score.warnings


def write_musicxml(session: Session, path: str | os.PathLike[str], *, grid_beats: float = 0.25) -> ExportResult:
    """Write the score of ``session``'s note tracks as MusicXML (``.musicxml``), atomically.

    Parameters
    ----------
    session : Session
    path : path-like
        The ``.musicxml`` (or ``.xml``) file.
    grid_beats : float
        Quantisation grid in quarter notes: 0.25 (16ths, default), 0.125, 0.5 or 1.

    Returns
    -------
    ExportResult
        The file, and warnings: notes moved to the grid, notes outside an instrument's usual
        range, drum tracks left out.

    Raises
    ------
    ParameterError
        The session has no pitched note tracks, or the grid is not one of the above.
    """
    out = Path(path)
    text, warnings = musicxml_text(session, grid_beats=grid_beats)
    write_atomic(out, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return ExportResult(out, (out,), tuple(warnings))
