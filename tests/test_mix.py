"""Mixing stems: the source's balance kept, unmasking makes a masked part audible, no high-pass on a
full-band stem, the space held on a near-mono source, decisions round-trip."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from trackwright.analysis.loudness import measure_loudness
from trackwright.audio import Audio
from trackwright.errors import ParameterError
from trackwright.mix.mixer import MixPlan, apply_mix, band_levels_db, masking_ratio_db, mix_stems, plan_mix

RATE = 22050
SECONDS = 8.0


def _stereo(x: np.ndarray) -> Audio:
    return Audio(np.stack([x, x]).astype(np.float32), RATE)


@pytest.fixture(scope="module")
def stems() -> dict[str, Audio]:
    t = np.arange(round(SECONDS * RATE)) / RATE
    rng = np.random.default_rng(0)
    phase = 2 * np.pi * np.cumsum(220 * (1 + 0.02 * np.sin(2 * np.pi * 5 * t))) / RATE
    # a voice: harmonics of 220 Hz with a presence formant at 2–3.5 kHz, in syllables
    voice = sum((1.0 if 1800 < k * 220 < 3500 else 0.2) / np.sqrt(k) * np.sin(k * phase) for k in range(1, 40))
    voice *= (np.sin(2 * np.pi * 2 * t) > -0.3)
    # a pad that crowds the voice's presence band (and everything around it)
    pad = signal.sosfilt(signal.butter(2, [2000, 3500], "bandpass", fs=RATE, output="sos"), rng.normal(0, 1, t.size))
    pad += 0.3 * signal.sosfilt(signal.butter(2, [200, 800], "bandpass", fs=RATE, output="sos"), rng.normal(0, 1, t.size))
    bass = 0.4 * np.sin(2 * np.pi * 55 * t) + 0.1 * rng.normal(0, 0.05, t.size)
    drums = np.zeros_like(t)
    for beat in np.arange(0, SECONDS, 0.5):
        i = round(beat * RATE)
        n = min(4000, t.size - i)
        drums[i:i + n] += np.sin(2 * np.pi * 60 * np.arange(n) / RATE) * np.exp(-np.arange(n) / 1500)
    return {"Lead Vocals": _stereo(0.05 * voice), "Synth Pad": _stereo(0.5 * pad), "bass": _stereo(0.3 * bass),
            "drums": _stereo(0.6 * drums)}


def test_roles_come_from_the_one_reader(stems) -> None:
    plan = plan_mix(stems, style="pop", target="none", unmask=False)
    assert {n: p.role for n, p in plan.parts.items()} == \
        {"Lead Vocals": "vocals", "Synth Pad": "pad", "bass": "bass", "drums": "drums"}
    given = plan_mix(stems, style="pop", target="none", unmask=False, roles={"Synth Pad": "keys"})
    assert given.parts["Synth Pad"].role == "keys"


def test_the_mix_starts_from_the_source_balance(stems) -> None:
    """Without a measured problem nothing moves: each part keeps its loudness (±0.5 LU), pan and width."""
    plan = plan_mix(stems, style="pop", target="none", unmask=False)
    result = apply_mix(stems, plan)
    for name, audio in stems.items():
        before = measure_loudness(audio).integrated_lufs
        after = measure_loudness(result.parts[name]).integrated_lufs
        assert abs(after - before) < 0.5, (name, before, after, plan.parts[name].why)
        assert plan.parts[name].pan == 0.0 and plan.parts[name].width == 1.0
    assert plan.parts["Synth Pad"].highpass_hz == 100.0          # its power under 100 Hz is rumble, < 1 %
    assert plan.parts["bass"].highpass_hz == 0.0 and plan.parts["drums"].highpass_hz == 0.0
    low = band_levels_db(result.parts["Synth Pad"])[:2].max()      # 63–80 Hz after its high-pass
    assert low < band_levels_db(stems["Synth Pad"])[:2].max() + plan.parts["Synth Pad"].gain_db - 6.0


def test_unmasking_makes_the_masked_voice_audible(stems) -> None:
    carved = plan_mix(stems, style="pop", target="none")
    plain = plan_mix(stems, style="pop", target="none", unmask=False)
    cuts = carved.parts["Synth Pad"].cuts
    assert cuts and all(c["for"] == "Lead Vocals" for c in cuts) and all(1800 < c["freq_hz"] < 4000 for c in cuts)
    assert not carved.parts["Lead Vocals"].cuts                          # the voice is never carved for a pad
    with_cuts, without = apply_mix(stems, carved), apply_mix(stems, plain)

    def clarity(result) -> float:
        return masking_ratio_db(result.parts["Lead Vocals"],
                                [a for n, a in result.parts.items() if n != "Lead Vocals"], band_hz=(2500, 3200))

    assert clarity(with_cuts) > clarity(without) + 2.0  # the carve makes room
    assert all(-4.0 <= c["gain_db"] <= -2.0 for c in cuts)  # capped


def test_mix_is_mastered_and_explained(stems) -> None:
    result = apply_mix(stems, plan_mix(stems, style="cinematic"))
    report = measure_loudness(result.audio)
    assert abs(report.integrated_lufs - (-14.0)) < 0.3 and report.true_peak_dbtp <= -0.95
    data = result.to_dict()
    assert data["plan"]["style"] == "cinematic" and data["plan"]["bus"]["reverb"]["room_size"] == 0.85
    assert any("masks Lead Vocals" in why for why in data["plan"]["parts"]["Synth Pad"]["why"])
    assert "threshold_db" in data["plan"]["bus"]["glue"]


def test_a_revised_plan_renders_without_re_deciding(stems) -> None:
    plan = plan_mix(stems, style="intimate", target="none")
    data = plan.to_dict()
    data["parts"]["bass"]["gain_db"] -= 6.0
    revised = MixPlan.from_dict(data)
    a, b = apply_mix(stems, plan), apply_mix(stems, revised)
    drop = measure_loudness(a.parts["bass"]).integrated_lufs - measure_loudness(b.parts["bass"]).integrated_lufs
    assert abs(drop - 6.0) < 1.0
    assert np.array_equal(a.parts["drums"].samples, b.parts["drums"].samples)


def test_bad_input() -> None:
    with pytest.raises(ParameterError, match="unknown mix style 'loud'"):
        plan_mix({"a": _stereo(np.zeros(RATE))}, style="loud")
    with pytest.raises(ParameterError, match="share one sample rate and length"):
        plan_mix({"a": _stereo(np.ones(RATE)), "b": _stereo(np.ones(RATE // 2))})
    with pytest.raises(ParameterError, match="mix.parts.x.role: must be one of"):
        MixPlan.from_dict({"style": "pop", "parts": {"x": {"role": "kazoo"}}})


def _tone(hz: float, amp: float, seconds: float = SECONDS) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    return amp * np.sin(2 * np.pi * hz * t)


def test_no_high_pass_on_a_full_band_stem() -> None:
    """A stem that carries the low end (here 91 % of its power under 100 Hz) keeps it, whatever its role."""
    rng = np.random.default_rng(4)
    band = _tone(55, 0.3) + sum(_tone(f, 0.05) for f in (220, 277, 330)) + 0.01 * rng.normal(size=round(SECONDS * RATE))
    guitar = sum(_tone(f, 0.08) * (1 + 0.3 * np.sin(2 * np.pi * 3 * np.arange(round(SECONDS * RATE)) / RATE))
                 for f in (196, 392, 784))
    stems = {"band": _stereo(band), "guitar": _stereo(guitar)}
    for role in ("other", "guitar", "keys", "pad"):
        plan = plan_mix(stems, style="pop", target="none", roles={"band": role})
        assert plan.parts["band"].highpass_hz == 0.0, (role, plan.parts["band"].why)
        assert role == "other" or any("carries low end" in why for why in plan.parts["band"].why)
    mixed = apply_mix(stems, plan)
    source = sum(a.samples.astype(np.float64) for a in stems.values())
    # the 63 Hz octave of the mix within 1 dB of the source's (against the total's level)
    def low_share(x: np.ndarray) -> float:
        spectrum = np.abs(np.fft.rfft(x.mean(axis=0))) ** 2
        freqs = np.fft.rfftfreq(x.shape[1], 1 / RATE)
        return 10 * np.log10(spectrum[(freqs > 44) & (freqs < 89)].sum() / spectrum.sum())
    assert abs(low_share(mixed.premaster.samples) - low_share(source)) < 1.0


def _octave_db(x: np.ndarray, lo_hz: float, hi_hz: float) -> float:
    """Energy of channels × frames ``x`` (mono sum) between ``lo_hz`` and ``hi_hz`` re its whole, dB."""
    spectrum = np.abs(np.fft.rfft(x.mean(axis=0))) ** 2
    freqs = np.fft.rfftfreq(x.shape[1], 1 / RATE)
    return float(10 * np.log10(spectrum[(freqs > lo_hz) & (freqs < hi_hz)].sum() / spectrum.sum()))


def test_no_high_pass_on_a_tonal_stem_that_carries_the_songs_low_end() -> None:
    """A piano whose low note is under 1 % of its own power (rumble by its own share) but the only
    thing in the mix's 63 Hz octave keeps it: the high-pass is judged by what it takes from the mix."""
    piano = _tone(49, 0.02) + sum(_tone(f, 0.15) for f in (262, 330, 392))
    lead = sum(_tone(f, 0.05) for f in (1047, 2093))
    stems = {"piano": _stereo(piano), "lead": _stereo(lead)}
    plan = plan_mix(stems, style="pop", target="none", roles={"piano": "keys", "lead": "lead"})
    assert plan.parts["piano"].highpass_hz == 0.0, plan.parts["piano"].why
    assert any("low octaves" in why for why in plan.parts["piano"].why)
    played = apply_mix(stems, plan).parts["piano"].samples.astype(np.float64)
    assert abs(_octave_db(played, 44, 89) - _octave_db(stems["piano"].samples, 44, 89)) < 1.0
    # the same piano over a bass that owns the low octave: its low note is rumble there, and goes
    with_bass = {**stems, "bass": _stereo(_tone(49, 0.4) + _tone(98, 0.2))}
    plan = plan_mix(with_bass, style="pop", target="none", roles={"piano": "keys", "lead": "lead", "bass": "bass"})
    assert plan.parts["piano"].highpass_hz == 80.0, plan.parts["piano"].why


def test_space_keeps_a_near_mono_source_near_mono() -> None:
    """A mono source: the reverb widens it by at most 1 dB of side/mid more than the dry parts would
    (the cinematic style's return is lowered and says why)."""
    rng = np.random.default_rng(5)
    t = np.arange(round(SECONDS * RATE)) / RATE
    left = _tone(220, 0.2) * (np.sin(2 * np.pi * 1.5 * t) > 0) + 0.003 * rng.normal(size=t.size)
    right = left + 0.02 * rng.normal(size=t.size) * 0.1  # side/mid about −40 dB
    stems = {"keys": Audio(np.stack([left, right]).astype(np.float32), RATE), "bass": _stereo(_tone(55, 0.2))}
    result = mix_stems(stems, style="cinematic", target="none")
    assert any("reverb return" in why for why in result.plan.bus["why"])
    balance = result.balance["(all)"]
    wet = result.premaster.samples.astype(np.float64)
    side_mid = 10 * np.log10(np.sum((wet[0] - wet[1]) ** 2) / np.sum((wet[0] + wet[1]) ** 2))
    assert side_mid - balance["after"]["side_mid_db"] < 1.0 + 0.2
    assert result.plan.parts["keys"].width <= 10 ** (3 / 20)


def test_space_keeps_an_out_of_phase_source_wide() -> None:
    """A source whose channels are in opposite polarity (nearly all side, as a tracker's surround
    panning leaves it) under a central reverb: the return allowed narrows it by at most 1 dB."""
    from trackwright.mix.mixer import _space_return_db

    rng = np.random.default_rng(6)
    keys = _tone(330, 0.2)
    dry = np.stack([keys, -0.9 * keys])                                  # side/mid +26 dB
    wet = np.stack([rng.normal(0, 0.1, keys.size)] * 2)                  # all mid

    def side_mid(x: np.ndarray) -> float:
        return float(10 * np.log10(np.sum((x[0] - x[1]) ** 2) / np.sum((x[0] + x[1]) ** 2)))

    gain = 10 ** (_space_return_db(dry, wet) / 20)
    assert side_mid(dry + gain * wet) > side_mid(dry) - 1.05


def test_a_mono_source_stays_mono() -> None:
    """Identical channels: no reverb return fits within 1 dB of side/mid, so there is none, and the
    mix comes out as mono as it went in (side under −100 dB re mid)."""
    keys = _tone(330, 0.2) * (np.sin(2 * np.pi * 1.5 * np.arange(round(SECONDS * RATE)) / RATE) > 0)
    stems = {"keys": _stereo(keys), "bass": _stereo(_tone(82, 0.2))}
    result = mix_stems(stems, style="cinematic", target="none")
    assert result.plan.bus["reverb"]["return_db"] is None
    assert any("no reverb" in why for why in result.plan.bus["why"])
    x = result.premaster.samples.astype(np.float64)
    assert 10 * np.log10(np.sum((x[0] - x[1]) ** 2) + 1e-30) - 10 * np.log10(np.sum((x[0] + x[1]) ** 2)) < -100


def test_an_out_of_phase_source_gets_the_bus_eq_of_its_in_phase_twin(stems) -> None:
    """The same parts with the right channel in opposite polarity: the tonal analysis hears the
    music, not the mid's silence, so the bus EQ moves are the same."""
    flipped = {n: Audio(np.stack([a.samples[0], -a.samples[1]]), RATE) for n, a in stems.items()}
    same = plan_mix(stems, style="pop", target="none", unmask=False).bus["eq"]
    other = plan_mix(flipped, style="pop", target="none", unmask=False).bus["eq"]
    assert [(m["band"], m["gain_db"]) for m in other] == [(m["band"], m["gain_db"]) for m in same]


def test_balance_report_before_and_after(stems) -> None:
    result = mix_stems(stems, style="pop", target="none")
    report = result.balance
    assert set(report) == {*stems, "(all)"}
    for name, audio in stems.items():
        row = report[name]
        assert abs(row["before"]["loudness_lufs"] - measure_loudness(audio).integrated_lufs) < 0.05
        assert set(row["before"]["bands_db"]) == {"63", "125", "250", "500", "1000", "2000", "4000", "8000"}
    assert report["Synth Pad"]["after"]["bands_db"]["4000"] <= report["Synth Pad"]["before"]["bands_db"]["4000"]
