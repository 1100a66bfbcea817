"""Re-rendering parts with instruments: the notes heard are the notes given; presets and errors."""

from __future__ import annotations

import mido
import numpy as np
import pytest

from trackwright.errors import MissingDependencyError, ParameterError
from trackwright.produce.instruments import (
    DRUM_CHANNEL,
    PRESETS,
    Instrument,
    assign_instrument,
    render_parts,
    resolve_instrument,
    split_parts,
)

RATE = 22050
BPM = 120.0
#: A melody (MIDI pitches), one note per beat (0.5 s), each held 0.4 s.
MELODY = [60, 64, 67, 72, 69, 65, 62, 59]


def _song() -> mido.MidiFile:
    midi = mido.MidiFile(type=1, ticks_per_beat=480)
    conductor = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(BPM), time=0)])
    melody = mido.MidiTrack([mido.MetaMessage("track_name", name="Melody", time=0),
                             mido.Message("program_change", program=80, channel=0, time=0)])
    for pitch in MELODY:
        melody.append(mido.Message("note_on", note=pitch, velocity=100, channel=0, time=0))
        melody.append(mido.Message("note_off", note=pitch, velocity=0, channel=0, time=384))
        melody.append(mido.Message("note_off", note=0, velocity=0, channel=0, time=96))
    kick = mido.MidiTrack([mido.MetaMessage("track_name", name="Drums", time=0)])
    for _ in MELODY:
        kick.append(mido.Message("note_on", note=36, velocity=110, channel=DRUM_CHANNEL, time=0))
        kick.append(mido.Message("note_off", note=36, velocity=0, channel=DRUM_CHANNEL, time=480))
    midi.tracks.extend([conductor, melody, kick])
    return midi


def _pitch(window: np.ndarray) -> int:
    """The MIDI pitch whose first five harmonics hold the most energy (1/k weights)."""
    spectrum = np.abs(np.fft.rfft(window * np.hanning(window.size)))
    freqs = np.fft.rfftfreq(window.size, 1 / RATE)
    scores = []
    for pitch in range(36, 97):
        f0 = 440.0 * 2 ** ((pitch - 69) / 12)
        scores.append(sum(spectrum[np.argmin(np.abs(freqs - k * f0))] / k for k in range(1, 6)))
    return 36 + int(np.argmax(scores))


@pytest.fixture(scope="module")
def rendered() -> dict:
    return render_parts(_song(), {"melody": "piano", "drums": "drums"}, sample_rate=RATE)


def test_split_names_parts_and_keeps_the_conductor() -> None:
    parts = split_parts(_song())
    assert list(parts) == ["melody", "drums"]
    assert any(m.type == "set_tempo" for m in parts["melody"].tracks[0])


def test_rerendered_melody_plays_the_given_pitches(rendered: dict) -> None:
    melody = rendered["melody"].samples.mean(axis=0)
    heard = [_pitch(melody[round((0.5 * i + 0.05) * RATE):round((0.5 * i + 0.35) * RATE)])
             for i in range(len(MELODY))]
    assert heard == MELODY


def test_rerendered_parts_have_onsets_where_the_notes_start(rendered: dict) -> None:
    kick = rendered["drums"].samples.mean(axis=0)
    hop = RATE // 100
    envelope = np.sqrt(np.add.reduceat(kick ** 2, np.arange(0, kick.size, hop)) / hop)
    rise = np.diff(envelope)
    peaks = [int(np.argmax(rise[i * 50 - 5:i * 50 + 5])) + i * 50 - 5 for i in range(1, len(MELODY))]
    assert all(abs(p - i * 50) <= 2 for i, p in enumerate(peaks, start=1))  # within 20 ms
    assert rendered["drums"].frames == rendered["melody"].frames


def test_instrument_changes_the_sound_not_the_notes() -> None:
    parts = render_parts(_song(), {"melody": "strings"}, sample_rate=RATE)
    strings, piano = parts["melody"].samples.mean(axis=0), render_parts(_song(), {"melody": "piano"},
                                                                      sample_rate=RATE)["melody"].samples.mean(axis=0)
    assert _pitch(strings[round(0.05 * RATE):round(0.35 * RATE)]) == MELODY[0]
    # piano decays within a note, strings sustain: compare late vs early energy in the first note
    def sustain(x: np.ndarray) -> float:
        return float(np.sum(x[round(0.3 * RATE):round(0.4 * RATE)] ** 2) / np.sum(x[round(0.05 * RATE):round(0.15 * RATE)] ** 2))
    assert sustain(strings) > sustain(piano)


def test_kit_moves_the_part_to_channel_10_and_sets_the_program() -> None:
    part = split_parts(_song())["melody"]
    out = assign_instrument(part, PRESETS["room-drums"])
    messages = [m for m in out.tracks[-1] if hasattr(m, "channel")]
    assert {m.channel for m in messages} == {DRUM_CHANNEL}
    assert [m.program for m in messages if m.type == "program_change"] == [8]


def test_instrument_forms() -> None:
    assert resolve_instrument("gm:73").program == 73
    assert resolve_instrument("drums:8").drums
    custom = resolve_instrument("sf:/x/y.sf2:0:12")
    assert (custom.soundfont, custom.bank, custom.program) == ("/x/y.sf2", 0, 12)
    assert resolve_instrument({"program": 5}).program == 5
    with pytest.raises(ParameterError, match="unknown instrument 'kazoo'"):
        resolve_instrument("kazoo")
    with pytest.raises(ParameterError, match="program must be a whole number 0–127"):
        Instrument(program=200)
    with pytest.raises(ParameterError, match="no part named 'bass'"):
        render_parts(_song(), {"bass": "bass"}, sample_rate=RATE)


def test_sfz_without_a_player_says_so(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    sfz = tmp_path / "x.sfz"
    sfz.write_text("<region> sample=a.wav\n")
    with pytest.raises(MissingDependencyError, match="sfizz_render"):
        render_parts(_song(), {"melody": f"sfz:{sfz}"}, sample_rate=RATE)
