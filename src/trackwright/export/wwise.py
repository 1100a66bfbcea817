"""A Wwise import for a delivery's adaptive music: the tab-delimited audio import file and the cue data.

Conventions
-----------
* ``<title>_wwise_import.tsv`` is Wwise's tab-delimited import (Project Explorer > Import
  Tab Delimited, or WAAPI ``ak.wwise.core.audio.importTabDelimited``): UTF-8, a header row
  naming the columns ``Audio File``, ``Object Path``, ``Object Type`` and ``Notes``, one row per
  file. Audio paths are relative to the TSV's folder (Wwise resolves them so).
* Object paths are absolute in the Interactive Music Hierarchy, ``<Type>Name`` creating the
  parents: the layers become Music Tracks of one Music Segment (``<title> Layers``) under a
  Music Switch Container, each horizontal segment a Music Segment with one Music Track under a
  Music Playlist Container.
* Wwise does not import cue positions from the TSV, so ``<title>_wwise_cues.json`` lists, per
  Music Segment, the Entry and Exit Cue (ms and samples from the file start), the tempo and
  time signature, and the transition rules (source, destination, "Exit Cue" or "Next Bar",
  fade ms) to set in the Music Switch Container's transition matrix.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from trackwright.audio import write_atomic
from trackwright.errors import ParameterError
from trackwright.export.adaptive import AdaptiveMusic
from trackwright.export.media import ExportResult

COLUMNS = ("Audio File", "Object Path", "Object Type", "Notes")
ROOT = "\\Interactive Music Hierarchy\\Default Work Unit"
SYNC_NAMES = {"exit_cue": "Exit Cue", "next_bar": "Next Bar"}


def _name(text: str) -> str:
    """A Wwise object name: no backslashes, angle brackets or tabs."""
    return re.sub(r"[\\<>\t\r\n]+", " ", text).strip() or "Music"


def _relative(file: str, audio_folder: Path, tsv_folder: Path) -> str:
    return os.path.relpath(audio_folder / file, tsv_folder).replace(os.sep, "\\")


def _untagged(path: str) -> str:
    """An object path without its ``<Type>`` tags (as Wwise shows it)."""
    return re.sub(r"<[^>]+>", "", path)


def _music_paths(music: AdaptiveMusic) -> tuple[str, list[str]]:
    """(the layers' Music Segment, each horizontal segment's Music Segment), with ``<Type>`` tags."""
    title = _name(music.title)
    switch = f"{ROOT}\\<Music Switch Container>{title} Music"
    playlist = f"{switch}\\<Music Playlist Container>{title} Segments"
    segments = [f"{playlist}\\<Music Segment>{_name(f'{s.index + 1:02d} {s.label} {s.role}')}" for s in music.segments]
    return f"{switch}\\<Music Segment>{title} Layers", segments


def wwise_rows(music: AdaptiveMusic, audio_folder: Path, tsv_folder: Path) -> list[tuple[str, str, str, str]]:
    """The import rows (audio file, object path, object type, notes)."""
    layers_path, segment_paths = _music_paths(music)
    rows = []
    for layer in music.layers:
        rows.append((_relative(layer.file, audio_folder, tsv_folder), f"{layers_path}\\{_name(layer.label)}",
                     "Music Track", f"vertical layer {layer.number}; loops over the whole segment"))
    for segment, path in zip(music.segments, segment_paths):
        rows.append((_relative(segment.file, audio_folder, tsv_folder), f"{path}\\{path.rsplit('>', 1)[-1]}",
                     "Music Track", f"entry cue {segment.entry_cue_s * 1000:.1f} ms, exit cue "
                                    f"{segment.exit_cue_s * 1000:.1f} ms"))
    return rows


def wwise_cues(music: AdaptiveMusic) -> dict[str, object]:
    """The cue and transition data that the TSV cannot carry."""
    layers_path, segment_paths = _music_paths(music)
    segments = []
    for segment, path in zip(music.segments, segment_paths):
        segments.append({"object_path": _untagged(path), "file": segment.file, "sample_rate": segment.sample_rate,
                         "entry_cue_ms": round(segment.entry_cue_s * 1000, 3),
                         "exit_cue_ms": round(segment.exit_cue_s * 1000, 3),
                         "entry_cue_samples": round(segment.entry_cue_s * segment.sample_rate),
                         "exit_cue_samples": round(segment.exit_cue_s * segment.sample_rate),
                         "duration_ms": round(segment.duration_s * 1000, 3)})
    by_index = {s.index: i for i, s in enumerate(music.segments)}
    layers = None
    if music.layers:
        first = music.layers[0]
        layers = {"object_path": _untagged(layers_path), "entry_cue_ms": 0.0,
                  "exit_cue_ms": round((first.loop_end_s - first.loop_start_s) * 1000, 3),
                  "exit_cue_samples": round((first.loop_end_s - first.loop_start_s) * first.sample_rate),
                  "tracks": [{"name": _name(layer.label), "layer": layer.number, "file": layer.file}
                             for layer in music.layers],
                  "rtpc": "Intensity 1…N: each Music Track at 0 dB at its own layer number, -96 dB one step away "
                          "(the layers are cumulative: the last is the full mix)"}
    return {"format": 1, "title": music.title, "tempo_bpm": music.tempo_bpm,
            "time_signature": music.time_signature, "layers": layers, "segments": segments,
            "transitions": [{"source": segments[by_index[t.source]]["object_path"],
                             "destination": segments[by_index[t.destination]]["object_path"],
                             "exit_source_at": SYNC_NAMES[t.sync], "fade_out_ms": round(t.fade_s * 1000, 1),
                             "fade_in_ms": round(t.fade_s * 1000, 1)} for t in music.transitions]}


def write_wwise_import(music: AdaptiveMusic, folder: str | os.PathLike[str], *,
                       audio_folder: str | os.PathLike[str] | None = None) -> ExportResult:
    """Write ``<title>_wwise_import.tsv`` and ``<title>_wwise_cues.json`` into ``folder``, atomically.

    Parameters
    ----------
    music : AdaptiveMusic
        From :func:`~trackwright.export.adaptive.read_manifest`.
    folder : path-like
        Where to write (an existing folder).
    audio_folder : path-like, optional
        Where the delivered files are (default: ``folder``).
    """
    out = Path(folder)
    if not out.is_dir():
        raise ParameterError(f"{out}: not a folder")
    if not music.layers and not music.segments:
        raise ParameterError("the delivery has no vertical layers and no segments to import into Wwise")
    audio = Path(audio_folder) if audio_folder is not None else out
    rows = wwise_rows(music, audio.resolve(), out.resolve())
    text = "\t".join(COLUMNS) + "\r\n" + "".join("\t".join(row) + "\r\n" for row in rows)
    stem = re.sub(r"[^A-Za-z0-9]+", "", music.title) or "Music"
    tsv, cues = out / f"{stem}_wwise_import.tsv", out / f"{stem}_wwise_cues.json"
    write_atomic(tsv, lambda tmp: tmp.write_text(text, encoding="utf-8", newline=""))
    data = json.dumps(wwise_cues(music), indent=2, ensure_ascii=False) + "\n"
    write_atomic(cues, lambda tmp: tmp.write_text(data, encoding="utf-8"))
    return ExportResult(tsv, (tsv, cues), ())
