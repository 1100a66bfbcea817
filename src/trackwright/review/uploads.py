"""Reference uploads: the request body streamed to disk with its size counted, then checked as audio.

The body is the audio file itself (``Content-Type: audio/…`` or ``application/octet-stream``),
not a form: the app reads it only after the token, role and CSRF checks have passed, refuses a
declared ``Content-Length`` over the limit before reading a byte, and stops reading a body that
grows past the limit (no length, or a lying one). A browser cannot send such a body to another
site without asking first (CORS), which this server never allows.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import soundfile as sf

from trackwright.audio import Audio, load_audio
from trackwright.errors import TrackwrightError
from trackwright.files import reporting
from trackwright.review.tokens import AccessError

UPLOADS = "review-uploads"
#: Largest reference upload, bytes (50 MiB).
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
#: Container → (extension, media type) of the formats kept.
FORMATS = {"WAV": ("wav", "audio/wav"), "WAVEX": ("wav", "audio/wav"), "FLAC": ("flac", "audio/flac"),
           "OGG": ("ogg", "audio/ogg"), "AIFF": ("aiff", "audio/aiff"), "MP3": ("mp3", "audio/mpeg")}
#: Media types an upload may be sent as.
ACCEPTED_TYPES = ("audio/", "application/octet-stream")


@dataclass(frozen=True)
class Received:
    """An upload stored as ``file_name`` (``<32 hex>.<ext>``) in the uploads folder."""

    upload_id: str
    file_name: str
    media_type: str
    size: int
    audio: Audio


def check_declared(content_type: str | None, content_length: str | None, max_bytes: int) -> None:
    """Refuse before reading: a body that is not sent as a file (415), a length over ``max_bytes`` (413)."""
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    if not kind.startswith(ACCEPTED_TYPES):
        raise AccessError("send the audio file itself as the body (Content-Type audio/… or "
                          "application/octet-stream)", status=415)
    if content_length is not None:
        text = content_length.strip()
        if not text.isdigit() or len(text) > 18:
            raise AccessError("Content-Length is not a number of bytes", status=400)
        if int(text) > max_bytes:
            raise AccessError(f"the file is larger than {max_bytes / (1 << 20):g} MiB", status=413)


async def receive(chunks: AsyncIterator[bytes], folder: Path, max_bytes: int) -> Received:
    """Stream ``chunks`` into ``folder`` (at most ``max_bytes``), check the result is audio, keep it.

    Raises
    ------
    AccessError
        413 past ``max_bytes`` (reading stops there), 415 when the file is not audio trackwright
        reads. Nothing is left in ``folder`` then.
    """
    with reporting(folder, "create the uploads folder"):
        folder.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder, prefix=".incoming-") as scratch:
        tmp = Path(scratch) / "upload"
        size = 0
        with reporting(folder, "store the upload"), tmp.open("wb") as out:
            async for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise AccessError(f"the file is larger than {max_bytes / (1 << 20):g} MiB", status=413)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        try:
            kind = sf.info(str(tmp)).format
            audio = load_audio(tmp)
        except (TrackwrightError, RuntimeError, sf.LibsndfileError) as err:
            raise AccessError("the file is not audio trackwright can read (WAV, FLAC, OGG, AIFF, MP3)",
                              status=415) from err
        if kind not in FORMATS:
            raise AccessError(f"unsupported audio format {kind}", status=415)
        ext, media = FORMATS[kind]
        upload_id = secrets.token_hex(16)
        name = f"{upload_id}.{ext}"
        with reporting(folder / name, "store the upload"):
            os.replace(tmp, folder / name)
    return Received(upload_id, name, media, size, audio)
