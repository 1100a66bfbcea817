"""Names of delivered files."""

from __future__ import annotations

import re

from trackwright.errors import ParameterError


def title_for(text: str) -> str:
    """A file-name-safe title: ``"my first song"`` → ``"MyFirstSong"``."""
    words = [w for w in re.split(r"[^A-Za-z0-9]+", text) if w]
    title = "".join(w[:1].upper() + w[1:] for w in words)
    if not title:
        raise ParameterError(f"title {text!r} has no letters or digits to name the files with")
    return title[:60]
