"""Creative notes on a real project: each note's measured direction, nothing changed outside its scope."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from clirun import run
from project_fixtures import write_song

from note_measures import level_db, measure

from trackwright.audio import load_audio
from trackwright.errors import ParameterError
from trackwright.project import Project
from trackwright.revise import apply_note

END = 30.0  # the song's length, seconds
AT_S = 10.0  # "at 0:08" means the few bars from 0:08 (the note engine's convention, stated here)

# (note, what it asks for measured independently, the span it names (None: the whole piece)).
# A measure is one of: "lufs" (integrated loudness, pyloudnorm), "centroid" (spectral centroid),
# "width" (side/mid level), "presence" (300 Hz–3 kHz level), "parts" (stems sounding), or a stem
# name (that stem's level); the sign is the direction asked ("drums": "off" for a muted stem).
NOTES: list = [
    ("make it warmer", {"centroid": -1}, None), ("a bit warmer", {"centroid": -1}, None),
    ("colder", {"centroid": +1}, None), ("brighter", {"centroid": +1}, None), ("darker", {"centroid": -1}, None),
    ("it sounds a bit dull", {"centroid": +1}, None), ("less harsh", {"centroid": -1}, None),
    ("it's a bit cold and clinical", {"centroid": -1}, None),
    ("louder from 0:10 to 0:20", {"lufs": +1}, (10.0, 20.0)), ("quieter between 0:05 and 0:15", {"lufs": -1}, (5.0, 15.0)),
    ("the whole thing is too loud", {"lufs": -1}, None), ("hold back until 0:20", {"lufs": -1}, (0.0, 20.0)),
    ("much more energy from 0:15", {"lufs": +1}, (15.0, END)), ("calmer at 0:08", {"lufs": -1}, (8.0, 8.0 + AT_S)),
    ("it's too aggressive", {"lufs": -1}, None), ("more intimate", {"width": -1}, None),
    ("make it feel more vulnerable in 0:10-0:20", {"width": -1}, (10.0, 20.0)),
    ("bigger", {"width": +1}, None), ("smaller", {"width": -1}, None), ("a little wider", {"width": +1}, None),
    ("less busy at 0:12", {"parts": -1}, (12.0, 12.0 + AT_S)), ("strip it back from 0:20", {"parts": -1}, (20.0, END)),
    ("no drums from 0:10 to 0:18", {"drums": "off"}, (10.0, 18.0)),
    ("lose the bass until 0:12", {"bass": "off"}, (0.0, 12.0)),
    ("bring the keys up at 0:16", {"keys": +1}, (16.0, 16.0 + AT_S)),
    ("the drums could be a bit quieter", {"drums": -1}, None), ("the keys are too loud", {"keys": -1}, None),
    ("less busy under the dialogue at 0:10", {"presence": -1}, (10.0, 10.0 + AT_S)),
    ("make room for the dialogue between 0:05 and 0:12", {"presence": -1}, (5.0, 12.0)),
    ("more tension, but don't make it obvious", {"centroid": -1}, None),
    ("more suspense from 0:15", {"centroid": -1}, (15.0, END)), ("happier", {"centroid": +1}, None),
    ("sadder between 0:10 and 0:20", {"centroid": -1}, (10.0, 20.0)),
    ("a touch darker from 0:04 to 0:12", {"centroid": -1}, (4.0, 12.0)),
    ("more mysterious at 0:18", {"centroid": -1}, (18.0, 18.0 + AT_S)), ("softer at 0:22", {"lufs": -1}, (22.0, END)),
    ("much less energy after 0:14", {"lufs": -1}, (14.0, END)), ("more open and airy", {"centroid": +1}, None),
    ("it feels a bit closed in, more air please", {"centroid": +1}, None), ("quieter drums", {"drums": -1}, None),
    ("punchier drums from 0:06", {"drums": +1}, (6.0, END)), ("too busy between 0:16 and 0:24", {"parts": -1}, (16.0, 24.0)),
]
#: The smallest move a listener hears: loudness and stem levels 0.5 dB, presence band 0.5 dB,
#: centroid 3 %, width 0.5 dB, one part fewer.
AUDIBLE = {"lufs": 0.5, "stem": 0.5, "presence": 0.5, "centroid": 0.03, "width": 0.5, "parts": 1}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    folder = tmp_path_factory.mktemp("notes")
    song = write_song(folder / "song", seconds=END, midi=True)
    return Project.create(folder / "cue", song["draft"], stems=song["stems"], midi=song["midi"], author="test")


def test_the_suite_has_at_least_forty_notes() -> None:
    assert len(NOTES) >= 40


@pytest.mark.parametrize(("text", "asks", "span"), NOTES)
def test_each_note_moves_the_music_the_way_it_asks_and_nothing_else(project: Project, text: str,
                                                                    asks: dict[str, object],
                                                                    span: tuple[float, float] | None) -> None:
    project.revert(1)  # every note starts from the draft (its render is cached)
    before = project.render(project.latest())
    result = apply_note(project, text)
    assert result.version == project.latest()
    after = project.render(result.version)
    start, end = span or (0.0, END)
    for what, direction in asks.items():
        if direction == "off":
            stem = load_audio(after.stems[what])
            assert level_db(stem, start, end) < -60.0, (what, "\n".join(result.explanation()))
            continue
        moved = measure(what, before, after, start, end)
        threshold = AUDIBLE["stem" if what in before.stems else what]
        assert moved * float(direction) >= threshold, (what, moved, "\n".join(result.explanation()))
    if span is not None:  # outside the span (and a second of ramp either side), not one sample changes
        mix_a, mix_b = load_audio(before.mix), load_audio(after.mix)
        rate = mix_a.sample_rate
        outside = np.ones(mix_a.frames, dtype=bool)
        outside[max(0, round((start - 1.0) * rate)):round((end + 1.0) * rate)] = False
        assert np.array_equal(mix_a.samples[:, outside], mix_b.samples[:, outside]), text
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
    assert data["scopes"][0]["spans"] == [[4.0, 10.0]]
    before, after = (project.render(n) for n in (data["parent"], data["version"]))
    assert measure("centroid", before, after, 4.0, 10.0) >= AUDIBLE["centroid"]
    code, _, err = run(capsys, "note", project.path, "more turquoise")
    assert code == 1 and err.startswith("error: nothing to change")
    code, _, err = run(capsys, "note", project.path, "warmer", "--at", "0:10")
    assert code == 1 and "range like" in err
    code, _, err = run(capsys, "note", Path("/nonexistent/project"), "warmer")
    assert code == 1
