"""Hand-off: sessions a DAW, a notation program or a game engine opens.

Every writer takes a plain :class:`~trackwright.export.session.Session` (or, for the game
engines, deliver's adaptive manifest) and writes files atomically:

* :func:`write_dawproject` — DAWproject (Bitwig Studio, Studio One, …)
* :func:`write_rpp` — a REAPER project
* :func:`write_musicxml` — a MusicXML score with one part per note track
* :func:`write_fmod_script`, :func:`write_wwise_import` — FMOD Studio and Wwise
"""
