"""Revision requests as background jobs: a comment becomes a note for the note engine.

The note engine is ``trackwright.revise.apply_note(project, text, *, at=None)``; it commits a
new version and returns it (a :class:`~trackwright.project.recipe.VersionInfo`, its number, or
an object with ``version`` and optionally ``explanation``: text, lines, or a method giving
either). ``at`` is the comment's ``(start_s, end_s)``; ``author`` (the commenter) and
``progress`` are passed when the engine accepts them. Until that module exists a job ends
in the state ``unavailable`` with :data:`NOT_INSTALLED`. Tests pass their own function.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from trackwright.errors import TrackwrightError
from trackwright.project import Project
from trackwright.review.store import Comment, Job, ReviewStore

ReviseFunction = Callable[..., Any]
NOT_INSTALLED = "the note engine is not installed yet (trackwright.revise.apply_note); nothing was changed"


def find_note_engine() -> ReviseFunction | None:
    """``trackwright.revise.apply_note`` when that module exists, else None."""
    try:
        module = importlib.import_module("trackwright.revise")
    except ModuleNotFoundError as err:
        if err.name not in ("trackwright.revise",):
            raise
        return None
    return getattr(module, "apply_note", None)


def _new_version_number(result: Any) -> int:
    if isinstance(result, int) and not isinstance(result, bool):
        return result
    number = getattr(result, "number", None)
    if isinstance(number, int):
        return number
    version = getattr(result, "version", None)
    if isinstance(version, int):
        return version
    number = getattr(version, "number", None)
    if isinstance(number, int):
        return number
    raise TypeError(f"the note engine returned {type(result).__name__}, not a version")


class JobRunner:
    """Runs revision jobs one at a time on a worker thread, recording progress in the store.

    Parameters
    ----------
    project : Project
        The open project the jobs revise.
    store : ReviewStore
        Where jobs and their progress are kept.
    revise : callable, optional
        The note engine; default :func:`find_note_engine` (looked up when each job runs).
    """

    def __init__(self, project: Project, store: ReviewStore, *, revise: ReviseFunction | None = None) -> None:
        self.project = project
        self.store = store
        self._revise = revise
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="trackwright-review-job")

    def submit(self, comment: Comment, *, note: str | None = None) -> Job:
        """Queue a revision for ``comment`` (its text, or ``note``); return the queued job."""
        text = (note or comment.body).strip()
        job = self.store.add_job(comment.id, text)
        self._pool.submit(self._run, job.id, comment, text)
        return job

    def _run(self, job_id: int, comment: Comment, text: str) -> None:
        store = self.store
        revise = self._revise or find_note_engine()
        if revise is None:
            store.update_job(job_id, state="unavailable", progress=1.0, label=NOT_INSTALLED)
            return
        store.update_job(job_id, state="running", progress=0.0, label="reading the note")
        at = (comment.start_s, comment.end_s if comment.end_s is not None else comment.start_s)
        kwargs: dict[str, Any] = {"at": at}
        try:
            parameters = inspect.signature(revise).parameters
        except (TypeError, ValueError):
            parameters = {}
        open_ended = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
        if "author" in parameters or open_ended:
            kwargs["author"] = comment.author
        if "progress" in parameters or open_ended:
            kwargs["progress"] = lambda fraction, label: store.update_job(
                job_id, progress=max(0.0, min(0.95, float(fraction) * 0.9)), label=str(label)[:200])
        try:
            before = self.project.latest()
            result = revise(self.project, text, **kwargs)
            number = _new_version_number(result)
            store.update_job(job_id, progress=0.9, label=f"rendering version {number}")
            self.project.render(number)
            explanation = getattr(result, "explanation", None)
            if callable(explanation):
                explanation = explanation()
            if isinstance(explanation, (list, tuple)):
                explanation = "\n".join(str(line) for line in explanation)
            if not isinstance(explanation, str) or not explanation.strip():
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
