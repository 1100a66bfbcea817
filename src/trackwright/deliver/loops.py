"""Loops and vertical layers: spans of whole bars that loop seamlessly, and the layers built from stems.

Conventions
-----------
* Loops are crossfaded *before* (or after) the loop point: the last :data:`LOOP_FADE_S` of the
  loop blend into the audio that precedes its first bar, so the wrap from the loop's last
  sample to its first is the music's own sample-to-sample step.
* Bars are those of a :class:`~trackwright.arrange.grid.BarGrid`; frames are sample frames.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from trackwright.analysis.loudness import true_peak_dbtp
from trackwright.arrange.grid import BarGrid
from trackwright.arrange.splice import fade_curve, take_frames
from trackwright.audio import Audio
from trackwright.deliver.files import DeliveryWriter
from trackwright.deliver.names import title_for
from trackwright.errors import ParameterError
from trackwright.mix import limiter
from trackwright.mix.targets import Target

#: Crossfade before each loop point, seconds.
LOOP_FADE_S = 0.040
#: A span of bars loops musically when the bars at both ends of the wrap are at least this alike (0–1).
LOOP_LIKENESS = 0.5


def seamless_loop(samples: np.ndarray, sample_rate: int, start: int, end: int, *,
                  fade_s: float = LOOP_FADE_S, seam: str = "before") -> np.ndarray:
    """Frames ``start``…``end`` − 1 of ``samples`` (channels × frames) made to loop without a click.

    ``seam="before"``: the last ``fade_s`` seconds cross-fade (equal power, normalised for
    correlated sides) into the audio just before ``start``, so the loop's last sample is the one
    that precedes ``start`` in the music. ``seam="after"``: the first ``fade_s`` seconds fade in
    from the audio that follows ``end``, so the loop's first sample is the one that follows its
    last. Either way the wrap is one of the music's own sample steps. Audio beyond the signal's
    ends counts as silence.
    """
    if not 0 <= start < end <= samples.shape[1]:
        raise ParameterError(f"loop {start}–{end} lies outside the {samples.shape[1]} frames")
    if seam not in ("before", "after"):
        raise ParameterError(f"loop seam must be 'before' or 'after', got {seam!r}")
    body = np.array(samples[:, start:end], dtype=np.float32)
    n = min(max(1, round(fade_s * sample_rate)), (end - start) // 2)
    at = slice(body.shape[1] - n, None) if seam == "before" else slice(0, n)
    other = take_frames(samples, start - n, start) if seam == "before" else take_frames(samples, end, end + n)
    x, y = body[:, at].astype(np.float64).ravel(), other.astype(np.float64).ravel()
    denominator = math.sqrt(float(np.dot(x, x) * np.dot(y, y)))
    rho = float(np.clip(np.dot(x, y) / denominator, 0.0, 1.0)) if denominator > 1e-20 else 0.0
    rising = seam == "after"  # the loop's own audio fades in at its head, out at its tail
    body[:, at] = body[:, at] * fade_curve(n, rising=rising, rho=rho) + other * fade_curve(n, rising=not rising, rho=rho)
    return body


def loop_wrap_step(samples: np.ndarray) -> float:
    """Largest per-channel jump from the last sample to the first (the click a loop player would play)."""
    return float(np.max(np.abs(samples[:, 0].astype(np.float64) - samples[:, -1])))


def loop_score(likeness: np.ndarray, first: int, end: int) -> tuple[float, str]:
    """How well bars ``first``…``end`` − 1 loop (0–1) and where to put the seam.

    The wrap plays the span's last bar into its first. That is a transition the song itself
    makes when the bar after the span resembles its first bar (the seam then goes ``"after"``:
    the loop's head fades in from that bar) or when the bar before the span resembles its last
    bar (the seam goes ``"before"``: the loop's tail fades into the end of that bar).
    """
    bars = likeness.shape[0]
    if not 0 <= first < end <= bars:
        return 0.0, "before"
    ahead = float(likeness[end, first]) if end < bars else 0.0
    behind = float(likeness[first - 1, end - 1]) if first > 0 else 0.0
    return (behind, "before") if behind >= ahead else (ahead, "after")


def best_span(likeness: np.ndarray, first_bar: int, end_bar: int, *, lengths: Sequence[int] = (8, 4, 2),
              levels: np.ndarray | None = None) -> tuple[int, int, float, str] | None:
    """(first bar, end bar, score, seam) of the best-looping span of whole bars inside ``first_bar``…``end_bar``.

    Longer spans are preferred (the first length in ``lengths`` with a span scoring at least
    :data:`LOOP_LIKENESS`); among equals a span that starts on a phrase of its own length within
    the range, and (with ``levels``, dB per bar) one in the louder half of the song, wins. None
    when no span loops.
    """
    bars = likeness.shape[0]
    for length in lengths:
        candidates = []
        for a in range(max(first_bar, 0), min(end_bar, bars) - length + 1):
            score, seam = loop_score(likeness, a, a + length)
            bonus = 0.03 * ((a - first_bar) % length == 0)
            if levels is not None and len(levels) == bars:
                bonus += 0.05 * float(np.mean(levels[a:a + length]) > np.median(levels))
            candidates.append((score + bonus, -a, score, seam))
        if candidates:
            _, a, score, seam = max(candidates)
            if score >= LOOP_LIKENESS:
                return -a, -a + length, score, seam
    return None


def best_groove(likeness: np.ndarray, grid: BarGrid,
                levels: np.ndarray | None = None) -> tuple[int, int, float, str] | None:
    """(first bar, end bar, score, seam) of the song's best-looping 4-bar span (2 or 1 bars when none loops)."""
    return best_span(likeness, 0, grid.bars, lengths=(4, 2, 1), levels=levels)


def span_frames(grid: BarGrid, first: int, end: int, rate: int) -> tuple[int, int]:
    return round(grid.starts_s[first] * rate), round(grid.ends_s[end - 1] * rate)


def loop_file(writer: DeliveryWriter, audio: Audio, start: int, end: int, parts: tuple[str, ...], kind: str,
              description: str, info: dict[str, Any]) -> None:
    looped = seamless_loop(audio.samples, audio.sample_rate, start, end, seam=info["seam"])
    info = {**info, "source_start_frame": start}  # where the loop lies in the main master and the stems
    peak = true_peak_dbtp(audio.with_samples(looped))
    if peak > writer.target.ceiling_dbtp - 0.02:  # the cross-fade of two peaks can add a little
        looped *= np.float32(10 ** ((writer.target.ceiling_dbtp - 0.05 - peak) / 20))
    writer.write(audio.with_samples(looped), parts, kind, description, target_lufs=None,
                 loop=(0, looped.shape[1] - 1), info=info)


def write_loops(writer: DeliveryWriter, audio: Audio, grid: BarGrid, likeness: np.ndarray,
                 groove: tuple[int, int, float, str] | None, warnings: list[str]) -> None:
    rate = audio.sample_rate
    if groove is None:
        warnings.append("main groove loop skipped: no span of bars loops")
    else:
        first, end, score, seam = groove
        start, stop = span_frames(grid, first, end, rate)
        loop_file(writer, audio, start, stop, ("Loop", "Main"), "loop",
                   f"{writer.title} main groove, bars {first + 1}–{end}, seamless loop",
                   {"bars": [first, end], "likeness": round(score, 3), "section": "groove", "seam": seam})
    seen: set[str] = set()
    names: set[str] = set()
    for section in grid.sections:
        key = section.label
        if key in seen:
            continue
        seen.add(key)
        span = best_span(likeness, section.first_bar, section.end_bar)
        if span is None:
            continue
        first, end, score, seam = span
        start, stop = span_frames(grid, first, end, rate)
        role = title_for(section.role)
        stem = role if role not in names else f"{role}{title_for(key)}"
        stem = next(f"{stem}{n}" for n in ("", *range(2, len(names) + 3)) if f"{stem}{n}" not in names)
        names.update((role, stem))
        loop_file(writer, audio, start, stop, ("Loop", stem), "loop",
                   f"{writer.title} {section.role} ({section.label}), bars {first + 1}–{end}, seamless loop",
                   {"bars": [first, end], "likeness": round(score, 3), "section": section.label, "seam": seam})


def write_layers(writer: DeliveryWriter, stems: Mapping[str, Audio], roles: Mapping[str, str], master_audio: Audio,
                  gain: float, grid: BarGrid, groove: tuple[int, int, float, str], target: Target,
                  warnings: list[str]) -> None:
    rate = master_audio.sample_rate
    first, end, _, seam = groove
    start, stop = span_frames(grid, first, end, rate)
    # each layer is limited over the loop and a margin, so the loop cross-fade reads its own signal
    lo, hi = max(0, start - rate), min(master_audio.frames, stop + rate)
    # cumulative layers in the order a score builds up: bed, + bass, + drums, + lead (the full mix last)
    order = [("Bed", "bed", "ambient bed: pads, keys and other sustained parts"), ("Bass", "bass", "plus the bass"),
             ("Drums", "drums", "plus the drums"), ("Lead", "lead", "plus the lead")]
    chosen: set[str] = set()
    made = 0
    for label, role, words in order:
        chosen.add(role)
        parts = [p for p, r in roles.items() if r in chosen]
        if not any(r == role for r in roles.values()) or len(parts) == len(stems):
            continue
        window = sum(stems[p].samples[:, lo:hi].astype(np.float64) for p in parts) * gain
        limited = limiter.limit(window.astype(np.float32), rate, target.ceiling_dbtp - 0.1).samples
        padded = np.zeros_like(master_audio.samples)
        padded[:, lo:hi] = limited
        loop_file(writer, master_audio.with_samples(padded), start, stop, ("Layer", f"{made + 1}{label}"),
                   "layer", f"{writer.title} vertical layer {made + 1} ({words}), bars {first + 1}–{end}",
                   {"layer": made + 1, "stems": sorted(parts), "bars": [first, end], "seam": seam})
        made += 1
    if made == 0:
        warnings.append("only the full layer was made: the stems hold no bed, bass, drums or lead to build up from")
    loop_file(writer, master_audio, start, stop, ("Layer", f"{made + 1}Full"), "layer",
               f"{writer.title} vertical layer {made + 1} (full mix), bars {first + 1}–{end}",
               {"layer": made + 1, "stems": sorted(stems), "bars": [first, end], "seam": seam})
