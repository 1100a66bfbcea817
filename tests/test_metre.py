"""Metre as the music has it: simple and compound metres, a half-time groove, a rag, rubato
(rendered MIDI with exact beats and bars, see metre_fixtures)."""

from __future__ import annotations

from collections.abc import Callable

import mido
import mir_eval
import numpy as np
import pytest
from metre_fixtures import halftime_electronic, metre_piece, rag

from trackwright.analysis.features import compute_features
from trackwright.analysis.metre import grid_score, signature, standardised
from trackwright.analysis.rhythm import Rhythm, analyze_rhythm
from trackwright.produce.fluidsynth import render_midi


def _heard(midi: mido.MidiFile) -> Rhythm:
    return analyze_rhythm(compute_features(render_midi(midi, sample_rate=22050)))


def _f(reference: np.ndarray, estimate: np.ndarray) -> float:
    return mir_eval.beat.f_measure(np.asarray(reference), np.asarray(estimate))


@pytest.mark.parametrize("metre, bpm, bars", [("2/4", 104.0, 16), ("3/4", 132.0, 12), ("4/4", 96.0, 8),
                                              ("6/8", 108.0, 12), ("9/8", 112.0, 8), ("12/8", 84.0, 6)])
def test_each_metre_is_heard_with_its_beat_and_bars(metre: str, bpm: float, bars: int, rng: np.random.Generator,
                                                    ) -> None:
    """Beats on the metrical beat (the dotted quarter in x/8), bars of 2, 3 or 4 of them; the
    code before compound metres could only say x/4 and tracked the eighths or quarter pairs."""
    midi, beats, downbeats = metre_piece(metre, bpm, bars, rng=rng)
    rhythm = _heard(midi)
    assert rhythm.time_signature == metre
    assert rhythm.tempo_bpm == pytest.approx(bpm, rel=0.02)
    assert _f(beats, rhythm.beats_s) >= 0.9
    assert _f(downbeats, rhythm.downbeats_s) >= 0.85
    # the eighths: every beat divided in its subdivision
    eighths = rhythm.subdivisions_s()
    assert np.median(np.diff(eighths)) == pytest.approx(60.0 / bpm / (3 if metre.endswith("8") else 2), rel=0.03)


@pytest.mark.parametrize("piece, bpm, bars, metre", [
    # 123 BPM: a kick on every beat, one clap a bar on beat 3 (the half-time feel that read as
    # 61 BPM), hats and a pitched bass on the off-beats (which pull the phase half a beat).
    pytest.param(halftime_electronic, 123.0, 12, "4/4", id="half-time electronic draft"),
    # The right hand lands a sixteenth before the beat and ties over it; the beat is the left
    # hand's bass, not the syncopation.
    pytest.param(rag, 92.0, 16, "2/4", id="syncopated rag"),
])
def test_the_beat_is_the_pulse_not_the_half_time_feel_or_the_syncopation(
        piece: Callable[[float, int], tuple[mido.MidiFile, np.ndarray, np.ndarray]], bpm: float, bars: int,
        metre: str) -> None:
    midi, beats, downbeats = piece(bpm, bars)
    rhythm = _heard(midi)
    assert rhythm.tempo_bpm == pytest.approx(bpm, rel=0.02)
    assert rhythm.time_signature == metre
    assert _f(beats, rhythm.beats_s) >= 0.95
    assert _f(downbeats, rhythm.downbeats_s) >= 0.9


def test_rubato_line_is_followed_beat_by_beat(rng: np.random.Generator) -> None:
    """±12 % swells every 12 beats: the beats follow the tempo map and the curve drifts."""
    midi, beats, downbeats = metre_piece("3/4", 100.0, 18, rng=rng,
                                         tempo_curve=lambda k: 1.0 + 0.12 * np.sin(2 * np.pi * k / 12))
    rhythm = _heard(midi)
    assert rhythm.drifts
    assert _f(beats, rhythm.beats_s) >= 0.9
    assert rhythm.time_signature == "3/4"
    local = 60.0 / np.diff(beats)
    # the curve follows the swell: fastest and slowest within 5 % of the map's
    assert rhythm.tempo_curve_bpm.max() == pytest.approx(local.max(), rel=0.05)
    assert rhythm.tempo_curve_bpm.min() == pytest.approx(local.min(), rel=0.05)


def test_grid_score_prefers_the_hierarchy_the_accents_have() -> None:
    """Accents every 0.5 s with weaker ones a third of the way: a compound beat of 0.5 s beats a
    simple grid at 0.5 s and the off-beat grid; the same accents halved read simple."""
    rate = 100.0
    accent = np.zeros(3000)
    accent[::50] = 3.0
    accent[np.r_[17:3000:50]] = 1.0
    accent[np.r_[33:3000:50]] = 1.0
    z = standardised(accent)
    beats = np.arange(0.0, 29.5, 0.5)
    compound = grid_score(z, rate, beats)
    offbeat = grid_score(z, rate, beats + 0.25)
    assert compound.subdivision == 3 and compound.thirds > compound.halves
    assert compound.score > offbeat.score
    accent = np.zeros(3000)
    accent[::50] = 3.0
    accent[np.r_[25:3000:50]] = 1.0
    assert grid_score(standardised(accent), rate, beats).subdivision == 2
    assert signature(2, 3) == "6/8" and signature(4, 3) == "12/8" and signature(3, 2) == "3/4"
