"""``note --separate``: a note on a part of a mix-only draft splits the draft with the built-in
separator first (a version that sounds the same), then changes that part. Measured against the
generated parts the draft was summed from, never the engine's verdict."""

from __future__ import annotations

import numpy as np
import pytest
from note_measures import level_db
from project_fixtures import stem_signals, write_song

from trackwright.audio import load_audio
from trackwright.project import Project
from trackwright.revise import apply_note

SECONDS = 12.0


@pytest.fixture()
def mix_only(tmp_path) -> Project:
    files = write_song(tmp_path / "song", seconds=SECONDS, stems=False)
    return Project.create(tmp_path / "cue", files["draft"], author="test")


def test_a_note_on_a_part_splits_a_mix_only_draft_then_changes_the_part(mix_only: Project) -> None:
    before = load_audio(mix_only.render(mix_only.latest()).mix)
    result = apply_note(mix_only, "turn the drums down", separate=True)
    split_version = result.parent
    assert split_version == 2 and mix_only.recipe(split_version).stem_sources, result.notes
    assert any("split the draft" in line for line in result.notes)
    split = load_audio(mix_only.render(split_version).mix)
    assert level_db(split.with_samples(split.samples - before.samples), 0, SECONDS) - level_db(before, 0, SECONDS) < -40
    after = load_audio(mix_only.render(result.version).mix)
    drums = stem_signals(SECONDS, before.sample_rate)["drums"].astype(np.float64)
    change = (after.samples - before.samples).astype(np.float64)
    n = min(change.shape[1], drums.shape[1])
    correlation = float(np.sum(change[:, :n] * drums[:, :n]) /
                        np.sqrt(np.sum(change[:, :n] ** 2) * np.sum(drums[:, :n] ** 2)))
    assert correlation < -0.5  # what changed is the drums, turned down
    assert 10 * np.log10(np.sum(change ** 2) / np.sum(drums ** 2)) > -20  # by an audible amount


def test_without_separate_the_note_offers_the_split(mix_only: Project) -> None:
    result = apply_note(mix_only, "turn the drums down", dry_run=True)
    assert any("--separate" in line for line in result.notes)
    assert not mix_only.recipe().stem_sources
