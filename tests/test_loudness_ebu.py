"""EBU Tech 3341 / 3342 conformance cases, generated in code (see shared/reference).

Every case runs at 48 kHz (the reference rate) and 44.1 kHz; tolerances are the standard's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.signal
import soundfile as sf
from signals import audio, db_to_amp, sequence, silence, tone

from trackwright.analysis.loudness import (
    LoudnessMeter,
    integrated_loudness,
    k_weighting_sos,
    loudness_range,
    measure_loudness,
    measure_loudness_file,
    true_peak_dbtp,
    weighted_power,
)

RATES = [48000, 44100]


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("level", [-23.0, -33.0])
def test_3341_1_2_steady_tone(rate: int, level: float) -> None:
    report = measure_loudness(audio(tone(level, 20, rate), rate))
    for value in (report.integrated_lufs, report.momentary_max_lufs, report.short_term_max_lufs):
        assert value == pytest.approx(level, abs=0.1)
    steady = report.momentary.lufs[5:]
    assert np.ptp(steady) < 0.01


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize(
    "parts",
    [
        [(-36, 10), (-23, 60), (-36, 10)],  # 3341-3
        [(-72, 10), (-36, 10), (-23, 60), (-36, 10), (-72, 10)],  # 3341-4
        [(-26, 20), (-20, 20.1), (-26, 20)],  # 3341-5
    ],
    ids=["3341-3", "3341-4", "3341-5"],
)
def test_3341_gating(rate: int, parts: list[tuple[float, float]]) -> None:
    assert integrated_loudness(audio(sequence(parts, rate), rate)) == pytest.approx(-23.0, abs=0.1)


@pytest.mark.parametrize("rate", RATES)
def test_3341_6_five_channels(rate: int) -> None:
    levels = [-28, -28, -24, -30, -30]  # L R C Ls Rs
    samples = np.concatenate([tone(lv, 20, rate, channels=1) for lv in levels])
    assert integrated_loudness(audio(samples, rate)) == pytest.approx(-23.0, abs=0.1)


def test_lfe_is_excluded_in_5_1() -> None:
    rate = 48000
    levels = [-28, -28, -24, -30, -30]
    five = [tone(lv, 20, rate, channels=1) for lv in levels]
    lfe = tone(-10, 20, rate, channels=1, freq_hz=60)
    samples = np.concatenate(five[:3] + [lfe] + five[3:])  # L R C LFE Ls Rs
    assert integrated_loudness(audio(samples, rate)) == pytest.approx(-23.0, abs=0.1)
    # Named as six full-range channels, the LFE counts and the reading rises.
    assert integrated_loudness(audio(samples, rate), layout="L,R,C,C,Ls,Rs") > -22.0


@pytest.mark.parametrize("rate", RATES)
def test_3341_9_short_term_constant(rate: int) -> None:
    samples = sequence([(-20, 1.34), (-30, 1.66)] * 5, rate)
    report = measure_loudness(audio(samples, rate))
    after_3s = report.short_term.lufs[report.short_term.times_s >= 3.0 - 1e-9]
    assert after_3s == pytest.approx(-23.0, abs=0.1)


@pytest.mark.parametrize("rate", RATES)
def test_3341_10_short_term_max(rate: int) -> None:
    for i in range(20):
        samples = sequence([(None, i * 0.15), (-23, 3.0), (None, 1.0)], rate)
        report = measure_loudness(audio(samples, rate))
        assert report.short_term_max_lufs == pytest.approx(-23.0, abs=0.1), f"file {i}"


@pytest.mark.parametrize("rate", RATES)
def test_3341_12_momentary_constant(rate: int) -> None:
    samples = sequence([(-20, 0.18), (-30, 0.22)] * 25, rate)
    report = measure_loudness(audio(samples, rate))
    after_1s = report.momentary.lufs[report.momentary.times_s >= 1.0 - 1e-9]
    assert after_1s == pytest.approx(-23.0, abs=0.1)


@pytest.mark.parametrize("rate", RATES)
def test_3341_13_momentary_max(rate: int) -> None:
    for i in range(20):
        samples = sequence([(None, i * 0.02), (-23, 0.4), (None, 1.0)], rate)
        report = measure_loudness(audio(samples, rate))
        assert report.momentary_max_lufs == pytest.approx(-23.0, abs=0.1), f"file {i}"


def _faded_sine(rate: int, freq: float, amp: float, phase_deg: float, seconds: float = 1.0) -> np.ndarray:
    n = round(seconds * rate)
    t = np.arange(n) / rate
    wave = amp * np.sin(2 * np.pi * freq * t + np.deg2rad(phase_deg))
    fade = round(0.01 * rate)
    ramp = np.linspace(0.0, 1.0, fade)
    wave[:fade] *= ramp
    wave[-fade:] *= ramp[::-1]
    return np.tile(wave, (2, 1))


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize(
    ("divisor", "amp", "phase", "expected"),
    [(4, 0.5, 0.0, -6.0), (4, 0.5, 45.0, -6.0), (6, 0.5, 60.0, -6.0), (8, 0.5, 67.5, -6.0), (4, 1.41, 45.0, 3.0)],
    ids=["3341-15", "3341-16", "3341-17", "3341-18", "3341-19"],
)
def test_3341_15_19_true_peak(rate: int, divisor: int, amp: float, phase: float, expected: float) -> None:
    samples = _faded_sine(rate, rate / divisor, amp, phase)
    measured = true_peak_dbtp(audio(samples, rate))
    assert expected - 0.4 <= measured <= expected + 0.2


def _burst_signal(rate: int, offset: int) -> np.ndarray:
    """fs/6 sine at 0.5 holding one period of an fs/4 sine at 1.0, made at 4 fs and decimated."""
    up = 4 * rate
    base_period = 24  # samples of fs/6 at 4 fs
    burst_period = 16  # samples of fs/4 at 4 fs
    before = np.tile(0.5 * np.sin(2 * np.pi * np.arange(base_period) / base_period), 2000)
    burst = 1.0 * np.sin(2 * np.pi * np.arange(burst_period) / burst_period)
    signal = np.concatenate([before, burst, before])
    taps = scipy.signal.firwin(255, 0.5 / 4 * 2 * 0.95)  # low-pass just under the target Nyquist
    filtered = scipy.signal.filtfilt(taps, [1.0], signal)
    decimated = filtered[offset::4]
    del up
    return np.tile(decimated, (2, 1))


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("offset", [0, 1, 2, 3], ids=["3341-20", "3341-21", "3341-22", "3341-23"])
def test_3341_20_23_true_peak_of_burst(rate: int, offset: int) -> None:
    measured = true_peak_dbtp(audio(_burst_signal(rate, offset), rate))
    assert -0.4 <= measured <= 0.2


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        ([(-20, 20), (-30, 20)], 10.0),
        ([(-20, 20), (-15, 20)], 5.0),
        ([(-40, 20), (-20, 20)], 20.0),
        ([(-50, 20), (-35, 20), (-20, 20), (-35, 20), (-50, 20)], 15.0),
    ],
    ids=["3342-1", "3342-2", "3342-3", "3342-4"],
)
def test_3342_loudness_range(rate: int, parts: list[tuple[float, float]], expected: float) -> None:
    report = measure_loudness(audio(sequence(parts, rate), rate))
    assert report.loudness_range_lu == pytest.approx(expected, abs=1.0)


def test_full_scale_997hz_in_one_channel_reads_minus_3_01() -> None:
    rate = 48000
    samples = np.concatenate([tone(0.0, 10, rate, freq_hz=997, channels=1), silence(10, rate, 1)])
    assert integrated_loudness(audio(samples, rate)) == pytest.approx(-3.01, abs=0.02)


def test_k_weighting_48k_matches_the_standard_table() -> None:
    sos = k_weighting_sos(48000)
    assert sos[0, :3] == pytest.approx([1.53512485958697, -2.69169618940638, 1.19839281085285], abs=1e-8)
    assert sos[0, 4:] == pytest.approx([-1.69065929318241, 0.73248077421585], abs=1e-8)
    assert sos[1, 4:] == pytest.approx([-1.99004745483398, 0.99007225036621], abs=1e-8)


@pytest.mark.parametrize("rate", [8000, 22050, 32000, 88200, 96000, 192000, 384000])
def test_any_sample_rate_reads_the_same(rate: int) -> None:
    seconds = 5 if rate < 200000 else 2
    report = measure_loudness(audio(tone(-23, seconds, rate), rate))
    assert report.integrated_lufs == pytest.approx(-23.0, abs=0.1)
    # Faded in and out: an abrupt start rings in the band-limited (true-peak) signal.
    faded = _faded_sine(rate, 1000.0, db_to_amp(-23.0), 0.0, seconds)
    assert true_peak_dbtp(audio(faded, rate)) == pytest.approx(-23.0, abs=0.1)


def test_k_weighting_response_at_other_rates_matches_48k() -> None:
    freqs = np.array([20.0, 50.0, 100.0, 1000.0, 3000.0])
    _, ref = scipy.signal.sosfreqz(k_weighting_sos(48000), worN=freqs, fs=48000)
    for rate in (32000, 44100, 96000):
        _, resp = scipy.signal.sosfreqz(k_weighting_sos(rate), worN=freqs, fs=rate)
        assert 20 * np.log10(np.abs(resp)) == pytest.approx(20 * np.log10(np.abs(ref)), abs=0.05)


@pytest.mark.parametrize(("rate", "layout"), [(8000, "mono"), (44100, "stereo"), (48000, "5.1"), (192000, "stereo")])
def test_weighted_power_equals_the_recursive_filter(rate: int, layout: str) -> None:
    """The meter runs K-weighting as block matrix products; scipy's sample-by-sample recursive
    filter of the same sections is the reference, over noise long enough to span many blocks."""
    channels = {"mono": 1, "stereo": 2, "5.1": 6}[layout]
    frames = 3 * rate + 1234
    samples = (np.random.default_rng(rate).standard_normal((channels, frames)) * 0.2).astype(np.float32)
    samples[0, : rate // 2] = 0.0  # a silent start: nothing may leak backwards
    weights = {"mono": [1.0], "stereo": [1.0, 1.0], "5.1": [1.0, 1.0, 1.0, 0.0, 1.41, 1.41]}[layout]
    filtered = scipy.signal.sosfilt(k_weighting_sos(rate), samples.astype(np.float64), axis=1)
    expected = np.tensordot(weights, filtered**2, axes=1)
    got = weighted_power(audio(samples, rate), layout=layout)
    assert np.abs(got - expected).max() < 1e-9 * expected.max()


def test_mono_sine_weight_one() -> None:
    report = measure_loudness(audio(tone(-20, 5, 48000, channels=1), 48000))
    assert report.integrated_lufs == pytest.approx(-23.01, abs=0.05)
    assert report.channels == 1


def test_loudness_range_helper_of_constant_values_is_zero() -> None:
    assert loudness_range(np.full(100, -20.0)) == pytest.approx(0.0)


def test_sample_peak_and_report_keys() -> None:
    report = measure_loudness(audio(tone(-6.0, 4, 44100), 44100))
    assert report.sample_peak_dbfs == pytest.approx(-6.0, abs=0.01)
    d = report.to_dict()
    assert list(d) == [
        "integrated_lufs", "momentary_max_lufs", "short_term_max_lufs", "loudness_range_lu",
        "true_peak_dbtp", "sample_peak_dbfs", "duration_s", "sample_rate", "channels",
    ]
    assert d["sample_rate"] == 44100 and d["channels"] == 2 and d["duration_s"] == 4.0


def test_a_meter_fed_in_odd_blocks_reads_as_the_whole_signal_at_once(tmp_path: Path) -> None:
    """The streaming meter against sums over the whole K-weighted power, computed here."""
    rate = 44100
    rng = np.random.default_rng(3)
    t = np.arange(int(7.3 * rate)) / rate
    samples = (0.2 * rng.standard_normal((2, t.size)) * (1.2 + np.sin(2 * np.pi * 0.4 * t))).astype(np.float32)
    samples[:, rate: 2 * rate] = 0.0  # a silent second: the gates have something to drop
    meter = LoudnessMeter(rate, 2)
    start = 0
    for size in [1, 1000, 77777, 3 * rate, 5, rate // 3] * 4:
        meter.add(samples[:, start: start + size])
        start += size
    meter.add(samples[:, start:])
    got = meter.report()

    power = np.tensordot([1.0, 1.0], scipy.signal.sosfilt(k_weighting_sos(rate), samples.astype(np.float64)) ** 2, 1)
    running = np.concatenate([[0.0], np.cumsum(power)])
    block, short, hop = int(0.4 * rate), 3 * rate, rate // 10
    def lufs(mean_power):
        with np.errstate(divide="ignore"):
            return -0.691 + 10 * np.log10(mean_power)
    momentary = [(running[s + block] - running[s]) / block for s in range(0, t.size - block + 1, hop)]
    short_term = [(running[s + short] - running[s]) / short for s in range(0, t.size - short + 1, hop)]
    assert got.momentary.lufs == pytest.approx(lufs(np.array(momentary)), abs=1e-6)
    assert got.short_term.lufs == pytest.approx(lufs(np.array(short_term)), abs=1e-6)
    assert got.momentary_max_lufs == pytest.approx(lufs(np.max(running[block:] - running[:-block]) / block), abs=1e-6)
    assert got.short_term_max_lufs == pytest.approx(lufs(np.max(running[short:] - running[:-short]) / short), abs=1e-6)
    whole = measure_loudness(audio(samples, rate))
    assert got.integrated_lufs == pytest.approx(whole.integrated_lufs, abs=1e-9)
    assert got.true_peak_dbtp == pytest.approx(whole.true_peak_dbtp, abs=1e-6)
    assert got.duration_s == pytest.approx(t.size / rate)

    path = tmp_path / "noise.wav"
    sf.write(path, samples.T, rate, subtype="FLOAT")
    from_file = measure_loudness_file(path)
    assert from_file.to_dict() == whole.to_dict()
