"""Mixing stems: gain staging by role, unmasking makes a masked part audible, decisions round-trip."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from trackwright.analysis.loudness import measure_loudness
from trackwright.audio import Audio
from trackwright.errors import ParameterError
from trackwright.mix.mixer import MixPlan, apply_mix, band_levels_db, guess_role, masking_ratio_db, plan_mix

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


def test_roles_from_names() -> None:
    assert [guess_role(n) for n in ("Lead Vocals", "Synth Pad", "808", "Kick", "Piano L", "whatever")] == \
        ["vocals", "pad", "bass", "drums", "keys", "other"]


def test_gain_staging_puts_parts_at_their_role_levels(stems) -> None:
    plan = plan_mix(stems, style="pop", target="none", unmask=False)
    result = apply_mix(stems, plan)
    vocal = measure_loudness(result.parts["Lead Vocals"]).integrated_lufs
    pad = measure_loudness(result.parts["Synth Pad"]).integrated_lufs
    assert vocal - pad > 5.0           # the pad sits 8 LU under the voice, less its compression
    assert plan.parts["Synth Pad"].highpass_hz == 150.0 and plan.parts["bass"].width == 0.0
    low = band_levels_db(result.parts["Synth Pad"])[:3].max()      # 63–100 Hz after its high-pass
    assert low < band_levels_db(stems["Synth Pad"])[:3].max() + plan.parts["Synth Pad"].gain_db - 6.0


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

    before = masking_ratio_db(stems["Lead Vocals"], [a for n, a in stems.items() if n != "Lead Vocals"],
                              band_hz=(2500, 3200))
    assert clarity(without) > before                    # gain staging alone helps …
    assert clarity(with_cuts) > clarity(without) + 2.0  # … and the carve does the rest


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
