"""The critique fires on constructed flawed drafts and stays quiet on their fixed counterparts."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from trackwright.analysis.analyze import Analysis, analyze
from trackwright.audio import Audio
from trackwright.produce.fluidsynth import render_midi
from trackwright.score.draft import compose_draft_with_truth, compose_song, pop_form_sections

RATE = 22050


def kinds(analysis: Analysis) -> set[str]:
    return {f.kind for f in analysis.findings}


@pytest.fixture(scope="module")
def looped_flat_draft() -> Analysis:
    midi, _ = compose_draft_with_truth(bars=32, bpm=110)
    return analyze(render_midi(midi, sample_rate=RATE))


@pytest.fixture(scope="module")
def pop_song() -> tuple[Audio, Analysis]:
    midi, _ = compose_song(pop_form_sections("C", seed=1), bpm=120, key="C", seed=1)
    audio = render_midi(midi, sample_rate=RATE)
    return audio, analyze(audio)


def test_loop_and_flat_arc_fire_on_the_draft(looped_flat_draft: Analysis) -> None:
    found = {f.kind: f for f in looped_flat_draft.findings}
    assert "looped_progression" in found and found["looped_progression"].severity == "major"
    assert found["looped_progression"].evidence["chords"] == ["C:maj", "G:maj", "A:min", "F:maj"]
    assert "C–G–Am–F" in found["looped_progression"].message
    assert "flat_dynamics" in found and found["flat_dynamics"].evidence["arc_range_lu"] < 3.0
    assert "abrupt_transition" not in found
    for finding in looped_flat_draft.findings:
        # the command now lives in ``fix``; ``suggestion`` says what to do in words
        assert finding.suggestion and "trackwright" in finding.suggestion + finding.fix or finding.kind.startswith("tonal_")


def test_the_fixed_song_is_quiet_and_its_strengths_are_named(pop_song: tuple[Audio, Analysis]) -> None:
    _, analysis = pop_song
    assert not kinds(analysis) & {"looped_progression", "flat_dynamics", "abrupt_transition"}
    strengths = {s.kind for s in analysis.strengths}
    assert {"steady_pulse", "clear_key", "dynamic_contrast", "smooth_transitions", "varied_form"} <= strengths


def test_a_hard_cut_mid_bar_fires_and_a_downbeat_cut_does_not(pop_song: tuple[Audio, Analysis]) -> None:
    audio, analysis = pop_song
    bar = 2.0  # 120 BPM
    verse2_start = 20 * bar
    chorus_start = 12 * bar
    # mid-bar: from 1.5 beats into bar 15 (inside the first chorus) straight into the bridge
    cut = round((14 * bar + 0.75) * RATE)
    bridge = round(36 * bar * RATE)
    spliced = Audio(np.concatenate((audio.samples[:, :cut], audio.samples[:, bridge:]), axis=1), RATE)
    # the splice clicks, so it is reported as what it is, a hard cut (an abrupt transition before this critique)
    found = [f for f in analyze(spliced).findings if f.kind in ("abrupt_transition", "hard_cut")]
    assert found and any(abs(f.start_s + 1.0 - cut / RATE) < bar for f in found), [f.message for f in found]
    # on the downbeat at a phrase boundary: chorus start joined to the second verse start — musically plain
    clean = Audio(np.concatenate((audio.samples[:, : round(chorus_start * RATE)],
                                  audio.samples[:, round(verse2_start * RATE):]), axis=1), RATE)
    assert "abrupt_transition" not in kinds(analyze(clean))


def test_a_chorus_played_four_times_verbatim_fires_and_a_varied_one_does_not() -> None:
    sections = pop_form_sections("G", seed=2)
    chorus = sections[2]
    repeated = sections[:3] + [chorus, sections[3], chorus, chorus]
    midi, _ = compose_song(repeated, bpm=120, key="G", seed=2)
    found = {f.kind: f for f in analyze(render_midi(midi, sample_rate=RATE)).findings}
    assert "verbatim_repeat" in found and found["verbatim_repeat"].severity == "major"
    assert found["verbatim_repeat"].evidence["passes"] == 4
    assert "repeats verbatim 4 times" in found["verbatim_repeat"].message

    varied = sections[:3] + [dataclasses.replace(chorus, lead_seed=11, parts=chorus.parts - {"pad"}), sections[3],
                             dataclasses.replace(chorus, lead_seed=12, velocity=96),
                             dataclasses.replace(chorus, lead_seed=13, parts=chorus.parts - {"drums"})]
    midi, _ = compose_song(varied, bpm=120, key="G", seed=2)
    assert "verbatim_repeat" not in kinds(analyze(render_midi(midi, sample_rate=RATE)))
