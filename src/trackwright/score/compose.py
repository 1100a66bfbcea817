"""The composition operations' registry: one entry point for the recipe, the CLI and the notes engine.

Example
-------
>>> from trackwright.score.compose import compose, load_score
>>> result = compose(load_score("song.mid"), "reharmonise", seed=3, rate=0.5)  # doctest: +SKIP
>>> result.score.to_midi().save("reharmonised.mid"), result.violations  # doctest: +SKIP

Conventions
-----------
* An operation is ``{"op": name, "seed": int, option: value…}`` in a recipe's ``score:`` list;
  :func:`validate_ops` checks names, options and types and returns the canonical form.
* Sections: ``bars: "9-16"`` (1-based, inclusive) or ``start_s`` / ``end_s`` (seconds); default
  the whole song.
* Same score, operation, options and seed → the same MIDI bytes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import mido
import numpy as np

from trackwright.errors import ParameterError
from trackwright.score import harmony_ops, melody_ops
from trackwright.score.symbolic import Score, chords_at_bars, load_score
from trackwright.score.voice_leading import Violation, check_parts

_SECTION = {"bars": (str, None), "start_s": (float, None), "end_s": (float, None)}


@dataclass(frozen=True)
class Operation:
    """One registered operation: its function, its options ``{name: (type, default)}`` and a summary."""

    name: str
    function: Callable[..., tuple[Score, list[str], list[str], bool]]
    options: dict[str, tuple[type, Any]]
    summary: str


OPERATIONS: dict[str, Operation] = {op.name: op for op in (
    Operation("reharmonise", harmony_ops.reharmonise, {"rate": (float, 0.5), "kinds": (list, list(harmony_ops.SUBSTITUTIONS))},
              "substitute chords (relative, parallel, secondary dominants, modal interchange, suspensions, added tones)"),
    Operation("delay_resolution", harmony_ops.delay_resolution, {"how": (str, "extend")},
              "hold off the tonic: extend the chord before it, deceptive cadence, or a suspension"),
    Operation("pedal", harmony_ops.pedal_point, {"degree": (str, "tonic")}, "bass pedal point on the tonic or dominant"),
    Operation("change_mode", harmony_ops.change_mode, {"mode": (str, None)},
              "major, minor, dorian, lydian, mixolydian or phrygian on the same tonic, melody contour kept"),
    Operation("revoice", harmony_ops.revoice, {"spacing": (str, "close"), "register": (int, None),
                                                "inversion": (str, "any")},
              "re-voice block chords (close/spread, register, inversion) with smooth voice leading"),
    Operation("vary_melody", melody_ops.vary_melody, {"technique": (str, "ornament"), "amount": (float, 0.5),
                                                      "step": (int, -1)},
              "ornaments, rhythmic displacement, contour variation or sequence; motif kept"),
    Operation("transpose", harmony_ops.transpose_section, {"semitones": (int, 2)},
              "transpose (modulate) a section by semitones"),
    Operation("texture", harmony_ops.texture, {"change": (str, "thicken")}, "thin or thicken the texture"),
)}


@dataclass(frozen=True)
class ComposeResult:
    """What an operation did.

    Attributes:
        score: the new score.
        op: the operation's name; ``options`` its canonical options (with seed).
        written: names of the parts it wrote.
        changes: what changed, in words.
        violations: voice-leading violations in the written parts.
        key_before, key_after: estimated keys (``"C major"``).
        chords_before, chords_after: chord label at each bar's downbeat.
    """

    score: Score
    op: str
    options: dict[str, Any]
    written: list[str]
    changes: list[str]
    violations: list[Violation] = field(default_factory=list)
    key_before: str = ""
    key_after: str = ""
    chords_before: list[str] = field(default_factory=list)
    chords_after: list[str] = field(default_factory=list)

    @property
    def message(self) -> str:
        """One line for a version message: ``reharmonise (seed 3): 4 change(s)``."""
        return f"{self.op} (seed {self.options.get('seed', 0)}): " + (
            "; ".join(self.changes[:3]) + (f"; +{len(self.changes) - 3} more" if len(self.changes) > 3 else "")
            if self.changes else "no change")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (without the score)."""
        return {"op": self.op, "options": self.options, "written": self.written, "changes": self.changes,
                "violations": [v.to_dict() for v in self.violations], "key_before": self.key_before,
                "key_after": self.key_after, "chords_before": self.chords_before, "chords_after": self.chords_after}


def _coerce(name: str, value: Any, kind: type, where: str) -> Any:
    if value is None:
        return None
    if kind is float and not isinstance(value, bool) and isinstance(value, (int, float)) and np.isfinite(value):
        return float(value)
    if kind is int and not isinstance(value, bool) and (isinstance(value, int) or
                                                        (isinstance(value, float) and value.is_integer())):
        return int(value)
    if kind is str and isinstance(value, (str, int)) and not isinstance(value, bool):
        return str(value)
    if kind is list:
        items = value.split(",") if isinstance(value, str) else value
        if isinstance(items, (list, tuple)) and all(isinstance(i, str) for i in items):
            return [i.strip() for i in items]
    raise ParameterError(f"{where}.{name}: must be {kind.__name__}, got {value!r}")


def validate_op(data: Any, *, where: str = "score") -> dict[str, Any]:
    """The canonical form ``{"op", "seed", options…}`` of one operation; ParameterError naming the field."""
    if not isinstance(data, Mapping):
        raise ParameterError(f"{where}: must be a mapping like {{op: reharmonise, seed: 1}}, got {data!r}")
    name = data.get("op")
    if name not in OPERATIONS:
        raise ParameterError(f"{where}.op: must be one of {', '.join(OPERATIONS)}, got {name!r}")
    spec = {**OPERATIONS[name].options, **_SECTION}
    unknown = sorted(str(k) for k in data if k not in spec and k not in ("op", "seed"))
    if unknown:
        raise ParameterError(f"{where}.{unknown[0]}: unknown option for {name} (expected {', '.join(spec)}, seed)")
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ParameterError(f"{where}.seed: must be a whole number ≥ 0, got {seed!r}")
    out: dict[str, Any] = {"op": name, "seed": seed}
    for key, (kind, _) in spec.items():
        if key in data and data[key] is not None:
            out[key] = _coerce(key, data[key], kind, where)
    return out


def validate_ops(data: Any, *, where: str = "score") -> list[dict[str, Any]]:
    """Validate a recipe's ``score:`` list (None → [])."""
    if data is None:
        return []
    if not isinstance(data, (list, tuple)):
        raise ParameterError(f"{where}: must be a list of operations, got {type(data).__name__}")
    return [validate_op(item, where=f"{where}[{i}]") for i, item in enumerate(data)]


def section_beats(score: Score, *, bars: str | None = None, start_s: float | None = None,
                  end_s: float | None = None) -> tuple[float, float]:
    """(start, end) in beats of a section given as ``bars="9-16"`` (1-based, inclusive) or seconds."""
    if bars is not None:
        text = str(bars).replace("–", "-").strip()
        try:
            first, _, last = text.partition("-")
            a, b = int(first), int(last or first)
        except ValueError:
            raise ParameterError(f"bars: must look like 9-16 (1-based, inclusive), got {bars!r}") from None
        if not 1 <= a <= b:
            raise ParameterError(f"bars: {bars!r} is not a range of bars from 1")
        if a > score.bars:
            raise ParameterError(f"bars: {bars!r} starts after the song's last bar ({score.bars})")
        return (a - 1) * score.beats_per_bar, b * score.beats_per_bar
    start = score.beats(start_s) if start_s is not None else 0.0
    end = score.beats(end_s) if end_s is not None else float("inf")
    if start_s is not None and start_s < 0 or end <= start:
        raise ParameterError(f"start_s/end_s: need 0 ≤ start < end, got {start_s!r}–{end_s!r}")
    return start, end


def compose(score: Score, op: str, *, seed: int = 0, **options: Any) -> ComposeResult:
    """Apply operation ``op`` (a name from :data:`OPERATIONS`) to ``score``, seeded by ``seed``.

    Options are the operation's (see ``OPERATIONS[op].options``) plus a section (``bars`` or
    ``start_s``/``end_s``). The voice-leading check runs on the parts written.
    """
    canonical = validate_op({"op": op, "seed": seed, **options}, where=op)
    section = {k: canonical[k] for k in _SECTION if k in canonical}
    start, end = section_beats(score, **section)
    own = {k: v for k, v in canonical.items() if k in OPERATIONS[op].options}
    rng = np.random.default_rng(seed)
    before_chords, before_key = score.chords(), score.key()
    new, written, changes, allow = OPERATIONS[op].function(score, rng, start=start, end=end, **own)
    chords = new.chords()
    violations = check_parts([new.part(n) for n in written if n != new.melody] or [new.part(n) for n in written],
                             chords, new.key(), allow_unresolved=allow)
    return ComposeResult(new, op, canonical, written, changes, violations, before_key.label, new.key().label,
                         chords_at_bars(before_chords, score.beats_per_bar), chords_at_bars(chords, new.beats_per_bar))


#: Most notes a MIDI may hold for :func:`compose_midi` (a dense 3-minute song has 2 000–5 000).
MAX_COMPOSE_NOTES = 10_000


def _where(midi: object) -> str:
    return f"{midi}: " if isinstance(midi, (str, os.PathLike)) else ""


def compose_midi(midi: str | os.PathLike[str] | mido.MidiFile | bytes, ops: Sequence[Mapping[str, Any]]
                 ) -> tuple[Score, list[ComposeResult]]:
    """Apply recipe operations (``{"op", "seed", options}``) one after another to a MIDI file.

    Refuses a MIDI of more than :data:`MAX_COMPOSE_NOTES` notes up front (the voice-leading
    checks grow faster than the note count: 20 000 notes took 44 s and 3.4 GB).
    """
    score = load_score(midi)
    count = sum(len(part.notes) for part in score.parts)
    if count > MAX_COMPOSE_NOTES:
        raise ParameterError(f"{_where(midi)}the MIDI has {count} notes; compose handles at most {MAX_COMPOSE_NOTES} "
                             "(split it into sections, or compose on the parts you mean to change)")
    results = []
    for item in validate_ops(list(ops)):
        options = {k: v for k, v in item.items() if k not in ("op", "seed")}
        result = compose(score, item["op"], seed=item["seed"], **options)
        results.append(result)
        score = result.score
    return score, results


__all__ = ["OPERATIONS", "ComposeResult", "Operation", "compose", "compose_midi", "load_score", "section_beats",
           "validate_op", "validate_ops"]
