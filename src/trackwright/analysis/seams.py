"""What happened to the waveform at a click: a gain change, one channel's sign flipping, or a splice.

A click (:func:`~trackwright.analysis.edits.find_clicks`) says the waveform broke at an instant;
this module asks *how*. Music is predictable sample to sample, so a linear predictor fitted on the
100 ms before the click continues it; at the click, the prediction error bursts. If the music
after the click is the same music scaled by a factor ``a`` (a gain change: ``a`` > 0; one channel
inverted: ``a`` ≈ −1), multiplying the after-part by ``1/a`` — equivalently, finding the ``a`` that
best explains the after-part from the before-part — removes the burst. A splice joins different
music, which no factor continues.

Two such edges that undo each other bracket a stretch: a stretch turned up or down
(:data:`GAIN` edges whose factors multiply to about 1) or one channel inverted (two :data:`FLIP`
edges on the same channel). The stretch's own statistics need not show it — one channel
inverted in wide, decorrelated stereo leaves the L/R correlation near zero either way — but the
edges do, sample for sample.

Conventions: ``samples`` are float32 (channels × frames); times in seconds; factors are linear
amplitude ratios (after over before), reported in dB where they are gains.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg

from trackwright.analysis.defects import Defect, window_correlation

#: The predictor is fitted on this much sound before the edge (s)…
FIT_S = 0.1
#: …with this many coefficients.
ORDER = 24
#: The edge is looked for within this many samples of the click's time…
SEARCH = 24
#: …and the prediction error is summed over the edge ± this many samples.
REACH = 48
#: A factor explains an edge when it leaves at most this share of the error there.
EXPLAINED_SHARE = 0.35
#: An edge clicks in a channel when the error there is this many times the error before it.
BURST_MIN = 4.0
#: A flip's factor lies within this of −1; a channel that does not flip within this of +1 or does not click.
FLIP_TOLERANCE = 0.35
#: A gain edge changes the level by ``GAIN_MIN_DB``–``GAIN_MAX_DB``, all channels alike within
#: ``GAIN_ALIKE_DB`` (a factor at the search's limit is no fit).
GAIN_MIN_DB = 4.5
GAIN_MAX_DB = 15.0
GAIN_ALIKE_DB = 2.0
#: The two edges of a stretch undo each other within this (dB).
UNDO_DB = 3.0
#: A bracketed stretch lasts between these (s).
STRETCH_MIN_S = 1.5
#: The factors considered lie within ±18 dB.
FACTOR_MAX_DB = 18.0
SCALE_MIN = 10 ** (-FACTOR_MAX_DB / 20)
STRETCH_MAX_S = 60.0
#: A stretch with one clicking edge, closed by a band-level step, lasts at most this (s).
ONE_SIDED_MAX_S = 30.0

GAIN, FLIP, OTHER = "gain", "flip", "other"


@dataclass(frozen=True)
class Edge:
    """How the waveform breaks at one click.

    Attributes
    ----------
    time_s : float
        The sample where the break is best explained, s.
    kind : str
        :data:`GAIN` (every channel scaled alike), :data:`FLIP` (one channel's sign flips) or
        :data:`OTHER` (a splice, or too little signal to tell).
    factor : float
        The after-over-before amplitude factor of a gain edge (linear, > 0), or −1 for a flip.
    channel : int
        The channel that flips (−1 unless a flip).
    """

    time_s: float
    kind: str
    factor: float
    channel: int = -1


def _channel_fit(values: np.ndarray, at: int, rate: int) -> tuple[int, float, float, float]:
    """For one channel (frames,) around sample ``at``: (the edge's sample, the factor that best
    continues the before-part into the after-part, the share of the prediction error that factor
    leaves, the error at the edge over the error before it)."""
    fit = max(4 * ORDER, round(FIT_S * rate))
    lo = at - SEARCH - REACH - fit
    if lo < 0 or at + SEARCH + REACH + ORDER > len(values):
        return at, 1.0, 1.0, 0.0
    before = values[lo: lo + fit].astype(np.float64) * np.hanning(fit)
    r = np.array([np.dot(before[k:], before[: fit - k]) for k in range(ORDER + 1)])
    if r[0] <= 1e-12:
        return at, 1.0, 1.0, 0.0
    r[0] *= 1.0 + 1e-5
    fir = np.concatenate(([1.0], -scipy.linalg.solve_toeplitz(r[:ORDER], r[1:])))
    first, last = at - SEARCH - REACH, at + SEARCH + REACH
    segment = values[first - ORDER: last].astype(np.float64)
    background = np.convolve(values[lo: lo + fit].astype(np.float64), fir, mode="valid")
    floor = max(float(np.mean(background ** 2)), 1e-20)
    whole = np.convolve(segment, fir, mode="valid")[: last - first]
    raw = float(np.dot(whole, whole))
    best = (at, 1.0, 1.0)
    for split in range(at - SEARCH, at + SEARCH + 1):
        head = segment.copy()
        head[split - first + ORDER:] = 0.0
        p = np.convolve(head, fir, mode="valid")[: last - first]
        q = whole - p
        qq = float(np.dot(q, q))
        if qq <= 1e-20:
            continue
        # p + scale·q: the after-part scaled back onto the before. The quieter side is the one
        # turned up (p/scale + q when |scale| < 1), never the louder one down: turning a side
        # down would explain any edge by silencing it. Factors are kept within ±FACTOR_MAX_DB.
        up = -float(np.dot(p, q)) / qq
        down = -float(np.dot(p, q)) / max(float(np.dot(p, p)), 1e-20)
        for scale in (*_within(up), *(1.0 / t for t in _within(down))):
            left = float(np.dot(p + scale * q, p + scale * q)) / (max(raw, 1e-20) * min(1.0, scale * scale))
            if left < best[2]:
                best = (split, 1.0 / scale, left)
    return best[0], best[1], best[2], raw / (floor * (last - first))


def _within(scale: float) -> tuple[float, float]:
    """``scale`` clipped into 1…1/SCALE_MIN and into −1/SCALE_MIN…−1 (the best of each sign)."""
    return float(np.clip(scale, 1.0, 1 / SCALE_MIN)), float(np.clip(scale, -1 / SCALE_MIN, -1.0))


def edge_at(samples: np.ndarray, sample_rate: int, time_s: float) -> Edge:
    """How the waveform (channels × frames) breaks at a click at ``time_s``: a gain change, one
    channel flipping sign, or neither (see the module docstring)."""
    at = round(time_s * sample_rate)
    fits = [_channel_fit(channel, at, sample_rate) for channel in samples]
    clicking = [i for i, (_, _, left, burst) in enumerate(fits) if burst >= BURST_MIN and left <= EXPLAINED_SHARE]
    if not clicking:
        return Edge(time_s, OTHER, 1.0)
    split = fits[clicking[0]][0]
    when = split / sample_rate
    flips = [i for i in clicking if abs(fits[i][1] + 1.0) <= FLIP_TOLERANCE]
    if len(flips) == 1 and len(fits) > 1:
        steady = all(i == flips[0] or fits[i][3] < BURST_MIN or abs(fits[i][1] - 1.0) <= FLIP_TOLERANCE
                     for i in range(len(fits)))
        return Edge(when, FLIP, -1.0, flips[0]) if steady else Edge(when, OTHER, 1.0)
    gains = [20 * np.log10(fits[i][1]) for i in clicking if fits[i][1] > 0]
    # channels that do not click (near a zero crossing there) say nothing either way
    if len(gains) == len(clicking) and min(abs(g) for g in gains) >= GAIN_MIN_DB \
            and max(abs(g) for g in gains) <= GAIN_MAX_DB and max(gains) - min(gains) <= GAIN_ALIKE_DB:
        return Edge(when, GAIN, float(10 ** (np.mean(gains) / 20)))
    return Edge(when, OTHER, 1.0)


def _gain_jump(early_s: float, late_s: float, step_in: float, step_out: float, evidence: dict) -> Defect:
    return Defect("level_jump", early_s, late_s, 0.9 if evidence.get("edges_scaled") == 2 else 0.7,
                  {"gain_db": 0.5 * (step_in - step_out), "step_in_db": step_in, "step_out_db": step_out,
                   "bands_alike": 1.0, **evidence})


def _partner_step(edge: Edge, steps: tuple[np.ndarray, np.ndarray, np.ndarray]) -> tuple[float, float] | None:
    """For a gain edge whose other end did not click: the nearest band-level step that undoes it
    within ``UNDO_DB``, 1.5–30 s away on either side; (its time s, its step dB) or None. ``steps``
    are per frame: times s, the held level change dB (0 where the change is not sudden) and the
    instant's change dB (:func:`~trackwright.analysis.edits.step_changes`); the step's time is
    the sharpest instant within half a second."""
    times, held, instant = steps
    step = 20 * np.log10(edge.factor)
    distance = np.abs(times - edge.time_s)
    fits = (distance >= STRETCH_MIN_S) & (distance <= ONE_SIDED_MAX_S) & (np.abs(held + step) <= UNDO_DB) \
        & (np.abs(held) >= GAIN_MIN_DB)
    if not fits.any():
        return None
    # the step that best undoes the edge (the nearest of equals): music that happens to step the
    # other way nearer by is not the stretch's other end
    candidates = np.flatnonzero(fits)
    nearest = int(candidates[np.lexsort((distance[candidates], np.round(np.abs(held[candidates] + step))))[0]])
    around = np.flatnonzero((np.abs(times - times[nearest]) <= 0.5) & fits)
    best = int(around[np.argmax(np.abs(instant[around]))])
    return float(times[best]), float(held[best])


def bracketed_stretches(samples: np.ndarray, sample_rate: int, edges: list[Edge],
                        steps: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> list[Defect]:
    """Stretches between two edges that undo each other (sorted ``edges``): a ``level_jump``
    between a gain edge and the next one back (factors multiplying to within ``UNDO_DB`` of 1),
    a ``phase_flip`` between two flips of the same channel; each edge used once. A gain edge left
    unpaired is paired with the nearest band-level step that undoes it (``steps``: see
    :func:`_partner_step`), when there is one and the level over a second either side of the
    clicking edge moved as its waveform did: the other end of the stretch need not click."""
    out: list[Defect] = []
    used: set[int] = set()
    for j, late in enumerate(edges):
        for i in range(j - 1, -1, -1):
            early = edges[i]
            length = late.time_s - early.time_s
            if length > STRETCH_MAX_S:
                break
            if i in used or length < STRETCH_MIN_S or early.kind != late.kind or early.kind == OTHER:
                continue
            if early.kind == GAIN:
                step_in, step_out = 20 * np.log10(early.factor), 20 * np.log10(late.factor)
                if step_in * step_out >= 0 or abs(step_in + step_out) > UNDO_DB:
                    continue
                out.append(_gain_jump(early.time_s, late.time_s, step_in, step_out, {"edges_scaled": 2}))
            else:
                if early.channel != late.channel:
                    continue
                a, b = round(early.time_s * sample_rate), round(late.time_s * sample_rate)
                out.append(Defect("phase_flip", early.time_s, late.time_s, 0.9,
                                  {"correlation": stretch_correlation(samples[:, a:b]),
                                   "correlation_elsewhere": stretch_correlation(np.concatenate(
                                       (samples[:, max(0, a - 10 * sample_rate): a],
                                        samples[:, b: b + 10 * sample_rate]), axis=1)),
                                   "channel": early.channel, "edges_flip": True}))
            used.update((i, j))
            break
    for k, edge in enumerate(edges):
        if k in used or edge.kind != GAIN or steps is None:
            continue
        step = 20 * np.log10(edge.factor)
        times, held, _ = steps
        near = np.abs(times - edge.time_s) <= 0.1
        if not near.any() or np.min(np.abs(held[near] - step)) > UNDO_DB:
            continue  # the music changes more than the gain at the click: the level's steps are the music's
        partner = _partner_step(edge, steps)
        if partner is None:
            continue
        if partner[0] > edge.time_s:
            out.append(_gain_jump(edge.time_s, partner[0], step, partner[1], {"edges_scaled": 1}))
        else:
            out.append(_gain_jump(partner[0], edge.time_s, partner[1], step, {"edges_scaled": 1}))
    return sorted(out, key=lambda d: d.start_s)


def stretch_correlation(samples: np.ndarray) -> float:
    """L/R correlation of a stretch (channels × frames), 0 when silent."""
    if samples.shape[1] == 0:
        return 0.0
    return float(window_correlation(samples, 1, samples.shape[1])[1][0])
