"""Tonal balance, stereo image, overs and the dynamics arc, on signals with known properties."""

from __future__ import annotations

import numpy as np
import pytest
from signals import tone

from trackwright.analysis.dynamics import analyze_dynamics
from trackwright.analysis.loudness import measure_loudness
from trackwright.analysis.tonal import analyze_tonal, reference_curve_db
from trackwright.audio import Audio
from trackwright.produce.fluidsynth import render_midi
from trackwright.score.draft import compose_draft_with_truth, compose_song, pop_form_sections

RATE = 44100


def shaped_noise(seconds: float, rng: np.random.Generator, *, boost: tuple[float, float, float] | None = None,
                 lowpass_hz: float | None = None) -> np.ndarray:
    """Stereo noise (partly correlated) following the reference curve, with an optional bell
    ``(centre Hz, gain dB, octaves wide)`` or a brick-wall low-pass."""
    n = round(seconds * RATE)
    freqs = np.fft.rfftfreq(n, 1.0 / RATE)
    gain_db = reference_curve_db(freqs)
    if boost is not None:
        centre, gain, width = boost
        gain_db = gain_db + gain * np.exp(-0.5 * (np.log2(np.maximum(freqs, 1) / centre) / (width / 2)) ** 2)
    shape = 10 ** (gain_db / 20) * np.sqrt(1.0 / np.maximum(freqs, 20.0))  # energy per octave follows the curve
    if lowpass_hz is not None:
        shape[freqs > lowpass_hz] = 0.0
    common = np.fft.irfft(np.fft.rfft(rng.standard_normal(n)) * shape, n)
    sides = [np.fft.irfft(np.fft.rfft(rng.standard_normal(n)) * shape, n) for _ in range(2)]
    out = np.stack([common + 0.3 * sides[0], common + 0.3 * sides[1]])
    return (out * (0.2 / np.abs(out).max())).astype(np.float32)


def test_balanced_noise_has_no_problem_bands(rng: np.random.Generator) -> None:
    tonal = analyze_tonal(Audio(shaped_noise(20, rng), RATE))
    assert tonal.problems == {}
    core = (tonal.band_hz >= 63) & (tonal.band_hz <= 12500)
    assert np.max(np.abs(tonal.band_db[core] - tonal.reference_db[core])) < 2.5


@pytest.mark.parametrize("boost, expected", [((250.0, 9.0, 1.0), "muddy"), ((3200.0, 9.0, 1.0), "harsh"),
                                             ((95.0, 9.0, 1.0), "boomy")])
def test_problem_bands_are_named(rng: np.random.Generator, boost: tuple[float, float, float], expected: str) -> None:
    tonal = analyze_tonal(Audio(shaped_noise(20, rng, boost=boost), RATE))
    assert expected in tonal.problems and tonal.problems[expected] >= 4.0, tonal.problems


def test_dull_mix(rng: np.random.Generator) -> None:
    assert "dull" in analyze_tonal(Audio(shaped_noise(20, rng, lowpass_hz=4000.0), RATE)).problems


def test_stereo_width_correlation_and_mono_loss() -> None:
    left = tone(-20.0, 10.0, RATE, freq_hz=440.0)[0]
    dual_mono = analyze_tonal(Audio(np.stack([left, left]), RATE))
    assert dual_mono.correlation == pytest.approx(1.0, abs=1e-4) and abs(dual_mono.mono_loss_lu) < 0.05
    assert dual_mono.width_db < -60
    inverted = analyze_tonal(Audio(np.stack([left, -left]), RATE))
    assert inverted.correlation == pytest.approx(-1.0, abs=1e-4)
    assert inverted.negative_correlation_fraction == 1.0 and np.isnan(inverted.mono_loss_lu)


def test_clipping_and_intersample_overs() -> None:
    t = np.arange(RATE * 2) / RATE
    # fs/4 sampled 45° off its crests: samples at 0.99 full scale, the waveform between them at +2.9 dBTP
    wave = np.sin(2 * np.pi * RATE / 4 * t + np.pi / 4).astype(np.float32) * np.float32(1.4)
    overs = analyze_tonal(Audio(np.stack([wave, wave]), RATE))
    assert overs.intersample_overs >= 1 and overs.true_peak_dbtp > 2.5 and overs.clipped_runs == 0
    clipped = np.clip(tone(0.0, 2.0, RATE, freq_hz=100.0) * 2, -1, 1)
    assert analyze_tonal(Audio(clipped, RATE)).clipped_runs >= 300  # two runs per cycle and channel


def test_fluidsynth_renders_are_mono_compatible() -> None:
    midi, _ = compose_draft_with_truth(bars=8)
    tonal = analyze_tonal(render_midi(midi))
    assert tonal.correlation > 0.5 and tonal.mono_loss_lu < 1.5


def test_flat_draft_versus_a_song_with_an_arc() -> None:
    flat_midi, _ = compose_draft_with_truth(bars=40)
    flat_audio = render_midi(flat_midi)
    flat = analyze_dynamics(measure_loudness(flat_audio), flat_audio.samples)
    assert flat.flat and flat.arc_range_lu < 3.0
    song_midi, truth = compose_song(pop_form_sections("C", seed=1), bpm=120, key="C", seed=1)
    song_audio = render_midi(song_midi)
    spans = [(s, e) for s, e, _, _ in truth.sections]
    song = analyze_dynamics(measure_loudness(song_audio), song_audio.samples, spans)
    assert not song.flat and song.contrast_lu > 6.0
    chorus = [i for i, (_, _, _, role) in enumerate(truth.sections) if role == "chorus"]
    assert int(np.argmax(song.section_lufs)) in chorus
    assert any(s <= song.peak_s - 1.5 <= e + 3 for (s, e, _, role) in truth.sections if role == "chorus")


def test_crest_factor_of_a_sine() -> None:
    audio = Audio(tone(-12.0, 5.0, RATE), RATE)
    dynamics = analyze_dynamics(measure_loudness(audio), audio.samples)
    assert dynamics.crest_db == pytest.approx(3.01, abs=0.05)
    report = measure_loudness(audio)
    assert dynamics.plr_db == pytest.approx(report.true_peak_dbtp - report.integrated_lufs)
