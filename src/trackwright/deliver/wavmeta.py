"""WAV metadata chunks: loop points (``smpl``) and Broadcast Wave descriptions (``bext``).

Conventions
-----------
* Chunks are appended after the audio of a RIFF/WAVE file that soundfile wrote; the RIFF size
  is updated and odd-sized chunks are padded, so every RIFF reader (libsndfile, Wwise, FMOD, a
  DAW) still reads the audio and, if it knows them, the chunks. The file is rewritten
  atomically (:func:`~trackwright.audio.write_atomic`): the old or the new file, never half.
* Loop points are sample frames: ``start`` is the first frame of the loop and ``end`` the
  last one played (inclusive), as the ``smpl`` chunk defines them.
* ``bext`` is written as version 2 (EBU Tech 3285): description, originator, originator
  reference, date and time, the loudness fields (LUFS, LU, dBTP ×100) and a coding history.
"""

from __future__ import annotations

import os
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path

from trackwright.audio import write_atomic
from trackwright.errors import AudioFileError, ParameterError

_BEXT_FIXED = struct.Struct("<256s32s32s10s8sQH64shhhhh180s")


@dataclass(frozen=True)
class LoopPoint:
    """A forward loop from frame ``start`` to frame ``end`` (inclusive), repeated forever."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end:
            raise ParameterError(f"a loop needs 0 <= start < end (frames), got {self.start}–{self.end}")


@dataclass(frozen=True)
class BextInfo:
    """The fields of a ``bext`` chunk this package writes (loudness ``None`` = not given).

    Attributes:
        description: up to 256 ASCII characters.
        originator: up to 32 (``trackwright``).
        originator_reference: up to 32, unique per file.
        date: ``yyyy-mm-dd``; time: ``hh:mm:ss`` (UTC).
        loudness_lufs, loudness_range_lu, true_peak_dbtp: the file's measured values.
        coding_history: free text, one line per process.
    """

    description: str
    originator: str
    originator_reference: str
    date: str
    time: str
    loudness_lufs: float | None = None
    loudness_range_lu: float | None = None
    true_peak_dbtp: float | None = None
    coding_history: str = ""


def _ascii(text: str, size: int) -> bytes:
    return text.encode("ascii", "replace")[:size]


def _centi(value: float | None) -> int:
    if value is None or value != value:  # None or NaN: the spec's "not given" is 0x7FFF
        return 0x7FFF
    return max(-32768, min(32766, round(value * 100)))


def _uncenti(value: int) -> float | None:
    return None if value == 0x7FFF else value / 100.0


def bext_chunk(info: BextInfo) -> bytes:
    """The body of a ``bext`` chunk for ``info`` (version 2)."""
    fixed = _BEXT_FIXED.pack(
        _ascii(info.description, 256), _ascii(info.originator, 32), _ascii(info.originator_reference, 32),
        _ascii(info.date, 10), _ascii(info.time, 8), 0, 2, b"", _centi(info.loudness_lufs),
        _centi(info.loudness_range_lu), _centi(info.true_peak_dbtp), 0x7FFF, 0x7FFF, b"")
    history = info.coding_history.encode("ascii", "replace")
    if history and not history.endswith(b"\r\n"):
        history += b"\r\n"
    return fixed + history


def smpl_chunk(loops: list[LoopPoint], sample_rate: int) -> bytes:
    """The body of a ``smpl`` chunk holding forward ``loops`` at ``sample_rate`` Hz."""
    period_ns = round(1e9 / sample_rate)
    head = struct.pack("<9I", 0, 0, period_ns, 60, 0, 0, 0, len(loops), 0)
    return head + b"".join(struct.pack("<6I", index, 0, loop.start, loop.end, 0, 0)
                           for index, loop in enumerate(loops))


def _chunks(data: bytes, where: str) -> list[tuple[bytes, int, int]]:
    """(id, body offset, body size) of every chunk of RIFF/WAVE ``data``."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise AudioFileError(f"{where}: not a RIFF/WAVE file")
    out, offset = [], 12
    while offset + 8 <= len(data):
        chunk_id = data[offset: offset + 4]
        (size,) = struct.unpack("<I", data[offset + 4: offset + 8])
        out.append((chunk_id, offset + 8, size))
        offset += 8 + size + (size & 1)
    return out


def _chunk_bytes(chunks: dict[bytes, bytes]) -> bytes:
    out = bytearray()
    for chunk_id, body in chunks.items():
        if len(chunk_id) != 4:
            raise ParameterError(f"a RIFF chunk id has 4 bytes, got {chunk_id!r}")
        out += chunk_id + struct.pack("<I", len(body)) + body + (b"\0" if len(body) & 1 else b"")
    return bytes(out)


def _chunk_ids(path: Path) -> list[bytes]:
    """Ids of the chunks of the RIFF/WAVE file at ``path``, read from the headers only."""
    ids, size = [], path.stat().st_size
    with path.open("rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            raise AudioFileError(f"{path}: not a RIFF/WAVE file")
        offset = 12
        while offset + 8 <= size:
            f.seek(offset)
            header = f.read(8)
            (length,) = struct.unpack("<I", header[4:])
            ids.append(header[:4])
            offset += 8 + length + (length & 1)
    return ids


def write_wav_chunks(path: str | os.PathLike[str], chunks: dict[bytes, bytes]) -> None:
    """Add (or replace) RIFF chunks, id → body, in the WAV at ``path``, atomically."""
    path = Path(path)
    extra = _chunk_bytes(chunks)
    if not set(chunks) & set(_chunk_ids(path)):
        # the usual case: copy the file as it is (in the kernel), append the chunks, fix the RIFF size
        def append(tmp: Path) -> None:
            shutil.copyfile(path, tmp)
            with tmp.open("r+b") as f:
                if f.seek(0, os.SEEK_END) & 1:  # chunks start on even offsets
                    f.write(b"\0")
                f.write(extra)
                total = f.tell()
                f.seek(4)
                f.write(struct.pack("<I", total - 8))

        write_atomic(path, append)
        return
    data = path.read_bytes()
    kept = bytearray(data[:12])
    for chunk_id, body, size in _chunks(data, str(path)):
        if chunk_id not in chunks:
            kept += data[body - 8: body + size + (size & 1)]
    kept += extra
    kept[4:8] = struct.pack("<I", len(kept) - 8)
    write_atomic(path, lambda tmp: tmp.write_bytes(bytes(kept)))


def _find(path: str | os.PathLike[str], chunk_id: bytes) -> bytes | None:
    data = Path(path).read_bytes()
    for found, body, size in _chunks(data, str(path)):
        if found == chunk_id:
            return data[body: body + size]
    return None


def read_loop_points(path: str | os.PathLike[str]) -> list[LoopPoint]:
    """The loops of the WAV's ``smpl`` chunk (an empty list when it has none)."""
    body = _find(path, b"smpl")
    if body is None or len(body) < 36:
        return []
    count = struct.unpack("<I", body[28:32])[0]
    loops = []
    for index in range(count):
        at = 36 + 24 * index
        if at + 24 > len(body):
            raise AudioFileError(f"{path}: smpl chunk declares {count} loops but holds {index}")
        _, _, start, end, _, _ = struct.unpack("<6I", body[at: at + 24])
        loops.append(LoopPoint(start, end))
    return loops


def read_bext(path: str | os.PathLike[str]) -> BextInfo | None:
    """The WAV's ``bext`` chunk, or None."""
    body = _find(path, b"bext")
    if body is None:
        return None
    if len(body) < _BEXT_FIXED.size:
        raise AudioFileError(f"{path}: bext chunk is {len(body)} bytes, shorter than the {_BEXT_FIXED.size} required")
    fields = _BEXT_FIXED.unpack(body[: _BEXT_FIXED.size])

    def text(raw: bytes) -> str:
        return raw.split(b"\0", 1)[0].decode("ascii", "replace")

    return BextInfo(text(fields[0]), text(fields[1]), text(fields[2]), text(fields[3]), text(fields[4]),
                    _uncenti(fields[8]), _uncenti(fields[9]), _uncenti(fields[10]),
                    body[_BEXT_FIXED.size:].decode("ascii", "replace").rstrip("\0"))
