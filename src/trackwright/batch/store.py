"""The batch's output folder: one folder per track, step records written last, temp files swept.

Layout of ``OUT``::

    OUT/.batch.lock                  held while a batch writes here (one batch at a time)
    OUT/tracks/<id>/source.json      the draft's path, stat and SHA-256 (the digest cache)
    OUT/tracks/<id>/analysis.json    `trackwright analyze --json` of the draft
    OUT/tracks/<id>/report.html      its HTML report
    OUT/tracks/<id>/fingerprint.npz  the near-duplicate fingerprint
    OUT/tracks/<id>/qc.json          verdict and reasons
    OUT/tracks/<id>/master.wav       the master (``--do master``)
    OUT/tracks/<id>/deliver/         project/ and delivery/ (``--do deliver``)
    OUT/tracks/<id>/steps/<step>.json  {"step", "key", "files", "result"}: the step is done

Conventions
-----------
Every file is written to a temporary name in its folder and renamed into place, and a step's
record is written only after all its files, so a killed batch leaves at worst temporary files
(swept when the track is next processed) and never a final name over half-written content. A
step is *done* when its record holds the step's current key and every file it lists exists.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from trackwright.audio import write_atomic
from trackwright.errors import ParameterError

TRACKS = "tracks"
STEPS = "steps"
STAGE_PREFIX = ".stage-"


def write_json(path: Path, data: Any) -> Path:
    """Write ``data`` as indented UTF-8 JSON to ``path``, atomically."""
    text = json.dumps(data, indent=1, ensure_ascii=False, allow_nan=False)
    return write_atomic(path, lambda tmp: tmp.write_text(text + "\n", encoding="utf-8"))


def read_json(path: Path) -> Any | None:
    """The JSON in ``path``, or None when it is missing or unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


class TrackFolder:
    """``OUT/tracks/<track_id>/``: a track's outputs and its step records."""

    def __init__(self, output: Path, track_id: str) -> None:
        self.path = Path(output) / TRACKS / track_id
        self.steps = self.path / STEPS

    def prepare(self) -> None:
        """Create the folder and remove what an interrupted run left: temporary files and stages."""
        self.steps.mkdir(parents=True, exist_ok=True)
        for folder in (self.path, self.steps):
            for entry in folder.iterdir():
                if entry.name.startswith(STAGE_PREFIX) and entry.is_dir():
                    shutil.rmtree(entry, ignore_errors=True)
                elif entry.name.startswith(".") and ".part" in entry.name and entry.is_file():
                    entry.unlink(missing_ok=True)

    def record(self, step: str) -> dict[str, Any] | None:
        """The record of ``step`` (whatever its key), or None."""
        data = read_json(self.steps / f"{step}.json")
        return data if isinstance(data, dict) else None

    def done(self, step: str, key: str) -> dict[str, Any] | None:
        """The record of ``step`` when it was made with ``key`` and all its files are there, else None."""
        record = self.record(step)
        if record is None or record.get("key") != key:
            return None
        if not all((self.path / name).exists() for name in record.get("files", [])):
            return None
        return record

    def forget(self, step: str) -> None:
        """Drop ``step``'s record before it is redone, so stale files never pass as done."""
        (self.steps / f"{step}.json").unlink(missing_ok=True)

    def commit(self, step: str, key: str, files: list[str], result: dict[str, Any]) -> dict[str, Any]:
        """Write ``step``'s record (after its files): it is now done."""
        record = {"step": step, "key": key, "files": files, "result": result}
        write_json(self.steps / f"{step}.json", record)
        return record

    def stage(self, name: str) -> Path:
        """A fresh hidden folder inside the track's folder, for outputs that are whole folders."""
        stage = self.path / f"{STAGE_PREFIX}{name}-{os.getpid()}"
        if stage.exists():
            shutil.rmtree(stage)
        stage.mkdir()
        return stage

    def publish(self, stage: Path, name: str) -> Path:
        """Move a finished stage to ``name`` (replacing what was there) and return the new path."""
        final = self.path / name
        if final.exists():
            old = self.path / f"{STAGE_PREFIX}old-{name}-{os.getpid()}"
            os.replace(final, old)
            shutil.rmtree(old, ignore_errors=True)
        os.replace(stage, final)
        return final


@contextlib.contextmanager
def batch_lock(output: Path) -> Iterator[None]:
    """Hold ``OUT/.batch.lock`` for the batch; a second batch on the same folder gets one line."""
    output.mkdir(parents=True, exist_ok=True)
    lock_path = output / ".batch.lock"
    with open(lock_path, "a+") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise ParameterError(f"{output}: another batch is writing here ({holder}); wait for it or choose "
                                 "another -o folder") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
