"""What a creative note asks for, as data: directives on musical dimensions, with a scope.

Conventions
-----------
* A :class:`Directive` moves one *dimension* (see :data:`DIMENSIONS`) in a *direction*
  (+1 more, −1 less) by an *amount* from 0 to 1 (0.3 "a bit", 0.6 plain, 1.0 "much more").
  ``subtle`` asks for low-salience techniques ("tension, but don't make it obvious").
* A :class:`Scope` is where it applies: the whole piece, a time range (seconds), named sections
  ("chorus 2", "intro", "the ending") or an arc ("hold back *until* the last section": the
  change applies before the pivot and releases after it).
* Every directive keeps the words that caused it (``words``), so the explanation can cite them.
* The same schema validates the answers of an optional language model (see
  :mod:`trackwright.revise.llm`): ``Directive.from_dict`` is the one gate for both.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from trackwright.analysis.findings import clock
from trackwright.errors import ParameterError, reject_unknown_fields

#: The dimensions a note can move, each with what "more" means.
DIMENSIONS: dict[str, str] = {
    "energy": "more drive, louder, denser rhythm (arousal)",
    "valence": "brighter, happier harmony and colour (negative: sadder, darker)",
    "tension": "more unresolved harmony, pedal points, suspensions, rising filters",
    "intimacy": "closer, more exposed, vulnerable: fewer parts, softer, drier, a solo voice in front",
    "size": "bigger, wider, more reverb and low end, fuller orchestration",
    "warmth": "more low-mid body, softer highs, gentle saturation",
    "brightness": "more high-frequency presence and air",
    "density": "more parts and notes at once (negative: sparser, less busy)",
    "pace": "faster tempo or busier rhythm",
    "restraint": "holding back: lower level and density, saving the peak",
    "loudness": "louder overall level",
    "clearance": "room for dialogue or a voice: less energy and density in 300 Hz–3 kHz, no lead melody",
    "presence": "one part (``part``) more present: louder, further forward (negative: quieter, or gone at amount 1)",
}
#: Part roles a note can name (matched to the project's stems and MIDI tracks by the techniques).
PART_ROLES = ("drums", "percussion", "bass", "guitar", "piano", "keys", "strings", "pads", "synth", "vocals",
              "lead", "brass", "choir", "organ", "woodwinds")
SCOPE_KINDS = ("all", "range", "sections", "until", "from")


@dataclass(frozen=True)
class Scope:
    """Where a directive applies.

    Attributes
    ----------
    kind : {"all", "range", "sections", "until", "from"}
        ``range``: ``start_s``–``end_s``; ``sections``: the named ``sections``;
        ``until``: everything before the pivot (a time in ``start_s`` or a section in
        ``sections``); ``from``: everything from the pivot on.
    """

    kind: str = "all"
    start_s: float | None = None
    end_s: float | None = None
    sections: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in SCOPE_KINDS:
            raise ParameterError(f"scope.kind must be one of {', '.join(SCOPE_KINDS)}, got {self.kind!r}")
        for name in ("start_s", "end_s"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0):
                raise ParameterError(f"scope.{name} must be a time in seconds >= 0, got {value!r}")
        if self.kind == "range" and (self.start_s is None or self.end_s is None or self.end_s <= self.start_s):
            raise ParameterError(f"scope range must have start_s < end_s, got {self.start_s}–{self.end_s}")
        if self.kind == "sections" and not self.sections:
            raise ParameterError("scope of kind 'sections' names no section")
        if self.kind in ("until", "from") and self.start_s is None and not self.sections:
            raise ParameterError(f"scope '{self.kind}' needs a time or a section as its pivot")

    def describe(self) -> str:
        """The scope in words: "the whole piece", "0:40–0:52", "chorus 2", "until the last section"."""
        if self.kind == "all":
            return "the whole piece"
        if self.kind == "range":
            return f"{clock(self.start_s or 0.0)}–{clock(self.end_s or 0.0)}"
        pivot = " and ".join(self.sections) if self.sections else clock(self.start_s or 0.0)
        if self.kind == "sections":
            return pivot
        return f"{self.kind} {pivot}"

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind}
        if self.start_s is not None:
            data["start_s"] = round(self.start_s, 3)
        if self.end_s is not None:
            data["end_s"] = round(self.end_s, 3)
        if self.sections:
            data["sections"] = list(self.sections)
        return data

    @classmethod
    def from_dict(cls, data: Any, where: str = "scope") -> Scope:
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise ParameterError(f"{where}: must be a mapping with a 'kind'")
        reject_unknown_fields(data, ("kind", "start_s", "end_s", "sections"), where)
        sections = data.get("sections") or ()
        if isinstance(sections, str) or not all(isinstance(s, str) for s in sections):
            raise ParameterError(f"{where}.sections: must be a list of section names")
        try:
            return cls(str(data.get("kind", "all")), data.get("start_s"), data.get("end_s"), tuple(sections))
        except ParameterError as err:
            raise ParameterError(f"{where}: {err}") from err


@dataclass(frozen=True)
class Directive:
    """Move ``dimension`` by ``direction`` × ``amount`` within ``scope``.

    ``words`` are the words of the note that asked for it.
    """

    dimension: str
    direction: int
    amount: float = 0.6
    subtle: bool = False
    scope: Scope = field(default_factory=Scope)
    words: str = ""
    part: str | None = None

    def __post_init__(self) -> None:
        if (self.dimension == "presence") != (self.part is not None):
            raise ParameterError("a 'presence' directive names exactly one part (and only it does)")
        if self.part is not None and self.part not in PART_ROLES:
            raise ParameterError(f"part must be one of {', '.join(PART_ROLES)}, got {self.part!r}")
        if self.dimension not in DIMENSIONS:
            raise ParameterError(f"dimension must be one of {', '.join(DIMENSIONS)}, got {self.dimension!r}")
        if self.direction not in (-1, 1):
            raise ParameterError(f"direction must be +1 or -1, got {self.direction!r}")
        if isinstance(self.amount, bool) or not isinstance(self.amount, (int, float)) or not 0 < self.amount <= 1:
            raise ParameterError(f"amount must be a number in (0, 1], got {self.amount!r}")

    @property
    def signed(self) -> float:
        """``direction × amount``, halved when subtle."""
        return self.direction * self.amount * (0.5 if self.subtle else 1.0)

    def describe(self) -> str:
        """E.g. "more tension (a bit, subtly) until the last section"."""
        size = "a bit" if self.amount < 0.45 else ("much" if self.amount > 0.8 else "")
        how = ", ".join(w for w in (size, "subtly" if self.subtle else "") if w)
        word = "more" if self.direction > 0 else "less"
        if self.part is not None:
            word = f"{self.part} {'more present' if self.direction > 0 else 'out' if self.amount >= 1 else 'quieter'}"
            where = "" if self.scope.kind == "all" else f" in {self.scope.describe()}" if self.scope.kind in (
                "range", "sections") else f" {self.scope.describe()}"
            return f"{word}{f' ({how})' if how else ''}{where}"
        where = "" if self.scope.kind == "all" else f" in {self.scope.describe()}" if self.scope.kind in (
            "range", "sections") else f" {self.scope.describe()}"
        return f"{word} {self.dimension}{f' ({how})' if how else ''}{where}"

    def to_dict(self) -> dict[str, Any]:
        data = {"dimension": self.dimension, "direction": self.direction, "amount": round(self.amount, 3),
                "subtle": self.subtle, "scope": self.scope.to_dict(), "words": self.words}
        if self.part is not None:
            data["part"] = self.part
        return data

    @classmethod
    def from_dict(cls, data: Any, where: str = "directive") -> Directive:
        """Validate plain data (from JSON, a recipe, or a language model's answer)."""
        if not isinstance(data, Mapping):
            raise ParameterError(f"{where}: must be a mapping with dimension and direction")
        reject_unknown_fields(data, ("dimension", "direction", "amount", "subtle", "scope", "words", "part"), where)
        direction = data.get("direction")
        if isinstance(direction, str) and direction.strip() in ("+", "more", "+1", "up"):
            direction = 1
        elif isinstance(direction, str) and direction.strip() in ("-", "less", "-1", "down"):
            direction = -1
        subtle = data.get("subtle", False)
        if not isinstance(subtle, bool):
            raise ParameterError(f"{where}.subtle: must be true or false, got {subtle!r}")
        try:
            return cls(str(data.get("dimension")), direction, data.get("amount", 0.6), subtle,  # type: ignore[arg-type]
                       Scope.from_dict(data.get("scope"), f"{where}.scope"), str(data.get("words", "")),
                       None if data.get("part") is None else str(data.get("part")))
        except ParameterError as err:
            message = str(err)
            raise ParameterError(message if message.startswith(where) else f"{where}: {message}") from err


@dataclass(frozen=True)
class Interpretation:
    """What a note was understood to ask for.

    Attributes
    ----------
    note : str
        The note as given.
    directives : tuple of Directive
    understood : tuple of str
        The phrases that produced directives or scopes.
    not_understood : tuple of str
        Content words left over, so the user sees what was ignored.
    holds : tuple of str
        Dimensions the note asks to keep as they are ("more energy but not louder").
    """

    note: str
    directives: tuple[Directive, ...]
    understood: tuple[str, ...] = ()
    not_understood: tuple[str, ...] = ()
    source: str = "built-in"
    holds: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"note": self.note, "source": self.source, "directives": [d.to_dict() for d in self.directives],
                "holds": list(self.holds), "understood": list(self.understood),
                "not_understood": list(self.not_understood)}

    def summary(self) -> str:
        """One line: what will change, and what was not understood."""
        wanted = "; ".join([d.describe() for d in self.directives] + [f"keep {h} as it is" for h in self.holds]) \
            or "nothing I can change"
        missed = f" (not understood: {', '.join(repr(w) for w in self.not_understood)})" if self.not_understood else ""
        return wanted + missed
