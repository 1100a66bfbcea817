"""Recipes: YAML round trip, validation errors that name the file and the field, describe_diff in words."""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from trackwright.arrange.edl import EditList, Segment
from trackwright.errors import ParameterError, ProjectError
from trackwright.analysis.structure import Section
from trackwright.project import FORMAT_VERSION, MasterSettings, PartSettings, Recipe, VersionInfo, describe_diff

SHA = "ab" * 32
SOURCES = {"sources/draft.wav": SHA, "sources/stems/bass.wav": SHA, "sources/stems/Drums.flac": SHA}
WHERE = "recipes/v0003.yaml"


def recipe(**changes) -> Recipe:
    base = Recipe(EditList((Segment(0.0, 16.0), Segment(32.0, 64.0)), fade_out_s=2.0),
                  {"bass": PartSettings(-2.0, False, 0.25), "drums": PartSettings(mute=True)},
                  MasterSettings("streaming", -2.0), SOURCES,
                  VersionInfo(3, 2, "ana", "2026-11-25T18:46:30Z", "bass down 2 dB"))
    return dataclasses.replace(base, **changes)


def test_yaml_round_trip_keeps_everything() -> None:
    original = recipe()
    text = original.to_yaml()
    assert text.startswith("# trackwright recipe, version 3\n")
    assert "- {start_s: 0.0, end_s: 16.0}" in text  # segments one per line
    again = Recipe.from_yaml(text, where=WHERE)
    assert again == original
    assert again.version == original.version
    assert again.to_yaml() == text
    assert Recipe.from_dict(original.to_dict()) == original
    assert yaml.safe_load(text)["version"]["created_utc"] == "2026-11-25T18:46:30Z"  # quoted, stays text


def test_numeric_target_and_defaults_round_trip() -> None:
    original = Recipe(EditList.whole(30.0), {}, MasterSettings(-16, None))
    again = Recipe.from_yaml(original.to_yaml())
    assert again.master.target == -16.0 and again.master.label == "-16 LUFS"
    assert again.version is None and again.parts == {} and again.sources == {}
    assert MasterSettings("Broadcast").target == "broadcast"
    assert MasterSettings("-18 LUFS").target == -18.0


def test_equality_ignores_the_version_block_and_music_ignores_default_parts() -> None:
    a = recipe()
    b = dataclasses.replace(a, version=VersionInfo(9, 1, "bo", "2026-11-26T10:00:00Z", "other"))
    assert a == b
    c = a.with_part("keys" if False else "bass", gain_db=-2.0)  # unchanged value
    assert c.same_music(a)
    plain = Recipe(EditList.whole(10.0), {"bass": PartSettings()}, sources=SOURCES)
    assert plain.same_music(Recipe(EditList.whole(10.0), {}, sources=SOURCES))
    assert a.replace(master=MasterSettings()).version is None


def _set(data: dict, path: str, value) -> dict:  # noqa: ANN001
    node = data
    keys = path.split(".")
    for key in keys[:-1]:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if isinstance(node, list):
        node[int(keys[-1])] = value
    else:
        node[keys[-1]] = value
    return data


@pytest.mark.parametrize("path, value, message", [
    ("parts.bass.gain_db", "loud", "recipes/v0003.yaml: parts.bass.gain_db: must be a number, got 'loud'"),
    ("parts.bass.gain_db", 30, "recipes/v0003.yaml: parts.bass.gain_db: must be between -60 and +24 dB, got 30"),
    ("parts.bass.mute", "yes", "recipes/v0003.yaml: parts.bass.mute: must be true or false, got 'yes'"),
    ("parts.bass.pan", 2, "recipes/v0003.yaml: parts.bass.pan: must be between -1 and +1, got 2"),
    ("parts.bass.volume", 1, "recipes/v0003.yaml: parts.bass.volume: unknown field"),
    ("parts.tuba", {"gain_db": 1.0}, "recipes/v0003.yaml: parts.tuba: no stem named 'tuba' in the sources "
                                     "(stems: bass, drums)"),
    ("master.target", "loudest", "recipes/v0003.yaml: master.target: unknown target 'loudest'"),
    ("master.target", -60, "recipes/v0003.yaml: master.target: target loudness -60 LUFS is outside"),
    ("master.ceiling_dbtp", 3, "recipes/v0003.yaml: master.ceiling_dbtp: must be between -12 and +0 dBTP, got 3"),
    ("arrangement.segments.0.end_s", "x", "recipes/v0003.yaml: arrangement.segments[0].end_s: must be a number"),
    ("arrangement.fade_out_s", -1.0, "recipes/v0003.yaml: arrangement: fade_out_s must be a number of seconds"),
    ("extra", 1, "recipes/v0003.yaml: extra: unknown field"),
    ("version.number", "three", "recipes/v0003.yaml: version.number: must be a whole number >= 1, got 'three'"),
    ("version.parent", 7, "recipes/v0003.yaml: version.parent: must be an earlier version number or null, got 7"),
    ("version.message", ["a"], "recipes/v0003.yaml: version.message: must be text"),
    ("sources", {"sources/draft.wav": "abc"}, "recipes/v0003.yaml: sources.sources/draft.wav: must be a sha256"),
    ("sources", {"/etc/passwd": SHA}, "recipes/v0003.yaml: sources: '/etc/passwd': must be a path inside"),
    ("format", "one", "recipes/v0003.yaml: format: must be a whole number, got 'one'"),
])
def test_validation_errors_name_the_file_and_the_field(path: str, value, message: str) -> None:  # noqa: ANN001
    data = _set(recipe().to_dict(), path, value)
    with pytest.raises(ParameterError) as caught:
        Recipe.from_yaml(yaml.safe_dump(data), where=WHERE)
    assert str(caught.value).startswith(message), str(caught.value)
    assert "\n" not in str(caught.value)


def test_missing_and_broken_files() -> None:
    with pytest.raises(ParameterError, match=r"^recipes/v0003.yaml: is empty$"):
        Recipe.from_yaml("", where=WHERE)
    with pytest.raises(ParameterError, match=r"^recipes/v0003.yaml: not valid YAML \(.* at line \d+\)$"):
        Recipe.from_yaml("format: 1\narrangement: [\n", where=WHERE)
    with pytest.raises(ParameterError, match=r"format: missing"):
        Recipe.from_yaml("arrangement: {segments: [{start_s: 0, end_s: 1}]}\n", where=WHERE)
    with pytest.raises(ParameterError, match=r"^recipes/v0003.yaml: arrangement: missing$"):
        Recipe.from_yaml("format: 1\n", where=WHERE)
    with pytest.raises(ParameterError, match=r"^recipes/v0003.yaml: must be a mapping"):
        Recipe.from_yaml("- 1\n", where=WHERE)


def test_newer_format_is_refused_with_an_upgrade_hint() -> None:
    data = recipe().to_dict()
    data["format"] = FORMAT_VERSION + 1
    with pytest.raises(ProjectError) as caught:
        Recipe.from_yaml(yaml.safe_dump(data), where=WHERE)
    assert str(caught.value) == ("recipes/v0003.yaml: was written by a newer trackwright (project format 2); "
                                 "this trackwright reads format 1: upgrade trackwright")


def test_settings_validate_in_code_too() -> None:
    with pytest.raises(ParameterError, match=r"part.gain_db: must be a number"):
        PartSettings(gain_db="loud")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match=r"master.target: unknown target"):
        MasterSettings("nowhere")
    with pytest.raises(ParameterError, match=r"parts.tuba: no stem named 'tuba'"):
        recipe().with_part("tuba", gain_db=1.0)


# -- describe_diff --------------------------------------------------------------------------------
# intro 4 bars · verse 8 · chorus 8 · verse 8 · chorus 8 · outro 4, 2 s bars (120 BPM 4/4): 80 s
FORM = [("intro", 4), ("verse", 8), ("chorus", 8), ("verse", 8), ("chorus", 8), ("outro", 4)]


def _sections() -> list[Section]:
    out, t = [], 0.0
    for role, bars in FORM:
        out.append(Section(t, t + 2.0 * bars, role[0].upper(), role, bars, -14.0))
        t += 2.0 * bars
    return out


SECTIONS = _sections()
WHOLE = Recipe(EditList.whole(80.0), {"bass": PartSettings()}, sources=SOURCES)


def arranged(*spans: tuple[float, float], **options) -> Recipe:  # noqa: ANN003
    return WHOLE.replace(arrangement=EditList(tuple(Segment(a, b) for a, b in spans), **options))


def test_identical_recipes_are_no_musical_change() -> None:
    assert describe_diff(WHOLE, WHOLE, SECTIONS) == ["no musical change"]
    split = arranged((0.0, 40.0), (40.0, 80.0))  # the same music, cut in two
    assert describe_diff(WHOLE, split, SECTIONS) == ["no musical change"]


def test_cut_section_is_removed() -> None:
    cut = arranged((0.0, 56.0), (72.0, 80.0))  # chorus 2 (56–72 s) gone
    assert describe_diff(WHOLE, cut, SECTIONS) == ["chorus 2 removed", "length 1:20.0 → 1:04.0"]
    assert describe_diff(cut, WHOLE, SECTIONS) == ["chorus 2 restored", "length 1:04.0 → 1:20.0"]


def test_shorter_intro_and_extended_section_in_bars() -> None:
    shorter = arranged((4.0, 80.0))  # 2 of the intro's 4 bars
    assert describe_diff(WHOLE, shorter, SECTIONS)[0] == "intro shortened by 2 bars"
    one_bar = arranged((6.0, 80.0))
    assert describe_diff(shorter, one_bar, SECTIONS)[0] == "intro shortened by 1 bar"
    assert describe_diff(one_bar, WHOLE, SECTIONS)[0] == "intro extended by 3 bars"


def test_repeats_and_order() -> None:
    twice = arranged((0.0, 40.0), (24.0, 80.0))  # chorus 1 (24–40) played twice
    assert describe_diff(WHOLE, twice, SECTIONS)[0] == "chorus 1 repeated"
    bars = arranged((0.0, 40.0), (36.0, 80.0))  # its last 2 bars again
    assert describe_diff(WHOLE, bars, SECTIONS)[0] == "2 bars of chorus 1 repeated"
    moved = arranged((0.0, 8.0), (24.0, 40.0), (8.0, 24.0), (40.0, 80.0))  # chorus 1 before verse 1
    lines = describe_diff(WHOLE, moved, SECTIONS)
    assert lines == ["order changed: now intro → chorus 1 → verse 1 → verse 2 → chorus 2 → outro"]


def test_parts_fades_and_master_in_words() -> None:
    b = arranged((0.0, 80.0), fade_in_s=1.0).with_part("bass", gain_db=-2.0, pan=-0.5)
    b = b.replace(master=MasterSettings("broadcast"))
    a = WHOLE.replace(master=MasterSettings("streaming"))
    assert describe_diff(a, b, SECTIONS) == ["fade-in added (1.0 s)", "bass −2 dB", "bass pan centre → 50% left",
                                             "master target streaming → broadcast"]
    muted = WHOLE.with_part("bass", mute=True).replace(master=MasterSettings(-16, -2.0))
    assert describe_diff(WHOLE, muted, SECTIONS) == ["bass muted", "mastering added: -16 LUFS",
                                                     "master ceiling the target's → −2 dBTP"]
    assert describe_diff(muted, WHOLE, SECTIONS) == ["bass unmuted", "mastering removed (was -16 LUFS)"]


def test_many_changes_at_once() -> None:
    b = arranged((4.0, 56.0), (72.0, 80.0), fade_out_s=2.0).with_part("bass", gain_db=3.0)
    assert describe_diff(WHOLE, b, SECTIONS) == ["intro shortened by 2 bars", "chorus 2 removed", "fade-out added (2.0 s)",
                                                 "length 1:20.0 → 1:00.0", "bass +3 dB"]


def test_without_sections_bars_come_from_downbeats_or_seconds() -> None:
    shorter = arranged((4.0, 80.0))
    assert describe_diff(WHOLE, shorter, [], downbeats_s=[0.0, 2.0, 4.0, 6.0])[0] == "track shortened by 2 bars"
    assert describe_diff(WHOLE, shorter, [])[0] == "track shortened by 4.0 s"


def test_numpy_numbers_are_written_as_plain_yaml() -> None:
    import numpy as np

    edits = EditList((Segment(np.float64(0.25), np.float64(8.5)), Segment(np.float64(10.0), 12.0)),
                     fade_out_s=np.float64(1.5))
    text = Recipe(edits, {"bass": PartSettings(np.float64(-2.0))}, MasterSettings(np.float64(-16.0))).to_yaml()
    assert "numpy" not in text and "!!" not in text
    again = Recipe.from_yaml(text)
    assert again.arrangement.segments[0] == Segment(0.25, 8.5) and again.arrangement.fade_out_s == 1.5


def test_diff_names_added_composition_operations_and_automation() -> None:
    from trackwright.mix.automation import Move

    base = Recipe(EditList.whole(60.0))
    changed = base.replace(score=({"op": "pedal", "seed": 0, "degree": "dominant", "start_s": 12.0, "end_s": 24.0},),
                           automation=(Move(0.0, 20.0, "*", "gain", -2.4, reason="hold back"),))
    lines = describe_diff(base, changed, [])
    assert "added: pedal (degree dominant) in 0:12.0–0:24.0" in lines
    assert 'added: everything: gain −2.4 dB in 0:00.0–0:20.0 ("hold back")' in lines
    assert describe_diff(changed, base, [])[-1].startswith("removed: everything: gain")
