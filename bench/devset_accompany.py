"""Harmonise a folk melody and play an accompaniment under it, in the tune's own metre.

The chords are chosen here (diatonic triads and a dominant seventh, one per bar or half bar,
by a small dynamic programme over how well each covers the melody), then *played* by a bass
and a chord instrument in a texture typical of the metre: boom-chick (a jig's bass on 1 and 4,
chords on 3 and 6), broken chords (Alberti in simple metres, triplet arpeggios in compound
ones), sustained strings, or sparse plucked chords. The chords played are therefore the exact
chord truth, while the melody's passing notes make them hard to hear.
"""

from __future__ import annotations

import numpy as np

from devset_music import (MAJOR_SCALE, MINOR_SCALE, PITCHES, Metre, Note, Symbolic, bass_pitch, chord_pcs,
                          voicing)

MODES = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10), "dorian": (0, 2, 3, 5, 7, 9, 10),
         "mixolydian": (0, 2, 4, 5, 7, 9, 10), "aeolian": (0, 2, 3, 5, 7, 8, 10), "ionian": MAJOR_SCALE}
#: Textures that suit each metre (all do; the list only orders the draw).
STYLES = ("boomchick", "arpeggio", "sustained", "sparse")


def diatonic_chords(tonic: int, mode: str) -> list[tuple[str, float]]:
    """(Harte label, preference) of the usable triads of a mode, tonic first; minor adds V major."""
    scale = MODES.get(mode, MINOR_SCALE if mode == "minor" else MAJOR_SCALE)
    out = []
    for degree in range(7):
        root = scale[degree]
        third = (scale[(degree + 2) % 7] - root) % 12
        fifth = (scale[(degree + 4) % 7] - root) % 12
        if fifth != 7:
            continue
        quality = "maj" if third == 4 else "min"
        preference = {0: 1.0, 4: 0.85, 3: 0.85}.get(degree, 0.55)
        out.append((f"{PITCHES[(tonic + root) % 12]}:{quality}", preference))
    if mode in ("minor", "aeolian"):
        out.append((f"{PITCHES[(tonic + 7) % 12]}:maj", 0.8))
    return out


def harmonise(piece: Symbolic, tonic: int, mode: str, rng: np.random.Generator) -> list[tuple[float, float, str]]:
    """Chords (start ql, end ql, label) for the melody of ``piece`` (channel 0), one per span."""
    metre = piece.metre
    half = metre.numerator in (4, 12) or (metre.numerator in (2, 6) and metre.denominator in (2, 8))
    span = metre.bar_ql / 2 if half else metre.bar_ql
    starts = [0.0] if piece.pickup_ql > 1e-9 else []
    starts += list(np.arange(piece.pickup_ql, piece.length_ql - 1e-9, span))
    ends = starts[1:] + [piece.length_ql]
    candidates = diatonic_chords(tonic, mode)
    melody = [n for n in piece.notes if n.channel == 0]
    scores = np.zeros((len(starts), len(candidates)))
    for i, (a, b) in enumerate(zip(starts, ends)):
        for j, (label, preference) in enumerate(candidates):
            _, pcs = chord_pcs(label)
            s = 0.0
            for note in melody:
                overlap = min(b, note.end_ql) - max(a, note.start_ql)
                if overlap <= 0:
                    continue
                weight = 1.5 if abs(note.start_ql - a) < 1e-6 or (note.start_ql < a < note.end_ql) else 1.0
                s += overlap * weight * (1.0 if note.pitch % 12 in pcs else -0.4)
            scores[i, j] = s / max(b - a, 1e-9) + 0.35 * preference + rng.normal(0, 0.02)
    tonic_label = candidates[0][0]
    scores[0, 0] += 0.5
    scores[-1, 0] += 1.0
    change = 0.15
    total = scores[0].copy()
    back = np.zeros(scores.shape, dtype=int)
    for i in range(1, len(starts)):
        options = total[:, None] - change * (1 - np.eye(len(candidates)))
        back[i] = np.argmax(options, axis=0)
        total = options[back[i], np.arange(len(candidates))] + scores[i]
    path = [int(np.argmax(total))]
    for i in range(len(starts) - 1, 0, -1):
        path.append(back[i, path[-1]])
    path = path[::-1]
    labels = [candidates[j][0] for j in path]
    # a dominant before the tonic now and then becomes a seventh chord
    dominant = f"{PITCHES[(tonic + 7) % 12]}:maj"
    for i in range(len(labels) - 1):
        if labels[i] == dominant and labels[i + 1] == tonic_label and rng.random() < 0.6:
            labels[i] = f"{PITCHES[(tonic + 7) % 12]}:7"
    if piece.pickup_ql > 1e-9:
        labels[0] = "X"  # the melody's pickup, unaccompanied: no chord to score
    out: list[tuple[float, float, str]] = []
    for a, b, label in zip(starts, ends, labels):
        if out and out[-1][2] == label:
            out[-1] = (out[-1][0], b, label)
        else:
            out.append((a, b, label))
    return out


def _pattern(metre: Metre, style: str) -> list[tuple[float, str]]:
    """(position in the bar, ql; what plays) for one bar."""
    text = metre.text
    if style == "boomchick":
        table = {"2/4": [(0, "bass"), (1, "chord")], "3/4": [(0, "bass"), (1, "chord"), (2, "chord")],
                 "4/4": [(0, "bass"), (1, "chord"), (2, "fifth"), (3, "chord")],
                 "2/2": [(0, "bass"), (1, "chord"), (2, "fifth"), (3, "chord")],
                 "6/8": [(0, "bass"), (1, "chord"), (1.5, "fifth"), (2.5, "chord")],
                 "9/8": [(0, "bass"), (1, "chord"), (1.5, "fifth"), (2.5, "chord"), (3, "bass"), (4, "chord")],
                 "12/8": [(0, "bass"), (1, "chord"), (1.5, "fifth"), (2.5, "chord"), (3, "bass"), (4, "chord"),
                          (4.5, "fifth"), (5.5, "chord")]}
        return table[text]
    if style == "arpeggio":
        pulse = 0.5
        cycle = ("arp0", "arp1", "arp2") if metre.compound else ("arp0", "arp2", "arp1", "arp2")
        steps = int(round(metre.bar_ql / pulse))
        out = [(k * pulse, cycle[k % len(cycle)]) for k in range(steps)]
        return [(0.0, "bass")] + out + ([(metre.bar_ql / 2, "fifth")] if metre.numerator in (4, 12, 6, 2) else [])
    if style == "sustained":
        return [(0.0, "hold")]
    if style == "sparse":
        return [(0.0, "bass"), (0.0, "pluck")]
    raise ValueError(style)


def accompany(piece: Symbolic, chords: list[tuple[float, float, str]], style: str, *, bass_program: int,
              chord_program: int, rng: np.random.Generator) -> None:
    """Add bass (channel 1) and chord (channel 2) notes for ``chords`` to ``piece`` in ``style``."""
    metre = piece.metre
    piece.programs[1], piece.programs[2] = bass_program, chord_program
    pattern = _pattern(metre, style)
    starts = np.array([c[0] for c in chords])

    def chord_at(q: float) -> tuple[str, float]:
        i = int(np.searchsorted(starts, q + 1e-9) - 1)
        return chords[max(i, 0)][2], chords[max(i, 0)][1]

    bar = metre.bar_ql
    first_bar = piece.pickup_ql - bar if piece.pickup_ql > 1e-9 else 0.0
    bar_start = first_bar
    while bar_start < piece.length_ql - 1e-9:
        for offset, what in pattern:
            q = bar_start + offset
            if q < piece.pickup_ql - 1e-9 or q >= piece.length_ql - 1e-9:
                continue  # the pickup is the melody's alone
            label, chord_end = chord_at(q)
            root, pcs = chord_pcs(label)
            accent = 8 if abs(offset) < 1e-9 else 0
            short = metre.pulse_ql * 0.9
            if what in ("bass", "fifth"):
                pc = root if what == "bass" else pcs[2]
                length = min(metre.beat_ql, chord_end - q) * 0.95
                piece.notes.append(Note(q, q + length, bass_pitch(pc, 36), 78 + accent + int(rng.integers(-4, 5)), 1))
            elif what == "chord":
                for p in voicing(label, 60):
                    piece.notes.append(Note(q, q + short * 1.2, p, 58 + int(rng.integers(-4, 5)), 2))
            elif what.startswith("arp"):
                tones = voicing(label, 60)
                p = tones[int(what[-1]) % len(tones)]
                piece.notes.append(Note(q, q + short * 1.6, p, 56 + accent + int(rng.integers(-4, 5)), 2))
            elif what == "hold":
                end = min(bar_start + bar, chord_end, piece.length_ql)
                for p in voicing(label, 60):
                    piece.notes.append(Note(q, end - 0.02, p, 54, 2))
                piece.notes.append(Note(q, end - 0.02, bass_pitch(root, 36), 70, 1))
                # a chord change inside the bar
                inner = [c for c in chords if q < c[0] < bar_start + bar - 1e-9]
                for c in inner:
                    c_end = min(bar_start + bar, c[1], piece.length_ql)
                    for p in voicing(c[2], 60):
                        piece.notes.append(Note(c[0], c_end - 0.02, p, 54, 2))
                    piece.notes.append(Note(c[0], c_end - 0.02, bass_pitch(chord_pcs(c[2])[0], 36), 70, 1))
            elif what == "pluck":
                for c in [(q, chord_end, label)] + [c for c in chords if q < c[0] < bar_start + bar - 1e-9]:
                    for p in voicing(c[2], 60):
                        piece.notes.append(Note(c[0], c[0] + metre.beat_ql, p, 62, 2))
                    if c[0] > q:
                        piece.notes.append(Note(c[0], c[0] + metre.beat_ql, bass_pitch(chord_pcs(c[2])[0], 36), 74, 1))
        bar_start += bar
