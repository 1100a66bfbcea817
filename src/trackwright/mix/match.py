"""Reference matching: give a mix the long-term average spectrum of a reference track.

This is what Matchering does for tonal balance, done in one pass:

1. **Long-term average spectrum** (LTAS) of each track's mid signal ((L + R) / 2 for stereo):
   Welch's method, Hann windows of ~186 ms, half overlap (at most 384 windows, spread evenly over
   a long track), skipping windows more than 50 dB below the loudest so fades and silences do
   not count.
2. **Matching curve**: reference LTAS over source LTAS in dB, smoothed over 1/6 octave,
   clamped to ±12 dB, never boosting where the source has no energy (more than 60 dB below its
   own spectral peak), normalised so its energy-weighted mean is 0 dB (level is set later by the
   loudness stage), and flat below 20 Hz and above 18 kHz.
3. **Linear-phase FIR** designed from the curve by frequency sampling (the method of
   ``scipy.signal.firwin2``, in numpy: ~93 ms, Hann-windowed), applied to every channel with
   overlap-save FFT convolution and its group delay removed, so the output is sample-aligned with
   the input and phase-coherent between channels. Only numpy runs here: scipy.signal would add
   about a second of start-up to every ``master --reference``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import soxr

from trackwright.analysis.spectrum import average_spectrum, ltas_segment_length

SMOOTHING_OCTAVES = 1.0 / 6.0
MAX_CORRECTION_DB = 12.0
_NO_ENERGY_DB = 60.0
_LOW_EDGE_HZ, _HIGH_EDGE_HZ = 20.0, 18_000.0


@dataclass(frozen=True)
class MatchCurve:
    """The EQ that was applied: frequencies (Hz) and gains (dB), both shape (bins,)."""

    freqs_hz: np.ndarray
    gain_db: np.ndarray

    def gain_at(self, freq_hz: float) -> float:
        """Gain of the curve at one frequency, dB (linear interpolation)."""
        return float(np.interp(freq_hz, self.freqs_hz, self.gain_db))


def smooth_octave(freqs_hz: np.ndarray, values: np.ndarray, fraction: float = SMOOTHING_OCTAVES) -> np.ndarray:
    """Average ``values`` over a band ``fraction`` of an octave wide around each frequency."""
    cumulative = np.concatenate(([0.0], np.cumsum(values)))
    half = 2.0 ** (fraction / 2.0)
    lo = np.searchsorted(freqs_hz, freqs_hz / half, side="left")
    hi = np.searchsorted(freqs_hz, freqs_hz * half, side="right")
    hi = np.maximum(hi, lo + 1)
    return (cumulative[hi] - cumulative[lo]) / (hi - lo)


def matching_curve(source: np.ndarray, reference: np.ndarray, sample_rate: int) -> MatchCurve:
    """EQ curve (dB per frequency) that turns ``source``'s LTAS into ``reference``'s.

    Both are channels × frames at ``sample_rate``.
    """
    freqs, src_db = average_spectrum(source, sample_rate)
    _, ref_db = average_spectrum(reference, sample_rate)
    gain = smooth_octave(freqs, ref_db - src_db)
    no_energy = smooth_octave(freqs, src_db) < src_db.max() - _NO_ENERGY_DB
    gain[no_energy] = np.minimum(gain[no_energy], 0.0)
    band = (freqs >= _LOW_EDGE_HZ) & (freqs <= min(_HIGH_EDGE_HZ, 0.95 * sample_rate / 2))
    weights = 10 ** (smooth_octave(freqs, src_db) / 10) * band
    gain -= float(np.sum(gain * weights) / np.sum(weights))
    gain = np.clip(gain, -MAX_CORRECTION_DB, MAX_CORRECTION_DB)
    first, last = np.flatnonzero(band)[[0, -1]]
    gain[:first] = gain[first]
    gain[last + 1:] = gain[last]
    return MatchCurve(freqs, gain)


def fir_from_curve(curve: MatchCurve, sample_rate: int) -> np.ndarray:
    """Linear-phase FIR taps (odd length, ~93 ms) realising ``curve``, float32.

    Frequency sampling as ``scipy.signal.firwin2`` does it: the gains interpolated onto a grid of
    ``2^⌈log2 taps⌉ + 1`` points from 0 Hz to Nyquist, delayed by half the length, transformed
    back, cut to length and shaped by a symmetric Hann window.
    """
    numtaps = 2 * ltas_segment_length(sample_rate) // 4 + 1
    nyquist = sample_rate / 2.0
    freqs = np.concatenate((curve.freqs_hz[curve.freqs_hz < nyquist], [nyquist]))
    gains = 10 ** (np.interp(freqs, curve.freqs_hz, curve.gain_db) / 20.0)
    grid = np.linspace(0.0, 1.0, 1 + 2 ** int(np.ceil(np.log2(numtaps))))
    response = np.interp(grid, freqs / nyquist, gains) * np.exp(-0.5j * (numtaps - 1) * np.pi * grid)
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(numtaps) / (numtaps - 1))
    return (np.fft.irfft(response)[:numtaps] * window).astype(np.float32)


def apply_fir(samples: np.ndarray, taps: np.ndarray) -> np.ndarray:
    """Filter every channel (channels × frames) with a linear-phase FIR, delay removed, float32.

    Overlap-save FFT convolution, a block at a time into the output: no padded song-length copy.
    """
    channels, frames = samples.shape
    delay, reach = (len(taps) - 1) // 2, len(taps) - 1
    size = 1 << int(np.ceil(np.log2(4 * len(taps))))
    step = size - reach
    spectrum = np.fft.rfft(taps.astype(np.float32), size)
    out = np.empty((channels, frames), dtype=np.float32)
    segment = np.zeros((channels, size), dtype=np.float32)
    for first in range(0, frames, step):  # output frames first … first + step − 1
        lo = first + delay - reach  # the input this block's outputs reach back to
        count = min(step, frames - first)
        segment[:] = 0.0
        src_lo, src_hi = max(lo, 0), min(lo + size, frames)
        if src_hi > src_lo:
            segment[:, src_lo - lo: src_hi - lo] = samples[:, src_lo: src_hi]
        filtered = np.fft.irfft(np.fft.rfft(segment, axis=1) * spectrum, size, axis=1)
        out[:, first: first + count] = filtered[:, reach: reach + count]
    return out


def match_spectrum(samples: np.ndarray, sample_rate: int, reference: np.ndarray,
                   reference_rate: int) -> tuple[np.ndarray, MatchCurve]:
    """Equalise ``samples`` (channels × frames) towards ``reference``'s long-term spectrum.

    The reference may have another rate (it is resampled) and channel count (its mid is used).
    Returns the equalised samples (float32, same shape) and the curve applied.
    """
    if reference_rate != sample_rate:
        reference = soxr.resample(reference.T, reference_rate, sample_rate, quality="HQ").T
    curve = matching_curve(samples, np.ascontiguousarray(reference, dtype=np.float32), sample_rate)
    return apply_fir(samples, fir_from_curve(curve, sample_rate)), curve
