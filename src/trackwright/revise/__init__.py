"""Creative notes → musical changes: read a note into directives (interpret, llm), plan the
techniques (techniques, scope), commit, render and measure (note)."""

from trackwright.revise.note import NoteResult, apply_note

__all__ = ["NoteResult", "apply_note"]
