"""Making versions: one home for every request that turns a project's latest version into a new one.

Each operation here does the same four steps, in one place: hold the project's lock, change the
latest recipe (through a stage: :mod:`~trackwright.arrange.fit`, :mod:`~trackwright.arrange.ops`,
:mod:`~trackwright.score.compose`, :mod:`~trackwright.mix.mixer`,
:mod:`~trackwright.produce.production`, :mod:`~trackwright.project.grid`), commit it with a
message saying what changed, and render it (cached). The command line, the demo, the review room and the notes engine all come here; the
stages below never see a project.

>>> project = Project.open("song")                                        # doctest: +SKIP
>>> made = fit_project(project, 30.0, hits=[12.0])                         # doctest: +SKIP
>>> made.version.number, made.rendered.mix                                 # doctest: +SKIP
(4, PosixPath('song/renders/3f…/mix.wav'))
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trackwright.analysis.analyze import Analysis
from trackwright.analysis.beat_grid import GridOverride
from trackwright.analysis.features import compute_features
from trackwright.arrange import ops as arrange_ops
from trackwright.arrange.fit import FitResult, fit_audio
from trackwright.arrange.grid import grid_from_analysis
from trackwright.arrange.midi import edit_midi
from trackwright.arrange.ops import EditResult
from trackwright.arrange.splice import plan_splices
from trackwright.audio import Audio, load_audio
from trackwright.errors import ParameterError
from trackwright.mix.mixer import MixPlan, balance_report, part_balance, plan_mix
from trackwright.produce.instruments import part_names, resolve_instrument
from trackwright.produce.production import (
    MIDI_PREFIX,
    DrumLayer,
    PartProduction,
    Production,
    production_changes,
)
from trackwright.progress import ProgressCallback, ignore_progress
from trackwright.project.grid import updated_grid
from trackwright.project.recipe import Recipe, VersionInfo
from trackwright.project.render import (
    MIDI_FILE,
    RESIDUAL_PART,
    SCORE_MIDI_FILE,
    RenderResult,
    place_parts,
    render_score_ops,
)
from trackwright.project.roles import part_roles
from trackwright.project.store import Project
from trackwright.score.compose import ComposeResult, compose_midi

#: A change to the latest recipe: the new recipe and the version's message.
RecipeChange = Callable[[Recipe], tuple[Recipe, str]]


@dataclass(frozen=True)
class NewVersion:
    """A version made by :func:`make_version`.

    Attributes:
        version: the new version's :class:`~trackwright.project.recipe.VersionInfo`.
        parent: the version it was made from.
        rendered: its render.
    """

    version: VersionInfo
    parent: int
    rendered: RenderResult


def commit_version(project: Project, change: RecipeChange, *, author: str | None = None) -> VersionInfo:
    """Apply ``change`` to the latest recipe and commit the result (not rendered), under the lock.

    ``change`` may raise (a :class:`~trackwright.errors.TrackwrightError`): then nothing is committed.
    """
    with project.lock():
        recipe, message = change(project.recipe())
        return project.commit(recipe, message, author=author)


def make_version(project: Project, change: RecipeChange, *, author: str | None = None,
                 progress: ProgressCallback | None = None) -> NewVersion:
    """:func:`commit_version`, then render the new version; all under the project's lock, so no
    other command can commit in between.

    A version whose render fails (an input that passed its checks but does not play, a full
    disk, an interrupt) is withdrawn before the lock is released: nobody has seen it, and the
    latest version stays one that renders.
    """
    with project.lock():
        parent = project.latest()
        info = commit_version(project, change, author=author)
        try:
            rendered = project.render(info.number, progress=progress)
        except BaseException:
            with contextlib.suppress(Exception):  # the render's own error is the one to report
                project.withdraw(info.number)
            raise
    return NewVersion(info, parent, rendered)


# -- arrangement: fit to a scene, beat-grid edits ----------------------------------------------------
@dataclass(frozen=True)
class FitVersion:
    """A version made by :func:`fit_project`: the fit (edit list, hits, jumps) and the new version."""

    fit: FitResult
    made: NewVersion


def fit_project(project: Project, duration_s: float, *, hits: Sequence[float] = (), ending: str = "natural",
                author: str | None = None, progress: ProgressCallback | None = None) -> FitVersion:
    """Cut the draft to ``duration_s`` seconds with downbeats on ``hits`` (seconds); a new version, rendered."""
    report = progress or ignore_progress
    found: list[FitResult] = []

    def change(recipe: Recipe) -> tuple[Recipe, str]:
        audio = project.source_audio()
        report(0.1, "bar likeness")
        result = fit_audio(audio, duration_s, hits=hits, ending=ending, analysis=project.analysis_on_grid(),
                           features=compute_features(audio))
        found.append(result)
        message = (f"fit to {duration_s:g} s" + (f", hits at {', '.join(f'{h:g}' for h in hits)} s" if hits else "")
                   + f", {ending} ending")
        return recipe.replace(arrangement=result.edits), message

    made = make_version(project, change, author=author,
                        progress=lambda f, label: report(0.5 + 0.5 * f, label or "rendering"))
    return FitVersion(found[0], made)


@dataclass(frozen=True)
class ArrangeVersion:
    """A version made by :func:`arrange_project`: the edit (its message and edit list) and the version."""

    edit: EditResult
    version: VersionInfo


def arrange_project(project: Project, operation: str, target: str, *, author: str | None = None,
                    **options: Any) -> ArrangeVersion:
    """One beat-grid edit (:func:`trackwright.arrange.ops.apply_operation`) as a new version (not rendered)."""
    found: list[EditResult] = []

    def change(recipe: Recipe) -> tuple[Recipe, str]:
        grid = grid_from_analysis(project.analysis_on_grid(), project.source_audio())
        result = arrange_ops.apply_operation(operation, recipe.arrangement, grid, target, **options)
        found.append(result)
        return recipe.replace(arrangement=result.edits), result.message

    info = commit_version(project, change, author=author)
    return ArrangeVersion(found[0], info)


@dataclass(frozen=True)
class GridVersion:
    """A version made by :func:`grid_project`: the recipe's new ``grid:`` block (None: as heard),
    the draft's analysis on it, and the version (not rendered)."""

    grid: GridOverride | None
    analysis: Analysis
    version: VersionInfo


def grid_project(project: Project, *, bpm: float | None = None, half: bool = False, double: bool = False,
                 metre: str | None = None, downbeat_s: float | None = None, clear: bool = False,
                 author: str | None = None) -> GridVersion:
    """Set the beat grid every later stage uses (:func:`~trackwright.project.grid.updated_grid`:
    a tempo in BPM, half or double time, a metre such as ``"6/8"``, a bar line at ``downbeat_s``
    seconds of the draft, or ``clear`` for the grid as heard); a new version, not rendered.

    The new grid is tried on the draft's analysis before it is committed, so a bar line outside
    the draft is refused with nothing committed.
    """
    found: list[tuple[GridOverride | None, Analysis]] = []

    def change(recipe: Recipe) -> tuple[Recipe, str]:
        grid = updated_grid(recipe.grid, bpm=bpm, half=half, double=double, metre=metre, downbeat_s=downbeat_s,
                            clear=clear)
        if grid == recipe.grid:
            raise ParameterError(f"the beat grid is already {grid.describe() if grid else 'as heard'}")
        found.append((grid, project.analysis().with_grid(grid)))
        return recipe.replace(grid=grid), f"beat grid: {grid.describe() if grid else 'as heard'}"

    info = commit_version(project, change, author=author)
    return GridVersion(found[0][0], found[0][1], info)


# -- composition ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ComposeVersion:
    """A version made by :func:`compose_project`: what the operation did and the new version."""

    result: ComposeResult
    made: NewVersion


def compose_project(project: Project, op: Mapping[str, Any], *, author: str | None = None,
                    progress: ProgressCallback | None = None) -> ComposeVersion:
    """Add a composition operation (validated, ``{"op", "seed", options…}``) to the recipe's ``score:``;
    a new version, rendered (``score.mid``, ``score.wav``). The operation is tried on the project's
    MIDI first, so a version that cannot render is never committed."""
    midi = project.source_midi()
    if midi is None:
        raise ParameterError(f"{project.path}: the project has no MIDI to compose on (trackwright new … --midi FILE)")

    def change(recipe: Recipe) -> tuple[Recipe, str]:
        ops = [*recipe.score, dict(op)]
        _, results = compose_midi(midi, ops)  # refuses a bad operation before committing
        return recipe.replace(score=tuple(ops)), results[-1].message

    made = make_version(project, change, author=author, progress=progress)
    ops = list(project.recipe(made.version.number).score)
    _, results = compose_midi(made.rendered.midi or midi, ops)
    return ComposeVersion(results[-1], made)


# -- the parts as a version places them ----------------------------------------------------------
def placed_parts(project: Project, recipe: Recipe | None = None, *, warnings: list[str] | None = None
                 ) -> dict[str, Audio]:
    """A version's parts as its render places them, before automation and the mix.

    The stems where the draft has them, edited by the arrangement with their gain/pan/mute, the
    residual when it plays as a part (:func:`~trackwright.project.render.place_parts`), with the
    recipe's production applied (replaced stems gone, ``midi:<part>`` added, drum layer): what
    :func:`mix_project` plans a mix for. ``recipe`` defaults to the latest; warnings are
    appended to ``warnings``.
    """
    recipe = recipe if recipe is not None else project.recipe()
    warnings = warnings if warnings is not None else []
    draft = project.source_audio()
    plan = plan_splices(draft, recipe.arrangement)
    stems = project.source_stems(draft)
    midi = project.source_midi()
    with tempfile.TemporaryDirectory(prefix="trackwright-produce-") as name:
        folder = Path(name)
        if midi is not None and recipe.production is not None:
            edit_midi(midi, plan).save(str(folder / MIDI_FILE))
            if recipe.score:
                warnings.extend(render_score_ops(folder / MIDI_FILE, recipe.score, folder / SCORE_MIDI_FILE, None,
                                                 sample_rate=draft.sample_rate))
        done = place_parts(recipe, draft, stems, plan, folder, placement=project.stem_sum(draft, stems),
                           analysis=project.analysis, warnings=warnings)
    return done.parts


# -- mixing --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProjectMix:
    """A project version made by :func:`mix_project`.

    Attributes:
        version: the new version's number.
        plan: the decisions stored in its recipe's ``mix:`` block.
        mix: the rendered mix file; master: the master file (None without a master target).
        warnings: one line each.
        balance: each part's loudness, octave bands and width before and after
            (:func:`~trackwright.mix.mixer.balance_report`).
    """

    version: int
    plan: MixPlan
    mix: Path
    master: Path | None
    warnings: list[str] = field(default_factory=list)
    balance: dict[str, dict[str, Any]] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"version": self.version, "plan": self.plan.to_dict(), "mix": str(self.mix),
                "master": None if self.master is None else str(self.master), "warnings": list(self.warnings),
                "balance": self.balance}


def mix_project(project: Project, *, style: str = "pop", roles: Mapping[str, str] | None = None,
                author: str | None = None, progress: ProgressCallback | None = None) -> ProjectMix:
    """Plan a mix of a project's parts (as its latest version places them), store it as a new version.

    The plan goes into the recipe's ``mix:`` block (revise it there, or with ``Recipe.replace``);
    the project's own ``master`` setting does the mastering.
    """
    report = progress or ignore_progress
    planned: list[MixPlan] = []
    before: dict[str, Any] = {}

    def change(recipe: Recipe) -> tuple[Recipe, str]:
        report(0.05, "placing the stems")
        # the parts as the arrangement places them (and the production rebuilds them), before any
        # earlier mix decisions
        stems = placed_parts(project, recipe)
        if not stems:
            raise ParameterError(f"{project.path}: has no stems to mix (make it with `trackwright new --stems DIR`, "
                                 "or rebuild parts from its MIDI with `trackwright produce`)")
        report(0.3, "deciding the mix")
        chosen = {name: guess.role for name, guess in part_roles(project, recipe).items() if name in stems}
        chosen.update(roles or {})  # --role on the command line wins for this mix (plan_mix checks its names)
        planned.append(plan_mix(stems, style=style, roles=chosen, target="none", keep=[RESIDUAL_PART]))
        before.update(part_balance(stems))  # measured now, so the parts need not stay in memory
        return recipe.replace(mix=planned[0]), f"mix ({style})"

    made = make_version(project, change, author=author, progress=lambda f, label: report(0.4 + 0.6 * f, label))
    rendered = made.rendered
    stored = project.recipe(made.version.number).mix  # the plan as the recipe file holds it
    report(0.95, "measuring the balance")
    after = part_balance({name: load_audio(path) for name, path in rendered.stems.items() if name in before})
    return ProjectMix(made.version.number, stored or planned[0], rendered.mix, rendered.master,
                      list(rendered.warnings), balance_report(before, after))


# -- production ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProduceResult:
    """A version made by :func:`produce_project`.

    Attributes:
        version: the new version; parent: the one it was made from.
        production: the new ``production:`` block; changes: what changed, in words.
        mix, master: the rendered files (master None without a master target).
        warnings: one line each.
    """

    version: int
    parent: int
    production: Production
    changes: list[str]
    mix: Path
    master: Path | None
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"version": self.version, "parent": self.parent, "production": self.production.to_dict(),
                "changes": list(self.changes), "mix": str(self.mix),
                "master": None if self.master is None else str(self.master), "warnings": list(self.warnings)}


def _production_from_request(recipe: Recipe, midi: Path | None, instruments: Mapping[str, str],
                             replaces: Mapping[str, str], arc: str | None, humanize_seed: int | None,
                             legato: bool | None, layer_drums: str | None, blend_db: float) -> Production:
    """The recipe's production with a ``trackwright produce`` request applied (validated)."""
    current = recipe.production or Production()
    named = [*instruments, *(k for k in replaces if k not in instruments)]
    if named:
        have = part_names(midi)
        unknown = [name for name in named if name not in have]
        if unknown:
            raise ParameterError(f"no part named {unknown[0]!r} in the project's MIDI (parts: {', '.join(have)})")
    for name, spec in instruments.items():  # a SoundFont or SFZ file that is not there never reaches a version
        resolve_instrument(spec).check()
    parts = dict(current.parts)
    for name in named:
        old = parts.get(name)
        if name not in instruments and old is None:
            raise ParameterError(f"--replace {name}=…: part {name} needs an instrument too (--instrument {name}=PRESET)")
        fields = old.to_dict() if old is not None else {"instrument": instruments[name]}
        if name in instruments:
            fields["instrument"] = instruments[name]
        if name in replaces:
            fields["replaces"] = replaces[name]
        parts[name] = PartProduction.from_dict(fields, f"part {name}")
    for name in (named or list(parts)):
        fields = parts[name].to_dict()
        if arc is not None:
            fields["arc"] = arc
        if humanize_seed is not None:
            fields["humanize_seed"] = humanize_seed
        if legato is not None:
            fields["legato"] = legato
        parts[name] = PartProduction.from_dict(fields, f"--arc/--humanize/--legato ({name})")
    drums = current.drums
    if layer_drums is not None:
        prefix = MIDI_PREFIX if layer_drums.startswith(MIDI_PREFIX) else ""
        stem, _, kit = layer_drums[len(prefix):].partition(":")
        drums = DrumLayer.from_dict({"stem": prefix + stem, "kit": kit or None, "blend_db": blend_db}, "--layer-drums")
    return Production(parts, drums)


def produce_project(project: Project, *, instruments: Mapping[str, str] | None = None,
                    replaces: Mapping[str, str] | None = None, arc: str | None = None,
                    humanize_seed: int | None = None, legato: bool | None = None,
                    layer_drums: str | None = None, blend_db: float = -3.0, author: str | None = None,
                    progress: ProgressCallback | None = None) -> ProduceResult:
    """Rebuild parts of a project's latest version from its MIDI; commit the new version and render it.

    Parameters
    ----------
    project : Project
        A project with a MIDI source.
    instruments : mapping, optional
        MIDI part → instrument (preset or text form, see :func:`~trackwright.produce.instruments.resolve_instrument`).
    replaces : mapping, optional
        MIDI part → stem name (or ``draft``) whose audio it replaces.
    arc, humanize_seed, legato : optional
        Expression for the parts named in ``instruments``/``replaces`` (every re-rendered part when
        none is named): ``auto``/``none``, a seed, True/False; None keeps each part's setting.
    layer_drums : str, optional
        ``STEM`` or ``STEM:KIT``: layer a Hydrogen kit on that part's kicks and snares at ``blend_db``.

    Raises
    ------
    ParameterError
        One line: no MIDI, an unknown part, a part to replace with no instrument, no change.
    """
    report = progress or ignore_progress
    instruments = {k.lower(): v for k, v in (instruments or {}).items()}
    replaces = {k.lower(): v for k, v in (replaces or {}).items()}
    midi = project.source_midi()
    if midi is None and (instruments or replaces):
        raise ParameterError(f"{project.path}: has no MIDI to re-render (make the project with --midi FILE)")
    changes: list[str] = []

    def change(recipe: Recipe) -> tuple[Recipe, str]:
        production = _production_from_request(recipe, midi, instruments, replaces, arc, humanize_seed, legato,
                                              layer_drums, blend_db)
        new = recipe.replace(production=production)
        changes.extend(production_changes(recipe.production, new.production))
        if not changes:
            raise ParameterError("nothing to change: the latest version already has this production")
        report(0.05, "committing")
        return new, "; ".join(changes)

    made = make_version(project, change, author=author, progress=lambda f, label: report(0.1 + 0.9 * f, label))
    rendered = made.rendered
    stored = project.recipe(made.version.number).production or Production()
    return ProduceResult(made.version.number, made.parent, stored, changes, rendered.mix, rendered.master,
                         list(rendered.warnings))
