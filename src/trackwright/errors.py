"""The one exception tree of trackwright.

Every error a user can cause is a :class:`TrackwrightError` whose ``str()`` is a single,
complete line: what is wrong, the value seen, and where useful a hint. The command-line
program prints that line and exits with status 1; any other exception is a bug (status 2).
"""

from __future__ import annotations


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


class ProjectError(TrackwrightError):
    """A project folder is missing, damaged, busy, or was written by a newer trackwright."""
