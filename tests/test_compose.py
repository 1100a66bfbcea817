"""Symbolic composition: each operation does what it says, judged by analysing its output."""

from __future__ import annotations

import numpy as np
import pytest

from trackwright.errors import ParameterError
from trackwright.score.compose import OPERATIONS, compose, compose_midi, section_beats, validate_ops
from trackwright.score.draft import compose_draft_with_truth, compose_song, pop_form_sections
from trackwright.score.melody_ops import motif_similarity
from trackwright.score.symbolic import NOTE_NAMES, Score, chords_at_bars, load_score

#: A varied melody must stay at least this alike to the original (0–1, see motif_similarity).
MOTIF_THRESHOLD = 0.6


@pytest.fixture(scope="module")
def chorale() -> Score:
    music21 = pytest.importorskip("music21")
    from music21.midi import translate

    return load_score(translate.music21ObjectToMidiFile(music21.corpus.parse("bach/bwv66.6")).writestr())


@pytest.fixture(scope="module")
def draft() -> Score:
    return load_score(compose_draft_with_truth(bars=8, key="C", seed=0)[0])


@pytest.fixture(scope="module")
def minor_draft() -> Score:
    return load_score(compose_draft_with_truth(bars=8, key="Am", seed=1)[0])


@pytest.fixture(scope="module")
def song() -> Score:
    return load_score(compose_song(pop_form_sections("C"), key="C")[0])


def _contour(notes) -> list[int]:
    return [int(np.sign(b.pitch - a.pitch)) for a, b in zip(notes, notes[1:])]


def test_symbolic_layer_reads_known_harmony(draft: Score, chorale: Score, song: Score) -> None:
    truth = compose_draft_with_truth(bars=8, key="C", seed=0)[1]
    assert draft.key().label == "C major" and draft.melody == "lead" and draft.bass == "bass"
    assert chords_at_bars(draft.chords(), 4) == [c[2] for c in truth.chords]
    song_truth = compose_song(pop_form_sections("C"), key="C")[1]
    assert chords_at_bars(song.chords(), 4) == [c[2] for c in song_truth.chords]
    assert chorale.key().label == "F# minor" and chorale.melody == "soprano"
    assert abs(draft.seconds(4.0) - 2.4) < 1e-9  # 100 BPM
    assert load_score(draft.to_bytes()).to_bytes() == draft.to_bytes()


@pytest.mark.parametrize("fixture", ["draft", "chorale", "song"])
def test_reharmonise_changes_chords_fitting_the_melody(fixture: str, request: pytest.FixtureRequest) -> None:
    score: Score = request.getfixturevalue(fixture)
    result = compose(score, "reharmonise", seed=4, rate=0.6)
    assert result.changes, "nothing was substituted"
    assert any(result.score.part(p.name).notes != p.notes for p in score.accompaniment)
    assert result.violations == [] and result.key_after == result.key_before  # colour, not a new key
    assert result.score.part(score.melody).notes == score.part(score.melody).notes  # melody untouched
    if fixture == "chorale":
        return  # beat-level chords with passing notes: the estimate of the output is too noisy to judge fit
    melody = score.part(score.melody).notes
    original = score.chords()
    new = [c for c in result.score.chords()
           if next(o for o in original if o.start <= c.start < o.end).label != c.label]
    for chord in new:  # no sustained melody note a semitone from a substituted chord
        for note in melody:
            if note.end - note.start >= 0.5 and note.start < chord.end and note.end > chord.start:
                if (note.pitch % 12) in chord.pitch_classes:
                    continue
                assert all((note.pitch - pc) % 12 not in (1, 11) for pc in chord.pitch_classes[:3]), (chord, note)


def test_reharmonise_kinds_do_what_they_say(draft: Score) -> None:
    relative = compose(draft, "reharmonise", seed=0, rate=1.0, kinds=["relative"])
    expected = {"C": "Am", "G": "Em", "Am": "C", "F": "Dm"}
    changed = [(b, a) for b, a in zip(relative.chords_before, relative.chords_after) if b != a]
    assert changed and all(expected[b] == a for b, a in changed)
    secondary = compose(draft, "reharmonise", seed=0, rate=1.0, kinds=["secondary"])
    after = secondary.chords_after
    for i, (b, a) in enumerate(zip(secondary.chords_before, after)):
        if b != a and i + 1 < len(after):
            next_root = NOTE_NAMES.index(secondary.chords_before[i + 1].rstrip("m7"))
            assert a == NOTE_NAMES[(next_root + 7) % 12] + "7"


def test_same_seed_same_bytes_other_seed_other_music(song: Score) -> None:
    first = compose(song, "reharmonise", seed=11).score.to_bytes()
    assert compose(song, "reharmonise", seed=11).score.to_bytes() == first
    assert compose(song, "reharmonise", seed=12).score.to_bytes() != first
    ops = [{"op": "vary_melody", "seed": 3, "technique": "ornament"}, {"op": "revoice", "spacing": "spread"}]
    assert compose_midi(song.to_bytes(), ops)[0].to_bytes() == compose_midi(song.to_bytes(), ops)[0].to_bytes()


def test_change_mode_keeps_contour(draft: Score, chorale: Score) -> None:
    minor = compose(draft, "change_mode", seed=0)
    assert minor.key_after == "C minor" and minor.chords_after[:4] == ["Cm", "G", "Ab", "Fm"]
    assert _contour(minor.score.part("lead").notes) == _contour(draft.part("lead").notes)
    assert minor.violations == []
    major = compose(chorale, "change_mode", seed=0, mode="major")
    assert major.key_after == "F# major"
    assert _contour(major.score.part("soprano").notes) == _contour(chorale.part("soprano").notes)
    assert major.violations == []
    dorian = compose(draft, "change_mode", mode="dorian")
    pcs = {n.pitch % 12 for p in dorian.score.pitched for n in p.notes}
    assert 3 in pcs and 9 in pcs and 4 not in pcs  # Eb and A, no E


def test_delay_resolution(minor_draft: Score, song: Score) -> None:
    deceptive = compose(minor_draft, "delay_resolution", how="deceptive")
    before, after = deceptive.chords_before, deceptive.chords_after
    arrivals = [i for i in range(1, len(before)) if before[i] == "Am" and before[i - 1] == "E"]
    assert arrivals and all(after[i] == "F" for i in arrivals)
    assert deceptive.violations == []
    extended = compose(song, "delay_resolution", how="extend")
    chords = extended.score.chords()
    # every I that followed V now starts half a bar later, the G held over the downbeat
    for i, (b, prev) in enumerate(zip(extended.chords_before[1:], extended.chords_before), start=1):
        if b == "C" and prev == "G":
            assert extended.chords_after[i] == "G"
            assert any(c.label == "C" and abs(c.start - (i * 4 + 2)) < 1e-6 for c in chords)
    assert extended.violations == []
    suspended = compose(song, "delay_resolution", how="suspension")
    held = 0
    for i, (b, prev) in enumerate(zip(suspended.chords_before[1:], suspended.chords_before), start=1):
        if b == "C" and prev == "G":  # 4–3: F over C for two beats, then E
            first = {n.pitch % 12 for n in suspended.score.part("chords").notes if i * 4 <= n.start < i * 4 + 2}
            second = {n.pitch % 12 for n in suspended.score.part("chords").notes if i * 4 + 2 <= n.start < i * 4 + 4}
            assert first == {0, 5, 7} and second == {0, 4, 7}
            held += 1
    assert held and suspended.violations == []


def test_pedal_point_holds_the_bass(song: Score) -> None:
    start, end = section_beats(song, bars="5-12")
    result = compose(song, "pedal", bars="5-12", degree="dominant")
    bass = result.score.part("bass").notes
    inside = [n for n in bass if start <= n.start < end]
    assert inside and {n.pitch % 12 for n in inside} == {7}
    assert [n for n in bass if not start <= n.start < end] == [n for n in song.part("bass").notes
                                                                if not start <= n.start < end]
    assert result.score.part("chords") == song.part("chords") and result.violations == []


def test_revoice_spacing_inversion_and_smoothness(draft: Score) -> None:
    def groups(score: Score) -> list[list[int]]:
        onsets: dict[float, list[int]] = {}
        for n in score.part("chords").notes:
            onsets.setdefault(n.start, []).append(n.pitch)
        return [sorted(v) for _, v in sorted(onsets.items())]

    spread = compose(draft, "revoice", spacing="spread")
    assert all(g[-1] - g[0] > 12 for g in groups(spread.score)) and spread.violations == []
    close = compose(draft, "revoice", spacing="close", register=72)
    assert all(g[-1] - g[0] <= 12 and abs(np.mean(g) - 72) <= 6 for g in groups(close.score))
    first = compose(draft, "revoice", inversion="first")
    chords = draft.chords()
    for g, t in zip(groups(first.score), sorted({n.start for n in draft.part("chords").notes})):
        chord = next(c for c in chords if c.start <= t < c.end)
        assert (g[0] - chord.root) % 12 in (3, 4)
    moves = [sum(abs(a - b) for a, b in zip(x, y)) for x, y in zip(groups(close.score), groups(close.score)[1:])]
    assert max(moves) <= 8  # smooth: under three semitones per voice on average
    assert close.chords_after == close.chords_before and close.violations == []


@pytest.mark.parametrize("technique", ["ornament", "displace", "contour", "sequence"])
def test_vary_melody_keeps_the_motif(song: Score, technique: str) -> None:
    result = compose(song, "vary_melody", seed=5, technique=technique, amount=0.7)
    before, after = song.part("lead").notes, result.score.part("lead").notes
    assert after != before
    assert MOTIF_THRESHOLD <= motif_similarity(before, after) < 1.0
    assert result.violations == []
    assert all(p == result.score.part(p.name) for p in song.parts if p.name != "lead")


def test_motif_similarity_tells_a_different_tune(song: Score, chorale: Score) -> None:
    lead = song.part("lead").notes
    other = load_score(compose_song(pop_form_sections("C", seed=9), key="C")[0]).part("lead").notes
    assert motif_similarity(lead, lead) == 1.0
    assert motif_similarity(lead, other) < MOTIF_THRESHOLD


def test_transpose_a_section(song: Score) -> None:
    result = compose(song, "transpose", bars="5-12", semitones=2)
    start, end = section_beats(song, bars="5-12")
    section = [n for p in result.score.pitched for n in p.notes if start <= n.start < end]
    from trackwright.score.symbolic import estimate_key

    assert estimate_key(section).label == "D major"
    assert result.chords_after[4:12] == ["D", "Bm", "G", "A"] * 2
    assert result.chords_after[12:] == result.chords_before[12:] and result.violations == []


def test_thin_and_thicken_texture(draft: Score) -> None:
    def voices(score: Score) -> float:
        return float(np.mean([len([n for p in score.accompaniment for n in p.notes if n.start <= t < n.end])
                              for t in np.arange(0, score.length_beats, 0.5)]))

    thick = compose(draft, "texture", change="thicken")
    thin = compose(draft, "texture", change="thin")
    assert voices(thin.score) < voices(draft) < voices(thick.score)
    assert thick.chords_after == thick.chords_before == thin.chords_after
    assert thick.violations == [] and thin.violations == []


def test_violations_are_reported_for_the_draft_as_written(draft: Score) -> None:
    from trackwright.score.voice_leading import check_parts

    found = check_parts([draft.part("bass"), draft.part("chords")], draft.chords(), draft.key())
    assert found and {v.kind for v in found} == {"parallel_fifths"}  # the draft's block triads move in fifths


def test_bad_operations_are_one_line_errors(draft: Score) -> None:
    with pytest.raises(ParameterError, match=r"score\[0\]\.op: must be one of"):
        validate_ops([{"op": "reharmonize"}])
    with pytest.raises(ParameterError, match=r"score\[0\]\.colour: unknown option for change_mode"):
        validate_ops([{"op": "change_mode", "colour": "blue"}])
    with pytest.raises(ParameterError, match="seed"):
        validate_ops([{"op": "pedal", "seed": -1}])
    with pytest.raises(ParameterError, match="bars"):
        compose(draft, "pedal", bars="9-x")
    with pytest.raises(ParameterError, match="mode must be one of"):
        compose(draft, "change_mode", mode="locrian")
    with pytest.raises(ParameterError, match="no part plays block chords"):
        compose(load_score(compose_song(pop_form_sections("C"), key="C")[0]).with_parts(
            [p for p in draft.parts if p.name != "chords"]), "revoice")
    assert set(OPERATIONS) >= {"reharmonise", "delay_resolution", "pedal", "change_mode", "revoice", "vary_melody",
                               "transpose", "texture"}
    assert validate_ops([{"op": "reharmonise", "rate": 1, "kinds": "relative, parallel"}]) == [
        {"op": "reharmonise", "seed": 0, "rate": 1.0, "kinds": ["relative", "parallel"]}]


def test_added_tones_and_suspensions_are_written(draft: Score) -> None:
    import re

    from trackwright.score.symbolic import QUALITIES

    for kind in ("added", "suspension"):
        result = compose(draft, "reharmonise", seed=1, rate=1.0, kinds=[kind])
        assert result.changes and result.violations == []
        for line in result.changes:
            beat, label = re.match(r"beat (\S+): \S+ → (\S+)", line).groups()
            root = max((n for n in NOTE_NAMES if label.startswith(n)), key=len)
            quality = label[len(root):]
            wanted = {(NOTE_NAMES.index(root) + i) % 12 for i in QUALITIES[quality]} - {(NOTE_NAMES.index(root) + 7) % 12}
            t = float(beat)
            heard = {n.pitch % 12 for n in result.score.part("chords").notes if t <= n.start < t + 1}
            assert wanted <= heard, (line, heard)


def test_delay_resolution_on_a_chorale_keeps_the_tonic_arriving(chorale: Score) -> None:
    result = compose(chorale, "delay_resolution", how="extend")
    assert all(c.end > c.start for c in result.score.chords())
    assert result.key_after == "F# minor" and result.violations == []
    deceptive = compose(chorale, "delay_resolution", how="deceptive")
    assert any("(deceptive)" in line for line in deceptive.changes) and deceptive.violations == []
