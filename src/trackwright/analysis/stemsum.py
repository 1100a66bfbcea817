"""How a set of stems adds up to its mix: the residual, and each stem's gain, polarity and delay in it.

Conventions
-----------
* The mix and the stems are :class:`~trackwright.audio.Audio` at one rate, channels × frames, of
  one length and channel count (fit them first: :func:`trackwright.produce.stems.fit_stem`).
* The *residual* is mix − Σ stems: what no stem holds (effect returns, a master bus, a part that
  was not exported). Its level is its power relative to the mix's, dB; −inf when the stems sum
  to the mix exactly. Above :data:`RESIDUAL_WARN_DB` the stems do not add up to the mix.
* Each stem's *place in the mix* is measured: its delay (the lag, within ±:data:`MAX_DELAY_S`,
  of the largest cross-correlation of the stem with the mix, positive when the stem sits later
  in the mix than in its file) and then, jointly for all stems, the least-squares gains that best
  rebuild the mix from the delayed stems. A negative gain is a stem in reverse polarity; a gain
  near zero, a stem the mix does not contain. :func:`stems_in_mix` applies the gains and delays,
  so the stems it returns sum to the mix as closely as any scaling and shifting of them can, and
  what is left over is orthogonal to every one of them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from trackwright.audio import Audio
from trackwright.errors import ParameterError

#: Stems whose residual is louder than this against the mix do not add up to it, dB.
RESIDUAL_WARN_DB = -30.0
#: Largest delay of a stem in the mix that is looked for, seconds.
MAX_DELAY_S = 0.05
#: The delay is measured on at most this much of the stem (its loudest stretch), seconds.
DELAY_SPAN_S = 20.0
#: A lag is taken only when its correlation beats the zero-lag one by this factor (a steady tone
#: correlates as well one period later: its delay is ambiguous, so it is left at zero).
DELAY_MARGIN = 1.25
#: A stem is judged present in the mix at a lag only when, alone, it explains the mix there with a
#: least-squares gain of at least this (linear): its correlation with the mix must be that share of
#: its own energy. A stem whose sound reaches the mix only as a different render (a free-running
#: LFO, random phases) correlates barely: its best lag is chance, and it stays where it is.
PRESENCE_GAIN = 0.3
#: A barely-correlated stem is there as a different render when, in every octave band where it plays
#: (within HELD_RANGE_DB of its loudest), the mix beyond the other stems holds at least its power less
#: HELD_MARGIN_DB (dB both); otherwise it is not in the mix.
HELD_RANGE_DB, HELD_MARGIN_DB = 10.0, 6.0
#: A stem whose least-squares gain is under this is reported as not in the mix, dB.
ABSENT_GAIN_DB = -30.0
#: Gains and delays this close to "as given" are left as given (dB, seconds).
UNITY_TOLERANCE_DB = 0.1


def _ratio_db(energy: float, reference: float) -> float:
    """``energy`` relative to ``reference``, dB; −inf for none."""
    return -math.inf if energy <= 0.0 else 10.0 * math.log10(energy / max(reference, 1e-30))


@dataclass(frozen=True)
class StemPlace:
    """Where one stem sits in the mix.

    Attributes:
        gain: least-squares gain, linear and signed (−1: the stem is in the mix in reverse polarity).
        delay_frames: the stem's delay in the mix, frames (positive: later in the mix).
        delay_s: the same, seconds.
        level_db: the stem's power relative to the mix's, dB.
    """

    gain: float
    delay_frames: int
    delay_s: float
    level_db: float

    @property
    def gain_db(self) -> float:
        """|gain| in dB (−inf for 0)."""
        return 20.0 * math.log10(abs(self.gain)) if self.gain != 0.0 else -math.inf

    @property
    def polarity(self) -> int:
        """+1, or −1 for a stem in reverse polarity."""
        return -1 if self.gain < 0 else 1

    @property
    def as_given(self) -> bool:
        """True when the stem plays in the mix as its file has it (unity gain, no delay)."""
        return self.delay_frames == 0 and self.gain > 0 and abs(self.gain_db) <= UNITY_TOLERANCE_DB

    def to_dict(self) -> dict[str, float | int | None]:
        """Plain data for JSON (gain in dB, None for a stem not in the mix at all)."""
        gain_db = self.gain_db
        return {"gain_db": round(gain_db, 2) if math.isfinite(gain_db) else None, "polarity": self.polarity,
                "delay_ms": round(self.delay_s * 1000.0, 2), "level_db": _rounded(self.level_db)}


def _rounded(value: float) -> float | None:
    return round(value, 2) if math.isfinite(value) else None


@dataclass(frozen=True)
class StemSum:
    """How the stems add up to the mix.

    Attributes:
        residual_db: power of mix − Σ stems (as given) relative to the mix, dB (−inf: exact).
        placed_residual_db: the same once each stem has its measured gain, polarity and delay, dB.
        stems: part name → :class:`StemPlace`.
    """

    residual_db: float
    placed_residual_db: float
    stems: dict[str, StemPlace]

    @property
    def adds_up(self) -> bool:
        """True when the stems as given sum to the mix within :data:`RESIDUAL_WARN_DB`."""
        return self.residual_db <= RESIDUAL_WARN_DB

    @property
    def needs_placing(self) -> bool:
        """True when the stems do not add up and their measured gains or delays rebuild the mix
        better (by 1 dB or more) than the stems as given."""
        return (not self.adds_up and self.placed_residual_db < self.residual_db - 1.0
                and any(not place.as_given for place in self.stems.values()))

    @property
    def left_db(self) -> float:
        """The residual left once the stems are placed (:func:`stems_in_mix`), dB re the mix."""
        return self.placed_residual_db if self.needs_placing else self.residual_db

    def warnings(self, what: str = "the draft") -> list[str]:
        """One line per problem: a residual above :data:`RESIDUAL_WARN_DB`, stems in reverse
        polarity, delayed or missing from ``what``."""
        if self.adds_up:
            return []
        lines = [f"the stems do not add up to {what}: they leave a {self.residual_db:.1f} dB residual "
                 f"(over {RESIDUAL_WARN_DB:g} dB)"
                 + (f"; at their measured gain, polarity and delay in it, {self.placed_residual_db:.1f} dB"
                    if self.needs_placing else "")
                 + ("; what no stem holds plays as the part 'residual', so the parts still sum to it"
                    if self.left_db > RESIDUAL_WARN_DB else "")]
        for name, place in sorted(self.stems.items()):
            if math.isfinite(place.level_db) and place.gain_db < ABSENT_GAIN_DB:
                lines.append(f"stem {name!r} is not in {what} (its gain in it is under {ABSENT_GAIN_DB:g} dB)")
                continue
            facts = []
            if place.polarity < 0:
                facts.append("in reverse polarity")
            if place.delay_frames:
                facts.append(f"{place.delay_s * 1000:+.1f} ms late" if place.delay_frames > 0
                             else f"{-place.delay_s * 1000:.1f} ms early")
            if facts:
                facts.append(f"at {place.gain_db:+.1f} dB")
                lines.append(f"stem {name!r} sits in {what} " + ", ".join(facts))
        return lines

    def to_record(self) -> dict[str, Any]:
        """Unrounded plain data (a cache file): :meth:`from_record` reads it back exactly."""
        def number(value: float) -> float | None:
            return value if math.isfinite(value) else None

        return {"residual_db": number(self.residual_db), "placed_residual_db": number(self.placed_residual_db),
                "stems": {name: {"gain": p.gain, "delay_frames": p.delay_frames, "delay_s": p.delay_s,
                                 "level_db": number(p.level_db)} for name, p in sorted(self.stems.items())}}

    @classmethod
    def from_record(cls, data: Mapping[str, Any]) -> StemSum:
        """Read :meth:`to_record`'s form (KeyError, TypeError or ValueError when it is not that)."""
        def number(value: Any) -> float:
            return -math.inf if value is None else float(value)

        stems = {str(name): StemPlace(float(p["gain"]), int(p["delay_frames"]), float(p["delay_s"]),
                                      number(p["level_db"])) for name, p in data["stems"].items()}
        return cls(number(data["residual_db"]), number(data["placed_residual_db"]), stems)

    def to_dict(self) -> dict[str, object]:
        """Plain data for JSON."""
        return {"residual_db": _rounded(self.residual_db), "placed_residual_db": _rounded(self.placed_residual_db),
                "adds_up": self.adds_up, "warn_above_db": RESIDUAL_WARN_DB,
                "stems": {name: place.to_dict() for name, place in sorted(self.stems.items())}}


def _check(mix: Audio, stems: Mapping[str, Audio]) -> None:
    for name, stem in stems.items():
        if stem.sample_rate != mix.sample_rate or stem.samples.shape != mix.samples.shape:
            raise ParameterError(f"stem {name!r}: {stem.channels} × {stem.frames} at {stem.sample_rate} Hz does not "
                                 f"match the mix ({mix.channels} × {mix.frames} at {mix.sample_rate} Hz)")


def _loudest_span(mono: np.ndarray, rate: int, span: int) -> slice:
    """The ``span`` frames of ``mono`` with the most energy (found on 1 s blocks)."""
    if mono.size <= span:
        return slice(0, mono.size)
    block = max(1, rate)
    energy = np.add.reduceat(np.square(mono, dtype=np.float64), np.arange(0, mono.size, block))
    width = max(1, span // block)
    start = int(np.argmax(np.convolve(energy, np.ones(width), mode="valid"))) * block
    start = min(start, mono.size - span)
    return slice(start, start + span)


def stem_delay(stem: Audio, mix: Audio, *, max_delay_s: float = MAX_DELAY_S) -> int:
    """The stem's delay in the mix, frames (positive: later in the mix), within ±``max_delay_s``.

    Cross-correlation of the mono stem with the mono mix over the stem's loudest
    :data:`DELAY_SPAN_S`; 0 when nothing beats the zero lag by :data:`DELAY_MARGIN`, or when the
    stem is barely present at its best lag (:data:`PRESENCE_GAIN`).
    """
    rate = mix.sample_rate
    lags = max(1, round(max_delay_s * rate))
    a = stem.samples.mean(axis=0, dtype=np.float64)
    b = mix.samples.mean(axis=0, dtype=np.float64)
    window = _loudest_span(a, rate, round(DELAY_SPAN_S * rate))
    lo, hi = window.start, window.stop
    a = a[lo:hi]
    b = b[max(0, lo - lags):min(b.size, hi + lags)]
    offset = lo - max(0, lo - lags)  # where a[0] sits in b
    if not np.any(a) or not np.any(b):
        return 0
    size = 1 << int(math.ceil(math.log2(a.size + b.size)))
    corr = np.fft.irfft(np.fft.rfft(b, size) * np.conj(np.fft.rfft(a, size)), size)
    # corr[k] = Σ a[n] b[n + k]: the lag k puts a[0] at b[k]; delay = k − offset
    candidates = np.arange(offset - lags, offset + lags + 1)
    values = np.abs(corr[candidates % size])
    best = int(candidates[int(np.argmax(values))])
    zero = abs(float(corr[offset % size]))
    if best == offset or float(values.max()) < DELAY_MARGIN * zero:
        return 0
    if float(values.max()) < PRESENCE_GAIN * float(np.dot(a, a)):   # correlation / energy = its gain there
        return 0
    return best - offset


def shift(samples: np.ndarray, frames: int) -> np.ndarray:
    """``samples`` (channels × frames) delayed by ``frames`` (negative: advanced), zero-filled, same length."""
    if frames == 0:
        return samples
    out = np.zeros_like(samples)
    if frames > 0:
        out[:, frames:] = samples[:, :-frames]
    else:
        out[:, :frames] = samples[:, -frames:]
    return out


def _blocks(frames: int, size: int = 1 << 17) -> list[tuple[int, int]]:
    return [(lo, min(frames, lo + size)) for lo in range(0, frames, size)]


def _shifted_block(samples: np.ndarray, delay: int, lo: int, hi: int) -> np.ndarray:
    """Frames ``lo:hi`` of ``samples`` (channels × frames) delayed by ``delay`` frames, float64, zero-filled."""
    out = np.zeros((samples.shape[0], hi - lo))
    src_lo, src_hi = max(0, lo - delay), min(samples.shape[1], hi - delay)
    if src_hi > src_lo:
        out[:, src_lo + delay - lo:src_hi + delay - lo] = samples[:, src_lo:src_hi]
    return out


def _octave_power(mono: np.ndarray, rate: int) -> np.ndarray:
    """Power in each octave band 63 Hz–8 kHz of a 1-D signal (FFT of the whole span), shape (8,)."""
    power = np.square(np.abs(np.fft.rfft(mono)))
    freqs = np.fft.rfftfreq(mono.size, 1.0 / rate)
    centres = 63.0 * 2.0 ** np.arange(8)
    return np.array([power[(freqs >= c / math.sqrt(2)) & (freqs < c * math.sqrt(2))].sum() for c in centres])


def _held_elsewhere(mix: Audio, stems: Mapping[str, Audio], names: list[str], gains: np.ndarray,
                    delays: Mapping[str, int], index: int) -> bool:
    """True when what the mix holds beyond the other stems (at their fitted gains and delays) has, in
    each octave band where stem ``index`` plays (within :data:`HELD_RANGE_DB` of its loudest), at least
    the stem's own power less :data:`HELD_MARGIN_DB`: its sound is in the mix, if not its samples.
    Measured over the stem's loudest :data:`DELAY_SPAN_S`."""
    stem = stems[names[index]]
    rate = mix.sample_rate
    span = _loudest_span(stem.samples.mean(axis=0, dtype=np.float64), rate, round(DELAY_SPAN_S * rate))
    rest = mix.samples[:, span].astype(np.float64)
    for j, name in enumerate(names):
        if j != index:
            rest = rest - gains[j] * _shifted_block(stems[name].samples, delays[name], span.start, span.stop)
    own = _octave_power(stem.samples[:, span].mean(axis=0, dtype=np.float64), rate)
    held = _octave_power(rest.mean(axis=0), rate)
    if own.max() <= 0.0:
        return False
    plays = own >= own.max() * 10.0 ** (-HELD_RANGE_DB / 10.0)
    return bool(np.all(held[plays] >= own[plays] * 10.0 ** (-HELD_MARGIN_DB / 10.0)))


def measure_stem_sum(mix: Audio, stems: Mapping[str, Audio]) -> StemSum:
    """How ``stems`` add up to ``mix`` (see the module conventions).

    Parameters
    ----------
    mix : Audio
        The mix, channels × frames.
    stems : mapping of str to Audio
        Part name → stem, each of the mix's rate, channels and length.

    Returns
    -------
    StemSum

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(44100) / 44100
    >>> a, b = np.sin(2 * np.pi * 220 * t), 0.5 * np.sin(2 * np.pi * 330 * t)
    >>> mix = Audio(np.stack([a - b, a - b]).astype(np.float32), 44100)
    >>> found = measure_stem_sum(mix, {"a": mix.with_samples(np.stack([a, a]).astype(np.float32)),
    ...                                "b": mix.with_samples(np.stack([b, b]).astype(np.float32))})
    >>> found.stems["b"].polarity, round(found.placed_residual_db) < -60
    (-1, True)
    """
    _check(mix, stems)
    names = sorted(stems)
    total = raw = 0.0
    for lo, hi in _blocks(mix.frames):
        left = mix.samples[:, lo:hi].astype(np.float64)
        total += float(np.sum(np.square(left)))
        for name in names:
            left -= stems[name].samples[:, lo:hi]
        raw += float(np.sum(np.square(left)))
    raw_db = _ratio_db(raw, total)
    if not names:
        return StemSum(raw_db, raw_db, {})
    delays = {name: stem_delay(stems[name], mix) for name in names}
    # the least-squares gains from the normal equations, accumulated a block at a time (a few
    # stems of a whole song in float64 at once would take gigabytes)
    count = len(names)
    gram, towards = np.zeros((count, count)), np.zeros(count)
    for lo, hi in _blocks(mix.frames):
        block = np.stack([_shifted_block(stems[name].samples, delays[name], lo, hi).ravel() for name in names])
        gram += block @ block.T
        towards += block @ mix.samples[:, lo:hi].astype(np.float64).ravel()
    ridge = 1e-9 * max(float(np.trace(gram)), 1e-30)
    gains = np.linalg.solve(gram + ridge * np.eye(count), towards)
    # a stem the mix barely correlates with, whose sound the rest of the mix still holds, is there as a
    # different render: it plays as given (unity, no delay) and the others are fitted around it
    rendered = [i for i, name in enumerate(names)
                if abs(towards[i]) < PRESENCE_GAIN * gram[i, i] and _held_elsewhere(mix, stems, names, gains, delays, i)]
    if rendered:
        delays.update({names[i]: 0 for i in rendered})
        fitted = [i for i in range(count) if i not in rendered]
        gains[rendered] = 1.0
        if fitted:
            target = towards[fitted] - gram[np.ix_(fitted, rendered)].sum(axis=1)
            gains[fitted] = np.linalg.solve(gram[np.ix_(fitted, fitted)] + ridge * np.eye(len(fitted)), target)
    placed = 0.0
    for lo, hi in _blocks(mix.frames):
        left = mix.samples[:, lo:hi].astype(np.float64)
        for name, gain in zip(names, gains):
            left -= gain * _shifted_block(stems[name].samples, delays[name], lo, hi)
        placed += float(np.sum(np.square(left)))
    placed_db = _ratio_db(placed, total)
    rate = mix.sample_rate
    places = {name: StemPlace(float(gain), delays[name], delays[name] / rate,
                              _ratio_db(float(gram[index, index]), total))
              for index, (name, gain) in enumerate(zip(names, gains))}
    return StemSum(raw_db, placed_db, places)


def stems_in_mix(stems: Mapping[str, Audio], found: StemSum) -> dict[str, Audio]:
    """Each stem as it sits in the mix: delayed and scaled (polarity included) as ``found`` measured.

    Stems the measure leaves as given come back unchanged (the same objects); when
    ``found.needs_placing`` is False every stem does.
    """
    if not found.needs_placing:
        return dict(stems)
    out = {}
    for name, stem in stems.items():
        place = found.stems.get(name)
        if place is None or place.as_given:
            out[name] = stem
            continue
        moved = shift(stem.samples, place.delay_frames) * np.float32(place.gain)
        out[name] = stem.with_samples(moved.astype(np.float32))
    return out
