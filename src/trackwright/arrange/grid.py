"""The source's bar grid and sections, read from an analysis, and the units edits move around.

A :class:`BarGrid` lists the bars of the *source* (downbeat to downbeat, seconds), the pickup
before the first downbeat, the tail after the last bar (the final chord ringing out) and the
sections as bar ranges. An arrangement is seen as a list of :class:`Unit` s: whole (or, after
a fit, partial) source bars in playing order, each remembering which source bar and section it
came from. Edits rearrange units; :func:`units_to_edits` turns them back into an
:class:`~trackwright.arrange.edl.EditList`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from trackwright.analysis.analyze import Analysis
from trackwright.analysis.metre import signature
from trackwright.analysis.rhythm import Rhythm, rhythm_from_grid
from trackwright.arrange.edl import EditList, Segment
from trackwright.arrange.splice import attack_near
from trackwright.audio import Audio
from trackwright.errors import ParameterError

PICKUP = -1  #: bar index of the pickup before the first downbeat
TAIL = -2  #: bar index of the ring-out after the last bar


@dataclass(frozen=True)
class GridSection:
    """A source section as a bar range ``[first_bar, end_bar)`` with its label and role."""

    first_bar: int
    end_bar: int
    label: str
    role: str


@dataclass(frozen=True)
class BarGrid:
    """Bars of the source.

    Attributes
    ----------
    starts_s : np.ndarray
        Downbeat times, seconds, one per bar; bar ``i`` spans ``starts_s[i]`` to ``ends_s[i]``.
    ends_s : np.ndarray
        End of each bar, seconds (the next downbeat; the last bar is given the median length).
    beats_s : np.ndarray
        Every beat, seconds.
    duration_s : float
        Length of the source, seconds.
    sections : tuple of GridSection
    subdivision : int
        How each beat divides: 2 (simple metres, beats are quarters) or 3 (compound metres,
        beats are dotted quarters).
    """

    starts_s: np.ndarray
    ends_s: np.ndarray
    beats_s: np.ndarray
    duration_s: float
    sections: tuple[GridSection, ...]
    subdivision: int = 2

    @property
    def bars(self) -> int:
        return len(self.starts_s)

    @property
    def bar_s(self) -> float:
        """Median bar length, seconds."""
        return float(np.median(self.ends_s - self.starts_s))

    @property
    def beats_per_bar(self) -> int:
        inside = [np.count_nonzero((self.beats_s >= s - 0.02) & (self.beats_s < e - 0.02))
                  for s, e in zip(self.starts_s, self.ends_s)]
        return max(1, int(np.median(inside))) if inside else 4

    @property
    def time_signature(self) -> str:
        """``"3/4"``, ``"6/8"``…: :attr:`beats_per_bar` beats divided in :attr:`subdivision`."""
        return signature(self.beats_per_bar, self.subdivision)

    def section_of(self, bar: int) -> int:
        """Index of the section holding source bar ``bar`` (the pickup joins the first, the tail the last)."""
        if bar == PICKUP:
            return 0
        if bar == TAIL:
            return len(self.sections) - 1
        for index, section in enumerate(self.sections):
            if section.first_bar <= bar < section.end_bar:
                return index
        return len(self.sections) - 1

    def bar_span(self, bar: int) -> tuple[float, float]:
        """(start_s, end_s) of a source bar, the pickup or the tail."""
        if bar == PICKUP:
            return 0.0, float(self.starts_s[0])
        if bar == TAIL:
            return float(self.ends_s[-1]), self.duration_s
        return float(self.starts_s[bar]), float(self.ends_s[bar])

    def beats_in(self, bar: int) -> np.ndarray:
        """Beat times (seconds) inside a source bar, downbeat first."""
        start, end = self.bar_span(bar)
        inside = self.beats_s[(self.beats_s >= start - 0.02) & (self.beats_s < end - 0.02)]
        return inside if len(inside) else np.array([start])


def grid_from_analysis(analysis: Analysis, audio: Audio | None = None) -> BarGrid:
    """The bar grid of an :class:`~trackwright.analysis.analyze.Analysis` (see :func:`bar_grid`)."""
    sections = [(s.start_s, s.end_s, s.label, s.role) for s in analysis.structure.sections]
    return bar_grid(analysis.duration_s, analysis.rhythm.downbeats_s, analysis.rhythm.beats_s, sections, audio,
                    subdivision=analysis.rhythm.subdivision)


def rhythm_in_output(rhythm: Rhythm, edits: EditList) -> Rhythm:
    """A beat grid of the source (seconds) carried into the output of ``edits``: every beat and
    bar line at each output time its source time plays (none where the edit cut it, one per
    repetition). Edits join on beats, so the carried grid stays regular; the tempo is read from
    it again (stretched segments play slower or faster)."""
    def carried(times: np.ndarray) -> np.ndarray:
        return np.array(sorted(t for s in times for t in edits.output_times(float(s))), dtype=float)

    return rhythm_from_grid(carried(rhythm.beats_s), carried(rhythm.downbeats_s), rhythm.beats_per_bar,
                            rhythm.subdivision, user_set=rhythm.user_set)


def bar_grid(duration_s: float, downbeats_s: Sequence[float] | np.ndarray, beats_s: Sequence[float] | np.ndarray,
             sections: Sequence[tuple[float, float, str, str]] = (), audio: Audio | None = None, *,
             subdivision: int = 2) -> BarGrid:
    """Build the grid from downbeats and beats (seconds) and sections ``(start_s, end_s, label, role)``;
    ``subdivision`` (2 or 3) says how each beat divides (3: a compound metre such as 6/8).

    With ``audio``, every beat is moved onto its attack (within ±35 ms; see
    :func:`~trackwright.arrange.splice.find_attack`): the analysis' beats sit on a 10 ms frame
    grid, and a hit point or a join should land on the drum, not near it.
    """
    duration = float(duration_s)
    downbeats = np.asarray(downbeats_s, dtype=float)
    beats = np.asarray(beats_s, dtype=float)
    if len(downbeats) >= 3:
        downbeats = regular_bars(downbeats, beats)
    if audio is not None:
        downbeats, beats = on_attacks(audio, downbeats), on_attacks(audio, beats)
    downbeats = downbeats[(downbeats >= 0) & (downbeats < duration)]
    if len(downbeats) < 2:
        raise ParameterError("the track has fewer than two downbeats: there is no bar grid to edit on")
    ends = np.append(downbeats[1:], downbeats[-1] + float(np.median(np.diff(downbeats))))
    keep = ends <= duration + 0.05
    starts, ends = downbeats[keep], np.minimum(ends[keep], duration)
    if len(starts) < 1:
        raise ParameterError("the track is shorter than one bar")
    placed: list[GridSection] = []
    for start_s, end_s, label, role in sections:
        first = int(np.argmin(np.abs(starts - float(start_s))))
        end = int(np.argmin(np.abs(starts - float(end_s)))) if end_s < ends[-1] - 0.05 else len(starts)
        if end > first and (not placed or first >= placed[-1].end_bar):
            placed.append(GridSection(first, end, str(label), str(role)))
    if not placed:
        placed = [GridSection(0, len(starts), "A", "section")]
    # Sections tile the bars: close gaps by extending each section to the next one.
    tiled = []
    for index, section in enumerate(placed):
        first = 0 if index == 0 else section.first_bar
        end = placed[index + 1].first_bar if index + 1 < len(placed) else len(starts)
        tiled.append(GridSection(first, end, section.label, section.role))
    return BarGrid(starts, ends, beats, duration, tuple(tiled), subdivision)


def regular_bars(downbeats_s: np.ndarray, beats_s: np.ndarray) -> np.ndarray:
    """Downbeats with the analysis' slips mended: a downbeat closer than 0.6 bar to the one before
    is dropped, and a gap longer than 1.5 bars gets the missing downbeats (on the nearest beat).
    """
    median = float(np.median(np.diff(downbeats_s)))
    kept = [float(downbeats_s[0])]
    for t in downbeats_s[1:]:
        if t - kept[-1] >= 0.6 * median:
            kept.append(float(t))
    out = [kept[0]]
    for a, b in zip(kept[:-1], kept[1:]):
        count = int(round((b - a) / median))
        for i in range(1, count if b - a > 1.5 * median else 1):
            guess = a + i * (b - a) / count
            near = beats_s[np.abs(beats_s - guess) < 0.1 * median] if len(beats_s) else []
            out.append(float(near[np.argmin(np.abs(near - guess))]) if len(near) else guess)
        out.append(b)
    return np.asarray(out)


def on_attacks(audio: Audio, times_s: np.ndarray, *, reach: int = 8) -> np.ndarray:
    """Move each beat time onto its attack; beats without a clear attack (a pad, a held chord)
    are placed between the nearest attacked beats (within ``reach`` beats), in proportion.
    """
    found = [attack_near(audio, float(t)) for t in times_s]
    confirmed = np.array([f is not None for f in found])
    moved = np.array([t if f is None else f for t, f in zip(times_s, found)], dtype=float)
    if confirmed.sum() < 2:
        return moved
    index = np.arange(len(times_s))
    known = index[confirmed]
    offsets = moved[confirmed] - np.asarray(times_s, dtype=float)[confirmed]
    for i in index[~confirmed]:
        left, right = known[known < i], known[known > i]
        near = [k for k in (left[-1:] if len(left) else []) if i - k <= reach] + \
            [k for k in (right[:1] if len(right) else []) if k - i <= reach]
        if near:  # the analysis' beat error is local: borrow the neighbours' correction
            moved[i] = times_s[i] + float(np.interp(i, near, [offsets[list(known).index(k)] for k in near]))
    return moved


@dataclass(frozen=True)
class Unit:
    """One piece of an arrangement: source bar ``bar`` from ``start_s`` to ``end_s`` (a whole bar unless trimmed)."""

    bar: int
    start_s: float
    end_s: float
    stretch: float = 1.0


def edits_to_units(grid: BarGrid, edits: EditList) -> list[Unit]:
    """Split an edit list's segments at the source downbeats into units."""
    units: list[Unit] = []
    edges = np.concatenate([[0.0], grid.starts_s, [grid.ends_s[-1], grid.duration_s]])
    labels = [PICKUP, *range(grid.bars), TAIL]
    for segment in edits.segments:
        cuts = sorted({segment.start_s, segment.end_s, *[e for e in edges if segment.start_s < e < segment.end_s]})
        for a, b in zip(cuts[:-1], cuts[1:]):
            if b - a < 1e-4:
                continue
            index = int(np.searchsorted(edges, a + 1e-4, side="right")) - 1
            bar = labels[min(max(index, 0), len(labels) - 1)]
            units.append(Unit(bar, a, b, segment.stretch))
    return units


def units_to_edits(units: Sequence[Unit], *, fade_in_s: float = 0.0, fade_out_s: float = 0.0,
                   duration_s: float | None = None) -> EditList:
    """Join units back into an edit list (contiguous units of equal stretch become one segment)."""
    if not units:
        raise ParameterError("the edit would leave nothing to play")
    edits = EditList(tuple(Segment(u.start_s, u.end_s, u.stretch) for u in units), fade_in_s, fade_out_s, duration_s)
    return edits.merged()


@dataclass(frozen=True)
class Occurrence:
    """A run of units that plays one source section once, in the arrangement's order."""

    name: str
    role: str
    label: str
    first: int  #: index of its first unit
    end: int  #: one past its last unit
    section: int  #: index into grid.sections

    @property
    def units(self) -> int:
        return self.end - self.first


def occurrences(grid: BarGrid, units: Sequence[Unit]) -> list[Occurrence]:
    """The sections as they occur in ``units``, named "intro", "verse 1", "chorus 2"…

    A new occurrence starts where the source section changes or the music jumps back. One jump
    back does not: from the section's last bar to a bar inside it other than its first — the
    section looping its last phrase, as :func:`trackwright.arrange.ops.extend` does — lengthens
    that occurrence, so an extended "verse 1" stays "verse 1" and the verses after it keep their
    numbers; a repeat of bars from the middle of a section still starts a new occurrence.
    """
    runs: list[tuple[int, int, int]] = []  # (section, first, end)
    for index, unit in enumerate(units):
        section = grid.section_of(unit.bar)
        if runs:
            last_section, first, _ = runs[-1]
            previous = units[index - 1]
            onward = unit.bar == TAIL or previous.bar == PICKUP or unit.bar > previous.bar or \
                (unit.bar == previous.bar and unit.start_s >= previous.end_s - 1e-4)
            looped = previous.bar == grid.sections[section].end_bar - 1 and unit.bar >= 0 \
                and unit.bar != grid.sections[section].first_bar
            if section == last_section and (onward or looped):
                runs[-1] = (section, first, index + 1)
                continue
        runs.append((section, index, index + 1))
    totals: dict[str, int] = {}
    for section, _, _ in runs:
        role = grid.sections[section].role
        totals[role] = totals.get(role, 0) + 1
    seen: dict[str, int] = {}
    out = []
    for section, first, end in runs:
        role = grid.sections[section].role
        seen[role] = seen.get(role, 0) + 1
        name = role if totals[role] == 1 else f"{role} {seen[role]}"
        out.append(Occurrence(name, role, grid.sections[section].label, first, end, section))
    return out


_BARS = re.compile(r"^bars?\s+(\d+)(?:\s*[-–]\s*(\d+))?$")


def resolve(grid: BarGrid, units: Sequence[Unit], target: str) -> tuple[int, int, str]:
    """Units ``[first, end)`` named by ``target``: "chorus 2", "intro", "verse" (if only one),
    a repetition label such as "B", or "bars 9-16" (1-based bars of the current arrangement).

    Returns (first, end, a name for messages).
    """
    text = " ".join(target.lower().split())
    found = _BARS.match(text)
    if found:
        bar_units = [i for i, u in enumerate(units) if u.bar not in (PICKUP, TAIL)]
        lo = int(found.group(1))
        hi = int(found.group(2) or lo)
        if not 1 <= lo <= hi <= len(bar_units):
            raise ParameterError(f"{target!r}: the arrangement has bars 1–{len(bar_units)}")
        first, end = bar_units[lo - 1], bar_units[hi - 1] + 1
        return first, end, f"bars {lo}–{hi}" if hi > lo else f"bar {lo}"
    found_occ = occurrences(grid, units)
    for occ in found_occ:
        if text in (occ.name, f"{occ.role} 1" if occ.name == occ.role else occ.name):
            return occ.first, occ.end, occ.name
    by_label = [occ for occ in found_occ if occ.label.lower() == text]
    if len(by_label) == 1:
        return by_label[0].first, by_label[0].end, by_label[0].name
    names = ", ".join(occ.name for occ in found_occ)
    raise ParameterError(f"no section {target!r} in this arrangement; it has: {names} (or say 'bars 9-16')")


@dataclass(frozen=True)
class Span:
    """A stretch of the output, seconds, with the name it was resolved from."""

    start_s: float
    end_s: float
    name: str


def _unit_starts(units: Sequence[Unit]) -> list[float]:
    """Output time (seconds) where each unit starts, then where the last one ends."""
    starts = [0.0]
    for unit in units:
        starts.append(starts[-1] + float(unit.end_s - unit.start_s) * unit.stretch)
    return starts


def played_sections(grid: BarGrid, edits: EditList) -> list[Span]:
    """Every section as the arrangement plays it, in output seconds, named "intro", "chorus 2"…"""
    units = edits_to_units(grid, edits)
    starts = _unit_starts(units)
    return [Span(float(starts[o.first]), float(starts[o.end]), o.name) for o in occurrences(grid, units)]


@dataclass(frozen=True)
class PlayedBars:
    """The bar lines of an arrangement as it plays, in output seconds.

    Attributes
    ----------
    lines_s : np.ndarray
        Every bar line: the downbeat of each bar played from its start, then the end of the
        last bar (where the ring-out, if any, begins). Bar ``i`` spans ``lines_s[i]`` to
        ``lines_s[i + 1]``; audio before ``lines_s[0]`` is a pickup.
    beats : np.ndarray
        Whole beats in each bar (``len(lines_s) - 1`` of them): the source's beats per bar for
        a whole bar, fewer for a bar the arrangement shortened (at least one).
    """

    lines_s: np.ndarray
    beats: np.ndarray


def played_bars(grid: BarGrid, edits: EditList) -> PlayedBars:
    """The source's bar grid mapped through ``edits`` onto the output timeline (seconds).

    A bar line falls wherever a source bar starts playing from its downbeat; a bar that is cut
    short ends at the next such line. Each bar's beats are its length over the source's median
    beat (bar length / beats per bar) rounded, so tempo-map bars follow the music's downbeats
    and a shortened bar gets the metre of the beats it keeps.

    Raises
    ------
    ParameterError
        Fewer than one whole bar plays.
    """
    units = edits_to_units(grid, edits)
    starts = _unit_starts(units)
    end_s = edits.output_duration_s
    lines: list[float] = []
    for index, unit in enumerate(units):
        if unit.bar < 0 or abs(unit.start_s - float(grid.starts_s[unit.bar])) > 1e-3:
            continue
        if starts[index] < end_s - 1e-6 and (not lines or starts[index] > lines[-1] + 1e-6):
            lines.append(starts[index])
    closing = [starts[i + 1] for i, u in enumerate(units) if u.bar >= 0]  # where the last bar played ends
    if closing and lines and closing[-1] > lines[-1] + 1e-6:
        lines.append(min(closing[-1], end_s))
    if len(lines) < 2:
        raise ParameterError("the arrangement plays less than one whole bar: there is no bar grid to export")
    beat_s = grid.bar_s / grid.beats_per_bar
    index = 1
    while index < len(lines) and len(lines) > 2:  # a sliver under half a beat joins the bar before it
        if lines[index] - lines[index - 1] < 0.5 * beat_s:
            del lines[index - 1]  # (the first bar's downbeat: the sliver becomes the pickup)
        else:
            index += 1
    lengths = np.diff(lines)
    beats = np.maximum(1, np.round(lengths / beat_s)).astype(int)
    return PlayedBars(np.asarray(lines, dtype=float), beats)
