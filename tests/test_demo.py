"""`trackwright demo`: composes, renders with FluidSynth, masters to streaming, writes a summary.

The demo runs once for the module (through the command line, as a user runs it); each test
checks what it wrote.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest
from note_measures import measure

from trackwright.analysis.loudness import measure_loudness
from trackwright.audio import load_audio
from trackwright.cli import main
from trackwright.project import Project


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict, Path]:
    """(exit status, the --json output, the demo folder) of one `trackwright demo DIR --json`."""
    folder = tmp_path_factory.mktemp("demo") / "out"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["--quiet", "demo", str(folder), "--json"])
    return code, json.loads(out.getvalue()), folder


def test_demo_writes_a_master_on_target(demo: tuple[int, dict, Path]) -> None:
    code, data, folder = demo
    assert code == 0
    files = {label: Path(path) for label, path in data["files"].items()}
    assert {p.name for p in folder.iterdir()} == {"draft.mid", "draft.wav", "draft_master.wav", "summary.json",
                                                  "draft_analysis.json", "draft_report.html", "project",
                                                  "cutdown_30s.wav", "notes.txt", "rebuilt.wav"}
    master = measure_loudness(load_audio(files["master"]))
    assert master.integrated_lufs == pytest.approx(-14.0, abs=0.2) and master.true_peak_dbtp <= -1.0
    assert data["master"]["target"]["name"] == "streaming"
    draft = load_audio(files["draft"])
    assert draft.duration_s == pytest.approx(load_audio(files["master"]).duration_s)
    summary = json.loads(files["summary"].read_text())
    assert summary["master"]["after"]["integrated_lufs"] == pytest.approx(master.integrated_lufs, abs=0.01)
    assert summary["draft"]["bars"] == 16 and summary["draft"]["key"] == "C"
    # the critique hears the draft's built-in flaws
    kinds = {f["kind"] for f in json.loads(files["analysis"].read_text())["findings"]}
    assert {"looped_progression", "flat_dynamics"} <= kinds


def test_demo_cuts_a_30_second_cue_with_its_hit_on_a_downbeat(demo: tuple[int, dict, Path]) -> None:
    _, data, folder = demo
    summary = json.loads((folder / "summary.json").read_text())
    cue = load_audio(Path(data["files"]["cutdown"]))
    assert abs(cue.duration_s - 30.0) <= 0.010
    assert measure_loudness(cue).integrated_lufs == pytest.approx(-14.0, abs=0.2)
    assert abs(summary["cutdown"]["hits"][0]["downbeat_s"] - 12.0) < 0.01
    assert (folder / "project" / "recipes" / "v0002.yaml").is_file()


def test_demo_notes_move_the_cue_the_way_they_ask(demo: tuple[int, dict, Path]) -> None:
    """The three notes of the demo, measured here: hold back until 0:20, a bit warmer, more tension 0:12–0:24."""
    _, data, folder = demo
    assert Path(data["files"]["notes"]).read_text().count("→ version") == 3
    project = Project.open(folder / "project")
    cue, held, warmer, tense = (project.render(n) for n in (2, 3, 4, 5))
    assert measure("lufs", cue, held, 0.0, 19.0) <= -0.5          # quieter before 0:20
    assert measure("centroid", held, warmer, 0.0, 30.0) <= -0.03  # 3 % darker: warmer
    assert (folder / "project" / "notes" / "v0005.json").is_file()


def test_demo_tension_note_is_heard(demo: tuple[int, dict, Path]) -> None:
    _, _, folder = demo
    project = Project.open(folder / "project")
    warmer, tense = (project.render(n) for n in (4, 5))
    assert measure("centroid", warmer, tense, 12.0, 24.0) <= -0.03  # the filter rise darkens the span


def test_demo_rebuilds_the_parts_and_they_breathe_more(demo: tuple[int, dict, Path]) -> None:
    _, data, folder = demo
    summary = json.loads((folder / "summary.json").read_text())
    master = measure_loudness(load_audio(Path(data["files"]["master"])))
    rebuilt = measure_loudness(load_audio(Path(data["files"]["rebuilt"])))
    assert rebuilt.integrated_lufs == pytest.approx(-14.0, abs=0.2) and rebuilt.true_peak_dbtp <= -0.9
    assert rebuilt.loudness_range_lu > master.loudness_range_lu + 1.0
    assert summary["rebuilt"]["after"]["loudness_range_lu"] == pytest.approx(rebuilt.loudness_range_lu, abs=0.01)
    assert summary["rebuilt"]["before"]["draft_master"]["loudness_range_lu"] == pytest.approx(
        master.loudness_range_lu, abs=0.01)
    recipe = (folder / "project" / "recipes" / f"v{summary['rebuilt']['mix_version']:04d}.yaml").read_text()
    assert "ms-strings" in recipe and "midi:chords" in recipe
