"""SQLite connections for the project store and the review room: one way to open and write.

A database another process holds (a long write, a ``sqlite3`` shell with an open transaction) is
waited on for :data:`BUSY_TIMEOUT_S` seconds; then SQLite raises ``database is locked``, which
:func:`is_busy` tells apart from damage, so callers report it as busy (try again) and never as
damaged (repair).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager, nullcontext

#: How long a connection waits for a database another process holds, seconds.
BUSY_TIMEOUT_S = 30.0


def is_busy(err: BaseException) -> bool:
    """True when ``err`` says the database is locked or busy (held by another connection), not damaged."""
    if not isinstance(err, sqlite3.OperationalError):
        return False
    text = str(err).lower()
    return "locked" in text or "busy" in text


@contextmanager
def connection(database: str, *, write: bool = False, uri: bool = False,
               guard: threading.Lock | None = None) -> Iterator[sqlite3.Connection]:
    """A connection to ``database`` in autocommit mode; with ``write``, one ``BEGIN IMMEDIATE``
    transaction (rolled back on any exception), entered under ``guard`` when given. It waits
    :data:`BUSY_TIMEOUT_S` for another process's lock. ``sqlite3.DatabaseError`` propagates
    for the caller to turn into its own message (see :func:`is_busy`)."""
    with closing(sqlite3.connect(database, uri=uri, timeout=BUSY_TIMEOUT_S, isolation_level=None)) as con:
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
