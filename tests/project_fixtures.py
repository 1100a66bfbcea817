"""Songs made in code for the project tests: a 120 BPM draft whose stems sum to it exactly."""

from __future__ import annotations

import hashlib
from pathlib import Path

import mido
import numpy as np

from trackwright.audio import Audio, save_audio

RATE = 22050
BPM = 120.0
BEAT_S = 60.0 / BPM
BAR_S = 4 * BEAT_S


def stem_signals(seconds: float, sample_rate: int = RATE, *, seed: int = 0) -> dict[str, np.ndarray]:
    """bass (root notes per bar), drums (kick on every beat, louder on the downbeat), keys (chord stabs).

    Each (2, frames) float32, deterministic for ``seed``; their sum peaks around −6 dBFS.
    """
    rng = np.random.default_rng(seed)
    frames = round(seconds * sample_rate)
    bass = np.zeros(frames)
    drums = np.zeros(frames)
    keys = np.zeros((2, frames))
    beat = round(BEAT_S * sample_rate)
    for index, start in enumerate(range(0, frames, beat)):
        n = min(beat, frames - start)
        t = np.arange(n) / sample_rate
        downbeat = index % 4 == 0
        hit = min(n, round(0.06 * sample_rate))
        kick = np.sin(2 * np.pi * (50 + 80 * np.exp(-t[:hit] * 40)) * t[:hit]) * np.exp(-t[:hit] * 30)
        noise = rng.standard_normal(hit) * np.exp(-t[:hit] * 60) * 0.3
        drums[start:start + hit] += (kick + noise) * (0.5 if downbeat else 0.3)
        root = 55.0 * 2 ** (((index // 4) * 5 % 12) / 12)
        bass[start:start + n] += 0.25 * np.sin(2 * np.pi * root * t) * np.exp(-t * 2)
        chord = sum(np.sin(2 * np.pi * root * 4 * r * t) for r in (1.0, 1.26, 1.5)) / 3
        pan = 0.3 + 0.4 * (index % 2)
        env = np.exp(-t * 5) * 0.2
        keys[0, start:start + n] += chord * env * (1 - pan)
        keys[1, start:start + n] += chord * env * pan
    return {"bass": np.tile(bass, (2, 1)).astype(np.float32), "drums": np.tile(drums, (2, 1)).astype(np.float32),
            "keys": keys.astype(np.float32)}


def simple_midi(seconds: float) -> mido.MidiFile:
    """One note per beat (C3…B3 round) at 120 BPM for ``seconds``."""
    midi = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    midi.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(BPM), time=0))
    for index in range(int(seconds / BEAT_S)):
        note = 48 + index % 12
        track.append(mido.Message("note_on", note=note, velocity=80, time=0 if index == 0 else 40))
        track.append(mido.Message("note_off", note=note, velocity=0, time=440))
    return midi


def write_song(folder: Path, seconds: float = 12.0, *, stems: bool = True, midi: bool = False, brief: bool = False,
               sample_rate: int = RATE, seed: int = 0) -> dict[str, Path]:
    """Write ``draft.wav`` (the exact float sum of the stems), ``stems/*.wav``, ``song.mid`` and
    ``brief.yaml`` into ``folder``; return their paths by name (``draft``, ``stems``, ``midi``, ``brief``)."""
    folder.mkdir(parents=True, exist_ok=True)
    parts = stem_signals(seconds, sample_rate, seed=seed)
    draft = np.zeros_like(parts["bass"])
    for signal in parts.values():
        draft += signal
    paths: dict[str, Path] = {"draft": folder / "draft.wav"}
    save_audio(Audio(draft, sample_rate), paths["draft"], bit_depth="float")
    if stems:
        paths["stems"] = folder / "stems"
        paths["stems"].mkdir(exist_ok=True)
        for name, signal in parts.items():
            save_audio(Audio(signal, sample_rate), paths["stems"] / f"{name}.wav", bit_depth="float")
    if midi:
        paths["midi"] = folder / "song.mid"
        simple_midi(seconds).save(str(paths["midi"]))
    if brief:
        paths["brief"] = folder / "brief.yaml"
        paths["brief"].write_text(f"title: test cue\nduration: {seconds - 2:g}\n", encoding="utf-8")
    return paths


def tree_hashes(*roots: Path) -> dict[str, str]:
    """sha256 of every file under (or at) ``roots``, by path."""
    out = {}
    for root in roots:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            out[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out
