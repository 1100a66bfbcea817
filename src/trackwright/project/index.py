"""The project's index: ``project.db``, a SQLite table of versions and renders, rebuilt from the
recipe files by ``repair``. The recipe files are the history; the index makes it fast to read.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from trackwright import __version__
from trackwright import sqlite as db_access
from trackwright.errors import BusyError, ProjectError
from trackwright.project.recipe import FORMAT_VERSION, VersionInfo, newer_format_message, utc_iso
from trackwright.sqlite import connection, is_busy

DB_FILE = "project.db"

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE versions (
    number INTEGER PRIMARY KEY,
    parent INTEGER,
    author TEXT NOT NULL,
    created_utc TEXT NOT NULL,
    message TEXT NOT NULL,
    recipe_path TEXT NOT NULL,
    recipe_sha256 TEXT NOT NULL
);
CREATE TABLE renders (
    version INTEGER NOT NULL,
    cache_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    created_utc TEXT NOT NULL,
    UNIQUE (version, cache_key, kind)
);
"""




def recipe_name(number: int) -> str:
    """``recipes/v0003.yaml`` for 3 (relative to the project)."""
    return f"recipes/v{number:04d}.yaml"


class VersionIndex:
    """``project.db`` of the project folder ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db_path = path / DB_FILE

    def damaged(self, detail: str) -> ProjectError:
        return ProjectError(f"{self.db_path}: damaged ({detail}); run `trackwright repair {self.path}` "
                            "to rebuild it from the recipes")

    def error(self, err: sqlite3.DatabaseError) -> ProjectError:
        """Busy (another process holds project.db; nothing is damaged) or damaged."""
        if is_busy(err):
            return BusyError(f"{self.db_path}: busy: another program held the database for "
                             f"{db_access.BUSY_TIMEOUT_S:g} s ({err}); it is not damaged, try again when that "
                             "program has finished")
        return self.damaged(str(err))

    @contextmanager
    def connect(self, *, write: bool = False) -> Iterator[sqlite3.Connection]:
        """A connection to project.db (which must exist); with ``write``, one IMMEDIATE transaction."""
        db = self.db_path
        if not db.is_file():
            raise ProjectError(f"{db}: missing; run `trackwright repair {self.path}` to rebuild it from the recipes")
        try:
            with connection(f"{db.resolve().as_uri()}?mode=rw", write=write, uri=True) as con:
                yield con
        except sqlite3.DatabaseError as err:
            raise self.error(err) from err

    def create(self, db: Path | None = None) -> None:
        db = db or self.db_path
        with closing(sqlite3.connect(db, isolation_level=None)) as con:
            con.executescript(_SCHEMA)
            con.executemany("INSERT INTO meta (key, value) VALUES (?, ?)",
                            [("format_version", str(FORMAT_VERSION)), ("created_by", f"trackwright {__version__}")])

    def numbers(self) -> list[int]:
        """Version numbers in project.db, after checking its format and tables."""
        with self.connect() as con:
            try:
                rows = dict(con.execute("SELECT key, value FROM meta").fetchall())
                numbers = [n for (n,) in con.execute("SELECT number FROM versions ORDER BY number")]
                con.execute("SELECT count(*) FROM renders").fetchone()
            except sqlite3.OperationalError as err:
                raise self.error(err) from err
        found = rows.get("format_version")
        if found is None or not str(found).isdigit():
            raise self.damaged(f"meta.format_version is {found!r}")
        if int(found) > FORMAT_VERSION:
            raise ProjectError(newer_format_message(str(self.db_path), int(found)))
        return numbers

    def row(self, number: int) -> VersionInfo | None:
        with self.connect() as con:
            row = con.execute("SELECT number, parent, author, created_utc, message, recipe_sha256 FROM versions "
                              "WHERE number = ?", (number,)).fetchone()
        return None if row is None else VersionInfo(*row)

    def all(self) -> list[VersionInfo]:
        """Every version, oldest first."""
        with self.connect() as con:
            rows = con.execute("SELECT number, parent, author, created_utc, message, recipe_sha256 FROM versions "
                               "ORDER BY number").fetchall()
        return [VersionInfo(*row) for row in rows]

    def latest(self) -> int:
        """The newest version's number."""
        with self.connect() as con:
            (number,) = con.execute("SELECT max(number) FROM versions").fetchone()
        if number is None:
            raise self.damaged("no versions")
        return int(number)

    def record_render(self, number: int, key: str, manifest: dict[str, Any]) -> None:
        """Index a render's files (``render.json``'s ``files``) under version ``number``."""
        now = utc_iso()
        rows = [(number, key, info["kind"], f"renders/{key}/{name}", info["sha256"], now)
                for name, info in manifest["files"].items()]
        with self.connect(write=True) as con:
            con.executemany("INSERT OR IGNORE INTO renders (version, cache_key, kind, path, sha256, created_utc) "
                            "VALUES (?, ?, ?, ?, ?, ?)", rows)

    def set_aside_if_damaged(self, warnings: list[str]) -> Path | None:
        """Move a damaged project.db (and its journal files) aside, saying so in ``warnings``; a
        healthy, busy or newer one stays. Returns where it went, or None."""
        db = self.db_path
        if not db.exists():
            return None
        try:
            self.numbers()
            with self.connect() as con:
                (verdict,) = con.execute("PRAGMA quick_check").fetchone()
            if verdict == "ok":
                return None
        except BusyError:
            raise  # held by another program, not damaged: never moved aside
        except ProjectError as err:
            if "newer trackwright" in str(err):
                raise
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        aside = db.with_name(f"{DB_FILE}.corrupt-{stamp}")
        os.replace(db, aside)
        for suffix in ("-journal", "-wal", "-shm"):
            extra = Path(f"{db}{suffix}")
            if extra.exists():
                os.replace(extra, Path(f"{aside}{suffix}"))
        warnings.append(f"{db}: was damaged; moved aside to {aside.name}")
        return aside


def insert_version(con: sqlite3.Connection, info: VersionInfo) -> None:
    """Insert one version's row (its recipe file already written)."""
    con.execute("INSERT INTO versions (number, parent, author, created_utc, message, recipe_path, recipe_sha256) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (info.number, info.parent, info.author, info.created_utc, info.message, recipe_name(info.number),
                 info.recipe_sha256))
