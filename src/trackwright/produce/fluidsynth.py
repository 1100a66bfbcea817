"""Rendering MIDI to audio with FluidSynth (the ``fluidsynth`` program) and a SoundFont.

FluidSynth's fast-render mode writes a 32-bit float WAV as fast as the CPU allows; we run it in
a private temporary folder, read the result back and trim the silent tail left after the
reverb has died away.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import mido
import numpy as np

from trackwright.audio import Audio, load_audio
from trackwright.errors import AudioFileError, MissingDependencyError, ParameterError, TrackwrightError
from trackwright.produce.soundfonts import find_soundfont
from trackwright.progress import ProgressCallback, ignore_progress

#: Sample rates FluidSynth can render, Hz.
RATE_RANGE = (8000, 96000)
_SILENCE = 10 ** (-90 / 20)


def fluidsynth_binary() -> str:
    """Path of the ``fluidsynth`` program; :class:`MissingDependencyError` when it is absent."""
    found = shutil.which("fluidsynth")
    if found is None:
        raise MissingDependencyError(
            "the fluidsynth program is not installed: install the Debian package fluidsynth (make sysdeps does)")
    return found


def _midi_file(midi: str | os.PathLike[str] | mido.MidiFile, folder: Path) -> tuple[Path, float]:
    """A MIDI file on disk for FluidSynth, and its length in seconds."""
    if isinstance(midi, mido.MidiFile):
        path = folder / "input.mid"
        midi.save(str(path))
        return path, float(midi.length)
    path = Path(midi)
    if not path.is_file():
        raise AudioFileError(f"{path}: no such MIDI file")
    try:
        length = float(mido.MidiFile(str(path)).length)
    except (OSError, EOFError, ValueError, KeyError, IndexError) as error:
        raise AudioFileError(f"{path}: not a readable MIDI file ({error})") from None
    return path, length


def render_midi(midi: str | os.PathLike[str] | mido.MidiFile, *, sample_rate: int = 44100,
                soundfont: str | os.PathLike[str] | None = None, gain: float = 0.5,
                tail_s: float = 2.0, chorus: bool = False,
                progress: ProgressCallback | None = None) -> Audio:
    """Render a Standard MIDI File with FluidSynth.

    Parameters
    ----------
    midi : path or mido.MidiFile
        The music to render.
    sample_rate : int
        Output rate in Hz, 8000–96000.
    soundfont : path, optional
        An .sf2/.sf3 file; by default :func:`~trackwright.produce.soundfonts.find_soundfont`.
    gain : float
        FluidSynth's master gain (linear, 0–10; 0.5 leaves headroom for a full GM band).
    tail_s : float
        Longest part of the reverb/release tail kept after the MIDI ends, seconds (≥ 0).
    chorus : bool
        FluidSynth's chorus effect. Off by default: with FluidR3 it leaves the two channels
        largely out of phase (L/R correlation about −0.3, ~5 LU lost in a mono fold-down).
    progress : callable, optional
        ``(fraction, label)``, called as the output file grows.

    Returns
    -------
    Audio
        Stereo float32 (2 × frames): at least the MIDI's length, at most ``tail_s`` longer.

    Raises
    ------
    MissingDependencyError
        The ``fluidsynth`` program or a SoundFont is not installed.
    AudioFileError
        ``midi`` is missing or not a readable MIDI file.
    ParameterError
        A sample rate, gain or tail out of range; a SoundFont path that is not a SoundFont.
    TrackwrightError
        FluidSynth failed (its last error line is quoted).
    """
    if isinstance(sample_rate, bool) or sample_rate != int(sample_rate) \
            or not RATE_RANGE[0] <= sample_rate <= RATE_RANGE[1]:
        raise ParameterError(f"FluidSynth renders at {RATE_RANGE[0]}–{RATE_RANGE[1]} Hz, not {sample_rate} Hz")
    if not 0.0 < gain <= 10.0:
        raise ParameterError(f"FluidSynth gain must be in (0, 10], got {gain:g}")
    if not 0.0 <= tail_s <= 60.0:
        raise ParameterError(f"tail_s must be 0–60 seconds, got {tail_s:g}")
    report = progress or ignore_progress
    binary = fluidsynth_binary()
    font = find_soundfont(soundfont)
    with tempfile.TemporaryDirectory(prefix="trackwright-fluidsynth-") as folder_name:
        folder = Path(folder_name)
        midi_path, length_s = _midi_file(midi, folder)
        out_path = folder / "render.wav"
        command = [binary, "-n", "-i", "-q", "-g", f"{gain:g}", "-r", str(int(sample_rate)),
                   "-o", "synth.lock-memory=0", "-o", f"synth.chorus.active={int(chorus)}",
                   "-F", str(out_path), "-T", "wav", "-O", "float", str(font), str(midi_path)]
        if font.suffix.lower() == ".sf3":  # load (decode) only the presets the MIDI plays: ~2 s less
            command[1:1] = ["-o", "synth.dynamic-sample-loading=1"]
        report(0.0, "rendering with FluidSynth")
        # FluidSynth renders a few seconds of release after the last event; 4-byte float stereo frames.
        expected_bytes = (length_s + 3.0) * sample_rate * 8
        returncode, output = _run(command, out_path, expected_bytes, _timeout_s(length_s), report)
        failure = _failure_line(output)
        if returncode != 0 or failure is not None or not out_path.is_file() or out_path.stat().st_size <= 44:
            lines = output.strip().splitlines() or [f"exit status {returncode}, no output"]
            raise TrackwrightError(f"fluidsynth failed to render {midi_path.name}: {failure or lines[-1]}")
        audio = load_audio(out_path)
    report(1.0, "rendered")
    return _trim_tail(audio, length_s, tail_s)


def _timeout_s(length_s: float) -> float:
    """Wall-clock limit for one render: FluidSynth runs ~100× realtime, so this is generous."""
    return 120.0 + length_s


#: FluidSynth reports these problems on stderr yet exits with status 0 (and renders silence).
_FATAL_MARKERS = ("not a SoundFont or MIDI file", "Failed to load SoundFont", "No midi file specified")


def _failure_line(output: str) -> str | None:
    """The first line of FluidSynth's output that means the render is wrong, else ``None``."""
    for line in output.splitlines():
        if any(marker in line for marker in _FATAL_MARKERS):
            return line.strip()
    return None


def _run(command: list[str], out_path: Path, expected_bytes: float, timeout_s: float,
         report: ProgressCallback) -> tuple[int, str]:
    """Run FluidSynth; report the output file's growth; return (exit status, stderr + stdout)."""
    try:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   errors="replace")
    except OSError as error:
        raise MissingDependencyError(
            f"cannot run {command[0]} ({error.strerror}): reinstall the Debian package fluidsynth") from None
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            stdout, stderr = process.communicate(timeout=0.25)
            break
        except subprocess.TimeoutExpired:
            if time.monotonic() > deadline:
                process.kill()
                process.communicate()
                raise TrackwrightError(f"fluidsynth did not finish within {timeout_s:.0f} s") from None
            size = out_path.stat().st_size if out_path.exists() else 0
            report(min(0.99, size / max(expected_bytes, 1.0)), "rendering with FluidSynth")
    return process.returncode, "\n".join(part for part in (stderr, stdout) if part)


def _trim_tail(audio: Audio, length_s: float, tail_s: float) -> Audio:
    """Cut the render after its last audible frame, keeping the MIDI length and ≤ ``tail_s`` more."""
    rate = audio.sample_rate
    audible = np.flatnonzero(np.abs(audio.samples).max(axis=0) > _SILENCE)
    last = int(audible[-1]) + 1 if audible.size else 0
    keep = min(audio.frames, max(round(length_s * rate), min(last, round((length_s + tail_s) * rate))))
    samples = audio.samples[:, :keep]
    if samples.shape[1] < round(length_s * rate):
        samples = np.pad(samples, ((0, 0), (0, round(length_s * rate) - samples.shape[1])))
    return audio.with_samples(np.ascontiguousarray(samples))
