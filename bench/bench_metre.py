"""Pulse, metre and harmony on music the project has never seen (`make bench`): the development set
of :mod:`devset` (rendered folk tunes, classical excerpts and grooves in 2/4, 3/4, 4/4, 6/8, 9/8
and 12/8 with exact truth; charted Frets on Fire songs; labelled AI drafts), ours beside madmom
and librosa on the same files.

Scores per split, per group and per metre (mir_eval): beat F and downbeat F (±70 ms, the first
5 s trimmed), metre correct (the time signature; a swung 4/4 may read 12/8 and a swung 3/4 9/8,
the same beats and bars), tempo within 4 % of the truth's median beat rate (the double, half or
3:2 reading is a miss), chord majmin WCSR (duration-weighted over the group), key (mir_eval's
weighted score). A piece scores only what its truth has. Peers' results are cached in
``bench-out/devset/peers`` (they do not change while ours is tuned).

Held-out discipline: while developing run ``--split development``; the held-out figures are
for the report (``--split held_out``, which ``make bench`` runs with ``all``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import devset
import mir_eval
import numpy as np
from peers import SYSTEMS, majmin_overlap

from trackwright.audio import load_audio

PEER_CACHE = devset.OUT / "peers"
SWING = {"groove-shuffle-1", "groove-shuffle-2", "groove-jazz_waltz-1"}
SWING_EQUIVALENT = {"4/4": "12/8", "3/4": "9/8"}
METRICS = ("beat_f", "downbeat_f", "metre", "tempo", "chords", "key")
GOALS = {"beat_f": 0.95, "downbeat_f": 0.85, "metre": 0.90, "tempo": 0.90, "chords": 0.85, "key": 0.95}


def run_system(name: str, item: devset.Item, audio) -> dict:  # noqa: ANN001 - an Audio
    """The system's result for a piece; peers come from the cache when the spec is unchanged."""
    if name != "ours":
        path = PEER_CACHE / f"{item.id}.{name}.json"
        if path.exists():
            cached = json.loads(path.read_text())
            if cached.get("spec_digest") == item.truth["spec_digest"]:
                return cached
    start = time.perf_counter()
    result = SYSTEMS[name](audio)
    out = {"beats": np.asarray(result["beats"], float).tolist(), "downbeats": np.asarray(result["downbeats"], float).tolist(),
           "metre": result["metre"], "tempo_bpm": float(result["tempo_bpm"]), "key": result["key"],
           "chords": [[float(s), float(e), str(label)] for s, e, label in result["chords"]],
           "seconds": time.perf_counter() - start, "spec_digest": item.truth["spec_digest"]}
    if name != "ours":
        PEER_CACHE.mkdir(parents=True, exist_ok=True)
        (PEER_CACHE / f"{item.id}.{name}.json").write_text(json.dumps(out))
    return out


def score_piece(item: devset.Item, result: dict) -> dict:
    """Per-piece scores (None where the truth lacks the field)."""
    truth = item.truth
    out: dict = {}
    if truth["beats_s"] is not None:
        out["beat_f"] = mir_eval.beat.f_measure(mir_eval.beat.trim_beats(np.asarray(truth["beats_s"])),
                                                mir_eval.beat.trim_beats(np.asarray(result["beats"])))
    if truth["downbeats_s"] is not None:
        out["downbeat_f"] = mir_eval.beat.f_measure(mir_eval.beat.trim_beats(np.asarray(truth["downbeats_s"])),
                                                    mir_eval.beat.trim_beats(np.asarray(result["downbeats"])))
    if truth["metre"] is not None:
        accepted = {truth["metre"]} | ({SWING_EQUIVALENT.get(truth["metre"])} if item.id in SWING else set())
        out["metre"] = float(result["metre"] in accepted)
    if truth["tempo_bpm"]:
        out["tempo"] = float(abs(result["tempo_bpm"] / truth["tempo_bpm"] - 1.0) <= 0.04)
    if truth["chords"]:
        out["chords"] = majmin_overlap(truth["chords"], result["chords"])
    if truth["key"] is not None:
        out["key"] = mir_eval.key.weighted_score(truth["key"], result["key"])
    return out


def aggregate(rows: list[dict]) -> dict:
    out: dict = {}
    for metric in METRICS:
        values = [r[metric] for r in rows if metric in r]
        if not values:
            continue
        if metric == "chords":
            out[metric] = (sum(v[0] for v in values) / max(sum(v[1] for v in values), 1e-9), len(values))
        else:
            out[metric] = (float(np.mean(values)), len(values))
    return out


def _cell(stats: dict, metric: str) -> str:
    if metric not in stats:
        return "    –    "
    value, count = stats[metric]
    return f"{value:5.3f} ({count:>2})"


def print_table(title: str, groups: dict[str, dict[str, list[dict]]], systems: list[str]) -> None:
    print(f"\n{title}")
    print(f"  {'':<22} {'system':<8} " + " ".join(f"{m:>10}" for m in METRICS))
    for group, by_system in groups.items():
        for system in systems:
            stats = aggregate(by_system.get(system, []))
            print(f"  {group:<22} {system:<8} " + " ".join(f"{_cell(stats, m):>10}" for m in METRICS))
    print(f"  {'goal':<22} {'':<8} " + " ".join(f"{'≥ ' + str(GOALS[m]):>10}" for m in METRICS))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("development", "held_out", "all"), default="development")
    parser.add_argument("--systems", nargs="*", default=list(SYSTEMS))
    parser.add_argument("--pieces", action="store_true", help="print every piece's scores (development split only)")
    parser.add_argument("--only", nargs="*", help="only these piece ids (development split only)")
    parser.add_argument("--json", type=Path, help="also write the per-piece scores here")
    args = parser.parse_args(argv)
    splits = ("development", "held_out") if args.split == "all" else (args.split,)
    report: dict = {}
    for split in splits:
        items = devset.load(split)
        if args.only and split == "development":
            items = [i for i in items if i.id in set(args.only)]
        by_group: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
        by_metre: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
        seconds: dict[str, float] = defaultdict(float)
        audio_s = 0.0
        for item in items:
            audio = load_audio(item.audio_path)
            audio_s += audio.duration_s
            for system in args.systems:
                result = run_system(system, item, audio)
                seconds[system] += result["seconds"]
                scores = score_piece(item, result)
                report.setdefault(split, {}).setdefault(item.id, {})[system] = scores
                for key in ("all", item.spec["group"]) + (("tempo changes",) if item.truth["tempo"] != "steady" else ()):
                    by_group[key][system].append(scores)
                if item.truth["metre"]:
                    by_metre[item.truth["metre"]][system].append(scores)
                if args.pieces and split == "development":
                    text = " ".join(f"{k}={v if not isinstance(v, tuple) else v[0] / max(v[1], 1e-9):.2f}"
                                    for k, v in scores.items())
                    print(f"  {item.id:<44} {system:<7} {result['metre']:>5} {result['tempo_bpm']:6.1f} "
                          f"(truth {item.truth['metre']} {item.truth['tempo_bpm']:.1f})  {text}", flush=True)
        order = ["all", "folk", "classical", "groove", "fof", "ai", "tempo changes"]
        print_table(f"{split}: {len(items)} pieces, {audio_s / 60:.1f} min of audio, by group (value (pieces))",
                    {g: by_group[g] for g in order if g in by_group}, args.systems)
        metres = sorted(by_metre, key=lambda m: (Metre_order.get(m, 9), m))
        print_table(f"{split}: by metre", {m: by_metre[m] for m in metres}, args.systems)
        print("  time: " + ", ".join(f"{s} {seconds[s]:.1f} s ({audio_s / max(seconds[s], 1e-9):.0f}× realtime)"
                                      for s in args.systems))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=list))
    return 0


Metre_order = {"2/4": 0, "3/4": 1, "4/4": 2, "6/8": 3, "9/8": 4, "12/8": 5}

if __name__ == "__main__":
    sys.exit(main())
