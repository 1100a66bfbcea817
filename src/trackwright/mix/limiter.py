"""A look-ahead true-peak limiter, computed offline on the whole signal at once.

The detector sees inter-sample peaks: it reads the oversampled peak envelope of
:func:`~trackwright.analysis.loudness.oversampled_peak_envelope` (every channel oversampled to
≥ 176.4 kHz, so the peaks a D/A converter or a lossy codec would produce count), not the sample
values. The gain computer then works in dB, vectorised with NumPy:

1. **required attenuation** ``a[n] = max(0, peak_dB[n] + gain_dB − ceiling_dB)``;
2. **look-ahead hold**: ``h[n] = max(a[n … n+L])`` so the gain starts to fall ``L`` frames
   (the look-ahead time) before each peak;
3. **release**: ``r[n] = max(h[n], r[n−1] − ρ)`` with ρ dB per frame (an exponential gain
   recovery), computed in one pass with the max-plus identity
   ``r[n] = cummax(h[k] + ρk) − ρn``;
4. **attack smoothing**: the moving mean of ``r`` over the past ``L + 1`` frames. Because of
   step 2 every value in the window ending at a peak is at least that peak's requirement, so the
   smoothed attenuation still meets it: the limiter never lets a detected peak through, and the
   attack is a smooth ramp instead of a click.

Stereo (or multichannel) channels share one gain so the image does not shift.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from trackwright.analysis.loudness import oversampled_chunks, oversampled_peak_envelope, oversampling_factor
from trackwright.errors import ParameterError

#: Look-ahead (and attack) time, seconds.
DEFAULT_LOOKAHEAD_S = 0.005
#: Time for the gain reduction to recover by 8.69 dB (one neper), seconds.
DEFAULT_RELEASE_S = 0.08
_NEPER_DB = 20.0 / math.log(10.0)


@dataclass(frozen=True)
class LimiterResult:
    """Limited samples (channels × frames, float32) and the attenuation applied, dB (≥ 0)."""

    samples: np.ndarray
    attenuation_db: np.ndarray

    @property
    def max_attenuation_db(self) -> float:
        """Largest gain reduction, dB."""
        return float(self.attenuation_db.max()) if self.attenuation_db.size else 0.0


def peak_envelope_db(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Per-frame true-peak envelope in dBTP, shape (frames,), float32 (floored at −300 dB)."""
    envelope = oversampled_peak_envelope(samples, sample_rate).astype(np.float32, copy=False)
    np.maximum(envelope, np.float32(1e-15), out=envelope)
    np.log10(envelope, out=envelope)
    envelope *= np.float32(20.0)
    return envelope


def attenuation_db(peak_db: np.ndarray, ceiling_db: float, *, lookahead: int, release_db: float,
                   overwrite: bool = False) -> np.ndarray:
    """Gain reduction, dB (≥ 0), shape like ``peak_db``, that keeps every peak under the ceiling.

    Parameters
    ----------
    peak_db : np.ndarray
        Peak level per step (a frame, or a block of frames), dB, shape (n,).
    ceiling_db : float
        Level no peak may exceed after the reduction, dB.
    lookahead : int
        Look-ahead (= attack) length in steps, ≥ 0.
    release_db : float
        Recovery rate, dB per step, > 0.
    overwrite : bool
        ``peak_db`` (float32) is scratch the function may overwrite: one array fewer.
    """
    if lookahead < 0 or not release_db > 0:
        raise ParameterError("limiter needs lookahead ≥ 0 and a positive release")
    if overwrite and isinstance(peak_db, np.ndarray) and peak_db.dtype == np.float32:
        required = peak_db
        required -= np.float32(ceiling_db)
    else:
        required = np.asarray(peak_db, dtype=np.float32) - np.float32(ceiling_db)
    np.maximum(required, 0.0, out=required)
    active = np.flatnonzero(required)
    if not active.size:
        return required
    # a requirement reaches ``size`` steps back (the hold), then recovers at ``release_db`` per step
    # and is smoothed over ``size`` more: outside that reach of every active step the result is 0,
    # so only the spans around active steps are computed (most of a master is under the ceiling)
    size = lookahead + 1
    if 4 * active.size > len(required):  # limiting most of the time: one pass over everything
        return _attenuation_span(required, size, release_db)
    reach = 2 * size + math.ceil(float(required[active].max()) / release_db) + 1
    breaks = np.flatnonzero(np.diff(active) > 2 * reach)
    out = np.zeros_like(required)
    for first, last in zip(active[np.concatenate(([0], breaks + 1))], active[np.concatenate((breaks, [-1]))]):
        lo, hi = max(0, int(first) - reach), min(len(required), int(last) + reach + 1)
        out[lo:hi] = _attenuation_span(required[lo:hi], size, release_db)
    return out


def _attenuation_span(required: np.ndarray, size: int, release_db: float) -> np.ndarray:
    """Hold, release and smoothing (steps 2–4 above) of required attenuation (dB, float32, shape
    (n,)) with a look-ahead window of ``size`` steps and ``release_db`` dB per step."""
    held = np.empty_like(required)
    for start in range(0, len(required), _RELEASE_CHUNK):
        stop = min(start + _RELEASE_CHUNK, len(required))
        _window_max(required[start: stop + size - 1], size, stop - start, held[start:stop])
    _release_in_place(held, release_db)
    out = np.empty_like(held)
    for start in range(0, len(held), _RELEASE_CHUNK):
        stop = min(start + _RELEASE_CHUNK, len(held))
        _past_mean(held, start, stop, size, out[start:stop])
    return out


def _window_max(values: np.ndarray, size: int, count: int, out: np.ndarray) -> None:
    """``out[i] = max(values[i : i + size])`` for ``i < count``; values past the end repeat the
    last one (a look-ahead past the signal sees its final value). Doubling windows: a window of
    2^k is two of 2^(k−1), and any ``size`` is two overlapping windows of the largest 2^k ≤ size."""
    need = count + size - 1
    if len(values) < need:
        values = np.concatenate((values, np.full(need - len(values), values[-1], dtype=values.dtype)))
    width, current = 1, values[:need]
    while 2 * width <= size:
        current = np.maximum(current[:-width], current[width:])
        width *= 2
    np.maximum(current[:count], current[size - width: size - width + count], out=out)


def _past_mean(held: np.ndarray, start: int, stop: int, size: int, out: np.ndarray) -> None:
    """``out[i − start]`` = the mean of ``held[i − size + 1 … i]`` for ``start ≤ i < stop``, frames
    before the signal repeating its first value (float64 sums)."""
    first = start - size + 1
    window = held[max(first, 0): stop].astype(np.float64)
    if first < 0:
        window = np.concatenate((np.full(-first, window[0]), window))
    sums = np.cumsum(window)
    sums[size:] -= sums[:-size]
    out[:] = sums[size - 1:] / size


_RELEASE_CHUNK = 1 << 16


def _release_in_place(held: np.ndarray, release_db: float) -> None:
    """``r[n] = max(h[n], r[n−1] − ρ)`` over float32 ``held``, in chunks (exact to ~1e-5 dB).

    Within a chunk the recursion is ``cummax(h[k] + ρk) − ρn``; the chunk's last value is
    carried into the next one as a decaying floor.
    """
    ramp = np.arange(min(len(held), _RELEASE_CHUNK), dtype=np.float32) * np.float32(release_db)
    carry = 0.0
    for start in range(0, len(held), _RELEASE_CHUNK):
        segment = held[start: start + _RELEASE_CHUNK]
        steps = ramp[: len(segment)]
        segment += steps
        np.maximum.accumulate(segment, out=segment)
        segment -= steps
        floor = carry - release_db
        if floor > 0:
            reach = min(len(segment), int(floor / release_db) + 1)
            np.maximum(segment[:reach], np.float32(floor) - steps[:reach], out=segment[:reach])
        carry = float(segment[-1])


def release_db_per_frame(release_s: float, sample_rate: float) -> float:
    """Recovery rate in dB per frame for a release time (one neper of recovery), seconds."""
    if not release_s > 0:
        raise ParameterError(f"release must be positive, got {release_s:g} s")
    return _NEPER_DB / (release_s * sample_rate)


def limit(samples: np.ndarray, sample_rate: int, ceiling_dbtp: float, *, gain_db: float = 0.0,
          lookahead_s: float = DEFAULT_LOOKAHEAD_S, release_s: float = DEFAULT_RELEASE_S,
          peak_db: np.ndarray | None = None) -> LimiterResult:
    """Apply ``gain_db`` then limit true peaks to ``ceiling_dbtp``.

    Parameters
    ----------
    samples : np.ndarray
        Channels × frames, float.
    sample_rate : int
        Hz.
    ceiling_dbtp : float
        True-peak ceiling, dBTP.
    gain_db : float
        Make-up gain applied before limiting, dB.
    lookahead_s, release_s : float
        Look-ahead/attack and release times, seconds.
    peak_db : np.ndarray, optional
        :func:`peak_envelope_db` of ``samples`` if already known (it scales with the gain, so
        one envelope serves every ``gain_db`` tried).

    Returns
    -------
    LimiterResult
    """
    if peak_db is None:
        peak_db = peak_envelope_db(samples, sample_rate)
    lookahead = max(1, round(lookahead_s * sample_rate))
    reduction = attenuation_db(peak_db + gain_db, ceiling_dbtp, lookahead=lookahead, overwrite=True,
                               release_db=release_db_per_frame(release_s, sample_rate))
    out = np.empty(samples.shape, dtype=np.float32)
    for start in range(0, samples.shape[-1], _RELEASE_CHUNK):  # the gain a chunk at a time: no song-length copy
        gain = reduction[start: start + _RELEASE_CHUNK].astype(np.float32)
        gain -= np.float32(gain_db)
        gain *= np.float32(-math.log(10.0) / 20.0)
        np.exp(gain, out=gain)
        np.multiply(samples[..., start: start + _RELEASE_CHUNK], gain, out=out[..., start: start + _RELEASE_CHUNK])
    return LimiterResult(out, reduction)


#: Input frames either side of a limited span within which the oversampled output can differ
#: from the unlimited one scaled (the resampler's reach is under 128 frames), and the warm-up a
#: span's own resampler is given.
_SPAN_REACH = 512


def limited_true_peak_dbtp(samples: np.ndarray, sample_rate: int, result: LimiterResult, peak_db: np.ndarray,
                           gain_db: float) -> float | None:
    """True peak (dBTP) of ``result.samples`` from what the limiter already knows, or ``None``
    when the limiter worked on so much of the signal that measuring it whole is as cheap.

    Oversampling is linear: wherever the gain is the constant ``gain_db`` over the resampler's
    reach, the output's oversampled values are the input's scaled, so their peak is the input's
    envelope ``peak_db`` (:func:`peak_envelope_db` of ``samples``, channels × frames) plus the
    gain. Only the spans where the limiter acted (widened by that reach) are oversampled again,
    from the output itself. Equal to measuring the whole output to float32 precision.
    """
    active = np.flatnonzero(result.attenuation_db > 0)
    frames = samples.shape[1]
    if not active.size:
        return float(peak_db.max()) + gain_db
    breaks = np.flatnonzero(np.diff(active) > 2 * _SPAN_REACH)
    firsts = active[np.concatenate(([0], breaks + 1))]
    lasts = active[np.concatenate((breaks, [-1]))]
    spans = [(max(0, int(a) - _SPAN_REACH), min(frames, int(b) + _SPAN_REACH + 1)) for a, b in zip(firsts, lasts)]
    if sum(hi - lo for lo, hi in spans) > frames // 2:
        return None
    outside = np.ones(frames, dtype=bool)
    peak = 0.0
    for lo, hi in spans:
        outside[lo:hi] = False
        start, stop = max(0, lo - _SPAN_REACH), min(frames, hi + _SPAN_REACH)
        first, last = (lo - start) * oversampling_factor(sample_rate), (hi - start) * oversampling_factor(sample_rate)
        for channel in result.samples[:, start:stop]:
            values = np.concatenate(list(oversampled_chunks(channel, sample_rate)))[first:last]
            peak = max(peak, float(np.abs(values).max()) if values.size else 0.0,
                       float(np.abs(channel[lo - start: hi - start]).max()))
    span_db = 20.0 * math.log10(peak) if peak > 0 else -math.inf
    rest_db = float(peak_db[outside].max()) + gain_db if outside.any() else -math.inf
    return max(span_db, rest_db)
