"""The audio files a session uses: checked once, given unique names inside an export.

Conventions
-----------
* Every writer that carries audio along (a ``.dawproject`` zip, a REAPER folder) names each
  distinct source file ``audio/<stem>.<ext>``; two files with the same name get ``-2``, ``-3``…
* Files are read for their header only (rate, channels, frames); a missing or unreadable file
  is one :class:`~trackwright.errors.AudioFileError` line naming it and the track.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import soundfile as sf

from trackwright.errors import AudioFileError
from trackwright.export.session import Session

MEDIA_FOLDER = "audio"


@dataclass(frozen=True)
class MediaFile:
    """One source file: where it is, its name inside the export, and its header facts."""

    source: Path
    name: str
    sample_rate: int
    channels: int
    frames: int

    @property
    def duration_s(self) -> float:
        """Length of the file, seconds."""
        return self.frames / self.sample_rate

    @property
    def relative(self) -> str:
        """Its path inside the export (``audio/name``)."""
        return f"{MEDIA_FOLDER}/{self.name}"


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote: the main file, every file written, and warnings for the user."""

    path: Path
    files: tuple[Path, ...] = ()
    warnings: tuple[str, ...] = ()


def _safe(stem: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._") or "audio"


def session_media(session: Session) -> dict[Path, MediaFile]:
    """Each distinct audio file of ``session`` (resolved path → :class:`MediaFile`), in track order."""
    out: dict[Path, MediaFile] = {}
    taken: set[str] = set()
    for track in session.tracks:
        for clip in track.audio:
            source = Path(clip.path).resolve()
            if source in out:
                continue
            try:
                info = sf.info(str(source))
            except (sf.LibsndfileError, RuntimeError, OSError) as err:
                raise AudioFileError(f"{clip.path}: (track {track.name!r}) not a readable audio file") from err
            stem, suffix = _safe(source.stem), source.suffix.lower() or ".wav"
            name, n = f"{stem}{suffix}", 2
            while name.lower() in taken:
                name, n = f"{stem}-{n}{suffix}", n + 1
            taken.add(name.lower())
            out[source] = MediaFile(source, name, int(info.samplerate), int(info.channels), int(info.frames))
    return out
