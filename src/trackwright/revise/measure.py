"""What a note did, measured on the audio: descriptors, the moves each dimension must make to count
as done, and the checks of the note's constraints — defined here, independently of the reading.

Conventions
-----------
* Descriptors are measured on a version's mix (the pre-master mix, so mastering's global gain
  never hides or fakes a change) inside a span of seconds, or over several excerpts of one
  (:func:`describe_segments`, used to predict a technique's effect before rendering):

  =================  =====================================================================  =========
  descriptor         what is measured                                                       audible
  =================  =====================================================================  =========
  ``loudness``       integrated loudness (BS.1770, gated), LUFS                             0.5 LU
  ``lra``            loudness range (EBU 3342) of the 3 s short-term loudness, LU           1 LU
  ``centroid``       spectral centroid of the long-term power spectrum, Hz (change in %)    3 %
  ``band:REGION``    that band's share of the energy (20 Hz–20 kHz), dB; ``clearance`` is   0.5 dB
                     300 Hz–3 kHz, the others :data:`~trackwright.revise.directives.REGIONS`
  ``width``          side / mid energy, dB                                                  1 dB
  ``crest``          median peak-to-RMS of 50 ms frames, dB (punch)                         0.5 dB
  ``gaps``           90th − 10th percentile of 20 ms frame levels, dB (dry: up)             1 dB
  ``onsets``         spectral-flux onsets per second (change in %)                          5 %
  ``peak``           sample peak, dBFS                                                      0.1 dB
  ``rise``           loudness of the last 2 s minus the first 2 s, LU (a build)             1 LU
  ``parts``          stems within 30 dB of the loudest one                                  1
  =================  =====================================================================  =========

* :data:`EXPECTED` says, per dimension, which descriptors must move which way: ``all`` of them,
  or ``any`` one of them with none moving audibly the wrong way. A directive is carried out
  ("as asked") only when its measurement says so; a note whose measurement contradicts it is
  reported "not achieved", with the numbers.
* What the note did not ask for must stay put: each :data:`UNASKED` descriptor (loudness, width)
  that no directive of the note moves (:func:`asked_descriptors`) and that its techniques do not
  move by their nature (:data:`MOVED_BY_NATURE`) must change by less than its :data:`AUDIBLE`
  threshold (:func:`judge_unasked`), else the directive is not "as asked" ("also loudness
  +0.8 LU (not asked)").
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.signal import sosfilt

from trackwright.analysis.loudness import gated_block_loudness, k_weighting_sos, loudness_range, power_to_lufs
from trackwright.audio import Audio
from trackwright.revise.directives import REGIONS, Directive, Hold

#: Bands measured as shares of the energy, Hz.
BANDS: dict[str, tuple[float, float]] = {**REGIONS, "clearance": (300.0, 3000.0)}
#: The smallest change a listener hears, per descriptor (``centroid`` and ``onsets``: a share of the
#: value before, in %).
AUDIBLE: dict[str, float] = {"loudness": 0.5, "lra": 1.0, "centroid": 3.0, "band": 0.5, "width": 1.0, "crest": 0.5,
                             "gaps": 1.0, "onsets": 5.0, "peak": 0.1, "rise": 1.0, "parts": 1.0, "part": 0.5,
                             "duration": 1.0, "tempo": 2.0, "pitch": 0.5, "fade": 15.0}
#: The smallest change a listener calls "much more" / "way less" (a large degree), per descriptor
#: in its unit; a move smaller than this carries out a plain note but not a large one.
LARGE_FLOOR: dict[str, float] = {"loudness": 3.0, "centroid": 15.0, "band": 3.0, "width": 2.0, "gaps": 2.0,
                                 "crest": 1.0, "onsets": 15.0, "lra": 2.0, "part": 2.0, "tempo": 10.0}
#: The largest change still heard as "a tiny bit" / "slightly" (a small degree), per descriptor.
SMALL_CEILING: dict[str, float] = {"loudness": 3.0, "centroid": 10.0, "band": 2.0, "width": 3.0, "gaps": 4.0,
                                   "crest": 2.0, "onsets": 30.0, "lra": 3.0, "part": 3.5}
#: Degrees (a directive's signed amount, halved when subtle) at or under which the small ceiling
#: applies, and at or over which the large floor does.
SMALL_DEGREE, LARGE_DEGREE = 0.4, 0.8
#: A stated amount ("up 2 dB") is met within ± max(this, 25 % of it), in the descriptor's unit.
QUANTITY_TOLERANCE: dict[str, float] = {"loudness": 0.5, "part": 0.5, "band": 0.5, "width": 0.5, "centroid": 2.0,
                                        "onsets": 5.0, "tempo": 3.0}
#: "Keep the loudness" holds within this, LU.
SAME_LOUDNESS_LU = 0.2
RELATIVE = frozenset({"centroid", "onsets"})

#: What "as asked" means for each dimension: ("all" | "any", ((descriptor, direction for "more"), …)).
EXPECTED: dict[str, tuple[str, tuple[tuple[str, int], ...]]] = {
    "loudness": ("all", (("loudness", 1),)),
    "energy": ("any", (("loudness", 1), ("crest", 1), ("centroid", 1))),
    "restraint": ("all", (("loudness", -1),)),
    "intimacy": ("any", (("width", -1), ("loudness", -1), ("parts", -1))),
    "size": ("any", (("width", 1), ("loudness", 1))),
    "brightness": ("all", (("centroid", 1),)),
    "warmth": ("all", (("centroid", -1),)),
    "valence": ("all", (("centroid", 1),)),
    "tension": ("any", (("centroid", -1), ("width", -1))),
    "density": ("any", (("onsets", 1), ("parts", 1))),
    "clearance": ("all", (("band:clearance", -1),)),
    "presence": ("all", (("part", 1),)),
    "width": ("all", (("width", 1),)),
    "punch": ("all", (("crest", 1),)),
    "dynamics": ("any", (("lra", 1), ("crest", 1))),
    "reverb": ("all", (("gaps", -1),)),
    "pace": ("all", (("tempo", 1),)),
    "key": ("all", (("pitch", 1),)),
    "fade_in": ("all", (("fade_in", 1),)),
    "fade_out": ("all", (("fade_out", 1),)),
    "length": ("all", (("duration", 1),)),
    "repeat": ("all", (("duration", 1),)),
    "build": ("all", (("rise", 1),)),
    "variation": ("any", (("pitch", 1), ("parts", -1), ("centroid", 1))),
    **{region: ("all", ((f"band:{region}", 1),)) for region in REGIONS},
}
#: Descriptors a version must leave where they were (within :data:`AUDIBLE`) unless the note asks to
#: move them: a colour note that comes out audibly louder, or "more energy" that comes out audibly
#: narrower, is not what was asked. Width under :data:`MONO_WIDTH_DB` is compared as that (mono).
UNASKED: tuple[str, ...] = ("loudness", "width")
#: Unasked descriptors a dimension's techniques move by their nature, not checked for it: a large
#: room's reverb is wider than the dry sound; a build is a loudness ramp; an EQ or a part's level
#: moves the side/mid ratio of the whole band (less mono bass reads as "wider") while every
#: instrument keeps its place in the image.
MOVED_BY_NATURE: dict[str, tuple[str, ...]] = {
    "reverb": ("width",), "build": ("loudness", "width"),
    **{dimension: ("width",) for dimension in ("brightness", "warmth", "valence", "clearance", "presence", "density",
                                                *REGIONS)},
}
#: Side/mid energy under this (dB) is heard as mono: a change below it is no change of width.
MONO_WIDTH_DB = -30.0

#: The descriptor a hold on a dimension watches, and the direction of "more" of it.
HELD_BY: dict[str, tuple[str, int]] = {
    "loudness": ("loudness", 1), "energy": ("loudness", 1), "dynamics": ("lra", 1), "peaks": ("peak", 1),
    "reverb": ("gaps", -1), "brightness": ("centroid", 1), "warmth": ("centroid", -1), "width": ("width", 1),
    "punch": ("crest", 1), "pace": ("tempo", 1), "key": ("pitch", 1), "length": ("duration", 1),
    "density": ("onsets", 1), **{region: (f"band:{region}", 1) for region in REGIONS},
}


# -- descriptors ------------------------------------------------------------------------------------
def _slice(audio: Audio, start_s: float, end_s: float) -> np.ndarray:
    lo, hi = int(round(start_s * audio.sample_rate)), int(round(end_s * audio.sample_rate))
    return audio.samples[:, max(lo, 0): max(hi, lo + 1)]


def _spectrum(segments: Sequence[np.ndarray], sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    n = 4096
    window = np.hanning(n)
    power = np.zeros(n // 2 + 1)
    for x in segments:
        mono = x.mean(axis=0).astype(np.float64)
        if len(mono) < n:
            mono = np.pad(mono, (0, n - len(mono)))
        frames = (len(mono) - n) // (n // 2) + 1
        index = np.arange(n)[None, :] + (n // 2) * np.arange(frames)[:, None]
        power += (np.abs(np.fft.rfft(mono[index] * window, axis=1)) ** 2).sum(axis=0)
    return np.fft.rfftfreq(n, 1.0 / sample_rate), power


def _blocks(x: np.ndarray, sample_rate: int, window_s: float, hop_s: float) -> np.ndarray:
    """Mean K-weighted power of windows of ``window_s`` every ``hop_s`` (empty when shorter)."""


    sos = k_weighting_sos(sample_rate)
    power = np.zeros(x.shape[1])
    for channel in x[:2] if x.shape[0] <= 2 else x:
        power += sosfilt(sos, channel.astype(np.float64)) ** 2
    window, hop = int(round(window_s * sample_rate)), int(round(hop_s * sample_rate))
    if len(power) < window:
        return np.zeros(0)
    cumulative = np.concatenate([[0.0], np.cumsum(power)])
    starts = np.arange(0, len(power) - window + 1, hop)
    return (cumulative[starts + window] - cumulative[starts]) / window


def _frame_levels(x: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(RMS, peak) of consecutive frames of ``n`` samples (all channels)."""
    frames = x.shape[1] // n
    if frames == 0:
        return np.zeros(0), np.zeros(0)
    blocks = x[:, :frames * n].reshape(x.shape[0], frames, n).astype(np.float64)
    return np.sqrt(np.mean(blocks ** 2, axis=(0, 2))), np.max(np.abs(blocks), axis=(0, 2))


def _flux(x: np.ndarray) -> np.ndarray:
    """Spectral flux of a segment: mean positive change of the log spectrum, per 512-sample hop."""
    mono = x.mean(axis=0).astype(np.float64)
    n, hop = 2048, 512
    frames = (len(mono) - n) // hop + 1
    if frames < 4:
        return np.zeros(0)
    index = np.arange(n)[None, :] + hop * np.arange(frames)[:, None]
    magnitude = np.abs(np.fft.rfft(mono[index] * np.hanning(n), axis=1))
    db = 20 * np.log10(np.maximum(magnitude, 1e-10))
    db = np.maximum(db, db.max() - 80.0)
    return np.maximum(np.diff(db, axis=0), 0.0).mean(axis=1)


def _onset_density(segments: Sequence[np.ndarray], sample_rate: int) -> float:
    """Onsets per second: spectral-flux peaks picked like librosa's defaults (the flux normalised
    over all segments together, a 30 ms local maximum, 0.07 above the 100 ms local mean, 30 ms apart)."""
    fluxes = [_flux(x) for x in segments]
    seconds = sum(x.shape[1] for x in segments) / sample_rate
    joined = np.concatenate(fluxes) if fluxes else np.zeros(0)
    if len(joined) < 4:
        return 0.0
    low, high = float(joined.min()), float(joined.max())
    rate = sample_rate / 512
    pre_max, avg, wait = max(1, int(0.03 * rate)), max(1, int(0.1 * rate)), max(1, int(0.03 * rate))
    count = 0
    for flux in fluxes:
        flux = (flux - low) / max(high - low, 1e-12)
        last = -wait - 1
        for i in range(len(flux)):
            if flux[i] < flux[max(0, i - pre_max):i + 1].max() or \
                    flux[i] < flux[max(0, i - avg):i + avg + 1].mean() + 0.07:
                continue
            if i - last > wait:
                count += 1
                last = i
    return count / max(seconds, 1e-9)


def describe_segments(segments: Sequence[np.ndarray], sample_rate: int, which: Sequence[str] | None = None
                      ) -> dict[str, float]:
    """Descriptors (see the module table) of the audio in ``segments`` (each channels × frames),
    taken together; ``which`` limits them to those named (all by default, except the part ones)."""
    wanted = set(which) if which is not None else {"loudness", "lra", "centroid", "width", "crest", "gaps", "onsets",
                                                   "peak", *(f"band:{b}" for b in BANDS)}
    out: dict[str, float] = {}
    if wanted & {"centroid", *(f"band:{b}" for b in BANDS)}:
        freqs, power = _spectrum(segments, sample_rate)
        total = max(float(power[(freqs >= 20) & (freqs < 20000)].sum()), 1e-30)
        out["centroid"] = float((freqs * power).sum() / max(float(power.sum()), 1e-30))
        for name, (lo, hi) in BANDS.items():
            share = float(power[(freqs >= lo) & (freqs < hi)].sum()) / total
            out[f"band:{name}"] = 10 * math.log10(max(share, 1e-12))
    if wanted & {"loudness", "lra", "rise"}:
        blocks = np.concatenate([_blocks(x, sample_rate, 0.4, 0.1) for x in segments])
        loudness = gated_block_loudness(blocks) if len(blocks) else -math.inf
        out["loudness"] = loudness if math.isfinite(loudness) else -70.0
        if "lra" in wanted:
            short = np.concatenate([_blocks(x, sample_rate, 3.0, 0.1) for x in segments])
            out["lra"] = loudness_range(power_to_lufs(np.maximum(short, 1e-20))) if len(short) > 2 else 0.0
        if "rise" in wanted:
            x = segments[-1]
            n = min(int(2.0 * sample_rate), x.shape[1] // 2)
            first, last = _blocks(x[:, :n], sample_rate, n / sample_rate, 1.0), _blocks(x[:, -n:], sample_rate,
                                                                                     n / sample_rate, 1.0)
            out["rise"] = float(power_to_lufs(max(float(last.mean()), 1e-20)) -
                                power_to_lufs(max(float(first.mean()), 1e-20))) if len(first) and len(last) else 0.0
    if "width" in wanted:
        side = sum(float(np.sum((x[0].astype(np.float64) - x[-1]) ** 2)) for x in segments)
        mid = sum(float(np.sum((x[0].astype(np.float64) + x[-1]) ** 2)) for x in segments)
        out["width"] = 10 * math.log10(max(side, 1e-20) / max(mid, 1e-20))
    if wanted & {"crest", "gaps"}:
        crest, levels = [], []
        for x in segments:
            rms, peak = _frame_levels(x, int(0.05 * sample_rate))
            keep = rms > 10 ** (-60 / 20)
            crest.append(20 * np.log10(peak[keep] / rms[keep]))
            rms20, _ = _frame_levels(x, int(0.02 * sample_rate))
            levels.append(20 * np.log10(np.maximum(rms20, 1e-10)))
        crest_all, levels_all = np.concatenate(crest), np.concatenate(levels)
        out["crest"] = float(np.median(crest_all)) if len(crest_all) else 0.0
        if len(levels_all):
            levels_all = levels_all[levels_all > levels_all.max() - 80.0]
            out["gaps"] = float(np.percentile(levels_all, 90) - np.percentile(levels_all, 10))
        else:
            out["gaps"] = 0.0
    if "onsets" in wanted:
        out["onsets"] = _onset_density(segments, sample_rate)
    if "peak" in wanted:
        peak = max(float(np.max(np.abs(x))) if x.size else 0.0 for x in segments)
        out["peak"] = 20 * math.log10(max(peak, 1e-10))
    return {key: round(value, 4) for key, value in out.items()}


def describe_span(audio: Audio, start_s: float, end_s: float, which: Sequence[str] | None = None) -> dict[str, float]:
    """:func:`describe_segments` of one span of ``audio``."""
    return describe_segments([_slice(audio, start_s, end_s)], audio.sample_rate, which)


def parts_sounding(stems: Mapping[str, Audio], start_s: float, end_s: float) -> int:
    """Stems in the span within 30 dB of the loudest one (and above −70 dBFS RMS)."""
    levels = [float(np.sqrt(np.mean(_slice(s, start_s, end_s).astype(np.float64) ** 2))) for s in stems.values()]
    if not levels or max(levels) <= 0:
        return 0
    loudest = max(levels)
    return sum(1 for level in levels if level > 10 ** (-70 / 20) and 20 * math.log10(max(level, 1e-12) / loudest) > -30)


def part_level_db(mix: Audio, stems: Sequence[Audio], start_s: float, end_s: float) -> float:
    """Level of the named stems together relative to the mix in the span, dB (RMS)."""
    x = _slice(mix, start_s, end_s).astype(np.float64)
    total = sum(_slice(s, start_s, end_s).astype(np.float64) for s in stems)
    return 10 * math.log10(max(float(np.mean(np.square(total))), 1e-20) / max(float(np.mean(x ** 2)), 1e-20))


def fade_depth_db(audio: Audio, seconds: float, *, at_end: bool) -> tuple[float, float]:
    """(depth, middle) of a fade over ``seconds`` at the end (or start): the level of the last
    (first) 0.5 s and of the fade's middle below the level ``seconds`` from the edge, dB."""
    rate = audio.sample_rate
    x = audio.samples if at_end else audio.samples[:, ::-1]
    n = x.shape[1]
    half = int(0.5 * rate)

    def level(end: int) -> float:
        chunk = x[:, max(0, end - half): max(end, 1)].astype(np.float64)
        return 10 * math.log10(max(float(np.mean(chunk ** 2)), 1e-20))

    reference = level(max(half, n - int(seconds * rate)))
    return reference - level(n), reference - level(max(half, n - int(seconds * rate / 2)))


def pitch_shift_st(before: Audio, after: Audio, start_s: float, end_s: float) -> float:
    """The transposition between two renders of a span, semitones: the lag that best aligns their
    log-frequency spectra (60 Hz–5 kHz, tenths of a semitone, whitened)."""
    curves = []
    for audio in (before, after):
        freqs, power = _spectrum([_slice(audio, start_s, end_s)], audio.sample_rate)
        grid = 60.0 * 2 ** (np.arange(0, 12 * math.log2(5000 / 60), 0.1) / 12)
        curve = np.log(np.interp(grid, freqs, np.sqrt(power)) + 1e-9)
        smooth = np.convolve(curve, np.ones(25) / 25, mode="same")
        curves.append(curve - smooth)
    a, b = curves
    best, shift = -math.inf, 0.0
    for lag in range(-130, 131):
        x, y = (a[:len(a) - lag], b[lag:]) if lag >= 0 else (a[-lag:], b[:len(b) + lag])
        score = float(np.dot(x - x.mean(), y - y.mean()) / (np.std(x) * np.std(y) * len(x) + 1e-12))
        if score > best:
            best, shift = score, lag / 10
    return shift


# -- verdicts -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Verdict:
    """One descriptor's move and what it means: ``state`` "ok" (moved audibly the asked way, by
    the degree asked), "small" (not audibly, or less than a large degree or a stated amount),
    "over" (more than a small degree or a stated amount), "wrong" (audibly the other way) or
    "kept"/"broken" for a hold."""

    descriptor: str
    before: float
    after: float
    change: float
    unit: str
    state: str

    def to_dict(self) -> dict[str, object]:
        return {"descriptor": self.descriptor, "before": round(self.before, 3), "after": round(self.after, 3),
                "change": round(self.change, 3), "unit": self.unit, "state": self.state}

    def describe(self) -> str:
        sign = "+" if self.change >= 0 else ""
        return f"{self.descriptor} {sign}{self.change:.{1 if self.unit in ('%', 'LU', 'dB') else 2}f} {self.unit}"


def change_of(descriptor: str, before: float, after: float) -> tuple[float, str]:
    """The change of a descriptor (in % for the relative ones) and its unit."""
    base = descriptor.split(":")[0]
    if base in RELATIVE:
        return (100.0 * (after / before - 1.0) if before > 0 else 0.0), "%"
    unit = {"loudness": "LU", "lra": "LU", "rise": "LU", "parts": "parts", "pitch": "st", "duration": "s",
            "tempo": "%"}.get(base, "dB")
    return after - before, unit


def judge(descriptor: str, before: float, after: float, direction: int, *, threshold: float | None = None,
          degree: float | None = None, quantity: float | None = None) -> Verdict:
    """Did ``descriptor`` move audibly in ``direction``, by as much as was asked?

    ``degree`` is the directive's unsigned amount (:attr:`Directive.signed`): a large one
    ("much louder") must move at least :data:`LARGE_FLOOR`, a small one ("a tiny bit brighter")
    at most :data:`SMALL_CEILING` (state "small" or "over" otherwise). ``quantity`` is a stated
    amount in the descriptor's unit, met within :data:`QUANTITY_TOLERANCE`.
    """
    change, unit = change_of(descriptor, before, after)
    base = descriptor.split(":")[0]
    limit = threshold if threshold is not None else AUDIBLE[base]
    moved = change * direction
    state = "ok" if moved >= limit else "wrong" if moved <= -limit else "small"
    if state == "ok" and quantity is not None and base in QUANTITY_TOLERANCE:
        miss = abs(moved - quantity)
        if miss > max(QUANTITY_TOLERANCE[base], (0.0 if base == "tempo" else 0.25) * quantity):
            state = "small" if moved < quantity else "over"
    elif state == "ok" and degree is not None:
        if degree >= LARGE_DEGREE and base in LARGE_FLOOR and moved < LARGE_FLOOR[base]:
            state = "small"
        elif degree <= SMALL_DEGREE and base in SMALL_CEILING and moved > SMALL_CEILING[base]:
            state = "over"
    return Verdict(descriptor, before, after, change, unit, state)


def judge_hold(hold: Hold, descriptor: str, sign: int, before: float, after: float) -> Verdict:
    """Was ``hold`` kept? ``sign`` is the direction of "more" of the held dimension on ``descriptor``."""
    change, unit = change_of(descriptor, before, after)
    base = descriptor.split(":")[0]
    limit = SAME_LOUDNESS_LU if base == "loudness" else AUDIBLE[base]
    moved = change * sign
    broken = abs(moved) >= limit if hold.kind == "same" else moved >= limit if hold.kind == "not_up" else moved <= -limit
    return Verdict(descriptor, before, after, change, unit, "broken" if broken else "kept")


#: A kept part's change (after − before) must stay this far under the part, dB: the same level
#: with other processing (saturation, a filter) is not "kept".
KEPT_RESIDUAL_DB = -30.0


def residual_verdict(before: Audio, after: Audio, start_s: float, end_s: float) -> Verdict:
    """Was a part kept as it was in the span? The energy of its change relative to it, dB: "kept"
    under :data:`KEPT_RESIDUAL_DB` (or silent both times), else "broken"."""
    a, b = _slice(before, start_s, end_s).astype(np.float64), _slice(after, start_s, end_s).astype(np.float64)
    n = min(a.shape[1], b.shape[1])
    power = float(np.sum(a[:, :n] ** 2))
    change = float(np.sum((b[:, :n] - a[:, :n]) ** 2))
    level = max(10 * math.log10(max(change, 1e-20) / max(power, 1e-20)), -120.0) if power > 1e-12 else \
        (-120.0 if change <= 1e-12 else 0.0)
    return Verdict("residual", 0.0, level, level, "dB", "kept" if level <= KEPT_RESIDUAL_DB else "broken")


#: What carries a dimension out when a hold watches what :data:`EXPECTED` measures ("not darker,
#: warmer": the centroid may not fall, so warmth is the low mids' share).
WHEN_HELD: dict[str, tuple[str, tuple[tuple[str, int], ...]]] = {
    "warmth": ("all", (("band:mud", 1),)),
}


def expected_for(directive: Directive, holds: Sequence[Hold] = ()) -> tuple[str, tuple[tuple[str, int], ...]]:
    """(mode, ((descriptor, direction), …)) that carry ``directive`` out, given the note's holds."""
    mode, terms = EXPECTED[directive.dimension]
    held = {HELD_BY[h.dimension][0] for h in holds if h.part is None and h.dimension in HELD_BY}
    if directive.dimension in WHEN_HELD and held & {descriptor for descriptor, _ in terms}:
        mode, terms = WHEN_HELD[directive.dimension]
    return mode, tuple((descriptor, sign * directive.direction) for descriptor, sign in terms)


def asked_descriptors(directives: Sequence[Directive], holds: Sequence[Hold] = ()) -> frozenset[str]:
    """Descriptors the note asks to move, or to watch: every directive's :data:`EXPECTED` terms,
    what its techniques move by nature (:data:`MOVED_BY_NATURE`), and what its holds watch."""
    asked: set[str] = set()
    for directive in directives:
        asked.update(descriptor for descriptor, _ in expected_for(directive, holds)[1])
        asked.update(MOVED_BY_NATURE.get(directive.dimension, ()))
    asked.update(HELD_BY[h.dimension][0] for h in holds if h.part is None and h.dimension in HELD_BY)
    return frozenset(asked)


def unasked_for(asked: frozenset[str]) -> tuple[str, ...]:
    """The :data:`UNASKED` descriptors a version must leave where they were, given what is ``asked``."""
    return tuple(d for d in UNASKED if d not in asked)


def judge_unasked(descriptor: str, before: float, after: float) -> Verdict:
    """Did an unasked ``descriptor`` stay where it was? State "kept" when it moved less than
    :data:`AUDIBLE`, else "moved" (the version changed what the note did not ask for)."""
    if descriptor == "width":
        before, after = max(before, MONO_WIDTH_DB), max(after, MONO_WIDTH_DB)
    change, unit = change_of(descriptor, before, after)
    state = "moved" if abs(change) >= AUDIBLE[descriptor.split(":")[0]] else "kept"
    return Verdict(descriptor, before, after, change, unit, state)


def achieved(mode: str, verdicts: Sequence[Verdict]) -> bool:
    """``all``: every verdict "ok"; ``any``: at least one "ok" and none "wrong"."""
    if not verdicts:
        return False
    if mode == "all":
        return all(v.state == "ok" for v in verdicts)
    return any(v.state == "ok" for v in verdicts) and not any(v.state == "wrong" for v in verdicts)


def outside_unchanged(before: Audio, after: Audio, regions: Sequence[tuple[float, float, float]], *,
                      pitch: bool = False) -> tuple[bool, str]:
    """Whether the audio in each region (start_s, end_s of ``before``, offset_s into ``after``) is
    unchanged: sample for sample, or within 0.2 LU short-term loudness and 0.5 dB in four bands
    in every 3 s window, one every second; with ``pitch`` (the note transposes somewhere), also
    transposed by less than :data:`AUDIBLE` ``pitch`` over each region. Returns (unchanged, a
    description of the largest change)."""
    worst_lu = worst_db = worst_st = 0.0
    identical = True
    rate = before.sample_rate
    for start, end, offset in regions:
        if end - start < 0.5:
            continue
        a = _slice(before, start, end)
        b = _slice(after, start + offset, end + offset)
        n = min(a.shape[1], b.shape[1])
        a, b = a[:, :n], b[:, :n]
        if np.array_equal(a, b):
            continue
        identical = False
        if pitch:
            shift = pitch_shift_st(Audio(a, rate), Audio(b, rate), 0.0, n / rate)
            worst_st = shift if abs(shift) > abs(worst_st) else worst_st
        window, hop = int(3.0 * rate), int(1.0 * rate)
        for lo in range(0, max(n - window, 0) + 1, hop):
            x, y = a[:, lo:lo + window], b[:, lo:lo + window]
            if x.shape[1] < rate // 2:
                continue
            lx = float(power_to_lufs(max(float(_blocks(x, rate, x.shape[1] / rate, 1.0).mean()), 1e-20)))
            ly = float(power_to_lufs(max(float(_blocks(y, rate, y.shape[1] / rate, 1.0).mean()), 1e-20)))
            worst_lu = max(worst_lu, abs(ly - lx))
            fx, px = _spectrum([x], rate)
            _, py = _spectrum([y], rate)
            for lo_hz, hi_hz in ((20, 250), (250, 2000), (2000, 6000), (6000, 20000)):
                band = (fx >= lo_hz) & (fx < hi_hz)
                worst_db = max(worst_db, abs(10 * math.log10(max(float(py[band].sum()), 1e-20) /
                                                            max(float(px[band].sum()), 1e-20))))
    if identical:
        return True, "unchanged, sample for sample"
    ok = worst_lu < SAME_LOUDNESS_LU and worst_db < 0.5 and abs(worst_st) < AUDIBLE["pitch"]
    moved = f", transposed {worst_st:+.1f} semitones" if abs(worst_st) >= AUDIBLE["pitch"] else ""
    return ok, f"changed by at most {worst_lu:.2f} LU and {worst_db:.2f} dB in a band{moved}"
