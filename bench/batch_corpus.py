"""The batch benchmark's corpus: real drafts and song excerpts, their planted variants, and renders.

Written into ``bench-out/batch/corpus/`` (gitignored) from ``/work/shared/audio`` (or
``$TRACKWRIGHT_SHARED_AUDIO``) and FluidSynth; made once and reused (``truth.json`` marks a
complete corpus). Layout::

    corpus/dev/<original>__<variant>.<ext>        originals of the split's "dev" side + variants
    corpus/heldout/<original>__<variant>.<ext>    the same for "heldout" (figures are reported here)
    corpus/renders/render_NN.wav                  songs composed in code, rendered with FluidSynth
    corpus/truth.json                             {file: {"split", "original", "variant"}}

Variants of every original (a 30 s AI draft, or a 60 s excerpt of a produced song):
``orig`` (decoded, 16-bit WAV), ``mp3`` (re-encoded to MP3), ``trim`` (3.3 s off the start, the
last 15 % off the end), ``gain`` (−6 dB), ``up1`` and ``down1`` (pitch-shifted ±1 semitone with
Rubber Band, same length).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pedalboard
import soundfile as sf

from trackwright.audio import Audio, load_audio, save_audio

HERE = Path(__file__).resolve().parent
SPLIT = HERE / "batch_duplicates_split.json"
SHARED = Path(os.environ.get("TRACKWRIGHT_SHARED_AUDIO", HERE.parents[1] / "shared" / "audio"))
VARIANTS = ("orig", "mp3", "trim", "gain", "up1", "down1")


def shared_audio() -> Path | None:
    """The shared real-music folder, or None when this machine has none."""
    for candidate in (SHARED, Path("/work/shared/audio")):
        if (candidate / "ai-drafts").is_dir():
            return candidate
    return None


def _variant(audio: Audio, name: str) -> Audio:
    samples, rate = audio.samples, audio.sample_rate
    if name == "trim":
        start, end = round(3.3 * rate), round(0.85 * audio.frames)
        return audio.with_samples(samples[:, start:end])
    if name == "gain":
        return audio.with_samples(samples * np.float32(10 ** (-6 / 20)))
    if name in ("up1", "down1"):
        shifted = pedalboard.time_stretch(samples, float(rate), stretch_factor=1.0,
                                          pitch_shift_in_semitones=1.0 if name == "up1" else -1.0)
        return audio.with_samples(shifted[:, : audio.frames])
    return audio


def _write(audio: Audio, path: Path, name: str) -> None:
    if name == "mp3":
        tmp = path.with_suffix(".part.mp3")
        sf.write(str(tmp), np.clip(audio.samples, -1, 1).T, audio.sample_rate, format="MP3",
                 subtype="MPEG_LAYER_III", compression_level=0.6)
        os.replace(tmp, path)
    else:
        save_audio(audio, path, bit_depth="16")


def _original(shared: Path, kind: str, name: str, excerpt: dict[str, float]) -> Audio:
    audio = load_audio(shared / kind / name)
    if kind == "songs":
        start = round(excerpt["start_s"] * audio.sample_rate)
        audio = audio.with_samples(audio.samples[:, start: start + round(excerpt["duration_s"] * audio.sample_rate)])
    return audio


def _renders(folder: Path, count: int) -> list[Path]:
    from trackwright.produce.fluidsynth import render_midi
    from trackwright.score.draft import compose_song, pop_form_sections

    folder.mkdir(parents=True, exist_ok=True)
    keys = ("C", "G", "D", "A", "E", "F", "Bb", "Eb")
    paths = []
    for index in range(count):
        path = folder / f"render_{index:02d}.wav"
        if not path.exists():
            key = keys[index % len(keys)]
            midi, _ = compose_song(pop_form_sections(key, seed=index), bpm=84.0 + 6 * index, key=key, seed=index)
            save_audio(render_midi(midi, sample_rate=44100), path, bit_depth="16")
        paths.append(path)
    return paths


def build_corpus(out: Path, *, renders: int = 10) -> dict[str, dict[str, str]]:
    """Make (or reuse) the corpus under ``out``; returns the truth table {file: {split, original, variant}}."""
    truth_path = out / "truth.json"
    if truth_path.exists():
        return json.loads(truth_path.read_text())
    shared = shared_audio()
    if shared is None:
        raise SystemExit("the batch benchmark needs /work/shared/audio (or $TRACKWRIGHT_SHARED_AUDIO)")
    split = json.loads(SPLIT.read_text())
    truth: dict[str, dict[str, str]] = {}
    for side in ("dev", "heldout"):
        folder = out / side
        folder.mkdir(parents=True, exist_ok=True)
        for kind in ("ai-drafts", "songs"):
            for name in split[side][kind]:
                original = _original(shared, kind, name, split["song_excerpt"])
                stem = Path(name).stem
                for variant in VARIANTS:
                    path = folder / f"{stem}__{variant}.{'mp3' if variant == 'mp3' else 'wav'}"
                    if not path.exists():
                        _write(_variant(original, variant), path, variant)
                    truth[str(path.relative_to(out))] = {"split": side, "original": stem, "variant": variant}
                print(f"  corpus: {side}/{stem} ×{len(VARIANTS)}", file=sys.stderr)
    for path in _renders(out / "renders", renders):
        truth[str(path.relative_to(out))] = {"split": "renders", "original": path.stem, "variant": "orig"}
    truth_path.write_text(json.dumps(truth, indent=1))
    return truth


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parent / "bench-out" / "batch" / "corpus"
    table = build_corpus(target)
    print(f"{len(table)} files in {target}")
