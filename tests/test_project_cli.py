"""The project commands: new, render, versions, diff, revert, repair, analyze PROJECT; one-line errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from clirun import run
from project_fixtures import BAR_S, tree_hashes, write_song

from trackwright.arrange.edl import EditList, Segment
from trackwright.project import Project


@pytest.fixture(scope="module")
def song(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_song(tmp_path_factory.mktemp("song"), 12.0, midi=True, brief=True)


def test_every_command_leaves_the_originals_untouched(capsys: pytest.CaptureFixture[str], song: dict[str, Path],
                                                      tmp_path: Path) -> None:
    originals = tree_hashes(*song.values())
    proj = tmp_path / "proj"

    def cli(*args: object) -> str:
        code, out, err = run(capsys, *args)
        assert code == 0, err
        assert tree_hashes(*song.values()) == originals, f"{args} changed a source"
        return out

    out = cli("new", proj, "--audio", song["draft"], "--stems", song["stems"], "--midi", song["midi"],
              "--brief", song["brief"], "--author", "ana")
    assert f"created {proj}: version 1, imported draft" in out and "bass, drums, keys" in out
    project = Project.open(proj)
    project.commit(project.recipe().replace(arrangement=EditList((Segment(0.0, 2 * BAR_S), Segment(3 * BAR_S, 12.0))))
                   .with_part("bass", gain_db=-2.0), "cut bar 3, bass down", author="bo")
    out = cli("render", proj)
    assert out.startswith("version 2 → ") and "(cached)" not in out and "mix.wav" in out and "arrangement.mid" in out
    assert "(cached)" in cli("render", proj)
    data = json.loads(cli("render", proj, "--version", "1", "--json"))
    assert data["version"] == 1 and data["cached"] is False and set(data["stems"]) == {"bass", "drums", "keys"}
    assert Path(data["mix"]).is_file() and data["master"] is None
    out = cli("versions", proj)
    assert "imported draft" in out and "cut bar 3, bass down" in out and "ana" in out and "bo" in out
    history = json.loads(cli("versions", proj, "--json"))
    assert [(v["number"], v["parent"], v["author"]) for v in history] == [(1, None, "ana"), (2, 1, "bo")]
    out = cli("diff", proj, "1", "2")
    assert out.splitlines()[-1] == "bass −2 dB" and "shortened by 1 bar" in out
    assert json.loads(cli("diff", proj, "2", "2", "--json"))["changes"] == ["no musical change"]
    assert cli("revert", proj, "1", "--author", "cy").strip() == "version 3: revert to v1"
    assert cli("diff", proj, "1", "3").strip() == "no musical change"
    analysis = json.loads(cli("analyze", proj, "--json"))
    assert analysis["file"] == str(proj) and analysis["mix"].endswith("mix.wav")
    assert analysis["duration_s"] == pytest.approx(12.0, abs=0.01) and "brief" in analysis  # the project's brief
    assert "rebuilt" in cli("repair", proj)
    assert [v["number"] for v in json.loads(cli("versions", proj, "--json"))] == [1, 2, 3]


def test_new_json_and_warnings(capsys: pytest.CaptureFixture[str], song: dict[str, Path], tmp_path: Path) -> None:
    stems = tmp_path / "stems"
    shutil.copytree(song["stems"], stems)
    (stems / "readme.txt").write_text("stems from the session")
    code, out, err = run(capsys, "new", tmp_path / "p", "--audio", song["draft"], "--stems", stems, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["version"] == 1 and data["parts"] == ["bass", "drums", "keys"]
    assert "sources/draft.wav" in data["sources"] and any("readme.txt" in w for w in data["warnings"])


def test_repair_after_damage(capsys: pytest.CaptureFixture[str], song: dict[str, Path], tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    assert run(capsys, "new", proj, "--audio", song["draft"])[0] == 0
    (proj / "project.db").write_bytes(b"\0garbage" * 100)
    code, out, err = run(capsys, "versions", proj)
    assert code == 1 and err.startswith("error: ") and f"run `trackwright repair {proj}`" in err
    assert err.count("\n") == 1
    code, out, err = run(capsys, "repair", proj)
    assert code == 0 and "rebuilt" in out and "from 1 recipe" in out and "moved aside" in err
    assert run(capsys, "versions", proj)[0] == 0


@pytest.fixture(scope="module")
def made(song: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("made") / "proj"
    Project.create(path, song["draft"])
    return path


@pytest.mark.parametrize("args, message", [
    (("new", "{tmp}/p", "--audio", "{tmp}/missing.wav"), "missing.wav: no such file"),
    (("new", "{tmp}/p"), "new needs --audio DRAFT"),
    (("new", "{made}", "--audio", "{draft}"), "proj: already exists; choose a new folder for the project"),
    (("new", "{tmp}/p", "--audio", "{draft}", "--stems", "{draft}"), "--stems takes a folder"),
    (("new", "{tmp}/p", "--audio", "{draft}", "--stems", "{tmp}/none"), "none: no such stems folder"),
    (("new", "{tmp}/p", "--audio", "{draft}", "--midi", "{draft}"), "draft.wav: not a readable MIDI file"),
    (("new", "{tmp}/p", "--audio", "{draft}", "--colour", "red"), "No such option: --colour"),
    (("render", "{tmp}"), "not a trackwright project (no project.yaml)"),
    (("render", "{tmp}/nowhere"), "nowhere: no such project folder"),
    (("render", "{made}", "--version", "5"), "no version 5 (the project has version 1)"),
    (("render", "{made}", "--version", "two"), "Invalid value for '--version'"),
    (("diff", "{made}", "1"), "Missing argument 'B'"),
    (("diff", "{made}", "1", "4"), "no version 4"),
    (("revert", "{made}", "0"), "no version 0"),
    (("versions", "{draft}"), "is a file, not a project folder"),
    (("repair", "{tmp}/nowhere"), "nowhere: no such project folder"),
    (("analyze", "{tmp}"), "is a folder but not a trackwright project"),
])
def test_one_line_errors(capsys: pytest.CaptureFixture[str], song: dict[str, Path], made: Path, tmp_path: Path,
                         args: tuple[str, ...], message: str) -> None:
    values = {"tmp": tmp_path, "made": made, "draft": song["draft"]}
    before = tree_hashes(made)
    code, out, err = run(capsys, *(a.format(**values) for a in args))
    assert code == 1, (out, err)
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert message in err, err
    assert tree_hashes(made) == before
    assert not (tmp_path / "p").exists()
