"""The sections of a project version as it plays: names, bars and times (``trackwright sections``).

Conventions
-----------
* Sections are the draft's (its analysis' structure on the bar grid), as the version's
  arrangement plays them (:func:`trackwright.arrange.grid.occurrences`), named the way every
  edit and note names them: "intro", "verse 1", "chorus 2"…
* Bars are 1-based and inclusive, counted over the version's own arrangement (the pickup
  before the first downbeat and the ring-out after the last bar are not bars); times are
  seconds of the version's output. ``source_*`` give where the music comes from in the draft.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trackwright.arrange.grid import PICKUP, TAIL, edits_to_units, grid_from_analysis, occurrences
from trackwright.arrange.ops import touched_span
from trackwright.project.store import Project


@dataclass(frozen=True)
class PlayedSection:
    """One section as a version plays it.

    Attributes:
        name: how edits and notes name it ("chorus 2").
        role: intro, verse, chorus, bridge, breakdown or outro; label: its repetition label ("A", "B"…).
        first_bar, last_bar: its bars in the version, 1-based, inclusive.
        start_s, end_s: its times in the version's output, seconds.
        source_start_s, source_end_s: where its music lies in the draft, seconds.
    """

    name: str
    role: str
    label: str
    first_bar: int
    last_bar: int
    start_s: float
    end_s: float
    source_start_s: float
    source_end_s: float

    @property
    def bars(self) -> int:
        """How many bars it has."""
        return self.last_bar - self.first_bar + 1

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"name": self.name, "role": self.role, "label": self.label, "bars": [self.first_bar, self.last_bar],
                "start_s": round(self.start_s, 3), "end_s": round(self.end_s, 3),
                "source_start_s": round(self.source_start_s, 3), "source_end_s": round(self.source_end_s, 3)}


def project_sections(project: Project, version: int | None = None) -> list[PlayedSection]:
    """The sections of ``version`` (default: the latest) in playing order, with their bars and times.

    >>> [s.name for s in project_sections(Project.open("song"))]            # doctest: +SKIP
    ['intro', 'verse 1', 'chorus 1', 'verse 2', 'chorus 2', 'outro']
    """
    recipe = project.recipe(version)
    grid = grid_from_analysis(project.analysis_on_grid(version), project.source_audio())
    units = edits_to_units(grid, recipe.arrangement)
    out = []
    for occurrence in occurrences(grid, units):
        span = touched_span(units, occurrence.first, occurrence.end, occurrence.name)
        played = units[occurrence.first:occurrence.end]
        bars = [u for u in played if u.bar not in (PICKUP, TAIL)] or played
        out.append(PlayedSection(occurrence.name, occurrence.role, occurrence.label, span.first_bar, span.last_bar,
                                 span.start_s, span.end_s, float(bars[0].start_s), float(bars[-1].end_s)))
    return out
