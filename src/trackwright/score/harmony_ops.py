"""Harmony operations: reharmonise, delay a resolution, pedal point, change mode, re-voice,
transpose a section, thin or thicken the texture.

Conventions
-----------
* Every operation takes a :class:`~trackwright.score.symbolic.Score`, a ``numpy`` random
  generator (seeded by the caller: same seed, same result) and keyword options, and returns
  ``(score, written part names, changes in words, allow_unresolved)``; :mod:`trackwright.score.compose`
  wraps them with the voice-leading report.
* A section is ``(start, end)`` in beats; see :func:`trackwright.score.compose.section_beats`.
* The melody is never rewritten by harmony operations (except change mode and transpose, which
  move it with everything else, keeping its contour); substitutions are chosen so that no melody
  note of half a beat or longer sits a semitone from a tone of the new chord.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from trackwright.errors import ParameterError
from trackwright.score.symbolic import MODES, QUALITIES, Chord, Key, Note, Part, Score, estimate_key
from trackwright.score.voicing import VoicingStyle, chord_at, map_pitch, nearest_pitch, rewrite_parts

OpOutput = tuple[Score, list[str], list[str], bool]
SUBSTITUTIONS = ("relative", "parallel", "secondary", "interchange", "suspension", "added")


def _major(quality: str) -> bool:
    return QUALITIES[quality][1] == 4


def fits_melody(chord: Chord, melody: Sequence[Note], *, min_beats: float = 0.5) -> bool:
    """True when no melody note of ``min_beats`` or longer overlapping the chord is a semitone from a chord tone."""
    pcs = chord.pitch_classes
    for note in melody:
        if note.end - note.start < min_beats or note.end <= chord.start + 1e-6 or note.start >= chord.end - 1e-6:
            continue
        if any((note.pitch - pc) % 12 in (1, 11) for pc in pcs):
            return False
    return True


def _candidates(chord: Chord, following: Chord | None, key: Key, kinds: Sequence[str]) -> list[tuple[str, list[Chord]]]:
    """(kind, replacement chords over the same span) for each substitution of ``chord``."""
    out: list[tuple[str, list[Chord]]] = []
    degree = (chord.root - key.tonic) % 12
    major = _major(chord.quality)
    if "relative" in kinds and chord.quality in ("", "m"):
        root, quality = ((chord.root + 9) % 12, "m") if major else ((chord.root + 3) % 12, "")
        out.append(("relative", [replace(chord, root=root, quality=quality)]))
    if "parallel" in kinds and chord.quality in ("", "m") and degree != 0:
        out.append(("parallel", [replace(chord, quality="m" if major else "")]))
    if "interchange" in kinds:
        table = ({5: (5, "m"), 9: (8, ""), 4: (3, ""), 7: (10, ""), 2: (2, "dim")} if not key.is_minor
                 else {5: (5, ""), 7: (7, ""), 3: (3, "m"), 8: (9, "dim")})
        if degree in table:
            root, quality = table[degree]
            out.append(("interchange", [replace(chord, root=(key.tonic + root) % 12, quality=quality)]))
    if "secondary" in kinds and following is not None and following.quality != "dim":
        root = (following.root + 7) % 12
        if root != chord.root or chord.quality != "7":
            out.append(("secondary", [replace(chord, root=root, quality="7")]))
    if "suspension" in kinds and chord.end - chord.start >= 2 - 1e-6 and chord.quality in ("", "m"):
        middle = chord.start + max(1.0, np.floor((chord.end - chord.start) / 2))
        out.append(("suspension", [replace(chord, end=middle, quality="sus4"), replace(chord, start=middle)]))
    if "added" in kinds and chord.quality in ("", "m"):
        options = ("add9", "6", "maj7") if major and degree in (0, 5) else ("add9", "6") if major else ("m7", "madd9")
        for quality in options:
            out.append(("added", [replace(chord, quality=quality)]))
    return out


def _melody(score: Score) -> list[Note]:
    return list(score.part(score.melody).notes) if score.melody else []


def _require_accompaniment(score: Score, op: str) -> None:
    if not score.accompaniment:
        raise ParameterError(f"{op}: the MIDI has no accompaniment part to rewrite (parts: "
                             f"{', '.join(p.name for p in score.parts)}; melody: {score.melody})")


def reharmonise(score: Score, rng: np.random.Generator, *, start: float, end: float, rate: float = 0.5,
                kinds: Sequence[str] = SUBSTITUTIONS) -> OpOutput:
    """Substitute chords (relative, parallel, secondary dominant, modal interchange, suspension, added
    tones) on about ``rate`` of the chords in the section, each fitting the melody. The tonic chord
    only takes added tones or a suspension, and substitutions that would move the key (as
    :meth:`Score.key` hears the result) are dropped, last first: colour, not a modulation."""
    _require_accompaniment(score, "reharmonise")
    unknown = sorted(set(kinds) - set(SUBSTITUTIONS))
    if unknown or not kinds:
        raise ParameterError(f"reharmonise: kinds must be some of {', '.join(SUBSTITUTIONS)}, got {list(kinds)!r}")
    if not 0.0 <= rate <= 1.0:
        raise ParameterError(f"reharmonise: rate must be 0–1, got {rate!r}")
    key, chords, melody = score.key(), score.chords(), _melody(score)
    chosen: dict[int, tuple[str, list[Chord]]] = {}
    for index, chord in enumerate(chords):
        draw = rng.random()
        following = chords[index + 1] if index + 1 < len(chords) else None
        if not (start - 1e-6 <= chord.start < end - 1e-6) or draw >= rate:
            continue
        options = [(kind, repl) for kind, repl in _candidates(chord, following, key, kinds)
                   if all(fits_melody(c, melody) for c in repl)
                   and (chord.root != key.tonic or kind in ("added", "suspension"))]  # the tonic keeps its root
        if options:
            chosen[index] = options[int(rng.integers(len(options)))]
    # substitutions colour the key, they do not leave it: drop the last ones until the chords and
    # melody still read in the original key
    heard = _key_of(chords, melody)
    while chosen and _key_of(_track(chords, chosen), melody) != heard:
        del chosen[max(chosen)]
    out, written = rewrite_parts(score, chords, _track(chords, chosen), key=key)
    while chosen and out.key() != key:  # the written parts are the last word
        del chosen[max(chosen)]
        out, written = rewrite_parts(score, chords, _track(chords, chosen), key=key)
    changes = [f"beat {chords[i].start:g}: {chords[i].label} → {' '.join(c.label for c in repl)} ({kind})"
               for i, (kind, repl) in sorted(chosen.items())]
    return out, written, changes, False


def _track(chords: Sequence[Chord], chosen: dict[int, tuple[str, list[Chord]]]) -> list[Chord]:
    return [c for i, chord in enumerate(chords) for c in (chosen[i][1] if i in chosen else [chord])]


def _key_of(chords: Sequence[Chord], melody: Sequence[Note]) -> Key:
    """The key of a chord track (its tones, root doubled) with the melody at half weight."""
    tones = [Note(c.start, c.end, 48 + pc, 64) for c in chords for pc in (c.root, *c.pitch_classes)]
    return estimate_key([*tones, *(Note(n.start, n.start + (n.end - n.start) / 2, n.pitch) for n in melody)])


def delay_resolution(score: Score, rng: np.random.Generator, *, start: float, end: float,
                     how: str = "extend") -> OpOutput:
    """Hold off the arrivals on the tonic: ``extend`` the chord before it into the tonic's first
    half, a ``deceptive`` cadence (vi / VI instead of I), or a 4–3 ``suspension`` over the tonic."""
    del rng  # deterministic
    _require_accompaniment(score, "delay_resolution")
    if how not in ("extend", "deceptive", "suspension"):
        raise ParameterError(f"delay_resolution: how must be extend, deceptive or suspension, got {how!r}")
    key, chords, melody = score.key(), score.chords(), _melody(score)
    arrivals = [i for i in range(1, len(chords)) if chords[i].root == key.tonic and chords[i - 1].root != key.tonic
                and start - 1e-6 <= chords[i].start < end - 1e-6]
    dominant = [i for i in arrivals if chords[i - 1].root == (key.tonic + 7) % 12]
    arrivals = dominant or arrivals
    if not arrivals:
        raise ParameterError("delay_resolution: no arrival on the tonic in the section")
    new = list(chords)
    changes: list[str] = []
    melody_changed = False
    for i in reversed(arrivals):
        before, tonic = new[i - 1], new[i]
        if how != "deceptive" and tonic.end - tonic.start < 2 - 1e-6:
            changes.append(f"beat {tonic.start:g}: kept {tonic.label} (shorter than two beats: no room to delay)")
            continue
        middle = tonic.start + max(1.0, float(np.floor((tonic.end - tonic.start) / 2)))
        if how == "deceptive":
            replacement = [replace(tonic, root=(key.tonic + (8 if key.is_minor else 9)) % 12,
                                   quality="" if key.is_minor else "m")]
        elif how == "suspension":
            replacement = [replace(tonic, end=middle, quality="sus4"), replace(tonic, start=middle)]
        else:
            replacement = [replace(before, start=tonic.start, end=middle), replace(tonic, start=middle)]
        held = replacement[0]
        if how != "deceptive" and not fits_melody(held, melody):
            # the melody is delayed too: its notes under the held chord take that chord's tones
            melody = [replace(n, pitch=map_pitch(n.pitch, tonic, held)) if held.start - 1e-6 <= n.start < held.end - 1e-6
                      else n for n in melody]
            melody_changed = True
        if not fits_melody(held, melody):  # the tonic after the delay is the song's own
            changes.append(f"beat {tonic.start:g}: kept {tonic.label} (the melody clashes with the delay)")
            continue
        new[i:i + 1] = replacement
        changes.append(f"beat {tonic.start:g}: {before.label} → {' '.join(c.label for c in replacement)} ({how})")
    out, written = rewrite_parts(score, chords, new, key=key)
    if melody_changed and score.melody:
        out = out.replace_part(out.part(score.melody).with_notes(melody))
        written.append(score.melody)
    return out, written, changes, True


def pedal_point(score: Score, rng: np.random.Generator, *, start: float, end: float,
                degree: str = "tonic") -> OpOutput:
    """The bass holds the tonic (or dominant) through the section, in its own rhythm; harmony above stays."""
    del rng
    if degree not in ("tonic", "dominant"):
        raise ParameterError(f"pedal: degree must be tonic or dominant, got {degree!r}")
    bass_name = score.bass
    if bass_name is None:
        raise ParameterError("pedal: the MIDI has no bass part")
    key = score.key()
    pc = (key.tonic + (7 if degree == "dominant" else 0)) % 12
    bass = score.part(bass_name)
    first = next((n.pitch for n in bass.notes if start - 1e-6 <= n.start < end - 1e-6), None)
    if first is None:
        raise ParameterError("pedal: the bass does not play in the section")
    low = min(n.pitch for n in bass.notes)
    pedal = nearest_pitch(first, pc, low=low - 2, high=low + 14)
    notes = [replace(n, pitch=pedal + 12 * int((n.pitch - first) / 12))
             if start - 1e-6 <= n.start < end - 1e-6 else n for n in bass.notes]
    out = score.replace_part(bass.with_notes(notes))
    return out, [bass_name], [f"{degree} pedal ({pedal}) in the bass from beat {start:g} to {end:g}"], False


def mode_map(source: str, target: str) -> dict[int, int]:
    """Semitones above the tonic in ``source`` mode → the same scale degree in ``target``."""
    if target not in MODES:
        raise ParameterError(f"change_mode: mode must be one of {', '.join(MODES)}, got {target!r}")
    return {s: t for s, t in zip(MODES[source], MODES[target])}


def change_mode(score: Score, rng: np.random.Generator, *, start: float, end: float,
                mode: str | None = None) -> OpOutput:
    """Every pitched note moves to the same scale degree of ``mode`` on the same tonic (contour kept);
    chromatic notes stay. In minor the leading tone stays raised over the dominant. ``mode=None``
    turns major into minor and minor into major."""
    del rng
    key = score.key()
    mode = mode or ("major" if key.is_minor else "minor")
    mapping = mode_map(key.mode, mode)
    chords = score.chords()
    parts: list[Part] = []
    for part in score.parts:
        if part.is_drums:
            parts.append(part)
            continue
        notes = []
        for n in part.notes:
            if not start - 1e-6 <= n.start < end - 1e-6:
                notes.append(n)
                continue
            offset = (n.pitch - key.tonic) % 12
            chord = chord_at(chords, n.start)
            keep_leading = (mode in ("minor",) and offset == 11 and chord is not None
                            and chord.root == (key.tonic + 7) % 12)
            shift = 0 if keep_leading or offset not in mapping else mapping[offset] - offset
            notes.append(replace(n, pitch=n.pitch + shift))
        parts.append(part.with_notes(notes))
    out = score.with_parts(parts)
    new_chords = out.chords()
    out, written = rewrite_parts(out, new_chords, new_chords, key=Key(key.tonic, mode), start=start, end=end)
    names = [p.name for p in out.pitched]
    return out, names, [f"{key.label} → {Key(key.tonic, mode).label} from beat {start:g} to {end:g}"], False


def revoice(score: Score, rng: np.random.Generator, *, start: float, end: float, spacing: str = "close",
            register: int | None = None, inversion: str = "any") -> OpOutput:
    """Re-voice the block chords (3+ notes together) of the accompaniment with smooth voice leading."""
    del rng
    if spacing not in ("close", "spread"):
        raise ParameterError(f"revoice: spacing must be close or spread, got {spacing!r}")
    if inversion not in ("any", "root", "first", "second"):
        raise ParameterError(f"revoice: inversion must be any, root, first or second, got {inversion!r}")
    if register is not None and not 36 <= register <= 96:
        raise ParameterError(f"revoice: register must be a MIDI pitch 36–96, got {register!r}")
    blocks = [p.name for p in score.accompaniment if _has_blocks(p)]
    if not blocks:
        raise ParameterError("revoice: no part plays block chords (3 or more notes together)")
    chords = score.chords()
    bass = [score.bass] if score.bass and score.bass not in blocks else []
    style = VoicingStyle(spacing=spacing, center=register, inversion=inversion)
    out, _ = rewrite_parts(score, chords, chords, parts=bass + blocks, style=style, revoice=True,
                           start=start, end=end)
    words = f"{spacing} voicing" + (f" around {register}" if register else "") + (
        f", {inversion} inversion" if inversion != "any" else "")
    return out, bass + blocks, [f"{', '.join(blocks)}: {words}"], False


def _has_blocks(part: Part) -> bool:
    onsets: dict[float, int] = {}
    for n in part.notes:
        onsets[round(n.start, 6)] = onsets.get(round(n.start, 6), 0) + 1
    return any(count >= 3 for count in onsets.values())


def transpose_section(score: Score, rng: np.random.Generator, *, start: float, end: float,
                      semitones: int = 2) -> OpOutput:
    """Transpose every pitched note starting in the section by ``semitones`` (a modulation when the
    section runs to the end); the accompaniment is re-voiced so the joins move smoothly."""
    del rng
    if isinstance(semitones, bool) or not isinstance(semitones, int) or not -12 <= semitones <= 12 or semitones == 0:
        raise ParameterError(f"transpose: semitones must be a whole number from -12 to 12, not 0; got {semitones!r}")
    parts = [p if p.is_drums else p.with_notes(replace(n, pitch=min(max(n.pitch + semitones, 0), 127))
                                               if start - 1e-6 <= n.start < end - 1e-6 else n for n in p.notes)
             for p in score.parts]
    out = score.with_parts(parts)
    chords = out.chords()
    out, _ = rewrite_parts(out, chords, chords)
    return out, [p.name for p in out.pitched], [f"beats {start:g}–{end:g} moved {semitones:+d} semitones"], False


def texture(score: Score, rng: np.random.Generator, *, start: float, end: float, change: str = "thicken") -> OpOutput:
    """``thin``: block chords keep two voices and a pad part is dropped; ``thicken``: block chords
    gain a voice and a sustained pad (program 48) holds the chord track."""
    del rng
    if change not in ("thin", "thicken"):
        raise ParameterError(f"texture: change must be thin or thicken, got {change!r}")
    chords = score.chords()
    blocks = [p for p in score.accompaniment if _has_blocks(p)]
    out, written, changes = score, [], []
    for part in blocks:
        groups: dict[float, list[Note]] = {}
        for n in part.notes:
            groups.setdefault(round(n.start, 6), []).append(n)
        notes: list[Note] = []
        for t in sorted(groups):
            group = sorted(groups[t], key=lambda n: n.pitch)
            if len(group) < 3 or not start - 1e-6 <= t < end - 1e-6:
                notes.extend(group)
            elif change == "thin":
                notes.extend((group[0], group[-1]))
            else:
                notes.extend((*group, replace(group[-1], pitch=group[-1].pitch + 12)))
        out = out.replace_part(part.with_notes(notes))
        written.append(part.name)
        changes.append(f"{part.name}: {'two' if change == 'thin' else 'one more'} voice(s) per chord")
    pads = [p for p in out.accompaniment if p.name not in written and (p.program // 8 in (6, 11) or p.name == "pad")]
    if change == "thin":
        for pad in pads:
            out = out.with_parts(p for p in out.parts if p.name != pad.name)
            changes.append(f"{pad.name}: removed")
    else:
        name = "pad" if "pad" not in [p.name for p in out.parts] else "pad_added"
        used = {p.channel for p in out.parts}
        channel = next((c for c in range(16) if c not in used and c != 9), 15)
        # placeholder pitches spanning 50–71: rewrite_parts voices the pad in that register
        notes = [Note(c.start, c.end - 0.05, 50 + 7 * i, 64) for c in chords if start - 1e-6 <= c.start < end - 1e-6
                 for i in range(4)]
        out = out.replace_part(Part(name, channel, 48, tuple(sorted(notes))))
        written.append(name)
        changes.append(f"{name}: sustained chords added (strings)")
    bass = [score.bass] if score.bass and score.bass not in written else []
    out, _ = rewrite_parts(out, chords, chords, parts=bass + written, voiced=written, start=start, end=end)
    written = bass + written
    if not written:
        raise ParameterError(f"texture: nothing to {change} (no block chords or pad)")
    return out, written, changes, False
