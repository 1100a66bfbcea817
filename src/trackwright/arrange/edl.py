"""The edit list: which stretches of the source play, in what order, at what speed.

An arrangement is stored as an :class:`EditList` of :class:`Segment` s in *source* time
(seconds). Each segment normally starts and ends on a downbeat of the source; the renderer
(:mod:`trackwright.arrange.splice`) joins consecutive segments with short equal-power
crossfades placed just before the downbeat attack, so the same edit list applied to the
mix, to each stem and to the MIDI keeps every part in sync.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from trackwright.errors import ParameterError, reject_unknown_fields

#: Largest time-stretch a fit chooses by itself: ±3 % keeps Rubber Band inaudible on most music.
MAX_STRETCH_DEVIATION = 0.03
#: The range of stretch a segment may carry when asked for (a tempo change): half to twice as long.
MIN_STRETCH, MAX_STRETCH = 0.5, 2.0


@dataclass(frozen=True)
class Segment:
    """One stretch of the source.

    Parameters
    ----------
    start_s, end_s : float
        Source times in seconds, ``0 <= start_s < end_s``.
    stretch : float
        Output duration divided by source duration (1.0 = as recorded; 1.02 = 2 % slower).
    """

    start_s: float
    end_s: float
    stretch: float = 1.0

    def __post_init__(self) -> None:
        for name in ("start_s", "end_s", "stretch"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ParameterError(f"segment {name} must be a finite number, got {value!r}")
        if self.start_s < 0 or self.end_s <= self.start_s:
            raise ParameterError(f"segment must have 0 <= start_s < end_s, got {self.start_s}–{self.end_s} s")
        if not MIN_STRETCH - 1e-9 <= self.stretch <= MAX_STRETCH + 1e-9:
            raise ParameterError(
                f"segment stretch {self.stretch:.4f} is outside {MIN_STRETCH:g}–{MAX_STRETCH:g} (half to twice as long)"
            )

    @property
    def source_duration_s(self) -> float:
        """Seconds of source this segment plays."""
        return self.end_s - self.start_s

    @property
    def duration_s(self) -> float:
        """Seconds of output this segment fills."""
        return (self.end_s - self.start_s) * self.stretch

    def to_dict(self) -> dict[str, float]:
        data = {"start_s": round(self.start_s, 6), "end_s": round(self.end_s, 6)}
        if self.stretch != 1.0:
            data["stretch"] = round(self.stretch, 6)
        return data


@dataclass(frozen=True)
class EditList:
    """An arrangement: segments of the source in playing order, plus fades.

    Parameters
    ----------
    segments : tuple of Segment
        At least one, in output order.
    fade_in_s, fade_out_s : float
        Fades at the very start and end of the output, seconds (0 = none).
    duration_s : float or None
        Exact output length in seconds; the output is trimmed (or padded with silence) to it.
        None keeps the sum of the segment durations.
    """

    segments: tuple[Segment, ...]
    fade_in_s: float = 0.0
    fade_out_s: float = 0.0
    duration_s: float | None = None

    def __post_init__(self) -> None:
        if not self.segments:
            raise ParameterError("an arrangement needs at least one segment")
        for name in ("fade_in_s", "fade_out_s"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ParameterError(f"{name} must be a number of seconds >= 0, got {value!r}")
        if self.duration_s is not None and (not math.isfinite(self.duration_s) or self.duration_s <= 0):
            raise ParameterError(f"duration_s must be > 0 seconds, got {self.duration_s!r}")

    @classmethod
    def whole(cls, duration_s: float) -> EditList:
        """The untouched source: one segment from 0 to ``duration_s`` seconds."""
        return cls((Segment(0.0, float(duration_s)),))

    @property
    def output_duration_s(self) -> float:
        """Length of the rendered output in seconds."""
        if self.duration_s is not None:
            return self.duration_s
        return sum(segment.duration_s for segment in self.segments)

    def output_starts_s(self) -> list[float]:
        """Output time (seconds) at which each segment starts."""
        starts, t = [], 0.0
        for segment in self.segments:
            starts.append(t)
            t += segment.duration_s
        return starts

    def output_times(self, source_s: float) -> list[float]:
        """Every output time (seconds) at which source time ``source_s`` plays, in order.

        Empty when the arrangement cut it; a repeated passage gives one time per repetition.
        Times past the output's end (``duration_s``) are left out.

        >>> EditList((Segment(0.0, 4.0), Segment(2.0, 4.0))).output_times(3.0)
        [3.0, 5.0]
        """
        end = self.output_duration_s
        out = []
        for segment, start in zip(self.segments, self.output_starts_s()):
            if segment.start_s <= source_s < segment.end_s:
                at = start + (source_s - segment.start_s) * segment.stretch
                if at < end:
                    out.append(at)
        return out

    def merged(self) -> EditList:
        """The same arrangement with contiguous segments of equal stretch joined."""
        out: list[Segment] = []
        for segment in self.segments:
            if out and abs(out[-1].end_s - segment.start_s) < 1e-6 and out[-1].stretch == segment.stretch:
                out[-1] = Segment(out[-1].start_s, segment.end_s, segment.stretch)
            else:
                out.append(segment)
        return EditList(tuple(out), self.fade_in_s, self.fade_out_s, self.duration_s)

    def retimed(self, factor: float, start_s: float | None = None, end_s: float | None = None) -> EditList:
        """The arrangement with the output between ``start_s`` and ``end_s`` (seconds of this
        arrangement's output; the whole piece by default) played ``factor`` times as long (a stretch:
        0.9 is 10 % shorter, about 11 % faster). Segments are split at those times."""
        lo = 0.0 if start_s is None else start_s
        hi = self.output_duration_s if end_s is None else end_s
        segments: list[Segment] = []
        t = 0.0
        for segment in self.segments:
            out_end = t + segment.duration_s
            cuts = [segment.start_s]
            for edge in (lo, hi):
                if t + 1e-6 < edge < out_end - 1e-6:
                    cuts.append(segment.start_s + (edge - t) / segment.stretch)
            cuts.append(segment.end_s)
            for a, b in zip(cuts[:-1], cuts[1:]):
                middle = t + ((a + b) / 2 - segment.start_s) * segment.stretch
                inside = lo - 1e-6 <= middle <= hi + 1e-6
                segments.append(Segment(a, b, segment.stretch * factor if inside else segment.stretch))
            t = out_end
        whole = start_s is None and end_s is None
        duration = None if self.duration_s is None else (self.duration_s * factor if whole else
                                                         self.duration_s + (hi - lo) * (factor - 1.0))
        return EditList(tuple(segments), self.fade_in_s, self.fade_out_s, duration)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"segments": [segment.to_dict() for segment in self.segments]}
        if self.fade_in_s:
            data["fade_in_s"] = round(self.fade_in_s, 6)
        if self.fade_out_s:
            data["fade_out_s"] = round(self.fade_out_s, 6)
        if self.duration_s is not None:
            data["duration_s"] = round(self.duration_s, 6)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str = "arrangement") -> EditList:
        """Build from the recipe form; a bad field raises ParameterError naming it."""
        if not isinstance(data, Mapping):
            raise ParameterError(f"{where}: must be a mapping with 'segments', got {type(data).__name__}")
        reject_unknown_fields(data, ("segments", "fade_in_s", "fade_out_s", "duration_s"), where)
        raw = data.get("segments")
        if not isinstance(raw, Sequence) or isinstance(raw, (str, bytes)) or not raw:
            raise ParameterError(f"{where}.segments: must be a non-empty list of {{start_s, end_s}}")
        segments = []
        for index, item in enumerate(raw):
            here = f"{where}.segments[{index}]"
            if not isinstance(item, Mapping):
                raise ParameterError(f"{here}: must be a mapping with start_s and end_s")
            reject_unknown_fields(item, ("start_s", "end_s", "stretch"), here)
            values = (_number(item, "start_s", here), _number(item, "end_s", here), _number(item, "stretch", here, 1.0))
            try:
                segments.append(Segment(*values))
            except ParameterError as err:
                raise ParameterError(f"{here}: {err}") from err
        try:
            return cls(tuple(segments), _number(data, "fade_in_s", where, 0.0), _number(data, "fade_out_s", where, 0.0),
                       None if data.get("duration_s") is None else _number(data, "duration_s", where))
        except ParameterError as err:
            message = str(err)
            raise ParameterError(message if message.startswith(where) else f"{where}: {message}") from err


def _number(data: Mapping[str, Any], key: str, where: str, default: float | None = None) -> float:
    value = data.get(key, default)
    if value is None:
        raise ParameterError(f"{where}.{key}: missing")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ParameterError(f"{where}.{key}: must be a number, got {value!r}")
    return float(value)


def check_within(edits: EditList, source_duration_s: float, *, where: str = "arrangement") -> None:
    """Refuse segments that reach past the end of a source of ``source_duration_s`` seconds."""
    for index, segment in enumerate(edits.segments):
        if segment.end_s > source_duration_s + 1e-3:
            raise ParameterError(
                f"{where}.segments[{index}]: ends at {segment.end_s:.3f} s, after the source's end "
                f"({source_duration_s:.3f} s)"
            )
