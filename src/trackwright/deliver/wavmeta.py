"""WAV metadata chunks: loop points (``smpl``), Broadcast Wave descriptions (``bext``), ``iXML`` and ``LIST``/``INFO``.

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
* Title, artist, composer, publisher, ISRC and catalogue number (:class:`TrackMetadata`) go into
  an ``iXML`` chunk (``USER`` lines ``KEY=value``) and, for players that read only RIFF INFO,
  title/artist/copyright/comment into ``LIST``/``INFO``. RIFF INFO's own ``ISRC`` id means
  "source", not the recording code, so the ISRC is written to iXML only.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import xml.etree.ElementTree as ET
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


# -- iXML and LIST/INFO: title, composer, publisher, ISRC, catalogue number ----------------------
#: ISRC: country (2 letters), registrant (3 letters/digits), year (2 digits), designation (5 digits).
_ISRC = re.compile(r"^[A-Z]{2}[A-Z0-9]{3}[0-9]{7}$")
IXML_VERSION = "2.10"
#: The iXML ``USER`` keys this package writes, in order, from :class:`TrackMetadata` fields.
IXML_USER_KEYS = {"title": "TITLE", "artist": "ARTIST", "composer": "COMPOSER", "publisher": "PUBLISHER",
                  "isrc": "ISRC", "catalogue_number": "CATALOGUE_NUMBER", "copyright": "COPYRIGHT",
                  "comment": "COMMENT"}
#: RIFF INFO ids this package writes: title, artist, copyright, comment, software.
_INFO_IDS = {"title": b"INAM", "artist": b"IART", "copyright": b"ICOP", "comment": b"ICMT"}


def normalise_isrc(code: str) -> str:
    """``code`` as 12 characters without hyphens (``"GB-ABC-26-00001"`` → ``"GBABC2600001"``), or an error."""
    compact = code.replace("-", "").replace(" ", "").upper()
    if not _ISRC.match(compact):
        raise ParameterError(f"ISRC {code!r} is not CC-XXX-YY-NNNNN (country, registrant, year, 5 digits)")
    return compact


@dataclass(frozen=True)
class TrackMetadata:
    """What a label, publisher or music supervisor asks to find inside the file.

    Attributes:
        title, artist, composer, publisher: free text (composers and publishers joined with " / ").
        isrc: the recording's ISRC (checked and written without hyphens), or "".
        catalogue_number: the label's or library's catalogue number.
        copyright: e.g. "℗ 2026 Label"; comment: free text.
    """

    title: str
    artist: str = ""
    composer: str = ""
    publisher: str = ""
    isrc: str = ""
    catalogue_number: str = ""
    copyright: str = ""
    comment: str = ""

    def __post_init__(self) -> None:
        if self.isrc:
            object.__setattr__(self, "isrc", normalise_isrc(self.isrc))


def ixml_chunk(meta: TrackMetadata, *, project: str = "", scene: str = "", note: str = "", file_uid: str = "",
               sample_rate: int | None = None, bit_depth: int | None = None) -> bytes:
    """The body of an ``iXML`` chunk (UTF-8 XML, iXML 2.10 element names).

    ``PROJECT`` (default: the title), ``SCENE`` (the deliverable kind), ``TAKE``, ``NOTE``,
    ``FILE_UID``, ``SPEED`` (file sample rate) and ``AUDIO_BIT_DEPTH``; the metadata fields go
    into ``USER`` as ``KEY=value`` lines (:data:`IXML_USER_KEYS`), where iXML readers such as
    Soundminer, BWF MetaEdit and Wwise/FMOD importers show them.
    """
    root = ET.Element("BWFXML")
    ET.SubElement(root, "IXML_VERSION").text = IXML_VERSION
    ET.SubElement(root, "PROJECT").text = project or meta.title
    ET.SubElement(root, "SCENE").text = scene
    ET.SubElement(root, "TAKE").text = "1"
    ET.SubElement(root, "NOTE").text = note or meta.comment
    if file_uid:
        ET.SubElement(root, "FILE_UID").text = file_uid
    if sample_rate is not None:
        speed = ET.SubElement(root, "SPEED")
        ET.SubElement(speed, "FILE_SAMPLE_RATE").text = str(sample_rate)
    if bit_depth is not None:
        ET.SubElement(root, "AUDIO_BIT_DEPTH").text = str(bit_depth)
    lines = [f"{key}={getattr(meta, field)}" for field, key in IXML_USER_KEYS.items() if getattr(meta, field)]
    ET.SubElement(root, "USER").text = "\r\n".join(line.replace("\r", " ").replace("\n", " ") for line in lines)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8")


def read_ixml(path: str | os.PathLike[str]) -> dict[str, str] | None:
    """The WAV's ``iXML`` chunk as a flat dict (``PROJECT``, ``SPEED/FILE_SAMPLE_RATE``…, and each
    ``USER`` line as ``USER/KEY``), or None when it has none."""
    body = _find(path, b"iXML")
    if body is None:
        return None
    try:
        root = ET.fromstring(body.rstrip(b"\0"))
    except ET.ParseError as err:
        raise AudioFileError(f"{path}: iXML chunk is not XML ({err})") from err
    out: dict[str, str] = {}

    def walk(element: ET.Element, prefix: str) -> None:
        for child in element:
            key = f"{prefix}{child.tag}"
            if len(child):
                walk(child, key + "/")
            else:
                out[key] = child.text or ""

    walk(root, "")
    for line in out.pop("USER", "").splitlines():
        if "=" in line:
            key, value = line.split("=", 1)
            out[f"USER/{key.strip()}"] = value.strip()
    return out


def info_chunk(meta: TrackMetadata, *, software: str = "trackwright") -> bytes:
    """The body of a ``LIST`` chunk of type ``INFO``: INAM (title), IART (artist, else composer),
    ICOP (copyright, else publisher), ICMT (comment) and ISFT (software), NUL-terminated ASCII/UTF-8."""
    values = {"title": meta.title, "artist": meta.artist or meta.composer,
              "copyright": meta.copyright or meta.publisher, "comment": meta.comment}
    body = bytearray(b"INFO")
    for field, chunk_id in _INFO_IDS.items():
        if values[field]:
            text = values[field].encode("utf-8") + b"\0"
            body += chunk_id + struct.pack("<I", len(text)) + text + (b"\0" if len(text) & 1 else b"")
    text = software.encode("utf-8") + b"\0"
    body += b"ISFT" + struct.pack("<I", len(text)) + text + (b"\0" if len(text) & 1 else b"")
    return bytes(body)


def read_info(path: str | os.PathLike[str]) -> dict[str, str]:
    """The WAV's ``LIST``/``INFO`` fields, id → text (empty when it has none)."""
    data = Path(path).read_bytes()
    for chunk_id, body, size in _chunks(data, str(path)):
        if chunk_id == b"LIST" and data[body: body + 4] == b"INFO":
            out, at, end = {}, body + 4, body + size
            while at + 8 <= end:
                sub_id = data[at: at + 4].decode("ascii", "replace")
                (length,) = struct.unpack("<I", data[at + 4: at + 8])
                out[sub_id] = data[at + 8: at + 8 + length].split(b"\0", 1)[0].decode("utf-8", "replace")
                at += 8 + length + (length & 1)
            return out
    return {}


def write_track_metadata(path: str | os.PathLike[str], meta: TrackMetadata, *, scene: str = "",
                         note: str = "", file_uid: str = "") -> None:
    """Add (or replace) the ``iXML`` and ``LIST``/``INFO`` chunks of the WAV at ``path``, atomically."""
    with Path(path).open("rb") as f:
        head = f.read(36)
    if len(head) < 36 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise AudioFileError(f"{path}: not a RIFF/WAVE file")
    info = _find(path, b"fmt ")
    rate = struct.unpack("<I", info[4:8])[0] if info and len(info) >= 16 else None
    bits = struct.unpack("<H", info[14:16])[0] if info and len(info) >= 16 else None
    write_wav_chunks(path, {b"iXML": ixml_chunk(meta, scene=scene, note=note, file_uid=file_uid, sample_rate=rate,
                                                bit_depth=bits),
                            b"LIST": info_chunk(meta)})
