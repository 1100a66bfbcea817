"""A note moves what it asks for and leaves the rest where it was: a colour note comes out at the
same loudness, "more energy" as wide as before, and a version that moved an unasked dimension
audibly is reported "not achieved" with what moved. Measured with the tests' own meters
(pyloudnorm, numpy), never the engine's verdict."""

from __future__ import annotations

import pytest
from note_measures import centroid_hz, lufs, width_db
from project_fixtures import write_song

from trackwright.audio import load_audio
from trackwright.mix.automation import ALL_PARTS, Move
from trackwright.project import Project
from trackwright.revise import apply_note, note, techniques

SECONDS = 16.0
#: Audible thresholds (the issue's table): loudness 0.5 LU, width (side/mid) 1 dB, centroid 3 %.
LOUDNESS_LU, WIDTH_DB, CENTROID = 0.5, 1.0, 0.03


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    folder = tmp_path_factory.mktemp("unasked")
    song = write_song(folder / "song", seconds=SECONDS)
    return Project.create(folder / "cue", song["draft"], stems=song["stems"], author="test")


def _mixes(project: Project, text: str):
    project.revert(1)
    before = load_audio(project.render(project.latest()).mix)
    result = apply_note(project, text)
    return result, before, load_audio(project.render(result.version).mix)


@pytest.mark.parametrize(("text", "centroid_sign"), [("could you brighten the whole thing up", 1),
                                                     ("give it a darker, rounder colour", -1),
                                                     ("a lot less boom down low please", 1)])
def test_a_colour_note_keeps_the_loudness(project: Project, text: str, centroid_sign: int) -> None:
    result, before, after = _mixes(project, text)
    moved = centroid_hz(after, 0, SECONDS) / centroid_hz(before, 0, SECONDS) - 1.0
    assert moved * centroid_sign >= CENTROID, "\n".join(result.explanation())
    assert abs(lufs(after, 0, SECONDS) - lufs(before, 0, SECONDS)) < LOUDNESS_LU, "\n".join(result.explanation())


def test_more_energy_keeps_the_width(project: Project) -> None:
    result, before, after = _mixes(project, "we need way more drive and energy here")
    assert lufs(after, 0, SECONDS) - lufs(before, 0, SECONDS) >= LOUDNESS_LU  # energy may be louder
    assert abs(width_db(after, 0, SECONDS) - width_db(before, 0, SECONDS)) < WIDTH_DB, "\n".join(result.explanation())


def test_a_version_louder_where_loudness_was_not_asked_is_not_as_asked(project: Project,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A technique that leaks 2 dB of level into a colour note: the measured version is louder, and
    the verdict says so instead of "as asked"."""
    real = techniques.plan_directive

    def leaky(directive, spans, context):
        changes, notes = real(directive, spans, context)
        leak = tuple(Move(s.start_s, s.end_s, ALL_PARTS, "gain", 2.0, 0.5, "leak") for s in spans)
        return [*changes, techniques.Change("automation", "a leak", "leak", moves=leak)], notes

    monkeypatch.setattr(note, "plan_directive", leaky)
    result, before, after = _mixes(project, "could you brighten the whole thing up")
    assert centroid_hz(after, 0, SECONDS) / centroid_hz(before, 0, SECONDS) - 1.0 >= CENTROID
    assert lufs(after, 0, SECONDS) - lufs(before, 0, SECONDS) >= 1.0  # audibly louder, not asked
    text = "\n".join(result.explanation())
    assert result.achieved is False and "as asked)" not in text.replace("NOT as asked", "")
    assert "not achieved" in text and "loudness +" in text and "not asked" in text


def test_a_key_change_in_a_span_that_leaks_outside_it_is_reported(project: Project,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A transposition asked for 0:08-0:16 that also sounds in 0:00-0:06: not achieved."""
    real = techniques.plan_directive

    def leaky(directive, spans, context):
        changes, notes = real(directive, spans, context)
        leak = (Move(0.0, 6.0, ALL_PARTS, "pitch", 2.0, 0.1, "leak"),)
        return [*changes, techniques.Change("automation", "a leak", "leak", moves=leak)], notes

    monkeypatch.setattr(note, "plan_directive", leaky)
    project.revert(1)
    result = apply_note(project, "raise it a whole tone between 0:08 and 0:16")
    text = "\n".join(result.explanation())
    assert result.achieved is False and result.outside is not None and not result.outside["unchanged"], text
    assert "transposed" in result.outside["text"], text
