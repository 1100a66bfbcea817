"""Optional: route notes to a language model of the user's own (an OpenAI-compatible endpoint).

The built-in reader (:func:`trackwright.revise.interpret.interpret`) never needs this. A user
who wants a model to read notes configures an endpoint::

    export TRACKWRIGHT_NOTES_URL=http://localhost:8080/v1     # any OpenAI-compatible server
    export TRACKWRIGHT_NOTES_MODEL=my-model
    export TRACKWRIGHT_NOTES_KEY=...                          # optional bearer token

The model is asked for JSON only, and its answer must validate against the very same directive
schema (:meth:`Directive.from_dict`) as everything else; an answer that does not is refused
with a one-line error, never half-applied. Nothing is contacted unless the user configured it.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from trackwright.errors import ParameterError, TrackwrightError
from trackwright.revise.directives import (
    DIMENSIONS,
    HOLD_KINDS,
    PART_ROLES,
    SCOPE_KINDS,
    UNITS,
    Directive,
    Hold,
    Interpretation,
    Scope,
)
from trackwright.revise.interpret import contradiction, interpret

ENV_URL = "TRACKWRIGHT_NOTES_URL"
ENV_MODEL = "TRACKWRIGHT_NOTES_MODEL"
ENV_KEY = "TRACKWRIGHT_NOTES_KEY"


@dataclass(frozen=True)
class ModelEndpoint:
    """An OpenAI-compatible chat endpoint: ``url`` is the API base (…/v1)."""

    url: str
    model: str
    api_key: str | None = None
    timeout_s: float = 30.0

    @classmethod
    def from_environment(cls) -> ModelEndpoint | None:
        """The endpoint configured in the environment, or None (the default: no model)."""
        url = os.environ.get(ENV_URL, "").strip()
        if not url:
            return None
        model = os.environ.get(ENV_MODEL, "").strip()
        if not model:
            raise ParameterError(f"{ENV_URL} is set but {ENV_MODEL} is not: name the model to ask")
        return cls(url.rstrip("/"), model, os.environ.get(ENV_KEY) or None)


def system_prompt() -> str:
    """The instructions sent to the model: the schema and its vocabulary, JSON only."""
    dims = "\n".join(f"- {name}: {meaning}" for name, meaning in DIMENSIONS.items())
    return (
        "You turn a film/game music director's note into musical directives. Answer with JSON only, "
        'of the form {"directives": [...], "not_understood": ["word", ...]}. Each directive: '
        '{"dimension": one of the names below, "direction": 1 or -1, "amount": 0.15 (a tiny bit) / 0.3 (a bit) / '
        '0.6 / 1.0 (much), "subtle": true when the note asks for it not to be obvious, "scope": {"kind": one of '
        f"{', '.join(SCOPE_KINDS)}, \"start_s\", \"end_s\" (seconds), \"sections\": [names like \"chorus 2\", "
        '"intro", "last section", "ending"], "seconds" (for last/first), "fraction": [start, end] (0–1, for '
        'fraction)}, "words": the words of the note that ask for it, "quantity" and "unit" (one of '
        f'{", ".join(UNITS)}) when the note states an amount, "absolute": true when the quantity is a target '
        f'("down to 30 seconds"), "part": only for dimension "presence", one of {", ".join(PART_ROLES)}}}. '
        'Constraints go in "holds": [{"dimension", "kind": one of '
        f'{", ".join(HOLD_KINDS)}, "part" (for "presence"), "words"}}], e.g. "not louder" is '
        f'{{"dimension": "loudness", "kind": "not_up"}}.\nDimensions:\n{dims}'
    )


def _post(endpoint: ModelEndpoint, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{endpoint.url}/chat/completions", data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json",
                 **({"Authorization": f"Bearer {endpoint.api_key}"} if endpoint.api_key else {})})
    try:
        with urllib.request.urlopen(request, timeout=endpoint.timeout_s) as response:  # noqa: S310 - user's own URL
            return json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as err:
        raise TrackwrightError(f"the notes model at {endpoint.url} answered HTTP {err.code}") from err
    except (urllib.error.URLError, TimeoutError, OSError) as err:
        raise TrackwrightError(f"cannot reach the notes model at {endpoint.url}: {err}") from err
    except json.JSONDecodeError as err:
        raise TrackwrightError(f"the notes model at {endpoint.url} did not answer JSON") from err


def interpret_with_model(note: str, endpoint: ModelEndpoint, *, at: Scope | None = None) -> Interpretation:
    """Ask ``endpoint`` to read ``note``; validate every directive against the schema."""
    answer = _post(endpoint, {
        "model": endpoint.model, "temperature": 0,
        "response_format": {"type": "json_object"},
        "messages": [{"role": "system", "content": system_prompt()},
                     {"role": "user", "content": note if at is None else f"{note}\n(applies to {at.describe()})"}],
    })
    try:
        content = answer["choices"][0]["message"]["content"]
        data = json.loads(content) if isinstance(content, str) else content
    except (KeyError, IndexError, TypeError, json.JSONDecodeError) as err:
        raise ParameterError("the notes model's answer is not a chat completion with JSON content") from err
    if not isinstance(data, dict) or not isinstance(data.get("directives"), list):
        raise ParameterError('the notes model\'s answer lacks a "directives" list')
    directives = []
    for index, item in enumerate(data["directives"]):
        directive = Directive.from_dict(item, where=f"model answer: directives[{index}]")
        if at is not None and directive.scope.kind == "all":
            directive = Directive(directive.dimension, directive.direction, directive.amount, directive.subtle, at,
                                  directive.words, directive.part)
        directives.append(directive)
    missed = data.get("not_understood") or []
    if not isinstance(missed, list) or not all(isinstance(w, str) for w in missed):
        raise ParameterError('the notes model\'s "not_understood" must be a list of words')
    raw_holds = data.get("holds") or []
    if not isinstance(raw_holds, list):
        raise ParameterError('the notes model\'s "holds" must be a list')
    holds = tuple(Hold.from_dict(item, where=f"model answer: holds[{index}]") for index, item in enumerate(raw_holds))
    return Interpretation(note, tuple(directives), tuple(d.words for d in directives if d.words), tuple(missed),
                          source=f"model {endpoint.model}", holds=holds,
                          refusal=contradiction(directives, list(holds)))


def read_note(note: str, *, at: Scope | None = None, endpoint: ModelEndpoint | None = None) -> Interpretation:
    """The configured model's reading when there is one, else the built-in reader's."""
    endpoint = endpoint or ModelEndpoint.from_environment()
    return interpret(note, at=at) if endpoint is None else interpret_with_model(note, endpoint, at=at)
