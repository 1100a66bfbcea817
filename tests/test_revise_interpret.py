"""Reading creative notes into directives: vocabulary, degree, negation, subtlety, scope, parts."""

from __future__ import annotations

import pytest

from trackwright.errors import ParameterError
from trackwright.revise.directives import Directive, Hold, Scope
from trackwright.revise.interpret import interpret

# (note, expected directives as (dimension or "part:ROLE", direction, scope description or None for all))
CASES = [
    ("make it feel more vulnerable", [("intimacy", 1, None)]),
    ("Could it feel a little more fragile and exposed?", [("intimacy", 1, None)]),
    ("it needs tension, but don't make it obvious", [("tension", 1, None)]),
    ("can we hold back emotionally until the last scene?", [("restraint", 1, "until last section")]),
    ("warmer", [("warmth", 1, None)]),
    ("it sounds a bit cold and clinical", [("warmth", 1, None)]),
    ("the intro feels rushed", [("pace", -1, "intro")]),
    ("it's a bit dull", [("brightness", 1, None)]),
    ("less busy under the dialogue at 0:40", [("density", -1, "0:40–0:50"), ("clearance", 1, "0:40–0:50")]),
    ("a bit brighter in the second chorus", [("brightness", 1, "chorus 2")]),
    ("much bigger from the bridge on", [("size", 1, "from bridge")]),
    ("it's too busy", [("density", -1, None)]),
    ("it shouldn't feel so busy", [("density", -1, None)]),
    ("not so dark", [("brightness", 1, None)]),
    ("it isn't warm enough", [("warmth", 1, None)]),
    ("slower and sadder between 1:20 and 1:45", [("pace", -1, "1:20–1:45"), ("valence", -1, "1:20–1:45")]),
    ("slower and sadder in the bridge", [("pace", -1, "bridge"), ("valence", -1, "bridge")]),
    ("the intro should be more intimate", [("intimacy", 1, "intro")]),
    ("reduce the energy in the first verse", [("energy", -1, "verse 1")]),
    ("more energy in the last chorus", [("energy", 1, "last chorus")]),
    ("make the ending bigger", [("size", 1, "ending")]),
    ("the whole thing is too loud", [("loudness", -1, None)]),
    ("strip it back for the verses", [("density", -1, "every verse")]),
    ("every chorus a bit bigger", [("size", 1, "every chorus")]),
    ("more tension until 2:10, then let it go", [("tension", 1, "until 2:10"), ("restraint", -1, "from 2:10")]),
    ("darker and more mysterious, subtly", [("brightness", -1, None), ("tension", 1, None)]),
    ("don't make it so sad", [("valence", 1, None)]),
    ("happier, more hopeful", [("valence", 1, None)]),
    ("it's too aggressive", [("energy", -1, None)]),
    ("calmer please", [("energy", -1, None)]),
    ("more drive and punch", [("energy", 1, None), ("punch", 1, None)]),
    ("make it feel more epic and cinematic", [("size", 1, None)]),
    ("smaller, more intimate", [("size", -1, None), ("intimacy", 1, None)]),
    ("it feels rushed", [("pace", -1, None)]),  # a complaint asks for the opposite
    ("no more drums in the intro", [("part:drums", -1, "intro")]),
    ("bring the vocal forward in the chorus", [("part:vocals", 1, "chorus")]),
    ("the strings could be a bit quieter", [("part:strings", -1, None)]),
    ("lose the piano until the bridge", [("part:piano", -1, "until bridge")]),
    ("more strings and a bigger ending", [("part:strings", 1, None), ("size", 1, "ending")]),
    ("we need more energy but not louder", [("energy", 1, None)]),
    ("the dialogue gets buried at 1:10, make room for it", [("clearance", 1, "1:10–1:20")]),
    ("less harsh on top", [("harshness", -1, None)]),
    ("a softer intro", [("loudness", -1, "intro")]),
    ("more suspense from 1:30", [("tension", 1, "from 1:30")]),
]


def _key(directive: Directive) -> tuple[str, int, str | None]:
    name = f"part:{directive.part}" if directive.part else directive.dimension
    return name, directive.direction, None if directive.scope.kind == "all" else directive.scope.describe()


@pytest.mark.parametrize(("note", "expected"), CASES, ids=[c[0][:40] for c in CASES])
def test_notes_read_into_the_expected_directives(note: str, expected: list) -> None:
    result = interpret(note)
    assert sorted(_key(d) for d in result.directives) == sorted(expected)


def test_the_suite_covers_at_least_forty_phrasings() -> None:
    assert len(CASES) >= 40


def test_degree_words_set_the_amount_and_subtlety_halves_it() -> None:
    assert interpret("a bit warmer").directives[0].amount == pytest.approx(0.3)
    assert interpret("warmer").directives[0].amount == pytest.approx(0.6)
    assert interpret("much warmer").directives[0].amount == pytest.approx(1.0)
    subtle = interpret("more tension, but don't make it obvious").directives[0]
    assert subtle.subtle and subtle.signed == pytest.approx(0.3)


def test_a_negated_comparative_is_a_constraint_not_a_change() -> None:
    result = interpret("we need more energy but not louder")
    assert result.holds == (Hold("loudness", "not_up", None, "not louder"),)
    assert "no more loudness" in result.summary()


def test_an_unmappable_note_says_what_it_did_and_did_not_understand() -> None:
    result = interpret("make it feel more purple")
    assert result.directives == ()
    assert result.not_understood == ("purple",)
    assert "nothing I can change" in result.summary() and "'purple'" in result.summary()
    partly = interpret("warmer and more turquoise")
    assert [d.dimension for d in partly.directives] == ["warmth"] and partly.not_understood == ("turquoise",)


def test_the_at_option_scopes_a_note_without_its_own_scope() -> None:
    result = interpret("more tension", at=Scope("range", 80.0, 105.0))
    assert result.directives[0].scope == Scope("range", 80.0, 105.0)
    own = interpret("more tension in the bridge", at=Scope("range", 80.0, 105.0))
    assert own.directives[0].scope.sections == ("bridge",)


def test_directives_round_trip_and_bad_ones_are_refused_naming_the_field() -> None:
    for note, _ in CASES:
        for directive in interpret(note).directives:
            assert Directive.from_dict(directive.to_dict()) == directive
    with pytest.raises(ParameterError, match="dimension must be one of"):
        Directive.from_dict({"dimension": "purpleness", "direction": 1})
    with pytest.raises(ParameterError, match=r"directive: amount must be a number in \(0, 1\]"):
        Directive.from_dict({"dimension": "warmth", "direction": 1, "amount": 3})
    with pytest.raises(ParameterError, match="directive.scope: scope range must have start_s < end_s"):
        Directive.from_dict({"dimension": "warmth", "direction": -1, "scope": {"kind": "range", "start_s": 5,
                                                                              "end_s": 2}})
    with pytest.raises(ParameterError, match="colour: unknown field"):
        Directive.from_dict({"dimension": "warmth", "direction": 1, "colour": "red"})


def test_praise_keeps_and_asks_for_nothing() -> None:
    result = interpret("I love how fragile it feels")
    assert result.directives == () and "keep: fragile" in result.understood


def test_reading_is_deterministic() -> None:
    assert all(interpret(note) == interpret(note) for note, _ in CASES)


@pytest.mark.parametrize("note", ["The choruses don't hit.", "Our verses just don't hit hard enough."])
def test_dont_after_a_subject_describes_the_music_and_asks_for_more(note: str) -> None:
    """A plural subject's "don't" is a complaint ("the choruses don't hit": more punch), like
    "doesn't"; it used to be read as a request for less."""
    directives = interpret(note).directives
    assert directives and all(d.dimension in ("punch", "energy") and d.direction == 1 for d in directives)


@pytest.mark.parametrize("note", ["don't hit so hard", "Please don't hit it so hard."])
def test_dont_as_a_request_still_asks_for_less(note: str) -> None:
    assert [(d.dimension, d.direction) for d in interpret(note).directives] == [("punch", -1)]


@pytest.mark.parametrize(("note", "direction"), [("that bass end is way too heavy", -1),
                                                 ("I'd like more weight in the bass end", 1)])
def test_the_bass_end_is_a_frequency_region_not_the_ending(note: str, direction: int) -> None:
    reading = interpret(note)
    assert [(d.dimension, d.direction, d.scope.kind) for d in reading.directives] == [("low_end", direction, "all")]
