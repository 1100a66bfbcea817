"""The few ``scipy.ndimage`` and ``scipy.signal`` routines the analysis uses, in numpy alone.

Importing ``scipy.signal`` (which pulls in ``scipy.stats``, ``scipy.interpolate``…) and
``scipy.ndimage`` costs about 1.5 s of CPU at start-up, a third of ``trackwright analyze`` on a
3-minute song; these stand-ins return what scipy returns for the arguments the analysis passes
(to float rounding, ~1e-12 relative; ``tests/test_filters.py`` checks each against scipy).

Conventions
-----------
* 1-D filters take a ``size`` in samples and an edge ``mode`` named as ``scipy.ndimage`` names
  it: ``"reflect"`` (d c b a | a b c d, the default), ``"nearest"`` (a a a a | a b c d) or
  ``"constant"`` (zeros). The window of output ``i`` covers inputs
  ``i − size // 2 − origin … i + (size − 1) // 2 − origin``, as scipy's does.
* Outputs keep the input's floating dtype (float32 in, float32 out); sums run in float64.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.fft  # cheap beside scipy.signal: no scipy.stats behind it

from trackwright.analysis.blockiir import BlockIIR
from trackwright.errors import ParameterError

#: Output samples a running sum covers at once (keeps the float64 temporaries small).
_CHUNK = 1 << 20


def _float(values: np.ndarray) -> np.ndarray:
    array = np.asarray(values)
    return array if array.dtype.kind == "f" else array.astype(np.float64)


def _padded(values: np.ndarray, lo: int, hi: int, mode: str) -> np.ndarray:
    """``values[..., lo:hi]`` where indices outside ``0 … n−1`` take the edge ``mode`` (a copy
    when the span leaves the array, else a view)."""
    n = values.shape[-1]
    if lo >= 0 and hi <= n:
        return values[..., lo:hi]
    index = np.arange(lo, hi)
    if mode == "nearest":
        return values[..., np.clip(index, 0, n - 1)]
    if mode == "reflect":  # d c b a | a b c d | d c b a …, period 2n
        folded = index % (2 * n)
        return values[..., np.where(folded < n, folded, 2 * n - 1 - folded)]
    if mode == "constant":
        inside = (index >= 0) & (index < n)
        out = np.zeros(values.shape[:-1] + (len(index),), dtype=values.dtype)
        out[..., inside] = values[..., index[inside]]
        return out
    raise ParameterError(f"edge mode {mode!r} is not one of reflect, nearest, constant")


def _window_bounds(size: int, origin: int) -> tuple[int, int]:
    """(left, right) reach of a ``size`` window centred as scipy centres it."""
    if size < 1:
        raise ParameterError(f"filter size is {size}; it must be at least 1")
    left = size // 2 + origin
    right = size - 1 - size // 2 - origin
    return left, right


def uniform_filter1d(values: np.ndarray, size: int, *, axis: int = -1, mode: str = "reflect",
                     origin: int = 0) -> np.ndarray:
    """Running mean of ``size`` samples along ``axis`` — ``scipy.ndimage.uniform_filter1d``."""
    data = np.moveaxis(_float(values), axis, -1)
    left, right = _window_bounds(size, origin)
    n = data.shape[-1]
    out = np.empty(data.shape, dtype=data.dtype)
    for start in range(0, n, _CHUNK):
        stop = min(n, start + _CHUNK)
        segment = _padded(data, start - left, stop + right, mode)
        total = np.zeros(segment.shape[:-1] + (segment.shape[-1] + 1,))
        np.cumsum(segment, axis=-1, dtype=np.float64, out=total[..., 1:])
        out[..., start:stop] = (total[..., size:] - total[..., :-size]) / size
    return np.moveaxis(out, -1, axis)


def _windows(values: np.ndarray, size: int, mode: str) -> np.ndarray:
    """Every centred ``size`` window of a 1-D array (frames × size view over an edge-padded copy)."""
    data = _float(values)
    if data.ndim != 1:
        raise ParameterError(f"a running filter here takes a 1-D series, not shape {data.shape}")
    left, right = _window_bounds(size, 0)
    padded = _padded(data, -left, len(data) + right, mode)
    return np.lib.stride_tricks.sliding_window_view(padded, size)


def maximum_filter1d(values: np.ndarray, size: int, *, mode: str = "reflect") -> np.ndarray:
    """Running maximum of ``size`` samples of a 1-D series — ``scipy.ndimage.maximum_filter1d``."""
    if len(values) == 0:
        return _float(values).copy()
    return _windows(values, size, mode).max(axis=1)


def median_filter1d(values: np.ndarray, size: int, *, mode: str = "reflect") -> np.ndarray:
    """Running median of ``size`` samples of a 1-D series — ``scipy.ndimage.median_filter``: for
    an even ``size`` the upper of the two middle values (scipy takes rank ``size // 2``). With
    ``mode="reflect"`` and a window longer than the series scipy's edges differ from these
    (periodic reflection, as scipy's other filters use)."""
    if len(values) == 0:
        return _float(values).copy()
    windows = _windows(values, size, mode)
    return np.partition(windows, size // 2, axis=1)[:, size // 2]


def gaussian_filter1d(values: np.ndarray, sigma: float, *, mode: str = "reflect", truncate: float = 4.0
                      ) -> np.ndarray:
    """A 1-D series smoothed by a Gaussian of ``sigma`` samples, cut at ``truncate`` sigmas —
    ``scipy.ndimage.gaussian_filter1d``."""
    data = _float(values)
    radius = int(truncate * float(sigma) + 0.5)
    x = np.arange(-radius, radius + 1)
    weights = np.exp(-0.5 / (float(sigma) * float(sigma)) * x * x)
    weights /= weights.sum()
    padded = _padded(data, -radius, len(data) + radius, mode).astype(np.float64)
    return np.convolve(padded, weights[::-1], mode="valid").astype(data.dtype)


def gaussian_window(size: int, std: float) -> np.ndarray:
    """The symmetric Gaussian window of ``size`` samples — ``scipy.signal.windows.gaussian``."""
    n = np.arange(size) - (size - 1.0) / 2.0
    return np.exp(-(n * n) / (2.0 * std * std))


def find_peaks(values: np.ndarray, *, height: float | None = None, distance: float | None = None
               ) -> np.ndarray:
    """Indices of the local maxima of a 1-D series — ``scipy.signal.find_peaks(x, height=…,
    distance=…)[0]``: a flat top counts once, at its middle (rounded down); then peaks under
    ``height`` are dropped, then, highest first, any peak closer than ``distance`` samples to a
    kept one."""
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1:
        raise ParameterError(f"find_peaks takes a 1-D series, not shape {x.shape}")
    if distance is not None and distance < 1:
        raise ParameterError(f"peak distance is {distance}; it must be at least 1")
    if len(x) < 3:
        return np.zeros(0, dtype=np.intp)
    # runs of equal values: a run is a peak when both neighbouring runs are lower and it does not
    # touch either end of the series
    starts = np.concatenate(([0], np.flatnonzero(x[1:] != x[:-1]) + 1))
    ends = np.concatenate((starts[1:] - 1, [len(x) - 1]))
    level = x[starts]
    inner = np.arange(1, len(starts) - 1)
    peak = (level[inner - 1] < level[inner]) & (level[inner + 1] < level[inner])
    runs = inner[peak]
    peaks = (starts[runs] + ends[runs]) // 2
    if height is not None:
        peaks = peaks[x[peaks] >= height]
    if distance is not None and len(peaks) > 1:
        peaks = peaks[_kept_apart(peaks, x[peaks], math.ceil(distance))]
    return peaks.astype(np.intp)


def _kept_apart(peaks: np.ndarray, priority: np.ndarray, distance: int) -> np.ndarray:
    """Which ``peaks`` stay when, highest ``priority`` first, each removes the others within
    ``distance`` samples (scipy's ``_select_by_peak_distance``, ties broken the same way)."""
    keep = np.ones(len(peaks), dtype=bool)
    positions = peaks.tolist()
    for j in np.argsort(priority)[::-1].tolist():
        if not keep[j]:
            continue
        k = j - 1
        while k >= 0 and positions[j] - positions[k] < distance:
            keep[k] = False
            k -= 1
        k = j + 1
        while k < len(positions) and positions[k] - positions[j] < distance:
            keep[k] = False
            k += 1
    return keep


def butter_lowpass_sos(cutoff_hz: float, sample_rate: float) -> np.ndarray:
    """The second-order Butterworth low-pass at ``cutoff_hz``, one section (1 × 6) —
    ``scipy.signal.butter(2, cutoff_hz, fs=sample_rate, output="sos")``."""
    if not 0 < cutoff_hz < sample_rate / 2:
        raise ParameterError(f"cut-off {cutoff_hz} Hz is not between 0 and Nyquist ({sample_rate / 2} Hz)")
    k = math.tan(math.pi * cutoff_hz / sample_rate)  # the bilinear transform's prewarped frequency
    norm = 1.0 + math.sqrt(2.0) * k + k * k
    b0 = k * k / norm
    return np.array([[b0, 2 * b0, b0, 1.0, 2.0 * (k * k - 1.0) / norm, (1.0 - math.sqrt(2.0) * k + k * k) / norm]])


def _steady_state(sos: np.ndarray) -> np.ndarray:
    """The cascade's state (sections × 2) after a long run of ones — ``scipy.signal.sosfilt_zi``."""
    states, scale = np.zeros((len(sos), 2)), 1.0
    for index, (b0, b1, b2, a0, a1, a2) in enumerate(np.asarray(sos, dtype=np.float64)):
        b = np.array([b0, b1, b2]) / a0
        a = np.array([1.0, a1 / a0, a2 / a0])
        system = np.array([[1.0 + a[1], -1.0], [a[2], 1.0]])
        states[index] = scale * np.linalg.solve(system, b[1:] - a[1:] * b[0])
        scale *= b.sum() / a.sum()
    return states


def sosfiltfilt(sos: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Zero-phase filtering of the rows of ``values`` (channels × frames) forward and back, edges
    extended by odd reflection — ``scipy.signal.sosfiltfilt(sos, values, axis=1)``, float64."""
    sos = np.asarray(sos, dtype=np.float64)
    data = np.asarray(values, dtype=np.float64)
    zeros = min(int(np.sum(sos[:, 2] == 0)), int(np.sum(sos[:, 5] == 0)))
    edge = 3 * (2 * len(sos) + 1 - zeros)
    if data.shape[1] <= edge:
        raise ParameterError(f"a zero-phase filter needs more than {edge} frames, got {data.shape[1]}")
    first, last = data[:, :1], data[:, -1:]
    extended = np.concatenate((2 * first - data[:, edge:0:-1], data, 2 * last - data[:, -2:-edge - 2:-1]), axis=1)
    steady = _steady_state(sos).reshape(-1)

    def run(signal: np.ndarray) -> np.ndarray:
        block = BlockIIR(sos, signal.shape[0])
        block.state = steady[None, :] * signal[:, :1]
        return block.filter(signal)

    forward = run(extended)
    backward = run(np.ascontiguousarray(forward[:, ::-1]))[:, ::-1]
    return backward[:, edge:-edge]


def correlate_valid(search: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``Σ_k search[i + k] · reference[k]`` for every full overlap (len(search) − len(reference) + 1
    values), by FFT — ``scipy.signal.correlate(search, reference, mode="valid", method="fft")``."""
    n, m = len(search), len(reference)
    if m > n:
        raise ParameterError(f"reference ({m} samples) is longer than the search ({n})")
    size = scipy.fft.next_fast_len(n + m - 1, real=True)
    spectrum = scipy.fft.rfft(search, size) * scipy.fft.rfft(reference[::-1], size)
    return scipy.fft.irfft(spectrum, size)[m - 1: n]
