"""Words, numbers and times of a note, and phrase patterns matched on them (not on substrings).

Conventions
-----------
* :func:`tokenize` lower-cases the note, turns curly quotes into ``'``, and splits it into
  :class:`Token` s: ``word`` (letters, with an inner apostrophe: "don't", "it's"), ``number``
  ("10", "2.5"), ``time`` ("1:05", "9:99" — checked later), ``unit`` glued to a number ("5k",
  "20%", "150hz", "2db", "10s") split into a number and a unit word, and ``punct`` (",", ".",
  "-", "?"…). A hyphen between letters joins nothing: "hi-hats" is "hi" "hats", "laid-back" is
  "laid" "back"; between numbers it is a range.
* A phrase pattern is a space-separated sequence of elements: a word; ``word*`` (any word that
  starts so: ``vulnerab*``); ``[a|b|c]`` (one of, each possibly ``*``); a trailing ``?`` makes an
  element optional; ``_`` is any one word. :func:`compile_phrase` builds one, and
  :meth:`Phrase.match` returns where a match starting at a token ends, or None.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

#: Tokens that end a clause.
CLAUSE_PUNCT = frozenset({",", ";", ".", "!", "?", ":", "(", ")", "/", "—", "…"})
_TOKEN = re.compile(r"(?P<time>\d+:\d+(?:\.\d+)?)|(?P<number>\d+(?:\.\d+)?)(?P<unit>k|khz|hz|db|%|s|sec|secs|ms|st)?"
                    r"(?![a-z0-9])|(?P<word>[a-z]+(?:'[a-z]+)?)|(?P<punct>[^\sa-z0-9])")


@dataclass(frozen=True)
class Token:
    """One token: its text, kind ("word", "number", "time", "punct") and character span in the note."""

    text: str
    kind: str
    start: int
    end: int


def normalise(note: str) -> str:
    """Lower case, plain apostrophes and dashes, single spaces."""
    text = note.lower().replace("’", "'").replace("‘", "'").replace("–", "-").replace("—", " — ")
    return " ".join(text.split())


def tokenize(note: str) -> list[Token]:
    """The tokens of ``note`` (see the module conventions); the spans index :func:`normalise` (note)."""
    text = normalise(note)
    tokens: list[Token] = []
    for match in _TOKEN.finditer(text):
        if match.group("time"):
            tokens.append(Token(match.group("time"), "time", *match.span()))
        elif match.group("number"):
            tokens.append(Token(match.group("number"), "number", match.start("number"), match.end("number")))
            if match.group("unit"):
                tokens.append(Token(match.group("unit"), "word", match.start("unit"), match.end("unit")))
        elif match.group("word"):
            tokens.append(Token(match.group("word"), "word", *match.span()))
        elif match.group("punct") == "-" and tokens and tokens[-1].kind == "word" and \
                match.end() < len(text) and text[match.end()].isalpha():
            continue  # "hi-hats", "laid-back": two words
        elif match.group("punct") == "%":
            tokens.append(Token("%", "word", *match.span()))  # "10 %": a unit, like "10%"
        else:
            tokens.append(Token(match.group("punct"), "punct", *match.span()))
    return tokens


@dataclass(frozen=True)
class _Element:
    options: tuple[str, ...]  # words; a trailing "*" is a prefix; "_" any word
    optional: bool

    def accepts(self, token: Token) -> bool:
        if token.kind not in ("word", "number"):
            return False
        for option in self.options:
            if option == "_" and token.kind == "word":
                return True
            if option.endswith("*") and token.text.startswith(option[:-1]) and token.kind == "word":
                return True
            if option == token.text:
                return True
        return False


@dataclass(frozen=True)
class Phrase:
    """A compiled phrase pattern (see the module conventions)."""

    source: str
    elements: tuple[_Element, ...]

    def match(self, tokens: Sequence[Token], start: int) -> int | None:
        """The end index (exclusive) of the longest match starting at ``tokens[start]``, or None."""
        return _match(self.elements, tokens, start)


def _match(elements: Sequence[_Element], tokens: Sequence[Token], at: int) -> int | None:
    if not elements:
        return at
    head, rest = elements[0], elements[1:]
    best = None
    if at < len(tokens) and head.accepts(tokens[at]):
        best = _match(rest, tokens, at + 1)
    if head.optional:
        skipped = _match(rest, tokens, at)
        if skipped is not None and (best is None or skipped > best):
            best = skipped
    return best


def compile_phrase(pattern: str) -> Phrase:
    """Compile ``pattern``, e.g. ``"hold [it|things|emotion*]? back"``."""
    elements = []
    if any(part.count("[") != part.count("]") for part in pattern.split()):
        raise ValueError(f"phrase {pattern!r}: an alternative [a|b] holds single words only")
    for raw in pattern.split():
        optional = raw.endswith("?")
        body = raw[:-1] if optional else raw
        options = tuple(body[1:-1].split("|")) if body.startswith("[") and body.endswith("]") else (body,)
        if not all(options):
            raise ValueError(f"empty alternative in phrase {pattern!r}")  # a bug in a lexicon, not user input
        elements.append(_Element(options, optional))
    if not elements or all(e.optional for e in elements):
        raise ValueError(f"phrase {pattern!r} matches nothing")
    return Phrase(pattern, tuple(elements))


def find_phrases(phrases: Sequence[Phrase], tokens: Sequence[Token], taken: Sequence[bool] | None = None
                 ) -> list[tuple[int, int, int]]:
    """Non-overlapping matches of ``phrases`` in ``tokens``, left to right, longest first at each
    position: (start, end, index of the phrase). Tokens marked in ``taken`` are skipped."""
    out = []
    i = 0
    while i < len(tokens):
        if taken is not None and taken[i]:
            i += 1
            continue
        best: tuple[int, int] | None = None
        for index, phrase in enumerate(phrases):
            end = phrase.match(tokens, i)
            if end is not None and end > i and (taken is None or not any(taken[i:end])) and \
                    (best is None or end > best[0]):
                best = (end, index)
        if best is None:
            i += 1
            continue
        out.append((i, best[0], best[1]))
        i = best[0]
    return out
