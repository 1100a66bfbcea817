"""Creative notes, one test per cause of issue 20 (each failed with the note engine before it).

Every audio check uses the independent meters of ``note_measures`` (pyloudnorm, numpy spectra),
never the engine's own verdict; the engine's verdict is itself checked against them.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import numpy as np
import pytest
from note_measures import band_share_db, centroid_hz, crest_db, level_db, lufs, parts_sounding, width_db
from project_fixtures import write_song

import trackwright.analysis
from trackwright.audio import Audio, load_audio, save_audio
from trackwright.errors import ParameterError
from trackwright.project import Project
from trackwright.revise import apply_note
from trackwright.revise.interpret import interpret

END = 16.0
#: Sections written into the fixture's analysis (seconds at 120 BPM: 2 s bars), so that section
#: notes resolve the same way on every machine.
SECTIONS = (("intro", "A", 0.0, 4.0), ("verse", "B", 4.0, 8.0), ("chorus", "C", 8.0, 12.0), ("chorus", "C", 12.0, 16.0))


def _with_sections(project: Project) -> Project:
    path = project.path / "analysis" / "draft.json"
    data = json.loads(path.read_text())
    data["sections"] = [{"start_s": a, "end_s": b, "label": label, "role": role, "bars": round((b - a) / 2),
                         "level_db": -20.0, "repeat_of": None, "similarity": None}
                        for role, label, a, b in SECTIONS]
    path.write_text(json.dumps(data))
    return project


@pytest.fixture(scope="module")
def song(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A 16 s song with stems (bass, drums, keys) and MIDI."""
    folder = tmp_path_factory.mktemp("causes")
    files = write_song(folder / "song", seconds=END, midi=True)
    return _with_sections(Project.create(folder / "cue", files["draft"], stems=files["stems"], midi=files["midi"],
                                         author="test"))


@pytest.fixture(scope="module")
def mono_mix(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """The same song as a mono mix (left = right) without stems."""
    folder = tmp_path_factory.mktemp("mono")
    files = write_song(folder / "song", seconds=END, stems=False)
    draft = load_audio(files["draft"])
    mono = draft.samples.mean(axis=0)
    save_audio(Audio(np.stack([mono, mono]), draft.sample_rate), folder / "mono.wav", bit_depth="float")
    return _with_sections(Project.create(folder / "cue", folder / "mono.wav", author="test"))


def _note(project: Project, text: str) -> tuple[object, Audio, Audio, dict[str, Audio], dict[str, Audio]]:
    """Apply ``text`` to the draft's version; (result, mix before, mix after, stems before, after)."""
    project.revert(1)
    before = project.render(project.latest())
    result = apply_note(project, text)
    after = project.render(result.version)
    stems = ({n: load_audio(p) for n, p in before.stems.items()}, {n: load_audio(p) for n, p in after.stems.items()})
    return result, load_audio(before.mix), load_audio(after.mix), *stems


def _centroid_change(a: Audio, b: Audio, start: float = 0.0, end: float = END) -> float:
    return centroid_hz(b, start, end) / centroid_hz(a, start, end) - 1.0


def test_meaning_is_not_inverted(song: Project) -> None:
    """"want" is not a negation; "not louder" is a constraint that holds; "it drags" asks for faster."""
    result, a, b, _, _ = _note(song, "we want it warmer")
    assert _centroid_change(a, b) <= -0.03, result.explanation()
    result, a, b, _, _ = _note(song, "we need more energy but not louder")
    assert lufs(b, 0, END) - lufs(a, 0, END) <= 0.2, result.explanation()
    assert crest_db(b, 0, END) - crest_db(a, 0, END) >= 0.5 or _centroid_change(a, b) >= 0.03
    assert result.holds[0]["kept"] is True
    readings = {"it drags, tighten it up": ("pace", 1), "strip the warmth out, I want it icy": ("warmth", -1),
                "this isn't bright enough": ("brightness", 1), "we don't want it any brighter": None}
    for text, wanted in readings.items():
        found = interpret(text).directives
        assert [(d.dimension, d.direction) for d in found] == ([wanted] if wanted else []), text
    verse = interpret("hold back the energy in the first verse so the chorus lands").directives
    assert [(d.dimension, d.scope.sections) for d in verse] == [("restraint", ("verse 1",))]


def test_scope_is_read_as_written(song: Project) -> None:
    """Regions are not sections, relative spans are kept, impossible times are refused."""
    for text, dimension in (("more low end", "low_end"), ("the top end is fizzy", "top"),
                            ("bottom end is too big", "low_end")):
        (directive,) = interpret(text).directives
        assert directive.dimension == dimension and directive.scope.kind == "all", text
    result, a, b, _, _ = _note(song, "brighter in the last 5 seconds")
    assert _centroid_change(a, b, END - 4.0, END) >= 0.03, result.explanation()
    untouched = round((END - 6.0) * a.sample_rate)
    assert np.array_equal(a.samples[:, :untouched], b.samples[:, :untouched])
    assert interpret("quieter in the first half").directives[0].scope.fraction == (0.0, 0.5)
    latest = song.latest()
    with pytest.raises(ParameterError, match="9:99 is not a time"):
        apply_note(song, "at 9:99 turn it up")
    with pytest.raises(ParameterError, match="ends before it starts"):
        apply_note(song, "make 0:12-0:08 quieter")
    assert song.latest() == latest


def test_degree_words_set_the_size_both_ways(song: Project) -> None:
    """"a tiny bit, barely noticeable" is small but audible; "hugely" is big; tempo goes past 3 %."""
    _, a, tiny, _, _ = _note(song, "a tiny bit brighter so it's barely noticeable")
    _, _, huge, _, _ = _note(song, "hugely brighter")
    assert 0.03 <= _centroid_change(a, tiny) <= 0.10
    assert _centroid_change(a, huge) >= 2 * _centroid_change(a, tiny)
    result, a, b, _, _ = _note(song, "make it 20 % faster")
    assert b.duration_s == pytest.approx(END / 1.2, rel=0.03), result.explanation()


def test_a_mixer_s_techniques(song: Project, mono_mix: Project) -> None:
    """Mud is cut in the low mids, a fade is a fade, a kept part is untouched, "less busy" removes
    parts, parts a mix lacks are said to need stems."""
    result, a, b, _, _ = _note(song, "it's muddy")
    assert band_share_db(b, 0, END, 200, 500) - band_share_db(a, 0, END, 200, 500) <= -0.5, result.explanation()
    result, a, b, _, _ = _note(song, "fade the last 4 seconds")
    assert b.duration_s == pytest.approx(a.duration_s, abs=0.01)
    assert level_db(b, END - 4.5, END - 4.0) - level_db(b, END - 0.5, END) >= 15.0, result.explanation()
    result, a, b, drums_a, drums_b = _note(song, "a bit louder, keep the drums")
    assert np.array_equal(drums_a["drums"].samples, drums_b["drums"].samples), result.explanation()
    assert lufs(b, 0, END) - lufs(a, 0, END) >= 0.5
    result, _, _, stems_a, stems_b = _note(song, "less busy from 0:04 to 0:12")
    assert parts_sounding(stems_b, 5.0, 11.0) < parts_sounding(stems_a, 5.0, 11.0), result.explanation()
    latest = mono_mix.latest()
    with pytest.raises(ParameterError, match="stem.*separate"):
        apply_note(mono_mix, "turn the strings down")
    assert mono_mix.latest() == latest


def test_an_editor_s_techniques(song: Project, mono_mix: Project) -> None:
    """A build rises into the first chorus only (the second continues it); the ending lands harder;
    "the drop" is a place; a lead a mix lacks is brought forward in its band, and said so."""
    result, a, b, _, _ = _note(song, "build up into the chorus")
    rise = (level_db(b, 6.0, 8.0) - level_db(b, 0.0, 2.0)) - (level_db(a, 6.0, 8.0) - level_db(a, 0.0, 2.0))
    assert rise >= 3.0, result.explanation()
    chorus = round(8.0 * a.sample_rate)
    assert np.array_equal(a.samples[:, chorus:], b.samples[:, chorus:])
    result, a, b, _, _ = _note(song, "make the ending land harder")
    assert lufs(b, 12.5, END) - lufs(a, 12.5, END) >= 0.5 or crest_db(b, 12.5, END) - crest_db(a, 12.5, END) >= 0.5
    assert np.array_equal(a.samples[:, :round(10.0 * a.sample_rate)], b.samples[:, :round(10.0 * a.sample_rate)])
    result, a, b, _, _ = _note(song, "louder at the drop")
    changed = np.flatnonzero(np.any(a.samples != b.samples, axis=0)) / a.sample_rate
    assert len(changed) and changed[-1] - changed[0] < END / 2, result.explanation()
    middle = (changed[0] + changed[-1]) / 2
    assert lufs(b, middle - 1.0, middle + 1.0) - lufs(a, middle - 1.0, middle + 1.0) >= 0.5
    result, a, b, _, _ = _note(mono_mix, "bring the lead forward")
    assert band_share_db(b, 0, END, 1000, 4000) - band_share_db(a, 0, END, 1000, 4000) >= 0.5, result.explanation()
    assert any("no lead stem" in line and "trackwright separate" in line for line in result.explanation())


def test_contradictions_and_overlong_notes_are_refused_with_the_reason(song: Project) -> None:
    latest = song.latest()
    with pytest.raises(ParameterError, match="both more and less loudness"):
        apply_note(song, "quieter but also louder")
    with pytest.raises(ParameterError, match="both more and less brightness"):
        apply_note(song, "darker and brighter")
    with pytest.raises(ParameterError, match="70 words long"):
        apply_note(song, " ".join(["a bit warmer and maybe"] * 14))
    assert song.latest() == latest


def _suggested_notes() -> list[str]:
    """The note texts the analysis suggests (``trackwright note PROJECT "…"``), read from the
    analysis package's sources; a placeholder such as ``{role}`` becomes each of the fixture's roles."""
    found: list[str] = []
    for path in sorted(Path(trackwright.analysis.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.JoinedStr):
                text = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value
            else:
                continue
            found += re.findall(r"trackwright note PROJECT [\"'“](.+?)[\"'”]", text)
    roles = sorted({role for role, *_ in SECTIONS if role != "intro"})
    notes = [n.replace("{}", role) for n in dict.fromkeys(found) for role in (roles if "{}" in n else [""])]
    return list(dict.fromkeys(notes))


def test_every_note_the_analysis_suggests_is_carried_out(song: Project) -> None:
    notes = _suggested_notes()
    assert len(notes) >= 3, notes
    for text in notes:
        result, a, b, _, _ = _note(song, text)
        assert result.version == song.latest() and result.changes, text
        assert not np.array_equal(a.samples, b.samples), text


def test_the_verdict_agrees_with_the_measurements(song: Project, mono_mix: Project) -> None:
    """A note that cannot be done is reported "not achieved" with what was measured; a note that
    is done is "achieved" and the independent meters agree."""
    result, a, b, _, _ = _note(mono_mix, "much wider")
    assert abs(width_db(b, 0, END) - width_db(a, 0, END)) < 1.0 or not np.isfinite(width_db(a, 0, END))
    assert result.achieved is False and any("not achieved" in line for line in result.explanation())
    assert not any(row["as_asked"] for row in result.measurements)
    result, a, b, _, _ = _note(song, "louder")
    assert result.achieved is True and lufs(b, 0, END) - lufs(a, 0, END) >= 0.5
