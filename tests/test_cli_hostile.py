"""The command line against a hostile disk and hostile input (issue 19): a read-only folder, a
full disk or a file-size limit, names too long or not UTF-8, a text file posing as a stem,
requests too large to start, inputs that must be refused before a version is committed, a
database held by another process, staging folders left by a killed delivery. Every case is exit
1 with one line that names the path and the reason, and nothing is left half-made."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import mido
import pytest
from clirun import run
from project_fixtures import write_song

from trackwright import sqlite as db_access
from trackwright.audio import available_memory_bytes
from trackwright.project import Project

SRC = Path(__file__).resolve().parents[1] / "src"
ROOT = os.geteuid() == 0


def one_line(err: str) -> bool:
    return err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err


def run_cases(cases: list[list[str]], *, user: int | None = None, fsize: int | None = None,
              timeout_s: float = 240.0, cwd: Path | None = None) -> list[tuple[int, str]]:
    """Run ``trackwright`` ARGV lists in one subprocess, as ``user`` and under a file-size limit in bytes."""
    def limits() -> None:
        if fsize is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
        if user is not None:
            os.setgid(user)
            os.setuid(user)

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), str(Path(__file__).parent)]),
           "HOME": str(cwd or Path.cwd())}
    done = subprocess.run([sys.executable, str(Path(__file__).with_name("cli_cases.py")), json.dumps(cases)],
                          capture_output=True, text=True, timeout=timeout_s, preexec_fn=limits, env=env, cwd=cwd)
    assert done.returncode == 0, done.stderr[-2000:]
    return [(code, err) for code, err in json.loads(done.stdout)]


@pytest.fixture(scope="module")
def song(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("hostile")
    paths = write_song(folder / "song", seconds=6.0, midi=True)
    project = Project.create(folder / "project", paths["draft"], stems=paths["stems"], midi=paths["midi"],
                             author="composer")
    project.render()
    return {**paths, "project": project.path, "folder": folder}


def versions_of(project: Path) -> list[int]:
    return [v.number for v in Project.open(project).versions()]


# -- 8. read-only folders, full disks, long and odd names ------------------------------------------
def hostile_writes(song: dict[str, Path], out: Path) -> list[list[str]]:
    draft, stems, project = str(song["draft"]), str(song["stems"]), str(song["project"])
    return [["master", draft, "--target", "streaming", "-o", f"{out}/m.wav", "-q"],
            ["fit", draft, "--duration", "4", "-o", f"{out}/f.wav", "-q"],
            ["mix", stems, "-o", f"{out}/x.wav", "-q"],
            ["analyze", draft, "--html", f"{out}/r.html", "-q"],
            ["compose", str(song["midi"]), "transpose", "--semitones", "2", "-o", f"{out}/c.mid", "-q"],
            ["new", f"{out}/p", "--audio", draft, "-q"],
            ["deliver", project, "--target", "streaming", "--only", "main", "-o", f"{out}/d", "-q"]]


@pytest.fixture
def read_only_folder(tmp_path: Path):
    """A folder nobody may write: mode 0555, or (for root, who writes anyway) a read-only tmpfs."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    if not ROOT:
        os.chmod(folder, 0o555)
        yield folder
        os.chmod(folder, 0o755)
        return
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(folder)],
                      capture_output=True).returncode != 0:
        pytest.skip("running as root and cannot mount a read-only tmpfs here")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_read_only_output_folder_is_one_line_naming_it(song: dict[str, Path], read_only_folder: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    cases = hostile_writes(song, read_only_folder) + [["transcribe", str(song["draft"]), "-o",
                                                       f"{read_only_folder}/t.mid", "-q"]]
    before = versions_of(song["project"])
    for argv in cases:
        code, _, err = run(capsys, *argv)
        assert code == 1 and one_line(err), (argv[0], code, err)
        assert str(read_only_folder) in err and ("permission denied" in err or "read-only" in err), (argv[0], err)
    assert list(read_only_folder.iterdir()) == [] and versions_of(song["project"]) == before


def test_a_file_size_limit_is_one_line_naming_the_file(song: dict[str, Path]) -> None:
    out = song["folder"] / "limited"
    out.mkdir(exist_ok=True)
    cases = [c for c in hostile_writes(song, out) if c[0] in ("master", "fit", "new", "deliver")]
    results = run_cases(cases, fsize=40_000, cwd=song["folder"])  # a "disk" that fills after 40 kB
    for argv, (code, err) in zip(cases, results):
        assert code == 1 and one_line(err), (argv[0], code, err)
        assert ("file too large" in err or "file-size limit" in err) and str(song["folder"]) in err, (argv[0], err)
    left = [p.name for p in out.iterdir()]
    assert left == [] or all(name.startswith(".") is False and (out / name).is_dir() for name in left), left


@pytest.fixture
def tiny_disk(tmp_path: Path):
    """A 300 kB tmpfs (root only); skipped where it cannot be mounted."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    if not ROOT or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(mount)],
                                  capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_is_one_line_naming_the_file(song: dict[str, Path], tiny_disk: Path) -> None:
    cases = [c for c in hostile_writes(song, tiny_disk) if c[0] in ("master", "fit", "new", "deliver")]
    results = run_cases(cases, cwd=song["folder"])
    for argv, (code, err) in zip(cases, results):
        assert code == 1 and one_line(err), (argv[0], code, err)
        assert "no space left" in err and str(tiny_disk) in err, (argv[0], err)
    assert not [p for p in tiny_disk.rglob("*") if p.is_file()]


def test_long_and_non_utf8_names(song: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    legal = tmp_path / ("a" * 245 + ".wav")  # 249 bytes: legal, though its temporary name used not to be
    code, _, err = run(capsys, "master", song["draft"], "--target", "streaming", "-o", legal, "-q")
    assert code == 0 and legal.is_file(), err
    too_long = tmp_path / ("b" * 252 + ".wav")
    code, _, err = run(capsys, "master", song["draft"], "--target", "streaming", "-o", too_long, "-q")
    assert code == 1 and one_line(err) and "name too long" in err
    odd = Path(os.fsdecode(bytes(tmp_path) + b"/dr\xffaft.wav"))
    shutil.copyfile(song["draft"], odd)
    code, out, err = run(capsys, "loudness", odd, "--json")
    assert code == 0, err
    out_name = Path(os.fsdecode(bytes(tmp_path) + b"/m\xe9\xffout.wav"))
    code, _, err = run(capsys, "master", odd, "--target", "streaming", "-o", out_name, "-q")
    assert code == 0, err
    assert b"m\xe9\xffout.wav" in os.listdir(bytes(tmp_path))
    assert not [n for n in os.listdir(bytes(tmp_path)) if n.startswith(b".")]  # no temporary file left


def test_a_text_file_named_like_a_stem_and_a_huge_version_are_one_line(song: dict[str, Path], tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    stems = tmp_path / "stems"
    shutil.copytree(song["stems"], stems)
    (stems / "drums.wav").write_text("these are the drums, honest\n")
    for argv in (["mix", stems, "-o", tmp_path / "mix.wav", "-q"], ["stems", stems],
                 ["new", tmp_path / "p", "--audio", song["draft"], "--stems", stems, "-q"]):
        code, _, err = run(capsys, *argv)
        assert code == 1 and one_line(err) and "drums.wav: not a readable audio file" in err, (argv[0], err)
    code, _, err = run(capsys, "render", song["project"], "--version", str(2**70))
    assert code == 1 and one_line(err) and f"no version {2**70}" in err


# -- 9. limits checked before the work ---------------------------------------------------------------
def test_requests_too_large_are_refused_before_any_work(song: dict[str, Path], tmp_path: Path) -> None:
    many = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    many.tracks.append(track)
    for index in range(100_000):
        track.append(mido.Message("note_on", note=48 + index % 24, velocity=80, time=0))
        track.append(mido.Message("note_off", note=48 + index % 24, velocity=0, time=120))
    many.save(str(tmp_path / "many.mid"))
    before = versions_of(song["project"])
    cases = [["fit", str(song["draft"]), "--duration", "1e9", "-o", str(tmp_path / "f.wav"), "-q"],
             ["fit", str(song["project"]), "--duration", "1e9", "-q"],
             ["arrange", str(song["project"]), "repeat", "bars 1-2", "--times", "1000000"],
             ["compose", str(tmp_path / "many.mid"), "reharmonise", "-o", str(tmp_path / "c.mid"), "-q"]]
    results = run_cases(cases, timeout_s=120)  # the code before ran on for ever (and 7.5 GB) here
    words = ["longer than the 1800 s", "longer than the 1800 s", "--times must be 1–64", "100000 notes"]
    for argv, (code, err), word in zip(cases, results, words):
        assert code == 1 and one_line(err) and word in err, (argv, err)
    assert versions_of(song["project"]) == before


def test_a_cue_that_would_not_fit_in_memory_is_refused(song: dict[str, Path], tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert available_memory_bytes() is None or available_memory_bytes() > 0
    monkeypatch.setattr("trackwright.audio.available_memory_bytes", lambda: 50 * 2**20)  # 50 MiB free
    code, _, err = run(capsys, "fit", song["draft"], "--duration", "600", "-o", tmp_path / "f.wav", "-q")
    assert code == 1 and one_line(err) and "GiB of memory" in err


# -- 10. a version is committed only after its inputs validate ----------------------------------------
def test_inputs_are_checked_before_a_version_is_committed(song: dict[str, Path], tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    project = song["project"]
    before = versions_of(project)
    from trackwright.produce.instruments import part_names

    part = part_names(song["midi"])[0]
    for argv, word in ((["produce", project, "--instrument", f"{part}=sf:/nonexistent.sf2:0:0", "-q"],
                        "/nonexistent.sf2 does not exist"),
                       (["produce", project, "--instrument", f"{part}=sfz:/nonexistent.sfz", "-q"], "nonexistent.sfz"),
                       (["mix", project, "--role", "nopart=bass", "-q"], "no part named 'nopart'"),
                       (["transcribe", song["draft"], "-o", tmp_path / "t.mid", "--min-hz", "-5", "-q"],
                        "must be a positive number of Hz")):
        code, _, err = run(capsys, *argv)
        assert code == 1 and one_line(err) and word in err, (argv, err)
        assert versions_of(project) == before
    # a version whose render fails anyway is withdrawn: the latest still renders
    from trackwright.project import operations

    opened = Project.open(project)
    monkeypatch.setattr(Project, "render", lambda self, number=None, progress=None: (_ for _ in ()).throw(
        OSError(28, "No space left on device")))
    with pytest.raises(OSError):
        operations.make_version(opened, lambda recipe: (recipe.with_part("bass", gain_db=-1.0), "bass down"))
    monkeypatch.undo()
    assert versions_of(project) == before
    assert sorted(p.name for p in (project / "recipes").iterdir()) == [f"v{n:04d}.yaml" for n in before]


# -- 11. a database another process holds is busy, never damaged ---------------------------------------
def test_a_locked_project_db_is_reported_busy_and_never_moved_aside(song: dict[str, Path],
                                                                    monkeypatch: pytest.MonkeyPatch,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    db = song["project"] / "project.db"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sqlite3, sys, time\n"
        f"con = sqlite3.connect({str(db)!r}, isolation_level=None)\n"
        "con.execute('BEGIN EXCLUSIVE')\nprint('held', flush=True)\ntime.sleep(60)\n")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        monkeypatch.setattr(db_access, "BUSY_TIMEOUT_S", 0.5)
        for argv in (["versions", song["project"]], ["repair", song["project"]]):
            code, _, err = run(capsys, *argv)
            assert code == 1 and one_line(err) and "busy" in err and "not damaged" in err and "run `trackwright repair" not in err, (argv[0], err)
        assert db.is_file() and not list(song["project"].glob("project.db.corrupt-*"))
    finally:
        holder.kill()
        holder.wait()
    code, out, err = run(capsys, "versions", song["project"], "--json")
    assert code == 0 and json.loads(out)[0]["number"] == 1, err


# -- 12. staging folders a killed delivery left are cleaned by the next one -----------------------------
def test_the_next_delivery_removes_staging_folders_of_dead_deliveries(song: dict[str, Path], tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = [tmp_path / f".out.delivering-{dead.pid}", tmp_path / f".other.delivering-{dead.pid}"]
    for folder in stale:
        folder.mkdir()
        (folder / "half.wav").write_bytes(b"\0" * 1000)
    alive = tmp_path / f".busy.delivering-{os.getpid()}"  # a delivery still running: left alone
    alive.mkdir()
    code, _, err = run(capsys, "deliver", song["project"], "--target", "streaming", "--only", "main",
                       "-o", tmp_path / "out", "-q")
    assert code == 0, err
    assert not any(folder.exists() for folder in stale) and alive.is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([alive.name, "out"])
