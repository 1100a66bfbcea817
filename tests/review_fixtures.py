"""Review-room test helpers: a project made from the project tests' song, a fake note engine, a
real HTTP server on 127.0.0.1 (uvicorn on a thread)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
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


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(app: Any, port: int | None = None) -> Iterator[str]:
    """Serve ``app`` with uvicorn on 127.0.0.1 on a thread; yield its base URL, stop it after."""
    import uvicorn  # the review extra; callers skip without it

    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the review server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def share_token(app: Any, role: str, name: str, lifetime_s: float = 86400.0) -> str:
    """A share link's token for ``role`` in the name of ``name``, made by the app's room."""
    return app.state.room.share(role, name, lifetime_s=lifetime_s)[1]
