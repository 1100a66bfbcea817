"""Mastering to a delivery target: corrective EQ, glue compression, true-peak limiting, loudness.

The chain, in order (EQ and compression are pedalboard plug-ins, the limiter is ours because it
must see inter-sample peaks):

1. **Corrective EQ**: a 12 Hz first-order high-pass (DC and subsonic rumble), then — only when
   the long-term spectrum is clearly unbalanced — a low shelf (120 Hz) and a high shelf (8 kHz)
   of at most ±1.5 dB that correct half of the imbalance. With ``reference`` the shelves are
   replaced by a linear-phase match to the reference's long-term spectrum
   (:mod:`trackwright.mix.match`).
2. **Glue compression**: 2:1, 20 ms attack, 250 ms release, threshold 3 dB under the 90th
   percentile of 50 ms peak levels, so only the loudest moments are held in by ~1–2 dB.
3. **Gain and look-ahead true-peak limiting** (:mod:`trackwright.mix.limiter`). The gain is
   solved so the limited output lands on the target integrated loudness: a fast model of the
   limiter and the BS.1770 gate on a decimated grid finds it, then the full-rate result is
   measured with :func:`~trackwright.analysis.loudness.measure_loudness` and corrected until it
   is within 0.05 LU (the promise is ±0.2 LU) and at or under the ceiling. The result's true
   peak is not oversampled again where the limiter left the gain constant: there it is the
   shaped signal's envelope plus the gain (:func:`~trackwright.mix.limiter.limited_true_peak_dbtp`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pedalboard

from trackwright.analysis.loudness import (
    BLOCK_S,
    HOP_S,
    LoudnessReport,
    gated_block_loudness,
    integrated_loudness,
    measure_loudness,
    weighted_power,
)
from trackwright.audio import Audio
from trackwright.errors import MeasurementError, ParameterError
from trackwright.mix import limiter
from trackwright.analysis.spectrum import average_spectrum
from trackwright.mix.match import match_spectrum
from trackwright.mix.targets import CEILING_RANGE, DEFAULT_CEILING_DBTP, LUFS_RANGE, TOLERANCE_LU, Target
from trackwright.parallel import thread_map
from trackwright.progress import ProgressCallback, ignore_progress

#: Gain reduction beyond which mastering warns that the target squashes the mix, dB.
HEAVY_LIMITING_DB = 8.0
#: Largest gain reduction the solver will use to reach a target, dB.
MAX_LIMITING_DB = 30.0
_AIM_LU = 0.05
_HIGHPASS_HZ = 12.0
_SHELF_MAX_DB = 1.5
_LOW_SHELF_HZ, _HIGH_SHELF_HZ = 120.0, 8000.0
#: Balanced ranges of the low (40–160 Hz) and high (4–12 kHz) bands' energy per octave relative
#: to the mid band (250 Hz–2 kHz), dB; outside them the shelves correct half the excess.
_LOW_BALANCE_DB = (-3.0, 6.0)
_HIGH_BALANCE_DB = (-16.0, -4.0)


@dataclass(frozen=True)
class MasterResult:
    """A master and how it was made.

    Attributes:
        audio: the master (channels × frames, float32, the input's rate).
        target: what it was mastered to.
        before, after: meter reports of the input and the master.
        gain_db: gain applied before the limiter, dB.
        max_limiting_db: largest true-peak limiter gain reduction, dB.
        chain: the settings used (EQ gains in dB, compressor threshold in dBFS, …).
        warnings: one line each.
    """

    audio: Audio
    target: Target
    before: LoudnessReport
    after: LoudnessReport
    gain_db: float
    max_limiting_db: float
    chain: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (no samples)."""
        return {
            "target": self.target.to_dict(),
            "before": self.before.to_dict(),
            "after": self.after.to_dict(),
            "gain_db": round(self.gain_db, 2),
            "max_limiting_db": round(self.max_limiting_db, 2),
            "chain": self.chain,
            "warnings": list(self.warnings),
        }


def _band_db(freqs: np.ndarray, power_db: np.ndarray, lo_hz: float, hi_hz: float) -> float:
    """Mean energy per octave of a band, dB."""
    band = (freqs >= lo_hz) & (freqs < hi_hz)
    if not band.any():
        return math.nan
    energy = float(np.sum(10 ** (power_db[band] / 10)))
    return 10 * math.log10(max(energy, 1e-30) / math.log2(hi_hz / lo_hz))


def _shelf_gain(level_db: float, balanced: tuple[float, float]) -> float:
    if not math.isfinite(level_db):
        return 0.0
    excess = level_db - min(max(level_db, balanced[0]), balanced[1])
    return float(np.clip(-0.5 * excess, -_SHELF_MAX_DB, _SHELF_MAX_DB))


def tonal_shelves(samples: np.ndarray, sample_rate: int) -> tuple[float, float]:
    """Corrective (low shelf, high shelf) gains in dB for channels × frames ``samples``."""
    freqs, power_db = average_spectrum(samples, sample_rate)
    mid = _band_db(freqs, power_db, 250.0, 2000.0)
    low = _band_db(freqs, power_db, 40.0, 160.0) - mid
    high = _band_db(freqs, power_db, 4000.0, min(12000.0, 0.45 * sample_rate)) - mid
    return _shelf_gain(low, _LOW_BALANCE_DB), _shelf_gain(high, _HIGH_BALANCE_DB)


def glue_threshold_db(samples: np.ndarray, sample_rate: int) -> float:
    """Compressor threshold, dBFS: 3 dB under the 90th percentile of 50 ms block peaks."""
    block = max(1, round(0.05 * sample_rate))
    count = samples.shape[1] // block
    if count == 0:
        return 0.0
    peaks = np.abs(samples[:, : count * block]).max(axis=0).reshape(count, block).max(axis=1)
    level = float(np.percentile(peaks[peaks > 0], 90)) if np.any(peaks > 0) else 1.0
    return 20 * math.log10(max(level, 1e-6)) - 3.0


class _LimitedLoudnessModel:
    """Predicts the integrated loudness of ``limit(y, gain)`` on a decimated grid (fast).

    BS.1770 blocks (400 ms every 100 ms) are sums of whole steps of ``step`` frames, so the gated
    loudness is exact for a gain that is constant within a step; the limiter runs on per-step
    peaks, which makes it slightly more cautious than the full-rate one.
    """

    def __init__(self, power: np.ndarray, peak_db: np.ndarray, sample_rate: int, ceiling_db: float):
        window, hop = round(BLOCK_S * sample_rate), round(HOP_S * sample_rate)
        common = math.gcd(window, hop)
        self.step = max(d for d in range(1, 65) if common % d == 0)
        count = len(power) // self.step
        self.power = power[: count * self.step].reshape(count, self.step).sum(axis=1)
        self.peak_db = peak_db[: count * self.step].reshape(count, self.step).max(axis=1)
        self.window = window
        self.window_steps = window // self.step
        self.starts = np.arange(0, len(power) + 1 - window, hop) // self.step
        self.ceiling_db = ceiling_db
        self.lookahead = math.ceil(limiter.DEFAULT_LOOKAHEAD_S * sample_rate / self.step)
        self.release = limiter.release_db_per_frame(limiter.DEFAULT_RELEASE_S, sample_rate) * self.step

    def predict(self, gain_db: float) -> tuple[float, float]:
        """(integrated LUFS, max gain reduction dB) after ``gain_db`` and limiting."""
        reduction = limiter.attenuation_db(self.peak_db + gain_db, self.ceiling_db,
                                           lookahead=self.lookahead, release_db=self.release)
        power = self.power * np.power(10.0, (gain_db - reduction) / 10.0)
        return self._gated(power), float(reduction.max()) if reduction.size else 0.0

    def unlimited_lufs(self) -> float:
        """Integrated loudness (LUFS) as it is, before gain and limiting."""
        return self._gated(self.power)

    def _gated(self, power: np.ndarray) -> float:
        cumulative = np.concatenate(([0.0], np.cumsum(power)))
        return gated_block_loudness((cumulative[self.starts + self.window_steps] - cumulative[self.starts]) / self.window)


def _solve_gain(model: _LimitedLoudnessModel, goal_lufs: float, start_db: float) -> float:
    """Gain (dB) whose predicted limited loudness is ``goal_lufs`` (secant, kept in a bracket)."""
    lo: tuple[float, float] | None = None
    hi: tuple[float, float] | None = None
    gain, previous = start_db, None
    for _ in range(40):
        loudness, reduction = model.predict(gain)
        error = loudness - goal_lufs
        if abs(error) < 0.005:
            return gain
        if error < 0:
            if reduction > MAX_LIMITING_DB:
                raise ParameterError(
                    f"target {goal_lufs:.1f} LUFS is out of reach under a {model.ceiling_db:.1f} dBTP ceiling "
                    f"(got {loudness:.1f} LUFS with {reduction:.0f} dB of limiting)")
            lo = (gain, loudness)
        else:
            hi = (gain, loudness)
        if previous is not None and previous[1] != loudness:
            candidate = gain - error * (gain - previous[0]) / (loudness - previous[1])
        else:
            candidate = gain - error
        if lo and hi and not min(lo[0], hi[0]) < candidate < max(lo[0], hi[0]):
            candidate = 0.5 * (lo[0] + hi[0])
        elif lo and not hi:
            candidate = max(candidate, lo[0] + 0.1)
        previous = (gain, loudness)
        gain = candidate
    return gain


def _eq_plugins(highpass_hz: float, shelves: tuple[float, float] | None) -> list[pedalboard.Plugin]:
    """The master's linear EQ: the high-pass (Hz) and the corrective (low, high) shelves (dB)."""
    plugins: list[pedalboard.Plugin] = [pedalboard.HighpassFilter(cutoff_frequency_hz=highpass_hz)]
    if shelves is not None:
        low, high = shelves
        if abs(low) >= 0.05:
            plugins.append(pedalboard.LowShelfFilter(cutoff_frequency_hz=_LOW_SHELF_HZ, gain_db=low, q=0.707))
        if abs(high) >= 0.05:
            plugins.append(pedalboard.HighShelfFilter(cutoff_frequency_hz=_HIGH_SHELF_HZ, gain_db=high, q=0.707))
    return plugins


def _pedalboard_chain(samples: np.ndarray, sample_rate: int, *, shelves: tuple[float, float] | None,
                      threshold_db: float) -> np.ndarray:
    """High-pass, optional shelves and glue compressor over channels × frames ``samples``."""

    def board() -> pedalboard.Pedalboard:
        compressor = pedalboard.Compressor(threshold_db=threshold_db, ratio=2.0, attack_ms=20.0, release_ms=250.0)
        return pedalboard.Pedalboard([*_eq_plugins(_HIGHPASS_HZ, shelves), compressor])

    return per_channel(board, samples, sample_rate)


def master_eq(audio: Audio, chain: Mapping[str, Any]) -> Audio:
    """``audio`` (channels × frames) through the linear part of a master's chain
    (:attr:`MasterResult.chain`): the high-pass and the corrective shelves, so stems and layers
    carry the same tone (and phase) as the master."""
    shelves = (float(chain.get("low_shelf_db", 0.0)), float(chain.get("high_shelf_db", 0.0)))
    highpass_hz = float(chain["highpass_hz"])
    return audio.with_samples(per_channel(lambda: pedalboard.Pedalboard(_eq_plugins(highpass_hz, shelves)),
                                          audio.samples, audio.sample_rate))


def per_channel(board: Callable[[], pedalboard.Plugin], samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """``board()`` over channels × frames ``samples``, each channel through its own instance on its
    own core; float32, same shape. Exact for plug-ins that keep separate state per channel and do
    not link channels (filters, pedalboard's compressor)."""
    out = np.empty(samples.shape, dtype=np.float32)

    def run(channel: int) -> None:  # each thread copies its own result in: no stacking pass after
        out[channel] = board()(np.ascontiguousarray(samples[channel][np.newaxis], np.float32), float(sample_rate))[0]

    thread_map(run, range(samples.shape[0]))
    return out


def _reference_target(reference: Audio, ceiling_dbtp: float | None) -> tuple[Target, float]:
    """The target a reference sets: its integrated loudness (LUFS), clamped to the allowed range."""
    measured = integrated_loudness(reference)
    lufs = float(np.clip(measured, *LUFS_RANGE))
    ceiling = DEFAULT_CEILING_DBTP if ceiling_dbtp is None else ceiling_dbtp
    return Target("reference", round(lufs, 2), ceiling, "loudness and spectrum of the reference track"), measured


def master(audio: Audio, target: Target | None, *, reference: Audio | None = None,
           ceiling_dbtp: float | None = None, progress: ProgressCallback | None = None) -> MasterResult:
    """Master ``audio`` to ``target`` (or to ``reference``'s loudness) under a true-peak ceiling.

    Parameters
    ----------
    audio : Audio
        The mix, channels × frames, at least 0.4 s and not silent.
    target : Target or None
        Loudness (LUFS) and ceiling (dBTP) to meet; ``None`` takes the loudness of
        ``reference``.
    reference : Audio, optional
        A track whose long-term spectrum (and, without ``target``, loudness) to match.
    ceiling_dbtp : float, optional
        True-peak ceiling in dBTP, overriding the target's.
    progress : callable, optional
        ``(fraction, label)`` callback.

    Returns
    -------
    MasterResult
        ``after.integrated_lufs`` is within ±0.2 LU of the target and ``after.true_peak_dbtp``
        at or under the ceiling, both as :func:`measure_loudness` reads them.
    """
    report = progress or ignore_progress
    if target is None and reference is None:
        raise ParameterError("mastering needs a target or a reference")
    if ceiling_dbtp is not None and not CEILING_RANGE[0] <= ceiling_dbtp <= CEILING_RANGE[1]:
        raise ParameterError(f"ceiling {ceiling_dbtp:g} dBTP is outside {CEILING_RANGE[0]:g} to {CEILING_RANGE[1]:g} dBTP")
    report(0.0, "measuring")
    with ThreadPoolExecutor(max_workers=1) as pool:  # the meter's C loops release the GIL
        measuring = pool.submit(measure_loudness, audio)
        try:
            result = _master_chain(audio, target, reference, ceiling_dbtp, report)
        except Exception:
            measuring.result()  # the meter's error (silence, too short…) says it more clearly
            raise
        before = measuring.result()
    report(1.0, "done")
    return MasterResult(before=before, **result)


def _master_chain(audio: Audio, target: Target | None, reference: Audio | None, ceiling_dbtp: float | None,
                  report: ProgressCallback) -> dict[str, Any]:
    chain: dict[str, Any] = {"highpass_hz": _HIGHPASS_HZ}
    samples, rate = audio.samples, audio.sample_rate
    if reference is not None:
        reference_target, reference_lufs = _reference_target(reference, ceiling_dbtp)
        target = target or reference_target
        report(0.15, "matching the reference spectrum")
        samples, curve = match_spectrum(samples, rate, reference.samples, reference.sample_rate)
        chain["reference"] = {"integrated_lufs": round(reference_lufs, 2),
                              "eq_db_at": {f"{f:g}": round(curve.gain_at(f), 2)
                                           for f in (60, 125, 250, 500, 1000, 2000, 4000, 8000, 12000)}}
        shelves = None
    else:
        shelves = tonal_shelves(samples, rate)
        chain["low_shelf_db"], chain["high_shelf_db"] = round(shelves[0], 2), round(shelves[1], 2)
    assert target is not None
    if ceiling_dbtp is not None:
        target = Target(target.name, target.integrated_lufs, float(ceiling_dbtp), target.description, target.max_lra_lu)
    report(0.25, "EQ and glue compression")
    threshold = glue_threshold_db(samples, rate)
    chain["compressor_threshold_dbfs"] = round(threshold, 2)
    shaped = _pedalboard_chain(samples, rate, shelves=shelves, threshold_db=threshold)
    shaped_audio = audio.with_samples(shaped)

    report(0.4, "true-peak detection")
    with ThreadPoolExecutor(max_workers=1) as pool:  # two meters of one signal, side by side
        weighing = pool.submit(weighted_power, shaped_audio)
        peak_db = limiter.peak_envelope_db(shaped, rate)
        power = weighing.result()
    ceiling = target.ceiling_dbtp - 0.02
    model = _LimitedLoudnessModel(power, peak_db, rate, ceiling)
    del power, weighing  # the model keeps it summed per step: no song-length float64 array while limiting
    goal = target.integrated_lufs
    shaped_lufs = model.unlimited_lufs()
    if not math.isfinite(shaped_lufs):
        raise MeasurementError("audio is quieter than the −70 LUFS absolute gate; nothing to master")
    gain = _solve_gain(model, goal, goal - shaped_lufs)
    envelope: np.ndarray | None = peak_db
    del peak_db
    result = after = None
    for attempt in range(6):
        report(0.6 + 0.06 * attempt, "limiting")
        result = None  # a missed attempt's audio goes before the next is made
        envelope = envelope if envelope is not None else limiter.peak_envelope_db(shaped, rate)
        result = limiter.limit(shaped, rate, ceiling, gain_db=gain, peak_db=envelope)
        # the true peak from the envelope where the gain was constant, oversampling only the
        # limited spans again (or None: measured with the loudness)
        true_peak = limiter.limited_true_peak_dbtp(shaped, rate, result, envelope, gain)
        envelope = None  # not held while the result is measured: remade for a retry (rare)
        after = measure_loudness(audio.with_samples(result.samples), true_peak_dbtp=true_peak)
        error = after.integrated_lufs - target.integrated_lufs
        over = after.true_peak_dbtp - target.ceiling_dbtp
        if abs(error) <= _AIM_LU and over <= 0:
            break
        if over > 0:
            ceiling -= over + 0.02
            model.ceiling_db = ceiling
        goal -= error
        gain = _solve_gain(model, goal, gain)
    assert result is not None and after is not None
    if abs(after.integrated_lufs - target.integrated_lufs) > TOLERANCE_LU or after.true_peak_dbtp > target.ceiling_dbtp:
        raise MeasurementError(
            f"mastering missed the target: {after.integrated_lufs:.2f} LUFS, {after.true_peak_dbtp:.2f} dBTP "
            f"for {target.integrated_lufs:g} LUFS under {target.ceiling_dbtp:g} dBTP")
    warnings = []
    if result.max_attenuation_db > HEAVY_LIMITING_DB:
        warnings.append(f"reaching {target.integrated_lufs:g} LUFS needed {result.max_attenuation_db:.1f} dB of "
                        f"limiting (more than {HEAVY_LIMITING_DB:g} dB): expect audible squashing; "
                        "consider a quieter target or a more controlled mix")
    if target.max_lra_lu is not None and after.loudness_range_lu is not None and after.loudness_range_lu > target.max_lra_lu:
        warnings.append(f"loudness range {after.loudness_range_lu:.1f} LU exceeds the {target.name} limit "
                        f"of {target.max_lra_lu:g} LU")
    return {"audio": audio.with_samples(result.samples), "target": target, "after": after, "gain_db": gain,
            "max_limiting_db": result.max_attenuation_db, "chain": chain, "warnings": warnings}
