"""Instrumentation as a note technique: rebuilt parts are re-rendered with another instrument."""

from __future__ import annotations

import numpy as np
import pytest
from note_measures import measure
from stems_fixtures import write_pop_song_parts

from trackwright.audio import load_audio
from trackwright.project import Project
from trackwright.project.operations import produce_project
from trackwright.revise import apply_note
from trackwright.revise.techniques import reorchestrate

RATE = 16000


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    root = tmp_path_factory.mktemp("orchestra")
    write_pop_song_parts(root, frozenset({"drums", "bass", "chords", "lead"}), rate=RATE)
    Project.create(root / "song", root / "draft.wav", stems=root / "stems", midi=root / "song.mid")
    produce_project(Project.open(root / "song"), instruments={"chords": "organ", "lead": "brass"},
                    replaces={"chords": "chords", "lead": "lead"})
    return Project.open(root / "song")


def test_reorchestration_table_keeps_the_soundfont() -> None:
    assert reorchestrate("warmth", 1, "ms-organ") == "ms-slow-strings"
    assert reorchestrate("intimacy", 1, "strings") == "piano"
    assert reorchestrate("warmth", 1, "bass") is None


def test_a_warmer_note_re_renders_cold_parts_with_warm_instruments(project: Project) -> None:
    before = project.render(project.latest())
    result = apply_note(project, "warmer")
    swaps = {c.part: c.instrument for c in result.changes if c.layer == "instrument"}
    assert swaps == {"chords": "slow-strings", "lead": "horn"}
    production = project.recipe(result.version).production
    assert production.parts["chords"].instrument == "slow-strings"
    after = project.render(result.version)
    assert measure("centroid", before, after, 0.0, load_audio(after.mix).duration_s) <= -0.03  # 3 % darker
    assert any("re-rendered as slow-strings" in line for line in result.explanation())


def test_a_scoped_note_leaves_instruments_alone_and_says_so(project: Project) -> None:
    project.revert(2)
    result = apply_note(project, "warmer from 0:02 to 0:06")
    assert not [c for c in result.changes if c.layer == "instrument"]
    assert any("instruments were not changed" in note for note in result.notes)
    before, after = (load_audio(project.render(n).mix) for n in (result.parent, result.version))
    rate = before.sample_rate
    outside = np.ones(before.frames, dtype=bool)
    outside[round(1.0 * rate):round(7.0 * rate)] = False  # the span and a second of ramp either side
    assert np.array_equal(before.samples[:, outside], after.samples[:, outside])
