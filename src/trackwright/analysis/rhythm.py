"""Rhythm: tempo (and its curve when it drifts), beats, downbeats and metre.

1. **Tempo estimate**: autocorrelation of the spectral-flux envelope over lags of 40–240 BPM
   (of the pulse envelope, see 2., for legato music without attacks), each lag also credited (¼)
   with its half lag, weighted by a log-normal prior around 120 BPM (80 BPM for legato music;
   σ = 1 octave), refined between lags by a parabola; its double and half are weighed again on
   the pulse envelope (:func:`estimate_tempo`, :func:`_octave_check`).
2. **Which pulse is the beat** (:func:`_metrical_pulse`, :mod:`.metre`): beats are tracked at the
   estimate and at its octave and 3:2 relatives, and the grid whose accents show the clearest
   metrical hierarchy wins — beats over the points that divide them, those points over the other
   division (halves for a simple beat: 2/4, 3/4, 4/4; thirds for a compound one: 6/8, 9/8,
   12/8) — with a broad preference for beats near 120 BPM. So a jig is heard at the dotted
   quarter with its eighths in threes, and a 3:2 or octave misreading can be put right.
3. **Beats**: dynamic-programming beat tracking (Ellis 2007) on the pulse envelope — spectral
   flux plus pitch-class flux and windowed pitch-class novelty, so legato notes and chord changes
   count (:func:`pulse_envelope`, :func:`track_beats`) — at the chosen tempo, following the local
   beat period (:func:`local_periods`) and, in music with attacks, loosely enough to follow rubato
   swells; where the attacks say the tracker took the off-beats, the grid moves half a beat
   (:func:`_attack_phase`). Beats are placed between frames (a parabola through the envelope's
   peak), ``ATTACK_LEAD_S`` (``LEGATO_ATTACK_LEAD_S`` without attacks) before it, where the attack
   is heard to begin, and carried on to the track's edges where the music sounds there.
4. **Bars**: the number of beats per bar (2, 3 or 4) whose downbeats stand out most in
   low-frequency attacks and harmonic change (:func:`.metre.bar_count`); then the position of
   every beat in its bar is decoded with Viterbi (positions advance beat by beat; a re-alignment,
   after a beat the tracker added or missed, costs extra). In 4/4 the evidence fixes the bar only
   up to half a bar (beats 1 and 3 are both strong): a bar that would open the piece on beat 2
   or 3 is moved by half a bar. The time signature is the bar's beats and the beat's division: 2, 3, 4 beats of
   two → 2/4, 3/4, 4/4; of three → 6/8, 9/8, 12/8.
5. **Tempo curve**: local BPM from beat intervals (median of 3, then mean of
   :data:`CURVE_BEATS`); the tempo "drifts" when its 5th–95th percentile spread exceeds 4 %.

A grid the user sets instead is built by :mod:`.beat_grid` (:func:`rhythm_from_grid`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trackwright.analysis import filters
from trackwright.analysis.features import Features, mean_between
from trackwright.analysis.metre import (BEAT_RANGE_BPM, CANDIDATE_RATIOS, COMPOUND_MARGIN, PREFERRED_BEAT_BPM,
                                        bar_count, grid_score, sample, signature, standardised)

TEMPO_RANGE_BPM = (40.0, 240.0)
PRIOR_CENTRE_BPM = 120.0
DRIFT_THRESHOLD = 0.04
#: Beat intervals averaged for the tempo curve (after a median of 3): beats are placed between
#: frames, so a short average follows a rubato swell without frame-quantisation noise.
CURVE_BEATS = 4
PRIOR_WIDTH_OCTAVES = 1.0
LEGATO_PERCUSSIVENESS = 5.0
LEGATO_CENTRE_BPM = 80.0
#: How much more accent a legato beat's thirds need than its half to read as compound (z-score).
LEGATO_COMPOUND_MARGIN = 0.6
#: Credit a lag gets from the autocorrelation at twice and at half its length.
DOUBLE_WEIGHT = 0.0
HALF_WEIGHT = 0.25
#: Weight of pitch-class flux in the pulse envelope (spectral flux weighs 1).
PITCH_WEIGHT = 1.0
#: Weight of windowed pitch-class novelty (:attr:`Features.pitch_novelty`) in the pulse envelope.
NOVELTY_WEIGHT = 2.0


@dataclass(frozen=True)
class Rhythm:
    """Tempo, beat grid and metre of a track (times in seconds).

    Attributes
    ----------
    tempo_bpm : float
        Metrical beats per minute: quarter notes in 2/4, 3/4, 4/4; dotted quarters in 6/8, 9/8,
        12/8 (a 6/8 jig at 110 BPM has 330 eighths a minute).
    beats_s : np.ndarray
        The metrical beats, seconds (dotted quarters in compound metres; see
        :meth:`subdivisions_s` for the eighths).
    downbeats_s : np.ndarray
        The first beat of every bar, seconds (a pickup before the first is not a downbeat).
    beats_per_bar : int
        2, 3 or 4.
    tempo_curve_s, tempo_curve_bpm : np.ndarray
        Local tempo (BPM) at each beat after the first: median of 3 intervals, then mean of
        :data:`CURVE_BEATS` (4).
    drifts : bool
        Whether the tempo moves more than :data:`DRIFT_THRESHOLD` (rubato, accelerando).
    subdivision : int
        2 (simple metre) or 3 (compound metre).
    user_set : bool
        The grid was set by the user (:mod:`trackwright.analysis.beat_grid`), not heard.
    """

    tempo_bpm: float
    beats_s: np.ndarray
    downbeats_s: np.ndarray
    beats_per_bar: int
    tempo_curve_s: np.ndarray
    tempo_curve_bpm: np.ndarray
    drifts: bool
    subdivision: int = 2
    user_set: bool = False

    @property
    def time_signature(self) -> str:
        """``"2/4"``, ``"3/4"``, ``"4/4"`` (beats divided in two) or ``"6/8"``, ``"9/8"``, ``"12/8"``
        (beats divided in three)."""
        return signature(self.beats_per_bar, self.subdivision)

    def subdivisions_s(self) -> np.ndarray:
        """Every beat divided in :attr:`subdivision` equal parts (the eighth notes), seconds."""
        beats = self.beats_s
        if len(beats) < 2:
            return beats.copy()
        fractions = np.arange(self.subdivision) / self.subdivision
        inner = (beats[:-1, np.newaxis] + np.diff(beats)[:, np.newaxis] * fractions).ravel()
        return np.append(inner, beats[-1])


def _autocorrelation(envelope: np.ndarray) -> np.ndarray:
    centred = envelope - envelope.mean()
    size = 1 << int(np.ceil(np.log2(2 * len(centred))))
    spectrum = np.fft.rfft(centred, size)
    return np.fft.irfft(np.abs(spectrum) ** 2, size)[: len(centred)]


def percussiveness(onset: np.ndarray) -> float:
    """99th percentile over median of an onset envelope: ~3 for legato organ or strings, well
    above 10 for music with drums or plucked and struck instruments."""
    return float(np.percentile(onset, 99) / max(float(np.median(onset)), 1e-9)) if onset.size else 0.0


def estimate_tempo(onset: np.ndarray, onset_rate: float) -> float:
    """Global tempo in BPM of an onset envelope sampled at ``onset_rate`` frames per second.

    Legato music without attacks (percussiveness under 5) is read with the prior centred on
    80 BPM instead of 120: its eighth-note motion otherwise passes for the beat.
    """
    centre = PRIOR_CENTRE_BPM if percussiveness(onset) >= LEGATO_PERCUSSIVENESS else LEGATO_CENTRE_BPM
    ac = _autocorrelation(onset)
    if ac[0] <= 0:
        return PRIOR_CENTRE_BPM
    ac = ac / ac[0]
    lags = np.arange(1, len(ac))
    bpm = 60.0 * onset_rate / lags
    valid = (bpm >= TEMPO_RANGE_BPM[0]) & (bpm <= TEMPO_RANGE_BPM[1])
    lags, bpm = lags[valid], bpm[valid]
    if lags.size == 0:
        return PRIOR_CENTRE_BPM

    def at(lag: np.ndarray) -> np.ndarray:
        return np.interp(lag, np.arange(len(ac)), ac, right=0.0)

    strength = at(lags) + DOUBLE_WEIGHT * at(2 * lags) + HALF_WEIGHT * at(lags / 2)
    prior = np.exp(-0.5 * (np.log2(bpm / centre) / PRIOR_WIDTH_OCTAVES) ** 2)
    best = int(np.argmax(strength * prior))
    # refine with a parabola through the neighbouring lags
    lag = float(lags[best])
    if 0 < best < len(lags) - 1:
        y0, y1, y2 = at(lags[best - 1: best + 2].astype(float))
        denominator = y0 - 2 * y1 + y2
        if denominator < 0:
            lag += 0.5 * (y0 - y2) / denominator * (lags[best + 1] - lags[best])
    return float(60.0 * onset_rate / lag)


def _value_at(series: np.ndarray, frames: np.ndarray, radius: int = 2) -> np.ndarray:
    """Max of ``series`` within ±``radius`` frames of each frame index."""
    peaks = filters.maximum_filter1d(series, size=2 * radius + 1, mode="nearest")
    return peaks[np.clip(frames, 0, len(series) - 1)]


def _zscore(values: np.ndarray) -> np.ndarray:
    spread = values.std()
    return (values - values.mean()) / spread if spread > 0 else np.zeros_like(values)


def beat_chroma(features: Features, beats_s: np.ndarray, series: np.ndarray | None = None) -> np.ndarray:
    """Mean chroma (or another chroma-rate ``series``) between consecutive beats, the last beat
    running to the end: 12 × beats."""
    return mean_between(features.chroma if series is None else series, features.chroma_times(),
                        np.append(beats_s, features.duration_s))


def _downbeat_evidence(features: Features, beats_s: np.ndarray, lead_s: float) -> np.ndarray:
    """Per beat: z-scored low-frequency attack plus z-scored harmonic change (chroma novelty).
    Beats sit ``lead_s`` before the envelope's peaks."""
    frames = np.round((beats_s + lead_s) * features.onset_rate).astype(int)  # the attacks peak here
    low = _zscore(_value_at(features.low_onset, frames))
    chroma = beat_chroma(features, beats_s)
    unit = chroma / np.maximum(np.linalg.norm(chroma, axis=0, keepdims=True), 1e-9)
    novelty = np.concatenate(([0.0], 1.0 - np.sum(unit[:, 1:] * unit[:, :-1], axis=0)))
    return low + _zscore(novelty)


#: Music starts on a downbeat or with a one-beat pickup: the first beat's prior for those two
#: positions, in evidence units (z-scores). With it, jumping phase later costs more.
START_PRIOR = 6.0
RESET_COST = 12.0


def _bar_positions(evidence: np.ndarray, meter: int, *, reset_cost: float = RESET_COST,
                   start_prior: float = START_PRIOR) -> tuple[np.ndarray, float]:
    """Position in the bar (0 = downbeat) of every beat, by Viterbi decoding, and the path score.

    Positions advance by one each beat; a jump to any other position (a beat the tracker
    added or missed) costs ``reset_cost``. A downbeat earns its evidence, other beats lose it.
    The first beat is a downbeat or a one-beat pickup a priori (``start_prior``): where the
    evidence barely tells beat 1 from beat 3 (a chorale, where harmony moves on every beat),
    the piece's opening decides the phase.
    """
    n = len(evidence)
    emission = np.where(np.arange(meter)[:, None] == 0, evidence[None, :], -evidence[None, :] / (meter - 1))
    score = emission[:, 0].copy()
    score[[0, meter - 1]] += start_prior
    back = np.zeros((meter, n), dtype=np.int32)
    for t in range(1, n):
        advanced = np.roll(score, 1)  # from position p−1 to p
        best = int(np.argmax(score))
        reset = score[best] - reset_cost
        take_reset = reset > advanced
        back[:, t] = np.where(take_reset, best, (np.arange(meter) - 1) % meter)
        score = np.where(take_reset, reset, advanced) + emission[:, t]
    path = np.zeros(n, dtype=np.int32)
    path[-1] = int(np.argmax(score))
    for t in range(n - 1, 0, -1):
        path[t - 1] = back[path[t], t]
    return path, float(score.max()) / n


def _downbeats(features: Features, beats_s: np.ndarray, lead_s: float, meter: int) -> np.ndarray:
    """Downbeat times for bars of ``meter`` beats, decoded from the evidence."""
    if len(beats_s) < 2 * meter:
        return beats_s[::meter]
    evidence = _downbeat_evidence(features, beats_s, lead_s)
    path, _ = _bar_positions(evidence, meter)
    if meter == 4 and path[0] in (1, 2):
        # beats 1 and 3 of a 4/4 bar are both strong, and harmony and the bass often move more
        # on 3 (a chorale's cadences land there, on the organ or the piano alike): the evidence
        # fixes the bar only up to half a bar, and an opening on beat 2 or 3 is rare, so the half
        # bar that starts on 1 or a pickup wins. (Keeping the evidence's half bar where it was
        # clear in music with attacks put a piano chorale's downbeats on beat 3: 20-chorale
        # downbeat F 0.82 → 0.72; no development piece needed it.)
        path = (path + 2) % 4
    return beats_s[path == 0]


def windowed_autocorrelations(onset: np.ndarray, onset_rate: float, *, window_s: float = 16.0,
                               step_s: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """(centre frames, autocorrelations centres × lags) of the ``window_s`` around every
    ``step_s`` of an onset envelope: computed once, read by :func:`local_periods` at any tempo."""
    window, step = int(window_s * onset_rate), max(1, int(step_s * onset_rate))
    centres = np.arange(window // 2, len(onset) - window // 2, step)
    if len(onset) < 2 * window or len(centres) == 0:
        return np.zeros(0, dtype=int), np.zeros((0, 0))
    starts = centres - window // 2
    segments = np.lib.stride_tricks.sliding_window_view(onset.astype(np.float64), window)[starts]
    centred = segments - segments.mean(axis=1, keepdims=True)
    size = 1 << int(np.ceil(np.log2(2 * window)))
    spectrum = np.fft.rfft(centred, size, axis=1)
    return centres, np.fft.irfft(np.abs(spectrum) ** 2, size, axis=1)[:, :window]


def local_periods(onset: np.ndarray, onset_rate: float, tempo_bpm: float, *,
                  windows: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Beat period in frames at every onset frame, following tempo changes (shape like ``onset``).

    Every second an autocorrelation of the surrounding 16 s (:func:`windowed_autocorrelations`,
    or ``windows`` computed before) picks the strongest lag within 0.8–1.25 × the global period
    (so the metrical level stays the same) — or keeps the global period where no clear interior
    peak stands out; the result is median-smoothed and interpolated to every frame.
    """
    period = 60.0 * onset_rate / tempo_bpm
    centres, acfs = windows if windows is not None else windowed_autocorrelations(onset, onset_rate)
    lo, hi = max(1, int(0.8 * period)), int(np.ceil(1.25 * period))
    if len(centres) < 3 or hi + 1 >= acfs.shape[1]:
        return np.full(len(onset), period)
    band = acfs[:, lo: hi + 1]
    lag = lo + np.argmax(band, axis=1)
    rows = np.arange(len(centres))
    clear = (lag > lo) & (lag < hi) & (acfs[rows, lag] >= 0.1 * acfs[:, 0]) & (acfs[:, 0] > 0)
    y0, y1, y2 = acfs[rows, lag - 1], acfs[rows, lag], acfs[rows, np.minimum(lag + 1, acfs.shape[1] - 1)]
    denominator = y0 - 2 * y1 + y2
    shift = np.where(denominator < 0, 0.5 * (y0 - y2) / np.where(denominator < 0, denominator, -1.0), 0.0)
    # no clear pulse here (sustained chords, a break): keep the global period
    periods = np.where(clear, lag + shift, period)
    smooth = filters.median_filter1d(periods, 5, mode="nearest")
    return np.interp(np.arange(len(onset)), centres, smooth)


#: How strictly beats keep the period: 300 holds a steady grid through bars without attacks
#: (a chorale's long final chord, a sustained pad) and still follows a drifting live tempo.
TIGHTNESS = 300.0
#: Tightness of the final tracking at the chosen tempo in music with attacks: loose enough to
#: follow rubato swells of ±12 % within a few bars (the candidate grids are compared, and legato
#: music, whose chord-change envelope has broad peaks, is tracked at :data:`TIGHTNESS`).
FOLLOW_TIGHTNESS = 100.0
#: Beats are placed this long before the pulse envelope's peak, seconds: the envelope's frames
#: are centred on a 93 ms window, so an attack shows in the flux a little before it peaks; a
#: legato voice's chord change (slow attack, windowed novelty) is heard well before it peaks.
#: Measured on rendered songs with drums (median offsets −12…+3 ms afterwards) and on organ,
#: strings, piano and choir chorales (−16…+51 ms).
ATTACK_LEAD_S = 0.012
LEGATO_ATTACK_LEAD_S = 0.03


def track_beats(onset: np.ndarray, onset_rate: float, tempo_bpm: float, *, tightness: float = TIGHTNESS,
                windows: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Beat frames by dynamic programming (Ellis 2007): onsets that fall on a steady pulse.

    ``score[t] = onset[t] + max_τ (score[t − τ] − tightness · log²(τ / period[t]))`` over
    τ ∈ [period / 2, 2 · period], where ``period[t]`` follows the local tempo
    (:func:`local_periods`, from ``windows`` when given); the best path is traced back from the
    last strong beat. Frames are scored a block at a time (every lag reaches back past the block).
    """
    period = 60.0 * onset_rate / tempo_bpm
    if len(onset) < 2 * period:
        return np.zeros(0, dtype=int)
    periods = local_periods(onset, onset_rate, tempo_bpm, windows=windows)
    norm = onset / max(float(onset.std()), 1e-9)
    # local score: onsets smoothed by a Gaussian of ±period/32, minus a small offset
    local = filters.gaussian_filter1d(norm, sigma=max(period / 32.0, 0.5)) - 0.1 * norm.mean()
    lags = np.arange(max(1, int(round(0.5 * periods.min()))), int(round(2 * periods.max())) + 1)
    score = local.astype(np.float64).copy()
    backlink = np.full(len(local), -1)
    # every frame of a block of lags[0] frames looks back past the block's start: one block at a time
    block = int(lags[0])
    log_lags = np.log(lags)
    for start in range(block, len(local), block):
        t = np.arange(start, min(start + block, len(local)))
        candidates = t[:, np.newaxis] - lags[np.newaxis, :]
        valid = candidates >= 0
        penalty = tightness * (log_lags[np.newaxis, :] - np.log(periods[t])[:, np.newaxis]) ** 2
        options = np.where(valid, score[np.maximum(candidates, 0)] - penalty, -np.inf)
        best = np.argmax(options, axis=1)
        value = options[np.arange(len(t)), best]
        take = value > 0
        score[t[take]] = local[t[take]] + value[take]
        backlink[t[take]] = candidates[np.arange(len(t)), best][take]
    # start from the best-scoring frame in the last period
    tail = score[-int(round(period)):]
    t = len(score) - len(tail) + int(np.argmax(tail))
    beats = []
    while t >= 0:
        beats.append(t)
        t = backlink[t]
    beats = np.array(beats[::-1], dtype=int)
    # drop weak beats at the very start and end (silence before/after the music)
    strength = local[beats]
    keep = strength > 0.05 * np.median(strength[strength > 0]) if np.any(strength > 0) else np.ones(len(beats), bool)
    if keep.any():
        first, last = np.flatnonzero(keep)[[0, -1]]
        beats = beats[first: last + 1]
    return beats


def _octave_check(envelope: np.ndarray, onset_rate: float, tempo_bpm: float, *, legato: bool) -> float:
    """Between a tempo and its double or half, keep the one the pulse envelope (which hears
    note and chord changes too) supports best: autocorrelation at the beat lag times the tempo
    prior. Only octaves are reconsidered, so a 3:2 reading is never introduced here."""
    centre = LEGATO_CENTRE_BPM if legato else PRIOR_CENTRE_BPM
    ac = _autocorrelation(envelope)
    if ac[0] <= 0:
        return tempo_bpm
    ac = ac / ac[0]
    best, best_score = tempo_bpm, -np.inf
    for candidate in (tempo_bpm / 2, tempo_bpm, tempo_bpm * 2):
        if not TEMPO_RANGE_BPM[0] <= candidate <= TEMPO_RANGE_BPM[1]:
            continue
        lag = 60.0 * onset_rate / candidate
        strength = float(np.interp(lag, np.arange(len(ac)), ac))
        score = strength * np.exp(-0.5 * (np.log2(candidate / centre) / PRIOR_WIDTH_OCTAVES) ** 2)
        if score > best_score:
            best, best_score = candidate, score
    return best


def pulse_envelope(features: Features, *, novelty: bool = True) -> np.ndarray:
    """The envelope the pulse is read from: spectral flux, pitch-class flux and (twice weighted)
    windowed pitch-class novelty, each scaled to unit standard deviation. Pitch-class flux marks
    new notes and chords that arrive without a percussive attack (organ, strings); the windowed
    novelty still hears them through a choir's slow attack and vibrato; harmonic changes land
    on beats."""
    def unit(series: np.ndarray) -> np.ndarray:
        return series / max(float(series.std()), 1e-9)

    return (unit(features.onset) + PITCH_WEIGHT * unit(features.pitch_onset)
            + (NOVELTY_WEIGHT * unit(features.pitch_novelty) if novelty else 0.0)).astype(np.float32)


def analyze_rhythm(features: Features) -> Rhythm:
    """Tempo, beats, downbeats, meter and tempo curve of a track's :class:`Features`."""
    onset = pulse_envelope(features)
    legato = percussiveness(features.onset) < LEGATO_PERCUSSIVENESS
    # with attacks, the tempo comes from spectral flux alone: with pitch-class flux added,
    # syncopated AI drafts were read at 2/3 of their tempo more often (11 of 14 right instead of
    # 13); without them (a choir, an organ) the flux is vibrato and the chord changes carry the
    # pulse (20 of 20 chorale tempos within 1 %, against 18 from the flux)
    tempo = estimate_tempo(onset if legato else features.onset, features.onset_rate)
    # with attacks, the octave is weighed without the windowed novelty: its slow rise would
    # favour half notes over a drum pattern's quarters
    octave_envelope = onset if legato else pulse_envelope(features, novelty=False)
    tempo = _octave_check(octave_envelope, features.onset_rate, tempo, legato=legato)
    lead = LEGATO_ATTACK_LEAD_S if legato else ATTACK_LEAD_S
    windows = windowed_autocorrelations(onset, features.onset_rate)
    chosen, subdivision = _metrical_pulse(onset, features.onset_rate, tempo, legato=legato, windows=windows)
    frames = track_beats(onset, features.onset_rate, 60.0 * features.onset_rate / float(np.median(np.diff(chosen))),
                         tightness=TIGHTNESS if legato else FOLLOW_TIGHTNESS, windows=windows) \
        if len(chosen) >= 8 else chosen
    if subdivision == 2 and not legato:
        frames = _attack_phase(features, onset, frames)
    frames = _extended(features, onset, frames)
    times = _subframe(onset, frames) / features.onset_rate - lead  # the tempo is read before clipping at 0
    beats = np.maximum(times, 0.0)
    meter = bar_count(_downbeat_evidence(features, beats, lead), float(np.median(np.diff(beats)))) \
        if len(beats) >= 8 else 4
    return rhythm_from_grid(times, _downbeats(features, beats, lead, meter), meter, subdivision)


def rhythm_from_grid(beats_s: np.ndarray, downbeats_s: np.ndarray, beats_per_bar: int, subdivision: int, *,
                     user_set: bool = False) -> Rhythm:
    """A :class:`Rhythm` for a beat grid (seconds; beats before 0 count for the tempo only):
    the tempo and its curve are read from the beat intervals.

    The curve is the local BPM, median of 3 then mean of :data:`CURVE_BEATS` intervals; the tempo "drifts" when the
    curve's 5th–95th percentile spread exceeds :data:`DRIFT_THRESHOLD`. A steady tempo is 60 /
    the mean of the regular intervals (finer than any one interval), a drifting one the median.
    """
    times = np.asarray(beats_s, dtype=float)
    beats = np.maximum(times, 0.0)
    if len(times) >= 3:
        local = 60.0 / np.diff(times)
        intervals = filters.median_filter1d(np.diff(times), min(3, len(times) - 1), mode="nearest")
        smooth = 60.0 / filters.uniform_filter1d(intervals, min(CURVE_BEATS, len(intervals)), mode="nearest")
        curve_t = beats[1:]
        lo, hi = np.percentile(smooth, [5, 95])
        drifts = bool((hi - lo) / np.median(smooth) > DRIFT_THRESHOLD)
        intervals = np.diff(times)
        regular = intervals[np.abs(intervals / np.median(intervals) - 1.0) < 0.15]
        tempo = float(60.0 / regular.mean()) if not drifts and regular.size else float(np.median(local))
    elif len(times) == 2:
        tempo, curve_t, smooth, drifts = float(60.0 / (times[1] - times[0])), np.zeros(0), np.zeros(0), False
    else:
        tempo, curve_t, smooth, drifts = PRIOR_CENTRE_BPM, np.zeros(0), np.zeros(0), False
    return Rhythm(tempo_bpm=tempo, beats_s=beats, downbeats_s=np.asarray(downbeats_s, dtype=float),
                  beats_per_bar=int(beats_per_bar), tempo_curve_s=curve_t, tempo_curve_bpm=smooth, drifts=drifts,
                  subdivision=int(subdivision), user_set=user_set)


def _extended(features: Features, envelope: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """Beat frames carried on at the edge periods to the start and the end of the track where the
    music sounds there: a beat whose envelope peak (±2 frames) reaches a third of the beats'
    median, or, at the very start (whose first frame has no flux to show an attack), whose
    level is within 30 dB of the track's loudest. The tracker drops such edge beats."""
    if len(frames) < 4:
        return frames
    peaks = filters.maximum_filter1d(envelope, size=5, mode="nearest")
    floor = float(np.median(peaks[frames])) / 3.0
    loud = float(np.max(features.rms_db)) - 30.0
    head, tail = [], []
    period = float(frames[1] - frames[0])
    t = frames[0] - period
    while t > -2.5:
        f = int(round(max(t, 0.0)))
        if peaks[f] < floor and not (f <= 2 and features.rms_db[min(f, len(features.rms_db) - 1)] > loud):
            break
        head.append(f)
        t -= period
    period = float(frames[-1] - frames[-2])
    t = frames[-1] + period
    while t < len(envelope) - 1:
        f = int(round(t))
        if peaks[f] < floor:
            break
        tail.append(f)
        t += period
    return np.concatenate((np.array(head[::-1], dtype=int), frames, np.array(tail, dtype=int)))


def _subframe(envelope: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """Beat frames refined between frames (float): the vertex of a parabola through the envelope
    at each beat frame and its neighbours, where the beat frame is a local peak (±½ frame)."""
    out = frames.astype(np.float64)
    inner = (frames > 0) & (frames < len(envelope) - 1)
    f = frames[inner]
    y0, y1, y2 = envelope[f - 1].astype(np.float64), envelope[f].astype(np.float64), envelope[f + 1].astype(np.float64)
    denominator = y0 - 2 * y1 + y2
    peak = (y1 >= y0) & (y1 >= y2) & (denominator < 0)
    shift = np.where(peak, 0.5 * (y0 - y2) / np.where(peak, denominator, -1.0), 0.0)
    out[inner] += np.clip(shift, -0.5, 0.5)
    return out


#: The off-beat phase is taken instead when the attacks (spectral flux and low-frequency flux,
#: at half weight each) outweigh the pulse envelope's preference for the tracked phase by this
#: much (z-scores): a four-on-the-floor kick under off-beat hats and a pitched bass, whose note
#: changes make the off-beats salient in the pulse envelope. Music with attacks only.
OFFBEAT_MARGIN = 0.5


def _attack_phase(features: Features, envelope: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """Beat frames, moved half a beat where the attacks say the tracker took the off-beats."""
    if len(frames) < 8:
        return frames
    rate = features.onset_rate
    times = frames / rate
    middles = times[:-1] + np.diff(times) / 2
    width = 0.03

    def contrast(series: np.ndarray) -> float:
        z = standardised(series.astype(np.float64))
        return float(sample(z, rate, times[:-1], width).mean() - sample(z, rate, middles, width).mean())

    if contrast(envelope) + 0.5 * (contrast(features.onset) + contrast(features.low_onset)) < -OFFBEAT_MARGIN:
        return np.round(middles * rate).astype(int)
    return frames


def _metrical_pulse(envelope: np.ndarray, rate: float, tempo_bpm: float, *, legato: bool,
                    windows: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, int]:
    """(beat frames, subdivision): beats tracked at the candidate tempo (the estimate, its
    octaves and 3:2 relatives) whose grid best fits a metrical hierarchy (:mod:`.metre`).

    Legato music is read with the preference centred on :data:`LEGATO_CENTRE_BPM` and a wider
    margin for a compound reading (:data:`LEGATO_COMPOUND_MARGIN`): its windowed-novelty
    envelope smears each chord change over ±140 ms, which puts accent on a slow beat's thirds
    (nearer the beats than its half).
    """
    accent = standardised(envelope.astype(np.float64))
    preferred = LEGATO_CENTRE_BPM if legato else PREFERRED_BEAT_BPM
    margin = LEGATO_COMPOUND_MARGIN if legato else COMPOUND_MARGIN
    best: tuple[float, np.ndarray, int] | None = None
    for ratio in CANDIDATE_RATIOS:
        candidate = tempo_bpm * ratio
        if not BEAT_RANGE_BPM[0] <= candidate <= BEAT_RANGE_BPM[1]:
            continue
        frames = track_beats(envelope, rate, candidate, windows=windows)
        if len(frames) < 8:
            continue
        fit = grid_score(accent, rate, frames / rate, preferred_bpm=preferred, compound_margin=margin)
        if best is None or fit.score > best[0]:
            best = (fit.score, frames, fit.subdivision)
    if best is None:
        return track_beats(envelope, rate, tempo_bpm, windows=windows), 2
    return best[1], best[2]
