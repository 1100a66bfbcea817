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

``time_signature`` is one of 2/4, 3/4, 4/4 (simple: ``beat_subdivision`` 2) or 6/8, 9/8, 12/8
(compound: ``beat_subdivision`` 3). ``beats_s`` and ``tempo_bpm`` are always the *metrical*
beat: the quarter note in x/4, the dotted quarter in x/8 (a 6/8 jig has two beats to the bar);
the eighth notes are each beat divided in ``beat_subdivision`` equal parts. ``grid_source`` is
``"heard"``, or ``"user"`` when the grid was set by hand (:mod:`.beat_grid`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from trackwright.analysis.beat_grid import GridOverride
from trackwright.analysis.brief import Brief, check_brief
from trackwright.analysis.critique import critique
from trackwright.analysis.detect import DefectScan, find_defects
from trackwright.analysis.dynamics import Dynamics, analyze_dynamics
from trackwright.analysis.features import Features, compute_features
from trackwright.analysis.findings import Finding, Strength, sort_findings
from trackwright.analysis.harmony import Chord, Harmony, Key, Loop, analyze_harmony, harmony_on_grid
from trackwright.analysis.loudness import LoudnessReport, LoudnessSeries, measure_loudness
from trackwright.analysis.metre import parse_signature
from trackwright.analysis.rhythm import Rhythm, analyze_rhythm
from trackwright.analysis.structure import Section, Structure, Transition, analyze_structure
from trackwright.analysis.style import Style, given_style, infer_style
from trackwright.analysis.tonal import Tonal, analyze_tonal
from trackwright.audio import Audio
from trackwright.errors import MeasurementError, ParameterError
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
        if self.style is not None:
            out["style"] = self.style.to_dict()  # the tonal findings carry what it found against it
        if self.brief is not None:
            out["brief"] = self.brief.to_dict()
        return out

    def rounded(self) -> Analysis:
        """This analysis as its JSON stores it (times to the millisecond, levels to 0.01 dB), the
        features kept: what a project's cached analysis reads back, so that every edit stands on
        the same grid whether the analysis was just made or read from the cache."""
        return dataclasses.replace(Analysis.from_dict(self.to_dict()), features=self.features)

    def with_grid(self, grid: GridOverride | None) -> Analysis:
        """This analysis on the grid the user set (:class:`~.beat_grid.GridOverride`, applied to the
        rhythm as heard; see :meth:`with_rhythm`). Itself when ``grid`` is None or sets nothing."""
        if grid is None or grid.is_empty:
            return self
        return self.with_rhythm(grid.apply(self.rhythm, self.duration_s))

    def with_rhythm(self, rhythm: Rhythm) -> Analysis:
        """This analysis on another beat grid (a user-set one, ``grid_source`` ``"user"``): the
        chords read on its bars, the structure's bar lines and each section's bar count taken
        from it. Sections keep their times (an edit places them on the nearest bar line)."""
        downbeats = rhythm.downbeats_s
        reach = 30.0 / max(rhythm.tempo_bpm, 1.0)  # half a beat
        sections = [dataclasses.replace(s, bars=max(1, int(np.count_nonzero((downbeats >= s.start_s - reach)
                                                                            & (downbeats < s.end_s - reach)))))
                    for s in self.structure.sections]
        structure = dataclasses.replace(self.structure, sections=sections, bar_times_s=downbeats)
        harmony = harmony_on_grid(self.harmony.chords, self.harmony.key, rhythm, self.duration_s)
        return dataclasses.replace(self, rhythm=rhythm, structure=structure, harmony=harmony)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Analysis:
        """Rebuild an analysis from its :meth:`to_dict` form (a project's ``analysis/draft.json``).

        Everything the JSON holds comes back typed, so ``Analysis.from_dict(a.to_dict()).to_dict()
        == a.to_dict()``; what it does not hold (the features, the bar self-similarity and
        novelty, the momentary loudness series, the smoothed arc) comes back empty.

        Raises
        ------
        ParameterError
            ``data`` is not an analysis (a key is missing or has the wrong type).
        """
        try:
            return _analysis_from_dict(data)
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise ParameterError(f"not a trackwright analysis ({type(err).__name__}: {err})") from err


def _floats(values: Any) -> np.ndarray:
    """A JSON list of numbers (None for −∞) as a float array."""
    return np.asarray([-math.inf if v is None else float(v) for v in values or []], dtype=float)


def _analysis_from_dict(data: Mapping[str, Any]) -> Analysis:
    loud = data["loudness"]
    hop = float(loud.get("short_term_hop_s") or 0.1)
    short_lufs = _floats(loud.get("short_term_lufs"))
    first = loud.get("short_term_first_s")
    short_times = (float(first) if first is not None else 0.0) + hop * np.arange(len(short_lufs))
    empty = LoudnessSeries(np.zeros(0), np.zeros(0))

    def level(key: str) -> float | None:
        value = loud.get(key)
        return None if value is None else float(value)

    loudness = LoudnessReport(
        integrated_lufs=level("integrated_lufs") if loud.get("integrated_lufs") is not None else -math.inf,
        momentary_max_lufs=level("momentary_max_lufs") if loud.get("momentary_max_lufs") is not None else -math.inf,
        short_term_max_lufs=level("short_term_max_lufs"), loudness_range_lu=level("loudness_range_lu"),
        true_peak_dbtp=level("true_peak_dbtp") if loud.get("true_peak_dbtp") is not None else -math.inf,
        sample_peak_dbfs=level("sample_peak_dbfs") if loud.get("sample_peak_dbfs") is not None else -math.inf,
        duration_s=float(loud["duration_s"]), sample_rate=int(loud["sample_rate"]), channels=int(loud["channels"]),
        momentary=empty, short_term=LoudnessSeries(short_times, short_lufs))
    curve = data.get("tempo_curve") or {}
    beats_per_bar, subdivision = parse_signature(data["time_signature"])
    rhythm = Rhythm(tempo_bpm=float(data["tempo_bpm"]), beats_s=_floats(data["beats_s"]),
                    downbeats_s=_floats(data["downbeats_s"]), beats_per_bar=beats_per_bar,
                    tempo_curve_s=_floats(curve.get("times_s")), tempo_curve_bpm=_floats(curve.get("bpm")),
                    drifts=bool(curve.get("drifts", False)), subdivision=subdivision,
                    user_set=data.get("grid_source", "heard") == "user")
    details = data.get("harmony") or {}
    loop = details.get("loop")
    harmony = Harmony(key=Key(**data["key"]), chords=[Chord(**c) for c in data.get("chords", [])],
                      changes_per_bar=float(details.get("changes_per_bar", 0.0)),
                      mean_chord_beats=float(details.get("mean_chord_beats", 0.0)),
                      bar_chords=list(details.get("bar_chords", [])), loop=None if loop is None else Loop(**loop))
    transitions = [Transition(time_s=t["time_s"], level_jump_db=t["level_jump_db"], timbre_jump=t["timbre_jump"],
                              off_downbeat_s=t["off_downbeat_s"], mid_phrase=t["mid_phrase"],
                              abrupt=t["rating"] == "abrupt", reasons=list(t["reasons"]),
                              preparation=tuple(t.get("preparation", ())))
                   for t in data.get("transitions", [])]
    structure = Structure(sections=[Section(**s) for s in data.get("sections", [])], transitions=transitions,
                          bar_times_s=rhythm.downbeats_s, similarity=np.zeros((0, 0)), novelty=np.zeros(0))
    dyn = data["dynamics"]
    dynamics = Dynamics(times_s=short_times, short_term_lufs=short_lufs, arc_lufs=np.zeros(0),
                        loudness_range_lu=float(dyn["loudness_range_lu"]), arc_range_lu=float(dyn["arc_range_lu"]),
                        peak_s=float(dyn["peak_s"]), crest_db=float(dyn["crest_db"]), plr_db=float(dyn["plr_db"]),
                        section_lufs=[float(v) for v in dyn["section_lufs"]], contrast_lu=float(dyn["contrast_lu"]),
                        flat=bool(dyn["flat"]))
    ton = data["tonal"]

    def maybe(key: str) -> float | None:
        return None if ton.get(key) is None else float(ton[key])

    tonal = Tonal(band_hz=_floats(ton["bands_hz"]), band_db=_floats(ton["bands_db"]),
                  reference_db=_floats(ton["reference_db"]), problems={k: float(v) for k, v in ton["problems"].items()},
                  width_db=maybe("width_db"), correlation=maybe("correlation"),
                  negative_correlation_fraction=maybe("negative_correlation_fraction"),
                  mono_loss_lu=maybe("mono_loss_lu"), clipped_runs=int(ton["clipped_runs"]),
                  intersample_overs=int(ton["intersample_overs"]),
                  true_peak_dbtp=maybe("true_peak_dbtp") if ton.get("true_peak_dbtp") is not None else -math.inf)
    findings = [Finding(**{k: v for k, v in f.items() if k != "span"}) for f in data.get("findings", [])]
    strengths = [Strength(**s) for s in data.get("strengths", [])]
    brief = None
    if data.get("brief") is not None:
        raw = data["brief"]
        brief = Brief(title=raw["title"], duration_s=raw["duration_s"], tolerance_s=raw["tolerance_s"],
                      dialogue=[(float(a), float(b)) for a, b in raw["dialogue"]],
                      hits=[(float(h["at"]), str(h["what"])) for h in raw["hits"]], arc=raw["arc"],
                      peak_at=raw["peak_at"], restrained_until=raw["restrained_until"],
                      composer=str(raw.get("composer", "")), style=str(raw.get("style") or ""))
    raw_style = data.get("style")
    style = None if raw_style is None else Style(
        name=str(raw_style["name"]), confidence=float(raw_style["confidence"]),
        probabilities={k: float(v) for k, v in raw_style["probabilities"].items()}, source=str(raw_style["source"]),
        descriptors={k: float(v) for k, v in raw_style.get("descriptors", {}).items()})
    return Analysis(duration_s=float(data["duration_s"]), sample_rate=int(data["sample_rate"]),
                    channels=loudness.channels, loudness=loudness, rhythm=rhythm, harmony=harmony,
                    structure=structure, dynamics=dynamics, tonal=tonal, findings=findings, strengths=strengths,
                    brief=brief, style=style)


def analyze(audio: Audio, *, brief: Brief | None = None, progress: ProgressCallback | None = None) -> Analysis:
    """Listen to ``audio`` (channels × frames, any rate, ≥ 3 s) and write down what works and what does not."""
    report = progress or ignore_progress
    if audio.duration_s < MIN_DURATION_S:
        raise MeasurementError(f"clip is {audio.duration_s:.2f} s long; analysis needs at least {MIN_DURATION_S:g} s")
    report(0.0, "loudness and features")
    with ThreadPoolExecutor(max_workers=1) as pool:  # the meter beside the features: both release the GIL
        measuring = pool.submit(measure_loudness, audio)
        try:
            features = compute_features(audio)
            report(0.4, "rhythm")
            rhythm = analyze_rhythm(features)
            report(0.5, "harmony")
            harmony = analyze_harmony(features, rhythm)
            report(0.6, "structure")
            structure = analyze_structure(features, rhythm)
        except Exception:
            measuring.result()  # the meter's error (silence, too quiet…) says it more clearly
            raise
        loudness = measuring.result()
    report(0.7, "dynamics and tonal balance")
    dynamics = analyze_dynamics(loudness, audio.samples, [(s.start_s, s.end_s) for s in structure.sections])
    tonal = analyze_tonal(audio, integrated_lufs=loudness.integrated_lufs, true_peak_dbtp=loudness.true_peak_dbtp)
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
