"""Where the development set's pieces come from: excerpts of scores in the music21 corpus (string
quartets, chorales, a rag, folk tunes in ABC) and grooves composed here (ragtime, shuffle, 12/8
and 6/8 ballads, a jazz waltz, a half-time electronic track, a march, a rubato piano ballad).

Every function returns a :class:`~devset_music.Symbolic` whose metre, pickup, chords and key are
known exactly; the caller adds the tempo map and renders it.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from devset_accompany import accompany, harmonise
from devset_music import PITCHES, Metre, Note, Symbolic, bass_pitch, chord_pcs, voicing
from music21 import chord as m21chord
from music21 import corpus, meter
from music21 import key as m21key


class Unusable(Exception):
    """The score does not make a clean excerpt (irregular bars, metre changes, no notes)."""


def _truth_label(element: m21chord.Chord) -> str:
    """Harte label of a chordified sonority (triads and sevenths), ``X`` for anything else."""
    try:
        root = PITCHES[element.root().pitchClass]
    except Exception:  # noqa: BLE001 - music21 raises several kinds on odd sonorities
        return "X"
    if element.isDominantSeventh():
        return f"{root}:7"
    if element.isMajorTriad() or element.isIncompleteMajorTriad():
        return f"{root}:maj"
    if element.isMinorTriad() or element.isIncompleteMinorTriad():
        return f"{root}:min"
    if element.isSeventh() and element.quality == "minor":
        return f"{root}:min7"
    if element.isSeventh() and element.quality == "major":
        return f"{root}:maj7"
    return "X"


def _regular_span(score, metre: Metre) -> tuple[float, float]:  # noqa: ANN001 - a music21 Score
    """(pickup ql, ql up to which the bars are regular and in ``metre``).

    A bar split in two measures (a chorale's fermata, a repeat sign) is regular when the second
    part completes the bar; the span ends at a metre change, a gap or a bar that crosses a bar line.
    """
    measures = list(score.parts[0].getElementsByClass("Measure"))
    if not measures:
        raise Unusable("no measures")
    bar = metre.bar_ql
    first = float(measures[0].duration.quarterLength)
    pickup = first if first < bar - 1e-6 else 0.0
    position = end = 0.0
    for index, measure in enumerate(measures):
        signature = measure.timeSignature
        if signature is not None and (signature.numerator, signature.denominator) != (metre.numerator, metre.denominator):
            break
        length = float(measure.duration.quarterLength)
        if abs(float(measure.offset) - position) > 1e-6 or length <= 0:
            break
        phase = (position - pickup) % bar
        on_lattice = index == 0 or min(phase, bar - phase) < 1e-6
        stop = position + length
        crosses = (stop - pickup) // bar - (position - pickup + 1e-6) // bar
        if (on_lattice and length > bar + 1e-6) or (not on_lattice and crosses > 0 and
                                                       abs((stop - pickup) % bar) > 1e-6):
            break
        position = stop
        if min((stop - pickup) % bar, bar - (stop - pickup) % bar) < 1e-6:
            end = stop
    return pickup, end


def _notes_of(score, start_ql: float, end_ql: float, shift_ql: float, channels: list[int], metre: Metre,
              pickup: float) -> list[Note]:  # noqa: ANN001
    out = []
    for part, channel in zip(score.parts, channels):
        for element in part.flatten().notes:
            start = float(element.offset)
            length = float(element.duration.quarterLength)
            if length <= 0 or start < start_ql - 1e-9 or start >= end_ql - 1e-9:
                continue
            stop = min(start + length, end_ql)
            in_bar = (start - pickup) % metre.bar_ql
            accent = 10 if abs(in_bar) < 1e-6 else 4 if abs(in_bar / metre.beat_ql - round(in_bar / metre.beat_ql)) < 1e-6 else 0
            for pitch in element.pitches:
                out.append(Note(start + shift_ql, stop + shift_ql, int(pitch.midi), 70 + accent, channel))
    return out


def metre_of(score) -> Metre:  # noqa: ANN001
    signatures = score.recurse().getElementsByClass(meter.TimeSignature)
    if not signatures:
        raise Unusable("no time signature")
    return Metre(signatures[0].numerator, signatures[0].denominator)


def score_excerpt(path: str, *, bars: int, number: int | None = None, parts: int = 4) -> Symbolic:
    """The first ``bars`` full bars (after any pickup) of a corpus score, every part on its own
    channel (0…), with chordified chord truth and the key where the opening states it."""
    score = corpus.parse(path, number=number) if number is not None else corpus.parse(path)
    metre = metre_of(score)
    pickup, regular_end = _regular_span(score, metre)
    score = score.stripTies()  # after reading the bars: tied notes joined lengthen the measures
    length = pickup + bars * metre.bar_ql
    if regular_end < length - 1e-6:
        raise Unusable(f"only {(regular_end - pickup) / metre.bar_ql:.0f} regular bars")
    piece = Symbolic(metre, pickup, length)
    piece.notes = _notes_of(score, 0.0, length, 0.0, list(range(min(parts, len(score.parts)))), metre, pickup)
    chords: list[tuple[float, float, str]] = []
    chordified = score.chordify()
    for element in chordified.recurse().getElementsByClass("Chord"):
        start = float(element.getOffsetInHierarchy(chordified))
        if start >= length:
            break
        chords.append((start, min(length, start + float(element.duration.quarterLength)), _truth_label(element)))
    piece.chords = chords
    piece.key = _opening_key(score, chords)
    return piece


def _opening_key(score, chords: list[tuple[float, float, str]]) -> str | None:  # noqa: ANN001
    """The key when the key signature's major or minor tonic is the first clean chord, else None."""
    signatures = score.recurse().getElementsByClass(m21key.KeySignature)
    first = next((label for _, _, label in chords if label != "X"), None)
    if not signatures or first is None:
        return None
    signature = signatures[0]
    major, minor = signature.asKey("major"), signature.asKey("minor")
    if first == f"{PITCHES[major.tonic.pitchClass]}:maj":
        return f"{PITCHES[major.tonic.pitchClass]} major"
    if first == f"{PITCHES[minor.tonic.pitchClass]}:min":
        return f"{PITCHES[minor.tonic.pitchClass]} minor"
    return None


def folk_tune(path: str, *, number: int | None, target_bars: int, style: str, melody_program: int,
              bass_program: int, chord_program: int, seed: int) -> Symbolic:
    """A tune from an ABC collection, repeated whole until it has ``target_bars`` bars, harmonised
    and accompanied (:mod:`devset_accompany`)."""
    score = corpus.parse(path, number=number) if number is not None else corpus.parse(path)
    metre = metre_of(score)
    pickup, regular_end = _regular_span(score, metre)
    score = score.stripTies()  # after reading the bars: tied notes joined lengthen the measures
    highest = float(score.highestTime)
    tail = highest - regular_end
    if regular_end < highest - 1e-6 and abs(pickup + tail - metre.bar_ql) > 1e-6:
        raise Unusable("the tune's last bar does not complete its pickup")
    if pickup == 0 and tail > 1e-6:
        raise Unusable("a partial last bar without a pickup")
    full_bars = round((highest - pickup) / metre.bar_ql)
    if full_bars < 4:
        raise Unusable("too short")
    passes = int(np.ceil(target_bars / full_bars))
    length = pickup + min(target_bars, passes * full_bars) * metre.bar_ql
    piece = Symbolic(metre, pickup, length)
    for k in range(passes):
        shift = k * (highest if pickup else full_bars * metre.bar_ql)
        piece.notes += [n for n in _notes_of(score, 0.0, highest, shift, [0], metre, pickup) if n.start_ql < length]
    for note in piece.notes:
        note.end_ql = min(note.end_ql, length)
        note.velocity += 12
    if not piece.notes:
        raise Unusable("no notes")
    piece.programs[0] = melody_program
    signature = score.recurse().getElementsByClass(m21key.KeySignature)
    mode = getattr(signature[0], "mode", "major") if signature else "major"
    tonic = signature[0].tonic.pitchClass if signature and hasattr(signature[0], "tonic") else \
        (signature[0].asKey("major").tonic.pitchClass if signature else 0)
    rng = np.random.default_rng(seed)
    piece.chords = harmonise(piece, tonic, mode, rng)
    accompany(piece, piece.chords, style, bass_program=bass_program, chord_program=chord_program, rng=rng)
    piece.key = f"{PITCHES[tonic]} {mode}" if mode in ("major", "minor") else None
    return piece


# --- grooves composed here ----------------------------------------------------------------------

def _progression(tonic: int, minor: bool, degrees: list[tuple[int, str]]) -> list[str]:
    return [f"{PITCHES[(tonic + d) % 12]}:{q}" for d, q in degrees]


def _melody(piece: Symbolic, rng: np.random.Generator, *, channel: int, low: int, rhythm: list[list[float]],
            velocity: int = 84, rest_every: int = 4) -> None:
    """A melody of chord tones (on the beat) and scale steps: each bar takes one of ``rhythm``'s
    onset patterns (ql within the bar); every ``rest_every``-th bar rests after its first note."""
    assert piece.chords is not None
    starts = np.array([c[0] for c in piece.chords])
    bar = piece.metre.bar_ql
    previous = low + 7
    index = 0
    position = piece.pickup_ql
    while position < piece.length_ql - 1e-9:
        onsets = rhythm[int(rng.integers(len(rhythm)))]
        if rest_every and index % rest_every == rest_every - 1:
            onsets = onsets[:1]
        for k, offset in enumerate(onsets):
            q = position + offset
            nxt = position + (onsets[k + 1] if k + 1 < len(onsets) else bar)
            i = int(np.searchsorted(starts, q + 1e-9) - 1)
            _, pcs = chord_pcs(piece.chords[max(i, 0)][2])
            pool = [p for p in range(low, low + 19) if p % 12 in pcs]
            pitch = min(pool, key=lambda p: abs(p - previous) + rng.uniform(0, 5))
            previous = pitch
            piece.notes.append(Note(q, min(nxt, piece.length_ql) - 0.05, pitch, velocity + int(rng.integers(-6, 7)),
                                    channel))
        position += bar
        index += 1


def _fill_chords(piece: Symbolic, labels: list[str], per_bar: int) -> None:
    span = piece.metre.bar_ql / per_bar
    count = int(round((piece.length_ql - piece.pickup_ql) / span))
    chords = []
    for k in range(count):
        label = labels[k % len(labels)]
        start = piece.pickup_ql + k * span
        if chords and chords[-1][2] == label:
            chords[-1] = (chords[-1][0], start + span, label)
        else:
            chords.append((start, start + span, label))
    piece.chords = chords


def _chord_at(piece: Symbolic, q: float) -> str:
    assert piece.chords is not None
    for start, end, label in piece.chords:
        if start <= q + 1e-9 < end:
            return label
    return piece.chords[-1][2]


def _bar_chords(piece: Symbolic, bars: int, bar_q: float) -> Iterator[tuple[int, float, str, int, list[int]]]:
    """Each bar of ``piece``: (index, start in quarters, its chord's label, root and pitch classes)."""
    for b in range(bars):
        start = b * bar_q
        label = _chord_at(piece, start)
        root, pcs = chord_pcs(label)
        yield b, start, label, root, pcs


def _drum(piece: Symbolic, q: float, note: int, velocity: int) -> None:
    if 0 <= q < piece.length_ql:
        piece.notes.append(Note(q, q + 0.1, note, velocity, 9))


def rag(rng: np.random.Generator, tonic: int, bars: int) -> Symbolic:
    """2/4 ragtime: stride left hand (bass on the beats, chords on the off-beats), a syncopated
    right hand whose notes land on the sixteenth before the beat and are tied over it."""
    piece = Symbolic(Metre(2, 4), 0.0, bars * 2.0, programs={0: 0, 1: 0})
    degrees = [(0, "maj"), (0, "maj"), (5, "maj"), (5, "maj"), (0, "maj"), (9, "7"), (2, "7"), (7, "7"),
               (0, "maj"), (0, "maj"), (5, "maj"), (5, "min"), (0, "maj"), (7, "7"), (0, "maj"), (0, "maj")]
    _fill_chords(piece, _progression(tonic, False, degrees), 1)
    for b, start, label, root, pcs in _bar_chords(piece, bars, 2.0):
        lows = (bass_pitch(root, 33), bass_pitch(pcs[2], 33))
        for beat in range(2):
            q = start + beat
            piece.notes.append(Note(q, q + 0.45, lows[beat], 88 if beat == 0 else 80, 1))
            piece.notes.append(Note(q, q + 0.45, lows[beat] + 12, 70, 1))
            for p in voicing(label, 58):
                piece.notes.append(Note(q + 0.5, q + 0.95, p, 62, 1))
        cells = [[(0.0, 0.25), (0.25, 0.5), (0.75, 0.5)], [(0.0, 0.5), (0.5, 0.25), (0.75, 0.75)],
                 [(0.25, 0.5), (0.75, 0.5), (1.25, 0.25), (1.5, 0.5)], [(0.0, 0.25), (0.25, 0.25), (0.5, 0.5), (1.0, 1.0)]]
        cell = cells[int(rng.integers(len(cells)))]
        tones = [p for p in range(70, 88) if p % 12 in pcs]
        for offset, length in cell:
            pitch = int(rng.choice(tones))
            for p in (pitch, pitch - 12 if rng.random() < 0.5 else None):
                if p is not None:
                    piece.notes.append(Note(start + offset, min(start + offset + length, piece.length_ql) - 0.03, p,
                                            86 + int(rng.integers(-5, 6)), 0))
    piece.key = f"{PITCHES[tonic]} major"
    return piece


def shuffle(rng: np.random.Generator, tonic: int, bars: int) -> Symbolic:
    """4/4 twelve-bar blues shuffle: swung eighths (2:1) on the ride, kick on 1 and 3, snare on 2
    and 4, a boogie bass line and chord stabs, all in dominant sevenths."""
    piece = Symbolic(Metre(4, 4), 0.0, bars * 4.0, programs={0: 65, 1: 33, 2: 0})
    blues = [0, 5, 0, 0, 5, 5, 0, 0, 7, 5, 0, 7]
    _fill_chords(piece, _progression(tonic, False, [(d, "7") for d in blues]), 1)
    swing = 2.0 / 3.0
    for b, start, label, root, pcs in _bar_chords(piece, bars, 4.0):
        boogie = [0, 0, 7, 7, 9, 9, 7, 7] if b % 2 == 0 else [0, 0, 7, 7, 10, 10, 9, 9]
        for beat in range(4):
            q = start + beat
            _drum(piece, q, 51, 80 if beat % 2 == 0 else 70)
            _drum(piece, q + swing, 51, 55)
            _drum(piece, q, 36 if beat % 2 == 0 else 38, 96 if beat % 2 == 0 else 90)
            for half, step in enumerate(boogie[2 * beat: 2 * beat + 2]):
                t = q + (swing if half else 0.0)
                piece.notes.append(Note(t, t + (0.3 if half else 0.6), bass_pitch(root, 36) + step, 84, 1))
            if beat in (1, 3):
                for p in voicing(label, 62):
                    piece.notes.append(Note(q, q + 0.3, p, 60, 2))
            if beat == 2 and rng.random() < 0.5:  # a stab on the swung "and" of 3
                for p in voicing(label, 62):
                    piece.notes.append(Note(q + swing, q + swing + 0.2, p, 55, 2))
    _melody(piece, rng, channel=0, low=62, rhythm=[[0.0, 1.0 + swing, 2.0], [swing, 1.0, 3.0], [0.0, 2.0]],
            rest_every=2)
    piece.key = f"{PITCHES[tonic]} major"
    return piece


def twelve_eight(rng: np.random.Generator, tonic: int, minor: bool, bars: int) -> Symbolic:
    """12/8 slow ballad: triplet piano arpeggios, bass on beats 1 and 3, hats on every eighth,
    kick on 1, snare on 2 and 4 (dotted-quarter beats)."""
    piece = Symbolic(Metre(12, 8), 0.0, bars * 6.0, programs={0: 0, 1: 32, 3: 52})
    degrees = [(0, "min"), (8, "maj"), (5, "min"), (7, "7")] if minor else [(0, "maj"), (9, "min"), (5, "maj"), (7, "maj")]
    _fill_chords(piece, _progression(tonic, minor, degrees), 2)
    for b in range(bars):
        start = b * 6.0
        for k in range(12):
            q = start + 0.5 * k
            label = _chord_at(piece, q)
            root, _ = chord_pcs(label)
            tones = voicing(label, 62)
            piece.notes.append(Note(q, q + 0.45, tones[k % 3] if k % 3 else tones[0] - 12, 60 + (8 if k % 3 == 0 else 0), 0))
            _drum(piece, q, 42, 60 if k % 3 else 72)
            if k in (0, 6):
                piece.notes.append(Note(q, q + 2.9, bass_pitch(root, 36), 84, 1))
            if k == 0:
                _drum(piece, q, 36, 96)
            if k in (3, 9):
                _drum(piece, q, 38, 92)
    _melody(piece, rng, channel=3, low=67, rhythm=[[0.0, 1.5, 3.0], [0.0, 3.0, 4.5], [0.0, 1.0, 1.5, 4.5]], velocity=70)
    piece.key = f"{PITCHES[tonic]} {'minor' if minor else 'major'}"
    return piece


def six_eight_pop(rng: np.random.Generator, tonic: int, minor: bool, bars: int) -> Symbolic:
    """6/8 pop ballad: picked guitar eighths, kick on 1, snare on 4, hats on every eighth."""
    piece = Symbolic(Metre(6, 8), 0.0, bars * 3.0, programs={0: 73, 1: 33, 2: 25})
    degrees = [(0, "min"), (10, "maj"), (8, "maj"), (7, "maj")] if minor else [(0, "maj"), (7, "maj"), (9, "min"), (5, "maj")]
    _fill_chords(piece, _progression(tonic, minor, degrees), 1)
    for b, start, label, root, pcs in _bar_chords(piece, bars, 3.0):
        tones = voicing(label, 60)
        for k in range(6):
            q = start + 0.5 * k
            piece.notes.append(Note(q, q + 0.9, [tones[0] - 12, tones[1], tones[2], tones[0] + 12, tones[2], tones[1]][k],
                                    58, 2))
            _drum(piece, q, 42, 58 if k % 3 else 70)
        piece.notes.append(Note(start, start + 1.4, bass_pitch(root, 36), 86, 1))
        piece.notes.append(Note(start + 1.5, start + 2.9, bass_pitch(root, 36), 74, 1))
        _drum(piece, start, 36, 96)
        _drum(piece, start + 1.5, 38, 90)
    _melody(piece, rng, channel=0, low=65, rhythm=[[0.0, 1.0, 1.5], [0.0, 1.5, 2.5], [0.5, 1.5]], velocity=78)
    piece.key = f"{PITCHES[tonic]} {'minor' if minor else 'major'}"
    return piece


def jazz_waltz(rng: np.random.Generator, tonic: int, bars: int) -> Symbolic:
    """3/4 jazz waltz: swung ride (1, 2, 2-and, 3), walking bass, sparse comping in sevenths."""
    piece = Symbolic(Metre(3, 4), 0.0, bars * 3.0, programs={0: 66, 1: 32, 2: 0})
    degrees = [(2, "min7"), (7, "7"), (0, "maj7"), (9, "min7"), (2, "min7"), (7, "7"), (4, "min7"), (9, "7")]
    _fill_chords(piece, _progression(tonic, False, degrees), 1)
    swing = 2.0 / 3.0
    for b, start, label, root, pcs in _bar_chords(piece, bars, 3.0):
        nxt = chord_pcs(_chord_at(piece, start + 3.0))[0]
        walk = [bass_pitch(root, 36), bass_pitch(pcs[1], 36), bass_pitch((nxt + 1) % 12, 36)]
        for beat in range(3):
            q = start + beat
            _drum(piece, q, 51, 78 if beat == 0 else 64)
            piece.notes.append(Note(q, q + 0.9, walk[beat], 84 if beat == 0 else 76, 1))
        _drum(piece, start + 1 + swing, 51, 56)
        _drum(piece, start + 1, 44, 60)
        comp = [(1 + swing, 0.4), (2.0, 0.6)] if b % 2 else [(0.0, 0.6), (1 + swing, 0.5)]
        for offset, length in comp:
            for p in voicing(label, 60) + ([60 + (root + 10) % 12] if label.endswith("7") else []):
                piece.notes.append(Note(start + offset, start + offset + length, p, 58, 2))
    _melody(piece, rng, channel=0, low=64, rhythm=[[0.0, 2.0], [0.0, 1.0 + swing, 2.0], [1.0, 2.0]], velocity=76)
    piece.key = f"{PITCHES[tonic]} major"
    return piece


def electronic_halftime(rng: np.random.Generator, tonic: int, bars: int) -> Symbolic:
    """4/4 electronic track with a half-time feel: four-on-the-floor kick, one clap per bar on
    beat 3, off-beat hats and bass, a pad, a sixteenth-note arpeggio from bar 5."""
    piece = Symbolic(Metre(4, 4), 0.0, bars * 4.0, programs={1: 38, 2: 89, 3: 81})
    degrees = [(0, "min"), (8, "maj"), (3, "maj"), (10, "maj")]
    _fill_chords(piece, _progression(tonic, True, degrees), 1)
    for b, start, label, root, pcs in _bar_chords(piece, bars, 4.0):
        for p in voicing(label, 60):
            piece.notes.append(Note(start, start + 3.95, p, 50, 2))
        for beat in range(4):
            q = start + beat
            _drum(piece, q, 36, 100)
            _drum(piece, q + 0.5, 42, 70)
            piece.notes.append(Note(q + 0.5, q + 0.9, bass_pitch(root, 36), 84, 1))
        _drum(piece, start + 2.0, 39, 96)
        if b >= 4:
            tones = voicing(label, 72)
            for k in range(16):
                piece.notes.append(Note(start + 0.25 * k, start + 0.25 * k + 0.2, tones[k % 3] + (12 if k % 8 >= 6 else 0),
                                        60 + (10 if k % 4 == 0 else 0), 3))
    piece.key = f"{PITCHES[tonic]} minor"
    return piece


def nine_eight(rng: np.random.Generator, tonic: int, minor: bool, bars: int) -> Symbolic:
    """9/8 dance: guitar eighths in threes, bass on every dotted-quarter beat, a frame drum on 1,
    a whistle tune."""
    piece = Symbolic(Metre(9, 8), 0.0, bars * 4.5, programs={0: 78, 1: 32, 2: 24})
    degrees = [(0, "min"), (0, "min"), (10, "maj"), (7, "maj")] if minor else [(0, "maj"), (5, "maj"), (0, "maj"), (7, "maj")]
    _fill_chords(piece, _progression(tonic, minor, degrees), 1)
    for b, start, label, root, pcs in _bar_chords(piece, bars, 4.5):
        tones = voicing(label, 60)
        for k in range(9):
            q = start + 0.5 * k
            piece.notes.append(Note(q, q + 0.45, tones[k % 3], 56 + (10 if k % 3 == 0 else 0), 2))
        for beat in range(3):
            piece.notes.append(Note(start + 1.5 * beat, start + 1.5 * beat + 1.4,
                                    bass_pitch(root if beat != 1 else pcs[2], 36), 86 if beat == 0 else 74, 1))
        _drum(piece, start, 45, 92)
        _drum(piece, start + 3.0, 45, 70)
    _melody(piece, rng, channel=0, low=72, rhythm=[[0.0, 1.0, 1.5, 2.5, 3.0, 4.0], [0.0, 1.5, 3.0], [0.0, 0.5, 1.0, 1.5, 3.0]],
            velocity=80)
    piece.key = f"{PITCHES[tonic]} {'minor' if minor else 'major'}"
    return piece


def march(rng: np.random.Generator, tonic: int, bars: int) -> Symbolic:
    """2/4 march: bass drum on 1, snare on 2 with a sixteenth pick-up, tuba on the beats, horn
    chords on the off-beats, a trumpet tune."""
    piece = Symbolic(Metre(2, 4), 0.0, bars * 2.0, programs={0: 56, 1: 58, 2: 60})
    degrees = [(0, "maj"), (0, "maj"), (7, "7"), (7, "7"), (7, "7"), (7, "7"), (0, "maj"), (0, "maj"),
               (5, "maj"), (5, "maj"), (0, "maj"), (0, "maj"), (2, "7"), (7, "maj"), (0, "maj"), (0, "maj")]
    _fill_chords(piece, _progression(tonic, False, degrees), 1)
    for b, start, label, root, pcs in _bar_chords(piece, bars, 2.0):
        piece.notes.append(Note(start, start + 0.8, bass_pitch(root, 33), 88, 1))
        piece.notes.append(Note(start + 1, start + 1.8, bass_pitch(pcs[2], 33), 80, 1))
        for offset in (0.5, 1.5):
            for p in voicing(label, 58):
                piece.notes.append(Note(start + offset, start + offset + 0.35, p, 60, 2))
        _drum(piece, start, 36, 100)
        _drum(piece, start + 1.0, 38, 90)
        _drum(piece, start + 1.75, 38, 60)
        if b % 4 == 0:
            _drum(piece, start, 49, 80)
    _melody(piece, rng, channel=0, low=65, rhythm=[[0.0, 1.0, 1.5], [0.0, 0.75, 1.0], [0.0, 0.5, 1.0, 1.5]], velocity=82)
    piece.key = f"{PITCHES[tonic]} major"
    return piece


def piano_ballad(rng: np.random.Generator, tonic: int, minor: bool, bars: int) -> Symbolic:
    """4/4 solo piano ballad: broken-chord left hand in eighths, a singing right hand; seventh
    chords and a chord a third below its neighbour (vi after I, iii before IV)."""
    piece = Symbolic(Metre(4, 4), 0.0, bars * 4.0, programs={0: 0, 1: 0})
    degrees = ([(0, "min"), (5, "min7"), (10, "7"), (3, "maj7"), (8, "maj"), (2, "dim"), (7, "7"), (0, "min")] if minor
               else [(0, "maj"), (9, "min"), (5, "maj"), (2, "min7"), (7, "7"), (4, "min"), (5, "maj7"), (7, "maj")])
    _fill_chords(piece, _progression(tonic, minor, degrees), 1)
    for b, start, label, root, pcs in _bar_chords(piece, bars, 4.0):
        figure = [bass_pitch(root, 36)] + [bass_pitch(pc, 48) for pc in (pcs[1:] + pcs[:1] + pcs[1:])][:7]
        for k, p in enumerate(figure):
            piece.notes.append(Note(start + 0.5 * k, start + 0.5 * k + (1.5 if k == 0 else 0.6), p, 62 + (8 if k == 0 else 0), 1))
    _melody(piece, rng, channel=0, low=65, rhythm=[[0.0, 1.0, 2.0, 3.0], [0.0, 1.5, 2.0], [0.0, 2.0, 3.0, 3.5]], velocity=76)
    piece.key = f"{PITCHES[tonic]} {'minor' if minor else 'major'}"
    return piece


GROOVES = {"rag": rag, "shuffle": shuffle, "twelve_eight": twelve_eight, "six_eight_pop": six_eight_pop,
           "jazz_waltz": jazz_waltz, "electronic_halftime": electronic_halftime, "nine_eight": nine_eight,
           "march": march, "piano_ballad": piano_ballad}
#: Grooves that take a ``minor`` flag.
MODAL_GROOVES = {"twelve_eight", "six_eight_pop", "nine_eight", "piano_ballad"}
