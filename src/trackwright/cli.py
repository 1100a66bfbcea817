"""The ``trackwright`` command: a thin layer over the public API.

Exit status: 0 success; 1 a user error (bad input, bad flags, a file-system error such as a
read-only folder or a full disk), one line on stderr naming the path and the reason; 2 an
internal error, with a hint to re-run with ``--debug`` for the traceback.
"""

from __future__ import annotations

import json
import sys
import traceback
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from threadpoolctl import threadpool_limits

from trackwright import __version__
from trackwright.errors import MeasurementError, ParameterError, TrackwrightError
from trackwright.files import os_error_line, reporting
from trackwright.progress import progress_bar

try:  # Typer ≥ 0.29 carries its own copy of Click
    from typer._click.exceptions import ClickException, NoArgsIsHelpError
except ImportError:  # pragma: no cover - older Typer on the real Click
    from click.exceptions import ClickException, NoArgsIsHelpError  # type: ignore[no-redef]

app = typer.Typer(
    name="trackwright",
    help="Carry an AI-generated song to a finished, delivered piece of music.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

_state: dict[str, bool] = {"debug": False, "quiet": False}

QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]


def _out() -> Console:
    return Console(highlight=False, soft_wrap=True)


def _warn(messages: list[str]) -> None:
    for message in messages:
        print(f"warning: {message}", file=sys.stderr)


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def _fmt(value: float | None, unit: str = "") -> str:
    return "—" if value is None else f"{value:.2f}{unit}"


def _make_folder_of(output: Path) -> None:
    """Create the folder an ``-o`` file goes into (and its parents), as ``mkdir -p`` would."""
    with reporting(output.parent, "create the folder"):
        output.parent.mkdir(parents=True, exist_ok=True)


def _version(value: bool) -> None:
    if value:
        print(f"trackwright {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of internal errors.")] = False,
    quiet: QuietOption = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Carry an AI-generated song to a finished, delivered piece of music."""
    _state["debug"] = debug
    _state["quiet"] = quiet


LOUDNESS_ROWS = [
    ("Integrated", "integrated_lufs", " LUFS"),
    ("Momentary max", "momentary_max_lufs", " LUFS"),
    ("Short-term max", "short_term_max_lufs", " LUFS"),
    ("Loudness range", "loudness_range_lu", " LU"),
    ("True peak", "true_peak_dbtp", " dBTP"),
    ("Sample peak", "sample_peak_dbfs", " dBFS"),
]


@app.command()
def loudness(
    files: Annotated[list[Path], typer.Argument(metavar="FILE...", help="Audio files (WAV, AIFF, FLAC, OGG, MP3).")],
    as_json: JsonOption = False,
    layout: Annotated[
        str | None,
        typer.Option(help="Speaker layout: mono, stereo, 5.0, 5.1, 7.1… or names such as L,R,C,LFE,Ls,Rs."),
    ] = None,
    quiet: QuietOption = False,
) -> None:
    """Measure loudness to ITU-R BS.1770-4 / EBU R128 (integrated, momentary, short-term, LRA, true peak)."""
    from trackwright.analysis.loudness import measure_loudness_file

    results: list[dict[str, Any]] = []
    with progress_bar("Measuring", quiet=quiet or _state["quiet"]) as progress:
        for index, path in enumerate(files):
            progress(index / len(files), path.name)
            try:
                report = measure_loudness_file(path, layout=layout)  # read block by block: any length
            except TrackwrightError as err:
                message = str(err)
                raise type(err)(message if message.startswith(str(path)) else f"{path}: {message}") from err
            results.append({"file": str(path), **report.to_dict()})
        progress(1.0, "done")
    if as_json:
        _print_json(results[0] if len(results) == 1 else results)
        return
    table = Table(show_header=True, header_style="bold")
    table.add_column("")
    for result in results:
        table.add_column(Path(result["file"]).name, justify="right")
    for label, key, unit in LOUDNESS_ROWS:
        table.add_row(label, *(_fmt(r[key], unit) for r in results))
    table.add_row("Duration", *(f"{r['duration_s']:.2f} s" for r in results))
    table.add_row("Format", *(f"{r['channels']} ch, {r['sample_rate']} Hz" for r in results))
    _out().print(table)


def _targets_table() -> Table:
    from trackwright.mix.targets import TARGETS

    table = Table(show_header=True, header_style="bold")
    for column in ("Target", "Loudness", "Ceiling", "What for"):
        table.add_column(column)
    for target in TARGETS.values():
        table.add_row(target.name, f"{target.integrated_lufs:g} LUFS", f"{target.ceiling_dbtp:g} dBTP",
                      target.description)
    return table


@app.command()
def master(
    input_file: Annotated[Path | None, typer.Argument(metavar="IN", help="The mix to master.")] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Output WAV or FLAC.")] = None,
    target: Annotated[
        str | None, typer.Option(help="A named target (see --list-targets) or a loudness in LUFS, e.g. -14.")
    ] = None,
    ceiling: Annotated[float | None, typer.Option(help="True-peak ceiling in dBTP (overrides the target's).")] = None,
    reference: Annotated[
        Path | None, typer.Option(help="Match this reference track's tonal balance and loudness.")
    ] = None,
    bit_depth: Annotated[str, typer.Option(help="Output sample format: 16, 24 or float.")] = "24",
    list_targets: Annotated[bool, typer.Option("--list-targets", help="Show the delivery targets and exit.")] = False,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Master IN to a delivery target's loudness under a true-peak ceiling (or to a reference)."""
    if list_targets:
        if as_json:
            from trackwright.mix.targets import TARGETS

            _print_json([t.to_dict() for t in TARGETS.values()])
        else:
            _out().print(_targets_table())
        return
    if input_file is None:
        raise ParameterError("master needs an input file (or --list-targets)")
    if output is None:
        raise ParameterError("master needs -o/--output FILE (.wav or .flac)")
    if target is None and reference is None:
        raise ParameterError("master needs --target NAME|LUFS or --reference FILE (see --list-targets)")
    from trackwright.audio import check_output_path, load_audio, save_audio
    from trackwright.mix.master import master as run_master
    from trackwright.mix.targets import resolve_target

    sources = [input_file] + ([reference] if reference else [])
    check_output_path(output, sources)
    _make_folder_of(output)
    chosen = resolve_target(target, ceiling_dbtp=ceiling) if target else None
    audio = load_audio(input_file)
    ref_audio = load_audio(reference) if reference else None
    with progress_bar("Mastering", quiet=quiet or _state["quiet"]) as progress:
        result = run_master(audio, chosen, reference=ref_audio, ceiling_dbtp=ceiling, progress=progress)
        progress(0.97, "writing")
        write_warnings = save_audio(result.audio, output, bit_depth=bit_depth, inputs=sources)
    result_dict = result.to_dict()
    result_dict["warnings"] = list(result.warnings) + write_warnings
    if as_json:
        _print_json({"input": str(input_file), "output": str(output), **result_dict})
        return
    _warn(result_dict["warnings"])
    table = Table(title=f"{input_file.name} → {output.name}  ({result.target.name}: "
                  f"{result.target.integrated_lufs:g} LUFS, ceiling {result.target.ceiling_dbtp:g} dBTP)",
                  show_header=True, header_style="bold")
    for column in ("", "Before", "After"):
        table.add_column(column, justify="right")
    before, after = result.before.to_dict(), result.after.to_dict()
    for label, key, unit in LOUDNESS_ROWS:
        table.add_row(label, _fmt(before[key], unit), _fmt(after[key], unit))
    table.add_row("Gain", "", f"{result.gain_db:+.2f} dB")
    table.add_row("Limiting (max)", "", f"{result.max_limiting_db:.2f} dB")
    _out().print(table)


@app.command()
def analyze(
    source: Annotated[Path, typer.Argument(metavar="AUDIO|PROJECT",
                                           help="The draft to evaluate, or a project (its latest version's mix).")],
    as_json: JsonOption = False,
    html: Annotated[Path | None, typer.Option("--html", help="Also write a self-contained HTML report.")] = None,
    brief: Annotated[Path | None, typer.Option("--brief", help="A YAML cue sheet to check the track against.")] = None,
    quiet: QuietOption = False,
) -> None:
    """Evaluate a draft: rhythm, harmony, structure, dynamics, tonal balance; findings and strengths."""
    from trackwright.analysis.analyze import analyze as run_analysis
    from trackwright.analysis.brief import load_brief
    from trackwright.audio import check_output_path, load_audio

    mix, project_brief = _project_mix(source, quiet) if source.is_dir() else (None, None)
    if html is not None:
        check_output_path(html, [source])
    brief = brief if brief is not None else project_brief
    cue_sheet = load_brief(brief) if brief is not None else None
    audio = load_audio(mix or source)
    with progress_bar("Analysing", quiet=quiet or _state["quiet"]) as progress:
        result = run_analysis(audio, brief=cue_sheet, progress=progress)
        if mix is not None:  # a project: its latest version on the grid the user set (grid_source "user")
            from trackwright.project import Project
            from trackwright.project.grid import on_version_grid

            opened = Project.open(source)
            result = on_version_grid(result, opened, opened.recipe())
        if html is not None:
            from trackwright.analysis.report import write_html_report

            progress(0.95, "writing the report")
            write_html_report(result, html, title=source.name, audio=audio)
    if as_json:
        _print_json({"file": str(source), **({"mix": str(mix)} if mix else {}), **result.to_dict(),
                     **({"html": str(html)} if html else {})})
        return
    console = _out()
    key = result.harmony.key
    console.print(f"[bold]{source.name}[/bold]  {result.duration_s:.1f} s · {result.rhythm.tempo_bpm:.1f} BPM "
                  f"{result.rhythm.time_signature}{' (user-set grid)' if result.rhythm.user_set else ''} · "
                  f"{key.name} (confidence {key.confidence:.2f}) · "
                  f"{result.loudness.integrated_lufs:.1f} LUFS")
    console.print("form: " + " ".join(f"{s.label}({s.role})" for s in result.structure.sections))
    table = Table(title="Findings", show_header=True, header_style="bold")
    for column in ("severity", "where", "finding", "suggestion"):
        table.add_column(column)
    from trackwright.analysis.findings import clock

    for finding in result.findings:
        table.add_row(finding.severity, f"{clock(finding.start_s)}–{clock(finding.end_s)}", finding.message,
                      finding.suggestion)
    console.print(table)
    for strength in result.strengths:
        console.print(f"  + {strength.message}")
    if html is not None:
        console.print(f"report: {html}")


# --- projects: sources, versions, renders ---------------------------------------------------------

ProjectArgument = Annotated[Path, typer.Argument(metavar="PROJECT", help="A project folder (trackwright new).")]
AuthorOption = Annotated[str | None, typer.Option(help="Who makes the new version (default: $TRACKWRIGHT_AUTHOR or "
                                                       "the login name).")]


def _project_mix(folder: Path, quiet: bool) -> tuple[Path, Path | None]:
    """The latest version's rendered mix (cached) and the brief of the project at ``folder``."""
    from trackwright.project import Project

    if not (folder / "project.yaml").exists():
        raise ParameterError(f"{folder}: is a folder but not a trackwright project; analyze takes an audio file "
                             "or a project folder (make one with `trackwright new`)")
    project = Project.open(folder)
    with progress_bar("Rendering", quiet=quiet or _state["quiet"]) as progress:
        rendered = project.render(progress=progress)
    return rendered.mix, project.source_brief()


@app.command()
def new(
    project_dir: ProjectArgument,
    audio: Annotated[Path | None, typer.Option("--audio", help="The draft mix (WAV, FLAC, OGG, AIFF, MP3).")] = None,
    stems: Annotated[Path | None, typer.Option("--stems", help="A folder of stems (WAV/FLAC/OGG) that sum to the "
                                                                "draft; each file's name names the part.")] = None,
    midi: Annotated[Path | None, typer.Option("--midi", help="The draft's MIDI (edited along with the audio).")] = None,
    brief: Annotated[Path | None, typer.Option("--brief", help="A YAML cue sheet the track is made for.")] = None,
    author: AuthorOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Make a project: copy the draft (and stems, MIDI, brief), analyse it, and store version 1."""
    from trackwright.project import Project

    if audio is None:
        raise ParameterError("new needs --audio DRAFT (the draft mix to start from)")
    with progress_bar("Importing", quiet=quiet or _state["quiet"]) as progress:
        project = Project.create(project_dir, audio, stems=stems, midi=midi, brief=brief, author=author,
                                 progress=progress)
    recipe = project.recipe()
    analysis = project.analysis()
    found = project.stem_sum()
    summary = {"project": str(project_dir), "version": 1, "sources": dict(recipe.sources),
               "parts": sorted(recipe.stem_sources), "duration_s": round(analysis.duration_s, 3),
               "tempo_bpm": round(analysis.rhythm.tempo_bpm, 2),
               "stems_sum": None if found is None else found.to_dict(), "warnings": list(project.warnings)}
    if as_json:
        _print_json(summary)
        return
    _warn(project.warnings)
    print(f"created {project_dir}: version 1, imported draft")
    print(f"  draft     {audio.name}: {summary['duration_s']:.1f} s, {summary['tempo_bpm']:.1f} BPM")
    if summary["parts"]:
        print(f"  stems     {', '.join(summary['parts'])}")
    if found is not None:
        print(f"  sum       the stems leave a {_fmt(found.residual_db, ' dB')} residual against the draft")
    if project.source_midi() is not None:
        print(f"  midi      {midi.name if midi else ''}")
    if project.source_brief() is not None:
        print(f"  brief     {brief.name if brief else ''}")
    form = " ".join(s.role for s in analysis.structure.sections)
    if form:
        print(f"  form      {form}")


@app.command()
def render(
    project_dir: ProjectArgument,
    version: Annotated[int | None, typer.Option("--version", help="The version to render (default: the latest).")] = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Render a version: the edited mix, stems, MIDI and master (reused when already rendered)."""
    from trackwright.project import Project

    project = Project.open(project_dir)
    with progress_bar("Rendering", quiet=quiet or _state["quiet"]) as progress:
        result = project.render(version, progress=progress)
    if as_json:
        _print_json(result.to_dict())
        return
    _warn(result.warnings)
    print(f"version {result.version} → {result.folder}{' (cached)' if result.cached else ''}")
    rows = [("mix", result.mix)] + [(f"stem {name}", path) for name, path in result.stems.items()]
    rows += [("residual", result.residual), ("midi", result.midi), ("master", result.master)]
    rows = [(label, path) for label, path in rows if path is not None]
    width = max(len(label) for label, _ in rows)
    for label, path in rows:
        print(f"  {label:<{width}}  {path}")


@app.command()
def versions(project_dir: ProjectArgument, as_json: JsonOption = False) -> None:
    """List a project's versions: number, parent, author, time, message."""
    from trackwright.project import Project

    history = Project.open(project_dir).versions()
    if as_json:
        _print_json([info.to_dict() for info in history])
        return
    table = Table(title=str(project_dir), show_header=True, header_style="bold")
    for column in ("version", "parent", "author", "time (UTC)", "message"):
        table.add_column(column, justify="right" if column in ("version", "parent") else "left")
    for info in history:
        table.add_row(str(info.number), "" if info.parent is None else str(info.parent), info.author,
                      info.created_utc.replace("T", " ").removesuffix("Z"), info.message)
    _out().print(table)


@app.command()
def diff(
    project_dir: ProjectArgument,
    a: Annotated[int, typer.Argument(metavar="A", help="The earlier version.")],
    b: Annotated[int, typer.Argument(metavar="B", help="The later version.")],
    as_json: JsonOption = False,
) -> None:
    """Say in words what changed from version A to version B."""
    from trackwright.project import Project

    changes = Project.open(project_dir).diff(a, b)
    if as_json:
        _print_json({"project": str(project_dir), "from": a, "to": b, "changes": changes})
        return
    for line in changes:
        print(line)


@app.command()
def revert(
    project_dir: ProjectArgument,
    number: Annotated[int, typer.Argument(metavar="N", help="The version to go back to.")],
    author: AuthorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Make a new version that equals version N (nothing is deleted)."""
    from trackwright.project import Project

    project = Project.open(project_dir)
    with project.lock():
        info = project.revert(number, author=author)
    if as_json:
        _print_json(info.to_dict())
        return
    print(f"version {info.number}: {info.message}")


@app.command()
def repair(project_dir: ProjectArgument, as_json: JsonOption = False) -> None:
    """Rebuild project.db from the recipe files (a damaged one is moved aside)."""
    from trackwright.project import Project

    project = Project(project_dir)
    count = project.repair()
    if as_json:
        _print_json({"project": str(project_dir), "versions": count, "warnings": list(project.warnings)})
        return
    _warn(project.warnings)
    print(f"rebuilt {project_dir / 'project.db'} from {count} recipe{'s' if count != 1 else ''}")


@app.command()
def demo(
    folder: Annotated[Path, typer.Argument(help="Where to write the demo's files.")] = Path("trackwright-demo"),
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Compose a short draft in code, render it with FluidSynth, master it, and summarise."""
    from trackwright.demo import run_demo

    with progress_bar("Demo", quiet=quiet or _state["quiet"]) as progress:
        result = run_demo(folder, progress=progress)
    if as_json:
        _print_json(result.to_dict())
        return
    _warn(result.warnings)
    console = _out()
    table = Table(title="Draft → master (streaming)", show_header=True, header_style="bold")
    for column in ("", "Draft", "Master"):
        table.add_column(column, justify="right")
    before, after = result.mastered.before.to_dict(), result.mastered.after.to_dict()
    for label, key, unit in LOUDNESS_ROWS:
        table.add_row(label, _fmt(before[key], unit), _fmt(after[key], unit))
    console.print(table)
    console.print("[bold]What the critique heard in the draft[/bold]")
    for finding in result.findings:
        console.print(f"  - {finding}")
    if result.notes:
        console.print("[bold]Three creative notes on the 30 s cutdown[/bold]")
        for line in result.notes:
            console.print(f"  {line}", markup=False)
    if result.rebuilt:
        rebuilt = Table(title="Parts rebuilt from the MIDI (MuseScore General, arc, humanise, mix)",
                        show_header=True, header_style="bold")
        for column in ("", "Draft master", "Cutdown", "Rebuilt"):
            rebuilt.add_column(column, justify="right")
        measures = [result.rebuilt["before"]["draft_master"], result.rebuilt["before"]["cutdown"],
                    result.rebuilt["after"]]
        for label, key, unit in (("Loudness range", "loudness_range_lu", " LU"), ("Arc range", "arc_range_lu", " LU"),
                                 ("Centroid", "centroid_hz", " Hz"), ("Stereo width", "width", "")):
            rebuilt.add_row(label, *(_fmt(m[key], unit) for m in measures))
        console.print(rebuilt)
    for label, path in result.files.items():
        console.print(f"{label:>10}: {path}")


# --- arrangement: fit to a scene, beat-grid edits -------------------------------------------------

def _print_edit_list(edits: Any, title: str) -> None:
    from trackwright.analysis.findings import clock

    table = Table(title=title, show_header=True, header_style="bold")
    for column in ("output", "source", "stretch"):
        table.add_column(column, justify="right")
    for start, segment in zip(edits.output_starts_s(), edits.segments):
        table.add_row(f"{clock(start)}", f"{segment.start_s:.3f}–{segment.end_s:.3f} s",
                      "" if segment.stretch == 1.0 else f"{100 * (segment.stretch - 1):+.2f} %")
    _out().print(table)


@app.command()
def fit(
    source: Annotated[Path, typer.Argument(metavar="AUDIO|PROJECT", help="A track, or a project folder.")],
    duration: Annotated[float, typer.Option("--duration", help="Length of the cue, seconds.")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write the fitted audio here (WAV/FLAC).")] = None,
    hit: Annotated[list[float] | None, typer.Option("--hit", help="A time (s) that must fall on a downbeat; repeat.")] = None,
    ending: Annotated[str, typer.Option(help="natural (the song's own ending) or fade.")] = "natural",
    bit_depth: Annotated[str, typer.Option(help="Output sample format: 16, 24 or float.")] = "24",
    author: Annotated[str | None, typer.Option(help="Author of the new project version.")] = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Cut a track to an exact duration with downbeats on the hit points and a musical ending."""
    from trackwright.arrange.fit import fit_audio
    from trackwright.arrange.splice import render_edits
    from trackwright.audio import check_output_path, export_audio, load_audio, output_format, save_audio

    hits = list(hit or [])
    is_project = source.is_dir()
    if not is_project and output is None:
        raise ParameterError("fit needs -o/--output FILE for an audio file (or give a project folder)")
    if output is not None:
        check_output_path(output, [source] if not is_project else [])
        output_format(output, bit_depth)
        _make_folder_of(output)
    with progress_bar("Fitting", quiet=quiet or _state["quiet"]) as progress:
        if is_project:
            from trackwright.project import Project
            from trackwright.project.operations import fit_project

            fitted = fit_project(Project.open(source), duration, hits=hits, ending=ending, author=author,
                                 progress=progress)
            result, rendered = fitted.fit, fitted.made.rendered
            if output is not None:
                export_audio(rendered.mix, output, bit_depth=bit_depth)
            extra: dict[str, Any] = {"project": str(source), "version": fitted.made.version.number,
                                     "mix": str(rendered.mix)}
        else:
            audio = load_audio(source)
            progress(0.05, "analysing")
            try:
                result = fit_audio(audio, duration, hits=hits, ending=ending)
            except MeasurementError as err:  # silence, a clip too short to find bars in
                raise MeasurementError(f"{source}: {err}; there are no bars to fit") from err
            progress(0.6, "rendering")
            fitted = render_edits(audio, result.edits)
            progress(0.95, "writing")
            save_audio(fitted, output, bit_depth=bit_depth, inputs=[source])  # type: ignore[arg-type]
            extra = {}
        progress(1.0, "done")
    if as_json:
        _print_json({"source": str(source), **({"output": str(output)} if output else {}), **extra, **result.to_dict()})
        return
    _print_edit_list(result.edits, f"{source.name} → {duration:g} s ({ending} ending, {result.jumps} jumps)")
    for row in result.hits:
        print(f"hit {row['time_s']:.3f} s → downbeat {row['downbeat_s']:.3f} s"
              f"{' (section start)' if row['section_start'] else ''}")
    for note in result.notes:
        print(f"note: {note}")
    if extra:
        print(f"project {source}: version {extra['version']} → {extra['mix']}")
    if output is not None:
        print(f"wrote {output}")


@app.command()
def arrange(
    project_dir: Annotated[Path, typer.Argument(metavar="PROJECT", help="A project folder (trackwright new).")],
    operation: Annotated[str, typer.Argument(metavar="OP", help="cut, repeat, move, extend, shorten or fade.")],
    target: Annotated[str, typer.Argument(metavar="WHAT",
                                          help='"chorus 2", "intro", "bars 9-16"; for fade: in or out.')],
    bars: Annotated[float | None, typer.Option(help="extend/shorten by, or fade over, this many bars.")] = None,
    seconds: Annotated[float | None, typer.Option(help="fade over this many seconds.")] = None,
    times: Annotated[int, typer.Option(help="repeat this many more times.")] = 1,
    before: Annotated[str | None, typer.Option(help='move before this section (or "start").')] = None,
    after: Annotated[str | None, typer.Option(help='move after this section (or "end").')] = None,
    from_end: Annotated[bool, typer.Option("--from-end", help="shorten from the section's end.")] = False,
    author: Annotated[str | None, typer.Option(help="Author of the new version.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Edit the arrangement on the beat grid; every edit is a new version."""
    from trackwright.project import Project
    from trackwright.project.operations import arrange_project

    op = operation.lower()
    options: dict[str, Any] = {}
    if op in ("extend", "shorten"):
        if bars is None or not float(bars).is_integer():
            raise ParameterError(f"{op} needs --bars N (a whole number of bars)")
        options["bars"] = int(bars)
        if op == "shorten":
            options["from_end"] = from_end
    elif op == "repeat":
        options["times"] = times
    elif op == "move":
        options.update(before=before, after=after)
    elif op == "fade":
        options.update(bars=bars, seconds=seconds)
    made = arrange_project(Project.open(project_dir), op, target, author=author, **options)
    result, version = made.edit, made.version
    if as_json:
        _print_json({"project": str(project_dir), "version": version.number, "message": result.message,
                     "duration_s": round(result.edits.output_duration_s, 3),
                     "touched": None if result.touched is None else result.touched.to_dict(),
                     "arrangement": result.edits.to_dict()})
        return
    print(f"version {version.number}: {result.message} ({result.edits.output_duration_s:.1f} s)")
    if result.touched is not None:
        print(f"  {result.touched.describe()}")


@app.command()
def sections(
    project_dir: ProjectArgument,
    version: Annotated[int | None, typer.Option("--version", help="The version to list (default: the latest).")] = None,
    as_json: JsonOption = False,
) -> None:
    """List a version's sections as it plays them: the names edits and notes use, their bars and times."""
    from trackwright.analysis.findings import clock
    from trackwright.project import Project
    from trackwright.project.sections import project_sections

    project = Project.open(project_dir)
    number = version if version is not None else project.latest()
    found = project_sections(project, number)
    if as_json:
        _print_json({"project": str(project_dir), "version": number, "sections": [s.to_dict() for s in found]})
        return
    table = Table(title=f"{project_dir} v{number}", show_header=True, header_style="bold")
    for column in ("section", "bars", "time", "length", "from the draft"):
        table.add_column(column, justify="left" if column == "section" else "right")
    for row in found:
        table.add_row(row.name, f"{row.first_bar}–{row.last_bar}", f"{clock(row.start_s)}–{clock(row.end_s)}",
                      f"{row.bars} bar{'s' if row.bars != 1 else ''}, {row.end_s - row.start_s:.1f} s",
                      f"{clock(row.source_start_s)}–{clock(row.source_end_s)}")
    _out().print(table)


@app.command()
def grid(
    project_dir: Annotated[Path, typer.Argument(metavar="PROJECT", help="A project folder (trackwright new).")],
    bpm: Annotated[float | None, typer.Option("--bpm", help="A steady tempo, beats per minute (the dotted "
                                                            "quarter in 6/8, 9/8, 12/8).")] = None,
    half: Annotated[bool, typer.Option("--half", help="Half the heard (or set) tempo.")] = False,
    double: Annotated[bool, typer.Option("--double", help="Double the heard (or set) tempo.")] = False,
    metre: Annotated[str | None, typer.Option("--metre", "--meter",
                                              help="2/4, 3/4, 4/4, 6/8, 9/8 or 12/8.")] = None,
    downbeat: Annotated[str | None, typer.Option("--downbeat", help="A time on a bar line in the draft, "
                                                                    "seconds or m:ss.xx (e.g. 0:00.42).")] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Back to the grid as heard.")] = False,
    author: Annotated[str | None, typer.Option(help="Author of the new version.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Correct the beat grid every later edit stands on (fit, arrange, notes, deliver); a new version."""
    from trackwright.analysis.brief import parse_time
    from trackwright.analysis.findings import clock
    from trackwright.project import Project
    from trackwright.project.operations import grid_project

    try:
        downbeat_s = parse_time(downbeat, "--downbeat") if downbeat is not None else None
    except ParameterError:
        raise ParameterError(f"--downbeat {downbeat!r} is not a time: give seconds or m:ss.xx (e.g. 0:00.42)") from None
    made = grid_project(Project.open(project_dir), bpm=bpm, half=half, double=double, metre=metre,
                        downbeat_s=downbeat_s, clear=clear, author=author)
    rhythm = made.analysis.rhythm
    source = "user" if rhythm.user_set else "heard"
    if as_json:
        _print_json({"project": str(project_dir), "version": made.version.number,
                     "grid": made.grid.to_dict() if made.grid else None, "grid_source": source,
                     "tempo_bpm": round(rhythm.tempo_bpm, 2), "time_signature": rhythm.time_signature,
                     "beat_subdivision": rhythm.subdivision,
                     "first_downbeat_s": round(float(rhythm.downbeats_s[0]), 3) if len(rhythm.downbeats_s) else None,
                     "bars": len(rhythm.downbeats_s)})
        return
    first = f", first bar line {clock(float(rhythm.downbeats_s[0]))}" if len(rhythm.downbeats_s) else ""
    print(f"version {made.version.number}: beat grid {made.grid.describe() if made.grid else 'as heard'}")
    print(f"  {source}: {rhythm.tempo_bpm:.1f} BPM {rhythm.time_signature}{first}, {len(rhythm.downbeats_s)} bars")


# --- delivery: alternates, cutdowns, stingers, loops, game layers, stems, metadata ------------------
def _seconds_list(text: str, flag: str) -> list[float]:
    try:
        return [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ParameterError(f"{flag} takes seconds separated by commas, like 60,30,15,6; got {text!r}") from None


@app.command()
def deliver(
    project_dir: ProjectArgument,
    target: Annotated[str, typer.Option("--target", help="Delivery target name (streaming, broadcast, game…) or LUFS.")],
    version: Annotated[int | None, typer.Option("--version", help="The version to deliver (default: the latest).")] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Delivery folder (new or empty; default "
                                                                        "PROJECT/deliveries/v<N>-<target>).")] = None,
    only: Annotated[str | None, typer.Option("--only", help="Kinds to deliver, comma-separated: main, instrumental, "
                                             "underscore, lite, alternates, cutdowns, stingers, loops, layers, "
                                             "segments, stems.")] = None,
    cutdowns: Annotated[str, typer.Option("--cutdowns", help="Cutdown lengths, seconds.")] = "60,30,15,6",
    title: Annotated[str | None, typer.Option("--title", help="Title in the file names and metadata (default: the "
                                                              "brief's title, else the project's folder name).")] = None,
    ceiling: Annotated[float | None, typer.Option("--ceiling", help="True-peak ceiling, dBTP (overrides the target's).")] = None,
    separation_model: Annotated[Path | None, typer.Option(
        "--separation-model", help="Demucs weights on disk, to split a project without stems ([separation] extra).")] = None,
    formats: Annotated[list[str] | None, typer.Option(
        "--format", help="File format: SPEC for every file or KIND=SPEC for one kind (repeatable), e.g. wav:48k:24, "
                         "wav:48k:16 (dithered), flac:96k:24, stems=wav:48k:float, main=mp3.")] = None,
    previews: Annotated[list[str] | None, typer.Option(
        "--preview", help="Also a copy of the main, alternates and cutdowns in this format (repeatable): mp3, ogg, "
                          "opus, flac:16.")] = None,
    name_template: Annotated[str | None, typer.Option(
        "--name-template", help="File names, e.g. '{title}_{kind}_{length}s_{target}' (fields: title kind length "
                                "target version rate bits format).")] = None,
    artist: Annotated[str | None, typer.Option(help="Artist, in the files' metadata.")] = None,
    composer: Annotated[str | None, typer.Option(help="Composer(s), 'A / B': metadata and the music cue sheet.")] = None,
    publisher: Annotated[str | None, typer.Option(help="Publisher(s), 'A / B': metadata and the cue sheet.")] = None,
    isrc: Annotated[str | None, typer.Option(help="The main's ISRC (CC-XXX-YY-NNNNN).")] = None,
    catalogue_number: Annotated[str | None, typer.Option("--catalogue-number", help="Catalogue number.")] = None,
    copyright_: Annotated[str | None, typer.Option("--copyright", help="Copyright line, e.g. '℗ 2026 Label'.")] = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Deliver a version: master, alternates, cutdowns, stingers, loops, game layers, stems, cue sheet.

    Formats, names and metadata come from these flags over the brief's delivery: block."""
    from trackwright.deliver import deliver as deliver_package

    lengths = _seconds_list(cutdowns, "--cutdowns")
    metadata = {"artist": artist, "composer": composer, "publisher": publisher, "isrc": isrc,
                "catalogue_number": catalogue_number, "copyright": copyright_}
    with progress_bar("Delivering", quiet=quiet or _state["quiet"]) as progress:
        result = deliver_package(project_dir, target=target, version=version, output=output, only=only,
                                 cutdowns=lengths, title=title, ceiling_dbtp=ceiling,
                                 separation_model=separation_model, formats=formats or (), previews=previews or (),
                                 name_template=name_template, metadata=metadata, progress=progress)
    if as_json:
        _print_json(result.to_dict())
        return
    _warn(result.warnings)
    print(f"version {result.version} delivered for {result.target.name} → {result.folder}")
    width = max(len(f.name) for f in result.files) if result.files else 0
    for item in result.files:
        level = ("near-silent" if item.info.get("near_silent") else "") if item.integrated_lufs is None \
            else f"{item.integrated_lufs:7.2f} LUFS"
        print(f"  {item.name:<{width}}  {item.duration_s:7.2f} s  {level:>12}  {item.true_peak_dbtp:6.2f} dBTP")


# --- hand-off: DAW sessions, scores, game-engine imports --------------------------------------------
@app.command()
def export(
    path: Annotated[Path, typer.Argument(metavar="PATH", help="A project folder (dawproject, reaper, musicxml) or a "
                                                               "delivery folder (fmod, wwise).")],
    to: Annotated[str, typer.Option("--to", help="dawproject, reaper, musicxml, fmod or wwise.")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Folder to write (new or empty; default "
                                                                        "PROJECT/exports/v<N>-<to>, or the delivery "
                                                                        "folder itself for fmod and wwise).")] = None,
    version: Annotated[int | None, typer.Option("--version", help="The project version (default: the latest).")] = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Hand a version on: a DAWproject or REAPER session, a MusicXML score, an FMOD script or a Wwise import."""
    from trackwright.export import export as run_export

    with progress_bar("Exporting", quiet=quiet or _state["quiet"]) as progress:
        result = run_export(path, to=to, output=output, version=version, progress=progress)
    if as_json:
        _print_json({"path": str(result.path), "files": [str(f) for f in result.files],
                     "warnings": list(result.warnings)})
        return
    _warn(list(result.warnings))
    print(f"{to} → {result.path}")
    for item in result.files:
        if item != result.path:
            print(f"  {item}")


# --- review room: comments, A/B, approvals in a browser --------------------------------------------
@app.command()
def review(
    project_dir: ProjectArgument,
    host: Annotated[str, typer.Option(help="Address to listen on; loopback unless you mean to share on a network.")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8765,
    share: Annotated[list[str] | None, typer.Option(
        help="Also print a share link: ROLE or ROLE=NAME, ROLE viewer, commenter or approver; NAME is stamped on "
             "that reviewer's comments (repeatable).")] = None,
    share_days: Annotated[float, typer.Option(help="How long the share links stay valid, days (at most 90).")] = 7.0,
    allow_host: Annotated[list[str] | None, typer.Option(
        "--allow-host", help="Also answer to this host name (besides IP addresses and localhost); repeatable.")] = None,
    links: Annotated[bool, typer.Option("--links", help="List the room's share links and exit.")] = False,
    revoke: Annotated[int | None, typer.Option("--revoke", metavar="ID", help="Revoke share link ID at once and "
                                                                             "exit.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Open the review room: waveforms per version, timestamped comments, A/B, approvals, revisions.

    Prints the owner's link (keep it private) and serves until Ctrl-C.
    """
    from trackwright.review.server import revoke_link, serve, share_links

    if links or revoke is not None:
        shown = [revoke_link(project_dir, revoke)] if revoke is not None else share_links(project_dir)
        if as_json:
            _print_json([link.to_dict() for link in shown])
            return
        table = Table(title=f"share links of {project_dir}", show_header=True, header_style="bold")
        for column in ("id", "role", "name", "made (UTC)", "expires (UTC)", "state"):
            table.add_column(column, justify="right" if column == "id" else "left")
        for link in shown:
            expires = datetime.fromtimestamp(link.expires_s, tz=timezone.utc).strftime("%Y-%m-%d %H:%M")
            table.add_row(str(link.id), link.role, link.name, link.created_utc.replace("T", " ").removesuffix("Z"),
                          expires, link.state)
        _out().print(table)
        return
    from trackwright.revise import apply_note

    serve(project_dir, host=host, port=port, share=share or (), share_days=share_days, revise=apply_note,
          allow_hosts=allow_host or ())


# --- composition: symbolic harmony and melody operations ------------------------------------------

@app.command()
def compose(
    source: Annotated[Path, typer.Argument(metavar="PROJECT|MIDI", help="A project folder with MIDI, or a MIDI file.")],
    operation: Annotated[str, typer.Argument(metavar="OP", help="reharmonise, delay_resolution, pedal, change_mode, "
                                             "revoice, vary_melody, transpose or texture.")],
    seed: Annotated[int, typer.Option(help="Seeds the operation's choices (same seed, same music).")] = 0,
    bars: Annotated[str | None, typer.Option(help='Only these bars, e.g. "9-16" (1-based, inclusive).')] = None,
    start: Annotated[float | None, typer.Option(help="Section start, seconds.")] = None,
    end: Annotated[float | None, typer.Option(help="Section end, seconds.")] = None,
    rate: Annotated[float | None, typer.Option(help="reharmonise: share of chords substituted, 0–1.")] = None,
    kinds: Annotated[str | None, typer.Option(help="reharmonise: comma list of relative, parallel, secondary, "
                                              "interchange, suspension, added.")] = None,
    how: Annotated[str | None, typer.Option(help="delay_resolution: extend, deceptive or suspension.")] = None,
    degree: Annotated[str | None, typer.Option(help="pedal: tonic or dominant.")] = None,
    mode: Annotated[str | None, typer.Option(help="change_mode: major, minor, dorian, lydian, mixolydian, phrygian.")] = None,
    spacing: Annotated[str | None, typer.Option(help="revoice: close or spread.")] = None,
    register: Annotated[int | None, typer.Option(help="revoice: middle of the chords' register, MIDI pitch.")] = None,
    inversion: Annotated[str | None, typer.Option(help="revoice: any, root, first or second.")] = None,
    technique: Annotated[str | None, typer.Option(help="vary_melody: ornament, displace, contour or sequence.")] = None,
    amount: Annotated[float | None, typer.Option(help="vary_melody: share of eligible notes changed, 0–1.")] = None,
    step: Annotated[int | None, typer.Option(help="vary_melody sequence: scale steps per repeat.")] = None,
    semitones: Annotated[int | None, typer.Option(help="transpose: semitones, −12…12.")] = None,
    change: Annotated[str | None, typer.Option(help="texture: thin or thicken.")] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write the new MIDI here (MIDI input).")] = None,
    author: Annotated[str | None, typer.Option(help="Author of the new project version.")] = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Rewrite harmony or melody on the symbolic level; a project gets a new version, rendered to score.wav."""
    from trackwright.score.compose import compose_midi, validate_op

    given = {"bars": bars, "start_s": start, "end_s": end, "rate": rate, "kinds": kinds, "how": how, "degree": degree,
             "mode": mode, "spacing": spacing, "register": register, "inversion": inversion, "technique": technique,
             "amount": amount, "step": step, "semitones": semitones, "change": change}
    op = validate_op({"op": operation.lower(), "seed": seed, **{k: v for k, v in given.items() if v is not None}},
                     where="compose")
    extra: dict[str, Any] = {}
    if source.is_dir():
        from trackwright.project import Project
        from trackwright.project.operations import compose_project

        with progress_bar("Rendering", quiet=quiet or _state["quiet"]) as progress:
            composed = compose_project(Project.open(source), op, author=author, progress=progress)
        rendered = composed.made.rendered
        result = composed.result
        extra = {"project": str(source), "version": composed.made.version.number,
                 "score_midi": str(rendered.score_midi), "score_audio": str(rendered.score_audio)}
    else:
        from trackwright.audio import check_output_path, write_atomic

        if output is None:
            raise ParameterError("compose needs -o/--output FILE.mid for a MIDI file (or give a project folder)")
        check_output_path(output, [source])
        score, results = compose_midi(source, [op])
        data = score.to_bytes()
        write_atomic(output, lambda tmp: tmp.write_bytes(data))
        extra = {"output": str(output)}
        result = results[-1]
    if as_json:
        _print_json({"source": str(source), **extra, **result.to_dict()})
        return
    print(f"{result.op}: {result.key_before} → {result.key_after}")
    for line in result.changes:
        print(f"  {line}")
    changed = [f"bar {i + 1}: {b} → {a}" for i, (b, a) in enumerate(zip(result.chords_before, result.chords_after))
               if b != a]
    if changed:
        print("chords: " + "; ".join(changed[:8]) + (f"; +{len(changed) - 8} more" if len(changed) > 8 else ""))
    print(f"voice leading: {len(result.violations)} violation(s) in {', '.join(result.written)}")
    for violation in result.violations[:10]:
        print(f"  {violation.kind}: {violation.detail}")
    if "version" in extra:
        print(f"project {source}: version {extra['version']} → {extra['score_audio']}")
    else:
        print(f"wrote {output}")


# --- production: re-rendered instruments, expression, drum layers, mixing (issue 5b) ----------------
def _pairs(values: list[str] | None, flag: str) -> dict[str, str]:
    out = {}
    for item in values or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise ParameterError(f"{flag} takes NAME=VALUE, got {item!r}")
        out[name.strip().lower()] = value.strip()
    return out


def _print_mix(title: str, plan: dict[str, Any], balance: dict[str, Any] | None) -> None:
    """The mix decisions with their reasons, then each part's balance before → after."""
    print(f"mix of {title} ({plan['style']}):")
    for name, part in plan["parts"].items():
        if part["mute"]:
            print(f"  {name:<14} left out (silent)")
            continue
        cuts = ", ".join(f"{c['gain_db']:+.1f} dB @ {c['freq_hz']:.0f} Hz" for c in part["cuts"]) or "no cuts"
        print(f"  {name:<14} {part['role']:<8} fader {part['gain_db']:+6.1f} dB  HPF {part['highpass_hz']:>4.0f} Hz  "
              f"width {part['width']:.2f}  {cuts}")
        for why in part["why"][1:]:
            print(f"  {'':<14}   · {why}")
    for move in plan["bus"].get("eq") or []:
        print(f"  bus            · {move['why']}")
    for why in plan["bus"].get("why") or []:
        print(f"  bus            · {why}")
    if not balance:
        return

    def level(value: float | None) -> str:
        return "   —  " if value is None else f"{value:6.1f}"

    print(f"  {'balance':<14} {'LUFS before → after':>22}  {'side/mid dB':>16}  largest band move")
    for name, row in balance.items():
        before, after = row["before"], row["after"]
        moves = {band: after["bands_db"][band] - before["bands_db"][band] for band in before["bands_db"]
                 if before["bands_db"][band] is not None and after["bands_db"][band] is not None}
        band = max(moves, key=lambda b: abs(moves[b]), default=None)
        biggest = f"{moves[band]:+.1f} dB at {band} Hz" if band is not None else "—"
        print(f"  {name:<14} {level(before['loudness_lufs'])} → {level(after['loudness_lufs'])}       "
              f"{level(before['side_mid_db'])} → {level(after['side_mid_db'])}  {biggest}")


@app.command()
def mix(
    source: Annotated[Path, typer.Argument(metavar="STEMS_DIR|PROJECT", help="A folder of stems, or a project folder.")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write the mix (master) here (WAV/FLAC).")] = None,
    style: Annotated[str, typer.Option(help="pop, rock, metal, electronic, cinematic, orchestral, ambient or "
                                            "intimate: the target curve, space, glue, width.")] = "pop",
    target: Annotated[str | None, typer.Option(help="Master target for a stems folder (name or LUFS; none for no "
                                                    "master). A project uses its own master setting.")] = None,
    role: Annotated[list[str] | None, typer.Option("--role", help="PART=ROLE when the name misleads (repeatable): "
                                                   "vocals, lead, drums, bass, keys, guitar, strings, pad, fx, other.")] = None,
    bit_depth: Annotated[str, typer.Option(help="Output sample format: 16, 24 or float.")] = "24",
    author: AuthorOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Mix stems from their own balance, moving only what a measured problem asks for (each move with its reason)."""
    from trackwright.audio import check_output_path, export_audio, output_format, save_audio
    from trackwright.mix.mixer import mix_stems
    from trackwright.produce.stems import load_stems

    roles = _pairs(role, "--role")
    is_project = (source / "project.yaml").is_file()
    if not is_project and output is None:
        raise ParameterError("mix needs -o/--output FILE for a stems folder (or give a project folder)")
    if output is not None:
        check_output_path(output, [])
        output_format(output, bit_depth)
        _make_folder_of(output)
    with progress_bar("Mixing", quiet=quiet or _state["quiet"]) as progress:
        if is_project:
            from trackwright.project import Project
            from trackwright.project.operations import mix_project

            done = mix_project(Project.open(source), style=style, roles=roles, author=author, progress=progress)
            if output is not None:
                export_audio(done.master or done.mix, output, bit_depth=bit_depth)
            data: dict[str, Any] = {"source": str(source), "project": str(source), **done.to_dict()}
            warnings_seen = done.warnings
        else:
            stem_set = load_stems(source)
            stems, warnings_seen = stem_set.stems, list(stem_set.warnings)
            guessed = {name: guess.role for name, guess in stem_set.roles.items()}
            result = mix_stems(stems, style=style, roles={**guessed, **roles}, target=target, progress=progress)
            inputs = [p for p in source.iterdir() if p.is_file()]
            save_audio(result.audio, output, bit_depth=bit_depth, inputs=inputs)  # type: ignore[arg-type]
            warnings_seen = warnings_seen + result.warnings
            data = {"source": str(source), **result.to_dict(), "warnings": warnings_seen}
        if output is not None:
            data["output"] = str(output)
    if as_json:
        _print_json(data)
        return
    _warn(warnings_seen)
    _print_mix(source.name, data["plan"], data.get("balance"))
    if is_project:
        print(f"project {source}: version {data['version']} → {data['master'] or data['mix']}")
    elif data.get("master"):
        print(f"master: {data['master']['integrated_lufs']:.1f} LUFS, {data['master']['true_peak_dbtp']:.1f} dBTP")
    if output is not None:
        print(f"wrote {output}")


@app.command()
def rerender(
    midi_file: Annotated[Path, typer.Argument(metavar="MIDI", help="A Standard MIDI File.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder for one WAV per part (new or empty).")],
    instrument: Annotated[list[str] | None, typer.Option("--instrument", help="PART=INSTRUMENT (repeatable): a preset "
                                                         "(piano, strings, pad, brass, choir, drums, ms-strings…), "
                                                         "gm:N, drums:N, sf:PATH:BANK:PROGRAM or sfz:PATH.")] = None,
    humanize_seed: Annotated[int | None, typer.Option("--humanize", help="Humanise timing (≤10 ms) and velocity (±8) "
                                                      "with this seed.")] = None,
    legato_strings: Annotated[bool, typer.Option("--legato", help="Overlap the notes of sustained parts.")] = False,
    rate: Annotated[int, typer.Option("--rate", help="Sample rate, Hz.")] = 48000,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Re-render a MIDI file's parts with chosen instruments, one stem per part."""
    from trackwright.arrange.midi import load_midi
    from trackwright.audio import save_audio
    from trackwright.produce.expression import humanize, legato
    from trackwright.produce.instruments import render_parts

    if output.exists() and (not output.is_dir() or any(output.iterdir())):
        raise ParameterError(f"{output}: must be a new or empty folder")
    music = load_midi(midi_file)
    if legato_strings:
        music = legato(music)
    if humanize_seed is not None:
        music = humanize(music, seed=humanize_seed)
    with progress_bar("Rendering", quiet=quiet or _state["quiet"]) as progress:
        parts = render_parts(music, _pairs(instrument, "--instrument"), sample_rate=rate, progress=progress)
    output.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, audio in parts.items():
        path = output / f"{name}.wav"
        save_audio(audio, path, bit_depth="24")
        written[name] = str(path)
    if as_json:
        _print_json({"midi": str(midi_file), "parts": written, "sample_rate": rate})
        return
    for name, path in written.items():
        print(f"  {name:<12} {path}")


# --- stems in, separation, audio to MIDI (issue 5a) -----------------------------------------------
@app.command()
def separate(
    audio: Annotated[Path, typer.Argument(metavar="AUDIO", help="A mix (WAV, FLAC, OGG, AIFF, MP3).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder for the stems (NAME.wav each).")],
    method: Annotated[str, typer.Option(help="builtin (DSP: percussive, bass band, centre/sides; rough) or demucs "
                                             "(needs the [separation] extra and --model).")] = "builtin",
    model: Annotated[Path | None, typer.Option(help="Demucs weights already on disk: a .th or .safetensors file, "
                                                    "or a folder with NAME.yaml and its .th/.safetensors files "
                                                    "(nothing is downloaded).")] = None,
    bit_depth: Annotated[str, typer.Option(help="16, 24 or float (float keeps the exact sum).")] = "float",
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Split a mix into stems that sum to it (drums, bass, … and 'other' for the rest)."""
    from trackwright.audio import load_audio, output_format
    from trackwright.produce.separate import METHODS
    from trackwright.produce.separate import separate as split

    if method not in METHODS:
        raise ParameterError(f"--method must be one of {', '.join(METHODS)}, got {method!r}")
    output_format(output / "stem.wav", bit_depth)
    mix_audio = load_audio(audio)
    with progress_bar("Separating", quiet=quiet or _state["quiet"]) as progress:
        result = split(mix_audio, method=method, model=model, progress=progress)
    paths = result.save(output, bit_depth=bit_depth, inputs=[audio])
    if as_json:
        _print_json({"audio": str(audio), **result.to_dict(), "files": {n: str(p) for n, p in paths.items()}})
        return
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    for name, path in paths.items():
        print(f"  {name:<8} {result.roles[name]:<7} {path}")


@app.command()
def transcribe(
    source: Annotated[Path, typer.Argument(metavar="AUDIO|PROJECT", help="An audio file, or a project folder "
                                                                          "(each melodic stem).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="OUT.mid for a file; a folder for a project "
                                                                "(one PART.mid per melodic stem).")],
    monophonic: Annotated[bool, typer.Option("--mono", help="One note at a time (a bass line, a lead, a voice).")] = False,
    min_hz: Annotated[float | None, typer.Option(help="Ignore notes below this frequency, Hz.")] = None,
    max_hz: Annotated[float | None, typer.Option(help="Ignore notes above this frequency, Hz.")] = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Audio to MIDI with basic-pitch (onsets, velocities, pitch bends)."""
    from trackwright.audio import check_output_path, load_audio
    from trackwright.score import transcribe as tr

    with progress_bar("Transcribing", quiet=quiet or _state["quiet"]) as progress:
        if (source / "project.yaml").is_file():
            from trackwright.project.roles import project_roles
            from trackwright.project import Project

            project = Project.open(source)
            roles = {name: guess.role for name, guess in project_roles(project).items()}
            if not roles:
                raise ParameterError(f"{source}: the project has no stems to transcribe (import them with "
                                     "`trackwright new --stems`, or transcribe its mix file)")
            results = tr.transcribe_stems(project.source_stems(), roles, progress=progress)
            if not results:
                raise ParameterError(f"{source}: no melodic stem (roles: {', '.join(f'{n}={r}' for n, r in roles.items())})")
            if output.exists() and not output.is_dir():
                raise ParameterError(f"{output}: for a project, -o takes a folder")
            output.mkdir(parents=True, exist_ok=True)
            files = {name: tr.save_midi(result.to_midi(name=name), output / f"{name}.mid")
                     for name, result in results.items()}
        else:
            if output.suffix.lower() not in (".mid", ".midi"):
                raise ParameterError(f"{output}: -o takes a .mid file name")
            check_output_path(output, [source])
            result = tr.transcribe(load_audio(source), monophonic=monophonic, min_hz=min_hz, max_hz=max_hz,
                                   progress=progress)
            results = {source.stem: result}
            files = {source.stem: tr.save_midi(result.to_midi(name=source.stem), output)}
    if as_json:
        _print_json({"source": str(source), "parts": {
            name: {"midi": str(files[name]), "duration_s": r.duration_s, "notes": [n.to_dict() for n in r.notes]}
            for name, r in results.items()}})
        return
    for name, r in results.items():
        bent = sum(1 for n in r.notes if any(n.pitch_bends))
        print(f"  {name:<12} {len(r.notes):>5} notes ({bent} bent)  → {files[name]}")


@app.command()
def stems(
    source: Annotated[Path, typer.Argument(metavar="STEMS_DIR|PROJECT", help="A folder of stems or a project.")],
    set_role: Annotated[list[str] | None, typer.Option("--set", help="PART=ROLE, recorded in the project's "
                                                       "project.yaml (repeatable).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Each stem's role (vocals, lead, drums, bass, guitar, keys, strings, pad, fx, other) and why; for a
    project, also how the stems add up to the draft (residual, each stem's gain, polarity and delay)."""
    from trackwright.analysis.roles import RoleGuess
    from trackwright.analysis.stemsum import RESIDUAL_WARN_DB
    from trackwright.produce.stems import load_stems
    from trackwright.project.render import RESIDUAL_PART
    from trackwright.project.roles import project_roles, set_project_roles

    warnings_seen: list[str] = []
    found = None
    if (source / "project.yaml").is_file():
        from trackwright.project import Project

        project = Project.open(source)
        wanted = {}
        for item in set_role or []:
            name, sep, role = item.partition("=")
            if not sep or not name.strip() or not role.strip():
                raise ParameterError(f"--set takes PART=ROLE, got {item!r}")
            wanted[name.strip()] = role.strip().lower()
        roles = set_project_roles(project, wanted) if wanted else project_roles(project)
        found = project.stem_sum()
        if found is not None:
            warnings_seen = found.warnings()
            if found.left_db > RESIDUAL_WARN_DB:
                roles = {**roles, RESIDUAL_PART: RoleGuess("other", "residual", "what no stem holds "
                                                           f"({found.left_db:.1f} dB re the draft)")}
    else:
        if set_role:
            raise ParameterError("--set records roles in a project; for a stems folder rename the files instead")
        loaded = load_stems(source)
        roles, warnings_seen = loaded.roles, loaded.warnings
    if as_json:
        _print_json({"source": str(source), "roles": {n: g.to_dict() for n, g in roles.items()},
                     "stems_sum": None if found is None else found.to_dict(), "warnings": warnings_seen})
        return
    _warn(warnings_seen)
    width = max((len(n) for n in roles), default=4)
    for name, guess in roles.items():
        place = found.stems.get(name) if found is not None else None
        where = "" if place is None or place.as_given else (f"  [{_fmt(place.gain_db, ' dB')} in the draft"
                                          + (", reversed" if place.polarity < 0 else "")
                                          + (f", {place.delay_s * 1000:+.1f} ms" if place.delay_frames else "") + "]")
        print(f"  {name:<{width}}  {guess.role:<7}  {guess.source:<8}  {guess.reason}{where}")
    if found is not None:
        print(f"  the stems leave a {_fmt(found.residual_db, ' dB')} residual against the draft")


# --- creative notes -----------------------------------------------------------------------------

def _time_range(text: str) -> tuple[float, float]:
    """``"1:20-1:45"`` → (80.0, 105.0) seconds."""
    from trackwright.analysis.brief import parse_time

    pieces = [p for p in text.replace("–", "-").split("-") if p.strip()]
    if len(pieces) != 2:
        raise ParameterError(f"--at {text!r}: give a range like 1:20-1:45")
    start, end = (parse_time(p.strip(), "--at") for p in pieces)
    if end <= start:
        raise ParameterError(f"--at {text!r}: the range ends before it starts")
    return start, end


@app.command()
def note(
    project_dir: Annotated[Path, typer.Argument(metavar="PROJECT", help="A project folder (trackwright new).")],
    text: Annotated[str, typer.Argument(metavar="TEXT", help='The note, e.g. "make it feel more vulnerable".')],
    at: Annotated[str | None, typer.Option("--at", help="Apply where the note names no place: START-END, e.g. 1:20-1:45.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change; make no version.")] = False,
    separate: Annotated[bool, typer.Option("--separate", help="When the note names a part and the project has no "
                                                              "stems, split the draft first (built-in separator).")] = False,
    author: Annotated[str | None, typer.Option(help="Author of the new version.")] = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Turn a creative note into a new version: what changed, why, and the measured result."""
    from trackwright.project import Project
    from trackwright.revise.note import apply_note

    span = _time_range(at) if at else None
    project = Project.open(project_dir)
    with progress_bar("Revising", quiet=quiet or _state["quiet"]) as progress:
        result = apply_note(project, text, at=span, dry_run=dry_run, author=author, progress=progress,
                            separate=separate)
    if as_json:
        _print_json({"project": str(project_dir), "dry_run": dry_run, **result.to_dict()})
        return
    head = "dry run: no version made" if dry_run else f"version {result.version} (from {result.parent})"
    print(head)
    for line in result.explanation():
        print(line)


# --- production in projects: re-rendered parts, expression, drum layers (issue 5c) ------------------
@app.command()
def produce(
    project_dir: Annotated[Path, typer.Argument(metavar="PROJECT", help="A project folder with a MIDI source.")],
    instrument: Annotated[list[str] | None, typer.Option("--instrument", help="PART=PRESET (repeatable): re-render a "
                                                         "MIDI part (ms-strings, piano, pad, brass, choir, drums, "
                                                         "gm:N, sf:PATH:BANK:PROGRAM, sfz:PATH).")] = None,
    replace: Annotated[list[str] | None, typer.Option("--replace", help="PART=STEM (repeatable): the part replaces "
                                                      "that stem's audio (STEM 'draft': the whole draft).")] = None,
    arc: Annotated[str | None, typer.Option("--arc", help="auto (dynamics swell and breathe along the sections) "
                                                          "or none.")] = None,
    humanize_seed: Annotated[int | None, typer.Option("--humanize", help="Humanise timing (≤10 ms) and velocity "
                                                      "(±8) with this seed.")] = None,
    legato_notes: Annotated[bool | None, typer.Option("--legato/--no-legato", help="Overlap the parts' notes.")] = None,
    layer: Annotated[str | None, typer.Option("--layer-drums", help="STEM[:KIT]: layer a Hydrogen kit on that "
                                                                    "part's kicks and snares.")] = None,
    author: AuthorOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Rebuild parts from the project's MIDI with better instruments and expression: a new version, rendered."""
    from trackwright.project import Project
    from trackwright.project.operations import produce_project

    if arc is not None and arc not in ("auto", "none"):
        raise ParameterError(f"--arc must be auto or none, got {arc!r}")
    with progress_bar("Producing", quiet=quiet or _state["quiet"]) as progress:
        result = produce_project(Project.open(project_dir), instruments=_pairs(instrument, "--instrument"),
                                 replaces=_pairs(replace, "--replace"), arc=arc, humanize_seed=humanize_seed,
                                 legato=legato_notes, layer_drums=layer, author=author, progress=progress)
    if as_json:
        _print_json({"project": str(project_dir), **result.to_dict()})
        return
    _warn(result.warnings)
    print(f"version {result.version} (from {result.parent})")
    for line in result.changes:
        print(f"  {line}")
    print(f"→ {result.master or result.mix}")


# --- catalogue scale: many drafts at once ---------------------------------------------------------
@app.command()
def batch(
    inputs: Annotated[list[str], typer.Argument(metavar="INPUT...", help="Folders, globs, audio files, or a CSV/JSON "
                                                "manifest (path, title, brief, target, stems, midi).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The batch folder (rerun into it to resume).")],
    do: Annotated[str, typer.Option("--do", help="Steps, comma-separated: analyze, qc, master, deliver.")] = "analyze,qc",
    target: Annotated[str | None, typer.Option("--target", help="Target for master/deliver (name or LUFS).")] = None,
    workers: Annotated[int | None, typer.Option("--workers", help="Local worker processes (default: as many as "
                                                "cores and memory allow).")] = None,
    ray: Annotated[str | None, typer.Option("--ray", metavar="auto|local|ADDRESS", help="Run on a Ray cluster "
                                            "([distributed] extra): auto joins this machine's, local starts one.")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 when any track failed.")] = False,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Analyse, judge (ready / needs work / reject), de-duplicate, master or deliver a whole catalogue."""
    from trackwright.batch import run_batch

    with progress_bar("Batch", quiet=quiet or _state["quiet"]) as progress:
        result = run_batch(inputs, output, steps=do, target=target, workers=workers, ray=ray, progress=progress)
    if as_json:
        _print_json(result.to_dict())
    else:
        for path, error in result.failures:
            print(f"failed: {path}: {error}", file=sys.stderr)
        steps = " · ".join(f"{name} {c['done']} done, {c['skipped']} skipped" + (f", {c['failed']} failed"
                           if c["failed"] else "") for name, c in result.counts.items() if name != "fingerprint")
        verdicts = ", ".join(f"{n} {v}" for v, n in result.verdicts.items())
        print(f"{result.tracks} tracks in {result.wall_s:.1f} s ({result.workers}); {steps}")
        if verdicts:
            print(f"verdicts: {verdicts}; near-duplicate groups: {len(result.duplicate_groups)}")
        print(f"catalogue: {result.catalog.html}")
    if strict and result.failures:
        raise typer.Exit(1)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status instead of exiting (for tests and scripts)."""
    command = typer.main.get_command(app)
    args = sys.argv[1:] if argv is None else list(argv)
    _state.update(debug="--debug" in args, quiet=False)
    for stream in (sys.stdout, sys.stderr):  # a file name that is not UTF-8 is printed with \xNN escapes
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    try:
        # one BLAS thread: the commands' matrix products are small (block filters, features), and
        # OpenBLAS's waiting threads doubled analyze's CPU time (and wall time on a busy machine)
        with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
            warnings.simplefilter("ignore")
            result = command.main(args=args, prog_name="trackwright", standalone_mode=False)
        return result if isinstance(result, int) else 0
    except typer.Exit as exit_:
        return int(exit_.exit_code or 0)
    except typer.Abort:
        print("error: aborted", file=sys.stderr)
        return 130
    except NoArgsIsHelpError as err:
        print(err.format_message() if hasattr(err, "format_message") else err)
        return 0
    except ClickException as err:
        print(f"error: {' '.join(err.format_message().split())}", file=sys.stderr)
        return 1
    except TrackwrightError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except OSError as err:  # a read-only folder, a full disk, a name too long…: the user's to fix
        print(f"error: {os_error_line(err)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # noqa: BLE001 - the last line of defence
        if _state["debug"]:
            traceback.print_exc()
        print(f"internal error: {type(err).__name__}: {err} (re-run with --debug for the traceback)",
              file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
