"""The block-matrix IIR cascade against scipy's sample-by-sample ``sosfilt`` (the reference)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal

from trackwright.analysis.blockiir import BlockIIR
from trackwright.analysis.loudness import k_weighting_sos


@pytest.mark.parametrize("rate", [8000, 44100, 192000])
def test_pieces_of_any_length_equal_one_recursive_pass(rate: int) -> None:
    """Fed in awkward pieces (1 frame, a block minus one, a group plus some …) the state carries
    over exactly: the joined output equals one sosfilt pass to 1e-9 of full scale."""
    samples = (np.random.default_rng(rate).standard_normal((2, 60_000)) * 0.3).astype(np.float32)
    expected = scipy.signal.sosfilt(k_weighting_sos(rate), samples.astype(np.float64), axis=1)
    block = BlockIIR(k_weighting_sos(rate), 2)
    pieces, start = [], 0
    for length in (1, 31, 32, 1023, 1025, 5000, 16384, 3, 40_000):
        pieces.append(block.filter(samples[:, start: start + length]))
        start += length
    got = np.concatenate(pieces, axis=1)
    assert got.shape == samples.shape
    assert np.abs(got - expected).max() < 1e-9


def test_a_single_section_with_feedforward_only_is_an_fir() -> None:
    """b = (0.5, 0.25, 0.125), a = (1, 0, 0): the output is the three-tap FIR, computed by hand."""
    signal = np.random.default_rng(1).standard_normal((1, 3000))
    got = BlockIIR(np.array([[0.5, 0.25, 0.125, 1.0, 0.0, 0.0]]), 1).filter(signal)[0]
    padded = np.concatenate(([0.0, 0.0], signal[0]))
    expected = 0.5 * padded[2:] + 0.25 * padded[1:-1] + 0.125 * padded[:-2]
    assert np.abs(got - expected).max() < 1e-12
