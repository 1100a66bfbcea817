"""The note harness's own meters: what a note did to the audio, measured without trackwright.

Conventions
-----------
Audio is ``float64``, shape channels × frames, with its sample rate in Hz; times are seconds
from the start of that audio; levels are dB, loudness LUFS / LU (ITU-R BS.1770 through
pyloudnorm), frequencies Hz. Every function reads a *segment* ``[start_s, end_s)`` of the audio
it is given. None of this imports trackwright (the harness must not grade the tool with the
tool's own meters).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import librosa
import numpy as np
import pyloudnorm
import soundfile as sf
from scipy import signal

#: Frequency range of the spectral descriptors (centroid, band shares), Hz.
SPECTRUM_RANGE_HZ = (20.0, 20000.0)
#: Bands compared outside a note's scope: must stay within 0.5 dB.
OUTSIDE_BANDS_HZ = ((20.0, 250.0), (250.0, 2000.0), (2000.0, 8000.0), (8000.0, 20000.0))
#: Onset detection runs on the mono mix resampled to this rate (Hz), with this hop (frames).
ONSET_RATE, ONSET_HOP = 22050, 256
#: Floor of frame levels (dB), so digital silence does not give −inf.
FLOOR_DB = -120.0


@dataclass
class Track:
    """One rendered version's audio: ``samples`` (channels × frames, float64) at ``rate`` Hz."""

    samples: np.ndarray
    rate: int
    _spectra: dict[tuple[float, float], tuple[np.ndarray, np.ndarray]] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, path: str | Path) -> Track:
        data, rate = sf.read(str(path), dtype="float64", always_2d=True)
        return cls(np.ascontiguousarray(data.T), int(rate))

    @property
    def duration_s(self) -> float:
        return self.samples.shape[1] / self.rate

    @cached_property
    def mono(self) -> np.ndarray:
        return self.samples.mean(axis=0)

    @cached_property
    def k_weighted(self) -> np.ndarray:
        """The K-weighted signal (pyloudnorm's BS.1770 filters), channels × frames."""
        meter = pyloudnorm.Meter(self.rate)
        out = self.samples.copy()
        for stage in meter._filters.values():
            out = np.stack([stage.apply_filter(channel) for channel in out])
        return out

    @cached_property
    def onset_envelope(self) -> tuple[np.ndarray, float]:
        """librosa's onset strength of the mono mix at 22.05 kHz (hop 256) and its frame rate (Hz)."""
        y = self.mono.astype(np.float32)
        if self.rate != ONSET_RATE:
            y = librosa.resample(y, orig_sr=self.rate, target_sr=ONSET_RATE)
        env = librosa.onset.onset_strength(y=y, sr=ONSET_RATE, hop_length=ONSET_HOP)
        return env.astype(np.float64), ONSET_RATE / ONSET_HOP

    @cached_property
    def onset_times_s(self) -> np.ndarray:
        """Onsets picked by librosa's default peak picker from :attr:`onset_envelope`, seconds."""
        env, frame_rate = self.onset_envelope
        frames = librosa.onset.onset_detect(onset_envelope=env.astype(np.float32), sr=ONSET_RATE, hop_length=ONSET_HOP)
        return frames / frame_rate

    def spectrum(self, start_s: float, end_s: float) -> tuple[np.ndarray, np.ndarray]:
        """Average power spectrum of the segment summed over channels (Welch, 8192-point Hann):
        (Hz, power); remembered per segment."""
        key = (round(start_s, 4), round(end_s, 4))
        if key not in self._spectra:
            seg = self.segment(start_s, end_s)
            nperseg = min(8192, max(256, seg.shape[1]))
            freqs, psd = signal.welch(seg, fs=self.rate, nperseg=nperseg, axis=-1)
            self._spectra[key] = (freqs, np.atleast_2d(psd).sum(axis=0))
        return self._spectra[key]

    def segment(self, start_s: float, end_s: float) -> np.ndarray:
        """Samples of ``[start_s, end_s)`` (clipped to the audio), channels × frames."""
        a = max(0, round(start_s * self.rate))
        b = min(self.samples.shape[1], round(end_s * self.rate))
        return self.samples[:, a:max(a, b)]

    def k_segment(self, start_s: float, end_s: float) -> np.ndarray:
        a = max(0, round(start_s * self.rate))
        b = min(self.samples.shape[1], round(end_s * self.rate))
        return self.k_weighted[:, a:max(a, b)]


def _db(power: float) -> float:
    return float(10 * np.log10(max(power, 1e-12)))


def loudness_lufs(track: Track, start_s: float, end_s: float) -> float:
    """Integrated (gated) loudness of the segment, LUFS (pyloudnorm); −70 for silence or < 0.4 s."""
    seg = track.segment(start_s, end_s)
    if seg.shape[1] < int(0.45 * track.rate):
        return float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = pyloudnorm.Meter(track.rate).integrated_loudness(seg.T)
    return float(max(value, -70.0)) if np.isfinite(value) else -70.0


def plain_loudness(track: Track, start_s: float, end_s: float) -> float:
    """Ungated K-weighted mean power of the segment as LUFS (for short windows: momentary / short-term)."""
    seg = track.k_segment(start_s, end_s)
    if seg.shape[1] == 0:
        return float("nan")
    return -0.691 + _db(float(np.sum(np.mean(seg ** 2, axis=1))))


def loudness_range_lu(track: Track, start_s: float, end_s: float) -> float:
    """Loudness range (EBU Tech 3342 via pyloudnorm) of the segment, LU; nan under 10 s."""
    seg = track.segment(start_s, end_s)
    if seg.shape[1] < 10 * track.rate:
        return float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(pyloudnorm.Meter(track.rate).loudness_range(seg.T))


def power_spectrum(track: Track, start_s: float, end_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Average power spectrum of the segment summed over channels: (Hz, power); see :meth:`Track.spectrum`."""
    return track.spectrum(start_s, end_s)


def _in_range(freqs: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return (freqs >= lo) & (freqs < hi)


def centroid_hz(track: Track, start_s: float, end_s: float) -> float:
    """Spectral centroid of the segment's average power spectrum (20 Hz–20 kHz), Hz."""
    freqs, power = power_spectrum(track, start_s, end_s)
    keep = _in_range(freqs, *SPECTRUM_RANGE_HZ)
    total = power[keep].sum()
    return float((freqs[keep] * power[keep]).sum() / total) if total > 0 else float("nan")


def band_share_db(track: Track, start_s: float, end_s: float, lo_hz: float, hi_hz: float) -> float:
    """Energy of ``[lo_hz, hi_hz)`` as a share of 20 Hz–20 kHz in the segment, dB (level-independent)."""
    freqs, power = power_spectrum(track, start_s, end_s)
    total = power[_in_range(freqs, *SPECTRUM_RANGE_HZ)].sum()
    return _db(power[_in_range(freqs, lo_hz, hi_hz)].sum() / total) if total > 0 else float("nan")


def onset_density(track: Track, start_s: float, end_s: float) -> float:
    """Onsets per second inside the segment (detected once on the whole track)."""
    times = track.onset_times_s
    span = min(end_s, track.duration_s) - max(start_s, 0.0)
    if span <= 0:
        return float("nan")
    return float(np.count_nonzero((times >= start_s) & (times < end_s)) / span)


def width_db(track: Track, start_s: float, end_s: float) -> float:
    """Side-to-mid energy ratio of the segment, dB (−60 for mono)."""
    seg = track.segment(start_s, end_s)
    if seg.shape[0] < 2 or seg.shape[1] == 0:
        return -60.0
    mid, side = (seg[0] + seg[1]) / 2, (seg[0] - seg[1]) / 2
    return max(-60.0, _db(float(np.sum(side ** 2))) - _db(float(np.sum(mid ** 2))))


def _frame_levels_db(x: np.ndarray, frame: int) -> tuple[np.ndarray, np.ndarray]:
    """(RMS dB, peak dB) of non-overlapping frames of the 1-D signal ``x``."""
    count = len(x) // frame
    if count == 0:
        return np.empty(0), np.empty(0)
    frames = x[:count * frame].reshape(count, frame)
    rms = np.sqrt(np.mean(frames ** 2, axis=1))
    peak = np.max(np.abs(frames), axis=1)
    return (20 * np.log10(np.maximum(rms, 10 ** (FLOOR_DB / 20))),
            20 * np.log10(np.maximum(peak, 10 ** (FLOOR_DB / 20))))


def crest_db(track: Track, start_s: float, end_s: float) -> float:
    """Median peak-to-RMS ratio of 50 ms frames of the mono segment (frames within 40 dB of the
    loudest), dB: transient shaping and compression move it."""
    seg = track.segment(start_s, end_s).mean(axis=0)
    rms, peak = _frame_levels_db(seg, int(0.05 * track.rate))
    if rms.size == 0:
        return float("nan")
    live = rms > rms.max() - 40
    return float(np.median(peak[live] - rms[live]))


def gap_depth_db(track: Track, start_s: float, end_s: float) -> float:
    """p90 − p10 of the mono segment's 20 ms frame levels, dB: reverb fills the gaps (smaller),
    a drier mix opens them (larger)."""
    seg = track.segment(start_s, end_s).mean(axis=0)
    rms, _ = _frame_levels_db(seg, int(0.02 * track.rate))
    if rms.size < 10:
        return float("nan")
    return float(np.percentile(rms, 90) - np.percentile(rms, 10))


def rise_lu(track: Track, start_s: float, end_s: float) -> float:
    """Loudness of the segment's last 2 s minus its first 2 s (ungated), LU: a build rises."""
    edge = min(2.0, (end_s - start_s) / 2)
    return plain_loudness(track, end_s - edge, end_s) - plain_loudness(track, start_s, start_s + edge)


def tempo_factor(before: Track, after: Track, *, low: float = 0.7, high: float = 1.45) -> float:
    """How much faster ``after`` plays than ``before``: the ``f`` for which after's onset strength
    at ``t`` best matches before's at ``f·t`` (normalised correlation over ``low``..``high``, a
    0.25 % grid refined by a parabola). 1.0 = same tempo; 1.1 = 10 % faster."""
    env_b, rate_b = before.onset_envelope
    env_a, rate_a = after.onset_envelope
    env_b = (env_b - env_b.mean()) / (env_b.std() + 1e-9)
    env_a = (env_a - env_a.mean()) / (env_a.std() + 1e-9)
    t_a = np.arange(len(env_a)) / rate_a
    factors = np.arange(low, high + 1e-9, 0.0025)
    scores = np.full(len(factors), -np.inf)
    for i, f in enumerate(factors):
        positions = t_a * f * rate_b
        inside = positions < len(env_b) - 1
        if inside.sum() < 0.5 * len(env_a):
            continue
        warped = np.interp(positions[inside], np.arange(len(env_b)), env_b)
        scores[i] = float(np.mean(warped * env_a[inside]))
    best = int(np.argmax(scores))
    if 0 < best < len(factors) - 1 and np.all(np.isfinite(scores[best - 1:best + 2])):
        y0, y1, y2 = scores[best - 1:best + 2]
        denominator = y0 - 2 * y1 + y2
        shift = 0.5 * (y0 - y2) / denominator if denominator < 0 else 0.0
        return float(factors[best] + shift * 0.0025)
    return float(factors[best])


def _log_cqt_profile(track: Track, start_s: float, end_s: float) -> np.ndarray:
    """Time-averaged log constant-Q magnitude (36 bins per octave from 65 Hz, 6 octaves) of the
    mono segment at 22.05 kHz, with its slow spectral tilt removed (EQ does not move it)."""
    seg = track.segment(start_s, end_s).mean(axis=0)
    y = librosa.resample(seg, orig_sr=track.rate, target_sr=22050) if track.rate != 22050 else seg
    cqt = np.abs(librosa.cqt(y.astype(np.float32), sr=22050, hop_length=1024, fmin=65.41, n_bins=216,
                             bins_per_octave=36))
    profile = np.log(np.mean(cqt, axis=1) + 1e-6)
    trend = np.convolve(profile, np.ones(37) / 37, mode="same")
    return profile - trend


def pitch_shift_st(before: Track, after: Track, spans: tuple[tuple[float, float], tuple[float, float]]) -> float:
    """Transposition of ``after``'s segment against ``before``'s, semitones (cross-correlation of
    the detrended constant-Q profiles within ±8 semitones, refined by a parabola)."""
    b = _log_cqt_profile(before, *spans[0])
    a = _log_cqt_profile(after, *spans[1])
    lags = np.arange(-24, 25)
    core = slice(30, len(b) - 30)
    scores = np.array([np.corrcoef(b[core], np.roll(a, -lag)[core])[0, 1] for lag in lags])
    best = int(np.argmax(scores))
    shift = 0.0
    if 0 < best < len(lags) - 1:
        y0, y1, y2 = scores[best - 1:best + 2]
        denominator = y0 - 2 * y1 + y2
        shift = 0.5 * (y0 - y2) / denominator if denominator < 0 else 0.0
    return float((lags[best] + shift) / 3.0)


def fade_depth_db(track: Track, *, at_end: bool, length_s: float) -> tuple[float, float]:
    """For a fade over ``length_s`` at the end (or start): (level of the outermost 0.5 s minus the
    level just inside the fade, level of the fade's middle second minus that same level), dB."""
    d = track.duration_s
    if at_end:
        ref = plain_loudness(track, d - length_s - 1.0, d - length_s)
        edge = plain_loudness(track, d - 0.5, d)
        middle = plain_loudness(track, d - length_s / 2 - 0.5, d - length_s / 2 + 0.5)
    else:
        ref = plain_loudness(track, length_s, length_s + 1.0)
        edge = plain_loudness(track, 0.0, 0.5)
        middle = plain_loudness(track, length_s / 2 - 0.5, length_s / 2 + 0.5)
    return edge - ref, middle - ref


@dataclass
class RegionDifference:
    """How much a region of two renders differs: the largest short-term loudness difference
    (3 s windows, 0.5 s hop; LU), the largest band-level difference (4 bands, dB), the residual
    energy relative to the region's (dB) and whether the samples are identical."""

    max_short_term_lu: float
    max_band_db: float
    residual_db: float
    identical: bool
    seconds: float

    def unchanged(self, *, loudness_lu: float = 0.2, band_db: float = 0.5) -> bool:
        return self.identical or (self.max_short_term_lu < loudness_lu and self.max_band_db < band_db)


def _band_levels_db(track: Track, start_s: float, end_s: float) -> list[float]:
    """Absolute level of each of :data:`OUTSIDE_BANDS_HZ` in the segment, dB (one spectrum)."""
    freqs, power = power_spectrum(track, start_s, end_s)
    return [_db(power[_in_range(freqs, lo, hi)].sum()) for lo, hi in OUTSIDE_BANDS_HZ]


def compare_region(before: Track, after: Track, start_s: float, end_s: float, *, offset_s: float = 0.0) -> RegionDifference:
    """Compare ``before[start_s, end_s)`` with ``after[start_s + offset_s, end_s + offset_s)``:
    short-term loudness and band levels in 3 s windows every 1 s."""
    b = before.segment(start_s, end_s)
    a = after.segment(start_s + offset_s, end_s + offset_s)
    n = min(b.shape[1], a.shape[1])
    b, a = b[:, :n], a[:, :n]
    seconds = n / before.rate
    if n == 0 or b.shape[0] != a.shape[0]:
        return RegionDifference(float("inf"), float("inf"), 0.0, False, seconds)
    identical = bool(np.array_equal(a, b))
    residual = _db(float(np.sum((a - b) ** 2))) - _db(float(np.sum(b ** 2)))
    if identical:
        return RegionDifference(0.0, 0.0, residual, True, seconds)
    window = min(3.0, seconds)
    loud, bands = 0.0, 0.0
    for s in np.arange(0.0, max(seconds - window, 0.0) + 1e-9, 1.0):
        w0, w1 = start_s + s, start_s + s + window
        loud = max(loud, abs(plain_loudness(before, w0, w1) - plain_loudness(after, w0 + offset_s, w1 + offset_s)))
        for lb, la in zip(_band_levels_db(before, w0, w1), _band_levels_db(after, w0 + offset_s, w1 + offset_s)):
            if max(lb, la) > FLOOR_DB + 10:  # an empty band (a band-limited source) says nothing
                bands = max(bands, abs(la - lb))
    return RegionDifference(loud, bands, residual, identical, seconds)
