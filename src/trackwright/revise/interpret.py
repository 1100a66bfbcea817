"""Read a creative note ("make it feel more vulnerable", "tension, but don't make it obvious")
into :class:`~trackwright.revise.directives.Directive` s — deterministic, explainable, offline.

How a note is read
------------------
1. Note-wide modifiers are found first: subtlety ("don't make it obvious", "subtly", "a hint
   of") makes every directive subtle.
2. The note is split into clauses (at ",", ";", ".", " but ", " and ", " while ").
3. In each clause: the scope (a time range "1:20-1:45", a point "at 0:40", sections "the second
   chorus", "the intro", "the ending", arcs "until the last scene", "from the bridge on"); then
   every affect or craft word of the lexicon (:data:`LEXICON`), its direction flipped by a
   negation or a "less/too/reduce" before it, its amount set by degree words ("a bit", "much").
   A clause without a scope of its own takes the note's (the last one given).
4. Content words that matched nothing are returned as ``not_understood``; a note that yields no
   directive is answered with both lists, never silently ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from trackwright.revise.directives import Directive, Interpretation, Scope

#: (regular expression over the clause, dimension, direction, canonical word). Order matters:
#: longer phrases first, so "hold back" wins over "back".
LEXICON: tuple[tuple[str, str, int], ...] = (
    # intimacy / vulnerability
    (r"vulnerab\w*|fragil\w*|expos\w*|naked|intimat\w*|tender\w*|delicate\w*|personal|close[- ]?up|closer", "intimacy", 1),
    (r"distant|detached|aloof|remote", "intimacy", -1),
    # restraint
    (r"hold(?:s|ing)? (?:it |things |emotion\w* )?back|held back|restrain\w*|understat\w*|reserved|save it|"
     r"don'?t give (?:it|everything) away|keep it (?:down|low|under control)", "restraint", 1),
    (r"let (?:it )?go|unleash\w*|release|open(?:s|ing)? up|all out|go for it|blow (?:it )?up", "restraint", -1),
    # tension
    (r"tension|tense\w*|suspense\w*|suspenseful|uneas\w*|unsettl\w*|anxious|anxiety|nervous|ominous|dread|"
     r"edg(?:e|y)|menac\w*|threat\w*|creep\w*|uncertain\w*|mysteri\w*|mystery", "tension", 1),
    (r"resolv\w*|relax\w*|reassur\w*|settled|at ease|comfort\w*|peaceful|safe", "tension", -1),
    # energy / arousal
    (r"energ\w*|driv(?:e|ing)|punch\w*|excit\w*|intens\w*|urgen\w*|aggress\w*|power\w*|upbeat|lively|"
     r"dynamic|push\w*|momentum|hype\w*|exciting", "energy", 1),
    (r"calm\w*|gentl\w*|mellow\w*|laid[- ]back|chill\w*|soothing|serene|quiet(?:er)? down|low[- ]key|"
     r"relaxed|lazy|sleepy|dreamy", "energy", -1),
    # valence
    (r"happ\w*|joy\w*|uplift\w*|hope\w*|optimis\w*|cheer\w*|positive|triumph\w*|euphori\w*|playful|light[- ]?hearted",
     "valence", 1),
    (r"sad\w*|melanchol\w*|bleak|somber|sombre|mourn\w*|grief|griev\w*|tragic|gloom\w*|depress\w*|lonely|"
     r"nostalgi\w*|bittersweet|emotional|moving|heartbreak\w*|darker mood|dark(?:er)? (?:feel|mood|tone)", "valence", -1),
    # size
    (r"bigg?\w*|epic|huge|grand\w*|massive|cinematic|wider|wide|expansive|larger|large|anthemic|lush\w*|"
     r"fuller|full", "size", 1),
    (r"small\w*|tiny|narrow\w*|thin(?:ner)? (?:sound|mix)|modest|compact|smaller", "size", -1),
    # warmth
    (r"warm\w*|cozy|cosy|round(?:er)?|analog(?:ue)?|rich(?:er)?", "warmth", 1),
    (r"cold\w*|clinical|sterile|harsh(?:er)?|icy|digital", "warmth", -1),
    # brightness
    (r"bright\w*|airy|air|sparkl\w*|shin\w*|crisp\w*|clear(?:er)?|open(?:er)? top", "brightness", 1),
    (r"dark\w*|dull\w*|muffled|murky|muddy|veiled|duller", "brightness", -1),
    # density
    (r"bus(?:y|ier)|clutter\w*|crowded|dens\w*|thick\w*|layered|more going on|more parts", "density", 1),
    (r"strip(?:ped|s)? (?:it |things )?(?:back|down)|spars\w*|thin(?:ner|ned)?(?: out)?|simpl\w*|stripped(?: back| down)?|minimal\w*|bare|breathe|breathing|"
     r"space|spacious|fewer (?:parts|instruments|notes)|less going on", "density", -1),
    # room for dialogue / a voice-over
    (r"under (?:the )?(?:dialog(?:ue)?|voice[- ]?over|vo|narration|lines)|dialog(?:ue)?[- ]friendly|"
     r"behind (?:the )?(?:dialog(?:ue)?|voice[- ]?over|vo|narration)|make (?:some )?room(?: for (?:the )?(?:dialog(?:ue)?|voice|it|them))?|"
     r"(?:dialog(?:ue)?|voice[- ]?over|narration) (?:is|gets) (?:lost|buried|masked)", "clearance", 1),
    # pace
    (r"fast\w*|quick\w*|speed (?:it )?up|hurr\w*|rush\w*|brisk\w*|tempo up", "pace", 1),
    (r"slow\w*|drag\w*|linger\w*|unhurried|leisurely|tempo down", "pace", -1),
    # loudness
    (r"loud\w*|louder|turn (?:it )?up", "loudness", 1),
    (r"soft(?:er)?|quiet(?:er)?|turn (?:it )?down|lower (?:the )?level|hush\w*|whisper\w*", "loudness", -1),
)
#: Part names in notes → part roles.
PART_WORDS: tuple[tuple[str, str], ...] = (
    (r"drums?|drum kit|kit|beats?|kick|snare|hi-?hats?|hats|cymbals?", "drums"),
    (r"percussion|perc|shakers?|tambourine|toms?", "percussion"),
    (r"bass(?:line)?|low end|sub", "bass"),
    (r"guitars?", "guitar"), (r"pianos?", "piano"), (r"keys|keyboards?|rhodes|epiano", "keys"),
    (r"strings?|violins?|cellos?|violas?", "strings"), (r"pads?", "pads"), (r"synths?|synthesi[sz]ers?", "synth"),
    (r"vocals?|voices?|vox|singer|singing", "vocals"), (r"lead|melody|tune|top line|topline", "lead"),
    (r"brass|horns?|trumpets?|trombones?", "brass"), (r"choir|choral", "choir"), (r"organs?", "organ"),
    (r"woodwinds?|flutes?|clarinets?|oboes?", "woodwinds"),
)
_PART = re.compile(r"\b(?:the\s+)?(" + "|".join(f"(?:{p})" for p, _ in PART_WORDS) + r")\b")
_PART_UP = re.compile(r"\b(?:more|louder|bring (?:up|out|in)|up|forward|front|featured?|bigger|boost)\b")
_PART_OUT = re.compile(r"\b(?:no|without|lose|drop|remove|mute|cut|kill|get rid of|take out|strip out)\b")
_PART_DOWN = re.compile(r"\b(?:less|quieter|softer|lower|down|back|tuck|bury|duck|turn down|pull back|"
                        r"too (?:loud|much|hot|prominent|present|busy|big))\b")
_COMPILED = tuple((re.compile(rf"\b(?:{pattern})\b"), dim, sign) for pattern, dim, sign in LEXICON)

#: Words that flip a lexicon word that follows them (within the clause, a few words before).
_NEGATIONS = re.compile(r"\b(?:not|\w+n'?t|no|never|less|too|without|reduce|lower|cut|tone down|pull back|"
                        r"fewer|remove|lose|drop|get rid of|avoid|stop|over)\b")
_BOOSTS = re.compile(r"\b(?:more|increase|add|boost|raise|build|bring out|push|even more|extra)\b")
_DEGREE_SMALL = re.compile(r"\b(?:a (?:bit|little|touch|tad|hint)(?: of)?|slightly|somewhat|a little bit|"
                           r"just a|marginally|gently|subtle|subtly|a shade)\b")
_DEGREE_LARGE = re.compile(r"\b(?:much|a lot|lots|way|really|very|far|massively|hugely|seriously|"
                           r"significantly|dramatically|completely|totally|so much)\b")
_SUBTLE = re.compile(r"don'?t make it (?:too )?(?:obvious|noticeable|on the nose|heavy[- ]handed)|"
                     r"without (?:being|making it) (?:too )?(?:obvious|noticeable)|not (?:too )?obvious|"
                     r"subtl[ey]\w*|understated|barely noticeable|under the surface|in the background|hidden|"
                     r"sneak\w*|hint of")

#: "it feels rushed", "it sounds cold": a state described without a request is a complaint
#: (the note wants the opposite); with praise ("I love how fragile it feels") it is a keep.
_STATE = re.compile(r"\b(?:it'?s|it is|it feels?|it sounds?|feels?|sounds?|seems?|is getting|comes across(?: as)?|"
                    r"(?:is|are) (?:a bit |kind of |quite |rather |very |too )?)\b")
_REQUEST = re.compile(r"\b(?:make|more|less|needs?|should|could|would|want|wants|please|let|bring|add|go|try|can)\b")
_PRAISE = re.compile(r"\b(?:love|like|great|nice|perfect|works|good|beautiful|lovely|keep)\b")

_TIME = r"(?:\d+:\d{2}(?:\.\d+)?|\d+(?:\.\d+)?\s*(?:s|sec|secs|seconds)\b)"
_RANGE = re.compile(rf"(?:from |between )?({_TIME})\s*(?:-|–|to|and|until|till)\s*({_TIME})")
_POINT = re.compile(rf"\b(?:at|around|near|by)\s+({_TIME})")
_ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4,
             "fifth": 5, "5th": 5, "last": -1, "final": -1}
_ROLES = r"(?:pre-?chorus|chorus|verse|bridge|intro|outro|breakdown|drop|hook|section|scene|part)"
_EVERY = re.compile(r"\b(?:the|all(?: the)?|every|each)\s+(verses|choruses|bridges|pre-?choruses)\b|\b(?:every|each)\s+(verse|chorus|bridge)\b")
_SECTION = re.compile(rf"\b(?:the\s+)?(first|second|third|fourth|fifth|1st|2nd|3rd|4th|5th|last|final)\s+({_ROLES})\b|"
                      rf"\b({_ROLES})\s+(\d)\b|\b(?:the|an?|its|our)\s+(?:\w+\s+)?({_ROLES}|ending|end|opening|beginning|start)\b")
_ARC = re.compile(r"\b(until|till|up to|before|from|after|once)\b(?:\s+we (?:get|reach)(?: to)?)?\s*$")
#: A point in time ("at 0:40") covers this long, seconds.
POINT_SPAN_S = 10.0

_STOPWORDS = set("""a an the it its it's is be to of in on at for and or but so this that these those me we us our you
your i my make makes made making feel feels feeling sound sounds sounding more less much very really bit little can
could would should please let lets get gets got just maybe kind sort of like as with without into from up down
there here some any all one ones than then too also still even quite rather do does don't dont not no need needs
want wants have has had go going keep keeps put try overall whole track song music cue piece mix version way lot
bring out emotionally emotion musically thing things little whole under until till when where while around near by
over end ending start beginning section scene chorus verse bridge intro outro part parts time moment second first
last final third fourth after before once we reach reaching get getting obvious noticeable s sec secs seconds
are was were been enough reduce lower cut increase add boost raise build touch hint tad shade slightly somewhat gently extra bring push
lose drop remove avoid stop fewer tone pull should needs needed feels think then afterwards""".split())


def _seconds(text: str) -> float:
    text = text.strip()
    if ":" in text:
        minutes, seconds = text.split(":", 1)
        return int(minutes) * 60 + float(seconds)
    return float(re.sub(r"[^\d.]", "", text))


@dataclass
class _Clause:
    text: str
    scope: Scope | None
    used: list[tuple[int, int]]
    wide: bool = False


def _section_name(match: re.Match[str]) -> str:
    ordinal, role, role2, number, single = match.groups()
    if single:
        return {"end": "ending", "opening": "intro", "beginning": "intro", "start": "intro"}.get(single, single)
    if role2:
        return f"{role2} {number}"
    index = _ORDINALS[ordinal]
    role = role.replace("pre chorus", "pre-chorus")
    if role in ("section", "scene", "part"):
        return "last section" if index == -1 else f"section {index}"
    return f"last {role}" if index == -1 else f"{role} {index}"


_PREPOSITION = re.compile(r"\b(?:in|during|for|through|throughout|across|under|over|on|until|till|from|after|before|"
                          r"up to|within|around)\s+(?:the\s+|all\s+the\s+|every\s+|each\s+)?$")


def _scope(clause: str, used: list[tuple[int, int]]) -> tuple[Scope | None, bool]:
    """The clause's scope and whether it is note-wide, marking the characters it consumed in ``used``.

    Times are note-wide ("slower and sadder between 1:20 and 1:45"); a section is note-wide
    only after a preposition ("slower and sadder in the bridge", but "more strings and a
    bigger ending" scopes only the ending).
    """
    scope = _find_scope(clause, used)
    if scope is None:
        return None, False
    if scope.kind == "range" or scope.start_s is not None:
        return scope, True
    first = min((a for a, _ in used), default=0)
    return scope, bool(_PREPOSITION.search(clause[:first])) or bool(re.match(r"\s*(?:in|during|for|throughout)\b",
                                                                            clause))


def _find_scope(clause: str, used: list[tuple[int, int]]) -> Scope | None:
    found = _RANGE.search(clause)
    if found:
        used.append(found.span())
        start, end = sorted((_seconds(found.group(1)), _seconds(found.group(2))))
        if end > start:
            return Scope("range", start, end)
    sections = []
    arc = None
    for match in _EVERY.finditer(clause):
        used.append(match.span())
        role = match.group(1) or match.group(2)
        role = {"verses": "verse", "choruses": "chorus", "bridges": "bridge"}.get(role, role.removesuffix("es"))
        sections.append(f"every {role}")
    for match in _SECTION.finditer(clause):
        if any(a < match.end() and match.start() < b for a, b in used):
            continue
        role_group = next(i for i in (2, 3, 5) if match.group(i))
        used.append(match.span(role_group))  # the adjective between article and role stays readable
        before = _ARC.search(clause[: match.start()])
        if before:
            used.append(before.span())
            arc = "until" if before.group(1) in ("until", "till", "up to", "before") else "from"
        sections.append(_section_name(match))
    point = _POINT.search(clause)
    if point:
        used.append(point.span())
        t = _seconds(point.group(1))
        return Scope("range", t, t + POINT_SPAN_S) if sections == [] else Scope("sections", sections=tuple(sections))
    for word, kind in (("until", "until"), ("till", "until"), ("from", "from"), ("after", "from")):
        timed = re.search(rf"\b{word}\s+({_TIME})", clause)
        if timed:
            used.append(timed.span())
            return Scope(kind, _seconds(timed.group(1)))
    if sections:
        if arc:
            return Scope(arc, sections=(sections[0],))
        return Scope("sections", sections=tuple(dict.fromkeys(sections)))
    return None


def _amount(prefix: str) -> float:
    if _DEGREE_LARGE.search(prefix):
        return 1.0
    if _DEGREE_SMALL.search(prefix):
        return 0.3
    return 0.6


def _clauses(note: str) -> list[str]:
    # "between 1:20 and 1:45" / "from 1:20 to 1:45" are one range, not two clauses
    note = re.sub(rf"\b(?:between|from)\s+({_TIME})\s+(?:and|to|until|till)\s+({_TIME})", r"\1-\2", note)
    parts = re.split(r"[,;.!?]|\bbut\b|\band\b|\bwhile\b|\bthough\b|\balso\b", note)
    return [p.strip() for p in parts if p and p.strip()]


def interpret(note: str, *, at: Scope | None = None) -> Interpretation:
    """Read ``note`` into directives; ``at`` (from ``--at``) scopes clauses that name no scope."""
    text = " ".join(note.lower().replace("’", "'").split())
    subtle = bool(_SUBTLE.search(text))
    clean = _SUBTLE.sub(" ", text)
    clauses = [_Clause(c, None, []) for c in _clauses(clean)]
    for index, clause in enumerate(clauses):
        clause.scope, clause.wide = _scope(clause.text, clause.used)
        previous = clauses[index - 1].scope if index else None
        if clause.scope is None and previous is not None and previous.kind == "until" and \
                re.match(r"(?:then|after that|afterwards|from there)\b", clause.text):
            clause.scope = Scope("from", previous.start_s, None, previous.sections)  # "… until X, then …"
    note_scope = next((c.scope for c in reversed(clauses) if c.scope is not None and c.wide), None) or at
    holds: list[str] = []
    complaint = False
    directives: list[Directive] = []
    understood: list[str] = []
    leftovers: list[str] = []
    for clause in clauses:
        found_here = _part_directives(clause, subtle, clause.scope or note_scope or Scope())
        comparative = re.search(r"\b\w+er\b(?<!\bunder)(?<!\bover)(?<!\bafter)", clause.text)
        stated = bool(_STATE.search(clause.text)) or (complaint and len(clause.text.split()) <= 3)  # "…cold and clinical"
        complaint = stated and not _REQUEST.search(clause.text) and not comparative
        praise = bool(_PRAISE.search(clause.text))
        for pattern, dimension, sign in _COMPILED:
            for match in pattern.finditer(clause.text):
                if any(a < match.end() and match.start() < b for a, b in clause.used):
                    continue
                prefix = clause.text[max(0, match.start() - 30): match.start()]
                tail = prefix.split()[-4:]
                window = " ".join(tail)
                direction = sign
                enough = clause.text[match.end():].lstrip().startswith("enough")
                if _NEGATIONS.search(window) and not re.search(r"\bno (?:more|less)\b", window) and not enough \
                        and dimension != "clearance":  # "less busy under the dialogue": the room is still wanted
                    direction = -sign
                elif complaint and dimension != "clearance":
                    if praise:  # "I love how fragile it feels": nothing to change there
                        clause.used.append(match.span())
                        understood.append(f"keep: {match.group(0)}")
                        continue
                    direction = -sign  # "it feels rushed" asks for the opposite
                clause.used.append(match.span())
                if re.search(r"\b(?:not|no|without(?: getting| making it| being)?)\s*$", prefix) and \
                        match.group(0).endswith("er"):
                    holds.append(dimension)  # "more energy but not louder": keep loudness where it is
                    continue
                words = (window + " " + match.group(0)).strip() if (_NEGATIONS.search(window) or _BOOSTS.search(window)
                                                                   or _DEGREE_SMALL.search(window)
                                                                   or _DEGREE_LARGE.search(window)) else match.group(0)
                found_here.append(Directive(dimension, direction, _amount(window), subtle,
                                            clause.scope or note_scope or Scope(), words))
        if found_here:
            directives.extend(found_here)
            understood.extend(d.words for d in found_here)
        if clause.scope is not None:
            understood.append(clause.scope.describe())
        rest = clause.text
        for a, b in sorted(clause.used, reverse=True):
            rest = rest[:a] + " " + rest[b:]
        leftovers.extend(w for w in re.findall(r"[a-z][a-z'-]+", rest)
                         if w not in _STOPWORDS and len(w) > 2 and not w.endswith("n't"))
    if subtle:
        understood.append("subtly")
    directives = _merge(directives)
    for dimension in holds:
        understood.append(f"keep {dimension} as it is")
    directives = [d for d in directives if d.dimension not in holds]
    return Interpretation(note, tuple(directives), tuple(dict.fromkeys(understood)), tuple(dict.fromkeys(leftovers)),
                          holds=tuple(dict.fromkeys(holds)))


def _part_role(word: str) -> str:
    for pattern, role in PART_WORDS:
        if re.fullmatch(pattern, word):
            return role
    return word


def _part_directives(clause: _Clause, subtle: bool, scope: Scope) -> list[Directive]:
    """"no drums in the intro", "bring the vocal forward", "quieter strings": a part's presence."""
    out = []
    for match in _PART.finditer(clause.text):
        if any(a < match.end() and match.start() < b for a, b in clause.used):
            continue
        before = " ".join(clause.text[: match.start()].split()[-3:])
        after = " ".join(clause.text[match.end():].split()[:5])
        around = f"{before} | {after}"
        if _PART_OUT.search(before) or re.search(r"\bno more\b", before):
            direction, amount = -1, 1.0
        elif _PART_DOWN.search(around):
            direction, amount = -1, min(_amount(around), 0.6)
        elif _PART_UP.search(around):
            direction, amount = 1, _amount(around)
        else:
            continue  # a part named without a change ("the strings are nice")
        clause.used.append(match.span())
        for pattern in (_PART_OUT, _PART_DOWN, _PART_UP):  # the change words belong to the part now
            clause.used.extend(found.span() for found in pattern.finditer(clause.text))
        out.append(Directive("presence", direction, amount, subtle, scope, f"{before} {match.group(0)} {after}".strip(),
                             _part_role(match.group(1))))
    return out


def _merge(directives: list[Directive]) -> list[Directive]:
    """One directive per (dimension, scope): the strongest, keeping the words of all."""
    out: dict[tuple[str, str | None, Scope], Directive] = {}
    for directive in directives:
        key = (directive.dimension, directive.part, directive.scope)
        if key in out:
            kept = out[key]
            stronger = directive if abs(directive.signed) > abs(kept.signed) else kept
            out[key] = Directive(stronger.dimension, stronger.direction, stronger.amount, stronger.subtle,
                                 stronger.scope, f"{kept.words}; {directive.words}", stronger.part)
        else:
            out[key] = directive
    return list(out.values())
