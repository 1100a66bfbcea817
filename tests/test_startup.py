"""What a command imports: the command line loads no stage until a command runs, and measuring
loudness loads none of the heavy libraries (scipy.signal alone costs over a second of CPU).

These check *which* modules load, in a fresh interpreter, never how long it takes; the start-up
time itself is printed by ``bench/bench_speed.py``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

SRC = Path(__file__).resolve().parents[1] / "src"
#: Heavy third-party packages a quick command must not pay for.
HEAVY = ("scipy", "librosa", "numba", "pedalboard", "fastapi", "torch", "sklearn", "pandas")
#: trackwright's base floor (ARCHITECTURE.md): what the command line may import at load.
BASE = {"trackwright", "trackwright.audio", "trackwright.errors", "trackwright.files",
        "trackwright.progress", "trackwright.parallel", "trackwright.cli"}


def _modules_after(code: str) -> list[str]:
    """Names in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    script = f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                          env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"})
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_loading_the_command_line_loads_no_stage() -> None:
    loaded = _modules_after("import trackwright.cli")
    ours = {name for name in loaded if name.split(".")[0] == "trackwright"}
    assert ours <= BASE, f"stages loaded at start-up: {sorted(ours - BASE)}"
    assert [name for name in loaded if name.split(".")[0] in HEAVY] == []


def test_measuring_loudness_loads_no_heavy_library(tmp_path: Path) -> None:
    wav = tmp_path / "tone.wav"
    t = np.arange(48000) / 48000
    sf.write(wav, np.stack([0.3 * np.sin(2 * np.pi * 997 * t)] * 2, axis=1), 48000, subtype="PCM_24")
    loaded = _modules_after(
        "from trackwright.cli import main\n"
        f"code = main(['loudness', {str(wav)!r}, '--json', '--quiet'])\n"
        "assert code == 0, code"
    )
    assert "trackwright.analysis.loudness" in loaded  # the command really measured
    assert [name for name in loaded if name.split(".")[0] in HEAVY] == []
