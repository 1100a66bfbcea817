"""A session with known ground truth for the export tests: tempo and metre changes, audio and note clips, markers;
and the tests' own DAWproject reading aids (the schema, a beats → seconds reader).

The grid: 4/4 at 120 bpm for 4 bars (0–8 s), 4/4 at 90 bpm for 3 bars (8–16 s), then 3/4 at
140 bpm. Audio files are generated here (short tones and noise); notes sit on a 16th grid with
a chord, a note tied over a bar line, two overlapping voices and a dotted rhythm.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from trackwright.export.session import (AudioClip, Marker, MarkerKind, MeterChange, Note, NoteClip, Session,
                                        TempoChange, Track, note_clip)
from trackwright.score.symbolic import Key

RATE = 48000


def write_tone(path: Path, seconds: float, rate: int = RATE, channels: int = 2, freq_hz: float = 220.0) -> Path:
    """A sine tone with a short noise burst every second (so positions are audible), 24-bit WAV."""
    t = np.arange(round(seconds * rate)) / rate
    wave = 0.3 * np.sin(2 * np.pi * freq_hz * t)
    wave[(t % 1.0) < 0.01] += 0.2 * np.random.default_rng(1).standard_normal(int(np.count_nonzero((t % 1.0) < 0.01)))
    sf.write(str(path), np.tile(wave, (channels, 1)).T, rate, subtype="PCM_24")
    return path


BASS_NOTES = (  # absolute beats: a walking line with a note tied over the bar line at beat 4
    Note(0.0, 1.0, 40, 100), Note(1.0, 1.0, 43, 90), Note(2.0, 0.5, 45, 90), Note(2.5, 0.5, 47, 80),
    Note(3.0, 2.0, 48, 100), Note(5.0, 0.75, 47, 90), Note(5.75, 0.25, 45, 70), Note(6.0, 2.0, 43, 90),
)
KEYS_NOTES = (  # a C major chord, a second voice overlapping it, then an Am chord
    Note(0.0, 2.0, 60, 80), Note(0.0, 2.0, 64, 80), Note(0.0, 2.0, 67, 80),
    Note(1.0, 1.5, 72, 70), Note(2.5, 0.5, 71, 70),
    Note(4.0, 4.0, 57, 80), Note(4.0, 4.0, 60, 80), Note(4.0, 4.0, 64, 80),
)
DRUM_NOTES = tuple(Note(b * 0.5, 0.25, 42, 80) for b in range(16)) + (Note(0.0, 0.25, 36, 110),
                                                                       Note(2.0, 0.25, 38, 100))


def make_session(folder: Path) -> Session:
    """The test session; its audio files are written into ``folder``."""
    drums = write_tone(folder / "drums.wav", 6.0, freq_hz=110.0)
    bass = write_tone(folder / "bass.wav", 12.0, rate=44100, channels=1, freq_hz=55.0)
    vocal = write_tone(folder / "Lead vocal.wav", 5.0, freq_hz=330.0)
    tracks = (
        Track("Drums", "drums", audio=(AudioClip(drums, 0.0, 6.0), AudioClip(drums, 9.5, 2.25, offset_s=1.5,
                                                                           gain_db=-3.0, name="fill",
                                                                           fade_in_s=0.01, fade_out_s=0.5))),
        Track("Bass", "bass", audio=(AudioClip(bass, 0.0, 12.0),),
              notes=(note_clip(BASS_NOTES, name="bass line"),), gain_db=-2.0, pan=-0.25,
              instrument="Electric Bass", program=33),
        Track("Keys", "part", notes=(note_clip(KEYS_NOTES),
                                     NoteClip(28.0, 3.0, (Note(0.0, 3.0, 62, 80), Note(0.0, 3.0, 65, 80)), "bar 8")),
              pan=0.5, instrument="Piano", program=0),
        Track("Vocal", "vocal", audio=(AudioClip(vocal, 16.0 + 1 / 3, 4.0, offset_s=0.5),)),
        Track("Kit", "part", notes=(note_clip(DRUM_NOTES),), instrument="Drum Kit", drums=True),
    )
    return Session(
        "Test Song", RATE,
        tempo=(TempoChange(0.0, 120.0), TempoChange(8.0, 90.0), TempoChange(16.0, 140.0)),
        meters=(MeterChange(0.0, 4, 4), MeterChange(16.0, 3, 4)),
        tracks=tracks,
        markers=(Marker(0.0, "Intro"), Marker(8.0, "Verse"), Marker(16.0, "Bridge"),
                 Marker(9.25, "Hit", MarkerKind.HIT), Marker(12.5, "Muddy low mids", MarkerKind.FINDING, "−3 dB at 250 Hz"),
                 Marker(17.0, "Louder here?", MarkerKind.COMMENT, "from the director")),
        key=Key(0, "major"), composer="A. Composer",
    )


SCHEMAS = Path(__file__).parent / "data" / "dawproject"


def dawproject_schema(name: str):  # an lxml XMLSchema
    """The DAWproject XSD ``name`` (Project.xsd, MetaData.xsd) from tests/data; skips when absent."""
    etree = pytest.importorskip("lxml.etree")
    path = SCHEMAS / name
    if not path.exists():
        pytest.skip(f"{path} missing (copy it from the bitwig/dawproject repository)")
    return etree.XMLSchema(etree.parse(str(path)))


class HeldTempo:
    """Beats → seconds from a file's own tempo points (beats, bpm), each held until the next."""

    def __init__(self, points: list[tuple[float, float]]) -> None:
        self.points = sorted(points)

    def seconds(self, beats: float) -> float:
        seconds, at_beats, bpm = 0.0, 0.0, self.points[0][1]
        for point_beats, point_bpm in self.points[1:]:
            if point_beats > beats:
                break
            seconds += (point_beats - at_beats) * 60.0 / bpm
            at_beats, bpm = point_beats, point_bpm
        return seconds + (beats - at_beats) * 60.0 / bpm
