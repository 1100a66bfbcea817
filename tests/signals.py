"""Test signals made in code: tones at a given level, silence, music-like mixes.

All return float64/float32 arrays shaped (channels, frames); levels are per-channel peak dBFS.
"""

from __future__ import annotations

import numpy as np

from trackwright.audio import Audio


def db_to_amp(level_db: float) -> float:
    """Linear amplitude of a level in dB (full scale = 0 dB)."""
    return float(10.0 ** (level_db / 20.0))


def tone(level_db: float, seconds: float, sample_rate: int = 48000, *, freq_hz: float = 1000.0,
         channels: int = 2, phase_rad: float = 0.0) -> np.ndarray:
    """A sine of peak ``level_db`` dBFS, the same in phase on every channel."""
    t = np.arange(round(seconds * sample_rate)) / sample_rate
    wave = db_to_amp(level_db) * np.sin(2 * np.pi * freq_hz * t + phase_rad)
    return np.tile(wave, (channels, 1))


def silence(seconds: float, sample_rate: int = 48000, channels: int = 2) -> np.ndarray:
    """Digital silence."""
    return np.zeros((channels, round(seconds * sample_rate)))


def sequence(parts: list[tuple[float | None, float]], sample_rate: int = 48000, channels: int = 2) -> np.ndarray:
    """Concatenate (level_db or None for silence, seconds) parts of a 1 kHz tone."""
    pieces = [silence(s, sample_rate, channels) if level is None else tone(level, s, sample_rate, channels=channels)
              for level, s in parts]
    return np.concatenate(pieces, axis=1)


def audio(samples: np.ndarray, sample_rate: int = 48000) -> Audio:
    """Wrap samples as :class:`Audio`."""
    return Audio(np.asarray(samples, dtype=np.float32), sample_rate)


def music_like(seconds: float, sample_rate: int = 44100, *, seed: int = 0, channels: int = 2) -> np.ndarray:
    """A music-like stereo mix: decaying harmonic notes, a bass line and noise-burst drums.

    Deterministic for ``seed``; peak around −6 dBFS; shape (channels, frames), float32.
    """
    rng = np.random.default_rng(seed)
    frames = round(seconds * sample_rate)
    t = np.arange(frames) / sample_rate
    out = np.zeros((channels, frames))
    beat = 0.5
    for start in np.arange(0.0, seconds, beat):
        i0 = round(start * sample_rate)
        n = min(frames - i0, round(beat * 2 * sample_rate))
        tt = np.arange(n) / sample_rate
        env = np.exp(-tt * 6.0)
        f0 = 110.0 * 2 ** (rng.integers(0, 12) / 12)
        note = sum(np.sin(2 * np.pi * f0 * k * tt) / k for k in range(1, 6)) * env * 0.25
        bass = np.sin(2 * np.pi * (f0 / 2) * tt) * np.exp(-tt * 3.0) * 0.3
        pan = rng.uniform(0.3, 0.7)
        out[0, i0:i0 + n] += note * (1 - pan) + bass * 0.5
        out[-1, i0:i0 + n] += note * pan + bass * 0.5
        drum_n = min(n, round(0.08 * sample_rate))
        hit = rng.standard_normal(drum_n) * np.exp(-np.arange(drum_n) / (0.015 * sample_rate)) * 0.4
        out[:, i0:i0 + drum_n] += hit
    out += 0.01 * rng.standard_normal(out.shape) * (1 + np.sin(2 * np.pi * 0.1 * t))
    out *= db_to_amp(-6.0) / np.abs(out).max()
    return out.astype(np.float32)
