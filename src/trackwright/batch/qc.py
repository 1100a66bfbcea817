"""Catalogue QC: a verdict per track — ready, needs work, or reject — with the reasons.

Two stages, so a change of rules never needs the audio again:

1. :func:`measure_facts` reads numbers from the audio and its :class:`Analysis` (the analyze step
   stores them as ``QcFacts``): peaks and clipping, leading/trailing silence and gaps, how the
   track ends, tempo stability, key clarity, the loudness arc, the harmonic loop, the brief.
2. :func:`judge` applies :class:`QcRules` to the facts. Every rule that fires gives a
   :class:`Reason` at level ``needs work`` (a fix is a trackwright command away: master, trim,
   fit, a note) or ``reject`` (the audio itself is broken: clipped throughout, mostly silence);
   the verdict is the worst level, ``ready`` when nothing fires.

Conventions: levels in dBFS / LUFS / dBTP / LU, times in seconds, tempo in BPM; every threshold is
a field of :class:`QcRules` with its unit in its name.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from trackwright.analysis.analyze import Analysis
from trackwright.audio import Audio

READY, NEEDS_WORK, REJECT = "ready", "needs work", "reject"
VERDICTS = (READY, NEEDS_WORK, REJECT)
#: Hop and window of the level envelope used for silence and endings, seconds.
ENVELOPE_HOP_S = 0.05
#: The level of a track's body: this percentile of its active 50 ms levels, dBFS.
BODY_PERCENTILE = 50.0


@dataclass(frozen=True)
class QcFacts:
    """The measured numbers QC rules read (JSON round-trip through :meth:`to_dict` / :meth:`from_dict`).

    Attributes
    ----------
    duration_s : seconds.
    integrated_lufs, true_peak_dbtp, sample_peak_dbfs : the meter's figures.
    clipped_runs : runs of ≥ 3 samples at ≥ 0.999 full scale (all channels).
    body_level_dbfs : median 50 ms RMS level of the non-silent audio, dBFS.
    lead_silence_s, tail_silence_s : silence before the first and after the last sound.
    longest_gap_s : the longest silence between sounds.
    silent_share : fraction of the track that is silence (0–1).
    end_level_db : level of the last 50 ms relative to the body, dB (0 = still at full level).
    tempo_bpm : the tempo.
    tempo_spread_pct : 5th–95th percentile spread of the local tempo curve, % of its median.
    beat_interval_cv : coefficient of variation of the beat intervals (0 = metronomic).
    key, key_confidence : the key's name and how clearly the music sits in it (0–1).
    arc_range_lu, loudness_range_lu : how far the smoothed arc moves; EBU LRA.
    loop_coverage, loop_repetitions : share of the track one repeated chord cycle covers, and how often.
    distinct_chords : chord labels heard.
    brief_duration_s, brief_tolerance_s : the brief's length and its slack (None without a brief).
    """

    duration_s: float
    integrated_lufs: float | None
    true_peak_dbtp: float | None
    sample_peak_dbfs: float | None
    clipped_runs: int
    body_level_dbfs: float | None
    lead_silence_s: float
    tail_silence_s: float
    longest_gap_s: float
    silent_share: float
    end_level_db: float | None
    tempo_bpm: float
    tempo_spread_pct: float
    beat_interval_cv: float
    key: str
    key_confidence: float
    arc_range_lu: float
    loudness_range_lu: float | None
    loop_coverage: float
    loop_repetitions: int
    distinct_chords: int
    brief_duration_s: float | None = None
    brief_tolerance_s: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (non-finite numbers as None)."""
        return {k: (round(v, 4) if math.isfinite(v) else None) if isinstance(v, float) else v
                for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QcFacts:
        """The facts back from :meth:`to_dict` (unknown keys ignored, so older records still read)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def _finite(value: float | None) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def level_envelope_db(audio: Audio, hop_s: float = ENVELOPE_HOP_S) -> np.ndarray:
    """RMS level of consecutive ``hop_s`` blocks over all channels, dBFS (one value per block)."""
    hop = max(1, round(hop_s * audio.sample_rate))
    blocks = audio.frames // hop
    if blocks == 0:
        return np.full(1, -math.inf)
    power = np.square(audio.samples[:, : blocks * hop], dtype=np.float64).mean(axis=0)
    mean = power.reshape(blocks, hop).mean(axis=1)
    tail = audio.frames - blocks * hop
    if tail >= hop // 2:
        mean = np.append(mean, np.square(audio.samples[:, blocks * hop:], dtype=np.float64).mean())
    with np.errstate(divide="ignore"):
        return 10 * np.log10(mean)


def _silence_facts(levels_db: np.ndarray, silence_below_body_db: float,
                   floor_dbfs: float) -> tuple[float | None, float, float, float, float, float | None]:
    """(body level, lead, tail, longest gap, silent share, end level re body) from a 50 ms envelope."""
    audible = levels_db > floor_dbfs
    if not audible.any():
        return None, len(levels_db) * ENVELOPE_HOP_S, 0.0, 0.0, 1.0, None
    body = float(np.percentile(levels_db[audible], BODY_PERCENTILE))
    sound = levels_db > max(floor_dbfs, body - silence_below_body_db)
    index = np.flatnonzero(sound)
    first, last = int(index[0]), int(index[-1])
    lead = first * ENVELOPE_HOP_S
    tail = (len(levels_db) - 1 - last) * ENVELOPE_HOP_S
    gaps = np.diff(index) - 1
    longest = float(gaps.max()) * ENVELOPE_HOP_S if gaps.size else 0.0
    share = float(1.0 - sound.mean())
    end = float(levels_db[-1] - body) if math.isfinite(levels_db[-1]) else -120.0
    return body, lead, tail, longest, share, end


def _tempo_facts(analysis: Analysis) -> tuple[float, float]:
    rhythm = analysis.rhythm
    curve = np.asarray(rhythm.tempo_curve_bpm, dtype=float)
    curve = curve[np.isfinite(curve) & (curve > 0)]
    spread = float((np.percentile(curve, 95) - np.percentile(curve, 5)) / np.median(curve) * 100) if curve.size else 0.0
    beats = np.asarray(rhythm.beats_s, dtype=float)
    intervals = np.diff(beats)
    cv = float(intervals.std() / intervals.mean()) if intervals.size >= 4 and intervals.mean() > 0 else 0.0
    return spread, cv


def measure_facts(audio: Audio, analysis: Analysis, *, rules: QcRules | None = None) -> QcFacts:
    """The numbers the QC rules read, from the track (channels × frames) and its analysis.

    Examples
    --------
    >>> facts = measure_facts(audio, analyze(audio))         # doctest: +SKIP
    >>> judge(facts).verdict                                  # doctest: +SKIP
    'ready'
    """
    rules = rules or QcRules()
    loud = analysis.loudness
    body, lead, tail, gap, share, end = _silence_facts(level_envelope_db(audio), rules.silence_below_body_db,
                                                       rules.silence_floor_dbfs)
    spread, cv = _tempo_facts(analysis)
    harmony = analysis.harmony
    loop = harmony.loop
    brief = analysis.brief
    return QcFacts(
        duration_s=audio.duration_s, integrated_lufs=_finite(loud.integrated_lufs),
        true_peak_dbtp=_finite(loud.true_peak_dbtp), sample_peak_dbfs=_finite(loud.sample_peak_dbfs),
        clipped_runs=int(analysis.tonal.clipped_runs), body_level_dbfs=body, lead_silence_s=lead,
        tail_silence_s=tail, longest_gap_s=gap, silent_share=share, end_level_db=end,
        tempo_bpm=float(analysis.rhythm.tempo_bpm), tempo_spread_pct=spread, beat_interval_cv=cv,
        key=harmony.key.name, key_confidence=float(harmony.key.confidence),
        arc_range_lu=float(analysis.dynamics.arc_range_lu), loudness_range_lu=_finite(loud.loudness_range_lu),
        loop_coverage=float(loop.coverage) if loop else 0.0, loop_repetitions=int(loop.repetitions) if loop else 0,
        distinct_chords=len({c.label for c in harmony.chords if c.label != "N"}),
        brief_duration_s=brief.duration_s if brief else None, brief_tolerance_s=brief.tolerance_s if brief else None)


@dataclass(frozen=True)
class QcRules:
    """Thresholds of the QC rules (units in the names). The defaults are a cautious first pass for
    a library of AI drafts: anything a trackwright command can fix is ``needs work``."""

    silence_floor_dbfs: float = -70.0
    silence_below_body_db: float = 40.0
    clipped_runs_per_min_reject: float = 60.0
    true_peak_over_dbtp: float = 0.0
    lead_silence_s: float = 2.0
    tail_silence_s: float = 4.0
    gap_s: float = 4.0
    silent_share_reject: float = 0.5
    abrupt_end_within_db: float = 12.0
    tempo_spread_pct: float = 8.0
    beat_interval_cv: float = 0.12
    weak_key_confidence: float = 0.3
    flat_arc_lu: float = 2.0
    flat_arc_min_duration_s: float = 60.0
    loop_coverage: float = 0.9
    loop_repetitions: int = 4
    brief_reject_ratio: float = 0.5

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (part of the QC step's key)."""
        return asdict(self)


@dataclass(frozen=True)
class Reason:
    """Why a track is not ready: the rule, its level, one line for people, the numbers."""

    rule: str
    level: str
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"rule": self.rule, "level": self.level, "message": self.message, "evidence": self.evidence}


@dataclass(frozen=True)
class QcVerdict:
    """``verdict`` is ``ready``, ``needs work`` or ``reject``; ``reasons`` worst first."""

    verdict: str
    reasons: list[Reason]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"verdict": self.verdict, "reasons": [r.to_dict() for r in self.reasons]}


def _peaks(facts: QcFacts, rules: QcRules) -> list[Reason]:
    out = []
    per_min = facts.clipped_runs / max(facts.duration_s / 60.0, 1e-9)
    if facts.clipped_runs:
        level = REJECT if per_min >= rules.clipped_runs_per_min_reject else NEEDS_WORK
        out.append(Reason("clipping", level, f"clipped: {facts.clipped_runs} runs of full-scale samples "
                          f"({per_min:.1f} per minute)" + ("; the distortion is in the audio" if level == REJECT else
                                                           "; re-render with headroom if they are audible"),
                          {"clipped_runs": facts.clipped_runs, "per_minute": round(per_min, 2)}))
    if facts.true_peak_dbtp is not None and facts.true_peak_dbtp > rules.true_peak_over_dbtp:
        out.append(Reason("true_peak_over", NEEDS_WORK, f"true peak {facts.true_peak_dbtp:+.1f} dBTP is over "
                          f"{rules.true_peak_over_dbtp:g} dBTP; master with a ceiling (trackwright master --target)",
                          {"true_peak_dbtp": round(facts.true_peak_dbtp, 2)}))
    return out


def _silence(facts: QcFacts, rules: QcRules) -> list[Reason]:
    if facts.body_level_dbfs is None or facts.silent_share >= rules.silent_share_reject:
        return [Reason("silence", REJECT, f"mostly silence: {facts.silent_share:.0%} of {facts.duration_s:.1f} s",
                       {"silent_share": round(facts.silent_share, 3)})]
    out = []
    if facts.lead_silence_s > rules.lead_silence_s:
        out.append(Reason("lead_silence", NEEDS_WORK, f"{facts.lead_silence_s:.1f} s of silence before the music "
                          "starts; trim it", {"lead_silence_s": round(facts.lead_silence_s, 2)}))
    if facts.tail_silence_s > rules.tail_silence_s:
        out.append(Reason("tail_silence", NEEDS_WORK, f"{facts.tail_silence_s:.1f} s of silence after the music "
                          "ends; trim it", {"tail_silence_s": round(facts.tail_silence_s, 2)}))
    if facts.longest_gap_s > rules.gap_s:
        out.append(Reason("gap", NEEDS_WORK, f"a {facts.longest_gap_s:.1f} s silence inside the track (a dropout or "
                          "a generator's stall?)", {"longest_gap_s": round(facts.longest_gap_s, 2)}))
    if facts.end_level_db is not None and facts.end_level_db > -rules.abrupt_end_within_db:
        out.append(Reason("truncated_ending", NEEDS_WORK, f"ends abruptly: the last 50 ms play at "
                          f"{facts.end_level_db:+.1f} dB against the body of the track (a cut, not an ending); fit "
                          "it to a natural ending or fade it (trackwright fit)",
                          {"end_level_db": round(facts.end_level_db, 1)}))
    return out


def _music(facts: QcFacts, rules: QcRules) -> list[Reason]:
    out = []
    if facts.tempo_spread_pct > rules.tempo_spread_pct or facts.beat_interval_cv > rules.beat_interval_cv:
        out.append(Reason("tempo_instability", NEEDS_WORK, f"unsteady tempo: the local tempo spans "
                          f"{facts.tempo_spread_pct:.1f} % around {facts.tempo_bpm:.0f} BPM, beat intervals vary "
                          f"{facts.beat_interval_cv:.0%}", {"tempo_spread_pct": round(facts.tempo_spread_pct, 2),
                                                            "beat_interval_cv": round(facts.beat_interval_cv, 3)}))
    if facts.key_confidence < rules.weak_key_confidence:
        out.append(Reason("weak_key", NEEDS_WORK, f"weak tonal centre: {facts.key} only at confidence "
                          f"{facts.key_confidence:.2f}", {"key": facts.key, "confidence": round(facts.key_confidence, 3)}))
    if facts.duration_s >= rules.flat_arc_min_duration_s and facts.arc_range_lu < rules.flat_arc_lu:
        out.append(Reason("flat_arc", NEEDS_WORK, f"flat arc: the loudness arc moves {facts.arc_range_lu:.1f} LU in "
                          f"{facts.duration_s:.0f} s; nothing builds", {"arc_range_lu": round(facts.arc_range_lu, 2)}))
    if facts.loop_coverage >= rules.loop_coverage and facts.loop_repetitions >= rules.loop_repetitions:
        out.append(Reason("looped_harmony", NEEDS_WORK, f"looped harmony: one chord cycle repeats "
                          f"{facts.loop_repetitions} times over {facts.loop_coverage:.0%} of the track",
                          {"coverage": round(facts.loop_coverage, 3), "repetitions": facts.loop_repetitions}))
    return out


def _brief(facts: QcFacts, rules: QcRules) -> list[Reason]:
    if facts.brief_duration_s is None:
        return []
    off = facts.duration_s - facts.brief_duration_s
    if abs(off) <= (facts.brief_tolerance_s or 0.0):
        return []
    short = facts.duration_s < rules.brief_reject_ratio * facts.brief_duration_s
    return [Reason("length_vs_brief", REJECT if short else NEEDS_WORK,
                   f"{facts.duration_s:.1f} s against the brief's {facts.brief_duration_s:.1f} s "
                   f"(±{facts.brief_tolerance_s or 0:g} s)" + ("; too short to fit" if short else "; trackwright fit"),
                   {"duration_s": round(facts.duration_s, 2), "brief_duration_s": facts.brief_duration_s,
                    "off_s": round(off, 2)})]


def judge(facts: QcFacts, rules: QcRules | None = None) -> QcVerdict:
    """The verdict of ``facts`` under ``rules`` (default :class:`QcRules`), reasons worst first."""
    rules = rules or QcRules()
    reasons = _peaks(facts, rules) + _silence(facts, rules) + _music(facts, rules) + _brief(facts, rules)
    reasons.sort(key=lambda r: -VERDICTS.index(r.level))
    verdict = reasons[0].level if reasons else READY
    return QcVerdict(verdict, reasons)
