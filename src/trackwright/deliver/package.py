"""The delivery package of a project version: every file a music supervisor or a game team asks for.

Conventions
-----------
* Everything is cut from one render of the version (:meth:`Project.render`): the edited mix,
  the edited stems and the residual (mix − Σ stems). Times are seconds, levels LUFS / dBTP.
* **Main** and the **alternates** (instrumental, underscore, lite) and the **cutdowns** are
  mastered to the target with :func:`~trackwright.mix.master.master`; the underscore sits
  :data:`UNDERSCORE_DROP_LU` under it. These are "full-length" material and are checked at
  ±:data:`LOUDNESS_TOLERANCE_LU` of their loudness; every file is checked against the ceiling.
* **Stingers**, **loops**, **segments** and the **full layer** are cut from the main master, so
  they play at its level. Loops are crossfaded *before* the loop point: the last
  :data:`LOOP_FADE_S` of the loop blend into the audio that precedes its first bar, so the wrap
  from the loop's last sample to its first is the music's own sample-to-sample step.
* **Stems** are the edited stems through the main master's linear EQ (high-pass and shelves,
  :func:`master_eq`) × its make-up gain (32-bit float, so nothing clips). The master's
  compression and limiting are not linear, so they cannot be split
  between stems: what they change, plus the residual no stem holds, is delivered as the
  ``MasterDiff`` stem. Stems + MasterDiff sum to the main master (the test holds it to −40 dB;
  in practice the 24-bit quantisation of the master, about −140 dB); ``deliverables.json``
  reports the MasterDiff level relative to the master, i.e. how much the stems alone miss.
* Files are written into a hidden folder beside the output and renamed into place at the end;
  a file that misses its target fails the command and nothing is left under the output.
* The pieces: :mod:`.alternates` (alternates, cutdowns, stems as typed jobs), :mod:`.loops`
  (loops and vertical layers), :mod:`.game` (stingers, segments, the game manifest),
  :mod:`.files` (writing, measuring and tagging each file, the cue sheet).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from trackwright import __version__
from trackwright.analysis.analyze import Analysis, analyze
from trackwright.analysis.brief import load_brief
from trackwright.analysis.features import compute_features
from trackwright.analysis.structure import bar_similarity
from trackwright.arrange.edl import EditList
from trackwright.arrange.fit import bar_likeness
from trackwright.arrange.grid import BarGrid, grid_from_analysis
from trackwright.audio import Audio, load_audio, write_atomic, write_folder_atomic
from trackwright.deliver.alternates import (
    Mastered,
    MasterJob,
    Source,
    alternate_jobs,
    cutdown_jobs,
    delivery_role,
    delivery_roles,
    write_stems,
)
from trackwright.deliver.cuesheet import write_cue_sheet
from trackwright.deliver.files import (LOUDNESS_TOLERANCE_LU, Deliverable, DeliveryWriter, delivery_cue_sheet,
                                       file_list)
from trackwright.deliver.game import game_manifest, write_segments, write_stingers
from trackwright.deliver.loops import best_groove, write_layers, write_loops
from trackwright.deliver.names import title_for
from trackwright.deliver.spec import DeliverySpec, check_names, spec_from_flags, spec_from_mapping
from trackwright.deliver.wavmeta import TrackMetadata
from trackwright.errors import MeasurementError, ParameterError, TrackwrightError
from trackwright.mix.master import master, master_eq
from trackwright.mix.targets import Target, resolve_target
from trackwright.parallel import thread_map
from trackwright.produce.separate import separate
from trackwright.progress import ProgressCallback, ignore_progress
from trackwright.project import Project, Recipe, RenderResult
from trackwright.project.grid import on_version_grid
from trackwright.project.roles import part_roles

#: What ``--only`` may name; ``alternates`` stands for instrumental, underscore and lite.
DELIVERABLE_KINDS = ("main", "instrumental", "underscore", "lite", "cutdowns", "stingers", "loops", "layers",
                     "segments", "stems")
DEFAULT_CUTDOWNS_S = (60.0, 30.0, 15.0, 6.0)
#: Kinds cut on the version's bar grid.
GRID_KINDS = frozenset({"cutdowns", "stingers", "loops", "layers", "segments"})


@dataclass(frozen=True)
class DeliveryResult:
    """The delivery folder and what is in it."""

    folder: Path
    title: str
    version: int
    target: Target
    files: list[Deliverable]
    manifest: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {"folder": str(self.folder), "title": self.title, "version": self.version,
                "target": self.target.to_dict(), "files": [f.to_dict() for f in self.files],
                "warnings": list(self.warnings)}


def _parse_only(only: Sequence[str] | str | None) -> set[str]:
    if only is None:
        return set(DELIVERABLE_KINDS)
    items = [s.strip().lower() for s in (only.split(",") if isinstance(only, str) else only) if s.strip()]
    kinds: set[str] = set()
    for item in items:
        if item == "alternates":
            kinds |= {"instrumental", "underscore", "lite"}
        elif item in DELIVERABLE_KINDS:
            kinds.add(item)
        else:
            raise ParameterError(f"--only: unknown kind {item!r}; use {', '.join(DELIVERABLE_KINDS)} or alternates")
    if not kinds:
        raise ParameterError("--only names no kind of file to deliver")
    return kinds


def _check_cutdowns(cutdowns: Sequence[float]) -> list[float]:
    out = []
    for value in cutdowns:
        if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            raise ParameterError(f"--cutdowns: each length must be a positive number of seconds, got {value!r}")
        out.append(float(value))
    return sorted(set(out), reverse=True)


def deliver(project: str | os.PathLike[str], *, target: str | float, version: int | None = None,
            output: str | os.PathLike[str] | None = None, only: Sequence[str] | str | None = None,
            cutdowns: Sequence[float] = DEFAULT_CUTDOWNS_S, title: str | None = None,
            ceiling_dbtp: float | None = None, separation_model: str | os.PathLike[str] | None = None,
            formats: Sequence[str] = (), previews: Sequence[str] = (), name_template: str | None = None,
            metadata: Mapping[str, str | None] | None = None,
            progress: ProgressCallback | None = None) -> DeliveryResult:
    """Write the delivery package of a project version into ``output``.

    Parameters
    ----------
    project : path-like
        A trackwright project folder.
    target : str or float
        Delivery target name (``streaming``, ``broadcast``, ``game``…) or loudness in LUFS.
    version : int, optional
        The version to deliver (default: the latest).
    separation_model : path-like, optional
        Demucs weights on disk (the ``[separation]`` extra). A project without stems is then split
        with them (:func:`trackwright.produce.separate.separate`), so the instrumental, lite, layers
        and stems can be made; without it those are skipped with a warning.
    output : path-like, optional
        The delivery folder; it must not exist or be empty. Default:
        ``PROJECT/deliveries/v<N>-<target>``.
    only : str or sequence of str, optional
        Kinds to deliver (:data:`DELIVERABLE_KINDS`, or ``alternates``); default all.
    cutdowns : sequence of float
        Cutdown lengths, seconds; those not shorter than the piece are skipped.
    title : str, optional
        Title in the metadata and, squeezed (``NightDrive``), in the file names (default: the brief's
        ``title:``, else the project folder's name).
    ceiling_dbtp : float, optional
        True-peak ceiling overriding the target's, dBTP.
    formats : sequence of str
        ``SPEC`` (every file) or ``KIND=SPEC`` (one kind), e.g. ``wav:48k:24``, ``stems=wav:48k:float``,
        ``main=flac:96k:24`` (:mod:`trackwright.deliver.spec`); over the brief's ``delivery:`` block.
    previews : sequence of str
        Preview formats (``mp3``, ``ogg``, ``opus``, ``flac:16``): a copy of the main, each
        alternate and each cutdown.
    name_template : str, optional
        File names such as ``{title}_{kind}_{length}s_{target}``
        (:func:`~trackwright.deliver.formats.render_name`); default ``Title_Kind_v3``.
    metadata : mapping, optional
        ``artist``, ``composer``, ``publisher``, ``isrc``, ``catalogue_number``, ``copyright``
        for the files' iXML/INFO/tags and the cue sheet; over the brief's.
    progress : callable, optional
        ``(fraction, label)`` callback.

    Returns
    -------
    DeliveryResult

    Raises
    ------
    MeasurementError
        A written file missed its loudness or true-peak target (the list is in the message);
        nothing is left under ``output``.
    ParameterError
        A bad format, template or metadata field (flag or brief), before anything is rendered.
    """
    report = progress or ignore_progress
    kinds = _parse_only(only)
    lengths = _check_cutdowns(cutdowns)
    delivery_target = resolve_target(target, ceiling_dbtp=ceiling_dbtp)
    opened = Project.open(project)
    number = opened.latest() if version is None else version
    recipe = opened.recipe(number)
    brief_path = opened.source_brief()
    brief = load_brief(brief_path) if brief_path is not None else None
    spec = spec_from_flags(formats=formats, previews=previews, name_template=name_template, metadata=metadata)
    if brief is not None:
        spec = spec_from_mapping(brief.delivery, composer=brief.composer).merged(spec)
    check_names(spec.name_template, kinds, lengths)
    shown = title if title is not None else brief.title if brief is not None and brief.title.strip() else \
        opened.path.resolve().name
    track_meta = TrackMetadata(shown.strip(), **spec.metadata)
    name = title_for(shown)
    out = Path(output) if output is not None else opened.path / "deliveries" / f"v{number}-{delivery_target.name}"
    if output is None:
        out.parent.mkdir(exist_ok=True)
    report(0.0, "rendering the version")
    render = opened.render(number, progress=lambda f, label: report(0.15 * f, f"rendering: {label}"))
    result = write_folder_atomic(out, lambda staging: _build(
        opened, recipe, render, staging, name, number, delivery_target, kinds, lengths,
        lambda f, label: report(0.15 + 0.83 * f, label), separation_model, spec, track_meta),
        what="delivery", tag="delivering")
    report(1.0, "done")
    return DeliveryResult(out, name, number, delivery_target, result["files"], result["manifest"], result["warnings"])


def _analysis_of(opened: Project, recipe: Recipe, mix: Audio) -> Analysis:
    """The analysis of the version's mix: the project's own (on the version's grid) when the
    arrangement is untouched; else the mix's, on the user's grid carried through the edit when
    the recipe sets one."""
    analysis = opened.analysis().with_grid(recipe.grid)
    whole = EditList.whole(analysis.duration_s)
    if recipe.arrangement.merged() == whole and abs(analysis.duration_s - mix.duration_s) < 0.01:
        return analysis
    return on_version_grid(analyze(mix).rounded(), opened, recipe)


def _source(render: RenderResult, separation_model: str | os.PathLike[str] | None, warnings: list[str],
            report: ProgressCallback, part_roles: Mapping[str, str]) -> Source:
    """The render's mix, stems and residual with each stem's delivery role (from the project's
    ``part_roles``, part name → role); without stems, the Demucs split of the mix when
    ``separation_model`` is given."""
    mix = load_audio(render.mix)
    stems = {part: load_audio(path) for part, path in render.stems.items()}
    residual = load_audio(render.residual) if render.residual is not None else None
    roles = delivery_roles(part_roles, list(stems))
    if not stems and separation_model is not None:
        report(0.01, "separating the mix (Demucs)")
        split = separate(mix, method="demucs", model=separation_model)
        stems = dict(split.stems)
        roles = {part: delivery_role(split.roles.get(part, "other")) for part in stems}
        warnings.append(f"the project has no stems: {', '.join(sorted(stems))} were separated from the mix "
                        f"with Demucs ({Path(separation_model).name})")
    return Source(mix, stems, residual, roles)


@dataclass
class _Grid:
    """The version's bar grid, how alike its bars are (bars × bars, 0–1) and each bar's level (dB)."""

    analysis: Analysis
    grid: BarGrid
    likeness: np.ndarray
    levels: np.ndarray


def _bar_grid(opened: Project, recipe: Recipe, mix: Audio, warnings: list[str]) -> _Grid | None:
    analysis = _analysis_of(opened, recipe, mix)
    features = compute_features(mix)
    try:
        grid = grid_from_analysis(analysis, mix)
        likeness = np.clip(bar_likeness(features, grid), 0.0, 1.0)
        levels = bar_similarity(features, np.append(grid.starts_s, grid.ends_s[-1]))[2]
    except TrackwrightError as err:
        warnings.append(f"no bar grid ({err}): cutdowns, stingers, loops, layers and segments skipped")
        return None
    return _Grid(analysis, grid, likeness, levels)


def _attempt(job: MasterJob, source: Source) -> Mastered | TrackwrightError:
    try:
        return job.make(source)
    except TrackwrightError as err:
        return err


def _build(opened: Project, recipe: Recipe, render: RenderResult, folder: Path, title: str, version: int,
           target: Target, kinds: set[str], lengths: list[float], report: ProgressCallback,
           separation_model: str | os.PathLike[str] | None, spec: DeliverySpec, metadata: TrackMetadata
           ) -> dict[str, Any]:
    warnings: list[str] = []
    writer = DeliveryWriter(folder, title, version, target, render.cache_key, spec=spec, metadata=metadata)
    roles = {name: guess.role for name, guess in part_roles(opened, recipe).items()}
    source = _source(render, separation_model, warnings, report, roles)

    report(0.02, "mastering the main mix")
    try:
        main = master(source.mix, target)
    except TrackwrightError as err:  # every error names the deliverable
        main_name = writer.file_name(("Main",), "main", source.mix.duration_s, writer.spec.format_for("main"),
                                     source.mix.sample_rate)
        raise type(err)(f"{main_name}: {err}") from err
    warnings += [f"main: {line}" for line in main.warnings]
    gain = 10.0 ** (main.gain_db / 20.0)

    # alternates and cutdowns are mastered in parallel (the master's own threads leave cores idle)
    jobs: list[MasterJob] = [*alternate_jobs(source, kinds, target, warnings)]
    bars = None
    if kinds & GRID_KINDS:
        report(0.12, "reading the bar grid")
        bars = _bar_grid(opened, recipe, source.mix, warnings)
    if "cutdowns" in kinds and bars is not None:
        jobs += cutdown_jobs(source, lengths, bars.grid, bars.likeness, target, warnings)
    report(0.2, f"mastering {len(jobs)} alternates and cutdowns")
    outcomes = thread_map(lambda job: _attempt(job, source), jobs)

    report(0.6, "writing the main master")
    if "main" in kinds:
        writer.write(main.audio, ("Main",), "main", f"{title} main mix, {target.name} master",
                     target_lufs=target.integrated_lufs, info={"gain_db": round(main.gain_db, 2),
                                                               "max_limiting_db": round(main.max_limiting_db, 2)})
    for job, outcome in zip(jobs, outcomes):
        if isinstance(outcome, TrackwrightError):
            warnings.append(f"{job.label} skipped: {outcome}")
        else:
            job.write(writer, outcome)

    stems = dict(source.stems)
    if kinds & {"stems", "layers"} and stems:
        report(0.65, "the master's EQ on the stems")
        stems = dict(zip(stems, thread_map(lambda stem: master_eq(stem, main.chain), list(stems.values()))))
    writer.flush()
    if "stems" in kinds:
        report(0.7, "writing the stems")
        if not stems:
            warnings.append("stems skipped: the project has no stems")
        else:
            write_stems(writer, stems, source.roles, main.audio, gain)

    if bars is not None:
        _write_grid_kinds(writer, kinds, bars, stems, source.roles, main.audio, gain, target, warnings, report)

    report(0.95, "writing the loops, layers and segments")
    writer.flush()
    report(0.97, "checking every file")
    misses = [line for item in writer.files for line in item.misses()]
    if misses:
        raise MeasurementError(f"{len(misses)} file{'s' if len(misses) > 1 else ''} missed the "
                               f"{target.name} target: " + "; ".join(misses))
    warnings += writer.warnings
    sheet = delivery_cue_sheet(writer.files, spec, metadata, vocal="vocal" in source.roles.values())
    if sheet is None:
        warnings.append("cue sheet skipped: name a composer (--composer, or composer: in the brief) for the music "
                        "cue sheet; the technical file list is written")
    elif sheet.cues:
        write_cue_sheet(sheet, folder, stem=f"{title}_CueSheet_v{version}")
    manifest = _manifest(writer, recipe, bars.grid if bars is not None else None, target, warnings)
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    write_atomic(folder / "deliverables.json", lambda tmp: tmp.write_text(text, encoding="utf-8"))
    listing = file_list(writer.files, version)
    write_atomic(folder / f"{title}_Files_v{version}.csv", lambda tmp: tmp.write_text(listing, encoding="utf-8"))
    return {"files": writer.files, "manifest": manifest, "warnings": warnings}


def _write_grid_kinds(writer: DeliveryWriter, kinds: set[str], bars: _Grid, stems: dict[str, Audio],
                      roles: Mapping[str, str], master_audio: Audio, gain: float, target: Target,
                      warnings: list[str], report: ProgressCallback) -> None:
    """Queue the stingers, loops, layers and segments cut on the bar grid."""
    grid, likeness, levels = bars.grid, bars.likeness, bars.levels
    if "stingers" in kinds:
        report(0.8, "stingers")
        write_stingers(writer, master_audio, grid, levels, warnings)
    groove = best_groove(likeness, grid, levels)
    if "loops" in kinds:
        report(0.85, "loops")
        write_loops(writer, master_audio, grid, likeness, groove, warnings)
    if "layers" in kinds:
        report(0.9, "layers")
        if not stems:
            warnings.append("layers skipped: vertical layers are built from stems and the project has none")
        elif groove is None:
            warnings.append("layers skipped: no span of bars loops")
        else:
            write_layers(writer, stems, roles, master_audio, gain, grid, groove, target, warnings)
    if "segments" in kinds:
        report(0.94, "segments")
        write_segments(writer, master_audio, grid, likeness)


def _manifest(writer: DeliveryWriter, recipe: Recipe, grid: BarGrid | None, target: Target,
              warnings: list[str]) -> dict[str, Any]:
    return {"format": 1, "generator": f"trackwright {__version__}", "title": writer.title, "version": writer.version,
            "recipe_sha256": recipe.version.recipe_sha256 if recipe.version else None,
            "target": target.to_dict(), "loudness_tolerance_lu": LOUDNESS_TOLERANCE_LU,
            "isrc": {"main": writer.metadata.isrc or None,
                     "note": "ISRC codes are assigned by the label; fill each file's isrc field"},
            "files": [f.to_dict() for f in writer.files], "game": game_manifest(writer, grid),
            "warnings": list(warnings)}
