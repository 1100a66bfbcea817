"""The file system as a user meets it: errors in one line, temporary names that fit, private files.

Conventions
-----------
* :func:`os_error_line` turns an :class:`OSError` a user can cause (a read-only folder, a full
  disk, a file-size limit, a name too long, a name that is not UTF-8) into one line that names
  the path and the reason; :class:`~trackwright.errors.FileSystemError` carries it.
* Names are limited to :data:`NAME_MAX_BYTES` bytes (255 on Linux file systems), counted in the
  file system's encoding.
* Private files (secrets, databases holding names) are made mode ``0600`` from the start.
"""

from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from trackwright.errors import FileSystemError

#: Longest file name (one path component), bytes.
NAME_MAX_BYTES = 255

#: What each errno means to a user, and what to do.
_REASONS = {
    errno.EACCES: "permission denied (the folder is read-only or not yours)",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "the file system is read-only",
    errno.ENOSPC: "no space left on the disk",
    errno.EDQUOT: "disk quota exceeded",
    errno.EFBIG: "file too large (a file-size limit, e.g. `ulimit -f`, or the file system's)",
    errno.ENAMETOOLONG: f"name too long (at most {NAME_MAX_BYTES} bytes per name)",
    errno.ENOENT: "no such file or folder",
    errno.ENOTDIR: "a part of the path is not a folder",
    errno.EISDIR: "is a folder",
    errno.EEXIST: "already exists",
    errno.EIO: "input/output error (a failing disk or a lost network mount)",
    errno.EMFILE: "too many open files",
    errno.ELOOP: "too many symbolic links",
    errno.EXDEV: "cannot move across file systems",
    errno.ENOTEMPTY: "folder not empty",
}


def printable(path: str | os.PathLike[str] | bytes) -> str:
    """``path`` as text for a message: bytes that are not UTF-8 shown as ``\\xNN``."""
    raw = os.fsencode(path)
    return raw.decode("utf-8", errors="backslashreplace")


def os_error_line(err: OSError, path: str | os.PathLike[str] | bytes | None = None, *, action: str = "") -> str:
    """One line for ``err``: ``PATH: cannot ACTION: REASON``.

    Parameters
    ----------
    err : OSError
        The error (its ``errno`` picks the reason; its ``filename`` is used when ``path`` is None).
    path : path-like, optional
        The path to name (the file the user asked for, rather than a temporary one).
    action : str
        What was being done, e.g. ``"write"``; left out when empty.

    Examples
    --------
    >>> os_error_line(OSError(errno.ENOSPC, "No space left on device"), "out.wav", action="write")
    'out.wav: cannot write: no space left on the disk'
    """
    where = path if path is not None else (err.filename if err.filename is not None else "")
    if path is None and err.filename is not None and getattr(err, "filename2", None) is not None:
        where = f"{printable(err.filename)} → {printable(err.filename2)}"
    reason = _REASONS.get(err.errno or -1) or (err.strerror or str(err) or type(err).__name__).lower()
    head = f"{printable(where)}: " if where != "" else ""
    return f"{head}{'cannot ' + action + ': ' if action else ''}{reason}"


def file_system_error(err: OSError, path: str | os.PathLike[str] | bytes | None = None, *,
                      action: str = "") -> FileSystemError:
    """:class:`FileSystemError` with :func:`os_error_line`'s message (raise it ``from err``)."""
    return FileSystemError(os_error_line(err, path, action=action))


@contextmanager
def reporting(path: str | os.PathLike[str] | bytes, action: str) -> Iterator[None]:
    """Turn an :class:`OSError` raised inside into :class:`FileSystemError` naming ``path``."""
    try:
        yield
    except OSError as err:
        raise file_system_error(err, path, action=action) from err


def renamed(err: BaseException, temporary: str | os.PathLike[str], final: str | os.PathLike[str]
            ) -> BaseException:
    """``err`` as the user should see it when work in folder ``temporary`` (a staging folder that
    becomes ``final``) failed: an :class:`OSError` or :class:`FileSystemError` is one
    :class:`FileSystemError` line naming ``final`` instead; anything else is ``err`` itself."""
    if isinstance(err, OSError):
        return FileSystemError(os_error_line(err).replace(printable(temporary), printable(final)))
    if isinstance(err, FileSystemError):
        return FileSystemError(str(err).replace(printable(temporary), printable(final)))
    return err


def fit_name(name: str, *, reserve: int = 0) -> str:
    """``name`` cut so that it and ``reserve`` more bytes fit in one name (never inside a UTF-8 character)."""
    budget = max(NAME_MAX_BYTES - reserve, 0)
    raw = os.fsencode(name)
    if len(raw) <= budget:
        return name
    cut = raw[:budget]
    start = len(cut)
    while start > 0 and cut[start - 1] & 0xC0 == 0x80:  # back over continuation bytes to the lead byte
        start -= 1
    if start > 0 and cut[start - 1] >= 0xC0:
        lead = cut[start - 1]
        needed = 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4
        if len(cut) - (start - 1) < needed:
            cut = cut[:start - 1]
    return os.fsdecode(cut)


def temp_name(final: str | os.PathLike[str], *, tag: str = "part") -> str:
    """A hidden temporary name for writing ``final`` beside it: ``.NAME.RANDOM.TAG.EXT``, never
    longer than :data:`NAME_MAX_BYTES` (the middle of a long ``NAME`` is cut)."""
    final = Path(final)
    suffix = final.suffix if len(os.fsencode(final.suffix)) <= 16 else ""
    tail = f".{secrets.token_hex(4)}.{tag}{suffix}"
    return "." + fit_name(final.name, reserve=1 + len(os.fsencode(tail))) + tail


def pid_alive(pid: int) -> bool:
    """True when a process ``pid`` exists on this machine (this one included)."""
    if pid == os.getpid():
        return True
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OverflowError:
        return False
    return True


def make_private_file(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` empty with mode 0600 if it is missing, or set an existing one to 0600."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            os.fchmod(fd, 0o600)
        finally:
            os.close(fd)
    except OSError as err:
        raise file_system_error(err, path, action="create") from err
    return path


def config_dir() -> Path:
    """trackwright's per-user folder for private state: ``$TRACKWRIGHT_CONFIG_DIR``, else
    ``$XDG_CONFIG_HOME/trackwright``, else ``~/.config/trackwright`` (made mode 0700)."""
    given = os.environ.get("TRACKWRIGHT_CONFIG_DIR", "").strip()
    if given:
        folder = Path(given)
    else:
        base = os.environ.get("XDG_CONFIG_HOME", "").strip()
        folder = (Path(base) if base else Path.home() / ".config") / "trackwright"
    with reporting(folder, "create the folder"):
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder
