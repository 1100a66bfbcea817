"""Key, chords (with qualities), harmonic rhythm and loop detection against exact ground truth."""

from __future__ import annotations

import mir_eval
import numpy as np
import pytest
from midi_fixtures import chord_sequence_midi

from trackwright.analysis.features import compute_features
from trackwright.analysis.harmony import analyze_harmony, find_loop
from trackwright.analysis.rhythm import analyze_rhythm
from trackwright.produce.fluidsynth import render_midi
from trackwright.score.draft import compose_draft_with_truth


def harte(label: str) -> str:
    return label[:-1] + ":min" if label.endswith("m") else label + ":maj"


def analyse(midi):  # noqa: ANN001, ANN202 - test helper
    features = compute_features(render_midi(midi, sample_rate=22050))
    return analyze_harmony(features, analyze_rhythm(features))


@pytest.mark.parametrize("key, bpm, expected", [("C", 100, ("C", "major")), ("Bb", 90, ("Bb", "major")),
                                                ("Am", 118, ("A", "minor")), ("E", 76, ("E", "major"))])
def test_drafts_key_chords_and_loop(key: str, bpm: float, expected: tuple[str, str]) -> None:
    midi, truth = compose_draft_with_truth(bars=16, bpm=bpm, key=key, seed=3)
    harmony = analyse(midi)
    assert (harmony.key.tonic, harmony.key.mode) == expected
    reference = np.array([[s, e] for s, e, _ in truth.chords])
    estimated = np.array([[c.start_s, c.end_s] for c in harmony.chords])
    labels = [c.label for c in harmony.chords]
    estimated, labels = mir_eval.util.adjust_intervals(estimated, labels, 0.0, truth.duration_s, "N", "N")
    scores = mir_eval.chord.evaluate(reference, [harte(l) for _, _, l in truth.chords], estimated, labels)
    assert scores["majmin"] >= 0.9
    assert harmony.loop is not None and harmony.loop.bars == 4 and harmony.loop.repetitions == 4
    assert [c.split(":")[0] for c in harmony.loop.chords] == [harte(l).split(":")[0] for _, _, l in truth.chords[:4]]
    assert harmony.changes_per_bar == pytest.approx(1.0, abs=0.2)


def test_chord_qualities() -> None:
    labels = ["C:7", "B:dim", "D:sus4", "F:maj7", "A:min7", "E:min", "G:maj", "D:sus2"]
    harmony = analyse(chord_sequence_midi(labels, bpm=90.0))
    bar_s = 4 * 60.0 / 90.0
    got = []
    for i in range(len(labels)):
        middle = (i + 0.5) * bar_s
        got.append(next(c.label for c in harmony.chords if c.start_s <= middle < c.end_s))
    exact = sum(g == want for g, want in zip(got, labels))
    assert exact >= 6, list(zip(labels, got))
    roots = sum(g.split(":")[0] == want.split(":")[0] for g, want in zip(got, labels) if g != "N")
    assert roots >= 7, list(zip(labels, got))


def test_through_composed_progression_has_no_loop_and_silence_is_n() -> None:
    labels = ["C:maj", "A:min", "F:maj", "G:maj", "E:min", "A:min", "D:min", "G:maj",
              "C:maj", "F:maj", "Bb:maj", "F:maj", "D:min", "E:maj", "A:min", "C:maj"]
    harmony = analyse(chord_sequence_midi(labels, bpm=100.0, silence_beats=8))
    assert harmony.loop is None
    assert harmony.chords[0].label == "N" and harmony.chords[0].end_s >= 3.5


def test_find_loop_on_label_sequences() -> None:
    downbeats = np.arange(16) * 2.0
    loop = find_loop(["C:maj", "G:maj", "A:min", "F:maj"] * 4, downbeats, 32.0)
    assert loop is not None and loop.chords == ["C:maj", "G:maj", "A:min", "F:maj"] and loop.bars == 4
    two_bar_chords = find_loop(["C:maj", "C:maj", "F:maj", "F:maj"] * 4, downbeats, 32.0)
    assert two_bar_chords is not None and two_bar_chords.chords == ["C:maj", "F:maj"]
    assert find_loop(["C:maj"] * 16, downbeats, 32.0) is None
