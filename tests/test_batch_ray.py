"""The same batch as Ray tasks on a local two-CPU cluster writes the same per-track files
(skipped when the ``[distributed]`` extra, ``ray``, is not installed)."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from batch_fixtures import VARIED, chord_song, fade_out, write

from trackwright.batch import run_batch
from trackwright.batch.distributed import import_ray
from trackwright.errors import MissingDependencyError

PER_TRACK = ("analysis.json", "qc.json", "fingerprint.npz", "report.html", "steps/analyze.json", "steps/qc.json",
             "steps/fingerprint.json")


@pytest.fixture(scope="module")
def cluster() -> Iterator[ModuleType]:
    """A local Ray cluster with two CPUs, as `ray start --head --num-cpus 2` would make."""
    if importlib.util.find_spec("ray") is None:
        pytest.skip("the [distributed] extra (ray) is not installed")
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="warning")
    yield ray
    ray.shutdown()


def test_ray_and_the_local_pool_write_identical_tracks(cluster: ModuleType, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    song = fade_out(chord_song(VARIED[:6]))
    write(folder, "one.wav", song)
    write(folder, "one quieter.wav", song * 0.5)
    write(folder, "two.wav", fade_out(chord_song(VARIED[6:12], transpose=2.0)))
    (folder / "bad.wav").write_bytes(b"not audio at all")
    local = run_batch([folder], tmp_path / "local", workers=1)
    remote = run_batch([folder], tmp_path / "ray", ray="auto")  # joins the cluster this test started
    assert remote.executor == "ray" and "2 cluster CPUs" in remote.workers
    assert remote.counts == local.counts and remote.failures == local.failures
    assert remote.duplicate_groups == local.duplicate_groups and len(remote.duplicate_groups) == 1
    ids = sorted(p.name for p in (tmp_path / "local" / "tracks").iterdir())
    assert ids == sorted(p.name for p in (tmp_path / "ray" / "tracks").iterdir()) and len(ids) == 4
    compared = 0
    for track in ids:
        for name in PER_TRACK:
            mine, theirs = tmp_path / "local" / "tracks" / track / name, tmp_path / "ray" / "tracks" / track / name
            assert mine.exists() == theirs.exists()
            if mine.exists():
                assert mine.read_bytes() == theirs.read_bytes(), f"{track}/{name}"
                compared += 1
    assert compared == 3 * len(PER_TRACK)
    assert json.loads((tmp_path / "ray" / "catalog.json").read_text())["tracks"] == json.loads(
        (tmp_path / "local" / "catalog.json").read_text())["tracks"]
    again = run_batch([folder], tmp_path / "ray", ray="auto")
    assert again.counts["analyze"] == {"done": 0, "skipped": 3, "failed": 1, "blocked": 0}


def test_without_ray_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # an import of ray now fails, installed or not
    with pytest.raises(MissingDependencyError, match=r"--ray needs Ray: pip install 'trackwright\[distributed\]'"):
        import_ray()
    write(tmp_path, "one.wav", fade_out(chord_song(VARIED[:3])))
    with pytest.raises(MissingDependencyError):
        run_batch([tmp_path / "one.wav"], tmp_path / "out", ray="auto")
