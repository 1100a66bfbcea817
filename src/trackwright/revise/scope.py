"""Where a directive applies, in seconds of the *current version's* output.

Section names in notes ("chorus 2", "the last chorus", "every verse", "the ending", "the last
section", "until the bridge") are resolved against the sections as the current arrangement
plays them (:func:`trackwright.arrange.grid.occurrences`), so "the second chorus" means the
second chorus the listener hears in this version, not in the draft.
"""

from __future__ import annotations

from trackwright.analysis.findings import clock
from trackwright.arrange.edl import EditList
from trackwright.arrange.grid import BarGrid, Span, played_sections
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


def resolve_scope(scope: Scope, grid: BarGrid, edits: EditList) -> list[Span]:
    """The output spans (seconds) ``scope`` covers in the arrangement ``edits``."""
    total = edits.output_duration_s
    if scope.kind == "all":
        return [Span(0.0, total, "the whole piece")]
    if scope.kind == "range":
        start, end = min(scope.start_s or 0.0, total), min(scope.end_s or total, total)
        if end - start < 0.1:
            raise ParameterError(f"{scope.describe()} lies outside this version (it is {total:.1f} s long)")
        return [Span(start, end, scope.describe())]
    sections = played_sections(grid, edits)
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
    if pivot >= total - 0.1:
        raise ParameterError(f"'{scope.describe()}' leaves nothing after it")
    return [Span(pivot, total, f"the {what} on" if what else f"{_clock(pivot)} to the end")]


def _clock(seconds: float) -> str:
    return clock(seconds)
