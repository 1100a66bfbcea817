"""A short composed song with exact ground truth (beats, bars, sections), rendered once per run,
and the measurements the arrangement tests make at every join."""

from __future__ import annotations

import functools
from dataclasses import replace

import mido
import numpy as np

from trackwright.arrange.grid import BarGrid, bar_grid
from trackwright.audio import Audio
from trackwright.score.draft import DraftInfo, Section, compose_song, pop_form_sections

BPM = 120.0
BAR_S = 4 * 60.0 / BPM


@functools.lru_cache(maxsize=None)
def short_song() -> tuple[mido.MidiFile, DraftInfo, Audio]:
    """intro 2 · verse 4 · chorus 4 · verse 4 · chorus 4 · bridge 4 · chorus 4 · outro 2 bars at 120 BPM (56 s)."""
    from trackwright.produce.fluidsynth import render_midi

    sections: list[Section] = []
    for section in pop_form_sections("C"):
        bars = 2 if section.role in ("intro", "outro") else 4
        sections.append(replace(section, bars=bars, parts=section.parts | {"drums"}))
    midi, info = compose_song(sections, bpm=BPM, key="C", seed=3)
    return midi, info, render_midi(midi, tail_s=2.0)


def truth_grid(info: DraftInfo, audio: Audio) -> BarGrid:
    """The bar grid of the composed ground truth (for tests independent of the analyser), on ``audio``'s attacks."""
    return bar_grid(audio.duration_s, info.downbeat_times_s, info.beat_times_s, list(info.sections), audio)


def highpass_frames_db(samples: np.ndarray, sample_rate: int, frame_s: float = 0.002) -> np.ndarray:
    """Energy (dB) of the first difference — a broadband, click-sensitive signal — per ``frame_s`` frame."""
    diff = np.diff(samples.astype(np.float64), axis=1)
    power = np.sum(diff * diff, axis=0)
    hop = max(1, int(round(frame_s * sample_rate)))
    n = len(power) // hop
    return 10 * np.log10(power[: n * hop].reshape(n, hop).mean(axis=1) + 1e-20)


def transient_at(audio: Audio, time_s: float, window_s: float = 0.012) -> float:
    """Largest 2 ms broadband energy (dB) within ±``window_s`` of ``time_s``."""
    frames = highpass_frames_db(audio.samples, audio.sample_rate)
    hop_s = max(1, int(round(0.002 * audio.sample_rate))) / audio.sample_rate
    lo = max(0, int((time_s - window_s) / hop_s))
    hi = min(len(frames), int((time_s + window_s) / hop_s) + 1)
    return float(frames[lo:hi].max())


def rms_db(audio: Audio, start_s: float, end_s: float) -> float:
    """RMS level (dB) of ``audio`` between two times."""
    lo, hi = int(round(start_s * audio.sample_rate)), int(round(end_s * audio.sample_rate))
    chunk = audio.samples[:, lo:hi].astype(np.float64)
    return float(10 * np.log10(np.mean(chunk * chunk) + 1e-20))
