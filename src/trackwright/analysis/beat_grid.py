"""A beat grid the user sets: rebuild a :class:`~trackwright.analysis.rhythm.Rhythm` from a tempo,
a metre and a downbeat, or correct a heard one (half or double time, another metre, the bar
lines moved).

Conventions
-----------
Times are seconds, tempos metrical beats per minute (dotted quarters in 6/8, 9/8, 12/8). Every
result has ``user_set=True``. The corrections keep what the user did not name:

* ``half``: every other beat (the ones on the bar lines), bars of the same count of the new,
  longer beats — a track heard at 246 BPM becomes 123 BPM with bars twice as long;
* ``double``: a beat between every two, bars of the same count of the new beats — heard at
  61 BPM, it becomes 122 BPM with bars half as long;
* ``metre``: the beats stay, regrouped into bars of the new count from the first downbeat (or
  ``downbeat_s``); the subdivision follows the metre (3/4 → 9/8 relabels a swung waltz);
* ``downbeat_s``: the beat nearest it becomes a downbeat, the bars regrouped around it;
* ``bpm``: a steady grid at that tempo through the whole track, its bar lines on the first
  downbeat (or ``downbeat_s``), in the metre given or the one heard.

The corrections apply in this order: bpm (or half/double), metre, downbeat. A
:class:`GridOverride` holds them as the user set them (a project recipe's ``grid:`` block) and
applies them to the grid as heard.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from trackwright.analysis.metre import parse_signature as parse_metre
from trackwright.analysis.rhythm import Rhythm, rhythm_from_grid
from trackwright.errors import ParameterError, reject_unknown_fields

#: Tempos a user may set, BPM.
BPM_RANGE = (20.0, 400.0)


def steady_grid(duration_s: float, *, bpm: float, metre: str = "4/4", downbeat_s: float = 0.0) -> Rhythm:
    """A steady grid at ``bpm`` over 0 … ``duration_s`` with a bar line at ``downbeat_s``.

    Examples
    --------
    >>> grid = steady_grid(10.0, bpm=120.0, metre="6/8", downbeat_s=0.25)
    >>> grid.time_signature, grid.beats_s[:3].tolist(), grid.downbeats_s[:2].tolist()
    ('6/8', [0.25, 0.75, 1.25], [0.25, 1.25])
    """
    if not BPM_RANGE[0] <= bpm <= BPM_RANGE[1]:
        raise ParameterError(f"tempo {bpm:g} BPM is outside {BPM_RANGE[0]:g}–{BPM_RANGE[1]:g}")
    if duration_s <= 0:
        raise ParameterError(f"duration must be positive, got {duration_s:g} s")
    if not 0.0 <= downbeat_s < duration_s:
        raise ParameterError(f"downbeat {downbeat_s:.3f} s is outside the track (0–{duration_s:.3f} s)")
    count, subdivision = parse_metre(metre)
    period = 60.0 / bpm
    first = downbeat_s - period * np.floor(downbeat_s / period + 1e-9)
    beats = first + period * np.arange(int(np.floor((duration_s - first) / period - 1e-9)) + 1)
    anchor = int(np.argmin(np.abs(beats - downbeat_s)))
    return _regrouped(beats, anchor, count, subdivision)


def _regrouped(beats_s: np.ndarray, anchor: int, count: int, subdivision: int) -> Rhythm:
    """Bars of ``count`` beats with a bar line on beat ``anchor``."""
    downbeats = beats_s[(np.arange(len(beats_s)) - anchor) % count == 0]
    return rhythm_from_grid(beats_s, downbeats, count, subdivision, user_set=True)


def _first_downbeat_index(rhythm: Rhythm) -> int:
    if len(rhythm.downbeats_s) == 0 or len(rhythm.beats_s) == 0:
        return 0
    return int(np.argmin(np.abs(rhythm.beats_s - rhythm.downbeats_s[0])))


def adjust_grid(rhythm: Rhythm, duration_s: float, *, bpm: float | None = None, half: bool = False,
                double: bool = False, metre: str | None = None, downbeat_s: float | None = None) -> Rhythm:
    """The heard ``rhythm`` corrected as the user says (see the module docstring).

    Parameters
    ----------
    rhythm : Rhythm
        The grid as analysed.
    duration_s : float
        Length of the track, seconds.
    bpm : float, optional
        Set a steady tempo (metrical beats per minute).
    half, double : bool
        Halve or double the tempo of the heard grid (not with ``bpm``, not both).
    metre : str, optional
        ``"2/4"``, ``"3/4"``, ``"4/4"``, ``"6/8"``, ``"9/8"`` or ``"12/8"``.
    downbeat_s : float, optional
        A time (seconds) on a bar line.
    """
    if half and double:
        raise ParameterError("half and double time cannot both be set")
    if bpm is not None and (half or double):
        raise ParameterError("set a tempo or halve/double the heard one, not both")
    if downbeat_s is not None and not 0.0 <= downbeat_s < duration_s:
        raise ParameterError(f"downbeat {downbeat_s:.3f} s is outside the track (0–{duration_s:.3f} s)")
    count, subdivision = parse_metre(metre) if metre is not None else (rhythm.beats_per_bar, rhythm.subdivision)
    if bpm is not None:
        anchor_s = downbeat_s if downbeat_s is not None else (
            float(rhythm.downbeats_s[0]) if len(rhythm.downbeats_s) else 0.0)
        return steady_grid(duration_s, bpm=bpm, metre=metre or rhythm.time_signature, downbeat_s=anchor_s)
    beats = np.asarray(rhythm.beats_s, dtype=float)
    anchor = _first_downbeat_index(rhythm)
    if len(beats) < 2:
        raise ParameterError("the track has fewer than two beats: set a tempo with bpm instead")
    if half:
        keep = (np.arange(len(beats)) - anchor) % 2 == 0
        beats, anchor = beats[keep], int(np.count_nonzero(keep[:anchor]))
    elif double:
        middles = beats[:-1] + np.diff(beats) / 2
        beats = np.insert(beats, np.arange(1, len(beats)), middles)
        anchor = 2 * anchor
    if downbeat_s is not None:
        anchor = int(np.argmin(np.abs(beats - downbeat_s)))
    return _regrouped(beats, anchor, count, subdivision)


@dataclass(frozen=True)
class GridOverride:
    """The user's correction of a heard grid (the ``grid:`` block of a project recipe).

    Attributes
    ----------
    bpm : float or None
        A steady tempo, metrical beats per minute (not with ``half`` or ``double``).
    half, double : bool
        Half or double the heard tempo.
    metre : str or None
        One of ``2/4``, ``3/4``, ``4/4``, ``6/8``, ``9/8``, ``12/8``.
    downbeat_s : float or None
        A time on a bar line, seconds (in the draft).

    Examples
    --------
    >>> GridOverride(bpm=123.0, metre="6/8").to_dict()
    {'bpm': 123.0, 'metre': '6/8'}
    >>> GridOverride.from_dict({'half': True, 'downbeat_s': 0.42}).describe()
    'half time, a bar line at 0:00.42'
    """

    bpm: float | None = None
    half: bool = False
    double: bool = False
    metre: str | None = None
    downbeat_s: float | None = None

    def __post_init__(self) -> None:
        if self.half and self.double:
            raise ParameterError("half and double time cannot both be set")
        if self.bpm is not None and (self.half or self.double):
            raise ParameterError("set a tempo or halve/double the heard one, not both")
        if self.bpm is not None and not BPM_RANGE[0] <= self.bpm <= BPM_RANGE[1]:
            raise ParameterError(f"tempo {self.bpm:g} BPM is outside {BPM_RANGE[0]:g}–{BPM_RANGE[1]:g}")
        if self.metre is not None:
            parse_metre(self.metre)
            object.__setattr__(self, "metre", self.metre.strip().replace(" ", ""))
        if self.downbeat_s is not None and not (math.isfinite(self.downbeat_s) and self.downbeat_s >= 0.0):
            raise ParameterError(f"downbeat must be a time in the track, got {self.downbeat_s!r}")

    @property
    def is_empty(self) -> bool:
        """Nothing is set: the grid as heard."""
        return self == GridOverride()

    def to_dict(self) -> dict[str, Any]:
        """The recipe form: only the fields that are set."""
        out: dict[str, Any] = {}
        if self.bpm is not None:
            out["bpm"] = float(self.bpm)
        if self.half:
            out["half"] = True
        if self.double:
            out["double"] = True
        if self.metre is not None:
            out["metre"] = self.metre
        if self.downbeat_s is not None:
            out["downbeat_s"] = float(self.downbeat_s)
        return out

    @classmethod
    def from_dict(cls, data: Any, field_name: str = "grid") -> GridOverride:
        """Parse the recipe form; a bad field raises :class:`ParameterError` naming it."""
        if not isinstance(data, Mapping):
            raise ParameterError(f"{field_name}: must be a mapping of bpm, half, double, metre, downbeat_s, "
                                 f"got {type(data).__name__}")
        reject_unknown_fields(data, ("bpm", "half", "double", "metre", "downbeat_s"), field_name)
        values: dict[str, Any] = {}
        for name in ("bpm", "downbeat_s"):
            value = data.get(name)
            if value is not None:
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise ParameterError(f"{field_name}.{name}: must be a number, got {value!r}")
                values[name] = float(value)
        for name in ("half", "double"):
            value = data.get(name, False)
            if not isinstance(value, bool):
                raise ParameterError(f"{field_name}.{name}: must be true or false, got {value!r}")
            values[name] = value
        if data.get("metre") is not None:
            values["metre"] = str(data["metre"])
        try:
            return cls(**values)
        except ParameterError as err:
            raise ParameterError(f"{field_name}: {err}") from err

    def describe(self) -> str:
        """The override in words: ``123 BPM, 6/8, a bar line at 0:00.42``."""
        words = []
        if self.bpm is not None:
            words.append(f"{self.bpm:g} BPM")
        if self.half:
            words.append("half time")
        if self.double:
            words.append("double time")
        if self.metre is not None:
            words.append(self.metre)
        if self.downbeat_s is not None:
            minutes, seconds = divmod(self.downbeat_s, 60.0)
            words.append(f"a bar line at {int(minutes)}:{seconds:05.2f}")
        return ", ".join(words) or "as heard"

    def apply(self, rhythm: Rhythm, duration_s: float) -> Rhythm:
        """The heard ``rhythm`` of a track of ``duration_s`` seconds corrected (:func:`adjust_grid`);
        ``rhythm`` itself when nothing is set."""
        if self.is_empty:
            return rhythm
        return adjust_grid(rhythm, duration_s, bpm=self.bpm, half=self.half, double=self.double, metre=self.metre,
                           downbeat_s=self.downbeat_s)
