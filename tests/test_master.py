"""Mastering lands on the target loudness (±0.2 LU) under the true-peak ceiling, as our meter reads it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.signal
from signals import db_to_amp, music_like, tone

from trackwright.analysis.loudness import integrated_loudness, measure_loudness
from trackwright.audio import Audio, load_audio, save_audio
from trackwright.errors import MeasurementError, ParameterError
from trackwright.mix.master import HEAVY_LIMITING_DB, master, tonal_shelves
from trackwright.analysis.spectrum import average_spectrum
from trackwright.mix.targets import TARGETS, resolve_target

RATE = 44100


def at_loudness(samples: np.ndarray, lufs: float, *, clip: bool = False) -> Audio:
    """``samples`` scaled to ``lufs`` integrated loudness (then hard-clipped at full scale if asked)."""
    scaled = samples * np.float32(db_to_amp(lufs - integrated_loudness(Audio(samples, RATE))))
    return Audio(np.clip(scaled, -1.0, 1.0) if clip else scaled, RATE)


@pytest.fixture(scope="module")
def mix() -> np.ndarray:
    return music_like(30.0, RATE, seed=11)


def assert_delivered(audio: Audio, lufs: float, ceiling: float) -> None:
    report = measure_loudness(audio)
    assert report.integrated_lufs == pytest.approx(lufs, abs=0.2)
    assert report.true_peak_dbtp <= ceiling


@pytest.mark.parametrize("name", ["streaming", "apple", "amazon", "broadcast", "atsc", "game"])
@pytest.mark.parametrize("level, clip", [(-35.0, False), (-6.0, True)], ids=["quiet", "hot-clipped"])
def test_named_targets_from_quiet_and_hot_inputs(mix: np.ndarray, name: str, level: float, clip: bool) -> None:
    source = at_loudness(mix, level, clip=clip)
    if clip:
        assert np.mean(np.abs(source.samples) >= 1.0) > 0.001, "the hot input should really be clipped"
    target = TARGETS[name]
    result = master(source, target)
    assert_delivered(result.audio, target.integrated_lufs, target.ceiling_dbtp)
    assert result.after.integrated_lufs == pytest.approx(target.integrated_lufs, abs=0.2)
    assert result.before.integrated_lufs == pytest.approx(level, abs=2.0 if clip else 0.01)
    assert result.audio.samples.shape == source.samples.shape and result.audio.sample_rate == RATE
    heavy = result.max_limiting_db > HEAVY_LIMITING_DB
    assert heavy == any("limiting" in w for w in result.warnings)


def test_master_survives_writing_to_16_bit(mix: np.ndarray, tmp_path: Path) -> None:
    result = master(at_loudness(mix, -30.0), resolve_target("streaming"))
    path = tmp_path / "master.wav"
    save_audio(result.audio, path, bit_depth="16")
    assert_delivered(load_audio(path), -14.0, -1.0)


def test_numeric_target_and_ceiling_override(mix: np.ndarray) -> None:
    result = master(at_loudness(mix, -20.0), resolve_target("-18.5", ceiling_dbtp=-3.0))
    assert_delivered(result.audio, -18.5, -3.0)
    assert result.target.ceiling_dbtp == -3.0


def test_heavy_limiting_warns_and_gentle_does_not(mix: np.ndarray) -> None:
    loud = master(at_loudness(mix, -20.0), resolve_target("-9"))
    assert loud.max_limiting_db > HEAVY_LIMITING_DB
    assert any("limiting" in w and "dB" in w for w in loud.warnings)
    soft = master(at_loudness(mix, -20.0), resolve_target("broadcast"))
    assert soft.max_limiting_db < HEAVY_LIMITING_DB and not soft.warnings


def test_unreachable_target_is_a_clear_error(mix: np.ndarray) -> None:
    with pytest.raises(ParameterError, match="out of reach"):
        master(at_loudness(mix, -20.0), resolve_target("-5", ceiling_dbtp=-12.0))


def test_mono_and_48k_inputs() -> None:
    mono = Audio(music_like(12.0, 48000, seed=2, channels=1), 48000)
    result = master(mono, resolve_target("apple"))
    assert result.audio.channels == 1 and result.audio.sample_rate == 48000
    assert_delivered(result.audio, -16.0, -1.0)


def test_sine_lands_exactly() -> None:
    source = Audio(tone(-30.0, 10.0, RATE, freq_hz=997.0), RATE)
    result = master(source, resolve_target("broadcast"))
    assert result.after.integrated_lufs == pytest.approx(-23.0, abs=0.05)
    assert result.max_limiting_db == 0.0


def test_silence_and_short_clips_are_refused() -> None:
    with pytest.raises(MeasurementError):
        master(Audio(np.zeros((2, RATE * 2), np.float32), RATE), resolve_target("streaming"))
    with pytest.raises(MeasurementError):
        master(Audio(tone(-20.0, 0.2, RATE), RATE), resolve_target("streaming"))


def high_to_mid_db(samples: np.ndarray) -> float:
    freqs, power_db = average_spectrum(samples, RATE)
    power = 10 ** (power_db / 10)
    high = power[(freqs > 4000) & (freqs < 12000)].sum()
    mid = power[(freqs > 250) & (freqs < 2000)].sum()
    return float(10 * np.log10(high / mid))


def test_reference_matches_tonal_balance_and_loudness(mix: np.ndarray) -> None:
    sos = scipy.signal.butter(2, 3000, "highpass", fs=RATE, output="sos")
    bright = (mix + 3.0 * scipy.signal.sosfilt(sos, mix)).astype(np.float32)
    reference = at_loudness(bright, -26.0)
    source = at_loudness(mix, -35.0)
    gap_before = high_to_mid_db(reference.samples) - high_to_mid_db(source.samples)
    assert gap_before > 6.0
    result = master(source, None, reference=reference)
    gap_after = high_to_mid_db(reference.samples) - high_to_mid_db(result.audio.samples)
    assert abs(gap_after) < 1.5, (gap_before, gap_after)
    assert result.target.name == "reference"
    assert_delivered(result.audio, -26.0, -1.0)
    assert result.max_limiting_db < 3.0
    assert result.chain["reference"]["eq_db_at"]["8000"] > 6.0


def test_reference_at_another_rate_and_explicit_target(mix: np.ndarray) -> None:
    import soxr

    reference = Audio(soxr.resample(at_loudness(mix, -12.0).samples.T, RATE, 48000).T.copy(), 48000)
    result = master(at_loudness(mix, -30.0), resolve_target("broadcast"), reference=reference, ceiling_dbtp=-2.0)
    assert_delivered(result.audio, -23.0, -2.0)


def test_corrective_shelves_are_gentle(mix: np.ndarray) -> None:
    boomy = scipy.signal.sosfilt(scipy.signal.butter(2, 150, fs=RATE, output="sos"), mix) * 8 + mix
    low, high = tonal_shelves(boomy.astype(np.float32), RATE)
    assert -1.5 <= low < -0.5 and -1.5 <= high <= 1.5


def test_resolve_target() -> None:
    assert resolve_target("Broadcast").integrated_lufs == -23.0
    assert resolve_target("atsc").ceiling_dbtp == -2.0
    custom = resolve_target("-16 LUFS")
    assert (custom.integrated_lufs, custom.ceiling_dbtp) == (-16.0, -1.0)
    assert resolve_target(-20, ceiling_dbtp=-2).ceiling_dbtp == -2.0
    for bad in ("loud", "-80", "nan", "3"):
        with pytest.raises(ParameterError):
            resolve_target(bad)
    with pytest.raises(ParameterError):
        resolve_target("streaming", ceiling_dbtp=1.5)
    assert {"streaming", "apple", "amazon", "broadcast", "atsc", "game"} <= set(TARGETS)
