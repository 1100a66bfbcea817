"""The numpy stand-ins of :mod:`trackwright.analysis.filters` return what scipy returns for the
same arguments (scipy is the reference here), on random series, series with flat tops and ties,
and the edge cases the analysis meets (even sizes, windows longer than the series, origins)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage
import scipy.signal

from trackwright.analysis import filters


def _series(rng: np.random.Generator, n: int, dtype: type = np.float64) -> np.ndarray:
    return rng.standard_normal(n).astype(dtype)


def _plateaus(rng: np.random.Generator, n: int) -> np.ndarray:
    """Integer steps: flat tops, equal neighbours and equal peak heights everywhere."""
    return rng.integers(0, 6, n).astype(np.float64)


@pytest.mark.parametrize("mode", ["reflect", "nearest", "constant"])
@pytest.mark.parametrize("size", [1, 2, 5, 8, 9, 60])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_uniform_filter1d(rng: np.random.Generator, mode: str, size: int, dtype: type) -> None:
    for n in (7, 400):
        x = _series(rng, n, dtype)
        expected = scipy.ndimage.uniform_filter1d(x, size, mode=mode)
        got = filters.uniform_filter1d(x, size, mode=mode)
        assert got.dtype == expected.dtype
        np.testing.assert_allclose(got, expected, rtol=1e-5 if dtype == np.float32 else 1e-10, atol=1e-6)


def test_uniform_filter1d_origin_axis_and_chunks(rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch) -> None:
    x = rng.random(5000).astype(np.float32)
    monkeypatch.setattr(filters, "_CHUNK", 777)  # many chunks, the last one short
    np.testing.assert_allclose(filters.uniform_filter1d(x, 8, origin=-4, mode="constant"),
                               scipy.ndimage.uniform_filter1d(x, 8, origin=-4, mode="constant"), rtol=1e-5)
    np.testing.assert_allclose(filters.uniform_filter1d(x, 883, mode="nearest"),
                               scipy.ndimage.uniform_filter1d(x, 883, mode="nearest"), rtol=1e-5)
    bands = rng.standard_normal((10, 3000)).astype(np.float32)
    np.testing.assert_allclose(filters.uniform_filter1d(bands, 43, axis=1),
                               scipy.ndimage.uniform_filter1d(bands, 43, axis=1), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("mode", ["reflect", "nearest"])
@pytest.mark.parametrize("size", [2, 3, 5, 9, 43])
def test_maximum_and_median_filters(rng: np.random.Generator, mode: str, size: int) -> None:
    for x in (_series(rng, 300), _plateaus(rng, 300), _series(rng, 4)):
        np.testing.assert_array_equal(filters.maximum_filter1d(x, size, mode=mode),
                                      scipy.ndimage.maximum_filter1d(x, size, mode=mode))
        if mode == "reflect" and size > len(x):
            continue  # scipy's 1-D rank filter reflects differently there (the analysis never asks)
        np.testing.assert_array_equal(filters.median_filter1d(x, size, mode=mode),
                                      scipy.ndimage.median_filter(x, size=size, mode=mode))


@pytest.mark.parametrize("sigma", [0.5, 1.3, 4.0])
def test_gaussian_filter1d(rng: np.random.Generator, sigma: float) -> None:
    for x in (_series(rng, 500, np.float32), _series(rng, 500)):
        np.testing.assert_allclose(filters.gaussian_filter1d(x, sigma), scipy.ndimage.gaussian_filter1d(x, sigma),
                                   rtol=1e-5, atol=1e-6)


def test_gaussian_window() -> None:
    for size, std in ((8, 4 / 1.5), (16, 8 / 1.5), (7, 2.0)):
        np.testing.assert_allclose(filters.gaussian_window(size, std), scipy.signal.windows.gaussian(size, std=std),
                                   rtol=1e-12)


@pytest.mark.parametrize("distance", [None, 1, 3, 8.5, 40])
@pytest.mark.parametrize("with_height", [False, True])
def test_find_peaks(rng: np.random.Generator, distance: float | None, with_height: bool) -> None:
    for x in (_series(rng, 2000), _plateaus(rng, 2000), np.array([0.0, 1.0, 1.0, 1.0]), np.array([1.0, 0.0]),
              np.array([0.0, 2.0, 2.0, 1.0, 3.0, 3.0, 3.0, 3.0, 0.0, np.nan, 1.0, 0.0])):
        height = float(np.nanmean(x)) if with_height else None
        expected, _ = scipy.signal.find_peaks(x, height=height, distance=distance)
        np.testing.assert_array_equal(filters.find_peaks(x, height=height, distance=distance), expected)


@pytest.mark.parametrize("cutoff_hz, rate", [(120.0, 1000), (250.0, 4000), (18000.0, 44100)])
def test_butterworth_and_zero_phase_filter(rng: np.random.Generator, cutoff_hz: float, rate: int) -> None:
    sos = filters.butter_lowpass_sos(cutoff_hz, rate)
    np.testing.assert_allclose(sos, scipy.signal.butter(2, cutoff_hz, fs=rate, output="sos"), rtol=1e-12, atol=1e-15)
    x = rng.standard_normal((2, 3000)).astype(np.float32) + 0.3
    np.testing.assert_allclose(filters.sosfiltfilt(sos, x), scipy.signal.sosfiltfilt(sos, x, axis=1), atol=1e-9)


def test_correlate_valid(rng: np.random.Generator) -> None:
    search, reference = rng.standard_normal(5000), rng.standard_normal(1200)
    np.testing.assert_allclose(filters.correlate_valid(search, reference),
                               scipy.signal.correlate(search, reference, mode="valid", method="fft"), atol=1e-9)
