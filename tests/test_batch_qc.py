"""Catalogue QC: each rule fires on audio with that problem planted, and not on its clean twin."""

from __future__ import annotations

import numpy as np
import pytest
from batch_fixtures import RATE, VARIED, chord_song, click_track, fade_out
from signals import music_like

from trackwright.analysis.analyze import analyze
from trackwright.analysis.brief import Brief
from trackwright.audio import Audio
from trackwright.batch.qc import (
    NEEDS_WORK,
    READY,
    REJECT,
    QcFacts,
    judge,
    measure_facts,
)


def verdict_of(samples: np.ndarray, brief: Brief | None = None) -> tuple[QcFacts, dict[str, str], str]:
    """(facts, {rule: level}, verdict) of ``samples`` at the fixtures' rate."""
    audio = Audio(samples, RATE)
    facts = measure_facts(audio, analyze(audio, brief=brief))
    result = judge(facts)
    return facts, {r.rule: r.level for r in result.reasons}, result.verdict


@pytest.fixture(scope="module")
def clean() -> np.ndarray:
    """20 s of a chord song in C that fades out: nothing to flag."""
    return fade_out(chord_song(VARIED[:10]))


def test_a_clean_song_is_ready(clean: np.ndarray) -> None:
    facts, rules, verdict = verdict_of(clean)
    assert verdict == READY and rules == {}
    assert facts.lead_silence_s < 0.2 and facts.tail_silence_s < 1.0 and facts.clipped_runs == 0


def test_clipping_baked_into_the_audio_is_a_reject(clean: np.ndarray) -> None:
    clipped = np.clip(clean * 6.0, -1.0, 1.0)
    runs = int(sum(np.count_nonzero(np.diff((np.abs(ch) >= 0.999).astype(int)) == 1) for ch in clipped))
    facts, rules, verdict = verdict_of(clipped)
    assert runs > 20 * 3  # planted: well over one flat top per second
    assert rules["clipping"] == REJECT and verdict == REJECT
    assert facts.clipped_runs >= runs // 2


def test_inter_sample_overs_without_clipping_need_a_master(clean: np.ndarray) -> None:
    samples = clean * np.float32(1.9)
    start, n = round(5.0 * RATE), round(0.2 * RATE)
    burst = 1.3 * np.sin(np.pi / 2 * np.arange(n) + np.pi / 4)  # fs/4 at 45°: samples ±0.92, true peak 1.3
    samples[:, start: start + n] = burst
    assert np.abs(samples).max() < 0.99
    facts, rules, verdict = verdict_of(samples)
    assert rules.get("true_peak_over") == NEEDS_WORK and "clipping" not in rules
    assert facts.true_peak_dbtp == pytest.approx(20 * np.log10(1.3), abs=0.3)
    assert verdict == NEEDS_WORK


def test_leading_and_trailing_silence_are_measured_and_flagged(clean: np.ndarray) -> None:
    padded = np.concatenate([np.zeros((2, 3 * RATE)), clean, np.zeros((2, 5 * RATE))], axis=1).astype(np.float32)
    facts, rules, _ = verdict_of(padded)
    assert facts.lead_silence_s == pytest.approx(3.0, abs=0.1)
    assert 5.0 <= facts.tail_silence_s <= 6.6  # 5 s planted plus the fade's quiet end
    assert rules["lead_silence"] == NEEDS_WORK and rules["tail_silence"] == NEEDS_WORK


def test_a_track_that_is_mostly_silence_is_rejected(clean: np.ndarray) -> None:
    mostly = np.concatenate([clean[:, : 4 * RATE], np.zeros((2, 12 * RATE), np.float32)], axis=1)
    facts, rules, verdict = verdict_of(mostly)
    assert facts.silent_share == pytest.approx(0.75, abs=0.05)
    assert rules["silence"] == REJECT and verdict == REJECT


def test_a_cut_off_ending_is_truncated_and_a_fade_is_not() -> None:
    song = chord_song(VARIED[:10])
    cut = song[:, : round(19.3 * RATE)]  # mid-chord
    _, rules_cut, _ = verdict_of(cut)
    _, rules_faded, _ = verdict_of(fade_out(cut))
    assert rules_cut.get("truncated_ending") == NEEDS_WORK
    assert "truncated_ending" not in rules_faded


def test_chromatic_noodling_has_a_weak_key_and_a_chord_song_a_clear_one(clean: np.ndarray) -> None:
    facts, rules, _ = verdict_of(fade_out(music_like(20.0, RATE, seed=1)))
    clear, clear_rules, _ = verdict_of(clean)
    assert rules.get("weak_key") == NEEDS_WORK and "weak_key" not in clear_rules
    assert clear.key == "C major" and clear.key_confidence > facts.key_confidence + 0.4


@pytest.fixture(scope="module")
def steady() -> tuple[QcFacts, dict[str, str]]:
    facts, rules, _ = verdict_of(fade_out(click_track(110, 110, 60.0)))
    return facts, rules


def test_a_drifting_tempo_is_unstable_and_a_steady_one_is_not(steady: tuple[QcFacts, dict[str, str]]) -> None:
    drifting, rules, _ = verdict_of(fade_out(click_track(95, 125, 60.0)))
    steady_facts, steady_rules = steady
    assert rules.get("tempo_instability") == NEEDS_WORK and "tempo_instability" not in steady_rules
    assert drifting.tempo_spread_pct > 3 * steady_facts.tempo_spread_pct


def test_a_minute_at_one_level_has_a_flat_arc_and_a_build_does_not(steady: tuple[QcFacts, dict[str, str]]) -> None:
    clicks = fade_out(click_track(110, 110, 60.0))
    build = clicks * np.linspace(0.1, 1.0, clicks.shape[1], dtype=np.float32)  # −20 dB to 0 dB
    facts, rules, _ = verdict_of(build)
    flat_facts, flat_rules = steady
    assert flat_rules.get("flat_arc") == NEEDS_WORK and flat_facts.arc_range_lu < 2.0
    assert "flat_arc" not in rules and facts.arc_range_lu > 8.0


def test_a_four_chord_cycle_throughout_is_looped_harmony() -> None:
    loop_facts, loop_rules, _ = verdict_of(fade_out(chord_song(["C", "G", "Am", "F"] * 8)))
    _, varied_rules, _ = verdict_of(fade_out(chord_song(VARIED * 2)))
    assert loop_rules.get("looped_harmony") == NEEDS_WORK and loop_facts.loop_repetitions >= 6
    assert "looped_harmony" not in varied_rules


def test_length_against_the_brief(clean: np.ndarray) -> None:
    audio = Audio(clean, RATE)
    analysis = analyze(audio)
    for wanted_s, expected in ((20.0, None), (30.0, NEEDS_WORK), (60.0, REJECT)):
        facts = measure_facts(audio, analysis)
        facts = QcFacts.from_dict({**facts.to_dict(), "brief_duration_s": wanted_s, "brief_tolerance_s": 1.0})
        levels = {r.rule: r.level for r in judge(facts).reasons}
        assert levels.get("length_vs_brief") == expected, wanted_s


def test_the_brief_reaches_the_facts_through_the_analysis(clean: np.ndarray) -> None:
    facts, rules, verdict = verdict_of(clean, brief=Brief(title="cue", duration_s=45.0, tolerance_s=2.0))
    assert facts.brief_duration_s == 45.0 and rules["length_vs_brief"] == REJECT and verdict == REJECT


def test_facts_round_trip_through_json(clean: np.ndarray) -> None:
    facts, _, _ = verdict_of(clean)
    again = QcFacts.from_dict({**facts.to_dict(), "from_a_newer_version": 1})
    assert judge(again) == judge(facts)
