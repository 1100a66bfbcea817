"""The review room's own records: comments, approvals, revision jobs and uploads, in ``review.db``.

``PROJECT/review.db`` is a SQLite file beside (never inside) the project's ``project.db``, so
the project store's tables are untouched and deleting ``review.db`` forgets only the review.
It also holds the room's project id and signing secret (see :mod:`trackwright.review.tokens`).

Conventions
-----------
Times are seconds (float) in the version's own timeline; stamps are ISO-8601 UTC text.
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from trackwright.errors import ParameterError, ProjectError
from trackwright.project.recipe import utc_iso
from trackwright.sqlite import connection

REVIEW_DB = "review.db"
#: Comment states.
STATES = ("open", "resolved")
#: Longest comment, characters.
MAX_COMMENT_CHARS = 4000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS comments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    version INTEGER NOT NULL,
    parent_id INTEGER REFERENCES comments(id),
    start_s REAL NOT NULL,
    end_s REAL,
    author TEXT NOT NULL,
    body TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'open',
    created_utc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS approvals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    version INTEGER NOT NULL,
    author TEXT NOT NULL,
    created_utc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    comment_id INTEGER NOT NULL,
    note TEXT NOT NULL,
    state TEXT NOT NULL,
    progress REAL NOT NULL DEFAULT 0,
    label TEXT NOT NULL DEFAULT '',
    result_version INTEGER,
    explanation TEXT NOT NULL DEFAULT '',
    created_utc TEXT NOT NULL,
    updated_utc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS uploads (
    id TEXT PRIMARY KEY,
    file_name TEXT NOT NULL,
    media_type TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    sample_rate INTEGER NOT NULL,
    channels INTEGER NOT NULL,
    duration_s REAL NOT NULL,
    author TEXT NOT NULL,
    created_utc TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Comment:
    """A comment pinned to ``start_s`` (and ``end_s`` for a range) of one version; replies have a parent."""

    id: int
    version: int
    parent_id: int | None
    start_s: float
    end_s: float | None
    author: str
    body: str
    state: str
    created_utc: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


@dataclass(frozen=True)
class Job:
    """A revision request running in the background.

    ``state`` is ``queued``, ``running``, ``done``, ``failed`` or ``unavailable`` (no note
    engine installed); ``progress`` is 0…1; ``result_version`` is the new version when done.
    """

    id: int
    comment_id: int
    note: str
    state: str
    progress: float
    label: str
    result_version: int | None
    explanation: str
    created_utc: str
    updated_utc: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


class ReviewStore:
    """``PROJECT/review.db``: made on first use; safe to share between threads (one connection each call)."""

    def __init__(self, project_path: str | Path) -> None:
        self.path = Path(project_path) / REVIEW_DB
        self._guard = threading.Lock()
        with self._db() as con:
            con.executescript(_SCHEMA)
        with self._db(write=True) as con:
            for key, value in (("project_id", secrets.token_hex(16)), ("secret", secrets.token_hex(32))):
                con.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (key, value))

    @contextmanager
    def _db(self, *, write: bool = False) -> Iterator[sqlite3.Connection]:
        try:
            with connection(str(self.path), write=write, guard=self._guard) as con:
                yield con
        except sqlite3.DatabaseError as err:
            raise ProjectError(f"{self.path}: damaged ({err}); move it aside to start the review afresh") from err

    def _meta(self, key: str) -> str:
        with self._db() as con:
            (value,) = con.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(value)

    @property
    def project_id(self) -> str:
        """This review room's id (random, made with ``review.db``); tokens are bound to it."""
        return self._meta("project_id")

    @property
    def secret(self) -> bytes:
        """The key that signs this room's tokens."""
        return bytes.fromhex(self._meta("secret"))

    # -- comments ------------------------------------------------------------------------------
    def add_comment(self, version: int, start_s: float, body: str, *, author: str, end_s: float | None = None,
                    parent_id: int | None = None) -> Comment:
        """Pin a comment at ``start_s`` seconds (to ``end_s`` for a range) of ``version``.

        A reply (``parent_id``) takes its parent's version and times. Raises ParameterError for
        an empty or too long body, a negative time, an end before the start or an unknown parent.
        """
        body = body.strip()
        if not body:
            raise ParameterError("a comment needs some text")
        if len(body) > MAX_COMMENT_CHARS:
            raise ParameterError(f"a comment has at most {MAX_COMMENT_CHARS} characters, got {len(body)}")
        author = " ".join(author.split())[:80] or "anonymous"
        with self._db(write=True) as con:
            if parent_id is not None:
                row = con.execute("SELECT version, start_s, end_s FROM comments WHERE id = ?", (parent_id,)).fetchone()
                if row is None:
                    raise ParameterError(f"no comment {parent_id} to reply to")
                version, start_s, end_s = row
            if not (start_s >= 0) or (end_s is not None and not end_s > start_s):
                raise ParameterError(f"a comment's time must be ≥ 0 s and its end after its start, "
                                     f"got {start_s}–{end_s} s")
            cursor = con.execute("INSERT INTO comments (version, parent_id, start_s, end_s, author, body, created_utc)"
                                 " VALUES (?, ?, ?, ?, ?, ?, ?)",
                                 (version, parent_id, float(start_s), None if end_s is None else float(end_s),
                                  author, body, utc_iso()))
            number = int(cursor.lastrowid)
        return self.comment(number)

    def comment(self, comment_id: int) -> Comment:
        """One comment by id (ParameterError when there is none)."""
        with self._db() as con:
            row = con.execute("SELECT * FROM comments WHERE id = ?", (comment_id,)).fetchone()
        if row is None:
            raise ParameterError(f"no comment {comment_id}")
        return Comment(*row)

    def comments(self, version: int | None = None) -> list[Comment]:
        """Comments (of one version, or all), by time then id; replies follow in the same order."""
        with self._db() as con:
            if version is None:
                rows = con.execute("SELECT * FROM comments ORDER BY start_s, id").fetchall()
            else:
                rows = con.execute("SELECT * FROM comments WHERE version = ? ORDER BY start_s, id",
                                   (version,)).fetchall()
        return [Comment(*row) for row in rows]

    def set_state(self, comment_id: int, state: str) -> Comment:
        """Mark a comment ``open`` or ``resolved``."""
        if state not in STATES:
            raise ParameterError(f"a comment's state is one of {', '.join(STATES)}, got {state!r}")
        with self._db(write=True) as con:
            if con.execute("UPDATE comments SET state = ? WHERE id = ?", (state, comment_id)).rowcount == 0:
                raise ParameterError(f"no comment {comment_id}")
        return self.comment(comment_id)

    # -- approvals -----------------------------------------------------------------------------
    def approve(self, version: int, *, author: str) -> dict[str, Any]:
        """Record that ``author`` approved ``version``; returns the approval."""
        stamp = utc_iso()
        with self._db(write=True) as con:
            con.execute("INSERT INTO approvals (version, author, created_utc) VALUES (?, ?, ?)",
                        (version, author, stamp))
        return {"version": version, "author": author, "created_utc": stamp}

    def approvals(self) -> dict[int, list[dict[str, Any]]]:
        """Version → its approvals, oldest first."""
        out: dict[int, list[dict[str, Any]]] = {}
        with self._db() as con:
            for version, author, stamp in con.execute("SELECT version, author, created_utc FROM approvals ORDER BY id"):
                out.setdefault(version, []).append({"version": version, "author": author, "created_utc": stamp})
        return out

    # -- jobs ----------------------------------------------------------------------------------
    def add_job(self, comment_id: int, note: str) -> Job:
        """A queued revision job for a comment."""
        stamp = utc_iso()
        with self._db(write=True) as con:
            cursor = con.execute("INSERT INTO jobs (comment_id, note, state, created_utc, updated_utc) "
                                 "VALUES (?, ?, 'queued', ?, ?)", (comment_id, note, stamp, stamp))
            number = int(cursor.lastrowid)
        return self.job(number)

    def update_job(self, job_id: int, **fields: Any) -> None:
        """Set some of ``state``, ``progress``, ``label``, ``result_version``, ``explanation``."""
        allowed = {"state", "progress", "label", "result_version", "explanation"}
        unknown = set(fields) - allowed
        if unknown:
            raise ParameterError(f"jobs have no field {sorted(unknown)[0]!r}")
        columns = ", ".join(f"{name} = ?" for name in fields)
        with self._db(write=True) as con:
            con.execute(f"UPDATE jobs SET {columns}, updated_utc = ? WHERE id = ?",  # noqa: S608 - names checked
                        (*fields.values(), utc_iso(), job_id))

    def job(self, job_id: int) -> Job:
        """One job by id (ParameterError when there is none)."""
        with self._db() as con:
            row = con.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise ParameterError(f"no job {job_id}")
        return Job(*row)

    # -- uploads -------------------------------------------------------------------------------
    def add_upload(self, upload_id: str, file_name: str, media_type: str, size: int, sample_rate: int,
                   channels: int, duration_s: float, *, author: str) -> dict[str, Any]:
        """Record an uploaded reference stored as ``file_name`` (a generated name)."""
        with self._db(write=True) as con:
            con.execute("INSERT INTO uploads VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (upload_id, file_name, media_type, size, sample_rate, channels, duration_s, author, utc_iso()))
        return self.upload(upload_id)

    def upload(self, upload_id: str) -> dict[str, Any]:
        """One upload's record (ParameterError when there is none)."""
        with self._db() as con:
            con.row_factory = sqlite3.Row
            row = con.execute("SELECT * FROM uploads WHERE id = ?", (upload_id,)).fetchone()
        if row is None:
            raise ParameterError("no such upload")
        return dict(row)

    def uploads(self) -> list[dict[str, Any]]:
        """Every upload's record, oldest first."""
        with self._db() as con:
            con.row_factory = sqlite3.Row
            return [dict(row) for row in con.execute("SELECT * FROM uploads ORDER BY created_utc")]
