"""Tonal balance and space: spectrum against a reference curve, problem bands, stereo image, overs.

* **Spectrum**: the long-term average spectrum of the mid signal in 1/3-octave bands
  (31.5 Hz–16 kHz), aligned to the reference curve over 250 Hz–4 kHz. The reference is a
  smoothed "balanced mix" curve: flat to 150 Hz, then falling 4.5 dB per octave (the average
  tilt of commercial pop and film-score masters), rolled off below 40 Hz.
* **Problem bands**: boomy (60–150 Hz), muddy (150–400 Hz), boxy (400–900 Hz), harsh
  (2–5 kHz), sibilant (5–9 kHz) when their mean excess over the reference is ≥ 4 dB; thin when
  50–150 Hz is ≥ 8 dB under it, dull when 6–12 kHz is ≥ 6 dB under it.
* **Stereo**: width as side-to-mid energy (dB), the L/R correlation overall and in 400 ms
  windows, and mono compatibility as the loudness lost when folded to mono (LU).
* **Overs**: clipped runs (flat tops: ≥ 3 consecutive equal samples at ≥ 98 % of the channel's
  peak, see :func:`~trackwright.analysis.defects.flat_runs`) and inter-sample overs (runs of the
  oversampled signal above 0 dBTP).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from trackwright.analysis.defects import FlatRuns, flat_runs, over_runs
from trackwright.analysis.loudness import integrated_loudness
from trackwright.analysis.spectrum import average_spectrum
from trackwright.audio import Audio
from trackwright.errors import MeasurementError

THIRD_OCTAVES_HZ = 1000.0 * 2.0 ** (np.arange(-15, 13) / 3.0)  # 31.5 Hz … 16 kHz
PROBLEM_BANDS: dict[str, tuple[float, float, float]] = {
    # name: (low Hz, high Hz, excess over the reference that makes it a problem, dB; negative = deficit)
    "boomy": (60.0, 150.0, 4.0),
    "thin": (50.0, 150.0, -8.0),
    "muddy": (150.0, 400.0, 4.0),
    "boxy": (400.0, 900.0, 4.0),
    "harsh": (2000.0, 5000.0, 4.0),
    "sibilant": (5000.0, 9000.0, 4.0),
    "dull": (6000.0, 12000.0, -6.0),
}


def reference_curve_db(freqs_hz: np.ndarray) -> np.ndarray:
    """The balanced-mix reference, dB relative to 1 kHz, per frequency (Hz)."""
    f = np.maximum(np.asarray(freqs_hz, dtype=float), 1.0)
    curve = -4.5 * np.log2(np.maximum(f, 150.0) / 1000.0)
    curve -= np.where(f < 40.0, 12.0 * np.log2(40.0 / f), 0.0)
    return curve


@dataclass(frozen=True)
class Tonal:
    """Tonal balance and stereo figures of a track."""

    band_hz: np.ndarray
    band_db: np.ndarray
    reference_db: np.ndarray
    problems: dict[str, float]
    width_db: float | None
    correlation: float | None
    negative_correlation_fraction: float | None
    mono_loss_lu: float | None
    clipped_runs: int
    intersample_overs: int
    true_peak_dbtp: float
    problem_spans: dict[str, list[float]] = field(default_factory=dict)
    flat_runs: FlatRuns | None = field(default=None, repr=False, compare=False)
    over_times_s: np.ndarray | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        def r(value: float | None) -> float | None:
            return None if value is None or not math.isfinite(value) else round(value, 3)

        return {"bands_hz": [round(float(f), 1) for f in self.band_hz],
                "bands_db": [round(float(v), 2) for v in self.band_db],
                "reference_db": [round(float(v), 2) for v in self.reference_db],
                "problems": {k: round(v, 2) for k, v in self.problems.items()},
                "width_db": r(self.width_db), "correlation": r(self.correlation),
                "negative_correlation_fraction": r(self.negative_correlation_fraction),
                "mono_loss_lu": r(self.mono_loss_lu), "clipped_runs": self.clipped_runs,
                "intersample_overs": self.intersample_overs, "true_peak_dbtp": r(self.true_peak_dbtp)}


def third_octave_levels(freqs: np.ndarray, power_db: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray]:
    """(band centres Hz, band energy dB) for the 1/3-octave bands below 0.45 × rate."""
    power = 10 ** (power_db / 10)
    centres, levels = [], []
    for centre in THIRD_OCTAVES_HZ:
        lo, hi = centre * 2 ** (-1 / 6), centre * 2 ** (1 / 6)
        if hi > 0.45 * rate:
            break
        inside = (freqs >= lo) & (freqs < hi)
        if inside.any():
            centres.append(centre)
            # energy per octave, so bands of different widths compare with the curve
            levels.append(10 * np.log10(max(float(power[inside].sum()), 1e-30) * 3.0))
    return np.array(centres), np.array(levels)


#: A measured true peak under this (dBTP) has no oversampled value above full scale (the meter's
#: peak and :func:`over_runs`' use one resampler; the margin covers their float rounding).
_NO_OVERS_DBTP = -0.001


def _stereo(audio: Audio, stereo_lufs: float | None) -> tuple[float | None, float | None, float | None, float | None]:
    if audio.channels != 2:
        return None, None, None, None
    left, right = audio.samples[0], audio.samples[1]
    ll, rr, lr = (float(np.dot(a, b)) for a, b in ((left, left), (right, right), (left, right)))
    mm, ss = 0.25 * (ll + rr + 2 * lr), 0.25 * (ll + rr - 2 * lr)  # |L ± R|² / 4, no mid/side arrays
    width = 10 * math.log10(max(ss, 1e-20) / max(mm, 1e-20))
    correlation = lr / math.sqrt(ll * rr) if ll > 0 and rr > 0 else 1.0
    window = max(1, round(0.4 * audio.sample_rate))
    n = len(left) // window
    negative = 0.0
    if n:
        l_w, r_w = left[: n * window].reshape(n, window), right[: n * window].reshape(n, window)
        energy = np.sqrt(np.einsum("ij,ij->i", l_w, l_w) * np.einsum("ij,ij->i", r_w, r_w))
        loud = energy > 1e-8
        local = np.einsum("ij,ij->i", l_w, r_w)[loud] / energy[loud]
        negative = float(np.mean(local < 0)) if local.size else 0.0
    try:
        stereo = stereo_lufs if stereo_lufs is not None else integrated_loudness(audio)
        # the fold-down on both speakers: a single mid channel measures 3.01 dB under that
        mid = audio.samples.mean(axis=0, dtype=np.float32)[np.newaxis]
        mono_loss = stereo - (integrated_loudness(Audio(mid, audio.sample_rate)) + 10 * math.log10(2))
    except MeasurementError:
        mono_loss = math.nan
    return width, correlation, negative, mono_loss


def band_problems(centres_hz: np.ndarray, excess_db: np.ndarray, tolerance_db: float = 0.0) -> dict[str, float]:
    """The :data:`PROBLEM_BANDS` whose mean excess over a reference (dB, one value per band
    centre in ``centres_hz``) passes the band's limit widened by ``tolerance_db``: {band: excess dB}."""
    problems: dict[str, float] = {}
    for name, (lo, hi, limit) in PROBLEM_BANDS.items():
        inside = (centres_hz >= lo) & (centres_hz <= hi)
        if not inside.any():
            continue
        value = float(np.mean(excess_db[inside]))
        threshold = limit + math.copysign(tolerance_db, limit)
        if (limit > 0 and value >= threshold) or (limit < 0 and value <= threshold):
            problems[name] = value
    return problems


def analyze_tonal(audio: Audio, *, integrated_lufs: float | None = None, true_peak_dbtp: float | None = None) -> Tonal:
    """Tonal balance, stereo image and overs of ``audio``.

    Pass its integrated loudness (LUFS) and true peak (dBTP, as the meter reads it) if known:
    a true peak under 0 dBTP means no inter-sample over, so the audio is not oversampled again.
    """
    freqs, power_db = average_spectrum(audio.samples, audio.sample_rate)
    centres, levels = third_octave_levels(freqs, power_db, audio.sample_rate)
    reference = reference_curve_db(centres)
    core = (centres >= 250) & (centres <= 4000)
    if core.any():
        levels = levels - float(np.mean(levels[core] - reference[core]))
    problems = band_problems(centres, levels - reference)
    if true_peak_dbtp is not None and true_peak_dbtp < _NO_OVERS_DBTP:
        over_times, true_peak = np.zeros(0), true_peak_dbtp
    else:
        over_times, peak = over_runs(audio.samples, audio.sample_rate)
        true_peak = 20 * math.log10(max(peak, 1e-12))
    flat = flat_runs(audio.samples, audio.sample_rate)
    width, correlation, negative, mono_loss = _stereo(audio, integrated_lufs)
    return Tonal(band_hz=centres, band_db=levels, reference_db=reference, problems=problems, width_db=width,
                 correlation=correlation, negative_correlation_fraction=negative, mono_loss_lu=mono_loss,
                 clipped_runs=len(flat), intersample_overs=len(over_times),
                 true_peak_dbtp=true_peak, flat_runs=flat, over_times_s=over_times)
