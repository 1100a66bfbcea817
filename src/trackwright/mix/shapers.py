"""Dynamics shapers for automation moves: transients, slow expansion, ambience, pitch, a riser.

Conventions
-----------
* Every function takes ``samples`` (channels × frames, float32) and the sample rate in Hz and
  returns a new array of the same shape; the input is never changed. Channels share one gain, so
  the stereo image holds.
* Levels are measured on the mean power of the channels with moving windows computed from
  cumulative sums (so a 3-minute stereo part takes milliseconds), in dB.
* ``amount_db`` is signed: positive does more of the thing named (sharper transients, more
  dynamic range, less ambience), negative the opposite where that has a meaning.
"""

from __future__ import annotations

import numpy as np
import scipy.ndimage
from scipy.signal import lfilter

#: Transient shaper windows, seconds: the attack detector compares these two trailing RMS levels.
TRANSIENT_FAST_S, TRANSIENT_SLOW_S = 0.003, 0.040
#: Expansion: the level envelope window and the gain smoothing, seconds.
EXPAND_WINDOW_S, EXPAND_SMOOTH_S = 0.4, 0.1
#: Ambience: the level window, and how long a peak is remembered, seconds.
AMBIENCE_WINDOW_S, AMBIENCE_HOLD_S = 0.005, 0.2
_GAIN_LIMIT_DB = 18.0


def _power(samples: np.ndarray) -> np.ndarray:
    return np.mean(np.square(samples, dtype=np.float64), axis=0)


def _trailing_mean(x: np.ndarray, n: int) -> np.ndarray:
    """Mean of the last ``n`` values at each index (fewer at the start)."""
    n = max(1, int(n))
    cumulative = np.cumsum(x)
    out = np.empty_like(cumulative)
    head = min(n, len(x))
    out[:head] = cumulative[:head] / np.arange(1, head + 1)
    if head < len(x):
        out[head:] = (cumulative[head:] - cumulative[:-head]) / n
    return out


def _centred_mean(x: np.ndarray, n: int) -> np.ndarray:
    return scipy.ndimage.uniform_filter1d(x, size=max(1, int(n)), mode="nearest")


def _db(power: np.ndarray) -> np.ndarray:
    return 10.0 * np.log10(np.maximum(power, 1e-12))


def _apply_gain_db(samples: np.ndarray, gain_db: np.ndarray) -> np.ndarray:
    gain = np.power(10.0, np.clip(gain_db, -_GAIN_LIMIT_DB, _GAIN_LIMIT_DB) / 20.0).astype(np.float32)
    return (samples * gain[None, :]).astype(np.float32)


def shape_transients(samples: np.ndarray, sample_rate: int, amount_db: float) -> np.ndarray:
    """A transient designer: attacks (where the 3 ms level rises above the 40 ms level) get
    ``amount_db`` per 6 dB of rise (negative softens them; at most 18 dB either way)."""
    power = _power(samples)
    fast = _trailing_mean(power, TRANSIENT_FAST_S * sample_rate)
    slow = _trailing_mean(power, TRANSIENT_SLOW_S * sample_rate)
    rise = np.clip(_db(fast) - _db(slow), 0.0, 12.0)
    gain_db = _centred_mean(amount_db * rise / 6.0, 0.002 * sample_rate)
    return _apply_gain_db(samples, gain_db)


def expand(samples: np.ndarray, sample_rate: int, amount_db: float) -> np.ndarray:
    """Slow upward/downward expansion around the median level: a passage 10 dB above the median
    gets ``amount_db`` more, one 10 dB below gets ``amount_db`` less (negative compresses)."""
    level = _db(_centred_mean(_power(samples), EXPAND_WINDOW_S * sample_rate))
    audible = level > level.max() - 60.0
    reference = float(np.median(level[audible])) if audible.any() else 0.0
    gain_db = np.clip(amount_db * (level - reference) / 10.0, -_GAIN_LIMIT_DB, _GAIN_LIMIT_DB)
    gain_db = _centred_mean(np.where(audible, gain_db, 0.0), EXPAND_SMOOTH_S * sample_rate)
    return _apply_gain_db(samples, gain_db)


def reduce_ambience(samples: np.ndarray, sample_rate: int, amount_db: float) -> np.ndarray:
    """A downward expander for room and reverb tails: where the level has fallen more than 6 dB
    below its peak of the last 200 ms, it is turned down, up to ``amount_db`` at 18 dB below."""
    level = _db(_trailing_mean(_power(samples), AMBIENCE_WINDOW_S * sample_rate))
    hold = int(AMBIENCE_HOLD_S * sample_rate)
    recent = scipy.ndimage.maximum_filter1d(level, size=hold, origin=(hold - 1) // 2, mode="nearest")
    depth = np.clip((recent - level - 6.0) / 12.0, 0.0, 1.0)
    gain_db = _centred_mean(-abs(amount_db) * depth, 0.005 * sample_rate)
    return _apply_gain_db(samples, gain_db)


def shift_pitch(samples: np.ndarray, sample_rate: int, semitones: float) -> np.ndarray:
    """Transpose by ``semitones`` at the same tempo (Rubber Band, its finer engine)."""
    from pedalboard import time_stretch

    out = time_stretch(np.ascontiguousarray(samples, dtype=np.float32), float(sample_rate), stretch_factor=1.0,
                       pitch_shift_in_semitones=float(semitones), high_quality=True)
    frames = samples.shape[1]
    if out.shape[1] >= frames:
        return np.ascontiguousarray(out[:, :frames])
    return np.pad(out, ((0, 0), (0, frames - out.shape[1])))


def riser(samples: np.ndarray, sample_rate: int, level_db: float, *, seed: int = 0) -> np.ndarray:
    """``samples`` plus a rising noise sweep across the whole stretch: white noise through a
    low-pass whose cutoff climbs from 300 Hz to 8 kHz, its level rising to ``level_db`` relative
    to the stretch's RMS level at the end."""
    frames = samples.shape[1]
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((samples.shape[0], frames))
    t = np.linspace(0.0, 1.0, frames)
    cutoff = 300.0 * (8000.0 / 300.0) ** t
    coefficient = np.exp(-2.0 * np.pi * cutoff / sample_rate)
    out = np.empty_like(noise)
    state = np.zeros(samples.shape[0])
    block = 256
    for start in range(0, frames, block):  # a one-pole low-pass whose cutoff moves slowly: per block
        a = coefficient[start]
        chunk = noise[:, start:start + block]
        filtered, state_out = _one_pole(chunk, a, state)
        out[:, start:start + block] = filtered
        state = state_out
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) or 1e-3
    out /= max(float(np.sqrt(np.mean(out[:, -max(1, frames // 10):] ** 2))), 1e-12)
    swell = t ** 2 * rms * 10 ** (level_db / 20.0)
    return (samples + (out * swell[None, :]).astype(np.float32)).astype(np.float32)


def _one_pole(chunk: np.ndarray, a: float, state: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    filtered, zf = lfilter([1.0 - a], [1.0, -a], chunk, axis=1, zi=(state * a)[:, None])
    return filtered, filtered[:, -1]
