"""The techniques catalogue: each directive becomes the changes a mixer or an editor would make.

Every :class:`Change` is data for the new version's recipe — automation moves on parts or on the
whole mix (:mod:`trackwright.mix.automation`), composition operations on the MIDI
(:mod:`trackwright.score.compose`), a tempo change of the arrangement, an arrangement edit
(:mod:`trackwright.arrange.ops`: cut, shorten, extend, repeat, fade; a fit to a length) or a
re-rendered instrument — and carries the words of the note that asked for it.

How big a change is
-------------------
:data:`TECHNIQUES` gives each dimension its steps with their proportions (dB per unit of the
directive's signed amount k, −1…+1). The steps that scale (``Level``) are then sized together on
*this* music (:mod:`trackwright.revise.calibrate`): they are multiplied until the descriptor that
judges the dimension (:data:`GOALS`) is predicted to move by the target of the note's degree —
"a tiny bit brighter" about 5 % of centroid, "brighter" 10 %, "much brighter" 18 %; "louder"
2 LU; "less mud" 2.5 dB of the 200–500 Hz share. A stated amount ("2 dB", "10 %", "a semitone")
is used as stated.

Constraints
-----------
A note's holds (:class:`~trackwright.revise.directives.Hold`) shape the plan: a step whose effect
a hold forbids is left out ("bigger without adding reverb" leaves out the reverb send, "warmer
without losing the sparkle" the high-shelf cut); a held part is left out of every move ("warmer,
keep the drums" touches every part but the drums); and what a hold watches is predicted after
the plan and, where it would move, put back by a compensating move ("wider at the same level":
a gain; "brighter without making it harsher": a dip at 3.5 kHz). What no directive of the note
asks to move and the technique does not move by its nature (the loudness of a colour note, the
width of "more energy": :data:`~trackwright.revise.measure.UNASKED`) is predicted the same way
and put back with a gain or a side gain per span (:func:`_match_unasked`).

What each dimension does (k = signed amount; "(cal)" = sized to its goal)
---------------------------------------------------------------------------
=============  =====================================================================================
loudness       gain (cal: loudness), or the dB stated
energy         rhythm parts up, a high shelf, sharper transients, a little gain (cal: loudness)
intimacy +     close voicings; supporting parts down (muted when strong), the lead up, narrower,
               quieter (cal: loudness)
restraint +    quieter, darker, drums down, narrower (cal: loudness)
tension +      a pedal and a delayed resolution (MIDI); a slow filter rise, narrower (cal: centroid)
valence ±      a change of mode (MIDI); a high shelf, low mids the other way (cal: centroid)
size ±         wider, a low shelf, a little gain, a large room when bigger (cal: loudness)
warmth ±       low mids up, highs down, soft saturation (cal: centroid)
brightness ±   a high shelf (cal: centroid)
density −      parts muted from the busiest supporting one (stems), softer transients and a little
               less top (a mix) (cal: onsets)
density +      thicker texture (MIDI), pads up
clearance +    a 300 Hz–3 kHz dip on all but the voice, the lead down (cal: 300 Hz–3 kHz share)
presence ±     that part up or down (cal: its level against the mix), or muted; a mix without the
               part: the band or the mid channel that carries it, and the offer of a split
width ±        side gain (cal: width)
punch ±        a transient shaper; less: soft saturation, the peaks rounded like a bus compressor (cal: crest)
dynamics ±     slow expansion (or compression) (cal: loudness range)
reverb +       a large room's send (cal: gaps); − an ambience reducer (cal: gaps)
REGION ±       a shelf or a bell on the band: rumble 40 Hz, sub 60 Hz, low end 120 Hz shelves; mud
               320 Hz, mids 1 kHz, clarity 2 kHz, harshness 3.5 kHz bells; top 7 kHz, air 12 kHz
               shelves (cal: the band's share)
pace ±         the arrangement time-stretched (Rubber Band), by the stated % or 3–12 %
key ±          transposed (Rubber Band on every pitched part; the score too where there is MIDI)
fade_in/out    a fade of the stated length (the scope's, a section's, or 4 s)
length ±       a section cut, shortened or extended on the bar grid; the piece fitted to a length
repeat         a section played again after itself
build          a rising ramp, a filter rise and a riser over the bars before a section
variation      a key lift of the section (a semitone)
=============  =====================================================================================
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from trackwright.arrange.grid import Span
from trackwright.audio import Audio
from trackwright.mix.automation import ALL_PARTS, Move
from trackwright.revise.calibrate import Preview, solve_scale, target, tier
from trackwright.revise.directives import REGIONS, Directive, Hold
from trackwright.revise.measure import (
    AUDIBLE,
    EXPECTED,
    HELD_BY,
    MONO_WIDTH_DB,
    WHEN_HELD,
    asked_descriptors,
    change_of,
    expected_for,
    judge,
    judge_hold,
    unasked_for,
)

#: Mixer roles from least to most important, for thinning and for "intimacy".
SUPPORT_ROLES = ("fx", "pad", "other", "strings", "keys", "guitar", "drums")
FRONT_ROLES = ("vocals", "lead")
RHYTHM_ROLES = ("drums", "bass")
UNPITCHED_ROLES = ("drums",)
#: Note-engine part roles → mixer roles.
PART_TO_ROLES: dict[str, tuple[str, ...]] = {
    "drums": ("drums",), "percussion": ("drums",), "bass": ("bass",), "guitar": ("guitar",), "piano": ("keys",),
    "keys": ("keys",), "strings": ("strings",), "pads": ("pad",), "synth": ("pad", "keys"), "vocals": ("vocals",),
    "lead": ("lead", "vocals"), "brass": ("other", "strings"), "choir": ("vocals", "pad"), "organ": ("keys",),
    "woodwinds": ("other", "strings"), "kick": ("drums",), "snare": ("drums",), "hats": ("drums",),
}
#: Parts named more narrowly than a role: stem names that carry them.
PART_NAMES: dict[str, tuple[str, ...]] = {"kick": ("kick", "bd"), "snare": ("snare", "sd", "clap"),
                                          "hats": ("hat", "hh", "cymbal", "ride"),
                                          "lead": ("lead", "melody", "vocal", "vox", "voice", "solo")}
#: A part the mix-only draft lacks: what carries it in a mix (a region, punch, or the mid channel).
MIX_FALLBACK: dict[str, str] = {"bass": "low_end", "kick": "punch", "snare": "harshness", "hats": "top",
                                "drums": "punch", "percussion": "punch", "lead": "lead_mid", "vocals": "lead_mid",
                                "guitar": "clarity"}
#: What a mix fallback moves, as a descriptor of :mod:`trackwright.revise.measure` (its check).
FALLBACK_DESCRIPTOR: dict[str, str] = {"lead_mid": "band:clarity", "punch": "crest",
                                       **{region: f"band:{region}" for region in REGIONS}}

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

    ``layer`` says which field carries it: ``automation`` (``moves``), ``score`` (``op``: a
    composition operation in its recipe form), ``tempo`` (``stretch``: output/source time of the
    arrangement, over ``span`` seconds of the output or the whole piece), ``arrangement`` (``op``:
    an edit ``{"op": "cut"|"shorten"|"extend"|"repeat"|"fade"|"fit", …}``) or ``instrument``
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
    span: tuple[float, float] | None = None

    @property
    def data(self) -> dict[str, Any]:
        """The change as plain data (what ``to_dict`` shows under ``data``)."""
        if self.layer == "automation":
            return self.moves[0].to_dict() if len(self.moves) == 1 else {"moves": [m.to_dict() for m in self.moves]}
        if self.layer in ("score", "arrangement"):
            return dict(self.op or {})
        if self.layer == "tempo":
            return {"stretch": self.stretch, **({"span": list(self.span)} if self.span else {})}
        return {"part": self.part, "instrument": self.instrument}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"layer": self.layer, "what": self.what, "because": self.because, "data": self.data}


@dataclass
class Context:
    """What the planner knows of the project and its current version.

    ``parts`` maps each stem (part) name to its mixer role (empty: a mix only); ``mix`` and
    ``stems`` are the current version's render (output timeline), used to size the moves;
    ``duration_s`` its length; ``holds`` the note's constraints; ``bar_s`` a bar, seconds;
    ``sections`` the sections as this version plays them; ``asked`` the descriptors the whole
    note moves or watches (:func:`~trackwright.revise.measure.asked_descriptors`), so one
    directive's plan does not undo another's.
    """

    parts: Mapping[str, str]
    has_midi: bool = False
    rebuilt: Mapping[str, str] = field(default_factory=dict)
    mix: Audio | None = None
    stems: Mapping[str, Audio] = field(default_factory=dict)
    duration_s: float = 0.0
    holds: tuple[Hold, ...] = ()
    bar_s: float = 2.0
    sections: Sequence[Span] = ()
    score_heard: bool = False
    asked: frozenset[str] | None = None  #: descriptors the whole note asks to move (None: this directive's)


def part_stems(part: str, roles: Mapping[str, str]) -> list[str]:
    """Stems that carry a note's ``part`` (by name for kick, snare and hats, else by role)."""
    narrow = [n for n in roles if any(w in n.lower() for w in PART_NAMES.get(part, ()))]
    return narrow or [n for n, role in roles.items() if role in PART_TO_ROLES.get(part, ())]


@dataclass
class _Plan:
    context: Context
    because: str
    changes: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def parts(self) -> Mapping[str, str]:
        return self.context.parts

    def held_parts(self) -> set[str]:
        names = set()
        for hold in self.context.holds:
            if hold.part is not None:
                names.update(self.part_names(hold.part))
        return names

    def part_names(self, part: str) -> list[str]:
        return part_stems(part, self.parts)

    def parts_with(self, roles: Sequence[str]) -> list[str]:
        held = self.held_parts()
        return [name for name, role in self.parts.items() if role in roles and name not in held]

    def targets(self, target: str) -> list[str]:
        """``target`` itself, or — when a part is held — every other part and the residual."""
        held = self.held_parts()
        if target != ALL_PARTS or not held:
            return [target]
        return [n for n in self.parts if n not in held] + ["residual"]


# -- the table ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Level:
    """An automation move the table asks for: ``kind`` on the parts of ``group`` (or every part),
    valued ``per_k × k + base`` (dB, or a width factor); sized with the others unless ``fixed``."""

    group: str
    kind: str
    per_k: float
    base: float = 0.0
    when: str = "any"                  #: "more" (k > 0), "less" (k < 0) or "any"
    fallback_per_k: float | None = None  #: no part in the group: move every part by this instead
    mute_from: float | None = None     #: a gain becomes a mute at this k or more
    not_subtle: bool = False           #: only for notes that may be obvious
    floor: float | None = None         #: the value never goes below this
    freq_hz: float | None = None
    q: float | None = None
    effect: str | None = None          #: the dimension it moves (a hold on it can forbid the step)
    fixed: bool = False                #: not sized by calibration


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
    """A technique with its own logic (see :func:`_special`)."""

    name: str
    when: str = "any"


Step = Level | Compose | Special
EVERY: tuple[str, ...] = ()
GROUPS: dict[str, tuple[str, ...]] = {
    "every": EVERY, "rhythm": RHYTHM_ROLES, "front": FRONT_ROLES, "drums": ("drums",), "lead": ("lead",),
    "pads": ("pad", "strings"), "support": ("pad", "strings", "fx", "drums"),
}
#: Where each region's filter sits: (kind, Hz, q).
REGION_FILTERS: dict[str, tuple[str, float, float | None]] = {
    "rumble": ("low_shelf", 45.0, 0.7), "sub": ("low_shelf", 65.0, 0.7), "low_end": ("low_shelf", 130.0, 0.7),
    "mud": ("peak", 320.0, 1.0), "mids": ("peak", 1000.0, 0.8), "clarity": ("peak", 2000.0, 0.8),
    "harshness": ("peak", 3500.0, 1.0), "top": ("high_shelf", 7000.0, 0.7), "air": ("high_shelf", 12000.0, 0.7),
}

TECHNIQUES: dict[str, tuple[Step, ...]] = {
    "loudness": (Level("every", "gain", 4.0, effect="loudness"),),
    "energy": (Level("rhythm", "gain", 3.0, fallback_per_k=2.0, effect="loudness"),
               Level("every", "high_shelf", 1.5, effect="brightness"),
               Level("every", "transient", 3.0, when="more", effect="punch"),
               Level("every", "gain", 1.0, effect="loudness")),
    "intimacy": (Compose("revoice", {"spacing": "close"}, when="more", quiet=True),
                 Level("support", "gain", -6.0, when="more", mute_from=0.9, effect="loudness"),
                 Level("front", "gain", 2.0, when="more", fixed=True),
                 Level("every", "width", -0.4, base=1.0, when="more", floor=0.2, effect="width", fixed=True),
                 Level("every", "gain", -1.5, when="more", effect="loudness"),
                 Level("every", "width", -0.3, base=1.0, when="less", effect="width", fixed=True),
                 Level("pads", "gain", -3.0, when="less")),
    "restraint": (Level("every", "gain", -4.0, effect="loudness"),
                  Level("every", "high_shelf", -2.0, effect="brightness"),
                  Level("drums", "gain", -8.0, when="more", effect="loudness"),
                  Level("every", "width", -0.3, base=1.0, when="more", floor=0.2, effect="width", fixed=True)),
    "tension": (Compose("pedal", {"degree": "dominant"}, when="more", quiet=True),
                Compose("delay_resolution", {"how": "extend"}, when="more", quiet=True,
                        subtle_options={"how": "suspension"}),
                Special("filter_rise", when="more"),
                Level("every", "width", -0.2, base=1.0, when="more", floor=0.2, effect="width", fixed=True),
                Level("every", "high_shelf", -1.0, when="less", effect="brightness"),
                Level("every", "low_mid", -1.0, when="less")),
    "valence": (Special("mode"), Level("every", "high_shelf", 2.0, effect="brightness"),
                Level("every", "low_mid", -1.0, effect="warmth")),
    "size": (Compose("revoice", {"spacing": "spread"}, when="more", quiet=True),
             Level("every", "width", 0.35, base=1.0, floor=0.2, effect="width", fixed=True),
             Level("every", "low_shelf", 2.0, effect="low_end", fixed=True),
             Level("every", "gain", 1.5, effect="loudness"),
             Level("every", "reverb", 6.0, base=-16.0, when="more", effect="reverb", fixed=True)),
    "warmth": (Level("every", "low_mid", 2.0, effect="mud"), Level("every", "high_shelf", -2.0, effect="top"),
               Level("every", "saturation", 6.0, when="more", not_subtle=True, fixed=True)),
    "brightness": (Level("every", "high_shelf", 4.0, effect="brightness"),),
    "density": (Special("thin", when="less"), Compose("texture", {"change": "thin"}, when="less", quiet=True),
                Compose("texture", {"change": "thicken"}, when="more", quiet=True),
                Level("pads", "gain", 3.0, when="more", fallback_per_k=1.5),
                Level("every", "transient", 3.0, when="more", effect="punch", fixed=True)),
    "clearance": (Special("clear_presence"), Level("lead", "gain", -8.0, fixed=True),
                  Level("every", "gain", -1.5, effect="loudness", fixed=True)),
    "presence": (Special("presence"),),
    "width": (Level("every", "width", 0.5, base=1.0, floor=0.0, effect="width"),),
    "punch": (Level("every", "transient", 4.0, when="more", effect="punch"),
              Level("every", "saturation", -8.0, when="less", effect="punch")),
    "dynamics": (Level("every", "expand", 3.0, effect="dynamics"),),
    "reverb": (Level("every", "reverb", 8.0, base=-22.0, when="more", effect="reverb"),
               Level("every", "ambience", -8.0, when="less", effect="reverb")),
    **{region: (Special("region"),) for region in REGIONS},
    "pace": (Special("tempo"),),
    "key": (Special("key"),),
    "fade_in": (Special("fade"),),
    "fade_out": (Special("fade"),),
    "length": (Special("length"),),
    "repeat": (Special("repeat"),),
    "build": (Special("build"),),
    "variation": (Special("variation"),),
}
#: The descriptor that sizes each dimension's scaled steps, and the direction of "more" on it.
GOALS: dict[str, tuple[str, int]] = {
    "loudness": ("loudness", 1), "energy": ("loudness", 1), "intimacy": ("loudness", -1),
    "restraint": ("loudness", -1), "tension": ("centroid", -1), "valence": ("centroid", 1),
    "size": ("loudness", 1), "warmth": ("centroid", -1), "brightness": ("centroid", 1),
    "density": ("onsets", 1), "clearance": ("band:clearance", -1), "width": ("width", 1), "punch": ("crest", 1),
    "dynamics": ("lra", 1), "reverb": ("gaps", -1), **{region: (f"band:{region}", 1) for region in REGIONS},
}
#: A move that puts back what a hold watches: dimension → (kind, Hz, q) of a compensating move on every part.
COMPENSATORS: dict[str, tuple[str, float | None, float | None]] = {
    "loudness": ("gain", None, None), "energy": ("gain", None, None), "brightness": ("high_shelf", 5000.0, 0.7),
    "warmth": ("high_shelf", 5000.0, 0.7), "width": ("width", None, None), "peaks": ("transient", None, None),
    **{region: REGION_FILTERS[region] for region in REGIONS},
}
#: Pace: the tempo change per degree, % (tiny, small, plain, large).
PACE_PERCENT = (3.0, 4.0, 6.0, 12.0)
#: Key: semitones per degree.
KEY_SEMITONES = (1.0, 1.0, 2.0, 2.0)
DEFAULT_FADE_S = 4.0
#: A section extended by this many bars per degree, or shortened by this share.
EXTEND_BARS = (1, 2, 4, 8)
#: The build before a section: this many bars (at least :data:`BUILD_MIN_S`).
BUILD_BARS, BUILD_MIN_S = 4, 4.0


def _applies(when: str, k: float) -> bool:
    return when == "any" or (when == "more") == (k > 0)


def _forbidden(step_effect: str | None, value_direction: int, holds: Sequence[Hold]) -> bool:
    if step_effect is None:
        return False
    return any(h.dimension == step_effect and h.part is None and h.forbids(value_direction) for h in holds)


def _level_moves(plan: _Plan, step: Level, spans: Sequence[Span], k: float, scale: float) -> list[Move]:
    value = step.per_k * k * (1.0 if step.fixed else scale) + step.base
    if step.floor is not None:
        value = max(step.floor, value)
    kind = "mute" if step.mute_from is not None and k >= step.mute_from else step.kind
    value = _clamp(kind, value)
    if step.group == "every":
        names = plan.targets(ALL_PARTS)
    else:
        names = plan.parts_with(GROUPS[step.group])
        if not names and step.fallback_per_k is not None:
            names = plan.targets(ALL_PARTS)
            value = _clamp(step.kind, step.fallback_per_k * k * scale)
            kind = step.kind
    return [_move(span, name, kind, value, plan.because, step.freq_hz, step.q) for name in names for span in spans]


def _clamp(kind: str, value: float) -> float:
    limits = {"gain": (-30.0, 12.0), "high_shelf": (-15.0, 12.0), "low_shelf": (-15.0, 12.0), "peak": (-15.0, 12.0),
              "mid_peak": (-12.0, 12.0), "low_mid": (-12.0, 12.0), "presence_dip": (-15.0, 12.0),
              "width": (0.0, 2.0), "saturation": (0.0, 18.0), "reverb": (-60.0, 0.0), "transient": (-18.0, 18.0),
              "expand": (-12.0, 12.0), "ambience": (0.0, 24.0), "pitch": (-12.0, 12.0), "riser": (-40.0, 6.0)}
    lo, hi = limits.get(kind, (-40.0, 12.0))
    return round(min(max(value, lo), hi), 3)


def _move(span: Span, target: str, kind: str, value: float, because: str, freq_hz: float | None = None,
          q: float | None = None, ramp_s: float = 0.5) -> Move:
    start, end = span.start_s, span.end_s
    if kind == "mute":  # the part is silent over the whole span: its ramps lie outside it
        start, end = max(0.0, start - ramp_s / 2), end + ramp_s / 2
    return Move(round(start, 4), round(end, 4), target, kind, _clamp(kind, value), ramp_s, because, freq_hz, q)


def _describe_moves(moves: Sequence[Move], where: str) -> str:
    first = moves[0]
    who = "everything" if first.target == ALL_PARTS else first.target
    if len({m.target for m in moves}) > 1:
        who = ", ".join(sorted({m.target for m in moves}))
    value = first.value
    amount = {"gain": f"{value:+.1f} dB", "width": f"width ×{value:.2f}", "mute": "muted",
              "reverb": f"reverb send {value:.0f} dB (large room)", "saturation": f"soft saturation, drive {value:.1f} dB",
              "transient": f"transients {value:+.1f} dB", "expand": f"expansion {value:+.1f} dB per 10 dB",
              "ambience": f"ambience −{value:.1f} dB", "pitch": f"transposed {value:+g} semitones",
              "riser": f"a riser at {value:+.0f} dB"}.get(first.kind)
    if amount is None:
        hz = f" at {first.freq_hz:g} Hz" if first.freq_hz else ""
        amount = f"{first.kind.replace('_', ' ')}{hz} {value:+.1f} dB"
    return f"{who}: {amount} in {where}"


def _add(plan: _Plan, moves: Sequence[Move], where: str) -> None:
    if moves:
        plan.changes.append(Change("automation", _describe_moves(moves, where), plan.because, moves=tuple(moves)))


# -- sizing ------------------------------------------------------------------------------------------
#: Descriptors a preview can predict (the others need the whole render: parts, pitch, time).
PREDICTABLE = frozenset({"loudness", "lra", "centroid", "width", "crest", "gaps", "onsets", "peak",
                         *(f"band:{b}" for b in (*REGIONS, "clearance"))})


def _scaled(plan: _Plan, directive: Directive, spans: Sequence[Span], steps: Sequence[Level], k: float) -> None:
    """The ``Level`` steps of ``directive``, sized together to its goal; a step that would move one
    of the dimension's descriptors the wrong way on this music is left out (a low-mid boost
    raises the centroid of a mix that lives below 300 Hz); then compensated for holds."""
    if not steps:
        return
    preview = Preview(plan.context.mix, plan.context.stems, spans) if plan.context.mix is not None else None
    active = list(steps)
    scale, moves, short = _solve(plan, directive, spans, active, k, preview)
    if preview is not None:
        _, terms = expected_for(directive, plan.context.holds)
        checks = [(d, sign) for d, sign in terms if d in PREDICTABLE]
        for _ in range(2):
            wrong = _wrong_terms(preview, moves, checks)
            removable = [step for step in active if len([s for s in active if not s.fixed]) > 1 or step.fixed]
            if not wrong or not removable:
                break
            best = None
            for step in removable:
                trial = [m for other in active if other is not step
                         for m in _level_moves(plan, other, spans, k, scale)]
                left = _wrong_terms(preview, trial, checks)
                if len(left) < len(wrong) and (best is None or len(left) < best[1]):
                    best = (step, len(left))
            if best is None:
                break
            active.remove(best[0])
            plan.notes.append(f"left out {best[0].kind.replace('_', ' ')}: on this music it would move "
                              f"{wrong[0].replace('band:', '')} the wrong way")
            scale, moves, short = _solve(plan, directive, spans, active, k, preview)
    if short:
        plan.notes.append(short)
    moves = moves + _compensate(plan, preview, moves, spans)
    for span in spans:
        here = [m for m in moves if m.start_s <= span.end_s and m.end_s >= span.start_s]
        by_kind: dict[tuple[str, float | None], list[Move]] = {}
        for move in here:
            by_kind.setdefault((move.kind, move.freq_hz), []).append(move)
        for group in by_kind.values():
            _add(plan, group, span.name)


def _goal(directive: Directive, holds: Sequence[Hold]) -> tuple[str, int] | None:
    """The descriptor that sizes ``directive``: its dimension's goal, or — when a hold keeps that
    descriptor ("more energy but not louder") — the next one its dimension may move."""
    held = {HELD_BY[h.dimension][0] for h in holds if h.part is None and h.dimension in HELD_BY}
    goal = GOALS.get(directive.dimension)
    if goal is None or goal[0] not in held:
        return goal
    alternatives = WHEN_HELD.get(directive.dimension, ("all", ()))[1] + EXPECTED[directive.dimension][1]
    for descriptor, sign in alternatives:
        if descriptor not in held and descriptor in PREDICTABLE:
            return descriptor, sign
    return None


def _wrong_terms(preview: Preview, moves: list[Move], checks: Sequence[tuple[str, int]]) -> list[str]:
    """The descriptors of ``checks`` that ``moves`` would move audibly the wrong way in some span."""
    if not checks:
        return []
    which = [d for d, _ in checks]
    before, after = preview.describe([], which), preview.describe(moves, which)
    wrong = []
    for descriptor, sign in checks:
        for b, a in zip(before, after):
            if descriptor in b and judge(descriptor, b[descriptor], a[descriptor], sign).state == "wrong":
                wrong.append(descriptor)
                break
    return wrong


def _solve(plan: _Plan, directive: Directive, spans: Sequence[Span], steps: Sequence[Level], k: float,
           preview: Preview | None) -> tuple[float, list[Move], str | None]:
    """The scale that reaches the dimension's goal, its moves, and a note when it falls short."""
    def build(scale: float) -> list[Move]:
        return [m for step in steps for m in _level_moves(plan, step, spans, k, scale)]

    goal = _goal(directive, plan.context.holds)
    scale = 1.0
    short = None
    if directive.quantity is not None and directive.unit == "dB" and directive.dimension == "loudness":
        scale = directive.quantity / (abs(steps[0].per_k * k) or 1.0)
    elif goal is not None and preview is not None and any(not s.fixed for s in steps):
        descriptor, sign = goal
        direction = sign * (1 if k > 0 else -1)
        solution = solve_scale(preview, build, descriptor, direction, target(descriptor, k))
        scale = solution.scale
        if not solution.reached:
            unit = "%" if descriptor in ("centroid", "onsets") else "dB" if descriptor != "loudness" else "LU"
            short = (f"{directive.describe()}: the most these techniques do here is about "
                     f"{abs(solution.predicted):.1f} {unit} of {descriptor.replace('band:', '')} "
                     f"(aiming for {target(descriptor, k):g})")
    return scale, build(scale), short


def _compensate(plan: _Plan, preview: Preview | None, moves: list[Move], spans: Sequence[Span]) -> list[Move]:
    """Moves that keep what the note's holds watch where the plan would move it."""
    if preview is None:
        return []
    extra: list[Move] = []
    for hold in plan.context.holds:
        if hold.part is not None or hold.dimension not in HELD_BY or hold.dimension not in COMPENSATORS:
            continue
        descriptor, sign = HELD_BY[hold.dimension]
        before = preview.describe([], [descriptor])
        after = preview.describe(moves + extra, [descriptor])
        worst = None
        for b, a in zip(before, after):
            verdict = judge_hold(hold, descriptor, sign, b[descriptor], a[descriptor])
            if verdict.state == "broken":
                worst = verdict if worst is None or abs(verdict.change) > abs(worst.change) else worst
        if worst is None:
            continue
        kind, freq, q = COMPENSATORS[hold.dimension]
        push = -1 if worst.change * sign > 0 else 1  # move the held dimension back
        value_sign = push * sign if kind != "transient" else -1

        def build(scale: float, kind: str = kind, freq: float | None = freq, q: float | None = q,
                  value_sign: int = value_sign) -> list[Move]:
            value = 1.0 + 0.1 * scale * value_sign if kind == "width" else value_sign * scale
            return [_move(span, name, kind, value, f"{plan.because} ({hold.describe()})", freq, q)
                    for span in spans for name in plan.targets(ALL_PARTS)]

        needed = abs(worst.change) + (0.1 if descriptor == "loudness" else 0.0)
        base_descriptor = descriptor

        def predicted(scale: float) -> float:
            after_c = preview.describe(moves + extra + build(scale), [base_descriptor])
            return min(change_of(base_descriptor, b[base_descriptor], a[base_descriptor])[0] * push * sign
                       for b, a in zip(after, after_c))

        low, high = 0.0, 12.0 if kind != "width" else 5.0
        if predicted(high) < needed:
            plan.notes.append(f"{hold.describe()}: could only be partly kept here")
            extra += build(high)
            continue
        for _ in range(7):
            middle = (low + high) / 2
            if predicted(middle) >= needed:
                high = middle
            else:
                low = middle
        extra += build(high)
        plan.notes.append(f"{hold.describe()}: kept with a compensating {kind.replace('_', ' ')}")
    return extra


# -- special techniques -----------------------------------------------------------------------------
def _filter_rise(plan: _Plan, spans: Sequence[Span], k: float, directive: Directive) -> None:
    """A slow filter rise across each span: four overlapping high-shelf steps from dark to open,
    sized so the span's centroid drops by the tension target."""
    def build(scale: float) -> list[Move]:
        moves = []
        for span in spans:
            length = (span.end_s - span.start_s) / 4
            for step in range(4):
                seg = Span(span.start_s + step * length, span.start_s + (step + 1) * length, span.name)
                moves.append(_move(seg, ALL_PARTS, "high_shelf", -6.0 * abs(k) * scale * (1 - step / 4),
                                   plan.because, ramp_s=min(length, 2.0)))
        return moves

    scale = 1.0
    if plan.context.mix is not None:
        preview = Preview(plan.context.mix, plan.context.stems, spans)
        solution = solve_scale(preview, build, "centroid", -1, target("centroid", k), hi=6.0)
        scale = solution.scale
        if not solution.reached:
            plan.notes.append(f"{directive.describe()}: the filter rise darkens this music by about "
                              f"{abs(solution.predicted):.1f} % at most (aiming for {target('centroid', k):g})")
    moves = build(scale)
    for span in spans:
        own = [m for m in moves if span.start_s <= m.start_s < span.end_s]
        if own:
            plan.changes.append(Change("automation", f"everything: a slow filter rise (high shelf "
                                       f"{own[0].value:+.1f} → 0 dB) across {span.name}", plan.because,
                                       moves=tuple(own)))


def _thin(plan: _Plan, directive: Directive, spans: Sequence[Span], k: float) -> None:
    """Fewer parts (stems): the busiest supporting parts muted until the onsets drop by the target;
    a mix: softer transients and a little less top, sized to the same target."""
    amount = abs(k)
    candidates = [n for role in SUPPORT_ROLES for n in plan.parts_with((role,))]
    if candidates and len(plan.parts) > 1:
        keep_one = len(plan.parts) - 1
        preview = Preview(plan.context.mix, plan.context.stems, spans) if plan.context.mix is not None else None
        order = candidates
        if preview is not None:  # busiest first: the part whose muting lowers the onsets most
            base = preview.describe([], ["onsets"])
            scores = []
            for name in candidates:
                after = preview.describe([_move(s, name, "mute", 0.0, plan.because) for s in spans], ["onsets"])
                scores.append((min(a["onsets"] - b["onsets"] for a, b in zip(after, base)), name))
            order = [name for _, name in sorted(scores)]
        goal = target("onsets", k)
        chosen: list[str] = []
        for name in order[:keep_one]:
            chosen.append(name)
            if preview is None:
                if len(chosen) >= max(1, int(amount / 0.35 + 1e-9)):
                    break
                continue
            moves = [_move(s, n, "mute", 0.0, plan.because) for s in spans for n in chosen]
            after = preview.describe(moves, ["onsets"])
            base = preview.describe([], ["onsets"])
            if min(change_of("onsets", b["onsets"], a["onsets"])[0] for a, b in zip(after, base)) <= -goal:
                break
        for name in chosen:
            _add(plan, [_move(s, name, "mute", 0.0, plan.because) for s in spans], ", ".join(s.name for s in spans))
        return
    steps = [Level("every", "transient", 4.0, effect="punch"), Level("every", "high_shelf", 1.0, freq_hz=7000.0,
                                                                    effect="top")]
    _scaled(plan, directive, spans, steps, k)


def _presence(plan: _Plan, directive: Directive, spans: Sequence[Span], k: float) -> None:
    part = directive.part or ""
    names = [n for n in plan.part_names(part) if n not in plan.held_parts()]
    if not names:
        _part_fallback(plan, directive, spans, k)
        return
    if directive.direction < 0 and directive.amount >= 1.0:
        for name in names:
            _add(plan, [_move(s, name, "mute", 0.0, plan.because) for s in spans], ", ".join(s.name for s in spans))
        return
    if directive.quantity is not None and directive.unit == "dB":
        value = directive.direction * directive.quantity
        for name in names:
            _add(plan, [_move(s, name, "gain", value, plan.because) for s in spans], ", ".join(s.name for s in spans))
        return
    stems = [plan.context.stems[n] for n in names if n in plan.context.stems]
    value = 5.0 * k
    if plan.context.mix is not None and stems:
        value = _part_gain(plan, names, spans, k)
    for name in names:
        _add(plan, [_move(s, name, "gain", value, plan.because) for s in spans], ", ".join(s.name for s in spans))


def _part_gain(plan: _Plan, names: Sequence[str], spans: Sequence[Span], k: float) -> float:
    """The gain (dB) that moves the parts ``names`` against the mix by the target (parts' RMS
    levels scale exactly; the mix is the rest plus the scaled parts)."""
    mix = plan.context.mix
    assert mix is not None
    goal = target("part", k)
    worst = 0.0
    for span in spans:
        lo, hi = int(span.start_s * mix.sample_rate), int(span.end_s * mix.sample_rate)
        part = sum(plan.context.stems[n].samples[:, lo:hi].astype(float) for n in names)
        rest = mix.samples[:, lo:hi].astype(float) - part
        before = _ratio_db(part, part + rest)
        if k > 0 and PART_REACH * -before < goal:  # the part is most of the mix: raise it against the rest
            plan.notes.append(f"the {', '.join(names)} already carry most of the mix in {span.name} "
                              f"({before:+.1f} dB of it): turned up {goal:g} dB against the rest, which moves "
                              f"their share of the mix by under {-before:.1f} dB")
            worst = max(worst, goal)
            continue
        best = 0.0
        for gain_db in [x / 4 for x in range(1, 97)]:
            g = 10 ** (gain_db * (1 if k > 0 else -1) / 20)
            after = _ratio_db(part * g, part * g + rest)
            best = gain_db
            if (after - before) * (1 if k > 0 else -1) >= goal:
                break
        worst = max(worst, best)
    return round(worst * (1 if k > 0 else -1), 2)


#: A part whose share of the mix cannot rise by its target within this share of the most it could
#: (its level ``L`` dB under the mix: −L dB, alone) is turned up by the target against the rest instead.
PART_REACH = 0.8


def _ratio_db(part: Any, mix: Any) -> float:
    return 10 * math.log10(max(float((part ** 2).mean()), 1e-20) / max(float((mix ** 2).mean()), 1e-20))


def _part_fallback(plan: _Plan, directive: Directive, spans: Sequence[Span], k: float) -> None:
    """A part the draft has no stem for: the band or channel that carries it in the mix, said
    plainly, with the offer of a split; or nothing (refused) where no such band exists."""
    part = directive.part or "part"
    have = ", ".join(f"{n} ({r})" for n, r in plan.parts.items())
    where = f"the project's stems are {have}" if plan.parts else "the draft is a mix without stems"
    offer = ("run the note again with --separate to split the draft into stems first (built-in separator) and "
             "change the part itself, or split it with `trackwright separate DRAFT -o STEMS` and make a project "
             "with them (`trackwright new … --stems STEMS`)") if not plan.parts else \
        ("split the draft with `trackwright separate DRAFT -o STEMS` to find the part, and make a project with "
         "those stems (`trackwright new … --stems STEMS`) to change it")
    # stems without this part ("the lead" in a band + guitar project): what carries it in their sum
    fallback = MIX_FALLBACK.get(part) if not plan.part_names(part) else None
    if fallback is None or (directive.direction < 0 and directive.amount >= 1.0):
        plan.notes.append(f"no {part} stem to change: {where}; {offer}")
        return
    if fallback == "lead_mid":
        step = Level("every", "mid_peak", 3.0, freq_hz=2500.0, q=0.9, effect="clarity")
        proxy = Directive("clarity", directive.direction, directive.amount, directive.subtle, directive.scope,
                          directive.words)
        plan.notes.append(f"no {part} stem: {where}; the mid channel's presence (2.5 kHz) was changed instead, "
                          f"where a centred {part} sits; {offer}")
        _scaled(plan, proxy, spans, [step], k)
        return
    proxy = Directive(fallback, directive.direction, directive.amount, directive.subtle, directive.scope,
                      directive.words)
    plan.notes.append(f"no {part} stem: {where}; the mix's {fallback.replace('_', ' ')} was changed instead; {offer}")
    _special(plan, Special("region") if fallback in REGIONS else Special("punch"), proxy, spans, k)


def _region(plan: _Plan, directive: Directive, spans: Sequence[Span], k: float) -> None:
    kind, freq, q = REGION_FILTERS[directive.dimension]
    if directive.quantity is not None and directive.unit == "dB":
        value = directive.direction * directive.quantity
        moves = [_move(s, t, kind, value, plan.because, freq, q) for s in spans for t in plan.targets(ALL_PARTS)]
        _add(plan, moves, ", ".join(s.name for s in spans))
        return
    _scaled(plan, directive, spans, [Level("every", kind, 4.0, freq_hz=freq, q=q, effect=directive.dimension)], k)


def _tempo(plan: _Plan, directive: Directive, spans: Sequence[Span]) -> None:
    percent = directive.quantity if directive.quantity is not None and directive.unit == "%" else \
        PACE_PERCENT[tier(directive.signed)]
    factor = 1.0 + directive.direction * percent / 100.0  # tempo ×
    if factor <= 0.5 or factor >= 2.0:
        plan.notes.append(f"a tempo change of {directive.direction * percent:+g} % is more than this makes "
                          "(0.5× to 2×)")
        return
    whole = len(spans) == 1 and spans[0].start_s <= 0.01 and spans[0].end_s >= plan.context.duration_s - 0.01
    stretch = round(1.0 / factor, 5)
    for span in spans:
        plan.changes.append(Change("tempo", f"tempo {directive.direction * percent:+.1f} % "
                                   f"({'whole piece' if whole else span.name}), time-stretched",
                                   plan.because, stretch=stretch,
                                   span=None if whole else (round(span.start_s, 3), round(span.end_s, 3))))


def _key(plan: _Plan, directive: Directive, spans: Sequence[Span], semitones: float | None = None) -> None:
    shift = semitones if semitones is not None else (
        directive.quantity if directive.quantity is not None and directive.unit == "st"
        else KEY_SEMITONES[tier(directive.signed)])
    value = directive.direction * shift
    if abs(value) > 12:
        plan.notes.append(f"a transposition of {value:+g} semitones is more than an octave; not made")
        return
    pitched = [n for n, role in plan.parts.items() if role not in UNPITCHED_ROLES and n not in plan.held_parts()]
    targets = (pitched + ["residual"]) if plan.parts else [ALL_PARTS]
    moves = [_move(s, t, "pitch", value, plan.because, ramp_s=0.1) for s in spans for t in targets]
    where = ", ".join(s.name for s in spans)
    plan.changes.append(Change("automation", f"{'every pitched part' if plan.parts else 'the mix'}: transposed "
                               f"{value:+g} semitones in {where}", plan.because, moves=tuple(moves)))
    if plan.context.has_midi and float(value).is_integer():
        for index, span in enumerate(spans):
            plan.changes.append(Change("score", f"score transposed {value:+g} semitones in {span.name}",
                                       plan.because, op={"op": "transpose", "seed": index, "semitones": int(value),
                                                         "start_s": round(span.start_s, 3),
                                                         "end_s": round(span.end_s, 3)}))


def _fade(plan: _Plan, directive: Directive, spans: Sequence[Span]) -> None:
    total = plan.context.duration_s
    at_end = directive.dimension == "fade_out"
    span = spans[-1] if at_end else spans[0]
    seconds = directive.quantity if directive.quantity is not None and directive.unit == "s" else None
    if seconds is None:
        if directive.scope.kind in ("from", "last", "first", "range", "until") or (
                directive.scope.kind == "sections" and not any(n in ("ending", "last section")
                                                                for n in directive.scope.sections)):
            seconds = (total - span.start_s) if at_end else span.end_s
        else:
            seconds = DEFAULT_FADE_S * (2.0 if directive.amount >= 1.0 else 1.0)
    seconds = round(min(max(seconds, 0.5), total), 3)
    key = "out" if at_end else "in"
    plan.changes.append(Change("arrangement", f"fade {key} over the {'last' if at_end else 'first'} {seconds:g} s",
                               plan.because, op={"op": "fade", "direction": key, "seconds": seconds}))


def _section_names(spans: Sequence[Span], sections: Sequence[Span]) -> list[str]:
    """Played sections whose span matches one of ``spans``."""
    names = []
    for span in spans:
        for section in sections:
            if abs(section.start_s - span.start_s) < 0.05 and abs(section.end_s - span.end_s) < 0.05:
                names.append(section.name)
    return names


def _length(plan: _Plan, directive: Directive, spans: Sequence[Span]) -> None:
    bar_s = plan.context.bar_s
    total = plan.context.duration_s
    sections = _section_names(spans, plan.context.sections) if directive.scope.kind == "sections" else []
    if sections:
        for name, span in zip(sections, spans):
            bars = max(1, round((span.end_s - span.start_s) / bar_s))
            if directive.direction > 0:
                add = int(directive.quantity) if directive.quantity is not None and directive.unit == "bars" else \
                    max(1, round(directive.quantity / bar_s)) if directive.quantity is not None else \
                    EXTEND_BARS[tier(directive.signed)]
                plan.changes.append(Change("arrangement", f"{name} extended by {add} bars", plan.because,
                                           op={"op": "extend", "target": name, "bars": add}))
            elif directive.quantity == 1.0 and directive.unit == "fraction":
                plan.changes.append(Change("arrangement", f"{name} cut", plan.because, op={"op": "cut", "target": name}))
            else:
                if directive.quantity is not None and directive.unit == "bars" and directive.absolute:
                    remove = bars - int(directive.quantity)
                elif directive.quantity is not None and directive.unit == "s":
                    remove = round((directive.quantity if not directive.absolute else
                                    (span.end_s - span.start_s) - directive.quantity) / bar_s)
                else:
                    remove = bars // 2
                remove = min(max(remove, 1), bars - 1)
                if bars <= 1:
                    plan.changes.append(Change("arrangement", f"{name} cut", plan.because,
                                               op={"op": "cut", "target": name}))
                else:
                    plan.changes.append(Change("arrangement", f"{name} shortened by {remove} bars", plan.because,
                                               op={"op": "shorten", "target": name, "bars": remove}))
        return
    if directive.scope.kind not in ("all",):
        plan.notes.append("a length change needs a section (\"cut the bridge\", \"extend the outro\") or the "
                          "whole piece")
        return
    if directive.quantity is not None and directive.unit == "s":
        goal = directive.quantity if directive.absolute else total + directive.direction * directive.quantity
    else:
        goal = total * (0.8 if directive.direction < 0 else 1.25)
    if goal < 4.0:
        plan.notes.append(f"{goal:.0f} s is too short to fit this piece into")
        return
    plan.changes.append(Change("arrangement", f"fitted to {goal:.1f} s (from {total:.1f} s) on the bar grid",
                               plan.because, op={"op": "fit", "duration_s": round(goal, 3)}))


def _repeat(plan: _Plan, directive: Directive, spans: Sequence[Span]) -> None:
    names = _section_names(spans, plan.context.sections)
    if not names:
        plan.notes.append("a repeat needs a section (\"repeat the last chorus\")")
        return
    for name in names[-1:]:
        plan.changes.append(Change("arrangement", f"{name} played twice", plan.because,
                                   op={"op": "repeat", "target": name, "times": 1}))


def _build(plan: _Plan, directive: Directive, spans: Sequence[Span]) -> None:
    """Before each span: a gain ramp up, a filter rise and a riser over the last bars."""
    for span in spans:
        length = max(BUILD_BARS * plan.context.bar_s, BUILD_MIN_S)
        start = max(0.0, span.start_s - length)
        if span.start_s - start < 1.0:
            plan.notes.append(f"no room before {span.name} for a build")
            continue
        where = Span(start, span.start_s, f"the {span.start_s - start:.0f} s before {span.name}")
        steps = 4
        ramp = min((span.start_s - start) / steps, 1.0)
        step = (span.start_s - ramp / 2 - start) / steps  # the last ramp ends on the section's downbeat
        gains = [_move(Span(start + i * step, start + (i + 1) * step, where.name), t, "gain", -6.0 * (1 - i / steps),
                       plan.because, ramp_s=ramp) for i in range(steps) for t in plan.targets(ALL_PARTS)]
        shelves = [_move(Span(start + i * step, start + (i + 1) * step, where.name), t, "high_shelf",
                         -6.0 * (1 - i / steps), plan.because, ramp_s=ramp)
                   for i in range(steps) for t in plan.targets(ALL_PARTS)]
        carrier = "mix" if not plan.parts else next(
            (n for role in ("fx", "pad", "other", "keys", "strings", "guitar", "lead") for n in plan.parts_with((role,))),
            next(iter(plan.parts)))
        riser = _move(Span(start, span.start_s - 0.025, where.name), carrier, "riser", -6.0, plan.because,
                      ramp_s=0.05)
        plan.changes.append(Change("automation", f"a build over {where.name}: level −6 → 0 dB", plan.because,
                                   moves=tuple(gains)))
        plan.changes.append(Change("automation", f"a filter rise over {where.name}: high shelf −6 → 0 dB",
                                   plan.because, moves=tuple(shelves)))
        plan.changes.append(Change("automation", f"a riser into {span.name} ({carrier})", plan.because,
                                   moves=(riser,)))


#: Special steps that edit the timeline, the key or a section's approach, by name.
_TIMELINE_STEPS: dict[str, Callable[[_Plan, Directive, Sequence[Span]], None]] = {
    "tempo": _tempo, "key": _key, "fade": _fade, "length": _length, "repeat": _repeat, "build": _build}


def _special(plan: _Plan, step: Special, directive: Directive, spans: Sequence[Span], k: float) -> None:
    if step.name == "filter_rise":
        _filter_rise(plan, spans, k, directive)
    elif step.name == "thin":
        _thin(plan, directive, spans, k)
    elif step.name == "mode":
        if plan.context.has_midi:
            for index, span in enumerate(spans):
                plan.changes.append(Change("score", f"change mode in {span.name}", plan.because,
                                           op={"op": "change_mode", "seed": index, "start_s": round(span.start_s, 3),
                                               "end_s": round(span.end_s, 3), "mode": "major" if k > 0 else "minor"}))
    elif step.name == "clear_presence":
        others = [n for n in plan.parts if plan.parts[n] != "vocals"] or [ALL_PARTS]
        steps = [Level("every" if others == [ALL_PARTS] else "support", "presence_dip", -5.0)]
        if others == [ALL_PARTS]:
            _scaled(plan, directive, spans, steps, k)
        else:
            moves = [_move(s, n, "presence_dip", -5.0 * k, plan.because) for s in spans for n in others]
            _add(plan, moves, ", ".join(s.name for s in spans))
    elif step.name == "presence":
        _presence(plan, directive, spans, k)
    elif step.name == "region":
        _region(plan, directive, spans, k)
    elif step.name == "punch":
        proxy = Directive("punch", directive.direction, directive.amount, directive.subtle, directive.scope,
                          directive.words)
        _scaled(plan, proxy, spans, [step for step in TECHNIQUES["punch"] if isinstance(step, Level)
                                     and _applies(step.when, k)], k)
    elif step.name in _TIMELINE_STEPS:
        _TIMELINE_STEPS[step.name](plan, directive, spans)
    elif step.name == "variation":
        _key(plan, Directive("key", 1, directive.amount, directive.subtle, directive.scope, directive.words), spans,
             semitones=1.0)
    else:
        raise ValueError(f"no technique named {step.name!r}")  # a bug in TECHNIQUES, not a user error


def _instrumentation(plan: _Plan, directive: Directive, spans: Sequence[Span]) -> None:
    rebuilt = plan.context.rebuilt
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


def plan_directive(directive: Directive, spans: Sequence[Span], context: Context) -> tuple[list[Change], list[str]]:
    """Changes for one directive over ``spans`` (output seconds); also notes on what could not be
    done or was done another way. The directive's dimension picks its steps in :data:`TECHNIQUES`."""
    plan = _Plan(context, directive.words or directive.dimension)
    _instrumentation(plan, directive, spans)
    k = directive.signed
    scaled: list[Level] = []
    for step in TECHNIQUES.get(directive.dimension, ()):
        if not _applies(step.when, k):
            continue
        if isinstance(step, Level):
            direction = 1 if (step.per_k * k) > 0 else -1
            if step.not_subtle and directive.subtle:
                continue
            if _forbidden(step.effect, direction, context.holds):
                plan.notes.append(f"left out {step.kind.replace('_', ' ')} ({step.effect}): the note says "
                                  + next(h.describe() for h in context.holds if h.dimension == step.effect))
                continue
            scaled.append(step)
        elif isinstance(step, Compose):
            if not context.has_midi:
                if not step.quiet:
                    plan.notes.append(f"{step.op.replace('_', ' ')} needs the draft's MIDI (trackwright new --midi)")
                continue
            options = step.subtle_options if directive.subtle and step.subtle_options else step.options
            for index, span in enumerate(spans):
                plan.changes.append(Change("score", f"{step.op.replace('_', ' ')} in {span.name}", plan.because,
                                           op={"op": step.op, "seed": index, "start_s": round(span.start_s, 3),
                                               "end_s": round(span.end_s, 3), **options}))
        else:
            _special(plan, step, directive, spans, k)
    _scaled(plan, directive, spans, scaled, k)
    _match_unasked(plan, directive, spans)
    return plan.changes, plan.notes


#: Dimensions whose plan is not matched on unasked descriptors: they move the timeline (a preview
#: cannot predict them; the verdict still checks what it can).
UNMATCHED = frozenset({"pace", "fade_in", "fade_out", "length", "repeat", "build"})
#: An unasked descriptor predicted to move by at least this share of its audible threshold is put back.
MATCH_SHARE = 0.4


def _match_unasked(plan: _Plan, directive: Directive, spans: Sequence[Span]) -> None:
    """Put back what the plan would move but the note did not ask for (:data:`~trackwright.revise.measure.UNASKED`):
    the stereo width with a side gain, then the loudness with a gain, per span, predicted on the
    current version — a colour note comes out loudness-matched, "more energy" as wide as before."""
    context = plan.context
    moves = [m for c in plan.changes if c.layer == "automation" for m in c.moves]
    if context.mix is None or not moves or directive.dimension in UNMATCHED:
        return
    asked = context.asked if context.asked is not None else asked_descriptors([directive], context.holds)
    watched = [d for d in ("width", "loudness") if d in unasked_for(asked)]
    if not watched:
        return
    preview = Preview(context.mix, context.stems, spans)
    before, after = preview.describe([], watched), preview.describe(moves, watched)
    extra: list[Move] = []
    for descriptor in watched:
        if extra:  # the width put back moves the loudness
            after = preview.describe(moves + extra, [descriptor])
        fixes: list[Move] = []
        for span, b, a in zip(spans, before, after):
            if descriptor not in b or descriptor not in a:
                continue
            if descriptor == "width":
                if max(b[descriptor], a[descriptor]) <= MONO_WIDTH_DB:
                    continue
                change = max(a[descriptor], MONO_WIDTH_DB) - max(b[descriptor], MONO_WIDTH_DB)
                kind, value = "width", 10 ** (-change / 20)
            else:
                change = a[descriptor] - b[descriptor]
                kind, value = "gain", -change
            if abs(change) < MATCH_SHARE * AUDIBLE[descriptor]:
                continue
            fixes += [_move(span, name, kind, value, plan.because) for name in plan.targets(ALL_PARTS)]
        if fixes:
            extra += fixes
            what = "side gain (width as before)" if descriptor == "width" else "gain (loudness as before)"
            plan.changes.append(Change("automation", f"{_describe_moves(fixes, ', '.join(s.name for s in spans))}: "
                                       f"a matching {what}, the note did not ask for a {descriptor} change",
                                       plan.because, moves=tuple(fixes)))
