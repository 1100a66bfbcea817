"""Descriptors a note's explanation reports, measured inside a span of a render, before and after.

All are measured on the (pre-master) mix of a version, so mastering's global gain never hides
or fakes a change; ``active_parts`` uses the rendered stems.

* ``loudness_lufs`` — mean short-term loudness (BS.1770, 3 s windows, power mean) in the span;
* ``loudness_range_lu`` — spread of short-term loudness (95th − 10th percentile) in the span;
* ``onset_density_per_s`` — spectral-flux onsets per second;
* ``centroid_hz`` — spectral centroid of the long-term spectrum;
* ``width_db`` — side / mid energy ratio in dB (−∞ mono, 0 as wide as it is deep);
* ``presence_db`` — 300 Hz–3 kHz energy relative to the whole band (where dialogue lives);
* ``active_parts`` — stems within 30 dB of the loudest stem in the span;
* ``tension`` — 1 − key clarity of the span's chroma (0 clearly in a key, 1 no key at all).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from trackwright.analysis.dynamics import SHORT_WINDOW_CENTRE_S
from trackwright.analysis.loudness import short_term_series
from trackwright.audio import Audio

DESCRIPTORS = ("loudness_lufs", "loudness_range_lu", "onset_density_per_s", "centroid_hz", "width_db", "presence_db",
               "active_parts", "tension")
#: What "more" of a dimension should do to the descriptors (+1 up, −1 down): checked after a note.
EXPECTED: dict[str, dict[str, int]] = {
    "loudness": {"loudness_lufs": 1},
    "energy": {"loudness_lufs": 1},
    "restraint": {"loudness_lufs": -1},
    "intimacy": {"width_db": -1},
    "size": {"width_db": 1},
    "brightness": {"centroid_hz": 1},
    "warmth": {"centroid_hz": -1},
    "valence": {"centroid_hz": 1},
    "density": {"active_parts": 1},
    "clearance": {"presence_db": -1},
    "tension": {"centroid_hz": -1},
}

_KRUMHANSL_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_KRUMHANSL_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


@dataclass(frozen=True)
class _Measured:
    audio: Audio
    centres_s: np.ndarray  # centre of each short-term (3 s) window, seconds
    short_term: np.ndarray  # LUFS


def _prepare(audio: Audio) -> _Measured:
    series = short_term_series(audio)
    return _Measured(audio, np.asarray(series.times_s, dtype=float) - SHORT_WINDOW_CENTRE_S,
                     np.asarray(series.lufs, dtype=float))


def _slice(audio: Audio, start_s: float, end_s: float) -> np.ndarray:
    lo, hi = int(start_s * audio.sample_rate), int(end_s * audio.sample_rate)
    return audio.samples[:, max(lo, 0): max(hi, lo + 1)]


def _spectrum(x: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    mono = x.mean(axis=0).astype(np.float64)
    n = 4096
    frames = max(1, (len(mono) - n) // (n // 2) + 1)
    window = np.hanning(n)
    power = np.zeros(n // 2 + 1)
    for i in range(frames):
        chunk = mono[i * n // 2: i * n // 2 + n]
        if len(chunk) < n:
            chunk = np.pad(chunk, (0, n - len(chunk)))
        power += np.abs(np.fft.rfft(chunk * window)) ** 2
    return np.fft.rfftfreq(n, 1.0 / sample_rate), power


def _tension(x: np.ndarray, sample_rate: int) -> float:
    freqs, power = _spectrum(x, sample_rate)
    keep = (freqs > 60) & (freqs < 2000)
    pitch_class = np.round(12 * np.log2(freqs[keep] / 440.0)).astype(int) % 12
    chroma = np.bincount((pitch_class + 9) % 12, weights=np.sqrt(power[keep]), minlength=12)
    if chroma.sum() <= 0:
        return 0.0
    best = max(np.corrcoef(chroma, np.roll(profile, shift))[0, 1]
               for profile in (_KRUMHANSL_MAJOR, _KRUMHANSL_MINOR) for shift in range(12))
    return float(np.clip(1.0 - best, 0.0, 1.0))


def describe_span(measured: _Measured, start_s: float, end_s: float,
                  stems: Mapping[str, Audio] | None = None) -> dict[str, float]:
    """Every descriptor of :data:`DESCRIPTORS` for ``start_s``–``end_s`` of a prepared render."""
    audio = measured.audio
    x = _slice(audio, start_s, end_s).astype(np.float64)
    inside = (measured.centres_s >= start_s) & (measured.centres_s < end_s)
    if not inside.any():  # a span shorter than the hop: the nearest window
        inside = np.abs(measured.centres_s - (start_s + end_s) / 2) == np.abs(measured.centres_s - (start_s + end_s) / 2).min()
    series = measured.short_term[inside]
    series = series[np.isfinite(series) & (series > -70)]
    loudness = float(10 * np.log10(np.mean(10 ** (series / 10)))) if len(series) else -70.0
    spread = float(np.percentile(series, 95) - np.percentile(series, 10)) if len(series) > 2 else 0.0
    freqs, power = _spectrum(x, audio.sample_rate)
    total = power[(freqs > 20) & (freqs < 16000)].sum()
    centroid = float((freqs * power).sum() / max(power.sum(), 1e-20))
    presence = float(10 * np.log10(max(power[(freqs >= 300) & (freqs <= 3000)].sum(), 1e-20) / max(total, 1e-20)))
    if x.shape[0] >= 2:
        mid, side = (x[0] + x[1]) / 2, (x[0] - x[1]) / 2
        width = float(10 * np.log10(max(np.sum(side * side), 1e-20) / max(np.sum(mid * mid), 1e-20)))
    else:
        width = -200.0
    onsets = _onset_density(x, audio.sample_rate)
    active = 0
    if stems:
        levels = {name: float(np.sqrt(np.mean(_slice(s, start_s, end_s).astype(np.float64) ** 2)) + 1e-12)
                  for name, s in stems.items()}
        loudest = max(levels.values())
        active = sum(1 for level in levels.values() if 20 * np.log10(level / loudest) > -30 and level > 1e-5)
    return {"loudness_lufs": round(loudness, 2), "loudness_range_lu": round(spread, 2),
            "onset_density_per_s": round(onsets, 2), "centroid_hz": round(centroid, 1), "width_db": round(width, 2),
            "presence_db": round(presence, 2), "active_parts": active, "tension": round(_tension(x, audio.sample_rate), 3)}


def _onset_density(x: np.ndarray, sample_rate: int) -> float:
    """Spectral-flux onsets per second (peaks above the median + 1.5 × MAD of the flux)."""
    mono = x.mean(axis=0)
    n, hop = 1024, 512
    frames = (len(mono) - n) // hop + 1
    if frames < 3:
        return 0.0
    index = np.arange(n)[None, :] + hop * np.arange(frames)[:, None]
    spectra = np.abs(np.fft.rfft(mono[index] * np.hanning(n), axis=1))
    flux = np.maximum(np.diff(np.log1p(100 * spectra), axis=0), 0).sum(axis=1)
    threshold = np.median(flux) + 1.5 * np.median(np.abs(flux - np.median(flux))) + 1e-9
    peaks = (flux[1:-1] > flux[:-2]) & (flux[1:-1] >= flux[2:]) & (flux[1:-1] > threshold)
    return float(peaks.sum() / (len(mono) / sample_rate))


def outside_difference_db(before: Audio, after: Audio, spans: Sequence[tuple[float, float]], *,
                          margin_s: float = 1.0) -> float | None:
    """Largest |after − before| (dBFS) outside ``spans`` (each widened by ``margin_s``); None when
    the two renders differ in length (a tempo or arrangement change moves everything)."""
    if before.frames != after.frames or before.sample_rate != after.sample_rate:
        return None
    outside = np.ones(before.frames, dtype=bool)
    for start, end in spans:
        lo = max(0, int((start - margin_s) * before.sample_rate))
        hi = min(before.frames, int((end + margin_s) * before.sample_rate))
        outside[lo:hi] = False
    if not outside.any():
        return None
    diff = np.abs(after.samples[:, outside].astype(np.float64) - before.samples[:, outside]).max()
    return float(20 * np.log10(max(diff, 1e-12)))


def prepare(audio: Audio) -> _Measured:
    """Measure the whole render once (short-term loudness); then :func:`describe_span` per span."""
    return _prepare(audio)
