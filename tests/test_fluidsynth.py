"""FluidSynth rendering with the system SoundFont: pitch, length, rate, and clear errors."""

from __future__ import annotations

from pathlib import Path

import mido
import numpy as np
import pytest

from trackwright.errors import AudioFileError, MissingDependencyError, ParameterError, TrackwrightError
from trackwright.produce import fluidsynth, soundfonts
from trackwright.produce.fluidsynth import render_midi
from trackwright.produce.soundfonts import find_soundfont


def one_note(pitch: int = 69, beats: float = 2.0, program: int = 0) -> mido.MidiFile:
    """One note at 120 BPM (the MIDI default tempo), so ``beats`` beats last beats / 2 seconds."""
    midi = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    midi.tracks.append(track)
    track.append(mido.Message("program_change", program=program, time=0))
    track.append(mido.Message("note_on", note=pitch, velocity=100, time=0))
    track.append(mido.Message("note_off", note=pitch, velocity=0, time=round(480 * beats)))
    return midi


def dominant_hz(samples: np.ndarray, rate: int) -> float:
    mono = samples.mean(axis=0)
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(len(mono))))
    return float(np.fft.rfftfreq(len(mono), 1.0 / rate)[np.argmax(spectrum)])


@pytest.mark.parametrize("rate", [22050, 44100, 48000])
def test_a4_renders_at_440_hz_at_the_asked_rate(rate: int) -> None:
    audio = render_midi(one_note(69, beats=2.0), sample_rate=rate)
    assert audio.sample_rate == rate and audio.channels == 2 and audio.samples.dtype == np.float32
    assert 1.0 <= audio.duration_s <= 1.0 + 2.0 + 0.01
    assert dominant_hz(audio.samples[:, : rate], rate) == pytest.approx(440.0, abs=3.0)
    assert np.abs(audio.samples).max() > 0.01


def test_pitch_follows_the_note_and_file_input(tmp_path: Path) -> None:
    path = tmp_path / "c5.mid"
    one_note(72, beats=2.0, program=0).save(str(path))
    audio = render_midi(path)
    assert dominant_hz(audio.samples[:, :44100], 44100) == pytest.approx(523.25, abs=4.0)


def test_length_is_at_least_the_midi_and_the_tail_is_bounded() -> None:
    audio = render_midi(one_note(60, beats=4.0), tail_s=0.5)
    assert 2.0 <= audio.duration_s <= 2.5 + 1e-6


def test_missing_fluidsynth_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fluidsynth.shutil, "which", lambda name: None)
    with pytest.raises(MissingDependencyError, match="fluidsynth"):
        render_midi(one_note())


def test_missing_soundfont_names_the_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(soundfonts.SOUNDFONT_ENV, raising=False)
    monkeypatch.setattr(soundfonts, "SYSTEM_SOUNDFONTS", (tmp_path / "none.sf2",))
    with pytest.raises(MissingDependencyError, match="fluid-soundfont-gm"):
        find_soundfont()
    monkeypatch.setenv(soundfonts.SOUNDFONT_ENV, str(tmp_path / "gone.sf2"))
    with pytest.raises(ParameterError, match="does not exist"):
        find_soundfont()


def test_system_soundfont_is_installed() -> None:
    font = find_soundfont()
    assert font.is_file() and font.stat().st_size > 1_000_000


def test_bad_midi_and_bad_rate(tmp_path: Path) -> None:
    with pytest.raises(AudioFileError, match="no such MIDI file"):
        render_midi(tmp_path / "missing.mid")
    junk = tmp_path / "junk.mid"
    junk.write_bytes(b"MThd not really a midi file")
    with pytest.raises(AudioFileError, match="not a readable MIDI file"):
        render_midi(junk)
    with pytest.raises(ParameterError, match="Hz"):
        render_midi(one_note(), sample_rate=192000)


def test_fluidsynth_not_on_path_names_the_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingDependencyError, match="Debian package fluidsynth"):
        render_midi(one_note())


def test_a_file_that_is_not_a_soundfont_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "fake.sf2"
    fake.write_text("not a soundfont")
    with pytest.raises(ParameterError, match="not a SoundFont"):
        render_midi(one_note(), soundfont=fake)


def test_fluidsynth_errors_are_one_line_even_with_exit_status_0(monkeypatch: pytest.MonkeyPatch,
                                                                tmp_path: Path) -> None:
    # FluidSynth only logs a SoundFont it cannot load, renders silence and exits with 0.
    fake = tmp_path / "fake.sf2"
    fake.write_text("not a soundfont")
    monkeypatch.setattr(fluidsynth, "find_soundfont", lambda path: fake)
    with pytest.raises(TrackwrightError, match="not a SoundFont or MIDI file") as caught:
        render_midi(one_note())
    assert "\n" not in str(caught.value)


def test_a_failing_fluidsynth_is_quoted(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    program = tmp_path / "fluidsynth"
    program.write_text("#!/bin/sh\necho 'fluidsynth: warning: something' >&2\necho 'fluidsynth: error: out of memory' >&2\n"
                       "exit 3\n")
    program.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(TrackwrightError, match="fluidsynth failed to render .*: fluidsynth: error: out of memory$"):
        render_midi(one_note())


def test_progress_runs_from_0_to_1() -> None:
    seen: list[float] = []
    render_midi(one_note(beats=1.0), progress=lambda fraction, label: seen.append(fraction))
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)


@pytest.mark.parametrize("kwargs", [{"sample_rate": 7999}, {"sample_rate": 44100.5}, {"gain": 0.0},
                                    {"gain": 11.0}, {"tail_s": -1.0}])
def test_out_of_range_parameters(kwargs: dict[str, float]) -> None:
    with pytest.raises(ParameterError):
        render_midi(one_note(), **kwargs)  # type: ignore[arg-type]
