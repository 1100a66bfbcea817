"""Voicing chords and rewriting accompaniment parts onto a new chord track.

Conventions
-----------
* A *block chord* is three or more notes of one part starting together; each is re-voiced as a
  whole by :func:`voice_chord` (smallest total motion from the previous voicing, required chord
  tones present, no parallel fifths/octaves between its top and the bass, the leading tone rising
  to the tonic). Other notes keep their *role* in the chord (root → root, third → third…) at the
  octave nearest their old pitch, so rhythm and contour stay as written.
* Times in beats, pitches MIDI.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace

from trackwright.score.symbolic import Chord, Key, Note, Part, Score
from trackwright.score.voice_leading import check_parts, instrument_range, outer_voices, parallel_at

_ROLE = {0: "1", 3: "3", 4: "3", 2: "s", 5: "s", 6: "5", 7: "5", 8: "5", 9: "6", 10: "7", 11: "7", 1: "x"}
_ROLE_PREFERENCE = {"1": ("1",), "3": ("3", "s"), "s": ("s", "3"), "5": ("5",), "6": ("6", "5"), "7": ("7", "1")}


@dataclass(frozen=True)
class VoicingStyle:
    """How :func:`voice_chord` voices: ``spacing`` close (within an octave) or spread (up to two
    octaves, open), ``center`` the register's middle (MIDI pitch, None: the part's own),
    ``inversion`` root/first/second/any (the part's lowest note)."""

    spacing: str = "close"
    center: float | None = None
    inversion: str = "any"


def chord_at(chords: Sequence[Chord], beat: float) -> Chord | None:
    """The chord sounding at ``beat`` (the last one after the end), or None for an empty track."""
    for chord in chords:
        if chord.start <= beat + 1e-6 < chord.end:
            return chord
    return chords[-1] if chords and beat >= chords[-1].end else None


def nearest_pitch(pitch: int, pitch_class: int, *, low: int = 0, high: int = 127) -> int:
    """The pitch of class ``pitch_class`` nearest ``pitch`` (ties go down), kept within [low, high]."""
    down = pitch - ((pitch - pitch_class) % 12)
    candidates = sorted((down, down + 12), key=lambda p: (abs(p - pitch), p))
    for p in candidates:
        if low <= p <= high:
            return p
    p = candidates[0]
    while p < low:
        p += 12
    while p > high:
        p -= 12
    return p


def map_pitch(pitch: int, old: Chord | None, new: Chord, *, low: int = 0, high: int = 127) -> int:
    """``pitch`` moved to the tone with the same role in ``new`` as it had in ``old``.

    Tones outside the old chord stay unless they clash (a semitone) with the new chord, then
    they move to the nearest new chord tone.
    """
    new_tones = {_ROLE[(pc - new.root) % 12]: pc for pc in reversed(new.pitch_classes)}
    if old is not None and pitch % 12 in old.pitch_classes:
        role = _ROLE[(pitch - old.root) % 12]
        for wanted in _ROLE_PREFERENCE.get(role, ()):
            if wanted in new_tones:
                return nearest_pitch(pitch, new_tones[wanted], low=low, high=high)
    pcs = new.pitch_classes
    if pitch % 12 in pcs or not any((pitch - pc) % 12 in (1, 11) for pc in pcs):
        return pitch
    return min((nearest_pitch(pitch, pc, low=low, high=high) for pc in pcs), key=lambda p: (abs(p - pitch), p))


def _required(chord: Chord, voices: int) -> set[int]:
    pcs = list(chord.pitch_classes)
    if voices < len(pcs):  # leave out the fifth first, then the root
        fifth = (chord.root + 7) % 12
        if fifth in pcs and chord.quality not in ("dim",):
            pcs.remove(fifth)
    return set(pcs[:voices])


def voice_chord(chord: Chord, voices: int, *, previous: Sequence[int] | None, low: int, high: int,
                style: VoicingStyle = VoicingStyle(), bass: tuple[int, int] | None = None,
                previous_top_bass: tuple[int, int] | None = None, key: Key | None = None,
                previous_chord: Chord | None = None) -> list[int]:
    """``voices`` pitches (ascending) for ``chord`` within [low, high].

    ``previous`` is the part's last voicing (for smooth motion); ``bass`` is (bass pitch before,
    bass pitch now) and ``previous_top_bass`` the (bass, top) pair before, to keep the top voice
    out of parallel fifths/octaves with the bass.
    """
    center = style.center if style.center is not None else (low + high) / 2
    span_limit = 12 if style.spacing == "close" and voices <= len(chord.pitch_classes) else 24
    tones = [p for p in range(low, high + 1) if p % 12 in chord.pitch_classes]
    required = _required(chord, voices)
    leading = None
    if key is not None and previous_chord is not None and previous_chord.root == (key.tonic + 7) % 12 \
            and chord.root == key.tonic:
        leading = (key.tonic + 11) % 12
    best, best_cost = None, float("inf")
    for combo in itertools.combinations(tones, voices):
        if combo[-1] - combo[0] > span_limit or not required <= {p % 12 for p in combo}:
            continue
        if style.spacing == "spread" and voices >= 3 and combo[-1] - combo[0] < 13:
            continue
        lowest = (combo[0] - chord.root) % 12
        if style.inversion == "root" and lowest != 0:
            continue
        if style.inversion == "first" and _ROLE[lowest] != "3":
            continue
        if style.inversion == "second" and _ROLE[lowest] != "5":
            continue
        cost = 0.3 * abs(sum(combo) / voices - center)
        if previous is not None and len(previous) == voices:
            cost += sum(abs(a - b) for a, b in zip(combo, previous))
            if leading is not None:
                for a, b in zip(previous, combo):
                    if a % 12 == leading and b != a + 1:
                        cost += 60
            if parallel_at((previous[0], previous[-1]), (combo[0], combo[-1])):
                cost += 100
        elif previous is not None:
            cost += abs(combo[-1] - previous[-1]) + abs(combo[0] - previous[0])
        if bass is not None and previous_top_bass is not None:
            if parallel_at(previous_top_bass, (bass[1], combo[-1])):
                cost += 100
        if cost < best_cost - 1e-9:
            best, best_cost = combo, cost
    if best is None:
        return sorted(nearest_pitch(int(center), pc, low=low, high=high) for pc in list(chord.pitch_classes)[:voices])
    return list(best)


def _groups(notes: Sequence[Note]) -> dict[float, list[Note]]:
    groups: dict[float, list[Note]] = {}
    for n in notes:
        groups.setdefault(round(n.start, 6), []).append(n)
    return groups


def _last_low(notes: Sequence[Note], beat: float) -> int | None:
    """The lowest pitch among the notes that started last before ``beat`` (and still sound after it started)."""
    before = [n for n in notes if n.start < beat - 1e-6]
    if not before:
        return None
    latest = max(n.start for n in before)
    return min(n.pitch for n in before if n.start <= latest + 1e-6 and n.end > latest + 1e-6)


def _bass_at(notes: Sequence[Note], beat: float) -> int | None:
    sounding = [n.pitch for n in notes if n.start <= beat + 1e-6 < n.end]
    return min(sounding) if sounding else None


def rewrite_parts(score: Score, old: Sequence[Chord], new: Sequence[Chord], *, parts: Sequence[str] | None = None,
                  style: VoicingStyle | None = None, revoice: bool = False, key: Key | None = None,
                  start: float = 0.0, end: float = float("inf"), voiced: Sequence[str] = ()) -> tuple[Score, list[str]]:
    """Rewrite the accompaniment (or ``parts``) from chord track ``old`` to ``new`` between beats
    ``start`` and ``end``; return the new score and the names of the parts written. Parts named in
    ``voiced`` have every group of two or more notes voiced as a chord (else three or more).

    Bass first (roles kept), then block-chord parts voiced against it, then one repair pass that
    moves a note of a one-note-at-a-time part to another chord tone where the written outer
    voices would move in parallel fifths or octaves.
    """
    key = key or score.key()
    names = list(parts) if parts is not None else [p.name for p in score.accompaniment]
    bass_name = score.bass if score.bass in names else None
    # lowest first: each part is voiced against the lowest voice written before it
    order = ([bass_name] if bass_name else []) + sorted((n for n in names if n != bass_name),
                                                        key=lambda n: score.part(n).mean_pitch)
    bass_notes: list[Note] = []
    written: list[Part] = []
    for name in order:
        part = score.part(name)
        low, high = instrument_range(part)
        own = [n.pitch for n in part.notes]
        low, high = max(low, min(own) - 3), min(high, max(own) + 3)
        groups = _groups(part.notes)
        blocks = {t for t, g in groups.items() if len(g) >= (2 if name in voiced else 3)}
        if style is not None and style.center is not None and blocks:
            low, high = int(style.center) - 12, int(style.center) + 12
        notes: list[Note] = []
        previous: list[int] | None = None
        previous_chord: Chord | None = None
        for t in sorted(groups):
            group = sorted(groups[t], key=lambda n: n.pitch)
            inside = start - 1e-6 <= t < end - 1e-6
            target = chord_at(new, t)
            if not inside or target is None:
                notes.extend(group)
                if t in blocks:
                    previous = [n.pitch for n in group]
                continue
            if t in blocks:
                bass_now = _bass_at(bass_notes, t)
                bass_before = _last_low(bass_notes, t)
                pair = None if bass_before is None or previous is None else (bass_before, previous[-1])
                pitches = voice_chord(target, len(group), previous=previous, low=low, high=high,
                                      style=style or VoicingStyle(), key=key, previous_chord=previous_chord,
                                      bass=None if bass_now is None else (bass_before or bass_now, bass_now),
                                      previous_top_bass=pair)
                notes.extend(replace(n, pitch=p) for n, p in zip(group, pitches))
                previous, previous_chord = pitches, target
            else:
                source = chord_at(old, t)
                notes.extend(replace(n, pitch=map_pitch(n.pitch, source, target, low=low, high=high))
                             for n in group)
        new_part = part.with_notes(notes)
        bass_notes += new_part.notes
        written.append(new_part)
        score = score.replace_part(new_part)
    score = _repair_parallels(score, [p.name for p in written], new)
    return score, [p.name for p in written]


def _repair_parallels(score: Score, names: Sequence[str], chords: Sequence[Chord], *, rounds: int = 3) -> Score:
    """Move single notes of one-note-at-a-time written parts to other chord tones to break parallels."""
    for _ in range(rounds):
        parts = [score.part(n) for n in names]
        voices = outer_voices(parts)
        fixed = False
        for (t0, l0, h0), (t1, l1, h1) in zip(voices, voices[1:]):
            if not parallel_at((l0, h0), (l1, h1)):
                continue
            chord = chord_at(chords, t1)
            for part in sorted(parts, key=lambda p: -p.mean_pitch):
                group = _groups(part.notes).get(round(t1, 6), [])
                candidates = [n for n in group if n.pitch in (h1, l1)]
                if not candidates or part.name == score.bass or chord is None:
                    continue
                note = candidates[-1]
                taken = {n.pitch for n in group}
                low, high = instrument_range(part)
                options = sorted({nearest_pitch(note.pitch + d, pc, low=low, high=high)
                                  for pc in chord.pitch_classes for d in (-4, 4)} - taken,
                                 key=lambda p: (abs(p - note.pitch), p))
                for pitch in options:
                    trial = score.replace_part(part.with_notes(
                        [replace(n, pitch=pitch) if n == note else n for n in part.notes]))
                    trial_voices = outer_voices([trial.part(n) for n in names])
                    if not any(parallel_at((a[1], a[2]), (b[1], b[2])) and abs(b[0] - t1) < 1.0 + 1e-6
                               for a, b in zip(trial_voices, trial_voices[1:])):
                        score, fixed = trial, True
                        break
                if fixed:
                    break
            if fixed:
                break
        if not fixed:
            fixed_tone = _resolve_leading_tones(score, names, chords)
            if fixed_tone is None:
                return score
            score = fixed_tone
    return score


def _resolve_leading_tones(score: Score, names: Sequence[str], chords: Sequence[Chord]) -> Score | None:
    """Raise the top voice's note after an unresolved leading tone to the tonic; None when nothing changed."""
    parts = [score.part(n) for n in names]
    for violation in check_parts(parts, chords, score.key()):
        if violation.kind != "leading_tone":
            continue
        voices = {round(t, 6): (low, high) for t, low, high in outer_voices(parts)}
        times = sorted(voices)
        index = times.index(round(violation.beat, 6))
        target = voices[times[index - 1]][1] + 1
        for part in parts:
            group = _groups(part.notes).get(round(violation.beat, 6), [])
            if len(group) == 1 and group[0].pitch == voices[times[index]][1] and part.name != score.bass:
                note = group[0]
                return score.replace_part(part.with_notes(
                    [replace(n, pitch=target) if n == note else n for n in part.notes]))
    return None


def written_violations(score: Score, names: Sequence[str], chords: Sequence[Chord], *,
                       allow_unresolved: bool = False) -> list:
    """:func:`~trackwright.score.voice_leading.check_parts` on the parts called ``names``."""
    return check_parts([score.part(n) for n in names], chords, score.key(), allow_unresolved=allow_unresolved)


__all__ = ["VoicingStyle", "chord_at", "map_pitch", "nearest_pitch", "rewrite_parts", "voice_chord",
           "written_violations"]
