"""`analyze`: the whole critical listening pass over one track, as an :class:`Analysis`.

Stable JSON keys (see :meth:`Analysis.to_dict`): ``duration_s``, ``sample_rate``, ``tempo_bpm``,
``beats_s``, ``downbeats_s``, ``time_signature``, ``key`` {``tonic``, ``mode``, ``confidence``},
``chords`` [{``start_s``, ``end_s``, ``label``}], ``sections`` [{``start_s``, ``end_s``, ``label``,
``role``}], ``loudness`` (the meter's keys plus ``short_term_lufs`` and ``short_term_hop_s``),
``findings`` and ``strengths``; then the details: ``tempo_curve``, ``harmony``, ``transitions``,
``dynamics``, ``tonal`` and, with a brief, ``brief``.

``time_signature`` is one of 2/4, 3/4, 4/4 (simple: ``beat_subdivision`` 2) or 6/8, 9/8, 12/8
(compound: ``beat_subdivision`` 3). ``beats_s`` and ``tempo_bpm`` are always the *metrical*
beat: the quarter note in x/4, the dotted quarter in x/8 (a 6/8 jig has two beats to the bar);
the eighth notes are each beat divided in ``beat_subdivision`` equal parts. ``grid_source`` is
``"heard"``, or ``"user"`` when the grid was set by hand (:mod:`.beat_grid`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from trackwright.analysis.brief import Brief, check_brief
from trackwright.analysis.critique import critique
from trackwright.analysis.dynamics import Dynamics, analyze_dynamics
from trackwright.analysis.features import Features, compute_features
from trackwright.analysis.findings import Finding, Strength, sort_findings
from trackwright.analysis.harmony import Harmony, analyze_harmony
from trackwright.analysis.loudness import LoudnessReport, measure_loudness
from trackwright.analysis.rhythm import Rhythm, analyze_rhythm
from trackwright.analysis.structure import Structure, analyze_structure
from trackwright.analysis.tonal import Tonal, analyze_tonal
from trackwright.audio import Audio
from trackwright.errors import MeasurementError
from trackwright.progress import ProgressCallback, ignore_progress

MIN_DURATION_S = 3.0


def _r(values: Any, digits: int = 3) -> list[float]:
    return [round(float(v), digits) for v in values]


@dataclass(frozen=True)
class Analysis:
    """Everything ``trackwright analyze`` measured and concluded about one track."""

    duration_s: float
    sample_rate: int
    channels: int
    loudness: LoudnessReport
    rhythm: Rhythm
    harmony: Harmony
    structure: Structure
    dynamics: Dynamics
    tonal: Tonal
    findings: list[Finding]
    strengths: list[Strength]
    brief: Brief | None = None
    features: Features | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON form."""
        loudness = self.loudness.to_dict()
        series = self.loudness.short_term
        loudness["short_term_lufs"] = [round(v, 2) if math.isfinite(v) else None for v in series.lufs]
        loudness["short_term_hop_s"] = 0.1
        loudness["short_term_first_s"] = round(float(series.times_s[0]), 3) if len(series.times_s) else None
        harmony = self.harmony
        out: dict[str, Any] = {
            "duration_s": round(self.duration_s, 3),
            "sample_rate": self.sample_rate,
            "tempo_bpm": round(self.rhythm.tempo_bpm, 2),
            "beats_s": _r(self.rhythm.beats_s),
            "downbeats_s": _r(self.rhythm.downbeats_s),
            "time_signature": self.rhythm.time_signature,
            "beat_subdivision": self.rhythm.subdivision,
            "grid_source": "user" if self.rhythm.user_set else "heard",
            "key": harmony.key.to_dict(),
            "chords": [c.to_dict() for c in harmony.chords],
            "sections": [s.to_dict() for s in self.structure.sections],
            "loudness": loudness,
            "findings": [f.to_dict() for f in self.findings],
            "strengths": [s.to_dict() for s in self.strengths],
            "tempo_curve": {"times_s": _r(self.rhythm.tempo_curve_s), "bpm": _r(self.rhythm.tempo_curve_bpm, 2),
                            "drifts": self.rhythm.drifts},
            "harmony": {"changes_per_bar": round(harmony.changes_per_bar, 3),
                        "mean_chord_beats": round(harmony.mean_chord_beats, 2), "bar_chords": harmony.bar_chords,
                        "loop": harmony.loop.to_dict() if harmony.loop else None},
            "transitions": [t.to_dict() for t in self.structure.transitions],
            "dynamics": self.dynamics.to_dict(),
            "tonal": self.tonal.to_dict(),
        }
        if self.brief is not None:
            out["brief"] = self.brief.to_dict()
        return out


def analyze(audio: Audio, *, brief: Brief | None = None, progress: ProgressCallback | None = None) -> Analysis:
    """Listen to ``audio`` (channels × frames, any rate, ≥ 3 s) and write down what works and what does not."""
    report = progress or ignore_progress
    if audio.duration_s < MIN_DURATION_S:
        raise MeasurementError(f"clip is {audio.duration_s:.2f} s long; analysis needs at least {MIN_DURATION_S:g} s")
    report(0.0, "loudness")
    loudness = measure_loudness(audio)
    report(0.2, "features")
    features = compute_features(audio)
    report(0.4, "rhythm")
    rhythm = analyze_rhythm(features)
    report(0.5, "harmony")
    harmony = analyze_harmony(features, rhythm)
    report(0.6, "structure")
    structure = analyze_structure(features, rhythm)
    report(0.7, "dynamics and tonal balance")
    dynamics = analyze_dynamics(loudness, audio.samples, [(s.start_s, s.end_s) for s in structure.sections])
    tonal = analyze_tonal(audio, integrated_lufs=loudness.integrated_lufs)
    report(0.9, "critique")
    findings, strengths = critique(audio.duration_s, loudness, rhythm, harmony, structure, dynamics, tonal)
    if brief is not None:
        findings = sort_findings(check_brief(brief, audio.duration_s, features, dynamics) + findings)
    report(1.0, "done")
    return Analysis(duration_s=audio.duration_s, sample_rate=audio.sample_rate, channels=audio.channels,
                    loudness=loudness, rhythm=rhythm, harmony=harmony, structure=structure, dynamics=dynamics,
                    tonal=tonal, findings=findings, strengths=strengths, brief=brief, features=features)
