"""Automation moves: exact inside, untouched outside, smooth at the edges, linear (parts still sum)."""

from __future__ import annotations

import numpy as np
import pytest

from trackwright.audio import Audio
from trackwright.errors import ParameterError
from trackwright.mix.automation import Move, apply_moves, moves_from_list

SR = 48000


def _noise(seconds: float = 6.0, seed: int = 0) -> Audio:
    rng = np.random.default_rng(seed)
    return Audio((rng.standard_normal((2, int(seconds * SR))) * 0.1).astype(np.float32), SR)


def test_gain_is_exact_inside_and_nothing_changes_outside() -> None:
    audio = _noise()
    out = apply_moves(audio, "keys", [Move(2.0, 4.0, "keys", "gain", -6.0, ramp_s=0.2)])
    inside = slice(int(2.2 * SR), int(3.8 * SR))
    assert np.allclose(out.samples[:, inside], audio.samples[:, inside] * 10 ** (-6 / 20), atol=1e-6)
    outside = np.r_[0: int(1.89 * SR), int(4.11 * SR): audio.frames]
    assert np.array_equal(out.samples[:, outside], audio.samples[:, outside])


def test_moves_for_other_parts_leave_a_part_alone() -> None:
    audio = _noise()
    assert apply_moves(audio, "bass", [Move(1.0, 2.0, "keys", "mute")]) is audio


def test_ramps_do_not_click() -> None:
    t = np.arange(4 * SR) / SR
    tone = Audio(np.tile(0.5 * np.sin(2 * np.pi * 220 * t), (2, 1)).astype(np.float32), SR)
    out = apply_moves(tone, "x", [Move(1.0, 3.0, "*", "mute")])
    own = np.abs(np.diff(tone.samples[0])).max()
    assert np.abs(np.diff(out.samples[0])).max() <= own * 1.01
    assert np.abs(out.samples[:, int(1.5 * SR): int(2.5 * SR)]).max() == 0.0


@pytest.mark.parametrize("kind", ["gain", "high_shelf", "low_shelf", "presence_dip", "low_mid", "width", "mute"])
def test_every_kind_is_linear_so_processed_parts_sum_to_the_processed_mix(kind: str) -> None:
    a, b = _noise(seed=1), _noise(seed=2)
    move = [Move(1.0, 4.0, "*", kind, 0.5 if kind == "width" else -4.0)]
    summed = apply_moves(a, "a", move).samples + apply_moves(b, "b", move).samples
    mix = apply_moves(Audio(a.samples + b.samples, SR), "mix", move).samples
    assert np.abs(summed - mix).max() < 1e-5


def test_shelves_move_the_spectrum_the_way_they_say() -> None:
    audio = _noise(seconds=4.0)
    out = apply_moves(audio, "x", [Move(0.0, 4.0, "*", "high_shelf", -6.0, ramp_s=0.0)])
    spectrum = lambda x: np.abs(np.fft.rfft(x[0, SR: 3 * SR])) ** 2  # noqa: E731
    freqs = np.fft.rfftfreq(2 * SR, 1 / SR)
    high = freqs > 10000
    ratio = 10 * np.log10(spectrum(out.samples)[high].sum() / spectrum(audio.samples)[high].sum())
    assert ratio == pytest.approx(-6.0, abs=1.0)


def test_bad_moves_are_refused_naming_the_field() -> None:
    with pytest.raises(ParameterError, match="kind must be one of"):
        Move(0.0, 1.0, "*", "chorus")
    with pytest.raises(ParameterError, match=r"automation\[0\]: automation needs 0 <= start_s < end_s"):
        moves_from_list([{"start_s": 3, "end_s": 1, "target": "*", "kind": "gain"}])
    with pytest.raises(ParameterError, match=r"automation\[0\].kind: missing"):
        moves_from_list([{"start_s": 0, "end_s": 1, "target": "*"}])
    move = Move(1.0, 2.0, "bass", "gain", -3.0, reason="quieter bass")
    assert Move.from_dict(move.to_dict()) == move


def test_saturation_leaves_quiet_material_and_rounds_peaks() -> None:
    quiet = Audio(_noise(seed=3).samples * 0.05, SR)  # peaks near −34 dBFS
    loud = _noise(seed=3).samples * 8
    move = [Move(0.0, 6.0, "*", "saturation", 12.0, ramp_s=0.0)]
    soft = apply_moves(quiet, "x", move).samples[:, SR: 2 * SR]
    assert np.abs(soft - quiet.samples[:, SR: 2 * SR]).max() < 0.01 * np.abs(quiet.samples).max()
    peaks = apply_moves(Audio(loud, SR), "x", move).samples
    assert np.abs(peaks).max() < 0.3 * np.abs(loud).max()


def test_reverb_rings_on_after_its_span_and_nowhere_before() -> None:
    audio = _noise(seconds=8.0)
    out = apply_moves(audio, "x", [Move(2.0, 3.0, "*", "reverb", -6.0, ramp_s=0.1)])
    before = slice(0, int(1.9 * SR))
    assert np.array_equal(out.samples[:, before], audio.samples[:, before])
    tail = slice(int(3.5 * SR), int(4.5 * SR))  # after the span: the room still sounds
    assert np.abs(out.samples[:, tail] - audio.samples[:, tail]).max() > 1e-3
