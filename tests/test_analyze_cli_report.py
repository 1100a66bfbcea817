"""`trackwright analyze`: documented JSON keys, one-line errors, and an HTML report a real browser renders."""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
from clirun import run
from signals import audio, tone

from trackwright.audio import save_audio
from trackwright.produce.fluidsynth import render_midi
from trackwright.score.draft import compose_draft_with_truth

ANALYSIS_KEYS = {"duration_s", "sample_rate", "tempo_bpm", "beats_s", "downbeats_s", "time_signature", "key", "chords",
                 "sections", "loudness", "findings", "strengths"}



@pytest.fixture(scope="module")
def draft_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    midi, _ = compose_draft_with_truth(bars=24, bpm=100)
    path = tmp_path_factory.mktemp("draft") / "draft.wav"
    save_audio(render_midi(midi, sample_rate=22050), path, bit_depth="16")
    return path


def test_json_has_the_documented_keys(capsys: pytest.CaptureFixture[str], draft_file: Path) -> None:
    code, out, err = run(capsys, "analyze", draft_file, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert ANALYSIS_KEYS <= set(data)
    assert data["tempo_bpm"] == pytest.approx(100.0, abs=0.5) and data["time_signature"] == "4/4"
    assert set(data["key"]) == {"tonic", "mode", "confidence"} and data["key"]["tonic"] == "C"
    assert all(set(c) == {"start_s", "end_s", "label"} for c in data["chords"])
    assert all({"start_s", "end_s", "label", "role"} <= set(s) for s in data["sections"])
    loudness = data["loudness"]
    assert {"integrated_lufs", "true_peak_dbtp", "loudness_range_lu", "short_term_lufs", "short_term_hop_s"} <= set(loudness)
    assert loudness["short_term_hop_s"] == 0.1 and len(loudness["short_term_lufs"]) > 100
    kinds = {f["kind"] for f in data["findings"]}
    assert {"looped_progression", "flat_dynamics"} <= kinds
    for finding in data["findings"]:
        assert {"kind", "severity", "start_s", "end_s", "span", "message", "evidence", "suggestion", "confidence",
                "reference", "fix"} == set(finding)
        assert finding["severity"] in ("info", "minor", "major")


def test_table_output_and_brief(capsys: pytest.CaptureFixture[str], draft_file: Path, tmp_path: Path) -> None:
    brief = tmp_path / "brief.yaml"
    brief.write_text('duration: "0:45"\narc: "peak at the end"\n')
    code, out, err = run(capsys, "analyze", draft_file, "--brief", brief)
    assert code == 0, err
    assert "Findings" in out and "100.0 BPM" in out and "brief" not in err
    assert "0:45" in out  # the length finding names the brief's target


@pytest.mark.parametrize("make, expected", [
    (lambda p: p / "missing.wav", "no such file"),
    (lambda p: p, "is a folder"),
])
def test_bad_inputs_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path, make, expected: str) -> None:  # noqa: ANN001
    code, out, err = run(capsys, "analyze", make(tmp_path))
    assert code == 1 and err.count("\n") == 1 and expected in err and out == ""


def test_too_short_and_silent(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    short = tmp_path / "short.wav"
    save_audio(audio(tone(-20.0, 1.5, 44100), 44100), short)
    code, _, err = run(capsys, "analyze", short)
    assert code == 1 and "at least 3 s" in err and err.count("\n") == 1
    silent = tmp_path / "silent.wav"
    save_audio(audio(np.zeros((2, 44100 * 5), np.float32), 44100), silent)
    code, _, err = run(capsys, "analyze", silent)
    assert code == 1 and "silence" in err and err.count("\n") == 1


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "chromium is installed by make sysdeps (Debian package chromium)"
    return found


def test_html_report_in_a_real_browser(capsys: pytest.CaptureFixture[str], draft_file: Path, tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    code, out, err = run(capsys, "analyze", draft_file, "--html", report, "--json")
    assert code == 0, err
    data = json.loads(out)
    text = report.read_text()
    assert "<script" not in text and "http://" not in text.replace("http://www.w3.org/2000/svg", "")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1100,1500"]
    dom = subprocess.run([chromium(), *flags, "--dump-dom", report.as_uri()], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    assert len(re.findall(r'class="finding-row', dom)) == len(data["findings"])
    assert len(re.findall(r'<rect class="section"', dom)) == len(data["sections"])
    assert len(re.findall(r'<rect class="chord"', dom)) == len(data["chords"])
    for part in ('class="timeline"', 'class="ssm"', 'class="spectrum"', "data:image/png;base64,"):
        assert part in dom
    shot = tmp_path / "report.png"
    subprocess.run([chromium(), *flags, f"--screenshot={shot}", report.as_uri()], capture_output=True, timeout=120,
                   check=True)
    image = shot.read_bytes()
    assert png_size(image) == (1100, 1500) and len(image) > 40_000  # a blank page compresses to a few KB


@pytest.mark.parametrize("channels, rate", [(1, 44100), (6, 48000), (2, 8000), (2, 384000)])
def test_any_layout_and_rate(channels: int, rate: int) -> None:
    from signals import music_like

    from trackwright.analysis.analyze import analyze
    from trackwright.audio import Audio

    analysis = analyze(Audio(music_like(8.0, rate, seed=1, channels=channels), rate))
    assert analysis.rhythm.tempo_bpm == pytest.approx(120.0, rel=0.02)  # music_like puts a note every 0.5 s
    assert analysis.channels == channels and json.dumps(analysis.to_dict())
