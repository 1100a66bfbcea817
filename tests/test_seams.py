"""How the waveform breaks at an edge: a gain change, one channel's sign flipping, or a splice;
and the stretches two edges that undo each other bracket.

Signals are built in code (a chord of partials with a little noise, each channel its own phases,
22.05 kHz); the planted factor, channel and time are the reference.
"""

from __future__ import annotations

import numpy as np
import pytest

from trackwright.analysis.seams import (
    FLIP,
    GAIN,
    OTHER,
    Edge,
    bracketed_stretches,
    edge_at,
)

RATE = 22050


def chord(seconds: float, freqs: tuple[float, ...], seed: int) -> np.ndarray:
    """A stereo chord (2 × frames), each channel with its own partial phases, plus −60 dB noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * RATE)) / RATE
    channels = [sum(np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi)) for f in freqs) / len(freqs)
                for _ in range(2)]
    return (0.3 * np.array(channels) + 1e-3 * rng.standard_normal((2, len(t)))).astype(np.float32)


FREQS = (220.0, 277.2, 329.6, 440.0, 659.3)


def test_a_gain_step_is_a_gain_edge_with_its_factor() -> None:
    x = chord(2.0, FREQS, 1)
    at = 22050 + 137
    x[:, at:] *= np.float32(10 ** (-8 / 20))
    edge = edge_at(x, RATE, at / RATE + 0.0005)
    assert edge.kind == GAIN
    assert 20 * np.log10(edge.factor) == pytest.approx(-8.0, abs=0.5)
    assert abs(edge.time_s - at / RATE) <= 0.001


def test_one_channel_inverted_is_a_flip_edge_of_that_channel() -> None:
    x = chord(2.0, FREQS, 2)
    at = 22050 + 311
    x[1, at:] = -x[1, at:]
    edge = edge_at(x, RATE, at / RATE - 0.0005)
    assert (edge.kind, edge.channel) == (FLIP, 1)
    assert abs(edge.time_s - at / RATE) <= 0.001


def test_a_splice_into_other_music_is_neither() -> None:
    a, b = chord(1.0, FREQS, 3), chord(1.0, (196.0, 246.9, 293.7, 392.0), 4)
    assert edge_at(np.concatenate((a, b), axis=1), RATE, 1.0).kind == OTHER


def test_edges_that_undo_each_other_bracket_a_stretch() -> None:
    x = chord(12.0, FREQS, 5)
    down, up = Edge(2.0, GAIN, 10 ** (-8 / 20)), Edge(7.5, GAIN, 10 ** (7.5 / 20))
    jumps = bracketed_stretches(x, RATE, [down, up])
    assert [(d.kind, d.start_s, d.end_s) for d in jumps] == [("level_jump", 2.0, 7.5)]
    assert jumps[0].evidence["gain_db"] == pytest.approx(-7.75, abs=0.01)
    flips = bracketed_stretches(x, RATE, [Edge(3.0, FLIP, -1.0, 0), Edge(9.0, FLIP, -1.0, 0)])
    assert [(d.kind, d.start_s, d.end_s) for d in flips] == [("phase_flip", 3.0, 9.0)]
    # two steps the same way, or flips of different channels, bracket nothing
    assert bracketed_stretches(x, RATE, [down, Edge(7.5, GAIN, 10 ** (-8 / 20))]) == []
    assert bracketed_stretches(x, RATE, [Edge(3.0, FLIP, -1.0, 0), Edge(9.0, FLIP, -1.0, 1)]) == []
