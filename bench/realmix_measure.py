"""Measurements of ``bench_realmix.py``, independent of trackwright's own analysis code.

Conventions
-----------
Audio is float64, shape (channels × frames), at the file's own rate; levels are dB (power
ratios, 10·log10), loudness LUFS (pyloudnorm, ITU-R BS.1770-4), true peak dBTP (4× oversampled
sample peak, scipy's polyphase resampler), frequencies Hz, times and lags seconds. Nothing here
imports trackwright.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyloudnorm
import soundfile as sf
from scipy import signal

#: Octave-band centres compared (Hz): 63 Hz to 8 kHz, as the issue asks.
OCTAVES_HZ = (63.0, 125.0, 250.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0)
_EPS = 1e-20


def read(path: str | Path) -> tuple[np.ndarray, int]:
    """(channels × frames float64, rate); mono becomes two equal channels."""
    data, rate = sf.read(str(path), dtype="float64", always_2d=True)
    data = data.T
    return (np.vstack([data, data]) if data.shape[0] == 1 else data[:2]), int(rate)


def db(power: float) -> float:
    """10·log10 of a power, −inf for zero (rounded to 0.01 dB)."""
    return round(10.0 * np.log10(power), 2) if power > 0 else float("-inf")


def power(audio: np.ndarray) -> float:
    """Mean square over all channels and frames."""
    return float(np.mean(np.square(audio))) if audio.size else 0.0


def loudness_lufs(audio: np.ndarray, rate: int) -> float:
    """Integrated loudness, LUFS (−inf when everything is under the −70 LUFS gate or shorter than 0.4 s)."""
    if audio.shape[1] < int(0.4 * rate) or power(audio) == 0.0:
        return float("-inf")
    value = pyloudnorm.Meter(rate).integrated_loudness(audio.T)
    return round(float(value), 2) if np.isfinite(value) else float("-inf")


def true_peak_dbtp(audio: np.ndarray) -> float:
    """Peak of the 4× oversampled signal, dBTP."""
    if audio.size == 0:
        return float("-inf")
    peak = float(np.max(np.abs(signal.resample_poly(audio, 4, 1, axis=1))))
    return round(20.0 * np.log10(peak), 2) if peak > 0 else float("-inf")


def plr_db(audio: np.ndarray, rate: int) -> float:
    """Peak-to-loudness ratio: true peak minus integrated loudness, dB (the crest a limiter takes)."""
    return round(true_peak_dbtp(audio) - loudness_lufs(audio, rate), 2)


#: A side/mid beyond ±this (dB) has one of the two at the noise floor of the file (a mono mix, or a
#: tracker's surround panning that leaves the channels in opposite polarity): differences beyond
#: it are quantisation noise, not width, so side/mid is compared clamped to this range.
SIDE_MID_RANGE_DB = 40.0


def octave_levels_db(audio: np.ndarray, rate: int, *, downmix: bool = False) -> dict[str, float]:
    """Power per octave band (4th-order Butterworth band-pass, one octave wide), dB; keys like "63".

    The channels' powers are summed (what a listener hears on two speakers, as BS.1770 sums them);
    with ``downmix`` the mono downmix is measured instead (blind to side content: an
    opposite-polarity mix has none).
    """
    channels = [audio.mean(axis=0)] if downmix else list(audio)
    out = {}
    for centre in OCTAVES_HZ:
        low, high = centre / np.sqrt(2.0), min(centre * np.sqrt(2.0), 0.45 * rate)
        sos = signal.butter(4, [low, high], btype="bandpass", fs=rate, output="sos")
        out[f"{centre:g}"] = db(sum(power(signal.sosfilt(sos, x)) for x in channels) + _EPS)
    return out


def band_balance_diff_db(test: np.ndarray, reference: np.ndarray, rate: int, *,
                         downmix: bool = False) -> dict[str, float]:
    """Per octave, test minus reference in dB after matching their integrated loudness
    (``downmix``: on the mono downmix, see :func:`octave_levels_db`)."""
    offset = loudness_lufs(reference, rate) - loudness_lufs(test, rate)
    if not np.isfinite(offset):
        return {}
    a, b = octave_levels_db(test, rate, downmix=downmix), octave_levels_db(reference, rate, downmix=downmix)
    return {k: round(a[k] + offset - b[k], 2) for k in a}


def side_mid_db(audio: np.ndarray) -> float:
    """Side power over mid power, dB (−inf for mono)."""
    mid, side = (audio[0] + audio[1]) / 2.0, (audio[0] - audio[1]) / 2.0
    return round(db(power(side) + _EPS) - db(power(mid) + _EPS), 2)


def side_mid_diff_db(test_db: float, reference_db: float) -> float:
    """Side/mid of a test minus a reference (both dB), each clamped to ±:data:`SIDE_MID_RANGE_DB`."""
    def clamp(x: float) -> float:
        return float(np.clip(x, -SIDE_MID_RANGE_DB, SIDE_MID_RANGE_DB))

    return round(clamp(test_db) - clamp(reference_db), 2)


def energy_below_db(audio: np.ndarray, rate: int, cutoff_hz: float) -> float:
    """Share of the signal's power below ``cutoff_hz`` (4th-order low-pass), dB re the whole."""
    if cutoff_hz <= 0:
        return float("-inf")
    sos = signal.butter(4, cutoff_hz, btype="lowpass", fs=rate, output="sos")
    mono = audio.mean(axis=0)
    return round(db(power(signal.sosfilt(sos, mono)) + _EPS) - db(power(mono) + _EPS), 2)


def align(*signals: np.ndarray) -> list[np.ndarray]:
    """The signals cut to the shortest length (channels kept)."""
    n = min(s.shape[1] for s in signals)
    return [s[:, :n] for s in signals]


def lag_and_polarity(part: np.ndarray, mix: np.ndarray, rate: int, *, max_lag_s: float = 0.05,
                     window_s: float = 30.0) -> dict[str, float]:
    """Cross-correlation of a part against the mix (mono, first ``window_s``): the lag of the
    strongest peak within ±``max_lag_s`` (seconds; positive: the part is late), its sign
    (+1 in phase, −1 inverted) and the normalised correlation there."""
    n = min(part.shape[1], mix.shape[1], int(window_s * rate))
    a, b = part[:, :n].mean(axis=0), mix[:, :n].mean(axis=0)
    norm = np.sqrt(np.sum(a * a) * np.sum(b * b))
    if norm == 0:
        return {"lag_s": 0.0, "polarity": 0.0, "correlation": 0.0}
    corr = signal.correlate(b, a, mode="full", method="fft")
    lags = np.arange(-n + 1, n)
    keep = np.abs(lags) <= int(max_lag_s * rate)
    best = int(np.argmax(np.abs(corr[keep])))
    value = float(corr[keep][best]) / norm
    return {"lag_s": round(float(lags[keep][best]) / rate, 5), "polarity": float(np.sign(value)),
            "correlation": round(value, 3)}


def stem_gains(mix: np.ndarray, parts: dict[str, np.ndarray]) -> dict[str, float]:
    """Least-squares gains g (linear, signed) with mix ≈ Σ g·part, over both channels."""
    names = list(parts)
    if not names:
        return {}
    matrix = np.stack([parts[n].reshape(-1) for n in names], axis=1)
    gains, *_ = np.linalg.lstsq(matrix, mix.reshape(-1), rcond=None)
    return {n: float(g) for n, g in zip(names, gains)}


def gain_db(gain: float) -> float:
    """|g| in dB (−inf for 0)."""
    return round(20.0 * np.log10(abs(gain)), 2) if gain != 0 else float("-inf")
