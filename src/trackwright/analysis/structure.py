"""Structure: sections with repetition labels and roles, a self-similarity view, and transitions.

Bar-level analysis (bars run from downbeat to downbeat):

1. **Self-similarity**: each bar is described by its mean chroma (harmony) and its mean band
   levels (timbre/instrumentation); the bar × bar similarity is the average of the chroma
   cosine similarity and a Gaussian of the standardised timbre distance.
2. **Boundaries**: Foote novelty — a Gaussian-tapered checkerboard kernel (4 bars each side)
   slid along the diagonal; peaks at least 4 bars apart, above the novelty's mean and above 0.06
   (on a scale where a change between two uniform, unrelated blocks is 1) are section
   starts (moved one bar onto a 4-bar phrase start where the novelty is nearly as high).
   A section that is one block of ≥ 8 bars played 2–4 times verbatim back to back is split
   into its passes (identical neighbours leave no novelty at the seam).
3. **Labels**: sections are compared bar by bar along the diagonal; a section whose harmony is
   at least 0.85 similar to an earlier one takes its letter (``A``), with a prime when it is a
   variation rather than a verbatim repeat (overall similarity, harmony and timbre, < 0.97): ``A′``.
4. **Roles**: the loudest repeated label is the chorus, other repeated labels verses; a quiet
   unique first/last section is the intro/outro; unique sections inside are a bridge, or a
   breakdown when clearly quieter.
5. **Transitions**: at every section start, the level jump (dB, 1 s either side), the timbre
   jump (in units of the song's typical bar-to-bar change), how far the actual change point
   lies from the downbeat, and whether the previous section stopped mid-phrase (not a whole
   number of 2-bar phrases). Edits inside a section show as a bar whose length breaks the grid
   with a jump in the pulse's phase (one beat interval 15 % off its neighbours) or a rare
   harmonic lurch (top 5 % of the song's 1 s chroma changes) inside it. A transition is *abrupt* when it
   changes level by ≥ 12 dB or timbre by ≥ 4 typical bar-to-bar steps, or when it lands off the
   downbeat or cuts a phrase *and* the pulse jumps there, the harmony lurches, or the sound
   changes suddenly (a half-second change ≥ 3× the song's median). A contrast on the downbeat
   that the music prepares — at a phrase boundary, after a build (the level rising ≥ 3 dB over
   the two bars before), a pickup or fill (the last beat ≥ 1.5× as busy as the bar before) or a
   break (the last beat ≥ 6 dB down) — is rated *prepared*, not abrupt; off the downbeat nothing
   counts as preparation, and mid-phrase a pickup does not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from trackwright.analysis import filters
from trackwright.analysis.features import Features
from trackwright.analysis.rhythm import Rhythm

KERNEL_BARS = 4
MIN_SECTION_BARS = 4
#: Scaled novelty a section change needs (a loop repeating itself stays under ~0.04).
MIN_NOVELTY = 0.06
SAME_SECTION = 0.85
VERBATIM = 0.97
ROLES = ("intro", "verse", "chorus", "bridge", "breakdown", "outro")
#: Preparation of a section change: a build rises this much (dB) over the two bars before it,
#: a pickup makes the last beat this many times as busy as the bar before, a break drops this much (dB).
BUILD_DB = 3.0
PICKUP_FACTOR = 1.5
BREAK_DB = 6.0


@dataclass(frozen=True)
class Transition:
    """The change into a section: evidence and a smooth/abrupt rating."""

    time_s: float
    level_jump_db: float
    timbre_jump: float
    off_downbeat_s: float
    mid_phrase: bool
    abrupt: bool
    reasons: list[str]
    preparation: tuple[str, ...] = ()

    @property
    def rating(self) -> str:
        """``abrupt``; ``prepared`` (a contrast the music sets up); or ``smooth``."""
        return "abrupt" if self.abrupt else "prepared" if self.preparation else "smooth"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"time_s": round(self.time_s, 3), "level_jump_db": round(self.level_jump_db, 2),
                "timbre_jump": round(self.timbre_jump, 2), "off_downbeat_s": round(self.off_downbeat_s, 3),
                "mid_phrase": self.mid_phrase, "rating": self.rating, "reasons": self.reasons,
                "preparation": list(self.preparation)}


@dataclass(frozen=True)
class Section:
    """A section: times in seconds, repetition label (``A``, ``B′``…), role, bar count, level."""

    start_s: float
    end_s: float
    label: str
    role: str
    bars: int
    level_db: float
    repeat_of: int | None = None
    similarity: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"start_s": round(self.start_s, 3), "end_s": round(self.end_s, 3), "label": self.label,
                "role": self.role, "bars": self.bars, "level_db": round(self.level_db, 2),
                "repeat_of": self.repeat_of,
                "similarity": None if self.similarity is None else round(self.similarity, 3)}


@dataclass(frozen=True)
class Structure:
    """Sections, the transitions into each (after the first), and the bar self-similarity."""

    sections: list[Section]
    transitions: list[Transition]
    bar_times_s: np.ndarray
    similarity: np.ndarray = field(repr=False)
    novelty: np.ndarray = field(repr=False)


def _bar_edges(rhythm: Rhythm, duration_s: float) -> np.ndarray:
    """Bar boundaries in seconds (downbeats, with the start and end of the track)."""
    downbeats = rhythm.downbeats_s
    if len(downbeats) < 2:
        bar = 4 * 60.0 / max(rhythm.tempo_bpm, 1.0)
        return np.append(np.arange(0.0, duration_s, bar), duration_s)
    edges = np.asarray(downbeats, dtype=float)
    return np.append(edges, duration_s) if duration_s - edges[-1] > 0.5 * np.median(np.diff(edges)) else \
        np.append(edges[:-1], duration_s)


def _mean_between(series: np.ndarray, frame_rate: float, edges_s: np.ndarray) -> np.ndarray:
    """Column means of ``series`` (dims × frames) between consecutive edges (dims × bars)."""
    idx = np.clip(np.round(edges_s * frame_rate).astype(int), 0, series.shape[1])
    out = np.zeros((series.shape[0], len(edges_s) - 1), dtype=np.float64)
    for i in range(len(edges_s) - 1):
        lo, hi = idx[i], max(idx[i + 1], idx[i] + 1)
        if lo < series.shape[1]:
            out[:, i] = series[:, lo:hi].mean(axis=1)
    return out


def bar_similarity(features: Features, edges_s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(harmonic bar × bar similarity, timbral bar × bar similarity, both 0–1; bar levels in dB)."""
    chroma = _mean_between(features.chroma, features.rate / features.chroma_hop, edges_s)
    chroma = chroma - chroma.min(axis=0, keepdims=True)
    chroma /= np.maximum(np.linalg.norm(chroma, axis=0, keepdims=True), 1e-9)
    timbre = _mean_between(features.bands_db, features.onset_rate, edges_s)
    levels = _mean_between(features.rms_db[np.newaxis], features.onset_rate, edges_s)[0]
    z = (timbre - timbre.mean(axis=1, keepdims=True)) / np.maximum(timbre.std(axis=1, keepdims=True), 1e-6)
    distance = np.sqrt(np.maximum(((z[:, :, None] - z[:, None, :]) ** 2).mean(axis=0), 0.0))
    scale = np.median(distance[np.triu_indices(len(levels), 1)]) if len(levels) > 1 else 1.0
    return chroma.T @ chroma, np.exp(-((distance / max(scale, 1e-6)) ** 2)), levels


def foote_novelty(similarity: np.ndarray, half: int = KERNEL_BARS) -> np.ndarray:
    """Novelty per bar from a Gaussian-tapered checkerboard kernel of ``half`` bars each side,
    scaled so a change between two internally uniform, mutually dissimilar blocks scores 1."""
    size = 2 * half
    taper = filters.gaussian_window(size, half / 1.5)
    kernel = np.outer(taper, taper) * np.kron([[1, -1], [-1, 1]], np.ones((half, half)))
    kernel /= np.abs(kernel).sum()
    padded = np.pad(similarity, half, mode="edge")
    n = len(similarity)
    return np.array([np.sum(kernel * padded[i: i + size, i: i + size]) for i in range(n)])


def _boundaries(novelty: np.ndarray) -> list[int]:
    if len(novelty) < 2 * MIN_SECTION_BARS:
        return [0]
    peaks = filters.find_peaks(novelty, distance=MIN_SECTION_BARS, height=max(novelty.mean(), MIN_NOVELTY))
    peaks = [_on_phrase(int(p), novelty) for p in peaks if MIN_SECTION_BARS // 2 <= p <= len(novelty) - MIN_SECTION_BARS // 2]
    return [0] + sorted(set(peaks))


def _on_phrase(peak: int, novelty: np.ndarray) -> int:
    """Move a peak one bar onto a 4-bar phrase start when the novelty there is nearly as high."""
    if peak % 4 == 0:
        return peak
    for candidate in (peak - 1, peak + 1):
        if candidate % 4 == 0 and 0 < candidate < len(novelty) and novelty[candidate] >= 0.9 * novelty[peak]:
            return candidate
    return peak


def _split_repeats(similarity: np.ndarray, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Split sections that are one block played 2–4 times verbatim back to back (no novelty
    marks the seam between identical neighbours), keeping parts of at least 8 bars."""
    out: list[tuple[int, int]] = []
    for start, end in spans:
        length = end - start
        for parts in (2, 3, 4):
            size, extra = divmod(length, parts)
            if extra > 1 or size < 2 * MIN_SECTION_BARS:
                continue  # one spare bar (a ring-out at the end) goes to the last pass
            pieces = [(start + i * size, start + (i + 1) * size) for i in range(parts)]
            pieces[-1] = (pieces[-1][0], end)
            if all(_section_similarity(similarity, pieces[0], piece) >= VERBATIM for piece in pieces[1:]):
                out.extend(pieces)
                break
        else:
            out.append((start, end))
    return out


def _section_similarity(similarity: np.ndarray, a: tuple[int, int], b: tuple[int, int]) -> float:
    """Mean bar-by-bar similarity of two sections along the diagonal (over the shorter length)."""
    length = min(a[1] - a[0], b[1] - b[0])
    if length > 1 and max(a[0], b[0]) + length >= len(similarity):
        length -= 1  # the song's final bar holds the ring-out, not music to compare
    return float(np.mean([similarity[a[0] + i, b[0] + i] for i in range(length)]))


def _letters(index: int) -> str:
    return chr(ord("A") + index) if index < 26 else f"S{index}"


def _label_sections(harmonic: np.ndarray, combined: np.ndarray,
                    spans: list[tuple[int, int]]) -> list[tuple[str, int | None, float | None]]:
    """Letter, index of the section it repeats, and similarity, per section."""
    out: list[tuple[str, int | None, float | None]] = []
    next_letter = 0
    for i, span in enumerate(spans):
        best, best_j = 0.0, None
        for j in range(i):
            if out[j][1] is not None:
                continue  # compare with first occurrences only
            value = _section_similarity(harmonic, spans[j], span)
            if value > best:
                best, best_j = value, j
        if best_j is not None and best >= SAME_SECTION:
            letter = out[best_j][0]
            overall = _section_similarity(combined, spans[best_j], span)
            out.append((letter if overall >= VERBATIM else letter + "′", best_j, overall))
        else:
            out.append((_letters(next_letter), None, None))
            next_letter += 1
    return out


def _roles(labels: list[str], levels: list[float], spans: list[tuple[int, int]], total_bars: int) -> list[str]:
    base = [label.rstrip("′") for label in labels]
    counts = {b: base.count(b) for b in base}
    median = float(np.median(levels))
    repeated = [b for b in counts if counts[b] > 1]
    loudness = {b: np.mean([lv for lv, bb in zip(levels, base) if bb == b]) for b in counts}
    chorus = max(repeated, key=lambda b: loudness[b]) if repeated else None
    roles = []
    for i, (b, level, span) in enumerate(zip(base, levels, spans)):
        short = (span[1] - span[0]) <= max(8, 0.2 * total_bars)
        if counts[b] > 1:
            roles.append("chorus" if b == chorus else "verse")
        elif i == 0 and len(spans) > 1 and (short or level < median - 3):
            roles.append("intro")
        elif i == len(spans) - 1 and len(spans) > 1 and (short or level < median - 3):
            roles.append("outro")
        elif level < median - 4:
            roles.append("breakdown")
        elif repeated:
            roles.append("bridge")
        else:
            roles.append("chorus" if level >= max(levels) - 1 else "verse")
    return roles


def _window_mean(series: np.ndarray, frame_rate: float, start_s: float, end_s: float) -> np.ndarray:
    lo = int(np.clip(start_s * frame_rate, 0, series.shape[-1] - 1))
    hi = int(np.clip(end_s * frame_rate, lo + 1, series.shape[-1]))
    return series[..., lo:hi].mean(axis=-1)


def jump_curve(features: Features, half_s: float = 0.25) -> np.ndarray:
    """Per onset frame: RMS difference (dB) of the band levels over ``half_s`` after vs before."""
    rate = features.onset_rate
    half = max(1, int(half_s * rate))
    bands = features.bands_db
    cumulative = np.cumsum(np.pad(bands.astype(np.float64), ((0, 0), (1, 0))), axis=1)
    frames = np.arange(half, bands.shape[1] - half)
    jump = np.zeros(bands.shape[1], dtype=np.float32)
    if frames.size:
        before = (cumulative[:, frames] - cumulative[:, frames - half]) / half
        after = (cumulative[:, frames + half] - cumulative[:, frames]) / half
        jump[frames] = np.sqrt(np.mean((after - before) ** 2, axis=0))
    return jump


def _change_point(jump: np.ndarray, rate: float, start_s: float, end_s: float,
                  downbeats_s: np.ndarray) -> tuple[float, float]:
    """(time, jump there): where the sound changes most within a window, seconds.

    A downbeat in the window whose change is at least 60 % of the largest counts as the change
    point: only a clearly stronger change elsewhere says the cut is off the grid.
    """
    lo, hi = max(0, int(start_s * rate)), min(len(jump), int(end_s * rate))
    if hi <= lo:
        return 0.5 * (start_s + end_s), 0.0
    window = jump[lo:hi]
    peak = int(np.argmax(window))
    best: tuple[float, float] | None = None
    for downbeat in downbeats_s:
        index = int(round(downbeat * rate)) - lo
        if 0 <= index < len(window):
            value = float(window[max(0, index - 2): index + 3].max())
            if value >= 0.6 * window[peak] and (best is None or value > best[1]):
                best = (float(downbeat), value)
    return best if best is not None else (float((lo + peak) / rate), float(window[peak]))


def harmonic_jump_curve(features: Features, half_s: float = 1.0) -> np.ndarray:
    """Per chroma frame: cosine distance between the mean chroma ``half_s`` before and after."""
    chroma = features.chroma.astype(np.float64)
    half = max(1, int(round(half_s * features.rate / features.chroma_hop)))
    cumulative = np.cumsum(np.pad(chroma, ((0, 0), (1, 0))), axis=1)
    out = np.zeros(chroma.shape[1], dtype=np.float32)
    frames = np.arange(half, chroma.shape[1] - half)
    if frames.size:
        before = cumulative[:, frames] - cumulative[:, frames - half]
        after = cumulative[:, frames + half] - cumulative[:, frames]
        norms = np.linalg.norm(before, axis=0) * np.linalg.norm(after, axis=0)
        out[frames] = 1.0 - np.sum(before * after, axis=0) / np.maximum(norms, 1e-12)
    return out


@dataclass(frozen=True)
class _Context:
    features: Features
    rhythm: Rhythm
    jump: np.ndarray
    sudden: float              # a jump this large (dB) is a sudden change, not the music moving on
    typical_step: float        # the song's typical bar-to-bar timbre change, dB
    beat_breaks: np.ndarray    # times where the beat grid's phase jumps (an edit), seconds
    harmonic: np.ndarray       # harmonic_jump_curve
    harmonic_rare: float       # its 95th percentile: a harmonic change this large is rare in the song

    def harmonic_change_at(self, time_s: float, reach_s: float = 0.3) -> float:
        """Largest harmonic jump within ``reach_s`` of a time."""
        rate = self.features.rate / self.features.chroma_hop
        lo, hi = max(0, int((time_s - reach_s) * rate)), int((time_s + reach_s) * rate) + 1
        window = self.harmonic[lo:hi]
        return float(window.max()) if window.size else 0.0


def beat_breaks(rhythm: Rhythm, tolerance: float = 0.15) -> np.ndarray:
    """Times (s) where one beat interval departs from its neighbours' by more than ``tolerance``:
    the pulse's phase jumps, as it does across a splice made without regard to the beat."""
    beats = rhythm.beats_s
    if len(beats) < 6:
        return np.zeros(0)
    intervals = np.diff(beats)
    local = filters.median_filter1d(intervals, 9, mode="nearest")
    odd = np.abs(intervals / local - 1.0) > tolerance
    return 0.5 * (beats[:-1][odd] + beats[1:][odd])


def _transition(context: _Context, time_s: float, previous_bars: int) -> Transition:
    features, rhythm = context.features, context.rhythm
    rate = features.onset_rate
    before = _window_mean(features.rms_db, rate, time_s - 1.0, time_s)
    after = _window_mean(features.rms_db, rate, time_s, time_s + 1.0)
    level_jump = float(after - before)
    timbre_before = _window_mean(features.bands_db, rate, time_s - 1.0, time_s)
    timbre_after = _window_mean(features.bands_db, rate, time_s, time_s + 1.0)
    timbre_jump = float(np.sqrt(np.mean((timbre_after - timbre_before) ** 2)) / max(context.typical_step, 1e-6))
    bar_s = 4 * 60.0 / max(rhythm.tempo_bpm, 1.0)
    beat_s = 60.0 / max(rhythm.tempo_bpm, 1.0)
    downbeats = rhythm.downbeats_s if len(rhythm.downbeats_s) else np.array([time_s])
    change, magnitude = _change_point(context.jump, rate, time_s - 0.5 * bar_s, time_s + 0.5 * bar_s, downbeats)
    off = float(np.min(np.abs(downbeats - change)))
    mid_phrase = previous_bars % 2 == 1
    strong, weak = [], []
    if abs(level_jump) >= 12.0:
        strong.append(f"level jumps {level_jump:+.1f} dB")
    if timbre_jump >= 4.0:
        strong.append(f"timbre changes {timbre_jump:.1f}× the song's typical bar-to-bar change")
    off_grid = off > max(0.1, 0.25 * beat_s)
    if off_grid:
        weak.append(f"change lands {off:.2f} s off the downbeat")
    if mid_phrase:
        weak.append(f"previous section stops after {previous_bars} bars, mid-phrase")
    # placement alone is weak evidence (beat and section tracking err too): it counts when the pulse
    # also stumbles there, or the sound changes suddenly
    corroboration = []
    if np.any(np.abs(context.beat_breaks - change) <= beat_s):
        corroboration.append("the beat grid jumps there")
    if magnitude >= context.sudden:
        corroboration.append(f"the sound changes suddenly ({magnitude:.1f} dB in half a second)")
    if max(context.harmonic_change_at(change, reach_s=beat_s),
           context.harmonic_change_at(time_s, reach_s=beat_s)) >= context.harmonic_rare:
        corroboration.append("the harmony lurches (one of the song's largest harmonic jumps)")
    reasons = strong + (weak + corroboration if weak and corroboration else [])
    preparation = _preparation(context, time_s, bar_s, beat_s) if not off_grid else []
    if mid_phrase:  # a fill is everywhere; off the phrase only a build or a break sets a change up
        preparation = [p for p in preparation if not p.startswith("a pickup")]
    if not off_grid and not mid_phrase and strong:
        preparation.append("lands on the downbeat at a phrase boundary")
    # a contrast on the downbeat that the music sets up is a strength, not a defect
    prepared = not off_grid and bool(preparation)
    return Transition(time_s=change if off_grid else time_s, level_jump_db=level_jump, timbre_jump=timbre_jump,
                      off_downbeat_s=off, mid_phrase=mid_phrase, abrupt=bool(reasons) and not prepared,
                      reasons=reasons, preparation=tuple(preparation) if reasons and prepared else ())


def _preparation(context: _Context, time_s: float, bar_s: float, beat_s: float) -> list[str]:
    """How the music sets up a change at ``time_s``: a build (the level rising ≥ 3 dB over the
    two bars before it), a pickup or fill (the last beat ≥ 1.5× as busy as the bar before), or
    a break (the last beat ≥ 6 dB under the bar before it: a drop-out before the drop)."""
    features = context.features
    rate = features.onset_rate
    out = []
    last_bar = float(_window_mean(features.rms_db, rate, time_s - bar_s, time_s))
    earlier = float(_window_mean(features.rms_db, rate, time_s - 3 * bar_s, time_s - 2 * bar_s))
    if time_s >= 3 * bar_s and last_bar - earlier >= BUILD_DB:
        out.append(f"a build ({last_bar - earlier:+.1f} dB over the two bars before)")
    last_beat = float(_window_mean(features.onset, rate, time_s - beat_s, time_s))
    bar_before = float(_window_mean(features.onset, rate, time_s - bar_s - beat_s, time_s - beat_s))
    if time_s >= bar_s + beat_s and last_beat >= PICKUP_FACTOR * max(bar_before, 1e-9):
        out.append("a pickup or fill in the last beat")
    beat_level = float(_window_mean(features.rms_db, rate, time_s - beat_s, time_s))
    bar_level = float(_window_mean(features.rms_db, rate, time_s - bar_s - beat_s, time_s - beat_s))
    if time_s >= bar_s + beat_s and bar_level - beat_level >= BREAK_DB:
        out.append("a break just before it")
    return out


def _grid_breaks(context: _Context, known: list[Transition]) -> list[Transition]:
    """Edits inside sections: a bar whose length breaks the bar grid, with a jump in the pulse's
    phase or a rare harmonic lurch inside it. (A broken bar alone is common: downbeat tracking
    re-aligns by whole beats in steady music.)"""
    rhythm = context.rhythm
    downbeats = rhythm.downbeats_s
    if len(downbeats) < 4:
        return []
    lengths = np.diff(downbeats)
    typical = float(np.median(lengths))
    out: list[Transition] = []
    for i, length in enumerate(lengths):
        start, end = float(downbeats[i]), float(downbeats[i + 1])
        if abs(length / typical - 1.0) <= 0.2:
            continue
        change, magnitude = _change_point(context.jump, context.features.onset_rate, start - 0.25 * typical,
                                          end + 0.25 * typical, np.zeros(0))
        beat_jump = bool(np.any((context.beat_breaks >= start) & (context.beat_breaks <= end)))
        lurch = context.harmonic_change_at(change) >= context.harmonic_rare
        if not (beat_jump or lurch):
            continue
        if any(abs(t.time_s - change) < 0.5 * typical for t in known + out):
            continue
        expected = start + typical  # where the old grid's next downbeat would have been
        off = min(abs(change - start), abs(expected - change))
        beats_in_bar = length / typical * rhythm.beats_per_bar
        out.append(Transition(time_s=change, level_jump_db=0.0, timbre_jump=0.0, off_downbeat_s=off, mid_phrase=True,
                              abrupt=True, reasons=[f"the bar grid breaks: a {beats_in_bar:.1f}-beat bar at "
                                                    f"{start:.2f} s",
                                                    "the beat jumps inside it" if beat_jump else
                                                    "the harmony lurches inside it",
                                                    f"change lands {off:.2f} s off the downbeat"]))
    return out


#: A change this many times the song's median half-second change is sudden.
SUDDEN_FACTOR = 3.0


def analyze_structure(features: Features, rhythm: Rhythm) -> Structure:
    """Sections, roles, transitions and the bar self-similarity of a track."""
    edges = _bar_edges(rhythm, features.duration_s)
    harmonic, timbral, levels = bar_similarity(features, edges)
    similarity = 0.5 * (harmonic + timbral)
    novelty = foote_novelty(similarity)
    starts = _boundaries(novelty)
    spans = _split_repeats(similarity, list(zip(starts, starts[1:] + [len(levels)])))
    labels = _label_sections(harmonic, similarity, spans)
    section_levels = [float(np.mean(levels[a:b])) for a, b in spans]
    roles = _roles([lab for lab, _, _ in labels], section_levels, spans, len(levels))
    sections = [Section(start_s=float(edges[a]) if i else 0.0, end_s=float(edges[b]), label=lab, role=role, bars=b - a,
                        level_db=level, repeat_of=rep, similarity=sim)
                for i, ((a, b), (lab, rep, sim), role, level) in enumerate(zip(spans, labels, roles, section_levels))]
    bar_steps = np.sqrt(np.mean(np.diff(_mean_between(features.bands_db, features.onset_rate, edges), axis=1) ** 2,
                                axis=0)) if len(levels) > 1 else np.ones(1)
    typical = float(np.median(bar_steps)) if bar_steps.size else 1.0
    jump = jump_curve(features)
    audible = jump[jump > 0]
    harmonic = harmonic_jump_curve(features)
    context = _Context(features, rhythm, jump, SUDDEN_FACTOR * float(np.median(audible)) if audible.size else np.inf,
                       typical, beat_breaks(rhythm), harmonic,
                       float(np.percentile(harmonic[harmonic > 0], 95)) if np.any(harmonic > 0) else np.inf)
    transitions = [_transition(context, s.start_s, prev.bars) for prev, s in zip(sections, sections[1:])]
    transitions = sorted(transitions + _grid_breaks(context, transitions), key=lambda t: t.time_s)
    return Structure(sections=sections, transitions=transitions, bar_times_s=edges[:-1], similarity=similarity,
                     novelty=novelty)
