"""A beat grid the user sets: steady grids and the half/double/bpm/metre/downbeat corrections."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from signals import audio

from trackwright.analysis.analyze import Analysis, analyze
from trackwright.analysis.beat_grid import adjust_grid, parse_metre, steady_grid
from trackwright.analysis.rhythm import rhythm_from_grid
from trackwright.errors import ParameterError


def heard(bpm: float, count: int, subdivision: int = 2, *, first_downbeat: int = 0, seconds: float = 30.0,
          start_s: float = 0.2):
    """A heard grid at ``bpm`` with bars of ``count`` beats, its first bar line on beat ``first_downbeat``."""
    beats = start_s + np.arange(0.0, seconds - start_s, 60.0 / bpm)
    downbeats = beats[first_downbeat::count]
    return rhythm_from_grid(beats, downbeats, count, subdivision)


def test_steady_grid_in_a_compound_metre() -> None:
    grid = steady_grid(12.0, bpm=90.0, metre="9/8", downbeat_s=1.0)
    period = 60.0 / 90.0
    assert grid.user_set and grid.time_signature == "9/8" and grid.beats_per_bar == 3 and grid.subdivision == 3
    assert grid.tempo_bpm == pytest.approx(90.0)
    np.testing.assert_allclose(np.diff(grid.beats_s), period)
    assert grid.beats_s[0] == pytest.approx(1.0 - period)  # one beat before the given bar line
    np.testing.assert_allclose(grid.downbeats_s[:3], [1.0, 1.0 + 3 * period, 1.0 + 6 * period])
    np.testing.assert_allclose(np.diff(grid.subdivisions_s()), period / 3)
    assert grid.beats_s[-1] < 12.0 and not grid.drifts


def test_double_time_fixes_a_half_time_reading() -> None:
    """The 123 BPM draft heard at 61.5 BPM: double restores every beat and bars of four."""
    slow = heard(61.5, 4, first_downbeat=1)
    fixed = adjust_grid(slow, 30.0, double=True)
    assert fixed.tempo_bpm == pytest.approx(123.0, rel=1e-6) and fixed.user_set
    assert len(fixed.beats_s) == 2 * len(slow.beats_s) - 1
    # every heard beat is still a beat, and the first heard bar line is still a bar line
    assert np.isin(np.round(slow.beats_s, 6), np.round(fixed.beats_s, 6)).all()
    assert fixed.downbeats_s[0] == pytest.approx(slow.downbeats_s[0])
    np.testing.assert_allclose(np.diff(fixed.downbeats_s), 4 * 60.0 / 123.0)
    assert fixed.time_signature == "4/4"


def test_half_time_keeps_the_bar_lines() -> None:
    fast = heard(240.0, 4, first_downbeat=3)
    fixed = adjust_grid(fast, 30.0, half=True)
    assert fixed.tempo_bpm == pytest.approx(120.0)
    assert fixed.downbeats_s[0] == pytest.approx(fast.downbeats_s[0])
    assert np.isin(np.round(fixed.downbeats_s, 6), np.round(fast.downbeats_s, 6)).all()
    np.testing.assert_allclose(np.diff(fixed.downbeats_s), 2.0)  # four beats of 0.5 s


def test_metre_regroups_the_beats_from_the_first_bar_line() -> None:
    waltz_as_four = heard(150.0, 4, first_downbeat=2)
    fixed = adjust_grid(waltz_as_four, 30.0, metre="3/4")
    np.testing.assert_array_equal(fixed.beats_s, waltz_as_four.beats_s)
    assert fixed.time_signature == "3/4" and fixed.downbeats_s[0] == pytest.approx(waltz_as_four.beats_s[2])
    np.testing.assert_allclose(np.diff(fixed.downbeats_s), 3 * 60.0 / 150.0)
    relabelled = adjust_grid(heard(70.0, 4), 30.0, metre="12/8")
    assert relabelled.time_signature == "12/8" and relabelled.subdivision == 3


def test_downbeat_moves_the_bar_lines_to_the_nearest_beat() -> None:
    grid = heard(120.0, 4)
    fixed = adjust_grid(grid, 30.0, downbeat_s=1.23)  # nearest beat: 1.2 s
    assert fixed.downbeats_s[0] == pytest.approx(1.2)  # the two beats before it are a pickup
    np.testing.assert_allclose(np.diff(fixed.downbeats_s), 2.0)
    np.testing.assert_array_equal(fixed.beats_s, grid.beats_s)


def test_bpm_sets_a_steady_grid_on_the_heard_bar_line() -> None:
    drifting = heard(100.0, 3, first_downbeat=1)
    fixed = adjust_grid(drifting, 30.0, bpm=101.0)
    assert fixed.tempo_bpm == pytest.approx(101.0) and fixed.time_signature == "3/4"
    assert fixed.downbeats_s[0] == pytest.approx(drifting.downbeats_s[0])
    combined = adjust_grid(drifting, 30.0, bpm=80.0, metre="6/8", downbeat_s=2.0)
    assert combined.time_signature == "6/8" and 2.0 in np.round(combined.downbeats_s, 6)


@pytest.mark.parametrize("kwargs, message", [
    ({"half": True, "double": True}, "cannot both"),
    ({"bpm": 120.0, "half": True}, "not both"),
    ({"metre": "5/4"}, "metre '5/4' is not one of"),
    ({"downbeat_s": 31.0}, "outside the track"),
    ({"bpm": 1000.0}, "outside 20–400"),
])
def test_bad_corrections_are_refused_with_one_clear_message(kwargs: dict, message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        adjust_grid(heard(120.0, 4), 30.0, **kwargs)


def test_parse_metre() -> None:
    assert parse_metre(" 6/8 ") == (2, 3) and parse_metre("4/4") == (4, 2)
    with pytest.raises(ParameterError, match="7/8"):
        parse_metre("7/8")


def test_a_user_set_compound_grid_round_trips_through_the_analysis_json() -> None:
    """The JSON keeps the metre (6/8: two beats, each of three eighths) and who set the grid."""
    rate = 22050
    t = np.arange(rate * 6) / rate
    tone = (0.2 * np.sin(2 * np.pi * 220.0 * t) * (1.0 + np.sign(np.sin(2 * np.pi * 2.0 * t))) / 2).astype(np.float32)
    analysis = analyze(audio(np.vstack((tone, tone)), rate))
    grid = steady_grid(analysis.duration_s, bpm=80.0, metre="6/8", downbeat_s=0.5)
    analysis = dataclasses.replace(analysis, rhythm=grid)
    data = analysis.to_dict()
    assert data["time_signature"] == "6/8" and data["beat_subdivision"] == 3 and data["grid_source"] == "user"
    back = Analysis.from_dict(data)
    assert back.to_dict() == data
    assert back.rhythm.beats_per_bar == 2 and back.rhythm.subdivision == 3 and back.rhythm.user_set
    heard_data = {**data, "time_signature": "3/4", "beat_subdivision": 2, "grid_source": "heard"}
    assert Analysis.from_dict(heard_data).to_dict() == heard_data
