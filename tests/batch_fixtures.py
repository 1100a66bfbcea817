"""Generated audio for the batch tests: chord songs, click tracks, variants of a draft.

Every signal is float32, shaped (channels, frames), deterministic for its arguments.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pedalboard

from trackwright.audio import Audio, save_audio
from trackwright.batch.steps import TrackJob, TrackOutcome, process_track

RATE = 22050
#: MIDI notes of the triads the chord songs use.
TRIADS = {"C": (60, 64, 67), "G": (55, 59, 62), "Am": (57, 60, 64), "F": (53, 57, 60), "Dm": (50, 53, 57),
          "Em": (52, 55, 59), "E": (52, 56, 59), "Bb": (58, 62, 65)}
#: A progression that never settles into a cycle.
VARIED = ("C", "G", "Am", "F", "Dm", "G", "C", "C", "Am", "Em", "F", "G", "E", "Am", "Dm", "G")


def _hz(note: float) -> float:
    return 440.0 * 2 ** ((note - 69) / 12)


def fade_out(samples: np.ndarray, seconds: float = 1.5, rate: int = RATE) -> np.ndarray:
    """``samples`` with a squared-ramp fade over their last ``seconds`` (a natural ending)."""
    out = samples.copy()
    n = round(seconds * rate)
    out[:, -n:] *= np.linspace(1.0, 0.0, n, dtype=np.float32) ** 2
    return out


def chord_song(chords: tuple[str, ...] | list[str], *, chord_s: float = 2.0, rate: int = RATE,
               transpose: float = 0.0) -> np.ndarray:
    """Triads (three harmonics each) over a root bass, a noise tick every 0.5 s; peak 0.5, stereo."""
    pieces = []
    n = round(chord_s * rate)
    t = np.arange(n) / rate
    envelope = np.minimum(1.0, t / 0.01) * np.exp(-t * 0.8)
    tick = round(0.05 * rate)
    for index, name in enumerate(chords):
        notes = [m + transpose for m in TRIADS[name]]
        x = sum(np.sin(2 * np.pi * _hz(m) * k * t) / k ** 1.5 for m in notes for k in (1, 2, 3))
        x = x + 0.8 * np.sin(2 * np.pi * _hz(notes[0] - 12) * t)
        noise = np.random.default_rng(index).standard_normal(tick) * np.exp(-np.arange(tick) / (0.01 * rate)) * 1.5
        for beat in np.arange(0.0, chord_s, 0.5):
            start = round(beat * rate)
            x[start: start + tick] += noise[: n - start]
        pieces.append(x * envelope)
    song = np.concatenate(pieces)
    song = 0.5 * song / np.abs(song).max()
    return np.tile(song, (2, 1)).astype(np.float32)


def click_track(bpm_start: float, bpm_end: float, seconds: float, *, rate: int = RATE) -> np.ndarray:
    """Clicks (accented every 4th) with a decaying 110 Hz bass note on each, the tempo moving
    linearly from ``bpm_start`` to ``bpm_end``; stereo, peak about 0.5."""
    x = np.zeros(round(seconds * rate))
    click = round(0.03 * rate)
    bass = round(0.4 * rate)
    shape = np.sin(2 * np.pi * 880 * np.arange(click) / rate) * np.exp(-np.arange(click) / (0.005 * rate))
    low = 0.3 * np.sin(2 * np.pi * 110 * np.arange(bass) / rate) * np.exp(-np.arange(bass) / (0.1 * rate))
    time_s, beat = 0.0, 0
    while time_s < seconds - 0.5:
        start = round(time_s * rate)
        x[start: start + click] += shape * (0.8 if beat % 4 == 0 else 0.5)
        x[start: start + bass] += low[: len(x) - start]
        time_s += 60.0 / np.interp(time_s, [0.0, seconds], [bpm_start, bpm_end])
        beat += 1
    return np.tile(0.5 * x, (2, 1)).astype(np.float32)


def pitch_shift(samples: np.ndarray, semitones: float, rate: int = RATE) -> np.ndarray:
    """Rubber Band pitch shift by ``semitones`` at the same length."""
    shifted = pedalboard.time_stretch(samples, float(rate), stretch_factor=1.0, pitch_shift_in_semitones=semitones)
    return shifted[:, : samples.shape[1]].astype(np.float32)


def write(folder: Path, name: str, samples: np.ndarray, rate: int = RATE) -> Path:
    """Save ``samples`` as a 16-bit WAV ``folder/name`` and return its path."""
    path = folder / name
    save_audio(Audio(samples, rate), path, bit_depth="16")
    return path


def crash_on_marked(job: TrackJob) -> TrackOutcome:
    """``process_track``, except that a worker given a file named ``crash*`` dies on the spot."""
    if job.track.path.name.startswith("crash"):
        os._exit(3)
    return process_track(job)
