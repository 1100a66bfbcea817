"""Draft-time marks (sections, findings, in source seconds) placed on a version's own timeline.

A version's arrangement plays stretches of the draft in some order (an
:class:`~trackwright.arrange.edl.EditList`), so a section of the draft may be heard once, twice,
in part, or not at all; each hearing is one span in output seconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from trackwright.arrange.edl import EditList


def output_spans(edits: EditList, start_s: float, end_s: float) -> list[tuple[float, float]]:
    """Where source seconds ``start_s``–``end_s`` are heard in the output of ``edits``.

    Parameters
    ----------
    edits : EditList
        The version's arrangement.
    start_s, end_s : float
        A stretch of the source (the draft), seconds.

    Returns
    -------
    list of (float, float)
        Output (start, end) in seconds, in playing order, clipped to the output's length; empty
        when the arrangement leaves that stretch out.

    Examples
    --------
    >>> from trackwright.arrange.edl import Segment
    >>> output_spans(EditList((Segment(0, 4), Segment(8, 12))), 2.0, 10.0)
    [(2.0, 4.0), (4.0, 6.0)]
    """
    spans = []
    total = edits.output_duration_s
    for out_start, segment in zip(edits.output_starts_s(), edits.segments):
        a, b = max(start_s, segment.start_s), min(end_s, segment.end_s)
        if b <= a:
            continue
        s = out_start + (a - segment.start_s) * segment.stretch
        e = min(total, out_start + (b - segment.start_s) * segment.stretch)
        if e > s:
            spans.append((round(s, 3), round(e, 3)))
    return spans


def place(edits: EditList, marks: Iterable[Mapping[str, Any]], keep: tuple[str, ...]) -> list[dict[str, Any]]:
    """Each mark (with ``start_s``/``end_s`` in source seconds) once per span it is heard in.

    Returns dicts with the ``keep`` fields and ``start_s``/``end_s`` in output seconds.
    """
    out = []
    for mark in marks:
        start = float(mark.get("start_s", 0.0))
        end = float(mark.get("end_s", start) or start)
        if end <= start:  # a moment: heard where the instant falls
            end = start + 1e-3
        for s, e in output_spans(edits, start, end):
            out.append({**{k: mark.get(k) for k in keep}, "start_s": s, "end_s": e})
    return out
