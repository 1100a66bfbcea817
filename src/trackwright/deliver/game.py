"""Material for game engines: stingers, horizontal segments with entry/exit cues and transitions,
and the adaptive part of ``deliverables.json``.

Conventions
-----------
* Stingers and segments are cut from the main master, so they play at its level.
* Cue times are seconds from the start of the file; bars are those of the version's bar grid.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from trackwright.arrange.grid import BarGrid
from trackwright.audio import Audio
from trackwright.deliver.files import DeliveryWriter
from trackwright.deliver.names import title_for

#: Stinger length, seconds.
STING_RANGE_S = (2.0, 5.0)
#: Fade at a file's cut edges so its first and last samples do not click, seconds (raised cosine).
EDGE_FADE_S = 0.005
#: Transitions: bars this alike may jump at the next bar; less alike ones wait for the exit cue.
NEXT_BAR_LIKENESS = 0.7
FOLLOWS_WELL_LIKENESS = 0.4


def write_stingers(writer: DeliveryWriter, audio: Audio, grid: BarGrid, levels: np.ndarray | None,
                    warnings: list[str]) -> None:
    rate = audio.sample_rate
    lo_s, hi_s = STING_RANGE_S
    # Sting 1: the ending: the last bar(s) and their ring-out
    start_bar = grid.bars - 1
    while start_bar > 0 and grid.duration_s - grid.starts_s[start_bar] < lo_s:
        start_bar -= 1
    start = round(grid.starts_s[start_bar] * rate)
    stop = min(audio.frames, start + round(hi_s * rate))
    if (stop - start) / rate >= lo_s:
        chunk = np.array(audio.samples[:, start:stop])
        if stop < audio.frames:
            fade_out(chunk, round(0.5 * rate))
        edge_fades(chunk, rate)
        writer.write(audio.with_samples(chunk), ("Sting1",), "stinger",
                     f"{writer.title} ending sting: the final bar{'s' if start_bar < grid.bars - 1 else ''} "
                     "ringing out", target_lufs=None, info={"source_start_s": round(start / rate, 4)})
    else:
        warnings.append("ending sting skipped: the piece is shorter than a sting")
    # Sting 2: a downbeat hit and its decay, from the loudest bar
    bar = int(np.argmax(levels)) if levels is not None and len(levels) == grid.bars else 0
    start = round(grid.starts_s[bar] * rate)
    length = round(min(3.0, max(lo_s, (audio.frames - start) / rate)) * rate)
    if start + length <= audio.frames:
        chunk = np.array(audio.samples[:, start:start + length])
        hold = round(min(0.25, grid.bar_s / grid.beats_per_bar) * rate)
        t = np.arange(length - hold) / rate
        chunk[:, hold:] *= np.exp(-t * 6.9 / max(t[-1], 1e-3)).astype(np.float32)  # −60 dB at the end
        edge_fades(chunk, rate)
        writer.write(audio.with_samples(chunk), ("Sting2",), "stinger",
                     f"{writer.title} hit sting: the downbeat of bar {bar + 1} and its decay", target_lufs=None,
                     info={"source_start_s": round(start / rate, 4)})


def fade_out(samples: np.ndarray, n: int) -> None:
    """Raised-cosine fade over the last ``n`` frames of ``samples`` (channels × frames), in place."""
    n = min(n, samples.shape[1])
    samples[:, samples.shape[1] - n:] *= (0.5 + 0.5 * np.cos(np.linspace(0, np.pi, n))).astype(np.float32)


def fade_in(samples: np.ndarray, n: int) -> None:
    """Raised-cosine fade over the first ``n`` frames of ``samples`` (channels × frames), in place."""
    n = min(n, samples.shape[1])
    samples[:, :n] *= (0.5 - 0.5 * np.cos(np.linspace(0, np.pi, n))).astype(np.float32)


def edge_fades(samples: np.ndarray, rate: int, *, fade_s: float = EDGE_FADE_S) -> None:
    """Micro-fades (``fade_s`` seconds) at both ends of a cut, in place: a file cut from the
    middle of the music starts and ends at zero, without a click."""
    n = max(2, round(fade_s * rate))
    fade_in(samples, n)
    fade_out(samples, n)


def write_segments(writer: DeliveryWriter, audio: Audio, grid: BarGrid, likeness: np.ndarray) -> None:
    rate = audio.sample_rate
    beat_s = grid.bar_s / grid.beats_per_bar
    for index, section in enumerate(grid.sections):
        entry_s = float(grid.starts_s[section.first_bar])
        exit_s = float(grid.ends_s[section.end_bar - 1]) if section.end_bar < grid.bars else float(grid.ends_s[-1])
        pre_s = min(beat_s, entry_s)
        last = index == len(grid.sections) - 1
        tail_s = (grid.duration_s - exit_s) if last else min(grid.bar_s, grid.duration_s - exit_s)
        lo, hi = round((entry_s - pre_s) * rate), min(audio.frames, round((exit_s + tail_s) * rate))
        chunk = np.array(audio.samples[:, lo:hi])
        pre, tail = round(pre_s * rate), hi - round(exit_s * rate)
        if pre:  # the pickup plays as it is; a 5 ms fade keeps the file's first sample from clicking
            fade_in(chunk, min(pre, round(EDGE_FADE_S * rate)))
        if tail > 0 and not last:
            fade_out(chunk, tail)
        transitions = []
        for other, dest in enumerate(grid.sections):
            if other == index:
                continue
            natural = other == index + 1
            alike = float(likeness[dest.first_bar, section.end_bar]) if section.end_bar < grid.bars else 0.0
            alike = 1.0 if natural else alike
            sync = "next_bar" if alike >= NEXT_BAR_LIKENESS and not natural else "exit_cue"
            transitions.append({"to": other, "sync": sync, "likeness": round(alike, 3),
                                "follows_well": bool(natural or alike >= FOLLOWS_WELL_LIKENESS),
                                "fade_s": 0.0 if natural or alike >= FOLLOWS_WELL_LIKENESS else round(grid.bar_s, 3)})
        writer.write(audio.with_samples(chunk), (f"Segment{index + 1:02d}", title_for(section.role)),
                     "segment", f"{writer.title} segment {index + 1}: {section.role} ({section.label}), "
                                f"bars {section.first_bar + 1}–{section.end_bar}", target_lufs=None,
                     info={"segment": index, "label": section.label, "role": section.role,
                           "bars": [section.first_bar, section.end_bar], "entry_cue_s": round(pre / rate, 6),
                           "exit_cue_s": round((round(exit_s * rate) - lo) / rate, 6),
                           "pre_roll_s": round(pre / rate, 6), "tail_s": round(max(tail, 0) / rate, 6),
                           "source_entry_s": round(entry_s, 4), "transitions": transitions})


def game_manifest(writer: DeliveryWriter, grid: BarGrid | None) -> dict[str, Any]:
    """The adaptive part of ``deliverables.json``: tempo, bar grid, loops, layers, segments and
    transitions, with how each maps onto Wwise and FMOD; empty without a bar grid.

    ``tempo_bpm`` counts the metrical beat (the quarter in 2/4, 3/4, 4/4, the dotted quarter in
    6/8, 9/8, 12/8), ``beats_per_bar`` of them to a bar; ``meter`` is the time signature.
    """
    game: dict[str, Any] = {}
    if grid is not None:
        tempo = 60.0 / (grid.bar_s / grid.beats_per_bar)
        game = {
            "tempo_bpm": round(tempo, 3), "meter": grid.time_signature, "beats_per_bar": grid.beats_per_bar,
            "bar_grid_s": [round(float(t), 4) for t in grid.starts_s],
            "loops": [{"file": f.name, "loop_start_frame": f.loop[0], "loop_end_frame": f.loop[1],
                       "bars": f.info.get("bars")} for f in writer.files if f.loop is not None and f.kind == "loop"],
            "vertical_layers": [{"file": f.name, "layer": f.info["layer"], "stems": f.info["stems"],
                                 "loop_start_frame": f.loop[0], "loop_end_frame": f.loop[1]}
                                for f in writer.files if f.kind == "layer" and f.loop is not None],
            "horizontal_segments": [{"file": f.name, **{k: v for k, v in f.info.items() if k != "transitions"}}
                                    for f in writer.files if f.kind == "segment"],
            "transitions": [{"from": f.info["segment"], **t} for f in writer.files if f.kind == "segment"
                            for t in f.info["transitions"]],
            "mapping": {
                "wwise": {"segment": "Music Segment (entry cue = entry_cue_s, exit cue = exit_cue_s; pre-entry and "
                                     "post-exit are the pre-roll and tail)",
                          "loop": "Music Segment in a Music Playlist Container with loop count 0 (infinite)",
                          "vertical_layers": "Music Tracks of one Music Segment, volumes driven by an RTPC",
                          "transitions": "Music Switch Container transition rules: exit_cue = Exit Cue, "
                                         "next_bar = Next Bar, fade_s = fade-out / fade-in"},
                "fmod": {"segment": "Timeline region on an Event; entry_cue_s = destination marker, exit_cue_s = "
                                    "transition marker",
                         "loop": "Loop Region over the instrument (the file's smpl loop)",
                         "vertical_layers": "parallel audio tracks on one timeline, volumes automated by a parameter",
                         "transitions": "Transition Region quantised to the bar (next_bar) or a Transition Marker "
                                        "at the exit cue (exit_cue) to the destination marker"}},
        }
    return game
