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
    count = max(1, int(amount / THIN_STEP + 1e-9))
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


#: Named amounts of the planner, dB per unit of the directive's signed amount k (−1…+1) unless
#: said otherwise; widths are factors (1 = unchanged).
LOUDNESS_DB = 4.0
ENERGY_RHYTHM_DB, ENERGY_WHOLE_DB, ENERGY_SHELF_DB = 3.0, 2.0, 1.5
INTIMACY_SUPPORT_DB, INTIMACY_FRONT_DB, INTIMACY_WIDTH, INTIMACY_LEVEL_DB = -6.0, 2.0, -0.4, -1.5
INTIMACY_MUTE_FROM = 0.9                 #: intimacy this strong mutes the supporting parts
OPEN_WIDTH, OPEN_PADS_DB = -0.3, -3.0    #: less intimate: wider, pads and strings up
RESTRAINT_DB, RESTRAINT_SHELF_DB, RESTRAINT_DRUMS_DB, RESTRAINT_WIDTH = -4.0, -2.0, -8.0, -0.3
TENSION_FILTER_DB, TENSION_WIDTH = -6.0, -0.2  #: the filter rise starts this dark; narrower
RELEASE_SHELF_DB, RELEASE_LOW_MID_DB = -1.0, -1.0  #: less tension: a little more open, less mid-heavy
VALENCE_SHELF_DB, VALENCE_LOW_MID_DB = 2.0, -1.0
SIZE_WIDTH, SIZE_LOW_SHELF_DB, SIZE_REVERB_DB, SIZE_REVERB_BASE_DB = 0.35, 2.0, 6.0, -16.0
WARMTH_LOW_MID_DB, WARMTH_SHELF_DB, WARMTH_DRIVE_DB = 2.0, -2.0, 6.0
BRIGHTNESS_SHELF_DB = 4.0
DENSITY_PADS_DB = 3.0
CLEARANCE_DIP_DB, CLEARANCE_LEAD_DB, CLEARANCE_LEVEL_DB = -5.0, -8.0, -1.5
PRESENCE_DB = 5.0
PACE_STRETCH = 0.03                      #: the whole piece stretched by ∓3 % per unit of k
THIN_STEP = 0.35                         #: one more part muted per this much of "less dense"

#: Part groups the table names: mixer roles (an empty tuple is every part at once).
EVERY: tuple[str, ...] = ()
GROUPS: dict[str, tuple[str, ...]] = {
    "every": EVERY, "rhythm": RHYTHM_ROLES, "front": FRONT_ROLES, "drums": ("drums",), "lead": ("lead",),
    "pads": ("pad", "strings"), "support": ("pad", "strings", "fx", "drums"),
}


@dataclass(frozen=True)
class Level:
    """An automation move the table asks for: ``kind`` on the parts of ``group`` (or every part),
    valued ``per_k × k + base`` (dB, or a width factor)."""

    group: str
    kind: str
    per_k: float
    base: float = 0.0
    when: str = "any"                  #: "more" (k > 0), "less" (k < 0) or "any"
    fallback_per_k: float | None = None  #: no part in the group: move every part by this instead
    mute_from: float | None = None     #: a gain becomes a mute at this k or more
    not_subtle: bool = False           #: only for notes that may be obvious
    floor: float | None = None         #: the value never goes below this


@dataclass(frozen=True)
class Compose:
    """A composition operation the table asks for (needs the project's MIDI)."""

    op: str
    options: Mapping[str, Any]
    when: str = "any"
    quiet: bool = False                #: skip without saying so when there is no MIDI
    subtle_options: Mapping[str, Any] | None = None  #: options for a subtle note, when they differ


@dataclass(frozen=True)
class Special:
    """A technique with its own logic: ``filter_rise``, ``thin``, ``presence``, ``tempo``, ``mode``."""

    name: str
    when: str = "any"


Step = Level | Compose | Special

#: What each dimension does, in order (the order the explanation lists the changes in).
TECHNIQUES: dict[str, tuple[Step, ...]] = {
    "loudness": (Level("every", "gain", LOUDNESS_DB),),
    "energy": (Level("rhythm", "gain", ENERGY_RHYTHM_DB, fallback_per_k=ENERGY_WHOLE_DB),
               Level("every", "high_shelf", ENERGY_SHELF_DB)),
    "intimacy": (Compose("revoice", {"spacing": "close"}, when="more", quiet=True),
                 Level("support", "gain", INTIMACY_SUPPORT_DB, when="more", mute_from=INTIMACY_MUTE_FROM),
                 Level("front", "gain", INTIMACY_FRONT_DB, when="more"),
                 Level("every", "width", INTIMACY_WIDTH, base=1.0, when="more"),
                 Level("every", "gain", INTIMACY_LEVEL_DB, when="more"),
                 Level("every", "width", OPEN_WIDTH, base=1.0, when="less"),
                 Level("pads", "gain", OPEN_PADS_DB, when="less")),
    "restraint": (Level("every", "gain", RESTRAINT_DB), Level("every", "high_shelf", RESTRAINT_SHELF_DB),
                  Level("drums", "gain", RESTRAINT_DRUMS_DB, when="more"),
                  Level("every", "width", RESTRAINT_WIDTH, base=1.0, when="more")),
    "tension": (Compose("pedal", {"degree": "dominant"}, when="more", quiet=True),
                Compose("delay_resolution", {"how": "extend"}, when="more", quiet=True,
                        subtle_options={"how": "suspension"}),
                Special("filter_rise", when="more"),
                Level("every", "width", TENSION_WIDTH, base=1.0, when="more"),
                Level("every", "high_shelf", RELEASE_SHELF_DB, when="less"),
                Level("every", "low_mid", RELEASE_LOW_MID_DB, when="less")),
    "valence": (Special("mode"), Level("every", "high_shelf", VALENCE_SHELF_DB),
                Level("every", "low_mid", VALENCE_LOW_MID_DB)),
    "size": (Compose("revoice", {"spacing": "spread"}, when="more", quiet=True),
             Level("every", "width", SIZE_WIDTH, base=1.0, floor=0.0),
             Level("every", "low_shelf", SIZE_LOW_SHELF_DB),
             Level("every", "reverb", SIZE_REVERB_DB, base=SIZE_REVERB_BASE_DB, when="more")),
    "warmth": (Level("every", "low_mid", WARMTH_LOW_MID_DB), Level("every", "high_shelf", WARMTH_SHELF_DB),
               Level("every", "saturation", WARMTH_DRIVE_DB, when="more", not_subtle=True)),
    "brightness": (Level("every", "high_shelf", BRIGHTNESS_SHELF_DB),),
    "density": (Special("thin", when="less"), Compose("texture", {"change": "thin"}, when="less", quiet=True),
                Compose("texture", {"change": "thicken"}, when="more", quiet=True),
                Level("pads", "gain", DENSITY_PADS_DB, when="more")),
    "clearance": (Special("clear_presence"), Level("lead", "gain", CLEARANCE_LEAD_DB),
                  Level("every", "gain", CLEARANCE_LEVEL_DB)),
    "presence": (Special("presence"),),
    "pace": (Special("tempo"),),
}


def _applies(when: str, k: float) -> bool:
    return when == "any" or (when == "more") == (k > 0)


def _level(plan: _Plan, step: Level, spans: Sequence[Span], k: float, because: str) -> None:
    value = step.per_k * k + step.base if step.base else step.per_k * k
    if step.floor is not None:
        value = max(step.floor, value)
    kind = "mute" if step.mute_from is not None and k >= step.mute_from else step.kind
    if step.group == "every":
        plan.move(spans, ALL_PARTS, kind, value, because)
        return
    names = plan.parts_with(GROUPS[step.group])
    for name in names:
        plan.move(spans, name, kind, value, because)
    if not names and step.fallback_per_k is not None:
        plan.move(spans, ALL_PARTS, step.kind, step.fallback_per_k * k, because)


def _filter_rise(plan: _Plan, spans: Sequence[Span], k: float, because: str) -> None:
    """A slow filter rise across each span: four overlapping high-shelf steps from dark to open."""
    for span in spans:
        steps = 4
        length = (span.end_s - span.start_s) / steps
        moves = tuple(Move(span.start_s + step * length, span.start_s + (step + 1) * length, ALL_PARTS,
                           "high_shelf", round(TENSION_FILTER_DB * k * (1 - step / steps), 2), min(length, 2.0),
                           because)
                      for step in range(steps))
        plan.changes.append(Change("automation", f"everything: a slow filter rise (high shelf "
                                   f"{TENSION_FILTER_DB * k:+.1f} → 0 dB) across {span.name}", because, moves=moves))


def _special(plan: _Plan, step: Special, directive: Directive, spans: Sequence[Span], k: float, because: str) -> None:
    if step.name == "filter_rise":
        _filter_rise(plan, spans, k, because)
    elif step.name == "thin":
        _thin(plan, spans, -k, because)
    elif step.name == "mode":
        if not plan.score(spans, "change_mode", because, mode="major" if k > 0 else "minor"):
            plan.notes[-1] = "a change of mode needs the draft's MIDI; changed the colour only"
    elif step.name == "clear_presence":
        others = [n for n in plan.parts if plan.parts[n] != "vocals"] or [ALL_PARTS]
        for name in others:
            plan.move(spans, name, "presence_dip", CLEARANCE_DIP_DB * k, because)
    elif step.name == "presence":
        names = plan.parts_with(PART_TO_ROLES.get(directive.part or "", ()))
        if not names:
            have = ", ".join(f"{n} ({r})" for n, r in plan.parts.items()) or "none: the project has no stems"
            plan.notes.append(f"no {directive.part} part to change (parts: {have})")
        for name in names:
            if directive.direction < 0 and directive.amount >= 1.0:
                plan.move(spans, name, "mute", 0.0, because)
            else:
                plan.move(spans, name, "gain", PRESENCE_DB * k, because)
    elif step.name == "tempo":
        if len(spans) == 1 and spans[0].name == "the whole piece":
            stretch = round(1.0 - PACE_STRETCH * k, 4)
            plan.changes.append(Change("tempo", f"tempo {100 * (1 / stretch - 1):+.1f} % (whole piece)", because,
                                       stretch=stretch))
        else:
            plan.notes.append("a tempo change inside a section is not made (it would break the bar grid); "
                              "ask for the whole piece")
    else:
        raise ValueError(f"no technique named {step.name!r}")  # a bug in TECHNIQUES, not a user error


def plan_directive(directive: Directive, spans: Sequence[Span], parts: Mapping[str, str], *,
                   has_midi: bool, rebuilt: Mapping[str, str] | None = None) -> tuple[list[Change], list[str]]:
    """Changes for one directive over ``spans`` (output seconds); also notes on what could not be done.

    The directive's dimension picks its steps in :data:`TECHNIQUES`. ``parts`` maps each stem
    (part) name to its mixer role; empty when the project has no stems. ``rebuilt`` maps each
    part the version rebuilds from the MIDI to its instrument preset.
    """
    plan = _Plan(parts, has_midi)
    _instrumentation(plan, directive, spans, rebuilt or {})
    k = directive.signed
    because = directive.words or directive.dimension
    for step in TECHNIQUES.get(directive.dimension, ()):
        if not _applies(step.when, k):
            continue
        if isinstance(step, Level):
            if not (step.not_subtle and directive.subtle):
                _level(plan, step, spans, k, because)
        elif isinstance(step, Compose):
            if plan.has_midi or not step.quiet:
                options = step.subtle_options if directive.subtle and step.subtle_options else step.options
                plan.score(spans, step.op, because, **options)
        else:
            _special(plan, step, directive, spans, k, because)
    return plan.changes, plan.notes
