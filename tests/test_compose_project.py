"""Composition from the recipe and the command line, heard through FluidSynth and our own analysis."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clirun import run
from trackwright.analysis.analyze import analyze
from trackwright.audio import load_audio, save_audio
from trackwright.errors import ParameterError
from trackwright.project.recipe import Recipe
from trackwright.project.render import cache_key
from trackwright.score.draft import compose_draft_with_truth
from trackwright.score.symbolic import load_score



def _analysis_label(label: str) -> str:
    """``"A:min"`` → ``"Am"``, ``"G:maj"`` → ``"G"`` (other qualities kept as written)."""
    root, _, quality = label.partition(":")
    return root + {"maj": "", "min": "m"}.get(quality, quality)


def _heard_chords(audio_path: Path, bar_s: float, bars: int) -> list[str]:
    chords = analyze(load_audio(audio_path)).to_dict()["chords"]
    out = []
    for bar in range(bars):
        t = (bar + 0.5) * bar_s
        out.append(next((_analysis_label(c["label"]) for c in chords if c["start_s"] <= t < c["end_s"]), "N"))
    return out


@pytest.fixture(scope="module")
def song_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from trackwright.produce.fluidsynth import render_midi

    folder = tmp_path_factory.mktemp("compose-song")
    midi, _ = compose_draft_with_truth(bars=8, key="C", seed=0)
    midi.save(str(folder / "song.mid"))
    save_audio(render_midi(midi, sample_rate=22050), folder / "draft.wav", bit_depth="float")
    return {"midi": folder / "song.mid", "draft": folder / "draft.wav"}


@pytest.fixture(scope="module")
def project_dir(song_files: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    from trackwright.project import Project

    path = tmp_path_factory.mktemp("compose-project") / "song"
    Project.create(path, song_files["draft"], midi=song_files["midi"])
    return path


def test_recipe_score_ops_round_trip_and_change_the_cache_key(project_dir: Path) -> None:
    from trackwright.project import Project

    recipe = Project.open(project_dir).recipe()
    assert recipe.score == () and "score" not in recipe.music() and "score:" not in recipe.to_yaml()
    composed = recipe.replace(score=({"op": "reharmonise", "seed": 3, "rate": 0.5},))
    text = composed.to_yaml()
    assert "score:" in text and "op: reharmonise" in text
    again = Recipe.from_yaml(text)
    assert again == composed and again.score == ({"op": "reharmonise", "seed": 3, "rate": 0.5},)
    assert cache_key(composed) != cache_key(recipe)
    assert cache_key(composed.replace(score=({"op": "reharmonise", "seed": 4, "rate": 0.5},))) != cache_key(composed)
    bad = text.replace("op: reharmonise", "op: reharmonize")
    with pytest.raises(ParameterError, match=r"^v9\.yaml: score\[0\]\.op: must be one of"):
        Recipe.from_yaml(bad, where="v9.yaml")


def test_compose_project_change_mode_is_heard_in_minor(project_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "compose", project_dir, "change_mode", "--json", "--quiet")
    assert code == 0, err
    data = json.loads(out)
    assert data["version"] >= 2 and data["key_before"] == "C major" and data["key_after"] == "C minor"
    assert data["violations"] == []
    score_audio, score_midi = Path(data["score_audio"]), Path(data["score_midi"])
    assert score_audio.is_file() and load_score(score_midi).key().label == "C minor"
    heard = analyze(load_audio(score_audio)).to_dict()["key"]
    assert (heard["tonic"], heard["mode"]) == ("C", "minor")
    from trackwright.project import Project

    project = Project.open(project_dir)
    assert project.recipe(data["version"]).score == ({"op": "change_mode", "seed": 0},)
    again = project.render(data["version"])
    assert again.cached and again.score_audio == score_audio


def test_compose_midi_reharmonise_is_heard(song_files: dict[str, Path], tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    from trackwright.produce.fluidsynth import render_midi

    out_mid = tmp_path / "re.mid"
    code, out, err = run(capsys, "compose", song_files["midi"], "reharmonise", "--seed", "2", "--rate", "0.6",
                         "--kinds", "relative,parallel", "-o", out_mid, "--json")
    assert code == 0, err
    data = json.loads(out)
    changed = [i for i, (b, a) in enumerate(zip(data["chords_before"], data["chords_after"])) if b != a]
    assert changed and data["violations"] == []
    save_audio(render_midi(out_mid, sample_rate=22050), tmp_path / "re.wav", bit_depth="float")
    heard = _heard_chords(tmp_path / "re.wav", 2.4, 8)
    agree = sum(heard[i] == data["chords_after"][i] for i in changed) / len(changed)
    assert agree >= 0.75, (heard, data["chords_after"])
    code2, out2, _ = run(capsys, "compose", song_files["midi"], "reharmonise", "--seed", "2", "--rate", "0.6",
                         "--kinds", "relative,parallel", "-o", tmp_path / "again.mid", "--json")
    assert code2 == 0 and (tmp_path / "again.mid").read_bytes() == out_mid.read_bytes()


def test_compose_cli_refuses_bad_input(song_files: dict[str, Path], tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "compose", song_files["midi"], "pedal", "--rate", "0.5", "-o", tmp_path / "x.mid")
    assert code == 1 and "rate: unknown option for pedal" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "compose", song_files["midi"], "fold", "-o", tmp_path / "x.mid")
    assert code == 1 and "must be one of reharmonise" in err
    code, _, err = run(capsys, "compose", song_files["midi"], "pedal")
    assert code == 1 and "-o/--output" in err
    assert not (tmp_path / "x.mid").exists()


def test_score_ops_without_midi_warn(tmp_path: Path) -> None:
    from project_fixtures import write_song

    from trackwright.project import Project

    paths = write_song(tmp_path / "in", seconds=6.0, stems=False)
    project = Project.create(tmp_path / "p", paths["draft"])
    recipe = project.recipe().replace(score=({"op": "pedal", "seed": 0},))
    version = project.commit(recipe, "pedal")
    result = project.render(version.number)
    assert result.score_audio is None and result.score_midi is None
    assert any("score operations not rendered: the project has no MIDI source" in w for w in result.warnings)
    assert "score_audio" not in result.to_dict()
