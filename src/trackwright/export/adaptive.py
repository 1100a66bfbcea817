"""The adaptive music of a delivery, as game engines need it: vertical layers, horizontal segments, transitions.

Conventions
-----------
* Read from the ``deliverables.json`` manifest that ``trackwright deliver`` writes (its
  ``files`` and ``game`` blocks, format 1); times are seconds within each file.
* A layer file *is* its loop: it loops from its first to its last sample (the manifest's
  ``loop_end_frame`` is inclusive, so ``loop_end_s = (loop_end_frame + 1) / sample_rate``).
* A segment's entry cue is where its first bar starts inside the file (after the pick-up),
  its exit cue where its last bar ends (before the tail).
* A transition leaves its source at the exit cue (``sync="exit_cue"``) or at the next bar
  line (``sync="next_bar"``), fading over ``fade_s`` seconds (0: a cut on the beat).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trackwright.errors import ParameterError

SYNCS = ("exit_cue", "next_bar")


@dataclass(frozen=True)
class Layer:
    """A vertical layer: its file, its number (1 = the sparsest), a label, and its loop, seconds."""

    file: str
    number: int
    label: str
    sample_rate: int
    loop_start_s: float
    loop_end_s: float


@dataclass(frozen=True)
class Segment:
    """A horizontal segment: its file and index, section label and role, cues and length, seconds."""

    file: str
    index: int
    label: str
    role: str
    sample_rate: int
    duration_s: float
    entry_cue_s: float
    exit_cue_s: float


@dataclass(frozen=True)
class Transition:
    """Segment ``source`` → ``destination`` (indices), leaving at ``sync``, fading ``fade_s`` seconds."""

    source: int
    destination: int
    sync: str
    fade_s: float


@dataclass(frozen=True)
class AdaptiveMusic:
    """Everything an engine builds its music event from.

    ``tempo_bpm`` counts the metrical beats, ``beats_per_bar`` of them to a bar: dotted quarters
    in a compound ``time_signature`` (6/8, 9/8, 12/8), quarters otherwise.
    """

    title: str
    tempo_bpm: float
    beats_per_bar: int
    layers: tuple[Layer, ...]
    segments: tuple[Segment, ...]
    transitions: tuple[Transition, ...]
    time_signature: str = "4/4"


def _number(data: Mapping[str, Any], key: str, where: str) -> float:
    value = data.get(key)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise ParameterError(f"manifest {where}: {key} must be a number, got {value!r}")
    return float(value)


def adaptive_from_manifest(manifest: Mapping[str, Any]) -> AdaptiveMusic:
    """The adaptive music described by a delivery manifest (the parsed ``deliverables.json``).

    Raises
    ------
    ParameterError
        The manifest has no ``game`` block (the delivery had no grid), or a field is missing
        or of the wrong type (the message names it).
    """
    game = manifest.get("game")
    if not isinstance(game, Mapping) or not game:
        raise ParameterError("the delivery manifest has no game block (deliver found no bar grid); "
                             "deliver layers and segments first")
    files = {f.get("name"): f for f in manifest.get("files", []) if isinstance(f, Mapping)}

    def rate(name: str, where: str) -> int:
        entry = files.get(name)
        if entry is None:
            raise ParameterError(f"manifest {where}: file {name!r} is not in the manifest's files")
        frames, seconds = _number(entry, "frames", name), _number(entry, "duration_s", name)
        return round(frames / seconds)

    layers = []
    for index, item in enumerate(game.get("vertical_layers", [])):
        where = f"vertical_layers[{index}]"
        name = str(item.get("file"))
        sample_rate = rate(name, where)
        number = int(_number(item, "layer", where))
        # deliver names layers Title_Layer_<n><Words>_v<version>.wav
        words = re.sub(r"^\d+", "", Path(name).stem.split("_Layer_")[-1].rsplit("_v", 1)[0]) if "_Layer_" in name else ""
        label = f"Layer {number} {words}".strip()
        layers.append(Layer(name, number, label, sample_rate,
                            _number(item, "loop_start_frame", where) / sample_rate,
                            (_number(item, "loop_end_frame", where) + 1) / sample_rate))
    segments = []
    for index, item in enumerate(game.get("horizontal_segments", [])):
        where = f"horizontal_segments[{index}]"
        name = str(item.get("file"))
        sample_rate = rate(name, where)
        entry, exit_ = _number(item, "entry_cue_s", where), _number(item, "exit_cue_s", where)
        duration = _number(files[name], "duration_s", name)
        if not 0 <= entry < exit_ <= duration + 1e-6:
            raise ParameterError(f"manifest {where}: cues {entry:g}–{exit_:g} s do not fit the {duration:g} s file")
        segments.append(Segment(name, int(_number(item, "segment", where)), str(item.get("label", index)),
                                str(item.get("role", "section")), sample_rate, duration, entry, exit_))
    known = {s.index for s in segments}
    transitions = []
    for index, item in enumerate(game.get("transitions", [])):
        where = f"transitions[{index}]"
        sync = item.get("sync")
        if sync not in SYNCS:
            raise ParameterError(f"manifest {where}: sync must be one of {', '.join(SYNCS)}, got {sync!r}")
        source, destination = int(_number(item, "from", where)), int(_number(item, "to", where))
        if source not in known or destination not in known:
            raise ParameterError(f"manifest {where}: segment {source} or {destination} is not in horizontal_segments")
        transitions.append(Transition(source, destination, str(sync), _number(item, "fade_s", where)))
    meter = str(game.get("meter", "4/4"))
    try:
        beats_per_bar = int(meter.split("/")[0])
    except ValueError as err:
        raise ParameterError(f"manifest game.meter must look like 4/4, got {meter!r}") from err
    if "beats_per_bar" in game:  # the beats tempo_bpm counts (2 in 6/8: dotted quarters); older manifests lack it
        beats_per_bar = int(_number(game, "beats_per_bar", "game"))
    return AdaptiveMusic(str(manifest.get("title", "Music")), _number(game, "tempo_bpm", "game"), beats_per_bar,
                         tuple(sorted(layers, key=lambda layer: layer.number)), tuple(segments), tuple(transitions),
                         meter.replace(" ", ""))


def read_manifest(path: str | os.PathLike[str]) -> AdaptiveMusic:
    """:func:`adaptive_from_manifest` of the ``deliverables.json`` at ``path``."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ParameterError(f"{path}: not a readable delivery manifest ({err})") from err
    if not isinstance(data, Mapping):
        raise ParameterError(f"{path}: a delivery manifest is a JSON object")
    return adaptive_from_manifest(data)
