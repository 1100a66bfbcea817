"""Metre: which pulse is the beat, whether it divides in two or three, how many beats make a bar.

Conventions
-----------
Times are seconds; accents are standardised (z-scored) envelopes sampled at given times. A
*beat grid* is a sequence of beat times tracked at one candidate tempo. Candidates are the
tempo estimate and its octave and 3:2 relatives (×2, ×½, ×3/2, ×2/3), so a 6/8 whose eighths
were paired into a false quarter (a 3:2 error), or a waltz read at one beat per bar, can be put
right.

Each grid is scored by the metrical hierarchy it implies (:func:`grid_score`): its beats must
carry clearly more accent than the points that divide them (``beat − division``), and those
points more than the points of the other division (``division − other``): halves against
thirds for a simple beat (2/4, 3/4, 4/4), thirds against halves for a compound one (6/8, 9/8,
12/8). A grid at twice the beat loses the first contrast (its "beats" include the off-beats),
a grid at half the beat the second (its divisions are beats), a 3:2 grid both. A broad
preference for beats near :data:`PREFERRED_BEAT_BPM` settles what the accents leave open.

Bars: the number of beats per bar (2, 3 or 4) whose downbeats stand out most from the other
beats in low-frequency attacks and harmonic change (:func:`bar_count`), with a preference for
bars near :data:`PREFERRED_BAR_S` and for four beats on near-ties. The time signature follows: 2, 3, 4 beats of two → 2/4, 3/4,
4/4; of three → 6/8, 9/8, 12/8.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trackwright.analysis import filters
from trackwright.errors import ParameterError

#: Tempo ratios tried against the estimate: the estimate, its octaves and its 3:2 relatives.
CANDIDATE_RATIOS = (1.0, 2.0, 0.5, 1.5, 2.0 / 3.0, 4.0 / 3.0, 0.75)
#: Beat rates a reading may have, BPM.
BEAT_RANGE_BPM = (30.0, 240.0)
#: Where the preference for a beat rate peaks (BPM) and its width (octaves, one σ).
PREFERRED_BEAT_BPM = 120.0
BEAT_PRIOR_OCTAVES = 1.0
#: Weight of the preference against the accent contrasts (z-score units); 3.25–3.75 read the same
#: metrical levels on the development split.
BEAT_PRIOR_WEIGHT = 3.5
#: Weight of the division contrast (division − other) against the beat contrast (beat − division).
DIVISION_WEIGHT = 1.0
#: Where the preference for a bar length peaks (seconds) and its width (octaves, one σ).
PREFERRED_BAR_S = 2.4
BAR_PRIOR_OCTAVES = 1.0
BAR_PRIOR_WEIGHT = 0.25
#: Bars of four win near-ties (z-score units): where harmony moves on every beat (a chorale) the
#: evidence hardly tells 2, 3 and 4 apart, and common time is the commonest.
FOUR_BONUS = 0.15
#: A beat reads as compound only when its thirds out-accent its half by this much (z-score):
#: with neither division heard (clicks, a chorale in crotchets) the metre is simple.
COMPOUND_MARGIN = 0.25


#: The time signatures a grid may have: (beats per bar, subdivision of the beat).
METRES = {"2/4": (2, 2), "3/4": (3, 2), "4/4": (4, 2), "6/8": (2, 3), "9/8": (3, 3), "12/8": (4, 3)}


def signature(beats_per_bar: int, subdivision: int) -> str:
    """Time signature of a bar of ``beats_per_bar`` beats each divided in ``subdivision``."""
    return f"{beats_per_bar}/4" if subdivision == 2 else f"{beats_per_bar * 3}/8"


def parse_signature(text: str) -> tuple[int, int]:
    """(beats per bar, subdivision) of a time signature in :data:`METRES`: ``"6/8"`` → (2, 3).

    Raises
    ------
    ParameterError
        ``text`` is not one of :data:`METRES`.
    """
    key = str(text).strip().replace(" ", "")
    if key not in METRES:
        raise ParameterError(f"metre {text!r} is not one of {', '.join(METRES)}")
    return METRES[key]


def sample(series: np.ndarray, rate: float, times_s: np.ndarray, half_width_s: float) -> np.ndarray:
    """Max of ``series`` (frames at ``rate`` per second) within ±``half_width_s`` of each time."""
    radius = max(1, int(round(half_width_s * rate)))
    peaks = filters.maximum_filter1d(series, size=2 * radius + 1, mode="nearest")
    return peaks[np.clip(np.round(np.asarray(times_s) * rate).astype(int), 0, len(series) - 1)]


def standardised(values: np.ndarray) -> np.ndarray:
    """``values`` less their mean, over their standard deviation (zeros when constant)."""
    spread = float(values.std())
    return (values - values.mean()) / spread if spread > 0 else np.zeros_like(values)


@dataclass(frozen=True)
class GridScore:
    """How well a beat grid fits a metrical hierarchy (accent units: z-scores).

    Attributes
    ----------
    subdivision : int
        3 when the beat's thirds carry clearly more accent than its half
        (:data:`COMPOUND_MARGIN`), else 2.
    beat : float
        Mean accent on the beats.
    halves, thirds : float
        Mean accent half-way between beats, and a third and two thirds of the way.
    score : float
        ``beat − division + DIVISION_WEIGHT · (division − other) + BEAT_PRIOR_WEIGHT · prior``.
    """

    subdivision: int
    beat: float
    halves: float
    thirds: float
    score: float


def grid_score(accent: np.ndarray, rate: float, beats_s: np.ndarray, *,
               preferred_bpm: float = PREFERRED_BEAT_BPM, compound_margin: float = COMPOUND_MARGIN) -> GridScore:
    """Score a beat grid against an accent envelope (standardised, frames at ``rate`` per s);
    ``preferred_bpm`` centres the preference for a beat rate, ``compound_margin`` is how much
    more accent the thirds need than the half for a compound reading."""
    intervals = np.diff(beats_s)
    starts = beats_s[:-1]
    width = float(min(0.03, np.median(intervals) / 12))
    on = float(sample(accent, rate, starts, width).mean())
    halves = float(sample(accent, rate, starts + intervals / 2, width).mean())
    thirds = float(np.concatenate([sample(accent, rate, starts + intervals * k / 3, width) for k in (1, 2)]).mean())
    bpm = 60.0 / float(np.median(intervals))
    prior = -0.5 * (np.log2(bpm / preferred_bpm) / BEAT_PRIOR_OCTAVES) ** 2
    compound = thirds > halves + compound_margin
    subdivision, division, other = (3, thirds, halves) if compound else (2, halves, thirds)
    score = on - division + DIVISION_WEIGHT * (division - other) + BEAT_PRIOR_WEIGHT * prior
    return GridScore(subdivision, on, halves, thirds, score)


def bar_count(evidence: np.ndarray, beat_s: float) -> int:
    """Beats per bar (2, 3 or 4) from per-beat downbeat evidence (standardised): the count whose
    best phase puts the most evidence on downbeats against the other beats, with a preference
    for bars near :data:`PREFERRED_BAR_S`."""
    best, best_score = 4, -np.inf
    for count in (2, 3, 4):
        if len(evidence) < 2 * count:
            continue
        position = np.arange(len(evidence)) % count
        contrast = max(float(evidence[position == phase].mean() - evidence[position != phase].mean())
                       for phase in range(count))
        prior = -0.5 * (np.log2(count * beat_s / PREFERRED_BAR_S) / BAR_PRIOR_OCTAVES) ** 2
        score = contrast + BAR_PRIOR_WEIGHT * prior + (FOUR_BONUS if count == 4 else 0.0)
        if score > best_score:
            best, best_score = count, score
    return best
