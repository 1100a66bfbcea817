"""Where a directive applies, in seconds of the *current version's* output.

Section names in notes ("chorus 2", "the last chorus", "every verse", "the ending", "the last
section", "until the bridge") are resolved against the sections as the current arrangement
plays them (:func:`trackwright.arrange.grid.occurrences`), so "the second chorus" means the
second chorus the listener hears in this version, not in the draft. Relative scopes ("the last
20 s", "the first half") are measured on this version's length; "the drop" is where its energy
rises most (the 3 s after minus the 3 s before, in loudness), to the end of the section there.
"""

from __future__ import annotations

import numpy as np

from trackwright.analysis.findings import clock
from trackwright.analysis.loudness import power_to_lufs, weighted_power
from trackwright.arrange.edl import EditList
from trackwright.arrange.grid import BarGrid, Span, played_sections
from trackwright.audio import Audio
from trackwright.errors import ParameterError
from trackwright.revise.directives import Scope


def _matching(sections: list[Span], name: str) -> list[Span]:
    """The played sections a note's section name means."""
    name = name.strip().lower()
    if name in ("ending", "end", "outro") or name == "last section":
        outro = [s for s in sections if s.name.startswith("outro")]
        return outro[-1:] if outro and name != "last section" else sections[-1:]
    if name == "intro":
        intro = [s for s in sections if s.name.startswith("intro")]
        return intro[:1] or sections[:1]
    if name.startswith("every "):
        role = name.removeprefix("every ")
        return [s for s in sections if s.name.split()[0] == role]
    if name.startswith("last "):
        role = name.removeprefix("last ")
        return [s for s in sections if s.name.split()[0] == role][-1:]
    if name.startswith("section "):
        index = int(name.split()[1]) - 1
        return sections[index: index + 1]
    exact = [s for s in sections if s.name == name]
    if exact:
        return exact
    role, _, number = name.partition(" ")
    same_role = [s for s in sections if s.name.split()[0] == role]
    if number.isdigit():
        index = int(number) - 1
        return same_role[index: index + 1]
    return same_role  # "the chorus" with several choruses: all of them


#: "The drop" covers at least this long, and at most this long, seconds.
DROP_MIN_S, DROP_MAX_S = 6.0, 16.0


def find_drop(mix: Audio) -> float:
    """Where the energy rises most: the time (seconds) maximising the loudness of the 3 s after
    minus the 3 s before, on a 0.5 s grid."""
    power = weighted_power(mix)
    rate = mix.sample_rate
    cumulative = np.concatenate([[0.0], np.cumsum(power)])
    window = int(3.0 * rate)
    times = np.arange(3.0, max(mix.duration_s - 3.0, 3.0) + 1e-9, 0.5)
    if not len(times) or mix.frames < 2 * window:
        return 0.0
    at = (times * rate).astype(int)
    after = (cumulative[np.minimum(at + window, mix.frames)] - cumulative[at]) / window
    before = (cumulative[at] - cumulative[np.maximum(at - window, 0)]) / window
    rises = power_to_lufs(np.maximum(after, 1e-20)) - power_to_lufs(np.maximum(before, 1e-20))
    return float(times[int(np.argmax(rises))])


def resolve_scope(scope: Scope, grid: BarGrid, edits: EditList, *, mix: Audio | None = None) -> list[Span]:
    """The output spans (seconds) ``scope`` covers in the arrangement ``edits``; ``mix`` (the
    current version's) is needed for "the drop"."""
    total = edits.output_duration_s
    if scope.kind == "all":
        return [Span(0.0, total, "the whole piece")]
    if scope.kind == "range":
        start, end = min(scope.start_s or 0.0, total), min(scope.end_s or total, total)
        if end - start < 1.0:
            raise ParameterError(f"{scope.describe()} lies outside this version (it is {_clock(total)} long)")
        return [Span(start, end, scope.describe())]
    if scope.kind in ("last", "first"):
        seconds = float(scope.seconds or 0.0)
        if seconds >= total:
            raise ParameterError(f"{scope.describe()}: this version is only {_clock(total)} long")
        return [Span(total - seconds, total, scope.describe()) if scope.kind == "last"
                else Span(0.0, seconds, scope.describe())]
    if scope.kind == "fraction":
        a, b = scope.fraction or (0.0, 1.0)
        return [Span(a * total, b * total, scope.describe())]
    sections = played_sections(grid, edits)
    if scope.kind == "drop":
        if mix is None:
            raise ParameterError("the drop is found on the rendered version; none was given")
        t = find_drop(mix)
        end = next((s.end_s for s in sections if s.start_s - 1.0 <= t < s.end_s), t + DROP_MIN_S)
        end = min(max(end, t + DROP_MIN_S), t + DROP_MAX_S, total)
        return [Span(t, end, f"the drop ({_clock(t)})")]
    found: list[Span] = []
    for name in scope.sections:
        matches = _matching(sections, name)
        if not matches:
            names = ", ".join(s.name for s in sections)
            raise ParameterError(f"this version has no {name!r}; its sections are: {names}")
        found.extend(matches)
    if scope.kind == "sections":
        return sorted(found, key=lambda s: s.start_s)
    pivot = scope.start_s if scope.start_s is not None else min(s.start_s for s in found)
    what = " and ".join(scope.sections) if scope.sections else None
    if scope.kind == "until":
        if pivot <= 0.1:
            raise ParameterError(f"'{scope.describe()}' leaves nothing before it")
        return [Span(0.0, min(pivot, total), f"everything before the {what}" if what else f"0:00–{_clock(pivot)}")]
    if pivot >= total - 1.0:
        raise ParameterError(f"'{scope.describe()}' leaves nothing after it (this version is {_clock(total)} long)")
    return [Span(pivot, total, f"the {what} on" if what else f"{_clock(pivot)} to the end")]


def _clock(seconds: float) -> str:
    return clock(seconds)


def entries(spans: list[Span]) -> list[Span]:
    """The spans one enters from outside the list: a chorus that follows a chorus continues it, so
    a build "into the chorus" goes before the first of the two only."""
    return [s for s in spans if not any(o is not s and abs(o.end_s - s.start_s) < 0.05 for o in spans)]
