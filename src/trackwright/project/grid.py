"""The beat grid a project stands on: as heard in the draft, or as the user set it.

A recipe's ``grid:`` block (:class:`~trackwright.analysis.beat_grid.GridOverride`) corrects the
draft's heard grid: a tempo, half or double time, a metre, a bar line. Every stage that edits on
beats and bars reads the draft's analysis on the version's grid
(:meth:`~trackwright.project.store.Project.analysis_on_grid`); this module changes the block
(:func:`updated_grid`, used by :func:`~trackwright.project.operations.grid_project`) and carries
the grid into an analysis of a version's mix (:func:`on_version_grid`).

Conventions
-----------
Times are seconds in the draft, tempos metrical beats per minute (dotted quarters in 6/8, 9/8,
12/8).
"""

from __future__ import annotations

from trackwright.analysis.analyze import Analysis
from trackwright.analysis.beat_grid import GridOverride
from trackwright.arrange.grid import rhythm_in_output
from trackwright.errors import ParameterError
from trackwright.project.recipe import Recipe
from trackwright.project.store import Project


def updated_grid(grid: GridOverride | None, *, bpm: float | None = None, half: bool = False, double: bool = False,
                 metre: str | None = None, downbeat_s: float | None = None, clear: bool = False,
                 ) -> GridOverride | None:
    """The ``grid:`` block after one request; None is the grid as heard.

    What the request names replaces what the block had; the rest stays. ``half`` and ``double``
    act on the tempo the block already sets: half of a set 120 BPM is 60 BPM, and half after
    double is the heard tempo again. ``clear`` goes back to the grid as heard.

    Examples
    --------
    >>> updated_grid(None, bpm=123.0).describe()
    '123 BPM'
    >>> updated_grid(GridOverride(bpm=123.0), half=True, metre="6/8").describe()
    '61.5 BPM, 6/8'
    >>> updated_grid(GridOverride(double=True), half=True) is None
    True
    """
    named = bpm is not None or half or double or metre is not None or downbeat_s is not None
    if clear:
        if named:
            raise ParameterError("--clear goes back to the grid as heard: give it alone")
        return None
    if not named:
        raise ParameterError("say what to set: --bpm, --half, --double, --metre or --downbeat (or --clear)")
    if half and double:
        raise ParameterError("half and double time cannot both be set")
    if bpm is not None and (half or double):
        raise ParameterError("set a tempo or halve/double the heard one, not both")
    old = grid or GridOverride()
    new_bpm, new_half, new_double = old.bpm, old.half, old.double
    if bpm is not None:
        new_bpm, new_half, new_double = bpm, False, False
    elif half or double:
        factor = 0.5 if half else 2.0
        if old.bpm is not None:
            new_bpm = old.bpm * factor
        elif (half and old.double) or (double and old.half):
            new_half = new_double = False  # back to the heard tempo
        elif (half and old.half) or (double and old.double):
            raise ParameterError(f"the grid is already at {'half' if half else 'double'} the heard tempo: "
                                 "set the tempo with --bpm")
        else:
            new_half, new_double = half, double
    result = GridOverride(bpm=new_bpm, half=new_half, double=new_double,
                          metre=metre if metre is not None else old.metre,
                          downbeat_s=downbeat_s if downbeat_s is not None else old.downbeat_s)
    return None if result.is_empty else result


def on_version_grid(analysis: Analysis, project: Project, recipe: Recipe) -> Analysis:
    """``analysis`` of a version's rendered mix (output seconds) on the grid ``recipe`` sets,
    carried through its arrangement (:func:`~trackwright.arrange.grid.rhythm_in_output`):
    ``grid_source`` ``"user"``. Unchanged when the recipe sets no grid."""
    if recipe.grid is None:
        return analysis
    draft = project.analysis().with_grid(recipe.grid)
    return analysis.with_rhythm(rhythm_in_output(draft.rhythm, recipe.arrangement))
