"""The project lock: one command at a time writes a project (``flock`` on ``PROJECT/.lock``).

Re-entrant within a process (threads share one hold per project); another process waits, and is
told once on stderr that it is waiting (the one place outside the command line that prints: a
user must know why a command pauses).
"""

from __future__ import annotations

import fcntl
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from trackwright.errors import ProjectError

LOCK_FILE = ".lock"
#: How long a command waits for another one holding the project, seconds.
LOCK_TIMEOUT_S = 600.0
_LOCK_POLL_S = 0.05


class _HeldLock:
    """One project's lock within this process: the flock()ed descriptor and how deeply it is held."""

    def __init__(self) -> None:
        self.thread_lock = threading.RLock()
        self.fd: int | None = None
        self.depth = 0


_held_guard = threading.Lock()
_held: dict[str, _HeldLock] = {}



class ProjectLock:
    """The lock of the project folder ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def hold(self, *, timeout_s: float = LOCK_TIMEOUT_S) -> Iterator[None]:
        """Hold the project exclusively (``flock`` on ``PROJECT/.lock``).

        Re-entrant within a process. When another process holds it, prints once to stderr
        ``waiting for another trackwright command on PROJECT…`` and waits up to ``timeout_s``
        seconds, then raises ProjectError.
        """
        held = self._enter_lock(timeout_s, wait=True)
        try:
            yield
        finally:
            self._exit_lock(held)

    @contextmanager
    def try_hold(self) -> Iterator[bool]:
        """Hold the lock if it is free right now (yields True), else yield False at once."""
        try:
            held = self._enter_lock(0.0, wait=False)
        except ProjectError:  # no lock file can be made (a read-only copy): nothing to tidy either
            held = None
        if held is None:
            yield False
            return
        try:
            yield True
        finally:
            self._exit_lock(held)

    def _enter_lock(self, timeout_s: float, *, wait: bool) -> _HeldLock | None:
        key = str(self.path.resolve())
        with _held_guard:
            held = _held.setdefault(key, _HeldLock())
        acquired = held.thread_lock.acquire(timeout=timeout_s) if wait else held.thread_lock.acquire(blocking=False)
        if not acquired:
            if not wait:
                return None
            raise ProjectError(f"{self.path}: still busy after {timeout_s:g} s (another command in this process)")
        try:
            if held.depth == 0:
                held.fd = self._acquire_flock(timeout_s, wait=wait)
                if held.fd is None:
                    held.thread_lock.release()
                    return None
        except BaseException:
            held.thread_lock.release()
            raise
        held.depth += 1
        return held

    @staticmethod
    def _exit_lock(held: _HeldLock) -> None:
        held.depth -= 1
        if held.depth == 0 and held.fd is not None:
            fcntl.flock(held.fd, fcntl.LOCK_UN)
            os.close(held.fd)
            held.fd = None
        held.thread_lock.release()

    def _acquire_flock(self, timeout_s: float, *, wait: bool) -> int | None:
        try:
            fd = os.open(self.path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:
            raise ProjectError(f"{self.path / LOCK_FILE}: cannot be opened ({err.strerror})") from err
        deadline = time.monotonic() + timeout_s
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not wait:
                    os.close(fd)
                    return None
                if not told:
                    print(f"waiting for another trackwright command on {self.path}…", file=sys.stderr, flush=True)
                    told = True
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise ProjectError(f"{self.path}: another trackwright command held the project for "
                                       f"{timeout_s:g} s; try again when it has finished") from None
                time.sleep(_LOCK_POLL_S)
            except BaseException:
                os.close(fd)
                raise
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        return fd
