"""Automation: changes to a part (or every part) over a stretch of the output timeline.

A :class:`Move` says "from ``start_s`` to ``end_s`` of the output, do ``kind`` by ``value`` to
``target``", with raised-cosine ramps of ``ramp_s`` at both ends so nothing clicks or jumps.
Every kind is a linear, time-invariant process (a gain, a shelf or peak EQ, a stereo-width
matrix), blended in by the ramp envelope: ``y = x + w(t)·(process(x) − x)``. Linear processing
applied to each part sums to the same processing of the mix, so edited stems still add up to
the mix, and outside ``[start_s − ramp, end_s + ramp]`` the audio is untouched, sample for sample.

Kinds (``value`` units): ``gain`` (dB), ``high_shelf`` (dB at 5 kHz, or ``freq_hz``),
``low_shelf`` (dB at 200 Hz, or ``freq_hz``), ``peak`` (dB at ``freq_hz``, bandwidth ``q``),
``mid_peak`` (the same on the mid channel only: a centred lead or voice, the sides untouched),
``presence_dip`` (dB, a wide cut centred at 1 kHz spanning 300 Hz–3 kHz), ``low_mid`` (dB at
300 Hz, warmth), ``width`` (side-signal gain, 1 = unchanged), ``mute`` (value ignored: gain to
silence), ``saturation`` (drive, dB 0–18: a soft tanh curve that leaves quiet material as it is
and rounds peaks, adding warm harmonics; not linear, so a part's saturation applies to that part
only), ``reverb`` (send level, dB: the envelope opens the *send*, so the reverb's tail, up to
:data:`REVERB_TAIL_S`, rings on after ``end_s`` — the only kind whose effect reaches past its
span). The shapers of :mod:`trackwright.mix.shapers`, also per part and not linear:
``transient`` (dB per 6 dB of attack, ±18: punch, or glue when negative), ``expand`` (dB per
10 dB from the median level, ±12: open or close the dynamics), ``ambience`` (dB of reduction of
room and reverb tails, 0–24: drier), ``pitch`` (semitones, ±12, the tempo kept) and ``riser``
(dB relative to the span's level at its end, −40…+6: a rising noise sweep added over the span).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from trackwright.audio import Audio
from trackwright.errors import ParameterError, reject_unknown_fields
from trackwright.mix import shapers

KINDS = ("gain", "high_shelf", "low_shelf", "peak", "mid_peak", "presence_dip", "low_mid", "width", "mute",
         "saturation", "reverb", "transient", "expand", "ambience", "pitch", "riser")
#: Kinds with a frequency (``freq_hz``; shelves default to 5 kHz and 200 Hz) and their default ``q``.
EQ_KINDS = {"high_shelf": (5000.0, 0.7), "low_shelf": (200.0, 0.7), "peak": (1000.0, 0.8),
            "mid_peak": (2500.0, 0.9)}
#: Allowed ``value`` range of each kind that is not a plain EQ or gain in dB.
_RANGES = {"width": (0.0, 2.0), "saturation": (0.0, 18.0), "reverb": (-60.0, 0.0), "transient": (-18.0, 18.0),
           "expand": (-12.0, 12.0), "ambience": (0.0, 24.0), "pitch": (-12.0, 12.0), "riser": (-40.0, 6.0)}
#: How long a reverb move's tail may ring on after its span, seconds.
REVERB_TAIL_S = 4.0
ALL_PARTS = "*"


@dataclass(frozen=True)
class Move:
    """One automation move; see the module docstring. ``target`` is a part name or ``"*"`` (every part)."""

    start_s: float
    end_s: float
    target: str
    kind: str
    value: float = 0.0
    ramp_s: float = 0.5
    reason: str = ""
    freq_hz: float | None = None
    q: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ParameterError(f"automation kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        for name in ("start_s", "end_s", "value", "ramp_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ParameterError(f"automation {name} must be a number, got {value!r}")
        for name in ("start_s", "end_s", "value", "ramp_s"):
            object.__setattr__(self, name, float(getattr(self, name)))
        if self.start_s < 0 or self.end_s <= self.start_s:
            raise ParameterError(f"automation needs 0 <= start_s < end_s, got {self.start_s}–{self.end_s}")
        if not 0.0 <= self.ramp_s <= 10.0:
            raise ParameterError(f"automation ramp_s must be 0–10 s, got {self.ramp_s}")
        if self.kind in ("gain", "high_shelf", "low_shelf", "peak", "mid_peak", "presence_dip", "low_mid") and \
                not -40 <= self.value <= 12:
            raise ParameterError(f"automation {self.kind} must be −40…+12 dB, got {self.value}")
        if self.kind in _RANGES and not _RANGES[self.kind][0] <= self.value <= _RANGES[self.kind][1]:
            lo, hi = _RANGES[self.kind]
            raise ParameterError(f"automation {self.kind} must be {lo:g}…{hi:g}, got {self.value}")
        for name, lo, hi in (("freq_hz", 10.0, 22000.0), ("q", 0.1, 10.0)):
            value = getattr(self, name)
            if value is None:
                continue
            if self.kind not in EQ_KINDS:
                raise ParameterError(f"automation {name} applies to {', '.join(EQ_KINDS)} only, not {self.kind}")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
                raise ParameterError(f"automation {name} must be {lo:g}–{hi:g}, got {value!r}")
            object.__setattr__(self, name, float(value))

    def applies_to(self, part: str) -> bool:
        return self.target in (ALL_PARTS, part)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"start_s": round(self.start_s, 4), "end_s": round(self.end_s, 4),
                                "target": self.target, "kind": self.kind}
        if self.kind != "mute":
            data["value"] = round(self.value, 3)
        if self.ramp_s != 0.5:
            data["ramp_s"] = round(self.ramp_s, 3)
        if self.reason:
            data["reason"] = self.reason
        if self.freq_hz is not None:
            data["freq_hz"] = round(self.freq_hz, 2)
        if self.q is not None:
            data["q"] = round(self.q, 3)
        return data

    @classmethod
    def from_dict(cls, data: Any, where: str = "automation") -> Move:
        if not isinstance(data, Mapping):
            raise ParameterError(f"{where}: must be a mapping with start_s, end_s, target, kind")
        reject_unknown_fields(data, ("start_s", "end_s", "target", "kind", "value", "ramp_s", "reason", "freq_hz", "q"),
                              where)
        for key in ("start_s", "end_s", "target", "kind"):
            if key not in data:
                raise ParameterError(f"{where}.{key}: missing")
        try:
            return cls(data["start_s"], data["end_s"], str(data["target"]), str(data["kind"]),
                       data.get("value", 0.0), data.get("ramp_s", 0.5), str(data.get("reason", "")),
                       data.get("freq_hz"), data.get("q"))
        except ParameterError as err:
            raise ParameterError(f"{where}: {err}") from err


def envelope(move: Move, frames: int, sample_rate: int) -> tuple[int, np.ndarray]:
    """(first frame, 0–1 weights from there on) of ``move``: raised-cosine ramps of ``ramp_s``
    centred on its edges; zero everywhere outside the returned stretch. A move that starts at 0
    (or ends at the last frame) has no ramp there: it applies from the very start (to the end)."""
    ramp = max(move.ramp_s, 1.0 / sample_rate)
    lo = max(0, int(np.floor((move.start_s - ramp / 2) * sample_rate)))
    hi = min(frames, int(np.ceil((move.end_s + ramp / 2) * sample_rate)) + 1)
    if hi <= lo:
        return lo, np.zeros(0)
    weight = np.ones(hi - lo, dtype=np.float64)

    def ramp_at(edge: float, rising: bool) -> None:  # only the frames inside the ramp are computed
        a = max(lo, int(np.floor((edge - ramp / 2) * sample_rate)))
        b = min(hi, int(np.ceil((edge + ramp / 2) * sample_rate)) + 1)
        t = np.arange(a, b, dtype=np.float64) / sample_rate
        x = np.clip((t - (edge - ramp / 2)) / ramp, 0.0, 1.0)
        curve = 0.5 - 0.5 * np.cos(np.pi * x)
        weight[a - lo: b - lo] *= curve if rising else 1.0 - curve
        if rising:
            weight[: max(a - lo, 0)] = 0.0
        else:
            weight[max(b - lo, 0):] = 0.0

    if move.start_s > 0.0:
        ramp_at(move.start_s, True)
    if move.end_s * sample_rate < frames - 1:
        ramp_at(move.end_s, False)
    return lo, weight


def _filter(samples: np.ndarray, sample_rate: int, move: Move) -> np.ndarray:
    """The fully applied process of ``move`` on channels × frames float32."""
    if move.kind == "gain":
        return samples * np.float32(10 ** (move.value / 20))
    if move.kind == "mute":
        return np.zeros_like(samples)
    if move.kind == "saturation":
        drive = np.float32(10 ** (move.value / 20))
        return np.tanh(samples * drive) / drive
    if move.kind == "width":
        if samples.shape[0] != 2:
            return samples
        mid, side = (samples[0] + samples[1]) / 2, (samples[0] - samples[1]) / 2 * np.float32(move.value)
        return np.stack([mid + side, mid - side])
    shaper = {"transient": shapers.shape_transients, "expand": shapers.expand, "ambience": shapers.reduce_ambience,
              "pitch": shapers.shift_pitch, "riser": shapers.riser}.get(move.kind)
    if shaper is not None:
        return shaper(samples, sample_rate, move.value)
    if move.kind == "mid_peak":
        if samples.shape[0] != 2:
            return _eq(samples, sample_rate, dataclasses.replace(move, kind="peak"))
        mid, side = (samples[0] + samples[1]) / 2, (samples[0] - samples[1]) / 2
        mid = _eq(mid[None, :], sample_rate, dataclasses.replace(move, kind="peak"))[0]
        return np.stack([mid + side, mid - side])
    return _eq(samples, sample_rate, move)


def _eq(samples: np.ndarray, sample_rate: int, move: Move) -> np.ndarray:
    """A shelf or peak filter of ``move`` (pedalboard's biquads), its frequency kept below Nyquist."""
    import pedalboard

    default_hz, default_q = EQ_KINDS.get(move.kind, (0.0, 0.7))
    freq = min(move.freq_hz or default_hz, 0.45 * sample_rate)
    q = move.q or default_q
    plugin = {
        "high_shelf": lambda: pedalboard.HighShelfFilter(cutoff_frequency_hz=freq, gain_db=move.value, q=q),
        "low_shelf": lambda: pedalboard.LowShelfFilter(cutoff_frequency_hz=freq, gain_db=move.value, q=q),
        "peak": lambda: pedalboard.PeakFilter(cutoff_frequency_hz=freq, gain_db=move.value, q=q),
        "presence_dip": lambda: pedalboard.PeakFilter(cutoff_frequency_hz=1000.0, gain_db=move.value, q=0.45),
        "low_mid": lambda: pedalboard.PeakFilter(cutoff_frequency_hz=300.0, gain_db=move.value, q=0.8),
    }[move.kind]()
    return plugin.process(np.ascontiguousarray(samples, dtype=np.float32), float(sample_rate), reset=True)


def apply_moves(audio: Audio, part: str, moves: Sequence[Move]) -> Audio:
    """``audio`` (channels × frames, output timeline) with every move that applies to ``part``."""
    out = audio.samples
    relevant = [move for move in moves if move.applies_to(part)]
    if not relevant or not np.any(out):  # nothing to do, or a silent part (an empty residual)
        return audio
    for move in relevant:
        first, weight = envelope(move, audio.frames, audio.sample_rate)
        span = _support(weight > 0)
        if span is None:
            continue
        # process a window around the move (filters need a run-up), blend it in by the envelope
        pad = int((1.0 if move.kind in ("pitch", "expand") else 0.25) * audio.sample_rate)
        a, b = first + span[0], first + span[1]
        lo, hi = max(0, a - pad), min(audio.frames, b + pad)
        if out is audio.samples:
            out = out.copy()
        w = np.zeros(hi - lo, dtype=np.float32)
        w[a - lo: b - lo] = weight[span[0]: span[1]]
        if move.kind == "reverb":
            _add_reverb(out, lo, w, move.value, audio.sample_rate)
            continue
        processed = _filter(out[:, lo:hi], audio.sample_rate, move)
        _blend(out[:, lo:hi], processed, w)
    return audio if out is audio.samples else Audio(out, audio.sample_rate)


def _support(mask: np.ndarray) -> tuple[int, int] | None:
    """The first and one past the last index where ``mask`` is true, or None when it never is."""
    if not len(mask) or not mask.any():
        return None
    return int(mask.argmax()), len(mask) - int(mask[::-1].argmax())


def _blend(section: np.ndarray, processed: np.ndarray, w: np.ndarray) -> None:
    """``section`` (channels × frames) moved towards ``processed`` by the weights ``w``, in place:
    where the move is fully on, the processed audio as it is; only the ramps are mixed."""
    full = _support(w >= 1.0)
    if full is None or np.any(w[full[0]: full[1]] < 1.0):
        section += w * (processed - section)
        return
    first, last = full
    section[:, first:last] = processed[:, first:last]
    for a, b in ((0, first), (last, section.shape[1])):
        if b > a:
            section[:, a:b] += w[a:b] * (processed[:, a:b] - section[:, a:b])


def _add_reverb(out: np.ndarray, lo: int, send: np.ndarray, level_db: float, sample_rate: int) -> None:
    """Add a large room's reverb of ``out[:, lo:]`` × ``send`` (from ``lo``) at ``level_db``, in place."""
    import pedalboard

    hi = min(out.shape[1], lo + len(send) + int(REVERB_TAIL_S * sample_rate))
    source = np.zeros((out.shape[0], hi - lo), dtype=np.float32)
    source[:, : len(send)] = out[:, lo: lo + len(send)] * send
    room = pedalboard.Reverb(room_size=0.8, damping=0.4, wet_level=1.0, dry_level=0.0, width=1.0)
    wet = room.process(source, float(sample_rate), reset=True)
    out[:, lo:hi] += wet[:, : hi - lo] * np.float32(10 ** (level_db / 20))


def moves_from_list(data: Any, where: str = "automation") -> tuple[Move, ...]:
    """Parse a recipe's ``automation:`` list."""
    if data is None:
        return ()
    if not isinstance(data, Sequence) or isinstance(data, (str, bytes)):
        raise ParameterError(f"{where}: must be a list of moves")
    return tuple(Move.from_dict(item, f"{where}[{index}]") for index, item in enumerate(data))
