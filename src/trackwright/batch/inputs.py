"""What a batch works on: audio files found in folders, by globs, or listed in a manifest.

Conventions
-----------
* Every track is a :class:`TrackInput` with an absolute ``path``; its ``track_id`` (the name of
  its folder under ``OUT/tracks/``) comes from the path alone, so a rerun over the same files
  finds the same folders whatever the titles say.
* A manifest is a CSV file with a header row, or a JSON list of objects (or ``{"tracks": [...]}``),
  with the fields of :data:`MANIFEST_FIELDS`; only ``path`` is required. Relative paths are read
  from the manifest's folder.
* A file given twice (a folder and a glob over it, say) is one track; given twice with different
  settings it is a one-line error. A file that is missing or unreadable is *not* an input error:
  the batch reports it as that track's failure and carries on.
"""

from __future__ import annotations

import csv
import glob
import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trackwright.audio import READ_EXTENSIONS
from trackwright.errors import ParameterError, reject_unknown_fields

#: The fields a manifest row may have; ``path`` is required.
MANIFEST_FIELDS = ("path", "title", "brief", "target", "stems", "midi")
MANIFEST_EXTENSIONS = (".csv", ".json")
_GLOB_CHARS = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class TrackInput:
    """One track of a batch.

    Parameters
    ----------
    path : Path
        The draft mix, absolute.
    title : str
        Its title (default: the file name without extension).
    brief : Path, optional
        A YAML cue sheet (length, dialogue, hits, arc) to check the track against.
    target : str, optional
        Delivery target name or LUFS for ``master`` and ``deliver`` (overrides the batch's ``--target``).
    stems, midi : Path, optional
        The draft's stems folder and MIDI file, for ``deliver``.
    origin : str
        Where the track was named (``"folder drafts/"``, ``"cat.csv row 3"``), for messages.
    """

    path: Path
    title: str
    brief: Path | None = None
    target: str | None = None
    stems: Path | None = None
    midi: Path | None = None
    origin: str = ""

    @property
    def track_id(self) -> str:
        """``<file stem as a slug>-<8 hex digits of the path's hash>``: stable, unique, readable."""
        return track_id_for(self.path)

    def settings(self) -> dict[str, Any]:
        """The fields that change what the steps make (for comparing duplicates and for the keys)."""
        return {"title": self.title, "brief": _str(self.brief), "target": self.target, "stems": _str(self.stems),
                "midi": _str(self.midi)}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"path": str(self.path), **self.settings(), "id": self.track_id}


def _str(path: Path | None) -> str | None:
    return None if path is None else str(path)


def track_id_for(path: Path) -> str:
    """The folder name of a track at ``path`` (absolute): a slug of its stem and a hash of the path."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", path.stem).strip("-").lower()[:48] or "track"
    return f"{slug}-{hashlib.sha1(str(path).encode()).hexdigest()[:8]}"


def _audio_files(folder: Path, skip: Path | None) -> list[Path]:
    found = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if skip is not None and (path == skip or skip in path.parents):
            continue
        if path.is_file() and path.suffix.lower() in READ_EXTENSIONS:
            found.append(path)
    return found


def _optional_path(value: Any, base: Path, field: str, where: str) -> Path | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise ParameterError(f"{where}: {field} must be a path, got {value!r}")
    path = Path(value.strip()).expanduser()
    return (path if path.is_absolute() else base / path).resolve()


def _row_to_track(row: Mapping[str, Any], base: Path, where: str) -> TrackInput:
    reject_unknown_fields(row, MANIFEST_FIELDS, where)
    path = _optional_path(row.get("path"), base, "path", where)
    if path is None:
        raise ParameterError(f"{where}: path is empty; every row names an audio file")
    title = row.get("title")
    target = row.get("target")
    if target is not None and not isinstance(target, (str, int, float)):
        raise ParameterError(f"{where}: target must be a name or a loudness in LUFS, got {target!r}")
    return TrackInput(path=path, title=str(title).strip() if title not in (None, "") else path.stem,
                      brief=_optional_path(row.get("brief"), base, "brief", where),
                      target=str(target).strip() if target not in (None, "") else None,
                      stems=_optional_path(row.get("stems"), base, "stems", where),
                      midi=_optional_path(row.get("midi"), base, "midi", where), origin=where)


def read_manifest(path: str | Path) -> list[TrackInput]:
    """The tracks a CSV or JSON manifest lists, in its order.

    Raises
    ------
    ParameterError
        The file cannot be read or parsed, a row lacks ``path``, or a field is unknown (the
        message names the file and the row).
    """
    manifest = Path(path)
    base = manifest.resolve().parent
    try:
        text = manifest.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ParameterError(f"{manifest}: no such manifest") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ParameterError(f"{manifest}: cannot be read as a UTF-8 manifest ({err})") from None
    rows: list[tuple[str, Mapping[str, Any]]]
    if manifest.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise ParameterError(f"{manifest}: not valid JSON (line {err.lineno}: {err.msg})") from None
        if isinstance(data, dict) and isinstance(data.get("tracks"), list):
            data = data["tracks"]
        if not isinstance(data, list):
            raise ParameterError(f"{manifest}: a JSON manifest is a list of tracks or {{\"tracks\": [...]}}")
        rows = []
        for index, item in enumerate(data, start=1):
            if isinstance(item, str):
                item = {"path": item}
            if not isinstance(item, dict):
                raise ParameterError(f"{manifest} track {index}: a track is an object with a path, got {item!r}")
            rows.append((f"{manifest} track {index}", item))
    else:
        reader = csv.DictReader(text.splitlines())
        if not reader.fieldnames or "path" not in [f.strip() for f in reader.fieldnames]:
            raise ParameterError(f"{manifest}: a CSV manifest needs a header row with a 'path' column "
                                 f"(and optionally {', '.join(MANIFEST_FIELDS[1:])})")
        rows = []
        for index, row in enumerate(reader, start=2):
            if None in row:
                raise ParameterError(f"{manifest} row {index}: more values than header columns")
            cleaned = {key.strip(): value for key, value in row.items()}
            if not any((value or "").strip() for value in cleaned.values()):
                continue
            rows.append((f"{manifest} row {index}", cleaned))
    return [_row_to_track(row, base, where) for where, row in rows]


def _expand(spec: str, skip: Path | None) -> list[TrackInput]:
    path = Path(spec).expanduser()
    if path.is_dir():
        return [TrackInput(path=p.resolve(), title=p.stem, origin=f"folder {spec}") for p in _audio_files(path, skip)]
    if path.is_file() and path.suffix.lower() in MANIFEST_EXTENSIONS:
        return read_manifest(path)
    if path.is_file() or (path.suffix.lower() in READ_EXTENSIONS and not _GLOB_CHARS.search(spec)):
        # a missing audio file named outright becomes that track's failure, not the batch's
        return [TrackInput(path=path.resolve(), title=path.stem, origin=spec)]
    if _GLOB_CHARS.search(spec):
        matches = sorted(Path(m) for m in glob.glob(str(path), recursive=True))
        files = [m.resolve() for m in matches if m.is_file() and m.suffix.lower() in READ_EXTENSIONS]
        if not files:
            raise ParameterError(f"{spec}: the pattern matches no audio files")
        return [TrackInput(path=p, title=p.stem, origin=f"pattern {spec}") for p in files]
    raise ParameterError(f"{spec}: no such file or folder (give audio files, folders, globs, or a .csv/.json manifest)")


def gather_inputs(specs: Sequence[str | Path], *, exclude: str | Path | None = None) -> list[TrackInput]:
    """Every track named by ``specs`` (folders, globs, audio files, manifests), in order, once each.

    Parameters
    ----------
    specs : sequence of str or path
        A folder (searched recursively for audio files, hidden ones skipped), a glob pattern
        (``drafts/**/*.wav``), an audio file, or a ``.csv``/``.json`` manifest.
    exclude : path, optional
        A folder never to read from (the batch's own output folder, when it lies inside an input).

    Raises
    ------
    ParameterError
        No inputs; a spec that names nothing; a bad manifest; one file given twice with different
        settings.
    """
    if not specs:
        raise ParameterError("batch needs at least one INPUT (a folder, a glob, audio files or a manifest)")
    skip = Path(exclude).resolve() if exclude is not None else None
    tracks: dict[Path, TrackInput] = {}
    for spec in specs:
        for track in _expand(str(spec), skip):
            seen = tracks.get(track.path)
            if seen is None or _is_plain(seen):
                tracks[track.path] = track if seen is None or not _is_plain(track) else seen
            elif not _is_plain(track) and seen.settings() != track.settings():
                raise ParameterError(f"{track.path}: listed twice with different settings ({seen.origin}; "
                                     f"{track.origin})")
    if not tracks:
        raise ParameterError(f"no audio files in {', '.join(str(s) for s in specs)}")
    _check_unique_ids(tracks.values())
    return list(tracks.values())


def _is_plain(track: TrackInput) -> bool:
    """Named without settings (by a folder, a pattern or as a file): a manifest row may refine it."""
    return track.settings() == TrackInput(path=track.path, title=track.path.stem).settings()


def _check_unique_ids(tracks: Iterable[TrackInput]) -> None:
    """Two paths whose folder names collide (an 8-hex-digit hash collision of equal stems) are refused."""
    seen: dict[str, Path] = {}
    for track in tracks:
        other = seen.setdefault(track.track_id, track.path)
        if other != track.path:
            raise ParameterError(f"{track.path} and {other} map to the same track folder {track.track_id}")
