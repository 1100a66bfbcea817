"""What changed between two recipes, in words a musician would use.

``describe_diff(a, b, sections)`` returns lines such as ``chorus 2 removed``, ``intro shortened
by 4 bars``, ``bass −2 dB``, ``master target streaming → broadcast``, and the mix
(:func:`~trackwright.mix.describe.mix_changes`), production and automation changes.

Conventions
-----------
* Sections come from the draft's analysis (:class:`~trackwright.analysis.structure.Section`) and are
  named by role and occurrence: ``verse 1``, ``chorus 2``; a role heard once has no number (``intro``).
* A section's *coverage* in an arrangement is the seconds of its span that the segments play,
  counting repeats; it is compared in bars, to the nearest half bar. Changes under a quarter bar
  are not reported. With the downbeats, sections are measured on the same bar grid the edits
  use (:func:`trackwright.arrange.grid.bar_grid`): from the first downbeat to the end
  of the last bar, so the pickup and the final ring-out belong to no section.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from trackwright.analysis.structure import Section
from trackwright.arrange.edl import EditList
from trackwright.arrange.grid import bar_grid
from trackwright.mix.describe import mix_changes
from trackwright.produce.production import production_changes
from trackwright.project.recipe import Recipe

#: Changes smaller than this fraction of a bar (or, without bars, half a second) go unreported.
BAR_TOLERANCE = 0.25
_SECONDS_TOLERANCE = 0.5


def _minus(text: str) -> str:
    return text.replace("-", "−")


def _signed_db(value: float) -> str:
    return _minus(f"{round(value, 1):+g} dB")


def _clock(seconds: float) -> str:
    minutes, rest = divmod(max(seconds, 0.0), 60.0)
    return f"{int(minutes)}:{rest:04.1f}"


def _pan_words(pan: float) -> str:
    if pan == 0:
        return "centre"
    return f"{abs(pan) * 100:.0f}% {'left' if pan < 0 else 'right'}"


def section_names(roles: Sequence[str]) -> list[str]:
    """``intro``, ``verse 1``, ``chorus 1``, ``verse 2``…: each role plus its occurrence when it recurs."""
    counts, seen, names = Counter(roles), Counter(), []
    for role in roles:
        seen[role] += 1
        names.append(f"{role} {seen[role]}" if counts[role] > 1 else role)
    return names


def _bar_length(section: Section, downbeats: np.ndarray) -> float | None:
    start, end = float(section.start_s), float(section.end_s)
    bars = section.bars
    if bars > 0 and end > start:
        return (end - start) / float(bars)
    if len(downbeats) >= 2:
        inside = downbeats[(downbeats >= start - 0.05) & (downbeats <= end + 0.05)]
        steps = np.diff(inside if len(inside) >= 2 else downbeats)
        steps = steps[steps > 0]
        if len(steps):
            return float(np.median(steps))
    return None


def _coverage(edits: EditList, start: float, end: float) -> float:
    """Seconds of [start, end) that the segments play, counting repeats."""
    return sum(max(0.0, min(s.end_s, end) - max(s.start_s, start)) for s in edits.segments)


def _mean_stretch(edits: EditList, start: float, end: float) -> float | None:
    weights = [(max(0.0, min(s.end_s, end) - max(s.start_s, start)), s.stretch) for s in edits.segments]
    total = sum(w for w, _ in weights)
    return None if total <= 0 else sum(w * k for w, k in weights) / total


def _first_heard(edits: EditList, spans: list[tuple[float, float]], tolerances: list[float]) -> list[int]:
    """Section indices in the order the arrangement first plays them."""
    order: list[int] = []
    for segment in edits.segments:
        for index, (start, end) in enumerate(spans):
            overlap = min(segment.end_s, end) - max(segment.start_s, start)
            if overlap >= tolerances[index] and index not in order:
                order.append(index)
    return order


def describe_diff(a: Recipe, b: Recipe, sections: Sequence[Section], *,
                  downbeats_s: Sequence[float] | np.ndarray | None = None) -> list[str]:
    """The changes from recipe ``a`` to recipe ``b``, one short phrase each.

    Parameters
    ----------
    a, b : Recipe
        The older and the newer recipe.
    sections : list of Section
        The draft's sections (:attr:`trackwright.analysis.analyze.Analysis.structure`); a
        section with ``bars`` 0 has its bar length measured from the downbeats.
    downbeats_s : list of float, optional
        The draft's downbeats, for bar lengths where a section has no bar count.

    Returns
    -------
    list of str
        e.g. ``["chorus 2 removed", "intro shortened by 4 bars", "bass −2 dB"]``, or
        ``["no musical change"]``.
    """
    lines = _arrangement_lines(a.arrangement, b.arrangement, sections,
                               np.asarray(downbeats_s if downbeats_s is not None else [], dtype=float))
    lines += _part_lines(a, b)
    lines += _master_lines(a.master, b.master)
    lines += _list_lines(a.score, b.score, _score_words)
    lines += _list_lines(a.automation, b.automation, _move_words)
    if a.mix != b.mix:
        lines += mix_changes(a.mix, b.mix)
    if a.production != b.production:
        lines += production_changes(a.production, b.production)
    if a.grid != b.grid:
        lines.append(f"beat grid: {b.grid.describe()}" if b.grid is not None else "beat grid: as heard")
    if dict(a.sources) != dict(b.sources):
        lines.append("sources changed")
    return lines or ["no musical change"]


def _span_words(start: Any, end: Any, bars: Any = None) -> str:
    if bars:
        return f"bars {bars}"
    if start is None and end is None:
        return "the whole piece"
    return f"{_clock(float(start or 0.0))}–{_clock(float(end))}" if end is not None else f"from {_clock(float(start))}"


def _score_words(op: Mapping[str, Any]) -> str:
    options = ", ".join(f"{k} {v}" for k, v in op.items() if k not in ("op", "seed", "bars", "start_s", "end_s"))
    where = _span_words(op.get("start_s"), op.get("end_s"), op.get("bars"))
    return f"{str(op['op']).replace('_', ' ')}{f' ({options})' if options else ''} in {where}"


def _move_words(move: Any) -> str:
    data = move.to_dict() if hasattr(move, "to_dict") else dict(move)
    who = "everything" if data["target"] == "*" else data["target"]
    kind = data["kind"].replace("_", " ")
    amount = float(data.get("value", 0.0))
    if data["kind"] == "mute":
        value = ""
    elif data["kind"] == "width":
        value = f" ×{amount:g}"
    else:
        value = f" {_minus(f'{amount:+g}')} dB"
    why = f' ("{data["reason"]}")' if data.get("reason") else ""
    return f"{who}: {kind}{value} in {_span_words(data['start_s'], data['end_s'])}{why}"


def _list_lines(old: Sequence[Any], new: Sequence[Any], words: Any) -> list[str]:
    """Items added to / removed from a recipe list (composition operations, automation), in words."""
    before = [words(item) for item in old]
    after = [words(item) for item in new]
    lines = [f"added: {w}" for w in after if w not in before]
    lines += [f"removed: {w}" for w in before if w not in after]
    return lines


def _amount(seconds: float, bar_s: float | None) -> str:
    if bar_s is None:
        return f"{seconds:.1f} s"
    bars = round(seconds / bar_s * 2.0) / 2.0
    if bars == 1:
        return "1 bar"
    return f"{bars:g} bars"


def _arrangement_lines(ea: EditList, eb: EditList, sections: Sequence[Section],
                       downbeats: np.ndarray) -> list[str]:
    if ea.merged().to_dict() == eb.merged().to_dict():
        return []
    if not sections:
        end = max(s.end_s for s in (*ea.segments, *eb.segments))
        sections = [Section(0.0, end, "A", "track", 0, 0.0)]
    names = section_names([s.role or s.label or "section" for s in sections])
    spans = [(float(s.start_s), float(s.end_s)) for s in sections]
    bar_lengths = [_bar_length(s, downbeats) for s in sections]
    if len(downbeats) >= 2:  # measure on the bar grid the edits themselves use
        grid = bar_grid(max(spans[-1][1], float(downbeats[-1])), downbeats, [],
                        [(s.start_s, s.end_s, s.label, s.role) for s in sections])
        names = section_names([g.role for g in grid.sections])
        spans = [(float(grid.starts_s[g.first_bar]), float(grid.ends_s[g.end_bar - 1])) for g in grid.sections]
        bar_lengths = [grid.bar_s] * len(spans)
    tolerances = [BAR_TOLERANCE * bar if bar else _SECONDS_TOLERANCE for bar in bar_lengths]
    lines: list[str] = []
    for name, (start, end), bar, tol in zip(names, spans, bar_lengths, tolerances):
        span = end - start
        ca, cb = _coverage(ea, start, end), _coverage(eb, start, end)
        if ca < tol and cb < tol:
            continue
        if cb < tol:
            lines.append(f"{name} removed")
            continue
        if ca < tol:
            lines.append(f"{name} restored")
            continue
        delta = cb - ca
        if delta <= -tol:
            lines.append(f"{name} shortened by {_amount(-delta, bar)}")
        elif delta >= tol:
            if cb <= span + tol or ca < span - tol:
                lines.append(f"{name} extended by {_amount(delta, bar)}")
            else:
                times = delta / span
                if abs(times - round(times)) * span < tol and round(times) >= 1:
                    k = int(round(times))
                    lines.append(f"{name} repeated" if k == 1 else f"{name} repeated {k} times")
                else:
                    lines.append(f"{_amount(delta, bar)} of {name} repeated")
        sa, sb = _mean_stretch(ea, start, end), _mean_stretch(eb, start, end)
        if sa and sb and abs(sb / sa - 1.0) >= 0.002:
            change = (sb / sa - 1.0) * 100.0
            lines.append(f"{name} {'slowed' if change > 0 else 'sped up'} by {abs(change):.1f}%")
    order_a = _first_heard(ea, spans, tolerances)
    order_b = _first_heard(eb, spans, tolerances)
    common = set(order_a) & set(order_b)
    if [i for i in order_a if i in common] != [i for i in order_b if i in common]:
        lines.append("order changed: now " + " → ".join(names[i] for i in order_b))
    for label, fa, fb in (("fade-in", ea.fade_in_s, eb.fade_in_s), ("fade-out", ea.fade_out_s, eb.fade_out_s)):
        if abs(fa - fb) >= 0.05:
            if fa == 0:
                lines.append(f"{label} added ({fb:.1f} s)")
            elif fb == 0:
                lines.append(f"{label} removed")
            else:
                lines.append(f"{label} {fa:.1f} s → {fb:.1f} s")
    if ea.duration_s != eb.duration_s:
        if ea.duration_s is None:
            lines.append(f"length fixed at {_clock(eb.duration_s)}")
        elif eb.duration_s is None:
            lines.append(f"fixed length ({_clock(ea.duration_s)}) removed")
    la, lb = ea.output_duration_s, eb.output_duration_s
    if abs(la - lb) >= 0.05:
        lines.append(f"length {_clock(la)} → {_clock(lb)}")
    if not lines:
        lines.append("edit points moved by less than a bar")
    return lines


def _part_lines(a: Any, b: Any) -> list[str]:
    lines = []
    for name in sorted(set(a.parts) | set(b.parts)):
        pa, pb = a.part(name), b.part(name)
        if pa.mute != pb.mute:
            lines.append(f"{name} {'muted' if pb.mute else 'unmuted'}")
        if abs(pb.gain_db - pa.gain_db) >= 0.05:
            lines.append(f"{name} {_signed_db(pb.gain_db - pa.gain_db)}")
        if abs(pb.pan - pa.pan) >= 0.005:
            lines.append(f"{name} pan {_pan_words(pa.pan)} → {_pan_words(pb.pan)}")
    return lines


def _master_lines(ma: Any, mb: Any) -> list[str]:
    lines = []
    if ma.target != mb.target:
        if ma.target is None:
            lines.append(f"mastering added: {mb.label}")
        elif mb.target is None:
            lines.append(f"mastering removed (was {ma.label})")
        else:
            lines.append(f"master target {_minus(ma.label)} → {_minus(mb.label)}")
    if ma.ceiling_dbtp != mb.ceiling_dbtp and mb.target is not None:
        def words(value: float | None) -> str:
            return "the target's" if value is None else _minus(f"{value:g} dBTP")

        lines.append(f"master ceiling {words(ma.ceiling_dbtp)} → {words(mb.ceiling_dbtp)}")
    return lines
