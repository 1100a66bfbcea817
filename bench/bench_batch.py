"""Batch benchmark (`make bench`): catalogue throughput, Ray parity, kill-and-resume, near-duplicates.

Corpus (bench/batch_corpus.py, into bench-out/batch/corpus/): 14 ACE-Step drafts and 6 excerpts of
produced songs from /work/shared/audio, each with five planted variants (MP3 re-encode, trim, −6 dB,
±1 semitone), plus 10 FluidSynth renders of composed songs: 130 tracks. Prints, asserts nothing:

1. memory   peak RSS per second of audio of each step (the constants in trackwright/batch/memory.py)
2. local    analyze+qc of the whole corpus on the local pool: tracks/hour, × realtime, CPU per track
3. ray      the same batch as Ray tasks on a local 2-CPU cluster (ray.init(num_cpus=2)): identical files?
4. kill     the CLI batch SIGKILLed three times mid-run, then resumed: lost, duplicated, redone tracks
5. dups     near-duplicate precision/recall on the held-out split (bench/batch_duplicates_split.json)
6. index    the duplicate search's cost at 10², 10³, 10⁴ fingerprints (synthetic chroma, planted copies)
7. cost     a 100k-track catalogue in CPU-hours and Ray nodes, from the measured per-track cost

    python bench/bench_batch.py [--only local,dups] [--out bench-out/batch]
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from batch_corpus import build_corpus, shared_audio

from trackwright.batch import run_batch
from trackwright.batch.duplicates import find_duplicates
from trackwright.batch.fingerprint import FRAME_RATE_HZ, Fingerprint, window_embeddings
from trackwright.batch.memory import STEP_MEMORY, WORKER_BASE_MIB

PARTS = ("memory", "local", "ray", "kill", "dups", "index", "cost")
PER_TRACK_FILES = ("analysis.json", "report.html", "qc.json", "fingerprint.npz", "steps/analyze.json",
                   "steps/fingerprint.json", "steps/qc.json")
RESULTS: dict[str, object] = {}

_MEMORY_CHILD = """
import resource, sys, tempfile
from pathlib import Path
from trackwright.audio import load_audio
step, path = sys.argv[1], sys.argv[2]
if step == "deliver":
    from trackwright.deliver import deliver
    from trackwright.project import Project
else:
    from trackwright.analysis.analyze import analyze
    from trackwright.batch.fingerprint import fingerprint
    from trackwright.batch.qc import measure_facts
    from trackwright.mix.master import master
    from trackwright.mix.targets import resolve_target
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if step == "deliver":
    with tempfile.TemporaryDirectory() as tmp:
        project = Project.create(Path(tmp) / "p", path)
        deliver(project.path, target="streaming", output=Path(tmp) / "d")
else:
    audio = load_audio(path)
    if step == "analyze":
        facts = measure_facts(audio, analyze(audio)); fingerprint(audio)
    else:
        master(audio, resolve_target("streaming"))
print(base / 1024, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def _env() -> dict[str, str]:
    src = str(HERE.parent / "src")
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH")) if p)}


def _cut(source: Path, seconds: float, target: Path) -> Path:
    from trackwright.audio import load_audio, save_audio

    if not target.exists():
        audio = load_audio(source)
        save_audio(audio.with_samples(audio.samples[:, : round(seconds * audio.sample_rate)]), target, bit_depth="16")
    return target


def bench_memory(corpus: Path, out: Path) -> None:
    """Peak RSS of one process doing each step on a 60 s and a 150 s file: the slope is MiB per second."""
    render = min((corpus / "renders").glob("*.wav"))
    files = {60.0: _cut(render, 60.0, out / "mem_60s.wav"), 150.0: _cut(render, 150.0, out / "mem_150s.wav")}
    print("\n== memory: peak RSS of one worker, 44.1 kHz stereo ==")
    table = {}
    for step in ("analyze", "master", "deliver"):
        peaks = {}
        for seconds, path in files.items():
            done = subprocess.run([sys.executable, "-c", _MEMORY_CHILD, step, str(path)], env=_env(),
                                  capture_output=True, text=True, check=True)
            base, peak = (float(v) for v in done.stdout.split()[-2:])
            peaks[seconds] = (base, peak)
        slope = (peaks[150.0][1] - peaks[60.0][1]) / 90.0
        intercept = peaks[60.0][1] - 60.0 * slope
        table[step] = {"mib_per_s": round(slope, 2), "intercept_mib": round(intercept), "imported_mib":
                       round(peaks[60.0][0]), "peak_60s": round(peaks[60.0][1]), "peak_150s": round(peaks[150.0][1])}
        print(f"  {step:8s} 60 s: {peaks[60.0][1]:6.0f} MiB  150 s: {peaks[150.0][1]:6.0f} MiB  → "
              f"{slope:.2f} MiB/s + {intercept:.0f} MiB (imports {peaks[60.0][0]:.0f} MiB); "
              f"memory.py assumes {STEP_MEMORY[step][1]} MiB/s + {STEP_MEMORY[step][0]:.0f} MiB, at least "
              f"{WORKER_BASE_MIB:.0f}")
    RESULTS["memory"] = table


def _throughput(label: str, result, wall_s: float) -> dict[str, float]:
    cpu = sum(v["cpu_s"] for v in result.step_seconds.values())
    tracks = result.counts["analyze"]["done"]
    audio_min = result.audio_s / 60.0
    row = {"tracks": tracks, "wall_s": round(wall_s, 1), "audio_min": round(audio_min, 1),
           "tracks_per_hour": round(3600 * tracks / wall_s), "x_realtime": round(result.audio_s / wall_s, 1),
           "cpu_s_per_track": round(cpu / max(tracks, 1), 2), "cpu_s_per_audio_min": round(cpu / max(audio_min, 1e-9), 2),
           "step_cpu_s": {k: round(v["cpu_s"], 1) for k, v in result.step_seconds.items()}}
    print(f"  {label}: {tracks} tracks, {audio_min:.1f} min of audio in {wall_s:.1f} s → "
          f"{row['tracks_per_hour']} tracks/hour, {row['x_realtime']}× realtime; "
          f"worker CPU {row['cpu_s_per_track']} s per track ({row['cpu_s_per_audio_min']} s per audio minute; "
          f"by step {row['step_cpu_s']}); {result.workers}")
    return row


def bench_local(corpus: Path, out: Path) -> None:
    print("\n== local: analyze+qc of the corpus on this machine's pool ==")
    target = out / "local"
    shutil.rmtree(target, ignore_errors=True)
    start = time.perf_counter()
    result = run_batch([corpus], target, steps="analyze,qc")
    wall = time.perf_counter() - start
    RESULTS["local"] = _throughput("local pool", result, wall)
    RESULTS["local"]["verdicts"] = result.verdicts
    RESULTS["local"]["failures"] = result.failures
    RESULTS["local"]["duplicate_stats"] = result.duplicate_stats
    print(f"  verdicts {result.verdicts}; failures {len(result.failures)}; duplicate search {result.duplicate_stats}")
    start = time.perf_counter()
    again = run_batch([corpus], target, steps="analyze,qc")
    print(f"  rerun with nothing to do: {time.perf_counter() - start:.1f} s ({again.counts['analyze']['skipped']} "
          "tracks skipped)")


def _same_files(a: Path, b: Path) -> tuple[int, int, list[str]]:
    same = total = 0
    differ = []
    for folder in sorted((a / "tracks").iterdir()):
        for name in PER_TRACK_FILES:
            mine, theirs = folder / name, b / "tracks" / folder.name / name
            if not mine.exists() and not theirs.exists():
                continue
            total += 1
            if mine.exists() and theirs.exists() and mine.read_bytes() == theirs.read_bytes():
                same += 1
            else:
                differ.append(f"{folder.name}/{name}")
    return same, total, differ


def bench_ray(corpus: Path, out: Path) -> None:
    print("\n== ray: the same batch as tasks on a local cluster (ray.init(num_cpus=2)) ==")
    try:
        import ray
    except ImportError:
        print("  skipped: ray is not installed (pip install 'trackwright[distributed]')")
        return
    target = out / "ray"
    shutil.rmtree(target, ignore_errors=True)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="warning")
    try:
        start = time.perf_counter()
        result = run_batch([corpus], target, steps="analyze,qc", ray="auto")
        wall = time.perf_counter() - start
    finally:
        ray.shutdown()
    RESULTS["ray"] = _throughput("ray", result, wall)
    same, total, differ = _same_files(out / "local", target)
    rows_same = (json.loads((out / "local" / "catalog.json").read_text())["tracks"]
                 == json.loads((target / "catalog.json").read_text())["tracks"])
    RESULTS["ray"].update({"identical_files": same, "files": total, "catalogue_rows_identical": rows_same})
    print(f"  per-track files identical to the local run: {same} of {total}"
          + (f" (differ: {differ[:5]})" if differ else "") + f"; catalogue rows identical: {rows_same}")


def _kill_after(command: list[str], target: Path, done_records: int) -> tuple[int, float]:
    process = subprocess.Popen(command, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    start = time.perf_counter()
    while len(list(target.glob("tracks/*/steps/qc.json"))) < done_records and process.poll() is None:
        time.sleep(0.1)
    os.kill(process.pid, signal.SIGKILL)  # the driver only: its workers must die with it
    process.wait()
    seconds = time.perf_counter() - start
    for _ in range(50):  # live (not zombie) processes left in the batch's process group
        states = subprocess.run(["ps", "-o", "stat=", "-g", str(process.pid)], capture_output=True, text=True,
                                check=False).stdout.split()
        orphans = [s for s in states if not s.startswith("Z")]
        if not orphans:
            break
        time.sleep(0.1)
    return len(orphans), seconds


def _snapshot(target: Path) -> dict[str, int]:
    return {str(p.relative_to(target)): p.stat().st_mtime_ns for p in target.glob("tracks/*/steps/*.json")}


def bench_kill(corpus: Path, out: Path) -> None:
    print("\n== kill: SIGKILL the CLI batch three times, then resume ==")
    target = out / "killed"
    shutil.rmtree(target, ignore_errors=True)
    total = sum(1 for p in corpus.rglob("*") if p.suffix in (".wav", ".mp3"))
    command = [sys.executable, "-m", "trackwright", "batch", str(corpus), "-o", str(target), "--quiet"]
    survivors: dict[str, int] = {}
    for round_, share in enumerate((0.15, 0.45, 0.75), start=1):
        orphans, seconds = _kill_after(command, target, round(share * total))
        broken = []
        for path in target.glob("tracks/*/*.json"):
            try:
                json.loads(path.read_text())
            except ValueError:
                broken.append(str(path))
        for path in target.glob("tracks/*/fingerprint.npz"):
            try:
                Fingerprint.load(path)
            except Exception:  # noqa: BLE001 - counted, not raised
                broken.append(str(path))
        records = _snapshot(target)
        changed = [k for k, v in survivors.items() if records.get(k) != v]
        survivors = records
        complete = len(list(target.glob("tracks/*/steps/qc.json")))
        print(f"  kill {round_} after {seconds:.1f} s: {complete}/{total} tracks complete, {len(broken)} half-written "
              f"final files, {len(changed)} earlier records rewritten, {orphans} orphan workers left")
    start = time.perf_counter()
    result = run_batch([corpus], target, steps="analyze,qc")
    wall = time.perf_counter() - start
    final = _snapshot(target)
    redone = [k for k, v in survivors.items() if final.get(k) != v]
    rows = json.loads((target / "catalog.json").read_text())["tracks"]
    ids = [r["id"] for r in rows]
    same, files, _ = _same_files(out / "local", target) if (out / "local").exists() else (0, 0, [])
    RESULTS["kill"] = {"resume_counts": result.counts, "redone_records": len(redone), "rows": len(rows),
                       "unique_ids": len(set(ids)), "identical_to_uninterrupted": [same, files]}
    print(f"  resumed in {wall:.1f} s: qc {result.counts['qc']}, analyze {result.counts['analyze']}")
    print(f"  catalogue: {len(rows)} rows, {len(set(ids))} distinct tracks of {total}; records written before the "
          f"kills and rewritten by the resume: {len(redone)}; per-track files identical to the uninterrupted run: "
          f"{same} of {files}")


def _pairs(groups: dict[str, int | None], names: list[str]) -> set[tuple[str, str]]:
    return {(a, b) for a, b in itertools.combinations(sorted(names), 2)
            if groups[a] is not None and groups[a] == groups[b]}


def bench_dups(corpus: Path, out: Path, truth: dict[str, dict[str, str]]) -> None:
    print("\n== dups: near-duplicate groups of the local run, scored against the planted truth ==")
    catalog = json.loads((out / "local" / "catalog.json").read_text())
    by_path = {str(Path(r["path"]).relative_to(corpus.resolve())): r for r in catalog["tracks"]}
    groups = {k: r["duplicate_group"] for k, r in by_path.items()}
    RESULTS["dups"] = {}
    for split in ("heldout", "dev"):
        names = [k for k, v in truth.items() if v["split"] == split]
        true = {(a, b) for a, b in itertools.combinations(sorted(names), 2)
                if truth[a]["original"] == truth[b]["original"]}
        found = _pairs(groups, names)
        outside = {k for k in names if groups[k] is not None and any(
            groups[o] == groups[k] for o in groups if truth.get(o, {}).get("split") != split)}
        hits = len(found & true)
        precision, recall = hits / max(len(found), 1), hits / max(len(true), 1)
        by_variant = {}
        for variant in ("mp3", "trim", "gain", "up1", "down1"):
            wanted = {(a, b) for a, b in true if {truth[a]["variant"], truth[b]["variant"]} == {"orig", variant}}
            by_variant[variant] = f"{len(wanted & found)}/{len(wanted)}"
        siblings = [(a, b) for a, b in itertools.combinations(sorted(names), 2)  # happy_acoustic_1 vs _2
                    if truth[a]["original"] != truth[b]["original"]
                    and truth[a]["original"].rsplit("_", 1)[0] == truth[b]["original"].rsplit("_", 1)[0]]
        sibling_pairs, sibling_grouped = len(siblings), sum(pair in found for pair in siblings)
        RESULTS["dups"][split] = {"precision": round(precision, 4), "recall": round(recall, 4), "true_pairs": len(true),
                                  "found_pairs": len(found), "by_variant": by_variant,
                                  "same_prompt_pairs_grouped": [sibling_grouped, sibling_pairs],
                                  "grouped_across_splits": len(outside)}
        print(f"  {split:8s} pairs: precision {precision:.3f}, recall {recall:.3f} ({hits} of {len(true)} true pairs, "
              f"{len(found)} found); original↔variant found: {by_variant}; different drafts of one prompt grouped: "
              f"{sibling_grouped} of {sibling_pairs} pairs; tracks grouped with another split: {len(outside)}")
    renders = [k for k, v in truth.items() if v["split"] == "renders"]
    print(f"  renders in any group: {sum(1 for k in renders if groups[k] is not None)} of {len(renders)}; "
          f"search cost {catalog['summary']}")


def _synthetic_frames(rng: np.random.Generator, seconds: float) -> np.ndarray:
    """Unit chroma frames of a song-like sequence: a key, a looped 4–8 chord diatonic progression
    with its own chord length, a melody, noise — no audio needed."""
    frames = round(seconds * FRAME_RATE_HZ)
    scale = (np.array([0, 2, 4, 5, 7, 9, 11]) + int(rng.integers(12))) % 12
    progression = rng.integers(0, 7, int(rng.integers(4, 9)))
    degrees = progression[(np.arange(frames) // int(rng.integers(4, 17))) % len(progression)]
    out = rng.random((12, frames), dtype=np.float32) * 0.6
    columns = np.arange(frames)
    for step in (0, 2, 4):
        out[scale[(degrees + step) % 7], columns] += 1.0
    out[scale[rng.integers(0, 7, frames)], columns] += 0.7
    return out / np.linalg.norm(out, axis=0, keepdims=True)


def _copy(rng: np.random.Generator, frames: np.ndarray) -> np.ndarray:
    """A planted copy: up to a sixth trimmed off each end (any frame offset), transposed −1, 0 or +1
    semitone, and noise whose effect on the windows is a little harsher than the real copies' of the
    dev split (best window cosine: median 0.973 and 10th percentile 0.930 against 0.987 and 0.952)."""
    start = int(rng.integers(0, frames.shape[1] // 6))
    end = frames.shape[1] - int(rng.integers(0, frames.shape[1] // 6))
    copy = np.roll(frames[:, start:end], int(rng.choice([-1, 0, 1])), axis=0)
    copy = copy + rng.random(copy.shape, dtype=np.float32) * 0.05
    return copy / np.linalg.norm(copy, axis=0, keepdims=True)


def bench_index(out: Path) -> None:
    print("\n== index: cost of the near-duplicate search as the catalogue grows (synthetic fingerprints) ==")
    rng = np.random.default_rng(20261203)
    rows = []
    for count in (100, 1000, 10000):
        prints: list[Fingerprint] = []
        planted = []
        originals = count - count // 100
        for _ in range(originals):
            frames = _synthetic_frames(rng, float(rng.uniform(30, 180)))
            prints.append(Fingerprint(np.round(frames * 255).astype(np.uint8), window_embeddings(frames)))
        for k in range(count // 100):
            source = int(rng.integers(originals))
            frames = _copy(rng, prints[source].frames())
            prints.append(Fingerprint(np.round(frames * 255).astype(np.uint8), window_embeddings(frames)))
            planted.append((source, originals + k))
        start = time.perf_counter()
        report = find_duplicates([p.embeddings for p in prints], prints.__getitem__, exact_limit=0)
        seconds = time.perf_counter() - start
        groups = report.group_of(count)
        found = sum(1 for a, b in planted if groups[a] is not None and groups[a] == groups[b])
        row = {"fingerprints": count, "windows": report.stats["windows"], "seconds": round(seconds, 2),
               "index_s": report.stats["index_s"], "verify_s": report.stats["verify_s"],
               "candidates": report.stats["candidates"], "verified": report.stats["verified"],
               "matches": report.stats["matches"], "planted_found": f"{found}/{len(planted)}",
               "all_pairs": count * (count - 1) // 2}
        rows.append(row)
        print(f"  {count:6d} fingerprints ({row['windows']} windows): {seconds:7.2f} s (index {row['index_s']} s, "
              f"verify {row['verify_s']} s); candidates {row['candidates']} of {row['all_pairs']} pairs, verified "
              f"{row['verified']}, matches {row['matches']}; planted copies found {row['planted_found']}")
    slope = math.log(rows[-1]["seconds"] / rows[-2]["seconds"]) / math.log(10)
    pairs_slope = math.log(max(rows[-1]["candidates"], 1) / max(rows[-2]["candidates"], 1)) / math.log(10)
    print(f"  growth 10³ → 10⁴: time ∝ n^{slope:.2f}, candidate pairs ∝ n^{pairs_slope:.2f} (all pairs: n^2)")
    RESULTS["index"] = {"rows": rows, "time_exponent": round(slope, 2), "candidate_exponent": round(pairs_slope, 2)}


def bench_cost() -> None:
    print("\n== cost: a 100 000-track catalogue, from the measured per-track cost ==")
    local = RESULTS.get("local")
    if not isinstance(local, dict):
        print("  needs the local part")
        return
    per_audio_min = local["cpu_s_per_audio_min"]
    for minutes in (0.5, 3.0):
        cpu_h = 100_000 * per_audio_min * minutes / 3600
        nodes16 = math.ceil(cpu_h / (16 * 0.9))
        print(f"  {minutes:g}-minute tracks: {per_audio_min * minutes:.1f} CPU-s each → {cpu_h:.0f} CPU-hours; in one "
              f"hour on {nodes16} Ray nodes of 16 cores (90 % busy), or {math.ceil(cpu_h / (64 * 0.9))} of 64 cores")
    print(f"  this corpus's mix: {local['cpu_s_per_track']} CPU-s per track → "
          f"{100_000 * local['cpu_s_per_track'] / 3600:.0f} CPU-hours")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default=",".join(PARTS), help=f"parts to run, of {', '.join(PARTS)}")
    parser.add_argument("--out", type=Path, default=HERE.parent / "bench-out" / "batch")
    args = parser.parse_args()
    parts = args.only.split(",")
    args.out.mkdir(parents=True, exist_ok=True)
    previous = args.out / "results.json"
    if previous.exists():  # parts not rerun keep their last figures (the cost part reads the local one)
        RESULTS.update(json.loads(previous.read_text()))
    corpus = args.out / "corpus"
    truth: dict[str, dict[str, str]] = {}
    if set(parts) - {"index", "cost"}:
        if shared_audio() is None:
            print("no /work/shared/audio here: only the index part runs (it needs no audio)")
            parts = [p for p in parts if p == "index"]
        else:
            truth = build_corpus(corpus)
    print(f"corpus: {len(truth)} tracks in {corpus}; {os.cpu_count()} cores; peak RSS so far "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    steps = {"memory": lambda: bench_memory(corpus, args.out), "local": lambda: bench_local(corpus, args.out),
             "ray": lambda: bench_ray(corpus, args.out), "kill": lambda: bench_kill(corpus, args.out),
             "dups": lambda: bench_dups(corpus, args.out, truth), "index": lambda: bench_index(args.out),
             "cost": bench_cost}
    for part in PARTS:
        if part in parts:
            steps[part]()
    (args.out / "results.json").write_text(json.dumps(RESULTS, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
