"""Measures for checking what a creative note did, made here and independent of trackwright's own
(trackwright.revise.measure): pyloudnorm for loudness, numpy for spectra, width and levels."""

from __future__ import annotations

import numpy as np
import pyloudnorm

from trackwright.audio import Audio, load_audio
from trackwright.project import RenderResult

#: A stem below this level (dBFS RMS) is not sounding.
SILENT_DB = -50.0


def _span(audio: Audio, start_s: float, end_s: float) -> np.ndarray:
    rate = audio.sample_rate
    return audio.samples[:, round(start_s * rate):round(end_s * rate)].astype(np.float64)


def level_db(audio: Audio, start_s: float, end_s: float) -> float:
    """RMS level of a span, dBFS."""
    part = _span(audio, start_s, end_s)
    return float(10 * np.log10(max(float(np.mean(part ** 2)), 1e-20)))


def lufs(audio: Audio, start_s: float, end_s: float) -> float:
    """Integrated loudness of a span (ITU-R BS.1770 by pyloudnorm), LUFS."""
    return float(pyloudnorm.Meter(audio.sample_rate).integrated_loudness(_span(audio, start_s, end_s).T))


def centroid_hz(audio: Audio, start_s: float, end_s: float) -> float:
    """Power-weighted mean frequency of the span's mono mix, Hz."""
    mono = _span(audio, start_s, end_s).mean(axis=0)
    power = np.abs(np.fft.rfft(mono)) ** 2
    freqs = np.fft.rfftfreq(mono.size, 1.0 / audio.sample_rate)
    return float((power * freqs).sum() / max(power.sum(), 1e-30))


def band_db(audio: Audio, start_s: float, end_s: float, lo_hz: float, hi_hz: float) -> float:
    """Energy of the span's mono mix between two frequencies, dB."""
    mono = _span(audio, start_s, end_s).mean(axis=0)
    power = np.abs(np.fft.rfft(mono)) ** 2
    freqs = np.fft.rfftfreq(mono.size, 1.0 / audio.sample_rate)
    return float(10 * np.log10(max(float(power[(freqs >= lo_hz) & (freqs < hi_hz)].sum()), 1e-30)))


def band_share_db(audio: Audio, start_s: float, end_s: float, lo_hz: float, hi_hz: float) -> float:
    """A band's share of the span's energy (20 Hz–20 kHz), dB: independent of the level."""
    return band_db(audio, start_s, end_s, lo_hz, hi_hz) - band_db(audio, start_s, end_s, 20.0, 20000.0)


def crest_db(audio: Audio, start_s: float, end_s: float) -> float:
    """Median peak-to-RMS ratio of 50 ms frames of the span, dB (attacks: punch)."""
    part = _span(audio, start_s, end_s)
    n = int(0.05 * audio.sample_rate)
    frames = part[:, : part.shape[1] // n * n].reshape(part.shape[0], -1, n)
    rms = np.sqrt(np.mean(frames ** 2, axis=(0, 2)))
    peak = np.max(np.abs(frames), axis=(0, 2))
    keep = rms > 1e-4
    return float(np.median(20 * np.log10(peak[keep] / rms[keep])))


def width_db(audio: Audio, start_s: float, end_s: float) -> float:
    """Side level over mid level of a stereo span, dB."""
    left, right = _span(audio, start_s, end_s)[:2]
    side, mid = np.mean((left - right) ** 2), np.mean((left + right) ** 2)
    return float(10 * np.log10(max(float(side), 1e-20) / max(float(mid), 1e-20)))


def parts_sounding(stems: dict[str, Audio], start_s: float, end_s: float) -> int:
    """How many stems are above :data:`SILENT_DB` in the span."""
    return sum(level_db(stem, start_s, end_s) > SILENT_DB for stem in stems.values())


def measure(what: str, before: RenderResult, after: RenderResult, start_s: float, end_s: float) -> float:
    """How far ``what`` moved from ``before`` to ``after`` in the span: dB or LU, a relative change
    for the centroid, a count for parts, a stem's level in dB when ``what`` names a stem."""
    a, b = load_audio(before.mix), load_audio(after.mix)
    if what == "lufs":
        return lufs(b, start_s, end_s) - lufs(a, start_s, end_s)
    if what == "centroid":
        return centroid_hz(b, start_s, end_s) / centroid_hz(a, start_s, end_s) - 1.0
    if what == "width":
        return width_db(b, start_s, end_s) - width_db(a, start_s, end_s)
    if what == "presence":
        return band_db(b, start_s, end_s, 300.0, 3000.0) - band_db(a, start_s, end_s, 300.0, 3000.0)
    if what == "parts":
        stems_a = {n: load_audio(p) for n, p in before.stems.items()}
        stems_b = {n: load_audio(p) for n, p in after.stems.items()}
        return float(parts_sounding(stems_b, start_s, end_s) - parts_sounding(stems_a, start_s, end_s))
    return level_db(load_audio(after.stems[what]), start_s, end_s) - \
        level_db(load_audio(before.stems[what]), start_s, end_s)
