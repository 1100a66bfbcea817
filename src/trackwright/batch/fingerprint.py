"""A compact audio fingerprint for near-duplicate detection, robust to the ways copies differ.

Conventions
-----------
* **Chroma sequence** (the verification data): the mono mix resampled to 8 kHz, a 4096-point
  (512 ms) Hann STFT every 250 ms (:data:`FRAME_RATE_HZ` = 4 frames per second), the power of
  the bins between 80 Hz and 2 kHz summed per pitch class (12 × frames), compressed by a fourth
  root and scaled to unit length per frame. Frames more than :data:`SILENCE_DB` under the
  loudest are silent (all zero). Stored as ``uint8`` (0–255 for 0–1): 12 bytes per 250 ms,
  about 8.6 kB for a 3-minute song (the embeddings add about 19 kB).
* **Window embeddings** (what the index hashes): for every 16 s window (64 frames) every 4 s,
  the magnitude of the chroma patch's 2-D Fourier transform (after Bertin-Mahieux and Ellis,
  "Large-scale cover song recognition using the 2D Fourier transform magnitude", ISMIR 2012):
  the pitch axis's magnitude does not change when the music is transposed (a circular shift of
  the pitch classes), and the time axis's barely changes when the window slides a little. Pitch
  bins 0–6 (the rest mirror them) × time bins 0–32 (harmonic rhythm up to 2 Hz), without the DC
  term, log-compressed: :data:`EMBEDDING_DIMS` numbers per window, ``float16``.
* What the fingerprint ignores by construction: gain (unit-length frames), sample rate and
  codec (a 2 kHz band and a 250 ms grid, far from codec artefacts), transposition (pitch
  classes rotate; the embedding is rotation-invariant, the verification tries ±2 semitones),
  trimming and offsets (windows every 4 s; the verification aligns the sequences at any lag).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soxr

from trackwright.audio import Audio, write_atomic
from trackwright.errors import AudioFileError

#: Fingerprint format; part of the fingerprint step's key.
FINGERPRINT_VERSION = 1
ANALYSIS_RATE_HZ = 8000
FFT_SIZE = 4096
HOP = 2000
FRAME_RATE_HZ = ANALYSIS_RATE_HZ / HOP
LOW_HZ, HIGH_HZ = 80.0, 2000.0
SILENCE_DB = 40.0
WINDOW_FRAMES = 64
WINDOW_HOP_FRAMES = 16
PITCH_BINS, TIME_BINS = 7, 33
EMBEDDING_DIMS = PITCH_BINS * TIME_BINS - 1
#: A window with more silent frames than this share gets no embedding.
MAX_SILENT_SHARE = 0.5
#: Audible music a track needs to be compared at all, seconds: a shorter clip (one chord, a
#: sting) would "match" every song that contains the same few notes.
MIN_AUDIBLE_S = 8.0


def _pitch_class_matrix() -> np.ndarray:
    """Bins → pitch classes, weighted by a raised-cosine taper over the band's lowest and highest
    octaves (in log frequency), so a note transposed across an edge fades rather than jumps."""
    freqs = np.fft.rfftfreq(FFT_SIZE, 1.0 / ANALYSIS_RATE_HZ)
    band = np.flatnonzero((freqs >= LOW_HZ) & (freqs <= HIGH_HZ))
    octaves = np.log2(freqs[band] / LOW_HZ)
    span = np.log2(HIGH_HZ / LOW_HZ)
    edge = np.clip(np.minimum(octaves, span - octaves), 0.0, 1.0)
    classes = np.round(69 + 12 * np.log2(freqs[band] / 440.0)).astype(int) % 12
    matrix = np.zeros((12, freqs.size), dtype=np.float32)
    matrix[classes, band] = 0.5 - 0.5 * np.cos(np.pi * edge)
    return matrix


_PITCH_CLASSES = _pitch_class_matrix()
_WINDOW = np.hanning(FFT_SIZE).astype(np.float32)
#: A Hann taper over each 16 s window: what enters or leaves at its edges changes its spectrum little.
_TAPER = np.hanning(WINDOW_FRAMES + 2)[1:-1].astype(np.float32)


@dataclass(frozen=True)
class Fingerprint:
    """A track's fingerprint.

    Parameters
    ----------
    chroma : np.ndarray, uint8, shape (12, frames)
        Unit-length pitch-class frames at :data:`FRAME_RATE_HZ`, scaled to 0–255; silent frames are 0.
    embeddings : np.ndarray, float16, shape (windows, EMBEDDING_DIMS)
        One 2-D Fourier magnitude embedding per non-silent 16 s window.
    """

    chroma: np.ndarray
    embeddings: np.ndarray

    @property
    def duration_s(self) -> float:
        """Length covered, seconds."""
        return self.chroma.shape[1] / FRAME_RATE_HZ

    def frames(self) -> np.ndarray:
        """The chroma as float32 unit-length frames (12 × frames)."""
        return self.chroma.astype(np.float32) / 255.0

    def save(self, path: str | Path) -> Path:
        """Write to an ``.npz`` file, atomically."""
        buffer = io.BytesIO()
        np.savez(buffer, chroma=self.chroma, embeddings=self.embeddings, version=np.int32(FINGERPRINT_VERSION))
        data = buffer.getvalue()
        return write_atomic(path, lambda tmp: tmp.write_bytes(data))

    @classmethod
    def load(cls, path: str | Path) -> Fingerprint:
        """Read a fingerprint written by :meth:`save`."""
        try:
            with np.load(path) as data:
                return cls(chroma=data["chroma"], embeddings=data["embeddings"])
        except (OSError, ValueError, KeyError) as err:
            raise AudioFileError(f"{path}: not a readable fingerprint ({err})") from err


def chroma_frames(audio: Audio) -> np.ndarray:
    """Unit-length pitch-class frames (12 × frames, float32) of ``audio``, 4 per second; silent frames zero."""
    mono = audio.samples.mean(axis=0, dtype=np.float32)
    signal = soxr.resample(mono, audio.sample_rate, ANALYSIS_RATE_HZ, quality="MQ").astype(np.float32)
    if signal.size < FFT_SIZE:
        signal = np.pad(signal, (0, FFT_SIZE - signal.size))
    count = 1 + (signal.size - FFT_SIZE) // HOP
    frames = np.lib.stride_tricks.sliding_window_view(signal, FFT_SIZE)[::HOP][:count] * _WINDOW
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    chroma = (_PITCH_CLASSES @ power.T.astype(np.float32)) ** 0.25
    norms = np.linalg.norm(chroma, axis=0)
    loud = norms.max() if norms.size else 0.0
    # norms are power^(1/4): SILENCE_DB in power is SILENCE_DB / 40 decades here
    audible = norms > loud * 10 ** (-SILENCE_DB / 40) if loud > 0 else np.zeros_like(norms, dtype=bool)
    return np.where(audible, chroma / np.maximum(norms, 1e-20), 0.0).astype(np.float32)


def window_embeddings(frames: np.ndarray) -> np.ndarray:
    """2-D Fourier magnitude embeddings (windows × EMBEDDING_DIMS, float32) of unit chroma frames;
    none for a track with less than :data:`MIN_AUDIBLE_S` of audible frames."""
    count = frames.shape[1]
    audible = np.linalg.norm(frames, axis=0) > 0
    if audible.sum() < MIN_AUDIBLE_S * FRAME_RATE_HZ:
        return np.zeros((0, EMBEDDING_DIMS), np.float32)
    if count < WINDOW_FRAMES:
        frames = np.pad(frames, ((0, 0), (0, WINDOW_FRAMES - count)))
    starts = range(0, frames.shape[1] - WINDOW_FRAMES + 1, WINDOW_HOP_FRAMES)
    rows = []
    for start in starts:
        silent = 1.0 - audible[start: start + min(WINDOW_FRAMES, count - start)].mean() if start < count else 1.0
        if silent > MAX_SILENT_SHARE:
            continue
        patch = frames[:, start: start + WINDOW_FRAMES] * _TAPER
        magnitude = np.abs(np.fft.fft2(patch))[:PITCH_BINS, :TIME_BINS]
        rows.append(np.log1p(magnitude).ravel()[1:])
    return np.asarray(rows, dtype=np.float32).reshape(len(rows), EMBEDDING_DIMS)


def fingerprint(audio: Audio) -> Fingerprint:
    """The fingerprint of ``audio`` (channels × frames, any rate).

    Examples
    --------
    >>> print_ = fingerprint(load_audio("draft.wav"))        # doctest: +SKIP
    >>> print_.chroma.shape, print_.embeddings.shape          # doctest: +SKIP
    ((12, 128), (5, 118))
    """
    frames = chroma_frames(audio)
    return Fingerprint(chroma=np.round(frames * 255.0).astype(np.uint8),
                       embeddings=window_embeddings(frames).astype(np.float16))
