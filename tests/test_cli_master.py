"""`trackwright master`: the file it writes meets the target; JSON, target list and every refusal."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from clirun import run
from signals import audio, db_to_amp, music_like

from trackwright.analysis.loudness import integrated_loudness, measure_loudness
from trackwright.audio import load_audio, save_audio
from trackwright.mix.targets import TARGETS



@pytest.fixture(scope="module")
def mix_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    samples = music_like(20.0, 44100, seed=5)
    samples *= np.float32(db_to_amp(-30.0 - integrated_loudness(audio(samples, 44100))))
    path = tmp_path_factory.mktemp("mix") / "mix.wav"
    save_audio(audio(samples, 44100), path, bit_depth="24")
    return path


def test_master_writes_a_file_on_target(capsys: pytest.CaptureFixture[str], mix_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "master.flac"
    before = mix_file.read_bytes()
    code, stdout, err = run(capsys, "master", mix_file, "-o", out, "--target", "broadcast", "--json")
    assert code == 0, err
    data = json.loads(stdout)
    assert data["target"]["name"] == "broadcast"
    assert data["before"]["integrated_lufs"] == pytest.approx(-30.0, abs=0.05)
    assert data["after"]["integrated_lufs"] == pytest.approx(-23.0, abs=0.2)
    written = measure_loudness(load_audio(out))
    assert written.integrated_lufs == pytest.approx(-23.0, abs=0.2) and written.true_peak_dbtp <= -1.0
    assert sf.info(str(out)).subtype == "PCM_24"
    assert mix_file.read_bytes() == before, "the source must never change"


def test_master_table_numeric_target_ceiling_and_bit_depth(capsys: pytest.CaptureFixture[str], mix_file: Path,
                                                            tmp_path: Path) -> None:
    out = tmp_path / "m16.wav"
    code, stdout, err = run(capsys, "master", mix_file, "-o", out, "--target", "-16", "--ceiling", "-2",
                            "--bit-depth", "16")
    assert code == 0, err
    assert "Before" in stdout and "After" in stdout and "Integrated" in stdout
    written = measure_loudness(load_audio(out))
    assert written.integrated_lufs == pytest.approx(-16.0, abs=0.2) and written.true_peak_dbtp <= -2.0
    assert sf.info(str(out)).subtype == "PCM_16"


def test_master_to_a_reference(capsys: pytest.CaptureFixture[str], mix_file: Path, tmp_path: Path) -> None:
    ref = tmp_path / "ref.wav"
    samples = music_like(15.0, 48000, seed=9)
    samples *= np.float32(db_to_amp(-20.0 - integrated_loudness(audio(samples, 48000))))
    save_audio(audio(samples, 48000), ref, bit_depth="float")
    out = tmp_path / "matched.wav"
    code, stdout, err = run(capsys, "master", mix_file, "-o", out, "--reference", ref, "--json")
    assert code == 0, err
    assert json.loads(stdout)["target"]["name"] == "reference"
    written = measure_loudness(load_audio(out))
    assert written.integrated_lufs == pytest.approx(-20.0, abs=0.2) and written.true_peak_dbtp <= -1.0


def test_list_targets(capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, _ = run(capsys, "master", "--list-targets")
    assert code == 0
    for name in ("streaming", "apple", "amazon", "broadcast", "atsc", "game"):
        assert name in stdout
    code, stdout, _ = run(capsys, "master", "--list-targets", "--json")
    listed = {t["name"]: (t["integrated_lufs"], t["ceiling_dbtp"]) for t in json.loads(stdout)}
    assert listed == {name: (t.integrated_lufs, t.ceiling_dbtp) for name, t in TARGETS.items()}
    assert listed["streaming"] == (-14.0, -1.0) and listed["atsc"] == (-24.0, -2.0)


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--target", "loudest"], "unknown target"),
        (["--target", "-80"], "outside"),
        (["--target", "streaming", "--ceiling", "3"], "outside"),
        ([], "--target"),
        (["--target", "streaming", "--bit-depth", "12"], "error"),
    ],
)
def test_master_refusals(capsys: pytest.CaptureFixture[str], mix_file: Path, tmp_path: Path, args: list[str],
                         expected: str) -> None:
    out = tmp_path / "x.wav"
    code, _, err = run(capsys, "master", mix_file, "-o", out, *args)
    assert code == 1 and err.count("\n") == 1 and err.startswith("error: ") and expected in err
    assert not out.exists()


def test_master_refuses_to_overwrite_its_input(capsys: pytest.CaptureFixture[str], mix_file: Path) -> None:
    before = mix_file.read_bytes()
    code, _, err = run(capsys, "master", mix_file, "-o", mix_file, "--target", "streaming")
    assert code == 1 and err.count("\n") == 1
    assert mix_file.read_bytes() == before


def test_master_bad_input_and_missing_output(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF....WAVEjunk")
    code, _, err = run(capsys, "master", bad, "-o", tmp_path / "o.wav", "--target", "streaming")
    assert code == 1 and str(bad) in err and err.count("\n") == 1
    code, _, err = run(capsys, "master", bad, "--target", "streaming")
    assert code == 1 and "-o" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.wav"], "no output, no temp files left"
