"""The real-multitrack bench's own measurements (bench/realmix_measure.py) on signals with known answers,
and its set's fixed split."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))
measure = pytest.importorskip("realmix_measure")
realmix_set = pytest.importorskip("realmix_set")

RATE = 44100


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(15)


def _noise(rng: np.random.Generator, seconds: float = 3.0) -> np.ndarray:
    return (0.1 * rng.standard_normal((2, int(seconds * RATE)))).astype(np.float64)


def test_lag_and_polarity_find_a_known_delay_and_inversion(rng: np.random.Generator) -> None:
    part = _noise(rng)
    delay = 441  # 10 ms
    mix = np.zeros_like(part)
    mix[:, delay:] = -0.5 * part[:, :-delay]
    found = measure.lag_and_polarity(part, mix + 0.01 * _noise(rng), RATE)
    assert found["lag_s"] == pytest.approx(0.010, abs=1 / RATE)
    assert found["polarity"] == -1.0
    assert found["correlation"] < -0.9


def test_stem_gains_recover_the_gains_of_a_sum(rng: np.random.Generator) -> None:
    a, b = _noise(rng), _noise(rng)
    gains = measure.stem_gains(0.5 * a - 2.0 * b, {"a": a, "b": b})
    assert gains["a"] == pytest.approx(0.5, abs=1e-6)
    assert gains["b"] == pytest.approx(-2.0, abs=1e-6)
    assert measure.gain_db(gains["a"]) == pytest.approx(-6.02, abs=0.01)


def test_side_mid_of_known_images(rng: np.random.Generator) -> None:
    left = _noise(rng)[0]
    right = _noise(rng)[0]
    assert measure.side_mid_db(np.stack([left, left])) < -150  # mono
    assert measure.side_mid_db(np.stack([left, right])) == pytest.approx(0.0, abs=0.2)  # independent channels


def test_band_balance_sees_a_boost_in_one_octave_only() -> None:
    t = np.arange(int(4 * RATE)) / RATE
    tones = sum(np.sin(2 * np.pi * f * t) for f in (125.0, 1000.0, 4000.0)) * 0.05
    boosted = tones + 0.05 * np.sin(2 * np.pi * 1000.0 * t)  # the 1 kHz tone at twice its level
    diff = measure.band_balance_diff_db(np.stack([boosted, boosted]), np.stack([tones, tones]), RATE)
    # after loudness matching every band moves by the same offset, except 1 kHz which gains 6 dB on it
    assert diff["1000"] - diff["125"] == pytest.approx(6.02, abs=0.3)
    assert diff["4000"] - diff["125"] == pytest.approx(0.0, abs=0.3)


def test_band_balance_hears_an_opposite_polarity_mix(rng: np.random.Generator) -> None:
    """Channels in opposite polarity (a tracker's surround panning): the downmix holds only the
    file's noise floor, the summed channel powers hold the music."""
    t = np.arange(int(4 * RATE)) / RATE
    tones = sum(np.sin(2 * np.pi * f * t) for f in (125.0, 1000.0, 4000.0)) * 0.05
    floor = rng.normal(0, 1e-5, (2, t.size))                # two different noise floors
    a, b = np.stack([tones, -tones]) + floor, np.stack([tones, -tones]) + 2 * floor[::-1]
    assert max(abs(v) for v in measure.band_balance_diff_db(a, b, RATE).values()) < 0.1
    assert max(abs(v) for v in measure.band_balance_diff_db(a, b, RATE, downmix=True).values()) > 3.0
    # side/mid +80 dB against +74 dB: both beyond the ±40 dB the comparison clamps to
    assert measure.side_mid_diff_db(measure.side_mid_db(a), measure.side_mid_db(b)) == 0.0
    assert measure.side_mid_diff_db(-12.0, -14.5) == 2.5


def test_energy_below_a_high_pass_cutoff() -> None:
    t = np.arange(int(3 * RATE)) / RATE
    low, high = np.sin(2 * np.pi * 50.0 * t), np.sin(2 * np.pi * 2000.0 * t)
    full = np.stack([low + high, low + high]) * 0.1
    assert measure.energy_below_db(full, RATE, 100.0) == pytest.approx(-3.0, abs=0.5)  # half the power is at 50 Hz
    assert measure.energy_below_db(np.stack([high, high]) * 0.1, RATE, 100.0) < -40


def test_true_peak_and_loudness_of_a_full_scale_sine() -> None:
    t = np.arange(int(5 * RATE)) / RATE
    sine = np.sin(2 * np.pi * 997.0 * t)
    stereo = np.stack([sine, sine])
    assert measure.true_peak_dbtp(stereo) == pytest.approx(0.0, abs=0.05)
    assert measure.loudness_lufs(stereo, RATE) == pytest.approx(0.0, abs=0.1)  # two 0 dBFS channels: 0 LUFS (±0.1)
    assert measure.loudness_lufs(np.zeros((2, RATE)), RATE) == float("-inf")


def test_the_committed_split_is_the_seeded_one_and_covers_every_family() -> None:
    committed = json.loads((BENCH / "realmix_split.json").read_text())
    assert committed == realmix_set.make_split()
    ids = {s.id for s in realmix_set.SONGS}
    assert set(committed["dev"]) | set(committed["heldout"]) == ids
    assert not set(committed["dev"]) & set(committed["heldout"])
    families = {s.family for s in realmix_set.SONGS if s.id in committed["heldout"]}
    assert families == {s.family for s in realmix_set.SONGS}


def test_roles_from_names() -> None:
    assert realmix_set.role_from_name("kick_hard01") == "drums"
    assert realmix_set.role_from_name("bassdrum04") == "drums"
    assert realmix_set.role_from_name("bass_slap_02") == "bass"
    assert realmix_set.role_from_name("e-piano") == "keys"
    assert realmix_set.role_from_name("default_preset") == "other"
