"""The built-in draft: its looped four-chord progression, flat dynamics and grid, as MIDI and as audio."""

from __future__ import annotations

import io
from collections import defaultdict

import mido
import numpy as np
import pytest

from trackwright.analysis.loudness import measure_loudness
from trackwright.errors import ParameterError
from trackwright.produce.fluidsynth import render_midi
from trackwright.score.draft import FLAT_VELOCITY, compose_draft_with_truth


def notes_by_channel(midi: mido.MidiFile) -> dict[int, list[tuple[float, int, int]]]:
    """channel → (start s, pitch, velocity) of every note-on."""
    out: dict[int, list[tuple[float, int, int]]] = defaultdict(list)
    now = 0.0
    for message in midi:
        now += message.time
        if message.type == "note_on" and message.velocity > 0:
            out[message.channel].append((now, message.note, message.velocity))
    return out


def chord_pitch_classes_per_bar(midi: mido.MidiFile, bar_s: float, bars: int) -> list[set[int]]:
    chords = notes_by_channel(midi)[2]
    return [{p % 12 for t, p, _ in chords if bar * bar_s - 1e-6 <= t < (bar + 1) * bar_s - 1e-6} for bar in range(bars)]


@pytest.mark.parametrize("key, expected", [
    ("C", [{0, 4, 7}, {7, 11, 2}, {9, 0, 4}, {5, 9, 0}]),         # C G Am F
    ("G", [{7, 11, 2}, {2, 6, 9}, {4, 7, 11}, {0, 4, 7}]),        # G D Em C
    ("Am", [{9, 0, 4}, {5, 9, 0}, {2, 5, 9}, {4, 8, 11}]),        # Am F Dm E
    ("Bb", [{10, 2, 5}, {5, 9, 0}, {7, 10, 2}, {3, 7, 10}]),      # Bb F Gm Eb
    ("F#", [{6, 10, 1}, {1, 5, 8}, {3, 6, 10}, {11, 3, 6}]),      # F# C# D#m B
])
def test_the_progression_is_one_loop_all_song_long(key: str, expected: list[set[int]]) -> None:
    midi, info = compose_draft_with_truth(bars=12, key=key, bpm=120.0)
    per_bar = chord_pitch_classes_per_bar(midi, 2.0, 12)
    assert per_bar == [expected[bar % 4] for bar in range(12)]
    assert [label for _, _, label in info.chords[:4]] == {
        "C": ["C", "G", "Am", "F"], "G": ["G", "D", "Em", "C"], "Am": ["Am", "F", "Dm", "E"],
        "Bb": ["Bb", "F", "Gm", "Eb"], "F#": ["F#", "C#", "Ebm", "B"]}[key]
    assert [label for _, _, label in info.chords] == [label for _, _, label in info.chords[:4]] * 3


def test_four_parts_drums_on_channel_10_and_flat_velocities() -> None:
    midi, info = compose_draft_with_truth(bars=8)
    channels = notes_by_channel(midi)
    assert set(channels) == {1, 2, 3, 9}
    assert {p for _, p, _ in channels[9]} == {36, 38, 42}
    assert {v for notes in channels.values() for _, _, v in notes} == {FLAT_VELOCITY}
    assert set(info.notes) == {"drums", "bass", "chords", "lead"}
    lead = [p for _, p, _ in channels[3]]
    assert 60 <= min(lead) and max(lead) <= 88


def test_midi_layout_meta_and_programs() -> None:
    midi, info = compose_draft_with_truth(bars=4, bpm=100.0, key="G")
    assert midi.type == 1 and midi.ticks_per_beat == 480 and len(midi.tracks) == 5
    meta = {m.type: m for m in midi.tracks[0] if m.is_meta}
    assert meta["set_tempo"].tempo == mido.bpm2tempo(100.0)
    assert (meta["time_signature"].numerator, meta["time_signature"].denominator) == (4, 4)
    assert meta["key_signature"].key == "G" and info.key == "G"
    names = [next(m.name for m in track if m.type == "track_name") for track in midi.tracks]
    assert names == ["draft", "drums", "bass", "chords", "lead"]
    programs = {m.channel: m.program for track in midi.tracks for m in track if m.type == "program_change"}
    assert programs == {1: 33, 2: 4, 3: 80}, "bass, electric piano, lead; none on the drum channel"


def test_voicings_and_drum_pattern() -> None:
    midi, info = compose_draft_with_truth(bars=4, bpm=120.0)
    channels = notes_by_channel(midi)
    assert all(36 <= p < 60 for _, p, _ in channels[1]), "bass in octaves 2–3"
    assert all(54 <= p <= 72 for _, p, _ in channels[2]), "triads around middle C"
    beat = 0.5
    hits = {pitch: sorted(round(t / beat * 2) / 2 for t, p, _ in channels[9] if p == pitch) for pitch in (36, 38, 42)}
    assert hits[36] == [b + o for b in range(0, 16, 4) for o in (0, 2)], "kick on 1 and 3"
    assert hits[38] == [b + o for b in range(0, 16, 4) for o in (1, 3)], "snare on 2 and 4"
    assert hits[42] == [i / 2 for i in range(32)], "closed hat on eighths"
    # the truth lists exactly the notes in the MIDI
    for channel, part in ((1, "bass"), (2, "chords"), (3, "lead"), (9, "drums")):
        midi_notes = sorted((round(t, 3), p) for t, p, _ in channels[channel])
        assert midi_notes == sorted((round(s, 3), p) for s, _, p, _ in info.notes[part])


def test_grid_and_length() -> None:
    midi, info = compose_draft_with_truth(bars=10, bpm=90.0)
    assert info.duration_s == pytest.approx(10 * 4 * 60 / 90)
    assert midi.length == pytest.approx(info.duration_s, abs=1e-3)
    assert len(info.beat_times_s) == 40 and info.downbeat_times_s[1] == pytest.approx(4 * 60 / 90)
    kicks = [t for t, p, _ in notes_by_channel(midi)[9] if p == 36]
    np.testing.assert_allclose(kicks[::2], info.downbeat_times_s, atol=1e-3)


def test_seeded_and_reproducible() -> None:
    def as_bytes(seed: int) -> bytes:
        buffer = io.BytesIO()
        compose_draft_with_truth(bars=8, seed=seed)[0].save(file=buffer)
        return buffer.getvalue()

    assert as_bytes(3) == as_bytes(3)
    assert as_bytes(3) != as_bytes(4)
    a, b = compose_draft_with_truth(bars=8, seed=3)[1], compose_draft_with_truth(bars=8, seed=4)[1]
    assert a.notes["chords"] == b.notes["chords"] and a.notes["lead"] != b.notes["lead"]


def test_rendered_draft_is_music_with_flat_dynamics() -> None:
    midi, info = compose_draft_with_truth(bars=8, bpm=120.0)
    audio = render_midi(midi, sample_rate=22050)
    assert info.duration_s <= audio.duration_s <= info.duration_s + 2.0
    report = measure_loudness(audio)
    assert -30.0 < report.integrated_lufs < -6.0
    assert report.loudness_range_lu is not None and report.loudness_range_lu < 4.0, "flat dynamics"
    # the bass plays the chord roots: C, G, A, F in successive bars
    rate = audio.sample_rate
    for bar, root_hz in enumerate((65.41, 98.0, 110.0, 87.31)):
        segment = audio.samples.mean(axis=0)[round((bar * 2 + 0.2) * rate): round((bar * 2 + 1.8) * rate)]
        spectrum = np.abs(np.fft.rfft(segment * np.hanning(len(segment))))
        freqs = np.fft.rfftfreq(len(segment), 1 / rate)
        low = (freqs > 50) & (freqs < 125)
        assert freqs[low][np.argmax(spectrum[low])] == pytest.approx(root_hz, rel=0.03)


@pytest.mark.parametrize("kwargs", [{"bars": 0}, {"bpm": 10.0}, {"key": "H"}, {"bars": 2.5}])
def test_bad_arguments(kwargs: dict[str, object]) -> None:
    with pytest.raises(ParameterError):
        compose_draft_with_truth(**kwargs)  # type: ignore[arg-type]
