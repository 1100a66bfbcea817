"""Waveform overviews for the page: the peak level per time bucket, read in blocks from the file.

The page draws these instead of downloading and decoding every version's whole mix; the audio
itself then streams (HTTP range requests) only when played.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
import soundfile as sf

from trackwright.errors import ParameterError

#: Buckets in an overview by default (enough for a wide screen).
DEFAULT_POINTS = 4000


def peaks(path: str | os.PathLike[str], points: int = DEFAULT_POINTS) -> dict[str, Any]:
    """The largest absolute sample (over all channels) in each of ``points`` equal time buckets.

    Parameters
    ----------
    path : path-like
        An audio file soundfile reads.
    points : int
        Number of buckets, 16–20000 (fewer when the file has fewer frames).

    Returns
    -------
    dict
        ``duration_s`` (seconds), ``sample_rate`` (Hz), ``bucket_s`` (seconds per value) and
        ``peaks``: list of float in 0…1 (full scale), one per bucket, in time order.
    """
    if not (16 <= points <= 20000):
        raise ParameterError(f"points must be 16–20000, got {points}")
    with sf.SoundFile(os.fsencode(path)) as f:
        frames, rate = f.frames, f.samplerate
        bucket = max(1, math.ceil(frames / points))
        values: list[np.ndarray] = []
        for block in f.blocks(blocksize=bucket * 512, dtype="float32", always_2d=True):
            level = np.abs(block).max(axis=1)
            values.append(np.maximum.reduceat(level, np.arange(0, len(level), bucket)))
    out = np.concatenate(values) if values else np.zeros(0, np.float32)
    return {"duration_s": round(frames / rate, 6), "sample_rate": rate, "bucket_s": bucket / rate,
            "peaks": np.round(np.minimum(out, 1.0), 4).tolist()}
