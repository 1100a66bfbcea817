"""``trackwright note``: a creative note becomes a new version, explained and measured.

1. Read the note (:func:`trackwright.revise.llm.read_note`: the built-in reader, or the user's
   own model when configured).
2. Resolve each directive's scope on the current version's timeline
   (:func:`trackwright.revise.scope.resolve_scope`).
3. Plan the techniques (:func:`trackwright.revise.techniques.plan_directive`) into recipe
   changes: automation moves, composition operations, a tempo stretch.
4. Commit the new recipe as a version, render it (cached), and measure the descriptors of
   :mod:`trackwright.revise.measure` in every scope before and after, plus how much the audio
   outside the scopes changed (nothing, for automation alone).
5. Write the explanation to ``PROJECT/notes/vNNNN.json`` and return it.

A note that maps to nothing is answered with what was and was not understood, and no version is
made. ``dry_run`` plans and explains without committing or rendering.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trackwright.arrange.edl import MAX_STRETCH_DEVIATION, EditList, Segment
from trackwright.arrange.grid import grid_from_analysis
from trackwright.audio import load_audio, write_atomic
from trackwright.errors import ParameterError
from trackwright.mix.automation import REVERB_TAIL_S
from trackwright.mix.mixer import guess_role
from trackwright.produce.production import Production
from trackwright.progress import ProgressCallback, ignore_progress
from trackwright.project import Project, Recipe, RenderResult
from trackwright.project.operations import make_version
from trackwright.revise.directives import Directive, Interpretation, Scope
from trackwright.revise.interpret import POINT_SPAN_S
from trackwright.revise.llm import read_note
from trackwright.score.compose import compose_midi
from trackwright.revise.measure import EXPECTED, describe_span, outside_difference_db, prepare
from trackwright.arrange.grid import Span
from trackwright.revise.scope import resolve_scope
from trackwright.revise.techniques import Change, plan_directive

NOTES_FOLDER = "notes"


@dataclass
class NoteResult:
    """What a note did: the reading, the changes with their reasons, the version, the measurements."""

    interpretation: Interpretation
    changes: list[Change]
    notes: list[str]
    scopes: list[dict[str, Any]]
    version: int | None = None
    parent: int | None = None
    measurements: list[dict[str, Any]] = field(default_factory=list)
    outside_change_db: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"note": self.interpretation.note, "reading": self.interpretation.to_dict(),
                "version": self.version, "parent": self.parent, "scopes": self.scopes,
                "changes": [c.to_dict() for c in self.changes], "notes": self.notes,
                "measurements": self.measurements, "outside_change_db": self.outside_change_db}

    def explanation(self) -> list[str]:
        """The explanation in lines: each change with the words that caused it, then the numbers."""
        lines = [f"read as: {self.interpretation.summary()}"]
        for change in self.changes:
            lines.append(f"- {change.what}  (because: \"{change.because}\")")
        lines.extend(f"! {note}" for note in self.notes)
        for row in self.measurements:
            moved = ", ".join(f"{key} {row['before'][key]} → {row['after'][key]}" for key in row["watch"])
            verdict = "as asked" if row["as_asked"] else "NOT as asked"
            lines.append(f"measured in {row['scope']}: {moved} ({verdict})")
        if self.outside_change_db is not None:
            lines.append("outside the scope the audio is unchanged, sample for sample" if self.outside_change_db < -200
                         else f"outside the scope the audio changed by at most {self.outside_change_db:.1f} dBFS")
        return lines


def _parts(recipe: Recipe) -> dict[str, str]:
    return {name: guess_role(name) for name in recipe.stem_sources}


def _rebuilt(recipe: Recipe) -> dict[str, str]:
    """Rebuilt MIDI part → its instrument preset, from the recipe's ``production:`` block."""
    production = recipe.production or Production()
    return {name: part.instrument for name, part in production.parts.items()}


def _reorchestrated(recipe: Recipe, changes: list[Change]) -> Production | None:
    """The recipe's production with the instrument changes applied (unchanged without any)."""
    swaps = {c.part: c.instrument for c in changes if c.layer == "instrument" and c.part and c.instrument}
    if not swaps or recipe.production is None:
        return recipe.production
    parts = {name: dataclasses.replace(part, instrument=swaps[name]) if name in swaps else part
             for name, part in recipe.production.parts.items()}
    return Production(parts, recipe.production.drums)


def _apply_tempo(arrangement: EditList, stretch: float) -> EditList:
    segments = []
    for segment in arrangement.segments:
        combined = min(max(segment.stretch * stretch, 1 - MAX_STRETCH_DEVIATION), 1 + MAX_STRETCH_DEVIATION)
        segments.append(Segment(segment.start_s, segment.end_s, combined))
    duration = None if arrangement.duration_s is None else arrangement.duration_s * stretch
    return EditList(tuple(segments), arrangement.fade_in_s, arrangement.fade_out_s, duration)


def apply_note(project: Project, text: str, *, at: tuple[float, float] | None = None, dry_run: bool = False,
               author: str | None = None, progress: ProgressCallback | None = None) -> NoteResult:
    """Turn ``text`` into a new version of ``project``.

    ``at`` is ``(start_s, end_s)`` of the current version's output for notes without a scope
    of their own (``--at 1:20-1:45``).
    """
    report = progress or ignore_progress
    if not text or not text.strip():
        raise ParameterError("the note is empty: say what should change, e.g. \"warmer in the chorus\"")
    if at is not None and at[1] - at[0] < 1.0:  # a comment pinned to a moment: the few bars from there
        at = (at[0], at[0] + POINT_SPAN_S)
    scope_at = Scope("range", at[0], at[1]) if at is not None else None
    reading = read_note(text, at=scope_at)
    if not reading.directives:
        understood = ", ".join(reading.understood) or "nothing"
        missed = ", ".join(repr(w) for w in reading.not_understood) or "no content words"
        raise ParameterError(f"nothing to change: I understood {understood}; not {missed}. Try words like "
                             "warmer, more tension, less busy, bigger, more vulnerable, hold back until the end")
    with project.lock():
        report(0.05, "planning")
        parent = project.latest()
        recipe = project.recipe()
        grid = grid_from_analysis(project.analysis(), project.source_audio())
        parts = _parts(recipe)
        changes: list[Change] = []
        notes: list[str] = []
        scopes: list[dict[str, Any]] = []
        spans_all: list[tuple[Span, Directive]] = []
        for directive in reading.directives:
            spans = resolve_scope(directive.scope, grid, recipe.arrangement)
            scopes.append({"directive": directive.describe(), "spans": [[round(s.start_s, 3), round(s.end_s, 3)]
                                                                        for s in spans]})
            found, why_not = plan_directive(directive, spans, parts, has_midi=project.source_midi() is not None,
                                            rebuilt=_rebuilt(recipe))
            changes.extend(found)
            notes.extend(why_not)
            spans_all.extend((span, directive) for span in spans)
        if "loudness" in reading.holds:
            notes.append("loudness held: the new version is re-levelled so no scope gets louder")
        result = NoteResult(reading, changes, list(dict.fromkeys(notes)), scopes, parent=parent)
        if not changes:
            raise ParameterError("nothing I can change for this note here: " + "; ".join(result.notes))
        if dry_run:
            return result
        report(0.1, "rendering the current version")
        before = project.render(parent)
        changes = _playable(changes, recipe.score, before.midi, result.notes)
        result.changes = changes
        moves = list(recipe.automation) + [m for c in changes if c.layer == "automation" for m in c.moves]
        score = list(recipe.score) + [dict(c.op or {}) for c in changes if c.layer == "score"]
        arrangement = recipe.arrangement
        for change in changes:
            if change.layer == "tempo" and change.stretch is not None:
                arrangement = _apply_tempo(arrangement, change.stretch)
        new_recipe = recipe.replace(automation=tuple(moves), score=tuple(score), arrangement=arrangement,
                                    production=_reorchestrated(recipe, changes))
        report(0.3, "rendering the new version")
        made = make_version(project, lambda _: (new_recipe, f"note: {text.strip()}"), author=author)
        result.version = made.version.number
        after = made.rendered
        report(0.8, "measuring")
        _measure(result, before, after, spans_all)
        (project.path / NOTES_FOLDER).mkdir(exist_ok=True)
        write_atomic(project.path / NOTES_FOLDER / f"v{made.version.number:04d}.json",
                     lambda tmp: tmp.write_text(json.dumps(result.to_dict(), indent=1, ensure_ascii=False) + "\n"))
        report(1.0, "done")
    return result


def _playable(changes: list[Change], current: Sequence[Mapping[str, Any]], midi: Path | None,
              notes: list[str]) -> list[Change]:
    """Drop composition operations that cannot apply to this music (say why), so the new
    version always renders: each is tried on the current version's MIDI after the ones before it."""
    ops = [c for c in changes if c.layer == "score"]
    if not ops:
        return changes
    if midi is None:
        notes.append("composition changes skipped: the current version has no MIDI")
        return [c for c in changes if c.layer != "score"]
    kept: list[Any] = list(current)
    dropped = set()
    for change in ops:
        try:
            compose_midi(str(midi), [*kept, dict(change.op or {})])
        except ParameterError as err:
            notes.append(f"{change.what} not made: {err}")
            dropped.add(id(change))
            continue
        kept.append(dict(change.op or {}))
    return [c for c in changes if id(c) not in dropped]


def _measure(result: NoteResult, before: RenderResult, after: RenderResult, spans: list[tuple[Span, Directive]]) -> None:
    mix_before, mix_after = load_audio(before.mix), load_audio(after.mix)
    stems_before = {n: load_audio(p) for n, p in before.stems.items()}
    stems_after = {n: load_audio(p) for n, p in after.stems.items()}
    prepared_before, prepared_after = prepare(mix_before), prepare(mix_after)
    for span, directive in spans:
        dimension = directive.dimension
        b = describe_span(prepared_before, span.start_s, span.end_s, stems_before)
        a = describe_span(prepared_after, span.start_s, span.end_s, stems_after)
        expected = EXPECTED.get(dimension, {})
        watch = list(expected) or ["loudness_lufs"]
        sign = directive.direction
        as_asked = all((a[key] - b[key]) * expected[key] * sign > 0 for key in expected) if expected else True
        result.measurements.append({"scope": span.name, "directive": directive.describe(), "before": b, "after": a,
                                    "watch": watch, "as_asked": as_asked})
    reverb = any(c.layer == "automation" and any(m.kind == "reverb" for m in c.moves) for c in result.changes)
    result.outside_change_db = outside_difference_db(mix_before, mix_after, [(s.start_s, s.end_s) for s, _ in spans],
                                                     margin_s=1.0 + (REVERB_TAIL_S if reverb else 0.0))
