"""Content keys: what makes a step's output the same output.

A step's key is the SHA-256 of the JSON list ``[STORE_FORMAT, trackwright version, step, step
version, inputs…, settings…]`` where inputs are the SHA-256 digests of the files the step reads
(the draft, its brief, stems, MIDI) or the keys of the steps it builds on. Change a byte of a
source, a setting, or upgrade trackwright, and the key changes, so the step runs again; leave
everything alone and a rerun finds the key already done.

Digests of large files are cached by (size, modification time in ns, inode), the way ``git``'s
index does: a file whose stat is unchanged is not read again.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trackwright import __version__
from trackwright.errors import AudioFileError

#: Bumped when the layout of ``OUT/tracks/<id>/`` changes incompatibly.
STORE_FORMAT = 1
_CHUNK = 1 << 20


@dataclass(frozen=True)
class FileStat:
    """What identifies a file's content without reading it: size (bytes), mtime (ns), inode."""

    size: int
    mtime_ns: int
    inode: int

    @classmethod
    def of(cls, path: Path) -> FileStat:
        """The stat of ``path`` (an :class:`AudioFileError` line when it is missing)."""
        try:
            stat = path.stat()
        except FileNotFoundError:
            raise AudioFileError(f"{path}: no such file") from None
        except OSError as err:
            raise AudioFileError(f"{path}: cannot be read ({err.strerror})") from None
        return cls(stat.st_size, stat.st_mtime_ns, stat.st_ino)

    def to_dict(self) -> dict[str, int]:
        """JSON-ready form."""
        return {"size": self.size, "mtime_ns": self.mtime_ns, "inode": self.inode}


def file_digest(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes, hex."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            while chunk := f.read(_CHUNK):
                digest.update(chunk)
    except FileNotFoundError:
        raise AudioFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise AudioFileError(f"{path}: is a folder, not a file") from None
    except OSError as err:
        raise AudioFileError(f"{path}: cannot be read ({err.strerror})") from None
    return digest.hexdigest()


def cached_digest(path: Path, cache: Mapping[str, Any] | None) -> tuple[str, FileStat]:
    """(SHA-256, stat) of ``path``, reusing ``cache`` (a previous ``{"sha256", "stat"}``) when the stat matches."""
    stat = FileStat.of(path)
    if cache and cache.get("stat") == stat.to_dict() and isinstance(cache.get("sha256"), str):
        return cache["sha256"], stat
    return file_digest(path), stat


def folder_digest(folder: Path) -> str:
    """SHA-256 over the names and digests of the files in ``folder`` (recursively, hidden ones skipped)."""
    if not folder.is_dir():
        raise AudioFileError(f"{folder}: no such folder")
    entries = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if path.is_file() and not any(part.startswith(".") for part in relative.parts):
            entries.append([str(relative), file_digest(path)])
    return hashlib.sha256(json.dumps(entries).encode()).hexdigest()


def step_key(step: str, step_version: int, *parts: Any) -> str:
    """The key of one step's output: SHA-256 hex over the store format, trackwright's version,
    the step and its version, and ``parts`` (digests, settings; anything JSON can write)."""
    payload = json.dumps([STORE_FORMAT, __version__, step, step_version, *parts], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()
