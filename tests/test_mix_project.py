"""`trackwright mix` on a stems folder and on a project: decisions stored in the recipe, revisable, rendered."""

from __future__ import annotations

import json

import numpy as np
import pytest

from clirun import run
from project_fixtures import RATE, tree_hashes, write_song
from trackwright.analysis.loudness import measure_loudness
from trackwright.audio import load_audio
from trackwright.project import Project
from trackwright.project.recipe import Recipe


def test_mix_a_stems_folder(tmp_path, capsys) -> None:
    song = write_song(tmp_path / "song", 8.0)
    before = tree_hashes(song["stems"])
    out = tmp_path / "mix.wav"
    code, stdout, stderr = run(capsys, "mix", song["stems"], "-o", out, "--style", "intimate", "--json")
    assert code == 0, stderr
    data = json.loads(stdout)
    assert data["plan"]["style"] == "intimate" and set(data["plan"]["parts"]) == {"bass", "drums", "keys"}
    assert data["plan"]["parts"]["bass"]["role"] == "bass" and data["plan"]["parts"]["keys"]["highpass_hz"] > 0
    assert abs(measure_loudness(load_audio(out)).integrated_lufs - (-14.0)) < 0.3
    assert tree_hashes(song["stems"]) == before                                   # sources untouched
    code, _, stderr = run(capsys, "mix", song["stems"])
    assert code == 1 and "needs -o/--output" in stderr


def test_mix_a_project_records_and_revises_the_decisions(tmp_path, capsys) -> None:
    song = write_song(tmp_path / "song", 8.0)
    project_dir = tmp_path / "proj"
    assert run(capsys, "new", project_dir, "--audio", song["draft"], "--stems", song["stems"], "--json")[0] == 0
    code, stdout, stderr = run(capsys, "mix", project_dir, "--style", "cinematic", "--role", "keys=pad", "--json")
    assert code == 0, stderr
    data = json.loads(stdout)
    assert data["version"] == 2 and data["plan"]["parts"]["keys"]["role"] == "pad"
    project = Project.open(project_dir)
    recipe = project.recipe(2)
    assert recipe.mix is not None and recipe.mix.style == "cinematic"
    text = (project_dir / "recipes" / "v0002.yaml").read_text()
    assert "mix:" in text and "highpass_hz" in text
    assert Recipe.from_yaml(text).mix == recipe.mix                              # round-trips
    mixed = load_audio(project.render(2).mix)
    plain = load_audio(project.render(1).mix)
    assert not np.allclose(mixed.samples, plain.samples)
    # revise one decision by hand: bass 6 dB down renders without re-deciding anything else
    changed = recipe.mix.to_dict()
    changed["parts"]["bass"]["gain_db"] -= 6.0
    version = project.commit(recipe.replace(mix=changed), "bass down")
    bass_v2 = load_audio(project.render(2).stems["bass"])
    bass_v3 = load_audio(project.render(version.number).stems["bass"])
    drop = measure_loudness(bass_v2).integrated_lufs - measure_loudness(bass_v3).integrated_lufs
    assert abs(drop - 6.0) < 0.1
    assert np.array_equal(load_audio(project.render(2).stems["drums"]).samples,
                          load_audio(project.render(version.number).stems["drums"]).samples)


def test_bad_mix_block_names_the_field(tmp_path) -> None:
    song = write_song(tmp_path / "song", 4.0)
    project = Project.create(tmp_path / "proj", song["draft"], stems=song["stems"])
    from trackwright.errors import ParameterError

    with pytest.raises(ParameterError, match="mix.style: must be one of"):
        project.recipe().replace(mix={"style": "loud"})
    assert RATE == 22050
