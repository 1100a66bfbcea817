"""Arrangement edits and fits on a project: new versions, rendered parts in sync, sources untouched."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from arrange_fixtures import BAR_S, short_song
from clirun import run
from project_fixtures import tree_hashes

from trackwright.arrange.edl import EditList
from trackwright.analysis.analyze import Analysis
from trackwright.arrange.grid import edits_to_units, grid_from_analysis, occurrences
from trackwright.arrange.midi import midi_notes
from trackwright.audio import Audio, load_audio, save_audio


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The short FluidSynth song as a draft, two stems that sum to it (lows, the rest) and its MIDI."""
    midi, _, audio = short_song()
    folder = tmp_path_factory.mktemp("song")
    kernel = np.ones(32, dtype=np.float64) / 32
    low = np.stack([np.convolve(ch, kernel, mode="same") for ch in audio.samples]).astype(np.float32)
    high = (audio.samples - low).astype(np.float32)
    (folder / "stems").mkdir()
    save_audio(Audio(low, audio.sample_rate), folder / "stems" / "bass.wav", bit_depth="float")
    save_audio(Audio(high, audio.sample_rate), folder / "stems" / "band.wav", bit_depth="float")
    save_audio(Audio(low + high, audio.sample_rate), folder / "draft.wav", bit_depth="float")
    midi.save(str(folder / "song.mid"))
    return {"draft": folder / "draft.wav", "stems": folder / "stems", "midi": folder / "song.mid"}


def test_arrange_edits_make_versions_whose_parts_stay_in_sync(tmp_path, capsys, sources) -> None:  # noqa: ANN001
    originals = tree_hashes(sources["draft"], sources["stems"], sources["midi"])
    project = tmp_path / "cue"
    code, _, err = run(capsys, "-q", "new", project, "--audio", sources["draft"], "--stems", sources["stems"],
                       "--midi", sources["midi"])
    assert code == 0, err
    code, out, err = run(capsys, "arrange", project, "cut", "chorus 2", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["version"] == 2 and "chorus 2 removed" in data["message"]
    draft = load_audio(sources["draft"])
    grid = grid_from_analysis(Analysis.from_dict(json.loads((project / "analysis" / "draft.json").read_text())), draft)
    units = edits_to_units(grid, EditList.whole(draft.duration_s))
    chorus2 = next(o for o in occurrences(grid, units) if o.name == "chorus 2")
    removed = sum(units[i].end_s - units[i].start_s for i in range(chorus2.first, chorus2.end) if units[i].bar >= 0)
    assert data["duration_s"] == pytest.approx(draft.duration_s - removed, abs=0.002)
    code, out, err = run(capsys, "arrange", project, "extend", "intro", "--bars", "2", "--json")
    assert code == 0 and json.loads(out)["message"] == "intro extended by 2 bars", err
    expected = json.loads(out)["duration_s"]
    assert expected == pytest.approx(data["duration_s"] + 2 * BAR_S, abs=0.01)
    code, out, err = run(capsys, "-q", "render", project, "--json")
    assert code == 0, err
    rendered = json.loads(out)
    mix = load_audio(rendered["mix"])
    assert mix.duration_s == pytest.approx(expected, abs=0.002)
    parts = [load_audio(p).samples for p in rendered["stems"].values()] + [load_audio(rendered["residual"]).samples]
    assert np.abs(sum(parts) - mix.samples).max() < 1e-4
    notes = midi_notes(rendered["midi"])
    assert max(n[1] for n in notes) <= mix.duration_s + 0.01
    assert tree_hashes(sources["draft"], sources["stems"], sources["midi"]) == originals
    code, out, _ = run(capsys, "diff", project, "1", "3")
    assert code == 0 and "chorus 2 removed" in out and "2 bars of intro repeated" in out


def test_fit_on_a_project_adds_a_version_and_writes_the_cue(tmp_path, capsys, sources) -> None:  # noqa: ANN001
    project = tmp_path / "cue"
    assert run(capsys, "-q", "new", project, "--audio", sources["draft"])[0] == 0
    out_file = tmp_path / "cue30.wav"
    code, out, err = run(capsys, "-q", "fit", project, "--duration", "30", "--hit", "10", "-o", out_file, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["version"] == 2 and abs(data["hits"][0]["downbeat_s"] - 10.0) < 0.01
    assert abs(load_audio(out_file).duration_s - 30.0) <= 0.010
    code, out, _ = run(capsys, "versions", project, "--json")
    assert code == 0 and "fit to 30 s, hits at 10 s" in json.loads(out)[-1]["message"]


def test_arrange_refuses_bad_requests_in_one_line(tmp_path, capsys, sources) -> None:  # noqa: ANN001
    project = tmp_path / "cue"
    assert run(capsys, "-q", "new", project, "--audio", sources["draft"])[0] == 0
    for args, message in [(("cut", "chorus 7"), "no section 'chorus 7'"),
                          (("extend", "intro"), "--bars N"),
                          (("shorten", "intro", "--bars", "9"), "would remove it"),
                          (("twist", "intro"), "unknown edit 'twist'"),
                          (("move", "bridge"), "--before or --after")]:
        code, _, err = run(capsys, "arrange", project, *args)
        assert code == 1 and err.startswith("error:") and message in err and err.count("\n") == 1, (args, err)
    code, _, err = run(capsys, "arrange", tmp_path, "cut", "intro")
    assert code == 1 and "project" in err
    code, out, _ = run(capsys, "versions", project, "--json")
    assert len(json.loads(out)) == 1  # nothing was committed by the refused edits


def test_sections_lists_bars_and_times_and_an_extension_keeps_the_names(tmp_path, capsys, sources) -> None:  # noqa: ANN001
    """`trackwright sections`: every section with its bars and times, tiling the version; `arrange
    extend "chorus 1"` says which bars it touched and leaves "chorus 2" the real second chorus."""
    project = tmp_path / "cue"
    assert run(capsys, "-q", "new", project, "--audio", sources["draft"])[0] == 0
    code, out, err = run(capsys, "sections", project, "--json")
    assert code == 0, err
    before = json.loads(out)["sections"]
    draft = load_audio(sources["draft"])
    assert before[0]["start_s"] == 0.0 and before[-1]["end_s"] == pytest.approx(draft.duration_s, abs=0.01)
    for a, b in zip(before, before[1:]):  # contiguous in bars and in time
        assert b["bars"][0] == a["bars"][1] + 1 and b["start_s"] == pytest.approx(a["end_s"], abs=1e-3)
    names = [s["name"] for s in before]
    first = next(n for n in names if n.endswith(" 1"))           # e.g. "chorus 1", with a "chorus 2" after it
    second = first[:-1] + "2"
    assert second in names
    one = next(s for s in before if s["name"] == first)
    code, out, err = run(capsys, "arrange", project, "extend", first, "--bars", "4", "--json")
    assert code == 0, err
    touched = json.loads(out)["touched"]
    assert touched["bars"] == [one["bars"][0], one["bars"][1] + 4]
    assert touched["end_s"] - touched["start_s"] == pytest.approx(one["end_s"] - one["start_s"] + 4 * BAR_S, abs=0.05)
    code, out, _ = run(capsys, "sections", project)
    assert code == 0 and first in out and second in out
    code, out, _ = run(capsys, "sections", project, "--json")
    after = json.loads(out)["sections"]
    assert [s["name"] for s in after] == names                       # the extension made no new section
    two_before = next(s for s in before if s["name"] == second)
    two_after = next(s for s in after if s["name"] == second)
    assert two_after["source_start_s"] == pytest.approx(two_before["source_start_s"], abs=1e-3)
    assert two_after["bars"][0] == two_before["bars"][0] + 4
    code, out, _ = run(capsys, "sections", project, "--version", "1", "--json")
    assert [s["bars"] for s in json.loads(out)["sections"]] == [s["bars"] for s in before]
