"""The project store: create/open, versions, revert, formats, damage and repair, the lock."""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from project_fixtures import RATE, stem_signals, tree_hashes, write_song

from trackwright.arrange.edl import EditList, Segment
from trackwright.audio import Audio, save_audio
from trackwright.errors import ParameterError, ProjectError
from trackwright.project import MasterSettings, PartSettings, Project, Recipe, VersionInfo

NEWER = "was written by a newer trackwright (project format 2); this trackwright reads format 1: upgrade trackwright"


@pytest.fixture(scope="module")
def song(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_song(tmp_path_factory.mktemp("song"), 12.0, midi=True, brief=True)


@pytest.fixture(scope="module")
def template(song: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project with three versions, made once and copied by ``project``."""
    path = tmp_path_factory.mktemp("template") / "proj"
    project = Project.create(path, song["draft"], stems=song["stems"], midi=song["midi"], brief=song["brief"],
                             author="ana")
    project.commit(project.recipe().with_part("bass", gain_db=-2.0), "bass down", author="bo")
    project.commit(project.recipe().replace(arrangement=EditList((Segment(0.0, 4.0), Segment(8.0, 12.0)))),
                   "cut bars 3-4")
    return path


@pytest.fixture
def project(template: Path, tmp_path: Path) -> Project:
    import shutil

    path = tmp_path / "proj"
    shutil.copytree(template, path)
    return Project.open(path)


def test_create_lays_out_the_folder(song: dict[str, Path], tmp_path: Path) -> None:
    before = tree_hashes(*song.values())
    project = Project.create(tmp_path / "p", song["draft"], stems=song["stems"], midi=song["midi"],
                             brief=song["brief"], author="ana")
    assert tree_hashes(*song.values()) == before
    root = project.path
    assert yaml.safe_load((root / "project.yaml").read_text()) == {"format": 1, "created_by": "trackwright 0.1.0"}
    assert sorted(p.relative_to(root).as_posix() for p in (root / "sources").rglob("*") if p.is_file()) == [
        "sources/brief.yaml", "sources/draft.wav", "sources/midi.mid", "sources/stems/bass.wav",
        "sources/stems/drums.wav", "sources/stems/keys.wav"]
    for path in (root / "sources").rglob("*"):
        if path.is_file():
            assert path.stat().st_mode & 0o222 == 0, f"{path} is writable"
    originals = {"sources/draft.wav": song["draft"], "sources/midi.mid": song["midi"],
                 "sources/brief.yaml": song["brief"], "sources/stems/bass.wav": song["stems"] / "bass.wav"}
    for rel, original in originals.items():
        assert (root / rel).read_bytes() == original.read_bytes()
    [info] = project.versions()
    assert (info.number, info.parent, info.author, info.message) == (1, None, "ana", "imported draft")
    assert info.created_utc.endswith("Z") and len(info.recipe_sha256) == 64
    first = project.recipe(1)
    assert first.arrangement == EditList.whole(12.0)
    assert first.parts == {"bass": PartSettings(), "drums": PartSettings(), "keys": PartSettings()}
    assert first.master == MasterSettings(None)
    assert set(first.sources) == set(originals) | {"sources/stems/drums.wav", "sources/stems/keys.wav"}
    analysis = json.loads((root / "analysis" / "draft.json").read_text())
    assert {"beats_s", "downbeats_s", "sections", "tempo_bpm", "brief"} <= set(analysis)
    assert analysis["tempo_bpm"] == pytest.approx(120.0, abs=1.0)
    assert project.source_midi() == root / "sources/midi.mid"
    assert set(project.source_stems()) == {"bass", "drums", "keys"}
    assert project.source_audio().frames == 12 * RATE
    with sqlite3.connect(root / "project.db") as con:
        assert dict(con.execute("SELECT key, value FROM meta"))["format_version"] == "1"
        assert con.execute("SELECT recipe_path FROM versions").fetchone() == ("recipes/v0001.yaml",)


def test_create_refuses_existing_folders_and_leaves_nothing_on_failure(song: dict[str, Path], tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.txt").write_text("mine")
    with pytest.raises(ProjectError, match=r"full: already exists; choose a new folder"):
        Project.create(tmp_path / "full", song["draft"])
    assert (tmp_path / "full" / "x.txt").read_text() == "mine"
    (tmp_path / "empty").mkdir()
    Project.create(tmp_path / "empty", song["draft"])  # an empty folder is fine
    with pytest.raises(Exception, match=r"missing.wav: no such file"):
        Project.create(tmp_path / "p2", tmp_path / "missing.wav")
    with pytest.raises(ParameterError, match=r"song.mid.txt: no such MIDI file"):
        Project.create(tmp_path / "p3", song["draft"], midi=tmp_path / "song.mid.txt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "full"]


def test_stems_must_match_the_draft(song: dict[str, Path], tmp_path: Path) -> None:
    parts = stem_signals(12.0)
    slow = tmp_path / "slow"
    slow.mkdir()
    save_audio(Audio(parts["bass"], 44100), slow / "bass.wav", bit_depth="float")
    with pytest.raises(ParameterError, match=r"bass.wav: stem 'bass' is at 44100 Hz but the draft is at 22050 Hz"):
        Project.create(tmp_path / "p", song["draft"], stems=slow)
    long = tmp_path / "long"
    long.mkdir()
    save_audio(Audio(np.pad(parts["bass"], ((0, 0), (0, RATE // 10))), RATE), long / "bass.wav", bit_depth="float")
    with pytest.raises(ParameterError, match=r"stem 'bass' is 12.100 s long but the draft is 12.000 s \(100 ms longer"):
        Project.create(tmp_path / "p", song["draft"], stems=long)
    close = tmp_path / "close"
    close.mkdir()
    save_audio(Audio(parts["bass"][:, : -RATE // 50], RATE), close / "Bass.wav", bit_depth="float")
    save_audio(Audio(parts["drums"][:1], RATE), close / "drums.wav", bit_depth="float")  # mono
    (close / "notes.txt").write_text("not audio")
    project = Project.create(tmp_path / "p", song["draft"], stems=close)
    assert any("notes.txt: not a WAV" in w for w in project.warnings)
    assert any("stem 'bass' is 20.0 ms shorter than the draft; padded with silence" in w for w in project.warnings)
    stems = project.source_stems()
    assert stems["bass"].frames == 12 * RATE and stems["drums"].channels == 2
    assert np.array_equal(stems["drums"].samples[0], stems["drums"].samples[1])
    twins = tmp_path / "twins"
    twins.mkdir()
    for name in ("bass.wav", "BASS.flac"):
        save_audio(Audio(parts["bass"], RATE), twins / name)
    with pytest.raises(ParameterError, match=r"would both be the part 'bass'"):
        Project.create(tmp_path / "p4", song["draft"], stems=twins)
    (tmp_path / "no-stems").mkdir()
    with pytest.raises(ParameterError, match=r"no-stems: holds no stems"):
        Project.create(tmp_path / "p5", song["draft"], stems=tmp_path / "no-stems")


def test_open_refuses_what_is_not_a_project(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match=r"nope: no such project folder$"):
        Project.open(tmp_path / "nope")
    (tmp_path / "plain").mkdir()
    with pytest.raises(ProjectError, match=r"plain: not a trackwright project \(no project.yaml\); make one with "
                                           r"`trackwright new"):
        Project.open(tmp_path / "plain")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ProjectError, match=r"is a file, not a project folder"):
        Project.open(tmp_path / "file")


def test_versions_parent_chain_and_branches(project: Project) -> None:
    history = project.versions()
    assert [(v.number, v.parent, v.author, v.message) for v in history] == [
        (1, None, "ana", "imported draft"), (2, 1, "bo", "bass down"), (3, 2, project.versions()[2].author,
                                                                         "cut bars 3-4")]
    assert project.latest() == 3
    assert project.recipe(2).part("bass").gain_db == -2.0
    assert project.recipe().arrangement.segments[1] == Segment(8.0, 12.0)
    branch = project.commit(project.recipe(1).with_part("keys", pan=0.5), "keys right", author="cy", parent=1)
    assert (branch.number, branch.parent, branch.author) == (4, 1, "cy")
    reopened = Project.open(project.path)
    assert reopened.versions()[-1] == branch
    assert reopened.recipe(4).version == branch
    text = (project.path / "recipes" / "v0004.yaml").read_text()
    assert "message: keys right" in text and "parent: 1" in text
    with pytest.raises(ParameterError, match=r"no version 9 \(the project has versions 1–4\)"):
        project.commit(project.recipe(), "x", parent=9)
    with pytest.raises(ParameterError, match=r"no version 0 \(the project has versions 1–4\)"):
        project.recipe(0)
    with pytest.raises(ParameterError, match=r"needs a message"):
        project.commit(project.recipe(), "  ")


def test_commit_checks_the_recipe_against_the_project(project: Project) -> None:
    bare = Recipe(EditList.whole(6.0), {"drums": PartSettings(gain_db=1.0)})  # no sources: the project's are used
    info = project.commit(bare, "half")
    assert project.recipe(info.number).sources == project.recipe(1).sources
    with pytest.raises(ParameterError, match=r"arrangement.segments\[0\]: ends at 30.000 s, after the source's end"):
        project.commit(Recipe(EditList.whole(30.0)), "too long")
    other = dict(project.recipe().sources)
    other["sources/draft.wav"] = "00" * 32
    with pytest.raises(ParameterError, match=r"recipe sources differ from the project's"):
        project.commit(Recipe(EditList.whole(6.0), sources=other), "other sources")
    with pytest.raises(ParameterError, match=r"parts.tuba: no stem named 'tuba'"):
        project.commit(Recipe(EditList.whole(6.0), {"tuba": PartSettings()}, sources=project.recipe().sources), "x")
    assert project.latest() == info.number


def test_revert_makes_a_new_version_equal_to_the_old(project: Project) -> None:
    info = project.revert(1, author="dee")
    assert (info.number, info.parent, info.message, info.author) == (4, 3, "revert to v1", "dee")
    assert project.recipe(4) == project.recipe(1)
    assert project.diff(1, 4) == ["no musical change"]
    with pytest.raises(ParameterError, match=r"no version 12"):
        project.revert(12)


def test_recipe_files_alone_hold_the_history(project: Project) -> None:
    for info in project.versions():
        data = yaml.safe_load((project.path / f"recipes/v{info.number:04d}.yaml").read_text())
        block = data["version"]
        assert (block["number"], block["parent"], block["author"], block["created_utc"], block["message"]) == (
            info.number, info.parent, info.author, info.created_utc, info.message)


def test_analysis_is_a_cache(project: Project) -> None:
    path = project.path / "analysis" / "draft.json"
    first = project.analysis()
    path.unlink()
    again = project.analysis()
    assert path.exists() and again.to_dict() == first.to_dict()
    assert [s.role for s in again.structure.sections] == [s.role for s in first.structure.sections]
    path.write_text("{ damaged")
    assert np.array_equal(project.analysis().rhythm.beats_s, first.rhythm.beats_s)


# -- formats, damage, repair ----------------------------------------------------------------------
def test_newer_project_yaml_is_refused(project: Project) -> None:
    (project.path / "project.yaml").write_text("format: 2\ncreated_by: trackwright 9.0\n")
    with pytest.raises(ProjectError) as caught:
        Project.open(project.path)
    assert str(caught.value) == f"{project.path}/project.yaml: {NEWER}"


def test_newer_db_is_refused(project: Project) -> None:
    with sqlite3.connect(project.path / "project.db") as con:
        con.execute("UPDATE meta SET value = '2' WHERE key = 'format_version'")
    with pytest.raises(ProjectError) as caught:
        Project.open(project.path)
    assert str(caught.value) == f"{project.path}/project.db: {NEWER}"


def test_newer_recipe_is_refused(project: Project) -> None:
    path = project.path / "recipes" / "v0003.yaml"
    path.write_text(path.read_text().replace("format: 1", "format: 2"))
    with pytest.raises(ProjectError) as caught:
        Project.open(project.path)
    assert str(caught.value) == f"recipes/v0003.yaml: {NEWER}"


def test_corrupt_db_points_at_repair_and_repair_rebuilds_it(project: Project) -> None:
    before = project.versions()
    rendered = project.render(2)
    (project.path / "project.db").write_bytes(b"this is not a database" * 200)
    with pytest.raises(ProjectError, match=r"project.db: damaged \(file is not a database\); run "
                                           r"`trackwright repair .*proj` to rebuild it from the recipes"):
        Project.open(project.path)
    assert Project(project.path).repair() == 3
    aside = list(project.path.glob("project.db.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes().startswith(b"this is not")
    reopened = Project.open(project.path)
    assert reopened.versions() == before
    with sqlite3.connect(project.path / "project.db") as con:
        kinds = {kind for (kind,) in con.execute("SELECT kind FROM renders WHERE version = 2")}
    assert kinds == {"mix", "residual", "stem:bass", "stem:drums", "stem:keys", "midi"}
    again = reopened.render(2)
    assert again.cached and again.mix == rendered.mix


def test_missing_db_and_repair_of_a_healthy_db(project: Project) -> None:
    before = project.versions()
    assert Project(project.path).repair() == 3  # healthy: rebuilt in place, nothing set aside
    assert not list(project.path.glob("project.db.corrupt-*"))
    (project.path / "project.db").unlink()
    with pytest.raises(ProjectError, match=r"project.db: missing; run `trackwright repair"):
        Project.open(project.path)
    assert Project(project.path).repair() == 3
    assert Project.open(project.path).versions() == before


def test_db_with_missing_table_is_damaged(project: Project) -> None:
    with sqlite3.connect(project.path / "project.db") as con:
        con.execute("DROP TABLE renders")
    with pytest.raises(ProjectError, match=r"damaged \(no such table: renders\); run `trackwright repair"):
        Project.open(project.path)


def test_corrupt_recipe_names_the_file_and_field(project: Project) -> None:
    path = project.path / "recipes" / "v0002.yaml"
    path.write_text(path.read_text().replace("gain_db: -2.0", "gain_db: loud"))
    with pytest.raises(ProjectError) as caught:
        Project.open(project.path)
    assert str(caught.value) == "recipes/v0002.yaml: parts.bass.gain_db: must be a number, got 'loud'"
    with pytest.raises(ProjectError, match=r"recipes/v0002.yaml: parts.bass.gain_db: .* fix or remove this file"):
        Project(project.path).repair()
    path.write_bytes(b"\xff\xfe garbage")
    with pytest.raises(ProjectError, match=r"^recipes/v0002.yaml: damaged \(not UTF-8"):
        Project.open(project.path)


def test_edited_recipe_is_refused_until_repair_accepts_it(project: Project) -> None:
    path = project.path / "recipes" / "v0002.yaml"
    path.write_text(path.read_text().replace("gain_db: -2.0", "gain_db: -3.0"))
    with pytest.raises(ProjectError, match=r"recipes/v0002.yaml: changed since it was committed .* `trackwright "
                                           r"repair"):
        Project.open(project.path)
    Project(project.path).repair()
    assert Project.open(project.path).recipe(2).part("bass").gain_db == -3.0


def test_recipe_written_before_a_crash_is_indexed_on_open(project: Project) -> None:
    orphan = dataclasses.replace(project.recipe(2), version=VersionInfo(4, 3, "eve", "2026-11-25T20:00:00Z", "lost"))
    (project.path / "recipes" / "v0004.yaml").write_text(orphan.to_yaml())
    (project.path / "recipes" / ".v0005.yaml.abc.part.yaml").write_text("half")  # an interrupted write
    reopened = Project.open(project.path)
    assert reopened.latest() == 4 and reopened.versions()[-1].message == "lost"
    assert not (project.path / "recipes" / ".v0005.yaml.abc.part.yaml").exists()


# -- the lock -------------------------------------------------------------------------------------
HOLD = """
import sys, time
from trackwright.project import Project
project = Project.open(sys.argv[1])
with project.lock():
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _hold_lock(path: Path, seconds: float) -> subprocess.Popen:
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(path), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    return holder


def test_lock_waits_for_another_process(project: Project, capsys: pytest.CaptureFixture[str]) -> None:
    holder = _hold_lock(project.path, 1.5)
    try:
        started = time.monotonic()
        info = project.revert(1)  # takes the lock: must wait for the holder
        waited = time.monotonic() - started
    finally:
        holder.wait(timeout=30)
    assert holder.returncode == 0
    assert waited > 0.8, waited
    assert info.number == 4
    err = capsys.readouterr().err
    assert err.count("waiting for another trackwright command on") == 1 and str(project.path) in err


def test_lock_times_out_with_a_clear_error(project: Project) -> None:
    holder = _hold_lock(project.path, 5.0)
    try:
        with pytest.raises(ProjectError, match=r"another trackwright command held the project for 0.3 s"):
            with project.lock(timeout_s=0.3):
                pass
    finally:
        holder.kill()
        holder.wait()
    with project.lock(), project.lock():  # free again, and re-entrant
        assert (project.path / ".lock").read_text().strip() == str(os.getpid())


def test_two_processes_committing_at_once_are_serialised(project: Project) -> None:
    env = {**os.environ, "TRACKWRIGHT_AUTHOR": "robot"}
    procs = [subprocess.Popen([sys.executable, "-m", "trackwright", "revert", str(project.path), str(n)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for n in (1, 2, 1)]
    outs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outs
    history = Project.open(project.path).versions()
    assert [v.number for v in history] == [1, 2, 3, 4, 5, 6]
    assert sorted(v.message for v in history[3:]) == ["revert to v1", "revert to v1", "revert to v2"]
    assert [v.parent for v in history[3:]] == [3, 4, 5] and {v.author for v in history[3:]} == {"robot"}


def test_read_only_project_can_be_read(project: Project) -> None:
    (project.path / ".lock").unlink()
    folders = [project.path, *(p for p in project.path.rglob("*") if p.is_dir())]
    for folder in folders:
        folder.chmod(0o555)
    try:
        reopened = Project.open(project.path)
        assert [v.number for v in reopened.versions()] == [1, 2, 3]
        assert reopened.diff(1, 2) == ["bass −2 dB"]
    finally:
        for folder in folders:
            folder.chmod(0o755)


def test_interrupted_new_and_repair_leave_nothing_behind(song: dict[str, Path], tmp_path: Path) -> None:
    stale = tmp_path / ".proj.creating-999999999"  # no such process
    (stale / "sources").mkdir(parents=True)
    project = Project.create(tmp_path / "proj", song["draft"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["proj"]
    (project.path / ".project.db.rebuild-999999999").write_bytes(b"half a database")
    Project.open(project.path)
    assert not (project.path / ".project.db.rebuild-999999999").exists()
