"""Style and purpose: which references a track should be judged against.

A pop master, an orchestral recording and a game's ambient bed are finished in different
ways: an orchestra has 10–15 dB less energy under 150 Hz than a pop mix, distorted guitars
lift the top octaves, a dance track keeps a steady level on purpose, an underscore stays flat
so dialogue sits on it. The critique therefore reads tonal balance and dynamics against a
:class:`StyleReference` for the track's style — given in the brief (``style: orchestral``) or
inferred here with a confidence.

Inference: seven descriptors the analysis already measured — loudness range (LU),
peak-to-loudness ratio (dB), percussiveness (log of the onset envelope's 99th percentile over
its median), pulse clarity (the onset envelope's autocorrelation peak between 0.25 and 1.5 s),
the 40–120 Hz level against the pop reference curve (dB), the spectral slope over 250 Hz–8 kHz
(dB per octave) and the integrated loudness (LUFS) — each scored against a Gaussian per style.
The prototypes (:data:`PROTOTYPES`) are a mastering engineer's expectations, set against the
development tracks of the calibration set (``bench/critique_set.py``); the log-likelihoods are
halved (the descriptors are not independent) and turned into probabilities. The confidence is
the winner's probability; below :data:`CONFIDENT` the critique blends the references of the
likely styles instead of trusting one.

The references (:data:`REFERENCES`) give, per style: the low-end offset (40–150 Hz) and the
treble tilt (dB per octave above 1 kHz) against the pop curve of
:func:`~trackwright.analysis.tonal.reference_curve_db`, an extra tolerance on its problem
bands, the lowest peak-to-loudness ratio that is not over-compressed, and whether the music is
expected to build and breathe (an arc) at all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from trackwright.analysis.dynamics import Dynamics
from trackwright.analysis.features import Features
from trackwright.analysis.loudness import LoudnessReport
from trackwright.analysis.rhythm import percussiveness
from trackwright.analysis.tonal import Tonal, band_problems, reference_curve_db
from trackwright.errors import ParameterError

STYLES = ("orchestral", "rock", "electronic", "ambient", "acoustic", "pop", "underscore")
CONFIDENT = 0.5
#: Inferred probabilities are tempered by this factor (descriptors overlap in what they say).
TEMPER = 0.5
DESCRIPTORS = ("loudness_range_lu", "plr_db", "log_percussiveness", "pulse", "low_db", "slope_db_per_octave",
               "integrated_lufs")

#: Per style, (mean, spread) of each descriptor, in the order of :data:`DESCRIPTORS`.
PROTOTYPES: dict[str, tuple[tuple[float, float], ...]] = {
    "orchestral": ((11.0, 4.0), (15.0, 3.0), (2.2, 0.5), (0.52, 0.10), (-11.0, 6.0), (-5.0, 1.5), (-15.0, 3.0)),
    "rock": ((3.5, 1.5), (11.0, 2.0), (1.8, 0.4), (0.60, 0.12), (-10.0, 5.0), (-1.5, 2.0), (-11.0, 2.0)),
    "electronic": ((4.5, 2.0), (12.0, 2.5), (2.2, 0.6), (0.67, 0.10), (-2.5, 3.0), (-2.3, 1.2), (-12.0, 4.0)),
    "ambient": ((8.0, 5.0), (13.0, 2.0), (1.4, 0.5), (0.35, 0.12), (-15.0, 10.0), (-4.0, 3.0), (-14.0, 3.0)),
    "acoustic": ((8.0, 4.0), (15.0, 3.0), (2.9, 0.7), (0.50, 0.15), (-15.0, 5.0), (-3.4, 1.5), (-17.0, 4.0)),
    "pop": ((4.5, 2.0), (12.0, 3.0), (2.9, 0.6), (0.65, 0.15), (-8.0, 6.0), (-3.5, 2.0), (-12.0, 3.0)),
    "underscore": ((9.0, 2.5), (16.0, 4.0), (2.8, 0.5), (0.55, 0.12), (-6.0, 5.0), (-4.0, 3.0), (-18.0, 4.0)),
}


@dataclass(frozen=True)
class StyleReference:
    """What a finished track of one style sounds like, for the critique.

    Attributes
    ----------
    low_db : float
        Level of 40–150 Hz against the pop reference curve, dB.
    treble_db_per_octave : float
        Extra slope above 1 kHz against the pop curve, dB per octave.
    tolerance_db : float
        Added to every problem band's threshold, dB.
    min_plr_db : float
        A peak-to-loudness ratio under this is over-compressed for the style, dB.
    expects_arc : bool
        Whether the loudness should build and breathe (pop and acoustic songs, concert pieces); a
        steady level is the point of a bed or an underscore, and the norm of a rock or dance master.
    loops_idiomatic : bool
        Whether copy-pasted loops and a harmony that cycles throughout are the idiom.
    """

    low_db: float
    treble_db_per_octave: float
    tolerance_db: float
    min_plr_db: float
    expects_arc: bool
    loops_idiomatic: bool


REFERENCES: dict[str, StyleReference] = {
    "pop": StyleReference(0.0, 0.0, 0.0, 7.0, True, False),
    "rock": StyleReference(-4.0, 2.5, 2.0, 6.0, False, False),
    "electronic": StyleReference(2.0, 1.5, 2.0, 6.0, False, True),
    "orchestral": StyleReference(-10.0, 0.0, 3.0, 10.0, True, False),
    "acoustic": StyleReference(-10.0, 0.5, 3.0, 9.0, True, False),
    "ambient": StyleReference(-6.0, 0.0, 6.0, 8.0, False, True),
    "underscore": StyleReference(-6.0, 0.0, 4.0, 9.0, False, True),
}


@dataclass(frozen=True)
class Style:
    """The style a track is judged as: its name, confidence 0–1, every style's probability,
    where it came from (``"inferred"`` or ``"brief"``) and the descriptors it was read from."""

    name: str
    confidence: float
    probabilities: dict[str, float]
    source: str = "inferred"
    descriptors: dict[str, float] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """How findings name the reference: ``"orchestral (inferred, 0.74)"``, ``"pop (brief)"``."""
        if self.source == "brief":
            return f"{self.name} (brief)"
        if self.confidence < CONFIDENT:
            second = sorted(self.probabilities.items(), key=lambda kv: -kv[1])[1]
            return f"{self.name}/{second[0]} blend (inferred, {self.confidence:.2f}/{second[1]:.2f})"
        return f"{self.name} (inferred, {self.confidence:.2f})"

    @property
    def reference(self) -> StyleReference:
        """The style's reference, or a blend of the likely styles' when the inference is unsure."""
        if self.source == "brief" or self.confidence >= CONFIDENT:
            return REFERENCES[self.name]
        weights = {name: p for name, p in self.probabilities.items() if p >= 0.1}
        total = sum(weights.values())

        def mix(attribute: str) -> float:
            return sum(getattr(REFERENCES[name], attribute) * w for name, w in weights.items()) / total

        return StyleReference(low_db=mix("low_db"), treble_db_per_octave=mix("treble_db_per_octave"),
                              tolerance_db=max(mix("tolerance_db"), 2.0), min_plr_db=mix("min_plr_db"),
                              expects_arc=mix("expects_arc") >= 0.5, loops_idiomatic=mix("loops_idiomatic") >= 0.5)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"name": self.name, "confidence": round(self.confidence, 3), "source": self.source,
                "label": self.label, "probabilities": {k: round(v, 3) for k, v in self.probabilities.items()},
                "descriptors": {k: round(v, 3) for k, v in self.descriptors.items()}}


def given_style(name: str) -> Style:
    """A style named by the user (a brief): certain, one of :data:`STYLES`."""
    key = name.strip().lower()
    aliases = {"metal": "rock", "orchestra": "orchestral", "cinematic": "orchestral", "classical": "orchestral",
               "edm": "electronic", "dance": "electronic", "folk": "acoustic", "score": "underscore"}
    key = aliases.get(key, key)
    if key not in STYLES:
        raise ParameterError(f"brief: unknown style {name!r}; use one of {', '.join(STYLES)}")
    return Style(key, 1.0, {s: float(s == key) for s in STYLES}, source="brief")


def pulse_clarity(onset: np.ndarray, onset_rate: float) -> float:
    """Largest autocorrelation of the onset envelope at lags of 0.25–1.5 s (0–1)."""
    centred = np.asarray(onset, dtype=np.float64) - float(np.mean(onset)) if len(onset) else np.zeros(1)
    size = 1 << int(np.ceil(np.log2(2 * max(len(centred), 1))))
    spectrum = np.fft.rfft(centred, size)
    autocorrelation = np.fft.irfft(np.abs(spectrum) ** 2, size)[: len(centred)]
    if autocorrelation[0] <= 0:
        return 0.0
    lo, hi = round(0.25 * onset_rate), round(1.5 * onset_rate)
    window = autocorrelation[lo: hi] / autocorrelation[0]
    return float(window.max()) if window.size else 0.0


def describe(loudness: LoudnessReport, dynamics: Dynamics, tonal: Tonal, features: Features) -> dict[str, float]:
    """The descriptors of :data:`DESCRIPTORS` for one track."""
    hz, excess = tonal.band_hz, tonal.band_db - tonal.reference_db
    low = (hz >= 40) & (hz <= 120)
    mid = (hz >= 250) & (hz <= 8000)
    slope = float(np.polyfit(np.log2(hz[mid]), tonal.band_db[mid], 1)[0]) if mid.sum() >= 3 else -4.5
    return {"loudness_range_lu": float(loudness.loudness_range_lu or 0.0), "plr_db": float(dynamics.plr_db),
            "log_percussiveness": math.log(max(percussiveness(features.onset), 1.0)),
            "pulse": pulse_clarity(features.onset, features.onset_rate),
            "low_db": float(np.mean(excess[low])) if low.any() else -10.0, "slope_db_per_octave": slope,
            "integrated_lufs": float(loudness.integrated_lufs)}


def infer_style(loudness: LoudnessReport, dynamics: Dynamics, tonal: Tonal, features: Features) -> Style:
    """The most likely style of a track, with its probability (see the module docstring)."""
    values = describe(loudness, dynamics, tonal, features)
    scores = {}
    for name, prototype in PROTOTYPES.items():
        total = 0.0
        for key, (mean, spread) in zip(DESCRIPTORS, prototype):
            z = (values[key] - mean) / spread
            total += -0.5 * min(z * z, 16.0)  # one wild descriptor cannot veto a style
        scores[name] = TEMPER * total
    top = max(scores.values())
    weights = {name: math.exp(score - top) for name, score in scores.items()}
    norm = sum(weights.values())
    probabilities = {name: w / norm for name, w in weights.items()}
    best = max(probabilities, key=probabilities.get)  # type: ignore[arg-type]
    return Style(best, probabilities[best], probabilities, descriptors=values)


def style_curve_db(freqs_hz: np.ndarray, reference: StyleReference) -> np.ndarray:
    """The style's reference curve, dB relative to 1 kHz, per frequency (Hz): the pop curve with
    the low end moved by ``low_db`` (fully under 150 Hz, fading out by 300 Hz) and the treble
    tilted by ``treble_db_per_octave`` above 1 kHz."""
    f = np.maximum(np.asarray(freqs_hz, dtype=float), 1.0)
    low_weight = np.clip(np.log2(300.0 / f), 0.0, 1.0)
    treble = np.where(f > 1000.0, reference.treble_db_per_octave * np.log2(f / 1000.0), 0.0)
    return reference_curve_db(f) + reference.low_db * low_weight + treble


def aligned_curve_db(tonal: Tonal, reference: StyleReference) -> np.ndarray:
    """The style's curve at the track's band centres, level-matched to the track over 250 Hz–4 kHz (dB)."""
    centres = tonal.band_hz
    curve = style_curve_db(centres, reference)
    core = (centres >= 250) & (centres <= 4000)
    return curve + (float(np.mean(tonal.band_db[core] - curve[core])) if core.any() else 0.0)


def problems_against(tonal: Tonal, reference: StyleReference) -> dict[str, float]:
    """Problem bands of :data:`~trackwright.analysis.tonal.PROBLEM_BANDS` read against a style's
    curve, each threshold widened by the style's tolerance: {band: mean excess dB}."""
    centres = tonal.band_hz
    if not len(centres):
        return {}
    return band_problems(centres, tonal.band_db - aligned_curve_db(tonal, reference), reference.tolerance_db)
