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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from trackwright.analysis.findings import clock
from trackwright.errors import ParameterError, reject_unknown_fields

#: The dimensions a note can move, each with what "more" means.
DIMENSIONS: dict[str, str] = {
    "energy": "more drive: louder, punchier, brighter (arousal)",
    "valence": "brighter, happier harmony and colour (negative: sadder, darker)",
    "tension": "more unresolved harmony, pedal points, suspensions, a darkened filter rise",
    "intimacy": "closer, more exposed, vulnerable: fewer parts, softer, narrower, a solo voice in front",
    "size": "bigger, wider, more reverb and low end, fuller orchestration",
    "warmth": "more low-mid body, softer highs, gentle saturation",
    "brightness": "more high-frequency presence and air",
    "density": "more parts and notes at once (negative: sparser, less busy)",
    "pace": "faster tempo (``quantity``: the tempo change, %)",
    "restraint": "holding back: lower level and density, saving the peak",
    "loudness": "louder overall level (``quantity``: dB)",
    "clearance": "room for dialogue or a voice: less energy and density in 300 Hz–3 kHz, no lead melody",
    "presence": "one part (``part``) more present: louder, further forward (negative: quieter, or gone at amount 1)",
    "width": "a wider stereo image (negative: narrower, towards mono)",
    "punch": "sharper attacks, more transient snap (negative: glued, compressed)",
    "dynamics": "more dynamic range: an expander opens the loud/soft contrast (negative: compressed, flatter)",
    "reverb": "wetter: more reverb and ambience (negative: drier)",
    "key": "a higher key (``quantity``: semitones)",
    "fade_in": "a fade-in at the start (``quantity``: seconds; negative: none)",
    "fade_out": "a fade-out at the end (``quantity``: seconds; negative: none)",
    "length": "longer (negative: shorter; a section scope cuts, shortens or extends that section; "
              "``quantity``: seconds or bars by ``unit``; ``absolute``: the length to reach)",
    "repeat": "the scope's section played once more",
    "build": "a build into the scope: a rising ramp and a riser over the bars before it",
    "variation": "the scope varied: reharmonised where the score is heard, else a key lift and a change of parts",
    **{name: f"more energy in {lo:g}–{hi:g} Hz ({what})" for name, (lo, hi, what) in {
        "rumble": (20, 40, "rumble"), "sub": (20, 60, "sub bass"), "low_end": (20, 150, "low end, boom"),
        "mud": (200, 500, "low mids, mud"), "mids": (500, 2000, "mids, honk"),
        "clarity": (1000, 4000, "presence, clarity"), "harshness": (2000, 6000, "upper mids, harshness, bite"),
        "top": (5000, 16000, "top end, highs"), "air": (10000, 20000, "air")}.items()},
}
#: Frequency regions a note can name (``dimension`` → band edges, Hz).
REGIONS: dict[str, tuple[float, float]] = {
    "rumble": (20.0, 40.0), "sub": (20.0, 60.0), "low_end": (20.0, 150.0), "mud": (200.0, 500.0),
    "mids": (500.0, 2000.0), "clarity": (1000.0, 4000.0), "harshness": (2000.0, 6000.0), "top": (5000.0, 16000.0),
    "air": (10000.0, 20000.0),
}
#: Units a directive's ``quantity`` may carry.
UNITS = ("dB", "%", "st", "s", "bars", "fraction")
#: Part roles a note can name (matched to the project's stems and MIDI tracks by the techniques).
PART_ROLES = ("drums", "percussion", "bass", "guitar", "piano", "keys", "strings", "pads", "synth", "vocals",
              "lead", "brass", "choir", "organ", "woodwinds", "kick", "snare", "hats")
SCOPE_KINDS = ("all", "range", "sections", "until", "from", "last", "first", "fraction", "drop")
#: What a hold allows of its dimension: no change, no rise, no fall.
HOLD_KINDS = ("same", "not_up", "not_down")


@dataclass(frozen=True)
class Scope:
    """Where a directive applies.

    Attributes
    ----------
    kind : {"all", "range", "sections", "until", "from", "last", "first", "fraction", "drop"}
        ``range``: ``start_s``–``end_s``; ``sections``: the named ``sections``;
        ``until``: everything before the pivot (a time in ``start_s`` or a section in
        ``sections``); ``from``: everything from the pivot on; ``last`` / ``first``: the last or
        first ``seconds`` of the version; ``fraction``: that share of its length (``fraction``
        = (start, end), 0–1: "the first half" is (0, 0.5)); ``drop``: where the energy rises most.
    """

    kind: str = "all"
    start_s: float | None = None
    end_s: float | None = None
    sections: tuple[str, ...] = ()
    seconds: float | None = None
    fraction: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if self.kind not in SCOPE_KINDS:
            raise ParameterError(f"scope.kind must be one of {', '.join(SCOPE_KINDS)}, got {self.kind!r}")
        for name in ("start_s", "end_s", "seconds"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                      or not math.isfinite(value) or value < 0):
                raise ParameterError(f"scope.{name} must be a time in seconds >= 0, got {value!r}")
        if self.kind == "range" and (self.start_s is None or self.end_s is None or self.end_s <= self.start_s):
            raise ParameterError(f"scope range must have start_s < end_s, got {self.start_s}–{self.end_s}")
        if self.kind == "sections" and not self.sections:
            raise ParameterError("scope of kind 'sections' names no section")
        if self.kind in ("until", "from") and self.start_s is None and not self.sections:
            raise ParameterError(f"scope '{self.kind}' needs a time or a section as its pivot")
        if self.kind in ("last", "first") and not self.seconds:
            raise ParameterError(f"scope '{self.kind}' needs seconds > 0")
        if self.kind == "fraction":
            a, b = self.fraction or (None, None)
            if a is None or b is None or not 0.0 <= a < b <= 1.0:
                raise ParameterError(f"scope fraction must be (start, end) with 0 <= start < end <= 1, got {self.fraction}")

    def describe(self) -> str:
        """The scope in words: "the whole piece", "0:40–0:52", "chorus 2", "until the last section"."""
        if self.kind == "all":
            return "the whole piece"
        if self.kind == "range":
            return f"{clock(self.start_s or 0.0)}–{clock(self.end_s or 0.0)}"
        if self.kind in ("last", "first"):
            return f"the {self.kind} {self.seconds:g} s"
        if self.kind == "fraction":
            a, b = self.fraction or (0.0, 1.0)
            return {(0.0, 0.5): "the first half", (0.5, 1.0): "the second half"}.get((a, b), f"{a:.0%}–{b:.0%} of it")
        if self.kind == "drop":
            return "the drop"
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
        if self.seconds is not None:
            data["seconds"] = round(self.seconds, 3)
        if self.fraction is not None:
            data["fraction"] = [round(v, 4) for v in self.fraction]
        return data

    @classmethod
    def from_dict(cls, data: Any, where: str = "scope") -> Scope:
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise ParameterError(f"{where}: must be a mapping with a 'kind'")
        reject_unknown_fields(data, ("kind", "start_s", "end_s", "sections", "seconds", "fraction"), where)
        sections = data.get("sections") or ()
        if isinstance(sections, str) or not all(isinstance(s, str) for s in sections):
            raise ParameterError(f"{where}.sections: must be a list of section names")
        fraction = data.get("fraction")
        if fraction is not None:
            if isinstance(fraction, (str, bytes)) or not isinstance(fraction, Sequence) or len(fraction) != 2 or \
                    not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in fraction):
                raise ParameterError(f"{where}.fraction: must be [start, end], shares of the length (0–1)")
            fraction = (float(fraction[0]), float(fraction[1]))
        try:
            return cls(str(data.get("kind", "all")), data.get("start_s"), data.get("end_s"), tuple(sections),
                       data.get("seconds"), fraction)
        except ParameterError as err:
            raise ParameterError(f"{where}: {err}") from err


@dataclass(frozen=True)
class Directive:
    """Move ``dimension`` by ``direction`` × ``amount`` within ``scope``.

    ``words`` are the words of the note that asked for it. ``quantity`` (in ``unit``) is an
    amount the note stated ("up 2 dB", "10 % faster", "a semitone", "the last 10 seconds" of a
    fade); with ``absolute`` it is the value to reach ("down to 30 seconds", "two bars").
    """

    dimension: str
    direction: int
    amount: float = 0.6
    subtle: bool = False
    scope: Scope = field(default_factory=Scope)
    words: str = ""
    part: str | None = None
    quantity: float | None = None
    unit: str | None = None
    absolute: bool = False

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
        if self.quantity is not None:
            if isinstance(self.quantity, bool) or not isinstance(self.quantity, (int, float)) or \
                    not math.isfinite(self.quantity) or self.quantity <= 0:
                raise ParameterError(f"quantity must be a number > 0 (the direction carries the sign), "
                                     f"got {self.quantity!r}")
            if self.unit not in UNITS:
                raise ParameterError(f"a quantity needs a unit, one of {', '.join(UNITS)}; got {self.unit!r}")

    @property
    def signed(self) -> float:
        """``direction × amount``, halved when subtle."""
        return self.direction * self.amount * (0.5 if self.subtle else 1.0)

    def describe(self) -> str:
        """E.g. "more tension (a bit, subtly) until the last section"."""
        size = "a touch" if self.amount < 0.2 else "a bit" if self.amount < 0.45 else ("much" if self.amount > 0.8 else "")
        if self.quantity is not None:
            size = f"{'to ' if self.absolute else 'by '}{self.quantity:g} {self.unit}"
        how = ", ".join(w for w in (size, "subtly" if self.subtle else "") if w)
        word = "more" if self.direction > 0 else "less"
        where = "" if self.scope.kind == "all" else f" in {self.scope.describe()}" if self.scope.kind in (
            "range", "sections", "last", "first", "fraction", "drop") else f" {self.scope.describe()}"
        if self.part is not None:
            word = f"{self.part} {'more present' if self.direction > 0 else 'out' if self.amount >= 1 else 'quieter'}"
            return f"{word}{f' ({how})' if how else ''}{where}"
        name = self.dimension.replace("_", " ")
        return f"{word} {name}{f' ({how})' if how else ''}{where}"

    def to_dict(self) -> dict[str, Any]:
        data = {"dimension": self.dimension, "direction": self.direction, "amount": round(self.amount, 3),
                "subtle": self.subtle, "scope": self.scope.to_dict(), "words": self.words}
        if self.part is not None:
            data["part"] = self.part
        if self.quantity is not None:
            data.update(quantity=round(self.quantity, 4), unit=self.unit)
            if self.absolute:
                data["absolute"] = True
        return data

    @classmethod
    def from_dict(cls, data: Any, where: str = "directive") -> Directive:
        """Validate plain data (from JSON, a recipe, or a language model's answer)."""
        if not isinstance(data, Mapping):
            raise ParameterError(f"{where}: must be a mapping with dimension and direction")
        reject_unknown_fields(data, ("dimension", "direction", "amount", "subtle", "scope", "words", "part",
                                     "quantity", "unit", "absolute"), where)
        direction = data.get("direction")
        if isinstance(direction, str) and direction.strip() in ("+", "more", "+1", "up"):
            direction = 1
        elif isinstance(direction, str) and direction.strip() in ("-", "less", "-1", "down"):
            direction = -1
        for flag in ("subtle", "absolute"):
            if not isinstance(data.get(flag, False), bool):
                raise ParameterError(f"{where}.{flag}: must be true or false, got {data.get(flag)!r}")
        try:
            return cls(str(data.get("dimension")), direction, data.get("amount", 0.6),  # type: ignore[arg-type]
                       data.get("subtle", False), Scope.from_dict(data.get("scope"), f"{where}.scope"),
                       str(data.get("words", "")), None if data.get("part") is None else str(data.get("part")),
                       data.get("quantity"), None if data.get("unit") is None else str(data.get("unit")),
                       data.get("absolute", False))
        except ParameterError as err:
            message = str(err)
            raise ParameterError(message if message.startswith(where) else f"{where}: {message}") from err


@dataclass(frozen=True)
class Hold:
    """A constraint of the note: ``dimension`` (or the part ``part``, dimension "presence") must
    stay the same, or not rise, or not fall (``kind``), in the note's scope. "Not louder" is
    ``Hold("loudness", "not_up")``; "keep the drums" is ``Hold("presence", "same", "drums")``."""

    dimension: str
    kind: str = "same"
    part: str | None = None
    words: str = ""

    def __post_init__(self) -> None:
        if self.dimension not in DIMENSIONS and self.dimension != "peaks":
            raise ParameterError(f"hold dimension must be one of {', '.join(DIMENSIONS)} or peaks, "
                                 f"got {self.dimension!r}")
        if self.kind not in HOLD_KINDS:
            raise ParameterError(f"hold kind must be one of {', '.join(HOLD_KINDS)}, got {self.kind!r}")
        if (self.dimension == "presence") != (self.part is not None):
            raise ParameterError("a hold on 'presence' names exactly one part (and only it does)")

    def forbids(self, direction: int) -> bool:
        """Whether a move of ``direction`` (+1 / −1) breaks this hold."""
        return self.kind == "same" or (self.kind == "not_up") == (direction > 0)

    def describe(self) -> str:
        what = self.part if self.part else self.dimension.replace("_", " ")
        return {"same": f"keep {what} as it is", "not_up": f"no more {what}",
                "not_down": f"no less {what}"}[self.kind]

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"dimension": self.dimension, "kind": self.kind, "words": self.words}
        if self.part is not None:
            data["part"] = self.part
        return data

    @classmethod
    def from_dict(cls, data: Any, where: str = "hold") -> Hold:
        if not isinstance(data, Mapping):
            raise ParameterError(f"{where}: must be a mapping with dimension and kind")
        reject_unknown_fields(data, ("dimension", "kind", "part", "words"), where)
        try:
            return cls(str(data.get("dimension")), str(data.get("kind", "same")),
                       None if data.get("part") is None else str(data.get("part")), str(data.get("words", "")))
        except ParameterError as err:
            raise ParameterError(f"{where}: {err}") from err


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
    holds : tuple of Hold
        What the note asks to keep ("more energy but not louder", "keep the drums").
    refusal : str or None
        Why the note cannot be carried out as written (a contradiction, an impossible time, a
        note too long to read reliably); the engine answers with it and makes no version.
    """

    note: str
    directives: tuple[Directive, ...]
    understood: tuple[str, ...] = ()
    not_understood: tuple[str, ...] = ()
    source: str = "built-in"
    holds: tuple[Hold, ...] = ()
    refusal: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"note": self.note, "source": self.source, "directives": [d.to_dict() for d in self.directives],
                "holds": [h.to_dict() for h in self.holds], "understood": list(self.understood),
                "not_understood": list(self.not_understood), "refusal": self.refusal}

    def summary(self) -> str:
        """One line: what will change, and what was not understood."""
        wanted = "; ".join([d.describe() for d in self.directives] + [h.describe() for h in self.holds]) \
            or "nothing I can change"
        missed = f" (not understood: {', '.join(repr(w) for w in self.not_understood)})" if self.not_understood else ""
        return wanted + missed
