"""The command line: output, JSON, and one clear line with exit 1 for every kind of bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from clirun import run
from signals import audio, music_like, tone

from trackwright.audio import save_audio

LOUDNESS_KEYS = {"file", "integrated_lufs", "momentary_max_lufs", "short_term_max_lufs", "loudness_range_lu",
                 "true_peak_dbtp", "sample_peak_dbfs", "duration_s", "sample_rate", "channels"}



@pytest.fixture
def tone_file(tmp_path: Path) -> Path:
    path = tmp_path / "tone.wav"
    save_audio(audio(tone(-23.0, 5, 48000), 48000), path, bit_depth="float")
    return path


def test_loudness_json_one_file(capsys: pytest.CaptureFixture[str], tone_file: Path) -> None:
    code, out, err = run(capsys, "loudness", tone_file, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert set(data) == LOUDNESS_KEYS
    assert data["integrated_lufs"] == pytest.approx(-23.0, abs=0.1)
    assert data["sample_rate"] == 48000 and data["channels"] == 2


def test_loudness_json_many_files_keeps_order(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    paths = []
    for level in (-30.0, -18.0, -24.0):
        path = tmp_path / f"t{int(-level)}.flac"
        save_audio(audio(tone(level, 4, 44100), 44100), path)
        paths.append(path)
    code, out, _ = run(capsys, "loudness", *paths, "--json")
    assert code == 0
    data = json.loads(out)
    assert [d["file"] for d in data] == [str(p) for p in paths]
    assert [round(d["integrated_lufs"]) for d in data] == [-30, -18, -24]


def test_loudness_table(capsys: pytest.CaptureFixture[str], tone_file: Path) -> None:
    code, out, _ = run(capsys, "loudness", tone_file)
    assert code == 0
    assert "Integrated" in out and "-23.0" in out and "True peak" in out


def _bad_inputs(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    cases: dict[str, tuple[Path, str]] = {}
    cases["missing"] = (tmp_path / "missing.wav", "no such file")
    (tmp_path / "empty.wav").write_bytes(b"")
    cases["empty"] = (tmp_path / "empty.wav", "empty")
    (tmp_path / "text.flac").write_text("not audio at all\n" * 20)
    cases["not audio"] = (tmp_path / "text.flac", "not a readable audio file")
    full = tmp_path / "full.wav"
    sf.write(full, tone(-10, 2, 44100).T, 44100, subtype="PCM_16")
    (tmp_path / "cut.wav").write_bytes(full.read_bytes()[:50000])
    cases["truncated"] = (tmp_path / "cut.wav", "truncated")
    nan = tone(-10, 2, 44100)
    nan[0, 100] = np.nan
    sf.write(tmp_path / "nan.wav", nan.T, 44100, subtype="FLOAT")
    cases["nan"] = (tmp_path / "nan.wav", "NaN/Inf")
    sf.write(tmp_path / "silent.wav", np.zeros((44100 * 2, 2)), 44100, subtype="PCM_16")
    cases["silence"] = (tmp_path / "silent.wav", "digital silence")
    sf.write(tmp_path / "short.wav", tone(-10, 0.2, 44100).T, 44100, subtype="PCM_16")
    cases["too short"] = (tmp_path / "short.wav", "at least 0.4 s")
    sf.write(tmp_path / "nine.wav", np.full((4410, 9), 0.1), 44100, subtype="PCM_16")
    cases["9 channels"] = (tmp_path / "nine.wav", "9 channels")
    sf.write(tmp_path / "slow.wav", np.full((4000, 2), 0.1), 4000, subtype="PCM_16")
    cases["4 kHz"] = (tmp_path / "slow.wav", "outside the supported")
    return cases


def test_every_bad_input_gives_one_line_and_exit_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    for name, (path, expected) in _bad_inputs(tmp_path).items():
        code, out, err = run(capsys, "loudness", path)
        assert code == 1, f"{name}: exit {code}, {err!r}"
        lines = err.strip().splitlines()
        assert len(lines) == 1, f"{name}: {err!r}"
        assert lines[0].startswith("error: ") and expected in lines[0], f"{name}: {lines[0]!r}"
        assert str(path) in lines[0], f"{name}: the line names the file"
        assert "Traceback" not in err and out == ""


@pytest.mark.parametrize(
    "args",
    [["loudness"], ["loudness", "--frobnicate", "x.wav"], ["nonsense-command"], ["loudness", "x.wav", "--layout"]],
)
def test_wrong_flags_exit_1_with_one_line(capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    code, _, err = run(capsys, *args)
    assert code == 1
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: ")


def test_bad_layout_is_a_user_error(capsys: pytest.CaptureFixture[str], tone_file: Path) -> None:
    code, _, err = run(capsys, "loudness", tone_file, "--layout", "5.1")
    assert code == 1 and "names 6 channels but the audio has 2" in err


def test_internal_errors_exit_2_with_hint(capsys: pytest.CaptureFixture[str], tone_file: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import trackwright.analysis.loudness as meter

    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(meter, "measure_loudness_file", broken)  # what the command calls
    code, _, err = run(capsys, "loudness", tone_file)
    assert code == 2 and "--debug" in err and "Traceback" not in err
    code, _, err = run(capsys, "--debug", "loudness", tone_file)
    assert code == 2 and "Traceback" in err


def test_installed_entry_point_and_module_run(tone_file: Path, tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("trackwright")
    for command in ([str(exe)], [sys.executable, "-m", "trackwright"]):
        done = subprocess.run([*command, "loudness", str(tone_file), "--json"], capture_output=True, text=True,
                              check=False, timeout=120)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["integrated_lufs"] == pytest.approx(-23.0, abs=0.1)
        done = subprocess.run([*command, "loudness", str(tmp_path / "nope.wav")], capture_output=True, text=True,
                              check=False, timeout=120)
        assert done.returncode == 1 and done.stderr.count("\n") == 1


def test_loudness_of_music_matches_pyloudnorm(tmp_path: Path) -> None:
    import pyloudnorm as pyln
    from trackwright.analysis.loudness import integrated_loudness

    for seed, rate in ((1, 44100), (2, 48000)):
        samples = music_like(20, rate, seed=seed)
        ours = integrated_loudness(audio(samples, rate))
        theirs = pyln.Meter(rate).integrated_loudness(samples.T.astype(np.float64))
        assert ours == pytest.approx(theirs, abs=0.1)
