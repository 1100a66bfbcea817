"""Harmony: key, chord sequence, harmonic rhythm and looped progressions.

* **Chords**: decoded on a beat-synchronous grid — each beat split into four steps (a 16th
  note; before the first and after the last beat the grid runs on at the median beat period,
  and without a beat grid a 120 BPM stand-in grid is used). Each step's mean chord chroma
  (:attr:`Features.chord_chroma`: the accompaniment's register, a melody above it weighed
  down) and bass chroma is matched against templates of eight qualities for every root — major, minor,
  dominant 7th, major 7th, minor 7th, diminished, suspended 2nd and 4th — by cosine
  similarity. The templates hold each chord tone's first six harmonics (weights 0.7ⁿ), as the
  chroma of real instruments does, so a chord's own overtones (the fifth above each tone, the
  third two octaves up) do not read as another chord's tones. A little credit goes to the root
  in the bass (and less to another chord tone there: inversions); the bass stays a minor cue
  because its 0.93 s window smears a bass that moves every beat. Viterbi decoding then
  smooths the steps with a transition prior that lets harmony change on any beat (Bach
  chorales change every beat or faster) but rarely between beats (melody and passing notes).
  The quality priors keep a passing tone from turning a triad into a seventh for a step; each
  decoded chord's quality is then re-picked over its whole span within its family (major: 7,
  maj7, sus4, sus2; minor: min7, dim) with the priors at a quarter. Last, where a held bass
  clearly names the root of a chord a third away that shares two or more tones and fits the
  chroma nearly as well, the bass decides (G major under a tune on E is not E minor 7:
  :func:`bass_decides`).
  Quiet or pitchless stretches are ``N``.
  Labels follow mir_eval/Harte syntax: ``C:maj``, ``A:min``, ``G:7``, ``F:maj7``, ``B:dim``…
* **Key**: the total chroma and bass-chroma profiles correlated with the Albrecht–Shanahan key
  profiles, plus evidence from the chords (share of diatonic chords, time on the tonic chord,
  first and last chord on the tonic), which separates relative major and minor. Confidence is the margin over
  the runner-up, 0–1.
* **Looped progression**: the chord of each bar; the shortest cycle of 2–8 bars that the
  bar sequence repeats (≥ 80 % of bars equal to the bar one cycle earlier, ≥ 3 passes).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from trackwright.analysis.features import Features, mean_between
from trackwright.analysis.rhythm import Rhythm, beat_chroma

PITCH_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
#: Chord qualities: intervals above the root, and a small prior (log-odds) against rarer ones.
QUALITIES: dict[str, tuple[tuple[int, ...], float]] = {
    "maj": ((0, 4, 7), 0.0),
    "min": ((0, 3, 7), 0.0),
    "7": ((0, 4, 7, 10), -0.08),
    "maj7": ((0, 4, 7, 11), -0.08),
    "min7": ((0, 3, 7, 10), -0.08),
    "dim": ((0, 3, 6), -0.15),
    "sus4": ((0, 5, 7), -0.15),
    "sus2": ((0, 2, 7), -0.16),
}
#: Albrecht & Shanahan (2013) key profiles, tonic first.
MAJOR_PROFILE = np.array([0.238, 0.006, 0.111, 0.006, 0.137, 0.094, 0.016, 0.214, 0.009, 0.080, 0.008, 0.081])
MINOR_PROFILE = np.array([0.220, 0.006, 0.104, 0.123, 0.019, 0.103, 0.012, 0.214, 0.062, 0.022, 0.061, 0.052])
_MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
_MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10)
#: Decoding steps per beat.
STEPS_PER_BEAT = 4
#: Probability that the chord carries on across a beat, and across a step inside a beat.
_BEAT_STAY_PROBABILITY = 0.2
_STEP_STAY_PROBABILITY = 0.8
#: Harmonics per template tone and the weight ratio between successive harmonics.
_HARMONICS = 6
_HARMONIC_DECAY = 0.7
_EMISSION_SHARPNESS = 30.0
_BASS_WEIGHT = 0.05
_INVERSION_WEIGHT = 0.025
_SILENT_DB = -55.0
#: Qualities one decoded chord may be refined to (same root): the major and the minor family.
_FAMILIES = {"maj": ("maj", "7", "maj7", "sus4", "sus2"), "min": ("min", "min7", "dim")}
#: The quality priors' weight when refining a decoded chord over its whole span.
_REFINE_PRIOR_SCALE = 0.25
#: Beat period of the stand-in grid for a track without a beat grid, seconds (120 BPM).
_NOMINAL_BEAT_S = 0.5


@dataclass(frozen=True)
class Chord:
    """A chord segment: times in seconds, Harte label (``C:maj``) or ``N``."""

    start_s: float
    end_s: float
    label: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"start_s": round(self.start_s, 3), "end_s": round(self.end_s, 3), "label": self.label}


@dataclass(frozen=True)
class Key:
    """Tonic (pitch name), mode (``major``/``minor``) and confidence 0–1."""

    tonic: str
    mode: str
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"tonic": self.tonic, "mode": self.mode, "confidence": round(self.confidence, 3)}

    @property
    def name(self) -> str:
        """``"C major"``."""
        return f"{self.tonic} {self.mode}"


@dataclass(frozen=True)
class Loop:
    """A chord cycle repeated through (part of) the song."""

    chords: list[str]
    bars: int
    repetitions: int
    coverage: float
    start_s: float
    end_s: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"chords": self.chords, "bars": self.bars, "repetitions": self.repetitions,
                "coverage": round(self.coverage, 3), "start_s": round(self.start_s, 3), "end_s": round(self.end_s, 3)}


@dataclass(frozen=True)
class Harmony:
    """Key, chords, harmonic rhythm (chord changes per bar, mean chord length in beats), loop."""

    key: Key
    chords: list[Chord]
    changes_per_bar: float
    mean_chord_beats: float
    bar_chords: list[str] = field(repr=False)
    loop: Loop | None = None


def chord_labels() -> list[str]:
    """Every label the recogniser can output, ``N`` last."""
    return [f"{PITCH_NAMES[root]}:{quality}" for root in range(12) for quality in QUALITIES] + ["N"]


def _templates() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(unit templates 12 × K, root pitch class per template, prior per template).

    Each chord tone contributes its first ``_HARMONICS`` harmonics, harmonic ``h`` (1-based)
    weighing ``_HARMONIC_DECAY ** (h - 1)`` at its pitch class (octaves, twelfths, the major
    third two octaves up…).
    """
    overtones = [(round(12.0 * np.log2(h)) % 12, _HARMONIC_DECAY ** (h - 1)) for h in range(1, _HARMONICS + 1)]
    columns, roots, priors = [], [], []
    for root in range(12):
        for intervals, prior in QUALITIES.values():
            template = np.zeros(12)
            for interval in intervals:
                for offset, weight in overtones:
                    template[(root + interval + offset) % 12] += weight
            columns.append(template / np.linalg.norm(template))
            roots.append(root)
            priors.append(prior)
    return np.array(columns).T, np.array(roots), np.array(priors)


def _unit(columns: np.ndarray) -> np.ndarray:
    floor = columns.min(axis=0, keepdims=True)
    shifted = columns - floor
    return shifted / np.maximum(np.linalg.norm(shifted, axis=0, keepdims=True), 1e-9)


def _viterbi(log_emission: np.ndarray, stay: np.ndarray) -> np.ndarray:
    """Most likely state path (n,) for emissions (states × n) with sticky uniform transitions.

    ``stay[t]`` (n,) is the probability of keeping the state from step ``t - 1`` into step ``t``
    (``stay[0]`` is unused); the rest is shared evenly among the other states.
    """
    states, steps = log_emission.shape
    log_stay = np.log(stay)
    log_move = np.log((1.0 - stay) / (states - 1))
    score = log_emission[:, 0].copy()
    back = np.zeros((states, steps), dtype=np.int32)
    for t in range(1, steps):
        best = int(np.argmax(score))
        moved = score[best] + log_move[t]
        stayed = score + log_stay[t]
        choose_move = moved > stayed
        back[:, t] = np.where(choose_move, best, np.arange(states))
        score = np.where(choose_move, moved, stayed) + log_emission[:, t]
    path = np.zeros(steps, dtype=np.int32)
    path[-1] = int(np.argmax(score))
    for t in range(steps - 1, 0, -1):
        path[t - 1] = back[path[t], t]
    return path


def _beat_levels_db(features: Features, beats_s: np.ndarray) -> np.ndarray:
    return mean_between(features.rms_db, np.arange(len(features.rms_db)) / features.onset_rate,
                        np.append(beats_s, features.duration_s), fill=-120.0)


def decoding_grid(beats_s: np.ndarray, duration_s: float, steps_per_beat: int = STEPS_PER_BEAT,
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Step start times (seconds) and whether each step starts a beat (bool), for the decoding.

    Each beat is split into ``steps_per_beat`` equal steps; before the first and after the last
    beat the steps run on at the median beat period. With fewer than two beats a stand-in
    grid of 0.5 s beats (120 BPM) takes their place.
    """
    beats = np.asarray(beats_s, dtype=np.float64)
    beats = beats[(beats >= 0.0) & (beats < duration_s)]
    if len(beats) < 2:
        beats = np.arange(0.0, duration_s, _NOMINAL_BEAT_S)
    if len(beats) < 2:
        return np.zeros(1), np.ones(1, dtype=bool)
    step_s = float(np.median(np.diff(beats))) / steps_per_beat
    fractions = np.arange(steps_per_beat) / steps_per_beat
    inside = (beats[:-1, np.newaxis] + np.diff(beats)[:, np.newaxis] * fractions).ravel()
    head = beats[0] - step_s * np.arange(int(np.floor(beats[0] / step_s + 1e-9)), 0, -1)
    tail = beats[-1] + step_s * np.arange(int(np.ceil((duration_s - beats[-1]) / step_s - 1e-9)))
    steps = np.concatenate((head, inside, tail))
    on_beat = np.concatenate((np.arange(len(head), 0, -1) % steps_per_beat == 0,
                              np.tile(fractions == 0, len(beats) - 1), np.arange(len(tail)) % steps_per_beat == 0))
    keep = steps < duration_s
    steps, on_beat = steps[keep], on_beat[keep]
    if len(steps) and steps[0] > 1e-6:
        steps, on_beat = np.concatenate(([0.0], steps)), np.concatenate(([True], on_beat))
    return steps, on_beat


def recognise_chords(features: Features, steps_s: np.ndarray, stay: np.ndarray | float = _BEAT_STAY_PROBABILITY,
                     ) -> list[str]:
    """One Harte label per step (steps start at ``steps_s`` seconds, each lasting to the next).

    ``stay`` is the probability that the chord carries on into each step from the one before
    (one value, or one per step).
    """
    if len(steps_s) == 0:
        return []
    templates, roots, priors = _templates()
    chroma = _unit(np.sqrt(beat_chroma(features, steps_s, features.chord_chroma)))
    bass = beat_chroma(features, steps_s, features.bass_chroma)
    bass = bass / np.maximum(bass.max(axis=0, keepdims=True), 1e-9)
    # the bass credits the root most, and any other chord tone a little (inversions)
    others = (templates > 0).astype(np.float64)
    others[roots, np.arange(len(roots))] = 0.0
    similarity = (templates.T @ chroma + _BASS_WEIGHT * bass[roots] + _INVERSION_WEIGHT * (others.T @ bass)
                  + priors[:, np.newaxis])
    silent = (_beat_levels_db(features, steps_s) < _SILENT_DB) | (chroma.max(axis=0) == 0)
    no_chord = np.where(silent, 1.5, 0.35)[np.newaxis]  # N wins on silence, rarely otherwise
    emission = _EMISSION_SHARPNESS * np.vstack((similarity, no_chord))
    path = _viterbi(emission, np.broadcast_to(np.asarray(stay, dtype=np.float64), (len(steps_s),)))
    labels = chord_labels()
    return [labels[i] for i in path]


def _merged(pieces: Iterable[Chord]) -> list[Chord]:
    """Consecutive pieces with the same label joined into one chord."""
    out: list[Chord] = []
    for piece in pieces:
        if out and out[-1].label == piece.label:
            out[-1] = Chord(out[-1].start_s, piece.end_s, piece.label)
        else:
            out.append(piece)
    return out


def segments(labels: list[str], beats_s: np.ndarray, duration_s: float) -> list[Chord]:
    """Merge per-beat labels into chord segments."""
    ends = [float(t) for t in beats_s[1:len(labels) + 1]]
    ends += [duration_s] * (len(labels) - len(ends))  # the last runs to the end
    return _merged(Chord(float(start), end, label) for start, end, label in zip(beats_s, ends, labels))


def _span_chroma(features: Features, chords: list[Chord]) -> tuple[np.ndarray, np.ndarray]:
    """The chords' start times (s, (n,)) and the unit, square-rooted accompaniment chroma over
    each chord's span (12 × n)."""
    starts = np.array([c.start_s for c in chords])
    return starts, _unit(np.sqrt(beat_chroma(features, starts, features.chord_chroma)))


def refine_qualities(features: Features, chords: list[Chord]) -> list[Chord]:
    """Re-pick each chord's quality over its whole span (seconds) from its family, same root.

    The step decoding leans on the quality priors so that a passing tone does not turn a
    triad into a seventh for a step; over a whole chord the evidence is steadier, so a
    seventh, diminished or suspended chord may show itself with the priors at a quarter.
    A major chord stays in the major family (7, maj7, sus4, sus2), a minor one in the minor
    family (min7, dim).
    """
    if not chords:
        return chords
    templates, _, priors = _templates()
    qualities = list(QUALITIES)
    starts, chroma = _span_chroma(features, chords)
    refined = []
    for i, chord in enumerate(chords):
        label = chord.label
        parsed = _root_and_quality(label)
        if parsed is not None:
            root, quality = parsed
            family = _FAMILIES["min" if quality in _FAMILIES["min"] else "maj"]
            columns = [root * len(qualities) + qualities.index(q) for q in family]
            scores = templates[:, columns].T @ chroma[:, i] + _REFINE_PRIOR_SCALE * priors[columns]
            label = f"{PITCH_NAMES[root]}:{family[int(np.argmax(scores))]}"
        refined.append(Chord(chord.start_s, chord.end_s, label))
    return _merged(refined)


#: A chord's bass decides between it and a chord a third away that shares two or more of its
#: tones (G major against E minor 7, C major against A minor) when one pitch class clearly leads
#: the bass: the other reading's root at least :data:`_BASS_LEAD` times any other bass pitch class
#: (and the chord's own root under 1 / :data:`_BASS_LEAD` of it), and the other reading's
#: template similarity within :data:`_THIRD_MARGIN` of the chord's (cosine units). The bass is
#: read over at least :data:`_BASS_HOLD_S` around the chord: only a held bass decides, not a
#: chorale's bass moving through an inversion on one beat.
_BASS_LEAD = 4.0
_BASS_HOLD_S = 1.5
_THIRD_MARGIN = 0.1
#: A pitch class sounds in a chord when its chroma (square-rooted, floor removed) reaches this
#: fraction of the chord's strongest.
_HEARD = 0.5
_THIRD_QUALITIES = ("maj", "min", "7", "maj7", "min7")


def _tones(root: int, quality: str) -> set[int]:
    return {(root + interval) % 12 for interval in QUALITIES[quality][0]}


def bass_decides(features: Features, chords: list[Chord]) -> list[Chord]:
    """Chords (seconds) re-read where the bass names a chord a third away that shares two or
    more tones: a tune on the other chord's root (E above a G major chord) makes the chroma of
    G major that of E minor 7; the bass, G, says which. See :data:`_BASS_LEAD`."""
    if not chords:
        return chords
    templates, _, priors = _templates()
    qualities = list(QUALITIES)
    starts, chroma = _span_chroma(features, chords)
    ends = np.array([c.end_s for c in chords])
    centres, halves = (starts + ends) / 2, np.maximum((ends - starts) / 2, _BASS_HOLD_S / 2)
    windows = np.column_stack((centres - halves, centres + halves)).ravel()
    bass = mean_between(features.bass_chroma, features.chroma_times(), windows)[:, ::2]
    out = []
    for i, chord in enumerate(chords):
        parsed = _root_and_quality(chord.label)
        level = bass[:, i]
        lead = int(np.argmax(level))
        others = np.delete(level, lead)
        if parsed is None or lead == parsed[0] or level[lead] <= 0 or \
                level[lead] < _BASS_LEAD * float(others.max()) or (lead - parsed[0]) % 12 not in (3, 4, 8, 9):
            out.append(chord)
            continue
        root, quality = parsed
        fit = templates.T @ chroma[:, i] + priors  # every template's similarity to this chord's chroma

        def similarity(r: int, q: str, fit: np.ndarray = fit) -> float:
            return float(fit[r * len(qualities) + qualities.index(q)])

        tones = _tones(root, quality)
        heard = set(np.flatnonzero(chroma[:, i] >= _HEARD * chroma[:, i].max()).tolist())
        # the other reading's tones that this chord lacks must sound (a minor triad over its
        # third is not the relative major: that major's fifth is missing)
        options = [q for q in _THIRD_QUALITIES if len(_tones(lead, q) & tones) >= 2 and _tones(lead, q) - tones <= heard]
        best = max(options, key=lambda q: similarity(lead, q), default=None)
        if best is not None and similarity(lead, best) >= similarity(root, quality) - _THIRD_MARGIN:
            chord = Chord(chord.start_s, chord.end_s, f"{PITCH_NAMES[lead]}:{best}")
        out.append(chord)
    return _merged(out)


def _root_and_quality(label: str) -> tuple[int, str] | None:
    if label == "N":
        return None
    root, quality = label.split(":")
    return PITCH_NAMES.index(root), quality


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 and b.std() > 0 else 0.0


def _is_tonic_chord(label: str, tonic: int, minor: bool) -> bool:
    parsed = _root_and_quality(label)
    if parsed is None or parsed[0] != tonic:
        return False
    return parsed[1].startswith("min") if minor else parsed[1] in ("maj", "maj7", "7")


def estimate_key(chroma_total: np.ndarray, chords: list[Chord], bass_total: np.ndarray | None = None) -> Key:
    """Key from total chroma and bass-chroma profiles (12,) and the chord segments."""
    profile = chroma_total - chroma_total.mean()
    scores = np.zeros(24)
    durations = np.array([c.end_s - c.start_s for c in chords]) if chords else np.zeros(0)
    total = max(float(durations.sum()), 1e-9)
    voiced = [c for c in chords if c.label != "N"]
    first, last = (voiced[0], voiced[-1]) if voiced else (None, None)
    for mode_index, (template, scale) in enumerate(((MAJOR_PROFILE, _MAJOR_SCALE), (MINOR_PROFILE, _MINOR_SCALE))):
        minor = mode_index == 1
        scale_tones = {s % 12 for s in scale}
        for tonic in range(12):
            rotated = np.roll(template, tonic)
            score = _correlation(profile, rotated)
            if bass_total is not None:
                score += 0.3 * _correlation(bass_total, rotated)
            diatonic = tonic_time = 0.0
            for chord, duration in zip(chords, durations):
                parsed = _root_and_quality(chord.label)
                if parsed is None:
                    continue
                root, quality = parsed
                if {(root + i - tonic) % 12 for i in QUALITIES[quality][0]} <= scale_tones:
                    diatonic += duration
                if _is_tonic_chord(chord.label, tonic, minor):
                    tonic_time += duration
            score += 0.5 * diatonic / total + 0.6 * tonic_time / total
            score += 0.15 * (first is not None and _is_tonic_chord(first.label, tonic, minor))
            score += 0.15 * (last is not None and _is_tonic_chord(last.label, tonic, minor))
            scores[mode_index * 12 + tonic] = score
    order = np.argsort(scores)[::-1]
    best, second = scores[order[0]], scores[order[1]]
    confidence = float(np.clip((best - second) / max(abs(best), 1e-9) * 4.0, 0.0, 1.0))
    mode = "minor" if order[0] >= 12 else "major"
    return Key(PITCH_NAMES[order[0] % 12], mode, confidence)


def bar_chords(chords: list[Chord], downbeats_s: np.ndarray, duration_s: float) -> list[str]:
    """The chord that covers most of each bar (bars start at the downbeats)."""
    out = []
    bounds = np.append(downbeats_s, duration_s)
    for start, end in zip(bounds[:-1], bounds[1:]):
        cover: dict[str, float] = {}
        for chord in chords:
            overlap = min(end, chord.end_s) - max(start, chord.start_s)
            if overlap > 0:
                cover[chord.label] = cover.get(chord.label, 0.0) + overlap
        out.append(max(cover, key=cover.__getitem__) if cover else "N")
    return out


def find_loop(bars: list[str], downbeats_s: np.ndarray, duration_s: float, *, min_ratio: float = 0.8,
              min_repetitions: int = 3) -> Loop | None:
    """The shortest chord cycle of 2–8 bars that the bar sequence repeats, or ``None``."""
    for period in range(2, 9):
        if len(bars) < period * min_repetitions:
            break
        same = [bars[i] == bars[i - period] for i in range(period, len(bars))]
        ratio = float(np.mean(same))
        cycle = bars[:period]
        if ratio >= min_ratio and len(set(cycle) - {"N"}) >= 2:
            # the cycle as it is played most often at each position
            positions = [[bars[i] for i in range(p, len(bars), period)] for p in range(period)]
            cycle = [max(set(items), key=items.count) for items in positions]
            compact = [label for i, label in enumerate(cycle) if i == 0 or label != cycle[i - 1]]
            return Loop(chords=compact, bars=period, repetitions=len(bars) // period, coverage=ratio,
                        start_s=float(downbeats_s[0]), end_s=duration_s)
    return None


def analyze_harmony(features: Features, rhythm: Rhythm) -> Harmony:
    """Chords, key, harmonic rhythm and loop of a track."""
    # chords are decoded on quarter-beat steps: changes land on the beat grid (or between beats,
    # where the harmony really moves there) without a separate snapping pass
    steps, on_beat = decoding_grid(rhythm.beats_s, features.duration_s)
    stay = np.where(on_beat, _BEAT_STAY_PROBABILITY, _STEP_STAY_PROBABILITY)
    chords = refine_qualities(features, segments(recognise_chords(features, steps, stay), steps, features.duration_s))
    chords = bass_decides(features, chords)
    key = estimate_key(features.chroma.sum(axis=1), chords, features.bass_chroma.sum(axis=1))
    return harmony_on_grid(chords, key, rhythm, features.duration_s)


def harmony_on_grid(chords: list[Chord], key: Key, rhythm: Rhythm, duration_s: float) -> Harmony:
    """The :class:`Harmony` of ``chords`` (seconds) in ``key`` read on a beat grid: the chord of
    each bar, the looped progression, changes per bar and the mean chord length in beats. A grid
    the user sets (:mod:`.beat_grid`) re-reads the same chords on its bars."""
    voiced = [c for c in chords if c.label != "N"]
    bars = bar_chords(chords, rhythm.downbeats_s, duration_s) if len(rhythm.downbeats_s) else []
    # harmonic rhythm counts changes of harmony, not a seventh coming and going over one root
    family = {"7": "maj", "maj7": "maj", "min7": "min"}
    triads = [c.label.split(":")[0] + ":" + family.get(c.label.split(":")[1], c.label.split(":")[1])
              if c.label != "N" else "N" for c in chords]
    changes = sum(1 for a, b in zip(triads, triads[1:]) if a != b)
    n_bars = max(len(rhythm.downbeats_s), 1)
    beat_s = 60.0 / max(rhythm.tempo_bpm, 1.0)
    mean_beats = float(np.mean([(c.end_s - c.start_s) / beat_s for c in voiced])) if voiced else 0.0
    loop = find_loop(bars, rhythm.downbeats_s, duration_s) if bars else None
    return Harmony(key=key, chords=chords, changes_per_bar=changes / n_bars, mean_chord_beats=mean_beats,
                   bar_chords=bars, loop=loop)
