"""Review-room test helpers: a project made from the project tests' song, a fake note engine."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from project_fixtures import write_song

from trackwright.progress import ProgressCallback, ignore_progress
from trackwright.project import Project

#: What the fake note engine does to the bass, dB.
FAKE_BASS_GAIN_DB = -6.0


def make_project(folder: Path, seconds: float = 12.0) -> Project:
    """A project (draft + bass/drums/keys stems, version 1) in ``folder / "project"``."""
    song = write_song(folder / "song", seconds)
    return Project.create(folder / "project", song["draft"], stems=song["stems"], author="composer")


@dataclass(frozen=True)
class FakeRevision:
    """What :func:`fake_apply_note` returns: the new version, no explanation (the room then shows the diff)."""

    version: int

    def explanation(self) -> list[str]:
        return []


def fake_apply_note(project: Project, text: str, *, at: tuple[float, float] | None = None,
                    author: str | None = None, progress: ProgressCallback | None = None) -> FakeRevision:
    """Stands in for ``trackwright.revise.apply_note``: any note turns the bass down 6 dB."""
    report = progress or ignore_progress
    report(0.2, "reading the note")
    time.sleep(0.3)  # long enough for a page to show progress
    report(0.6, "turning the bass down")
    recipe = project.recipe().with_part("bass", gain_db=FAKE_BASS_GAIN_DB)
    where = "" if at is None else f" at {at[0]:.1f} s"
    info = project.commit(recipe, f"note{where}: {text} (bass {FAKE_BASS_GAIN_DB:+.0f} dB)",
                          author=f"{author} via the note engine" if author else "note engine")
    return FakeRevision(info.number)


def wait_for_job(get: Any, job_id: int, timeout_s: float = 30.0) -> dict[str, Any]:
    """Poll ``get(f"/api/jobs/{job_id}")`` until the job ends; return its JSON."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = get(f"/api/jobs/{job_id}").json()
        if job["state"] not in ("queued", "running"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} still running after {timeout_s} s")
