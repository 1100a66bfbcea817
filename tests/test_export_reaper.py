"""REAPER export: the .rpp parses (tests/rpp_parser.py), and items, the tempo map, MIDI and markers
read back in samples, seconds and beats as the session says."""

from __future__ import annotations

from pathlib import Path

import pytest

from export_fixtures import RATE, make_session
from rpp_parser import parse
from trackwright.export.reaper import write_rpp


def _seconds(points: list[tuple[float, float]], beats: float) -> float:
    """Beats → seconds through square tempo points (seconds, bpm) read from the file."""
    at_s, at_beats, bpm = points[0][0], 0.0, points[0][1]
    for time_s, next_bpm in points[1:]:
        span = (time_s - at_s) * bpm / 60.0
        if at_beats + span > beats:
            break
        at_s, at_beats, bpm = time_s, at_beats + span, next_bpm
    return at_s + (beats - at_beats) * 60.0 / bpm


def _notes(events: list[list[str]]) -> tuple[list[tuple[float, float, int, int]], list[int], int]:
    """(notes as (start, duration beats, pitch, velocity), programs, end tick) from ``E`` lines."""
    tick, sounding, notes, programs = 0, {}, [], []
    for delta, status, d1, d2 in events:
        tick += int(delta)
        kind, key, value = int(status, 16) & 0xF0, int(d1, 16), int(d2, 16)
        if kind == 0x90 and value:
            sounding[key] = (tick, value)
        elif kind in (0x80, 0x90):
            start, velocity = sounding.pop(key)
            notes.append((start / 960, (tick - start) / 960, key, velocity))
        elif kind == 0xC0:
            programs.append(key)
    return sorted(notes), programs, tick


@pytest.fixture
def exported(tmp_path: Path):
    (tmp_path / "src").mkdir()
    session = make_session(tmp_path / "src")
    out = tmp_path / "out"
    out.mkdir()
    return session, write_rpp(session, out / "Test Song.rpp")


def test_tempo_map_and_metres(exported) -> None:
    session, result = exported
    root = parse(result.path.read_text(encoding="utf-8"))
    assert root.name == "REAPER_PROJECT"
    assert root.item("TEMPO") == ["120", "4", "4"] and root.item("SAMPLERATE")[0] == str(RATE)
    (envelope,) = root.children("TEMPOENVEX")
    points = [(float(p[0]), float(p[1]), p[2], p[3] if len(p) > 3 else None) for p in envelope.all("PT")]
    assert [(t, b) for t, b, _, _ in points] == [(c.time_s, c.bpm) for c in session.tempo]
    assert {shape for _, _, shape, _ in points} == {"1"}  # square: the tempo steps
    signatures = [(t, int(code) & 0xFFFF, int(code) >> 16) for t, _, _, code in points if code is not None]
    assert signatures == [(m.time_s, m.numerator, m.denominator) for m in session.meters]


def test_audio_items_sit_on_the_sessions_samples(exported) -> None:
    session, result = exported
    root = parse(result.path.read_text(encoding="utf-8"))
    tracks = root.children("TRACK")
    assert [t.item("NAME")[0] for t in tracks] == [t.name for t in session.tracks]
    for block, track in zip(tracks, session.tracks):
        volume, pan = map(float, block.item("VOLPAN")[:2])
        assert volume == pytest.approx(10 ** (track.gain_db / 20), abs=1e-9) and pan == track.pan
        items = [i for i in block.children("ITEM") if i.children("SOURCE")[0].args == ["WAVE"]]
        assert len(items) == len(track.audio)
        for item, clip in zip(items, track.audio):
            assert round(float(item.item("POSITION")[0]) * RATE) == round(clip.start_s * RATE)
            assert round(float(item.item("LENGTH")[0]) * RATE) == round(clip.length_s * RATE)
            assert float(item.item("SOFFS")[0]) == pytest.approx(clip.offset_s, abs=1e-10)
            assert float(item.item("VOLPAN")[0]) == pytest.approx(10 ** (clip.gain_db / 20), abs=1e-9)
            assert (float(item.item("FADEIN")[1]), float(item.item("FADEOUT")[1])) == (clip.fade_in_s, clip.fade_out_s)
            file = item.children("SOURCE")[0].item("FILE")[0]
            assert not Path(file).is_absolute()
            assert (result.path.parent / file).read_bytes() == Path(clip.path).read_bytes()


def test_midi_items_hold_the_notes_on_the_tempo_map(exported) -> None:
    session, result = exported
    root = parse(result.path.read_text(encoding="utf-8"))
    points = [(float(p[0]), float(p[1])) for p in root.children("TEMPOENVEX")[0].all("PT")]
    for block, track in zip(root.children("TRACK"), session.tracks):
        items = [i for i in block.children("ITEM") if i.children("SOURCE")[0].args == ["MIDI"]]
        assert len(items) == len(track.notes)
        for item, clip in zip(items, track.notes):
            source = item.children("SOURCE")[0]
            assert source.item("HASDATA") == ["1", "960", "QN"]
            start = _seconds(points, clip.start_beats)
            end = _seconds(points, clip.start_beats + clip.length_beats)
            assert float(item.item("POSITION")[0]) == pytest.approx(start, abs=1e-9)
            assert float(item.item("LENGTH")[0]) == pytest.approx(end - start, abs=1e-9)
            notes, programs, end_tick = _notes(source.all("E"))
            assert notes == sorted((n.start_beats, n.duration_beats, n.pitch, n.velocity) for n in clip.notes)
            assert end_tick == round(clip.length_beats * 960)
            assert programs == ([] if track.program is None or track.drums else [track.program])
            channels = {int(e[1], 16) & 0x0F for e in source.all("E")}
            assert channels == {9 if track.drums else 0}


def test_markers(exported) -> None:
    session, result = exported
    root = parse(result.path.read_text(encoding="utf-8"))
    markers = [(float(m[1]), m[2]) for m in root.all("MARKER")]
    want = sorted(session.markers, key=lambda m: m.time_s)
    assert [t for t, _ in markers] == [m.time_s for m in want]
    for (_, name), marker in zip(markers, want):
        assert marker.name in name
        assert (f"[{marker.kind.value}]" in name) == (marker.kind.value != "section")
        assert marker.text in name


def test_referenced_audio_uses_absolute_paths(tmp_path: Path) -> None:
    session = make_session(tmp_path)
    result = write_rpp(session, tmp_path / "ref.rpp", copy_audio=False)
    root = parse(result.path.read_text(encoding="utf-8"))
    files = [i.children("SOURCE")[0].item("FILE")[0] for t in root.children("TRACK") for i in t.children("ITEM")
             if i.children("SOURCE")[0].args == ["WAVE"]]
    assert files and all(Path(f).is_absolute() and Path(f).is_file() for f in files)
    assert not (tmp_path / "audio").exists()
