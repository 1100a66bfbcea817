"""Real stems, real mixes (`make bench`): production, mix and delivery on real multitracks.

For every song of the real-multitrack set (``bench/realmix_set.py`` builds it into
``bench-out/realmix/``; the held-out split is ``bench/realmix_split.json``) this drives the
``trackwright`` command line only — ``new``, ``stems``, ``produce``, ``revert``, ``mix``,
``master``, ``deliver`` — and measures the results with its own code (``realmix_measure``:
pyloudnorm, octave bands, mid/side), never with trackwright's verdicts:

(a) stems against the mix: the stems-sum residual (dB re the mix) and, per stem, the lag and
    polarity of its cross-correlation with the mix and its least-squares gain in the mix; the
    roles trackwright guesses beside the set's own.
(b) ``trackwright mix PROJECT --style S`` for every style against the artist's own mix:
    octave-band balance difference 63 Hz–8 kHz after loudness matching, on the channels' summed
    power (goal ≤ 3 dB in every band; the mono downmix's figure is kept beside it, blind as it is
    to an opposite-polarity mix), side/mid difference with each side clamped to ±40 dB (goal
    within 2 dB; beyond 40 dB one of mid and side is the file's noise floor; the raw difference
    is kept beside it), the peak-to-loudness ratio the mix takes
    away, and ``trackwright master --target streaming`` on both mixes: limiting from its JSON
    and measured as crest (PLR) change (goal ≤ 3 dB); true peak; per part, how much of the
    stem's own power lies under the high-pass it got.
(c) ``produce --instrument PART=PRESET --replace PART=STEM``: the replacement's loudness
    against the stem it replaces (goal within 1 LU), whether the replaced stem is gone from
    the output (least-squares gain of the original stem in the output mix, and its sign), and
    the output's true peak.
(d) ``deliver`` at every target of ``master --list-targets``, on a project with stems and on
    one without: exit status and message, every file listed exists and is measured (loudness,
    true peak) against what deliver reported; the main file against its target; stems louder
    than the main; file modes.

Prints a table per song and a summary per split (dev, held-out) and writes
``bench-out/realmix/results/<song>.json`` and ``bench-out/realmix/summary.json``. Each step's
result is cached, so a run that stops at ``--budget-min`` (default 40) resumes where it was;
``--fresh`` starts over. Asserts nothing.

Usage::

    python bench/bench_realmix.py [--split heldout|dev|all] [--songs ID ...] [--budget-min 40]
        [--targets NAME ...] [--deliver both|with|without|none] [--no-mix] [--fresh]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import realmix_measure as measure  # noqa: E402
import realmix_set  # noqa: E402

OUT = realmix_set.OUT
RESULTS = OUT / "results"
WORK = OUT / "work"
STYLES = ("pop", "cinematic", "intimate", "electronic")
#: Instrument preset for a replacement part, by the stem's role.
PRESETS = {"guitar": "gm:30", "bass": "gm:33", "keys": "piano", "strings": "gm:48", "lead": "gm:81",
           "pad": "pad", "drums": "drums", "vocals": "gm:52", "fx": "gm:99", "other": "gm:0"}
#: Which part to replace first, by role.
REPLACE_ORDER = ("guitar", "lead", "keys", "strings", "bass", "pad", "vocals", "other", "fx", "drums")
#: A stem quieter than this (RMS, dBFS) is not chosen for replacement: its level and its trace in
#: the output cannot be measured.
MIN_REPLACE_DBFS = -45.0
GOALS = {"band_db": 3.0, "side_mid_db": 2.0, "limiting_db": 3.0, "replace_lu": 1.0}


class Budget:
    """Wall-clock budget for the whole run."""

    def __init__(self, minutes: float) -> None:
        self.end = time.monotonic() + minutes * 60.0

    def left_s(self) -> float:
        return self.end - time.monotonic()


class OutOfTime(Exception):
    pass


def tw(*args: str, timeout_s: float = 900.0) -> dict[str, Any]:
    """Run ``trackwright ARGS`` (this interpreter's package); rc, stdout JSON (when any), stderr, seconds."""
    cmd = [sys.executable, "-m", "trackwright", "--quiet", *args]
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s,
                              env={**os.environ, "TRACKWRIGHT_AUTHOR": "bench"})
    except subprocess.TimeoutExpired:
        return {"cmd": " ".join(["trackwright", *args]), "rc": None, "stderr": f"timed out after {timeout_s:.0f} s",
                "json": None, "wall_s": timeout_s}
    data = None
    if proc.stdout.strip().startswith(("{", "[")):
        try:
            data = json.loads(proc.stdout)
        except json.JSONDecodeError:
            data = None
    return {"cmd": " ".join(["trackwright", *args]), "rc": proc.returncode, "json": data,
            "stderr": proc.stderr.strip()[-2000:], "wall_s": round(time.perf_counter() - start, 1)}


def short_error(call: dict[str, Any]) -> str:
    lines = [line for line in call["stderr"].splitlines() if line.strip()]
    return lines[-1] if lines else f"exit {call['rc']}"


# ---------------------------------------------------------------------------------------------
# steps


def step_stems_sum(song: Path, record: dict) -> dict:
    """(a) the stems against the artist's mix, measured here."""
    mix, rate = measure.read(song / record["mix"])
    stems = {name: measure.read(song / info["file"])[0] for name, info in record["stems"].items()}
    mix, *cut = measure.align(mix, *stems.values())
    stems = dict(zip(stems, cut))
    total = sum(stems.values())
    gains = measure.stem_gains(mix, stems)
    per_stem = {}
    for name, audio in stems.items():
        per_stem[name] = {"role": record["stems"][name]["role"],
                          "level_re_mix_db": round(measure.db(measure.power(audio)) - measure.db(measure.power(mix)), 2),
                          **measure.lag_and_polarity(audio, mix, rate),
                          "lsq_gain_db": measure.gain_db(gains[name]), "lsq_sign": float(np.sign(gains[name]))}
    residual = mix - total
    return {"residual_db": round(measure.db(measure.power(residual)) - measure.db(measure.power(mix)), 2),
            "mix_lufs": measure.loudness_lufs(mix, rate), "mix_side_mid_db": measure.side_mid_db(mix),
            "mix_plr_db": measure.plr_db(mix, rate), "stems": per_stem}


def step_new(song: Path, record: dict, project: Path, with_stems: bool) -> dict:
    if project.exists():
        shutil.rmtree(project)
    project.parent.mkdir(parents=True, exist_ok=True)
    args = ["new", str(project), "--audio", str(song / record["mix"])]
    if with_stems:
        args += ["--stems", str(song / "stems")]
    if record.get("midi"):
        args += ["--midi", str(song / record["midi"])]
    call = tw(*args, "--json")
    return {"cmd": call["cmd"], "rc": call["rc"], "error": None if call["rc"] == 0 else short_error(call),
            "warnings": (call["json"] or {}).get("warnings", []), "wall_s": call["wall_s"]}


def step_roles(project: Path, record: dict) -> dict:
    call = tw("stems", str(project), "--json")
    roles = ((call["json"] or {}).get("roles") or {}) if call["rc"] == 0 else {}
    out = {name: {"set": info["role"], "trackwright": roles.get(name, {}).get("role"),
                  "why": roles.get(name, {}).get("reason")} for name, info in record["stems"].items()}
    agree = sum(1 for v in out.values() if v["set"] == v["trackwright"])
    return {"rc": call["rc"], "error": None if call["rc"] == 0 else short_error(call), "roles": out,
            "agree": agree, "of": len(out)}


def _master_streaming(path: Path, out: Path) -> dict:
    call = tw("master", str(path), "-o", str(out), "--target", "streaming", "--json")
    if call["rc"] != 0:
        return {"rc": call["rc"], "error": short_error(call), "cmd": call["cmd"]}
    before, rate = measure.read(path)
    after, _ = measure.read(out)
    data = call["json"]
    result = {"rc": 0, "limiting_db_tool": data.get("max_limiting_db"), "gain_db_tool": data.get("gain_db"),
              "plr_before_db": measure.plr_db(before, rate), "plr_after_db": measure.plr_db(after, rate),
              "true_peak_after_dbtp": measure.true_peak_dbtp(after)}
    result["crest_change_db"] = round(result["plr_before_db"] - result["plr_after_db"], 2)
    out.unlink(missing_ok=True)
    return result


def step_mix(song: Path, record: dict, project: Path, style: str, reference: dict) -> dict:
    call = tw("mix", str(project), "--style", style, "--json")
    if call["rc"] != 0:
        return {"cmd": call["cmd"], "rc": call["rc"], "error": short_error(call)}
    data = call["json"]
    mixed, rate = measure.read(data.get("master") or data["mix"])
    artist, _ = measure.read(song / record["mix"])
    mixed, artist = measure.align(mixed, artist)
    bands = measure.band_balance_diff_db(mixed, artist, rate)
    bands_downmix = measure.band_balance_diff_db(mixed, artist, rate, downmix=True)
    worst = max(bands, key=lambda k: abs(bands[k])) if bands else None
    parts = {}
    for name, plan in data["plan"]["parts"].items():
        info = record["stems"].get(name)
        below = None
        if info is not None and plan.get("highpass_hz"):
            stem, stem_rate = measure.read(song / info["file"])
            below = measure.energy_below_db(stem, stem_rate, float(plan["highpass_hz"]))
        parts[name] = {"role_tool": plan["role"], "role_set": None if info is None else info["role"],
                       "gain_db": plan["gain_db"], "highpass_hz": plan["highpass_hz"], "width": plan.get("width"),
                       "stem_power_below_hpf_db": below, "mute": plan.get("mute")}
    mix_path = Path(data["mix"])
    master = _master_streaming(mix_path, WORK / song.name / f"master_{style}.wav")
    side_mid = measure.side_mid_db(mixed)
    return {"cmd": call["cmd"], "rc": 0, "version": data.get("version"), "bands_db": bands,
            "max_band_db": None if worst is None else bands[worst], "worst_band_hz": worst,
            "bands_downmix_db": bands_downmix,
            "max_band_downmix_db": max((abs(v) for v in bands_downmix.values()), default=None),
            "side_mid_db": side_mid,
            "side_mid_diff_db": measure.side_mid_diff_db(side_mid, reference["mix_side_mid_db"]),
            "side_mid_diff_raw_db": round(side_mid - reference["mix_side_mid_db"], 2),
            "plr_db": measure.plr_db(mixed, rate),
            "plr_taken_db": round(reference["mix_plr_db"] - measure.plr_db(mixed, rate), 2),
            "true_peak_dbtp": measure.true_peak_dbtp(mixed), "master": master, "parts": parts,
            "warnings": data.get("warnings", []), "file_mode": oct(stat.S_IMODE(mix_path.stat().st_mode))}


def choose_replacement(record: dict) -> str | None:
    """The stem to rebuild from MIDI: one with a MIDI part and audible in the excerpt (RMS above
    ``MIN_REPLACE_DBFS``), by role preference, then loudest."""
    candidates = [n for n in record["midi_parts"]
                  if n in record["stems"] and record["stems"][n]["level_dbfs"] > MIN_REPLACE_DBFS]
    if not candidates:
        return None
    return min(candidates, key=lambda n: (REPLACE_ORDER.index(record["stems"][n]["role"]),
                                          -record["stems"][n]["level_dbfs"]))


def step_produce(song: Path, record: dict, project: Path) -> dict:
    part = choose_replacement(record)
    if part is None:
        return {"skipped": "no stem has a MIDI part"}
    preset = PRESETS[record["stems"][part]["role"]]
    call = tw("produce", str(project), "--instrument", f"{part}={preset}", "--replace", f"{part}={part}", "--json")
    result: dict[str, Any] = {"cmd": call["cmd"], "rc": call["rc"], "part": part, "preset": preset}
    if call["rc"] != 0:
        result["error"] = short_error(call)
        return result
    data = call["json"]
    out_path = Path(data.get("master") or data["mix"])
    output, rate = measure.read(out_path)
    replacement_path = out_path.parent / "stems" / f"midi-{part}.wav"
    original, _ = measure.read(song / record["stems"][part]["file"])
    others = {n: measure.read(song / i["file"])[0] for n, i in record["stems"].items() if n != part}
    parts = {"replaced:" + part: original, **others}
    if replacement_path.exists():
        replacement, _ = measure.read(replacement_path)
        parts["replacement"] = replacement
        output, *cut = measure.align(output, *parts.values())
        parts = dict(zip(parts, cut))
        result["replacement_lufs"] = measure.loudness_lufs(parts["replacement"], rate)
    else:
        output, *cut = measure.align(output, *parts.values())
        parts = dict(zip(parts, cut))
        result["replacement_lufs"] = None
        result["note"] = f"no {replacement_path.name} in the render"
    result["replaced_lufs"] = measure.loudness_lufs(parts["replaced:" + part], rate)
    if result["replacement_lufs"] is not None:
        result["loudness_diff_lu"] = round(result["replacement_lufs"] - result["replaced_lufs"], 2)
    gains = measure.stem_gains(output, parts)
    result["replaced_left_db"] = measure.gain_db(gains["replaced:" + part])
    result["replaced_left_sign"] = float(np.sign(gains["replaced:" + part]))
    result["replaced_corr"] = measure.lag_and_polarity(parts["replaced:" + part], output, rate)["correlation"]
    result["output_true_peak_dbtp"] = measure.true_peak_dbtp(output)
    result["output_lufs"] = measure.loudness_lufs(output, rate)
    result["warnings"] = data.get("warnings", [])
    return result


def step_deliver(project: Path, target: dict, folder: Path, version: int | None) -> dict:
    if folder.exists():
        shutil.rmtree(folder)
    args = ["deliver", str(project), "--target", target["name"], "-o", str(folder), "--json"]
    if version is not None:
        args += ["--version", str(version)]
    call = tw(*args)
    result: dict[str, Any] = {"cmd": call["cmd"], "rc": call["rc"], "wall_s": call["wall_s"]}
    if call["rc"] != 0:
        result["error"] = short_error(call)
        return result
    data = call["json"] or {}
    files, problems = [], []
    listed = set()
    main_lufs = None
    for item in data.get("files", []):
        path = folder / item["name"]
        listed.add(item["name"])
        entry = {"name": item["name"], "kind": item.get("kind"), "role": (item.get("info") or {}).get("role"),
                 "reported_lufs": item.get("integrated_lufs"), "reported_tp": item.get("true_peak_dbtp")}
        if not path.exists():
            problems.append(f"{item['name']}: listed but not written")
            entry["missing"] = True
            files.append(entry)
            continue
        entry["mode"] = oct(stat.S_IMODE(path.stat().st_mode))
        if path.suffix.lower() in (".wav", ".flac"):
            audio, rate = measure.read(path)
            entry["lufs"] = measure.loudness_lufs(audio, rate)
            entry["true_peak_dbtp"] = measure.true_peak_dbtp(audio)
            entry["silent"] = not np.isfinite(entry["lufs"])
            if entry["true_peak_dbtp"] > target["ceiling_dbtp"] + 0.1 and entry.get("role") != "master_diff":
                problems.append(f"{item['name']}: true peak {entry['true_peak_dbtp']} dBTP over the "
                                f"{target['ceiling_dbtp']} dBTP ceiling")
            if item.get("kind") == "main":
                main_lufs = entry["lufs"]
                if abs(entry["lufs"] - target["integrated_lufs"]) > 0.5:
                    problems.append(f"{item['name']}: {entry['lufs']} LUFS, target {target['integrated_lufs']}")
        files.append(entry)
    unlisted = sorted(p.name for p in folder.iterdir() if p.name not in listed) if folder.exists() else []
    stems = [f for f in files if f.get("kind") == "stem" and f.get("role") != "master_diff" and "lufs" in f]
    if main_lufs is not None:
        for f in stems:
            if np.isfinite(f["lufs"]) and f["lufs"] > main_lufs + 0.5:
                problems.append(f"{f['name']}: stem {f['lufs']} LUFS is louder than the main ({main_lufs} LUFS)")
    modes = sorted({f["mode"] for f in files if "mode" in f})
    result.update({"n_files": len(files), "n_measured": sum(1 for f in files if "lufs" in f),
                   "n_silent": sum(1 for f in files if f.get("silent")), "unlisted": unlisted,
                   "main_lufs": main_lufs, "modes": modes, "problems": problems,
                   "warnings": data.get("warnings", []), "files": files})
    shutil.rmtree(folder, ignore_errors=True)  # measured; the audio is not kept
    return result


# ---------------------------------------------------------------------------------------------


def run_song(song_id: str, targets: list[dict], budget: Budget, deliver_sets: tuple[str, ...],
             mix: bool = True) -> dict:
    """Every step for one song, each cached in results/<song>.json (without ``mix``: no roles,
    produce or mix steps, only the projects and their deliveries)."""
    song = OUT / "songs" / song_id
    record = json.loads((song / "song.json").read_text())
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{song_id}.json"
    result = json.loads(path.read_text()) if path.exists() else {}
    if result.get("spec_hash") != record["spec_hash"]:
        result = {"spec_hash": record["spec_hash"]}
    result.update({"id": song_id, "family": record["family"], "style": record["style"],
                   "duration_s": record["excerpt"]["duration_s"], "n_stems": len(record["stems"])})
    steps = result.setdefault("steps", {})
    work = WORK / song_id
    with_stems, plain = work / "with_stems", work / "without_stems"

    def do(name: str, fn, *args) -> dict:
        if name in steps:
            return steps[name]
        if budget.left_s() <= 0:
            raise OutOfTime(name)
        steps[name] = fn(*args)
        path.write_text(json.dumps(result, indent=1, default=str) + "\n")
        return steps[name]

    try:
        reference = do("stems_sum", step_stems_sum, song, record)
        if "new_with_stems" in steps and not with_stems.exists():
            for key in [k for k in steps if k not in ("stems_sum",) and not k.startswith("deliver_without")]:
                steps.pop(key)  # the project is gone: its steps are redone
        new = do("new_with_stems", step_new, song, record, with_stems, True)
        if new["rc"] == 0 and mix:
            do("roles", step_roles, with_stems, record)
            do("produce", step_produce, song, record, with_stems)
            do("revert", lambda: {k: v for k, v in tw("revert", str(with_stems), "1").items() if k != "json"})
            for style in STYLES:
                do(f"mix_{style}", step_mix, song, record, with_stems, style, reference)
        if "with" in deliver_sets and new["rc"] == 0:
            for target in targets:
                do(f"deliver_with_stems_{target['name']}", step_deliver, with_stems, target,
                   work / "delivery", 1)
        if "without" in deliver_sets:
            if "new_without_stems" in steps and not plain.exists():
                for key in [k for k in steps if k.startswith(("new_without", "deliver_without"))]:
                    steps.pop(key)
            plain_new = do("new_without_stems", step_new, song, record, plain, False)
            if plain_new["rc"] == 0:
                for target in targets:
                    do(f"deliver_without_stems_{target['name']}", step_deliver, plain, target,
                       work / "delivery", None)
        result["complete"] = True
    except OutOfTime as stop:
        result["complete"] = False
        result["stopped_at"] = str(stop)
    path.write_text(json.dumps(result, indent=1, default=str) + "\n")
    return result


def fmt(value: Any, spec: str = "+.1f", none: str = "—") -> str:
    if value is None:
        return none
    if isinstance(value, float) and not np.isfinite(value):
        return "-inf" if value < 0 else "inf"
    return format(value, spec)


def print_song(r: dict) -> None:
    steps = r["steps"]
    print(f"\n== {r['id']}  ({r['family']}, {r['style']}, {r['duration_s']:.0f} s, {r['n_stems']} stems)"
          + ("" if r.get("complete") else f"  [incomplete: stopped before {r.get('stopped_at')}]"))
    ref = steps.get("stems_sum")
    if ref:
        off = [f"{n}({s['role']}) lag {s['lag_s'] * 1000:+.1f} ms pol {s['polarity']:+.0f} corr {s['correlation']:+.2f} "
               f"gain {fmt(s['lsq_gain_db'])} dB" for n, s in ref["stems"].items()
               if abs(s["lag_s"]) > 0.0005 or s["lsq_sign"] < 0 or abs(s["lsq_gain_db"]) > 0.5]
        print(f"  (a) stems-sum residual {fmt(ref['residual_db'])} dB re mix; mix {ref['mix_lufs']} LUFS, "
              f"side/mid {ref['mix_side_mid_db']} dB, PLR {ref['mix_plr_db']} dB")
        for line in off[:6]:
            print(f"      off: {line}")
    new = steps.get("new_with_stems")
    if new and new["rc"] != 0:
        print(f"  new FAILED: {new['cmd']}\n      {new['error']}")
    roles = steps.get("roles")
    if roles:
        wrong = [f"{n}: set {v['set']}, trackwright {v['trackwright']}" for n, v in roles["roles"].items()
                 if v["set"] != v["trackwright"]]
        print(f"  roles: trackwright agrees on {roles['agree']}/{roles['of']}" + (f"  ({'; '.join(wrong[:5])})" if wrong else ""))
    print("  (b) style       max band (Hz)   side/mid Δ  PLR taken  limiting tool/crest  TP mix   HPF on stems (power under HPF)")
    for style in STYLES:
        m = steps.get(f"mix_{style}")
        if not m:
            continue
        if m["rc"] != 0:
            print(f"      {style:<11} FAILED: {m['error']}")
            continue
        hp = ", ".join(f"{n}({p['role_tool']}) {p['highpass_hz']:.0f} Hz {fmt(p['stem_power_below_hpf_db'])} dB"
                       for n, p in m["parts"].items()
                       if p["stem_power_below_hpf_db"] is not None and p["stem_power_below_hpf_db"] > -20)
        ms = m["master"]
        lim = (f"{fmt(ms.get('limiting_db_tool'), '.1f')}/{fmt(ms.get('crest_change_db'), '.1f')}"
               if ms.get("rc") == 0 else "master failed")
        print(f"      {style:<11} {fmt(m['max_band_db']):>6} ({m['worst_band_hz'] or '-':>4})  {fmt(m['side_mid_diff_db']):>9}  "
              f"{fmt(m['plr_taken_db']):>9}  {lim:>19}  {fmt(m['true_peak_dbtp']):>6}   {hp or '-'}")
    p = steps.get("produce")
    if p:
        if p.get("skipped"):
            print(f"  (c) produce: skipped ({p['skipped']})")
        elif p["rc"] != 0:
            print(f"  (c) produce FAILED: {p['cmd']}\n      {p['error']}")
        else:
            print(f"  (c) produce {p['part']}={p['preset']}: replacement {fmt(p.get('replacement_lufs'), '.1f')} LUFS vs "
                  f"replaced {fmt(p['replaced_lufs'], '.1f')} LUFS (Δ {fmt(p.get('loudness_diff_lu'))} LU); "
                  f"replaced stem left in output {fmt(p['replaced_left_db'])} dB (sign {p['replaced_left_sign']:+.0f}, "
                  f"corr {p['replaced_corr']:+.2f}); output TP {fmt(p['output_true_peak_dbtp'])} dBTP")
    for kind in ("with_stems", "without_stems"):
        runs = {k.split("_")[-1]: v for k, v in steps.items() if k.startswith(f"deliver_{kind}_")}
        if not runs:
            continue
        ok = [t for t, v in runs.items() if v["rc"] == 0]
        files = sum(v.get("n_measured", 0) for v in runs.values())
        print(f"  (d) deliver {kind.replace('_', ' ')}: {len(ok)}/{len(runs)} targets ok, {files} files measured, "
              f"modes {sorted({m for v in runs.values() for m in v.get('modes', [])})}")
        for t, v in runs.items():
            if v["rc"] != 0:
                print(f"      {t}: FAILED  {v['cmd']}\n          {v['error']}")
            for problem in v.get("problems", [])[:3]:
                print(f"      {t}: {problem}")


def summarize(results: list[dict], split: dict) -> dict:
    """Pass rates and medians per split."""
    out = {}
    for name, ids in (("dev", split["dev"]), ("heldout", split["heldout"]), ("all", split["dev"] + split["heldout"])):
        rs = [r for r in results if r["id"] in ids]
        mixes = [r["steps"][f"mix_{s}"] for r in rs for s in STYLES
                 if r["steps"].get(f"mix_{s}", {}).get("rc") == 0]
        band = [abs(m["max_band_db"]) for m in mixes if m["max_band_db"] is not None]
        band_downmix = [m["max_band_downmix_db"] for m in mixes if m.get("max_band_downmix_db") is not None]
        sm = [abs(m["side_mid_diff_db"]) for m in mixes]
        sm_raw = [abs(m["side_mid_diff_raw_db"]) for m in mixes if "side_mid_diff_raw_db" in m]
        lim = [m["master"]["crest_change_db"] for m in mixes if m["master"].get("rc") == 0]
        lim_tool = [m["master"]["limiting_db_tool"] for m in mixes if m["master"].get("rc") == 0]
        prod = [r["steps"]["produce"] for r in rs if r["steps"].get("produce", {}).get("rc") == 0]
        lu = [abs(p["loudness_diff_lu"]) for p in prod if p.get("loudness_diff_lu") is not None]
        left = [p["replaced_left_db"] for p in prod]
        delivers = [v for r in rs for k, v in r["steps"].items() if k.startswith("deliver_")]
        residual = [r["steps"]["stems_sum"]["residual_db"] for r in rs if "stems_sum" in r["steps"]]

        def med(xs: list[float]) -> float | None:
            xs = [x for x in xs if x is not None and np.isfinite(x)]
            return round(float(np.median(xs)), 2) if xs else None

        def share(xs: list[float], goal: float) -> str:
            return f"{sum(1 for x in xs if x <= goal)}/{len(xs)}"

        out[name] = {
            "songs": len(rs), "complete": sum(1 for r in rs if r.get("complete")),
            "residual_db_median": med(residual),
            "residual_over_-30_db": sum(1 for x in residual if x > -30),
            "mix_runs": len(mixes), "mix_failures": sum(1 for r in rs for s in STYLES
                                                         if r["steps"].get(f"mix_{s}", {}).get("rc") not in (0, None)),
            "band_within_3db": share(band, GOALS["band_db"]), "band_max_abs_median_db": med(band),
            "band_downmix_within_3db": share(band_downmix, GOALS["band_db"]),
            "side_mid_within_2db": share(sm, GOALS["side_mid_db"]), "side_mid_abs_median_db": med(sm),
            "side_mid_raw_within_2db": share(sm_raw, GOALS["side_mid_db"]),
            "limiting_within_3db_measured": share(lim, GOALS["limiting_db"]), "limiting_median_db": med(lim),
            "limiting_tool_median_db": med(lim_tool),
            "produce_runs": len(prod), "produce_within_1lu": share(lu, GOALS["replace_lu"]),
            "produce_abs_lu_median": med(lu), "replaced_left_median_db": med(left),
            "deliver_runs": len(delivers), "deliver_failures": sum(1 for v in delivers if v["rc"] != 0),
            "deliver_files_measured": sum(v.get("n_measured", 0) for v in delivers),
            "deliver_problems": sum(len(v.get("problems", [])) for v in delivers),
        }
    return out


def print_summary(summary: dict) -> None:
    print("\n== summary (goals: band ≤ 3 dB in every octave 63 Hz–8 kHz, side/mid within 2 dB, limiting ≤ 3 dB, "
          "replacement within 1 LU, deliver: no failure)")
    keys = list(next(iter(summary.values())).keys())
    print(f"  {'':<30}" + "".join(f"{k:>12}" for k in summary))
    for key in keys:
        print(f"  {key:<30}" + "".join(f"{str(summary[s][key]):>12}" for s in summary))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("heldout", "dev", "all"), default="all")
    parser.add_argument("--songs", nargs="*", help="only these song ids")
    parser.add_argument("--budget-min", type=float, default=40.0, help="stop starting new steps after this (minutes)")
    parser.add_argument("--targets", nargs="*", help="only these deliver targets (default: every target)")
    parser.add_argument("--deliver", choices=("both", "with", "without", "none"), default="both")
    parser.add_argument("--no-mix", action="store_true", help="skip roles, produce and mix (deliveries only)")
    parser.add_argument("--fresh", action="store_true", help="forget cached results and projects")
    args = parser.parse_args(argv)
    budget = Budget(args.budget_min)
    split = realmix_set.load_split()
    order = split["heldout"] + split["dev"] if args.split == "all" else split[args.split]
    if args.songs:
        order = [s for s in order if s in args.songs]
    if args.fresh:
        shutil.rmtree(RESULTS, ignore_errors=True)
        shutil.rmtree(WORK, ignore_errors=True)
    missing = [s for s in order if not (OUT / "songs" / s / "song.json").exists()]
    if missing:
        print(f"building the set: {', '.join(missing)}", flush=True)
        realmix_set.main(sum((["--only", s] for s in missing), []))
    order = [s for s in order if (OUT / "songs" / s / "song.json").exists()]
    listing = tw("master", "--list-targets", "--json")
    targets = listing["json"] or []
    if args.targets:
        targets = [t for t in targets if t["name"] in args.targets]
    sets = {"both": ("with", "without"), "with": ("with",), "without": ("without",), "none": ()}[args.deliver]
    print(f"{len(order)} songs, {len(targets)} deliver targets ({', '.join(t['name'] for t in targets)}), "
          f"budget {args.budget_min:.0f} min", flush=True)
    results = []
    for song_id in order:
        result = run_song(song_id, targets, budget, sets, mix=not args.no_mix)
        results.append(result)
        print_song(result)
        sys.stdout.flush()
    summary = summarize(results, split)
    print_summary(summary)
    (OUT / "summary.json").write_text(json.dumps({"summary": summary, "songs": [r["id"] for r in results],
                                                  "incomplete": [r["id"] for r in results if not r.get("complete")]},
                                                 indent=1) + "\n")
    print(f"\nresults: {RESULTS}/<song>.json, summary: {OUT / 'summary.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
