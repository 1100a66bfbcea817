"""Apply an edit to MIDI, so that the score follows the audio's edit list bar for bar.

Each rendered piece copies the notes that *start* inside its source span (or up to
``EARLY_ONSET_S`` before it, for notes played a little ahead of the downbeat), moved to the
piece's output time and scaled by its stretch; notes still sounding at the end of a piece are
cut there, exactly as the audio is. Controller and program state at each piece's start is
re-sent, so a jump never leaves an instrument, pedal or volume in the wrong state.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import mido

from trackwright.arrange.splice import SplicePlan
from trackwright.score.midifile import read_midi, track_notes

#: A note this far ahead of a piece's start still belongs to that piece (played early), seconds.
EARLY_ONSET_S = 0.03


@dataclass(frozen=True)
class _Note:
    start_s: float
    end_s: float
    channel: int
    pitch: int
    velocity: int


@dataclass(frozen=True)
class _Event:
    time_s: float
    message: mido.Message


def load_midi(midi: str | os.PathLike[str] | mido.MidiFile) -> mido.MidiFile:
    """Read a MIDI file with a one-line error for a missing or corrupt file."""
    return read_midi(midi)


def _tempo_map(midi: mido.MidiFile) -> list[tuple[int, int]]:
    """(tick, microseconds per beat) changes from every track, sorted."""
    changes = []
    for track in midi.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type == "set_tempo":
                changes.append((tick, msg.tempo))
    changes.sort()
    if not changes or changes[0][0] != 0:
        changes.insert(0, (0, 500_000))
    return changes


def _seconds(tick: int, tempos: list[tuple[int, int]], ticks_per_beat: int) -> float:
    seconds, last_tick, tempo = 0.0, 0, tempos[0][1]
    for change_tick, change_tempo in tempos[1:]:
        if change_tick > tick:
            break
        seconds += (change_tick - last_tick) * tempo / 1e6 / ticks_per_beat
        last_tick, tempo = change_tick, change_tempo
    return seconds + (tick - last_tick) * tempo / 1e6 / ticks_per_beat


def _read_track(track: mido.MidiTrack, tempos: list[tuple[int, int]], tpb: int
                ) -> tuple[list[_Note], list[_Event], list[mido.MetaMessage]]:
    """Notes, channel events (controllers, programs, bends) and time-zero meta of one track."""
    paired = track_notes(track)
    notes = [_Note(_seconds(on, tempos, tpb), _seconds(off, tempos, tpb), channel, pitch, velocity)
             for on, off, channel, pitch, velocity in paired.notes]
    events: list[_Event] = []
    meta: list[mido.MetaMessage] = []
    for tick, msg in paired.other:
        if msg.is_meta:
            if msg.type in ("track_name", "instrument_name", "time_signature", "key_signature") and tick == 0:
                meta.append(msg.copy(time=0))
        elif msg.type in ("control_change", "program_change", "pitchwheel", "aftertouch", "polytouch"):
            events.append(_Event(_seconds(tick, tempos, tpb), msg.copy(time=0)))
    return notes, events, meta


def _state_key(msg: mido.Message) -> tuple:
    if msg.type == "control_change":
        return ("cc", msg.channel, msg.control)
    return (msg.type, msg.channel)


def edit_midi(midi: str | os.PathLike[str] | mido.MidiFile, plan: SplicePlan) -> mido.MidiFile:
    """The MIDI of ``midi`` rearranged by ``plan`` (the same plan that edited the audio).

    Times in the result follow the plan's output seconds; the file keeps the source's
    resolution, track layout, names and first tempo.
    """
    source = load_midi(midi)
    tpb = source.ticks_per_beat
    tempos = _tempo_map(source)
    tempo = tempos[0][1]
    pieces = plan.pieces_s()
    out = mido.MidiFile(type=1 if len(source.tracks) > 1 else 0, ticks_per_beat=tpb)
    for index, track in enumerate(source.tracks):
        notes, events, meta = _read_track(track, tempos, tpb)
        timed: list[tuple[float, int, mido.Message]] = []  # (seconds, order, message); offs sort first
        for piece in pieces:
            s0, s1 = piece["source_start_s"], piece["source_end_s"]
            o0, o1, stretch = piece["output_start_s"], piece["output_end_s"], piece["stretch"]

            def place(t: float, o0: float = o0, s0: float = s0, stretch: float = stretch) -> float:
                return o0 + max(t - s0, 0.0) * stretch

            state: dict[tuple, mido.Message] = {}
            for event in events:
                if event.time_s < s0:
                    state[_state_key(event.message)] = event.message
                elif event.time_s < s1:
                    timed.append((place(event.time_s), 1, event.message))
            timed.extend((o0, 1, msg) for msg in state.values())
            for note in notes:
                if s0 - EARLY_ONSET_S <= note.start_s < s1:
                    start = place(note.start_s)
                    end = min(place(min(note.end_s, s1)), o1)
                    if end <= start:
                        continue
                    timed.append((start, 2, mido.Message("note_on", channel=note.channel, note=note.pitch,
                                                         velocity=note.velocity)))
                    timed.append((end, 0, mido.Message("note_off", channel=note.channel, note=note.pitch,
                                                       velocity=0)))
        new = mido.MidiTrack()
        new.extend(meta)
        if index == 0:
            new.append(mido.MetaMessage("set_tempo", tempo=tempo, time=0))
        timed.sort(key=lambda item: (item[0], item[1]))
        last_tick = 0
        for t, _, msg in timed:
            tick = int(round(mido.second2tick(t, tpb, tempo)))
            new.append(msg.copy(time=max(tick - last_tick, 0)))
            last_tick = max(tick, last_tick)
        new.append(mido.MetaMessage("end_of_track", time=0))
        out.tracks.append(new)
    return out


def timed_notes(midi: str | os.PathLike[str] | mido.MidiFile) -> list[tuple[float, float, int, int, int]]:
    """Every note as (start_s, end_s, channel, pitch, velocity), sorted, times in seconds through
    the file's own tempo map."""
    source = load_midi(midi)
    tempos = _tempo_map(source)
    notes = [n for track in source.tracks for n in _read_track(track, tempos, source.ticks_per_beat)[0]]
    return sorted((n.start_s, n.end_s, n.channel, n.pitch, n.velocity) for n in notes)


def midi_notes(midi: str | os.PathLike[str] | mido.MidiFile) -> list[tuple[float, float, int, int]]:
    """Every note as (start_s, end_s, channel, pitch), sorted; for checks and tests."""
    return [note[:4] for note in timed_notes(midi)]
