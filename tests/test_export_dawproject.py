"""DAWproject export: the XML validates against the format's own schemas, and positions, tempo,
metres, notes and markers read back (with a reader written here, not the writer's) as the session says."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from export_fixtures import RATE, HeldTempo as _Tempo, dawproject_schema as _schema, make_session
from trackwright.export.dawproject import write_dawproject

etree = pytest.importorskip("lxml.etree")


@pytest.fixture
def exported(tmp_path: Path):
    session = make_session(tmp_path)
    result = write_dawproject(session, tmp_path / "song.dawproject")
    return session, result


def test_project_and_metadata_validate_against_the_dawproject_schemas(exported) -> None:
    _, result = exported
    with zipfile.ZipFile(result.path) as archive:
        project = etree.fromstring(archive.read("project.xml"))
        metadata = etree.fromstring(archive.read("metadata.xml"))
    project_schema, metadata_schema = _schema("Project.xsd"), _schema("MetaData.xsd")
    assert project_schema.validate(project), project_schema.error_log
    assert metadata_schema.validate(metadata), metadata_schema.error_log
    assert metadata.findtext("Title") == "Test Song" and metadata.findtext("Composer") == "A. Composer"


def test_positions_in_samples_tempo_map_and_metres_read_back(exported) -> None:
    session, result = exported
    with zipfile.ZipFile(result.path) as archive:
        project = etree.fromstring(archive.read("project.xml"))
        stored = {name: archive.read(name) for name in archive.namelist() if name.startswith("audio/")}
    arrangement = project.find("Arrangement")
    assert arrangement.find("Lanes").get("timeUnit") == "beats"
    tempo = _Tempo([(float(p.get("time")), float(p.get("value")))
                    for p in arrangement.find("TempoAutomation").findall("RealPoint")])
    # the tempo map: each change at the session's time (seconds) with the session's bpm
    assert [tempo.seconds(b) for b, _ in tempo.points] == pytest.approx([c.time_s for c in session.tempo], abs=1e-9)
    assert [bpm for _, bpm in tempo.points] == [c.bpm for c in session.tempo]
    meters = [(tempo.seconds(float(p.get("time"))), int(p.get("numerator")), int(p.get("denominator")))
              for p in arrangement.find("TimeSignatureAutomation").findall("TimeSignaturePoint")]
    assert meters == [(pytest.approx(m.time_s, abs=1e-9), m.numerator, m.denominator) for m in session.meters]
    # tracks in order; each audio clip at the session's sample position, with its offset and length
    tracks = {t.get("id"): t.get("name") for t in project.find("Structure").findall("Track")}
    lanes = {tracks[lane.get("track")]: lane for lane in arrangement.find("Lanes").findall("Lanes")}
    assert list(lanes) == [t.name for t in session.tracks]
    for track in session.tracks:
        clips = [c for c in lanes[track.name].iter("Clip") if c.find("Audio") is not None]
        assert len(clips) == len(track.audio)
        for clip, want in zip(clips, track.audio):
            start = tempo.seconds(float(clip.get("time")))
            end = tempo.seconds(float(clip.get("time")) + float(clip.get("duration")))
            assert round(start * RATE) == round(want.start_s * RATE)
            assert round(end * RATE) == round((want.start_s + want.length_s) * RATE)
            assert clip.get("contentTimeUnit") == "seconds"
            assert float(clip.get("playStart")) == pytest.approx(want.offset_s, abs=1e-12)
            assert float(clip.get("playStop")) - float(clip.get("playStart")) == pytest.approx(want.length_s, abs=1e-9)
            fades = (float(clip.get("fadeInTime", 0)), float(clip.get("fadeOutTime", 0)))
            assert fades == (want.fade_in_s, want.fade_out_s)
            assert clip.get("fadeTimeUnit") == ("seconds" if any(fades) else None)
            audio = clip.find("Audio")
            assert stored[audio.find("File").get("path")] == Path(want.path).read_bytes()
            assert int(audio.get("sampleRate")) in (44100, 48000)
    # notes: pitch, start and length in beats as given
    for track in session.tracks:
        clips = [c for c in lanes[track.name].iter("Clip") if c.find("Notes") is not None]
        assert len(clips) == len(track.notes)
        for clip, want in zip(clips, track.notes):
            assert float(clip.get("time")) == pytest.approx(want.start_beats)
            got = sorted((float(n.get("time")), float(n.get("duration")), int(n.get("key")),
                          round(float(n.get("vel")) * 127)) for n in clip.find("Notes"))
            assert got == sorted((n.start_beats, n.duration_beats, n.pitch, n.velocity) for n in want.notes)
            assert {n.get("channel") for n in clip.find("Notes")} == {"9" if track.drums else "0"}


def test_markers_faders_and_pans(exported) -> None:
    session, result = exported
    with zipfile.ZipFile(result.path) as archive:
        project = etree.fromstring(archive.read("project.xml"))
    arrangement = project.find("Arrangement")
    tempo = _Tempo([(float(p.get("time")), float(p.get("value")))
                    for p in arrangement.find("TempoAutomation").findall("RealPoint")])
    markers = [(tempo.seconds(float(m.get("time"))), m.get("name"), m.get("comment").split(":")[0])
               for m in arrangement.find("Markers")]
    want = sorted((m.time_s, m.name, m.kind.value) for m in session.markers)
    assert [(pytest.approx(t, abs=1e-9), n, k) for t, n, k in want] == markers
    channels = {t.get("name"): t.find("Channel") for t in project.find("Structure").findall("Track")}
    bass = channels["Bass"]
    assert float(bass.find("Volume").get("value")) == pytest.approx(10 ** (-2 / 20))
    assert float(bass.find("Pan").get("value")) == pytest.approx(0.375)
    assert channels["Master"].get("role") == "master"
    assert bass.get("destination") == channels["Master"].get("id")
    assert any("clip gain" in w and "fill" in w for w in result.warnings)


def test_external_audio_is_referenced_not_copied(tmp_path: Path) -> None:
    session = make_session(tmp_path)
    result = write_dawproject(session, tmp_path / "ref.dawproject", embed_audio=False)
    with zipfile.ZipFile(result.path) as archive:
        assert sorted(archive.namelist()) == ["metadata.xml", "project.xml"]
        project = etree.fromstring(archive.read("project.xml"))
    files = project.findall(".//File")
    assert files and all(f.get("external") == "true" and Path(f.get("path")).is_file() for f in files)
    assert _schema("Project.xsd").validate(project)
