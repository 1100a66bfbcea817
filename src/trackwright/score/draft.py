"""A built-in "AI draft" composed in code, with its ground truth.

It has the flaws generated songs typically have, so later stages have something real to find
and fix: one four-chord progression (I–V–vi–IV in major, i–VI–iv–V in minor) looped for the
whole song, every note at the same velocity (flat dynamics), no sections, no build, no ending.
Parts: drums (General MIDI channel 10), bass, chords (electric piano) and a lead melody.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import mido
import numpy as np

from trackwright.errors import ParameterError
from trackwright.score.midifile import append_in_order

TICKS_PER_BEAT = 480
BEATS_PER_BAR = 4
#: Every note of the draft has this velocity: the "flat dynamics" flaw.
FLAT_VELOCITY = 96

_PITCH_CLASSES = {"C": 0, "C#": 1, "Db": 1, "D": 2, "D#": 3, "Eb": 3, "E": 4, "F": 5, "F#": 6, "Gb": 6,
                  "G": 7, "G#": 8, "Ab": 8, "A": 9, "A#": 10, "Bb": 10, "B": 11}
_SHARP_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
#: (root in semitones above the tonic, quality) for the looped progression.
_MAJOR_LOOP = ((0, ""), (7, ""), (9, "m"), (5, ""))        # I–V–vi–IV
_MINOR_LOOP = ((0, "m"), (8, ""), (5, "m"), (7, ""))       # i–VI–iv–V (harmonic minor)
_MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
_MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10)
_KICK, _SNARE, _HAT = 36, 38, 42
_PROGRAMS = {"bass": 33, "chords": 4, "pad": 48, "lead": 80}
_CHANNELS = {"bass": 1, "chords": 2, "lead": 3, "pad": 4, "drums": 9}

Note = tuple[float, float, int, int]
"""(start s, end s, MIDI pitch, velocity)."""


@dataclass(frozen=True)
class DraftInfo:
    """Ground truth of a composed draft.

    Attributes:
        bpm: tempo, beats per minute (constant).
        bars: number of 4/4 bars.
        key: key name, e.g. ``"C"`` or ``"Am"``.
        beats_per_bar: 4.
        duration_s: length of the music, seconds (the MIDI's length).
        chords: ``(start_s, end_s, label)`` per bar, labels like ``"C"``, ``"Am"``.
        beat_times_s, downbeat_times_s: the beat grid, seconds.
        notes: part name → notes ``(start_s, end_s, pitch, velocity)``.
        sections: ``(start_s, end_s, label, role)`` per section.
    """

    bpm: float
    bars: int
    key: str
    beats_per_bar: int
    duration_s: float
    chords: list[tuple[float, float, str]]
    beat_times_s: list[float]
    downbeat_times_s: list[float]
    notes: dict[str, list[Note]] = field(repr=False)
    sections: list[tuple[float, float, str, str]] = field(default_factory=list)


def parse_key(key: str) -> tuple[int, bool]:
    """(tonic pitch class 0–11, is_minor) from ``"C"``, ``"F#"``, ``"Bb"``, ``"Am"``, ``"C# minor"``."""
    text = key.strip().replace("minor", "m").replace("major", "").replace(" ", "")
    minor = text.endswith("m")
    name = text[:-1] if minor else text
    name = name[:1].upper() + name[1:]
    if name not in _PITCH_CLASSES:
        raise ParameterError(f"unknown key {key!r}; use a note name like C, F#, Bb, optionally with m for minor")
    return _PITCH_CLASSES[name], minor


def _chord_label(root: int, quality: str) -> str:
    return _SHARP_NAMES[root % 12] + quality


def _triad(root: int, quality: str, around: int = 60) -> list[int]:
    """Close-position triad whose root is the pitch of ``root`` nearest below ``around``+6."""
    third = 3 if quality == "m" else 4
    base = around - 6 + ((root - (around - 6)) % 12)
    return [base, base + third, base + 7]


@dataclass(frozen=True)
class Section:
    """One section of a composed song.

    Attributes:
        role: intro, verse, chorus, bridge, breakdown or outro.
        bars: length in 4/4 bars.
        progression: (semitones above the tonic, quality ``""``/``"m"``) per bar, cycled.
        parts: which of drums, bass, chords, pad, lead play.
        velocity: MIDI velocity of every note in the section.
        label: repetition label (A, B…); sections with the same label and ``lead_seed`` repeat
            verbatim.
        lead_seed: seeds the melody; ``None`` derives it from the song seed and the position.
    """

    role: str
    bars: int
    progression: tuple[tuple[int, str], ...]
    parts: frozenset[str] = frozenset({"drums", "bass", "chords", "lead"})
    velocity: int = FLAT_VELOCITY
    label: str = "A"
    lead_seed: int | None = None


def compose_draft_with_truth(*, bars: int = 16, seed: int = 0, bpm: float = 100.0,
                             key: str = "C") -> tuple[mido.MidiFile, DraftInfo]:
    """Compose the flawed draft (one loop, flat dynamics) as type-1 MIDI, with its :class:`DraftInfo`.

    Parameters
    ----------
    bars : int
        Length in 4/4 bars, ≥ 1.
    seed : int
        Seeds the lead melody (everything else is fixed).
    bpm : float
        Tempo, 30–300 beats per minute.
    key : str
        Tonic and mode, e.g. ``"C"``, ``"G"``, ``"Bb"``, ``"Am"``.
    """
    if not isinstance(bars, int) or bars < 1:
        raise ParameterError(f"bars must be a whole number ≥ 1, got {bars!r}")
    _, minor = parse_key(key)
    loop = _MINOR_LOOP if minor else _MAJOR_LOOP
    return compose_song([Section("verse", bars, loop, lead_seed=seed)], bpm=bpm, key=key, seed=seed)


#: A pop form with contrast: (role, label, bars, major progression, minor progression, parts, velocity).
POP_FORM: tuple[tuple[str, str, int, tuple[tuple[int, str], ...], tuple[tuple[int, str], ...], frozenset[str], int], ...] = (
    ("intro", "A", 4, ((0, ""), (5, "")), ((0, "m"), (8, "")), frozenset({"chords", "pad"}), 60),
    ("verse", "B", 8, ((0, ""), (9, "m"), (5, ""), (7, "")), ((0, "m"), (10, ""), (8, ""), (7, "")),
     frozenset({"drums", "bass", "chords", "lead"}), 78),
    ("chorus", "C", 8, ((5, ""), (7, ""), (4, "m"), (9, "m")), ((8, ""), (3, ""), (10, ""), (0, "m")),
     frozenset({"drums", "bass", "chords", "pad", "lead"}), 110),
    ("verse", "B", 8, ((0, ""), (9, "m"), (5, ""), (7, "")), ((0, "m"), (10, ""), (8, ""), (7, "")),
     frozenset({"drums", "bass", "chords", "lead"}), 78),
    ("chorus", "C", 8, ((5, ""), (7, ""), (4, "m"), (9, "m")), ((8, ""), (3, ""), (10, ""), (0, "m")),
     frozenset({"drums", "bass", "chords", "pad", "lead"}), 110),
    ("bridge", "D", 8, ((2, "m"), (4, "m"), (5, ""), (7, "")), ((5, "m"), (7, ""), (8, ""), (10, "")),
     frozenset({"bass", "pad", "lead"}), 88),
    ("chorus", "C", 8, ((5, ""), (7, ""), (4, "m"), (9, "m")), ((8, ""), (3, ""), (10, ""), (0, "m")),
     frozenset({"drums", "bass", "chords", "pad", "lead"}), 110),
    ("outro", "E", 4, ((5, ""), (0, "")), ((8, ""), (0, "m")), frozenset({"chords", "pad"}), 60),
)


def pop_form_sections(key: str = "C", *, seed: int = 0) -> list[Section]:
    """The sections of :data:`POP_FORM` in ``key``; repeated labels repeat their melody verbatim."""
    _, minor = parse_key(key)
    return [Section(role, bars, minor_prog if minor else major_prog, parts, velocity, label,
                    lead_seed=seed * 100 + ord(label))
            for role, label, bars, major_prog, minor_prog, parts, velocity in POP_FORM]


def compose_song(sections: list[Section], *, bpm: float = 100.0, key: str = "C", seed: int = 0,
                 programs: dict[str, int] | None = None) -> tuple[mido.MidiFile, DraftInfo]:
    """Compose ``sections`` one after another; the :class:`DraftInfo` lists them as ground truth.

    ``programs`` overrides the General MIDI program (0–127) of parts: ``{"chords": 0, "lead": 73}``.
    """
    for part, program in (programs or {}).items():
        if part not in _PROGRAMS or not 0 <= program <= 127:
            raise ParameterError(f"programs: {part!r} → {program!r} is not a part ({', '.join(_PROGRAMS)}) and a 0–127 program")
    if not 30.0 <= bpm <= 300.0:
        raise ParameterError(f"tempo must be 30–300 BPM, got {bpm:g}")
    if not sections or any(not isinstance(s.bars, int) or s.bars < 1 for s in sections):
        raise ParameterError("a song needs sections of at least one whole bar")
    tonic, minor = parse_key(key)
    scale = _MINOR_SCALE if minor else _MAJOR_SCALE
    beat_s = 60.0 / bpm
    bar_s = BEATS_PER_BAR * beat_s
    notes: dict[str, list[Note]] = {"drums": [], "bass": [], "chords": [], "pad": [], "lead": []}
    chords: list[tuple[float, float, str]] = []
    section_truth: list[tuple[float, float, str, str]] = []
    bar = 0
    for index, section in enumerate(sections):
        rng = np.random.default_rng(section.lead_seed if section.lead_seed is not None else seed * 1000 + index)
        section_start = bar * bar_s
        for local in range(section.bars):
            start = bar * bar_s
            degree, quality = section.progression[local % len(section.progression)]
            root = (tonic + degree) % 12
            chords.append((start, (bar + 1) * bar_s, _chord_label(root, quality)))
            triad = _triad(root, quality)
            _bar_parts(notes, section, start, beat_s, triad, root)
            if "lead" in section.parts:
                notes["lead"] += [(t0, t1, pitch, section.velocity) for t0, t1, pitch, _ in
                                  _lead_bar(rng, start, beat_s, triad, tonic, scale, resting=(local % 2 == 1))]
            bar += 1
        section_truth.append((section_start, bar * bar_s, section.label, section.role))
    notes = {part: part_notes for part, part_notes in notes.items() if part_notes}
    midi = _to_midi(notes, bpm, tonic, minor, bar, {**_PROGRAMS, **(programs or {})})
    info = DraftInfo(
        bpm=float(bpm), bars=bar, key=_SHARP_NAMES[tonic] + ("m" if minor else ""), beats_per_bar=BEATS_PER_BAR,
        duration_s=bar * bar_s, chords=chords,
        beat_times_s=[i * beat_s for i in range(bar * BEATS_PER_BAR)],
        downbeat_times_s=[i * bar_s for i in range(bar)], notes=notes, sections=section_truth)
    return midi, info


def _bar_parts(notes: dict[str, list[Note]], section: Section, start: float, beat_s: float, triad: list[int],
               root: int) -> None:
    """Add one bar of drums, bass, chords and pad for ``section`` (all at its flat velocity)."""
    velocity = section.velocity
    if "chords" in section.parts:
        notes["chords"] += [(start + half * 2 * beat_s, start + (half * 2 + 1.9) * beat_s, p, velocity)
                            for half in range(2) for p in triad]
    if "pad" in section.parts:
        notes["pad"] += [(start, start + 3.95 * beat_s, p - 12, velocity) for p in triad]
    if "bass" in section.parts:
        bass_root = 36 + (root - 36) % 12
        notes["bass"] += [(start + i * beat_s / 2, start + (i + 0.9) * beat_s / 2, bass_root + (12 if i == 5 else 0),
                           velocity) for i in range(8)]
    if "drums" in section.parts:
        for i in range(8):
            t = start + i * beat_s / 2
            notes["drums"].append((t, t + beat_s / 4, _HAT, velocity))
            if i in (0, 4):
                notes["drums"].append((t, t + beat_s / 4, _KICK, velocity))
            if i in (2, 6):
                notes["drums"].append((t, t + beat_s / 4, _SNARE, velocity))


def _lead_bar(rng: np.random.Generator, start: float, beat_s: float, triad: list[int], tonic: int,
              scale: tuple[int, ...], *, resting: bool) -> list[Note]:
    """One bar of melody around octave 5: chord tones on strong beats, scale steps between.

    Every second bar ends its phrase early (a half-bar rest), as a two-bar phrase would.
    """
    chord_tones = [p + 12 for p in triad]
    scale_tones = [72 + ((tonic + s) % 12) - (12 if (tonic + s) % 12 > 7 else 0) for s in scale]
    rhythm = [1.0, 0.5, 0.5, 1.0] if not resting else [1.0, 1.0]
    out, t = [], 0.0
    for i, length in enumerate(rhythm):
        pool = chord_tones if i % 2 == 0 else scale_tones
        pitch = int(rng.choice(pool))
        out.append((start + t * beat_s, start + (t + length * 0.95) * beat_s, pitch, FLAT_VELOCITY))
        t += length
    return out


def _to_midi(notes: dict[str, list[Note]], bpm: float, tonic: int, minor: bool, bars: int,
             programs: dict[str, int]) -> mido.MidiFile:
    midi = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    tempo = mido.bpm2tempo(bpm)
    meta = mido.MidiTrack()
    meta.append(mido.MetaMessage("track_name", name="draft", time=0))
    meta.append(mido.MetaMessage("set_tempo", tempo=tempo, time=0))
    meta.append(mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0))
    key_name = _SHARP_NAMES[tonic] + ("m" if minor else "")
    meta.append(mido.MetaMessage("key_signature", key=key_name, time=0))
    meta.append(mido.MetaMessage("end_of_track", time=bars * BEATS_PER_BAR * TICKS_PER_BEAT))
    midi.tracks.append(meta)
    seconds_per_tick = 60.0 / bpm / TICKS_PER_BEAT
    for part, part_notes in notes.items():
        channel = _CHANNELS[part]
        track = mido.MidiTrack()
        track.append(mido.MetaMessage("track_name", name=part, time=0))
        if part != "drums":
            track.append(mido.Message("program_change", program=programs[part], channel=channel, time=0))
        events = []
        for start, end, pitch, velocity in part_notes:
            on, off = round(start / seconds_per_tick), round(end / seconds_per_tick)
            events.append((off, 0, mido.Message("note_off", note=pitch, velocity=0, channel=channel)))
            events.append((on, 1, mido.Message("note_on", note=pitch, velocity=velocity, channel=channel)))
        append_in_order(track, events)
        midi.tracks.append(track)
    return midi
