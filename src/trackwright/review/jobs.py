"""Revision requests as background jobs: a comment becomes a note for the note engine.

The note engine is handed in by whoever starts the room (``trackwright review`` passes
:func:`trackwright.revise.apply_note`; tests pass their own): a :class:`NoteEngine` commits a new
version and returns a :class:`Revision` (its number and the explanation). ``at`` is the
comment's ``(start_s, end_s)``, ``author`` the commenter. A room started without an engine
answers every request with the state ``unavailable`` and :data:`NO_ENGINE`.

Each job records the runner that took it (host, process id and a random id per runner). A runner
starting on a project first marks ``failed`` (:data:`~trackwright.review.store.ORPHANED`) every
unfinished job whose runner is gone: its process has died (a server killed or restarted), or it
was a runner of this process that has closed. So no job stays ``running`` forever, and a page
polling one sees it end.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from trackwright.errors import TrackwrightError
from trackwright.files import pid_alive
from trackwright.progress import ProgressCallback
from trackwright.project import Project
from trackwright.review.store import ORPHANED, Comment, Job, ReviewStore

NO_ENGINE = "this review room was started without a note engine; nothing was changed"
_HOST = socket.gethostname()
# Runners of this process that are still open (their jobs are not orphans).
_live_guard = threading.Lock()
_live: set[str] = set()


def runner_is_gone(runner: str) -> bool:
    """True when the runner ``host:pid:id`` can no longer finish its jobs.

    A runner on another host is never judged gone (its process cannot be seen from here).
    """
    parts = runner.split(":")
    if len(parts) < 3:
        return True  # made before runners were recorded
    host, pid_text = ":".join(parts[:-2]), parts[-2]
    if host != _HOST:
        return False
    if not pid_text.isdigit() or not pid_alive(int(pid_text)):
        return True
    if int(pid_text) == os.getpid():
        with _live_guard:
            return runner not in _live
    return False


class Revision(Protocol):
    """What a note engine returns: the new version's number and the explanation in lines."""

    version: int | None

    def explanation(self) -> list[str]:
        """What changed and why, one line each."""
        ...


class NoteEngine(Protocol):
    """``engine(project, text, *, at, author, progress)``: a note becomes a new version of ``project``."""

    def __call__(self, project: Project, text: str, *, at: tuple[float, float] | None, author: str | None,
                 progress: ProgressCallback | None) -> Revision:
        ...


class JobRunner:
    """Runs revision jobs one at a time on a worker thread, recording progress in the store.

    Parameters
    ----------
    project : Project
        The open project the jobs revise.
    store : ReviewStore
        Where jobs and their progress are kept.
    revise : NoteEngine, optional
        The note engine; without one every job ends ``unavailable``.
    """

    def __init__(self, project: Project, store: ReviewStore, *, revise: NoteEngine | None = None) -> None:
        self.project = project
        self.store = store
        self._revise = revise
        self.runner = f"{_HOST}:{os.getpid()}:{secrets.token_hex(6)}"
        self.orphans = self.fail_orphans()
        with _live_guard:
            _live.add(self.runner)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="trackwright-review-job")

    def fail_orphans(self) -> list[int]:
        """Mark ``failed`` every unfinished job whose runner is gone (:func:`runner_is_gone`); return their ids."""
        orphans = [job_id for job_id, runner in self.store.unfinished_jobs() if runner_is_gone(runner)]
        for job_id in orphans:
            self.store.update_job(job_id, state="failed", progress=1.0, label=ORPHANED)
        return orphans

    def submit(self, comment: Comment, *, note: str | None = None) -> Job:
        """Queue a revision for ``comment`` (its text, or ``note``); return the queued job."""
        text = (note or comment.body).strip()
        job = self.store.add_job(comment.id, text, runner=self.runner)
        self._pool.submit(self._run, job.id, comment, text)
        return job

    def _run(self, job_id: int, comment: Comment, text: str) -> None:
        store = self.store
        if self._revise is None:
            store.update_job(job_id, state="unavailable", progress=1.0, label=NO_ENGINE)
            return
        store.update_job(job_id, state="running", progress=0.0, label="reading the note")
        at = (comment.start_s, comment.end_s if comment.end_s is not None else comment.start_s)

        def progress(fraction: float, label: str) -> None:
            store.update_job(job_id, progress=max(0.0, min(0.95, float(fraction) * 0.9)), label=str(label)[:200])

        try:
            before = self.project.latest()
            result = self._revise(self.project, text, at=at, author=comment.author, progress=progress)
            number = result.version
            if number is None:
                raise TrackwrightError("the note made no new version")
            store.update_job(job_id, progress=0.9, label=f"rendering version {number}")
            self.project.render(number)
            explanation = "\n".join(result.explanation()).strip()
            if not explanation:
                lines = self.project.diff(before, number)
                message = next((v.message for v in self.project.versions() if v.number == number), "")
                explanation = "\n".join([message, *lines]).strip()
            store.update_job(job_id, state="done", progress=1.0, label=f"version {number} is ready",
                             result_version=number, explanation=explanation)
        except TrackwrightError as err:
            store.update_job(job_id, state="failed", progress=1.0, label=str(err)[:500])
        except Exception as err:  # noqa: BLE001 - a job must end in a state the page can show
            store.update_job(job_id, state="failed", progress=1.0,
                             label=f"internal error: {type(err).__name__}: {err}"[:500])

    def close(self) -> None:
        """Wait for running jobs and stop the worker."""
        self._pool.shutdown(wait=True)
        with _live_guard:
            _live.discard(self.runner)
