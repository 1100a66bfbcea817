"""How long a creative note takes on a 3-minute project (`make bench`; goal ≤ 10 s a note).

A 180 s stereo 44.1 kHz draft is rendered with FluidSynth (``bench.make_track``) and made into a
project with ``trackwright new``; then each note below runs as a user runs it,
``trackwright note PROJECT TEXT`` in a subprocess, on a fresh copy of that project. For each note
the script prints the wall time and the CPU time (user + system, from ``getrusage`` of the child
process) in seconds: on a busy shared machine the wall time grows with the load while the CPU
time does not, so the CPU time is what the note costs and the wall time is what it took here.
It prints numbers and asserts nothing.

    python bench/bench_note_speed.py [--notes "TEXT;TEXT"] [--keep DIR]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import SECONDS, make_track

from trackwright.audio import save_audio

#: Notes of the kinds a director sends: colour, a region, a span, a constraint, dynamics, an edit.
NOTES = (
    "make it a little warmer",
    "there's too much mud in the low mids",
    "louder from 1:00 to 1:30",
    "a lot more energy, but keep the level where it is",
    "more punch in the second half",
    "fade out over the final 12 seconds",
    "a touch wider and a bit brighter",
    "speed it up by 6 percent",
)


def run_note(python: str, project: Path, text: str) -> tuple[float, float, int]:
    """(wall s, CPU s, exit code) of one ``trackwright note`` in a subprocess."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([python, "-m", "trackwright", "-q", "note", str(project), text],
                          capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        print(f"    ({text!r} exit {done.returncode}: {done.stderr.strip()[-200:]})", flush=True)
    return wall, cpu, done.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", default="", help="notes to time, separated by ';' (default: a fixed set of 8)")
    parser.add_argument("--keep", type=Path, default=None, help="keep the base project in this folder")
    args = parser.parse_args(argv)
    notes = [n.strip() for n in args.notes.split(";") if n.strip()] or list(NOTES)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        print("preparing a 3-minute stereo 44.1 kHz draft with FluidSynth …", flush=True)
        draft = tmp / "draft.wav"
        save_audio(make_track(3, 112.0, "D", tmp), draft, bit_depth="float")
        base = args.keep or tmp / "base"
        made = subprocess.run([sys.executable, "-m", "trackwright", "-q", "new", str(base), "--audio", str(draft)],
                              capture_output=True, text=True, check=False)
        if made.returncode != 0:
            print(f"notes speed: could not make the project: {made.stderr.strip()}")
            return 1
        print(f"\nnote speed on a {SECONDS:.0f} s project (goal ≤ 10 s a note)")
        print(f"  {'note':<52} {'wall s':>7} {'CPU s':>7}")
        walls, cpus = [], []
        for index, text in enumerate(notes):
            project = tmp / f"run{index}"
            shutil.copytree(base, project)
            wall, cpu, code = run_note(sys.executable, project, text)
            shutil.rmtree(project, ignore_errors=True)
            walls.append(wall)
            cpus.append(cpu)
            print(f"  {text[:52]:<52} {wall:7.1f} {cpu:7.1f}{'' if code == 0 else '  (refused)'}", flush=True)
        print(f"  {'median':<52} {statistics.median(walls):7.1f} {statistics.median(cpus):7.1f}")
        print(f"  {'max':<52} {max(walls):7.1f} {max(cpus):7.1f}")
        print(f"  notes within 10 s: wall {sum(w <= 10.0 for w in walls)}/{len(walls)}, "
              f"CPU {sum(c <= 10.0 for c in cpus)}/{len(cpus)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
