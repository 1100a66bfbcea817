"""Speed and memory as a user feels them (`make bench`): whole commands in fresh processes.

Prints, asserts nothing:

* start-up — ``python -c pass``, ``trackwright --version`` and ``trackwright loudness`` on a
  1-second file: best of 5, wall and CPU (user + system) seconds, against the 0.5 s budget;
* a 3-minute song — ``loudness``, ``master --target streaming``, ``master --reference`` and
  ``analyze``: wall and CPU seconds, realtime factor (audio seconds per wall second), and the
  ratio to a peer where one is installed: ffmpeg's ebur128 filter for loudness, Matchering
  2.0.6 for reference mastering (in ``bench-out/peers``, a separate venv that ``make bench``
  makes, or else in this venv with the ``bench`` extra);
* ``new`` + ``deliver`` of a 3-minute 4-stem project (goal ≤ 20 s);
* peak memory (maximum resident set, ``/usr/bin/time``) of ``loudness``, ``master``,
  ``analyze`` and ``mix`` at 1, 10 and 60 minutes (``--minutes``), with the exit status when a
  command fails (a command that runs out of memory shows here).

The machine's load average is printed with each section: on a shared machine wall time is
inflated by other work, CPU time much less. Test audio is generated into ``bench-out/speed``.

Usage: ``bench/bench_speed.py [--minutes 1,10,60] [--skip-deliver] [--skip-memory]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench-out" / "speed"
RATE = 44100
PEER_PYTHON = ROOT / "bench-out" / "peers" / "bin" / "python"
TIME = "/usr/bin/time"


@dataclass(frozen=True)
class Run:
    """One command: wall and CPU seconds, peak resident memory (MiB), exit status."""

    wall_s: float
    cpu_s: float
    peak_mib: float
    status: int


def timed(command: list[str], env: dict[str, str] | None = None) -> Run:
    """Run ``command`` under ``/usr/bin/time`` (output discarded)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        done = subprocess.run([TIME, "-o", report.name, "-f", "%e %U %S %M", *command], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, env=env, check=False)
        fields = report.read().split()[-4:]
    wall, user, system, kib = (float(x) for x in fields)
    return Run(wall, user + system, kib / 1024, done.returncode)


def best(command: list[str], times: int = 5) -> Run:
    """The fastest of ``times`` runs (wall and CPU each at their minimum)."""
    runs = [timed(command) for _ in range(times)]
    return Run(min(r.wall_s for r in runs), min(r.cpu_s for r in runs), max(r.peak_mib for r in runs),
               max(r.status for r in runs))


def trackwright(*args: object) -> list[str]:
    return [sys.executable, "-m", "trackwright", *(str(a) for a in args)]


def song(path: Path, seconds: float, *, seed: int = 0, voices: int = 1) -> Path:
    """A stereo 24-bit WAV of ``seconds``: pulsing tones over shaped noise, written in 10 s
    blocks (so a 60-minute file never sits in memory). Made once, then reused."""
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    with sf.SoundFile(path.with_suffix(".part"), "w", RATE, 2, "PCM_24", format="WAV") as f:
        for start in np.arange(0, seconds, 10.0):
            t = start + np.arange(int(min(10.0, seconds - start) * RATE)) / RATE
            bass = 0.25 * np.sin(2 * np.pi * 55 * (1 + seed) * t) * (np.sin(2 * np.pi * 1.25 * t) > 0)
            chord = sum(0.06 * np.sin(2 * np.pi * f * t + k) for k, f in enumerate((220, 277, 330, 440)[:voices + 1]))
            noise = 0.05 * rng.standard_normal((2, t.size)) * (1 + 0.6 * np.sin(2 * np.pi * 0.25 * t))
            f.write((noise + bass + chord).T.astype(np.float32))
    path.with_suffix(".part").rename(path)
    return path


def stems(folder: Path, seconds: float) -> Path:
    """Four stems of ``seconds`` in ``folder`` (made once)."""
    for index, name in enumerate(("drums", "bass", "keys", "lead")):
        song(folder / f"{name}.wav", seconds, seed=index + 1, voices=index)
    return folder


def row(label: str, run: Run, audio_s: float | None = None, peer: Run | None = None, peer_name: str = "") -> None:
    text = f"  {label:<34} {run.wall_s:7.2f} s wall {run.cpu_s:7.2f} s CPU"
    if audio_s:
        text += f"  {audio_s / run.wall_s:6.0f}× realtime (CPU {audio_s / max(run.cpu_s, 1e-9):.0f}×)"
    if peer is not None:
        text += f"  | {peer_name} {peer.wall_s:.2f} s wall {peer.cpu_s:.2f} s CPU: ours {peer.wall_s / run.wall_s:.2f}× " \
                f"as fast (CPU {peer.cpu_s / max(run.cpu_s, 1e-9):.2f}×)"
    if run.status:
        text += f"  [exit {run.status}]"
    print(text, flush=True)


def load() -> str:
    return f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"


def startup(scratch: Path) -> None:
    print(f"start-up, best of 5 {load()}")
    one = song(scratch / "one_second.wav", 1.0)
    row("python -c pass", best([sys.executable, "-c", "pass"]))
    row("trackwright --version", best(trackwright("--version")))
    run = best(trackwright("loudness", one, "--quiet"))
    row("trackwright loudness (1 s file)", run)
    print(f"  budget 0.5 s wall: {'met' if run.wall_s <= 0.5 else 'missed'} ({run.wall_s:.2f} s)")


def three_minutes(scratch: Path) -> None:
    print(f"a 3-minute song, whole commands {load()}")
    mix, reference = song(scratch / "song_3min.wav", 180.0), song(scratch / "reference.wav", 60.0, seed=9, voices=3)
    ffmpeg = shutil.which("ffmpeg")
    peer = timed([ffmpeg, "-nostats", "-hide_banner", "-i", str(mix), "-filter_complex", "ebur128=peak=true",
                  "-f", "null", "-"]) if ffmpeg else None
    row("loudness", timed(trackwright("loudness", mix, "--quiet")), 180.0, peer, "ffmpeg ebur128")
    if peer is None:
        print("  (ffmpeg absent: no ebur128 peer)")
    row("master --target streaming", timed(trackwright("master", mix, "-o", scratch / "m.wav", "--target",
                                                       "streaming", "--quiet")), 180.0)
    peer = None
    python = next((str(p) for p in (PEER_PYTHON, Path(sys.executable)) if p.exists() and subprocess.run(
        [str(p), "-c", "import matchering"], capture_output=True, check=False).returncode == 0), None)
    if python is not None:
        script = ("import matchering as mg; mg.log(lambda *a, **k: None); "
                  f"mg.process(target={str(mix)!r}, reference={str(reference)!r}, "
                  f"results=[mg.pcm24({str(scratch / 'matchering.wav')!r})])")
        peer = timed([python, "-c", script])
        if peer.status:
            print(f"  (Matchering failed, exit {peer.status})")
            peer = None
    row("master --reference", timed(trackwright("master", mix, "-o", scratch / "r.wav", "--reference", reference,
                                                "--quiet")), 180.0, peer, "Matchering 2.0.6")
    if peer is None:
        print(f"  (Matchering absent: no {PEER_PYTHON.relative_to(ROOT)})")
    row("analyze", timed(trackwright("analyze", mix, "--quiet", "--json")), 180.0)


def new_and_deliver(scratch: Path) -> None:
    print(f"new + deliver, a 3-minute 4-stem project (goal ≤ 20 s) {load()}")
    folder = stems(scratch / "stems_3min", 180.0)
    draft = scratch / "stems_3min_draft.wav"
    if not draft.exists():
        total = sum(sf.read(folder / f"{n}.wav", dtype="float32")[0] for n in ("drums", "bass", "keys", "lead"))
        sf.write(draft, total, RATE, subtype="FLOAT")
    project = scratch / "project"
    shutil.rmtree(project, ignore_errors=True)
    shutil.rmtree(scratch / "delivery", ignore_errors=True)
    made = timed(trackwright("new", project, "--audio", draft, "--stems", folder, "--quiet"))
    delivered = timed(trackwright("deliver", project, "-o", scratch / "delivery", "--target", "streaming", "--quiet"))
    row("new", made, 180.0)
    row("deliver", delivered, 180.0)
    print(f"  new + deliver: {made.wall_s + delivered.wall_s:.1f} s wall, {made.cpu_s + delivered.cpu_s:.1f} s CPU; "
          f"peak memory {max(made.peak_mib, delivered.peak_mib):.0f} MiB")


def memory(scratch: Path, minutes: list[float]) -> None:
    print(f"peak memory (MiB) by length {load()}")
    print(f"  {'command':<10}" + "".join(f"{m:>14g} min" for m in minutes))
    files = {m: song(scratch / f"song_{m:g}min.wav", 60.0 * m) for m in minutes}
    commands = {
        "loudness": lambda f, m: trackwright("loudness", f, "--quiet"),
        "master": lambda f, m: trackwright("master", f, "-o", scratch / "mem_master.wav", "--target", "streaming",
                                           "--quiet"),
        "analyze": lambda f, m: trackwright("analyze", f, "--quiet", "--json"),
        "mix": lambda f, m: trackwright("mix", stems(scratch / f"stems_{m:g}min", 60.0 * m), "-o",
                                        scratch / "mem_mix.wav", "--quiet"),
    }
    for name, command in commands.items():
        cells = []
        for m in minutes:
            run = timed(command(files[m], m))
            cells.append(f"{run.peak_mib:8.0f} {'ok' if run.status == 0 else f'x{run.status}':>3} {run.wall_s:5.0f}s")
        print(f"  {name:<10}" + "".join(f"{c:>18}" for c in cells), flush=True)
    print("  (each cell: peak MiB, ok or the exit status, wall seconds)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", default="1,10,60", help="lengths for the memory table, minutes")
    parser.add_argument("--skip-deliver", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args()
    if not Path(TIME).exists():
        print(f"{TIME} is missing (apt-get install time): nothing measured")
        return 0
    OUT.mkdir(parents=True, exist_ok=True)
    startup(OUT)
    three_minutes(OUT)
    if not args.skip_deliver:
        new_and_deliver(OUT)
    if not args.skip_memory:
        memory(OUT, [float(m) for m in args.minutes.split(",")])
    return 0


if __name__ == "__main__":
    sys.exit(main())
