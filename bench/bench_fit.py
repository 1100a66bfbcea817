"""Fit benchmark (`make bench`): a 3-minute song cut to 30 s and 60 s with two hits each.

Prints, per cue: wall time of the whole ``trackwright fit`` command (a fresh process: load,
analyse, plan, render, write; goal ≤ 5 s each), the time of the same work in-process, the
duration error, where each hit's downbeat attack is heard, the stretches and the number of jumps.
Asserts nothing.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from trackwright.arrange.fit import fit_audio
from trackwright.arrange.splice import find_attack, plan_splices, render_edits
from trackwright.audio import load_audio, save_audio
from trackwright.produce.fluidsynth import render_midi
from trackwright.score.draft import compose_song, pop_form_sections

CUES = ((30.0, (9.5, 21.25)), (60.0, (17.0, 44.6)))


def _output_time(plan, source_s: float) -> float:  # noqa: ANN001 - a SplicePlan
    """Where source time ``source_s`` is heard in the output (the first piece that plays it)."""
    for piece in plan.pieces_s():
        if piece["source_start_s"] <= source_s < piece["source_end_s"]:
            return piece["output_start_s"] + (source_s - piece["source_start_s"]) * piece["stretch"]
    return float("nan")


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        midi, info = compose_song(pop_form_sections("D"), bpm=75.0, key="D", seed=7)
        song = render_midi(midi)
        source = folder / "song.wav"
        save_audio(song, source)
        print(f"fit: a {song.duration_s:.1f} s song ({info.bars} bars at {info.bpm:g} BPM), FluidSynth render")
        for duration, hits in CUES:
            out = folder / f"cue{duration:g}.wav"
            command = [sys.executable, "-m", "trackwright", "-q", "fit", str(source), "-o", str(out),
                       "--duration", str(duration), *[a for h in hits for a in ("--hit", str(h))]]
            start = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            wall = time.perf_counter() - start
            if done.returncode:
                print(f"  {duration:g} s: failed: {done.stderr.strip()}")
                continue
            audio = load_audio(source)
            start = time.perf_counter()
            result = fit_audio(audio, duration, hits=hits)
            fitted = render_edits(audio, result.edits)
            inside = time.perf_counter() - start
            cue = load_audio(out)
            heard = [1000 * (find_attack(cue, h, search_s=0.05) - h) for h in hits]
            truth = [1000 * (_output_time(plan_splices(audio, result.edits), info.downbeat_times_s[row["bar"]]) - h)
                     for row, h in zip(result.hits, hits)]
            print(f"  {duration:>4g} s, hits {', '.join(f'{h:g}' for h in hits)} s: command {wall:.2f} s "
                  f"(in-process {inside:.2f} s); duration error {1000 * abs(cue.duration_s - duration):.2f} ms; "
                  f"hit attacks heard at {', '.join(f'{e:+.1f}' for e in heard)} ms, true downbeats at "
                  f"{', '.join(f'{e:+.1f}' for e in truth)} ms; stretches "
                  f"{', '.join(f'{100 * (s - 1):+.2f} %' for s in result.stretches)}; {result.jumps} jumps; "
                  f"same as in-process: {abs(fitted.duration_s - cue.duration_s) < 1e-6}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
