"""Near-duplicate groups across a catalogue, without comparing every pair.

Three stages, each cheaper per pair than the next and run on fewer pairs:

1. **Index** (:class:`SimHashIndex`): every window embedding of every track is standardised and
   whitened by a PCA fitted on the catalogue's own windows (:func:`fit_projection`, no labels:
   :data:`PCA_DIMS` directions in which the catalogue's windows differ most), then hashed by
   random hyperplanes (SimHash: a bit per hyperplane, the sign of the projection) into
   :data:`BANDS` bands of :data:`BITS` bits. For two windows at angle θ a band agrees with
   probability ``(1 − θ/π)^BITS``: a window and its copy share many bands, two unrelated windows
   seldom one. Two tracks are *candidates* when some pair of their windows shares at least
   :data:`MIN_HITS` bands. The index is sorted arrays, one band at a time: O(windows × bands ×
   log windows) time, O(windows) memory; a bucket of more than :data:`BUCKET_CAP` windows (a
   sound every catalogue has) is skipped, so no bucket can make the cost quadratic.
2. **Prefilter**: the best cosine between the two tracks' whitened windows must reach
   :data:`PREFILTER_COSINE` (microseconds per pair).
3. **Verification** (:func:`match_score`): the two chroma sequences, each centred on its own mean
   pitch-class profile, are cross-correlated at every time lag (FFT) and pitch shift up to
   ±:data:`MAX_SHIFT_SEMITONES`; the score is the best mean frame cosine over an overlap that
   covers :data:`MIN_COVERAGE` of the shorter track. On the development split copies score
   ≥ 0.89 and different pieces — drafts of one prompt too (same key, tempo and style) — ≤ 0.27;
   pairs at or over :data:`MATCH_SCORE` are duplicates.

Groups are the connected components of the verified pairs (union–find). Catalogues of at most
:data:`EXACT_LIMIT` tracks (or :data:`MIN_INDEX_WINDOWS` windows) skip stages 1–2 and verify every pair.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from trackwright.batch.fingerprint import (
    EMBEDDING_DIMS,
    FRAME_RATE_HZ,
    MIN_AUDIBLE_S,
    Fingerprint,
)

PCA_DIMS = 24
BITS = 24
BANDS = 128
MIN_HITS = 3
BUCKET_CAP = 64
PREFILTER_COSINE = 0.5
MAX_SHIFT_SEMITONES = 2
MIN_OVERLAP_S = MIN_AUDIBLE_S
#: Share of the shorter track's audible frames the overlap must cover.
MIN_COVERAGE = 0.75
MATCH_SCORE = 0.6
EXACT_LIMIT = 64
#: Fewer windows than this cannot estimate the whitening: every pair is verified instead.
MIN_INDEX_WINDOWS = 10 * PCA_DIMS
#: At most this many tracks' windows estimate the catalogue's mean and spread.
STATS_SAMPLE = 4000
SEED = 20261203


@dataclass(frozen=True)
class Match:
    """A verified pair: track indices ``a < b``, the score (mean frame cosine, −1…1), the pitch
    shift that aligns ``b`` with ``a`` (semitones) and the time offset of ``b`` in ``a`` (seconds)."""

    a: int
    b: int
    score: float
    shift_semitones: int
    offset_s: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"a": self.a, "b": self.b, "score": round(self.score, 4), "shift_semitones": self.shift_semitones,
                "offset_s": round(self.offset_s, 2)}


@dataclass(frozen=True)
class DuplicateReport:
    """Duplicate groups (lists of track indices, each sorted, groups ordered by first member),
    the verified matches, and what the search cost."""

    groups: list[list[int]]
    matches: list[Match]
    stats: dict[str, Any] = field(default_factory=dict)

    def group_of(self, count: int) -> list[int | None]:
        """For each of ``count`` tracks, its group number (1-based) or None."""
        out: list[int | None] = [None] * count
        for number, group in enumerate(self.groups, start=1):
            for index in group:
                out[index] = number
        return out


def _centred(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(frames minus the track's mean profile, re-normalised; audible mask) of unit chroma frames."""
    audible = np.linalg.norm(frames, axis=0) > 0
    if not audible.any():
        return np.zeros_like(frames), audible
    centred = np.where(audible, frames - frames[:, audible].mean(axis=1, keepdims=True), 0.0)
    norms = np.linalg.norm(centred, axis=0)
    return np.where(audible & (norms > 1e-9), centred / np.maximum(norms, 1e-9), 0.0), audible


def match_score(a: Fingerprint, b: Fingerprint, *,
                max_shift_semitones: int = MAX_SHIFT_SEMITONES) -> tuple[float, int, float]:
    """(score, pitch shift of b in semitones, offset of b in a in seconds) of the best alignment.

    The score is the mean cosine of the centred chroma frames where the two overlap, maximised
    over every lag where the audible overlap covers :data:`MIN_COVERAGE` of the shorter track and
    at least :data:`MIN_OVERLAP_S` (shorter tracks never match), and every pitch shift within
    ``±max_shift_semitones``; −1 when they cannot overlap. A near-duplicate is most of one track
    inside the other: short chance agreements of two different pieces do not count.
    """
    za, va = _centred(a.frames())
    zb, vb = _centred(b.frames())
    length = za.shape[1] + zb.shape[1]
    size = 1 << int(np.ceil(np.log2(max(length, 2))))
    shorter = float(min(va.sum(), vb.sum()))
    need = max(MIN_OVERLAP_S * FRAME_RATE_HZ, MIN_COVERAGE * shorter)
    if shorter < need:
        return -1.0, 0, 0.0
    overlap = np.fft.irfft(np.fft.rfft(va.astype(float), size) * np.conj(np.fft.rfft(vb.astype(float), size)), size)
    valid = overlap >= need - 0.5
    if not valid.any():
        return -1.0, 0, 0.0
    spectrum_a = np.fft.rfft(za, size, axis=1)
    spectrum_b = np.fft.rfft(zb, size, axis=1)
    best = (-1.0, 0, 0)
    for shift in range(-max_shift_semitones, max_shift_semitones + 1):
        correlation = np.fft.irfft((spectrum_a * np.conj(np.roll(spectrum_b, shift, axis=0))).sum(axis=0), size)
        scores = np.where(valid, correlation / np.maximum(overlap, 1.0), -1.0)
        lag = int(np.argmax(scores))
        if scores[lag] > best[0]:
            best = (float(scores[lag]), shift, lag)
    score, shift, lag = best
    lag = lag - size if lag > size // 2 else lag
    return score, shift, lag / FRAME_RATE_HZ


@dataclass(frozen=True)
class CatalogueProjection:
    """Per-dimension standardisation and a PCA whitening to ``dims`` dimensions, fitted on the
    catalogue's own windows (no labels): the directions in which its windows differ most, each
    scaled to unit variance, so that cosines compare what tells tracks apart."""

    mean: np.ndarray
    scale: np.ndarray
    basis: np.ndarray

    @property
    def dims(self) -> int:
        """Dimensions after whitening."""
        return int(self.basis.shape[1])

    def __call__(self, embeddings: np.ndarray) -> np.ndarray:
        """Embeddings (windows × EMBEDDING_DIMS) whitened and cut to unit length (windows × dims)."""
        z = ((embeddings.astype(np.float32) - self.mean) / self.scale) @ self.basis
        return z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-9)


def fit_projection(embeddings: Sequence[np.ndarray], *, dims: int = PCA_DIMS) -> CatalogueProjection:
    """:class:`CatalogueProjection` from the windows of up to :data:`STATS_SAMPLE` tracks (evenly picked)."""
    step = max(1, len(embeddings) // STATS_SAMPLE)
    stacked = [e.astype(np.float32) for e in embeddings[::step] if len(e)]
    if not stacked:
        return CatalogueProjection(np.zeros(EMBEDDING_DIMS, np.float32), np.ones(EMBEDDING_DIMS, np.float32),
                                   np.eye(EMBEDDING_DIMS, dims, dtype=np.float32))
    windows = np.concatenate(stacked)
    mean, scale = windows.mean(axis=0), windows.std(axis=0) + 1e-3
    standard = (windows - mean) / scale
    _, singular, rows = np.linalg.svd(standard, full_matrices=False)
    dims = min(dims, len(singular))
    spread = np.maximum(singular[:dims] / np.sqrt(max(len(standard), 1)), 1e-6)
    return CatalogueProjection(mean, scale, (rows[:dims].T / spread).astype(np.float32))


class SimHashIndex:
    """Random-hyperplane LSH over whitened window embeddings, banded, held in sorted arrays.

    Parameters
    ----------
    projection : CatalogueProjection
        Standardisation and whitening fitted on the catalogue.
    bits, bands : int
        Bits per band and number of bands.
    bucket_cap : int
        Buckets holding more windows than this are ignored when pairs are read out.
    min_hits : int
        A pair of tracks is a candidate when one pair of their windows shares at least this many bands.
    seed : int
        Seed of the hyperplanes (the same seed, the same buckets).
    """

    def __init__(self, projection: CatalogueProjection, *, bits: int = BITS, bands: int = BANDS,
                 bucket_cap: int = BUCKET_CAP, min_hits: int = MIN_HITS, seed: int = SEED) -> None:
        self.projection = projection
        self.bits, self.bands, self.bucket_cap, self.min_hits = bits, bands, bucket_cap, min_hits
        rng = np.random.default_rng(seed)
        self.planes = rng.standard_normal((bands, projection.dims, bits)).astype(np.float32)
        self._weights = 1 << np.arange(bits, dtype=np.int64)
        self._vectors: list[np.ndarray] = []
        self._owners: list[np.ndarray] = []

    def add(self, track: int, whitened: np.ndarray) -> None:
        """Index the (whitened, unit-length) windows of ``track``."""
        if len(whitened):
            self._vectors.append(whitened.astype(np.float32))
            self._owners.append(np.full(len(whitened), track, dtype=np.int64))

    @property
    def entries(self) -> int:
        """Windows indexed."""
        return int(sum(len(v) for v in self._vectors))

    def candidate_pairs(self) -> tuple[list[tuple[int, int]], int]:
        """(pairs (a < b) of tracks with a pair of windows sharing at least ``min_hits`` buckets, sorted;
        the number of buckets skipped as holding more than ``bucket_cap`` windows).

        Hits are counted per *window pair*: two copies have windows that agree almost everywhere, so
        some pair of them shares many bands, while two unrelated songs only ever share a band here
        and there between different pairs of windows.
        """
        if not self._vectors:
            return [], 0
        vectors = np.concatenate(self._vectors)
        owners = np.concatenate(self._owners)
        windows, tracks = len(vectors), int(owners.max()) + 1
        keys: list[np.ndarray] = []
        skipped = 0
        for band in range(self.bands):
            codes = (vectors @ self.planes[band] > 0).astype(np.int64) @ self._weights
            order = np.argsort(codes, kind="stable")
            ordered = codes[order]
            starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
            sizes = np.diff(np.r_[starts, windows])
            skipped += int(np.count_nonzero(sizes > self.bucket_cap))
            for size in np.unique(sizes[(sizes > 1) & (sizes <= self.bucket_cap)]).tolist():
                members = order[starts[sizes == size][:, None] + np.arange(size)]  # buckets × size window ids
                first, second = np.triu_indices(size, 1)
                a, b = members[:, first].ravel(), members[:, second].ravel()
                other = owners[a] != owners[b]
                keys.append(np.minimum(a, b)[other] * windows + np.maximum(a, b)[other])
        if not keys:
            return [], skipped
        pairs, hits = np.unique(np.concatenate(keys), return_counts=True)
        strong = pairs[hits >= self.min_hits]
        a, b = owners[strong // windows], owners[strong % windows]
        chosen = np.unique(np.minimum(a, b) * tracks + np.maximum(a, b))
        return [(int(p // tracks), int(p % tracks)) for p in chosen], skipped


class _UnionFind:
    def __init__(self, count: int) -> None:
        self.parent = list(range(count))

    def find(self, item: int) -> int:
        while self.parent[item] != item:
            self.parent[item] = self.parent[self.parent[item]]
            item = self.parent[item]
        return item

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def find_duplicates(embeddings: Sequence[np.ndarray], load: Callable[[int], Fingerprint], *,
                    exact_limit: int = EXACT_LIMIT, match_threshold: float = MATCH_SCORE) -> DuplicateReport:
    """Near-duplicate groups of a catalogue.

    Parameters
    ----------
    embeddings : sequence of np.ndarray, each (windows × EMBEDDING_DIMS)
        Every track's window embeddings, in catalogue order; a track with none (no fingerprint,
        or silence) takes part in no pair.
    load : callable
        ``load(index) -> Fingerprint``: the full fingerprint of a track, read only for the pairs
        that reach verification.
    exact_limit : int
        Up to this many tracks (or fewer than :data:`MIN_INDEX_WINDOWS` windows) every pair is verified.
    match_threshold : float
        Verification score at or over which a pair is a duplicate.

    Returns
    -------
    DuplicateReport
        ``stats`` holds ``tracks``, ``windows``, ``candidates``, ``prefiltered``, ``verified``,
        ``matches``, ``skipped_buckets`` and the seconds spent in ``index_s`` and ``verify_s``.

    Notes
    -----
    Runs with one BLAS thread: its matrices are small, and a multi-threaded BLAS on a busy
    machine made the same work 20–30 times slower here.
    """
    with threadpool_limits(limits=1, user_api="blas"):
        return _find_duplicates(embeddings, load, exact_limit, match_threshold)


def _find_duplicates(embeddings: Sequence[np.ndarray], load: Callable[[int], Fingerprint], exact_limit: int,
                     match_threshold: float) -> DuplicateReport:
    count = len(embeddings)
    started = time.perf_counter()
    stats: dict[str, Any] = {"tracks": count, "windows": int(sum(len(e) for e in embeddings)), "skipped_buckets": 0}
    if count <= exact_limit or stats["windows"] < MIN_INDEX_WINDOWS:
        present = [i for i in range(count) if len(embeddings[i])]
        pairs = [(a, b) for i, a in enumerate(present) for b in present[i + 1:]]
        stats["candidates"] = stats["prefiltered"] = len(pairs)
    else:
        projection = fit_projection(embeddings)
        index = SimHashIndex(projection)
        whitened = [projection(e) if len(e) else e for e in embeddings]
        for track, windows in enumerate(whitened):
            index.add(track, windows)
        candidates, stats["skipped_buckets"] = index.candidate_pairs()
        stats["candidates"] = len(candidates)
        pairs = [pair for pair in candidates
                 if float((whitened[pair[0]] @ whitened[pair[1]].T).max()) >= PREFILTER_COSINE]
        stats["prefiltered"] = len(pairs)
    stats["index_s"] = round(time.perf_counter() - started, 4)
    started = time.perf_counter()
    cache: dict[int, Fingerprint] = {}

    def fetch(index: int) -> Fingerprint:
        if index not in cache:
            if len(cache) > 4096:
                cache.clear()
            cache[index] = load(index)
        return cache[index]

    matches = []
    for a, b in pairs:
        score, shift, offset = match_score(fetch(a), fetch(b))
        if score >= match_threshold:
            matches.append(Match(a, b, score, shift, offset))
    stats["verified"] = len(pairs)
    stats["matches"] = len(matches)
    stats["verify_s"] = round(time.perf_counter() - started, 4)
    union = _UnionFind(count)
    for match in matches:
        union.union(match.a, match.b)
    members: dict[int, list[int]] = {}
    for index in range(count):
        members.setdefault(union.find(index), []).append(index)
    groups = sorted((sorted(g) for g in members.values() if len(g) > 1), key=lambda g: g[0])
    return DuplicateReport(groups=groups, matches=matches, stats=stats)
