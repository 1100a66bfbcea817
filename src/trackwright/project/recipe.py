"""The recipe: everything a version of a project *is*, as one human-readable YAML file.

A recipe names its sources (by relative path and sha256), the arrangement (an
:class:`~trackwright.arrange.edl.EditList` in source seconds), each stem's level, mute and pan,
and the master (a delivery target or none). Rendering a recipe always gives the same audio,
so a recipe *is* its version: ``recipes/v0003.yaml`` looks like this::

    format: 1
    version:
      number: 3
      parent: 2
      author: ana
      created_utc: '2026-11-25T18:46:30Z'
      message: bass down 2 dB
    sources:
      sources/draft.wav: 9f86d0…
      sources/stems/bass.wav: 2c26b4…
    arrangement:
      segments:
      - {start_s: 0.0, end_s: 31.95}
      - {start_s: 47.9, end_s: 182.4}
      fade_out_s: 2.0
    parts:
      bass: {gain_db: -2.0, mute: false, pan: 0.0}
    master:
      target: streaming
      ceiling_dbtp: null

A ``grid:`` block, written only when the user set one (``trackwright grid``), corrects the beat
grid heard in the draft (:class:`~trackwright.analysis.beat_grid.GridOverride`); every stage
that edits on bars reads the draft's analysis on that grid::

    grid: {bpm: 123.0, metre: 4/4, downbeat_s: 0.42}

Conventions
-----------
* Levels in dB, pan from −1 (left) to +1 (right), times in seconds.
* Every validation error is one line naming the file and the field:
  ``recipes/v0003.yaml: parts.bass.gain_db: must be a number, got 'loud'``.
* A recipe (or project) written by a newer trackwright says so and is refused; see
  :data:`FORMAT_VERSION`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import numbers
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import yaml

from trackwright.analysis.beat_grid import GridOverride
from trackwright.arrange.edl import EditList
from trackwright.errors import ParameterError, ProjectError, reject_unknown_fields
from trackwright.mix.automation import Move, moves_from_list
from trackwright.mix.mixer import MixPlan
from trackwright.mix.targets import CEILING_RANGE, TARGETS, Target, resolve_target
from trackwright.produce.production import Production
from trackwright.score.compose import validate_ops

#: The project format this trackwright reads and writes (project.yaml, project.db, recipes).
FORMAT_VERSION = 1
#: Part gain range, dB.
GAIN_RANGE_DB = (-60.0, 24.0)
#: Pan range: −1 hard left, 0 centre, +1 hard right.
PAN_RANGE = (-1.0, 1.0)

STEMS_FOLDER = "sources/stems/"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_MIX_FIELD = "mix"  # the mix: block (MixPlan), optional
_TOP_FIELDS = ("format", "version", "sources", "arrangement", "parts", "master", "score", "automation")
_PRODUCTION_FIELD = "production"  # the production: block (Production), optional
_GRID_FIELD = "grid"  # the grid: block (GridOverride), optional


def newer_format_message(where: str, found: int) -> str:
    """The one line that refuses a project written by a newer trackwright."""
    return (f"{where}: was written by a newer trackwright (project format {found}); "
            f"this trackwright reads format {FORMAT_VERSION}: upgrade trackwright")


def check_format(value: Any, where: str, field_name: str = "format") -> int:
    """Validate a ``format`` number: an integer 1…FORMAT_VERSION; newer ones raise ProjectError."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ParameterError(f"{where}: {field_name}: must be a whole number, got {value!r}")
    if value > FORMAT_VERSION:
        raise ProjectError(newer_format_message(where, value))
    if value < 1:
        raise ParameterError(f"{where}: {field_name}: must be 1 or more, got {value!r}")
    return value


def _number(value: Any, field_name: str, bounds: tuple[float, float] | None = None, unit: str = "") -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ParameterError(f"{field_name}: must be a number, got {value!r}")
    if bounds is not None and not bounds[0] <= value <= bounds[1]:
        raise ParameterError(f"{field_name}: must be between {bounds[0]:+g} and {bounds[1]:+g}{unit}, got {value!r}")
    return float(value)


def _mapping(value: Any, field_name: str, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ParameterError(f"{field_name}: must be a mapping of {what}, got {type(value).__name__}")
    return value


@dataclass(frozen=True)
class VersionInfo:
    """One version in a project's history.

    Attributes:
        number: 1, 2, 3…
        parent: the version this one was made from (None for the first).
        author: who made it.
        created_utc: ISO-8601 time in UTC, e.g. ``2026-11-25T18:46:30Z``.
        message: what changed, in words.
        recipe_sha256: sha256 of the recipe file (empty until written).
    """

    number: int
    parent: int | None
    author: str
    created_utc: str
    message: str
    recipe_sha256: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return dataclasses.asdict(self)

    def block(self) -> dict[str, Any]:
        """The ``version:`` block of a recipe file (everything but the file's own hash)."""
        return {"number": self.number, "parent": self.parent, "author": self.author,
                "created_utc": self.created_utc, "message": self.message}

    @classmethod
    def from_block(cls, data: Any, field_name: str = "version") -> VersionInfo:
        """Parse a recipe's ``version:`` block; errors name the field."""
        data = _mapping(data, field_name, "number, parent, author, created_utc, message")
        reject_unknown_fields(data, ("number", "parent", "author", "created_utc", "message"), field_name)
        number = data.get("number")
        if isinstance(number, bool) or not isinstance(number, int) or number < 1:
            raise ParameterError(f"{field_name}.number: must be a whole number >= 1, got {number!r}")
        parent = data.get("parent")
        if parent is not None and (isinstance(parent, bool) or not isinstance(parent, int)
                                   or not 1 <= parent < number):
            raise ParameterError(f"{field_name}.parent: must be an earlier version number or null, got {parent!r}")
        created = data.get("created_utc")
        if isinstance(created, dt.datetime):  # an unquoted timestamp in a hand-written file
            created = utc_iso(created)
        texts = {}
        for key, value in (("author", data.get("author", "")), ("created_utc", created),
                           ("message", data.get("message", ""))):
            if not isinstance(value, str):
                raise ParameterError(f"{field_name}.{key}: must be text, got {value!r}")
            texts[key] = value
        return cls(number, parent, texts["author"], texts["created_utc"], texts["message"])


def utc_iso(moment: dt.datetime | None = None) -> str:
    """``moment`` (default now) as ISO-8601 UTC with a ``Z``, to the second."""
    moment = moment or dt.datetime.now(dt.timezone.utc)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class PartSettings:
    """How one stem sits in the mix.

    Attributes:
        gain_db: level change in dB, −60…+24 (0 = as delivered).
        mute: leave the stem out.
        pan: −1 (left) … 0 (as delivered) … +1 (right); a balance control on stereo stems.
    """

    gain_db: float = 0.0
    mute: bool = False
    pan: float = 0.0

    def __post_init__(self) -> None:
        _check_part(self.gain_db, self.mute, self.pan, "part")

    @property
    def is_default(self) -> bool:
        """True when the part plays exactly as delivered."""
        return self.gain_db == 0.0 and not self.mute and self.pan == 0.0

    def to_dict(self) -> dict[str, Any]:
        """The recipe form (all three fields)."""
        return {"gain_db": float(self.gain_db), "mute": bool(self.mute), "pan": float(self.pan)}

    @classmethod
    def from_dict(cls, data: Any, field_name: str = "part") -> PartSettings:
        """Parse ``{gain_db, mute, pan}`` (each optional); errors name the field."""
        if data is None:
            return cls()
        data = _mapping(data, field_name, "gain_db, mute, pan")
        reject_unknown_fields(data, ("gain_db", "mute", "pan"), field_name)
        gain, mute, pan = data.get("gain_db", 0.0), data.get("mute", False), data.get("pan", 0.0)
        _check_part(gain, mute, pan, field_name)
        return cls(float(gain), bool(mute), float(pan))


def _check_part(gain_db: Any, mute: Any, pan: Any, field_name: str) -> None:
    _number(gain_db, f"{field_name}.gain_db", GAIN_RANGE_DB, " dB")
    if not isinstance(mute, bool):
        raise ParameterError(f"{field_name}.mute: must be true or false, got {mute!r}")
    _number(pan, f"{field_name}.pan", PAN_RANGE)


@dataclass(frozen=True)
class MasterSettings:
    """The master: a delivery target (a name from :mod:`trackwright.mix.targets` or a loudness
    in LUFS) and an optional true-peak ceiling in dBTP; ``target=None`` means no mastering."""

    target: str | float | None = None
    ceiling_dbtp: float | None = None

    def __post_init__(self) -> None:
        target, ceiling = _check_master(self.target, self.ceiling_dbtp, "master")
        object.__setattr__(self, "target", target)
        object.__setattr__(self, "ceiling_dbtp", ceiling)

    def resolved(self) -> Target | None:
        """The :class:`~trackwright.mix.targets.Target` to master to, or None."""
        if self.target is None:
            return None
        return resolve_target(self.target, ceiling_dbtp=self.ceiling_dbtp)

    @property
    def label(self) -> str:
        """The target in words: ``streaming``, ``-16 LUFS`` or ``none``."""
        if self.target is None:
            return "none"
        return f"{self.target:g} LUFS" if isinstance(self.target, float) else str(self.target)

    def to_dict(self) -> dict[str, Any]:
        """The recipe form."""
        return {"target": self.target, "ceiling_dbtp": self.ceiling_dbtp}

    @classmethod
    def from_dict(cls, data: Any, field_name: str = "master") -> MasterSettings:
        """Parse ``{target, ceiling_dbtp}``; errors name the field."""
        if data is None:
            return cls()
        data = _mapping(data, field_name, "target, ceiling_dbtp")
        reject_unknown_fields(data, ("target", "ceiling_dbtp"), field_name)
        target, ceiling = _check_master(data.get("target"), data.get("ceiling_dbtp"), field_name)
        return cls(target, ceiling)


def _check_master(target: Any, ceiling: Any, field_name: str) -> tuple[str | float | None, float | None]:
    if ceiling is not None:
        ceiling = _number(ceiling, f"{field_name}.ceiling_dbtp", CEILING_RANGE, " dBTP")
    if target is None:
        return None, ceiling
    if isinstance(target, bool) or not isinstance(target, (str, int, float)):
        raise ParameterError(f"{field_name}.target: must be a target name or a loudness in LUFS, got {target!r}")
    try:
        resolve_target(target)
    except ParameterError as err:
        raise ParameterError(f"{field_name}.target: {err}") from err
    if isinstance(target, str) and target.strip().lower() in TARGETS:
        return target.strip().lower(), ceiling
    text = str(target).strip().removesuffix("LUFS").removesuffix("lufs").strip()
    return float(text), ceiling


class _Flow(dict):
    """A mapping written on one line (segments, parts)."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(
    _Flow, lambda dumper, data: dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=True)
)


def stem_name(path: str) -> str:
    """The part name of a stem source path: its file stem, lower-cased."""
    return PurePosixPath(path).stem.lower()


@dataclass(frozen=True)
class Recipe:
    """One version of a project: arrangement, parts, master and the sources they apply to.

    Attributes:
        arrangement: which stretches of the draft play, in what order (source seconds).
        parts: stem name → :class:`PartSettings`; stems not named play as delivered.
        master: :class:`MasterSettings` (target None = no mastering).
        mix: the mix decisions (:class:`~trackwright.mix.mixer.MixPlan`: style, bus and each
            part's role, fader, high-pass, unmasking cuts, compressor, pan, width, reverb send), or
            None: stems summed as delivered with only ``parts`` applied. A mapping in the
            recipe-file form is parsed.
        sources: relative path → sha256 of every source file.
        version: the version block when the recipe was read from (or committed to) a project;
            not part of the music, so ignored by ``==``.
        score: composition operations on the MIDI, ``{op, seed, options…}`` each, applied in order
            (:mod:`trackwright.score.compose`); empty by default.
        automation: :class:`~trackwright.mix.automation.Move` s on parts (or ``"*"``, every part)
            over stretches of the output, applied after the edit; empty by default.
        production: MIDI parts re-rendered with instruments and expression, and a drum layer
            (:class:`~trackwright.produce.production.Production`), or None (nothing rebuilt). A
            mapping in the recipe-file form is parsed; an empty one is None.
        grid: the user's correction of the draft's beat grid
            (:class:`~trackwright.analysis.beat_grid.GridOverride`: bpm, half, double, metre,
            downbeat_s), or None (the grid as heard). A mapping in the recipe-file form is parsed;
            an empty one is None.

    Frozen: make changed copies with :meth:`replace` or :meth:`with_part`.
    """

    arrangement: EditList
    parts: Mapping[str, PartSettings] = field(default_factory=dict)
    master: MasterSettings = field(default_factory=MasterSettings)
    sources: Mapping[str, str] = field(default_factory=dict)
    version: VersionInfo | None = field(default=None, compare=False)
    mix: MixPlan | None = field(default=None, kw_only=True)
    score: tuple[Mapping[str, Any], ...] = ()
    automation: tuple[Move, ...] = field(default=(), kw_only=True)
    production: Production | None = field(default=None, kw_only=True)
    grid: GridOverride | None = field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        object.__setattr__(self, "automation", tuple(
            m if isinstance(m, Move) else moves_from_list([m], "automation")[0] for m in self.automation))

        object.__setattr__(self, "score", tuple(validate_ops(list(self.score))))
        if not isinstance(self.arrangement, EditList):
            raise ParameterError(f"arrangement: must be an EditList, got {type(self.arrangement).__name__}")
        for name, part in self.parts.items():
            if not isinstance(part, PartSettings):
                raise ParameterError(f"parts.{name}: must be PartSettings, got {type(part).__name__}")
        object.__setattr__(self, "parts", dict(sorted(self.parts.items())))
        object.__setattr__(self, "sources", dict(sorted(self.sources.items())))
        _check_sources(self.sources, "sources")
        _check_part_names(self.parts, self.sources)
        if self.mix is not None:
            plan = self.mix.to_dict() if isinstance(self.mix, MixPlan) else self.mix
            object.__setattr__(self, "mix", MixPlan.from_dict(_plain(MixPlan.from_dict(plan, _MIX_FIELD).to_dict()),
                                                              _MIX_FIELD))
        if self.production is not None:
            production = Production.from_dict(self.production, _PRODUCTION_FIELD)
            if self.sources:
                production.check_stems(sorted(self.stem_sources))
            object.__setattr__(self, "production", None if production.is_empty else production)
        if self.grid is not None:
            grid = self.grid if isinstance(self.grid, GridOverride) else GridOverride.from_dict(self.grid, _GRID_FIELD)
            object.__setattr__(self, "grid", None if grid.is_empty else grid)

    # -- copies -------------------------------------------------------------------------------
    def replace(self, **changes: Any) -> Recipe:
        """A copy with some fields changed (``dataclasses.replace``); the version block is dropped."""
        changes.setdefault("version", None)
        return dataclasses.replace(self, **changes)

    def with_part(self, name: str, **changes: Any) -> Recipe:
        """A copy with stem ``name``'s settings changed, e.g. ``with_part("bass", gain_db=-2)``."""
        parts = dict(self.parts)
        parts[name] = dataclasses.replace(self.part(name), **changes)
        return self.replace(parts=parts)

    def part(self, name: str) -> PartSettings:
        """Settings of stem ``name`` (defaults when the recipe does not name it)."""
        return self.parts.get(name, PartSettings())

    @property
    def stem_sources(self) -> dict[str, str]:
        """Part name → source path of every stem."""
        return {stem_name(p): p for p in self.sources if p.startswith(STEMS_FOLDER)}

    # -- comparison ---------------------------------------------------------------------------
    def music(self) -> dict[str, Any]:
        """The canonical form of what is heard: arrangement (merged), non-default parts, master.

        Two recipes with equal ``music()`` and equal sources render the same audio.
        """
        return {"arrangement": self.arrangement.merged().to_dict(),
                "parts": {name: part.to_dict() for name, part in self.parts.items() if not part.is_default},
                "master": self.master.to_dict(), **({"score": _plain(list(self.score))} if self.score else {}),
                **({_MIX_FIELD: _plain(self.mix.to_dict())} if self.mix is not None else {}),
                **({"automation": [m.to_dict() for m in self.automation]} if self.automation else {}),
                **({_PRODUCTION_FIELD: _plain(self.production.to_dict())} if self.production is not None else {}),
                **({_GRID_FIELD: self.grid.to_dict()} if self.grid is not None else {})}

    def same_music(self, other: Recipe) -> bool:
        """True when both recipes sound the same (same music and sources)."""
        return self.music() == other.music() and dict(self.sources) == dict(other.sources)

    # -- dict / YAML --------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The recipe file's content as plain data."""
        out: dict[str, Any] = {"format": FORMAT_VERSION}
        if self.version is not None:
            out["version"] = self.version.block()
        out["sources"] = dict(self.sources)
        out["arrangement"] = _plain(self.arrangement.to_dict())
        out["parts"] = {name: part.to_dict() for name, part in self.parts.items()}
        out["master"] = self.master.to_dict()
        if self.grid is not None:
            out[_GRID_FIELD] = self.grid.to_dict()
        if self.mix is not None:
            out[_MIX_FIELD] = _plain(self.mix.to_dict())
        if self.score:
            out["score"] = _plain([dict(op) for op in self.score])
        if self.automation:
            out["automation"] = [m.to_dict() for m in self.automation]
        if self.production is not None:
            out[_PRODUCTION_FIELD] = _plain(self.production.to_dict())
        return out

    @classmethod
    def from_dict(cls, data: Any, *, where: str = "recipe") -> Recipe:
        """Build from plain data; a bad field raises ParameterError ``"{where}: field: problem"``.

        A ``format`` newer than :data:`FORMAT_VERSION` raises ProjectError.
        """
        try:
            return cls._from_dict(data, where)
        except ProjectError:
            raise
        except ParameterError as err:
            message = str(err)
            raise ParameterError(message if message.startswith(f"{where}:") else f"{where}: {message}") from err

    @classmethod
    def _from_dict(cls, data: Any, where: str) -> Recipe:
        if not isinstance(data, Mapping):
            raise ParameterError(f"must be a mapping with {', '.join(_TOP_FIELDS)}, got {type(data).__name__}")
        if "format" not in data:
            raise ParameterError("format: missing (a recipe starts with `format: 1`)")
        check_format(data["format"], where)
        reject_unknown_fields(data, (*_TOP_FIELDS, _MIX_FIELD, _PRODUCTION_FIELD, _GRID_FIELD), "")
        version = VersionInfo.from_block(data["version"]) if data.get("version") is not None else None
        sources = dict(_mapping(data.get("sources") or {}, "sources", "path: sha256"))
        _check_sources(sources, "sources")
        if "arrangement" not in data:
            raise ParameterError("arrangement: missing")
        arrangement = EditList.from_dict(data["arrangement"], where="arrangement")
        raw_parts = _mapping(data.get("parts") or {}, "parts", "stem name: {gain_db, mute, pan}")
        parts = {}
        for name, value in raw_parts.items():
            if not isinstance(name, str) or not name:
                raise ParameterError(f"parts: stem names must be text, got {name!r}")
            parts[name] = PartSettings.from_dict(value, f"parts.{name}")
        _check_part_names(parts, sources)
        master = MasterSettings.from_dict(data.get("master"), "master")
        mix = data.get(_MIX_FIELD)
        return cls(arrangement, parts, master, sources, version, tuple(validate_ops(data.get("score"))), mix=mix,
                   automation=moves_from_list(data.get("automation"), "automation"),
                   production=data.get(_PRODUCTION_FIELD), grid=data.get(_GRID_FIELD))

    def to_yaml(self) -> str:
        """The human-readable recipe file."""
        data = self.to_dict()
        data["arrangement"] = {key: ([_Flow(s) for s in value] if key == "segments" else value)
                               for key, value in data["arrangement"].items()}
        data["parts"] = {name: _Flow(value) for name, value in data["parts"].items()}
        if _GRID_FIELD in data:
            data[_GRID_FIELD] = _Flow(data[_GRID_FIELD])
        head = "# trackwright recipe"
        if self.version is not None:
            head += f", version {self.version.number}"
        body = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False,
                         width=100)
        return f"{head}\n{body}"

    @classmethod
    def from_yaml(cls, text: str, *, where: str = "recipe") -> Recipe:
        """Parse a recipe file's text; errors start with ``where`` (the file name)."""
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            line = f" at line {mark.line + 1}" if mark is not None else ""
            problem = getattr(err, "problem", None) or "unreadable"
            raise ParameterError(f"{where}: not valid YAML ({problem}{line})") from err
        if data is None:
            raise ParameterError(f"{where}: is empty")
        return cls.from_dict(data, where=where)


def _plain(value: Any) -> Any:
    """``value`` with numpy (or other) number subclasses turned into plain int/float, for YAML."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    return value


def _check_sources(sources: Mapping[str, Any], field_name: str) -> None:
    for path, digest in sources.items():
        pure = PurePosixPath(str(path))
        if not isinstance(path, str) or pure.is_absolute() or ".." in pure.parts or pure.parts[:1] != ("sources",):
            raise ParameterError(f"{field_name}: {path!r}: must be a path inside the project's sources/ folder")
        if not isinstance(digest, str) or not _SHA256.match(digest):
            raise ParameterError(f"{field_name}.{path}: must be a sha256 (64 hex digits), got {digest!r}")


def _check_part_names(parts: Mapping[str, PartSettings], sources: Mapping[str, str]) -> None:
    if not sources:
        return
    stems = sorted(stem_name(p) for p in sources if p.startswith(STEMS_FOLDER))
    for name in parts:
        if name not in stems:
            have = f"stems: {', '.join(stems)}" if stems else "this project has no stems"
            raise ParameterError(f"parts.{name}: no stem named {name!r} in the sources ({have})")
