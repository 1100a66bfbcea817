"""Render an edit list: cut the source at downbeats and join the pieces without clicks.

Where two segments meet, the outgoing piece fades out and the incoming one fades in over a
short equal-power (sine/cosine) crossfade that *ends just before the downbeat attack* of both
sides: the listener hears the incoming bar's own attack, never two attacks on top of each
other, and the fade itself sits in the quiet tail of the previous beat. The attack is found on
a 1 ms energy envelope near each downbeat, so a beat grid that is off by a few milliseconds
does not put the fade across a drum hit. The fade is as long as the space before the attack
allows (3–25 ms).

The plan is computed once, on the mix, and applied sample-for-sample to every stem, so the
edited stems still add up to the edited mix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trackwright.arrange.edl import MAX_STRETCH_DEVIATION, EditList, check_within
from trackwright.audio import Audio
from trackwright.errors import ParameterError
from trackwright.parallel import thread_map

#: Longest and shortest crossfade at a splice, seconds.
MAX_FADE_S = 0.025
MIN_FADE_S = 0.003
#: Longest stretch (seconds of audio in) given Rubber Band's finer (R3) engine: it costs about
#: 0.09 s of CPU per second of stereo audio against 0.03 s for the faster (R2) engine, so a
#: tempo note on a 3-minute piece would take 16 s with it; past this the R2 engine (crisp
#: transients) keeps a note within 10 s.
FINE_STRETCH_MAX_S = 60.0
#: How far from a nominal downbeat its attack is looked for, seconds.
ATTACK_SEARCH_S = 0.035
#: Gap left between the end of a crossfade and the attack, seconds.
ATTACK_GUARD_S = 0.002
#: A rise of the 1 ms energy envelope counts as an attack above this many dB.
ATTACK_RISE_DB = 6.0
_ENVELOPE_HOP_S = 0.001


@dataclass(frozen=True)
class Piece:
    """One segment as rendered.

    ``src_start``/``src_end`` are source sample indices (after the attack adjustment),
    ``out_start``/``out_end`` output sample indices; ``fade_in``/``fade_out`` are the
    crossfade lengths in samples (the fade-in is taken from source *before* ``src_start`` and
    overlaps the previous piece's fade-out); ``rho_in``/``rho_out`` the correlation (0–1) of
    the two sides of each crossfade, which keeps the equal-power fade from swelling on alike
    material.
    """

    src_start: int
    src_end: int
    out_start: int
    out_end: int
    stretch: float
    fade_in: int
    fade_out: int
    rho_in: float = 0.0
    rho_out: float = 0.0


@dataclass(frozen=True)
class SplicePlan:
    """Where every piece comes from and goes, in samples at ``sample_rate``."""

    pieces: tuple[Piece, ...]
    sample_rate: int
    frames: int
    fade_in: int
    fade_out: int

    def pieces_s(self) -> list[dict[str, float]]:
        """Each piece as seconds: source start/end and output start/end."""
        sr = self.sample_rate
        return [{"source_start_s": p.src_start / sr, "source_end_s": p.src_end / sr,
                 "output_start_s": p.out_start / sr, "output_end_s": p.out_end / sr, "stretch": p.stretch}
                for p in self.pieces]

    def splice_times_s(self) -> list[float]:
        """Output times (seconds) of the joins between pieces, where the incoming attack lands."""
        return [p.out_start / self.sample_rate for p in self.pieces[1:]]


def _energy_envelope(audio: Audio, centre: int, half: int) -> tuple[np.ndarray, int, int]:
    """1 ms energy (dB) of the first difference around ``centre`` (±``half`` samples)."""
    hop = max(1, int(round(_ENVELOPE_HOP_S * audio.sample_rate)))
    lo = max(0, centre - half - hop)
    hi = min(audio.frames, centre + half + hop)
    if hi - lo < 3 * hop:
        return np.zeros(0), lo, hop
    x = np.diff(audio.samples[:, lo:hi], axis=1)
    power = np.sum(x * x, axis=0)
    n = len(power) // hop
    frames = power[: n * hop].reshape(n, hop).mean(axis=1)
    return 10.0 * np.log10(frames + 1e-12), lo, hop


def find_attack(audio: Audio, time_s: float, *, search_s: float = ATTACK_SEARCH_S) -> float:
    """Time (seconds) of the attack nearest ``time_s``: of the energy rises within ±``search_s``
    at least half as steep as the steepest, the nearest.

    Returns ``time_s`` itself when nothing rises by ``ATTACK_RISE_DB`` there (a legato downbeat).
    """
    found = attack_near(audio, time_s, search_s=search_s)
    return time_s if found is None else found


def attack_near(audio: Audio, time_s: float, *, search_s: float = ATTACK_SEARCH_S) -> float | None:
    """Like :func:`find_attack`, but None when there is no clear attack near ``time_s``."""
    sr = audio.sample_rate
    centre = int(round(time_s * sr))
    env, lo, hop = _energy_envelope(audio, centre, int(round(search_s * sr)))
    if len(env) < 4:
        return None
    rise = env[2:] - env[:-2]
    strongest = float(rise.max())
    if strongest < ATTACK_RISE_DB:
        return None
    # of the strong rises (at least half the steepest), the one nearest the expected time: a
    # soft downbeat's own onset rather than a steeper note 20 ms into the bar
    strong = np.flatnonzero(rise >= max(ATTACK_RISE_DB, 0.5 * strongest))
    times = lo + (strong + 1) * hop
    return float(times[int(np.argmin(np.abs(times - centre)))]) / sr


def _quiet_run_before(audio: Audio, end: int, longest: int) -> int:
    """Samples before ``end`` (up to ``longest``) free of any attack, for a crossfade to sit in."""
    sr = audio.sample_rate
    env, lo, hop = _energy_envelope(audio, end - longest // 2, longest // 2 + _two_hops(sr))
    if len(env) < 4:
        return longest
    rise = env[2:] - env[:-2]
    hits = np.flatnonzero(rise >= ATTACK_RISE_DB)
    positions = lo + (hits + 2) * hop
    positions = positions[positions < end]
    if not len(positions):
        return longest
    return int(np.clip(end - positions.max(), 0, longest))


def _two_hops(sample_rate: int) -> int:
    """Two envelope hops in samples."""
    return 2 * max(1, int(round(_ENVELOPE_HOP_S * sample_rate)))


def plan_splices(reference: Audio, edits: EditList) -> SplicePlan:
    """Place every join of ``edits`` on ``reference`` (usually the mix); see the module docstring."""
    check_within(edits, reference.duration_s + 1e-3)
    edits = edits.merged()
    sr = reference.sample_rate
    segs = edits.segments
    # Shift of each join, seconds: the join moves to just before the earlier of the two attacks.
    shift = [0.0] * (len(segs) + 1)
    fades = [0] * (len(segs) + 1)
    rhos = [0.0] * (len(segs) + 1)
    max_fade = int(round(MAX_FADE_S * sr))
    min_fade = int(round(MIN_FADE_S * sr))
    for k in range(1, len(segs)):
        out_t, in_t = segs[k - 1].end_s, segs[k].start_s
        delta = min(find_attack(reference, out_t) - out_t, find_attack(reference, in_t) - in_t)
        delta = float(np.clip(delta, -ATTACK_SEARCH_S, ATTACK_SEARCH_S)) - ATTACK_GUARD_S
        delta = max(delta, -segs[k].start_s)
        shift[k] = delta
        out_end = int(round((out_t + delta) * sr))
        in_start = int(round((in_t + delta) * sr))
        room = min(_quiet_run_before(reference, out_end, max_fade),
                   _quiet_run_before(reference, in_start, max_fade), in_start)
        fades[k] = int(max(min_fade, min(room, max_fade)))
        rhos[k] = _correlation(reference, out_end - fades[k], in_start - fades[k], fades[k])
    # Output positions come from the nominal segment lengths, so joins never change the total
    # length or move a downbeat: a join shifted by d seconds of source moves by d × stretch.
    nominal = np.concatenate([[0.0], np.cumsum([seg.duration_s for seg in segs])])
    outs = [int(round((nominal[k] + shift[k] * (segs[k].stretch if k < len(segs) else 1.0)) * sr))
            for k in range(len(segs) + 1)]
    outs[0], outs[-1] = 0, int(round(nominal[-1] * sr))
    pieces: list[Piece] = []
    for k, seg in enumerate(segs):
        src_start = int(round((seg.start_s + shift[k]) * sr))
        src_end = min(max(int(round((seg.end_s + shift[k + 1]) * sr)), src_start + 1), reference.frames)
        pieces.append(Piece(src_start, src_end, outs[k], max(outs[k + 1], outs[k]), seg.stretch,
                            fades[k], fades[k + 1], rhos[k], rhos[k + 1]))
    frames = pieces[-1].out_end if edits.duration_s is None else int(round(edits.duration_s * sr))
    return SplicePlan(tuple(pieces), sr, frames, int(round(edits.fade_in_s * sr)),
                      int(round(edits.fade_out_s * sr)))


def _stretch(chunk: np.ndarray, sample_rate: int, frames: int) -> np.ndarray:
    """Time-stretch ``chunk`` (channels × n) to exactly ``frames`` with Rubber Band (pedalboard)."""
    from pedalboard import time_stretch

    factor = chunk.shape[1] / frames  # > 1 speeds up
    # Rubber Band's faster (R2) engine: at the ≤ 3 % ratios a fit uses it is as clean as the
    # finer one and three times quicker; a larger change (a tempo note) gets the finer (R3) engine
    # on up to FINE_STRETCH_MAX_S of audio (longer ones would take a note past 10 s)
    fine = abs(factor - 1.0) > MAX_STRETCH_DEVIATION + 1e-6 and chunk.shape[1] <= FINE_STRETCH_MAX_S * sample_rate
    out = time_stretch(np.ascontiguousarray(chunk, dtype=np.float32), float(sample_rate), stretch_factor=factor,
                       high_quality=fine, transient_mode="crisp")
    if out.shape[1] >= frames:
        return out[:, :frames]
    return np.pad(out, ((0, 0), (0, frames - out.shape[1])))


def _correlation(audio: Audio, a: int, b: int, n: int) -> float:
    """Correlation (clipped to 0–1) of ``n`` samples of ``audio`` from ``a`` and from ``b``."""
    x = take_frames(audio.samples, a, a + n).astype(np.float64).ravel()
    y = take_frames(audio.samples, b, b + n).astype(np.float64).ravel()
    denominator = np.sqrt(np.dot(x, x) * np.dot(y, y))
    return float(np.clip(np.dot(x, y) / denominator, 0.0, 1.0)) if denominator > 1e-20 else 0.0


def fade_curve(n: int, rising: bool, rho: float = 0.0) -> np.ndarray:
    """Equal-power (quarter sine) fade of ``n`` samples, normalised for sides correlated by ``rho``.

    With gains sin and cos, two signals of correlation rho sum to a power of
    1 + 2·rho·sin·cos; dividing both gains by its square root keeps the level constant for
    any rho (rho = 0 is the plain equal-power fade, rho = 1 becomes an equal-gain fade).
    """
    phase = (np.arange(n, dtype=np.float64) + 0.5) / n * (np.pi / 2)
    curve = np.sin(phase) if rising else np.cos(phase)
    curve /= np.sqrt(1.0 + 2.0 * rho * np.sin(phase) * np.cos(phase))
    return curve.astype(np.float32)


def take_frames(samples: np.ndarray, start: int, stop: int) -> np.ndarray:
    """samples[:, start:stop] with zeros where the range falls outside the signal."""
    frames = samples.shape[1]
    out = np.zeros((samples.shape[0], stop - start), dtype=np.float32)
    lo, hi = max(start, 0), min(stop, frames)
    if hi > lo:
        out[:, lo - start: hi - start] = samples[:, lo:hi]
    return out


def _render_piece(audio: Audio, piece: Piece) -> np.ndarray | None:
    """The piece's samples with its crossfades applied, from ``fade_in`` samples before its output start."""
    n_out = piece.out_end - piece.out_start
    if n_out <= 0:
        return None
    pre = piece.fade_in
    if piece.stretch == 1.0:
        chunk = take_frames(audio.samples, piece.src_start - pre, piece.src_start + n_out)
    else:
        src_pre = int(round(pre / piece.stretch))
        raw = take_frames(audio.samples, piece.src_start - src_pre, piece.src_end)
        chunk = _stretch(raw, audio.sample_rate, n_out + pre)
    if pre:
        chunk[:, :pre] *= fade_curve(pre, rising=True, rho=piece.rho_in)
    if piece.fade_out:
        tail = min(piece.fade_out, n_out)
        chunk[:, chunk.shape[1] - tail:] *= fade_curve(tail, rising=False, rho=piece.rho_out)
    return chunk


def apply_plan(audio: Audio, plan: SplicePlan) -> Audio:
    """Render ``audio`` (the mix or any stem of the same length and rate) through ``plan``.

    Returns channels × ``plan.frames`` float32 at the plan's rate.
    """
    if audio.sample_rate != plan.sample_rate:
        raise ParameterError(
            f"a part at {audio.sample_rate} Hz cannot follow an edit planned at {plan.sample_rate} Hz"
        )
    out = np.zeros((audio.channels, plan.frames), dtype=np.float32)
    # pieces render independently (stretching is the slow part: one per core), then overlap-add
    chunks = thread_map(lambda piece: _render_piece(audio, piece), plan.pieces)
    for piece, chunk in zip(plan.pieces, chunks):
        if chunk is None:
            continue
        lo = piece.out_start - piece.fade_in
        a, b = max(lo, 0), min(piece.out_end, plan.frames)
        if b > a:
            out[:, a:b] += chunk[:, a - lo: b - lo]
    apply_edge_fades(out, plan.fade_in, plan.fade_out)
    return Audio(out, audio.sample_rate)


def apply_edge_fades(samples: np.ndarray, fade_in: int, fade_out: int) -> None:
    """Fade the start in and the end out in place (raised-cosine gain, no click at either end)."""
    frames = samples.shape[1]
    if fade_in:
        n = min(fade_in, frames)
        samples[:, :n] *= (0.5 - 0.5 * np.cos(np.linspace(0, np.pi, n, dtype=np.float64))).astype(np.float32)
    if fade_out:
        n = min(fade_out, frames)
        samples[:, frames - n:] *= (0.5 + 0.5 * np.cos(np.linspace(0, np.pi, n, dtype=np.float64))).astype(np.float32)


def render_edits(audio: Audio, edits: EditList) -> Audio:
    """Plan the joins on ``audio`` and render it: the one-part case of :func:`plan_splices` + :func:`apply_plan`."""
    return apply_plan(audio, plan_splices(audio, edits))
