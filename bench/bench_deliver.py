"""Delivery benchmark (`make bench`): the whole package of a 3-minute, 4-stem project.

A pop-form song is composed in code (75 BPM, ≈3 min), each part group rendered with FluidSynth
as its own stem (drums, bass, keys = chords + pad, lead) and the draft made as their exact sum.
Prints the wall time of ``deliver`` (goal ≤ 30 s), of the render it starts from, and every
file's length, loudness, true peak and — for loops and layers — the step at the loop point
against the music's own 99th-percentile sample step; then how far the stems alone are from the
master (the MasterDiff level). Asserts nothing.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import mido
import numpy as np

from trackwright.audio import Audio, load_audio, save_audio
from trackwright.deliver import deliver
from trackwright.deliver.loops import loop_wrap_step
from trackwright.produce.fluidsynth import render_midi
from trackwright.project import Project
from trackwright.score.draft import compose_song, pop_form_sections

STEMS = {"drums": ("drums",), "bass": ("bass",), "keys": ("chords", "pad"), "lead": ("lead",)}


def _part(midi: mido.MidiFile, names: tuple[str, ...]) -> mido.MidiFile:
    out = mido.MidiFile(ticks_per_beat=midi.ticks_per_beat)
    out.tracks = [t for i, t in enumerate(midi.tracks) if i == 0 or t.name in names]
    return out


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        midi, _ = compose_song(pop_form_sections("D"), bpm=75.0, key="D", seed=7)
        start = time.perf_counter()
        rendered = {name: render_midi(_part(midi, parts)) for name, parts in STEMS.items()}
        frames = max(a.frames for a in rendered.values())
        (folder / "stems").mkdir()
        draft = np.zeros((2, frames), dtype=np.float64)
        for name, audio in rendered.items():
            samples = np.pad(audio.samples, ((0, 0), (0, frames - audio.frames)))
            draft += samples
            save_audio(Audio(samples, audio.sample_rate), folder / "stems" / f"{name}.wav", bit_depth="float")
        save_audio(Audio(draft.astype(np.float32), 44100), folder / "draft.wav", bit_depth="float")
        took = time.perf_counter() - start
        print(f"song: {frames / 44100:.1f} s, 4 stems, 44.1 kHz stereo (FluidSynth, {took:.1f} s)")
        project = Project.create(folder / "song", folder / "draft.wav", stems=folder / "stems")
        start = time.perf_counter()
        project.render()
        render_s = time.perf_counter() - start
        start, cpu = time.perf_counter(), os.times()
        result = deliver(project.path, target="streaming", output=folder / "delivery", title="Bench Song")
        total, used = time.perf_counter() - start, os.times()
        print(f"render (cached for deliver): {render_s:.1f} s;  deliver: {total:.1f} s wall (goal ≤ 30 s), "
              f"{used.user - cpu.user:.1f} s user + {used.system - cpu.system:.1f} s system CPU on "
              f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f};  {len(result.files)} files")
        for item in result.files:
            line = (f"  {item.name:<34} {item.duration_s:7.2f} s  "
                    f"{'' if item.integrated_lufs is None else f'{item.integrated_lufs:7.2f} LUFS':>12}  "
                    f"{item.true_peak_dbtp:6.2f} dBTP")
            if item.loop is not None:
                samples = load_audio(result.folder / item.name).samples
                steps = np.percentile(np.abs(np.diff(samples.astype(np.float64), axis=1)), 99)
                line += f"  wrap step {loop_wrap_step(samples):.4f} vs music p99 {steps:.4f}"
            if item.info.get("role") == "master_diff":
                line += f"  ({item.info['level_re_master_db']:.1f} dB re master)"
            print(line)
        for warning in result.warnings:
            print(f"  warning: {warning}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
