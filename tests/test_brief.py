"""Fit to a brief: length, dialogue, hits and the emotional arc, from a YAML cue sheet."""

from __future__ import annotations

from pathlib import Path

import pytest

from trackwright.analysis.analyze import Analysis, analyze
from trackwright.audio import Audio
from trackwright.analysis.brief import Brief, check_brief, load_brief, parse_time
from trackwright.errors import ParameterError
from trackwright.produce.fluidsynth import render_midi
from trackwright.score.draft import compose_song, pop_form_sections


@pytest.fixture(scope="module")
def audio() -> Audio:
    # 120 BPM: intro 0–8 s, verse 8–24, chorus 24–40, verse 40–56, chorus 56–72, bridge 72–88, chorus 88–104, outro
    midi, _ = compose_song(pop_form_sections("C", seed=1), bpm=120, key="C", seed=1)
    return render_midi(midi, sample_rate=22050)


@pytest.fixture(scope="module")
def song(audio: Audio) -> Analysis:
    return analyze(audio)


def fit(song: Analysis, brief: Brief) -> dict[str, list]:
    assert song.features is not None
    found: dict[str, list] = {}
    for finding in check_brief(brief, song.duration_s, song.features, song.dynamics):
        found.setdefault(finding.kind, []).append(finding)
    return found


def test_length(song: Analysis) -> None:
    assert "brief_length" in fit(song, Brief(duration_s=90.0))
    found = fit(song, Brief(duration_s=90.0))["brief_length"][0]
    assert "fit AUDIO -o OUT --duration 90" in found.suggestion and found.evidence["difference_s"] > 20
    assert "brief_length" not in fit(song, Brief(duration_s=song.duration_s + 0.5))


def test_dialogue_over_a_chorus_clashes_over_the_intro_it_does_not(song: Analysis) -> None:
    assert "dialogue_clash" in fit(song, Brief(dialogue=[(26.0, 38.0)]))
    assert "dialogue_clash" not in fit(song, Brief(dialogue=[(1.0, 7.0)]))


def test_hits_on_a_downbeat_and_in_an_empty_gap(song: Analysis) -> None:
    assert "missed_hit" not in fit(song, Brief(hits=[(24.0, "door")]))
    assert "missed_hit" in fit(song, Brief(hits=[(5.3, "door")]))  # sustained intro chords, no attack


def test_arc(song: Analysis) -> None:
    late = fit(song, Brief(peak_at=0.95, restrained_until=0.8))
    assert "misplaced_peak" in late and "no_restraint" in late
    assert late["misplaced_peak"][0].evidence["peak_fraction"] < 0.9
    early = fit(song, Brief(peak_at=song.dynamics.peak_s / song.duration_s))
    assert "misplaced_peak" not in early


def test_yaml_brief(tmp_path: Path) -> None:
    path = tmp_path / "brief.yaml"
    path.write_text('title: Scene 12\nduration: "1:30"\ntolerance: 2\ndialogue:\n  - "0:10-0:25"\n'
                    "  - {start: 40, end: 55}\nhits:\n  - {at: \"0:30.5\", what: door slam}\n"
                    'arc: "restrained until 80%, peak at the end"\n')
    brief = load_brief(path)
    assert brief.duration_s == 90.0 and brief.tolerance_s == 2.0
    assert brief.dialogue == [(10.0, 25.0), (40.0, 55.0)] and brief.hits == [(30.5, "door slam")]
    assert brief.restrained_until == pytest.approx(0.8) and brief.peak_at == pytest.approx(0.95)
    assert parse_time("1:02:03") == 3723.0


@pytest.mark.parametrize("text, message", [
    ("duration: soon\n", "not a time"), ("- just a list\n", "YAML mapping"), ("dialogue: ['0:30-0:10']\n", "ends before"),
    ("tempo: 120\n", "unknown brief field"), ("duration: [\n", "not a readable YAML"),
])
def test_bad_briefs_are_one_line_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ParameterError, match=message) as error:
        load_brief(path)
    assert "\n" not in str(error.value)
    with pytest.raises(ParameterError, match="no such brief"):
        load_brief(tmp_path / "missing.yaml")


def test_analyze_merges_brief_findings(audio: Audio, song: Analysis) -> None:
    assert song.brief is None and not [f for f in song.findings if f.kind.startswith("brief")]
    briefed = analyze(audio, brief=Brief(title="cue", duration_s=90.0, dialogue=[(26.0, 38.0)]))
    kinds = {f.kind for f in briefed.findings}
    assert {"brief_length", "dialogue_clash"} <= kinds
    clash = next(f for f in briefed.findings if f.kind == "dialogue_clash")
    assert 24.0 <= clash.start_s <= 28.0 and 36.0 <= clash.end_s <= 40.0
    data = briefed.to_dict()
    assert data["brief"]["duration_s"] == 90.0 and Analysis.from_dict(data).to_dict() == data
