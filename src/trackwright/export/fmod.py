"""An FMOD Studio script (JavaScript for its scripting console) that builds the music events of a delivery.

Conventions
-----------
* The script uses FMOD Studio's documented scripting API (2.02/2.03):
  ``studio.project.workspace.addEvent``, ``Event.addGameParameter``, ``Event.addGroupTrack``,
  ``GroupTrack.addSound(event.timeline, "SingleSound", start, length)``,
  ``studio.project.importAudioFile``, ``Sound.addAutomator("volume")`` →
  ``Automator.addAutomationCurve(parameter)`` → ``AutomationCurve.addAutomationPoint``, and
  ``Event.addMarkerTrack`` → ``MarkerTrack.addRegion`` / ``addTransitionMarker`` /
  ``addTransitionRegion``. Timeline positions are seconds.
* Two events: **<title> Layers** — one audio track per vertical layer over the loop, a looping
  region over it, and an ``Intensity`` parameter (1…N) that cross-fades from one layer to the
  next (deliver's layers are cumulative: layer N is the full mix). **<title> Segments** — the
  segments laid out as the song plays them (each entry cue on the previous exit cue, alternating
  two tracks so a pick-up overlaps the tail before it), a looping region from each entry cue to
  its exit cue, a ``Section`` parameter, and for every transition a transition marker at the
  source's exit cue (``exit_cue``) or a transition region over the source (``next_bar``: set its
  quantisation to one bar) to the destination's region.
* Conditions (``Section`` = destination) are added where the API offers
  ``addParameterCondition``; otherwise the script lists them in the console for the user.
* The audio folder is written into the script as an absolute path (``AUDIO_FOLDER``); edit that
  one line if the delivery folder moves.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from trackwright import __version__
from trackwright.audio import write_atomic
from trackwright.errors import ParameterError
from trackwright.export.adaptive import AdaptiveMusic
from trackwright.export.media import ExportResult

SILENT_DB = -80.0


def segment_positions(music: AdaptiveMusic) -> list[float]:
    """Timeline position (seconds) of each segment's file: entry cue ``i`` on exit cue ``i − 1``."""
    positions: list[float] = []
    for index, segment in enumerate(music.segments):
        if index == 0:
            positions.append(0.0)
        else:
            before = music.segments[index - 1]
            positions.append(positions[-1] + before.exit_cue_s - segment.entry_cue_s)
    shift = -min(positions, default=0.0)
    return [p + shift for p in positions]


def script_data(music: AdaptiveMusic, audio_folder: str) -> dict[str, object]:
    """What the script builds, as plain data (embedded in the script as JSON)."""
    positions = segment_positions(music)
    by_index = {s.index: i for i, s in enumerate(music.segments)}
    return {
        "title": music.title, "tempo_bpm": music.tempo_bpm, "beats_per_bar": music.beats_per_bar,
        "audio_folder": audio_folder, "silent_db": SILENT_DB,
        "layers": [{"file": layer.file, "label": layer.label, "number": layer.number,
                    "length_s": layer.loop_end_s - layer.loop_start_s} for layer in music.layers],
        "segments": [{"file": s.file, "label": f"{s.index + 1:02d} {s.label} ({s.role})", "position_s": p,
                      "length_s": s.duration_s, "entry_s": p + s.entry_cue_s, "exit_s": p + s.exit_cue_s}
                     for s, p in zip(music.segments, positions)],
        "transitions": [{"from": by_index[t.source], "to": by_index[t.destination], "sync": t.sync,
                         "fade_s": t.fade_s} for t in music.transitions],
    }


_SCRIPT = r"""
// Builds the music events of a trackwright delivery in FMOD Studio.
// Run: Window > Console > Script, paste this file (or put it in the project's Scripts folder and
// use Scripts > trackwright > Build music events). Edit AUDIO_FOLDER if the delivery moved.
var TRACKWRIGHT_MUSIC = %(data)s;
var AUDIO_FOLDER = TRACKWRIGHT_MUSIC.audio_folder;

function trackwrightBuildMusic(data) {
    var todo = [];
    var report = {events: []};
    function asset(name) {
        var file = studio.project.importAudioFile(AUDIO_FOLDER + "/" + name);
        if (!file) { throw new Error("FMOD could not import " + AUDIO_FOLDER + "/" + name); }
        return file;
    }
    function parameterOf(made) { return made && made.parameter ? made.parameter : made; }
    function place(event, track, name, start, length) {
        var sound = track.addSound(event.timeline, "SingleSound", start, length);
        sound.audioFile = asset(name);
        return sound;
    }
    function condition(marker, parameter, value, words) {
        if (marker && typeof marker.addParameterCondition === "function") {
            marker.addParameterCondition(parameter, value, value);
        } else {
            todo.push(words + ": add the condition Section = " + value);
        }
    }
    var loopMode = studio.project.regionLoopMode.Looping;

    if (data.layers.length) {
        var layers = studio.project.workspace.addEvent(data.title + " Layers", false);
        var count = data.layers.length;
        var intensity = parameterOf(layers.addGameParameter({
            name: "Intensity", type: studio.project.parameterType.User, min: 1, max: count}));
        var length = data.layers[count - 1].length_s;
        data.layers.forEach(function (layer, i) {
            var sound = place(layers, layers.addGroupTrack(layer.label), layer.file, 0, layer.length_s);
            if (count > 1) {  // full at Intensity = its number, silent one step either side
                var curve = sound.addAutomator("volume").addAutomationCurve(intensity);
                if (i > 0) { curve.addAutomationPoint(layer.number - 1, data.silent_db); }
                curve.addAutomationPoint(layer.number, 0);
                if (i < count - 1) { curve.addAutomationPoint(layer.number + 1, data.silent_db); }
            }
        });
        layers.addMarkerTrack().addRegion("Loop", 0, length, loopMode);
        report.events.push(layers.name || data.title + " Layers");
    }

    if (data.segments.length) {
        var segments = studio.project.workspace.addEvent(data.title + " Segments", false);
        var section = parameterOf(segments.addGameParameter({
            name: "Section", type: studio.project.parameterType.User, min: 0,
            max: Math.max(1, data.segments.length - 1)}));
        var lanes = [segments.addGroupTrack("Segments A"), segments.addGroupTrack("Segments B")];
        var logic = segments.addMarkerTrack();
        var regions = data.segments.map(function (segment, i) {
            place(segments, lanes[i %% 2], segment.file, segment.position_s, segment.length_s);
            return logic.addRegion(segment.label, segment.entry_s, segment.exit_s - segment.entry_s, loopMode);
        });
        data.transitions.forEach(function (move) {
            var source = data.segments[move.from], words = source.label + " -> " + data.segments[move.to].label;
            var marker;
            if (move.sync === "exit_cue") {
                marker = logic.addTransitionMarker(source.exit_s, regions[move.to]);
            } else {
                marker = logic.addTransitionRegion(source.entry_s, source.exit_s - source.entry_s, regions[move.to]);
                todo.push(words + ": set the transition region's quantisation to 1 bar");
            }
            condition(marker, section, move.to, words);
            if (move.fade_s > 0) { todo.push(words + ": fade out over " + move.fade_s + " s (transition timeline)"); }
        });
        report.events.push(segments.name || data.title + " Segments");
    }
    report.todo = todo;
    console.log("trackwright: built " + report.events.join(", ") + (todo.length ? "; still to do by hand:\n  " +
                todo.join("\n  ") : ""));
    return report;
}

trackwrightBuildMusic(TRACKWRIGHT_MUSIC);
"""


def fmod_script(music: AdaptiveMusic, audio_folder: str | os.PathLike[str]) -> str:
    """The script text for ``music`` whose files lie in ``audio_folder`` (made absolute)."""
    if not music.layers and not music.segments:
        raise ParameterError("the delivery has no vertical layers and no segments to build FMOD events from")
    data = script_data(music, Path(audio_folder).resolve().as_posix())
    header = f"// trackwright {__version__}: FMOD Studio music events for {music.title}\n"
    return header + _SCRIPT % {"data": json.dumps(data, indent=2, ensure_ascii=False)}


def write_fmod_script(music: AdaptiveMusic, path: str | os.PathLike[str], *,
                      audio_folder: str | os.PathLike[str] | None = None) -> ExportResult:
    """Write the FMOD Studio script for ``music`` (a ``.js`` file), atomically.

    Parameters
    ----------
    music : AdaptiveMusic
        From :func:`~trackwright.export.adaptive.read_manifest`.
    path : path-like
        The ``.js`` file.
    audio_folder : path-like, optional
        Where the delivered files are (default: the script's folder).
    """
    out = Path(path)
    text = fmod_script(music, audio_folder if audio_folder is not None else out.parent)
    write_atomic(out, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return ExportResult(out, (out,), ())
