"""Voice-leading checks for the parts an operation writes.

Conventions
-----------
* The *outer voices* of a set of parts are, at every onset of one of their notes, the lowest and
  the highest pitch sounding in those parts (beats). Parallel fifths or octaves are two
  successive such points where both voices move and both intervals are perfect fifths (or both
  octaves/unisons), compound intervals included.
* Instrument ranges come from the part's name (soprano, alto, tenor, bass as choir voices) or
  its General MIDI program family.
* A leading tone in the top voice over a dominant chord must rise a semitone when the next chord
  is the tonic (unless the operation asks to leave it, e.g. a deceptive or delayed resolution).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from trackwright.score.symbolic import Chord, Key, Part

#: Choir voices by part name, MIDI pitch (low, high).
VOICE_RANGES = {"soprano": (59, 81), "alto": (52, 74), "tenor": (45, 69), "bass": (36, 64)}


def instrument_range(part: Part) -> tuple[int, int]:
    """(lowest, highest) MIDI pitch the part's instrument plays comfortably."""
    if part.name in VOICE_RANGES and part.program in (0, 52, 53, 54):
        return VOICE_RANGES[part.name]
    family = part.program // 8
    if family == 4:        # bass
        return (24, 67)
    if family in (5, 6):   # strings, ensembles (pads)
        return (28, 100)
    if family in (9, 10):  # synth lead, pad
        return (36, 100)
    return (21, 108)


@dataclass(frozen=True)
class Violation:
    """One broken rule: ``kind`` (parallel_fifths, parallel_octaves, range, leading_tone), where, and in words."""

    kind: str
    beat: float
    part: str
    detail: str

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {"kind": self.kind, "beat": round(self.beat, 3), "part": self.part, "detail": self.detail}


def outer_voices(parts: Sequence[Part]) -> list[tuple[float, int, int]]:
    """(beat, lowest pitch, highest pitch) at each onset where at least two pitches sound."""
    notes = [n for p in parts for n in p.notes]
    if not notes:
        return []
    starts = np.array([n.start for n in notes])
    ends = np.array([n.end for n in notes])
    pitches = np.array([n.pitch for n in notes])
    onsets = np.unique(np.round(starts, 6))
    sounding = (starts[None, :] <= onsets[:, None] + 1e-6) & (ends[None, :] > onsets[:, None] + 1e-6)
    low = np.where(sounding, pitches[None, :], 999).min(axis=1)
    high = np.where(sounding, pitches[None, :], -1).max(axis=1)
    return [(float(t), int(a), int(b)) for t, a, b in zip(onsets, low, high) if b > a]


def parallel_at(prev: tuple[int, int], new: tuple[int, int]) -> str | None:
    """``"fifths"``/``"octaves"`` when (low, high) → (low, high) moves in parallel perfect intervals."""
    (l0, h0), (l1, h1) = prev, new
    if l0 == l1 or h0 == h1:
        return None
    i0, i1 = (h0 - l0) % 12, (h1 - l1) % 12
    if i0 == i1 == 7:
        return "fifths"
    if i0 == i1 == 0:
        return "octaves"
    return None


def _chord_at(chords: Sequence[Chord], beat: float) -> Chord | None:
    for chord in chords:
        if chord.start <= beat + 1e-6 < chord.end:
            return chord
    return None


def check_parts(parts: Sequence[Part], chords: Sequence[Chord], key: Key, *,
                allow_unresolved: bool = False) -> list[Violation]:
    """Violations in ``parts`` (the written ones): parallel fifths/octaves between their outer
    voices, notes outside their instrument's range, unresolved leading tones in the top voice."""
    found: list[Violation] = []
    names = "+".join(p.name for p in parts)
    for part in parts:
        low, high = instrument_range(part)
        for note in part.notes:
            if not low <= note.pitch <= high:
                found.append(Violation("range", note.start, part.name,
                                       f"pitch {note.pitch} outside {low}–{high}"))
    voices = outer_voices(parts)
    for (t0, l0, h0), (t1, l1, h1) in zip(voices, voices[1:]):
        kind = parallel_at((l0, h0), (l1, h1))
        if kind:
            found.append(Violation(f"parallel_{kind}", t1, names,
                                   f"outer voices {l0}/{h0} → {l1}/{h1} at beat {t1:g}"))
    if not allow_unresolved:
        leading, tonic = (key.tonic + 11) % 12, key.tonic
        for (t0, _, h0), (t1, _, h1) in zip(voices, voices[1:]):
            c0, c1 = _chord_at(chords, t0), _chord_at(chords, t1)
            if (h0 % 12 == leading and c0 is not None and c1 is not None and c0.root == (tonic + 7) % 12
                    and c1.root == tonic and c1 is not c0 and h1 != h0 + 1):
                found.append(Violation("leading_tone", t1, names,
                                       f"leading tone {h0} over {c0.label} goes to {h1}, not the tonic"))
    return sorted(found, key=lambda v: (v.beat, v.kind))
