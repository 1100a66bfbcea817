"""SQLite connections for the project store and the review room: one way to open and write."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager, nullcontext


@contextmanager
def connection(database: str, *, write: bool = False, uri: bool = False,
               guard: threading.Lock | None = None) -> Iterator[sqlite3.Connection]:
    """A connection to ``database`` in autocommit mode; with ``write``, one ``BEGIN IMMEDIATE``
    transaction (rolled back on any exception), entered under ``guard`` when given.
    ``sqlite3.DatabaseError`` propagates for the caller to turn into its own message."""
    with closing(sqlite3.connect(database, uri=uri, timeout=30.0, isolation_level=None)) as con:
        if not write:
            yield con
            return
        with guard if guard is not None else nullcontext():
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
