"""The note corpus of ``bench/notes/corpus.yaml``: loading, validation and the expectation grammar.

Conventions
-----------
A *term* is ``DESCRIPTOR [ARG] DIRECTION [AMOUNT]`` (``"band 20-150 down"``, ``"tempo up 10"``,
``"centroid up 3..10"``, ``"part drums same"``, ``"fade_out 10"``); the table of descriptors,
units and audible thresholds is in ``bench/notes/README.md`` and :data:`THRESHOLDS`. A *clause*
is a scope with the terms that must hold there. Nothing here imports trackwright: the harness
judges the tool from outside.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "notes" / "corpus.yaml"
SPLIT = HERE / "notes" / "split.json"

CATEGORIES = ("emotional", "technical", "structural", "tempo", "key", "hedged", "intensity", "constraint",
              "span", "complaint", "praise", "contradiction", "nonsense")

#: Audible threshold per descriptor, in its unit (LU, %, dB, s, semitones).
THRESHOLDS: dict[str, float] = {"loudness": 0.5, "lra": 1.0, "centroid": 3.0, "band": 0.5, "presence": 0.5,
                                "onsets": 5.0, "width": 1.0, "crest": 0.5, "gaps": 1.0, "rise": 1.0,
                                "duration": 1.0, "tempo": 2.0, "pitch": 0.5, "part": 0.5}
#: Tolerance for "same" / "not_up" / "not_down" (constraints): loudness 0.2 LU as the issue asks.
SAME_TOLERANCE: dict[str, float] = {**THRESHOLDS, "loudness": 0.2, "duration": 0.1, "pitch": 0.3}
#: Tolerance around a stated amount (``up 10``): ± this, or ± the fraction of the amount.
AMOUNT_TOLERANCE: dict[str, tuple[float, float]] = {"duration": (1.5, 0.25), "tempo": (3.0, 0.0),
                                                    "pitch": (0.4, 0.0), "loudness": (0.5, 0.25)}
DESCRIPTORS = tuple(THRESHOLDS) + ("fade_out", "fade_in")
DIRECTIONS = ("up", "down", "same", "not_up", "not_down", "to")
ROLES = ("drums", "kick", "snare", "hats", "bass", "keys", "pad", "lead", "guitar", "strings")


@dataclass(frozen=True)
class Term:
    """One expected move: ``descriptor`` (+ ``arg``: a band ``(lo_hz, hi_hz)``, a role, or a
    fade length in s) going ``direction`` by ``low``..``high`` in the descriptor's unit."""

    text: str
    descriptor: str
    direction: str
    arg: Any = None
    low: float | None = None
    high: float | None = None

    @property
    def key(self) -> str:
        """The measured quantity's name, e.g. ``band[20-150]`` or ``part[drums]``."""
        if self.descriptor == "band":
            return f"band[{self.arg[0]:g}-{self.arg[1]:g}]"
        if self.descriptor == "presence":
            return "band[1000-4000]"
        if self.descriptor == "part":
            return f"part[{self.arg}]"
        return self.descriptor


@dataclass
class Clause:
    """A scope (a dict as written in the corpus; ``None`` for the whole piece) and its terms."""

    scope: dict[str, Any] | None
    expect: list[Term] = field(default_factory=list)
    any: list[Term] = field(default_factory=list)
    keep: list[Term] = field(default_factory=list)


@dataclass
class Note:
    """One corpus entry, parsed."""

    id: str
    text: str
    category: str
    clauses: list[Clause]
    needs: list[str] = field(default_factory=list)
    fallback: list[Term] = field(default_factory=list)
    refuse: bool = False
    no_change: bool = False
    outside: str = "both"
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def roles(self) -> set[str]:
        """Every part role the note's terms mention."""
        return {t.arg for c in self.clauses for t in (*c.expect, *c.any, *c.keep) if t.descriptor == "part"}


_AMOUNT = re.compile(r"^(?P<low>-?\d+(?:\.\d+)?)(?P<dots>\.\.)?(?P<high>-?\d+(?:\.\d+)?)?$")


def parse_term(text: str) -> Term:
    """Parse ``"band 20-150 down"``-style text into a :class:`Term` (ValueError when malformed)."""
    words = text.split()
    if not words or words[0] not in DESCRIPTORS:
        raise ValueError(f"term {text!r}: the descriptor must be one of {', '.join(DESCRIPTORS)}")
    descriptor, rest = words[0], words[1:]
    arg: Any = None
    if descriptor == "band":
        lo, _, hi = (rest[0] if rest else "").partition("-")
        arg = (float(lo), float(hi))
        if not 0 < arg[0] < arg[1]:
            raise ValueError(f"term {text!r}: a band is LO-HI in Hz")
        rest = rest[1:]
    elif descriptor == "part":
        if not rest or rest[0] not in ROLES:
            raise ValueError(f"term {text!r}: part needs a role ({', '.join(ROLES)})")
        arg, rest = rest[0], rest[1:]
    elif descriptor in ("fade_out", "fade_in"):
        arg = float(rest[0]) if rest else 4.0
        return Term(text, descriptor, "up", arg)
    if not rest or rest[0] not in DIRECTIONS:
        raise ValueError(f"term {text!r}: the direction must be one of {', '.join(DIRECTIONS)}")
    direction, rest = rest[0], rest[1:]
    if direction == "to" and descriptor != "duration":
        raise ValueError(f"term {text!r}: 'to' is for duration only")
    low = high = None
    if rest:
        match = _AMOUNT.match(rest[0])
        if match is None or len(rest) > 1:
            raise ValueError(f"term {text!r}: the amount is N, N..M or N..")
        low = float(match["low"])
        if match["dots"]:
            high = float(match["high"]) if match["high"] else None
        else:  # a stated value: ± the descriptor's tolerance
            if direction == "to":
                low, high = low - 1.0, low + 1.0
            else:
                absolute, relative = AMOUNT_TOLERANCE.get(descriptor, (THRESHOLDS[descriptor], 0.0))
                tolerance = max(absolute, relative * low)
                low, high = max(low - tolerance, THRESHOLDS[descriptor]), low + tolerance
    elif direction == "to":
        raise ValueError(f"term {text!r}: 'to' needs a value")
    return Term(text, descriptor, direction, arg, low, high)


_SCOPE_KEYS = {"last_s", "first_s", "fraction", "span", "at", "from", "until", "section", "before", "drop"}


def _check_scope(scope: Any, where: str) -> dict[str, Any] | None:
    if scope in (None, "whole"):
        return None
    if not isinstance(scope, dict) or len(_SCOPE_KEYS & set(scope)) != 1:
        raise ValueError(f"{where}: a scope is 'whole' or a mapping with one of {sorted(_SCOPE_KEYS)}")
    return dict(scope)


def parse_note(entry: dict[str, Any]) -> Note:
    """One corpus entry (a mapping as written in the YAML) → :class:`Note`; ValueError when malformed."""
    where = f"note {entry.get('id')!r}"
    for key in ("id", "text", "category"):
        if not isinstance(entry.get(key), str):
            raise ValueError(f"{where}: {key} must be a string")
    if entry["category"] not in CATEGORIES:
        raise ValueError(f"{where}: category {entry['category']!r} is not one of {CATEGORIES}")
    refuse, no_change = bool(entry.get("refuse")), bool(entry.get("no_change"))
    raw_clauses = entry.get("clauses") or [{k: entry[k] for k in ("scope", "expect", "any", "keep") if k in entry}]
    clauses = []
    for raw in raw_clauses:
        clause = Clause(_check_scope(raw.get("scope"), where), [parse_term(t) for t in raw.get("expect", [])],
                        [parse_term(t) for t in raw.get("any", [])], [parse_term(t) for t in raw.get("keep", [])])
        clauses.append(clause)
    moves = any(c.expect or c.any for c in clauses)
    if refuse + no_change + moves != 1:
        raise ValueError(f"{where}: give exactly one of expect/any (a move), refuse or no_change")
    outside = entry.get("outside", "both")
    if outside not in ("both", "head", "none"):
        raise ValueError(f"{where}: outside is both, head or none")
    needs = list(entry.get("needs", []))
    if any(role not in ROLES for role in needs):
        raise ValueError(f"{where}: needs names roles from {ROLES}")
    return Note(entry["id"], entry["text"], entry["category"], clauses, needs,
                [parse_term(t) for t in entry.get("fallback", [])], refuse, no_change, outside, dict(entry))


def load_corpus(path: Path = CORPUS) -> list[Note]:
    """Every note of the corpus, in file order (ValueError on a malformed entry or a repeated id)."""
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    notes = [parse_note(entry) for entry in entries]
    ids = [n.id for n in notes]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{path}: repeated ids {sorted({i for i in ids if ids.count(i) > 1})}")
    return notes


def make_split(notes: list[Note], *, seed: int = 20, fraction: float = 0.3) -> dict[str, Any]:
    """A held-out split stratified by category: ``round(fraction × n)`` ids of each category,
    drawn with ``numpy.random.default_rng(seed)`` from the ids in sorted order."""
    rng = np.random.default_rng(seed)
    heldout: list[str] = []
    for category in CATEGORIES:
        ids = sorted(n.id for n in notes if n.category == category)
        count = round(fraction * len(ids))
        heldout += sorted(rng.choice(ids, size=count, replace=False).tolist()) if count else []
    dev = sorted(n.id for n in notes if n.id not in set(heldout))
    return {"seed": seed, "fraction": fraction, "stratified_by": "category", "heldout": sorted(heldout), "dev": dev}


def load_split(path: Path = SPLIT) -> dict[str, list[str]]:
    """The committed split: ``{"dev": [...], "heldout": [...]}``."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return {"dev": list(data["dev"]), "heldout": list(data["heldout"])}
