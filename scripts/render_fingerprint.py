#!/usr/bin/env python3
"""Fingerprint what trackwright renders, to check that a restructuring changes no output.

Builds, through the command line only, the demo and a project with stems and MIDI, then makes
versions with every kind of change (fit, arrange, compose, produce, mix, notes, deliver) and
writes the sha256 of every rendered file (audio files by their samples, so dates in BWF headers
do not count; MIDI, recipes' music and JSON decisions by their bytes) to a JSON file::

    python scripts/render_fingerprint.py OUT_DIR fingerprint.json
    python scripts/render_fingerprint.py OUT_DIR2 fingerprint2.json
    diff fingerprint.json fingerprint2.json      # nothing: byte-identical renders

Slow (a few minutes on two cores); not part of the test suite.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))


def run(*args: str) -> str:
    """Run ``trackwright ARGS`` (this interpreter), fail loudly, return stdout."""
    done = subprocess.run([sys.executable, "-m", "trackwright", "--quiet", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"trackwright {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def digest(path: Path) -> str:
    """sha256 of an audio file's samples (float32, frames × channels), else of the file's bytes."""
    if path.suffix.lower() in (".wav", ".flac"):
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
        return hashlib.sha256(np.ascontiguousarray(data).tobytes() + str(rate).encode()).hexdigest()
    if path.suffix == ".yaml" and path.parent.name == "recipes":  # the version block has a time stamp
        lines = path.read_text(encoding="utf-8").splitlines()
        kept = [line for line in lines if not line.strip().startswith(("created_utc:", "author:"))]
        return hashlib.sha256("\n".join(kept).encode()).hexdigest()
    if path.name == "summary.json":  # it names the files it wrote by their absolute paths
        return hashlib.sha256(path.read_text(encoding="utf-8").replace(str(path.parent), ".").encode()).hexdigest()
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fingerprint(root: Path) -> dict[str, str]:
    """Relative path → digest for every rendered file under ``root`` (render folders by content key)."""
    out = {}
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.name in ("project.db", ".lock", "render.json", "deliverables.json") \
                or path.suffix in (".html", ".csv") or "analysis" in path.parts and path.suffix == ".json":
            continue
        out[str(path.relative_to(root))] = digest(path)
    return out


def main() -> None:
    out, target = Path(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    run("demo", str(out / "demo"))
    from stems_fixtures import write_pop_song_parts

    song = out / "song"
    song.mkdir(exist_ok=True)
    paths = write_pop_song_parts(song, frozenset({"drums", "bass", "chords", "lead"}), rate=22050)
    project = str(out / "proj")
    run("new", project, "--audio", str(paths["draft"]), "--stems", str(paths["stems"]), "--midi", str(paths["midi"]))
    run("arrange", project, "cut", "bars 5-6")
    run("arrange", project, "repeat", "bars 1-2")
    run("compose", project, "reharmonise", "--seed", "3", "--rate", "0.5")
    run("produce", project, "--instrument", "chords=ms-strings", "--replace", "chords=chords", "--arc", "auto",
        "--humanize", "7")
    run("mix", project, "--style", "pop")
    run("note", project, "a bit warmer from 0:02 to 0:06")
    run("note", project, "less busy")
    run("fit", project, "--duration", "20", "--hit", "8")
    for version in range(1, 10):
        run("render", project, "--version", str(version))
    run("deliver", project, "--target", "streaming", "-o", str(out / "delivery"))
    prints = {"demo": fingerprint(out / "demo"), "proj": fingerprint(out / "proj"),
              "delivery": fingerprint(out / "delivery"),
              "diff": run("diff", project, "1", "9")}
    target.write_text(json.dumps(prints, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{sum(len(v) for v in prints.values() if isinstance(v, dict))} files fingerprinted → {target}")


if __name__ == "__main__":
    main()
