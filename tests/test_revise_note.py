"""Creative notes on a real project: each note's measured direction, nothing changed outside its scope."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clirun import run
from project_fixtures import write_song

from trackwright.errors import ParameterError
from trackwright.project import Project
from trackwright.revise import apply_note

# (note, scoped?) — scoped notes must leave the audio outside their scope bit-identical
NOTES = [
    ("make it warmer", False), ("a bit warmer", False), ("colder", False), ("brighter", False),
    ("darker", False), ("it sounds a bit dull", False), ("less harsh", False), ("it's a bit cold and clinical", False),
    ("louder from 0:10 to 0:20", True), ("quieter between 0:05 and 0:15", True), ("the whole thing is too loud", False),
    ("hold back until 0:20", True), ("much more energy from 0:15", True), ("calmer at 0:08", True),
    ("it's too aggressive", False), ("more intimate", False), ("make it feel more vulnerable in 0:10-0:20", True),
    ("bigger", False), ("smaller", False), ("a little wider", False), ("less busy at 0:12", True),
    ("strip it back from 0:20", True), ("no drums from 0:10 to 0:18", True), ("lose the bass until 0:12", True),
    ("bring the keys up at 0:16", True), ("the drums could be a bit quieter", False), ("the keys are too loud", False),
    ("less busy under the dialogue at 0:10", True), ("make room for the dialogue between 0:05 and 0:12", True),
    ("more tension, but don't make it obvious", False), ("more suspense from 0:15", True), ("happier", False),
    ("sadder between 0:10 and 0:20", True), ("a touch darker from 0:04 to 0:12", True), ("more mysterious at 0:18", True),
    ("softer at 0:22", True), ("much less energy after 0:14", True), ("more open and airy", False),
    ("it feels a bit closed in, more air please", False), ("quieter drums", False), ("punchier drums from 0:06", True),
    ("too busy between 0:16 and 0:24", True),
]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    folder = tmp_path_factory.mktemp("notes")
    song = write_song(folder / "song", seconds=30.0, midi=True)
    return Project.create(folder / "cue", song["draft"], stems=song["stems"], midi=song["midi"], author="test")


def test_the_suite_has_at_least_forty_notes() -> None:
    assert len(NOTES) >= 40


@pytest.mark.parametrize(("text", "scoped"), NOTES, ids=[n for n, _ in NOTES])
def test_each_note_moves_its_measure_the_way_it_asks_and_nothing_else(project: Project, text: str,
                                                                      scoped: bool) -> None:
    project.revert(1)  # every note starts from the draft (its render is cached)
    result = apply_note(project, text)
    assert result.version == project.latest()
    assert result.measurements, result.explanation()
    failing = [row for row in result.measurements if not row["as_asked"]]
    assert not failing, "\n".join(result.explanation())
    if scoped:
        assert result.outside_change_db is not None and result.outside_change_db < -100, result.explanation()
    saved = json.loads((project.path / "notes" / f"v{result.version:04d}.json").read_text())
    assert saved["note"] == text and saved["changes"]
    for change in result.changes:  # every change cites words of the note
        assert change.because and all(word in text.lower() for word in change.because.split()[:1])


def test_an_unmappable_note_is_answered_and_makes_no_version(project: Project) -> None:
    latest = project.latest()
    with pytest.raises(ParameterError, match="nothing to change: .*'purple'"):
        apply_note(project, "make it feel more purple")
    assert project.latest() == latest


def test_dry_run_explains_without_a_version(project: Project) -> None:
    latest = project.latest()
    result = apply_note(project, "warmer in 0:02-0:08", dry_run=True)
    assert result.version is None and project.latest() == latest and result.changes


def test_note_command(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "-q", "note", project.path, "a bit brighter", "--at", "0:04-0:10", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["scopes"][0]["spans"] == [[4.0, 10.0]] and data["measurements"][0]["as_asked"]
    code, _, err = run(capsys, "note", project.path, "more turquoise")
    assert code == 1 and err.startswith("error: nothing to change")
    code, _, err = run(capsys, "note", project.path, "warmer", "--at", "0:10")
    assert code == 1 and "range like" in err
    code, _, err = run(capsys, "note", Path("/nonexistent/project"), "warmer")
    assert code == 1
