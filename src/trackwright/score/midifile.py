"""Reading Standard MIDI Files: one-line errors, and a track as paired notes plus other events;
writing a track from events at absolute ticks.

Every module that reads MIDI (the arrangement editor, the symbolic layer, expression shaping)
pairs note-ons with note-offs the same way: first on, first off, per channel and pitch; a
note-on with velocity 0 is a note-off; a note still sounding at the end of the track ends there.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
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


def append_in_order(track: mido.MidiTrack, events: Iterable[tuple[int, int, mido.Message]]) -> int:
    """Append ``(tick, order, message)`` events to ``track``, sorted by absolute tick and then by
    ``order`` (e.g. note-offs before note-ons on the same tick), each with its delta time.

    Returns
    -------
    int
        The absolute tick of the last event appended (0 when there were none).
    """
    now = 0
    for tick, _, message in sorted(events, key=lambda e: (e[0], e[1])):
        track.append(message.copy(time=tick - now))
        now = tick
    return now
