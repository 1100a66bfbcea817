"""Drum layering: hits found in the right band, samples phase-aligned, low end reinforced not cancelled."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from trackwright.audio import Audio, save_audio
from trackwright.errors import MissingDependencyError, ParameterError
from trackwright.produce.drums import detect_hits, layer_drums, list_kits, load_kit

RATE = 44100
KICKS = np.arange(0.25, 6.0, 1.0) + np.array([0.0, 0.0013, -0.0021, 0.0007, 0.0031, -0.0009])
SNARES = KICKS + 0.5


def _kick(freq_hz: float = 55.0, phase: float = 0.0, seconds: float = 0.4) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    sweep = 2 * np.pi * (freq_hz * t + 60.0 * (1 - np.exp(-t / 0.02)) * 0.02)  # pitch drops into the tone
    return (np.sin(sweep + phase) * np.exp(-t / 0.12)).astype(np.float32)


def _snare(seed: int = 1, seconds: float = 0.25) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    noise = np.random.default_rng(seed).normal(0, 0.5, t.size)
    body = np.sin(2 * np.pi * 190 * t)
    return ((noise + body) * np.exp(-t / 0.05)).astype(np.float32)


def _place(hits: np.ndarray, sample: np.ndarray, length: int) -> np.ndarray:
    out = np.zeros(length, np.float32)
    for t in hits:
        at = round(t * RATE)
        out[at:at + sample.size] += sample[:length - at]
    return out


@pytest.fixture(scope="module")
def stem() -> Audio:
    length = 6 * RATE + RATE // 2
    mono = 0.5 * _place(KICKS, _kick(), length) + 0.3 * _place(SNARES, _snare(), length)
    mono += np.random.default_rng(0).normal(0, 1e-3, length).astype(np.float32)
    return Audio(np.stack([mono, mono]), RATE)


def _low_energy(x: np.ndarray, at_s: float) -> float:
    sos = signal.butter(4, [40, 120], btype="bandpass", fs=RATE, output="sos")
    low = signal.sosfilt(sos, x)
    return float(np.sum(low[round(at_s * RATE):round((at_s + 0.08) * RATE)] ** 2))


def test_hits_are_found_in_their_band(stem: Audio) -> None:
    kicks, snares = detect_hits(stem, "kick"), detect_hits(stem, "snare")
    assert kicks.size == KICKS.size and np.abs(kicks - KICKS).max() < 0.01
    result = layer_drums(stem, samples={"kick": Audio(_kick(), RATE), "snare": Audio(_snare(2), RATE)})
    layered_snares = np.array([h.time_s for h in result.hits if h.role == "snare"])
    assert layered_snares.size == SNARES.size and np.abs(layered_snares - SNARES).max() < 0.01


def test_the_same_sample_lands_on_the_sample(stem: Audio) -> None:
    result = layer_drums(stem, roles=("kick",), samples={"kick": Audio(_kick(), RATE)})
    placed = np.array([h.placed_s for h in result.hits])
    assert np.abs(placed - KICKS).max() <= 1.5 / RATE
    assert min(h.correlation for h in result.hits) > 0.99


def test_layered_kicks_stay_phase_aligned(stem: Audio) -> None:
    """A different kick (another pitch and starting phase) is aligned: the low band rises at every hit."""
    other = Audio(_kick(freq_hz=62.0, phase=2.0), RATE)
    result = layer_drums(stem, roles=("kick",), samples={"kick": other}, blend_db=0.0)
    assert min(h.correlation for h in result.hits) > 0.5
    before = stem.samples[0].astype(np.float64)
    after = result.audio.samples[0].astype(np.float64)
    layer = result.layer.samples[0].astype(np.float64)
    for hit in KICKS:
        gain_db = 10 * np.log10(_low_energy(after, hit) / _low_energy(before, hit))
        assert gain_db > 3.0, (hit, gain_db)   # in phase: +6 dB for an equal layer, comb cancel would drop
        # the layer is positively correlated with the hit it joins (no polarity or half-cycle error)
        window = slice(round(hit * RATE), round((hit + 0.05) * RATE))
        assert np.corrcoef(before[window], layer[window])[0, 1] > 0.5
    assert np.array_equal(stem.samples, result.audio.samples - result.layer.samples) or \
        np.allclose(stem.samples, result.audio.samples - result.layer.samples, atol=1e-6)


def test_kit_from_a_folder(tmp_path, stem: Audio) -> None:
    kit_dir = tmp_path / "MyKit"
    kit_dir.mkdir()
    save_audio(Audio(np.stack([_kick(70.0)] * 2), RATE), kit_dir / "kick.wav")
    save_audio(Audio(np.stack([_snare(3)] * 2), RATE), kit_dir / "snare.wav")
    (kit_dir / "drumkit.xml").write_text(
        '<drumkit_info xmlns="http://www.hydrogen-music.org/drumkit"><name>MyKit</name><instrumentList>'
        '<instrument><name>Kick</name><layer><filename>kick.wav</filename><min>0</min><max>1</max></layer></instrument>'
        '<instrument><name>Snare</name><layer><filename>snare.wav</filename><min>0</min><max>1</max></layer></instrument>'
        '</instrumentList></drumkit_info>')
    kit = load_kit(kit_dir)
    assert (kit.name, kit.piece("kick"), kit.piece("snare")) == ("MyKit", "Kick", "Snare")
    result = layer_drums(stem, kit=kit)
    assert {h.role for h in result.hits} == {"kick", "snare"} and result.kit == "MyKit"


@pytest.mark.skipif(not list_kits(), reason="hydrogen-drumkits is not installed")
def test_installed_hydrogen_kit_layers(stem: Audio) -> None:
    result = layer_drums(stem)
    assert len([h for h in result.hits if h.role == "kick"]) == KICKS.size
    assert all(h.correlation > 0.2 for h in result.hits)


def test_errors(stem: Audio) -> None:
    with pytest.raises(MissingDependencyError, match="hydrogen-drumkits"):
        load_kit("no such kit")
    with pytest.raises(ParameterError, match="blend_db"):
        layer_drums(stem, blend_db=40.0, samples={"kick": stem, "snare": stem})
    with pytest.raises(ParameterError, match="drum role"):
        detect_hits(stem, "cowbell")
