"""Near-duplicates: copies that were re-encoded, trimmed, made quieter, resampled or transposed a
semitone are grouped with their original; a different arrangement of the same chords is not."""

from __future__ import annotations

import io
import itertools

import numpy as np
import pytest
import soundfile as sf
from batch_fixtures import RATE, VARIED, chord_song, pitch_shift
from signals import music_like

from trackwright.audio import Audio
from trackwright.batch.duplicates import (
    CatalogueProjection,
    SimHashIndex,
    find_duplicates,
    match_score,
)
from trackwright.batch.fingerprint import (
    EMBEDDING_DIMS,
    FRAME_RATE_HZ,
    Fingerprint,
    fingerprint,
)


def _ogg(samples: np.ndarray, rate: int) -> np.ndarray:
    buffer = io.BytesIO()
    sf.write(buffer, samples.T, rate, format="OGG", subtype="VORBIS")
    buffer.seek(0)
    return sf.read(buffer, dtype="float32", always_2d=True)[0].T


@pytest.fixture(scope="module")
def catalogue() -> tuple[list[str], list[Fingerprint]]:
    """(origin of each track, fingerprints): one song and five copies, two other songs."""
    song = chord_song(VARIED * 2)  # 64 s
    rng = np.random.default_rng(7)
    shuffled = [VARIED[i] for i in rng.permutation(len(VARIED))] * 2
    start, end = round(3.3 * RATE), round(0.8 * song.shape[1])
    tracks = {
        "song": Audio(song, RATE),
        "song quieter": Audio(song * np.float32(10 ** (-9 / 20)), RATE),
        "song trimmed": Audio(song[:, start:end], RATE),
        "song up a semitone": Audio(pitch_shift(song, 1.0), RATE),
        "song re-encoded": Audio(_ogg(song, RATE), RATE),
        "song at 44.1 kHz": Audio(np.repeat(song, 2, axis=1), 2 * RATE),
        "same chords, another order": Audio(chord_song(shuffled), RATE),
        "another song": Audio(music_like(40.0, RATE, seed=3), RATE),
    }
    return list(tracks), [fingerprint(audio) for audio in tracks.values()]


def test_a_fingerprint_is_compact_and_round_trips(tmp_path, catalogue) -> None:
    _, prints = catalogue
    song = prints[0]
    assert song.chroma.dtype == np.uint8 and song.chroma.shape == (12, pytest.approx(64 * FRAME_RATE_HZ, abs=3))
    assert song.embeddings.shape[1] == EMBEDDING_DIMS and song.embeddings.dtype == np.float16
    path = song.save(tmp_path / "song.npz")
    assert path.stat().st_size < 12_000  # about 9 kB for a 64 s song
    again = Fingerprint.load(path)
    assert np.array_equal(again.chroma, song.chroma) and np.array_equal(again.embeddings, song.embeddings)


def test_copies_score_high_and_say_how_they_differ(catalogue) -> None:
    names, prints = catalogue
    by = dict(zip(names, prints))
    score, shift, offset = match_score(by["song"], by["song trimmed"])
    assert score > 0.9 and shift == 0 and offset == pytest.approx(3.3, abs=0.25)
    score, shift, _ = match_score(by["song"], by["song up a semitone"])
    assert score > 0.7 and shift == -1  # rolling the copy's pitch classes down one aligns it
    other, _, _ = match_score(by["song"], by["same chords, another order"])
    assert other < 0.5


@pytest.fixture(scope="module")
def others() -> list[Fingerprint]:
    """30 more songs in the same sound at other tempi: random 30-chord progressions, some transposed."""
    rng = np.random.default_rng(11)
    names = sorted(set(VARIED))
    return [fingerprint(Audio(chord_song([names[i] for i in rng.integers(0, len(names), 30)],
                                         chord_s=float(rng.uniform(1.2, 1.8)), transpose=float(rng.integers(-2, 3))),
                              RATE)) for _ in range(30)]


@pytest.mark.parametrize("exact_limit", [1000, 0], ids=["every pair", "index"])
def test_groups_hold_every_copy_and_nothing_else(catalogue, others, exact_limit: int) -> None:
    names, prints = catalogue
    everything = prints + others
    report = find_duplicates([p.embeddings for p in everything], lambda i: everything[i], exact_limit=exact_limit)
    groups = report.group_of(len(everything))
    copies = [i for i, name in enumerate(names) if name.startswith("song")]
    assert len({groups[i] for i in copies}) == 1 and groups[copies[0]] is not None
    assert sum(1 for g in groups if g == groups[0]) == len(copies)
    pairs = list(itertools.combinations(copies, 2))
    assert report.stats["matches"] >= len(copies) - 1 and len(report.groups) == 1
    if exact_limit == 0:
        n = len(everything)
        assert report.stats["windows"] >= 240  # enough to use the index
        assert report.stats["verified"] < 0.05 * n * (n - 1) / 2  # the index, not all pairs
        assert {(m.a, m.b) for m in report.matches} <= set(pairs)


def test_the_index_finds_near_copies_among_random_vectors_without_all_pairs() -> None:
    rng = np.random.default_rng(1)
    dims = 16
    projection = CatalogueProjection(np.zeros(EMBEDDING_DIMS, np.float32), np.ones(EMBEDDING_DIMS, np.float32),
                                     np.eye(EMBEDDING_DIMS, dims, dtype=np.float32))
    index = SimHashIndex(projection)
    vectors = rng.standard_normal((3000, dims)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    for track, vector in enumerate(vectors):
        index.add(track, np.stack([vector, vector]))  # two windows each
    planted = []
    for k in range(20):  # copies at cosine ≈ 0.95 of the first 20 vectors
        noisy = vectors[k] + 0.33 * rng.standard_normal(dims).astype(np.float32) / np.sqrt(dims)
        noisy /= np.linalg.norm(noisy)
        index.add(3000 + k, np.stack([noisy, noisy]))
        planted.append((k, 3000 + k))
    pairs, skipped = index.candidate_pairs()
    found = set(pairs)
    assert sum(p in found for p in planted) >= 19 and skipped == 0
    assert len(found - set(planted)) < 450  # under 0.01 % of the 4.5 million pairs
