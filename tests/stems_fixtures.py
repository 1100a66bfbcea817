"""Parts of a composed song rendered one by one with FluidSynth: stems whose notes and sum are known."""

from __future__ import annotations

from functools import lru_cache

from pathlib import Path

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


def write_pop_song_parts(root: Path, parts: frozenset[str], *, rate: int = 16000, bpm: float = 120.0) -> dict[str, Path]:
    """The pop form, two bars a section, flat velocities, with ``parts``; each part rendered alone as a
    float stem under ``root/stems``, the draft their exact sum, and the MIDI. Returns the paths by name."""
    import dataclasses

    import numpy as np

    from trackwright.audio import Audio, save_audio
    from trackwright.produce.instruments import render_parts
    from trackwright.score.draft import FLAT_VELOCITY, compose_song, pop_form_sections

    sections = [dataclasses.replace(s, bars=2, velocity=FLAT_VELOCITY, parts=parts) for s in pop_form_sections()]
    midi, _ = compose_song(sections, bpm=bpm)
    midi.save(str(root / "song.mid"))
    stems = render_parts(midi, sample_rate=rate)
    (root / "stems").mkdir()
    for name, audio in stems.items():
        save_audio(audio, root / "stems" / f"{name}.wav", bit_depth="float")
    draft = sum(a.samples.astype(np.float64) for a in stems.values())
    save_audio(Audio(draft.astype(np.float32), rate), root / "draft.wav", bit_depth="float")
    return {"root": root, "midi": root / "song.mid", "stems": root / "stems", "draft": root / "draft.wav"}
