"""`analyze`: the whole critical listening pass over one track, as an :class:`Analysis`.

Stable JSON keys (see :meth:`Analysis.to_dict`): ``duration_s``, ``sample_rate``, ``tempo_bpm``,
``beats_s``, ``downbeats_s``, ``time_signature``, ``key`` {``tonic``, ``mode``, ``confidence``},
``chords`` [{``start_s``, ``end_s``, ``label``}], ``sections`` [{``start_s``, ``end_s``, ``label``,
``role``}], ``loudness`` (the meter's keys plus ``short_term_lufs`` and ``short_term_hop_s``),
``findings`` and ``strengths``; then the details: ``tempo_curve``, ``harmony``, ``transitions``,
``dynamics``, ``tonal``, ``style`` (the reference the critique judged against: name, confidence,
source) and, with a brief, ``brief``. Each finding keeps ``kind``, ``severity``, ``start_s``,
``end_s``, ``message``, ``evidence`` and ``suggestion`` and adds ``span``, ``confidence``,
``reference`` and ``fix`` (a trackwright command line).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from trackwright.analysis.brief import Brief, check_brief
from trackwright.analysis.critique import critique
from trackwright.analysis.detect import DefectScan, find_defects
from trackwright.analysis.dynamics import Dynamics, analyze_dynamics
from trackwright.analysis.features import Features, compute_features
from trackwright.analysis.findings import Finding, Strength, sort_findings
from trackwright.analysis.harmony import Harmony, analyze_harmony
from trackwright.analysis.loudness import LoudnessReport, measure_loudness
from trackwright.analysis.rhythm import Rhythm, analyze_rhythm
from trackwright.analysis.structure import Structure, analyze_structure
from trackwright.analysis.style import Style, given_style, infer_style, problems_against
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
    style: Style | None = None
    defects: DefectScan | None = field(default=None, repr=False, compare=False)

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
        if self.style is not None:
            out["style"] = {**self.style.to_dict(), "problems": {
                k: round(v, 2) for k, v in problems_against(self.tonal, self.style.reference).items()}}
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
    report(0.8, "defects")
    style = given_style(brief.style) if brief is not None and brief.style else infer_style(loudness, dynamics, tonal,
                                                                                         features)
    scan = find_defects(audio.samples, audio.sample_rate, features, rhythm, tonal.flat_runs, tonal.over_times_s,
                        tonal.true_peak_dbtp)
    report(0.9, "critique")
    findings, strengths = critique(audio.duration_s, loudness, rhythm, harmony, structure, dynamics, tonal,
                                   defects=scan.defects, style=style)
    if brief is not None:
        findings = sort_findings(check_brief(brief, audio.duration_s, features, dynamics) + findings)
    report(1.0, "done")
    return Analysis(duration_s=audio.duration_s, sample_rate=audio.sample_rate, channels=audio.channels,
                    loudness=loudness, rhythm=rhythm, harmony=harmony, structure=structure, dynamics=dynamics,
                    tonal=tonal, findings=findings, strengths=strengths, brief=brief, features=features, style=style,
                    defects=scan)
