"""Melody variation that keeps the motif recognisable, and a measure of how recognisable it is.

Conventions
-----------
* Beats for times, MIDI pitches; the melody is the score's ``melody`` part.
* Strong beats (every whole beat) keep their pitch in ``ornament`` and ``contour``; only what lies
  between them changes, so the tune's skeleton stays.
* :func:`motif_similarity` samples both melodies on a sixteenth-note grid and scores each point
  1 (same pitch), 0.75 (within a tone), 0.25 (within a major third) or 0; the mean is 0–1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from trackwright.errors import ParameterError
from trackwright.score.symbolic import Note, Score

TECHNIQUES = ("ornament", "displace", "contour", "sequence")


def _scale_step(pitch: int, steps: int, scale: Sequence[int]) -> int:
    """``pitch`` moved ``steps`` scale steps (pitch snapped into the scale first)."""
    pcs = sorted(scale)
    p = pitch
    while p % 12 not in pcs:
        p -= 1
    for _ in range(abs(steps)):
        p += 1 if steps > 0 else -1
        while p % 12 not in pcs:
            p += 1 if steps > 0 else -1
    return p


def motif_similarity(reference: Sequence[Note], other: Sequence[Note], *, step_beats: float = 0.25) -> float:
    """0–1: how alike two melodies sound on a grid of ``step_beats`` (the reference's span)."""
    if not reference:
        raise ParameterError("motif_similarity: the reference melody is empty")
    start, end = min(n.start for n in reference), max(n.end for n in reference)

    def sample(notes: Sequence[Note]) -> np.ndarray:
        grid = np.arange(start, end, step_beats)
        out = np.full(len(grid), -100.0)
        ordered = sorted(notes)
        j, last = 0, -100.0
        for i, t in enumerate(grid):
            while j < len(ordered) and ordered[j].start <= t + 1e-6:
                last = ordered[j].pitch
                j += 1
            out[i] = last
        return out

    a, b = sample(reference), sample(other)
    d = np.abs(a - b)
    score = np.where(d == 0, 1.0, np.where(d <= 2, 0.75, np.where(d <= 4, 0.25, 0.0)))
    return float(score.mean())


def vary_melody(score: Score, rng: np.random.Generator, *, start: float, end: float, technique: str = "ornament",
                amount: float = 0.5, step: int = -1) -> tuple[Score, list[str], list[str], bool]:
    """Vary the melody in the section.

    ``ornament``: long notes (≥ 0.9 beat) become note–upper neighbour–note; ``displace``: notes on
    beats 2–4 are anticipated by half a beat; ``contour``: notes between beats turn their
    direction around the previous note; ``sequence``: every second two-bar phrase restates the
    one before it ``step`` scale steps higher (or lower). ``amount`` (0–1) is the share of
    eligible notes changed.
    """
    if technique not in TECHNIQUES:
        raise ParameterError(f"vary_melody: technique must be one of {', '.join(TECHNIQUES)}, got {technique!r}")
    if not 0.0 <= amount <= 1.0:
        raise ParameterError(f"vary_melody: amount must be 0–1, got {amount!r}")
    if score.melody is None:
        raise ParameterError("vary_melody: the MIDI has no melody part (one note at a time)")
    part = score.part(score.melody)
    scale = score.key().scale
    notes = list(part.notes)
    inside = [i for i, n in enumerate(notes) if start - 1e-6 <= n.start < end - 1e-6]
    if not inside:
        raise ParameterError("vary_melody: the melody does not play in the section")
    out: list[Note] = [n for i, n in enumerate(notes) if i not in set(inside)]
    changed = 0
    bar = score.beats_per_bar
    if technique == "sequence":
        phrase = 2 * bar
        first = int(np.floor(notes[inside[0]].start / phrase + 1e-9))
        out = _sequence(notes, inside, phrase, first, step, scale, rng, amount)
        changed = len(set(out) - set(notes))
    else:
        previous_pitch = None
        for position, i in enumerate(inside):
            n = notes[i]
            on_beat = abs(n.start - round(n.start)) < 1e-6
            following = notes[i + 1] if i + 1 < len(notes) else None
            draw = rng.random()
            if technique == "ornament" and n.end - n.start >= 0.9 and draw < amount:
                d = n.end - n.start
                neighbour = _scale_step(n.pitch, 1, scale)
                out += [replace(n, end=n.start + d / 2), replace(n, start=n.start + d / 2, end=n.start + 3 * d / 4,
                                                                   pitch=neighbour),
                        replace(n, start=n.start + 3 * d / 4)]
                changed += 1
            elif (technique == "displace" and on_beat and (n.start % bar) > 1e-6 and draw < amount
                  and position > 0):
                prev = out[-1]
                if prev.start < n.start - 0.5 - 1e-6:
                    out[-1] = replace(prev, end=min(prev.end, n.start - 0.5))
                    out.append(replace(n, start=n.start - 0.5))
                    changed += 1
                else:
                    out.append(n)
            elif (technique == "contour" and not on_beat and previous_pitch is not None and draw < amount):
                direction = n.pitch - previous_pitch
                steps = -1 if direction > 0 else 1
                pitch = _scale_step(previous_pitch, steps, scale)
                if following is not None and abs(following.pitch - pitch) > 7:
                    pitch = n.pitch
                changed += pitch != n.pitch
                out.append(replace(n, pitch=pitch))
            else:
                out.append(n)
            previous_pitch = out[-1].pitch
    new_part = part.with_notes(out)
    words = {"ornament": "neighbour-note ornaments", "displace": "anticipations (half a beat early)",
             "contour": "contour turned between beats", "sequence": f"sequences {step:+d} step(s)"}[technique]
    return score.replace_part(new_part), [part.name], [f"{part.name}: {words} on {changed} note(s)"], False


def _sequence(notes: Sequence[Note], inside: Sequence[int], phrase: float, first: int, step: int,
              scale: Sequence[int], rng: np.random.Generator, amount: float) -> list[Note]:
    """Notes with every second phrase of the section replaced by the previous phrase, moved ``step`` scale steps."""
    chosen = set(inside)
    out = [n for i, n in enumerate(notes) if i not in chosen]
    phrases: dict[int, list[Note]] = {}
    for i in inside:
        phrases.setdefault(int(np.floor(notes[i].start / phrase + 1e-9)), []).append(notes[i])
    for index in sorted(phrases):
        model = phrases.get(index - 1)
        if (index - first) % 2 == 1 and model and rng.random() < amount + 1e-9:
            out += [replace(m, start=m.start + phrase, end=m.end + phrase, pitch=_scale_step(m.pitch, step, scale))
                    for m in model]
        else:
            out += phrases[index]
    return sorted(out)
