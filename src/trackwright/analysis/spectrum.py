"""Spectral tools shared by the listening, production and mixing stages.

Conventions
-----------
* ``samples`` are channels × frames (float32); 1-D signals are named ``signal``.
* Long-term average spectra (LTAS) are power in dB against frequency in Hz; STFTs are
  complex, bins × frames.
"""

from __future__ import annotations

import numpy as np

from trackwright.parallel import thread_map

#: LTAS segment length, seconds (rounded to a power of two of samples).
LTAS_SEGMENT_S = 0.186
#: At most this many LTAS segments, spread evenly over a long track.
_MAX_SEGMENTS = 384
#: Segments this many dB below the loudest do not count in an LTAS (fades, silences).
_SILENT_SEGMENT_DB = 50.0
#: Median-filter lengths (time frames, frequency bins) of the harmonic/percussive split. A wide
#: frequency kernel (about 1.3 kHz) lifts the drums' SDR on the 134 s rendered song from +0.7 dB
#: (31 bins) to +1.7 dB, at about half the speed.
HPSS_KERNEL = (17, 121)


def ltas_segment_length(sample_rate: int) -> int:
    """Samples per LTAS segment at ``sample_rate`` Hz: the power of two nearest :data:`LTAS_SEGMENT_S`."""
    return int(2 ** round(np.log2(LTAS_SEGMENT_S * sample_rate)))


def average_spectrum(samples: np.ndarray, sample_rate: int, *, nperseg: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """LTAS of the mid signal: (freqs in Hz, power in dB), both shape (nperseg // 2 + 1,).

    ``samples`` is channels × frames. Segments more than 50 dB below the loudest are skipped.
    """
    nperseg = nperseg or ltas_segment_length(sample_rate)
    mid = samples.mean(axis=0, dtype=np.float32)
    if len(mid) < nperseg:
        mid = np.pad(mid, (0, nperseg - len(mid)))
    # half-overlapping segments, or — for long tracks — _MAX_SEGMENTS spread evenly over the whole
    # track, which estimates a long-term spectrum as well at a fraction of the cost
    hop = max(nperseg // 2, (len(mid) - nperseg) // (_MAX_SEGMENTS - 1))
    count = 1 + (len(mid) - nperseg) // hop
    frames = np.lib.stride_tricks.as_strided(mid, shape=(count, nperseg), strides=(mid.strides[0] * hop, mid.strides[0]))
    window = periodic_hann(nperseg)
    spectra = np.abs(np.fft.rfft(frames * window, axis=1)) ** 2
    energy = spectra.sum(axis=1)
    loud = energy >= energy.max() * 10 ** (-_SILENT_SEGMENT_DB / 10)
    power = spectra[loud].mean(axis=0)
    freqs = np.fft.rfftfreq(nperseg, 1.0 / sample_rate)
    return freqs, 10.0 * np.log10(np.maximum(power, 1e-30))


def periodic_hann(length: int) -> np.ndarray:
    """The periodic (FFT) Hann window of ``length`` samples, float32 — ``scipy.signal.get_window("hann")``."""
    return (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(length) / length)).astype(np.float32)


def stft(samples: np.ndarray, n_fft: int) -> np.ndarray:
    """Complex STFT (bins × frames) of a 1-D signal: Hann window, hop ``n_fft // 4``, edges padded."""
    from scipy import signal as sps  # imported on use: a second of start-up the meters don't need

    return sps.stft(samples, nperseg=n_fft, noverlap=n_fft - n_fft // 4, window="hann")[2]


def istft(spectrum: np.ndarray, n_fft: int, frames: int) -> np.ndarray:
    """The signal (``frames`` long) of a :func:`stft` spectrum, by least-squares overlap-add."""
    from scipy import signal as sps

    out = sps.istft(spectrum, nperseg=n_fft, noverlap=n_fft - n_fft // 4, window="hann")[1][:frames]
    return np.pad(out, (0, frames - len(out)))


def median_along(values: np.ndarray, axis: int, size: int) -> np.ndarray:
    """Running median of ``size`` along ``axis`` of a 2-D array, edges reflected: equal to
    ``scipy.ndimage.median_filter`` with a kernel of ``size`` on that axis and 1 on the other.

    Run as one 1-D filter per line, which scipy does with a sliding-window structure (O(log size)
    per value) where a 2-D kernel falls back to a selection per value: 8–20× faster.
    """
    from scipy import ndimage  # imported on use: a second of start-up the meters don't need

    lines = np.ascontiguousarray(np.moveaxis(values, axis, -1))
    out = np.empty_like(lines)
    for index in range(lines.shape[0]):
        out[index] = ndimage.median_filter(lines[index], size=size, mode="reflect")
    return np.moveaxis(out, -1, axis)


def hpss_masks(magnitude: np.ndarray, kernel: tuple[int, int] = HPSS_KERNEL) -> tuple[np.ndarray, np.ndarray]:
    """(harmonic, percussive) soft masks (Wiener, power 2) of a magnitude spectrogram (bins × frames).

    Median filters across time (``kernel[0]`` frames: steady tones) and across frequency
    (``kernel[1]`` bins: broadband hits), run in two threads; the masks sum to 1.
    """
    harmonic, percussive = thread_map(lambda axis_size: median_along(magnitude, *axis_size),
                                      [(1, kernel[0]), (0, kernel[1])])
    h2, p2 = harmonic.astype(np.float64) ** 2, percussive.astype(np.float64) ** 2
    total = h2 + p2
    silent = total <= np.finfo(np.float32).tiny
    harmonic_mask = np.where(silent, 0.5, h2 / np.where(silent, 1.0, total))
    return harmonic_mask.astype(np.float32), (1.0 - harmonic_mask).astype(np.float32)
