"""MusicXML export: the score validates against the MusicXML 4.0 XSD, and music21 reads back the
notes, bars, metres, key and tempo the session holds."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from export_fixtures import make_session
from trackwright.errors import ParameterError
from trackwright.export.musicxml import note_values, write_musicxml
from trackwright.export.session import MeterChange, Note, Session, Track, note_clip, tempo_from_downbeats

etree = pytest.importorskip("lxml.etree")
music21 = pytest.importorskip("music21")
SCHEMAS = Path(__file__).parent / "data" / "musicxml"


class _Local(etree.Resolver):
    """Map the schema's web addresses of xml.xsd and xlink.xsd to the local copies."""

    def resolve(self, url, pubid, context):  # noqa: ANN001, ANN201
        name = url.rsplit("/", 1)[-1]
        if name in ("xml.xsd", "xlink.xsd"):
            return self.resolve_filename(str(SCHEMAS / name), context)
        return None


def _validate(path: Path) -> None:
    if not (SCHEMAS / "musicxml.xsd").exists():
        pytest.skip("MusicXML XSD missing (copy schema/ of the w3c/musicxml repository to tests/data/musicxml)")
    parser = etree.XMLParser(load_dtd=False, no_network=True)
    parser.resolvers.add(_Local())
    schema = etree.XMLSchema(etree.parse(str(SCHEMAS / "musicxml.xsd"), parser))
    document = etree.parse(str(path), etree.XMLParser(load_dtd=False, no_network=True))
    assert schema.validate(document), schema.error_log


def _expected(track: Track) -> list[tuple[Fraction, Fraction, int]]:
    return sorted((Fraction(c.start_beats + n.start_beats).limit_denominator(64),
                   Fraction(n.duration_beats).limit_denominator(64), n.pitch) for c in track.notes for n in c.notes)


def _read_notes(part) -> list[tuple[Fraction, Fraction, int]]:  # noqa: ANN001
    out = []
    for element in part.stripTies().flatten().notes:
        for pitch in element.pitches:
            out.append((Fraction(element.offset).limit_denominator(64),
                        Fraction(element.quarterLength).limit_denominator(64), pitch.midi))
    return sorted(out)


def test_score_validates_and_reads_back_notes_bars_and_metres(tmp_path: Path) -> None:
    session = make_session(tmp_path)
    result = write_musicxml(session, tmp_path / "score.musicxml")
    _validate(result.path)
    score = music21.converter.parse(str(result.path))
    pitched = [t for t in session.tracks if t.notes and not t.drums]
    assert [p.partName for p in score.parts] == [t.name for t in pitched]
    assert any("Kit" in w and "drum" in w for w in result.warnings)
    for part, track in zip(score.parts, pitched):
        assert _read_notes(part) == _expected(track)
    # bars: 4 + 3 of 4/4, then 3/4 up to the last note (the Keys' D–F at beat 28, 3 beats)
    measures = list(score.parts[0].getElementsByClass("Measure"))
    assert len(measures) == 8
    signatures = [(m.number, ts.ratioString) for m in measures for ts in m.getElementsByClass("TimeSignature")]
    assert signatures == [(1, "4/4"), (8, "3/4")]
    assert [float(m.offset) for m in measures] == [0, 4, 8, 12, 16, 20, 24, 28]
    assert measures[-1].rightBarline.type == "final"
    assert [k.sharps for k in score.recurse().getElementsByClass("KeySignature")][:1] == [0]
    marks = [(float(m.getOffsetInHierarchy(score.parts[0])), m.number)
             for m in score.parts[0].recurse().getElementsByClass("MetronomeMark")]
    assert marks == [(0.0, 120), (16.0, 90), (28.0, 140)]
    rehearsals = [r.content for r in score.parts[0].recurse().getElementsByClass("RehearsalMark")]
    assert rehearsals == ["Intro", "Verse", "Bridge"]


def test_off_grid_notes_are_quantised_and_ranges_checked(tmp_path: Path) -> None:
    notes = [Note(0.02, 0.97, 20, 90), Note(1.0, 1.0, 40, 90)]  # A0: far below a bass's range
    session = Session("Q", 48000, tracks=(Track("Bass", notes=(note_clip(notes),), program=33,
                                                  instrument="Electric Bass"),))
    result = write_musicxml(session, tmp_path / "q.musicxml")
    _validate(result.path)
    part = music21.converter.parse(str(result.path)).parts[0]
    assert _read_notes(part) == [(0, 1, 20), (1, 1, 40)]
    assert any("moved" in w for w in result.warnings)
    assert any("outside the usual E1" in w for w in result.warnings)
    assert part.recurse().getElementsByClass("Clef")[0].sign == "F"


def test_compound_grid_makes_eighth_note_metres_and_quarter_note_tempi() -> None:
    """Beats of a 6/8 grid are dotted quarters: two a bar make 6/8 (not 2/4) and the tempo map
    counts quarters, 1.5 to a beat; a one-beat pickup is a bar of 3/8."""
    # one dotted-quarter pickup, then bars of 2 beats at 80 dotted quarters a minute (0.75 s)
    tempo, meters = tempo_from_downbeats([0.75, 2.25, 3.75, 5.25], 2, subdivision=3)
    assert meters == (MeterChange(0.0, 3, 8), MeterChange(0.75, 6, 8))
    assert [round(t.bpm, 6) for t in tempo] == [120.0] * 4  # 80 dotted quarters = 120 quarters a minute
    _, simple = tempo_from_downbeats([0.75, 2.25, 3.75, 5.25], 2)
    assert simple == (MeterChange(0.0, 1, 4), MeterChange(0.75, 2, 4))


def test_pickup_bar_from_a_measured_grid(tmp_path: Path) -> None:
    tempo, meters = tempo_from_downbeats([0.5, 2.5, 4.5, 6.5], 4)  # one beat of pickup at 120 bpm
    assert meters == (MeterChange(0.0, 1, 4), MeterChange(0.5, 4, 4))
    notes = [Note(0.0, 1.0, 67, 90), Note(1.0, 4.0, 72, 90), Note(5.0, 2.0, 71, 90)]
    session = Session("P", 48000, tempo=tempo, meters=meters, tracks=(Track("Lead", notes=(note_clip(notes),)),))
    result = write_musicxml(session, tmp_path / "p.musicxml")
    _validate(result.path)
    part = music21.converter.parse(str(result.path)).parts[0]
    measures = list(part.getElementsByClass("Measure"))
    assert [m.number for m in measures] == [0, 1, 2]
    assert measures[0].paddingLeft == 3.0  # music21 sees a pickup of one beat in 4/4
    assert [(p, float(d)) for _, d, p in _read_notes(part)] == [(67, 1.0), (72, 4.0), (71, 2.0)]


def test_note_values_and_bad_input() -> None:
    assert note_values(Fraction(5, 4)) == [("quarter", 0), ("16th", 0)]
    assert note_values(Fraction(7, 2)) == [("half", 1), ("eighth", 0)]
    with pytest.raises(ParameterError, match="no pitched note tracks"):
        write_musicxml(Session("E", 48000), "unused.musicxml")
    session = Session("G", 48000, tracks=(Track("A", notes=(note_clip([Note(0, 1, 60)]),)),))
    with pytest.raises(ParameterError, match="grid_beats"):
        write_musicxml(session, "unused.musicxml", grid_beats=0.3)
