"""The look-ahead true-peak limiter: it never lets a detected peak through, and sees inter-sample peaks."""

from __future__ import annotations

import numpy as np
import pytest
from signals import db_to_amp, music_like

from trackwright.analysis.loudness import true_peak_dbtp
from trackwright.audio import Audio
from trackwright.errors import ParameterError
from trackwright.mix import limiter


def reference_attenuation(peak_db: np.ndarray, ceiling: float, lookahead: int, release: float) -> np.ndarray:
    """The gain computer written as plain loops, to check the vectorised one against."""
    required = np.maximum(peak_db - ceiling, 0.0)
    n = len(required)
    held = np.array([required[i: i + lookahead + 1].max() for i in range(n)])
    released, previous = np.zeros(n), 0.0
    for i in range(n):
        previous = max(held[i], previous - release)
        released[i] = previous
    padded = np.concatenate((np.full(lookahead, released[0]), released))
    return np.array([padded[i: i + lookahead + 1].mean() for i in range(n)])


@pytest.mark.parametrize("chunk", [16, 1 << 16])
def test_gain_computer_matches_the_loop_definition(rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch,
                                                   chunk: int) -> None:
    monkeypatch.setattr(limiter, "_RELEASE_CHUNK", chunk)
    peaks = rng.normal(-3.0, 3.0, 600)
    got = limiter.attenuation_db(peaks, 0.0, lookahead=9, release_db=0.07)
    np.testing.assert_allclose(got, reference_attenuation(peaks, 0.0, 9, 0.07), atol=1e-4)
    assert np.all(peaks - got <= 1e-4), "a peak got through"


def test_attack_starts_before_the_peak_and_releases_after() -> None:
    rate = 48000
    peaks = np.full(rate, -20.0)
    peaks[rate // 2] = 6.0
    reduction = limiter.attenuation_db(peaks, 0.0, lookahead=240, release_db=limiter.release_db_per_frame(0.05, rate))
    assert reduction[rate // 2] == pytest.approx(6.0, abs=1e-4)
    assert reduction[rate // 2 - 120] == pytest.approx(3.0, abs=0.05)  # halfway down the 5 ms ramp
    assert reduction[rate // 2 - 241] == 0.0
    # one neper (8.69 dB) of recovery per 50 ms: 6 dB are gone after ~35 ms (+ 5 ms smoothing)
    assert 1.0 < reduction[rate // 2 + round(0.02 * rate)] < 4.0
    assert reduction[rate // 2 + round(0.045 * rate)] == 0.0


def test_limits_inter_sample_peaks_that_sample_peaks_miss() -> None:
    rate = 44100
    t = np.arange(rate * 2) / rate
    # fs/4 sine sampled 45° off its crests: every sample is 3 dB under the true peak
    wave = np.sin(2 * np.pi * rate / 4 * t + np.pi / 4).astype(np.float32) * np.float32(db_to_amp(-0.5))
    samples = np.stack([wave, wave])
    assert 20 * np.log10(np.abs(samples).max()) == pytest.approx(-3.51, abs=0.05)
    before = true_peak_dbtp(Audio(samples, rate))
    assert before >= -0.55
    result = limiter.limit(samples, rate, -1.0)
    assert true_peak_dbtp(Audio(result.samples, rate)) <= -1.0 + 0.02
    assert result.max_attenuation_db == pytest.approx(before + 1.0, abs=0.02)


def test_music_stays_under_the_ceiling_and_channels_share_one_gain() -> None:
    rate = 44100
    samples = music_like(8.0, rate, seed=3) * np.float32(db_to_amp(12.0))
    result = limiter.limit(samples, rate, -1.0)
    assert true_peak_dbtp(Audio(result.samples, rate)) <= -1.0 + 0.05
    ratio = result.samples[0] / np.where(samples[0] == 0, 1, samples[0])
    ratio_r = result.samples[1] / np.where(samples[1] == 0, 1, samples[1])
    loud = (np.abs(samples[0]) > 1e-3) & (np.abs(samples[1]) > 1e-3)
    np.testing.assert_allclose(ratio[loud], ratio_r[loud], rtol=1e-4)


def test_no_reduction_below_the_ceiling_only_gain() -> None:
    rate = 44100
    samples = music_like(3.0, rate, seed=4)  # peak −6 dBFS
    result = limiter.limit(samples, rate, -1.0, gain_db=2.0)
    assert result.max_attenuation_db == 0.0
    np.testing.assert_allclose(result.samples, samples * db_to_amp(2.0), rtol=1e-5, atol=1e-7)


def test_bad_parameters() -> None:
    with pytest.raises(ParameterError):
        limiter.attenuation_db(np.zeros(4), 0.0, lookahead=-1, release_db=0.1)
    with pytest.raises(ParameterError):
        limiter.release_db_per_frame(0.0, 44100)


@pytest.mark.parametrize(("gain_db", "limited"), [(0.0, False), (9.0, True)])
def test_true_peak_from_the_envelope_equals_oversampling_the_output(gain_db: float, limited: bool) -> None:
    """Quiet noise with a few loud bursts: with the limiter idle, or acting only around the
    bursts, the true peak it derives equals oversampling the whole output (±0.001 dB)."""
    rate = 44100
    rng = np.random.default_rng(7)
    samples = (rng.standard_normal((2, 20 * rate)) * 0.02).astype(np.float32)
    for start in (3 * rate, 11 * rate):
        samples[:, start: start + rate // 10] *= 6
    peak_db = limiter.peak_envelope_db(samples, rate)
    result = limiter.limit(samples, rate, -1.0, gain_db=gain_db, peak_db=peak_db)
    assert (result.max_attenuation_db > 0) == limited
    derived = limiter.limited_true_peak_dbtp(samples, rate, result, peak_db, gain_db)
    assert derived is not None
    assert derived == pytest.approx(true_peak_dbtp(Audio(result.samples, rate)), abs=1e-3)
