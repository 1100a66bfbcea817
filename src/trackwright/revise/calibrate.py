"""Sizing a technique to be heard on *this* music: predict what automation moves do to a few
excerpts of the current version, and scale them until the descriptor a note is judged by moves
by an audible target (a tiny change, a small one, a plain one or a large one).

Conventions
-----------
* A :class:`Preview` holds excerpts of the current version's mix (and its rendered stems) inside
  the spans a directive covers: up to twelve short ones spread evenly over each span (so their
  frames sample the span's levels fairly), at most :data:`EXCERPTS_S` seconds in all, each padded
  by a second either side so filters settle. Moves are applied to them exactly as the renderer
  applies them (:func:`trackwright.mix.automation.apply_moves`), shifted to the excerpt's time.
* With stems, moves on named parts are applied to those parts and the difference added to the
  mix; moves on every part (``"*"``) are applied to the result.
* :func:`solve_scale` finds the smallest scale (``lo``–``hi``) that reaches the target in every
  span, by bisection on a log scale; if none does, the largest is returned with its prediction.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from trackwright.arrange.grid import Span
from trackwright.audio import Audio
from trackwright.mix.automation import ALL_PARTS, Move, apply_moves
from trackwright.revise.measure import change_of, describe_segments

#: Seconds of excerpts a preview measures at most (split over the spans).
EXCERPTS_S = 24.0
#: Padding each side of an excerpt, seconds (filters settle; ramps start).
PAD_S = 1.0
#: Targets of each descriptor's change per degree: (tiny, small, plain, large), in the
#: descriptor's unit (LU, dB, % for the centroid and onsets).
TARGETS: dict[str, tuple[float, float, float, float]] = {
    "loudness": (0.8, 1.2, 2.0, 4.0), "centroid": (5.0, 6.5, 10.0, 18.0), "band": (1.0, 1.5, 2.5, 4.5),
    "width": (1.5, 2.0, 3.0, 5.0), "crest": (0.8, 1.0, 1.5, 2.5), "gaps": (1.5, 2.0, 3.0, 4.5),
    "onsets": (10.0, 12.0, 20.0, 35.0), "lra": (1.5, 2.0, 3.0, 4.5), "part": (1.5, 2.0, 3.0, 6.0),
}


def tier(k: float) -> int:
    """The degree of a signed amount: 0 tiny (≤ 0.2), 1 small (≤ 0.4), 2 plain (≤ 0.8), 3 large."""
    size = abs(k)
    return 0 if size <= 0.2 else 1 if size <= 0.4 else 2 if size <= 0.8 else 3


def target(descriptor: str, k: float) -> float:
    """The change (in the descriptor's unit) a directive of signed amount ``k`` aims for."""
    return TARGETS[descriptor.split(":")[0]][tier(k)]


@dataclass
class _Excerpt:
    span: int  # index of the span it belongs to
    start_s: float  # output seconds of its first sample (padding included)
    core: tuple[int, int]  # frames of the measured part
    mix: np.ndarray
    stems: dict[str, np.ndarray] = field(default_factory=dict)


class Preview:
    """Excerpts of the current version inside ``spans``; see the module conventions."""

    def __init__(self, mix: Audio, stems: Mapping[str, Audio], spans: Sequence[Span], *,
                 budget_s: float = EXCERPTS_S) -> None:
        self.rate = mix.sample_rate
        self.channels = mix.channels
        self.spans = list(spans)
        self.excerpts: list[_Excerpt] = []
        each = budget_s / max(len(spans), 1)
        for index, span in enumerate(spans):
            length = span.end_s - span.start_s
            count = 1 if length <= each else min(12, max(1, int(length // 3.0)))
            size = min(length / count, each / count)
            for j in range(count):
                centre = span.start_s + length * (j + 0.5) / count
                a = max(span.start_s, centre - size / 2)
                b = min(span.end_s, a + size)
                lo = max(0.0, a - PAD_S)
                hi = min(mix.duration_s, b + PAD_S)
                frames = slice(int(lo * self.rate), int(hi * self.rate))
                core = (int((a - lo) * self.rate), int((b - lo) * self.rate))
                self.excerpts.append(_Excerpt(index, lo, core, mix.samples[:, frames].copy(),
                                              {n: s.samples[:, frames].copy() for n, s in stems.items()}))

    def _shifted(self, moves: Sequence[Move], excerpt: _Excerpt) -> list[Move]:
        length = excerpt.mix.shape[1] / self.rate
        out = []
        for move in moves:
            start, end = move.start_s - excerpt.start_s, move.end_s - excerpt.start_s
            if end <= -move.ramp_s or start >= length + move.ramp_s:
                continue
            start, end = max(start, 0.0), max(end, max(start, 0.0) + 1e-3)
            out.append(Move(start, end, move.target, move.kind, move.value, move.ramp_s, move.reason,
                            move.freq_hz, move.q))
        return out

    def render(self, moves: Sequence[Move]) -> list[np.ndarray]:
        """The predicted mix of every excerpt (its core only) with ``moves`` applied."""
        out = []
        for excerpt in self.excerpts:
            shifted = self._shifted(moves, excerpt)
            mix = excerpt.mix.astype(np.float64)
            for name, stem in excerpt.stems.items():
                own = [m for m in shifted if m.target == name]
                if own:
                    mix += apply_moves(Audio(stem, self.rate), name, own).samples - stem
            every = [m for m in shifted if m.target == ALL_PARTS]
            result = mix.astype(np.float32)
            if every:
                result = apply_moves(Audio(result, self.rate), "mix", every).samples
            out.append(result[:, excerpt.core[0]:excerpt.core[1]])
        return out

    def describe(self, moves: Sequence[Move], which: Sequence[str]) -> list[dict[str, float]]:
        """Descriptors ``which`` of each span (its excerpts together) with ``moves`` applied."""
        rendered = self.render(moves)
        out = []
        for index in range(len(self.spans)):
            segments = [r for r, e in zip(rendered, self.excerpts) if e.span == index and r.shape[1] > 0]
            out.append(describe_segments(segments, self.rate, which) if segments else {})
        return out


@dataclass(frozen=True)
class Solution:
    """The scale found and the predicted change of the descriptor in the worst span."""

    scale: float
    predicted: float
    reached: bool


def solve_scale(preview: Preview, build: Callable[[float], list[Move]], descriptor: str, direction: int,
                goal: float, *, lo: float = 0.1, hi: float = 8.0, steps: int = 7) -> Solution:
    """The smallest scale whose moves (``build(scale)``) move ``descriptor`` by ``goal`` (its unit)
    in ``direction`` in every span, predicted on ``preview``."""
    before = preview.describe([], [descriptor])

    def worst(scale: float) -> float:
        after = preview.describe(build(scale), [descriptor])
        changes = [change_of(descriptor, b[descriptor], a[descriptor])[0] * direction
                   for b, a in zip(before, after) if descriptor in b and descriptor in a]
        return min(changes) if changes else 0.0

    at_one = worst(1.0)
    if at_one >= goal:
        low, high, best = lo, 1.0, (1.0, at_one)
    else:
        top = worst(hi)
        if top < goal:
            return Solution(hi, top, False)
        low, high, best = 1.0, hi, (hi, top)
    for _ in range(steps):
        middle = math.sqrt(low * high)
        value = worst(middle)
        if value >= goal:
            high, best = middle, (middle, value)
        else:
            low = middle
    return Solution(best[0], best[1], True)
