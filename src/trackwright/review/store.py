"""The review room's own records: comments, approvals, revision jobs and uploads, in ``review.db``.

``PROJECT/review.db`` is a SQLite file beside (never inside) the project's ``project.db``, so
the project store's tables are untouched and deleting ``review.db`` forgets only the review.
It is mode 0600 (it holds reviewers' names). It holds the room's project id and its share
links (so they can be listed and revoked); the secret that signs them is kept outside the
project (see :mod:`trackwright.review.keys`).

Conventions
-----------
Times are seconds (float) in the version's own timeline; stamps are ISO-8601 UTC text.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from trackwright.errors import BusyError, ParameterError, ProjectError
from trackwright.files import make_private_file
from trackwright.project.recipe import utc_iso
from trackwright.review.keys import room_secret
from trackwright.sqlite import connection, is_busy

REVIEW_DB = "review.db"
#: Comment states.
STATES = ("open", "resolved")
#: Longest comment, characters.
MAX_COMMENT_CHARS = 4000
#: Job states after which a job never changes again.
ENDED = ("done", "failed", "unavailable")
#: What an orphaned job (its server stopped while it ran) says.
ORPHANED = "the review server stopped while this revision ran; nothing was committed by it after that — request it again"
_JOB_COLUMNS = ("id, comment_id, note, state, progress, label, result_version, explanation, created_utc, "
                "updated_utc")
_LINK_COLUMNS = "id, role, name, created_utc, expires_s, revoked_utc"

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
CREATE TABLE IF NOT EXISTS links (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    role TEXT NOT NULL,
    name TEXT NOT NULL,
    created_utc TEXT NOT NULL,
    expires_s REAL NOT NULL,
    revoked_utc TEXT
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


@dataclass(frozen=True)
class Link:
    """A share link as the room recorded it: ``expires_s`` is Unix seconds; ``revoked_utc`` None while live."""

    id: int
    role: str
    name: str
    created_utc: str
    expires_s: float
    revoked_utc: str | None

    @property
    def state(self) -> str:
        """``live``, ``revoked`` or ``expired``."""
        if self.revoked_utc is not None:
            return "revoked"
        return "expired" if time.time() >= self.expires_s else "live"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (with ``state``)."""
        return {**asdict(self), "state": self.state}


class ReviewStore:
    """``PROJECT/review.db``: made on first use (mode 0600); safe to share between threads (one
    connection each call).

    An older ``review.db`` that still holds a signing secret loses it here (it travelled with
    the project): the room signs with a new one, so links made before stop working.
    """

    def __init__(self, project_path: str | Path) -> None:
        self.path = Path(project_path) / REVIEW_DB
        self._guard = threading.Lock()
        make_private_file(self.path)
        for suffix in ("-journal", "-wal"):
            extra = Path(f"{self.path}{suffix}")
            if extra.exists():
                os.chmod(extra, 0o600)
        with self._db() as con:
            con.executescript(_SCHEMA)
            columns = {row[1] for row in con.execute("PRAGMA table_info(jobs)")}
            if "runner" not in columns:
                con.execute("ALTER TABLE jobs ADD COLUMN runner TEXT")
        with self._db(write=True) as con:
            con.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('project_id', ?)", (secrets.token_hex(16),))
            con.execute("DELETE FROM meta WHERE key = 'secret'")
        self._secret: bytes | None = None

    @contextmanager
    def _db(self, *, write: bool = False) -> Iterator[sqlite3.Connection]:
        try:
            with connection(str(self.path), write=write, guard=self._guard) as con:
                yield con
        except sqlite3.DatabaseError as err:
            if is_busy(err):
                raise BusyError(f"{self.path}: busy: another program holds it ({err}); try again") from err
            raise ProjectError(f"{self.path}: damaged ({err}); move it aside to start the review afresh") from err
        except OverflowError as err:  # a number past SQLite's 64-bit integers
            raise ParameterError(f"a number is too large ({err})") from err

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
        """The key that signs this room's tokens (:func:`~trackwright.review.keys.room_secret`)."""
        if self._secret is None:
            self._secret = room_secret(self.project_id, self.path.parent)
        return self._secret

    # -- share links ---------------------------------------------------------------------------
    def add_link(self, role: str, name: str, expires_s: float) -> Link:
        """Record a share link for ``role`` and reviewer ``name``, expiring at ``expires_s`` (Unix seconds)."""
        with self._db(write=True) as con:
            cursor = con.execute("INSERT INTO links (role, name, created_utc, expires_s) VALUES (?, ?, ?, ?)",
                                 (role, name, utc_iso(), float(expires_s)))
            number = int(cursor.lastrowid)
        return self.link(number)

    def rename_link(self, link_id: int, name: str) -> Link:
        """Set the reviewer's name of a link (when the room names an unnamed one)."""
        with self._db(write=True) as con:
            con.execute("UPDATE links SET name = ? WHERE id = ?", (name, link_id))
        return self.link(link_id)

    def link(self, link_id: int) -> Link:
        """One link by id (ParameterError when there is none)."""
        with self._db() as con:
            row = con.execute(f"SELECT {_LINK_COLUMNS} FROM links WHERE id = ?", (link_id,)).fetchone()  # noqa: S608
        if row is None:
            raise ParameterError(f"no share link {link_id}")
        return Link(*row)

    def links(self) -> list[Link]:
        """Every link the room made, oldest first."""
        with self._db() as con:
            return [Link(*row) for row in con.execute(f"SELECT {_LINK_COLUMNS} FROM links ORDER BY id")]  # noqa: S608

    def revoke_link(self, link_id: int) -> Link:
        """Revoke a link (its token stops working at once); revoking twice keeps the first time."""
        with self._db(write=True) as con:
            if con.execute("UPDATE links SET revoked_utc = coalesce(revoked_utc, ?) WHERE id = ?",
                           (utc_iso(), link_id)).rowcount == 0:
                raise ParameterError(f"no share link {link_id} (see `trackwright review PROJECT --links`)")
        return self.link(link_id)

    def link_is_live(self, link_id: int) -> bool:
        """True when the room made link ``link_id`` and has not revoked it."""
        with self._db() as con:
            row = con.execute("SELECT revoked_utc FROM links WHERE id = ?", (link_id,)).fetchone()
        return row is not None and row[0] is None

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
    def add_job(self, comment_id: int, note: str, *, runner: str = "") -> Job:
        """A queued revision job for a comment, run by ``runner`` (the job runner's id)."""
        stamp = utc_iso()
        with self._db(write=True) as con:
            cursor = con.execute("INSERT INTO jobs (comment_id, note, state, created_utc, updated_utc, runner) "
                                 "VALUES (?, ?, 'queued', ?, ?, ?)", (comment_id, note, stamp, stamp, runner))
            number = int(cursor.lastrowid)
        return self.job(number)

    def unfinished_jobs(self) -> list[tuple[int, str]]:
        """(job id, runner) of every job still ``queued`` or ``running``."""
        with self._db() as con:
            return [(int(i), str(r or "")) for i, r in
                    con.execute("SELECT id, runner FROM jobs WHERE state IN ('queued', 'running')")]

    def update_job(self, job_id: int, **fields: Any) -> None:
        """Set some of ``state``, ``progress``, ``label``, ``result_version``, ``explanation``.

        A job that has ended (:data:`ENDED`) is never changed again.
        """
        allowed = {"state", "progress", "label", "result_version", "explanation"}
        unknown = set(fields) - allowed
        if unknown:
            raise ParameterError(f"jobs have no field {sorted(unknown)[0]!r}")
        columns = ", ".join(f"{name} = ?" for name in fields)
        with self._db(write=True) as con:
            con.execute(f"UPDATE jobs SET {columns}, updated_utc = ? WHERE id = ? "  # noqa: S608 - names checked
                        "AND state IN ('queued', 'running')", (*fields.values(), utc_iso(), job_id))

    def job(self, job_id: int) -> Job:
        """One job by id (ParameterError when there is none)."""
        with self._db() as con:
            row = con.execute(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = ?", (job_id,)).fetchone()  # noqa: S608
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
