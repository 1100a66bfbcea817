"""The techniques catalogue: each directive becomes concrete changes at the right layer.

Every :class:`Change` is data that goes into the new version's recipe — automation moves on
parts or on the whole mix (:mod:`trackwright.mix.automation`), composition operations on the
MIDI (:mod:`trackwright.score.compose`), or a tempo stretch of the arrangement — and carries the
words of the note that asked for it. Magnitudes scale with the directive's signed amount
(−1…+1; subtle notes are halved and use only low-salience techniques).

What each dimension does (k = signed amount):

=============  ==================================================================================
intimacy +     MIDI: close voicings; lower-priority parts (pads, strings, fx, percussion, drums) −6k dB (muted at k ≥ 0.9),
               the lead/vocal +2k dB, narrower (width 1 − 0.4k), a little quieter overall (−1.5k dB)
restraint +    quieter (−4k dB), drums and percussion −8k dB, darker (high shelf −2k dB), narrower
tension +      MIDI: a dominant pedal and a delayed resolution (a suspension when subtle);
               audio: a slow filter rise across the scope (high shelf −6k → 0 dB), narrower
energy ±       drums/percussion/bass ±3k dB, high shelf ±1.5k dB
valence ±      MIDI: the mode changes (major / minor); audio: high shelf ±2k, low-mid ∓1k dB
size ±         width 1 ± 0.35k, low shelf ±2k dB; bigger also sends to a large room (−16 + 6k dB)
               and, with MIDI, spreads the voicings
warmth ±       low-mid ±2k dB, high shelf ∓2k dB; warmer (not subtle) also saturates softly (drive 6k dB)
brightness ±   high shelf ±4k dB
density −      parts muted from the lowest priority up (one part per 0.35 of amount), MIDI: thinned
density +      MIDI: thickened texture; pads/strings +3k dB
loudness ±     ±4k dB
clearance +    300 Hz–3 kHz dip −5k dB on everything but the vocal, the lead −8k dB, −1.5k dB overall
presence ±     that part ±5k dB (gone at −1)
pace ±         the whole arrangement stretched by ∓3k % (Rubber Band's limit here is ±3 %)
=============  ==================================================================================

Instrumentation: where the version rebuilds parts from the MIDI (``trackwright produce``: the
recipe's ``production:`` block), whole-piece notes also re-render those parts with another
instrument (:data:`REORCHESTRATE`): warmer → strings, horns, electric piano instead of organ,
brass, synth lead or piano; colder/brighter → the reverse; more intimate → a solo piano in
place of an ensemble; bigger → strings or brass in place of a piano, guitar or flute. An
instrument belongs to the whole part, so a scoped note does not change it (it says so).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from trackwright.mix.automation import ALL_PARTS, Move
from trackwright.revise.directives import Directive
from trackwright.arrange.grid import Span

#: Mixer roles from least to most important, for thinning and for "intimacy".
SUPPORT_ROLES = ("fx", "pad", "other", "strings", "keys", "guitar", "drums")
FRONT_ROLES = ("vocals", "lead")
RHYTHM_ROLES = ("drums", "bass")
#: Note-engine part roles → mixer roles.
PART_TO_ROLES: dict[str, tuple[str, ...]] = {
    "drums": ("drums",), "percussion": ("drums",), "bass": ("bass",), "guitar": ("guitar",), "piano": ("keys",),
    "keys": ("keys",), "strings": ("strings",), "pads": ("pad",), "synth": ("pad", "keys"), "vocals": ("vocals",),
    "lead": ("lead", "vocals"), "brass": ("other", "strings"), "choir": ("vocals", "pad"), "organ": ("keys",),
    "woodwinds": ("other", "strings"),
}


#: Instrument swaps per dimension and direction: preset (without ``ms-``) → replacement.
REORCHESTRATE: dict[tuple[str, int], dict[str, str]] = {
    ("warmth", 1): {"organ": "slow-strings", "brass": "horn", "lead": "slow-strings", "piano": "epiano",
                    "strings": "slow-strings"},
    ("warmth", -1): {"slow-strings": "strings", "horn": "brass", "epiano": "piano"},
    ("brightness", 1): {"slow-strings": "strings", "horn": "brass", "epiano": "piano", "pad": "strings"},
    ("intimacy", 1): {"strings": "piano", "slow-strings": "piano", "choir": "piano", "brass": "piano",
                      "horn": "piano", "organ": "piano", "pad": "epiano"},
    ("size", 1): {"piano": "strings", "epiano": "strings", "guitar": "strings", "flute": "strings",
                  "strings": "brass"},
}


def reorchestrate(dimension: str, direction: int, instrument: str) -> str | None:
    """The instrument a part playing ``instrument`` (a preset name) moves to, or None to keep it."""
    prefix = "ms-" if instrument.startswith("ms-") else ""
    swap = REORCHESTRATE.get((dimension, direction), {}).get(instrument.removeprefix("ms-"))
    return None if swap is None else prefix + swap


@dataclass(frozen=True)
class Change:
    """One recipe change and why it was made.

    ``layer`` says which field carries it: ``automation`` (``moves``: one :class:`Move`, or several
    for a gesture such as a filter rise), ``score`` (``op``: a composition operation in its recipe
    form), ``tempo`` (``stretch``: the arrangement's time-stretch factor) or ``instrument``
    (``part`` and ``instrument``: a rebuilt part re-rendered with another preset).
    """

    layer: str
    what: str
    because: str
    moves: tuple[Move, ...] = ()
    op: Mapping[str, Any] | None = None
    stretch: float | None = None
    part: str | None = None
    instrument: str | None = None

    @property
    def data(self) -> dict[str, Any]:
        """The change as plain data (what ``to_dict`` shows under ``data``)."""
        if self.layer == "automation":
            return self.moves[0].to_dict() if len(self.moves) == 1 else {"moves": [m.to_dict() for m in self.moves]}
        if self.layer == "score":
            return dict(self.op or {})
        if self.layer == "tempo":
            return {"stretch": self.stretch}
        return {"part": self.part, "instrument": self.instrument}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"layer": self.layer, "what": self.what, "because": self.because, "data": self.data}


@dataclass
class _Plan:
    parts: Mapping[str, str]  # part name → mixer role
    has_midi: bool
    changes: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def parts_with(self, roles: Sequence[str]) -> list[str]:
        return [name for name, role in self.parts.items() if role in roles]

    def move(self, spans: Sequence[Span], target: str, kind: str, value: float, because: str,
             ramp_s: float = 0.5) -> None:
        for span in spans:
            move = Move(span.start_s, span.end_s, target, kind, round(value, 2), ramp_s, because)
            who = "everything" if target == ALL_PARTS else target
            amount = {"gain": f"{value:+.1f} dB", "width": f"width ×{value:.2f}", "mute": "muted",
                      "reverb": f"reverb send {value:.0f} dB (large room)",
                      "saturation": f"soft saturation, drive {value:.1f} dB"}.get(
                kind, f"{kind.replace('_', ' ')} {value:+.1f} dB")
            self.changes.append(Change("automation", f"{who}: {amount} in {span.name}", because, moves=(move,)))

    def score(self, spans: Sequence[Span], op: str, because: str, **options: Any) -> bool:
        if not self.has_midi:
            self.notes.append(f"{op.replace('_', ' ')} needs the draft's MIDI (trackwright new --midi)")
            return False
        for index, span in enumerate(spans):
            data = {"op": op, "seed": index, "start_s": round(span.start_s, 3), "end_s": round(span.end_s, 3),
                    **options}
            self.changes.append(Change("score", f"{op.replace('_', ' ')} in {span.name}", because, op=data))
        return True


def _thin(plan: _Plan, spans: Sequence[Span], amount: float, because: str) -> None:
    """Mute parts from the lowest priority up: one part per 0.35 of ``amount``."""
    candidates = [name for role in SUPPORT_ROLES for name in plan.parts_with((role,))]
    count = max(1, int(amount / 0.35 + 1e-9))
    keep_one = len(plan.parts) - 1  # never mute everything
    chosen = candidates[: min(count, keep_one)]
    if not chosen:
        plan.notes.append("fewer parts needs stems (trackwright new --stems); lowered the level instead")
        plan.move(spans, ALL_PARTS, "gain", -3.0 * amount, because)
        return
    for name in chosen:
        plan.move(spans, name, "mute", 0.0, because)


def _instrumentation(plan: _Plan, directive: Directive, spans: Sequence[Span], rebuilt: Mapping[str, str]) -> None:
    if (directive.dimension, directive.direction) not in REORCHESTRATE or not rebuilt:
        return
    if not (len(spans) == 1 and spans[0].name == "the whole piece"):
        plan.notes.append("instruments were not changed: an instrument plays the whole part, and this note has a scope")
        return
    for part, instrument in sorted(rebuilt.items()):
        swap = reorchestrate(directive.dimension, directive.direction, instrument)
        if swap is not None:
            plan.changes.append(Change("instrument", f"{part}: re-rendered as {swap} (was {instrument})",
                                       directive.words or directive.dimension, part=part, instrument=swap))


def plan_directive(directive: Directive, spans: Sequence[Span], parts: Mapping[str, str], *,
                   has_midi: bool, rebuilt: Mapping[str, str] | None = None) -> tuple[list[Change], list[str]]:
    """Changes for one directive over ``spans`` (output seconds); also notes on what could not be done.

    ``parts`` maps each stem (part) name to its mixer role; empty when the project has no stems.
    ``rebuilt`` maps each part the version rebuilds from the MIDI to its instrument preset.
    """
    plan = _Plan(parts, has_midi)
    _instrumentation(plan, directive, spans, rebuilt or {})
    k = directive.signed
    because = directive.words or directive.dimension
    dim = directive.dimension
    every = ALL_PARTS
    if dim == "loudness":
        plan.move(spans, every, "gain", 4.0 * k, because)
    elif dim == "energy":
        rhythm = plan.parts_with(RHYTHM_ROLES)
        for name in rhythm:
            plan.move(spans, name, "gain", 3.0 * k, because)
        if not rhythm:
            plan.move(spans, every, "gain", 2.0 * k, because)
        plan.move(spans, every, "high_shelf", 1.5 * k, because)
    elif dim == "intimacy":
        if k > 0 and plan.has_midi:
            plan.score(spans, "revoice", because, spacing="close")  # voicings drawn in, nearer the melody
        if k > 0:
            support = plan.parts_with(("pad", "strings", "fx", "drums"))
            for name in support:
                plan.move(spans, name, "mute" if k >= 0.9 else "gain", -6.0 * k, because)
            for name in plan.parts_with(FRONT_ROLES):
                plan.move(spans, name, "gain", 2.0 * k, because)
            plan.move(spans, every, "width", 1.0 - 0.4 * k, because)
            plan.move(spans, every, "gain", -1.5 * k, because)
        else:
            plan.move(spans, every, "width", 1.0 - 0.3 * k, because)
            for name in plan.parts_with(("pad", "strings")):
                plan.move(spans, name, "gain", -3.0 * k, because)
    elif dim == "restraint":
        plan.move(spans, every, "gain", -4.0 * k, because)
        plan.move(spans, every, "high_shelf", -2.0 * k, because)
        if k > 0:
            for name in plan.parts_with(("drums",)):
                plan.move(spans, name, "gain", -8.0 * k, because)
            plan.move(spans, every, "width", 1.0 - 0.3 * k, because)
    elif dim == "tension":
        if k > 0:
            if plan.has_midi:
                plan.score(spans, "pedal", because, degree="dominant")
                plan.score(spans, "delay_resolution", because, how="suspension" if directive.subtle else "extend")
            for span in spans:  # a slow filter rise: four overlapping steps from dark to open
                steps = 4
                length = (span.end_s - span.start_s) / steps
                moves = tuple(Move(span.start_s + step * length, span.start_s + (step + 1) * length, every,
                                   "high_shelf", round(-6.0 * k * (1 - step / steps), 2), min(length, 2.0), because)
                              for step in range(steps))
                plan.changes.append(Change("automation", f"everything: a slow filter rise (high shelf "
                                           f"{-6.0 * k:+.1f} → 0 dB) across {span.name}", because, moves=moves))
            plan.move(spans, every, "width", 1.0 - 0.2 * k, because)
        else:  # less tension: a little more open and less mid-heavy
            plan.move(spans, every, "high_shelf", 1.0 * -k, because)
            plan.move(spans, every, "low_mid", 1.0 * -k, because)
    elif dim == "valence":
        if not plan.score(spans, "change_mode", because, mode="major" if k > 0 else "minor"):
            plan.notes[-1] = "a change of mode needs the draft's MIDI; changed the colour only"
        plan.move(spans, every, "high_shelf", 2.0 * k, because)
        plan.move(spans, every, "low_mid", -1.0 * k, because)
    elif dim == "size":
        if k > 0 and plan.has_midi:
            plan.score(spans, "revoice", because, spacing="spread")  # open voicings fill the register
        plan.move(spans, every, "width", max(0.0, 1.0 + 0.35 * k), because)
        plan.move(spans, every, "low_shelf", 2.0 * k, because)
        if k > 0:
            plan.move(spans, every, "reverb", -16.0 + 6.0 * k, because)
    elif dim == "warmth":
        plan.move(spans, every, "low_mid", 2.0 * k, because)
        plan.move(spans, every, "high_shelf", -2.0 * k, because)
        if k > 0 and not directive.subtle:
            plan.move(spans, every, "saturation", 6.0 * k, because)
    elif dim == "brightness":
        plan.move(spans, every, "high_shelf", 4.0 * k, because)
    elif dim == "density":
        if k < 0:
            _thin(plan, spans, -k, because)
            if plan.has_midi:
                plan.score(spans, "texture", because, change="thin")
        else:
            if plan.has_midi:
                plan.score(spans, "texture", because, change="thicken")
            for name in plan.parts_with(("pad", "strings")):
                plan.move(spans, name, "gain", 3.0 * k, because)
    elif dim == "clearance":
        others = [n for n in plan.parts if plan.parts[n] != "vocals"] or [every]
        for name in others:
            plan.move(spans, name, "presence_dip", -5.0 * k, because)
        for name in plan.parts_with(("lead",)):
            plan.move(spans, name, "gain", -8.0 * k, because)
        plan.move(spans, every, "gain", -1.5 * k, because)
    elif dim == "presence":
        roles = PART_TO_ROLES.get(directive.part or "", ())
        names = plan.parts_with(roles)
        if not names:
            have = ", ".join(f"{n} ({r})" for n, r in parts.items()) or "none: the project has no stems"
            plan.notes.append(f"no {directive.part} part to change (parts: {have})")
        for name in names:
            if directive.direction < 0 and directive.amount >= 1.0:
                plan.move(spans, name, "mute", 0.0, because)
            else:
                plan.move(spans, name, "gain", 5.0 * k, because)
    elif dim == "pace":
        whole = len(spans) == 1 and spans[0].name == "the whole piece"
        if whole:
            stretch = round(1.0 - 0.03 * k, 4)
            plan.changes.append(Change("tempo", f"tempo {100 * (1 / stretch - 1):+.1f} % (whole piece)", because,
                                       stretch=stretch))
        else:
            plan.notes.append("a tempo change inside a section is not made (it would break the bar grid); "
                              "ask for the whole piece")
    return plan.changes, plan.notes
