"""Splicing: exact lengths, joins on the attack, no clicks, no doubled transients, parts stay in sync."""

from __future__ import annotations

import numpy as np
import pytest
from arrange_fixtures import BAR_S, rms_db, short_song, transient_at

from trackwright.arrange.edl import EditList, Segment
from trackwright.arrange.splice import apply_plan, find_attack, plan_splices, render_edits
from trackwright.audio import Audio
from trackwright.errors import ParameterError

SR = 44100


def _tone(seconds: float, freq: float = 220.0) -> Audio:
    t = np.arange(int(seconds * SR)) / SR
    x = (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return Audio(np.stack([x, x]), SR)


def _max_step(audio: Audio) -> float:
    return float(np.abs(np.diff(audio.samples, axis=1)).max())


def test_untouched_edit_list_gives_back_the_source_exactly() -> None:
    _, _, audio = short_song()
    out = render_edits(audio, EditList.whole(audio.duration_s))
    assert out.frames == audio.frames
    assert np.array_equal(out.samples, audio.samples)


def test_output_length_is_the_sum_of_the_segments_to_the_sample() -> None:
    audio = _tone(10.0)
    edits = EditList((Segment(0.0, 2.0), Segment(5.0, 7.5), Segment(1.0, 3.0, stretch=1.02)))
    out = render_edits(audio, edits)
    assert out.frames == round((2.0 + 2.5 + 2.0 * 1.02) * SR)
    fixed = render_edits(audio, EditList(edits.segments, duration_s=5.0))
    assert fixed.frames == 5 * SR


def test_a_join_between_unrelated_phases_does_not_click_where_a_butt_splice_does() -> None:
    audio = _tone(6.0, freq=220.0)
    # 2.0 s and 3.0011 s are a quarter period apart in the tone's phase: a butt splice jumps
    edits = EditList((Segment(0.0, 2.0), Segment(3.0011, 5.0)))
    smooth = render_edits(audio, edits)
    own = _max_step(audio)
    assert _max_step(smooth) <= 1.1 * own
    butt = np.concatenate([audio.samples[:, : 2 * SR], audio.samples[:, int(3.0011 * SR): 5 * SR]], axis=1)
    assert _max_step(Audio(butt, SR)) > 3 * own  # the metric does catch a click


def test_crossfade_between_alike_material_keeps_its_level() -> None:
    audio = _tone(6.0, freq=200.0)
    # exactly whole periods apart: the two sides are identical, an equal-power fade would swell 3 dB
    edits = EditList((Segment(0.0, 2.0), Segment(3.0, 5.0)))
    out = render_edits(audio, edits)
    peak = np.abs(out.samples[0, int(1.9 * SR): int(2.1 * SR)]).max()
    assert peak == pytest.approx(0.5, abs=0.01)


def test_find_attack_moves_a_late_grid_onto_the_drum() -> None:
    _, info, audio = short_song()
    for downbeat in info.downbeat_times_s[2:10]:
        assert abs(find_attack(audio, downbeat + 0.015) - downbeat) < 0.004
        assert abs(find_attack(audio, downbeat - 0.015) - downbeat) < 0.004


def test_joins_of_a_rendered_song_have_no_click_and_no_doubled_attack() -> None:
    _, info, audio = short_song()
    db = info.downbeat_times_s
    # verse 1 bar 2 → chorus 2; chorus 2 bar 3 → bridge; bridge → outro (joins inside sections and at seams)
    edits = EditList((Segment(0.0, db[3]), Segment(db[14], db[16]), Segment(db[18], db[20]),
                      Segment(db[26], audio.duration_s)))
    plan = plan_splices(audio, edits)
    out = apply_plan(audio, plan)
    own_attacks = [transient_at(audio, t) for t in db]
    ceiling = max(own_attacks)
    for piece, join in zip(plan.pieces[1:], plan.splice_times_s()):
        # the crossfade ends before the attack: nothing in the fade is louder than the track's own attacks
        assert transient_at(out, join - 0.004, window_s=0.004) <= ceiling + 0.5
        # the attack after the join is the incoming bar's own, not two attacks summed
        incoming = piece.src_start / audio.sample_rate
        assert rms_db(out, join, join + 0.03) <= rms_db(audio, incoming, incoming + 0.03) + 1.0
    # and the join sits on the source's downbeat, a few ms before its attack
    for join, expected in zip(plan.splice_times_s(), np.cumsum([db[3], db[16] - db[14], db[20] - db[18]])):
        assert -0.01 < join - expected < 0.004


def test_every_part_follows_the_same_plan_so_stems_still_sum_to_the_mix() -> None:
    _, info, audio = short_song()
    db = info.downbeat_times_s
    low = np.cumsum(audio.samples, axis=1, dtype=np.float64)
    low = ((low[:, 8:] - low[:, :-8]) / 8).astype(np.float32)
    low = np.pad(low, ((0, 0), (8, 0)))
    stems = [Audio(low, SR), Audio(audio.samples - low, SR)]
    edits = EditList((Segment(0.0, db[6]), Segment(db[10], db[18]), Segment(db[2], db[6])))
    plan = plan_splices(audio, edits)
    mix = apply_plan(audio, plan)
    summed = sum(apply_plan(stem, plan).samples for stem in stems)
    assert np.abs(summed - mix.samples).max() < 1e-5


def test_stretched_segment_has_the_stretched_length_and_the_same_pitch() -> None:
    audio = _tone(4.0, freq=440.0)
    out = render_edits(audio, EditList((Segment(0.0, 3.0, stretch=1.03),)))
    assert out.frames == round(3.0 * 1.03 * SR)
    spectrum = np.abs(np.fft.rfft(out.samples[0, SR: 2 * SR]))
    assert abs(np.argmax(spectrum) * SR / SR - 440.0) <= 2.0


def test_bad_edit_lists_are_refused_with_the_field_named() -> None:
    with pytest.raises(ParameterError, match="stretch"):
        Segment(0.0, 1.0, stretch=2.5)
    with pytest.raises(ParameterError, match=r"arrangement.segments\[1\].end_s"):
        EditList.from_dict({"segments": [{"start_s": 0, "end_s": 1}, {"start_s": 2, "end_s": "x"}]})
    with pytest.raises(ParameterError, match="colour: unknown field"):
        EditList.from_dict({"segments": [{"start_s": 0, "end_s": 1}], "colour": 1})
    with pytest.raises(ParameterError, match="after the source's end"):
        render_edits(_tone(2.0), EditList((Segment(0.0, 3.0),)))
    assert EditList.from_dict(EditList((Segment(0, 1), Segment(2, 3, 0.98))).to_dict()).segments[1].stretch == 0.98
    assert BAR_S == 2.0
