"""Small MIDI builders for tests: chord sequences with known labels."""

from __future__ import annotations

import mido

PITCH_CLASS = {"C": 0, "C#": 1, "D": 2, "Eb": 3, "E": 4, "F": 5, "F#": 6, "G": 7, "Ab": 8, "A": 9, "Bb": 10, "B": 11}
INTERVALS = {"maj": (0, 4, 7), "min": (0, 3, 7), "7": (0, 4, 7, 10), "maj7": (0, 4, 7, 11), "min7": (0, 3, 7, 10),
             "dim": (0, 3, 6), "sus4": (0, 5, 7), "sus2": (0, 2, 7)}


def chord_sequence_midi(labels: list[str], *, bpm: float = 90.0, beats_per_chord: int = 4,
                        program: int = 0, silence_beats: int = 0) -> mido.MidiFile:
    """Each Harte label (``"C:maj"``) as a bar of re-struck quarter-note chords with the root in the bass.

    ``silence_beats`` of rest come first.
    """
    midi = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    midi.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0))
    track.append(mido.Message("program_change", program=program, time=0))
    wait = silence_beats * 480
    for label in labels:
        root_name, quality = label.split(":")
        root = PITCH_CLASS[root_name]
        pitches = [36 + root] + [60 + (root + i) % 12 for i in INTERVALS[quality]]
        for _ in range(beats_per_chord):
            for i, pitch in enumerate(pitches):
                track.append(mido.Message("note_on", note=pitch, velocity=80, time=wait if i == 0 else 0))
                wait = 0
            for i, pitch in enumerate(pitches):
                track.append(mido.Message("note_off", note=pitch, velocity=0, time=456 if i == 0 else 0))
            wait = 24
    return midi
