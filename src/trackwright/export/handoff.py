"""``trackwright export``: one entry point for every hand-off, a project's or a delivery's."""

from __future__ import annotations

import os

from trackwright.errors import ParameterError
from trackwright.export.engines import ENGINE_FORMATS, export_delivery
from trackwright.export.from_project import PROJECT_FORMATS, export_project
from trackwright.export.media import ExportResult
from trackwright.progress import ProgressCallback

#: Every ``--to``: sessions and scores from a project, engine imports from a delivery folder.
EXPORT_FORMATS = PROJECT_FORMATS + ENGINE_FORMATS


def export(path: str | os.PathLike[str], *, to: str, output: str | os.PathLike[str] | None = None,
           version: int | None = None, progress: ProgressCallback | None = None) -> ExportResult:
    """Export ``path``: a project to ``dawproject``, ``reaper`` or ``musicxml``
    (:func:`~trackwright.export.from_project.export_project`), or a delivery folder to ``fmod``
    or ``wwise`` (:func:`~trackwright.export.engines.export_delivery`).

    Examples
    --------
    >>> export("song", to="dawproject")                            # doctest: +SKIP
    >>> export("song/deliveries/v3-game", to="fmod")               # doctest: +SKIP
    """
    kind = to.strip().lower()
    if kind in ENGINE_FORMATS:
        if version is not None:
            raise ParameterError("--version applies to a project; a delivery folder is one version already")
        return export_delivery(path, kind, output=output)
    if kind in PROJECT_FORMATS:
        return export_project(path, kind, output=output, version=version, progress=progress)
    raise ParameterError(f"--to: unknown format {to!r}; use {', '.join(EXPORT_FORMATS)}")
