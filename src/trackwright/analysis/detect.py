"""Every defect detector run once over a track, and their results reconciled.

One event often trips several detectors: a stretch of dead air starts and ends with a click,
a polarity flip or a gain step clicks at its edges, the seams of a copy-pasted repeat are
splices. :func:`find_defects` keeps the defect that explains the event and folds the others
into its evidence, so the critique reports each problem once, at its place.

Conventions: ``samples`` are float32 (channels × frames); times in seconds.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import numpy as np

from trackwright.analysis.defects import (
    Defect,
    FlatRuns,
    clipping,
    dc_offset,
    dead_air,
    intersample_overs,
    polarity,
)
from trackwright.analysis.edits import (
    Clicks,
    Ending,
    beat_phase_jumps,
    ending_defects,
    find_clicks,
    level_jumps,
    step_changes,
    verbatim_repeats,
)
from trackwright.analysis.features import Features
from trackwright.analysis.rhythm import Rhythm
from trackwright.analysis.seams import (
    FLIP,
    STRETCH_MIN_S,
    bracketed_stretches,
    edge_at,
    stretch_correlation,
)

#: A click this close (s) to an edge of another defect belongs to that defect.
EDGE_S = 0.15
#: Defects whose edges are themselves sharp steps in the waveform.
_EDGED = ("dead_air", "phase_flip", "level_jump", "dc_offset", "verbatim_repeat", "truncated_ending")
#: Defects that move the beat (time goes missing or is added at their edges).
_SHIFTING = ("dead_air", "verbatim_repeat", "truncated_ending")
#: A band-level step closes a stretch whose other edge clicked when the level over 100 ms either
#: side changes by at least this share of its change over a second either side.
PARTNER_SUDDEN = 0.5
#: A splice moves the beat: a jump of at least this fraction of a beat…
PHASE_CUT_JUMP = 0.2
#: …where the pulse is at least this clear on both sides (0–1, see ``beat_phase_jumps``)…
PHASE_CUT_CLARITY = 0.4
#: …unless the beat jumps like that more often than this in the track: then the pulse itself
#: wanders (swing, rubato, a free tempo) and a jump is no evidence of a splice.
PHASE_CUT_MOST = 2
#: …is a cut; its time is known to about this (s), and a click this close is the same cut.
PHASE_CUT_REACH_S = 0.5


@dataclass(frozen=True)
class DefectScan:
    """All defects of a track (sorted by time), its ending and its clicks."""

    defects: list[Defect]
    ending: Ending | None = None
    clicks: Clicks | None = field(default=None, repr=False)


def _seams(defect: Defect) -> list[float]:
    """Times (s) where a defect's edges are: a repeat's every pass boundary, else its two ends."""
    if defect.kind == "verbatim_repeat":
        unit = float(defect.evidence.get("unit_s", 0.0))
        passes = int(defect.evidence.get("passes", 0))
        return [defect.start_s + k * unit for k in range(passes + 1)]
    return [defect.start_s, defect.end_s]


def _explained(time_s: float, others: list[Defect], kinds: tuple[str, ...] = _EDGED,
               reach_s: float = EDGE_S) -> Defect | None:
    for other in others:
        if other.kind == "clipping" and other.evidence.get("burst") and \
                other.start_s - reach_s <= time_s <= other.end_s + reach_s:
            return other
        if other.kind in kinds and any(abs(time_s - seam) <= reach_s for seam in _seams(other)):
            return other
    return None


def _cut(time_s: float, confidence: float, evidence: dict) -> Defect:
    return Defect("hard_cut", max(0.0, time_s - 0.25), time_s + 0.25, float(min(1.0, confidence)),
                  {"at_s": time_s, **evidence})


def hard_cuts(clicks: Clicks, others: list[Defect], phase_jumps: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
              ) -> list[Defect]:
    """Splices: clicks no other defect explains (a hard cut with no crossfade), and instants where
    the beat's phase jumps by ≥ ``PHASE_CUT_JUMP`` of a beat in a clear pulse (a cut made off the
    beat grid, however smooth the waveform joins) and rarely does elsewhere in the track. ``phase_jumps`` is
    :func:`~trackwright.analysis.edits.beat_phase_jumps`'s (times s, jumps, clarities)."""
    out = []
    for time, ratio, reference in zip(clicks.times_s, clicks.ratios, clicks.references):
        if _explained(float(time), others) is not None:
            continue
        factor = float(ratio / max(reference, 1e-9))
        out.append(_cut(float(time), 0.3 + 0.1 * factor,
                        {"click_ratio": float(ratio), "over_loudest_transients": factor,
                         "over_track_transients": float(ratio / max(clicks.track_reference, 1e-9))}))
    times, jumps, clarities = phase_jumps if phase_jumps is not None else (np.zeros(0),) * 3
    skips = [(float(t), float(j), float(c)) for t, j, c in zip(times, jumps, clarities)
             if j >= PHASE_CUT_JUMP and c >= PHASE_CUT_CLARITY
             and _explained(float(t), others, _SHIFTING, PHASE_CUT_REACH_S) is None]
    for time, jump, clarity in skips:
        if len(skips) > PHASE_CUT_MOST and not any(
                abs(float(cut.evidence["at_s"]) - time) <= PHASE_CUT_REACH_S for cut in out):
            continue  # the pulse wanders: only a click marks a splice
        near = [i for i, cut in enumerate(out) if abs(float(cut.evidence["at_s"]) - time) <= PHASE_CUT_REACH_S]
        if near:  # the click marks the splice exactly; the beat's jump confirms it
            cut = out[near[0]]
            out[near[0]] = _cut(float(cut.evidence["at_s"]), cut.confidence + 0.2,
                                {**cut.evidence, "beat_jump": float(jump), "pulse_clarity": float(clarity)})
            continue
        out.append(_cut(float(time), 0.4 + jump * clarity, {"beat_jump": float(jump), "pulse_clarity": float(clarity)}))
    return out


def _splices_not_gain(level_jumps_: list[Defect], cuts: list[Defect]) -> list[Defect]:
    """Level jumps with an edge where the beat jumps too: a splice into louder or quieter music,
    which the cut reports, not a gain change."""
    beat_cuts = [float(c.evidence["at_s"]) for c in cuts if "beat_jump" in c.evidence]
    return [d for d in level_jumps_ if not any(abs(t - seam) <= PHASE_CUT_REACH_S for t in beat_cuts
                                               for seam in _seams(d))]


def find_defects(samples: np.ndarray, sample_rate: int, features: Features, rhythm: Rhythm,
                 flat_runs: FlatRuns, over_times_s: np.ndarray, true_peak_dbtp: float) -> DefectScan:
    """Run every detector of :mod:`~trackwright.analysis.defects` and :mod:`~trackwright.analysis.edits`.

    ``flat_runs``, ``over_times_s`` and ``true_peak_dbtp`` come from the tonal analysis, which
    already scanned the samples for them.
    """
    mono = samples.mean(axis=0, dtype=np.float32)
    with ThreadPoolExecutor(max_workers=1) as pool:  # the click scan beside the rest: numpy releases the GIL
        clicking = pool.submit(find_clicks, mono, sample_rate)
        found, end, jumps = _other_defects(samples, sample_rate, features, rhythm, flat_runs, over_times_s,
                                           true_peak_dbtp, mono)
        clicks = clicking.result()
    found, jumps = _stretches_at_clicks(samples, sample_rate, features, clicks, found, jumps)
    cuts = hard_cuts(clicks, found + jumps, beat_phase_jumps(features, rhythm.tempo_bpm))
    found += _splices_not_gain(jumps, cuts) + cuts
    found = [_with_clicks(d, clicks) for d in found]
    return DefectScan(sorted(found, key=lambda d: (d.start_s, d.kind)), end, clicks)


def _other_defects(samples: np.ndarray, sample_rate: int, features: Features, rhythm: Rhythm, flat_runs: FlatRuns,
                   over_times_s: np.ndarray, true_peak_dbtp: float, mono: np.ndarray
                   ) -> tuple[list[Defect], Ending, list[Defect]]:
    """Every detector but the clicks: (defects, the ending, the level jumps)."""
    bar_s = rhythm.beats_per_bar * 60.0 / max(rhythm.tempo_bpm, 1.0)
    found: list[Defect] = []
    found += clipping(flat_runs, samples.shape[1], samples.shape[0])
    found += intersample_overs(over_times_s, true_peak_dbtp)
    found += dc_offset(samples, sample_rate)
    found += polarity(samples, sample_rate)
    found += dead_air(samples, sample_rate, rhythm.beats_s, bar_s)
    found += verbatim_repeats(features, mono, sample_rate)
    end, endings = ending_defects(samples, sample_rate, features, rhythm.downbeats_s)
    found += endings
    return found, end, level_jumps(features)


def _stretches_at_clicks(samples: np.ndarray, sample_rate: int, features: Features, clicks: Clicks,
                         found: list[Defect], jumps: list[Defect]) -> tuple[list[Defect], list[Defect]]:
    """``found`` and the level ``jumps`` with the stretches whose edges click
    (:mod:`~trackwright.analysis.seams`) in place of the level jumps and polarity flips they
    overlap: the waveform at the edges places a stretch to the sample, where the band levels and
    the L/R correlation place it to a window and can split it where the music changes. A flip
    edge inside a polarity flip found from the correlation alone ends it there (the channel turned
    back). Clicks another defect's edge explains (dead air, a repeat's seams) are not edges."""
    stretchy = ("level_jump", "phase_flip")
    fixed = [d for d in found if d.kind not in stretchy]
    edges = [edge_at(samples, sample_rate, float(t)) for t in clicks.times_s if _explained(float(t), fixed) is None]
    median, _, sustained = step_changes(features)
    # the level over a second either side, where it changes at an instant (not a swell)
    sudden = (median * sustained > 0) & (np.abs(median) >= PARTNER_SUDDEN * np.abs(sustained))
    steps = (np.arange(len(median)) / features.onset_rate, np.where(sudden, sustained, 0.0), median)
    stretches = bracketed_stretches(samples, sample_rate, edges, steps)

    # a stretch with one clicking edge does not displace what the band levels found there
    old = found + jumps
    stretches = [s for s in stretches if s.evidence.get("edges_scaled") != 1 or not any(
        d.kind == s.kind and _overlap_s(d, s) > EDGE_S for d in old)]

    def kept(defects: list[Defect]) -> list[Defect]:
        return [d for d in defects if not any(s.kind == d.kind and _overlap_s(d, s) > EDGE_S for s in stretches)]
    seams = [t for s in stretches for t in (s.start_s, s.end_s)]
    flips = [e.time_s for e in edges if e.kind == FLIP and not any(abs(e.time_s - t) <= EDGE_S for t in seams)]
    flipped = [_split_at_flip(samples, sample_rate, d, flips) for d in kept([d for d in found if d.kind == "phase_flip"])]
    return fixed + flipped + [s for s in stretches if s.kind == "phase_flip"], \
        kept(jumps) + [s for s in stretches if s.kind == "level_jump"]


def _overlap_s(a: Defect, b: Defect) -> float:
    """How long two defects' spans overlap (s; negative when apart)."""
    return min(a.end_s, b.end_s) - max(a.start_s, b.start_s)


def _split_at_flip(samples: np.ndarray, sample_rate: int, flip: Defect, edges_s: list[float]) -> Defect:
    """A polarity flip found from the correlation, cut at the first flip edge inside it: of the
    two parts, the one with the lower L/R correlation (the channel turned there; the other part's
    reading was the window's smear or the music)."""
    inside = [t for t in edges_s if flip.start_s + STRETCH_MIN_S <= t <= flip.end_s - STRETCH_MIN_S]
    if not inside or flip.evidence.get("whole_track"):
        return flip
    at = inside[0]
    parts = [(flip.start_s, at), (at, flip.end_s)]
    values = [stretch_correlation(samples[:, round(a * sample_rate): round(b * sample_rate)]) for a, b in parts]
    (start, end), value = min(zip(parts, values), key=lambda pv: pv[1])
    return replace(flip, start_s=start, end_s=end, evidence={**flip.evidence, "correlation": value,
                                                             "cut_at_flip_edge_s": at})


def _with_clicks(defect: Defect, clicks: Clicks) -> Defect:
    """Note in a defect's evidence how many of the track's clicks it explains (its edges click)."""
    if defect.kind not in _EDGED or not len(clicks.times_s):
        return defect
    count = sum(_explained(float(t), [defect]) is not None for t in clicks.times_s)
    return replace(defect, evidence={**defect.evidence, "edge_clicks": count}) if count else defect
