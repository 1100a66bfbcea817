"""`trackwright demo`: composes, renders with FluidSynth, masters to streaming, writes a summary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trackwright.analysis.loudness import measure_loudness
from trackwright.audio import load_audio
from trackwright.cli import main
from trackwright.demo import run_demo


def test_run_demo_writes_a_master_on_target(tmp_path: Path) -> None:
    result = run_demo(tmp_path / "out", bars=12)
    assert {p.name for p in (tmp_path / "out").iterdir()} == {"draft.mid", "draft.wav", "draft_master.wav",
                                                               "summary.json", "draft_analysis.json",
                                                               "draft_report.html", "project", "cutdown_30s.wav", "notes.txt",
                                                               "rebuilt.wav"}
    master = measure_loudness(load_audio(result.files["master"]))
    assert master.integrated_lufs == pytest.approx(-14.0, abs=0.2) and master.true_peak_dbtp <= -1.0
    draft = load_audio(result.files["draft"])
    assert draft.duration_s == pytest.approx(load_audio(result.files["master"]).duration_s)
    summary = json.loads(result.files["summary"].read_text())
    assert summary["master"]["after"]["integrated_lufs"] == pytest.approx(master.integrated_lufs, abs=0.01)
    assert summary["draft"]["bars"] == 12 and summary["draft"]["key"] == "C"
    # the cutdown: exactly 30 s, on target, its hit on a downbeat, and a project that holds it
    cue = load_audio(result.files["cutdown"])
    assert abs(cue.duration_s - 30.0) <= 0.010
    assert measure_loudness(cue).integrated_lufs == pytest.approx(-14.0, abs=0.2)
    assert abs(summary["cutdown"]["hits"][0]["downbeat_s"] - 12.0) < 0.01
    assert (result.files["project"] / "recipes" / "v0002.yaml").is_file()
    # three creative notes, each a version, each measured as asked
    explained = result.files["notes"].read_text()
    assert explained.count("→ version") == 3 and "NOT as asked" not in explained
    assert (result.files["project"] / "notes" / "v0005.json").is_file()
    # the parts rebuilt from the MIDI: mastered on target, and they breathe more than the flat draft
    rebuilt = load_audio(result.files["rebuilt"])
    measured = measure_loudness(rebuilt)
    assert measured.integrated_lufs == pytest.approx(-14.0, abs=0.2) and measured.true_peak_dbtp <= -0.9
    assert measured.loudness_range_lu > master.loudness_range_lu + 1.0
    assert summary["rebuilt"]["after"]["loudness_range_lu"] == pytest.approx(measured.loudness_range_lu, abs=0.01)
    assert summary["rebuilt"]["before"]["draft_master"]["loudness_range_lu"] == pytest.approx(
        master.loudness_range_lu, abs=0.01)
    recipe = (result.files["project"] / "recipes" / f"v{summary['rebuilt']['mix_version']:04d}.yaml").read_text()
    assert "ms-strings" in recipe and "midi:chords" in recipe
    # the critique hears the draft's built-in flaws
    kinds = {f["kind"] for f in json.loads(result.files["analysis"].read_text())["findings"]}
    assert {"looped_progression", "flat_dynamics"} <= kinds


def test_demo_command_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = main(["demo", str(tmp_path / "d"), "--json"])
    out = capsys.readouterr().out
    assert code == 0
    data = json.loads(out)
    assert Path(data["files"]["master"]).is_file()
    assert data["master"]["target"]["name"] == "streaming"
