"""The project folder: untouched sources, one recipe per version, a SQLite index, a render cache.

Layout::

    PROJECT/
      project.yaml          {format: 1, created_by: "trackwright 0.1.0"}
      project.db            SQLite: meta, versions, renders (an index; rebuilt by `repair`)
      sources/              read-only copies of the user's files: draft.<ext>, stems/…, midi.mid, brief.yaml
      recipes/v0001.yaml    one recipe per version (the history lives in these files)
      analysis/draft.json   the draft's analysis (a cache, recomputed when missing)
      renders/<cache_key>/  mix.wav, stems/<part>.wav, residual.wav, arrangement.mid, master.wav, render.json
      .lock                 flock()ed by every command that writes

Conventions
-----------
* Nothing is ever written over a source; the user's own files are only read.
* A recipe file is written (atomically) before its row enters ``project.db``; the files alone
  rebuild the history (:meth:`Project.repair`).
* A render is made in ``renders/.tmp-<key>-<pid>/`` and renamed into place when complete, so
  an interrupted render leaves only a ``.tmp`` folder, cleaned up by the next command.
"""

from __future__ import annotations

import dataclasses
import getpass
import hashlib
import json
import os
import re
import shutil
import sqlite3
from contextlib import AbstractContextManager, closing
from pathlib import Path
from typing import Any

import mido
import yaml

from trackwright import __version__
from trackwright.analysis.analyze import Analysis, analyze
from trackwright.analysis.brief import load_brief
from trackwright.analysis.stemsum import StemSum, measure_stem_sum
from trackwright.arrange.edl import EditList, check_within
from trackwright.audio import Audio, audio_info, load_audio, save_audio, write_atomic
from trackwright.errors import ParameterError, ProjectError, TrackwrightError
from trackwright.files import pid_alive, renamed
from trackwright.progress import ProgressCallback, ignore_progress
from trackwright.project.diff import describe_diff
from trackwright.project.index import DB_FILE, VersionIndex, insert_version, recipe_name
from trackwright.project.lock import LOCK_TIMEOUT_S, ProjectLock
from trackwright.project.recipe import (
    FORMAT_VERSION,
    STEMS_FOLDER,
    MasterSettings,
    PartSettings,
    Recipe,
    VersionInfo,
    check_format,
    utc_iso,
)
from trackwright.project.render import (
    RenderResult,
    cache_key,
    read_manifest,
    render_recipe,
)
from trackwright.produce.stems import check_stem, find_stems, fit_stem, length_warnings
from trackwright.project.sources import sha256_file

PROJECT_FILE = "project.yaml"
#: The draft's analysis, cached (:meth:`Project.analysis`).
ANALYSIS_FILE = "analysis/draft.json"
#: How the stems add up to the draft (:meth:`Project.stem_sum`), cached by the sources' sha256.
STEM_SUM_FILE = "analysis/stems.json"
_RECIPE_NAME = re.compile(r"^v(\d{4,})\.yaml$")
#: Largest version number (SQLite's integers are 64-bit).
MAX_VERSION = 2**63 - 1

def default_author() -> str:
    """``$TRACKWRIGHT_AUTHOR``, else the login name, else ``unknown``."""
    name = os.environ.get("TRACKWRIGHT_AUTHOR", "").strip()
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _top_source(sources: dict[str, str], stem: str) -> str | None:
    """The source path directly in ``sources/`` whose file stem is ``stem`` (draft, midi, brief)."""
    for path in sources:
        parts = path.split("/")
        if len(parts) == 2 and parts[1].rsplit(".", 1)[0] == stem:
            return path
    return None


class Project:
    """A trackwright project folder (see the module docstring).

    Make one with :meth:`create`, open one with :meth:`open`. ``warnings`` collects one-line
    warnings (stems padded or trimmed, files left out) for the caller to show.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        """Point at ``path`` without checking anything (see :meth:`open`)."""
        self.path = Path(path)
        self.index = VersionIndex(self.path)
        self.lock_file = ProjectLock(self.path)
        self.warnings: list[str] = []
        self._recipes: dict[int, Recipe] = {}

    def __repr__(self) -> str:
        return f"Project({str(self.path)!r})"

    # -- creating and opening ------------------------------------------------------------------
    @classmethod
    def create(cls, path: str | os.PathLike[str], audio: str | os.PathLike[str], *,
               stems: str | os.PathLike[str] | None = None, midi: str | os.PathLike[str] | None = None,
               brief: str | os.PathLike[str] | None = None, author: str | None = None,
               progress: ProgressCallback | None = None) -> Project:
        """Make a project at ``path`` from a draft mix and, optionally, its stems, MIDI and brief.

        Copies the files into ``sources/`` (read-only), analyses the draft and commits version 1:
        the untouched draft, every part at 0 dB, no mastering. ``path`` must not exist or be an
        empty folder. Nothing is left behind when it fails.
        """
        report = progress or ignore_progress
        path = Path(path)
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise ProjectError(f"{path}: already exists; choose a new folder for the project")
        if not path.parent.is_dir():
            raise ProjectError(f"{path}: folder {path.parent} does not exist")
        audio = Path(audio)
        report(0.0, "reading the draft")
        draft = load_audio(audio)
        warnings: list[str] = []
        stem_files: dict[str, Path] = {}
        if stems is not None:
            stem_files, found = find_stems(Path(stems))
            warnings += found
            for index, (name, stem_path) in enumerate(stem_files.items()):
                report(0.05 + 0.15 * index / len(stem_files), f"checking stem {name}")
                warnings += check_stem(stem_path, name, draft.sample_rate, draft.frames, draft.channels)
                load_audio(stem_path)  # refuse unreadable or NaN-filled stems now, not at render time
        if midi is not None:
            midi = Path(midi)
            _check_midi(midi)
        cue_sheet = None
        if brief is not None:
            brief = Path(brief)
            cue_sheet = load_brief(brief)
        for stale in path.parent.glob(f".{path.name}.creating-*"):  # left by an interrupted `new`
            pid = stale.name.rsplit("-", 1)[-1]
            if pid.isdigit() and not pid_alive(int(pid)):
                shutil.rmtree(stale, ignore_errors=True)
        building = path.parent / f".{path.name}.creating-{os.getpid()}"
        if building.exists():
            shutil.rmtree(building)
        try:
            building.mkdir()
            for sub in ("sources", "recipes", "analysis", "renders"):
                (building / sub).mkdir()
            report(0.2, "copying the sources")
            sources: dict[str, str] = {}
            sources[f"sources/draft{audio.suffix.lower()}"] = _copy_source(audio, building / "sources" / f"draft{audio.suffix.lower()}")
            if stem_files:
                (building / "sources" / "stems").mkdir()
                for stem_path in stem_files.values():
                    rel = f"{STEMS_FOLDER}{stem_path.name}"
                    sources[rel] = _copy_source(stem_path, building / rel)
            if midi is not None:
                rel = f"sources/midi{midi.suffix.lower() or '.mid'}"
                sources[rel] = _copy_source(midi, building / rel)
            if brief is not None:
                rel = f"sources/brief{brief.suffix.lower() or '.yaml'}"
                sources[rel] = _copy_source(brief, building / rel)
            report(0.3, "analysing the draft")
            try:
                analysis = analyze(draft, brief=cue_sheet,
                                   progress=lambda f, label: report(0.3 + 0.6 * f, f"analysing: {label}"))
            except TrackwrightError as err:
                raise type(err)(f"{audio}: {err}") from err
            _write_json(building / ANALYSIS_FILE, analysis.to_dict())
            project_yaml = yaml.safe_dump({"format": FORMAT_VERSION, "created_by": f"trackwright {__version__}"},
                                          sort_keys=False)
            write_atomic(building / PROJECT_FILE, lambda tmp: tmp.write_text(project_yaml, encoding="utf-8"))
            made = cls(building)
            made.index.create()
            stems_parts = {name.lower(): PartSettings() for name in stem_files}
            first = Recipe(EditList.whole(draft.duration_s), stems_parts, MasterSettings(), sources)
            report(0.92, "writing version 1")
            made.commit(first, "imported draft", author=author)
            if stem_files:
                report(0.95, "measuring how the stems add up to the draft")
                found = made.stem_sum(draft)
                warnings += found.warnings() if found is not None else []
            os.rename(building, path)
        except BaseException as err:
            shutil.rmtree(building, ignore_errors=True)
            shown = renamed(err, building, path)  # a full disk names the project, not its staging folder
            if shown is err:
                raise
            raise shown from err
        project = cls(path)
        project.warnings = warnings
        report(1.0, "done")
        return project

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Project:
        """Open an existing project, checking its format, its index and its recipes.

        Raises ProjectError (one line) when ``path`` is not a project, was written by a newer
        trackwright, has a damaged ``project.db`` (the message says to run ``trackwright repair``)
        or a damaged recipe (the message names the file and the field).
        """
        project = cls(path)
        project._check_folder()
        numbers = project.index.numbers()
        if not numbers:
            raise ProjectError(f"{project.index.db_path}: holds no versions; run `trackwright repair {project.path}` "
                               "to rebuild it from the recipes")
        project._tidy()
        project._check_recipe_files()
        project.recipe()
        return project

    def _check_folder(self) -> None:
        path = self.path
        if not path.exists():
            raise ProjectError(f"{path}: no such project folder")
        if not path.is_dir():
            raise ProjectError(f"{path}: is a file, not a project folder")
        marker = path / PROJECT_FILE
        if not marker.is_file():
            raise ProjectError(f"{path}: not a trackwright project (no {PROJECT_FILE}); "
                               f"make one with `trackwright new {path} --audio DRAFT`")
        where = str(marker)
        try:
            data = yaml.safe_load(marker.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
            raise ProjectError(f"{where}: damaged ({type(err).__name__}); it should read `format: 1`") from err
        if not isinstance(data, dict) or "format" not in data:
            raise ProjectError(f"{where}: damaged (no `format:`); it should read `format: 1`")
        try:
            check_format(data["format"], where)
        except ParameterError as err:
            raise ProjectError(str(err)) from err

    # -- the index and the lock ------------------------------------------------------------
    def versions(self) -> list[VersionInfo]:
        """Every version, oldest first."""
        return self.index.all()

    def latest(self) -> int:
        """The newest version's number."""
        return self.index.latest()

    def lock(self, *, timeout_s: float = LOCK_TIMEOUT_S) -> AbstractContextManager[None]:
        """Hold the project exclusively (see :class:`~trackwright.project.lock.ProjectLock`); re-entrant."""
        return self.lock_file.hold(timeout_s=timeout_s)

    def _tidy(self) -> None:
        """Remove what interrupted commands left (when no other command is running) and index
        recipe files whose db row was never written."""
        with self.lock_file.try_hold() as free:
            if not free:
                return
            self._clean_tmp()
            known = set(self.index.numbers())
            for number, path in self._recipe_files().items():
                if number not in known:
                    self._adopt(number, path)

    def _clean_tmp(self) -> None:
        renders = self.path / "renders"
        if renders.is_dir():
            for entry in renders.iterdir():
                if entry.name.startswith(".tmp-"):
                    shutil.rmtree(entry, ignore_errors=True)
        for folder in (self.path / "recipes", self.path / "analysis", self.path):
            if folder.is_dir():
                for entry in folder.iterdir():
                    name = entry.name
                    if name.startswith(".") and (".part" in name or name.startswith(f".{DB_FILE}.rebuild-")) \
                            and entry.is_file():
                        entry.unlink(missing_ok=True)

    def _recipe_files(self) -> dict[int, Path]:
        folder = self.path / "recipes"
        found = {}
        if folder.is_dir():
            for entry in folder.iterdir():
                match = _RECIPE_NAME.match(entry.name)
                if match and entry.is_file():
                    found[int(match.group(1))] = entry
        return dict(sorted(found.items()))

    def _read_recipe_file(self, number: int, path: Path) -> tuple[Recipe, str]:
        where = recipe_name(number)
        try:
            data = path.read_bytes()
        except OSError as err:
            raise ProjectError(f"{where}: cannot be read ({err.strerror})") from err
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as err:
            raise ProjectError(f"{where}: damaged (not UTF-8 text at byte {err.start})") from err
        try:
            recipe = Recipe.from_yaml(text, where=where)
        except ProjectError:
            raise
        except ParameterError as err:
            raise ProjectError(str(err)) from err
        if recipe.version is None:
            raise ProjectError(f"{where}: version: missing (every recipe in a project carries its version block)")
        if recipe.version.number != number:
            raise ProjectError(f"{where}: version.number: is {recipe.version.number} in the file named v{number:04d}")
        if not recipe.sources:
            raise ProjectError(f"{where}: sources: missing")
        return recipe, hashlib.sha256(data).hexdigest()

    def _adopt(self, number: int, path: Path) -> None:
        recipe, digest = self._read_recipe_file(number, path)
        info = dataclasses.replace(recipe.version, recipe_sha256=digest)
        with self.index.connect(write=True) as con:
            insert_version(con, info)

    def _check_recipe_files(self) -> None:
        files = self._recipe_files()
        for info in self.versions():
            where = recipe_name(info.number)
            path = files.get(info.number)
            if path is None:
                raise ProjectError(f"{where}: missing (project.db lists version {info.number}); restore the file "
                                   f"from a backup, or run `trackwright repair {self.path}` to forget that version")
            if sha256_file(path) != info.recipe_sha256:
                self._read_recipe_file(info.number, path)  # a damaged file names its bad field
                raise ProjectError(f"{where}: changed since it was committed (its sha256 differs from project.db); "
                                   f"versions never change: restore it, or run `trackwright repair {self.path}` "
                                   "to accept the file as it is")

    # -- versions ------------------------------------------------------------------------------
    def recipe(self, number: int | None = None) -> Recipe:
        """The recipe of version ``number`` (None: the latest)."""
        number = self._resolve(number)
        if number in self._recipes:
            return self._recipes[number]
        info = self.index.row(number)
        path = self.path / recipe_name(number)
        if info is None:
            raise self._no_version(number)
        if not path.is_file():
            raise ProjectError(f"{recipe_name(number)}: missing (project.db lists version {number}); "
                               f"run `trackwright repair {self.path}` to forget that version")
        recipe, digest = self._read_recipe_file(number, path)
        if digest != info.recipe_sha256:
            raise ProjectError(f"{recipe_name(number)}: changed since it was committed (its sha256 differs from "
                               f"project.db); restore it, or run `trackwright repair {self.path}` to accept it")
        recipe = dataclasses.replace(recipe, version=dataclasses.replace(recipe.version, recipe_sha256=digest))
        self._recipes[number] = recipe
        return recipe

    def _resolve(self, number: int | None) -> int:
        if number is None:
            return self.latest()
        if isinstance(number, bool) or not isinstance(number, int):
            raise ParameterError(f"version must be a whole number, got {number!r}")
        if not 1 <= number <= MAX_VERSION:
            raise self._no_version(number)
        return number

    def _no_version(self, number: int) -> ParameterError:
        latest = self.latest()
        have = "version 1" if latest == 1 else f"versions 1–{latest}"
        return ParameterError(f"{self.path}: no version {number} (the project has {have})")

    def commit(self, recipe: Recipe, message: str, *, author: str | None = None,
               parent: int | None = None, adds_sources: bool = False) -> VersionInfo:
        """Store ``recipe`` as a new version; return its :class:`VersionInfo`.

        The recipe file is written first (atomically), then its row enters project.db in one
        transaction. ``parent`` defaults to the latest version. A recipe without sources gets
        the project's; its parts must name the project's stems and its segments lie within the draft.
        With ``adds_sources`` its sources may add files to the project's (every existing one kept):
        :meth:`add_stems`.
        """
        if not isinstance(recipe, Recipe):
            raise ParameterError(f"commit takes a Recipe, got {type(recipe).__name__}")
        if not isinstance(message, str) or not message.strip():
            raise ParameterError("a version needs a message saying what changed")
        author = default_author() if author is None else str(author).strip() or default_author()
        with self.lock():
            numbers = self.index.numbers()
            files = self._recipe_files()
            if parent is None:
                parent = numbers[-1] if numbers else None
            elif parent not in numbers:
                raise self._no_version(parent)
            recipe = self._conform(recipe, sources_from=numbers[-1] if numbers else None, adds=adds_sources)
            number = max(numbers[-1] if numbers else 0, max(files, default=0)) + 1
            info = VersionInfo(number, parent, author, utc_iso(), " ".join(message.split()))
            text = dataclasses.replace(recipe, version=info).to_yaml()
            write_atomic(self.path / recipe_name(number), lambda tmp: tmp.write_text(text, encoding="utf-8"))
            info = dataclasses.replace(info, recipe_sha256=hashlib.sha256(text.encode("utf-8")).hexdigest())
            with self.index.connect(write=True) as con:
                insert_version(con, info)
        self._recipes.pop(number, None)
        return info

    def withdraw(self, number: int) -> None:
        """Remove version ``number`` just committed in this process (its render failed), under the lock.

        Only the latest version can be withdrawn; its recipe file and row go, so the history is
        as it was before :meth:`commit`.
        """
        with self.lock():
            if number != self.latest():
                raise ParameterError(f"only the latest version can be withdrawn, not {number}")
            with self.index.connect(write=True) as con:
                con.execute("DELETE FROM renders WHERE version = ?", (number,))
                con.execute("DELETE FROM versions WHERE number = ?", (number,))
            (self.path / recipe_name(number)).unlink(missing_ok=True)
        self._recipes.pop(number, None)

    def _conform(self, recipe: Recipe, *, sources_from: int | None, adds: bool = False) -> Recipe:
        if sources_from is not None:
            project_sources = dict(self.recipe(sources_from).sources)
            if not recipe.sources:
                recipe = dataclasses.replace(recipe, sources=project_sources)
            elif adds:
                kept = {k: v for k, v in recipe.sources.items() if k in project_sources}
                if kept != project_sources:
                    raise ParameterError("a version that adds sources keeps every source of the project")
            elif dict(recipe.sources) != project_sources:
                raise ParameterError("recipe sources differ from the project's; a recipe plays this project's "
                                     "sources (leave sources empty to use them)")
        draft = _top_source(dict(recipe.sources), "draft")
        if draft is None:
            raise ParameterError("recipe sources name no draft (sources/draft.*)")
        info = audio_info(self.path / draft)
        check_within(recipe.arrangement, info.frames / info.samplerate)
        return recipe

    def add_stems(self, stems: dict[str, Audio], message: str, *, author: str | None = None) -> VersionInfo:
        """A new version that plays the draft through ``stems`` (name → Audio with the draft's
        rate, channels and length, summing to it: a split of a project without stems). The stems
        are written into ``sources/stems/`` (float WAV, read-only) and become sources of this
        version and of every later one; earlier versions still play the draft alone."""
        if not stems:
            raise ParameterError("add_stems needs at least one stem")
        with self.lock():
            recipe = self.recipe()
            if recipe.stem_sources:
                raise ParameterError(f"{self.path} already has stems ({', '.join(sorted(recipe.stem_sources))})")
            draft = self.source_audio()
            sources = dict(recipe.sources)
            folder = self.path / STEMS_FOLDER
            folder.mkdir(parents=True, exist_ok=True)
            for name, audio in stems.items():
                if audio.sample_rate != draft.sample_rate or audio.channels != draft.channels or \
                        audio.frames != draft.frames:
                    raise ParameterError(f"stem {name!r} does not match the draft (rate, channels and length)")
                rel = f"{STEMS_FOLDER}{name.lower()}.wav"
                path = self.path / rel
                save_audio(audio, path, bit_depth="float")
                path.chmod(0o444)
                sources[rel] = sha256_file(path)
            parts = {**recipe.parts, **{name.lower(): PartSettings() for name in stems}}
            made = dataclasses.replace(recipe, version=None, parts=parts, sources=sources)
            return self.commit(made, message, author=author, adds_sources=True)

    def revert(self, number: int, *, author: str | None = None) -> VersionInfo:
        """A new version whose recipe equals version ``number``'s (message ``revert to vN``)."""
        with self.lock():
            old = self.recipe(number)
            return self.commit(dataclasses.replace(old, version=None), f"revert to v{number}", author=author)

    def diff(self, a: int, b: int) -> list[str]:
        """:func:`describe_diff` of versions ``a`` and ``b``, sections from the draft's analysis."""
        analysis = self.analysis_on_grid(b)
        return describe_diff(self.recipe(a), self.recipe(b), analysis.structure.sections,
                             downbeats_s=analysis.rhythm.downbeats_s)

    # -- sources and analysis ------------------------------------------------------------------
    def _source(self, stem: str) -> Path | None:
        rel = _top_source(dict(self.recipe().sources), stem)
        return None if rel is None else self.path / rel

    def source_audio(self) -> Audio:
        """The draft mix as imported."""
        path = self._source("draft")
        if path is None:
            raise ProjectError(f"{recipe_name(self.latest())}: sources: names no draft (sources/draft.*)")
        return load_audio(path)

    def source_stems(self, draft: Audio | None = None) -> dict[str, Audio]:
        """Part name → stem, fitted to the draft's length and channels (warnings in ``self.warnings``)."""
        recipe = self.recipe()
        if not recipe.stem_sources:
            return {}
        if draft is None:
            info = audio_info(self._source("draft"))
            rate, frames, channels = info.samplerate, info.frames, info.channels
        else:
            rate, frames, channels = draft.sample_rate, draft.frames, draft.channels
        out = {}
        for name, rel in sorted(recipe.stem_sources.items()):
            stem = load_audio(self.path / rel)
            if stem.sample_rate != rate:
                raise ProjectError(f"{rel}: is at {stem.sample_rate} Hz but the draft is at {rate} Hz")
            for line in length_warnings(rel, name, stem.frames, frames, rate):
                if line not in self.warnings:
                    self.warnings.append(line)
            out[name] = fit_stem(stem, frames, channels)
        return out

    def stem_sum(self, draft: Audio | None = None, stems: dict[str, Audio] | None = None) -> StemSum | None:
        """How the project's stems add up to its draft (:func:`~trackwright.analysis.stemsum.measure_stem_sum`):
        the residual, each stem's gain, polarity and delay in the draft; None without stems.

        Measured once and cached in ``analysis/stems.json``, keyed by the sources' sha256.
        ``draft`` and ``stems`` (:meth:`source_stems`) spare reading them again when given.
        """
        recipe = self.recipe()
        if not recipe.stem_sources:
            return None
        key = hashlib.sha256(json.dumps(sorted(recipe.sources.items())).encode("utf-8")).hexdigest()
        path = self.path / STEM_SUM_FILE
        try:
            cached = json.loads(path.read_text(encoding="utf-8"))
            if cached.get("key") == key:
                return StemSum.from_record(cached["sum"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass
        draft = draft if draft is not None else self.source_audio()
        found = measure_stem_sum(draft, stems if stems is not None else self.source_stems(draft))
        with self.lock():
            path.parent.mkdir(exist_ok=True)
            _write_json(path, {"key": key, "sum": found.to_record()})
        return found

    def source_midi(self) -> Path | None:
        """The imported MIDI file, or None."""
        return self._source("midi")

    def source_brief(self) -> Path | None:
        """The imported brief (YAML cue sheet), or None."""
        return self._source("brief")

    def analysis(self) -> Analysis:
        """The draft's analysis, read from its cache file ``analysis/draft.json`` (recomputed and
        written again when the file is missing or damaged)."""
        path = self.path / ANALYSIS_FILE
        try:
            return Analysis.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, ParameterError):
            pass
        brief_path = self.source_brief()
        cue_sheet = load_brief(brief_path) if brief_path is not None else None
        analysis = analyze(self.source_audio(), brief=cue_sheet).rounded()
        with self.lock():
            path.parent.mkdir(exist_ok=True)
            _write_json(path, analysis.to_dict())
        return analysis

    def analysis_on_grid(self, number: int | None = None) -> Analysis:
        """The draft's analysis on the beat grid of version ``number`` (None: the latest): the
        grid the user set (the recipe's ``grid:`` block, ``trackwright grid``), else the grid as
        heard. Every stage that edits on beats and bars (fit, arrange, notes, production, deliver)
        reads this, so one correction carries through all of them."""
        return self.analysis().with_grid(self.recipe(number).grid)

    # -- rendering -----------------------------------------------------------------------------
    def render(self, number: int | None = None, *, progress: ProgressCallback | None = None) -> RenderResult:
        """Render version ``number`` (None: the latest) into ``renders/<cache_key>/``, or reuse it.

        See :mod:`trackwright.project.render` for what is rendered.
        """
        report = progress or ignore_progress
        with self.lock():
            number = self._resolve(number)
            recipe = self.recipe(number)
            key = cache_key(recipe)
            self._clean_tmp()
            renders = self.path / "renders"
            renders.mkdir(exist_ok=True)
            folder = renders / key
            if folder.exists():
                report(0.0, "checking the cached render")
                manifest = read_manifest(folder, key)
                if manifest is not None and manifest.get("midi_skipped"):
                    manifest = None  # rendered before MIDI editing existed
                if manifest is not None:
                    self.index.record_render(number, key, manifest)
                    report(1.0, "cached")
                    return RenderResult.from_manifest(folder, manifest, version=number, cached=True)
                shutil.rmtree(folder)
            report(0.0, "checking the sources")
            self._verify_sources(recipe)
            draft = self.source_audio()
            self.warnings = []
            stems = self.source_stems(draft)
            placement = self.stem_sum(draft, stems)
            tmp = renders / f".tmp-{key}-{os.getpid()}"
            tmp.mkdir()
            try:
                manifest = render_recipe(recipe, draft, stems, self.source_midi(), tmp, version=number, key=key,
                                         notes=list(self.warnings),
                                         analysis=lambda: self.analysis().with_grid(recipe.grid),
                                         placement=placement,
                                         progress=lambda f, label: report(0.05 + 0.95 * f, label))
                _fsync_dir(tmp)
                os.rename(tmp, folder)
                _fsync_dir(renders)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            self.index.record_render(number, key, manifest)
        return RenderResult.from_manifest(folder, manifest, version=number, cached=False)

    def _verify_sources(self, recipe: Recipe) -> None:
        for rel, digest in recipe.sources.items():
            path = self.path / rel
            if not path.is_file():
                raise ProjectError(f"{path}: source file missing; a project's sources must stay as imported")
            if sha256_file(path) != digest:
                raise ProjectError(f"{path}: source file changed since it was imported (sha256 differs from the "
                                   "recipe); a project's sources must stay as imported")

    # -- repair --------------------------------------------------------------------------------
    def repair(self) -> int:
        """Rebuild project.db from the recipe files; return how many versions it holds.

        A damaged project.db is moved aside to ``project.db.corrupt-<timestamp>``; render rows
        are recovered from the complete render folders.
        """
        if not self.path.is_dir():
            raise ProjectError(f"{self.path}: no such project folder")
        files = self._recipe_files()
        if not (self.path / PROJECT_FILE).is_file():
            if not files:
                raise ProjectError(f"{self.path}: not a trackwright project (no {PROJECT_FILE} and no recipes)")
            text = yaml.safe_dump({"format": FORMAT_VERSION, "created_by": f"trackwright {__version__}"},
                                  sort_keys=False)
            write_atomic(self.path / PROJECT_FILE, lambda tmp: tmp.write_text(text, encoding="utf-8"))
        self._check_folder()
        if not files:
            raise ProjectError(f"{self.path}/recipes: holds no recipe files; nothing to rebuild project.db from")
        with self.lock():
            self._clean_tmp()
            recipes: dict[int, tuple[Recipe, str]] = {}
            for number, path in files.items():
                try:
                    recipes[number] = self._read_recipe_file(number, path)
                except ProjectError as err:
                    raise ProjectError(f"{err} (repair rebuilds project.db from the recipes: fix or remove this "
                                       "file first)") from err
            self.index.set_aside_if_damaged(self.warnings)
            building = self.path / f".{DB_FILE}.rebuild-{os.getpid()}"
            building.unlink(missing_ok=True)
            try:
                self.index.create(building)
                with closing(sqlite3.connect(building, isolation_level=None)) as con:
                    con.execute("BEGIN")
                    for number, (recipe, digest) in recipes.items():
                        insert_version(con, dataclasses.replace(recipe.version, recipe_sha256=digest))
                    for number, (recipe, _) in recipes.items():
                        key = cache_key(recipe)
                        manifest = read_manifest(self.path / "renders" / key, key)
                        if manifest is not None:
                            con.executemany(
                                "INSERT OR IGNORE INTO renders (version, cache_key, kind, path, sha256, created_utc) "
                                "VALUES (?, ?, ?, ?, ?, ?)",
                                [(number, key, info["kind"], f"renders/{key}/{name}", info["sha256"], utc_iso())
                                 for name, info in manifest["files"].items()])
                    con.execute("COMMIT")
                for suffix in ("-journal", "-wal", "-shm"):
                    Path(f"{self.index.db_path}{suffix}").unlink(missing_ok=True)
                os.replace(building, self.index.db_path)
            except BaseException:
                building.unlink(missing_ok=True)
                raise
        self._recipes.clear()
        return len(recipes)

def _copy_source(original: Path, copy: Path) -> str:
    """Copy ``original`` to ``copy`` (read-only afterwards); return the copy's sha256, checked."""
    if not original.is_file():
        raise ParameterError(f"{original}: no such file")
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(original, copy)
    digest = sha256_file(copy)
    if sha256_file(original) != digest:
        raise ProjectError(f"{original}: changed while it was being copied into the project; try again")
    copy.chmod(0o444)
    return digest


def _check_midi(path: Path) -> None:
    if not path.is_file():
        raise ParameterError(f"{path}: no such MIDI file")
    try:
        mido.MidiFile(str(path))
    except (OSError, EOFError, ValueError, KeyError, IndexError) as err:
        raise ParameterError(f"{path}: not a readable MIDI file ({err})") from err


def _write_json(path: Path, data: Any) -> None:
    text = json.dumps(data, indent=1, ensure_ascii=False) + "\n"
    write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
