"""``trackwright export PROJECT``: a real project version (stems, MIDI, a brief, an edit, a rebuilt part,
a review comment) handed to DAWproject, REAPER and MusicXML; every file read back by readers
written here and checked against the render and the fixture's known music.

The fixture (tests/project_fixtures.py) is a 16 s song at 120 bpm, 4/4: a kick on every beat,
louder on each downbeat (every 2.0 s). The version cuts bars 3–4 (source 4–8 s) and then repeats
bars 2–3 of what is left (source bars 2 and 5), so the output is 16 s with bar lines every 2.0 s
and "chorus 2" starting at 6.0 s.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from clirun import run
from export_fixtures import HeldTempo as _Tempo, dawproject_schema as _schema
from project_fixtures import write_song
from rpp_parser import parse

from trackwright.export import export
from trackwright.project import Project
from trackwright.project.operations import arrange_project, produce_project
from trackwright.review.store import ReviewStore

etree = pytest.importorskip("lxml.etree")
pretty_midi = pytest.importorskip("pretty_midi")
DATA = Path(__file__).parent / "data"
BAR_S = 2.0
HIT_S = 6.5
COMMENT_S = 5.0


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    root = tmp_path_factory.mktemp("export-project")
    paths = write_song(root / "src", 16.0, midi=True)
    brief = root / "src" / "brief.yaml"
    brief.write_text(f"title: Night Drive\ncomposer: A. Writer\nduration: 14\nhits:\n  - {{at: {HIT_S}, what: door slam}}\n",
                     encoding="utf-8")
    opened = Project.create(root / "song", paths["draft"], stems=paths["stems"], midi=paths["midi"], brief=brief)
    arrange_project(opened, "cut", "bars 3-4")
    arrange_project(opened, "repeat", "bars 2-3")
    produce_project(opened, instruments={"track0": "strings"}, replaces={"track0": "keys"})
    ReviewStore(opened.path).add_comment(opened.latest(), COMMENT_S, "Louder here? The strings get lost.",
                                         author="Director")
    return opened


@pytest.fixture(scope="module")
def exported(project: Project, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("exports")
    return {to: export(project.path, to=to, output=out / to).path for to in ("dawproject", "reaper", "musicxml")}


def _downbeat_onsets(path: Path) -> np.ndarray:
    """Times (s) of the loud kicks (the downbeats) in a rendered drum stem: 1 ms energy rises."""
    audio, rate = sf.read(str(path), always_2d=True)
    energy = np.convolve(audio.mean(axis=1) ** 2, np.ones(int(rate * 0.001)), mode="same")
    loud = energy > 0.5 * energy.max()
    starts = np.flatnonzero(loud[1:] & ~loud[:-1]) + 1
    keep = [s for i, s in enumerate(starts) if i == 0 or s - starts[i - 1] > rate * 0.2]
    return np.asarray(keep) / rate


def _dawproject(path: Path):
    with zipfile.ZipFile(path) as archive:
        return (etree.fromstring(archive.read("project.xml")), etree.fromstring(archive.read("metadata.xml")),
                {name: archive.read(name) for name in archive.namelist() if name.startswith("audio/")})


def test_dawproject_validates_and_its_audio_is_the_render_sample_for_sample(project: Project, exported) -> None:
    xml, metadata, stored = _dawproject(exported["dawproject"])
    assert _schema("Project.xsd").validate(xml), _schema("Project.xsd").error_log
    assert _schema("MetaData.xsd").validate(metadata)
    assert (metadata.findtext("Title"), metadata.findtext("Composer")) == ("Night Drive", "A. Writer")
    render = project.render()
    rate = sf.info(str(render.mix)).samplerate
    arrangement = xml.find("Arrangement")
    tempo = _Tempo([(float(p.get("time")), float(p.get("value"))) for p in arrangement.iter("RealPoint")])
    tracks = {t.get("id"): t for t in xml.find("Structure").findall("Track")}
    by_name = {}
    for lane in arrangement.find("Lanes").findall("Lanes"):
        track = tracks[lane.get("track")]
        by_name[track.get("name")] = (track, lane)
    # one track per rendered stem (the rebuilt part included), then the mix, muted, as the reference
    files = {"bass": render.stems["bass"], "drums": render.stems["drums"], "track0 (rebuilt)": render.stems["midi:track0"],
             "Mix": render.mix}
    assert "keys" not in by_name  # replaced by the rebuilt strings
    for name, path in files.items():
        track, lane = by_name[name]
        (clip,) = [c for c in lane.iter("Clip") if c.find("Audio") is not None]
        assert stored[clip.find("Audio").find("File").get("path")] == path.read_bytes()
        start = tempo.seconds(float(clip.get("time")))
        end = tempo.seconds(float(clip.get("time")) + float(clip.get("duration")))
        assert round(start * rate) == 0 and round(end * rate) == sf.info(str(path)).frames
        assert float(clip.get("playStart")) == 0.0
        assert track.find("Channel").find("Mute").get("value") == ("true" if name == "Mix" else "false")


def test_bar_lines_fall_on_the_versions_downbeats(project: Project, exported) -> None:
    xml, _, _ = _dawproject(exported["dawproject"])
    arrangement = xml.find("Arrangement")
    points = [(float(p.get("time")), float(p.get("value"))) for p in arrangement.iter("RealPoint")]
    tempo = _Tempo(points)
    signatures = [(int(p.get("numerator")), int(p.get("denominator")))
                  for p in arrangement.find("TimeSignatureAutomation").findall("TimeSignaturePoint")]
    assert signatures == [(4, 4)]
    # a bar line every 4 beats; in seconds they sit every 2.0 s, on the loud kicks of the rendered drums
    duration_s = sf.info(str(project.render().mix)).duration
    lines = [tempo.seconds(4.0 * bar) for bar in range(1, round(duration_s / BAR_S))]
    onsets = _downbeat_onsets(project.render().stems["drums"])
    assert len(lines) == 7
    for line in lines:
        assert np.min(np.abs(onsets - line)) < 0.005, (line, onsets)
    assert lines == pytest.approx([BAR_S * k for k in range(1, 8)], abs=0.005)
    assert all(abs(bpm - 120.0) < 1.5 for _, bpm in points)


def test_markers_sections_hits_findings_comments(exported) -> None:
    xml, _, _ = _dawproject(exported["dawproject"])
    arrangement = xml.find("Arrangement")
    tempo = _Tempo([(float(p.get("time")), float(p.get("value"))) for p in arrangement.iter("RealPoint")])
    markers = [(tempo.seconds(float(m.get("time"))), m.get("name"), m.get("comment"))
               for m in arrangement.find("Markers")]
    kinds = {}
    for time_s, name, comment in markers:
        kinds.setdefault(comment.split(":")[0], []).append((time_s, name, comment))
    sections = kinds["section"]
    assert [n for _, n, _ in sections] == ["chorus 1", "chorus 2"]
    assert sections[0][0] == pytest.approx(0.0, abs=1e-9) and sections[1][0] == pytest.approx(3 * BAR_S, abs=0.005)
    assert [(round(t, 6), n) for t, n, _ in kinds["hit"]] == [(HIT_S, "door slam")]
    (comment,) = kinds["comment"]
    assert comment[0] == pytest.approx(COMMENT_S) and "Director" in comment[2] and "strings get lost" in comment[2]
    # the brief asks for 14 s, the draft is 16 s: the draft's length finding starts at 14 s of the
    # source, which this version still plays at 14 s (4 s cut, 4 s repeated before it)
    lengths = [t for t, n, _ in kinds["finding"] if n == "brief length"]
    assert lengths == [pytest.approx(14.0, abs=0.02)]


def test_rebuilt_part_notes_follow_the_edited_midi(project: Project, exported) -> None:
    xml, _, _ = _dawproject(exported["dawproject"])
    arrangement = xml.find("Arrangement")
    tempo = _Tempo([(float(p.get("time")), float(p.get("value"))) for p in arrangement.iter("RealPoint")])
    tracks = {t.get("id"): t for t in xml.find("Structure").findall("Track")}
    (lane,) = [lane for lane in arrangement.find("Lanes").findall("Lanes")
               if tracks[lane.get("track")].get("name") == "track0 MIDI"]
    assert "GM program 49" in tracks[lane.get("track")].get("comment")  # strings: program 48, 1-based 49
    (clip,) = lane.iter("Clip")
    start = float(clip.get("time"))
    got = sorted((round(tempo.seconds(start + float(n.get("time"))), 4), int(n.get("key")))
                 for n in clip.find("Notes"))
    midi = pretty_midi.PrettyMIDI(str(project.render().midi))
    want = sorted((round(n.start, 4), n.pitch) for i in midi.instruments for n in i.notes)
    assert len(got) == len(want) > 20
    assert [p for _, p in got] == [p for _, p in want]
    assert np.max(np.abs(np.array([t for t, _ in got]) - [t for t, _ in want])) < 1e-3


def test_reaper_project_reads_back(project: Project, exported) -> None:
    path = exported["reaper"]
    root = parse(path.read_text(encoding="utf-8"))
    render = project.render()
    rate = sf.info(str(render.mix)).samplerate
    tracks = {t.item("NAME")[0]: t for t in root.children("TRACK")}
    assert tracks["Mix"].item("MUTESOLO")[0] == "1" and tracks["bass"].item("MUTESOLO")[0] == "0"
    for name, source in (("bass", render.stems["bass"]), ("drums", render.stems["drums"]), ("Mix", render.mix)):
        (item,) = tracks[name].children("ITEM")
        assert float(item.item("POSITION")[0]) == 0.0
        assert round(float(item.item("LENGTH")[0]) * rate) == sf.info(str(source)).frames
        file = path.parent / item.children("SOURCE")[0].item("FILE")[0]
        assert file.read_bytes() == source.read_bytes()
    # the tempo envelope: one point per bar line, on the same downbeats as the DAWproject's
    points = [float(p[0]) for p in root.children("TEMPOENVEX")[0].all("PT")]
    onsets = _downbeat_onsets(render.stems["drums"])
    assert all(np.min(np.abs(onsets - t)) < 0.005 for t in points[1:])
    names = {m[2]: float(m[1]) for m in root.all("MARKER")}
    assert names["chorus 2"] == pytest.approx(3 * BAR_S, abs=0.005) and names["[hit] door slam"] == HIT_S
    assert any(n.startswith("[comment] Louder here?") for n in names)


def test_musicxml_score_validates_and_holds_the_bars(project: Project, exported) -> None:
    music21 = pytest.importorskip("music21")
    schemas = DATA / "musicxml"
    if not (schemas / "musicxml.xsd").exists():
        pytest.skip("MusicXML XSD missing")

    class Local(etree.Resolver):
        def resolve(self, url, pubid, context):
            name = url.rsplit("/", 1)[-1]
            return self.resolve_filename(str(schemas / name), context) if name in ("xml.xsd", "xlink.xsd") else None

    parser = etree.XMLParser(load_dtd=False, no_network=True)
    parser.resolvers.add(Local())
    schema = etree.XMLSchema(etree.parse(str(schemas / "musicxml.xsd"), parser))
    assert schema.validate(etree.parse(str(exported["musicxml"]))), schema.error_log
    score = music21.converter.parse(str(exported["musicxml"]))
    (part,) = score.parts
    assert part.partName == "track0 MIDI"
    measures = part.getElementsByClass("Measure")
    assert len(measures) == 8  # 16 s at 2 s a bar
    midi = pretty_midi.PrettyMIDI(str(project.render().midi))
    pitches = sorted(n.pitch for i in midi.instruments for n in i.notes)
    assert sorted(p.midi for n in part.stripTies().flatten().notes for p in n.pitches) == pitches
    # the key signature is the analysis' key, as music21 spells that key
    key = project.analysis().harmony.key
    (signature,) = part.flatten().getElementsByClass("KeySignature")[:1]
    assert signature.sharps == music21.key.Key(key.tonic if key.mode == "major" else key.tonic.lower(), key.mode).sharps


def test_cli_export_and_its_refusals(project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "export", project.path, "--to", "reaper", "-o", tmp_path / "r", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["path"].endswith("Night_Drive.rpp") and any(f.endswith("audio/bass.wav") for f in data["files"])
    for args in (["--to", "reaper", "-o", tmp_path / "r"],  # not empty
                 ["--to", "cubase"], ["--to", "dawproject", "--version", "99", "-o", tmp_path / "v"],
                 ["--to", "fmod"]):  # fmod reads a delivery folder, not a project
        code, _, err = run(capsys, "export", project.path, *args)
        assert code == 1 and err.startswith("error:") and err.count("\n") == 1, (args, err)
    code, _, err = run(capsys, "export", tmp_path / "nothing", "--to", "dawproject")
    assert code == 1 and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]  # nothing half-written beside it


def test_a_project_without_midi_has_no_score(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = write_song(tmp_path / "src", 8.0, stems=False)
    Project.create(tmp_path / "solo", paths["draft"])
    code, _, err = run(capsys, "export", tmp_path / "solo", "--to", "musicxml", "-o", tmp_path / "m")
    assert code == 1 and "no MIDI" in err and not (tmp_path / "m").exists()
    result = export(tmp_path / "solo", to="dawproject", output=tmp_path / "d")
    xml, _, _ = _dawproject(result.path)
    names = [t.get("name") for t in xml.find("Structure").findall("Track")]
    assert names == ["Master", "Mix"]  # no stems: the mix alone, playing
    assert xml.find("Structure").findall("Track")[1].find("Channel").find("Mute").get("value") == "false"
