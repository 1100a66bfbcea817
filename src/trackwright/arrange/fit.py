"""Fit a track to a scene: an exact duration, downbeats on the picture's hit points, a real ending.

The music is re-cut bar by bar, the way a music editor cuts a cue to picture (and the way the
Infinite Jukebox and Audition's Remix find their jumps): the output is a sequence of source bars
that mostly plays on, and jumps only between bars that sound alike: after bar *i* it may play
bar *j* instead of bar *i+1* when *j* resembles *i+1* and *j−1* resembles *i*, and *j* sits at
the same place in its phrase. A dynamic programme picks the cheapest such path with the right
number of bars between the hits.

The timeline is split at the hits into regions. Each region is filled with whole bars and, when
no whole number of bars fits within the allowed time-stretch, one shortened bar just before the
hit (the editor's "2/4 bar"). What whole bars cannot reach exactly is made up by a small
time-stretch of that region (at most ±3 %, Rubber Band). The last region ends the piece:
``natural`` plays the song's final bar and lets it ring (trimmed with a short fade if the scene
ends sooner); ``fade`` fades the music out over up to two bars.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from trackwright.analysis.analyze import Analysis, analyze
from trackwright.analysis.features import Features, compute_features
from trackwright.analysis.structure import bar_similarity
from trackwright.arrange.edl import MAX_STRETCH_DEVIATION, EditList
from trackwright.arrange.grid import PICKUP, TAIL, BarGrid, Unit, grid_from_analysis, units_to_edits
from trackwright.audio import Audio, check_memory
from trackwright.errors import ParameterError

ENDINGS = ("natural", "fade")
#: Cost of any jump, of a jump between bars that do not sound alike (× (1 − likeness)),
#: of a jump to another place in the phrase, and of a shortened bar.
JUMP_COST = 1.0
UNLIKE_COST = 6.0
PHRASE_COST = 3.0
SHORT_BAR_COST = 1.5
#: A hit that lands on the first bar of a section is preferred by this much.
SECTION_HIT_BONUS = 1.0
#: Tolerances the result is checked against, seconds.
DURATION_TOLERANCE_S = 0.010
HIT_TOLERANCE_S = 0.020
#: Fade-out ending: at most this many bars, and at most this many seconds.
FADE_BARS = 2
MAX_FADE_S = 6.0
#: A trimmed natural ending fades over this long (seconds) at most.
END_FADE_S = 0.5
PHRASE_BARS = 4
#: A region this close (seconds) to its target length is left unstretched.
NO_STRETCH_S = 0.008


@dataclass(frozen=True)
class FitResult:
    """The fitted arrangement and how it was made.

    Attributes
    ----------
    edits : EditList
        Segments in source seconds; render with :mod:`trackwright.arrange.splice`.
    bars : list of int
        Source bar per output bar (0-based; -1 the pickup, -2 the ring-out).
    hits : list of dict
        Each hit: ``time_s``, ``downbeat_s`` (where the output's downbeat lands), ``bar`` (source
        bar played there), ``section_start`` (bool).
    stretches : list of float
        Stretch factor of each region between hits (1.0 = none).
    jumps : int
        Number of jumps (non-consecutive bars).
    """

    edits: EditList
    bars: list[int]
    hits: list[dict[str, Any]]
    stretches: list[float]
    jumps: int
    ending: str
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        starts = self.edits.output_starts_s()
        return {
            "duration_s": round(self.edits.output_duration_s, 6),
            "ending": self.ending,
            "edits": [{"output_start_s": round(o, 4), **s.to_dict()} for o, s in zip(starts, self.edits.segments)],
            "fade_out_s": round(self.edits.fade_out_s, 4),
            "hits": self.hits,
            "stretches": [round(s, 5) for s in self.stretches],
            "jumps": self.jumps,
            "source_bars": self.bars,
            "notes": self.notes,
        }


def _position_in_phrase(grid: BarGrid) -> np.ndarray:
    pos = np.zeros(grid.bars, dtype=int)
    for section in grid.sections:
        for bar in range(section.first_bar, section.end_bar):
            pos[bar] = (bar - section.first_bar) % PHRASE_BARS
    return pos


def jump_costs(grid: BarGrid, similarity: np.ndarray) -> np.ndarray:
    """bars × bars cost of playing bar ``j`` right after bar ``i`` (0 for ``j == i + 1``)."""
    n = grid.bars
    sim = np.clip(np.asarray(similarity, dtype=float)[:n, :n], 0.0, 1.0)
    nxt = np.full((n, n), np.nan)
    nxt[:-1, :] = sim[1:, :]  # likeness of j to i+1
    prv = np.full((n, n), np.nan)
    prv[:, 1:] = sim[:, :-1]  # likeness of j-1 to i
    likeness = np.fmin(nxt, prv)  # fmin skips the NaN at either end of the song
    likeness = np.nan_to_num(likeness, nan=0.0)
    pos = _position_in_phrase(grid)
    phrase = (pos[None, :] != (pos[:, None] + 1) % PHRASE_BARS).astype(float)
    firsts = np.array([s.first_bar for s in grid.sections])
    is_first = np.isin(np.arange(n), firsts)
    # a jump from a section's last bar to another section's first bar is a seam; it keeps the phrase
    ends_section = np.isin(np.arange(n) + 1, np.append(firsts, n))
    seam = ends_section[:, None] & is_first[None, :]
    phrase[seam] = 0.0
    cost = JUMP_COST + UNLIKE_COST * (1.0 - likeness) + PHRASE_COST * phrase
    cost[np.arange(n - 1), np.arange(1, n)] = 0.0
    return cost


@dataclass(frozen=True)
class _Region:
    start_s: float
    end_s: float
    whole: int  # whole bars
    short: int  # beats of a shortened bar at the end (0 = none)
    head: int = 0  # beats of an upbeat bar at the start (first region only; 0 = none)
    pickup_s: float = -1.0  # seconds of the pickup played (first region; -1 = all of it)


def _choose_counts(length_s: float, bar_s: float, beats_per_bar: int, *, where: str) -> tuple[int, int]:
    """(whole bars, beats of a short bar) that fill ``length_s`` within the stretch limit."""
    beat_s = bar_s / beats_per_bar
    lo = math.ceil(length_s / ((1 + MAX_STRETCH_DEVIATION) * beat_s) - 1e-9)
    hi = math.floor(length_s / ((1 - MAX_STRETCH_DEVIATION) * beat_s) + 1e-9)
    options = [b for b in range(max(lo, 1), hi + 1)]
    if not options:
        if length_s < beat_s:
            raise ParameterError(
                f"{where} is {length_s:.3f} s, shorter than one beat ({beat_s:.3f} s): hits must be at least a beat apart"
            )
        nearest = max(1, round(length_s / beat_s))
        raise ParameterError(
            f"{where} ({length_s:.3f} s) is not a whole number of beats ({beat_s:.3f} s) within the "
            f"±{MAX_STRETCH_DEVIATION:.0%} stretch limit (it would need {100 * (length_s / (nearest * beat_s) - 1):+.1f} %); "
            "move the hit by a fraction of a beat"
        )
    whole = [b for b in options if b % beats_per_bar == 0]
    pick = min(whole or options, key=lambda b: abs(b * beat_s - length_s))
    return pick // beats_per_bar, pick % beats_per_bar


def _choose_start(length_s: float, pickup_s: float, bar_s: float, beats_per_bar: int
                  ) -> tuple[float, int, int, int]:
    """How the cue opens before the first hit: (seconds of pickup played, upbeat beats, whole bars,
    beats of a short bar before the hit).

    The pickup before the song's first downbeat can start anywhere, so it absorbs what whole
    bars leave over, without any stretch; failing that, the cue opens on a beat of bar 1 (an
    upbeat of a few beats) and the rest is stretched. Raises when nothing fits within ±3 %.
    """
    beat_s = bar_s / beats_per_bar
    best: tuple[float, float, int, int, int] | None = None
    for whole in range(0, int(length_s / bar_s) + 2):
        # an upbeat (the last beats of a bar, no pickup) or a short last bar after the pickup
        for head, short in [(0, 0)] + [(b, 0) for b in range(1, beats_per_bar)] + \
                [(0, b) for b in range(1, beats_per_bar)]:
            core = whole * bar_s + (head + short) * beat_s
            pickup = 0.0 if head else min(max(length_s - core, 0.0), pickup_s)
            if core <= 0:
                if length_s <= pickup_s:
                    return length_s, 0, 0, 0
                continue
            deviation = abs((length_s - pickup) / core - 1.0)
            if deviation > MAX_STRETCH_DEVIATION:
                continue
            score = deviation + (0.01 if head or short else 0.0)
            if best is None or score < best[0]:
                best = (score, pickup, head, whole, short)
    if best is None:
        _choose_counts(length_s - pickup_s, bar_s, beats_per_bar, where=f"the time to the first hit ({length_s:.3f} s)")
        raise ParameterError(  # the pickup cannot be both played and skipped: say what would fit
            f"no opening reaches the first hit at {length_s:.3f} s within ±{MAX_STRETCH_DEVIATION:.0%}: "
            "move it by a fraction of a beat")
    return best[1], best[2], best[3], best[4]


class _Misfit(ParameterError):
    """A region whose bars, as the path plays them, need more than the allowed stretch."""

    def __init__(self, message: str, region: int, factor: float) -> None:
        super().__init__(message)
        self.region = region
        self.factor = factor


def _plan_regions(grid: BarGrid, duration_s: float, hits: Sequence[float], ending: str,
                  scales: Sequence[float] | None = None) -> list[_Region]:
    """Bars per region; ``scales`` corrects the median bar length per region (see :func:`fit_to_duration`)."""
    bpb = grid.beats_per_bar
    pickup = grid.bar_span(PICKUP)[1]
    anchors = [0.0, *hits, duration_s]
    regions = []
    for index, (a, b) in enumerate(zip(anchors[:-1], anchors[1:])):
        bar_s = grid.bar_s * (scales[index] if scales else 1.0)
        last = index == len(anchors) - 2
        length = b - a - (pickup if index == 0 else 0.0)
        if last:
            if ending == "natural":
                # whole bars before the final bar; the final bar and its ring-out take up the slack
                tail = grid.bar_span(TAIL)
                ring = max(tail[1] - tail[0], 0.0)
                # aim to let the final chord ring for up to a bar
                whole = max(0, int(round((length - bar_s - min(ring, bar_s)) / bar_s)))
                need = length - (whole + 1) * bar_s
                if need > ring and length / ((whole + 1) * bar_s + ring) > 1 + MAX_STRETCH_DEVIATION:
                    whole += 1  # rather cut the final bar short than stretch or pad with silence
                regions.append(_Region(a, b, whole, 0))
            else:
                regions.append(_Region(a, b, max(1, math.ceil(length / bar_s - 1e-9)), 0))
            continue
        if index == 0:
            used, head, whole, short = _choose_start(b - a, pickup, bar_s, bpb)
            regions.append(_Region(a, b, whole, short, head, used))
            continue
        whole, short = _choose_counts(length, bar_s, bpb, where=f"the span {a:.3f}–{b:.3f} s")
        regions.append(_Region(a, b, whole, short))
    return regions


def _slot_plan(regions: list[_Region], ending: str) -> list[tuple[int, int | None, bool]]:
    """(region, beats or None for a whole bar, starts at a hit) per output slot."""
    slots: list[tuple[int, int | None, bool]] = []
    for r, region in enumerate(regions):
        if region.head:
            slots.append((r, -region.head, False))
        for k in range(region.whole):
            slots.append((r, None, k == 0 and r > 0))
        if region.short:
            slots.append((r, region.short, region.whole == 0 and r > 0))
    if ending == "natural":
        slots.append((len(regions) - 1, None, regions[-1].whole == 0 and len(regions) > 1))
    return slots


def _best_path(grid: BarGrid, costs: np.ndarray, slots: list[tuple[int, int | None, bool]], ending: str) -> list[int]:
    """Source bar per slot minimising the summed jump cost (Viterbi over slots × bars)."""
    n = grid.bars
    firsts = np.isin(np.arange(n), [s.first_bar for s in grid.sections])
    short_costs = costs + SHORT_BAR_COST
    short_costs[np.arange(n - 1), np.arange(1, n)] = SHORT_BAR_COST
    total = np.full(n, np.inf)
    total[0] = 0.0  # the cue opens the way the song does
    back: list[np.ndarray] = []
    for k in range(1, len(slots)):
        previous_short = (slots[k - 1][1] or 0) > 0
        step = (short_costs if previous_short else costs) + total[:, None]
        choice = np.argmin(step, axis=0)
        total = step[choice, np.arange(n)]
        if slots[k][2]:
            total = total - SECTION_HIT_BONUS * firsts
        if (slots[k][1] or 0) > 0:  # a short bar needs that many beats in the source bar
            total = total + np.where([grid.beats_in(b).size > slots[k][1] for b in range(n)], 0.0, np.inf)
        back.append(choice)
    if ending == "natural" and len(slots) > 1:
        end = n - 1
        if not math.isfinite(total[end]):
            raise ParameterError("no path through the bars reaches the song's ending")
    else:
        end = int(np.argmin(total)) if len(slots) > 1 else 0
    if len(slots) == 1 and ending == "natural":
        return [n - 1]
    path = [end]
    for choice in reversed(back):
        path.append(int(choice[path[-1]]))
    return path[::-1]


def _slot_span(grid: BarGrid, bar: int, beats: int | None) -> tuple[float, float]:
    start, end = grid.bar_span(bar)
    inside = grid.beats_in(bar)
    if beats is not None and beats > 0:
        end = float(inside[min(beats, len(inside) - 1)])
    elif beats is not None and beats < 0:  # an upbeat: the bar's last -beats beats
        start = float(inside[max(len(inside) + beats, 0)])
    return start, end


def fit_to_duration(grid: BarGrid, similarity: np.ndarray, duration_s: float, *,
                    hits: Sequence[float] = (), ending: str = "natural") -> FitResult:
    """Find the arrangement of ``grid``'s bars that lasts ``duration_s`` with downbeats on ``hits``.

    Parameters
    ----------
    grid : BarGrid
        The source's bars and sections.
    similarity : np.ndarray, bars × bars
        How alike two bars sound, 0–1 (harmony × timbre).
    duration_s : float
        Output length, seconds.
    hits : sequence of float
        Output times (seconds) that must fall on a downbeat, ±20 ms.
    ending : {"natural", "fade"}
        End on the song's own final bar, or fade out.
    """
    if ending not in ENDINGS:
        raise ParameterError(f"--ending must be one of {', '.join(ENDINGS)}, got {ending!r}")
    if not math.isfinite(duration_s) or duration_s <= 0:
        raise ParameterError(f"--duration must be a positive number of seconds, got {duration_s!r}")
    bar_s = grid.bar_s
    beat_s = bar_s / grid.beats_per_bar
    if duration_s < bar_s:
        raise ParameterError(f"--duration {duration_s:g} s is shorter than one bar ({bar_s:.2f} s) of this track")
    hits = sorted(float(h) for h in hits)
    for hit in hits:
        if not 0.0 < hit < duration_s:
            raise ParameterError(f"--hit {hit:g} s is outside the cue (0–{duration_s:g} s)")
    for a, b in zip(hits[:-1], hits[1:]):
        if b - a < beat_s * (1 - MAX_STRETCH_DEVIATION):
            raise ParameterError(f"hits at {a:g} s and {b:g} s are closer than one beat ({beat_s:.3f} s)")
    if hits and duration_s - hits[-1] < beat_s * 0.5:
        raise ParameterError(f"the last hit ({hits[-1]:g} s) leaves less than half a beat before the end")
    costs = jump_costs(grid, similarity)
    # Bars are planned at the median bar length; where the bars the path actually plays are
    # longer or shorter (a 3/4 bar, a ritardando), that region is re-planned at their length.
    scales = [1.0] * (len(hits) + 1)
    for _ in range(4):
        regions = _plan_regions(grid, duration_s, hits, ending, scales)
        slots = _slot_plan(regions, ending) or [(0, None, False)]
        path = _best_path(grid, costs, slots, ending)
        try:
            return _assemble(grid, regions, slots, path, duration_s, hits, ending)
        except _Misfit as misfit:
            scales[misfit.region] *= misfit.factor
            failure = misfit
    raise ParameterError(str(failure))


def _assemble(grid: BarGrid, regions: list[_Region], slots: list[tuple[int, int | None, bool]], path: list[int],
              duration_s: float, hits: list[float], ending: str) -> FitResult:
    pickup = grid.bar_span(PICKUP)
    per_region: list[list[Unit]] = [[] for _ in regions]
    played_pickup = pickup[1] if regions[0].pickup_s < 0 else regions[0].pickup_s
    if played_pickup > 1e-4:
        per_region[0].append(Unit(PICKUP, pickup[1] - played_pickup, pickup[1]))
    for (r, beats, _), bar in zip(slots, path):
        per_region[r].append(Unit(bar, *_slot_span(grid, bar, beats)))
    notes: list[str] = []
    stretches: list[float] = []
    fade_out = 0.0
    now = 0.0  # output seconds placed so far
    for r, region in enumerate(regions):
        units = per_region[r]
        played = sum(u.end_s - u.start_s for u in units)
        length = region.end_s - now  # what this region must fill to put the next hit exactly in place
        if r < len(regions) - 1:
            stretch = 1.0 if abs(length - played) <= NO_STRETCH_S else length / played
        elif ending == "natural":
            tail = grid.bar_span(TAIL)
            ring = max(tail[1] - tail[0], 0.0)
            need = length - played  # >0: ring-out to add; <0: the final bar is cut short
            if need > ring:
                stretch = length / (played + ring)
                if stretch > 1 + MAX_STRETCH_DEVIATION:
                    stretch = 1.0  # silence pads the rest (the ring-out of a song that stops dead)
                    notes.append(f"the song's ending is {need - ring:.2f} s short of the cue; silence fills it")
                if ring > 1e-4:
                    units.append(Unit(TAIL, *tail))
            elif need >= 0:
                stretch = 1.0
                if need > 1e-4:
                    units.append(Unit(TAIL, tail[0], tail[0] + need))
                fade_out = min(END_FADE_S, need + 0.5 * grid.bar_s) if need < ring - 1e-3 else 0.0
            else:
                stretch = 1.0
                cut = -need
                last = units[-1]
                keep_end = last.end_s - cut
                if keep_end - last.start_s < 0.5 * grid.bar_s / grid.beats_per_bar:
                    stretch = length / played
                    if stretch < 1 - MAX_STRETCH_DEVIATION:  # the bars played run longer than planned
                        raise _Misfit("the cue ends too soon after the last hit for the song's final bar", r,
                                      played / length)
                else:
                    units[-1] = Unit(last.bar, last.start_s, keep_end)
                    fade_out = min(END_FADE_S, keep_end - last.start_s)
                    notes.append(f"the final bar is cut {cut:.2f} s short and faded over {fade_out:.2f} s")
        else:
            stretch = 1.0
            fade_out = min(FADE_BARS * grid.bar_s, MAX_FADE_S, length)
            excess = played - length
            if excess > 0:
                last = units[-1]
                units[-1] = Unit(last.bar, last.start_s, last.end_s - excess)
        if abs(stretch - 1.0) > MAX_STRETCH_DEVIATION + 1e-9:
            raise _Misfit(
                f"the span {region.start_s:.2f}–{region.end_s:.2f} s would need a {100 * (stretch - 1):+.1f} % "
                f"time-stretch (limit ±{MAX_STRETCH_DEVIATION:.0%}); move the hit or the duration",
                r, 1.0 / stretch)
        now += sum(u.end_s - u.start_s for u in units) * stretch
        stretches.append(stretch)
        per_region[r] = [Unit(u.bar, u.start_s, u.end_s, stretch) for u in units]
    units = [u for region_units in per_region for u in region_units]
    edits = units_to_edits(units, fade_out_s=fade_out, duration_s=duration_s)
    starts = np.cumsum([0.0] + [(u.end_s - u.start_s) * u.stretch for u in units])
    hit_rows = []
    for hit in hits:
        index = int(np.argmin(np.abs(starts[:-1] - hit)))
        bar = units[index].bar
        hit_rows.append({"time_s": hit, "downbeat_s": round(float(starts[index]), 4), "bar": bar,
                         "section_start": bool(bar in [s.first_bar for s in grid.sections])})
    jumps = sum(1 for a, b in zip(path[:-1], path[1:]) if b != a + 1)
    return FitResult(edits, [u.bar for u in units], hit_rows, stretches, jumps, ending, notes)


def bar_likeness(features: Features, grid: BarGrid) -> np.ndarray:
    """bars × bars likeness of the source bars, 0–1: harmonic (chroma) × timbral similarity."""
    harmonic, timbral, _ = bar_similarity(features, np.append(grid.starts_s, grid.ends_s[-1]))
    return harmonic * timbral


#: Longest cue :func:`fit_audio` makes, seconds (half an hour: a 20-minute cue of an 8 s loop took 47 s
#: and 0.7 GB).
MAX_CUE_S = 1800.0
#: Bytes of working memory per output sample (float32 channels × frames), measured about 3.5.
_BYTES_PER_OUTPUT_SAMPLE = 4 * 4


def check_cue_duration(duration_s: float, audio: Audio) -> None:
    """Refuse, before any work, a cue that is not a positive number of seconds up to :data:`MAX_CUE_S`
    or whose rendering would need more memory than is free (:func:`~trackwright.audio.check_memory`)."""
    if not isinstance(duration_s, (int, float)) or not math.isfinite(duration_s) or duration_s <= 0:
        raise ParameterError(f"--duration must be a positive number of seconds, got {duration_s!r}")
    if duration_s > MAX_CUE_S:
        raise ParameterError(f"--duration {duration_s:g} s is longer than the {MAX_CUE_S:g} s a fitted cue may last")
    check_memory(duration_s * audio.sample_rate * audio.channels * _BYTES_PER_OUTPUT_SAMPLE,
                 f"a {duration_s:g} s cue")


def fit_audio(audio: Audio, duration_s: float, *, hits: Sequence[float] = (), ending: str = "natural",
              analysis: Analysis | None = None, features: Features | None = None,
              grid: BarGrid | None = None) -> FitResult:
    """:func:`fit_to_duration` of ``audio`` (channels × frames).

    The bar grid is ``grid`` when given, else that of ``analysis`` (analysed here when None) with
    its beats moved onto the attacks of ``audio``; ``features`` are computed when not given.
    ``duration_s`` is checked (:func:`check_cue_duration`) before any of that work.
    """
    check_cue_duration(duration_s, audio)
    if grid is None:
        if analysis is None:
            analysis = analyze(audio).rounded()  # the grid a project's cached analysis gives
            features = features if features is not None else analysis.features
        grid = grid_from_analysis(analysis, audio)
    if features is None:
        features = compute_features(audio)
    return fit_to_duration(grid, bar_likeness(features, grid), duration_s, hits=hits, ending=ending)
