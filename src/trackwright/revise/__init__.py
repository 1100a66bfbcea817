"""Creative notes → musical changes: read a note into directives (interpret, llm), plan the
techniques (techniques, scope), commit, render and measure (note)."""

from __future__ import annotations

from typing import Any


def apply_note(project: Any, text: str, **options: Any) -> Any:
    """See :func:`trackwright.revise.note.apply_note` (imported lazily: it pulls in the renderer)."""
    from trackwright.revise.note import apply_note as run

    return run(project, text, **options)


__all__ = ["apply_note"]
