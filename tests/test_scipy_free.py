"""The numpy kernels that keep scipy out of the meters, the master and the limiter, and the
line-by-line median of the harmonic/percussive split, each against the scipy routine it
replaces (the reference)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage
import scipy.signal

from trackwright.analysis.spectrum import median_along, periodic_hann
from trackwright.mix import limiter
from trackwright.mix.match import MatchCurve, apply_fir, fir_from_curve


@pytest.mark.parametrize(("frames", "size"), [(10, 3), (5, 8), (70_000, 1), (200_000, 64), (300_000, 221)])
def test_limiter_hold_and_smoothing_equal_scipy_filters(frames: int, size: int) -> None:
    required = np.maximum(np.random.default_rng(frames).standard_normal(frames).astype(np.float32) * 3, 0)
    held = scipy.ndimage.maximum_filter1d(required, size=size, origin=-(size // 2), mode="nearest")
    limiter._release_in_place(held, 0.01)
    expected = scipy.ndimage.uniform_filter1d(held, size=size, origin=(size - 1) // 2, mode="nearest")
    assert np.abs(limiter._attenuation_span(required, size, 0.01) - expected).max() < 1e-5


def test_periodic_hann_is_scipys_hann() -> None:
    assert np.abs(periodic_hann(4096) - scipy.signal.get_window("hann", 4096)).max() < 1e-7


def test_match_fir_is_firwin2_and_its_convolution_scipys() -> None:
    rate = 44100
    freqs = np.fft.rfftfreq(8192, 1 / rate)
    curve = MatchCurve(freqs, 6 * np.sin(freqs / 3000))
    taps = fir_from_curve(curve, rate)
    nyquist = rate / 2
    grid = np.concatenate((freqs[freqs < nyquist], [nyquist]))
    gains = 10 ** (np.interp(grid, freqs, curve.gain_db) / 20)
    assert np.abs(taps - scipy.signal.firwin2(len(taps), grid / nyquist, gains, window="hann")).max() < 1e-6
    delay = (len(taps) - 1) // 2
    for frames in (10, 3000, 100_000):
        samples = (np.random.default_rng(frames).standard_normal((2, frames)) * 0.3).astype(np.float32)
        full = scipy.signal.oaconvolve(samples.astype(np.float64), taps[np.newaxis].astype(np.float64), axes=1)
        assert np.abs(apply_fir(samples, taps) - full[:, delay: delay + frames]).max() < 1e-5


@pytest.mark.parametrize(("axis", "size"), [(0, 121), (1, 17), (0, 1), (1, 400)])
def test_median_along_one_axis_equals_ndimage_median_filter(axis: int, size: int) -> None:
    values = np.abs(np.random.default_rng(size).standard_normal((300, 250))).astype(np.float32)
    kernel = (size, 1) if axis == 0 else (1, size)
    expected = scipy.ndimage.median_filter(values, size=kernel, mode="reflect")
    assert np.array_equal(median_along(values, axis, size), expected)
