"""Read a creative note ("make it feel more vulnerable", "a tiny bit brighter, barely noticeable",
"not louder", "from the second chorus on") into :class:`~trackwright.revise.directives.Directive` s
and :class:`~trackwright.revise.directives.Hold` s — deterministic, explainable, offline.

How a note is read
------------------
1. A note longer than :data:`MAX_WORDS` words is refused with the reason (split it); so is a
   time that is not one ("9:99"), a range that ends before it starts, and a note that asks for
   opposites ("brighter and darker", "louder, at the same level").
2. The note is tokenised (:mod:`trackwright.revise.tokens`: words, numbers, times — never
   substrings, so "want" is not a negation and "low end" is not "the ending") and split into
   clauses at punctuation and at "but", "and", "while", "then"…
3. In each clause: the scope (times, "the last 20 s", "the first half", sections, "from the second
   chorus on", "the drop"); the constraints ("keep the drums", "not louder", "without adding
   reverb"); then every part, quality, frequency region and edit of the lexicon
   (:mod:`trackwright.revise.lexicon`). A quality's direction comes from the words governing it:
   "less", "cut", "tame" or "too" reverse it; a fault described ("it's muddy", "the low end is
   overwhelming") asks for the opposite; "not so/as …" reverses; "not … enough" does not; a
   negated comparative ("not louder") is a constraint, not a change. Degree words on either side
   set the amount ("a tiny bit", "barely", "way more"); stated amounts ("2 dB", "10 %", "a
   semitone", "the last 10 seconds") are kept as quantities.
4. A clause without a scope of its own takes the note's (the last one given after a preposition,
   or the previous clause's when joined by "and"), else ``at``.
5. Content words that matched nothing are returned as ``not_understood``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from trackwright.revise.directives import (
    REGIONS,
    Directive,
    Hold,
    Interpretation,
    Scope,
)
from trackwright.revise.lexicon import (
    ABRUPT,
    AFTER_DOWN,
    BOOSTERS,
    DEFICIT,
    DEGREES,
    DESCRIPTIVE_NEGATORS,
    EXCESS,
    FAULTS,
    FILLER,
    HOLD_OBJECTS,
    INTERVALS,
    LARGE,
    NEGATORS,
    NUMBERS,
    PARTS,
    PLAIN,
    PRAISE,
    QUALITIES,
    REDUCERS,
    REQUEST,
    SMALL,
    SPEAKERS,
    STATE,
    SUBTLE,
    TINY,
)
from trackwright.revise.tokens import (
    CLAUSE_PUNCT,
    Phrase,
    Token,
    compile_phrase,
    find_phrases,
    normalise,
    tokenize,
)

#: The longest note read, in words; a longer one is refused with the reason (split it into notes).
MAX_WORDS = 60
#: A point in time ("at 0:40") covers this long, seconds.
POINT_SPAN_S = 10.0

_QUALITY_PHRASES = tuple(q.phrase for q in QUALITIES)
_PART_PHRASES = tuple(compile_phrase(p) for p, _ in PARTS)
_DEGREE_PHRASES = tuple(compile_phrase(p) for p, _ in DEGREES)
_HOLD_PHRASES = tuple(compile_phrase(p) for p, _ in HOLD_OBJECTS)
_INTERVAL_PHRASES = tuple(compile_phrase(p) for p, _ in INTERVALS)
_SPLIT_WORDS = frozenset({"but", "while", "though", "although", "also", "then", "plus", "whereas", "yet", "however"})
_ROLES = {"intro": "intro", "introduction": "intro", "verse": "verse", "verses": "verse", "chorus": "chorus",
          "choruses": "chorus", "bridge": "bridge", "bridges": "bridge", "breakdown": "breakdown",
          "outro": "outro", "hook": "chorus", "refrain": "chorus", "section": "section", "sections": "section",
          "scene": "section", "scenes": "section", "pre": "pre-chorus", "prechorus": "pre-chorus",
          "middle8": "bridge"}
_ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4,
             "fifth": 5, "5th": 5, "last": -1, "final": -1, "closing": -1}
_SINGLE = {"opening": "intro", "beginning": "intro", "start": "intro", "ending": "ending", "end": "ending"}
_WIDE_PREPOSITIONS = frozenset({"in", "during", "for", "through", "throughout", "across", "on", "at", "from",
                                "until", "till", "after", "before", "within", "over", "into", "only"})
_SECONDS = frozenset({"s", "sec", "secs", "second", "seconds"})
_HOLD_VERBS = (compile_phrase("keep"), compile_phrase("keeps"), compile_phrase("leave"), compile_phrase("preserve"),
               compile_phrase("maintain"), compile_phrase("never mind"), compile_phrase("same"),
               compile_phrase("[don't|dont|never] [touch|change|alter|affect]"),
               compile_phrase("do not [touch|change|alter|affect]"), compile_phrase("[don't|dont] mess with"),
               compile_phrase("without [changing|touching|altering|affecting]"))
_CUT_VERBS = frozenset({"cut", "lose", "skip", "drop", "remove", "delete", "kill", "ditch", "bin", "axe", "scrap"})


@dataclass
class _Clause:
    tokens: list[Token]
    joined_by_and: bool
    taken: list[bool] = field(default_factory=list)
    scope: Scope | None = None
    wide: bool = False
    directives: list[Directive] = field(default_factory=list)
    holds: list[Hold] = field(default_factory=list)
    words: list[str] = field(default_factory=list)  # understood phrases
    modifiers: set[int] = field(default_factory=set)  # tokens taken as a modifier ("clear out", "roll off")

    def __post_init__(self) -> None:
        self.taken = [False] * len(self.tokens)

    def text(self, a: int, b: int) -> str:
        return " ".join(t.text for t in self.tokens[a:b])

    def take(self, a: int, b: int) -> None:
        for i in range(max(a, 0), min(b, len(self.tokens))):
            self.taken[i] = True

    def word(self, i: int) -> str:
        return self.tokens[i].text if 0 <= i < len(self.tokens) else ""

    @property
    def words_set(self) -> set[str]:
        return {t.text for t in self.tokens}


class _Refusal(Exception):
    """A note that cannot be carried out as written; the message says why."""


# -- amounts, numbers --------------------------------------------------------------------------------
def _number(clause: _Clause, i: int) -> float | None:
    """The number at token ``i`` (digits or a number word), or None."""
    token = clause.tokens[i] if 0 <= i < len(clause.tokens) else None
    if token is None:
        return None
    if token.kind == "number":
        return float(token.text)
    return float(NUMBERS[token.text]) if token.text in NUMBERS and token.kind == "word" else None


def _quantity(clause: _Clause, units: Sequence[str]) -> tuple[float, int, int] | None:
    """A stated amount with one of ``units`` ("2 dB", "a couple of dB", "10 %", "15 percent", "4–6 dB"):
    (value, first token, end token)."""
    tokens = clause.tokens
    for i, token in enumerate(tokens):
        if token.text not in units or clause.taken[i]:
            continue
        j = i - 1
        if j >= 0 and tokens[j].text == "of":  # "a couple of dB"
            j -= 1
        value = _number(clause, j)
        if value is None:
            continue
        first = j
        if j >= 2 and tokens[j - 1].text in ("-", "to") and _number(clause, j - 2) is not None:  # "4–6 dB"
            value = (value + (_number(clause, j - 2) or value)) / 2
            first = j - 2
        if first >= 1 and tokens[first - 1].text in ("a", "about", "around", "roughly", "by", "approximately"):
            first -= 1
        return value, first, i + 1
    return None


def _degree(clause: _Clause, lo: int, hi: int) -> float | None:
    """The strongest-specified degree among tokens ``lo``–``hi`` (tiny wins over small over large)."""
    found = []
    for start, end, index in find_phrases(_DEGREE_PHRASES, clause.tokens[lo:hi]):
        following = clause.word(lo + end)
        if clause.text(lo + start, lo + end) == "way" and not (following in ("more", "less", "too", "way", "")
                                                                 or following.endswith("er")):
            continue  # "is there a way to …"
        found.append(DEGREES[index][1])
    if not found:
        return None
    if TINY in found:
        return TINY
    if SMALL in found and LARGE not in found:
        return SMALL
    if LARGE in found and SMALL not in found:
        return LARGE
    return min(found)


# -- time and scope ----------------------------------------------------------------------------------
def _time_value(clause: _Clause, i: int) -> tuple[float, int] | None:
    """(seconds, end token) of a time at token ``i``: "1:05", "1:05.5", "30 s", "30 seconds"."""
    token = clause.tokens[i] if 0 <= i < len(clause.tokens) else None
    if token is None:
        return None
    if token.kind == "time":
        minutes, seconds = token.text.split(":", 1)
        if float(seconds) >= 60:
            raise _Refusal(f"{token.text} is not a time: the seconds run from 00 to 59")
        return int(minutes) * 60 + float(seconds), i + 1
    if token.kind == "number" and clause.word(i + 1) in _SECONDS:
        return float(token.text), i + 2
    return None


def _scope(clause: _Clause) -> None:
    """Find the clause's scope, mark its tokens taken; sets ``clause.scope`` and ``clause.wide``."""
    tokens = clause.tokens
    n = len(tokens)
    for i in range(n):
        if clause.taken[i]:
            continue
        found = _time_value(clause, i)
        if found is None or _not_a_place(clause, i, found[1]):
            continue
        start_s, after = found
        lead = i
        if i >= 1 and tokens[i - 1].text in ("from", "between", "after", "since", "until", "till", "before",
                                             "at", "around", "near", "by", "to"):
            lead = i - 1
        second = None
        if clause.word(after) in ("-", "to", "and", "until", "till", "through", "thru"):
            second = _time_value(clause, after + 1)
            if second is None and clause.word(after) == "to" and clause.word(after + 1) == "the" and \
                    clause.word(after + 2) in ("end", "finish", "ending"):
                clause.take(lead, after + 3)
                clause.scope, clause.wide = Scope("from", start_s), True
                return
        if second is not None:
            end_s, stop = second
            if end_s <= start_s:
                raise _Refusal(f"{clause.text(i, stop)} ends before it starts: give the earlier time first")
            clause.take(lead, stop)
            clause.scope, clause.wide = Scope("range", start_s, end_s), True
            return
        word = tokens[lead].text if lead < i else ""
        stop = after
        if clause.word(stop) in ("on", "onwards", "onward"):
            stop += 1
        clause.take(lead, stop)
        if word in ("until", "till", "before", "by"):
            clause.scope = Scope("until", start_s) if start_s > 0 else None
        elif word in ("from", "after", "since") or stop > after:
            clause.scope = Scope("from", start_s)
        else:
            clause.scope = Scope("range", start_s, start_s + POINT_SPAN_S)
        clause.wide = True
        return
    if _relative(clause):
        return
    _sections(clause)


def _not_a_place(clause: _Clause, i: int, after: int) -> bool:
    """"the last 10 seconds" (a relative scope), "down to 30 seconds", "15 seconds longer", "over 3
    seconds" (amounts): seconds that are not a time of the piece."""
    if clause.tokens[i].kind == "time":
        return False
    before = clause.word(i - 1)
    return before in ("last", "final", "first", "opening", "over", "by", "about", "another", "extra") or \
        (before == "to" and clause.word(i - 2) in ("down", "up", "it", "out")) or \
        clause.word(after) in ("longer", "shorter", "more", "less", "fade", "of", "extra")


def _relative(clause: _Clause) -> bool:
    """"the last 20 seconds", "the first half", "the middle", "the drop"."""
    tokens = clause.tokens
    for i, token in enumerate(tokens):
        if clause.taken[i]:
            continue
        text = token.text
        if text in ("last", "final", "first", "opening", "closing") and i + 2 < len(tokens) + 1:
            value = _number(clause, i + 1)
            if value is not None and clause.word(i + 2) in _SECONDS:
                lead = i - 1 if clause.word(i - 1) == "the" else i
                lead = lead - 1 if clause.word(lead - 1) in _WIDE_PREPOSITIONS else lead
                clause.take(lead, i + 3)
                kind = "first" if text in ("first", "opening") else "last"
                clause.scope, clause.wide = Scope(kind, seconds=value), True
                return True
            if clause.word(i + 1) in ("half", "third", "quarter"):
                share = {"half": 0.5, "third": 1 / 3, "quarter": 0.25}[clause.word(i + 1)]
                fraction = (0.0, share) if text in ("first", "opening") else (1.0 - share, 1.0)
                clause.take(i - 1 if clause.word(i - 1) == "the" else i, i + 2)
                clause.scope, clause.wide = Scope("fraction", fraction=fraction), True
                return True
        if text == "second" and clause.word(i + 1) == "half":
            clause.take(i - 1 if clause.word(i - 1) == "the" else i, i + 2)
            clause.scope, clause.wide = Scope("fraction", fraction=(0.5, 1.0)), True
            return True
        if text in ("middle", "midsection") and clause.word(i - 1) == "the":
            stop = i + 1 + (clause.word(i + 1) in ("section", "part", "bit", "third", "of"))
            if clause.word(i + 1) == "of":
                continue
            clause.take(i - 1, stop)
            clause.scope, clause.wide = Scope("fraction", fraction=(1 / 3, 2 / 3)), True
            return True
        if text == "drop" and clause.word(i - 1) in ("the", "that", "this"):
            clause.take(i - 1, i + 1)
            clause.scope, clause.wide = Scope("drop"), True
            return True
    return False


def _sections(clause: _Clause) -> None:
    tokens = clause.tokens
    names: list[str] = []
    arc: str | None = None
    first_at: int | None = None
    for i, token in enumerate(tokens):
        if clause.taken[i]:
            continue
        text = token.text
        role = _ROLES.get(text)
        if text == "pre" and clause.word(i + 1) in ("chorus", "choruses"):
            role = "pre-chorus"
        if role is None and text in _SINGLE and (clause.word(i - 1) in ("the", "its", "our", "at") or
                                                 clause.word(i - 2) in ("the", "a", "an", "its", "our")) and \
                not (text == "end" and clause.word(i - 1) in ("low", "top", "bottom", "high", "back", "front", "bass")):
            name = _SINGLE[text]
            lead = i - 1 if clause.word(i - 1) in ("the", "its", "our", "at") else i
            clause.take(lead, i + 1)
            names.append(name)
            first_at = lead if first_at is None else first_at
            continue
        if text in ("chord", "note", "hit", "bar", "bars") and clause.word(i - 1) in ("last", "final") and \
                clause.word(i - 2) == "the":
            clause.take(i - 2, i + 1)
            names.append("ending")
            first_at = i - 2 if first_at is None else first_at
            continue
        if role is None:
            continue
        if role == "section" and text in ("section", "scene") and clause.word(i - 1) == "middle":
            continue
        start, end = i, i + 1
        if role == "pre-chorus":
            end = i + 2
        previous = clause.word(i - 1)
        plural = text.endswith("es") or text.endswith("s") and text not in ("verse",) and text != "chorus"
        if previous in _ORDINALS:
            index = _ORDINALS[previous]
            start = i - 1
            name = (f"last {role}" if index == -1 else f"{role} {index}") if role != "section" else \
                ("last section" if index == -1 else f"section {index}")
        elif _number(clause, end) is not None and tokens[end].kind == "number":
            name = f"{role} {int(float(tokens[end].text))}"
            end += 1
        elif previous in ("every", "each", "all") or plural:
            name = f"every {role}"
            start = i - 1 if previous in ("every", "each", "all") else i
        elif role == "section":
            continue  # "the scene": the music under a scene, not a section of it
        else:
            name = role  # "the chorus", "in the bridge", "a bigger chorus"
        if clause.word(start - 1) in ("the", "all", "this", "that", "its"):
            start -= 1
        if clause.word(start - 1) == "all":
            start -= 1
        word_before = clause.word(start - 1)
        if word_before in ("until", "till", "before") or (word_before == "to" and clause.word(start - 2) == "up"):
            arc = "until"
            start -= 1
        elif word_before in ("from", "after", "once"):
            arc = "from"
            start -= 1
        if clause.word(end) in ("on", "onwards", "onward"):
            arc = arc or "from"
            end += 1
        clause.take(start, end)
        first_at = start if first_at is None else first_at
        names.append(name)
    if not names:
        return
    if arc:
        clause.scope = Scope(arc, sections=(names[0],))
    else:
        clause.scope = Scope("sections", sections=tuple(dict.fromkeys(names)))
    lead = clause.word((first_at or 0) - 1) if first_at else ""
    clause.wide = arc is not None or tokens[first_at or 0].text in _WIDE_PREPOSITIONS or lead in _WIDE_PREPOSITIONS \
        or (first_at == 0 and clause.word(0) in _WIDE_PREPOSITIONS)


# -- constraints -------------------------------------------------------------------------------------
def _hold_object(clause: _Clause, start: int, reach: int = 4) -> tuple[str, str | None, int] | None:
    """(dimension, part, end token) of the first thing named within ``reach`` tokens of ``start``."""
    for i in range(start, min(len(clause.tokens), start + reach)):
        if clause.tokens[i].text in _ROLES:
            return None  # "the verse stays as it is": the scope already leaves it alone
        for phrases, table in ((_HOLD_PHRASES, HOLD_OBJECTS), (_PART_PHRASES, PARTS)):
            best = None
            for index, phrase in enumerate(phrases):
                end = phrase.match(clause.tokens, i)
                if end is not None and (best is None or end > best[0]):
                    best = (end, index)
            if best is not None:
                value = table[best[1]][1]
                if table is PARTS:
                    return "presence", value, best[0]
                return value, None, best[0]
        if clause.tokens[i].text not in FILLER and clause.tokens[i].text not in ("exactly", "where", "as", "same",
                                                                               "any", "more", "adding", "add"):
            return None
    return None


def _holds(clause: _Clause) -> None:
    tokens = clause.tokens
    i = 0
    while i < len(tokens):
        if clause.taken[i]:
            i += 1
            continue
        verb_end = None
        for phrase in _HOLD_VERBS:
            end = phrase.match(tokens, i)
            if end is not None and (verb_end is None or end > verb_end):
                verb_end = end
        if verb_end is not None:
            target = _hold_object(clause, verb_end)
            if target is None and tokens[i].text == "same" and i >= 1:
                target = _hold_object(clause, i - 1, reach=1)  # "punchier, same loudness" / "the length the same"
            if target is not None:
                dimension, part, end = target
                kind = "not_down" if dimension in ("dynamics", "clarity", "top", "air") else "same"
                stop = end
                while clause.word(stop) in ("as", "it", "they", "is", "are", "where", "the", "same", "exactly",
                                            "intact", "alone", "clear", "clean", "untouched"):
                    stop += 1
                clause.holds.append(Hold(dimension, kind, part, clause.text(i, stop)))
                clause.take(i, stop)
                i = stop
                continue
        if tokens[i].text in NEGATORS or (tokens[i].text == "do" and clause.word(i + 1) == "not"):
            found = _negated_hold(clause, i)
            if found is not None:
                hold, stop = found
                clause.holds.append(hold)
                clause.take(i, stop)
                i = stop
                continue
        i += 1


_PASS_THROUGH = frozenset({"make", "making", "it", "any", "get", "getting", "let", "the", "be", "go", "want",
                           "wanted", "do", "not", "feel", "sound", "them", "things", "more", "its", "end", "up",
                           "i", "we", "you", "need", "needs", "too", "this"})


def _negated_hold(clause: _Clause, at: int) -> tuple[Hold, int] | None:
    """"not louder", "don't make it any brighter", "without adding reverb", "don't slow it down",
    "no more reverb than now", "don't let the peaks get any hotter": a constraint."""
    tokens = clause.tokens
    adding = losing = False
    i = at + 1
    while i < min(len(tokens), at + 7):
        text = tokens[i].text
        if adding or losing:
            named = _hold_object(clause, i, reach=3)
            if named is not None and named[0] != "presence":
                return Hold(named[0], "not_up" if adding else "not_down", None, clause.text(at, named[2])), named[2]
        if text in ("add", "adding", "more"):
            adding = True
        elif text in ("lose", "losing", "drop", "dropping", "reduce", "reducing"):
            losing = True
        elif text in ("slow", "speed"):
            stop = i + 1 + (clause.word(i + 1) in ("it", "things", "the")) + \
                (clause.word(i + 2) == "tempo")
            if clause.word(stop) in ("down", "up"):
                kind = "not_down" if text == "slow" else "not_up"
                return Hold("pace", kind, None, clause.text(at, stop + 1)), stop + 1
        elif text in ("peaks", "peak"):
            stop = i + 1
            while stop < len(tokens) and tokens[stop].text in ("get", "any", "go", "hotter", "higher", "louder"):
                stop += 1
            return Hold("peaks", "not_up", None, clause.text(at, stop)), stop
        for index, phrase in enumerate(_QUALITY_PHRASES):
            end = phrase.match(tokens, i)
            if end is None:
                continue
            quality = QUALITIES[index]
            stop = end
            if clause.word(stop) == "than" and clause.word(stop + 1) in ("now", "before", "it", "this"):
                stop += 2 + (clause.word(stop + 2) in ("is", "was"))
            if clause.word(stop) == "enough" or (clause.word(end) == "on" and clause.word(end + 1) == "top"):
                stop += 0
            if clause.word(end) == "enough":
                return None  # "not bright enough" asks for more
            if quality.comparative:
                kind = "not_up" if quality.direction > 0 else "not_down"
                return Hold(quality.dimension, kind, None, clause.text(at, stop)), stop
            if quality.noun and (adding or losing):
                return Hold(quality.dimension, "not_up" if adding else "not_down", None, clause.text(at, stop)), stop
            if quality.noun and clause.word(stop) == "than":
                return None
            return None
        if text not in _PASS_THROUGH and text not in ("adding", "add", "losing", "lose", "any", "the", "let"):
            return None
        i += 1
    return None


# -- qualities, regions, parts -----------------------------------------------------------------------
def _modifiers(clause: _Clause, start: int, end: int) -> tuple[str | None, int]:
    """How the words before ``start`` (and particles after ``end``) govern a quality:
    ("reduce" | "boost" | "too" | "negate_so" | "negate" | "enough" | None, first modifier token)."""
    tokens = clause.tokens
    after = clause.word(end)
    if after == "enough":
        return "enough", start
    first = start
    seen: str | None = None
    i = start - 1
    while i >= 0 and start - i <= 6:
        if clause.taken[i] and i not in clause.modifiers and not _is_modifier_token(clause, i):
            break
        text = tokens[i].text
        if text == "too":
            return "too", i
        if text in ("so", "as", "that") and i >= 1 and any(tokens[j].text in NEGATORS for j in range(max(0, i - 4), i)):
            return "negate_so", i
        for phrase in REDUCERS:
            if _ends_at(phrase, tokens, i):
                return "reduce", _phrase_start(phrase, tokens, i)
        for phrase in BOOSTERS:
            if _ends_at(phrase, tokens, i):
                seen = seen or "boost"
                first = _phrase_start(phrase, tokens, i)
                break
        if text in NEGATORS:
            return ("negate" if seen is None else "negate"), i
        if text not in FILLER and text not in REQUEST and not _is_degree(clause, i) and seen is None and \
                text not in ("it's", "is", "are", "feel", "sounds"):
            break
        i -= 1
    restores = any(clause.word(j) in ("give", "bring", "put") for j in range(max(0, start - 4), start))
    if not restores and (after in AFTER_DOWN or (after in ("it", "them", "things") and clause.word(end + 1) in AFTER_DOWN)):
        return "reduce", first
    return seen, first


def _descriptive_negator(clause: _Clause, i: int) -> bool:
    """Whether the negator at token ``i`` describes the music ("the chorus doesn't hit", "the
    choruses just don't land") rather than asks for less ("don't hit so hard", "I don't want
    reverb"): a descriptive negator, or "don't" after a subject that is not the speaker or the
    listener (adverbs such as "just" or "really" between them are skipped)."""
    text = clause.tokens[i].text
    if text in DESCRIPTIVE_NEGATORS:
        return True
    if text not in ("don't", "dont"):
        return False
    j = i - 1
    while j >= 0 and clause.tokens[j].text in ("just", "really", "still", "even", "simply", "quite"):
        j -= 1
    return j >= 0 and clause.tokens[j].text not in SPEAKERS


def _is_modifier_token(clause: _Clause, i: int) -> bool:
    return clause.tokens[i].text in ("less", "more", "too", "not", "no")


def _is_degree(clause: _Clause, i: int) -> bool:
    return any(_ends_at(p, clause.tokens, i) for p in _DEGREE_PHRASES)


def _ends_at(phrase: Phrase, tokens: Sequence[Token], i: int) -> bool:
    return any(phrase.match(tokens, s) == i + 1 for s in range(max(0, i - 3), i + 1))


def _phrase_start(phrase: Phrase, tokens: Sequence[Token], i: int) -> int:
    return next(s for s in range(max(0, i - 3), i + 1) if phrase.match(tokens, s) == i + 1)


def _state(clause: _Clause) -> bool:
    """The clause describes the music (a complaint or praise), rather than asking for something."""
    words = clause.words_set
    return bool(words & STATE) and not (words & REQUEST)


def _qualities(clause: _Clause, subtle: bool, scope: Scope, complaint_before: bool) -> None:
    tokens = clause.tokens
    state = _state(clause) or (complaint_before and len(tokens) <= 3 and not clause.words_set & REQUEST)
    praise = bool(clause.words_set & PRAISE)
    first_pass = find_phrases(_QUALITY_PHRASES, tokens, clause.taken)
    # multiword modifiers ("clear out", "open up") govern a quality that follows; they are not qualities then
    for phrases in (REDUCERS, BOOSTERS):
        for start, end, _ in find_phrases(phrases, tokens, clause.taken):
            if end - start >= 2 and any(0 <= q_start - end <= 4 for q_start, _, _ in first_pass):
                clause.take(start, end)
                clause.modifiers.update(range(start, end))
    lacking: set[int] = set()  # starts of nouns described as lacking ("the low end feels weak")
    for start, end, q in first_pass:  # "the low end is too big": the excess words describe the noun
        if QUALITIES[q].noun:
            for e in range(end, min(end + 4, len(tokens))):
                stop = next((p.match(tokens, e) for p in EXCESS if p.match(tokens, e) is not None), None)
                if stop is not None:
                    clause.modifiers.update(range(e, stop))
                    clause.take(e, stop)
                    break
                stop = next((p.match(tokens, e) for p in DEFICIT if p.match(tokens, e) is not None), None)
                if stop is not None and not any(clause.taken[e:stop]):
                    clause.take(e, stop)
                    lacking.add(start)
                    break
    matches = find_phrases(_QUALITY_PHRASES, tokens, clause.taken)
    kept = []
    for index, (start, end, q) in enumerate(matches):
        quality = QUALITIES[q]
        if quality.noun and any(QUALITIES[o].dimension == quality.dimension and not QUALITIES[o].noun
                                and (0 <= start - e <= 3 or 0 <= s - end <= 3) for s, e, o in matches):
            clause.take(start, end)  # "narrow the stereo image", "the pace drags": the noun is the object
            continue
        kept.append((start, end, q))
    for start, end, q in kept:
        quality = QUALITIES[q]
        phrase_text = clause.text(start, end)
        how, first = _modifiers(clause, start, end)
        direction = quality.direction
        fault = phrase_text in FAULTS or tokens[start].text in FAULTS or any(
            f.endswith("*") and tokens[start].text.startswith(f[:-1]) for f in FAULTS)
        excess = any(phrase.match(tokens, e) is not None for phrase in EXCESS for e in range(end, min(end + 4, len(tokens)))
                     if e in clause.modifiers or not clause.taken[e])
        if start in lacking and how not in ("reduce", "too", "negate_so", "negate"):
            pass  # "the low end feels weak", "the lead is lost": more of it
        elif how in ("reduce", "too", "negate_so"):
            direction = -direction
        elif how in ("boost", "enough"):
            pass
        elif how == "negate" and _descriptive_negator(clause, first) and not quality.comparative and \
                not clause.words_set & REQUEST:
            pass  # "the verse doesn't punch", "it isn't warm": a complaint that asks for more
        elif how == "negate":
            if quality.comparative:
                clause.holds.append(Hold(quality.dimension, "not_up" if direction > 0 else "not_down", None,
                                         clause.text(first, end)))
                clause.take(first, end)
                continue
            if not state:
                direction = -direction  # "no reverb", "not dark": less of it
        elif quality.dimension == "clearance":
            pass  # "the dialogue gets buried" already says what it wants: room
        elif fault or excess:
            if praise and not excess:
                clause.words.append(f"keep: {phrase_text}")
                clause.take(start, end)
                continue
            direction = -direction
        elif state and not quality.comparative:
            if praise:
                clause.words.append(f"keep: {phrase_text}")
                clause.take(start, end)
                continue
            direction = -direction  # "it sounds small" asks for bigger
        lo = max(0, first - 4)
        hi = min(len(tokens), end + 4)
        amount = _degree(clause, lo, hi) or (LARGE if how == "too" and clause.word(first - 1) in ("way", "much")
                                            else PLAIN)
        clause.take(min(first, start), end)
        if excess:
            for e in range(end, min(end + 4, len(tokens))):
                for phrase in EXCESS:
                    stop = phrase.match(tokens, e)
                    if stop is not None:
                        clause.take(e, stop)
        words = clause.text(min(first, start), end)
        clause.directives.append(Directive(quality.dimension, direction, amount, subtle, scope, words))


def _parts(clause: _Clause, subtle: bool, scope: Scope) -> None:
    """"no drums in the intro", "bring the bass up a couple of dB", "kick and bass harder"."""
    tokens = clause.tokens
    found = find_phrases(_PART_PHRASES, tokens, clause.taken)
    # "lead" before "clear", "voice" in "room for the voice" are handled elsewhere; "bass" next to "end" is a region
    found = [(s, e, p) for s, e, p in found if clause.word(e) not in ("end", "frequencies")]
    if not found:
        return
    last = found[-1][1]
    before = " ".join(t.text for t in tokens[max(0, found[0][0] - 4):found[0][0]])
    after_tokens = tokens[last:min(len(tokens), last + 7)]
    after = " ".join(t.text for t in after_tokens)
    around = f"{before} | {after}"
    words = set(around.replace("|", " ").split())
    out_words = {"no", "without", "lose", "mute", "kill", "remove", "drop", "ditch", "cut"}
    down_words = {"less", "quieter", "softer", "lower", "down", "back", "tuck", "bury", "duck", "under", "reduce",
                  "washing", "overpowering", "overwhelming", "dominating"}
    up_words = {"more", "louder", "up", "forward", "front", "featured", "feature", "bigger", "boost", "harder",
                "punchier", "out", "crack", "bite", "punch", "hear", "present", "raise", "push", "lift", "lost",
                "weak", "missing", "drowned", "disappears", "disappearing", "inaudible"}
    direction, amount = 0, PLAIN
    if (words & out_words and not words & {"more"}) or "get rid of" in around or "take out" in around or \
            "no more" in before:
        if not ({"down", "back", "a", "bit"} & words and "cut" in words):
            direction, amount = -1, 1.0
    if direction == 0:
        if "too loud" in around or "too much" in around or "too hot" in around or words & down_words:
            direction = -1
        elif "too quiet" in around or "too soft" in around or "too low" in around or "buried" in words or \
                words & up_words:
            direction = 1
    if direction == 0:
        return  # a part named without a change ("the strings are nice")
    degree = _degree(clause, max(0, found[0][0] - 4), min(len(tokens), last + 7))
    if degree is not None and amount < 1.0:
        amount = degree
    quantity = _quantity(clause, ("db", "decibel", "decibels"))
    for start, end, p in found:
        clause.take(start, end)
    for i in range(max(0, found[0][0] - 4), min(len(tokens), last + 7)):
        if tokens[i].text in out_words | down_words | up_words | {"too", "loud", "quiet", "get", "rid", "of", "take",
                                                                 "turn", "bring", "pull", "need", "needs", "to",
                                                                 "hit", "louder", "quieter", "dead"}:
            if not clause.taken[i]:
                clause.take(i, i + 1)
    if quantity is not None:
        clause.take(quantity[1], quantity[2])
    for start, end, p in found:
        role = PARTS[p][1]
        text = f"{before} {clause.text(start, end)} {after}".strip()
        clause.directives.append(Directive(
            "presence", direction, amount if direction < 0 or amount < 1 else PLAIN, subtle, scope, text, role,
            quantity=None if quantity is None else quantity[0], unit=None if quantity is None else "dB"))


def _region_by_hz(clause: _Clause) -> tuple[str, int, int] | None:
    """A frequency named in Hz or kHz ("around 300 Hz", "below 150 Hz", "3 to 5k") → its region."""
    tokens = clause.tokens
    for i, token in enumerate(tokens):
        if token.text not in ("hz", "k", "khz") or i == 0:
            continue
        value = _number(clause, i - 1)
        if value is None:
            continue
        first = i - 1
        high = value * (1000.0 if token.text in ("k", "khz") else 1.0)
        low = high
        if clause.word(i - 2) in ("to", "-") and _number(clause, i - 3) is not None:
            low = (_number(clause, i - 3) or 0) * (1000.0 if token.text in ("k", "khz") else 1.0)
            if low < 50 <= high and token.text in ("k", "khz"):
                low *= 1.0
            first = i - 3
        bound = clause.word(first - 1)
        if bound in ("around", "at", "near", "about", "below", "under", "above", "over", "between", "from"):
            first -= 1
        if bound in ("below", "under"):
            centre = high / 2
        elif bound in ("above", "over"):
            centre = high * 2
        else:
            centre = (low * high) ** 0.5
        clause.take(first, i + 1)
        return _region_of(centre), first, i + 1
    return None


_LOCATIONS = tuple(compile_phrase(p) for p in ("up top", "on top", "at the top", "down low", "down below",
                                                "in the mix", "on the whole mix", "on the mix", "across the board"))


def _locations(clause: _Clause) -> None:
    """"harsh up top", "on the whole mix": where in the sound, already said by the quality."""
    for start, end, _ in find_phrases(_LOCATIONS, clause.tokens, clause.taken):
        clause.take(start, end)


def _region_of(hz: float) -> str:
    for limit, name in ((45, "rumble"), (75, "sub"), (170, "low_end"), (500, "mud"), (1500, "mids"),
                        (2200, "clarity"), (6500, "harshness"), (10000, "top")):
        if hz < limit:
            return name
    return "air"


# -- edits, fades, key ----------------------------------------------------------------------------
def _edits(clause: _Clause, subtle: bool, scope: Scope, own_scope: Scope | None) -> None:
    """Fades, cuts, repeats, builds, variations and key changes."""
    tokens = clause.tokens
    words = [t.text for t in tokens]
    for i, text in enumerate(words):
        if clause.taken[i]:
            continue
        if text in ("fade", "fades", "fading", "fadeout", "fadein"):
            direction_in = clause.word(i + 1) == "in" or clause.word(i + 2) == "in" or text == "fadein" or \
                (own_scope is not None and own_scope.kind == "first")
            dimension = "fade_in" if direction_in else "fade_out"
            seconds = own_scope.seconds if own_scope is not None and own_scope.kind in ("last", "first") else None
            stop = i + 1 + (clause.word(i + 1) in ("in", "out", "it")) + (clause.word(i + 2) in ("in", "out"))
            quantity = _quantity(clause, tuple(_SECONDS))
            if seconds is None and quantity is not None:
                seconds = quantity[0]
                clause.take(quantity[1], quantity[2])
            slow = "slow" in words or "long" in words or "gradual" in words
            clause.take(max(0, i - (clause.word(i - 1) in ("slow", "proper", "long", "gradual", "a"))), stop)
            for j, w in enumerate(words):
                if w in ("slow", "proper", "long", "gradual", "instead", "stopping", "dead"):
                    clause.take(j, j + 1)
            clause.directives.append(Directive(dimension, 1, LARGE if slow else PLAIN, subtle, scope,
                                               clause.text(i, stop), quantity=seconds,
                                               unit=None if seconds is None else "s"))
            return
        if text in ("build", "builds", "building") and ("into" in words[i:i + 3] or "to" in words[i:i + 3]
                                                        or clause.word(i + 1) == "up"):
            clause.take(i, i + 1 + (clause.word(i + 1) in ("up", "into", "to")) + (clause.word(i + 2) in ("into", "to")))
            clause.directives.append(Directive("build", 1, PLAIN, subtle, scope, clause.text(i, i + 3)))
            return
        if text in ("vary", "varied", "variation", "variety", "reharmonise", "reharmonize"):
            stop = i + 1
            while clause.word(stop) in ("the", "harmony", "chords", "progression", "it", "up", "in"):
                stop += 1
            clause.take(i, stop)
            clause.directives.append(Directive("variation", 1, PLAIN, subtle, scope, clause.text(i, stop)))
            return
        if text in ("repeat", "double", "loop", "again") or (text == "one" and clause.word(i + 1) == "more" and
                                                             clause.word(i + 2) in ("time", "pass")):
            if text == "again" and "repeat" not in words:
                continue
            clause.take(i, i + 1)
            for j, w in enumerate(words):
                if w in ("one", "more", "time", "times", "once", "pass", "at", "end") and not clause.taken[j]:
                    clause.take(j, j + 1)
            if scope.kind == "sections" and "ending" in scope.sections and len(scope.sections) > 1:
                role = next(n for n in scope.sections if n != "ending").split()[-1]
                scope = Scope("sections", sections=(f"last {role}",))  # "repeat the chorus … at the end"
            clause.directives.append(Directive("repeat", 1, PLAIN, subtle, scope, text))
            return
        if text in _CUT_VERBS | {"shorten", "trim", "tighten", "extend", "lengthen"} and own_scope is not None and \
                own_scope.kind in ("sections", "all") or (text in ("cut", "shorten", "trim", "extend", "lengthen")
                                                          and own_scope is None):
            _length_edit(clause, i, subtle, scope, own_scope)
            if clause.directives:
                return
    _key(clause, subtle, scope)


def _abrupt_ending(clause: _Clause, subtle: bool) -> None:
    """"It just stops dead", "it ends abruptly": the piece needs an ending, a fade out over its
    last seconds (nothing when the clause already asks for an edit)."""
    if clause.directives:
        return
    found = find_phrases(ABRUPT, clause.tokens, clause.taken)
    if not found:
        return
    start, end, _ = found[0]
    for s, e, _ in found:
        clause.take(s, e)
    for i, token in enumerate(clause.tokens):  # "the ending", "the end": the place the fade is, not a scope
        if token.text in ("ending", "end", "outro", "dead", "cold", "suddenly", "abruptly") and not clause.taken[i]:
            clause.take(i, i + 1)
    clause.scope = None
    clause.directives.append(Directive("fade_out", 1, PLAIN, subtle, Scope(), clause.text(start, end)))


def _length_edit(clause: _Clause, i: int, subtle: bool, scope: Scope, own_scope: Scope | None) -> None:
    words = [t.text for t in clause.tokens]
    text = words[i]
    bars = _quantity(clause, ("bar", "bars"))
    seconds = _quantity(clause, tuple(_SECONDS))
    absolute = "to" in words[i:]
    if text in ("extend", "lengthen"):
        clause.take(i, i + 1)
        quantity = bars or seconds
        clause.directives.append(Directive("length", 1, PLAIN, subtle, scope, text,
                                           quantity=None if quantity is None else quantity[0],
                                           unit=None if quantity is None else ("bars" if bars else "s")))
        return
    if "half" in words[i:]:
        at = words.index("half", i)
        clause.take(i, at + 1)
        clause.directives.append(Directive("length", -1, PLAIN, subtle, scope, clause.text(i, at + 1),
                                           quantity=0.5, unit="fraction"))
        return
    if bars is not None or seconds is not None:
        quantity = bars or seconds
        assert quantity is not None
        clause.take(i, i + 1)
        clause.take(quantity[1], quantity[2])
        for j, w in enumerate(words):
            if w in ("down", "to", "it", "about") and not clause.taken[j]:
                clause.take(j, j + 1)
        clause.directives.append(Directive("length", -1, PLAIN, subtle, scope, clause.text(i, quantity[2]),
                                           quantity=quantity[0], unit="bars" if bars else "s", absolute=absolute))
        return
    if own_scope is not None and own_scope.kind == "sections":
        cut = text in _CUT_VERBS
        clause.take(i, i + 1)
        clause.directives.append(Directive("length", -1, LARGE if cut else PLAIN, subtle, scope, text,
                                           quantity=1.0 if cut else 0.5, unit="fraction"))


def _key(clause: _Clause, subtle: bool, scope: Scope) -> None:
    """"up a semitone", "down two semitones", "a minor third", "lower key", "modulate up a whole step"."""
    tokens = clause.tokens
    words = [t.text for t in tokens]
    interval = None
    for start, end, index in find_phrases(_INTERVAL_PHRASES, tokens, clause.taken):
        if words[start] == "tone" and clause.word(start - 1) in ("the", "its"):
            continue  # "the tone" is colour, not a step
        count = _number(clause, start - 1)
        semitones = INTERVALS[index][1] * (count if count is not None and count >= 1 else 1.0)
        interval = (semitones, start - (count is not None), end)
        break
    keyword = next((i for i, w in enumerate(words) if w in ("key", "keys", "transpose", "modulate", "modulation",
                                                             "pitch") and not clause.taken[i]), None)
    if keyword is not None and words[keyword] == "keys" and clause.word(keyword - 1) != "the":
        keyword = None
    if interval is None and keyword is None:
        return
    if interval is None and words[keyword or 0] == "keys":
        return
    up = {"up", "higher", "raise", "lift", "sharpen", "increase"}
    down = {"down", "lower", "drop", "flatten", "decrease"}
    direction = 1 if set(words) & up else -1 if set(words) & down else 1
    if interval is not None:
        clause.take(interval[1], interval[2])
    for i, w in enumerate(words):
        if w in up | down | {"key", "transpose", "modulate", "change", "shift", "put", "it", "a", "by", "pitch",
                             "modulation"} and not clause.taken[i]:
            clause.take(i, i + 1)
    text = " ".join(words)
    clause.directives.append(Directive("key", direction, PLAIN, subtle, scope, text,
                                       quantity=None if interval is None else float(interval[0]),
                                       unit=None if interval is None else "st"))


def _pace_quantity(clause: _Clause) -> None:
    """"10 %", "15 percent", "by 8 %": the tempo change of a pace directive in the clause."""
    found = _quantity(clause, ("%", "percent", "per"))
    if found is None:
        return
    for index, directive in enumerate(clause.directives):
        if directive.dimension in ("pace", "loudness") and directive.quantity is None:
            clause.take(found[1], found[2])
            clause.directives[index] = _with(directive, quantity=found[0], unit="%")
            return


def _seconds_quantity(clause: _Clause) -> None:
    """"15 seconds longer", "down to 30 seconds": the length change (or the length) of a length directive."""
    found = _quantity(clause, tuple(_SECONDS))
    if found is None:
        return
    for index, directive in enumerate(clause.directives):
        if directive.dimension == "length" and directive.quantity is None:
            clause.take(found[1], found[2])
            absolute = clause.word(found[1] - 1) == "to" or clause.word(found[1]) == "to"
            clause.directives[index] = _with(directive, quantity=found[0], unit="s", absolute=absolute)
            return


def _db_quantity(clause: _Clause) -> None:
    found = _quantity(clause, ("db", "decibel", "decibels"))
    if found is None:
        return
    for index, directive in enumerate(clause.directives):
        if directive.quantity is None and (directive.dimension in ("loudness", "presence") or
                                           directive.dimension in REGIONS):
            clause.take(found[1], found[2])
            clause.directives[index] = _with(directive, quantity=found[0], unit="dB")
            return


def _with(directive: Directive, **changes: object) -> Directive:
    data = {**directive.__dict__, **changes}
    return Directive(**data)  # type: ignore[arg-type]


# -- the reader --------------------------------------------------------------------------------------
def _split(tokens: list[Token]) -> list[_Clause]:
    clauses: list[_Clause] = []
    current: list[Token] = []
    joined = False

    def close(next_joined: bool) -> None:
        nonlocal current, joined
        if current:
            clauses.append(_Clause(current, joined))
        current, joined = [], next_joined

    for index, token in enumerate(tokens):
        text = token.text
        if token.kind == "punct" and text in CLAUSE_PUNCT:
            close(False)
            continue
        if text in _SPLIT_WORDS or (text == "so" and index + 1 < len(tokens) and
                                    tokens[index + 1].text in ("the", "it", "that", "we", "i", "you", "they")):
            close(False)
            if text == "then":
                current.append(token)
            continue
        if text == "and":
            prev = tokens[index - 1] if index else None
            nxt = tokens[index + 1] if index + 1 < len(tokens) else None
            if prev is not None and nxt is not None and (
                    (prev.kind in ("time", "number") and nxt.kind in ("time", "number")) or
                    (_is_part(prev.text) and _is_part(nxt.text))):
                current.append(token)
                continue
            close(True)
            continue
        current.append(token)
    close(False)
    return clauses


def _is_part(word: str) -> bool:
    return any(PARTS[i][0].rstrip("*") == word or (PARTS[i][0].endswith("*") and word.startswith(PARTS[i][0][:-1]))
               for i in range(len(PARTS)))


_STOP = frozenset("""a an the it its it's is be to of in on at for and or but so this that these those me we us our
you your i i'd i'm my make makes made making feel feels feeling sound sounds sounding more less much very really
bit little can could would should please let lets get gets got just maybe kind sort like as with without into from
up down there here some any all one ones than then too also still even quite rather do does don't dont not no need
needs want wants have has had go going keep keeps put try overall whole track song music cue piece mix version way
lot bring out emotionally emotion musically thing things under until till when where while around near by over end
start beginning time moment after before once we reach reaching get getting obvious noticeable are was were been
enough touch hint tad shade slightly somewhat gently extra think afterwards perhaps possible if sure honestly right
now what how about okay ok yes yeah will there's that's isn't aren't wouldn't mind hate everything everyone bits
section part parts scene give land hold together cut done leave back washing turn ever shouldn't rest only stays stay exactly remains""".split())
_STOP = _STOP | NEGATORS


def interpret(note: str, *, at: Scope | None = None) -> Interpretation:
    """Read ``note`` into directives and holds; ``at`` (from ``--at``) scopes clauses that name no scope."""
    text = normalise(note)
    words = [w for w in text.split() if any(c.isalnum() for c in w)]
    if len(words) > MAX_WORDS:
        return Interpretation(note, (), refusal=(
            f"this note is {len(words)} words long; I read notes of up to {MAX_WORDS} words reliably: "
            "split it into separate notes, one or two changes each"))
    tokens = tokenize(note)
    subtle = False
    for phrase in SUBTLE:
        for start in range(len(tokens)):
            end = phrase.match(tokens, start)
            if end is not None:
                subtle = True
                tokens = tokens[:start] + tokens[end:]
                break
    try:
        return _read(note, tokens, subtle, at)
    except _Refusal as refusal:
        return Interpretation(note, (), refusal=str(refusal))


def _read(note: str, tokens: list[Token], subtle: bool, at: Scope | None) -> Interpretation:
    clauses = _split(tokens)
    for index, clause in enumerate(clauses):
        _scope(clause)
        previous = clauses[index - 1] if index else None
        if clause.scope is None and previous is not None and previous.scope is not None and \
                previous.scope.kind == "until" and clause.word(0) == "then":
            clause.scope = Scope("from", previous.scope.start_s, None, previous.scope.sections)
            clause.take(0, 1)
    note_scope = next((c.scope for c in reversed(clauses) if c.scope is not None and c.wide), None) or at
    complaint = False
    previous_scope: Scope | None = None
    last_dimension: tuple[str, str | None] | None = None
    for clause in clauses:
        own = clause.scope
        if own is None and previous_scope is not None and (
                clause.joined_by_and or clause.words_set & {"it", "them", "those", "that"}):
            own = previous_scope  # "the intro is too long, cut it in half"
        scope = own or note_scope or Scope()
        _holds(clause)
        _parts(clause, subtle, scope)
        _edits(clause, subtle, scope, own)
        _abrupt_ending(clause, subtle)
        region = _region_by_hz(clause)
        _locations(clause)
        _qualities(clause, subtle, scope, complaint)
        if region is not None and not any(d.dimension in REGIONS for d in clause.directives):
            reduce = bool(clause.words_set & {"cut", "less", "tame", "reduce", "remove", "rid", "clear", "scoop", "dip",
                                              "lower", "down"})
            earlier = [d for c in clauses[:clauses.index(clause)] for d in c.directives if d.dimension in REGIONS]
            direction = -1 if reduce else earlier[-1].direction if earlier and not clause.directives and \
                not clause.words_set & {"boost", "add", "more", "lift"} else 1
            if earlier and not clause.directives and earlier[-1].dimension == region[0]:
                pass  # "a bit harsh up top, around 3 to 5k": the same region, said again
            else:
                clause.directives.append(Directive(region[0], direction, _degree(clause, 0, len(clause.tokens))
                                                   or PLAIN, subtle, scope, clause.text(region[1], region[2])))
        _pace_quantity(clause)
        _db_quantity(clause)
        _seconds_quantity(clause)
        if not clause.directives and last_dimension is not None:
            _pronoun(clause, last_dimension, subtle, scope)
        _breathing_room(clause)
        complaint = _state(clause) and any(d.dimension != "presence" for d in clause.directives)
        if clause.directives:
            last = clause.directives[-1]
            last_dimension = (last.dimension, last.part)
        previous_scope = own
    directives = [d for c in clauses for d in c.directives]
    holds = list(dict.fromkeys(h for c in clauses for h in c.holds))
    _contradictions(directives, holds)
    directives = _merge(directives)
    understood: list[str] = []
    leftovers: list[str] = []
    for clause in clauses:
        understood.extend(clause.words)
        understood.extend(d.words for d in clause.directives)
        if clause.scope is not None:
            understood.append(clause.scope.describe())
        understood.extend(h.words for h in clause.holds)
        for i, token in enumerate(clause.tokens):
            if not clause.taken[i] and token.kind == "word" and token.text not in _STOP and len(token.text) > 2 \
                    and not _is_degree(clause, i) and token.text not in PRAISE:
                leftovers.append(token.text)
    if subtle:
        understood.append("subtly")
    return Interpretation(note, tuple(directives), tuple(dict.fromkeys(w for w in understood if w)),
                          tuple(dict.fromkeys(leftovers)), holds=tuple(holds))


def _pronoun(clause: _Clause, last: tuple[str, str | None], subtle: bool, scope: Scope) -> None:
    """"raise the key and lower it", "pull them back": a change of the thing just named."""
    words = [t.text for t in clause.tokens]
    if not set(words) & {"it", "them", "that", "those", "this"}:
        return
    up = {"raise", "up", "lift", "boost", "more", "increase", "higher", "louder"}
    down = {"lower", "down", "back", "cut", "reduce", "less", "drop", "tame", "pull"}
    direction = -1 if set(words) & down else 1 if set(words) & up else 0
    if direction == 0:
        return
    dimension, part = last
    if dimension in ("fade_in", "fade_out", "build", "repeat", "variation", "length"):
        return
    clause.take(0, len(words))
    clause.directives.append(Directive(dimension, direction, _degree(clause, 0, len(words)) or PLAIN, subtle, scope,
                                       " ".join(words), part))


def _breathing_room(clause: _Clause) -> None:
    """"let the intro breathe": a section given more time, not fewer parts."""
    for index, directive in enumerate(clause.directives):
        if directive.dimension == "density" and directive.direction < 0 and "breathe" in directive.words and \
                directive.scope.kind == "sections" and len(directive.scope.sections) == 1 and \
                not directive.scope.sections[0].startswith("every"):
            clause.directives[index] = _with(directive, dimension="length", direction=1)


def _overlap(a: Scope, b: Scope) -> bool:
    return a == b or a.kind == "all" or b.kind == "all"


def contradiction(directives: Sequence[Directive], holds: Sequence[Hold]) -> str | None:
    """Why a reading contradicts itself (opposites in one place, or a change it also forbids), or None."""
    try:
        _contradictions(directives, holds)
    except _Refusal as refusal:
        return str(refusal)
    return None


def _contradictions(directives: Sequence[Directive], holds: Sequence[Hold]) -> None:
    """Refuse a note that asks for opposites in one place, or for a change it also forbids."""
    for i, a in enumerate(directives):
        for b in directives[i + 1:]:
            if a.dimension == b.dimension and a.part == b.part and a.direction != b.direction and \
                    _overlap(a.scope, b.scope):
                name = a.part or a.dimension.replace("_", " ")
                raise _Refusal(f"the note asks for both more and less {name} (\"{a.words}\" and \"{b.words}\"); "
                               "say which one you want")
        for hold in holds:
            if hold.dimension == a.dimension and hold.part == a.part and hold.forbids(a.direction):
                raise _Refusal(f"the note asks to change {hold.part or hold.dimension} (\"{a.words}\") and to "
                               f"keep it (\"{hold.words}\"); say which one you want")
            if hold.dimension == "loudness" and hold.kind == "same" and a.dimension == "loudness":
                raise _Refusal(f"the note asks for a change of level (\"{a.words}\") at the same level "
                               f"(\"{hold.words}\")")


def _merge(directives: list[Directive]) -> list[Directive]:
    """One directive per (dimension, part, scope): the strongest, keeping the words of all."""
    out: dict[tuple[str, str | None, Scope], Directive] = {}
    for directive in directives:
        key = (directive.dimension, directive.part, directive.scope)
        if key in out:
            kept = out[key]
            stronger = directive if (directive.quantity or 0) > (kept.quantity or 0) or (
                abs(directive.signed) > abs(kept.signed) and directive.quantity is None and kept.quantity is None) \
                else kept
            out[key] = _with(stronger, words=f"{kept.words} and {directive.words}")
        else:
            out[key] = directive
    return list(out.values())
