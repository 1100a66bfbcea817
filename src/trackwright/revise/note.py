"""``trackwright note``: a creative note becomes a new version, explained and measured honestly.

1. Read the note (:func:`trackwright.revise.llm.read_note`: the built-in reader, or the user's
   own model when configured). A note that contradicts itself, names an impossible time, is too
   long to read reliably, or asks for nothing is answered with the reason and no version.
2. Resolve each directive's scope on the current version's timeline
   (:func:`trackwright.revise.scope.resolve_scope`).
3. Plan the techniques (:func:`trackwright.revise.techniques.plan_directive`), sized on the
   current version's audio and shaped by the note's constraints: automation moves, composition
   operations, a tempo change, arrangement edits.
4. Commit the new recipe as a version through :func:`trackwright.project.operations.make_version`
   and render it (cached).
5. Measure (:mod:`trackwright.revise.measure`): every directive against what its dimension must
   do to count as done, every constraint, and the audio outside the scopes. A version whose
   measurement contradicts the note is reported "not achieved", with what was measured.
6. Write the explanation to ``PROJECT/notes/vNNNN.json`` and return it.

``dry_run`` plans and explains without committing or rendering.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from trackwright.analysis.features import compute_features
from trackwright.arrange import ops as arrange_ops
from trackwright.arrange.edl import EditList
from trackwright.arrange.fit import fit_audio
from trackwright.arrange.grid import BarGrid, Span, grid_from_analysis, played_sections
from trackwright.audio import Audio, load_audio, write_atomic
from trackwright.errors import ParameterError
from trackwright.mix.automation import REVERB_TAIL_S, Move
from trackwright.produce.production import Production
from trackwright.produce.separate import separate_builtin
from trackwright.progress import ProgressCallback, ignore_progress
from trackwright.project import Project, Recipe, RenderResult
from trackwright.project.operations import make_version
from trackwright.project.roles import part_roles, set_project_roles
from trackwright.revise.directives import Directive, Hold, Interpretation, Scope
from trackwright.revise.interpret import POINT_SPAN_S
from trackwright.revise.llm import read_note
from trackwright.revise.measure import (
    AUDIBLE,
    HELD_BY,
    Verdict,
    achieved,
    asked_descriptors,
    describe_span,
    expected_for,
    fade_depth_db,
    judge,
    judge_hold,
    judge_unasked,
    residual_verdict,
    outside_unchanged,
    part_level_db,
    parts_sounding,
    pitch_shift_st,
    unasked_for,
)
from trackwright.revise.scope import entries, resolve_scope
from trackwright.revise.techniques import (
    FALLBACK_DESCRIPTOR,
    MIX_FALLBACK,
    Change,
    Context,
    part_stems,
    plan_directive,
)
from trackwright.score.compose import compose_midi

NOTES_FOLDER = "notes"
#: Dimensions whose changes move the timeline (measured by length, not inside spans).
TIMELINE = ("pace", "length", "repeat", "fade_in", "fade_out")
#: Seconds around a scope where ramps may still act.
RAMP_MARGIN_S = 1.0


@dataclass
class NoteResult:
    """What a note did: the reading, the changes with their reasons, the version, the measurements,
    and whether the measurements say it was done (``achieved``)."""

    interpretation: Interpretation
    changes: list[Change]
    notes: list[str]
    scopes: list[dict[str, Any]]
    version: int | None = None
    parent: int | None = None
    measurements: list[dict[str, Any]] = field(default_factory=list)
    holds: list[dict[str, Any]] = field(default_factory=list)
    outside: dict[str, Any] | None = None
    achieved: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"note": self.interpretation.note, "reading": self.interpretation.to_dict(),
                "version": self.version, "parent": self.parent, "scopes": self.scopes,
                "changes": [c.to_dict() for c in self.changes], "notes": self.notes,
                "measurements": self.measurements, "holds": self.holds, "outside": self.outside,
                "achieved": self.achieved}

    def explanation(self) -> list[str]:
        """The explanation in lines: each change with the words that caused it, then the numbers."""
        lines = [f"read as: {self.interpretation.summary()}"]
        for change in self.changes:
            lines.append(f"- {change.what}  (because: \"{change.because}\")")
        lines.extend(f"! {note}" for note in self.notes)
        for row in self.measurements:
            moved = ", ".join(row["moved"]) or "nothing measured"
            verdict = "as asked" if row["as_asked"] else "NOT as asked"
            lines.append(f"measured in {row['scope']}: {moved} ({verdict})")
        for row in self.holds:
            lines.append(f"constraint \"{row['hold']}\": {row['measured']} ({'kept' if row['kept'] else 'BROKEN'})")
        if self.outside is not None:
            lines.append(f"outside the scope: {self.outside['text']}")
        if self.achieved is not None:
            lines.append("achieved: the measurements agree with the note" if self.achieved else
                         "not achieved: " + "; ".join(self._failures()))
        return lines

    def _failures(self) -> list[str]:
        out = [f"{row['directive']} in {row['scope']}: {', '.join(row['moved']) or 'nothing measured'}"
               for row in self.measurements if not row["as_asked"]]
        out += [f"\"{row['hold']}\" broken ({row['measured']})" for row in self.holds if not row["kept"]]
        if self.outside is not None and not self.outside["unchanged"]:
            out.append(f"outside the scope the audio {self.outside['text']}")
        return out or ["no measurement confirms it"]


def _parts(project: Project, recipe: Recipe) -> dict[str, str]:
    """Part name → role of the parts the version places (:func:`~trackwright.project.roles.part_roles`:
    the roles set with ``trackwright stems --set``, else guessed)."""
    return {name: guess.role for name, guess in part_roles(project, recipe).items()}


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


def _refuse_empty(reading: Interpretation) -> None:
    if reading.refusal:
        raise ParameterError(f"not done: {reading.refusal}")
    if reading.directives:
        return
    if reading.holds:
        kept = "; ".join(h.describe() for h in reading.holds)
        raise ParameterError(f"nothing to change: the note asks to {kept}, and for no change")
    understood = ", ".join(reading.understood) or "nothing"
    missed = ", ".join(repr(w) for w in reading.not_understood) or "no content words"
    raise ParameterError(f"nothing to change: I understood {understood}; not {missed}. Try words like "
                         "warmer, less mud, more punch, the last 20 seconds brighter, fade out the ending")


def apply_note(project: Project, text: str, *, at: tuple[float, float] | None = None, dry_run: bool = False,
               author: str | None = None, progress: ProgressCallback | None = None,
               separate: bool = False) -> NoteResult:
    """Turn ``text`` into a new version of ``project``.

    ``at`` is ``(start_s, end_s)`` of the current version's output for notes without a scope
    of their own (``--at 1:20-1:45``). With ``separate``, a note that names a part of a project
    without stems first splits the draft with the built-in separator (a version of its own that
    sounds the same: :func:`split_for_parts`), then changes the parts.
    """
    report = progress or ignore_progress
    if not text or not text.strip():
        raise ParameterError("the note is empty: say what should change, e.g. \"warmer in the chorus\"")
    if at is not None and at[1] - at[0] < 1.0:  # a comment pinned to a moment: the few bars from there
        at = (at[0], at[0] + POINT_SPAN_S)
    reading = read_note(text, at=Scope("range", at[0], at[1]) if at is not None else None)
    _refuse_empty(reading)
    with project.lock():
        split = split_for_parts(project, reading, author=author) if separate and not dry_run else None
        report(0.05, "reading the current version")
        parent = project.latest()
        recipe = project.recipe()
        before = project.render(parent)
        mix = load_audio(before.mix)
        stems = {n: load_audio(p) for n, p in before.stems.items()}
        grid = grid_from_analysis(project.analysis_on_grid(), project.source_audio())
        sections = played_sections(grid, recipe.arrangement)
        roles = _parts(project, recipe) if recipe.stem_sources else {}
        context = Context(roles, project.source_midi() is not None, _rebuilt(recipe), mix, stems, mix.duration_s,
                          reading.holds, float(np.median(grid.ends_s - grid.starts_s)) if grid.bars else 2.0,
                          sections, bool(recipe.production and recipe.production.parts),
                          asked_descriptors(reading.directives, reading.holds))
        _check_part_holds(reading.holds, roles)
        report(0.1, "planning")
        changes: list[Change] = []
        notes: list[str] = []
        scopes: list[dict[str, Any]] = []
        planned: list[tuple[Directive, list[Span], list[Change]]] = []
        for directive in reading.directives:
            spans = resolve_scope(directive.scope, grid, recipe.arrangement, mix=mix)
            if directive.dimension == "build":
                spans = entries(spans)
            scopes.append({"directive": directive.describe(), "spans": [[round(s.start_s, 3), round(s.end_s, 3)]
                                                                        for s in spans]})
            found, why_not = plan_directive(directive, spans, context)
            changes.extend(found)
            notes.extend(why_not)
            if found:
                planned.append((directive, spans, found))
        if split is not None:
            notes.insert(0, split)
        elif separate and dry_run and _names_parts(reading) and not recipe.stem_sources:
            notes.insert(0, "with --separate the draft would first be split into stems (not in a dry run)")
        result = NoteResult(reading, changes, list(dict.fromkeys(notes)), scopes, parent=parent)
        if not changes:
            raise ParameterError("nothing I can change for this note here: " + "; ".join(result.notes))
        if dry_run:
            return result
        changes = _playable(changes, recipe.score, before.midi, result.notes)
        result.changes = changes
        new_recipe = _new_recipe(project, recipe, changes, grid)
        report(0.3, "rendering the new version")
        made = make_version(project, lambda _: (new_recipe, f"note: {text.strip()}"), author=author)
        result.version = made.version.number
        report(0.8, "measuring")
        _measure(result, before, made.rendered, mix, planned, reading.holds, roles)
        (project.path / NOTES_FOLDER).mkdir(exist_ok=True)
        write_atomic(project.path / NOTES_FOLDER / f"v{made.version.number:04d}.json",
                     lambda tmp: tmp.write_text(json.dumps(result.to_dict(), indent=1, ensure_ascii=False) + "\n"))
        report(1.0, "done")
    return result


def _names_parts(reading: Interpretation) -> bool:
    return any(d.part is not None for d in reading.directives) or any(h.part is not None for h in reading.holds)


def split_for_parts(project: Project, reading: Interpretation, *, author: str | None = None) -> str | None:
    """When ``reading`` names a part and the project has no stems: split the draft with the
    built-in separator (drums, bass, centre, sides, other; they sum to the draft) into a new
    version that plays the same music through them, with their roles recorded. Returns what
    was done, or None when nothing needed splitting."""
    if not _names_parts(reading) or project.recipe().stem_sources:
        return None
    split = separate_builtin(project.source_audio())
    info = project.add_stems(split.stems, "split the draft into stems (built-in separator) for a note on its parts",
                             author=author)
    set_project_roles(project, {name.lower(): role for name, role in split.roles.items()})
    return (f"split the draft into stems with the built-in separator first (version {info.number}: "
            f"{', '.join(split.stems)}); the note changes those parts")


def _check_part_holds(holds: Sequence[Hold], roles: Mapping[str, str]) -> None:
    """A part can only be kept as it is when it is a stem: a mix-only draft is refused with the offer."""
    for hold in holds:
        if hold.part is not None and not roles:
            raise ParameterError(f"not done: keeping the {hold.part} as they are needs them as a stem, and this "
                                 "draft is a mix only; split it first (trackwright separate MIX -o STEMS, then "
                                 "trackwright new … --stems STEMS) or add the stems")


def _new_recipe(project: Project, recipe: Recipe, changes: list[Change], grid: BarGrid) -> Recipe:
    """The recipe with every change applied: automation, score, tempo, arrangement, instruments."""
    moves: list[Move] = list(recipe.automation) + [m for c in changes if c.layer == "automation" for m in c.moves]
    score = list(recipe.score) + [dict(c.op or {}) for c in changes if c.layer == "score"]
    arrangement = recipe.arrangement
    for change in changes:
        if change.layer == "tempo" and change.stretch is not None:
            start, end = change.span if change.span else (None, None)
            arrangement = arrangement.retimed(change.stretch, start, end)
            if change.span is None:  # earlier automation follows the music
                moves = [dataclasses.replace(m, start_s=m.start_s * change.stretch, end_s=m.end_s * change.stretch)
                         for m in moves]
        elif change.layer == "arrangement" and change.op is not None:
            arrangement = _edit(project, arrangement, grid, change.op)
    return recipe.replace(automation=tuple(moves), score=tuple(score), arrangement=arrangement,
                          production=_reorchestrated(recipe, changes))


def _edit(project: Project, arrangement: EditList, grid: BarGrid, op: Mapping[str, Any]) -> EditList:
    """One arrangement edit of a note (:mod:`trackwright.arrange.ops`, or a fit to a length)."""
    name = str(op["op"])
    if name == "fit":
        audio = project.source_audio()
        fitted = fit_audio(audio, float(op["duration_s"]), analysis=project.analysis_on_grid(),
                           features=compute_features(audio), grid=grid)
        return fitted.edits
    if name == "fade":
        return arrange_ops.fade(arrangement, grid, str(op["direction"]), seconds=float(op["seconds"])).edits
    options = {k: v for k, v in op.items() if k not in ("op", "target")}
    return arrange_ops.apply_operation(name, arrangement, grid, str(op["target"]), **options).edits


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


# -- measuring ---------------------------------------------------------------------------------------
def _core(span: Span, total: float) -> tuple[float, float]:
    """The span without the ramps at its inner edges (1 s, at most 10 % of it, each side)."""
    edge = min(RAMP_MARGIN_S, 0.1 * (span.end_s - span.start_s))
    return (span.start_s + edge if span.start_s > 0.01 else span.start_s,
            span.end_s - edge if span.end_s < total - 0.01 else span.end_s)


def _build_window(span: Span, changes: Sequence[Change]) -> Span:
    """The stretch before ``span`` that a build into it covers (where its rise is measured)."""
    starts = [m.start_s for c in changes for m in c.moves if abs(m.end_s - span.start_s) < 0.05]
    return Span(min(starts), span.start_s, span.name) if starts else span


def _measure(result: NoteResult, before: RenderResult, after: RenderResult, mix_before: Audio,
             planned: Sequence[tuple[Directive, list[Span], list[Change]]], holds: Sequence[Hold],
             roles: Mapping[str, str]) -> None:
    mix_after = load_audio(after.mix)
    stems_before = {n: load_audio(p) for n, p in before.stems.items()}
    stems_after = {n: load_audio(p) for n, p in after.stems.items()}
    total = mix_before.duration_s
    timeline = abs(mix_after.duration_s - total) > 0.02 or any(d.dimension in TIMELINE for d, _, _ in planned)
    unasked = unasked_for(asked_descriptors([d for d, _, _ in planned], holds))
    for directive, spans, changes in planned:
        mode, terms = expected_for(directive, holds)
        targets = [m.target for c in changes if c.layer == "automation" for m in c.moves if m.target in stems_after]
        for span in spans:
            start, end = _core(_build_window(span, changes) if directive.dimension == "build" else span, total)
            verdicts = _directive_verdicts(directive, terms, start, end, mix_before, mix_after, stems_before,
                                           stems_after, timeline, result, list(dict.fromkeys(targets)))
            also = [] if timeline else [
                judge_unasked(d, *(describe_span(audio, start, end, [d])[d] for audio in (mix_before, mix_after)))
                for d in unasked]
            moved = [v for v in also if v.state == "moved"]
            ok = achieved(mode, verdicts) and not moved
            result.measurements.append({
                "directive": directive.describe(), "scope": span.name, "mode": mode,
                "verdicts": [v.to_dict() for v in verdicts], "unasked": [v.to_dict() for v in also],
                "moved": [v.describe() for v in verdicts] + [f"also {v.describe()} (not asked)" for v in moved],
                "as_asked": ok})
    scope_spans = [s for _, spans, _ in planned for s in spans] or [Span(0.0, total, "the whole piece")]
    for hold in holds:
        verdicts = _hold_verdicts(hold, scope_spans, mix_before, mix_after, stems_before, stems_after, timeline,
                                  roles)
        kept = all(v.state == "kept" for v in verdicts) if verdicts else None
        result.holds.append({"hold": hold.describe(), "words": hold.words, "kept": kept, "as_asked": bool(kept),
                             "measured": ", ".join(v.describe() for v in verdicts) or "not measured here",
                             "verdicts": [v.to_dict() for v in verdicts]})
    regions = _outside_regions(planned, total, mix_after.duration_s, result.changes)
    if regions:
        pitch = any(m.kind == "pitch" for c in result.changes if c.layer == "automation" for m in c.moves)
        unchanged, text = outside_unchanged(mix_before, mix_after, regions, pitch=pitch)
        result.outside = {"unchanged": unchanged, "as_asked": unchanged, "text": text,
                          "regions": [[round(a, 2), round(b, 2)] for a, b, _ in regions]}
    result.achieved = bool(result.measurements) and all(r["as_asked"] for r in result.measurements) and \
        all(r["kept"] is True for r in result.holds) and (result.outside is None or result.outside["unchanged"])


def _directive_verdicts(directive: Directive, terms: Sequence[tuple[str, int]], start: float, end: float,
                        mix_before: Audio, mix_after: Audio, stems_before: Mapping[str, Audio],
                        stems_after: Mapping[str, Audio], timeline: bool, result: NoteResult,
                        targets: Sequence[str]) -> list[Verdict]:
    total_before, total_after = mix_before.duration_s, mix_after.duration_s
    out: list[Verdict] = []
    for descriptor, direction in terms:
        if descriptor == "duration":
            if directive.absolute and directive.quantity is not None and directive.unit == "s":
                miss = abs(total_after - directive.quantity)
                out.append(Verdict("duration", total_before, total_after, total_after - total_before, "s",
                                   "ok" if miss <= 1.0 else "small"))
            else:
                out.append(judge("duration", total_before, total_after, direction,
                                 threshold=max(AUDIBLE["duration"], 0.02 * total_before)))
        elif descriptor == "tempo":
            changed = sum(c.span[1] - c.span[0] if c.span else total_before for c in result.changes
                          if c.layer == "tempo")
            lost = total_before - total_after
            percent = 100.0 * (changed / max(changed - lost, 1e-9) - 1.0) if changed else 0.0
            stated = directive.quantity if directive.unit == "%" and not directive.absolute else None
            out.append(judge("tempo", 0.0, percent, direction, degree=abs(directive.signed), quantity=stated))
        elif descriptor in ("fade_out", "fade_in"):
            seconds = next((float(c.op["seconds"]) for c in result.changes if c.layer == "arrangement" and c.op
                            and c.op.get("op") == "fade"), 4.0)
            depth, middle = fade_depth_db(mix_after, min(seconds, total_after), at_end=descriptor == "fade_out")
            ok = depth >= AUDIBLE["fade"] and middle >= 2.0 and abs(total_after - total_before) < 0.05
            out.append(Verdict(descriptor, 0.0, depth, depth, "dB", "ok" if ok else "small"))
        elif descriptor == "pitch":
            if timeline:
                start, end = 0.0, min(total_before, total_after)
            shift = pitch_shift_st(mix_before, mix_after, start, end)
            wanted = directive.quantity if directive.quantity is not None and directive.unit == "st" else None
            close = abs(shift - direction * wanted) <= 0.4 if wanted is not None and directive.dimension == "key" \
                else shift * direction >= AUDIBLE["pitch"]
            out.append(Verdict("pitch", 0.0, shift, shift, "st", "ok" if close else
                               "wrong" if shift * direction <= -AUDIBLE["pitch"] else "small"))
        elif timeline:
            continue  # the music moved in time: a span's before and after are different music
        elif descriptor == "parts":
            if stems_before:
                b, a = parts_sounding(stems_before, start, end), parts_sounding(stems_after, start, end)
                out.append(judge("parts", b, a, direction))
        elif descriptor == "part":
            names = list(targets)
            carrier = FALLBACK_DESCRIPTOR.get(MIX_FALLBACK.get(directive.part or "", ""))
            if not names and carrier is not None:  # no stem of the part: what carries it in the mix
                b = describe_span(mix_before, start, end, [carrier])[carrier]
                a = describe_span(mix_after, start, end, [carrier])[carrier]
                out.append(judge(carrier, b, a, direction))
                continue
            if not names:
                continue
            if directive.direction < 0 and directive.amount >= 1.0:
                level = max(describe_span(stems_after[n], start, end, ["peak"])["peak"] for n in names)
                out.append(Verdict("part", 0.0, level, level, "dBFS", "ok" if level < -60.0 else "small"))
                continue
            b = part_level_db(mix_before, [stems_before[n] for n in names], start, end)
            a = part_level_db(mix_after, [stems_after[n] for n in names], start, end)
            out.append(judge("part", b, a, direction, degree=abs(directive.signed),
                             quantity=_stated(directive, "part")))
        else:
            b = describe_span(mix_before, start, end, [descriptor])[descriptor]
            a = describe_span(mix_after, start, end, [descriptor])[descriptor]
            out.append(judge(descriptor, b, a, direction, degree=abs(directive.signed),
                             quantity=_stated(directive, descriptor)))
    return out


def _stated(directive: Directive, descriptor: str) -> float | None:
    """The amount the note stated for ``descriptor`` in its unit ("2 dB louder": 2 LU), else None."""
    if directive.quantity is None or directive.absolute:
        return None
    base = descriptor.split(":")[0]
    if directive.unit == "dB" and base in ("loudness", "part", "band", "width") and \
            (base != "loudness" or directive.dimension == "loudness"):
        return directive.quantity
    if directive.unit == "%" and base in ("centroid", "onsets") and directive.dimension not in ("pace",):
        return directive.quantity
    return None


def _hold_verdicts(hold: Hold, spans: Sequence[Span], mix_before: Audio, mix_after: Audio,
                   stems_before: Mapping[str, Audio], stems_after: Mapping[str, Audio], timeline: bool,
                   roles: Mapping[str, str]) -> list[Verdict]:
    total = mix_before.duration_s
    if hold.dimension == "length":
        return [judge_hold(hold, "duration", 1, total, mix_after.duration_s)]
    if hold.dimension == "pace":
        return [judge_hold(hold, "tempo", 1, 0.0, 100.0 * (total / mix_after.duration_s - 1.0))]
    if hold.dimension == "key":
        length = min(total, mix_after.duration_s)
        return [judge_hold(hold, "pitch", 1, 0.0, pitch_shift_st(mix_before, mix_after, 0.0, length))]
    if timeline:
        return []
    out = []
    for span in spans:
        start, end = _core(span, total)
        if hold.part is not None:
            for name in part_stems(hold.part, roles):
                if name not in stems_after:
                    continue
                b = describe_span(stems_before[name], start, end, ["loudness"])["loudness"]
                a = describe_span(stems_after[name], start, end, ["loudness"])["loudness"]
                out.append(judge_hold(Hold("loudness", "same"), "loudness", 1, b, a))
                out.append(residual_verdict(stems_before[name], stems_after[name], start, end))
            continue
        if hold.dimension not in HELD_BY:
            continue
        descriptor, sign = HELD_BY[hold.dimension]
        b = describe_span(mix_before, start, end, [descriptor])[descriptor]
        a = describe_span(mix_after, start, end, [descriptor])[descriptor]
        out.append(judge_hold(hold, descriptor, sign, b, a))
    return out


def _outside_regions(planned: Sequence[tuple[Directive, list[Span], list[Change]]], total: float, total_after: float,
                     changes: Sequence[Change]) -> list[tuple[float, float, float]]:
    """Stretches of the version before (start_s, end_s, offset into the new version) that the
    note leaves alone; none when it changes the whole piece or its tempo."""
    spans = [s for _, spans, _ in planned for s in spans]
    if any(c.layer == "tempo" for c in changes) or any(s.start_s <= 0.01 and s.end_s >= total - 0.01 for s in spans):
        return []
    if any(c.layer == "arrangement" and c.op and c.op.get("op") == "fit" for c in changes):
        return []
    reverb = any(m.kind in ("reverb", "pitch") for c in changes if c.layer == "automation" for m in c.moves)
    margin = RAMP_MARGIN_S + (REVERB_TAIL_S if reverb else 0.0)
    builds = [m.start_s for d, _, found in planned if d.dimension == "build" for c in found
              if c.layer == "automation" for m in c.moves]
    first = min([s.start_s for s in spans] + builds) - RAMP_MARGIN_S
    last = max(s.end_s for s in spans) + margin
    regions = []
    if first > 0.5:
        regions.append((0.0, first, 0.0))
    if last < total - 0.5:
        regions.append((last, total, total_after - total))
    if abs(total_after - total) < 0.02:  # gaps between spans
        ordered = sorted(spans, key=lambda s: s.start_s)
        for a, b in zip(ordered[:-1], ordered[1:]):
            lo, hi = a.end_s + margin, b.start_s - RAMP_MARGIN_S
            if hi - lo > 1.0:
                regions.append((lo, hi, 0.0))
    return regions
