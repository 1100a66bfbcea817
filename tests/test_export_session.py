"""The export Session: the tempo map converts seconds ↔ beats exactly, a measured grid becomes a
tempo map whose bar lines fall on its downbeats, and bad sessions are refused with one clear line."""

from __future__ import annotations

import numpy as np
import pytest

from trackwright.arrange.edl import EditList, Segment
from trackwright.arrange.grid import bar_grid, played_bars
from trackwright.errors import ParameterError
from trackwright.export.session import (AudioClip, MeterChange, Note, NoteClip, Session, TempoChange, TempoMap, Track,
                                        note_clip, tempo_from_downbeats)


def test_tempo_map_seconds_and_beats(rng: np.random.Generator) -> None:
    tempo = TempoMap((TempoChange(0.0, 120.0), TempoChange(4.0, 60.0), TempoChange(10.0, 150.0)))
    assert [tempo.beats_at(t) for t in (0.0, 4.0, 5.0, 10.0, 12.0)] == [0.0, 8.0, 9.0, 14.0, 19.0]
    times = rng.uniform(0, 30, 200)
    assert [tempo.seconds_at(tempo.beats_at(t)) for t in times] == pytest.approx(times, abs=1e-12)
    assert tempo.bpm_at(9.99) == 60.0 and tempo.bpm_at(10.0) == 150.0


def test_measured_downbeats_become_bar_lines(rng: np.random.Generator) -> None:
    downbeats = np.cumsum(np.concatenate([[0.37], rng.uniform(1.9, 2.1, 12)]))  # a live 4/4 around 120 bpm
    tempo, meters = tempo_from_downbeats(downbeats, 4)
    session = Session("Live", 48000, tempo=tempo, meters=meters,
                      tracks=(Track("Mix", audio=(AudioClip("mix.wav", 0.0, float(downbeats[-1])),)),))
    bars = session.bars()
    starts_s = [session.tempo_map.seconds_at(b.start_beats) for b in bars]
    assert starts_s[1:len(downbeats)] == pytest.approx(list(downbeats[:-1]), abs=1e-9)
    assert (bars[0].numerator, bars[0].length_beats) == (1, 1.0)  # 0.37 s at ~120 bpm: a one-beat pickup
    assert all(b.numerator == 4 for b in bars[1:])


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"tempo": (TempoChange(1.0, 120),)}, "first tempo must be at 0 s"),
    ({"tempo": (TempoChange(0.0, 120), TempoChange(0.0, 90))}, "must increase"),
    ({"tempo": (TempoChange(0.0, 5000),)}, "5000 bpm is outside"),
    ({"meters": (MeterChange(0.0, 4, 4), MeterChange(3.0, 3, 4))}, "not on a bar line"),
    ({"meters": (MeterChange(0.0, 4, 5),)}, "is not a time signature"),
    ({"tracks": (Track("A", pan=2.0),)}, "pan 2 is outside"),
    ({"tracks": (Track("A", audio=(AudioClip("a.wav", -1.0, 2.0),)),)}, "needs start ≥ 0"),
    ({"tracks": (Track("A", audio=(AudioClip("a.wav", 0.0, 1.0, fade_in_s=0.6, fade_out_s=0.6),)),)}, "must be ≥ 0 and fit"),
    ({"tracks": (Track("A", notes=(NoteClip(0.0, 4.0, (Note(0, 1, 200),)),)),)}, "pitch 0–127"),
    ({"sample_rate": 1000}, "outside 8–384 kHz"),
])
def test_bad_sessions_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        Session("S", **{"sample_rate": 48000, **kwargs})


def test_note_clip_from_absolute_beats() -> None:
    clip = note_clip([Note(9.0, 1.0, 64), Note(8.0, 0.5, 60)], start_beats=8.0)
    assert (clip.start_beats, clip.length_beats) == (8.0, 2.0)
    assert clip.notes == (Note(0.0, 0.5, 60), Note(1.0, 1.0, 64))


def test_bars_of_their_own_length_change_the_metre() -> None:
    downbeats = [0.37, 2.37, 3.87, 5.87]  # a pickup, a 4/4 bar, a bar an edit cut to 3 beats, a 4/4 bar
    tempo, meters = tempo_from_downbeats(downbeats, [4, 3, 4])
    assert [(m.numerator, round(m.time_s, 2)) for m in meters] == [(1, 0.0), (4, 0.37), (3, 2.37), (4, 3.87)]
    session = Session("Cut", 48000, tempo=tempo, meters=meters)
    assert [session.tempo_map.seconds_at(b.start_beats) for b in session.bars(5.87)] == \
        pytest.approx([0.0, *downbeats[:-1]], abs=1e-9)
    assert [c.bpm for c in tempo] == pytest.approx([60 / 0.37, 120.0, 120.0, 120.0])
    # a first downbeat under half a beat in has no pickup: the first bar starts at 0 s
    tempo, meters = tempo_from_downbeats([0.014, 2.0, 4.0], 4)
    assert [m.time_s for m in meters] == [0.0] and tempo[0].bpm == pytest.approx(120.0, rel=1e-12)
    assert tempo[1] == TempoChange(2.0, 120.0)
    with pytest.raises(ParameterError, match="3 beat counts"):
        tempo_from_downbeats([0.0, 2.0, 4.0], [4, 4, 4])


def test_played_bars_follow_an_edit() -> None:
    grid = bar_grid(16.0, np.arange(8) * 2.0, np.arange(32) * 0.5)
    # bars 1–2, then bar 5 cut after 3 beats, then bars 7–8 (source seconds)
    edits = EditList((Segment(0.0, 4.0), Segment(8.0, 9.5), Segment(12.0, 16.0)))
    bars = played_bars(grid, edits)
    assert bars.lines_s.tolist() == pytest.approx([0.0, 2.0, 4.0, 5.5, 7.5, 9.5])
    assert bars.beats.tolist() == [4, 4, 3, 4, 4]
    assert edits.output_times(8.5) == [4.5] and edits.output_times(6.0) == []
    assert EditList((Segment(0.0, 4.0), Segment(2.0, 4.0))).output_times(3.0) == [3.0, 5.0]
