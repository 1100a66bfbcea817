"""Parts of a composed song rendered one by one with FluidSynth: stems whose notes and sum are known."""

from __future__ import annotations

from functools import lru_cache

import mido
import numpy as np

from trackwright.audio import Audio
from trackwright.produce.fluidsynth import render_midi
from trackwright.score.draft import DraftInfo, compose_draft_with_truth


def part_midi(midi: mido.MidiFile, part: str) -> mido.MidiFile:
    """The tempo track and the track named ``part`` of a composed song."""
    out = mido.MidiFile(type=1, ticks_per_beat=midi.ticks_per_beat)
    out.tracks.append(midi.tracks[0])
    out.tracks.extend(track for track in midi.tracks if track.name == part)
    return out


@lru_cache(maxsize=4)
def rendered_parts(bars: int = 4, bpm: float = 110.0, rate: int = 22050,
                   parts: tuple[str, ...] = ("drums", "bass", "chords", "lead")) -> tuple[dict[str, Audio], DraftInfo]:
    """Each part of an 8-bar-style draft rendered alone, all cut to the same length (2 × frames)."""
    midi, info = compose_draft_with_truth(bars=bars, bpm=bpm)
    audio = {part: render_midi(part_midi(midi, part), sample_rate=rate, tail_s=0.5) for part in parts}
    frames = round((info.duration_s + 0.5) * rate)
    return {part: Audio(np.pad(a.samples, ((0, 0), (0, max(0, frames - a.frames))))[:, :frames], rate)
            for part, a in audio.items()}, info
