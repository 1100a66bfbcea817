"""Expression: the dynamic arc widens a flat draft's loudness range; humanise is bounded and seeded;
legato overlaps sustained notes."""

from __future__ import annotations

import dataclasses

import mido
import numpy as np
import pytest

from trackwright.analysis.loudness import measure_loudness
from trackwright.arrange.midi import midi_notes
from trackwright.errors import ParameterError
from trackwright.produce.expression import Arc, arc_from_sections, humanize, legato, shape_dynamics
from trackwright.produce.fluidsynth import render_midi
from trackwright.score.draft import FLAT_VELOCITY, compose_song, pop_form_sections

RATE = 16000
BPM = 120.0
BAR_S = 4 * 60.0 / BPM


@pytest.fixture(scope="module")
def flat_song() -> tuple[mido.MidiFile, list[tuple[float, float, str]]]:
    """The pop form, two bars a section, every part playing and every note at one velocity."""
    parts = frozenset({"drums", "bass", "chords", "pad", "lead"})
    sections = [dataclasses.replace(s, bars=2, velocity=FLAT_VELOCITY, parts=parts) for s in pop_form_sections()]
    midi, info = compose_song(sections, bpm=BPM, programs={"chords": 48})
    return midi, [(start, end, role) for start, end, _, role in info.sections]


def _velocities(midi: mido.MidiFile) -> list[int]:
    return [m.velocity for t in midi.tracks for m in t if m.type == "note_on" and m.velocity > 0]


def test_arc_follows_the_form(flat_song) -> None:
    _, sections = flat_song
    arc = arc_from_sections(sections, bar_s=BAR_S)
    middle = {role: float(arc.at((s + e) / 2)) for s, e, role in sections}
    assert middle["chorus"] > middle["verse"] > middle["intro"]
    chorus_start = next(s for s, _, role in sections if role == "chorus")
    assert arc.at(chorus_start - BAR_S / 2) > arc.at(chorus_start - BAR_S + 0.05)   # swell
    assert arc.at(chorus_start - 0.1) < arc.at(chorus_start - BAR_S / 4 - 0.1)       # hold back
    assert arc.at(sections[-1][1]) < 0.2                                               # release


def test_dynamics_shaping_raises_the_loudness_range(flat_song) -> None:
    midi, sections = flat_song
    shaped = shape_dynamics(midi, arc_from_sections(sections, bar_s=BAR_S))
    assert len(set(_velocities(midi))) == 1 and len(set(_velocities(shaped))) > 10
    before = measure_loudness(render_midi(midi, sample_rate=RATE, tail_s=0.5)).loudness_range_lu
    after = measure_loudness(render_midi(shaped, sample_rate=RATE, tail_s=0.5)).loudness_range_lu
    assert after > before + 3.0, (before, after)
    assert [n[:2] for n in midi_notes(shaped)] == [n[:2] for n in midi_notes(midi)]  # timing untouched


def test_controllers_are_drawn_on_melodic_channels_only(flat_song) -> None:
    midi, sections = flat_song
    shaped = shape_dynamics(midi, arc_from_sections(sections, bar_s=BAR_S))
    cc = [(m.channel, m.control) for t in shaped.tracks for m in t if m.type == "control_change"]
    assert (4, 1) in cc or (2, 1) in cc          # pad / strings get CC1
    assert all(channel != 9 for channel, _ in cc)
    assert {(c, 11) for c in (1, 2, 3, 4)} <= set(cc)
    assert (1, 1) not in cc                       # bass (program 33) does not sustain: no CC1


def test_humanize_is_bounded_and_seeded(flat_song) -> None:
    midi, _ = flat_song
    one, again, other = humanize(midi, seed=7), humanize(midi, seed=7), humanize(midi, seed=8)
    before, after = midi_notes(midi), midi_notes(one)
    assert len(after) == len(before)
    shifts = np.array([a[0] - b[0] for a, b in zip(sorted(after, key=lambda n: (n[2], n[3], n[0])),
                                                      sorted(before, key=lambda n: (n[2], n[3], n[0])))])
    assert np.abs(shifts).max() <= 0.0101 and np.abs(shifts).std() > 0.002
    steps = np.array(_velocities(one)) - FLAT_VELOCITY
    assert np.abs(steps).max() <= 8 and len(set(steps)) > 5
    assert [t for t in one.tracks] == [t for t in again.tracks]
    assert midi_notes(other) != after
    with pytest.raises(ParameterError, match="timing_ms must be"):
        humanize(midi, seed=1, timing_ms=80)


def test_legato_overlaps_sustained_notes_only() -> None:
    midi = mido.MidiFile(type=1, ticks_per_beat=480)
    for name, program, channel in (("strings", 48, 0), ("piano", 0, 1)):
        track = mido.MidiTrack([mido.MetaMessage("track_name", name=name, time=0),
                                mido.Message("program_change", program=program, channel=channel, time=0)])
        for pitch in (60, 62, 64):  # 0.4 s notes each half second (120 BPM default tempo)
            track.append(mido.Message("note_on", note=pitch, velocity=90, channel=channel, time=0))
            track.append(mido.Message("note_off", note=pitch, velocity=0, channel=channel, time=384))
            track.append(mido.Message("note_off", note=0, velocity=0, channel=channel, time=96))
        midi.tracks.append(track)
    joined = midi_notes(legato(midi, overlap_s=0.04))
    strings = [n for n in joined if n[2] == 0]
    piano = [n for n in joined if n[2] == 1]
    assert [round(n[1] - n[0], 3) for n in strings] == [0.54, 0.54, 0.4]
    assert [round(n[1] - n[0], 3) for n in piano] == [0.4, 0.4, 0.4]


def test_arc_validation() -> None:
    with pytest.raises(ParameterError, match="levels must be 0…1"):
        Arc.from_points([(0.0, 0.2), (1.0, 1.5)])
    with pytest.raises(ParameterError, match="at least one section"):
        arc_from_sections([], bar_s=2.0)
