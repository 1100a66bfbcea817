"""Level-matching a rebuilt part to the audio it replaces: its band balance, then its loudness.

Conventions
-----------
* Audio is channels × frames; levels in dB and LUFS, frequencies in Hz.
* Band balance is compared in octave bands :data:`BANDS_HZ` (63 Hz–8 kHz) of the long-term
  average spectrum (mid signal, :func:`~trackwright.analysis.bands.octave_levels_db`), after removing the overall level difference: each band's
  difference is corrected with a peaking EQ an octave wide, at most :data:`MAX_BAND_DB` either way,
  and never in a band where either part has nothing to speak of (:data:`EMPTY_BAND_DB` under its
  loudest band), so noise is not lifted nor an empty band chased.
* Loudness is then matched (BS.1770 integrated). A rebuilt part often has sharper peaks than the
  (compressed, distorted) stem it replaces, so at the same loudness it may peak over the ceiling:
  ``ceiling_dbtp``, or the true peak of what it replaces when that is higher (a level-matched part
  may peak as high as the part it replaces did, never above 0 dBTP). Given a ``limiter``, its peaks
  are then limited, by at most :data:`MAX_LIMITING_DB`, at the matched loudness; what is still over
  the ceiling is taken by turning the whole part down (reported as ``held_db``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pedalboard

from trackwright.analysis.loudness import integrated_loudness, true_peak_dbtp
from trackwright.analysis.bands import OCTAVE_BANDS_HZ, octave_levels_db
from trackwright.audio import Audio
from trackwright.errors import MeasurementError

#: Octave bands compared and corrected, centre frequencies in Hz.
BANDS_HZ = OCTAVE_BANDS_HZ
#: Largest correction in one band, dB.
MAX_BAND_DB = 6.0
#: A band this far under the part's own loudest band holds nothing to match, dB.
EMPTY_BAND_DB = 40.0
#: Quality factor of each band's peaking EQ (about one octave wide).
BAND_Q = 1.41
#: True-peak ceiling a matched part stays under, dBTP (unless what it replaces peaked higher).
DEFAULT_CEILING_DBTP = -1.0
#: No matched part peaks above this, whatever it replaces, dBTP.
HARD_CEILING_DBTP = 0.0
#: Most a matched part's peaks are limited to reach the level of what it replaces under the ceiling, dB.
MAX_LIMITING_DB = 6.0
#: A true-peak limiter: (part, ceiling dBTP, gain dB applied first) → the part with its true peaks at
#: or under the ceiling (the produce floor cannot import the mix floor's limiter: the project passes it).
PeakLimiter = Callable[[Audio, float, float], Audio]


@dataclass(frozen=True)
class LevelMatch:
    """What :func:`match_level` did.

    Attributes:
        gain_db: the gain applied after the EQ, dB.
        bands_db: band centre (Hz) → EQ gain applied there, dB (only the bands corrected).
        loudness_lufs: the part's loudness afterwards; reference_lufs: the loudness it was matched to.
        held_db: how far under the matched level the ceiling held it, dB (0 when it did not).
        limited_db: how far its peaks were limited to stay at the matched level, dB (0: not).
        notes: one line each.
    """

    gain_db: float
    bands_db: dict[float, float]
    loudness_lufs: float
    reference_lufs: float
    held_db: float = 0.0
    limited_db: float = 0.0
    notes: list[str] = field(default_factory=list)


def _band_corrections(part: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """EQ gain per band (dB) that moves ``part``'s band balance to ``reference``'s, capped."""
    usable = (np.isfinite(part) & np.isfinite(reference)
              & (part > np.max(part) - EMPTY_BAND_DB) & (reference > np.max(reference) - EMPTY_BAND_DB))
    gains = np.zeros(len(BANDS_HZ))
    if usable.sum() < 2:
        return gains
    diff = reference[usable] - part[usable]
    # the level difference is the loudness stage's: only the shape is corrected here
    weights = 10.0 ** (reference[usable] / 10.0)
    diff -= float(np.sum(diff * weights) / np.sum(weights))
    gains[usable] = np.clip(diff, -MAX_BAND_DB, MAX_BAND_DB)
    return gains


def _equalise(audio: Audio, gains_db: np.ndarray) -> Audio:
    plugins = [pedalboard.PeakFilter(cutoff_frequency_hz=float(centre), gain_db=float(gain), q=BAND_Q)
               for centre, gain in zip(BANDS_HZ, gains_db) if abs(gain) >= 0.1 and centre < 0.45 * audio.sample_rate]
    if not plugins:
        return audio
    board = pedalboard.Pedalboard(plugins)
    return audio.with_samples(board(np.ascontiguousarray(audio.samples, dtype=np.float32), audio.sample_rate))


def _loudness(audio: Audio) -> float:
    try:
        return float(integrated_loudness(audio))
    except MeasurementError:
        return -math.inf


def match_level(part: Audio, reference: Audio, *, ceiling_dbtp: float = DEFAULT_CEILING_DBTP,
                balance: bool = True, limiter: PeakLimiter | None = None) -> tuple[Audio, LevelMatch | None]:
    """``part`` at ``reference``'s band balance (with ``balance``) and loudness, under ``ceiling_dbtp``.

    Parameters
    ----------
    part : Audio
        The rebuilt part, channels × frames.
    reference : Audio
        What it replaces (same rate), channels × frames.
    ceiling_dbtp : float
        The matched part's true peak stays at or under this, dBTP — or under the reference's own
        true peak when that is higher (at most :data:`HARD_CEILING_DBTP`).
    balance : bool
        Also match the octave-band balance (EQ); False matches loudness only.
    limiter : PeakLimiter, optional
        Limits the matched part's peaks (by at most :data:`MAX_LIMITING_DB`) where they would
        cross the ceiling; without one the part is only turned down.

    Returns
    -------
    (Audio, LevelMatch or None)
        The matched part and what was done; the part unchanged and None when either is too quiet
        to measure (under the −70 LUFS gate).

    Examples
    --------
    >>> t = np.arange(44100 * 3) / 44100
    >>> quiet = Audio(np.stack([0.01 * np.sin(2 * np.pi * 440 * t)] * 2).astype(np.float32), 44100)
    >>> loud = quiet.with_samples(quiet.samples * 20)
    >>> matched, done = match_level(quiet, loud)
    >>> round(done.gain_db)
    26
    """
    reference_lufs = _loudness(reference)
    if not math.isfinite(reference_lufs) or not math.isfinite(_loudness(part)):
        return part, None
    bands: dict[float, float] = {}
    shaped = part
    if balance:
        gains = _band_corrections(octave_levels_db(part), octave_levels_db(reference))
        shaped = _equalise(part, gains)
        bands = {centre: round(float(g), 2) for centre, g in zip(BANDS_HZ, gains) if abs(g) >= 0.1}
    gain_db = reference_lufs - _loudness(shaped)
    ceiling = min(HARD_CEILING_DBTP, max(ceiling_dbtp, true_peak_dbtp(reference)))
    out, gain_db, limited = _limited_to_level(shaped, gain_db, ceiling, reference_lufs, limiter)
    out, held = hold_under_ceiling(out, ceiling_dbtp=ceiling)
    notes = [f"peaks limited by {limited:.1f} dB to sit at the level it replaces under {ceiling:.1f} dBTP"] \
        if limited >= 0.05 else []
    if held >= 0.05:
        notes.append(f"held {held:.1f} dB under the level it replaces, to keep its peaks under {ceiling:.1f} dBTP "
                     "(the peaks of what it replaces, or the ceiling)")
    return out, LevelMatch(round(gain_db - held, 2), bands, round(reference_lufs - held, 2), round(reference_lufs, 2),
                           round(held, 2), round(limited, 2), notes)


def _limited_to_level(shaped: Audio, gain_db: float, ceiling_dbtp: float, reference_lufs: float,
                      limiter: PeakLimiter | None) -> tuple[Audio, float, float]:
    """``shaped`` with ``gain_db``, its peaks limited (by at most :data:`MAX_LIMITING_DB`) where they
    would cross ``ceiling_dbtp``, the gain then trimmed so it is at ``reference_lufs`` again;
    (audio, gain dB, peak reduction dB)."""
    base_peak = true_peak_dbtp(shaped)
    if limiter is None or not math.isfinite(base_peak) or base_peak + gain_db <= ceiling_dbtp:
        return shaped.with_samples((shaped.samples * np.float32(10.0 ** (gain_db / 20.0))).astype(np.float32)), \
            gain_db, 0.0
    for attempt in range(3):   # limiting takes a little loudness away: the gain is trimmed and it is limited again
        limit_to = max(ceiling_dbtp, base_peak + gain_db - MAX_LIMITING_DB)
        out = limiter(shaped, limit_to, gain_db)
        short = reference_lufs - _loudness(out)
        if attempt == 2 or not math.isfinite(short) or abs(short) < 0.1:
            break
        gain_db += short
    return out, gain_db, base_peak + gain_db - limit_to


def hold_under_ceiling(part: Audio, *, ceiling_dbtp: float = DEFAULT_CEILING_DBTP) -> tuple[Audio, float]:
    """``part`` turned down just enough that its true peak is at or under ``ceiling_dbtp``; (audio, dB taken)."""
    peak = true_peak_dbtp(part)
    if not math.isfinite(peak) or peak <= ceiling_dbtp:
        return part, 0.0
    taken = peak - ceiling_dbtp
    return part.with_samples((part.samples * np.float32(10.0 ** (-taken / 20.0))).astype(np.float32)), taken
