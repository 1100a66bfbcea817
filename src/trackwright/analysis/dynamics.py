"""Dynamics: the short-term loudness curve and its arc, section contrast, crest factor.

Built on the foundation's meter (:func:`~trackwright.analysis.loudness.measure_loudness`): the
3 s short-term loudness every 100 ms is the curve; smoothed over 8 s it is the song's *arc*.
A draft is "flat, static" when the arc moves less than 3 LU (and the loudness range is under
5 LU): nothing builds, nothing breathes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from trackwright.analysis import filters
from trackwright.analysis.loudness import LoudnessReport

ARC_SMOOTHING_S = 8.0
FLAT_ARC_LU = 3.0
FLAT_LRA_LU = 5.0
#: A short-term value at time t covers (t − 3 s, t]; its centre is 1.5 s earlier.
SHORT_WINDOW_CENTRE_S = 1.5


@dataclass(frozen=True)
class Dynamics:
    """Loudness curve (LUFS at ``times_s``), its smoothed arc, and summary figures.

    Attributes:
        arc_range_lu: 95th − 10th percentile of the arc, LU.
        peak_s: where the arc is highest, seconds.
        crest_db: sample peak over RMS of the whole track, dB.
        plr_db: peak-to-loudness ratio, true peak dBTP − integrated LUFS, dB.
        section_lufs: energy mean of the curve per section (same order as the sections given).
        contrast_lu: loudest − quietest section, LU.
        flat: the arc barely moves.
    """

    times_s: np.ndarray
    short_term_lufs: np.ndarray
    arc_lufs: np.ndarray
    loudness_range_lu: float
    arc_range_lu: float
    peak_s: float
    crest_db: float
    plr_db: float
    section_lufs: list[float]
    contrast_lu: float
    flat: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (the curve itself is under ``loudness`` in the analysis JSON)."""
        return {"loudness_range_lu": round(self.loudness_range_lu, 2), "arc_range_lu": round(self.arc_range_lu, 2),
                "peak_s": round(self.peak_s, 2), "crest_db": round(self.crest_db, 2), "plr_db": round(self.plr_db, 2),
                "section_lufs": [round(v, 2) for v in self.section_lufs], "contrast_lu": round(self.contrast_lu, 2),
                "flat": self.flat}


def _energy_mean_lufs(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(10 * np.log10(np.mean(10 ** (finite / 10)))) if finite.size else -math.inf


def analyze_dynamics(loudness: LoudnessReport, samples: np.ndarray,
                     sections: list[tuple[float, float]] | None = None) -> Dynamics:
    """Dynamics from a meter report, the samples (channels × frames) and section spans (s)."""
    series = loudness.short_term if len(loudness.short_term.times_s) else loudness.momentary
    times = np.asarray(series.times_s, dtype=float)
    curve = np.maximum(np.asarray(series.lufs, dtype=float), -70.0)
    hop = float(np.median(np.diff(times))) if len(times) > 1 else 0.1
    # smooth in the power domain, so quiet gaps do not dominate
    arc = 10 * np.log10(np.maximum(filters.uniform_filter1d(
        10 ** (curve / 10), size=max(1, round(ARC_SMOOTHING_S / hop)), mode="nearest"), 1e-7))
    audible = arc > -60
    arc_range = float(np.percentile(arc[audible], 95) - np.percentile(arc[audible], 10)) if audible.any() else 0.0
    peak_s = float(times[int(np.argmax(arc))]) if len(arc) else 0.0
    rms = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))
    crest = 20 * math.log10(max(float(np.abs(samples).max()), 1e-12) / max(rms, 1e-12))
    section_levels = []
    for start, end in sections or []:
        inside = (times - SHORT_WINDOW_CENTRE_S >= start) & (times - SHORT_WINDOW_CENTRE_S < end)
        section_levels.append(_energy_mean_lufs(curve[inside]) if inside.any() else -math.inf)
    finite_levels = [v for v in section_levels if math.isfinite(v)]
    contrast = max(finite_levels) - min(finite_levels) if len(finite_levels) > 1 else 0.0
    lra = loudness.loudness_range_lu if loudness.loudness_range_lu is not None else 0.0
    return Dynamics(times_s=times, short_term_lufs=curve, arc_lufs=arc, loudness_range_lu=lra, arc_range_lu=arc_range,
                    peak_s=peak_s, crest_db=crest, plr_db=loudness.true_peak_dbtp - loudness.integrated_lufs,
                    section_lufs=section_levels, contrast_lu=contrast,
                    flat=arc_range < FLAT_ARC_LU and lra < FLAT_LRA_LU)

