"""Octave-band balance and stereo width: the measures a mix is judged by, part by part.

Conventions
-----------
* Audio is channels × frames. Band levels are energies (dB) of the long-term average spectrum
  of the mid signal (:func:`~trackwright.analysis.spectrum.average_spectrum`) in octave bands
  centred on :data:`OCTAVE_BANDS_HZ` (63 Hz–8 kHz, edges at centre / √2 and centre × √2);
  −inf for a band with no energy (or above 0.45 × the sample rate).
* Width is side over mid energy, dB (mid = (L + R) / 2, side = (L − R) / 2); −inf for a mono
  signal (or identical channels).
"""

from __future__ import annotations

import math

import numpy as np

from trackwright.analysis.spectrum import average_spectrum
from trackwright.audio import Audio

#: Octave band centres, Hz.
OCTAVE_BANDS_HZ = (63.0, 125.0, 250.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0)


def octave_levels_db(audio: Audio) -> np.ndarray:
    """Energy in each :data:`OCTAVE_BANDS_HZ` band of ``audio``'s long-term spectrum, dB, shape (8,).

    Examples
    --------
    >>> t = np.arange(44100 * 2) / 44100
    >>> tone = Audio(np.stack([np.sin(2 * np.pi * 1000 * t)] * 2).astype(np.float32), 44100)
    >>> int(np.argmax(octave_levels_db(tone)))
    4
    """
    freqs, power_db = average_spectrum(audio.samples, audio.sample_rate)
    power = 10.0 ** (power_db / 10.0)
    out = []
    for centre in OCTAVE_BANDS_HZ:
        inside = (freqs >= centre / math.sqrt(2.0)) & (freqs < centre * math.sqrt(2.0))
        inside &= freqs < 0.45 * audio.sample_rate
        energy = float(power[inside].sum()) if inside.any() else 0.0
        out.append(10.0 * math.log10(energy) if energy > 1e-25 else -math.inf)
    return np.array(out)


def side_mid_db(audio: Audio) -> float:
    """Side energy over mid energy of the first two channels, dB (−inf for mono or identical channels)."""
    if audio.channels < 2:
        return -math.inf
    left = audio.samples[0].astype(np.float64)
    right = audio.samples[1].astype(np.float64)
    mid = float(np.sum(np.square(left + right)))
    side = float(np.sum(np.square(left - right)))
    if side <= 0.0:
        return -math.inf
    return 10.0 * math.log10(side / max(mid, 1e-30))
