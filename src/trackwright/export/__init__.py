"""Hand-off: sessions a DAW, a notation program or a game engine opens.

Every writer takes a plain :class:`~trackwright.export.session.Session` (or, for the game
engines, deliver's adaptive manifest as :class:`~trackwright.export.adaptive.AdaptiveMusic`)
and writes its files atomically:

* :func:`write_dawproject` — DAWproject (Bitwig Studio, Studio One, …)
* :func:`write_rpp` — a REAPER project
* :func:`write_musicxml` — a MusicXML score with one part per pitched note track
* :func:`write_fmod_script`, :func:`write_wwise_import` — FMOD Studio and Wwise

and, over the project floor, :func:`export` (what ``trackwright export`` runs):
:func:`project_session` makes a project version's session, :func:`export_project` writes it,
:func:`export_delivery` writes the engine files of a delivery folder.

>>> from trackwright.export import Session, Track, AudioClip, write_rpp
>>> session = Session("Song", 48000, tracks=(Track("Mix", audio=(AudioClip("mix.wav", 0.0, 30.0),)),))
>>> write_rpp(session, "song/Song.rpp")                       # doctest: +SKIP
"""

from trackwright.export.adaptive import AdaptiveMusic, adaptive_from_manifest, read_manifest
from trackwright.export.dawproject import write_dawproject
from trackwright.export.engines import export_delivery
from trackwright.export.fmod import write_fmod_script
from trackwright.export.from_project import ProjectSession, export_project, project_session
from trackwright.export.handoff import EXPORT_FORMATS, export
from trackwright.export.media import ExportResult
from trackwright.export.musicxml import write_musicxml
from trackwright.export.reaper import write_rpp
from trackwright.export.session import (AudioClip, Marker, MarkerKind, MeterChange, Note, NoteClip, Session,
                                        TempoChange, TempoMap, Track, note_clip, tempo_from_downbeats)
from trackwright.export.wwise import write_wwise_import

__all__ = ["EXPORT_FORMATS", "AdaptiveMusic", "AudioClip", "ExportResult", "Marker", "MarkerKind", "MeterChange",
           "Note", "NoteClip", "ProjectSession", "Session", "TempoChange", "TempoMap", "Track",
           "adaptive_from_manifest", "export", "export_delivery", "export_project", "note_clip", "project_session",
           "read_manifest", "tempo_from_downbeats", "write_dawproject", "write_fmod_script", "write_musicxml",
           "write_rpp", "write_wwise_import"]
