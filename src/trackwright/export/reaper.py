"""A REAPER project (``.rpp``): tracks, audio and MIDI items, the tempo map and markers.

Conventions
-----------
* The ``.rpp`` is REAPER's own text format: ``<BLOCK …`` opens a block, ``>`` closes it, one
  item per line. Positions and lengths (``POSITION``, ``LENGTH``, ``SOFFS``, ``PT``,
  ``MARKER``) are seconds; REAPER reads them as written.
* The tempo map is the master tempo envelope (``<TEMPOENVEX``) with one square point
  (``PT seconds bpm 1``) per tempo change; points where the metre changes carry it as
  ``numerator + 65536 × denominator``. ``TEMPO`` holds the first tempo and metre.
* Audio items point at ``audio/<file>`` beside the project (copied there) or at the source
  files themselves. MIDI items are in-project MIDI (``<SOURCE MIDI``, ``HASDATA 1 960 QN``):
  events in ticks of 1/960 quarter note, so they follow the tempo map as MIDI does.
* Marker colours are REAPER's (``0x1000000 | r | g << 8 | b << 16``); findings and review
  comments carry their kind and text in the marker's name.
* Identifiers (GUIDs) are derived from the session, so the same session writes the same file.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from trackwright import __version__
from trackwright.audio import write_atomic
from trackwright.export.media import MEDIA_FOLDER, ExportResult, session_media
from trackwright.export.session import MarkerKind, NoteClip, Session, Track

TICKS_PER_QN = 960
#: Marker colours (r, g, b) by kind.
MARKER_RGB = {MarkerKind.SECTION: (58, 123, 213), MarkerKind.HIT: (233, 79, 55), MarkerKind.FINDING: (244, 180, 0),
              MarkerKind.COMMENT: (126, 87, 194)}


def _quote(text: str) -> str:
    """A string as REAPER quotes it: in the first of ``"``, ``'`` or a backtick it does not contain."""
    for mark in ('"', "'", "`"):
        if mark not in text:
            return f"{mark}{text}{mark}"
    return '"' + text.replace('"', "'") + '"'


def _num(value: float) -> str:
    return f"{value:.10f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))


def _guid(*parts: object) -> str:
    return "{" + str(uuid.uuid5(uuid.NAMESPACE_URL, "trackwright:" + "/".join(map(str, parts)))).upper() + "}"


def _colour(rgb: tuple[int, int, int]) -> int:
    r, g, b = rgb
    return 0x1000000 | r | (g << 8) | (b << 16)


def _midi_events(clip: NoteClip, channel: int, program: int | None) -> list[str]:
    """``E`` lines of an in-project MIDI source: delta ticks, status, data bytes (hex)."""
    events: list[tuple[int, int, int, int, int]] = []  # (tick, order: offs first, status, d1, d2)
    for note in clip.notes:
        on = round(note.start_beats * TICKS_PER_QN)
        off = max(on + 1, round((note.start_beats + note.duration_beats) * TICKS_PER_QN))
        events.append((on, 1, 0x90 | channel, note.pitch, note.velocity))
        events.append((off, 0, 0x80 | channel, note.pitch, 0))
    if program is not None and channel != 9:
        events.append((0, -1, 0xC0 | channel, program, 0))
    events.sort()
    end = round(clip.length_beats * TICKS_PER_QN)
    lines, at = [], 0
    for tick, _, status, d1, d2 in events:
        tick = min(tick, end)
        lines.append(f"E {tick - at} {status:02x} {d1:02x} {d2:02x}")
        at = tick
    lines.append(f"E {end - at} {0xB0 | channel:02x} 7b 00")  # all notes off at the end of the source
    return lines


def _track_lines(session: Session, index: int, track: Track, files: dict[Path, str]) -> list[str]:
    tempo = session.tempo_map
    lines = [f"<TRACK {_guid(session.title, 'track', index)}", f"NAME {_quote(track.name)}",
             f"VOLPAN {_num(10 ** (track.gain_db / 20))} {_num(track.pan)} -1 -1 1",
             f"MUTESOLO {1 if track.mute else 0} 0 0"]
    lines.append("NCHAN 2")
    for number, clip in enumerate(track.audio):
        lines += ["<ITEM", f"POSITION {_num(clip.start_s)}", "SNAPOFFS 0", f"LENGTH {_num(clip.length_s)}",
                  "LOOP 0", "ALLTAKES 0", f"FADEIN 1 {_num(clip.fade_in_s)} 0 1 0 0 0",
                  f"FADEOUT 1 {_num(clip.fade_out_s)} 0 1 0 0 0", "MUTE 0 0", "SEL 0",
                  f"IGUID {_guid(session.title, 'item', index, 'audio', number)}", f"NAME {_quote(clip.label)}",
                  f"VOLPAN {_num(10 ** (clip.gain_db / 20))} 0 1 -1", f"SOFFS {_num(clip.offset_s)}",
                  "PLAYRATE 1 1 0 -1 0 0.0025", "CHANMODE 0",
                  f"GUID {_guid(session.title, 'take', index, 'audio', number)}",
                  "<SOURCE WAVE", f"FILE {_quote(files[Path(clip.path).resolve()])}", ">", ">"]
    channel = 9 if track.drums else 0
    for number, clip in enumerate(track.notes):
        start_s = tempo.seconds_at(clip.start_beats)
        length_s = tempo.seconds_at(clip.start_beats + clip.length_beats) - start_s
        lines += ["<ITEM", f"POSITION {_num(start_s)}", "SNAPOFFS 0", f"LENGTH {_num(length_s)}", "LOOP 0",
                  "ALLTAKES 0", "MUTE 0 0", "SEL 0", f"IGUID {_guid(session.title, 'item', index, 'midi', number)}",
                  f"NAME {_quote(clip.name or track.name)}", "VOLPAN 1 0 1 -1", "SOFFS 0",
                  f"GUID {_guid(session.title, 'take', index, 'midi', number)}",
                  "<SOURCE MIDI", f"HASDATA 1 {TICKS_PER_QN} QN", *_midi_events(clip, channel, track.program),
                  ">", ">"]
    lines.append(">")
    return lines


def rpp_text(session: Session, files: dict[Path, str]) -> str:
    """The ``.rpp`` text of ``session``; ``files`` maps each resolved source path to the path written."""
    tempo = session.tempo_map
    first = session.meters[0]
    lines = [f'<REAPER_PROJECT 0.1 "7.0/trackwright-{__version__}" 0', "RIPPLE 0",
             f"TITLE {_quote(session.title)}"]
    if session.composer:
        lines.append(f"AUTHOR {_quote(session.composer)}")
    lines += [f"TEMPO {_num(tempo.bpms[0])} {first.numerator} {first.denominator}",
              f"SAMPLERATE {session.sample_rate} 0 0", "PROJOFFS 0 0 0"]
    for number, marker in enumerate(sorted(session.markers, key=lambda m: m.time_s), start=1):
        name = marker.name if marker.kind is MarkerKind.SECTION else f"[{marker.kind.value}] {marker.name}"
        if marker.text:
            name += f": {marker.text}"
        lines.append(f"MARKER {number} {_num(marker.time_s)} {_quote(name)} 0 {_colour(MARKER_RGB[marker.kind])} 1")
    # one square point per tempo change, and one where a metre changes (carrying the metre)
    points: dict[float, tuple[float, tuple[int, int] | None]] = {float(t): (float(b), None)
                                                                  for t, b in zip(tempo.times_s, tempo.bpms)}
    for meter in session.meters:
        at = min(points, key=lambda t: abs(t - meter.time_s))
        if abs(at - meter.time_s) > 1e-9:
            at = meter.time_s
        points[at] = (tempo.bpm_at(at), (meter.numerator, meter.denominator))
    lines += ["<TEMPOENVEX", f"EGUID {_guid(session.title, 'tempo')}", "ACT 1 -1", "VIS 1 0 1", "LANEHEIGHT 0 0",
              "ARM 0", "DEFSHAPE 1 -1 -1"]
    for at in sorted(points):
        bpm, signature = points[at]
        code = "" if signature is None else f" {signature[0] + 65536 * signature[1]}"
        lines.append(f"PT {_num(at)} {_num(bpm)} 1{code}")
    lines.append(">")
    for index, track in enumerate(session.tracks):
        lines += _track_lines(session, index, track, files)
    lines.append(">")
    out, depth = [], 0
    for line in lines:  # indent blocks two spaces per level, as REAPER writes them
        if line == ">":
            depth -= 1
        out.append("  " * depth + line)
        if line.startswith("<"):
            depth += 1
    return "\n".join(out) + "\n"


def write_rpp(session: Session, path: str | os.PathLike[str], *, copy_audio: bool = True) -> ExportResult:
    """Write ``session`` as a REAPER project, atomically.

    Parameters
    ----------
    session : Session
    path : path-like
        The ``.rpp`` file to write; its folder must exist.
    copy_audio : bool
        Copy the audio into ``audio/`` beside the project and refer to it relatively (default),
        so the folder can be moved as a whole; otherwise refer to the source files by absolute path.

    Returns
    -------
    ExportResult
        The project file and every audio file copied.
    """
    out = Path(path)
    media = session_media(session)
    written: list[Path] = []
    if copy_audio and media:
        folder = out.parent / MEDIA_FOLDER
        folder.mkdir(exist_ok=True)
        for file in media.values():
            target = folder / file.name
            write_atomic(target, lambda tmp, source=file.source: shutil.copyfile(source, tmp))
            written.append(target)
    files = {source: (file.relative if copy_audio else str(file.source)) for source, file in media.items()}
    text = rpp_text(session, files)
    write_atomic(out, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return ExportResult(out, (out, *written), ())
