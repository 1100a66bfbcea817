"""Game-engine hand-off from a delivery folder: the FMOD Studio script and the Wwise import, beside the WAVs.

Conventions
-----------
* The input is a folder ``trackwright deliver`` wrote (its ``deliverables.json`` with a ``game``
  block: deliver made layers or segments on a bar grid). Every file the manifest's game block
  names must still be in the folder.
* By default the engine files are written into the delivery folder itself, beside the audio
  they import (``<Title>_fmod.js``; ``<Title>_wwise_import.tsv`` and ``<Title>_wwise_cues.json``),
  each atomically; writing them again replaces them. With ``output`` they go into that new or
  empty folder instead and point back at the delivery's audio (FMOD by absolute path, Wwise by
  a path relative to the TSV).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

from trackwright.errors import ParameterError
from trackwright.export.adaptive import AdaptiveMusic, read_manifest
from trackwright.export.fmod import write_fmod_script
from trackwright.export.from_project import publish
from trackwright.export.media import ExportResult
from trackwright.export.wwise import write_wwise_import

#: What ``export --to`` takes for a delivery folder.
ENGINE_FORMATS = ("fmod", "wwise")
MANIFEST = "deliverables.json"


def _check_files(music: AdaptiveMusic, folder: Path) -> None:
    for name in [layer.file for layer in music.layers] + [segment.file for segment in music.segments]:
        if not (folder / name).is_file():
            raise ParameterError(f"{folder / name}: named in {MANIFEST} but missing; deliver again")


def export_delivery(delivery: str | os.PathLike[str], to: str, *,
                    output: str | os.PathLike[str] | None = None) -> ExportResult:
    """Write the FMOD Studio script (``to="fmod"``) or the Wwise import (``"wwise"``) for a delivery.

    Parameters
    ----------
    delivery : path-like
        A delivery folder (with ``deliverables.json``).
    to : str
        ``fmod`` or ``wwise``.
    output : path-like, optional
        A new or empty folder; default: the delivery folder.

    Returns
    -------
    ExportResult
        The script (FMOD) or the TSV (Wwise) and every file written.

    Examples
    --------
    >>> export_delivery("song/deliveries/v3-game", "wwise").files      # doctest: +SKIP
    (PosixPath('…/NightDrive_wwise_import.tsv'), PosixPath('…/NightDrive_wwise_cues.json'))
    """
    if to not in ENGINE_FORMATS:
        raise ParameterError(f"--to: a delivery folder exports to {', '.join(ENGINE_FORMATS)}, got {to!r}")
    folder = Path(delivery)
    if not (folder / MANIFEST).is_file():
        raise ParameterError(f"{folder}: not a delivery folder (no {MANIFEST}); fmod and wwise read what "
                             "`trackwright deliver` wrote, e.g. PROJECT/deliveries/v3-game")
    music = read_manifest(folder / MANIFEST)
    _check_files(music, folder)
    stem = re.sub(r"[^A-Za-z0-9]+", "", music.title) or "Music"
    write: Callable[[Path], ExportResult]
    if to == "fmod":
        def write(target: Path) -> ExportResult:
            return write_fmod_script(music, target / f"{stem}_fmod.js", audio_folder=folder)
    else:
        def write(target: Path) -> ExportResult:
            return write_wwise_import(music, target, audio_folder=folder)
    if output is None:
        return write(folder)
    return publish(Path(output), write)
