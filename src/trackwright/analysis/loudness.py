"""Loudness to ITU-R BS.1770-4, as EBU Tech 3341 ('EBU mode') and Tech 3342 (LRA) specify.

Conventions
-----------
* Input is an :class:`~trackwright.audio.Audio`: float32 samples shaped (channels, frames).
* Loudness is in LUFS (LKFS), loudness range in LU, peaks in dBFS (sample) and dBTP (true).
* Times are seconds. A momentary or short-term series value at time ``t`` covers the window
  that *ends* at ``t`` (400 ms or 3 s), sampled every 100 ms (10 Hz, as EBU mode requires).

How it is measured
------------------
1. **K-weighting** (BS.1770-4 Annex 1): a high-shelf pre-filter (+4 dB above ~1.7 kHz) and the
   RLB high-pass (~38 Hz), both second-order sections whose coefficients are derived from the
   analogue prototypes for the *actual* sample rate with the bilinear transform (at 48 kHz they
   equal the standard's tabulated coefficients to better than 1e-8). The cascade runs as the
   recursive filter itself, written as block matrix products (:mod:`~trackwright.analysis.blockiir`):
   its output equals a sample-by-sample ``sosfilt`` to ~1e-12 of full scale, and the meter needs
   only numpy (scipy.signal costs more than a second to import).
2. **Channel weighting**: mean squares are summed with G = 1.0 for front channels and 1.41
   for surrounds at 60°–120° azimuth (Ls/Rs of 5.1, side surrounds of 7.1); LFE is excluded.
3. **Integrated loudness**: 400 ms blocks every 100 ms, absolute gate −70 LUFS, relative gate
   −10 LU below the absolute-gated mean power.
4. **Momentary / short-term maxima** are taken over windows at every sample position (a
   running sum), so they do not depend on where a 10 Hz grid happens to fall.
5. **Loudness range** (Tech 3342): short-term values every 100 ms, gated at −70 LUFS and −20 LU
   relative; LRA is the spread between their 10th and 95th percentiles.
6. **True peak**: each channel is oversampled to at least 176.4 kHz (4× at 44.1/48 kHz, 2× at
   88.2/96 kHz, 8× at 22.05/24 kHz …) with libsoxr's high-quality linear-phase polyphase
   resampler (passband flat to ~0.91 × Nyquist, >120 dB stop-band), and the largest absolute
   value of the oversampled signal is reported. Compared with BS.1770's 4×, 48-tap example
   interpolator this under-reads less (≤ 0.2 dB for content up to fs/4).
7. **Block by block**: :class:`LoudnessMeter` takes the audio in blocks of any length and keeps
   only running sums over the last 3 s, the filter's and the resampler's state, and the 10 Hz
   series; :func:`measure_loudness` feeds it from memory, :func:`measure_loudness_file` from a
   file as it is read, so a file of any length is measured in a few tens of MB.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import soxr

from trackwright.analysis.blockiir import BlockIIR
from trackwright.audio import Audio, stream_audio, validate_audio
from trackwright.errors import MeasurementError, ParameterError
from trackwright.parallel import thread_map

BLOCK_S = 0.4
SHORT_TERM_S = 3.0
HOP_S = 0.1
ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
LRA_RELATIVE_GATE_LU = -20.0
LRA_PERCENTILES = (10.0, 95.0)
#: BS.1770 offset so that a 0 dBFS 997 Hz sine in one front channel reads −3.01 LKFS.
_OFFSET_DB = -0.691
#: True peak: oversample until the rate is at least this (Hz).
TRUE_PEAK_MIN_RATE = 176_400

#: Named speaker layouts, channel order as in WAVE_FORMAT_EXTENSIBLE / SMPTE files.
LAYOUTS: dict[str, tuple[str, ...]] = {
    "mono": ("C",),
    "stereo": ("L", "R"),
    "3.0": ("L", "R", "C"),
    "quad": ("L", "R", "Ls", "Rs"),
    "5.0": ("L", "R", "C", "Ls", "Rs"),
    "5.1": ("L", "R", "C", "LFE", "Ls", "Rs"),
    "7.0": ("L", "R", "C", "Lss", "Rss", "Lrs", "Rrs"),
    "7.1": ("L", "R", "C", "LFE", "Lss", "Rss", "Lrs", "Rrs"),
}
DEFAULT_LAYOUT = {1: "mono", 2: "stereo", 3: "3.0", 4: "quad", 5: "5.0", 6: "5.1", 7: "7.0", 8: "7.1"}
#: BS.1770-4 channel weights: 1.41 for surrounds within 60°–120° azimuth, 0 for LFE, else 1.0.
CHANNEL_WEIGHTS: dict[str, float] = {
    "L": 1.0, "R": 1.0, "C": 1.0, "M": 1.0, "Cs": 1.0, "Lrs": 1.0, "Rrs": 1.0,
    "Ls": 1.41, "Rs": 1.41, "Lss": 1.41, "Rss": 1.41,
    "LFE": 0.0,
}


@dataclass(frozen=True)
class LoudnessSeries:
    """A loudness curve: ``lufs[i]`` covers the window that ends at ``times_s[i]`` (seconds)."""

    times_s: np.ndarray
    lufs: np.ndarray


@dataclass(frozen=True)
class LoudnessReport:
    """Everything the meter measures for one piece of audio.

    ``short_term_max_lufs`` and ``loudness_range_lu`` are ``None`` for clips shorter than 3 s,
    where a short-term window does not fit. The series are left out of :meth:`to_dict`.
    """

    integrated_lufs: float
    momentary_max_lufs: float
    short_term_max_lufs: float | None
    loudness_range_lu: float | None
    true_peak_dbtp: float
    sample_peak_dbfs: float
    duration_s: float
    sample_rate: int
    channels: int
    momentary: LoudnessSeries = field(repr=False, compare=False)
    short_term: LoudnessSeries = field(repr=False, compare=False)

    def to_dict(self) -> dict[str, float | int | None]:
        """JSON-ready dict with the documented keys, values rounded to 0.01."""
        out = asdict(self)
        out.pop("momentary")
        out.pop("short_term")
        for key, value in out.items():
            if isinstance(value, float):
                out[key] = round(value, 2) if math.isfinite(value) else None
        out["duration_s"] = round(self.duration_s, 3)
        return out


def k_weighting_sos(sample_rate: int) -> np.ndarray:
    """K-weighting filter for ``sample_rate`` (Hz) as second-order sections, shape (2, 6).

    Stage 1 is the high-shelf pre-filter, stage 2 the RLB high-pass. The analogue parameters
    (centre frequency, gain, Q) are those that reproduce BS.1770-4's 48 kHz coefficients; the
    bilinear transform maps them to any rate.
    """
    fs = float(sample_rate)
    # Stage 1: high shelf.
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / fs)
    vh = 10.0 ** (gain_db / 20.0)
    vb = vh**0.4996667741545416
    a0 = 1.0 + k / q + k * k
    shelf = [
        (vh + vb * k / q + k * k) / a0,
        2.0 * (k * k - vh) / a0,
        (vh - vb * k / q + k * k) / a0,
        1.0,
        2.0 * (k * k - 1.0) / a0,
        (1.0 - k / q + k * k) / a0,
    ]
    # Stage 2: RLB high-pass.
    f0, q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * f0 / fs)
    a0 = 1.0 + k / q + k * k
    highpass = [1.0, -2.0, 1.0, 1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0]
    return np.array([shelf, highpass], dtype=np.float64)


def channel_weights(channels: int, layout: str | None = None) -> np.ndarray:
    """BS.1770-4 weight per channel, shape (channels,).

    ``layout`` is a name from :data:`LAYOUTS` or comma-separated channel names
    (``"L,R,C,LFE,Ls,Rs"``); by default the usual layout for the channel count.
    """
    if layout is None:
        names = LAYOUTS[DEFAULT_LAYOUT.get(channels, "stereo")] if channels in DEFAULT_LAYOUT else ()
    elif layout in LAYOUTS:
        names = LAYOUTS[layout]
    else:
        names = tuple(name.strip() for name in layout.split(","))
    if len(names) != channels:
        raise ParameterError(
            f"layout {layout or '(default)'} names {len(names)} channels but the audio has {channels}; "
            f"use one of {', '.join(LAYOUTS)} or comma-separated names such as L,R,C,LFE,Ls,Rs"
        )
    unknown = [n for n in names if n not in CHANNEL_WEIGHTS]
    if unknown:
        raise ParameterError(
            f"unknown channel name(s) {', '.join(unknown)} in layout; known: {', '.join(CHANNEL_WEIGHTS)}"
        )
    return np.array([CHANNEL_WEIGHTS[n] for n in names], dtype=np.float64)


def _check_measurable(audio: Audio) -> None:
    validate_audio(audio)
    if audio.frames < round(BLOCK_S * audio.sample_rate):
        raise MeasurementError(
            f"clip is {audio.duration_s:.3f} s long; loudness needs at least {BLOCK_S} s"
        )
    if not np.any(audio.samples):
        raise MeasurementError("audio is digital silence; loudness is undefined")


def weighted_power(audio: Audio, *, layout: str | None = None, out: np.ndarray | None = None) -> np.ndarray:
    """Channel-weighted sum of squared K-weighted samples, shape (frames,), float64.

    This is ``z[n] = Σ_c G_c · y_c[n]²`` of BS.1770; any window's mean of it, through
    :func:`power_to_lufs`, is that window's loudness. ``out`` (float64, frames) receives the
    result when given, so callers can avoid another full-length array.
    """
    power = np.zeros(audio.frames, dtype=np.float64) if out is None else out
    _KWeighting(audio.sample_rate, channel_weights(audio.channels, layout)).power(audio.samples, power)
    return power


class _KWeighting:
    """K-weighting and channel weighting of consecutive (channels, frames) blocks into the power
    ``Σ_c G_c · y_c[n]²``, the recursive filter run block-wise (:mod:`~trackwright.analysis.blockiir`)
    with its state carried between blocks."""

    def __init__(self, sample_rate: int, weights: np.ndarray) -> None:
        active = np.flatnonzero(weights)
        self.rows: slice | np.ndarray = slice(None) if len(active) == len(weights) else active  # no copy
        self.column = weights[active][:, None] if np.any(weights[active] != 1.0) else None
        self.filter = BlockIIR(k_weighting_sos(sample_rate), len(active))

    def power(self, samples: np.ndarray, out: np.ndarray) -> None:
        """Write the power of ``samples`` (channels × frames) into ``out`` (frames,), float64."""
        if not self.filter.state.shape[0]:
            out[:] = 0.0
            return
        for start in range(0, samples.shape[1], _FILTER_CHUNK):  # in cache-sized pieces: no song-length copy
            filtered = self.filter.filter(samples[self.rows, start: start + _FILTER_CHUNK])
            filtered *= filtered
            if self.column is not None:
                filtered *= self.column
            filtered.sum(axis=0, out=out[start: start + filtered.shape[1]])


#: Frames K-weighted at once (a multiple of the block filter's group).
_FILTER_CHUNK = 1 << 14


def power_to_lufs(mean_power: np.ndarray | float) -> np.ndarray | float:
    """Loudness (LUFS) of a mean weighted power; −inf for zero power."""
    with np.errstate(divide="ignore"):
        return _OFFSET_DB + 10.0 * np.log10(mean_power)


def _window_means(cumulative: np.ndarray, window: int, hop: int) -> np.ndarray:
    """Mean of each window of ``window`` frames starting every ``hop`` frames."""
    starts = np.arange(0, len(cumulative) - window, hop)
    return (cumulative[starts + window] - cumulative[starts]) / window


def _cumulative(power: np.ndarray) -> np.ndarray:
    out = np.empty(len(power) + 1, dtype=np.float64)
    out[0] = 0.0
    np.cumsum(power, out=out[1:])
    return out


def _gate(block_power: np.ndarray, relative_lu: float) -> np.ndarray:
    """Blocks passing the absolute gate and the relative gate ``relative_lu`` below their mean."""
    loud = block_power[power_to_lufs(block_power) > ABSOLUTE_GATE_LUFS]
    if loud.size == 0:
        return loud
    threshold = power_to_lufs(loud.mean()) + relative_lu
    return loud[power_to_lufs(loud) > threshold]


def gated_loudness(power: np.ndarray, sample_rate: int) -> float:
    """Integrated loudness (LUFS) of a :func:`weighted_power` array, gated as BS.1770-4.

    Returns −inf when no 400 ms block is above the −70 LUFS absolute gate.
    """
    window, hop = round(BLOCK_S * sample_rate), round(HOP_S * sample_rate)
    if len(power) < window:
        raise MeasurementError(f"clip is {len(power) / sample_rate:.3f} s long; loudness needs at least {BLOCK_S} s")
    return gated_block_loudness(_window_means(_cumulative(power), window, hop))


def gated_block_loudness(block_power: np.ndarray) -> float:
    """Integrated loudness (LUFS) from the mean powers of 400 ms blocks at a 100 ms hop.

    Applies the −70 LUFS absolute and −10 LU relative gates; −inf when no block passes.
    """
    gated = _gate(block_power, RELATIVE_GATE_LU)
    return float(power_to_lufs(gated.mean())) if gated.size else -math.inf


def _series(cumulative: np.ndarray, window: int, hop: int, sample_rate: int) -> LoudnessSeries:
    means = _window_means(cumulative, window, hop)
    times = (np.arange(len(means)) * hop + window) / sample_rate
    return LoudnessSeries(times, power_to_lufs(means))


def short_term_series(audio: Audio, *, layout: str | None = None) -> LoudnessSeries:
    """Short-term loudness (3 s windows every 0.1 s, LUFS) alone: no gating, no true peak."""
    _check_measurable(audio)
    rate = audio.sample_rate
    return _series(_cumulative(weighted_power(audio, layout=layout)), round(SHORT_TERM_S * rate),
                   round(HOP_S * rate), rate)


def loudness_range(short_term_lufs: np.ndarray) -> float:
    """EBU Tech 3342 loudness range (LU) of short-term values taken every 100 ms."""
    power = 10.0 ** ((np.asarray(short_term_lufs) - _OFFSET_DB) / 10.0)
    gated = _gate(power, LRA_RELATIVE_GATE_LU)
    if gated.size == 0:
        return 0.0
    low, high = np.percentile(power_to_lufs(gated), LRA_PERCENTILES)
    return float(high - low)


def oversampling_factor(sample_rate: int) -> int:
    """How many times :func:`true_peak_dbtp` oversamples at ``sample_rate`` (Hz)."""
    return max(1, math.ceil(TRUE_PEAK_MIN_RATE / sample_rate - 1e-9))


_CHUNK_FRAMES = 1 << 16


def oversampled_chunks(channel: np.ndarray, sample_rate: int) -> Iterator[np.ndarray]:
    """Yield one channel (shape (frames,)) oversampled, in consecutive 1-D chunks.

    Streaming through libsoxr keeps memory flat and the working set in cache; the chunks
    concatenate to exactly the one-shot resampled signal (delay-compensated), so oversampled
    value ``j`` lies at time ``j / (factor × sample_rate)``.
    """
    factor = oversampling_factor(sample_rate)
    channel = np.ascontiguousarray(channel, dtype=np.float32)
    if factor == 1:
        yield channel
        return
    stream = soxr.ResampleStream(sample_rate, sample_rate * factor, 1, dtype="float32", quality="HQ")
    frames = len(channel)
    for start in range(0, frames, _CHUNK_FRAMES):
        stop = min(start + _CHUNK_FRAMES, frames)
        yield stream.resample_chunk(channel[start:stop], last=stop == frames)


class _PeakFollower:
    """Largest absolute oversampled value of one channel fed in consecutive pieces (linear);
    the same as oversampling the whole channel at once (:func:`oversampled_chunks`)."""

    def __init__(self, sample_rate: int) -> None:
        factor = oversampling_factor(sample_rate)
        self.stream = None if factor == 1 else \
            soxr.ResampleStream(sample_rate, sample_rate * factor, 1, dtype="float32", quality="HQ")
        self.peak = 0.0

    def add(self, channel: np.ndarray, *, last: bool = False) -> None:
        """Feed the next frames of the channel (1-D); ``last`` flushes the resampler."""
        channel = np.ascontiguousarray(channel, dtype=np.float32)
        if channel.size:
            self.peak = max(self.peak, float(np.abs(channel).max()))
        if self.stream is None:
            return
        frames = len(channel)
        for start in range(0, max(frames, 1), _CHUNK_FRAMES):
            stop = min(start + _CHUNK_FRAMES, frames)
            self._take(self.stream.resample_chunk(channel[start:stop], last=last and stop == frames))

    def _take(self, chunk: np.ndarray) -> None:
        if chunk.size:
            self.peak = max(self.peak, float(chunk.max()), -float(chunk.min()))


def _channel_true_peak(channel: np.ndarray, sample_rate: int) -> float:
    follower = _PeakFollower(sample_rate)
    follower.add(channel, last=True)
    return follower.peak


def true_peak_linear(samples: np.ndarray, sample_rate: int) -> float:
    """Largest absolute value of the oversampled signal (linear, full scale = 1.0).

    ``samples`` is shaped (channels, frames). See the module docstring for the method.
    """
    return max(thread_map(lambda channel: _channel_true_peak(channel, sample_rate), samples))


def _channel_peak_envelope(channel: np.ndarray, sample_rate: int, envelope: np.ndarray) -> None:
    """Raise ``envelope`` (float32, frames) to, per frame ``n``, the max |oversampled value| in
    [n, n + 1) frames and |sample n| of ``channel``."""
    factor = oversampling_factor(sample_rate)
    frames = len(channel)
    filled, pending = 0, np.zeros(0, dtype=np.float32)
    for chunk in oversampled_chunks(channel, sample_rate):
        values = np.abs(chunk)
        if pending.size:
            values = np.concatenate((pending, values))
        usable = min(len(values) // factor, frames - filled)
        block = values[: usable * factor].reshape(usable, factor)
        target = envelope[filled: filled + usable]
        for column in range(factor):  # column-wise: much faster than a row-wise reduction
            np.maximum(target, block[:, column], out=target)
        filled += usable
        pending = values[usable * factor:]
    if filled < frames and pending.size:
        envelope[filled] = max(envelope[filled], pending.max())
    for start in range(0, frames, _CHUNK_FRAMES):
        target = envelope[start: start + _CHUNK_FRAMES]
        np.maximum(target, np.abs(channel[start: start + _CHUNK_FRAMES]), out=target)


def oversampled_peak_envelope(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Per-frame true-peak envelope, shape (frames,), float32, linear full scale.

    Value ``n`` is the largest absolute oversampled value across channels between frames
    ``n − 1`` and ``n + 1`` — what a gain applied at frame ``n`` has to keep under a ceiling.
    The channels are folded into one array, and the neighbours taken chunk by chunk, so the
    only song-length array is the result.
    """
    frames = samples.shape[1]
    envelope = np.zeros(frames, dtype=np.float32)
    for channel in samples:
        _channel_peak_envelope(channel, sample_rate, envelope)
    before = None  # the unwidened value just before the chunk
    for start in range(0, frames, _CHUNK_FRAMES):
        stop = min(start + _CHUNK_FRAMES, frames)
        chunk = envelope[start:stop]
        own = chunk.copy()
        np.maximum(chunk[1:], own[:-1], out=chunk[1:])
        np.maximum(chunk[:-1], own[1:], out=chunk[:-1])
        if before is not None:
            chunk[0] = max(chunk[0], before)
        if stop < frames:
            chunk[-1] = max(chunk[-1], envelope[stop])  # not widened yet
        before = own[-1]
    return envelope


def _to_db(linear: float) -> float:
    return 20.0 * math.log10(linear) if linear > 0 else -math.inf


def true_peak_dbtp(audio: Audio) -> float:
    """True peak of ``audio`` in dBTP (oversampled; see the module docstring)."""
    validate_audio(audio)
    return _to_db(true_peak_linear(audio.samples, audio.sample_rate))


def integrated_loudness(audio: Audio, *, layout: str | None = None) -> float:
    """Gated integrated loudness of ``audio`` in LUFS.

    Raises
    ------
    MeasurementError
        For digital silence, a clip shorter than 0.4 s, or audio entirely below −70 LUFS.
    """
    _check_measurable(audio)
    value = gated_loudness(weighted_power(audio, layout=layout), audio.sample_rate)
    if not math.isfinite(value):
        raise MeasurementError("audio is quieter than the −70 LUFS absolute gate; loudness is undefined")
    return value


def measure_loudness(audio: Audio, *, layout: str | None = None, true_peak_dbtp: float | None = None) -> LoudnessReport:
    """Measure integrated, momentary, short-term loudness, LRA, true and sample peak.

    Parameters
    ----------
    audio : Audio
        1–8 channels (channels × frames), any rate from 8 to 384 kHz, at least 0.4 s.
    layout : str, optional
        Speaker layout (see :func:`channel_weights`); by default the usual one for the
        channel count, so a 6-channel file is 5.1 with its LFE excluded.
    true_peak_dbtp : float, optional
        The true peak of these very samples (dBTP) when it is already known: reported as is,
        not measured again.

    Returns
    -------
    LoudnessReport

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(48000 * 20) / 48000
    >>> tone = 10 ** (-23 / 20) * np.sin(2 * np.pi * 1000 * t)
    >>> report = measure_loudness(Audio(np.stack([tone, tone]), 48000))
    >>> round(report.integrated_lufs, 1)
    -23.0
    """
    _check_measurable(audio)
    meter = LoudnessMeter(audio.sample_rate, audio.channels, layout=layout, true_peak=true_peak_dbtp is None)
    for start in range(0, audio.frames, _METER_BLOCK):
        meter.add(audio.samples[:, start: start + _METER_BLOCK])
    report = meter.report()
    return report if true_peak_dbtp is None else replace(report, true_peak_dbtp=true_peak_dbtp)


#: Frames per block when :func:`measure_loudness` feeds a :class:`LoudnessMeter` (a multiple of
#: the true-peak chunk, so the resampler sees the same pieces however the audio arrives).
_METER_BLOCK = 1 << 18


class LoudnessMeter:
    """Everything :func:`measure_loudness` reports, from audio fed block by block.

    Memory stays bounded by one block and 3 s of running sums however long the audio is, so a
    file can be measured as it is read (:func:`measure_loudness_file`).

    Parameters
    ----------
    sample_rate : int
        Hz.
    channels : int
        Channels of every block.
    layout : str, optional
        Speaker layout, as for :func:`channel_weights`.
    true_peak : bool
        Measure the true peak (the costlier half); without it the report's true peak is −inf.
    """

    def __init__(self, sample_rate: int, channels: int, *, layout: str | None = None, true_peak: bool = True) -> None:
        self.sample_rate, self.channels, self.frames = sample_rate, channels, 0
        self._filter = _KWeighting(sample_rate, channel_weights(channels, layout))
        self._block, self._short = round(BLOCK_S * sample_rate), round(SHORT_TERM_S * sample_rate)
        self._hop = round(HOP_S * sample_rate)
        self._tail = np.zeros(1)  # the running sum of the power over the last ``_short`` frames and now
        self._means: dict[int, list[np.ndarray]] = {self._block: [], self._short: []}
        self._loudest: dict[int, float] = {self._block: 0.0, self._short: 0.0}
        self._sample_peak = 0.0
        self._peaks = [_PeakFollower(sample_rate) for _ in range(channels)] if true_peak else []
        # one worker for the true peak, alongside the filtering (both release the GIL), kept from
        # block to block: a thread per block would leave a malloc arena per thread behind
        self._pool: ThreadPoolExecutor | None = None

    def add(self, samples: np.ndarray) -> None:
        """Feed the next frames, shaped (channels, frames); any length, float32 or float64."""
        if samples.shape[0] != self.channels:
            raise ParameterError(f"a block has {samples.shape[0]} channels; the meter was made for {self.channels}")
        if not samples.shape[1]:
            return
        self._sample_peak = max(self._sample_peak, float(np.abs(samples).max()))
        if not self._peaks:
            self._add_power(samples)
            return
        self._pool = self._pool or ThreadPoolExecutor(max_workers=1)
        peaks = self._pool.submit(lambda: [f.add(channel) for f, channel in zip(self._peaks, samples)])
        try:
            self._add_power(samples)
        finally:
            peaks.result()

    def _add_power(self, samples: np.ndarray) -> None:
        count, done = samples.shape[1], self.frames
        running = np.empty(len(self._tail) + count)
        running[: len(self._tail)] = self._tail
        fresh = running[len(self._tail):]
        self._filter.power(samples, fresh)
        np.cumsum(fresh, out=fresh)
        fresh += self._tail[-1]
        base = done + 1 - len(self._tail)  # the frame index of running[0]
        for window in (self._block, self._short):
            # the windows at the 100 ms hop, and at every frame, that end in this block
            first = max(0, (done - window) // self._hop + 1)
            starts = np.arange(first, (done + count - window) // self._hop + 1) * self._hop
            if starts.size:
                self._means[window].append((running[starts + window - base] - running[starts - base]) / window)
            first_end = max(done + 1, window)
            if first_end <= done + count:
                ends = running[first_end - base:]
                sums = ends - running[first_end - window - base: done + count + 1 - window - base]
                self._loudest[window] = max(self._loudest[window], float(sums.max()))
        self._tail = running[-min(done + count, self._short) - 1:].copy()
        self.frames += count

    def report(self) -> LoudnessReport:
        """The measurements of everything fed so far (flushes the true-peak resampler).

        Raises
        ------
        MeasurementError
            Under 0.4 s fed, digital silence, or audio entirely below −70 LUFS.
        """
        rate = self.sample_rate
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        if self.frames < self._block:
            raise MeasurementError(f"clip is {self.frames / rate:.3f} s long; loudness needs at least {BLOCK_S} s")
        if self._sample_peak == 0.0:
            raise MeasurementError("audio is digital silence; loudness is undefined")
        blocks = np.concatenate(self._means[self._block])
        integrated = gated_block_loudness(blocks)
        if not math.isfinite(integrated):
            raise MeasurementError("audio is quieter than the −70 LUFS absolute gate; loudness is undefined")
        for follower in self._peaks:
            follower.add(np.zeros(0, dtype=np.float32), last=True)
        true_peak = max(f.peak for f in self._peaks) if self._peaks else 0.0
        short_term = LoudnessSeries(np.zeros(0), np.zeros(0))
        short_max = lra = None
        if self.frames >= self._short:
            short_term = self._series(self._short)
            short_max = float(power_to_lufs(self._loudest[self._short] / self._short))
            lra = loudness_range(short_term.lufs)
        return LoudnessReport(
            integrated_lufs=integrated,
            momentary_max_lufs=float(power_to_lufs(self._loudest[self._block] / self._block)),
            short_term_max_lufs=short_max,
            loudness_range_lu=lra,
            true_peak_dbtp=_to_db(true_peak) if self._peaks else -math.inf,
            sample_peak_dbfs=_to_db(self._sample_peak),
            duration_s=self.frames / rate,
            sample_rate=rate,
            channels=self.channels,
            momentary=self._series(self._block),
            short_term=short_term,
        )

    def _series(self, window: int) -> LoudnessSeries:
        means = np.concatenate(self._means[window]) if self._means[window] else np.zeros(0)
        times = (np.arange(len(means)) * self._hop + window) / self.sample_rate
        return LoudnessSeries(times, power_to_lufs(means))


def measure_loudness_file(path: str | os.PathLike[str], *, layout: str | None = None) -> LoudnessReport:
    """:func:`measure_loudness` of an audio file, read block by block: a file of any length is
    measured in bounded memory (a few MB), never loaded whole.

    Raises
    ------
    AudioFileError, InvalidAudioError
        As :func:`~trackwright.audio.load_audio`.
    MeasurementError
        As :func:`measure_loudness`.
    """
    meter: LoudnessMeter | None = None
    for block in stream_audio(path, block_frames=_METER_BLOCK):
        if meter is None:
            meter = LoudnessMeter(block.sample_rate, block.channels, layout=layout)
        meter.add(block.samples)
    assert meter is not None  # stream_audio raises for a file without frames
    return meter.report()
