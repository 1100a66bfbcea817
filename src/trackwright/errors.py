"""The one exception tree of trackwright.

Every error a user can cause is a :class:`TrackwrightError` whose ``str()`` is a single,
complete line: what is wrong, the value seen, and where useful a hint. The command-line
program prints that line and exits with status 1; any other exception is a bug (status 2).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


class TrackwrightError(Exception):
    """Root of all user-facing errors; ``str(err)`` is one line meant for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))


class AudioFileError(TrackwrightError):
    """A file cannot be read or written as audio (missing, empty, truncated, corrupt)."""


class InvalidAudioError(TrackwrightError):
    """Audio was read but its content is unusable (NaN/Inf, channel count, sample rate)."""


class MeasurementError(TrackwrightError):
    """A measurement is undefined for this audio (digital silence, clip too short)."""


class ParameterError(TrackwrightError):
    """A parameter or flag has a value outside what the function accepts."""


class MissingDependencyError(TrackwrightError):
    """An optional extra or a system package (FluidSynth, a SoundFont) is missing."""


class FileSystemError(TrackwrightError):
    """A file or folder cannot be read or written: permissions, a full disk, a name too long."""


class ProjectError(TrackwrightError):
    """A project folder is missing, damaged, busy, or was written by a newer trackwright."""


class BusyError(ProjectError):
    """A project (or its database) is held by another process for longer than we wait; nothing is damaged."""


def reject_unknown_fields(data: Mapping[str, Any], allowed: Iterable[str], where: str = "") -> None:
    """Raise :class:`ParameterError` for the first key of ``data`` (sorted) not in ``allowed``.

    The one message every recipe block, directive and request uses:
    ``"where.field: unknown field (expected one of a, b, c)"`` (``"field: …"`` at the top level).
    """
    allowed = tuple(allowed)
    unknown = sorted(str(key) for key in data if key not in allowed)
    if unknown:
        prefix = f"{where}." if where else ""
        raise ParameterError(f"{prefix}{unknown[0]}: unknown field (expected one of {', '.join(allowed)})")
