"""Stem roles from generator/DAW file names and, failing that, from the sound; a project's roles."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from project_fixtures import write_song
from stems_fixtures import rendered_parts

from trackwright.audio import Audio, save_audio
from trackwright.errors import ParameterError, ProjectError
from trackwright.analysis.roles import (
    guess_role,
    measure_content,
    name_words,
    role_from_content,
    role_from_name,
    stems_with_role,
)
from trackwright.produce.stems import find_stems, load_stems
from trackwright.project import Project
from trackwright.project.roles import project_roles, set_project_roles

NAMES = {
    # Suno / Udio / ACE-Step exports
    "Vocals.wav": "vocals", "Instrumental.wav": "other", "Backing Vocals.wav": "vocals", "Keyboard.wav": "keys",
    "Percussion.wav": "drums", "Synth.wav": "pad", "Lead.wav": "lead", "FX.wav": "fx", "Woodwinds.wav": "other",
    "Bass Drop Love (Vocals).wav": "vocals", "Midnight Drive (Drums).flac": "drums", "song_vocals.wav": "vocals",
    "ace-step_output_bass.ogg": "bass", "udio-track [other].wav": "other",
    # DAW exports: numbers, separators, camelCase, two-word phrases
    "01_Kick.wav": "drums", "02 Snare Top.wav": "drums", "BassDrum_02.wav": "drums", "bass stem.flac": "bass",
    "lead vox.wav": "vocals", "LeadVox.wav": "vocals", "Track 3 - Synth Pad.wav": "pad", "Synth Lead 2.wav": "lead", "My Song - Bass.wav": "bass",
    "Synth Bass.wav": "bass", "Piano.L.wav": "keys", "chords.wav": "keys", "Comping Gtr.wav": "guitar", "Gtr DI.wav": "guitar", "Acoustic Guitar.wav": "guitar",
    "Strings Section.wav": "strings", "Cello.wav": "strings", "808.wav": "bass", "FX Riser.wav": "fx",
}


@pytest.mark.parametrize(("name", "role"), sorted(NAMES.items()))
def test_roles_from_file_names(name: str, role: str) -> None:
    guess = role_from_name(name)
    assert guess is not None and guess.role == role and guess.source == "name"


@pytest.mark.parametrize("name", ["stem_01.wav", "Audio 1.wav", "Track 12.wav", "untitled.wav"])
def test_names_that_say_nothing(name: str) -> None:
    assert role_from_name(name) is None


def test_words_of_a_name() -> None:
    assert name_words("01_LeadVox (Stem).wav") == ["lead", "vox", "stem"]
    assert name_words("Kick01.wav") == ["kick"]


def test_roles_from_content_of_rendered_parts(rng: np.random.Generator) -> None:
    stems, _ = rendered_parts()
    assert role_from_content(measure_content(stems["drums"])).role == "drums"
    assert role_from_content(measure_content(stems["bass"])).role == "bass"
    chords = measure_content(stems["chords"])
    assert role_from_content(chords).role == "other" and chords.percussive_share < 0.1 and chords.pitchedness > 0.9
    rate = stems["drums"].sample_rate
    noise = Audio((0.1 * rng.standard_normal((2, 3 * rate))).astype(np.float32), rate)
    assert role_from_content(measure_content(noise)).role == "fx"
    silence = Audio(np.zeros((2, rate), np.float32), rate)
    assert role_from_content(measure_content(silence)).role == "other"


def test_name_wins_over_content_and_content_fills_in(tmp_path: Path) -> None:
    stems, _ = rendered_parts()
    save_audio(stems["bass"], tmp_path / "Vocals.wav", bit_depth="float")  # the name is believed
    save_audio(stems["bass"], tmp_path / "stem_07.wav", bit_depth="float")
    assert guess_role(tmp_path / "Vocals.wav").role == "vocals"
    content = guess_role(tmp_path / "stem_07.wav")
    assert content.role == "bass" and content.source == "content" and "low band" in content.reason


def test_a_stems_folder_is_checked_and_fitted(tmp_path: Path) -> None:
    stems, _ = rendered_parts()
    folder = tmp_path / "stems"
    folder.mkdir()
    rate = stems["drums"].sample_rate
    save_audio(stems["drums"], folder / "01_Drums.wav", bit_depth="float")
    save_audio(stems["bass"].with_samples(stems["bass"].samples[:1, : -rate // 50]), folder / "02_Bass.wav",
               bit_depth="float")  # mono and 20 ms short: spread and padded
    loaded = load_stems(folder)
    assert {n: g.role for n, g in loaded.roles.items()} == {"01_drums": "drums", "02_bass": "bass"}
    assert {a.frames for a in loaded.stems.values()} == {stems["drums"].frames}
    assert all(a.channels == 2 for a in loaded.stems.values())
    assert any("padded" in w for w in loaded.warnings)
    assert stems_with_role(loaded.roles, "bass") == ["02_bass"]
    save_audio(stems["lead"].with_samples(stems["lead"].samples[:, : -rate // 5]), folder / "lead.wav",
               bit_depth="float")  # 200 ms short: refused
    with pytest.raises(ParameterError, match="lead.*200 ms shorter"):
        load_stems(folder)


def test_project_roles_are_guessed_and_can_be_set(tmp_path: Path) -> None:
    song = write_song(tmp_path / "song", seconds=4.0)
    (song["stems"] / "keys.wav").rename(song["stems"] / "Keys (Piano).wav")
    project = Project.create(tmp_path / "proj", song["draft"], stems=song["stems"])
    roles = project_roles(project)
    assert {n: g.role for n, g in roles.items()} == {"bass": "bass", "drums": "drums", "keys (piano)": "keys"}
    set_project_roles(project, {"keys (piano)": "pad"})
    again = project_roles(Project.open(project.path))
    assert again["keys (piano)"].role == "pad" and again["keys (piano)"].source == "set"
    assert yaml.safe_load((project.path / "project.yaml").read_text())["roles"] == {"keys (piano)": "pad"}
    with pytest.raises(ParameterError, match="unknown role"):
        set_project_roles(project, {"bass": "tuba"})
    with pytest.raises(ParameterError, match="not a stem"):
        set_project_roles(project, {"flute": "other"})
    (project.path / "project.yaml").write_text("format: 1\nroles: {bass: tuba}\n", encoding="utf-8")
    with pytest.raises(ProjectError, match="roles"):
        project_roles(project)


def test_import_mentions_stems_whose_names_say_nothing(tmp_path: Path) -> None:
    stems, _ = rendered_parts()
    for name in ("Bass.wav", "stem_01.wav"):
        save_audio(stems["bass"], tmp_path / name, bit_depth="16")
    _, warnings = find_stems(tmp_path)
    assert len(warnings) == 1 and warnings[0].startswith("stem_01.wav: the name says nothing of its role")
