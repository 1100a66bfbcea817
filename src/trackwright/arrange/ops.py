"""Arrangement edits on the beat grid: cut, repeat, move, extend, shorten, fade.

Every edit takes the current :class:`~trackwright.arrange.edl.EditList`, the source's
:class:`~trackwright.arrange.grid.BarGrid` and a target ("chorus 2", "intro", "bars 9-16"),
and returns the new edit list with a sentence saying what changed. Edits work on whole bars,
so every join lands on a downbeat.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from trackwright.analysis.findings import clock
from trackwright.arrange.edl import EditList
from trackwright.arrange.grid import PICKUP, TAIL, BarGrid, Unit, edits_to_units, resolve, units_to_edits
from trackwright.errors import ParameterError

OPERATIONS = ("cut", "repeat", "move", "extend", "shorten", "fade")


@dataclass(frozen=True)
class Touched:
    """Where an edit acted, on the timeline it names (the new arrangement; the old one for a cut).

    Attributes:
        what: the stretch in words ("verse 1 now", "the repeats", "removed from").
        first_bar, last_bar: its bars, 1-based and inclusive, counted in that arrangement.
        start_s, end_s: its times in that arrangement's output, seconds.
    """

    what: str
    first_bar: int
    last_bar: int
    start_s: float
    end_s: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"what": self.what, "bars": [self.first_bar, self.last_bar], "start_s": round(self.start_s, 3),
                "end_s": round(self.end_s, 3)}

    def describe(self) -> str:
        """``"verse 1 now: bars 5–16, 0:09.6–0:32"``."""
        bars = f"bar {self.first_bar}" if self.first_bar == self.last_bar else f"bars {self.first_bar}–{self.last_bar}"
        return f"{self.what}: {bars}, {clock(self.start_s)}–{clock(self.end_s)}"


@dataclass(frozen=True)
class EditResult:
    """The new arrangement, what the edit did in words, and where it acted (None for a fade of length 0)."""

    edits: EditList
    message: str
    touched: Touched | None = None


def touched_span(units: Sequence[Unit], first: int, end: int, what: str) -> Touched:
    """The :class:`Touched` of units ``[first, end)`` of an arrangement: bars counted over whole
    bars (the pickup and the tail are not bars), times from the units' played lengths."""
    starts = [0.0]
    for unit in units:
        starts.append(starts[-1] + float(unit.end_s - unit.start_s) * unit.stretch)
    numbers = []
    count = 0
    for unit in units:
        if unit.bar not in (PICKUP, TAIL):
            count += 1
        numbers.append(count)
    inside = [numbers[i] for i in range(first, end) if units[i].bar not in (PICKUP, TAIL)]
    lo, hi = (inside[0], inside[-1]) if inside else (max(numbers[first], 1), max(numbers[first], 1))
    return Touched(what, lo, hi, starts[first], starts[end])


def _bars(count: int) -> str:
    return f"{count} bar" if count == 1 else f"{count} bars"


#: Most extra times one ``repeat`` may play a section.
MAX_REPEATS = 64
#: Longest arrangement an edit may make, seconds (an hour).
MAX_ARRANGEMENT_S = 3600.0


def _rebuild(edits: EditList, units: list[Unit], message: str, touched: Touched | None = None,
             **fades: float) -> EditResult:
    fade_in = fades.get("fade_in_s", edits.fade_in_s)
    fade_out = fades.get("fade_out_s", edits.fade_out_s)
    made = units_to_edits(units, fade_in_s=fade_in, fade_out_s=fade_out)
    if made.output_duration_s > MAX_ARRANGEMENT_S:
        raise ParameterError(f"this edit would make the piece {made.output_duration_s:.0f} s long; an arrangement "
                             f"lasts at most {MAX_ARRANGEMENT_S:.0f} s")
    return EditResult(made, message, touched)


def _whole(units: list[Unit], first: int, end: int) -> int:
    return sum(1 for u in units[first:end] if u.bar not in (PICKUP, TAIL))


def cut(edits: EditList, grid: BarGrid, target: str) -> EditResult:
    """Remove ``target`` (its pickup and the song's tail stay where they are)."""
    units = edits_to_units(grid, edits)
    first, end, name = resolve(grid, units, target)
    keep = [u for i, u in enumerate(units) if not first <= i < end or u.bar in (PICKUP, TAIL)]
    if not any(u.bar not in (PICKUP, TAIL) for u in keep):
        raise ParameterError(f"cutting {name} would leave no bars")
    return _rebuild(edits, keep, f"{name} removed ({_bars(_whole(units, first, end))})",
                    touched_span(units, first, end, f"{name} was (in the arrangement before the cut)"))


def repeat(edits: EditList, grid: BarGrid, target: str, times: int = 1) -> EditResult:
    """Play ``target`` ``times`` more times right after itself (a loop)."""
    if not 1 <= times <= MAX_REPEATS:
        raise ParameterError(f"--times must be 1–{MAX_REPEATS}, got {times}")
    units = edits_to_units(grid, edits)
    first, end, name = resolve(grid, units, target)
    body = [u for u in units[first:end] if u.bar not in (PICKUP, TAIL)]
    at = end - 1 if units[end - 1].bar == TAIL else end  # repeating the last section: the ring-out goes after
    new = units[:at] + body * times + units[at:]
    return _rebuild(edits, new, f"{name} repeated{'' if times == 1 else f' {times}×'} (+{_bars(len(body) * times)})",
                    touched_span(new, at, at + len(body) * times, "the repeats"))


def move(edits: EditList, grid: BarGrid, target: str, *, before: str | None = None,
         after: str | None = None) -> EditResult:
    """Move ``target`` before or after another section (or "start"/"end")."""
    if (before is None) == (after is None):
        raise ParameterError("move needs exactly one of --before or --after")
    units = edits_to_units(grid, edits)
    first, end, name = resolve(grid, units, target)
    body = [u for u in units[first:end] if u.bar not in (PICKUP, TAIL)]
    rest = [u for i, u in enumerate(units) if not first <= i < end or u.bar in (PICKUP, TAIL)]
    anchor = before if before is not None else after
    assert anchor is not None
    if anchor.strip().lower() in ("start", "beginning"):
        at = 1 if rest and rest[0].bar == PICKUP else 0
        where = "to the start"
    elif anchor.strip().lower() == "end":
        at = len(rest) - 1 if rest and rest[-1].bar == TAIL else len(rest)
        where = "to the end"
    else:
        a_first, a_end, a_name = resolve(grid, rest, anchor)
        if before is not None:
            at = a_first + (1 if rest[a_first].bar == PICKUP else 0)
        else:
            at = a_end - (1 if rest[a_end - 1].bar == TAIL else 0)
        where = f"{'before' if before is not None else 'after'} {a_name}"
    new = rest[:at] + body + rest[at:]
    return _rebuild(edits, new, f"{name} moved {where}", touched_span(new, at, at + len(body), f"{name} now"))


def extend(edits: EditList, grid: BarGrid, target: str, bars: int) -> EditResult:
    """Lengthen ``target`` by ``bars`` bars, repeating its last bars (its last phrase)."""
    if bars < 1:
        raise ParameterError(f"--bars must be at least 1, got {bars}")
    units = edits_to_units(grid, edits)
    first, end, name = resolve(grid, units, target)
    body = [u for u in units[first:end] if u.bar not in (PICKUP, TAIL)]
    if not body:
        raise ParameterError(f"{name} has no whole bars to repeat")
    phrase = body[-_phrase_length(bars, len(body)):]
    added = [phrase[i % len(phrase)] for i in range(bars)]
    # right after the phrase: it plays again (whole times over), so the section still ends as it did
    at = max(i for i in range(first, end) if units[i].bar not in (PICKUP, TAIL)) + 1
    new = units[:at] + added + units[at:]
    return _rebuild(edits, new, f"{name} extended by {_bars(bars)}",
                    touched_span(new, first, end + bars, f"{name} now"))


def _phrase_length(bars: int, section_bars: int) -> int:
    """Bars in the phrase repeated to extend by ``bars``: 8, 4 or 2 when they divide ``bars``, else 1;
    always fewer than the section's ``section_bars`` (when it has more than one), so the extension
    loops *inside* the section rather than repeating it whole — the section keeps its name."""
    for size in (8, 4, 2):
        if bars % size == 0 and size < section_bars:
            return size
    return 1


def shorten(edits: EditList, grid: BarGrid, target: str, bars: int, *, from_end: bool = False) -> EditResult:
    """Remove ``bars`` bars from the start of ``target`` (or its end with ``from_end``)."""
    if bars < 1:
        raise ParameterError(f"--bars must be at least 1, got {bars}")
    units = edits_to_units(grid, edits)
    first, end, name = resolve(grid, units, target)
    inside = [i for i in range(first, end) if units[i].bar not in (PICKUP, TAIL)]
    if bars >= len(inside):
        raise ParameterError(f"{name} has {_bars(len(inside))}; shortening it by {bars} would remove it (use cut)")
    drop = set(inside[-bars:] if from_end else inside[:bars])
    new = [u for i, u in enumerate(units) if i not in drop]
    return _rebuild(edits, new, f"{name} shortened by {_bars(bars)}",
                    touched_span(new, first, end - bars, f"{name} now"))


def fade(edits: EditList, grid: BarGrid, direction: str, *, bars: float | None = None,
         seconds: float | None = None) -> EditResult:
    """Fade the arrangement in at its start or out at its end, over ``bars`` bars or ``seconds``."""
    if direction not in ("in", "out"):
        raise ParameterError(f"fade direction must be 'in' or 'out', got {direction!r}")
    if (bars is None) == (seconds is None):
        raise ParameterError("fade needs exactly one of --bars or --seconds")
    length = bars * grid.bar_s if bars is not None else float(seconds)  # type: ignore[arg-type]
    if not 0 <= length <= edits.output_duration_s:
        raise ParameterError(f"a {length:.2f} s fade does not fit a {edits.output_duration_s:.2f} s arrangement")
    units = edits_to_units(grid, edits)
    what = f"{_bars(int(bars))}" if bars is not None and float(bars).is_integer() else f"{length:.1f} s"
    key = "fade_in_s" if direction == "in" else "fade_out_s"
    total = edits.output_duration_s
    span = (0.0, length) if direction == "in" else (total - length, total)
    touched = None
    if length:
        starts = np.cumsum([0.0] + [float(u.end_s - u.start_s) * u.stretch for u in units])
        over = [i for i in range(len(units)) if starts[i] < span[1] - 1e-6 and starts[i + 1] > span[0] + 1e-6]
        found = touched_span(units, over[0], over[-1] + 1, f"the fade {direction}")
        touched = dataclasses.replace(found, start_s=span[0], end_s=span[1])
    return _rebuild(edits, units, f"fade {direction} over {what}" if length else f"fade {direction} removed",
                    touched, **{key: length})


def apply_operation(name: str, edits: EditList, grid: BarGrid, target: str, **options: object) -> EditResult:
    """Dispatch one of :data:`OPERATIONS` by name (used by the command line)."""
    table: dict[str, Callable[..., EditResult]] = {"cut": cut, "repeat": repeat, "move": move, "extend": extend,
                                                   "shorten": shorten, "fade": fade}
    if name not in table:
        raise ParameterError(f"unknown edit {name!r}; choose one of {', '.join(OPERATIONS)}")
    return table[name](edits, grid, target, **options)
