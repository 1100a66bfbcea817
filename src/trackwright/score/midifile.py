"""Reading Standard MIDI Files: one-line errors, and a track as paired notes plus other events.

Every module that reads MIDI (the arrangement editor, the symbolic layer, expression shaping)
pairs note-ons with note-offs the same way: first on, first off, per channel and pitch; a
note-on with velocity 0 is a note-off; a note still sounding at the end of the track ends there.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import mido

from trackwright.errors import AudioFileError


def read_midi(midi: str | os.PathLike[str] | mido.MidiFile) -> mido.MidiFile:
    """A MidiFile from a path (or the file itself), with a one-line error for a missing or corrupt file."""
    if isinstance(midi, mido.MidiFile):
        return midi
    try:
        return mido.MidiFile(str(midi))
    except FileNotFoundError as err:
        raise AudioFileError(f"{midi}: no such MIDI file") from err
    except (OSError, ValueError, EOFError, KeyError, IndexError) as err:
        raise AudioFileError(f"{midi}: not a readable MIDI file ({err})") from err


@dataclass
class TrackNotes:
    """One track in absolute ticks.

    Attributes
    ----------
    notes : list of [on_tick, off_tick, channel, pitch, velocity]
        In order of onset (mutable lists, so callers can move them).
    other : list of (tick, message)
        Every other message but ``end_of_track``.
    end_tick : int
        The track's last tick.
    """

    notes: list[list[int]]
    other: list[tuple[int, mido.Message]]
    end_tick: int


def track_notes(track: mido.MidiTrack) -> TrackNotes:
    """Pair ``track``'s note-ons and note-offs; see the module docstring."""
    notes: list[list[int]] = []
    other: list[tuple[int, mido.Message]] = []
    sounding: dict[tuple[int, int], list[list[int]]] = {}
    tick = 0
    for msg in track:
        tick += msg.time
        if msg.type == "note_on" and msg.velocity > 0:
            note = [tick, tick, msg.channel, msg.note, msg.velocity]
            notes.append(note)
            sounding.setdefault((msg.channel, msg.note), []).append(note)
        elif msg.type in ("note_on", "note_off"):
            started = sounding.get((msg.channel, msg.note))
            if started:
                started.pop(0)[1] = tick
        elif msg.type != "end_of_track":
            other.append((tick, msg))
    for started in sounding.values():
        for note in started:
            note[1] = tick
    return TrackNotes(notes, other, tick)
