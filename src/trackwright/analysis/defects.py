"""Signal defects a mastering engineer checks for: clipping, inter-sample overs, DC, polarity, dead air.

Conventions: samples are float32 (channels × frames) at the file's rate; every time is in
seconds, levels in dBFS (dBTP for oversampled peaks). Each detector returns :class:`Defect`
records — a span, a confidence (0–1) and the measured evidence; :mod:`~trackwright.analysis.critique`
turns them into findings with a severity and the fix.

* **Clipping** (:func:`flat_runs`): *flat-topped* runs — three or more consecutive samples equal
  (within 1e-4 of the peak) at 98 % or more of the channel's peak magnitude, on any material,
  whatever its level (a clipped mix that was turned down afterwards still has flat tops). A
  loud master merely touching its ceiling has none; a clipper leaves short runs (3–5 samples);
  a mix driven into a hard clip leaves long ones. Where they flatten 1 % or more of the samples
  of 100 ms windows they form a burst (a span of its own); the rest are reported together.
* **Inter-sample overs** (:func:`over_runs`): runs of the 4× oversampled signal above 0 dBFS.
* **DC offset**: the mean of each channel in 1 s windows (every 0.5 s); ≥ 0.01 (−40 dBFS) with
  one sign for at least 2 s is an offset (music's own window means stay under −50 dBFS).
* **Polarity** (one channel inverted): the L/R correlation in 200 ms windows — of the content
  under 200 Hz, which even wide recordings keep nearly mono, where the window has some (within
  20 dB of its full level), of the full band otherwise — smoothed over a second; a stretch of
  ≥ 1.5 s whose correlation is below −0.3, with the side louder than the mid there, while the
  rest of the track correlates at 0.3 or more (or the whole track at −0.5 or less).
* **Dead air**: 50 ms windows under −65 dBFS, and 40 dB under the track's typical level, for
  ≥ 1.5 s inside the track (≥ 2 s before the music starts, ≥ 4 s after it ends). A pause of at most
  a bar that starts and ends on beats is a rest the music takes, not dead air.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import soxr

from trackwright.analysis import filters
from trackwright.analysis.loudness import oversampled_chunks, oversampling_factor
from trackwright.parallel import thread_map

FLAT_LEVEL = 0.98
FLAT_TOLERANCE = 1e-4
FLAT_MIN_SAMPLES = 3
SPAN_GAP_S = 0.5
CLIP_WINDOW_S = 0.1
CLIP_BURST_SHARE = 0.01
CLIP_MERGE_S = 0.3
DC_WINDOW_S = 1.0
DC_THRESHOLD = 0.01
DC_MIN_S = 2.0
#: An offset is steady: its quarter-second means spread (standard deviation) at most this share of it.
DC_STEADY_WINDOW_S = 0.25
DC_STEADY = 0.5
POLARITY_WINDOW_S = 0.2
POLARITY_MIN_S = 1.5
POLARITY_SWITCH_COST = 15.0
POLARITY_MERGE_S = 3.0
POLARITY_RATE = 2000
POLARITY_LOW_HZ = 200.0
#: A window whose low band is within this many dB of its full level is read in the low band.
POLARITY_LOW_SHARE_DB = 20.0
SILENCE_WINDOW_S = 0.05
SILENCE_DBFS = -65.0
SILENCE_UNDER_DB = 40.0
DEAD_AIR_MIN_S = 1.5
LEADING_SILENCE_S = 2.0
TRAILING_SILENCE_S = 4.0


@dataclass(frozen=True)
class Defect:
    """A located defect: ``kind``, its span (seconds), confidence 0–1 and the measured evidence."""

    kind: str
    start_s: float
    end_s: float
    confidence: float
    evidence: dict[str, Any] = field(default_factory=dict)


def runs_of(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(starts, lengths) of the runs of True in a boolean array."""
    padded = np.concatenate(([False], np.asarray(mask, dtype=bool), [False]))
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return edges[0::2], edges[1::2] - edges[0::2]


def spans_of(times_s: np.ndarray, gap_s: float = SPAN_GAP_S) -> list[tuple[int, int]]:
    """Index ranges [i, j) of sorted times that lie within ``gap_s`` of their neighbour."""
    if not len(times_s):
        return []
    breaks = np.flatnonzero(np.diff(times_s) > gap_s) + 1
    bounds = np.concatenate(([0], breaks, [len(times_s)]))
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]


@dataclass(frozen=True)
class FlatRuns:
    """Flat-topped runs over all channels: start times (s), lengths (samples), sorted by time."""

    times_s: np.ndarray
    lengths: np.ndarray
    sample_rate: int

    def __len__(self) -> int:
        return len(self.times_s)


def flat_runs(samples: np.ndarray, sample_rate: int) -> FlatRuns:
    """Runs of ≥ 3 equal samples at ≥ 98 % of each channel's peak magnitude (see the module docstring)."""
    times, lengths = [], []
    for channel in samples:
        peak = float(np.abs(channel).max()) if channel.size else 0.0
        if peak < 1e-4:
            continue
        hot = np.abs(channel) >= FLAT_LEVEL * peak
        if np.count_nonzero(hot) < FLAT_MIN_SAMPLES:
            continue
        index = np.flatnonzero(hot)
        # consecutive hot samples that are equal: a flat step between index[k] and index[k] + 1
        steps = index[:-1][(np.diff(index) == 1) & (np.abs(np.diff(channel[index])) <= FLAT_TOLERANCE * peak)]
        if not steps.size:
            continue
        flat = np.zeros(len(channel), dtype=bool)
        flat[steps] = True
        starts, run = runs_of(flat)
        keep = run + 1 >= FLAT_MIN_SAMPLES
        times.append(starts[keep] / sample_rate)
        lengths.append(run[keep] + 1)
    if not times:
        return FlatRuns(np.zeros(0), np.zeros(0, dtype=int), sample_rate)
    all_times, all_lengths = np.concatenate(times), np.concatenate(lengths)
    order = np.argsort(all_times, kind="stable")
    return FlatRuns(all_times[order], all_lengths[order], sample_rate)


def over_runs(samples: np.ndarray, sample_rate: int) -> tuple[np.ndarray, float]:
    """(start times of the oversampled runs above full scale, all channels, sorted, s; true peak, linear).

    Streamed chunk by chunk so no oversampled copy of the track is held.
    """
    rate = sample_rate * oversampling_factor(sample_rate)

    def channel(values: np.ndarray) -> tuple[list[float], float]:
        starts: list[float] = []
        peak, previous, offset = 0.0, False, 0
        for chunk in oversampled_chunks(values, sample_rate):
            if not chunk.size:
                continue
            magnitude = np.abs(chunk)
            peak = max(peak, float(magnitude.max()))
            hot = magnitude > 1.0
            if hot.any():
                rising = np.flatnonzero(hot[1:] & ~hot[:-1]) + 1
                if hot[0] and not previous:
                    rising = np.concatenate(([0], rising))
                starts.extend(((rising + offset) / rate).tolist())
            previous = bool(hot[-1])
            offset += len(chunk)
        return starts, peak

    results = thread_map(channel, list(samples))
    times = np.sort(np.array([t for starts, _ in results for t in starts], dtype=float))
    return times, max(p for _, p in results)


def clipping(runs: FlatRuns, frames: int, channels: int) -> list[Defect]:
    """Clipping as spans: bursts where flat-topped runs flatten ≥ 1 % of the samples in 100 ms
    windows (merged across gaps under 0.3 s), and the scattered runs elsewhere as one more
    defect spanning them (a clipper's or a lossy decoder's occasional flat peaks).

    ``frames`` and ``channels`` are the track's sample frames and channel count.
    """
    if not len(runs):
        return []
    rate = runs.sample_rate
    window = max(1, round(CLIP_WINDOW_S * rate))
    count = max(1, -(-frames // window))
    slots = np.minimum((runs.times_s * rate).astype(int) // window, count - 1)
    flattened = np.bincount(slots, weights=runs.lengths, minlength=count) / (window * channels)
    out: list[Defect] = []
    in_burst = np.zeros(len(runs), dtype=bool)
    starts, lengths = runs_of(flattened >= CLIP_BURST_SHARE)
    spans: list[tuple[int, int]] = []
    for start, length in zip(starts, lengths):
        if spans and start - spans[-1][1] <= round(CLIP_MERGE_S / CLIP_WINDOW_S):
            spans[-1] = (spans[-1][0], start + length)
        else:
            spans.append((start, start + length))
    for a, b in spans:
        inside = (slots >= a) & (slots < b)
        in_burst |= inside
        share = float(runs.lengths[inside].sum() / ((b - a) * window * channels))
        first, last = runs.times_s[inside][0], runs.times_s[inside][-1] + runs.lengths[inside][-1] / rate
        out.append(Defect("clipping", float(first), float(last), float(min(1.0, 0.5 + 10 * share)),
                          {"runs": int(inside.sum()), "longest_run_samples": int(runs.lengths[inside].max()),
                           "clipped_share": share, "burst": True}))
    rest = ~in_burst
    if rest.any():
        lengths_rest = runs.lengths[rest]
        out.append(Defect("clipping", float(runs.times_s[rest][0]), float(runs.times_s[rest][-1]),
                          float(min(1.0, 0.3 + 0.02 * rest.sum())),
                          {"runs": int(rest.sum()), "longest_run_samples": int(lengths_rest.max()),
                           "clipped_share": float(lengths_rest.sum() / (frames * channels)), "burst": False}))
    return sorted(out, key=lambda d: d.start_s)


def intersample_overs(times_s: np.ndarray, true_peak_dbtp: float) -> list[Defect]:
    """One defect per cluster of inter-sample overs."""
    return [Defect("intersample_overs", float(times_s[a]), float(times_s[b - 1]), 1.0,
                   {"overs": int(b - a), "true_peak_dbtp": true_peak_dbtp}) for a, b in spans_of(times_s)]


def _window_series(values: np.ndarray, rate: int, window_s: float, hop_s: float) -> tuple[np.ndarray, np.ndarray]:
    """(window centre times s, window means) of a 1-D series, via a cumulative sum."""
    window, hop = max(1, round(window_s * rate)), max(1, round(hop_s * rate))
    if len(values) < window:
        return np.zeros(0), np.zeros(0)
    # the cumulative sum over blocks of ``step`` samples (windows and hops are whole blocks):
    # no song-length float64 array
    step = math.gcd(window, hop)
    blocks = len(values) // step
    total = np.zeros(blocks + 1)
    np.cumsum(np.add.reduce(values[: blocks * step].reshape(blocks, step), axis=1, dtype=np.float64),
              out=total[1:])
    starts = np.arange(0, len(values) - window + 1, hop)
    return (starts + window / 2) / rate, (total[(starts + window) // step] - total[starts // step]) / window


def dc_offset(samples: np.ndarray, sample_rate: int) -> list[Defect]:
    """Spans where a channel's 1 s mean stays ≥ 0.01 (−40 dBFS) with one sign for ≥ 2 s, steadily
    (its quarter-second means within ``DC_STEADY`` of it: infrasonic swells wander)."""
    hop = DC_WINDOW_S / 2
    out: list[Defect] = []
    for index, channel in enumerate(samples):
        times, means = _window_series(channel, sample_rate, DC_WINDOW_S, hop)
        for sign in (1.0, -1.0):
            starts, lengths = runs_of(sign * means >= DC_THRESHOLD)
            for start, length in zip(starts, lengths):
                if (length - 1) * hop + DC_WINDOW_S < DC_MIN_S:
                    continue
                level = float(np.median(means[start: start + length]))
                begin, end = float(times[start] - DC_WINDOW_S / 2), float(times[start + length - 1] + DC_WINDOW_S / 2)
                _, quarters = _window_series(channel[round(begin * sample_rate): round(end * sample_rate)],
                                             sample_rate, DC_STEADY_WINDOW_S, DC_STEADY_WINDOW_S)
                if float(np.std(quarters)) > DC_STEADY * abs(level):
                    continue  # a wandering infrasonic swell, not an offset
                out.append(Defect("dc_offset", float(times[start] - DC_WINDOW_S / 2),
                                  float(times[start + length - 1] + DC_WINDOW_S / 2),
                                  float(min(1.0, abs(level) / (2 * DC_THRESHOLD))),
                                  {"channel": index, "offset": level, "offset_dbfs": 20 * math.log10(abs(level))}))
    return merge_overlapping(out)


def merge_overlapping(defects: list[Defect], gap_s: float = 0.0) -> list[Defect]:
    """Defects of one kind whose spans overlap (or lie within ``gap_s``) merged into one (first's evidence)."""
    out: list[Defect] = []
    for d in sorted(defects, key=lambda d: (d.kind, d.start_s)):
        last = out[-1] if out and out[-1].kind == d.kind else None
        if last is not None and d.start_s <= last.end_s + gap_s:
            out[-1] = Defect(d.kind, last.start_s, max(last.end_s, d.end_s), max(last.confidence, d.confidence),
                             last.evidence)
        else:
            out.append(d)
    return out


def window_correlation(samples: np.ndarray, sample_rate: int,
                       window_s: float = POLARITY_WINDOW_S) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(window start times s, L/R correlation, side-over-mid energy dB) per window of a stereo track.

    Windows with no energy get correlation 0 and side-over-mid 0 dB.
    """
    window = max(1, round(window_s * sample_rate))
    n = samples.shape[1] // window
    left = samples[0, : n * window].reshape(n, window)
    right = samples[1, : n * window].reshape(n, window)
    # summed in float64 as einsum reads, no song-length float64 copies
    ll, rr, lr = (np.einsum("ij,ij->i", a, b, dtype=np.float64) for a, b in ((left, left), (right, right),
                                                                             (left, right)))
    energy = np.sqrt(ll * rr)
    correlation = np.where(energy > 1e-10, lr / np.maximum(energy, 1e-30), 0.0)
    mid, side = ll + rr + 2 * lr, ll + rr - 2 * lr
    side_over_mid = np.where(ll + rr > 1e-10, 10 * np.log10(np.maximum(side, 1e-30) / np.maximum(mid, 1e-30)), 0.0)
    return np.arange(n) * window_s, correlation, side_over_mid


def _low_band(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Each channel's content under ``POLARITY_LOW_HZ``, at ``POLARITY_RATE`` Hz (channels × frames)."""
    low = soxr.resample(np.ascontiguousarray(samples.T), sample_rate, POLARITY_RATE, quality="HQ").T
    return filters.sosfiltfilt(filters.butter_lowpass_sos(POLARITY_LOW_HZ, POLARITY_RATE), low).astype(np.float32)


def _polarity_series(samples: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(window times s, L/R correlation — low band where there is bass, full band elsewhere — and
    whether the window is audible), one value per 200 ms."""
    low = _low_band(samples, sample_rate)
    times, low_correlation, _ = window_correlation(low, POLARITY_RATE)
    _, full_correlation, _ = window_correlation(samples, sample_rate)
    count = min(len(low_correlation), len(full_correlation))
    low_level = window_levels_db(low, POLARITY_RATE, POLARITY_WINDOW_S)[:count]
    full_level = window_levels_db(samples, sample_rate, POLARITY_WINDOW_S)[:count]
    bass = low_level > full_level - POLARITY_LOW_SHARE_DB
    correlation = np.where(bass, low_correlation[:count], full_correlation[:count])
    return times[:count], correlation, full_level > -60.0


def _two_state_path(evidence: np.ndarray, switch_cost: float) -> np.ndarray:
    """Viterbi path (bool per step) of a two-state chain whose per-step log-likelihood ratio for
    the second state is ``evidence``, each switch costing ``switch_cost`` (nats); starts in the first."""
    n = len(evidence)
    score = np.array([0.0, -switch_cost])
    back = np.zeros((n, 2), dtype=np.int8)
    for i in range(n):
        stay, switch = score, score[::-1] - switch_cost
        back[i] = (switch > stay).astype(np.int8)
        score = np.maximum(stay, switch) + np.array([0.0, evidence[i]])
    state = int(score[1] > score[0])
    path = np.zeros(n, dtype=bool)
    for i in range(n - 1, -1, -1):
        path[i] = bool(state)
        if back[i, state]:
            state = 1 - state
    return path


def polarity(samples: np.ndarray, sample_rate: int) -> list[Defect]:
    """Stretches where one channel's polarity is inverted (see the module docstring).

    A two-state chain (normal, one channel inverted) read from the per-window correlation: if
    the track's own correlation is typically ``μ`` with spread ``σ``, an inverted window should
    read about ``−μ``; each window adds its log-likelihood ratio ``−2cμ/σ²`` and a switch of state
    costs ``POLARITY_SWITCH_COST`` nats, so only stretches that are clearly and lastingly on the
    wrong side come out. The whole track inverted shows as a correlation of −0.5 or less.
    """
    if samples.shape[0] != 2 or samples.shape[1] < 4 * sample_rate:
        return []
    times, correlation, audible = _polarity_series(samples, sample_rate)
    if audible.sum() < 10:
        return []
    typical = float(np.median(correlation[audible]))
    if typical <= -0.5:
        return [Defect("phase_flip", 0.0, samples.shape[1] / sample_rate, min(1.0, -typical),
                       {"correlation": typical, "whole_track": True})]
    spread = max(float(1.4826 * np.median(np.abs(correlation[audible] - typical))), 0.1)
    evidence = np.where(audible, -2.0 * correlation * typical / spread ** 2, 0.0)
    out: list[Defect] = []
    path = _two_state_path(evidence, POLARITY_SWITCH_COST)
    gap_starts, gap_lengths = runs_of(~path)
    for start, length in zip(gap_starts, gap_lengths):
        # a short stretch back on the right side inside an inverted one is the music, not a second edit
        if 0 < start and start + length < len(path) and length * POLARITY_WINDOW_S <= POLARITY_MERGE_S:
            path[start: start + length] = True
    starts, lengths = runs_of(path)
    for start, length in zip(starts, lengths):
        if length * POLARITY_WINDOW_S < POLARITY_MIN_S:
            continue
        inside = correlation[start: start + length][audible[start: start + length]]
        value = float(np.median(inside)) if inside.size else 0.0
        gain = float(evidence[start: start + length].sum())
        if value >= 0.0 or gain < 2 * POLARITY_SWITCH_COST:
            continue
        out.append(Defect("phase_flip", float(times[start]), float(times[start] + length * POLARITY_WINDOW_S),
                          float(min(1.0, gain / (4 * POLARITY_SWITCH_COST))),
                          {"correlation": value, "correlation_elsewhere": typical, "evidence_nats": gain}))
    return out


def window_levels_db(samples: np.ndarray, sample_rate: int, window_s: float = SILENCE_WINDOW_S) -> np.ndarray:
    """RMS level (dBFS, the loudest channel) of consecutive windows, shape (windows,)."""
    window = max(1, round(window_s * sample_rate))
    n = samples.shape[1] // window
    if not n:
        return np.zeros(0)
    view = samples[:, : n * window].reshape(samples.shape[0], n, window)
    power = np.einsum("cij,cij->ci", view, view, dtype=np.float64) / window
    return 10 * np.log10(np.maximum(power.max(axis=0), 1e-20))


def dead_air(samples: np.ndarray, sample_rate: int, beats_s: np.ndarray | None = None,
             bar_s: float | None = None) -> list[Defect]:
    """Silences inside the track (and long ones before or after the music); see the module docstring."""
    levels = window_levels_db(samples, sample_rate)
    if not levels.size:
        return []
    audible = levels[levels > SILENCE_DBFS]
    if not audible.size:
        return []
    typical = float(np.median(audible))
    silent = (levels < SILENCE_DBFS) & (levels < typical - SILENCE_UNDER_DB)
    starts, lengths = runs_of(silent)
    total = len(levels)
    out = []
    for start, length in zip(starts, lengths):
        begin, end = start * SILENCE_WINDOW_S, (start + length) * SILENCE_WINDOW_S
        seconds = end - begin
        where = "start" if start == 0 else "end" if start + length == total else "inside"
        needed = {"start": LEADING_SILENCE_S, "end": TRAILING_SILENCE_S, "inside": DEAD_AIR_MIN_S}[where]
        if seconds < needed:
            continue
        if where == "inside" and _a_rest(begin, end, beats_s, bar_s):
            continue
        floor = float(levels[start: start + length].max())
        out.append(Defect("dead_air", begin, end, float(min(1.0, seconds / (2 * needed))),
                          {"seconds": seconds, "where": where, "level_dbfs": floor, "typical_dbfs": typical}))
    return out


def _a_rest(begin_s: float, end_s: float, beats_s: np.ndarray | None, bar_s: float | None) -> bool:
    """A silence of at most a bar that starts and ends within 80 ms of beats: a rest, not dead air."""
    if beats_s is None or bar_s is None or len(beats_s) < 4 or end_s - begin_s > bar_s * 1.05:
        return False
    return bool(np.min(np.abs(beats_s - begin_s)) <= 0.08 and np.min(np.abs(beats_s - end_s)) <= 0.08)
