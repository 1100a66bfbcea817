"""What a batch works on: folders, globs, files and CSV/JSON manifests, each file once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trackwright.batch.inputs import TrackInput, gather_inputs, read_manifest
from trackwright.errors import ParameterError


@pytest.fixture
def drafts(tmp_path: Path) -> Path:
    folder = tmp_path / "drafts"
    (folder / "sub").mkdir(parents=True)
    (folder / ".hidden").mkdir()
    for name in ("a.wav", "b.flac", "sub/c.mp3", ".hidden/d.wav", "notes.txt", "sub/.e.wav"):
        (folder / name).write_bytes(b"x")
    return folder


def test_a_folder_gives_its_audio_files_recursively_without_hidden_ones(drafts: Path) -> None:
    tracks = gather_inputs([drafts])
    assert [t.path.relative_to(drafts).as_posix() for t in tracks] == ["a.wav", "b.flac", "sub/c.mp3"]
    assert all(t.path.is_absolute() and t.title == t.path.stem for t in tracks)


def test_globs_files_and_overlaps_give_each_file_once(drafts: Path) -> None:
    tracks = gather_inputs([str(drafts / "**" / "*.mp3"), drafts / "a.wav", drafts])
    assert [t.path.name for t in tracks] == ["c.mp3", "a.wav", "b.flac"]
    with pytest.raises(ParameterError, match=r"\*\.ogg: the pattern matches no audio files"):
        gather_inputs([str(drafts / "*.ogg")])
    with pytest.raises(ParameterError, match="nope: no such file or folder"):
        gather_inputs([drafts / "nope"])


def test_the_output_folder_inside_an_input_is_not_read(drafts: Path) -> None:
    (drafts / "out" / "tracks").mkdir(parents=True)
    (drafts / "out" / "tracks" / "master.wav").write_bytes(b"x")
    assert "master.wav" not in {t.path.name for t in gather_inputs([drafts], exclude=drafts / "out")}


def test_a_csv_manifest_with_every_field(drafts: Path) -> None:
    manifest = drafts / "cat.csv"
    manifest.write_text("path,title,brief,target,stems,midi\n"
                        "a.wav,Night Drive,briefs/a.yaml,broadcast,stems/a,a.mid\n"
                        "\n"
                        "sub/c.mp3,,,,,\n"
                        f"{drafts / 'b.flac'},B side,,-16,,\n")
    a, c, b = read_manifest(manifest)
    assert a == TrackInput(path=drafts / "a.wav", title="Night Drive", brief=drafts / "briefs" / "a.yaml",
                           target="broadcast", stems=drafts / "stems" / "a", midi=drafts / "a.mid",
                           origin=f"{manifest} row 2")
    assert (c.path, c.title, c.target, c.brief) == (drafts / "sub" / "c.mp3", "c", None, None)
    assert (b.path, b.title, b.target) == (drafts / "b.flac", "B side", "-16")


def test_a_json_manifest_as_a_list_or_under_tracks(drafts: Path) -> None:
    listed = drafts / "list.json"
    listed.write_text(json.dumps(["a.wav", {"path": "b.flac", "title": "B", "target": -14}]))
    wrapped = drafts / "wrapped.json"
    wrapped.write_text(json.dumps({"tracks": [{"path": "sub/c.mp3", "brief": "x.yaml"}]}))
    a, b = read_manifest(listed)
    (c,) = read_manifest(wrapped)
    assert (a.title, b.title, b.target, c.brief) == ("a", "B", "-14", drafts / "x.yaml")


@pytest.mark.parametrize(("name", "text", "message"), [
    ("bad.csv", "file,title\na.wav,A\n", r"bad.csv: a CSV manifest needs a header row with a 'path' column"),
    ("bad.csv", "path,tempo\na.wav,120\n", r"bad.csv row 2\.tempo: unknown field \(expected one of path, title"),
    ("bad.csv", "path,title\n,A\n", r"bad.csv row 2: path is empty"),
    ("bad.csv", "path,title\na.wav,A,extra\n", r"bad.csv row 2: more values than header columns"),
    ("bad.json", "{\"tracks\": 3}", r"bad.json: a JSON manifest is a list of tracks"),
    ("bad.json", "[{\"title\": \"x\"}]", r"bad.json track 1: path is empty"),
    ("bad.json", "[1, 2]", r"bad.json track 1: a track is an object with a path"),
    ("bad.json", "[{\"path\": 3}]", r"bad.json track 1: path must be a path"),
    ("bad.json", "[{", r"bad.json: not valid JSON \(line 1"),
])
def test_a_bad_manifest_is_one_line_naming_the_row(drafts: Path, name: str, text: str, message: str) -> None:
    (drafts / name).write_text(text)
    with pytest.raises(ParameterError, match=message):
        gather_inputs([drafts / name])


def test_a_manifest_refines_a_folder_but_two_manifests_may_not_disagree(drafts: Path) -> None:
    one = drafts / "one.csv"
    one.write_text("path,title\na.wav,Alpha\n")
    two = drafts / "two.csv"
    two.write_text("path,title\na.wav,Other\n")
    tracks = gather_inputs([drafts, one])
    assert [t.title for t in tracks if t.path.name == "a.wav"] == ["Alpha"]
    assert [t.title for t in gather_inputs([one, drafts]) if t.path.name == "a.wav"] == ["Alpha"]
    assert len(gather_inputs([one, one])) == 1
    with pytest.raises(ParameterError, match=r"a.wav: listed twice with different settings \(.*one.csv row 2; "
                                             r".*two.csv row 2\)"):
        gather_inputs([one, two])


def test_track_ids_are_readable_stable_and_distinct(drafts: Path, tmp_path: Path) -> None:
    other = tmp_path / "elsewhere" / "a.wav"
    here = TrackInput(path=drafts / "a.wav", title="x")
    assert here.track_id.startswith("a-") and len(here.track_id) == 10
    assert here.track_id == TrackInput(path=drafts / "a.wav", title="another title").track_id
    assert here.track_id != TrackInput(path=other, title="x").track_id
