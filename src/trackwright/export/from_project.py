"""A project version as a :class:`~trackwright.export.session.Session`, and its export to DAWproject, REAPER or MusicXML.

Conventions
-----------
* Everything comes from the version's render (:meth:`Project.render`), so the session plays
  what ``trackwright render`` plays: its rate is the render's, and every audio clip starts at
  0 s and runs the whole rendered file (positions in samples equal the render's).
* **One track per rendered stem, one clip each** (not one clip per edit-list segment of the
  source stems): the rendered stem is the part as the version plays it, with what clips cannot
  carry already in it: the part's gain, pan and mute, automation, the ``mix:`` block's EQ,
  compression and reverb sends, the ``production:`` block's re-rendered parts, and any time
  stretch of a fit. Rebuilding the edit from source clips would lose all of that and sound
  unlike the version. The edit is still visible: section markers fall where each section
  starts playing and the tempo map puts a bar line on every downbeat the version plays, so a
  producer can cut and move whole bars on the grid. A re-rendered part (``midi:<part>``) is the
  audio track ``<part> (rebuilt)``; what no stem holds is the ``Residual`` track (left out when
  silent); the version's mix (and master, when it has one) follow as *muted* reference tracks,
  or the mix alone, unmuted, for a project without stems.
* **Tempo and metres**: the draft's bar grid (its analysis downbeats, moved onto their attacks
  as ``arrange`` uses them) mapped through the recipe's edit list
  (:func:`~trackwright.arrange.grid.played_bars`); each bar gets the tempo that makes it its
  whole number of beats long (:func:`~trackwright.export.session.tempo_from_downbeats`). Without
  a grid, the analysis' tempo and metre hold throughout (with a warning).
* **Note tracks**: every part of the version's edited MIDI (``score.mid`` when the recipe has
  score operations, else ``arrangement.mid``), named ``<part> MIDI``; times are converted from
  the file's own tempo map to seconds, then to beats of the session's tempo map. A part the
  ``production:`` block rebuilds carries its instrument's General MIDI program (or kit); other
  parts carry their first program change (channel 10: drums).
* **Markers**: sections as played (``intro``, ``chorus 2``…), the brief's hit points (output
  seconds, as the brief gives them), the draft analysis' findings wherever the version still
  plays the passage where each starts (once per repetition), and the review room's top-level
  comments on this version (``review.db``, read-only; replies are counted, not listed).
* Title and composer come from the brief (``title:``, ``composer:``); the title defaults to the
  project folder's name. The key is the analysis' key.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import mido
import numpy as np
import soundfile as sf
from pretty_midi import program_to_instrument_name

from trackwright.analysis.analyze import Analysis
from trackwright.analysis.brief import Brief, load_brief
from trackwright.arrange.grid import grid_from_analysis, played_bars, played_sections
from trackwright.arrange.midi import timed_notes
from trackwright.audio import Audio, load_audio, write_folder_atomic
from trackwright.errors import ParameterError, ProjectError
from trackwright.export.dawproject import write_dawproject
from trackwright.export.media import ExportResult
from trackwright.export.musicxml import write_musicxml
from trackwright.export.reaper import write_rpp
from trackwright.export.session import (MAX_BPM, MIN_BPM, AudioClip, Marker, MarkerKind, MeterChange, Note, Session,
                                        TempoChange, TempoMap, Track, note_clip, tempo_from_downbeats)
from trackwright.produce.instruments import resolve_instrument, split_parts
from trackwright.produce.production import MIDI_PREFIX
from trackwright.progress import ProgressCallback, ignore_progress
from trackwright.project import Project, Recipe, RenderResult
from trackwright.project.roles import project_roles
from trackwright.score.symbolic import MODES, Key
from trackwright.sqlite import connection

#: What ``export --to`` takes for a project.
PROJECT_FORMATS = ("dawproject", "reaper", "musicxml")
#: The review room's database inside a project (read here, never written).
REVIEW_DB = "review.db"
#: A residual quieter than this (peak, dBFS) is left out of the session.
SILENT_DBFS = -100.0
DRUM_CHANNEL = 9
_LETTERS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


@dataclass(frozen=True)
class ProjectSession:
    """A version as a session: the version's number, the session, and warnings for the user."""

    version: int
    session: Session
    warnings: tuple[str, ...] = ()


def key_from_name(tonic: str, mode: str) -> Key | None:
    """A :class:`~trackwright.score.symbolic.Key` from an analysis key (``"F#"``/``"Bb"``, ``"minor"``), or None."""
    found = re.fullmatch(r"([A-Ga-g])([#b♯♭]*)", tonic.strip())
    if found is None:
        return None
    name = mode.strip().lower()
    if name not in MODES:
        return None
    pitch = _LETTERS[found.group(1).upper()] + sum(1 if c in "#♯" else -1 for c in found.group(2))
    return Key(pitch % 12, name)


def file_stem(title: str) -> str:
    """A file-name-safe form of ``title`` (``"Night Drive"`` → ``"Night_Drive"``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", title).strip("._") or "export"


def _brief(opened: Project) -> Brief | None:
    path = opened.source_brief()
    return load_brief(path) if path is not None else None


def _tempo(opened: Project, analysis: Analysis, recipe: Recipe, warnings: list[str]
           ) -> tuple[tuple[TempoChange, ...], tuple[MeterChange, ...], list[Marker]]:
    """The tempo map, metres and section markers of the version as it plays."""
    try:
        grid = grid_from_analysis(analysis, opened.source_audio())
        bars = played_bars(grid, recipe.arrangement)
        tempo, meters = tempo_from_downbeats(bars.lines_s, bars.beats, grid.subdivision)
        TempoMap(tempo)  # tempi out of range fail here, before the session is built
    except ParameterError as err:
        beats, compound = max(1, analysis.rhythm.beats_per_bar), analysis.rhythm.subdivision == 3
        meter = MeterChange(0.0, 3 * beats, 8) if compound else MeterChange(0.0, beats, 4)
        quarters = (1.5 if compound else 1.0) * analysis.rhythm.tempo_bpm  # a tempo map counts quarter notes
        bpm = float(np.clip(quarters, MIN_BPM, MAX_BPM)) if quarters > 0 else 120.0
        warnings.append(f"no bar grid to follow ({err}): the tempo map is {bpm:.2f} bpm "
                        f"{meter.numerator}/{meter.denominator} throughout")
        return (TempoChange(0.0, bpm),), (meter,), []
    sections = [Marker(span.start_s, span.name) for span in played_sections(grid, recipe.arrangement)]
    return tempo, meters, sections


def _frames(path: Path) -> tuple[int, int]:
    info = sf.info(str(path))
    return int(info.frames), int(info.samplerate)


def _audio_tracks(opened: Project, recipe: Recipe, render: RenderResult, rate: int, warnings: list[str]
                  ) -> list[Track]:
    """One track per rendered stem, the residual, then the mix (and master) as references."""
    roles = {name: guess.role for name, guess in project_roles(opened).items()} if render.stems else {}
    production = recipe.production.parts if recipe.production is not None else {}
    tracks: list[Track] = []

    def clip(path: Path, name: str) -> tuple[AudioClip, ...]:
        frames, file_rate = _frames(path)
        if file_rate != rate:
            raise ProjectError(f"{path}: rendered at {file_rate} Hz, the mix at {rate} Hz; render the version again")
        return (AudioClip(path, 0.0, frames / rate, name=name),)

    for name, path in render.stems.items():
        if name.startswith(MIDI_PREFIX):
            part = name[len(MIDI_PREFIX):]
            played_by = f" ({production[part].instrument})" if part in production else ""
            tracks.append(Track(f"{part} (rebuilt)", f"rebuilt part{played_by}", audio=clip(path, part)))
        else:
            tracks.append(Track(name, roles.get(name, "stem"), audio=clip(path, name)))
    if render.residual is not None:
        residual: Audio = load_audio(render.residual)
        peak = float(np.max(np.abs(residual.samples))) if residual.frames else 0.0
        if peak > 10 ** (SILENT_DBFS / 20):
            tracks.append(Track("Residual", "what no stem holds", audio=clip(render.residual, "residual")))
    has_parts = bool(tracks)
    tracks.append(Track("Mix", "mix (reference: the version as it plays)" if has_parts else "mix",
                        audio=clip(render.mix, "mix"), mute=has_parts))
    if render.master is not None:
        tracks.append(Track("Master", "master (reference)", audio=clip(render.master, "master"), mute=True))
    if has_parts and recipe.mix is not None:
        warnings.append("the version's mix block adds a reverb bus and glue that no stem holds: the muted Mix track "
                        "is the reference for how it should sound")
    return tracks


def _programs(part_file: mido.MidiFile) -> dict[int, int]:
    """First program change per channel of a one-part MIDI file."""
    out: dict[int, int] = {}
    for track in part_file.tracks:
        for msg in track:
            if msg.type == "program_change":
                out.setdefault(msg.channel, msg.program)
    return out


def _note_tracks(midi: Path | None, recipe: Recipe, tempo: TempoMap, warnings: list[str]) -> list[Track]:
    """One note track per part of the version's edited MIDI."""
    if midi is None:
        return []
    production = recipe.production.parts if recipe.production is not None else {}
    tracks = []
    for part, part_file in split_parts(midi).items():
        played = timed_notes(part_file)
        if not played:
            continue
        rebuilt = production.get(part)
        if rebuilt is not None:
            instrument = resolve_instrument(rebuilt.instrument)
            drums, program = instrument.drums, instrument.program
            role = f"rebuilt part ({rebuilt.instrument})"
        else:
            channels = {channel for _, _, channel, _, _ in played}
            drums = channels == {DRUM_CHANNEL}
            program = _programs(part_file).get(min(channels), 0)
            role = "MIDI part"
        notes = []
        for start_s, end_s, _, pitch, velocity in played:
            start_b = tempo.beats_at(start_s)
            notes.append(Note(start_b, max(tempo.beats_at(end_s) - start_b, 1e-3), pitch, min(max(velocity, 1), 127)))
        tracks.append(Track(f"{part} MIDI", role, notes=(note_clip(notes, name=part),),
                            instrument="Drum Kit" if drums else program_to_instrument_name(program),
                            program=None if drums else program, drums=drums))
    if not tracks:
        warnings.append(f"{midi.name}: no notes, so no note tracks")
    return tracks


def _comments(folder: Path, version: int, warnings: list[str]) -> list[Marker]:
    """The review room's top-level comments on ``version``, read-only; none when there is no review."""
    path = folder / REVIEW_DB
    if not path.is_file():
        return []
    try:
        with connection(f"{path.resolve().as_uri()}?mode=ro", uri=True) as con:
            rows = con.execute("SELECT id, start_s, author, body, state FROM comments WHERE version = ? AND "
                               "parent_id IS NULL ORDER BY start_s, id", (version,)).fetchall()
            replies = dict(con.execute("SELECT parent_id, COUNT(*) FROM comments WHERE parent_id IS NOT NULL "
                                       "GROUP BY parent_id").fetchall())
    except sqlite3.Error as err:
        warnings.append(f"{path}: review comments left out ({err})")
        return []
    markers = []
    for number, start_s, author, body, state in rows:
        first = " ".join(str(body).split())
        name = first if len(first) <= 40 else first[:39] + "…"
        extra = [f"{replies[number]} repl{'y' if replies[number] == 1 else 'ies'}"] if replies.get(number) else []
        if state != "open":
            extra.append(state)
        text = f"{author}: {first}" + (f" ({', '.join(extra)})" if extra else "")
        markers.append(Marker(max(0.0, float(start_s)), name, MarkerKind.COMMENT, text))
    return markers


def _findings(analysis: Analysis, recipe: Recipe) -> list[Marker]:
    """The draft analysis' findings where the version plays the passage each starts in."""
    out = []
    for finding in analysis.findings:
        for at in recipe.arrangement.output_times(finding.start_s):
            out.append(Marker(at, finding.kind.replace("_", " "), MarkerKind.FINDING,
                              f"{finding.severity}: {finding.message}"))
    return out


def project_session(project: str | os.PathLike[str] | Project, *, version: int | None = None,
                    progress: ProgressCallback | None = None) -> ProjectSession:
    """The session of a project version (see the module conventions): tracks, tempo, metres, markers.

    Parameters
    ----------
    project : path-like or Project
    version : int, optional
        The version (default: the latest); rendered first when its render is not cached.
    progress : callable, optional
        ``(fraction, label)`` callback.

    Examples
    --------
    >>> made = project_session("song")                            # doctest: +SKIP
    >>> [t.name for t in made.session.tracks]                      # doctest: +SKIP
    ['bass', 'drums', 'keys', 'Mix', 'keys MIDI']
    """
    report = progress or ignore_progress
    opened = project if isinstance(project, Project) else Project.open(project)
    number = opened.latest() if version is None else version
    recipe = opened.recipe(number)
    render = opened.render(number, progress=lambda f, label: report(0.8 * f, f"rendering: {label}"))
    report(0.8, "reading the grid")
    warnings: list[str] = []
    _, rate = _frames(render.mix)
    analysis = opened.analysis_on_grid(number)  # the grid the user set (`trackwright grid`), if any
    brief = _brief(opened)
    title = brief.title.strip() if brief is not None and brief.title.strip() else opened.path.resolve().name
    tempo, meters, markers = _tempo(opened, analysis, recipe, warnings)
    tempo_map = TempoMap(tempo)
    duration_s = _frames(render.mix)[0] / rate
    report(0.85, "tracks")
    tracks = _audio_tracks(opened, recipe, render, rate, warnings)
    tracks += _note_tracks(render.score_midi or render.midi, recipe, tempo_map, warnings)
    report(0.95, "markers")
    if brief is not None:
        markers += [Marker(at, what or "hit", MarkerKind.HIT) for at, what in brief.hits if at <= duration_s]
    markers += _findings(analysis, recipe)
    markers += _comments(opened.path, number, warnings)
    session = Session(title, rate, tempo=tempo, meters=meters, tracks=tuple(tracks),
                      markers=tuple(sorted(markers, key=lambda m: (m.time_s, m.kind.value))),
                      key=key_from_name(analysis.harmony.key.tonic, analysis.harmony.key.mode),
                      composer=brief.composer if brief is not None else "")
    report(1.0, "done")
    return ProjectSession(number, session, tuple(warnings))


def publish(output: Path, write: Callable[[Path], ExportResult]) -> ExportResult:
    """Run ``write`` into a hidden folder beside ``output`` and rename it into place
    (:func:`~trackwright.audio.write_folder_atomic`: ``output`` must be new or empty, and on any
    error nothing is left); the result's paths name the files in ``output``."""
    staging: list[Path] = []

    def run(folder: Path) -> ExportResult:
        staging.append(folder)
        return write(folder)

    made = write_folder_atomic(output, run, what="export", tag="exporting")

    def moved(path: Path) -> Path:
        return output / path.relative_to(staging[0])

    return ExportResult(moved(made.path), tuple(moved(p) for p in made.files), made.warnings)


def _writer(to: str) -> Callable[[Session, Path], ExportResult]:
    if to == "dawproject":
        return lambda session, folder: write_dawproject(session, folder / f"{file_stem(session.title)}.dawproject")
    if to == "reaper":
        return lambda session, folder: write_rpp(session, folder / f"{file_stem(session.title)}.rpp")
    if to == "musicxml":
        return lambda session, folder: write_musicxml(session, folder / f"{file_stem(session.title)}.musicxml")
    raise ParameterError(f"--to: a project exports to {', '.join(PROJECT_FORMATS)} (fmod and wwise read a "
                         f"delivery folder), got {to!r}")


def export_project(project: str | os.PathLike[str] | Project, to: str, *, output: str | os.PathLike[str] | None = None,
                   version: int | None = None, progress: ProgressCallback | None = None) -> ExportResult:
    """Write a project version as a DAWproject, a REAPER project or a MusicXML score.

    Parameters
    ----------
    project : path-like or Project
    to : str
        ``dawproject`` (``<Title>.dawproject``, audio inside), ``reaper`` (``<Title>.rpp`` and
        ``audio/``) or ``musicxml`` (``<Title>.musicxml``).
    output : path-like, optional
        A new or empty folder (default ``PROJECT/exports/v<N>-<to>``); everything is written into
        a hidden folder beside it and renamed into place at the end.
    version : int, optional
        The version (default: the latest).
    progress : callable, optional

    Returns
    -------
    ExportResult
        The main file, every file written, and warnings (the session's and the writer's).

    Examples
    --------
    >>> export_project("song", "reaper", output="song-reaper").path      # doctest: +SKIP
    PosixPath('song-reaper/song.rpp')
    """
    write = _writer(to)
    opened = project if isinstance(project, Project) else Project.open(project)
    made = project_session(opened, version=version, progress=progress)
    if to == "musicxml" and not any(t.notes and not t.drums for t in made.session.tracks):
        raise ParameterError(f"{opened.path}: the project has no MIDI with pitched parts, so there is no score to "
                             "write (import MIDI with `trackwright new --midi`, or transcribe the stems)")
    out = Path(output) if output is not None else opened.path / "exports" / f"v{made.version}-{to}"
    if output is None:
        out.parent.mkdir(exist_ok=True)
    result = publish(out, lambda folder: write(made.session, folder))
    return ExportResult(result.path, result.files, made.warnings + result.warnings)

