"""DAWproject: the open exchange format Bitwig Studio, Studio One and others open.

Conventions
-----------
* A ``.dawproject`` file is a zip holding ``project.xml``, ``metadata.xml`` and the audio
  (``audio/…``), as the format's README specifies; the XML follows the format's own schema
  (``Project.xsd``, ``MetaData.xsd`` of the bitwig/dawproject repository, version 1.0).
* The arrangement is in beats (``timeUnit="beats"``); its ``TempoAutomation`` holds the tempo
  map as held points (``interpolation="hold"``) and ``TimeSignatureAutomation`` the metres, so
  a host converts beats to seconds exactly as :class:`~trackwright.export.session.TempoMap`
  does. Audio clips are unwarped: their content is in seconds (``contentTimeUnit="seconds"``,
  ``playStart``/``playStop`` = the offset into the file), only their place is in beats.
* Note clips hold ``Notes`` in beats from the clip start; velocity is normalised (v / 127).
* Volumes are linear gain, pans normalised (0 = left, 0.5 = centre, 1 = right).
* Clip fades are in seconds (``fadeTimeUnit``). DAWproject has no clip gain: a clip's gain goes
  into its comment and a warning.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

from trackwright import __version__
from trackwright.audio import write_atomic
from trackwright.export.media import ExportResult, MediaFile, session_media
from trackwright.export.session import MarkerKind, Session, Track

FORMAT_VERSION = "1.0"
#: Marker colours by kind (sections blue, hits red, findings amber, comments violet).
MARKER_COLOURS = {MarkerKind.SECTION: "#3a7bd5", MarkerKind.HIT: "#e94f37", MarkerKind.FINDING: "#f4b400",
                  MarkerKind.COMMENT: "#7e57c2"}


def _num(value: float) -> str:
    """A float as the shortest text that reads back to the same double."""
    return repr(float(value))


class _Ids:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"


def _channel(parent: ET.Element, ids: _Ids, track: Track | None, *, master_id: str | None, channels: int) -> str:
    channel_id = ids("ch")
    attrs = {"id": channel_id, "role": "master" if track is None else "regular", "audioChannels": str(channels)}
    if master_id is not None:
        attrs["destination"] = master_id
    channel = ET.SubElement(parent, "Channel", attrs)
    gain_db = 0.0 if track is None else track.gain_db
    pan = 0.0 if track is None else track.pan
    muted = track is not None and track.mute
    ET.SubElement(channel, "Mute", {"id": ids("p"), "name": "Mute", "value": "true" if muted else "false"})
    ET.SubElement(channel, "Pan", {"id": ids("p"), "name": "Pan", "unit": "normalized", "min": "0.0", "max": "1.0",
                                   "value": _num((pan + 1.0) / 2.0)})
    ET.SubElement(channel, "Volume", {"id": ids("p"), "name": "Volume", "unit": "linear", "min": "0.0",
                                      "max": "2.0", "value": _num(10.0 ** (gain_db / 20.0))})
    return channel_id


def project_xml(session: Session, media: dict[Path, MediaFile], *, embedded: bool = True) -> tuple[bytes, list[str]]:
    """``project.xml`` for ``session`` (UTF-8 bytes) and the warnings.

    ``media`` names the audio files (:func:`~trackwright.export.media.session_media`); with
    ``embedded`` False the clips point at the source files (``external="true"``, absolute paths).
    """
    ids = _Ids()
    warnings: list[str] = []
    tempo = session.tempo_map
    root = ET.Element("Project", {"version": FORMAT_VERSION})
    ET.SubElement(root, "Application", {"name": "trackwright", "version": __version__})
    transport = ET.SubElement(root, "Transport")
    ET.SubElement(transport, "Tempo", {"id": "tempo", "name": "Tempo", "unit": "bpm", "min": "10.0", "max": "999.0",
                                       "value": _num(tempo.bpms[0])})
    first = session.meters[0]
    ET.SubElement(transport, "TimeSignature", {"id": "timesig", "name": "Time Signature",
                                               "numerator": str(first.numerator), "denominator": str(first.denominator)})
    structure = ET.SubElement(root, "Structure")
    master = ET.SubElement(structure, "Track", {"id": ids("trk"), "name": "Master", "contentType": "audio notes",
                                                "loaded": "true"})
    master_channel = _channel(master, ids, None, master_id=None, channels=2)
    track_ids: list[str] = []
    for track in session.tracks:
        kinds = " ".join(k for k, present in (("audio", track.audio), ("notes", track.notes)) if present) or "audio"
        comment = track.role + (f"; {track.instrument}" if track.instrument else "") + \
            (f"; GM program {track.program + 1}" if track.program is not None else "") + ("; drums" if track.drums else "")
        element = ET.SubElement(structure, "Track", {"id": ids("trk"), "name": track.name, "comment": comment,
                                                     "contentType": kinds, "loaded": "true"})
        channels = max((media[Path(c.path).resolve()].channels for c in track.audio), default=2)
        _channel(element, ids, track, master_id=master_channel, channels=channels)
        track_ids.append(element.get("id", ""))
    arrangement = ET.SubElement(root, "Arrangement", {"id": ids("arr")})
    lanes = ET.SubElement(arrangement, "Lanes", {"id": ids("lanes"), "timeUnit": "beats"})
    for track, track_id in zip(session.tracks, track_ids):
        lane = ET.SubElement(lanes, "Lanes", {"id": ids("lanes"), "track": track_id})
        if track.audio:
            clips = ET.SubElement(lane, "Clips", {"id": ids("clips")})
            for clip in track.audio:
                file = media[Path(clip.path).resolve()]
                start_b = tempo.beats_at(clip.start_s)
                duration_b = tempo.beats_at(clip.start_s + clip.length_s) - start_b
                attrs = {"name": clip.label, "time": _num(start_b), "duration": _num(duration_b),
                         "contentTimeUnit": "seconds", "playStart": _num(clip.offset_s),
                         "playStop": _num(clip.offset_s + clip.length_s)}
                if clip.fade_in_s or clip.fade_out_s:
                    attrs.update(fadeTimeUnit="seconds", fadeInTime=_num(clip.fade_in_s),
                                 fadeOutTime=_num(clip.fade_out_s))
                if clip.gain_db:
                    attrs["comment"] = f"clip gain {clip.gain_db:+.2f} dB"
                    warnings.append(f"DAWproject has no clip gain: {track.name}/{clip.label} ({clip.gain_db:+.2f} dB) "
                                    "is noted in the clip's comment; set it in the DAW")
                element = ET.SubElement(clips, "Clip", attrs)
                audio = ET.SubElement(element, "Audio", {"id": ids("aud"), "timeUnit": "seconds",
                                                          "duration": _num(file.duration_s),
                                                          "channels": str(file.channels),
                                                          "sampleRate": str(file.sample_rate)})
                reference = {"path": file.relative} if embedded else {"path": str(file.source), "external": "true"}
                ET.SubElement(audio, "File", reference)
        if track.notes:
            clips = ET.SubElement(lane, "Clips", {"id": ids("clips")})
            channel = 9 if track.drums else 0
            for note_clip in track.notes:
                element = ET.SubElement(clips, "Clip", {"name": note_clip.name or track.name,
                                                        "time": _num(note_clip.start_beats),
                                                        "duration": _num(note_clip.length_beats),
                                                        "contentTimeUnit": "beats", "playStart": "0.0",
                                                        "playStop": _num(note_clip.length_beats)})
                notes = ET.SubElement(element, "Notes", {"id": ids("notes")})
                for note in sorted(note_clip.notes):
                    ET.SubElement(notes, "Note", {"time": _num(note.start_beats), "duration": _num(note.duration_beats),
                                                  "channel": str(channel), "key": str(note.pitch),
                                                  "vel": _num(note.velocity / 127.0), "rel": "0.5"})
    if session.markers:
        markers = ET.SubElement(arrangement, "Markers", {"id": ids("markers")})
        for marker in sorted(session.markers, key=lambda m: m.time_s):
            comment = marker.kind.value + (f": {marker.text}" if marker.text else "")
            ET.SubElement(markers, "Marker", {"time": _num(tempo.beats_at(marker.time_s)), "name": marker.name,
                                              "color": MARKER_COLOURS[marker.kind], "comment": comment})
    points = ET.SubElement(arrangement, "TempoAutomation", {"id": ids("auto"), "unit": "bpm"})
    ET.SubElement(points, "Target", {"parameter": "tempo"})
    for beats, bpm in zip(tempo.beats, tempo.bpms):
        ET.SubElement(points, "RealPoint", {"time": _num(beats), "value": _num(bpm), "interpolation": "hold"})
    signatures = ET.SubElement(arrangement, "TimeSignatureAutomation", {"id": ids("auto")})
    ET.SubElement(signatures, "Target", {"parameter": "timesig"})
    for meter in session.meters:
        ET.SubElement(signatures, "TimeSignaturePoint", {"time": _num(tempo.beats_at(meter.time_s)),
                                                         "numerator": str(meter.numerator),
                                                         "denominator": str(meter.denominator)})
    ET.indent(root)
    return b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + ET.tostring(root, encoding="utf-8"), warnings


def metadata_xml(session: Session) -> bytes:
    """``metadata.xml``: title, composer and a comment naming the generator."""
    root = ET.Element("MetaData")
    ET.SubElement(root, "Title").text = session.title
    if session.composer:
        ET.SubElement(root, "Composer").text = session.composer
    ET.SubElement(root, "Comment").text = f"exported by trackwright {__version__}"
    ET.indent(root)
    return b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + ET.tostring(root, encoding="utf-8")


def write_dawproject(session: Session, path: str | os.PathLike[str], *, embed_audio: bool = True) -> ExportResult:
    """Write ``session`` as a ``.dawproject`` file, atomically.

    Parameters
    ----------
    session : Session
    path : path-like
        The ``.dawproject`` file to write.
    embed_audio : bool
        Copy the audio into the zip (default); otherwise reference the files where they are.

    Returns
    -------
    ExportResult
        ``path``, and the warnings (clip gains the format cannot hold).

    Examples
    --------
    >>> write_dawproject(session, "song.dawproject")            # doctest: +SKIP
    """
    out = Path(path)
    media = session_media(session)
    project, warnings = project_xml(session, media, embedded=embed_audio)

    def write(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("project.xml", project)
            archive.writestr("metadata.xml", metadata_xml(session))
            if embed_audio:
                for file in media.values():  # audio compresses little: store it
                    archive.write(file.source, file.relative, compress_type=zipfile.ZIP_STORED)

    write_atomic(out, write)
    return ExportResult(out, (out,), tuple(warnings))

