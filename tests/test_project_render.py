"""Rendering a project: deterministic and cached, stems that add up to the mix, part settings, MIDI,
master, and a render killed half-way."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import mido
import numpy as np
import pytest
from project_fixtures import BAR_S, write_song

from trackwright.arrange.edl import EditList, Segment
from trackwright.arrange.splice import apply_plan, plan_splices
from trackwright.audio import Audio, load_audio, save_audio
from trackwright.errors import ProjectError
from trackwright.project import MasterSettings, Project, RenderResult
from trackwright.project.render import RENDER_ENGINE

CUT = EditList((Segment(0.0, 2 * BAR_S), Segment(3 * BAR_S, 6 * BAR_S)))  # bar 3 cut out of 6


@pytest.fixture(scope="module")
def song(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_song(tmp_path_factory.mktemp("song"), 12.0, midi=True)


@pytest.fixture(scope="module")
def template(song: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "proj"
    project = Project.create(path, song["draft"], stems=song["stems"], midi=song["midi"], author="ana")
    project.commit(project.recipe().replace(arrangement=CUT), "cut bar 3")
    return path


@pytest.fixture
def project(template: Path, tmp_path: Path) -> Project:
    shutil.copytree(template, tmp_path / "proj")
    return Project.open(tmp_path / "proj")


def _db_renders(project: Project) -> list[tuple]:
    with sqlite3.connect(project.path / "project.db") as con:
        return con.execute("SELECT version, cache_key, kind, path, sha256 FROM renders ORDER BY version, kind").fetchall()


def test_float_wav_bytes_are_deterministic(tmp_path: Path) -> None:
    audio = Audio(np.random.default_rng(0).standard_normal((2, 4000)).astype(np.float32) * 0.1, 22050)
    save_audio(audio, tmp_path / "a.wav", bit_depth="float")
    time.sleep(1.1)  # libsndfile stamps the time into a float WAV's PEAK chunk
    save_audio(audio, tmp_path / "b.wav", bit_depth="float")
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()
    assert np.array_equal(load_audio(tmp_path / "a.wav").samples, audio.samples)


def test_render_writes_the_files_and_records_them(project: Project) -> None:
    result = project.render()
    assert isinstance(result, RenderResult) and not result.cached and result.version == 2
    assert result.folder == project.path / "renders" / result.cache_key
    assert result.mix == result.folder / "mix.wav"
    assert result.stems == {name: result.folder / "stems" / f"{name}.wav" for name in ("bass", "drums", "keys")}
    assert result.midi == result.folder / "arrangement.mid" and result.master is None
    import soundfile as sf

    assert sf.info(str(result.mix)).subtype == "FLOAT"
    manifest = json.loads((result.folder / "render.json").read_text())
    assert manifest["cache_key"] == result.cache_key and manifest["version"] == 2 and manifest["engine"] == RENDER_ENGINE
    assert set(manifest["files"]) == {"mix.wav", "residual.wav", "stems/bass.wav", "stems/drums.wav",
                                      "stems/keys.wav", "arrangement.mid"}
    rows = _db_renders(project)
    assert {row[2] for row in rows} == {"mix", "residual", "stem:bass", "stem:drums", "stem:keys", "midi"}
    assert all(row[0] == 2 and row[1] == result.cache_key and row[3].startswith(f"renders/{result.cache_key}/")
               for row in rows)
    assert json.loads(json.dumps(result.to_dict()))["mix"] == str(result.mix)
    assert not [p for p in (project.path / "renders").iterdir() if p.name.startswith(".tmp")]


def test_render_is_cached(project: Project) -> None:
    first = project.render(2)
    started = time.monotonic()
    second = project.render(2)
    assert second.cached and time.monotonic() - started < 0.5
    assert second.mix == first.mix and second.stems == first.stems
    again = project.revert(2)  # same music, new version: same render, recorded for it too
    third = project.render(again.number)
    assert third.cached and third.cache_key == first.cache_key and third.version == again.number
    assert {row[0] for row in _db_renders(project)} == {2, again.number}
    first.mix.chmod(0o644)
    first.mix.write_bytes(first.mix.read_bytes()[:-4] + b"\0\0\0\0")  # a damaged cache is rendered again
    fourth = project.render(2)
    assert not fourth.cached and fourth.mix.read_bytes() == load_mix_bytes(project, 2)


def load_mix_bytes(project: Project, number: int) -> bytes:
    return project.render(number).mix.read_bytes()


def test_render_is_deterministic_across_projects(song: dict[str, Path], project: Project, tmp_path: Path) -> None:
    other = Project.create(tmp_path / "other", song["draft"], stems=song["stems"], midi=song["midi"], author="zed")
    other.commit(other.recipe().replace(arrangement=CUT), "the same cut, another author")
    a, b = project.render(2), other.render(2)
    assert a.cache_key == b.cache_key
    assert a.mix.read_bytes() == b.mix.read_bytes()
    for name in a.stems:
        assert a.stems[name].read_bytes() == b.stems[name].read_bytes()
    assert a.midi.read_bytes() == b.midi.read_bytes()


def test_edited_stems_sum_to_the_edited_mix(project: Project) -> None:
    result = project.render(2)
    mix = load_audio(result.mix).samples
    stems = sum(load_audio(path).samples.astype(np.float64) for path in result.stems.values())
    residual = load_audio(result.residual).samples
    assert mix.shape == (2, round(5 * BAR_S * 22050))
    assert np.abs(stems - mix).max() < 1e-4  # the stems sum to the draft, so they sum to the edited mix
    assert np.abs(stems + residual - mix).max() < 1e-6
    draft = project.source_audio()
    edited = apply_plan(draft, plan_splices(draft, CUT))
    assert np.abs(edited.samples - mix).max() < 1e-5  # parts at 0 dB: the mix is the edited draft
    whole = project.render(1)
    assert load_audio(whole.mix).samples.shape == draft.samples.shape


def _db(x: np.ndarray) -> float:
    return 20 * np.log10(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def test_part_gain_pan_and_mute(project: Project) -> None:
    base = project.render(2)
    quieter = project.commit(project.recipe().with_part("bass", gain_db=-6.0), "bass −6 dB")
    low = project.render(quieter.number)
    before, after = load_audio(base.stems["bass"]).samples, load_audio(low.stems["bass"]).samples
    assert _db(after) - _db(before) == pytest.approx(-6.0, abs=0.01)
    mix_change = load_audio(low.mix).samples - load_audio(base.mix).samples
    assert np.abs(mix_change - (after - before)).max() < 1e-5
    assert load_audio(low.stems["drums"]).samples.tobytes() == load_audio(base.stems["drums"]).samples.tobytes()
    right = project.commit(project.recipe().with_part("keys", pan=1.0), "keys hard right")
    keys = load_audio(project.render(right.number).stems["keys"]).samples
    original = load_audio(base.stems["keys"]).samples
    assert np.abs(keys[0]).max() < 1e-6 and np.array_equal(keys[1], original[1])
    muted = project.commit(project.recipe().with_part("drums", mute=True), "no drums")
    rendered = project.render(muted.number)
    assert not load_audio(rendered.stems["drums"], validate=False).samples.any()
    parts = [load_audio(rendered.stems[n]).samples for n in ("bass", "keys")] + [load_audio(rendered.residual).samples]
    assert np.abs(sum(parts) - load_audio(rendered.mix).samples).max() < 1e-6


def test_midi_follows_the_edit(project: Project) -> None:
    result = project.render(2)
    edited = mido.MidiFile(str(result.midi))
    source = mido.MidiFile(str(project.source_midi()))
    assert source.length == pytest.approx(12.0, abs=0.3)
    assert edited.length == pytest.approx(5 * BAR_S, abs=0.3)


def test_master_target_renders_a_24_bit_master(project: Project) -> None:
    from trackwright.analysis.loudness import measure_loudness

    info = project.commit(project.recipe().replace(master=MasterSettings("broadcast")), "master for broadcast")
    result = project.render(info.number)
    import soundfile as sf

    assert result.master == result.folder / "master.wav" and sf.info(str(result.master)).subtype == "PCM_24"
    assert measure_loudness(load_audio(result.master)).integrated_lufs == pytest.approx(-23.0, abs=0.3)


def test_changed_source_is_refused(project: Project) -> None:
    source = project.path / "sources" / "stems" / "bass.wav"
    source.chmod(0o644)
    source.write_bytes(source.read_bytes()[:-8] + b"\0" * 8)
    with pytest.raises(ProjectError, match=r"bass.wav: source file changed since it was imported"):
        project.render(2)


KILL_SECONDS = 60.0


def test_killed_render_leaves_no_partial_output(tmp_path: Path) -> None:
    song = write_song(tmp_path / "song", KILL_SECONDS, midi=True, sample_rate=44100, seed=4)
    project = Project.create(tmp_path / "proj", song["draft"], stems=song["stems"], midi=song["midi"])
    project.commit(project.recipe().replace(arrangement=EditList((Segment(0.0, 16.0), Segment(24.0, 60.0))),
                                           master=MasterSettings("streaming")), "cut and master")
    renders = project.path / "renders"
    proc = subprocess.Popen([sys.executable, "-m", "trackwright", "render", str(project.path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not any(p.name.startswith(".tmp-") for p in renders.iterdir()):
        assert proc.poll() is None, "the render finished before it could be interrupted"
        assert time.monotonic() < deadline
        time.sleep(0.005)
    time.sleep(0.3)  # well into the work
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert [p.name[:5] for p in renders.iterdir()] == [".tmp-"]  # nothing but the interrupted folder
    reopened = Project.open(project.path)  # opens fine, and clears the interrupted folder
    assert list(renders.iterdir()) == []
    for mix in project.path.rglob("mix.wav"):
        assert mix.parent.parent == renders and (mix.parent / "render.json").exists()
    result = reopened.render()
    assert not result.cached and result.master is not None
    for mix in project.path.rglob("mix.wav"):
        assert mix.parent == result.folder
    assert reopened.render().cached
