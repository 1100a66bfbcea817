"""Section edits on the beat grid, and the MIDI following the audio's edit."""

from __future__ import annotations

import numpy as np
import pytest
from arrange_fixtures import BAR_S, short_song, truth_grid

from trackwright.arrange import ops
from trackwright.arrange.edl import EditList
from trackwright.arrange.grid import edits_to_units, occurrences
from trackwright.arrange.midi import edit_midi, midi_notes
from trackwright.arrange.splice import plan_splices
from trackwright.errors import ParameterError


@pytest.fixture(scope="module")
def song():  # noqa: ANN201 - (midi, info, audio, grid, whole edit list)
    midi, info, audio = short_song()
    grid = truth_grid(info, audio)
    return midi, info, audio, grid, EditList.whole(audio.duration_s)


def _names(grid, edits: EditList) -> list[str]:  # noqa: ANN001
    return [occ.name for occ in occurrences(grid, edits_to_units(grid, edits))]


def _on_downbeats(edits: EditList, downbeats: list[float], duration_s: float) -> bool:
    edges = [t for seg in edits.segments for t in (seg.start_s, seg.end_s) if 0.05 < t < duration_s - 2.5]
    return all(min(abs(t - d) for d in downbeats) < 0.004 for t in edges)


def test_the_grid_names_the_sections_in_playing_order(song) -> None:  # noqa: ANN001
    _, _, _, grid, whole = song
    assert grid.bars == 28 and grid.beats_per_bar == 4
    assert _names(grid, whole) == ["intro", "verse 1", "chorus 1", "verse 2", "chorus 2", "bridge", "chorus 3",
                                   "outro"]


def test_cut_removes_exactly_the_section_and_joins_on_downbeats(song) -> None:  # noqa: ANN001
    _, info, audio, grid, whole = song
    result = ops.cut(whole, grid, "chorus 2")
    assert result.message == "chorus 2 removed (4 bars)"
    assert result.edits.output_duration_s == pytest.approx(audio.duration_s - 4 * BAR_S, abs=0.005)
    assert _names(grid, result.edits) == ["intro", "verse 1", "chorus 1", "verse 2", "bridge", "chorus 2", "outro"]
    assert _on_downbeats(result.edits, info.downbeat_times_s, audio.duration_s)


def test_shorten_extend_repeat_move_and_fade(song) -> None:  # noqa: ANN001
    _, info, audio, grid, whole = song
    shorter = ops.shorten(whole, grid, "intro", 1)
    assert shorter.message == "intro shortened by 1 bar"
    assert shorter.edits.output_duration_s == pytest.approx(audio.duration_s - BAR_S, abs=0.005)
    longer = ops.extend(whole, grid, "verse 1", 2)
    assert longer.edits.output_duration_s == pytest.approx(audio.duration_s + 2 * BAR_S, abs=0.005)
    # the extension repeats the verse's last two bars, so the verse still ends on its own last bar
    units = edits_to_units(grid, longer.edits)
    assert [u.bar for u in units if u.bar >= 0][:10] == [0, 1, 2, 3, 4, 5, 4, 5, 6, 7]
    looped = ops.repeat(whole, grid, "chorus 3", times=2)
    assert looped.message == "chorus 3 repeated 2× (+8 bars)"
    assert _names(grid, looped.edits)[-4:] == ["chorus 3", "chorus 4", "chorus 5", "outro"]
    moved = ops.move(whole, grid, "bridge", before="verse 2")
    assert _names(grid, moved.edits)[3] == "bridge"
    assert moved.edits.output_duration_s == pytest.approx(audio.duration_s, abs=0.005)
    faded = ops.fade(whole, grid, "out", bars=2)
    assert faded.edits.fade_out_s == pytest.approx(2 * BAR_S, abs=0.01)
    for result in (shorter, longer, looped, moved):
        assert _on_downbeats(result.edits, info.downbeat_times_s, audio.duration_s)


def test_edits_stack_and_bar_ranges_count_in_the_current_arrangement(song) -> None:  # noqa: ANN001
    _, _, audio, grid, whole = song
    cut = ops.cut(whole, grid, "verse 1").edits
    again = ops.cut(cut, grid, "bars 3-4")  # bars 3–4 of the new arrangement: the first chorus' first half
    assert again.message == "bars 3–4 removed (2 bars)"
    assert again.edits.output_duration_s == pytest.approx(audio.duration_s - 6 * BAR_S, abs=0.005)


def test_unknown_targets_and_impossible_edits_get_clear_errors(song) -> None:  # noqa: ANN001
    _, _, _, grid, whole = song
    with pytest.raises(ParameterError, match="no section 'chorus 9'.*it has: intro, verse 1"):
        ops.cut(whole, grid, "chorus 9")
    with pytest.raises(ParameterError, match="would remove it"):
        ops.shorten(whole, grid, "intro", 2)
    with pytest.raises(ParameterError, match="bars 1–28"):
        ops.cut(whole, grid, "bars 27-30")
    with pytest.raises(ParameterError, match="unknown edit"):
        ops.apply_operation("stretch", whole, grid, "intro")


def test_midi_follows_the_cut_note_for_note(song) -> None:  # noqa: ANN001
    midi, info, audio, grid, whole = song
    result = ops.cut(whole, grid, "chorus 2")
    edited = edit_midi(midi, plan_splices(audio, result.edits))
    before, after = midi_notes(midi), midi_notes(edited)
    start, end = 28.0, 36.0  # chorus 2 in the source
    kept = [n for n in before if not start <= n[0] < end]
    assert len(after) == len(kept)
    # a note of the bridge (source 36–44 s) now starts 8 s earlier, with the same pitch
    shifted = sorted((round(s - 8.0, 3), c, p) for s, _, c, p in kept if 35.99 <= s < 43.99)
    found = sorted((round(s, 3), c, p) for s, _, c, p in after if 27.99 <= s < 35.99)
    assert np.allclose([x[0] for x in shifted], [x[0] for x in found], atol=0.002)
    assert [x[1:] for x in shifted] == [x[1:] for x in found]


def test_an_extended_section_keeps_its_name_and_the_edit_says_where(song) -> None:  # noqa: ANN001
    """`extend "verse 1"` must not make a "verse 2" that collides with the real one (issue 15)."""
    _, _, _, grid, whole = song
    for bars in (2, 4, 8):
        longer = ops.extend(whole, grid, "verse 1", bars)
        assert _names(grid, longer.edits) == _names(grid, whole), bars
        moved = ops.move(longer.edits, grid, "verse 2", after="end")
        units = edits_to_units(grid, moved.edits)
        # the moved "verse 2" is the source's second verse, whole: bars 10–13 of the source
        tail = [u.bar for u in units if u.bar >= 0][-4:]
        assert tail == [10, 11, 12, 13], (bars, tail)
    longer = ops.extend(whole, grid, "verse 1", 4)
    assert longer.touched is not None and longer.touched.what == "verse 1 now"
    assert (longer.touched.first_bar, longer.touched.last_bar) == (3, 10)
    assert longer.touched.end_s - longer.touched.start_s == pytest.approx(8 * BAR_S, abs=0.01)
    cut = ops.cut(whole, grid, "chorus 2")
    assert (cut.touched.first_bar, cut.touched.last_bar) == (15, 18)
    assert cut.touched.start_s == pytest.approx(28.0, abs=0.01) and cut.touched.end_s == pytest.approx(36.0, abs=0.01)
    faded = ops.fade(whole, grid, "out", bars=2)
    assert faded.touched is not None and faded.touched.last_bar == 28
    assert faded.touched.end_s - faded.touched.start_s == pytest.approx(2 * BAR_S, abs=0.01)
