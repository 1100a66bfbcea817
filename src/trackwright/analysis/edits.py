"""Editing defects a music editor hears: splices, copy-pasted repeats, endings that stop or fade too soon, level steps.

Conventions: ``samples`` are float32 (channels × frames) at the file's ``sample_rate``;
:class:`~trackwright.analysis.features.Features` come from the same track; times are seconds,
levels dB. Each detector returns :class:`~trackwright.analysis.defects.Defect` records.

* **Verbatim repeats** (:func:`verbatim_repeats`): a stretch of 3.5–30 s played three or more
  times back to back *sample for sample* — a copy-paste, not a passage played again. Candidates
  come from the band levels smoothed over half a second (a lag at which they stay nearly equal
  for two passes); each is then checked on the waveform: the normalised cross-correlation of
  the passes at the best lag within ±50 ms must reach 0.97 (a re-played or re-rendered passage
  stays well under it; a lossy codec's noise costs ~0.01).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg

from trackwright.analysis import filters
from trackwright.analysis.defects import Defect, runs_of, window_levels_db
from trackwright.analysis.features import Features

REPEAT_MIN_S = 3.5
REPEAT_MAX_S = 30.0
REPEAT_PASSES = 3
REPEAT_SMOOTH_S = 0.5
REPEAT_STEP = 4                # compare every 4th feature frame (~93 ms)
REPEAT_CANDIDATE_DB = 0.6      # mean band difference (dB) under which a lag is a candidate
VERBATIM_CORRELATION = 0.97
REPEAT_LAG_SLACK_S = 0.05
#: Level jumps: an edge changes ≥ STEP_MIN_DB (dB) between the STEP_WINDOW_S (s) either side, in at
#: least STEP_UNIFORM_SHARE of the audible bands (those within STEP_FLOOR_DB of the loudest) alike
#: (within STEP_UNIFORM_DB of the median change); edges closer than STEP_MERGE_S (s) are one.
STEP_WINDOW_S = 0.1
STEP_FLOOR_DB = 60.0
STEP_MIN_DB = 4.5
STEP_UNIFORM_DB = 3.0
STEP_UNIFORM_SHARE = 0.6
STEP_MERGE_S = 0.3
#: A gain step lasts: over this long (s) either side the level still differs by at least
#: ``STEP_SUSTAIN_SHARE`` of the instant's step, the same way.
STEP_SUSTAIN_S = 1.0
STEP_SUSTAIN_SHARE = 0.6
#: Both edges of a level jump hold at least this step (dB) over that second.
STEP_HELD_DB = 5.0
#: The edges of one jump are opposite, within STEP_MATCH_DB (dB) of each other, STEP_SHORTEST_S–STEP_PAIR_S (s) apart.
STEP_MATCH_DB = 3.0
STEP_SHORTEST_S = 3.0
STEP_PAIR_S = 60.0
END_WINDOW_S = 0.01
END_SILENCE_DBFS = -70.0
#: The playing level is read over this long before the end (s), leaving out the last END_GUARD_S.
END_RUNNING_S = 10.0
END_GUARD_S = 2.0
#: The sound has stopped where it is this far (dB) under the playing level.
END_STOP_DB = 50.0
#: A fade that cuts: fitted at most this long (s; fits of fades over music run ~0.5 s long), from music within FADE_FROM_DB of the playing level…
FADE_MAX_S = 2.5
FADE_FROM_DB = -20.0
#: …whose last 30 dB take at most this share of it (a plunge, not a decay).
FADE_TAIL_SHARE = 0.1
#: Fades are fitted on 50 ms levels over the last FADE_FIT_S (s), up to FADE_LONGEST_S (s) long.
FADE_WINDOW_S = 0.05
FADE_FIT_S = 4.5
FADE_LONGEST_S = 4.0
ON_BAR_S = 0.06
CLICK_MIN = 30.0
CLICK_FACTOR = 3.0
CLICK_CONTEXT_BLOCKS_S = 15.0
CLICK_SIDES_DB = 10.0
PHASE_WINDOW_S = 4.0
CLICK_ORDER = 32
CLICK_BLOCK_S = 0.5
CLICK_FIT = 22050
CLICK_BURST = 8
CLICK_CONTEXT_S = 0.01


def _smoothed_bands(features: Features) -> np.ndarray:
    """Band levels (20 bands, dB, floored 80 dB under the loudest) smoothed over half a second."""
    bands = features.bands_db
    pairs = 0.5 * (bands[0:-1:2] + bands[1::2])
    pairs = np.maximum(pairs, float(pairs.max()) - 80.0)
    return filters.uniform_filter1d(pairs, max(1, round(REPEAT_SMOOTH_S * features.onset_rate)), axis=1)


def _normalised_xcorr(reference: np.ndarray, search: np.ndarray) -> np.ndarray:
    """Normalised cross-correlation of ``reference`` against every offset of it inside ``search``
    (len(search) − len(reference) + 1 values, in −1…1)."""
    n = len(reference)
    products = filters.correlate_valid(search, reference)
    energy = np.concatenate(([0.0], np.cumsum(search.astype(np.float64) ** 2)))
    window = energy[n:] - energy[:-n]
    norm = np.sqrt(np.maximum(window, 1e-20) * max(float(np.dot(reference, reference)), 1e-20))
    return products / norm


def _verify(mono: np.ndarray, rate: int, start_s: float, end_s: float, lag_s: float) -> tuple[float, float]:
    """(best normalised correlation, exact lag s) of ``mono[start:end]`` against itself ``lag_s`` earlier (±50 ms)."""
    slack = round(REPEAT_LAG_SLACK_S * rate)
    a, b, lag = round(start_s * rate), round(end_s * rate), round(lag_s * rate)
    if a - lag - slack < 0 or b > len(mono) or b - a < rate // 4:
        return 0.0, lag_s
    reference = mono[a:b].astype(np.float64)
    search = mono[a - lag - slack: b - lag + slack].astype(np.float64)
    values = _normalised_xcorr(reference, search)
    best = int(np.argmax(values))
    return float(values[best]), (lag + slack - best) / rate


def _matching_extent(mono: np.ndarray, rate: int, lag_s: float, around: tuple[float, float]) -> tuple[float, float]:
    """The stretch (s) around ``around`` where ``mono`` equals itself ``lag_s`` earlier, 0.25 s windows
    correlating at ≥ 0.95 (the lag is exact, so no search)."""
    window = round(0.25 * rate)
    lag = round(lag_s * rate)
    lo = max(lag, round((around[0] - lag_s) * rate))
    hi = min(len(mono), round((around[1] + lag_s) * rate))
    count = (hi - lo) // window
    if count <= 0:
        return around
    now = mono[lo: lo + count * window].reshape(count, window).astype(np.float64)
    then = mono[lo - lag: lo - lag + count * window].reshape(count, window).astype(np.float64)
    num = np.einsum("ij,ij->i", now, then)
    den = np.sqrt(np.einsum("ij,ij->i", now, now) * np.einsum("ij,ij->i", then, then))
    good = np.where(den > 1e-12, num / np.maximum(den, 1e-30), 0.0) >= 0.95
    starts, lengths = runs_of(good)
    centre = (0.5 * (around[0] + around[1]) * rate - lo) / window
    best = None
    for s, n in zip(starts, lengths):
        if s <= centre <= s + n and (best is None or n > best[1]):
            best = (s, n)
    if best is None:
        return around
    return (lo + best[0] * window) / rate, (lo + (best[0] + best[1]) * window) / rate


def verbatim_repeats(features: Features, mono: np.ndarray, rate: int) -> list[Defect]:
    """Stretches played ≥ 3 times back to back sample for sample (see the module docstring).

    ``mono`` is the channel mean at ``rate`` Hz (frames,).
    """
    bands = _smoothed_bands(features)
    frame_s = 1.0 / features.onset_rate
    lags = np.arange(max(1, round(REPEAT_MIN_S / frame_s)), round(REPEAT_MAX_S / frame_s))
    n = bands.shape[1]
    # every REPEAT_STEP-th frame from each phase, contiguous: frame lag + STEP·j of the bands is
    # column lag // STEP + j of phase lag % STEP, so each lag compares two slices, no gather
    phases = [np.ascontiguousarray(bands[:, r::REPEAT_STEP]) for r in range(REPEAT_STEP)]
    difference = np.empty_like(phases[0])
    candidates: list[tuple[float, float, float]] = []
    for lag in lags:
        index = np.arange(lag, n, REPEAT_STEP)
        if not index.size:
            break
        first = lag // REPEAT_STEP
        gap = np.subtract(phases[lag % REPEAT_STEP][:, first: first + index.size], phases[0][:, : index.size],
                          out=difference[:, : index.size])
        close = np.abs(gap, out=gap).mean(axis=0) <= REPEAT_CANDIDATE_DB
        shortest = (REPEAT_PASSES - 1) * lag * 0.8  # frames a candidate run spans at least
        if np.count_nonzero(close) * REPEAT_STEP < shortest:
            continue  # too few close frames for any run that long
        starts, lengths = runs_of(close)
        for s, length in zip(starts, lengths):
            if length * REPEAT_STEP >= shortest:
                candidates.append((float(index[s] * frame_s), float((index[s] + length * REPEAT_STEP) * frame_s),
                                   float(lag * frame_s)))
    found: list[Defect] = []
    # shortest lags first: the unit that repeats, not its multiples
    for start, end, lag_s in sorted(candidates, key=lambda c: (c[2], c[0])):
        if any(d.start_s - lag_s <= start <= d.end_s for d in found):
            continue
        correlation, exact = _verify(mono, rate, start, min(end, start + 2 * lag_s), lag_s)
        if correlation < VERBATIM_CORRELATION:
            continue
        first, last = _matching_extent(mono, rate, exact, (start, end))
        passes = int(np.floor((last - first) / exact + 0.25)) + 1
        if passes < REPEAT_PASSES:
            continue
        found.append(Defect("verbatim_repeat", first - exact, first + (passes - 1) * exact,
                            float(min(1.0, (correlation - 0.9) / 0.09)),
                            {"passes": passes, "unit_s": exact, "correlation": correlation}))
    return found


def prediction_residual(channel: np.ndarray, sample_rate: int) -> np.ndarray:
    """What an order-32 linear predictor, fitted every half second, cannot predict (frames,), float32.

    Music is predictable sample to sample; a splice, a step or a click is not, so it stands out
    in the residual as a burst a few samples long however loud the music around it.
    """
    values = np.asarray(channel, dtype=np.float32)
    block = max(CLICK_ORDER * 8, round(CLICK_BLOCK_S * sample_rate))
    count = len(values) // block
    if count == 0:
        return np.zeros(len(values), dtype=np.float32)
    # the predictor is fitted on the middle 4096 samples of each block: plenty for 32 coefficients
    fit = min(block, CLICK_FIT)
    offset = (block - fit) // 2
    frames = values[: count * block].reshape(count, block)[:, offset: offset + fit] * np.hanning(fit).astype(np.float32)
    autocorrelation = np.stack([np.einsum("ij,ij->i", frames[:, k:], frames[:, : fit - k])
                                for k in range(CLICK_ORDER + 1)], axis=1).astype(np.float64)
    coefficients = np.zeros((count + 1, CLICK_ORDER))
    for i, row in enumerate(autocorrelation):
        if row[0] > 1e-12:
            row = row.copy()
            row[0] *= 1.0 + 1e-5  # a little white noise keeps the system well conditioned
            coefficients[i] = scipy.linalg.solve_toeplitz(row[:CLICK_ORDER], row[1:])
    coefficients[count] = coefficients[count - 1]  # the tail shares the last block's predictor
    residual = np.empty(len(values), dtype=np.float32)
    for i in range(count + 1):
        start, stop = i * block, min(len(values), (i + 1) * block)
        if start >= stop:
            break
        lo = max(0, start - CLICK_ORDER)
        fir = np.concatenate(([1.0], -coefficients[i])).astype(np.float32)
        residual[start:stop] = np.convolve(values[lo:stop], fir, mode="full")[start - lo: stop - lo]
    return residual


def burst_ratio(residual_energy: np.ndarray, sample_rate: int) -> np.ndarray:
    """Per sample: the mean residual energy over the next 8 samples over its mean within ±10 ms (frames,)."""
    energy = np.asarray(residual_energy, dtype=np.float32)
    short = filters.uniform_filter1d(energy, CLICK_BURST, origin=-(CLICK_BURST // 2), mode="constant")
    span = 2 * round(CLICK_CONTEXT_S * sample_rate) + 1
    background = filters.uniform_filter1d(energy, span, mode="nearest")
    # the context without the burst itself, in place: a 10-minute track holds a few arrays fewer
    background *= span
    background -= short * CLICK_BURST
    background /= span - CLICK_BURST
    np.maximum(background, 1e-20, out=background)
    short /= background
    return short


def _band_change(total: np.ndarray, t: np.ndarray, k: int, floor_db: float, min_bands: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Median over audible bands of the level change from the ``k`` frames before frame ``t``
    (frames t-1-k … t-2) to the ``k`` after it (t+1 … t+k), from the bands' cumulative sums
    ``total``; and the share of those bands within ``STEP_UNIFORM_DB`` of the median."""
    before = (total[:, t - 1] - total[:, t - 1 - k]) / k
    after = (total[:, t + 1 + k] - total[:, t + 1]) / k
    audible = np.maximum(before, after) > floor_db
    change = np.where(audible, after - before, np.nan)
    enough = audible.sum(axis=0) >= min_bands
    with np.errstate(all="ignore"):
        m = np.nanmedian(np.where(enough, change, 0.0), axis=0)
        s = np.nansum(np.abs(change - m) <= STEP_UNIFORM_DB, axis=0) / np.maximum(audible.sum(axis=0), 1)
    return np.where(enough, m, 0.0), np.where(enough, s, 0.0)


def step_changes(features: Features) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per onset frame ``t``: the median over audible bands of the level change (dB) from the
    ``STEP_WINDOW_S`` before ``t`` to the ``STEP_WINDOW_S`` after it (one frame left out either
    side), the share of those bands that change within ``STEP_UNIFORM_DB`` of that median, and
    the same median change over ``STEP_SUSTAIN_S`` either side.

    A gain change moves every band alike at one instant and the level stays moved; a change of
    the music (new parts, a section, a note) moves some bands far more than others, and a hit
    (a drum, a tutti chord) moves them all but dies away.
    """
    bands = features.bands_db.astype(np.float64)
    k = max(1, round(STEP_WINDOW_S * features.onset_rate))
    long = max(k, round(STEP_SUSTAIN_S * features.onset_rate))
    n = bands.shape[1]
    median, share, sustained = np.zeros(n), np.zeros(n), np.zeros(n)
    if n < 2 * long + 4:
        return median, share, sustained
    total = np.concatenate((np.zeros((bands.shape[0], 1)), np.cumsum(bands, axis=1)), axis=1)
    floor, min_bands = float(bands.max()) - STEP_FLOOR_DB, bands.shape[0] // 3
    t = np.arange(k + 1, n - k - 1)
    median[t], share[t] = _band_change(total, t, k, floor, min_bands)
    t = np.arange(long + 1, n - long - 1)
    sustained[t] = _band_change(total, t, long, floor, min_bands)[0]
    return median, share, sustained


def level_jumps(features: Features) -> list[Defect]:
    """Stretches turned up or down as a whole (a gain change, not the music changing).

    An edge is an instant where the level changes by ≥ ``STEP_MIN_DB`` in at least
    ``STEP_UNIFORM_SHARE`` of the audible bands alike and stays changed over the next second
    (:func:`step_changes`); a level jump is an
    edge followed, 3–60 s later, by an opposite edge within ``STEP_MATCH_DB`` of it (both holding ≥ ``STEP_HELD_DB``): the stretch
    between went up or down and came back.
    """
    rate = features.onset_rate
    median, share, sustained = step_changes(features)
    candidate = (np.abs(median) >= STEP_MIN_DB) & (share >= STEP_UNIFORM_SHARE) \
        & (sustained * np.sign(median) >= STEP_SUSTAIN_SHARE * np.abs(median))
    edges: list[tuple[float, float, float, float]] = []  # time s, step dB, bands alike, sustained step dB
    starts, lengths = runs_of(candidate)
    for start, length in zip(starts, lengths):
        best = start + int(np.argmax(np.abs(median[start: start + length])))
        edge = (best / rate, float(median[best]), float(share[best]), float(sustained[best]))
        if edges and edge[0] - edges[-1][0] < STEP_MERGE_S:
            if abs(edge[1]) > abs(edges[-1][1]):
                edges[-1] = edge
            continue
        edges.append(edge)
    out: list[Defect] = []
    used: set[int] = set()
    # the nearest opposite edge of the same size closes a stretch (nested stretches pair inside out)
    for j, (time_b, _, share_b, gain_b) in enumerate(edges):
        for i in range(j - 1, -1, -1):
            time_a, _, share_a, gain_a = edges[i]
            if time_b - time_a > STEP_PAIR_S:
                break
            if i not in used and gain_a * gain_b < 0 and abs(gain_a + gain_b) <= STEP_MATCH_DB \
                    and min(abs(gain_a), abs(gain_b)) >= STEP_HELD_DB and time_b - time_a >= STEP_SHORTEST_S:
                used.update((i, j))
                out.append(Defect("level_jump", time_a, time_b,
                                  float(min(1.0, 0.4 + (min(abs(gain_a), abs(gain_b)) - STEP_MIN_DB) / 8.0
                                            + 0.5 * (min(share_a, share_b) - STEP_UNIFORM_SHARE))),
                                  {"gain_db": 0.5 * (gain_a - gain_b), "step_in_db": gain_a, "step_out_db": gain_b,
                                   "bands_alike": min(share_a, share_b)}))
                break
    return sorted(out, key=lambda d: d.start_s)


@dataclass(frozen=True)
class Ending:
    """How the track ends (levels in dB against the *playing level*: the median 10 ms level over
    the 10 s before the last two).

    Attributes
    ----------
    stop_s : float
        Where the sound stops (the last 10 ms window within 50 dB of the playing level), s.
    end_db : float
        Level of the last 20 ms before the stop, dB against the playing level.
    playing_db : float
        The playing level, dBFS.
    fade_s : float
        Length of the linear fade that best explains the end (:func:`fade_fit`), s.
    fade_from_db : float
        The music's level where that fade starts, dB against the playing level.
    tail_s : float
        From the last 10 ms window within 30 dB of the music's level before the fade to the stop,
        s: a linear fade plunges (its last 30 dB take 3 % of it); a note or a reverb dies away
        evenly in dB (its last 30 dB take half of the fall or more).
    stops_dead : bool
        The sound is steady to its last 20 ms (within 6 dB of the 200 ms before, and within
        30 dB of the playing level) and then stops.
    onsets_in_fade : int
        Clear onsets inside the fade: notes still starting.
    cold_start : bool
        The track *starts* cold, as a loop file does: its first 20 ms within 12 dB of its opening level.
    """

    stop_s: float
    end_db: float
    playing_db: float
    fade_s: float
    fade_from_db: float
    tail_s: float
    stops_dead: bool
    onsets_in_fade: int
    cold_start: bool = False


def _power_db(levels_db: np.ndarray) -> float:
    """Power mean of window levels (dB)."""
    return float(10 * np.log10(np.mean(10 ** (np.asarray(levels_db) / 10)))) if len(levels_db) else -200.0


def fade_fit(samples: np.ndarray, sample_rate: int, stop_s: float, floor_db: float) -> tuple[float, float]:
    """(length s, level dB) of the linear fade that best explains the sound before ``stop_s``.

    The 50 ms levels of the last ``FADE_FIT_S`` seconds are fitted by ``c + 20·log10(min(1, τ/T))``
    (τ: time before the stop, ``c`` the music's level before the fade) for T from 0.1 s to
    ``FADE_LONGEST_S``, by the mean squared error clipped at 10 dB (the music's own swings weigh
    little); windows under ``floor_db`` (dBFS) are left out. Every T is judged on the same windows.
    """
    hop = max(1, round(FADE_WINDOW_S * sample_rate)) / sample_rate
    stop = round(stop_s * sample_rate)
    start = max(0, stop - round(FADE_FIT_S * sample_rate))
    levels = window_levels_db(np.ascontiguousarray(samples[:, start:stop][:, ::-1]), sample_rate, FADE_WINDOW_S)
    tau = (np.arange(len(levels)) + 0.5) * hop
    keep = levels > floor_db
    if keep.sum() < 4:
        return 0.0, float(np.median(levels)) if len(levels) else -200.0
    lengths = np.arange(0.1, FADE_LONGEST_S + 1e-9, 0.05)
    residual = levels[keep][None, :] - 20 * np.log10(np.minimum(1.0, tau[keep][None, :] / lengths[:, None]))
    level = np.median(residual, axis=1)
    errors = np.mean(np.minimum((residual - level[:, None]) ** 2, 100.0), axis=1)
    best = int(np.argmin(errors))
    return float(lengths[best]), float(level[best])


def ending(samples: np.ndarray, sample_rate: int, features: Features) -> Ending:
    """Measure the end of a track (see :class:`Ending`)."""
    hop = max(1, round(END_WINDOW_S * sample_rate)) / sample_rate
    levels = window_levels_db(samples, sample_rate, END_WINDOW_S)
    audible = np.flatnonzero(levels > END_SILENCE_DBFS)
    if not audible.size:
        return Ending(0.0, -200.0, -200.0, 0.0, -200.0, 0.0, False, 0)
    before = levels[max(0, audible[-1] - round(END_RUNNING_S / hop)): max(1, audible[-1] - round(END_GUARD_S / hop))]
    before = before[before > END_SILENCE_DBFS]
    playing = float(np.median(before)) if before.size else float(np.median(levels[audible]))
    sounding = np.flatnonzero(levels > max(END_SILENCE_DBFS, playing - END_STOP_DB))
    last = int(sounding[-1]) if sounding.size else int(audible[-1])
    stop = (last + 1) * hop
    k20, k200 = round(0.02 / hop), round(0.2 / hop)
    end_db = _power_db(levels[max(0, last + 1 - k20): last + 1]) - playing
    previous_db = _power_db(levels[max(0, last + 1 - k20 - k200): max(1, last + 1 - k20)]) - playing
    fade_s, fade_from = fade_fit(samples, sample_rate, stop, playing - 40.0)
    still = np.flatnonzero(levels[: last + 1] >= fade_from - 30.0)
    tail_s = stop - ((int(still[-1]) + 1) * hop if still.size else 0.0)
    strong = float(np.percentile(features.onset, 90)) if features.onset.size else np.inf
    peaks = filters.find_peaks(features.onset, height=0.5 * strong, distance=3)
    times = features.onset_times()[peaks] if peaks.size else np.zeros(0)
    count = int(np.count_nonzero((times > stop - fade_s + 0.05) & (times < stop - 0.05)))
    first = int(audible[0])
    opening = levels[first: first + round(5.0 / hop)]
    cold = bool(opening.size) and float(levels[first: first + 2].mean()) >= float(np.percentile(opening, 90)) - 12.0
    return Ending(stop_s=stop, end_db=end_db, playing_db=playing, fade_s=fade_s, fade_from_db=fade_from - playing,
                  tail_s=max(tail_s, 0.0), stops_dead=end_db >= -30.0 and end_db >= previous_db - 6.0,
                  onsets_in_fade=count, cold_start=cold)


@dataclass(frozen=True)
class Clicks:
    """Isolated sample-level discontinuities: times (s), burst ratio, the ratio the loudest
    transients around each reach (99.5th percentile of 10 ms maxima within ±15 s), and the
    99.9th percentile over the whole track."""

    times_s: np.ndarray
    ratios: np.ndarray
    references: np.ndarray
    track_reference: float = 1.0


def find_clicks(mono: np.ndarray, sample_rate: int) -> Clicks:
    """Clicks in the channel mean ``mono`` (frames,) that stand ``CLICK_FACTOR`` times above the
    sharpest transients around them (see :func:`prediction_residual`)."""
    energy = prediction_residual(mono, sample_rate)
    energy *= energy  # squared in place
    ratio = burst_ratio(energy, sample_rate)
    del energy
    block = max(1, round(0.01 * sample_rate))
    count = len(ratio) // block
    if count < 10:
        return Clicks(np.zeros(0), np.zeros(0), np.zeros(0))
    table = ratio[: count * block].reshape(count, block)
    peaks, where = table.max(axis=1), table.argmax(axis=1)
    reach = round(CLICK_CONTEXT_BLOCKS_S / 0.01)
    times, ratios, references = [], [], []
    for i in np.flatnonzero(peaks >= CLICK_MIN):
        lo, hi = max(0, i - reach), min(count, i + reach)
        around = np.concatenate((peaks[lo: max(lo, i - 50)], peaks[min(hi, i + 50): hi]))
        reference = float(np.percentile(around, 99.5)) if around.size else 1.0
        if peaks[i] >= CLICK_FACTOR * reference:
            at = i * block + int(where[i])
            if not _sound_both_sides(mono, at, sample_rate):
                continue  # an attack out of quiet: the music starting, not a splice
            time = at / sample_rate
            if times and time - times[-1] < 0.2:
                if peaks[i] > ratios[-1]:
                    times[-1], ratios[-1], references[-1] = time, float(peaks[i]), reference
                continue
            times.append(time)
            ratios.append(float(peaks[i]))
            references.append(reference)
    return Clicks(np.array(times), np.array(ratios), np.array(references), float(np.percentile(peaks, 99.9)))


def _sound_both_sides(mono: np.ndarray, at: int, sample_rate: int) -> bool:
    """Whether the 20 ms before a sample are within ``CLICK_SIDES_DB`` of the 20 ms after it:
    a splice cuts into sound that was playing; a sharp attack out of quiet is the music."""
    span = max(1, round(0.02 * sample_rate))
    before = mono[max(0, at - span): at].astype(np.float64)
    after = mono[at: at + span].astype(np.float64)
    if not before.size or not after.size:
        return False
    level_before = 10 * np.log10(max(float(np.mean(before ** 2)), 1e-20))
    level_after = 10 * np.log10(max(float(np.mean(after ** 2)), 1e-20))
    return level_after - level_before <= CLICK_SIDES_DB


def _on_bar_line(time_s: float, downbeats_s: np.ndarray) -> bool:
    """Whether a time lies within 60 ms of a downbeat, the bar grid extended past the last one."""
    if len(downbeats_s) < 3:
        return False
    bar = float(np.median(np.diff(downbeats_s)))
    grid = np.concatenate((downbeats_s, downbeats_s[-1] + bar * np.arange(1, 4)))
    return bool(np.min(np.abs(grid - time_s)) <= ON_BAR_S)


def _loops_back(samples: np.ndarray, sample_rate: int, features: Features, stop_s: float) -> bool:
    """Whether the end flows straight into the start, as a game loop's does: the same level and
    timbre over the half second either side of the seam, and no click across it."""
    rate = features.onset_rate
    half = max(1, round(0.5 * rate))
    stop = min(features.bands_db.shape[1], round(stop_s * rate))
    if stop < 4 * half:
        return False
    end, start = features.bands_db[:, stop - half: stop].mean(axis=1), features.bands_db[:, :half].mean(axis=1)
    steps = np.sqrt(np.mean(np.diff(features.bands_db[:, ::half], axis=1) ** 2, axis=0))
    if np.sqrt(np.mean((end - start) ** 2)) > 1.5 * float(np.median(steps)) \
            or abs(float(features.rms_db[stop - half: stop].mean() - features.rms_db[:half].mean())) > 6.0:
        return False
    seam = round(stop_s * sample_rate)
    mono = samples.mean(axis=0)
    joined = np.concatenate((mono[max(0, seam - sample_rate): seam], mono[: sample_rate]))
    ratio = burst_ratio(prediction_residual(joined, sample_rate) ** 2, sample_rate)
    at = min(seam, sample_rate)
    return float(ratio[max(0, at - 16): at + 8].max()) < CLICK_MIN


def ending_defects(samples: np.ndarray, sample_rate: int, features: Features,
                   downbeats_s: np.ndarray) -> tuple[Ending, list[Defect]]:
    """The track's :class:`Ending` and what is wrong with it, if anything.

    * **truncated**: the sound stops dead (steady to its last 20 ms, then nothing) — unless it
      stops on the bar line (a hard ending, or a loop cut to length) or flows straight back
      into the start (a seamless game loop);
    * **a fade that cuts the notes**: the music falls from its playing level to silence in a
      plunge — half its level gone at most 1.2 s before the stop and its last 30 dB in the final
      fifth of that, the shape of a short fade over music still playing; a note or a reverb tail
      dying away falls evenly in dB instead.
    """
    end = ending(samples, sample_rate, features)
    out: list[Defect] = []
    if end.stops_dead:
        if not _on_bar_line(end.stop_s, downbeats_s) and not _loops_back(samples, sample_rate, features, end.stop_s):
            out.append(Defect("truncated_ending", max(0.0, end.stop_s - 1.0), end.stop_s,
                              float(min(1.0, 0.7 + (end.end_db + 20.0) / 40.0)),
                              {"end_level_db": end.end_db, "playing_level_dbfs": end.playing_db,
                               "cold_start": end.cold_start}))
    elif 0.0 < end.fade_s <= FADE_MAX_S and end.tail_s <= FADE_TAIL_SHARE * end.fade_s + 0.02 \
            and end.fade_from_db >= FADE_FROM_DB:
        out.append(Defect("cut_fade", max(0.0, end.stop_s - end.fade_s), end.stop_s,
                          float(min(1.0, 0.6 + 0.1 * end.onsets_in_fade + 0.2 * (1.0 - end.tail_s / end.fade_s))),
                          {"fade_s": end.fade_s, "tail_s": end.tail_s, "onsets_in_fade": end.onsets_in_fade,
                           "level_before_db": end.fade_from_db, "cold_start": end.cold_start}))
    return end, out


def beat_phase_jumps(features: Features, tempo_bpm: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where the pulse's phase jumps: (times s, jump in beats 0–0.5, pulse clarity 0–1 of the
    weaker side), one row per local maximum.

    For every ~46 ms step, the onset envelope over the ``PHASE_WINDOW_S`` before and after is
    summed as a phasor at the beat period; the angle between the two phasors is how far the beat
    moved, the phasors' lengths over the envelope's sums say how clear the pulse is. A splice
    made without regard to the beat moves it by a random fraction of a beat; music keeps its
    phase (tempo drift moves it slowly, not at one instant).
    """
    onset = np.asarray(features.onset, dtype=np.float64)
    rate = features.onset_rate
    period = 60.0 / max(tempo_bpm, 1.0) * rate
    n = len(onset)
    window = round(PHASE_WINDOW_S * rate)
    if n < 2 * window + 2 or period < 2:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    centred = np.maximum(onset - filters.median_filter1d(onset, max(3, round(period)) | 1), 0.0)
    phasor = centred * np.exp(2j * np.pi * np.arange(n) / period)
    total_c = np.concatenate(([0.0], np.cumsum(phasor)))
    total_m = np.concatenate(([0.0], np.cumsum(centred)))
    t = np.arange(window, n - window, 2)
    before, after = total_c[t] - total_c[t - window], total_c[t + window] - total_c[t]
    mass_before, mass_after = total_m[t] - total_m[t - window], total_m[t + window] - total_m[t]
    clarity = np.minimum(np.abs(before) / np.maximum(mass_before, 1e-12), np.abs(after) / np.maximum(mass_after, 1e-12))
    jump = np.abs(np.angle(after * np.conj(before))) / (2 * np.pi)
    score = jump * clarity
    peaks = filters.find_peaks(score, distance=max(1, round(PHASE_WINDOW_S * rate / 2)))
    return t[peaks] / rate, jump[peaks], clarity[peaks]
