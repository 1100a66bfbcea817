"""A whole batch: bad files isolated, reruns idempotent, a killed batch resumed, the catalogue."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from batch_fixtures import VARIED, chord_song, crash_on_marked, fade_out, write
from clirun import run

from trackwright.batch import BatchSettings, QcRules, TrackJob, run_batch
from trackwright.batch.fingerprint import Fingerprint
from trackwright.batch.inputs import gather_inputs
from trackwright.batch.local import run_local
from trackwright.batch.memory import WORKER_BASE_MIB, plan_workers, worker_peak_mib

SRC = Path(__file__).resolve().parents[1] / "src"


def _song(index: int, seconds: float = 10.0) -> np.ndarray:
    chords = [VARIED[(index * 5 + k) % len(VARIED)] for k in range(int(seconds // 2))]
    return fade_out(chord_song(chords, transpose=float(index % 3)))


@pytest.fixture(scope="module")
def drafts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four songs (one a quieter copy of another), a corrupt file and a clip too short to analyse."""
    folder = tmp_path_factory.mktemp("drafts")
    verse = _song(0)
    write(folder, "verse.wav", verse)
    write(folder, "verse quiet.wav", verse * np.float32(0.5))
    write(folder, "chorus.wav", _song(1))
    write(folder, "bridge.wav", _song(2))
    (folder / "broken.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt nonsense")
    write(folder, "tiny.wav", _song(3)[:, :22050])
    return folder


@pytest.fixture(scope="module")
def first(drafts: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Path]:
    out = tmp_path_factory.mktemp("batch") / "out"
    return run_batch([drafts], out, workers=1), out


def _files(out: Path) -> dict[str, int]:
    return {str(p.relative_to(out)): p.stat().st_mtime_ns for p in sorted((out / "tracks").rglob("*")) if p.is_file()}


def _rows(out: Path) -> list[dict[str, str]]:
    with (out / "catalog.csv").open() as f:
        return list(csv.DictReader(f))


def test_every_track_is_catalogued_and_each_bad_file_is_one_line(first, drafts: Path) -> None:
    result, out = first
    rows = {Path(r["path"]).name: r for r in _rows(out)}
    assert result.tracks == 6 and len(rows) == 6
    failures = {Path(path).name: error for path, error in result.failures}
    assert set(failures) == {"broken.wav", "tiny.wav"}
    assert re.fullmatch(r"analyze: .*broken\.wav: .*", failures["broken.wav"])
    assert "analysis needs at least 3 s" in failures["tiny.wav"]
    assert all("\n" not in e for e in failures.values())
    for name in ("verse.wav", "verse quiet.wav", "chorus.wav", "bridge.wav"):
        row = rows[name]
        assert row["status"] == "ok" and row["verdict"] in ("ready", "needs work", "reject")
        folder = out / "tracks" / row["id"]
        analysis = json.loads((folder / "analysis.json").read_text())
        assert analysis["file"] == str(drafts / name) and analysis["duration_s"] == pytest.approx(float(
            row["duration_s"]))
        assert json.loads((folder / "qc.json").read_text())["verdict"] == row["verdict"]
    assert rows["broken.wav"]["verdict"] == "failed" and rows["broken.wav"]["error"] == failures["broken.wav"]
    assert result.counts["analyze"] == {"done": 4, "skipped": 0, "failed": 2, "blocked": 0}
    assert result.counts["qc"]["blocked"] == 2


def test_the_quiet_copy_and_only_it_is_a_near_duplicate(first) -> None:
    result, out = first
    rows = {Path(r["path"]).name: r for r in _rows(out)}
    grouped = {name: r["duplicate_group"] for name, r in rows.items() if r["duplicate_group"]}
    assert grouped == {"verse.wav": "1", "verse quiet.wav": "1"}
    assert sorted(result.duplicate_groups[0]) == sorted([rows["verse.wav"]["id"], rows["verse quiet.wav"]["id"]])
    assert rows["verse quiet.wav"]["duplicate_of"] in ("verse", "") and rows["verse.wav"]["duplicate_of"] in (
        "verse quiet", "")


def test_the_catalogue_page_is_self_contained_and_links_every_report(first) -> None:
    _, out = first
    page = (out / "catalog.html").read_text()
    assert not re.search(r"https?://|<link|<script src|<img src", page)
    links = re.findall(r'href="([^"]+)"', page)
    assert len(links) == 4 and all((out / link).is_file() for link in links)
    assert page.count("<tr data-verdict") == 6 and page.count('<svg class="plot"') == 4
    catalog = json.loads((out / "catalog.json").read_text())
    assert catalog["summary"]["tracks"] == 6 and catalog["summary"]["failed"] == 2
    assert catalog["summary"]["duplicate_groups"] == 1 and len(catalog["duplicate_groups"][0]["matches"]) == 1


def test_a_rerun_redoes_nothing_and_rewrites_no_track_file(first, drafts: Path, tmp_path: Path) -> None:
    _, out = first
    again = tmp_path / "out"
    shutil.copytree(out, again)
    before = _files(again)
    catalog = (again / "catalog.json").read_bytes()
    result = run_batch([drafts], again, workers=1)
    assert result.counts["analyze"] == {"done": 0, "skipped": 4, "failed": 2, "blocked": 0}
    assert result.counts["qc"]["done"] == 0 and result.counts["fingerprint"]["done"] == 0
    assert _files(again) == before
    assert (again / "catalog.json").read_bytes() == catalog


def test_a_changed_source_or_rule_redoes_only_what_depends_on_it(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    write(folder, "one.wav", _song(4, 6.0))
    write(folder, "two.wav", _song(5, 6.0))
    out = tmp_path / "out"
    run_batch([folder], out, workers=1)
    write(folder, "two.wav", _song(6, 6.0))
    changed = run_batch([folder], out, workers=1)
    assert changed.counts["analyze"]["done"] == 1 and changed.counts["analyze"]["skipped"] == 1
    assert changed.counts["fingerprint"]["done"] == 1 and changed.counts["qc"]["done"] == 1
    stricter = run_batch([folder], out, workers=1, rules=QcRules(weak_key_confidence=1.01))
    assert stricter.counts["analyze"]["skipped"] == 2 and stricter.counts["qc"]["done"] == 2
    assert stricter.verdicts == {"needs work": 2}


def test_a_killed_batch_resumes_without_losing_repeating_or_redoing_a_track(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for index in range(8):
        write(folder, f"take{index}.wav", _song(index, 6.0))
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    process = subprocess.Popen([sys.executable, "-m", "trackwright", "batch", str(folder), "-o", str(out),
                                "--workers", "1", "--quiet"], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while len(list(out.glob("tracks/*/steps/qc.json"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    finished = {p.parents[1].name for p in out.glob("tracks/*/steps/qc.json")}
    analysed = {p.parents[1].name for p in out.glob("tracks/*/steps/analyze.json")}
    assert 2 <= len(finished) < 8, "the batch was to be killed mid-run"
    for path in out.glob("tracks/*/*.json"):  # no final name holds half-written content
        json.loads(path.read_text())
    for path in out.glob("tracks/*/fingerprint.npz"):
        Fingerprint.load(path)
    kept = {name: mtime for name, mtime in _files(out).items() if name.split("/")[1] in finished}
    result = run_batch([folder], out, workers=1)
    assert result.counts["qc"] == {"done": 8 - len(finished), "skipped": len(finished), "failed": 0, "blocked": 0}
    assert result.counts["analyze"]["done"] == 8 - len(analysed)
    assert {name: mtime for name, mtime in _files(out).items() if name in kept} == kept
    rows = _rows(out)
    assert sorted(Path(r["path"]).name for r in rows) == [f"take{i}.wav" for i in range(8)]
    assert len({r["id"] for r in rows}) == 8 and all(r["verdict"] for r in rows)
    assert not [p for p in out.rglob("*") if ".part" in p.name or p.name.startswith(".stage-")]


def test_a_worker_that_dies_fails_only_its_own_track(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    write(folder, "fine.wav", _song(7, 4.0))
    write(folder, "crash.wav", _song(8, 4.0))
    settings = BatchSettings(steps=("analyze",))
    jobs = [TrackJob(track, str(tmp_path / "out"), settings) for track in gather_inputs([folder])]
    outcomes = []
    run_local(jobs, 2, outcomes.append, work=crash_on_marked)
    by_name = {Path(o.path).name: o for o in outcomes}
    assert sorted(by_name) == ["crash.wav", "fine.wav"]
    assert by_name["fine.wav"].steps["analyze"].status == "done"
    assert by_name["crash.wav"].failed and "worker process died while working on this track alone" in by_name[
        "crash.wav"].error


def test_the_command_line(drafts: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    files = [drafts / "verse.wav", drafts / "broken.wav"]
    code, stdout, stderr = run(capsys, "batch", *files, "-o", out, "--workers", "1")
    assert code == 0 and "2 tracks in" in stdout and "catalogue: " in stdout
    assert stderr.strip().splitlines() == [f"failed: {drafts / 'broken.wav'}: " + stderr.split(": ", 2)[2].strip()]
    code, stdout, _ = run(capsys, "batch", *files, "-o", out, "--workers", "1", "--json", "--strict")
    assert code == 1 and json.loads(stdout)["counts"]["analyze"]["skipped"] == 1
    code, _, stderr = run(capsys, "batch", drafts / "verse.wav", "-o", out, "--do", "analyze,remix")
    assert code == 1 and stderr == "error: --do analyze,remix: unknown step 'remix'; choose from analyze, qc, " \
                                   "master, deliver\n"
    code, _, stderr = run(capsys, "batch", drafts / "verse.wav", "-o", out, "--do", "master")
    assert code == 1 and "needs --target" in stderr and stderr.count("\n") == 1


def test_the_pool_is_sized_by_cores_tracks_and_the_memory_the_longest_file_needs() -> None:
    short, long_ = worker_peak_mib(["analyze"], 30.0), worker_peak_mib(["analyze", "master"], 600.0)
    assert short == WORKER_BASE_MIB and long_ == pytest.approx(210 + 2.7 * 600)
    assert worker_peak_mib(["master"], 600.0, samples_per_s=96_000 * 2) == pytest.approx(210 + 2 * 2.7 * 600)
    assert plan_workers(tracks=500, worker_mib=short, available_mib=64_000, cores=16).workers == 16
    assert plan_workers(tracks=3, worker_mib=short, available_mib=64_000, cores=16).workers == 3
    tight = plan_workers(tracks=500, worker_mib=long_, available_mib=8_000, cores=16)
    assert (tight.workers, tight.limit) == (int(8_000 * 0.8 // long_), "memory") and tight.workers == 3
    assert plan_workers(tracks=500, worker_mib=long_, available_mib=500, cores=16).workers == 1
    assert plan_workers(tracks=500, worker_mib=long_, requested=5, available_mib=500).workers == 5
