"""Does the critique leave finished music alone, and does it find planted defects? (`make bench`)

Material: the calibration set of released tracks (``bench/critique_set.py``, built into
``bench-out/critique/``), split by ``bench/critique_split.json`` into development and held-out
tracks (the split was fixed before any tuning; report the held-out figures).

(a) **Clean tracks**, each three ways: full length; a 120 s excerpt (from a quarter of the way
in, 0.5 s fade-in and a 5 s fade-out, as a preview is cut); a 30 s clip (from 40 %, 0.5 s in,
3 s out). Printed: findings per track by severity, the mean number of major findings per
track, and every major finding.

(b) **Planted defects**, one of each kind per track and seed, at a seeded random time (between
15 % and 80 % of the track; endings between 40 % and 90 %):

=========== ==================================================================================
cut         a butt splice: 2–12 s removed, no crossfade (the point where the two ends meet)
repeat      a 4–10 s stretch played 3 or 4 times back to back, sample for sample (its span)
dead_air    2–5 s of digital silence inserted (its span)
truncation  the track stops dead there (its end)
clipping    1–4 s whose peak is driven 12 dB over the track's own peak level into a hard clip (its span)
level_jump  4–15 s turned up or down by 6–10 dB, with steps at both ends (its span)
phase_flip  one channel's polarity inverted for 5–20 s (its span)
cut_fade    the track ends there with a 0.2–1.5 s fade over the music still playing (the fade)
dc_offset   a DC offset of ±0.02–0.05 (−34 to −26 dBFS) for 5–20 s (its span)
=========== ==================================================================================

A plant counts as found when a finding of its kind has its start and end each within 2 s of the
plant's (a point plant: the finding's span lies within 2 s of it). Recall is reported per kind
and per style. *Introduced* findings are those on the planted copy that neither match the plant,
nor lie on it (± 2 s, spans under 30 s), nor were there on the clean track (same kind, span
overlapping once mapped onto the planted copy's timeline).

Usage: ``python bench/bench_critique.py [--split held_out|dev|all] [--seeds 1] [--jobs 2]
[--kinds cut repeat …] [--tracks ID …] [--clean-only | --plants-only] [--verbose]``.
Prints numbers and asserts nothing.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from critique_set import STYLES, build, load_split  # noqa: E402

from trackwright.analysis.analyze import analyze  # noqa: E402
from trackwright.audio import Audio, load_audio  # noqa: E402

TOLERANCE_S = 2.0
LOCAL_SPAN_S = 30.0
KINDS = ("cut", "repeat", "dead_air", "truncation", "clipping", "level_jump", "phase_flip", "cut_fade", "dc_offset")
#: Finding kinds that count as finding each planted kind.
ACCEPTS = {"cut": {"hard_cut", "abrupt_transition"}, "repeat": {"verbatim_repeat"}, "dead_air": {"dead_air"},
           "truncation": {"truncated_ending"}, "clipping": {"clipping"}, "level_jump": {"level_jump"},
           "phase_flip": {"phase_flip"}, "cut_fade": {"cut_fade"}, "dc_offset": {"dc_offset"}}


class NotApplicable(Exception):
    """The defect cannot be planted in this track (a channel flip in a mono track)."""


@dataclass(frozen=True)
class Plant:
    """A planted defect: its span on the planted copy and how clean times map onto it."""

    kind: str
    start_s: float
    end_s: float
    removed: tuple[float, float] | None = None   # clean span [a, b) that is gone (a cut, a truncation)
    inserted_at: float | None = None              # clean time after which ``inserted_s`` seconds were added
    inserted_s: float = 0.0

    def map_time(self, clean_s: float) -> float | None:
        """Where a clean time lies on the planted copy (None when it was cut away)."""
        if self.removed is not None:
            a, b = self.removed
            if clean_s < a:
                return clean_s
            return None if clean_s < b else clean_s - (b - a)
        if self.inserted_at is not None and clean_s >= self.inserted_at:
            return clean_s + self.inserted_s
        return clean_s


def _fade(samples: np.ndarray, rate: int, in_s: float, out_s: float) -> np.ndarray:
    out = samples.copy()
    n_in, n_out = round(in_s * rate), round(out_s * rate)
    if n_in:
        out[:, :n_in] *= np.linspace(0.0, 1.0, n_in, dtype=np.float32)
    if n_out:
        out[:, -n_out:] *= np.linspace(1.0, 0.0, n_out, dtype=np.float32)
    return out


def excerpt(audio: Audio, length_s: float, at: float, fade_in_s: float, fade_out_s: float) -> Audio:
    """``length_s`` from ``at`` × the free room (0–1), faded like a preview; the whole track when shorter."""
    rate = audio.sample_rate
    n = round(length_s * rate)
    if audio.samples.shape[1] <= n:
        return audio
    start = round(at * (audio.samples.shape[1] - n))
    return Audio(_fade(audio.samples[:, start: start + n], rate, fade_in_s, fade_out_s), rate)


def plant(audio: Audio, kind: str, rng: np.random.Generator) -> tuple[Audio, Plant]:
    """A copy of ``audio`` with one defect of ``kind`` planted at a random time."""
    x, rate = audio.samples, audio.sample_rate
    duration = audio.duration_s

    def frame(seconds: float) -> int:
        return round(seconds * rate)

    t = float(rng.uniform(0.15, 0.80) * duration)
    if kind == "cut":
        gap = float(rng.uniform(2.0, 12.0))
        a, b = frame(t), frame(t + gap)
        return Audio(np.concatenate((x[:, :a], x[:, b:]), axis=1), rate), Plant(kind, t, t, removed=(t, t + gap))
    if kind == "repeat":
        length, passes = float(rng.uniform(4.0, 10.0)), int(rng.integers(3, 5))
        a, b = frame(t), frame(t + length)
        piece = x[:, a:b]
        out = np.concatenate([x[:, :b]] + [piece] * (passes - 1) + [x[:, b:]], axis=1)
        span = (b - a) / rate
        return Audio(out, rate), Plant(kind, t, t + passes * span, inserted_at=t + span,
                                       inserted_s=(passes - 1) * span)
    if kind == "dead_air":
        gap = float(rng.uniform(2.0, 5.0))
        a = frame(t)
        silent = np.zeros((x.shape[0], frame(gap)), dtype=np.float32)
        return Audio(np.concatenate((x[:, :a], silent, x[:, a:]), axis=1), rate), Plant(
            kind, t, t + gap, inserted_at=t, inserted_s=gap)
    if kind == "phase_flip" and x.shape[0] != 2:
        raise NotApplicable("a phase flip of one channel needs two channels")
    if kind in ("truncation", "cut_fade"):
        end = float(rng.uniform(0.40, 0.90) * duration)
        out = x[:, : frame(end)].copy()
        if kind == "truncation":
            return Audio(out, rate), Plant(kind, end, end, removed=(end, math.inf))
        fade = float(rng.uniform(0.2, 1.5))
        return Audio(_fade(out, rate, 0.0, fade), rate), Plant(kind, end - fade, end, removed=(end, math.inf))
    length = {"clipping": (1.0, 4.0), "level_jump": (4.0, 15.0), "phase_flip": (5.0, 20.0),
              "dc_offset": (5.0, 20.0)}[kind]
    span = float(rng.uniform(*length))
    t = min(t, duration - span - 1.0)
    a, b = frame(t), frame(t + span)
    out = x.copy()
    if kind == "clipping":
        # the passage's own peak driven 12 dB over the track's ceiling (its peak level)
        ceiling = float(np.abs(x).max())
        gain = ceiling / max(float(np.abs(x[:, a:b]).max()), 1e-9) * 10 ** (12 / 20)
        out[:, a:b] = np.clip(x[:, a:b] * np.float32(gain), -ceiling, ceiling)
    elif kind == "level_jump":
        gain_db = float(rng.uniform(6.0, 10.0)) * (1 if rng.random() < 0.5 else -1)
        if gain_db > 0 and float(np.abs(x[:, a:b]).max()) * 10 ** (gain_db / 20) > 0.99:
            gain_db = -gain_db
        out[:, a:b] = x[:, a:b] * np.float32(10 ** (gain_db / 20))
    elif kind == "phase_flip":
        out[-1, a:b] = -x[-1, a:b]
    elif kind == "dc_offset":
        out[:, a:b] = x[:, a:b] + np.float32(rng.uniform(0.02, 0.05) * (1 if rng.random() < 0.5 else -1))
    else:
        raise ValueError(kind)
    return Audio(out, rate), Plant(kind, t, t + span)


def hit(finding: dict, plant_: Plant) -> bool:
    """The finding names the planted kind, its start and end each within 2 s of the plant's."""
    return (finding["kind"] in ACCEPTS[plant_.kind] and abs(finding["start_s"] - plant_.start_s) <= TOLERANCE_S
            and abs(finding["end_s"] - plant_.end_s) <= TOLERANCE_S)


def introduced(planted: list[dict], clean: list[dict], plant_: Plant) -> list[dict]:
    """Findings on the planted copy that the plant does not explain and the clean track did not have."""
    out = []
    for finding in planted:
        if hit(finding, plant_):
            continue
        local = finding["end_s"] - finding["start_s"] < LOCAL_SPAN_S
        on_plant = finding["start_s"] <= plant_.end_s + TOLERANCE_S and finding["end_s"] >= plant_.start_s - TOLERANCE_S
        if local and on_plant:
            continue
        before = False
        for old in (c for c in clean if c["kind"] == finding["kind"]):
            start, end = plant_.map_time(old["start_s"]), plant_.map_time(old["end_s"])
            if start is None and end is None:
                continue
            start = start if start is not None else plant_.start_s
            end = end if end is not None else plant_.end_s
            if start <= finding["end_s"] + TOLERANCE_S and end >= finding["start_s"] - TOLERANCE_S:
                before = True
                break
        if not before:
            out.append(finding)
    return out


def _findings(audio: Audio) -> list[dict]:
    return [f.to_dict() for f in analyze(audio).findings]


def _clean_job(job: tuple[str, str]) -> tuple[str, str, list[dict], float]:
    track_id, path = job
    audio = load_audio(path)
    results = {}
    for name, piece in (("full", audio), ("120s", excerpt(audio, 120.0, 0.25, 0.5, 5.0)),
                        ("30s", excerpt(audio, 30.0, 0.40, 0.5, 3.0))):
        results[name] = _findings(piece)
    return track_id, path, results, audio.duration_s  # type: ignore[return-value]


def _plant_job(job: tuple[str, str, str, int]) -> tuple[str, str, int, Plant | None, list[dict]]:
    track_id, path, kind, seed = job
    audio = load_audio(path)
    rng = np.random.default_rng([seed, KINDS.index(kind), sum(map(ord, track_id))])
    try:
        planted, where = plant(audio, kind, rng)
    except NotApplicable:
        return track_id, kind, seed, None, []
    return track_id, kind, seed, where, _findings(planted)


def _full_job(job: tuple[str, str]) -> tuple[str, list[dict]]:
    return job[0], _findings(load_audio(job[1]))


def _span(f: dict) -> str:
    def clock(s: float) -> str:
        return f"{int(s // 60)}:{s % 60:04.1f}"
    return f"{clock(f['start_s'])}–{clock(f['end_s'])}"


def run_clean(tracks: list[dict], jobs: int) -> dict[str, list[dict]]:
    print("\n== (a) clean tracks: findings per track (major/minor/info) ==")
    per_variant: dict[str, list[int]] = defaultdict(list)
    full: dict[str, list[dict]] = {}
    majors: list[tuple[str, str, dict]] = []
    with ProcessPoolExecutor(jobs) as pool:
        for track_id, _, results, duration in pool.map(_clean_job, [(t["id"], t["path"]) for t in tracks]):
            style = next(t["style"] for t in tracks if t["id"] == track_id)
            full[track_id] = results["full"]
            cells = []
            for variant, findings in results.items():
                counts = [sum(f["severity"] == s for f in findings) for s in ("major", "minor", "info")]
                per_variant[variant].append(counts[0])
                cells.append(f"{variant} {counts[0]}/{counts[1]}/{counts[2]}")
                majors += [(track_id, variant, f) for f in findings if f["severity"] == "major"]
            print(f"  {track_id:30s} {style:11s} {duration:6.1f} s   " + "   ".join(cells), flush=True)
    for variant, counts in per_variant.items():
        print(f"  mean major findings per track, {variant:4s}: {np.mean(counts):.2f} ({sum(counts)} over {len(counts)})")
    print("  every major finding:")
    for track_id, variant, f in majors:
        print(f"    {track_id} [{variant}] {_span(f)} {f['kind']} (conf {f.get('confidence', 1):.2f}, "
              f"ref {f.get('reference') or '-'}): {f['message']}")
    return full


def run_plants(tracks: list[dict], kinds: list[str], seeds: int, jobs: int, verbose: bool,
               clean: dict[str, list[dict]]) -> None:
    print("\n== (b) planted defects: recall (span within 2 s) and introduced findings ==")
    missing = [(t["id"], t["path"]) for t in tracks if t["id"] not in clean]
    style_of = {t["id"]: t["style"] for t in tracks}
    work = [(t["id"], t["path"], kind, seed) for t in tracks for kind in kinds for seed in range(seeds)]
    found: dict[str, list[bool]] = defaultdict(list)
    by_style: dict[str, list[bool]] = defaultdict(list)
    extra: dict[str, int] = defaultdict(int)
    extra_major: dict[str, int] = defaultdict(int)
    with ProcessPoolExecutor(jobs) as pool:
        clean = {**clean, **dict(pool.map(_full_job, missing))}
        for track_id, kind, seed, where, planted in pool.map(_plant_job, work):
            if where is None:
                continue
            ok = any(hit(f, where) for f in planted)
            found[kind].append(ok)
            by_style[style_of[track_id]].append(ok)
            new = introduced(planted, clean[track_id], where)
            extra[kind] += len(new)
            extra_major[kind] += sum(f["severity"] == "major" for f in new)
            if verbose or not ok:
                near = [f"{f['kind']} {_span(f)}" for f in planted
                        if f["start_s"] <= where.end_s + 10 and f["end_s"] >= where.start_s - 10
                        and f["end_s"] - f["start_s"] < LOCAL_SPAN_S]
                print(f"  {'hit ' if ok else 'MISS'} {kind:10s} {track_id:30s} seed {seed} plant "
                      f"{where.start_s:.1f}–{where.end_s:.1f} s; near: {', '.join(near) or '-'}", flush=True)
            if verbose and new:
                for f in new:
                    print(f"       introduced: {f['severity']} {f['kind']} {_span(f)} {f['message'][:110]}")
    print(f"  {'kind':11s} recall   introduced (major) per planted copy")
    for kind in kinds:
        n = len(found[kind])
        print(f"  {kind:11s} {np.mean(found[kind]):6.1%} of {n:3d}   {extra[kind] / max(n, 1):.2f} "
              f"({extra_major[kind] / max(n, 1):.2f})")
    print(f"  {'all':11s} {np.mean([v for vs in found.values() for v in vs]):6.1%}")
    for style in STYLES:
        if by_style[style]:
            print(f"  style {style:11s} {np.mean(by_style[style]):6.1%} of {len(by_style[style])}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("held_out", "dev", "all"), default="held_out")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--kinds", nargs="*", default=list(KINDS), choices=KINDS)
    parser.add_argument("--tracks", nargs="*")
    parser.add_argument("--clean-only", action="store_true")
    parser.add_argument("--plants-only", action="store_true")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    manifest = build(verbose=False)
    split = load_split()
    chosen = set(split["held_out"] if args.split == "held_out" else split["dev"] if args.split == "dev"
                 else split["held_out"] + split["dev"])
    tracks = [t for t in manifest if t["id"] in chosen and (not args.tracks or t["id"] in args.tracks)]
    print(f"critique bench: {len(tracks)} tracks ({args.split} split), styles "
          + ", ".join(f"{s} {sum(t['style'] == s for t in tracks)}" for s in STYLES))
    began = time.perf_counter()
    clean = {} if args.plants_only else run_clean(tracks, args.jobs)
    if not args.clean_only:
        run_plants(tracks, args.kinds, args.seeds, args.jobs, args.verbose, clean)
    print(f"bench time {time.perf_counter() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
