"""Short pieces in a given metre, as MIDI with their exact beats and bar lines.

Positions are in eighth notes; a metre is (beats per bar, eighths per beat): 2/4 is (2, 2),
6/8 is (2, 3). A tempo map gives the seconds per beat at every beat, so rubato is exact too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import mido
import numpy as np

from trackwright.score.midifile import append_in_order

TICKS_PER_EIGHTH = 240
#: (beats per bar, eighths per beat) of each time signature.
METRES = {"2/4": (2, 2), "3/4": (3, 2), "4/4": (4, 2), "6/8": (2, 3), "9/8": (3, 3), "12/8": (4, 3)}
#: I–IV–V–I in C, then vi–ii–V–I: one chord a bar (root, third, fifth as MIDI pitches).
CHORDS = ((48, 52, 55), (53, 57, 60), (55, 59, 62), (48, 52, 55), (57, 60, 64), (50, 53, 57), (55, 59, 62),
          (48, 52, 55))

Event = tuple[float, float, int, int, int]
"""(start eighth, end eighth, pitch, velocity, channel)."""


def render_events(events: Sequence[Event], beat_seconds: Sequence[float], eighths_per_beat: int,
                  programs: dict[int, int]) -> mido.MidiFile:
    """Type-0 MIDI of ``events`` whose beat ``k`` lasts ``beat_seconds[k]`` (one tempo event per beat)."""
    midi = mido.MidiFile(type=0, ticks_per_beat=TICKS_PER_EIGHTH * 2)
    track = mido.MidiTrack()
    midi.tracks.append(track)
    timeline: list[tuple[int, int, mido.Message | mido.MetaMessage]] = []
    beat_ticks = TICKS_PER_EIGHTH * eighths_per_beat
    for k, seconds in enumerate(beat_seconds):
        quarter_us = round(seconds * 1e6 * 2 / eighths_per_beat)  # the beat holds eighths_per_beat eighths
        timeline.append((k * beat_ticks, 0, mido.MetaMessage("set_tempo", tempo=quarter_us)))
    for channel, program in programs.items():
        timeline.append((0, 1, mido.Message("program_change", channel=channel, program=program)))
    for start, end, pitch, velocity, channel in events:
        on, off = round(start * TICKS_PER_EIGHTH), round(end * TICKS_PER_EIGHTH)
        timeline.append((off, 2, mido.Message("note_off", note=pitch, velocity=0, channel=channel)))
        timeline.append((on, 3, mido.Message("note_on", note=pitch, velocity=velocity, channel=channel)))
    append_in_order(track, timeline)
    return midi


def beat_times(beat_seconds: Sequence[float]) -> np.ndarray:
    """Onset of every beat, seconds."""
    return np.concatenate(([0.0], np.cumsum(beat_seconds)[:-1]))


def metre_piece(metre: str, bpm: float, bars: int, *, rng: np.random.Generator,
                tempo_curve: Callable[[np.ndarray], np.ndarray] | None = None,
                ) -> tuple[mido.MidiFile, np.ndarray, np.ndarray]:
    """A folk-dance texture in ``metre``: bass on every beat (the bar's root on the downbeat,
    its fifth elsewhere), a broken chord on every eighth, a tune of beat- and eighth-notes, one
    chord a bar. ``tempo_curve`` maps beat indices to a tempo factor (rubato).

    Returns (MIDI, beat times s, downbeat times s); ``bpm`` counts metrical beats.
    """
    per_bar, division = METRES[metre]
    events: list[Event] = []
    for bar in range(bars):
        root, third, fifth = CHORDS[bar % len(CHORDS)]
        start = bar * per_bar * division
        for beat in range(per_bar):
            at = start + beat * division
            events.append((at, at + division - 0.2, root - 12 if beat == 0 else fifth - 12, 96 if beat == 0 else 76, 1))
            figure = (root, third, fifth) if division == 3 else (root + 12, fifth)
            for k, pitch in enumerate(figure):
                events.append((at + k, at + k + 0.9, pitch + 12, 62 if k else 70, 2))
            tune = [root + 24, third + 24, fifth + 24, fifth + 19]
            if rng.random() < 0.5:
                events.append((at, at + division - 0.1, int(rng.choice(tune)), 88, 0))
            else:
                for k in range(division):
                    events.append((at + k, at + k + 0.9, int(rng.choice(tune)), 84, 0))
    beats_total = bars * per_bar
    factors = np.ones(beats_total) if tempo_curve is None else tempo_curve(np.arange(beats_total))
    seconds = 60.0 / (bpm * factors)
    midi = render_events(events, seconds, division, {0: 73, 1: 32, 2: 46})
    beats = beat_times(seconds)
    return midi, beats, beats[::per_bar]


def halftime_electronic(bpm: float, bars: int) -> tuple[mido.MidiFile, np.ndarray, np.ndarray]:
    """A 4/4 electronic loop with a half-time feel: a kick on every beat, one clap a bar on beat
    3, hats and a synth bass on the off-beats, a pad chord a bar. (MIDI, beats s, downbeats s)."""
    events: list[Event] = []
    for bar in range(bars):
        root, third, fifth = CHORDS[(2 * bar) % 4]
        start = bar * 8
        for pitch in (root + 12, third + 12, fifth + 12):
            events.append((start, start + 7.9, pitch, 50, 2))
        for beat in range(4):
            at = start + 2 * beat
            events.append((at, at + 0.5, 36, 110, 9))
            events.append((at + 1, at + 1.5, 42, 70, 9))
            events.append((at + 1, at + 1.8, root - 12, 90, 1))
        events.append((start + 4, start + 4.5, 39, 100, 9))
    seconds = [60.0 / bpm] * (4 * bars)
    midi = render_events(events, seconds, 2, {1: 38, 2: 89})
    beats = beat_times(seconds)
    return midi, beats, beats[::4]


def rag(bpm: float, bars: int) -> tuple[mido.MidiFile, np.ndarray, np.ndarray]:
    """2/4 ragtime: a stride left hand (bass on the beats, chords between) under a right hand
    whose notes fall a sixteenth before the beat and are tied over it. (MIDI, beats s, downbeats s)."""
    events: list[Event] = []
    for bar in range(bars):
        root, third, fifth = CHORDS[bar % len(CHORDS)]
        start = bar * 4
        for beat, bass in enumerate((root - 12, fifth - 12)):
            at = start + 2 * beat
            events.append((at, at + 0.9, bass, 92, 1))
            for pitch in (third, fifth, root + 12):
                events.append((at + 1, at + 1.8, pitch, 64, 1))
        for offset, length, pitch in ((0.0, 0.5, root + 24), (0.5, 1.0, third + 24), (1.5, 1.0, fifth + 24),
                                      (2.5, 1.0, third + 24), (3.5, 0.5, root + 24)):
            events.append((start + offset, start + offset + length - 0.05, pitch, 90, 0))
    seconds = [60.0 / bpm] * (2 * bars)
    midi = render_events(events, seconds, 2, {0: 0, 1: 0})
    beats = beat_times(seconds)
    return midi, beats, beats[::2]
