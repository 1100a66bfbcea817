"""Shared time–frequency features for analysis, computed once per track.

Everything works on the mono mix resampled to 22.05 kHz:

* ``onset`` — spectral-flux onset strength (log-magnitude mel bands, positive differences),
  ``low_onset`` — the same for 30–150 Hz (kick drums and bass attacks), and ``pitch_onset`` —
  the same over the 12 pitch classes (150 Hz–2 kHz): new notes even without an attack;
  ``pitch_novelty`` — how much pitch-class energy the next ~140 ms hold that the previous
  ~140 ms did not: chord changes in legato voices (a choir, an organ) whose slow attacks and
  vibrato leave frame-to-frame flux without a pulse;
* ``chroma`` — pitch-class magnitude (12 × n, every 100 ms) from a ~370 ms STFT mapped to
  semitones between 80 Hz and 5 kHz; ``bass_chroma`` — the same for 38–160 Hz from a 0.93 s
  window on the signal decimated to 4.41 kHz (≈1 Hz resolution, enough for bass semitones);
  ``chord_chroma`` — the same ~370 ms STFT weighted towards the register where accompaniments
  voice their chords: full weight 80–400 Hz, then −12 dB an octave, so a loud tune over quiet
  chords no longer reads as the tune's harmony;
* ``rms_db`` — frame level, dBFS; ``bands_db`` — 40 log-spaced band levels (30 Hz–8 kHz, dB),
  a timbre description at the onset frame rate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft
import soxr

from trackwright.analysis.spectrum import periodic_hann
from trackwright.audio import Audio

ANALYSIS_RATE = 22050
ONSET_HOP = 512
CHROMA_FFT = 8192
CHROMA_HOP = 2205  # 100 ms
BASS_RATE = 4410
BASS_FFT = 4096
#: Low edge and knee of ``chord_chroma``'s register, Hz.
CHORD_CHROMA_HZ = (80.0, 400.0)
#: How fast ``chord_chroma`` falls above its knee: weight (knee / f)², −12 dB an octave.
CHORD_CHROMA_SLOPE = 2.0
#: The 40 timbre bands of ``bands_db``: log-spaced between these limits, Hz.
BANDS_HZ = (30.0, 8000.0)
BAND_COUNT = 40
#: Centre frequency of each ``bands_db`` band, Hz.
BAND_CENTRES_HZ = np.geomspace(*BANDS_HZ, BAND_COUNT + 2)[1:-1]


@dataclass(frozen=True)
class Features:
    """Features of one track (see the module docstring). Frame ``i`` of a series is at
    ``i * hop / rate`` seconds (onset series use ``onset_hop``, chroma series ``chroma_hop``)."""

    rate: int
    duration_s: float
    onset_hop: int
    onset: np.ndarray
    low_onset: np.ndarray
    pitch_onset: np.ndarray
    pitch_novelty: np.ndarray
    rms_db: np.ndarray
    bands_db: np.ndarray
    chroma_hop: int
    chroma: np.ndarray
    bass_chroma: np.ndarray
    chord_chroma: np.ndarray

    @property
    def onset_rate(self) -> float:
        """Onset frames per second."""
        return self.rate / self.onset_hop

    def onset_times(self) -> np.ndarray:
        """Times of the onset frames, seconds."""
        return np.arange(len(self.onset)) * self.onset_hop / self.rate

    def chroma_times(self) -> np.ndarray:
        """Centre times of the chroma frames, seconds."""
        return np.arange(self.chroma.shape[1]) * self.chroma_hop / self.rate


def mean_between(series: np.ndarray, frame_times_s: np.ndarray, edges_s: np.ndarray,
                 fill: float = 0.0) -> np.ndarray:
    """Mean of a frame series (dims × frames, or frames) between consecutive edges (seconds).

    Span ``i`` covers the frames from ``edges_s[i]`` up to ``edges_s[i + 1]`` (at least one
    frame); a span starting after the last frame gets ``fill``. Shape (dims × spans) or (spans,).
    """
    table = np.atleast_2d(series)
    starts = np.searchsorted(frame_times_s, edges_s)
    out = np.full((table.shape[0], len(edges_s) - 1), fill, dtype=np.float32)
    for i in range(len(edges_s) - 1):
        lo, hi = starts[i], max(starts[i + 1], starts[i] + 1)
        if lo < table.shape[1]:
            out[:, i] = table[:, lo:hi].mean(axis=1)
    return out if series.ndim > 1 else out[0]


def mono_at(audio: Audio, rate: int = ANALYSIS_RATE) -> np.ndarray:
    """Mono mix (channel mean) resampled to ``rate`` Hz, float32 (frames,)."""
    mono = audio.samples.mean(axis=0, dtype=np.float32)
    if audio.sample_rate != rate:
        mono = soxr.resample(mono, audio.sample_rate, rate, quality="HQ")
    return np.ascontiguousarray(mono, dtype=np.float32)


_FRAME_BLOCK = 1024


def _stft_project(signal: np.ndarray, n_fft: int, hop: int, matrix: np.ndarray, *, power: bool) -> np.ndarray:
    """``matrix @ |STFT|`` (or ``@ |STFT|²``), shape (rows, frames), computed block by block.

    Hann window, frames centred at ``i * hop``, magnitudes scaled so a full-scale sinusoid
    peaks near 1.0. Only ``_FRAME_BLOCK`` frames of spectrum exist at a time, so memory stays
    flat however long the track is.
    """
    padded = np.pad(signal, (n_fft // 2, n_fft // 2))
    count = 1 + (len(padded) - n_fft) // hop
    frames = np.lib.stride_tricks.as_strided(padded, shape=(count, n_fft),
                                             strides=(padded.strides[0] * hop, padded.strides[0]))
    window = periodic_hann(n_fft)
    out = np.empty((matrix.shape[0], count), dtype=np.float32)
    scale = np.float32(4.0 / n_fft)
    for start in range(0, count, _FRAME_BLOCK):
        block = scipy.fft.rfft(frames[start: start + _FRAME_BLOCK] * window, axis=1, workers=-1)
        magnitude = np.abs(block) * scale
        if power:
            np.square(magnitude, out=magnitude)
        out[:, start: start + len(magnitude)] = (magnitude @ matrix.T).T
    return out


def _mel_like_bands(freqs: np.ndarray, lo_hz: float, hi_hz: float, bands: int) -> np.ndarray:
    """Triangular filters (bands × bins), log-spaced between ``lo_hz`` and ``hi_hz``."""
    edges = np.geomspace(lo_hz, hi_hz, bands + 2)
    bank = np.zeros((bands, len(freqs)), dtype=np.float32)
    for b in range(bands):
        lo, mid, hi = edges[b: b + 3]
        rising = (freqs - lo) / (mid - lo)
        falling = (hi - freqs) / (hi - mid)
        bank[b] = np.clip(np.minimum(rising, falling), 0, None)
    return bank


def _flux(bands: np.ndarray) -> np.ndarray:
    """Half-wave rectified difference of log band energies, summed over bands (frames,)."""
    log = np.log1p(1000.0 * bands)
    flux = np.maximum(np.diff(log, axis=1, prepend=log[:, :1]), 0.0).sum(axis=0)
    return flux.astype(np.float32)


#: Half-width of the windows :func:`_windowed_novelty` compares, onset frames (6 ≈ 140 ms).
NOVELTY_FRAMES = 6


def _windowed_novelty(bands: np.ndarray, frames: int = NOVELTY_FRAMES) -> np.ndarray:
    """Half-wave rectified rise of the mean log band energy over the next ``frames`` frames
    against the previous ``frames``, summed over bands (frames,). Averaging over windows keeps
    vibrato and slow attacks from hiding a change of notes."""
    log = np.log1p(1000.0 * bands)
    total = np.cumsum(np.pad(log, ((0, 0), (1, 0))), axis=1)
    n = log.shape[1]
    t = np.arange(n)
    start, end = np.clip(t - frames, 0, n), np.clip(t + frames, 0, n)
    before = (total[:, t] - total[:, start]) / np.maximum(t - start, 1)
    after = (total[:, end] - total[:, t]) / np.maximum(end - t, 1)
    return np.maximum(after - before, 0.0).sum(axis=0).astype(np.float32)


def _chroma_map(freqs: np.ndarray, lo_hz: float, hi_hz: float) -> np.ndarray:
    """12 × bins matrix: each bin's energy to its nearest pitch class, tapered by cents off-centre."""
    mapping = np.zeros((12, len(freqs)), dtype=np.float32)
    valid = (freqs >= lo_hz) & (freqs <= hi_hz)
    midi = 69.0 + 12.0 * np.log2(np.where(valid, freqs, 1.0) / 440.0)
    nearest = np.round(midi)
    weight = np.clip(1.0 - 2.0 * np.abs(midi - nearest), 0.0, 1.0) * valid
    mapping[(nearest.astype(int) % 12)[valid], np.flatnonzero(valid)] = weight[valid]
    return mapping


def _chord_weighting(freqs: np.ndarray) -> np.ndarray:
    """The chroma map of :data:`CHORD_CHROMA_HZ`'s register: full weight from its low edge to its
    knee, then falling as (knee / f)^:data:`CHORD_CHROMA_SLOPE` up to 5 kHz."""
    lo, knee = CHORD_CHROMA_HZ
    weight = np.where(freqs <= knee, 1.0, (knee / np.maximum(freqs, 1e-9)) ** CHORD_CHROMA_SLOPE)
    return (_chroma_map(freqs, lo, 5000.0) * weight[np.newaxis, :]).astype(np.float32)


def compute_features(audio: Audio) -> Features:
    """Compute :class:`Features` for ``audio`` (any rate and channel count)."""
    mono = mono_at(audio)
    rate = ANALYSIS_RATE
    freqs = np.fft.rfftfreq(2048, 1.0 / rate)
    band_bank = _mel_like_bands(freqs, *BANDS_HZ, BAND_COUNT)
    low_bank = _mel_like_bands(freqs, 30.0, 150.0, 4)
    pitch_bank = _chroma_map(freqs, 150.0, 2000.0)
    projected = _stft_project(mono, 2048, ONSET_HOP, np.vstack((band_bank, low_bank, np.ones((1, len(freqs)),
                                                                                          np.float32), pitch_bank)),
                              power=True)
    n = BAND_COUNT
    bands, low_bands, total, pitch = projected[:n], projected[n:n + 4], projected[n + 4], projected[n + 5:n + 17]
    onset = _flux(bands)
    pitch = pitch / max(float(pitch.max()), 1e-12)
    pitch_onset, pitch_novelty = _flux(pitch), _windowed_novelty(pitch)
    low_onset = _flux(low_bands)
    rms_db = 10.0 * np.log10(np.maximum(total / (8.0 * 0.375), 1e-12))
    long_freqs = np.fft.rfftfreq(CHROMA_FFT, 1.0 / rate)
    both = _stft_project(mono, CHROMA_FFT, CHROMA_HOP, np.vstack((_chroma_map(long_freqs, 80.0, 5000.0),
                                                                  _chord_weighting(long_freqs))), power=False)
    chroma, chord_chroma = both[:12], both[12:]
    # the bass register needs ~1 Hz resolution: a 0.93 s window on the signal decimated to 4.41 kHz
    low = soxr.resample(mono, rate, BASS_RATE, quality="HQ")
    bass_hop = CHROMA_HOP * BASS_RATE // rate
    bass = _stft_project(low, BASS_FFT, bass_hop, _chroma_map(np.fft.rfftfreq(BASS_FFT, 1.0 / BASS_RATE), 38.0, 160.0),
                         power=False)
    frames = min(chroma.shape[1], bass.shape[1])
    chroma, bass, chord_chroma = chroma[:, :frames], bass[:, :frames], chord_chroma[:, :frames]
    return Features(rate=rate, duration_s=audio.duration_s, onset_hop=ONSET_HOP, onset=onset, low_onset=low_onset,
                    pitch_onset=pitch_onset, pitch_novelty=pitch_novelty,
                    bands_db=(10.0 * np.log10(np.maximum(bands, 1e-10))).astype(np.float32),
                    rms_db=rms_db.astype(np.float32), chroma_hop=CHROMA_HOP, chroma=chroma, bass_chroma=bass,
                    chord_chroma=chord_chroma)
