"""The note benchmark's corpus, split and own meters (bench/notes_*.py, bench/bench_notes.py).

The harness grades `trackwright note` from outside, so its meters are checked here against
signals whose change is known by construction (a gain, a shelf, a stretch, a transposition).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

import bench_notes as bn
import notes_corpus as nc
import notes_measure as nm

RATE = 22050


@pytest.fixture(scope="module")
def corpus() -> list[nc.Note]:
    return nc.load_corpus()


def test_corpus_is_large_covers_every_category_and_parses(corpus: list[nc.Note]) -> None:
    assert len(corpus) >= 240
    counts = {c: sum(n.category == c for n in corpus) for c in nc.CATEGORIES}
    assert min(counts.values()) >= 10, counts
    assert len({n.id for n in corpus}) == len(corpus)
    assert any(n.refuse for n in corpus) and any(n.no_change for n in corpus)
    assert any(t.direction == "not_up" for n in corpus for c in n.clauses for t in c.keep)


def test_corpus_phrasings_are_not_taken_from_the_tests_demo_or_readme(corpus: list[nc.Note]) -> None:
    root = BENCH.parent
    texts = [p.read_text(encoding="utf-8").lower() for p in (*sorted((root / "tests").glob("*.py")),
                                                             root / "README.md", root / "src/trackwright/demo.py")
             if p.name != Path(__file__).name]
    copied = [n.text for n in corpus if len(n.text.strip()) > 12
              and any(n.text.lower().rstrip(".!?") in text for text in texts)]
    assert copied == []


def test_split_is_the_committed_seeded_stratified_draw(corpus: list[nc.Note]) -> None:
    split = nc.load_split()
    assert nc.make_split(corpus)["heldout"] == split["heldout"]  # the corpus was not edited under the split
    assert not set(split["dev"]) & set(split["heldout"])
    assert set(split["dev"]) | set(split["heldout"]) == {n.id for n in corpus}
    for category in nc.CATEGORIES:
        ids = [n.id for n in corpus if n.category == category]
        held = sum(i in split["heldout"] for i in ids)
        assert abs(held - 0.3 * len(ids)) <= 1, category


@pytest.mark.parametrize("text, key, direction, low, high", [
    ("band 20-150 down", "band[20-150]", "down", None, None),
    ("tempo up 10", "tempo", "up", 7.0, 13.0),
    ("centroid up 3..10", "centroid", "up", 3.0, 10.0),
    ("loudness up 3..", "loudness", "up", 3.0, None),
    ("duration down 10", "duration", "down", 7.5, 12.5),
    ("duration to 30", "duration", "to", 29.0, 31.0),
    ("part drums same", "part[drums]", "same", None, None),
])
def test_terms_parse(text: str, key: str, direction: str, low: float | None, high: float | None) -> None:
    term = nc.parse_term(text)
    assert (term.key, term.direction, term.low, term.high) == (key, direction, low, high)


@pytest.mark.parametrize("text", ["brightness up", "band 150-20 up", "part vocals up", "centroid sideways",
                                  "loudness to 3"])
def test_malformed_terms_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        nc.parse_term(text)


# --- the meters, on signals whose change is known -------------------------------------------------
def _noise(seconds: float = 8.0, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 0.1 * rng.standard_normal((2, int(seconds * RATE)))


def _clicks(period_s: float, seconds: float = 12.0) -> np.ndarray:
    x = np.zeros(int(seconds * RATE))
    for t in np.arange(0.25, seconds - 0.1, period_s):
        i = int(t * RATE)
        x[i:i + 200] += np.hanning(400)[200:] * np.sin(np.arange(200) * 0.9)
    return np.stack([x, x])


def test_loudness_follows_a_gain_and_band_shares_ignore_it() -> None:
    a = nm.Track(_noise(), RATE)
    b = nm.Track(a.samples * 10 ** (1.5 / 20), RATE)
    assert nm.loudness_lufs(b, 0, 8) - nm.loudness_lufs(a, 0, 8) == pytest.approx(1.5, abs=0.02)
    assert nm.band_share_db(b, 0, 8, 200, 500) == pytest.approx(nm.band_share_db(a, 0, 8, 200, 500), abs=0.01)
    assert nm.centroid_hz(b, 0, 8) == pytest.approx(nm.centroid_hz(a, 0, 8), rel=1e-6)


def test_a_low_boost_raises_the_low_band_share_and_lowers_the_centroid() -> None:
    from scipy import signal

    a = nm.Track(_noise(), RATE)
    sos = signal.butter(2, 150, "lowpass", fs=RATE, output="sos")
    b = nm.Track(a.samples + 2.0 * signal.sosfilt(sos, a.samples, axis=-1), RATE)
    assert nm.band_share_db(b, 0, 8, 20, 150) - nm.band_share_db(a, 0, 8, 20, 150) > 3.0
    assert nm.centroid_hz(b, 0, 8) < nm.centroid_hz(a, 0, 8)


def test_width_measures_the_side_channel() -> None:
    rng = np.random.default_rng(2)
    mid, side = rng.standard_normal(RATE * 4), 0.3 * rng.standard_normal(RATE * 4)
    narrow = nm.Track(np.stack([mid + side, mid - side]), RATE)
    wide = nm.Track(np.stack([mid + 2 * side, mid - 2 * side]), RATE)
    assert nm.width_db(wide, 0, 4) - nm.width_db(narrow, 0, 4) == pytest.approx(20 * np.log10(2), abs=0.05)
    assert nm.width_db(nm.Track(np.stack([mid, mid]), RATE), 0, 4) == -60.0


def test_onset_density_counts_clicks_and_tempo_factor_finds_a_stretch() -> None:
    slow = nm.Track(_clicks(0.5), RATE)
    fast = nm.Track(_clicks(0.5 / 1.1, seconds=12.0 / 1.1), RATE)
    assert nm.onset_density(slow, 0, 12) == pytest.approx(2.0, rel=0.1)
    assert nm.tempo_factor(slow, fast) == pytest.approx(1.1, abs=0.01)
    assert nm.tempo_factor(slow, slow) == pytest.approx(1.0, abs=0.003)


def test_pitch_shift_finds_a_transposition_and_ignores_an_eq() -> None:
    t = np.arange(6 * RATE) / RATE

    def tone(f0: float) -> np.ndarray:
        x = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6))
        return np.stack([x, x]) * 0.1

    a = nm.Track(tone(220.0) + tone(330.0), RATE)
    up = nm.Track(tone(220.0 * 2 ** (2 / 12)) + tone(330.0 * 2 ** (2 / 12)), RATE)
    tilted = nm.Track(a.samples + np.gradient(a.samples, axis=-1) * 3, RATE)
    assert nm.pitch_shift_st(a, up, ((0, 6), (0, 6))) == pytest.approx(2.0, abs=0.1)
    assert nm.pitch_shift_st(a, tilted, ((0, 6), (0, 6))) == pytest.approx(0.0, abs=0.1)


def test_fade_depth_and_region_comparison() -> None:
    x = _noise(seconds=10.0)
    faded = x.copy()
    n = 4 * RATE
    faded[:, -n:] *= np.linspace(1.0, 0.0, n) ** 2
    a, b = nm.Track(x, RATE), nm.Track(faded, RATE)
    edge, middle = nm.fade_depth_db(b, at_end=True, length_s=4.0)
    assert edge < -20 and middle == pytest.approx(20 * np.log10(0.25), abs=1.0)  # gain 0.25 half-way
    assert nm.fade_depth_db(a, at_end=True, length_s=4.0)[0] == pytest.approx(0.0, abs=0.5)
    assert nm.compare_region(a, b, 0, 5.5).identical
    changed = nm.compare_region(a, nm.Track(x * 10 ** (0.5 / 20), RATE), 0, 5)
    assert not changed.unchanged() and changed.max_short_term_lu == pytest.approx(0.5, abs=0.01)


# --- judging -------------------------------------------------------------------------------------------
BASE = {"duration_s": 60.0, "drop_s": 20.0, "sections": [
    {"role": "intro", "start_s": 0.0, "end_s": 8.0}, {"role": "verse", "start_s": 8.0, "end_s": 24.0},
    {"role": "chorus", "start_s": 24.0, "end_s": 40.0}, {"role": "chorus", "start_s": 40.0, "end_s": 60.0}]}


def test_places_resolve_against_the_material() -> None:
    assert bn.resolve_place({"last_s": 20}, BASE).cores == [(40.0, 60.0)]
    assert bn.resolve_place({"section": "chorus", "n": 2}, BASE).cores == [(40.0, 60.0)]
    assert bn.resolve_place({"section": "chorus", "every": True}, BASE).cores == [(24.0, 40.0), (40.0, 60.0)]
    assert bn.resolve_place({"before": "chorus", "n": 1, "s": 6}, BASE).cores == [(18.0, 24.0)]
    assert bn.resolve_place({"span": "0:30-0:45"}, BASE).zones == [(28.0, 47.0)]
    assert bn.resolve_place(None, BASE).whole
    for bad in ({"span": "9:99-10:10"}, {"span": "0:45-0:30"}, {"at": "1:20"}, {"last_s": 90}):
        with pytest.raises(bn.InvalidPlace):
            bn.resolve_place(bad, BASE)
    with pytest.raises(bn.NotApplicable):
        bn.resolve_place({"section": "bridge", "n": 1}, BASE)
    assert bn.parse_clock("1:20") == 80.0
    with pytest.raises(bn.InvalidPlace):
        bn.parse_clock("0:75")


def test_verdicts_follow_thresholds_and_amounts() -> None:
    assert bn.verdict(nc.parse_term("loudness up"), 0.6)[0] == "ok"
    assert bn.verdict(nc.parse_term("loudness up"), 0.3)[0] == "small"
    assert bn.verdict(nc.parse_term("loudness up"), -0.6)[0] == "wrong"
    assert bn.verdict(nc.parse_term("centroid up 3..10"), 15.0)[0] == "large"
    assert bn.verdict(nc.parse_term("loudness not_up"), 0.25)[0] == "broken"
    assert bn.verdict(nc.parse_term("loudness not_up"), 0.15)[0] == "ok"
    assert bn.verdict(nc.parse_term("duration to 30"), 30.6)[0] == "ok"
    assert bn.verdict(nc.parse_term("tempo up 10"), 5.0)[0] == "small"


def test_outside_regions_leave_out_the_scope_and_its_ramps() -> None:
    place = bn.resolve_place({"span": "0:20-0:30"}, BASE)
    assert bn.outside_regions([place], 60.0, 60.0, "both", False) == [(0.0, 18.0, 0.0), (32.0, 60.0, 0.0)]
    assert bn.outside_regions([place], 60.0, 55.0, "both", False) == [(0.0, 18.0, 0.0), (32.0, 60.0, -5.0)]
    assert bn.outside_regions([place], 60.0, 60.0, "head", False) == [(0.0, 18.0, 0.0)]
    assert bn.outside_regions([bn.resolve_place(None, BASE)], 60.0, 60.0, "both", False) == []


def test_tool_claims_are_read_from_flags_and_words() -> None:
    assert bn.tool_claim({"measurements": [{"as_asked": True}, {"as_asked": True}]}) is True
    assert bn.tool_claim({"measurements": [{"as_asked": True}, {"as_asked": False}]}) is False
    assert bn.tool_claim({"notes": ["loudness: not achieved (+0.4 LU)"], "x": {"as_asked": True}}) is False
    assert bn.tool_claim({"changes": []}) is None
    assert re.search("stem", "needs a drum stem") and bn._mentions_parts(["split it into stems with --separate"])


def _measured(**changes: object) -> dict:
    base = {"expected": "move", "made": True, "crash": None, "claimed": True, "mentions_parts": False, "refusal": "",
            "duration_before_s": 60.0, "outside": [], "terms": [
                {"clause": 0, "group": "expect", "term": "centroid down", "values": [-5.0]},
                {"clause": 0, "group": "keep", "term": "loudness not_up", "values": [0.1]}]}
    return {**base, **changes}


def test_grading_from_stored_measurements() -> None:
    note = nc.parse_note({"id": "x-1", "text": "warmer, not louder", "category": "constraint",
                          "expect": ["centroid down"], "keep": ["loudness not_up"]})
    assert bn.grade(note, _measured())["status"] == "pass"
    broken = bn.grade(note, _measured(terms=[{"clause": 0, "group": "expect", "term": "centroid down", "values": [-5.0]},
                                             {"clause": 0, "group": "keep", "term": "loudness not_up", "values": [1.3]}]))
    assert broken["status"] == "fail" and broken["constraint_broken"] and not broken["constraint_caught"]
    assert broken["lie"]  # the tool claimed "as asked"
    outside = bn.grade(note, _measured(claimed=False, outside=[
        {"span": [0, 20], "max_short_term_lu": 0.05, "max_band_db": 2.3, "identical": False}]))
    assert outside["status"] == "fail" and not outside["lie"]
    assert [c["kind"] for c in outside["causes"]] == ["outside the scope changed"]
    assert bn.grade(note, _measured(made=False, refusal="error: nothing to change"))["causes"][0]["kind"].startswith("refused")
    refuse = nc.parse_note({"id": "x-2", "text": "louder but quieter", "category": "contradiction", "refuse": True})
    assert bn.grade(refuse, _measured(expected="refuse", made=False, terms=[]))["status"] == "pass"
    assert bn.grade(refuse, _measured(expected="refuse", terms=[]))["status"] == "fail"
    needs = nc.parse_note({"id": "x-3", "text": "keep the drums", "category": "constraint", "needs": ["drums"],
                           "expect": ["centroid down"]})
    assert bn.grade(needs, _measured(expected="needs", terms=[]))["status"] == "fail"
    assert bn.grade(needs, _measured(expected="needs", terms=[], mentions_parts=True))["status"] == "pass"


def test_a_small_stretch_is_not_a_length_change_on_a_long_piece() -> None:
    assert bn.verdict(nc.parse_term("duration up"), 1.04, duration_s=58.0)[0] == "small"
    assert bn.verdict(nc.parse_term("duration down"), -2.5, duration_s=90.0)[0] == "ok"
