"""Game-engine hand-off from a delivery manifest: the FMOD Studio script (run under node against a
recording stand-in for FMOD's scripting API) and the Wwise tab-delimited import with its cue data."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from trackwright.errors import ParameterError
from trackwright.export.adaptive import adaptive_from_manifest, read_manifest
from trackwright.export.fmod import write_fmod_script
from trackwright.export.wwise import COLUMNS, write_wwise_import

RATE = 48000
BAR_S = 2.0  # 120 bpm, 4/4


def _wav(folder: Path, name: str, seconds: float) -> dict:
    frames = round(seconds * RATE)
    sf.write(str(folder / name), np.zeros((frames, 2), dtype=np.float32), RATE, subtype="PCM_16")
    return {"name": name, "kind": "", "duration_s": frames / RATE, "frames": frames}


def make_delivery(folder: Path) -> dict:
    """A delivery folder like deliver's: 3 cumulative layers over a 4-bar loop, 3 segments, their transitions."""
    files, layers, segments = [], [], []
    for number, words in ((1, "Bed"), (2, "Bass"), (3, "Full")):
        entry = _wav(folder, f"Song_Layer_{number}{words}_v2.wav", 4 * BAR_S)
        files.append({**entry, "kind": "layer"})
        layers.append({"file": entry["name"], "layer": number, "stems": [], "loop_start_frame": 0,
                       "loop_end_frame": entry["frames"] - 1})
    cues = [(0.0, 16.0, 2.0), (0.5, 16.5, 2.0), (0.5, 8.5, 3.0)]  # (entry cue, exit cue, tail) seconds
    for index, ((entry_s, exit_s, tail_s), role) in enumerate(zip(cues, ("intro", "verse", "chorus"))):
        entry = _wav(folder, f"Song_Segment{index + 1:02d}_{role.title()}_v2.wav", exit_s + tail_s)
        files.append({**entry, "kind": "segment"})
        segments.append({"file": entry["name"], "segment": index, "label": "ABC"[index], "role": role,
                         "entry_cue_s": entry_s, "exit_cue_s": exit_s, "pre_roll_s": entry_s, "tail_s": tail_s})
    transitions = [{"from": 0, "to": 1, "sync": "exit_cue", "fade_s": 0.0},
                   {"from": 1, "to": 2, "sync": "exit_cue", "fade_s": 0.0},
                   {"from": 2, "to": 1, "sync": "next_bar", "fade_s": 2.0}]
    manifest = {"format": 1, "title": "Song", "version": 2, "files": files,
                "game": {"tempo_bpm": 120.0, "meter": "4/4", "vertical_layers": layers,
                         "horizontal_segments": segments, "transitions": transitions}}
    (folder / "deliverables.json").write_text(json.dumps(manifest), encoding="utf-8")
    return manifest


MOCK = r"""
var log = [];
function obj(kind, extra) { var o = {kind: kind}; for (var k in extra) o[k] = extra[k]; return o; }
function markerTrack() {
  return {
    addRegion: function (name, position, length, mode) { var r = obj("region", {name: name, position: position, length: length, mode: mode}); log.push(r); return r; },
    addTransitionMarker: function (position, destination) { log.push({kind: "transitionMarker", position: position, destination: destination.name}); return {}; },
    addTransitionRegion: function (position, length, destination) { log.push({kind: "transitionRegion", position: position, length: length, destination: destination.name}); return {}; }
  };
}
function event(name) {
  var timeline = {kind: "timeline"};
  log.push({kind: "event", name: name});
  return {
    name: name, timeline: timeline,
    addGameParameter: function (d) { log.push({kind: "parameter", name: d.name, min: d.min, max: d.max}); return {parameter: {name: d.name}}; },
    addGroupTrack: function (track) {
      return {addSound: function (sheet, type, start, length) {
        if (sheet !== timeline || type !== "SingleSound") throw new Error("bad addSound");
        var s = {kind: "sound", track: track, start: start, length: length, points: []};
        log.push(s);
        s.addAutomator = function (property) { return {addAutomationCurve: function (p) {
          s.automated = property + "@" + p.name; return {addAutomationPoint: function (x, v) { s.points.push([x, v]); }}; }}; };
        Object.defineProperty(s, "audioFile", {set: function (a) { s.file = a.path; }, get: function () { return undefined; }, enumerable: false});
        return s;
      }};
    },
    addMarkerTrack: markerTrack
  };
}
var studio = {project: {
  regionLoopMode: {Looping: 1}, parameterType: {User: 0},
  importAudioFile: function (path) { return {path: path}; },
  workspace: {addEvent: function (name, spatial) { return event(name); }}
}};
var console = {log: function (text) { log.push({kind: "console", text: text}); }};
"""


def _run_script(script: Path) -> list[dict]:
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        pytest.skip("node is not installed (Debian package nodejs): cannot run the FMOD script here")
    runner = script.parent / "run.js"
    runner.write_text(MOCK + script.read_text(encoding="utf-8") + "\nprocess.stdout.write(JSON.stringify(log));\n",
                      encoding="utf-8")
    done = subprocess.run([node, str(runner)], capture_output=True, text=True, timeout=60, check=True)
    return json.loads(done.stdout)


def test_fmod_script_builds_layers_loop_segments_and_transitions(tmp_path: Path) -> None:
    manifest = make_delivery(tmp_path)
    result = write_fmod_script(read_manifest(tmp_path / "deliverables.json"), tmp_path / "Song_fmod.js")
    log = _run_script(result.path)
    sounds = [e for e in log if e["kind"] == "sound"]
    layers = manifest["game"]["vertical_layers"]
    # layers: one track each, the whole loop from 0, cross-faded by Intensity
    assert [s["file"] for s in sounds[:3]] == [str(tmp_path.resolve() / f["file"]) for f in layers]
    assert all(s["start"] == 0 and s["length"] == pytest.approx(8.0) for s in sounds[:3])
    assert [s["points"] for s in sounds[:3]] == [[[1, 0], [2, -80]], [[1, -80], [2, 0], [3, -80]], [[2, -80], [3, 0]]]
    assert {s["automated"] for s in sounds[:3]} == {"volume@Intensity"}
    regions = [e for e in log if e["kind"] == "region"]
    assert (regions[0]["name"], regions[0]["position"], regions[0]["length"]) == ("Loop", 0, pytest.approx(8.0))
    # segments: each entry cue on the previous exit cue (the song's own timeline)
    segs = manifest["game"]["horizontal_segments"]
    starts = [s["start"] for s in sounds[3:]]
    assert starts == pytest.approx([0.0, 15.5, 31.5])
    for start, seg, region in zip(starts, segs, regions[1:]):
        assert region["position"] == pytest.approx(start + seg["entry_cue_s"])
        assert region["length"] == pytest.approx(seg["exit_cue_s"] - seg["entry_cue_s"])
    assert [s["track"] for s in sounds[3:]] == ["Segments A", "Segments B", "Segments A"]
    moves = [e for e in log if e["kind"].startswith("transition")]
    assert [(m["kind"], m["position"], m["destination"]) for m in moves] == [
        ("transitionMarker", pytest.approx(16.0), regions[2]["name"]),
        ("transitionMarker", pytest.approx(32.0), regions[3]["name"]),
        ("transitionRegion", pytest.approx(32.0), regions[2]["name"])]
    todo = [e["text"] for e in log if e["kind"] == "console"][0]
    assert "Section = 1" in todo and "quantisation to 1 bar" in todo


def test_wwise_import_rows_and_cues(tmp_path: Path) -> None:
    manifest = make_delivery(tmp_path)
    out = tmp_path / "wwise"
    out.mkdir()
    result = write_wwise_import(read_manifest(tmp_path / "deliverables.json"), out, audio_folder=tmp_path)
    with result.path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t"))
    assert tuple(rows[0]) == COLUMNS
    body = [dict(zip(rows[0], r)) for r in rows[1:]]
    assert len(body) == 6
    for row in body:  # every audio file resolves from the TSV's folder; paths are absolute Wwise paths
        assert (out / row["Audio File"].replace("\\", "/")).resolve().is_file()
        assert row["Object Path"].startswith("\\Interactive Music Hierarchy\\Default Work Unit\\")
        assert row["Object Type"] == "Music Track"
    assert body[0]["Object Path"].endswith("<Music Segment>Song Layers\\Layer 1 Bed")
    assert "<Music Playlist Container>Song Segments\\<Music Segment>02 B verse\\02 B verse" in body[4]["Object Path"]
    cues = json.loads((out / "Song_wwise_cues.json").read_text(encoding="utf-8"))
    for cue, seg in zip(cues["segments"], manifest["game"]["horizontal_segments"]):
        assert cue["entry_cue_samples"] == round(seg["entry_cue_s"] * RATE)
        assert cue["exit_cue_samples"] == round(seg["exit_cue_s"] * RATE)
        assert "<" not in cue["object_path"]
    assert cues["layers"]["exit_cue_samples"] == round(8.0 * RATE)
    assert [(t["exit_source_at"], t["fade_out_ms"]) for t in cues["transitions"]] == [
        ("Exit Cue", 0.0), ("Exit Cue", 0.0), ("Next Bar", 2000.0)]
    assert cues["tempo_bpm"] == 120.0 and cues["time_signature"] == "4/4"


def test_wwise_cues_keep_a_compound_metre(tmp_path: Path) -> None:
    """A 6/8 delivery (two dotted-quarter beats a bar) is 6/8 in the cue data, not 2/4."""
    manifest = make_delivery(tmp_path)
    manifest["game"].update({"meter": "6/8", "beats_per_bar": 2, "tempo_bpm": 80.0})
    (tmp_path / "deliverables.json").write_text(json.dumps(manifest), encoding="utf-8")
    out = tmp_path / "wwise"
    out.mkdir()
    music = read_manifest(tmp_path / "deliverables.json")
    assert music.beats_per_bar == 2 and music.time_signature == "6/8"
    write_wwise_import(music, out, audio_folder=tmp_path)
    cues = json.loads((out / "Song_wwise_cues.json").read_text(encoding="utf-8"))
    assert cues["time_signature"] == "6/8" and cues["tempo_bpm"] == 80.0


def test_manifest_without_game_block_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="no game block"):
        adaptive_from_manifest({"files": [], "game": {}})
    manifest = make_delivery(tmp_path)
    manifest["game"]["transitions"][0]["sync"] = "whenever"
    with pytest.raises(ParameterError, match=r"transitions\[0\]: sync"):
        adaptive_from_manifest(manifest)
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    with pytest.raises(ParameterError, match="not a readable delivery manifest"):
        read_manifest(tmp_path / "bad.json")
