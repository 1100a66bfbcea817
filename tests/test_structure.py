"""Sections, repetition labels, roles and transitions against composed songs with known form."""

from __future__ import annotations

import dataclasses

import mir_eval
import numpy as np
import pytest

from trackwright.analysis.features import compute_features
from trackwright.analysis.rhythm import analyze_rhythm
from trackwright.analysis.structure import analyze_structure
from trackwright.audio import Audio
from trackwright.produce.fluidsynth import render_midi
from trackwright.score.draft import compose_song, pop_form_sections


def analyse(audio: Audio):  # noqa: ANN201 - test helper
    features = compute_features(audio)
    rhythm = analyze_rhythm(features)
    return rhythm, analyze_structure(features, rhythm)


def canonical(labels: list[str]) -> list[str]:
    """Rename labels in order of first appearance, so A B A and X Y X compare equal."""
    names: dict[str, str] = {}
    return [names.setdefault(label, chr(ord("A") + len(names))) for label in labels]


@pytest.mark.parametrize("key, bpm", [("C", 110), ("Am", 92), ("Eb", 76)])
def test_pop_form_sections_labels_and_roles(key: str, bpm: float) -> None:
    midi, truth = compose_song(pop_form_sections(key, seed=5), bpm=bpm, key=key, seed=5)
    _, structure = analyse(render_midi(midi, sample_rate=22050))
    reference = np.array([[s, e] for s, e, _, _ in truth.sections])
    estimated = np.array([[s.start_s, s.end_s] for s in structure.sections])
    estimated[-1, 1] = reference[-1, 1]
    assert mir_eval.segment.detection(reference, estimated, window=3.0)[2] >= 0.9
    assert mir_eval.segment.detection(reference, estimated, window=0.5)[2] >= 0.8
    assert canonical([s.label for s in structure.sections]) == canonical([label for _, _, label, _ in truth.sections])
    roles = [s.role for s in structure.sections]
    assert sum(r == t for r, (_, _, _, t) in zip(roles, truth.sections)) >= 7, roles
    assert structure.similarity.shape == (truth.bars, truth.bars)
    assert not any(t.abrupt for t in structure.transitions[:-1]), [t.reasons for t in structure.transitions]


def test_a_varied_repeat_gets_a_prime() -> None:
    sections = pop_form_sections("C", seed=1)
    sections[4] = dataclasses.replace(sections[4], lead_seed=999, parts=frozenset({"drums", "bass", "chords", "lead"}))
    midi, _ = compose_song(sections, bpm=110, key="C", seed=1)
    _, structure = analyse(render_midi(midi, sample_rate=22050))
    labels = [s.label for s in structure.sections]
    assert labels[2] == "C" and labels[4] == "C′" and labels[6] == "C", labels
    assert structure.sections[6].similarity >= 0.97 and structure.sections[4].similarity < 0.97


def test_a_hard_cut_mid_bar_is_abrupt() -> None:
    rate, bpm = 22050, 110.0
    bar = 4 * 60.0 / bpm
    first, _ = compose_song(pop_form_sections("C", seed=1)[:3], bpm=bpm, key="C", seed=1)
    second, _ = compose_song(pop_form_sections("F#", seed=2)[5:6], bpm=bpm, key="F#", seed=2)
    a, b = render_midi(first, sample_rate=rate), render_midi(second, sample_rate=rate)
    cut = round((16 * bar + 1.5 * 60.0 / bpm) * rate)  # 1.5 beats into bar 17, inside the chorus
    spliced = Audio(np.concatenate((a.samples[:, :cut], b.samples[:, round(0.3 * rate): round(12 * bar * rate)]), axis=1),
                    rate)
    _, structure = analyse(spliced)
    cut_s = cut / rate
    near = [t for t in structure.transitions if abs(t.time_s - cut_s) < bar]
    assert near, [(t.time_s, t.reasons) for t in structure.transitions]
    assert near[0].abrupt and any("off the downbeat" in r or "mid-phrase" in r for r in near[0].reasons), near[0]
