"""The grid the user sets (`trackwright grid`): stored in the recipe, shown by `analyze`, and
used by every later stage — fit, a note scoped to a section, deliver's game manifest.

The user's bar lines are computed here from the song's ground truth (a composed 120 BPM song,
bars of 2 s): the user moves every bar line half a bar (1 s) later, so each edit must land on
``truth + 1 s`` and not on a bar line the analysis heard.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from arrange_fixtures import BAR_S, short_song
from clirun import run
from project_fixtures import write_song

from trackwright.analysis.beat_grid import GridOverride
from trackwright.audio import save_audio
from trackwright.deliver.package import deliver
from trackwright.errors import ParameterError
from trackwright.export import project_session
from trackwright.export.adaptive import read_manifest
from trackwright.project import Project, Recipe
from trackwright.project.grid import updated_grid
from trackwright.project.operations import fit_project, grid_project
from trackwright.revise.note import apply_note

#: Edits snap beats onto the attacks within ±35 ms (arrange.grid.on_attacks).
ON_BAR_S = 0.04


@pytest.fixture(scope="module")
def shifted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Project, np.ndarray]:
    """The composed song as a project whose grid the user moved half a bar: (project, user bar lines)."""
    root = tmp_path_factory.mktemp("grid")
    _, info, audio = short_song()
    save_audio(audio, root / "song.wav")
    project = Project.create(root / "song", root / "song.wav", author="test")
    truth = np.asarray(info.downbeat_times_s, dtype=float)
    made = grid_project(project, downbeat_s=float(truth[1]) + BAR_S / 2)
    assert made.analysis.rhythm.user_set and made.grid == GridOverride(downbeat_s=float(truth[1]) + BAR_S / 2)
    assert np.allclose(np.diff(truth), BAR_S)  # a steady 120 BPM: the user's bars run on past the last one
    user_bars = truth[0] + BAR_S / 2 + BAR_S * np.arange(-1, round(audio.duration_s / BAR_S) + 1)
    return project, user_bars


def _distance(times: np.ndarray | list[float], bars: np.ndarray) -> np.ndarray:
    """Each time's distance (s) from the nearest of ``bars``."""
    times = np.asarray(times, dtype=float)
    return np.min(np.abs(times[:, np.newaxis] - bars[np.newaxis, :]), axis=1)


def test_fit_cuts_on_the_bars_the_user_set(shifted: tuple[Project, np.ndarray]) -> None:
    project, user_bars = shifted
    heard_bars = user_bars - BAR_S / 2
    fitted = fit_project(project, 20.0, hits=[8.0])
    joins = [t for s in fitted.fit.edits.segments for t in (s.start_s, s.end_s)]
    inner = [t for t in joins if 0.1 < t < project.analysis().duration_s - 0.1]
    assert len(inner) >= 3
    assert np.all(_distance(inner, user_bars) <= ON_BAR_S), (inner, user_bars[:8])
    assert np.all(_distance(inner, heard_bars) >= BAR_S / 2 - ON_BAR_S)


def test_a_note_on_the_chorus_starts_on_a_bar_the_user_set(shifted: tuple[Project, np.ndarray]) -> None:
    project, user_bars = shifted
    result = apply_note(project, "quieter in the chorus", dry_run=True)
    spans = result.scopes[0]["spans"]
    assert spans and result.version is None
    edited = project.recipe().arrangement
    starts = [s[0] for s in spans]
    # the spans are output times of the latest version: carry the user's bar lines there too
    user_out = np.array(sorted(t for b in user_bars for t in edited.output_times(float(b))))
    assert np.all(_distance(starts, user_out) <= ON_BAR_S), (starts, user_out)


def test_deliver_writes_the_tempo_the_user_set_into_the_game_manifest(tmp_path: Path) -> None:
    song = write_song(tmp_path / "src", seconds=24.0)
    project = Project.create(tmp_path / "song", song["draft"], stems=song["stems"])
    assert project.analysis().rhythm.tempo_bpm == pytest.approx(120.0, rel=0.01)  # heard right…
    grid_project(project, half=True)  # …and the user says the beat is half that
    deliver(tmp_path / "song", target="streaming", output=tmp_path / "out", only="loops")
    game = json.loads((tmp_path / "out" / "deliverables.json").read_text())["game"]
    assert game["tempo_bpm"] == pytest.approx(60.0, rel=0.01)
    assert np.median(np.diff(game["bar_grid_s"])) == pytest.approx(4.0, abs=0.02)  # four beats of 1 s


def test_a_compound_grid_reaches_the_game_manifest_and_the_engines_as_6_8(tmp_path: Path) -> None:
    song = write_song(tmp_path / "src", seconds=24.0)
    project = Project.create(tmp_path / "song", song["draft"], stems=song["stems"])
    grid_project(project, bpm=80.0, metre="6/8")  # two dotted quarters of 0.75 s a bar: bars of 1.5 s
    deliver(tmp_path / "song", target="streaming", output=tmp_path / "out", only="loops")
    game = json.loads((tmp_path / "out" / "deliverables.json").read_text())["game"]
    assert game["meter"] == "6/8" and game["beats_per_bar"] == 2
    assert game["tempo_bpm"] == pytest.approx(80.0, rel=0.01)
    assert np.median(np.diff(game["bar_grid_s"])) == pytest.approx(1.5, abs=0.02)
    music = read_manifest(tmp_path / "out" / "deliverables.json")
    assert music.beats_per_bar == 2 and music.tempo_bpm == pytest.approx(80.0, rel=0.01)  # bars of 1.5 s there too
    assert music.time_signature == "6/8"
    # a DAW's tempo map: bars of 6/8 (a pickup bar of its own in 3/8 at most), quarters at 120 a minute
    session = project_session(project).session
    assert {(m.numerator, m.denominator) for m in session.meters} <= {(6, 8), (3, 8)}
    assert (session.meters[-1].numerator, session.meters[-1].denominator) == (6, 8)
    assert np.median([t.bpm for t in session.tempo]) == pytest.approx(120.0, rel=0.02)


def test_grid_command_stores_the_block_and_analyze_shows_it_as_user_set(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    song = write_song(tmp_path / "src", seconds=12.0)
    folder = tmp_path / "song"
    project = Project.create(folder, song["draft"], author="ana")
    first = (folder / "recipes" / "v0001.yaml").read_text()
    assert "grid" not in first  # recipes without a grid stay as they were
    code, out, err = run(capsys, "grid", folder, "--bpm", 123, "--metre", "6/8", "--downbeat", "0:00.5", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["version"] == 2 and data["grid"] == {"bpm": 123.0, "metre": "6/8", "downbeat_s": 0.5}
    assert data["grid_source"] == "user" and data["time_signature"] == "6/8" and data["beat_subdivision"] == 3
    assert data["tempo_bpm"] == pytest.approx(123.0) and data["first_downbeat_s"] == pytest.approx(0.5)
    assert "grid: {bpm: 123.0, metre: 6/8, downbeat_s: 0.5}" in (folder / "recipes" / "v0002.yaml").read_text()
    assert Project.open(folder).diff(1, 2) == ["beat grid: 123 BPM, 6/8, a bar line at 0:00.50"]
    code, out, err = run(capsys, "-q", "analyze", folder, "--json")
    assert code == 0, err
    shown = json.loads(out)
    assert shown["grid_source"] == "user" and shown["time_signature"] == "6/8" and shown["tempo_bpm"] == 123.0
    np.testing.assert_allclose(np.diff(shown["beats_s"]), 60.0 / 123.0, atol=0.002)
    code, out, err = run(capsys, "grid", folder, "--clear")
    assert code == 0 and out.startswith("version 3: beat grid as heard"), err
    assert project.recipe(3).same_music(project.recipe(1))  # back to the heard grid: the same render


@pytest.mark.parametrize("args, message", [
    ((), "say what to set"),
    (("--half", "--double"), "cannot both"),
    (("--bpm", "120", "--half"), "not both"),
    (("--metre", "7/8"), "'7/8' is not one of"),
    (("--bpm", "1000"), "outside 20–400"),
    (("--downbeat", "9:00"), "outside the track"),
    (("--downbeat", "soon"), "--downbeat 'soon' is not a time"),
    (("--clear", "--half"), "give it alone"),
])
def test_bad_grids_are_refused_in_one_line_and_commit_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                              args: tuple[str, ...], message: str) -> None:
    song = write_song(tmp_path / "src", seconds=8.0, stems=False)
    project = Project.create(tmp_path / "song", song["draft"])
    code, out, err = run(capsys, "grid", tmp_path / "song", *args)
    assert code == 1 and err.startswith("error:") and message in err and len(err.strip().splitlines()) == 1, err
    assert project.latest() == 1


def test_half_and_double_act_on_the_grid_already_set() -> None:
    assert updated_grid(GridOverride(bpm=120.0), half=True) == GridOverride(bpm=60.0)
    assert updated_grid(GridOverride(half=True, metre="3/4"), double=True) == GridOverride(metre="3/4")
    assert updated_grid(GridOverride(metre="3/4"), downbeat_s=1.5) == GridOverride(metre="3/4", downbeat_s=1.5)
    with pytest.raises(ParameterError, match="already at half"):
        updated_grid(GridOverride(half=True), half=True)


def test_the_recipe_grid_block_is_checked_field_by_field() -> None:
    text = "format: 1\narrangement:\n  segments:\n  - {start_s: 0, end_s: 4}\ngrid: {bpm: 123, swing: 0.6}\n"
    with pytest.raises(ParameterError, match=r"^recipes/v0002.yaml: grid.swing: unknown field"):
        Recipe.from_yaml(text, where="recipes/v0002.yaml")
    with pytest.raises(ParameterError, match=r"^recipes/v0002.yaml: grid.half: must be true or false"):
        Recipe.from_yaml(text.replace("swing: 0.6", "half: 2").replace("bpm: 123, ", ""), where="recipes/v0002.yaml")
    recipe = Recipe.from_yaml(text.replace(", swing: 0.6", ""))
    assert recipe.grid == GridOverride(bpm=123.0) and "grid" in recipe.music()
    assert Recipe.from_yaml(text.replace("{bpm: 123, swing: 0.6}", "{}")).grid is None
