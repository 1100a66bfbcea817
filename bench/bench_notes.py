"""Creative-note benchmark (`make bench`): does `trackwright note` move the music the way a note asks?

Every note of ``bench/notes/corpus.yaml`` (the dev split by default; ``--split heldout`` only when
you mean it) is tried on every material — mix-only real tracks, projects with stems and a
generated song with stems and MIDI — as a new user would: a fresh copy of a project made with
``trackwright new``, then ``trackwright note PROJECT TEXT --json`` in a subprocess, then
``trackwright render PROJECT --json``. The harness measures the audio before and after with its
own meters (``notes_measure.py``: pyloudnorm, numpy/scipy spectra, librosa onsets, mid/side,
duration, an onset-envelope tempo match, a constant-Q pitch match) and judges each run by the
corpus's expected descriptor moves, audible thresholds, constraints, the audio outside the
scope, refusals and praise. It never reads the tool's own verdict to grade it; it only records
whether the tool *claimed* success ("as asked") on a run that failed.

What it relies on from trackwright (nothing else):
  * ``trackwright new P --audio A [--stems DIR] [--midi M] --json`` makes version 1;
  * ``trackwright note P TEXT --json``: exit 0 with a JSON object on stdout (a new version), or
    exit 1 and one line on stderr (refused); any other exit, or a traceback, is a crash;
  * ``trackwright render P [--version N] --json``: ``version``, ``mix``, optional ``master``,
    ``stems`` {name: path} and ``residual`` (paths relative to the working directory); the heard
    audio is ``master`` when there is one, else ``mix``; stems + residual sum to the mix;
  * ``trackwright analyze P --json``: ``sections`` [{role, start_s, end_s}] (section scopes on real
    tracks; the generated song uses its composed sections);
  * a project folder can be copied (``cp -r``) and still works (set ``--fresh`` to make every run
    with ``new`` instead);
  * claims: boolean ``as_asked`` / ``achieved`` fields anywhere in the note's JSON (all true = the
    tool claimed success; "not achieved" in its text = it did not).

Output: a table per category, per material and overall; false "as asked" claims; constraint
violations caught; the top failure causes with examples; every run in
``bench-out/notes/report-<split>.json``. Runs are cached per (note, material, engine source
hash) under ``bench-out/notes/runs/``, so an interrupted run resumes and a changed engine re-runs.
A full dev run is about 1,270 runs (212 notes × 6 materials); at ~12 s a run on 2 workers that is
roughly 2 hours on this 2-core machine (refusals take ~2 s; notes that change the audio 10–25 s).

    python bench/bench_notes.py [--split dev|heldout] [--materials xeon,genpop] [--categories span]
                                [--notes spn-01,tec-04] [--limit N] [--budget-s S] [--jobs 2]
                                [--fresh] [--report-only]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import concurrent.futures
import contextlib
import fcntl
import hashlib
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from notes_corpus import CATEGORIES, SAME_TOLERANCE, THRESHOLDS, Clause, Note, Term, load_corpus, load_split
from notes_measure import (Track, band_share_db, centroid_hz, compare_region, crest_db, fade_depth_db, gap_depth_db,
                           loudness_lufs, loudness_range_lu, onset_density, pitch_shift_st, plain_loudness, rise_lu,
                           tempo_factor, width_db)

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench-out" / "notes"
SHARED_AUDIO = Path(os.environ.get("TRACKWRIGHT_SHARED_AUDIO", ROOT.parent / "shared" / "audio"))
#: Bump when what is measured changes (cached runs are then made again); see also GRADING_VERSION.
HARNESS_VERSION = 2
NOTE_TIMEOUT_S = 600
#: Seconds around a scope where the tool's ramps may still act (outside checks start beyond).
RAMP_MARGIN_S = 2.0
#: Extra seconds after a scope when the note asks for reverb (its tail may ring on).
REVERB_TAIL_S = 3.0


# --- materials ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Material:
    """A draft to try every note on: ``kind`` "mix" (mix only) or "stems"; ``roles`` maps a part
    role to a regex over the stem names the render reports; ``sections`` "truth" (composed) or
    "analysis" (``trackwright analyze``)."""

    id: str
    kind: str
    what: str
    roles: dict[str, str] = field(default_factory=dict)
    sections: str = "analysis"

    @property
    def tag(self) -> str:
        """The id and a hash of the definition: a changed excerpt or role map is made afresh."""
        return f"{self.id}-{hashlib.sha256(repr(self).encode()).hexdigest()[:6]}"


#: Materials of a plain run (``--materials`` may add ``king``, an orchestral mix-only excerpt).
DEFAULT_MATERIALS = ("xeon", "aidraft", "fof", "reggae", "genpop")
MATERIALS: dict[str, Material] = {m.id: m for m in (
    Material("xeon", "mix", "SuperTuxKart 'Xeon' (electronic), 0:30-2:00 of the mix"),
    Material("king", "mix", "Wesnoth 'The King is Dead' (orchestral), 0:20-1:20 of the mix"),
    Material("aidraft", "mix", "AI draft happy_acoustic_1 (ACE-Step 1.5, 32.6 s)"),
    Material("fof", "stems", "Frets on Fire 'Feelings' (rock): band + lead guitar stems, 1:00-2:00",
             {"guitar": r"guitar", "lead": r"guitar"}),
    Material("reggae", "stems", "LMMS 'ReggaeTry': 9 solo-rendered stems and its mix, 44 s",
             {"drums": r"bd_|snare|hihat|hihhat", "kick": r"bd_", "snare": r"snare", "hats": r"hihat|hihhat",
              "bass": r"bass", "keys": r"piano", "strings": r"strings"}),
    Material("genpop", "stems", "generated pop form, D major, 120 BPM, 58 s: 5 FluidSynth stems + MIDI",
             {"drums": r"drums", "kick": r"drums", "snare": r"drums", "hats": r"drums", "bass": r"bass",
              "keys": r"chords", "pad": r"pad", "lead": r"lead"}, "truth"),
)}


def _write_float_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    tmp = path.with_name(path.name + ".tmp.wav")
    sf.write(str(tmp), samples.T.astype(np.float32), rate, subtype="FLOAT")
    tmp.replace(path)


def _excerpt(paths: dict[str, Path], start_s: float, length_s: float) -> tuple[dict[str, np.ndarray], int]:
    """The same excerpt of several files (channels × frames) with 20 ms fades at the cuts."""
    out, rate = {}, 0
    for name, path in paths.items():
        rate = sf.info(str(path)).samplerate
        data, _ = sf.read(str(path), start=int(start_s * rate), frames=int(length_s * rate), dtype="float64",
                          always_2d=True)
        ramp = np.linspace(0.0, 1.0, int(0.02 * rate))
        data[:len(ramp)] *= ramp[:, None]
        data[len(data) - len(ramp):] *= ramp[::-1, None]
        out[name] = data.T
    return out, rate


def _compose_genpop(folder: Path) -> dict[str, Any]:
    """The generated song: trackwright's pop form (halved), rendered part by part with FluidSynth."""
    import dataclasses

    from trackwright.produce.instruments import render_parts
    from trackwright.score.draft import compose_song, pop_form_sections

    sections = [dataclasses.replace(s, bars=max(2, s.bars // 2)) for s in pop_form_sections("D", seed=3)]
    midi, info = compose_song(sections, bpm=120.0, key="D", seed=3)
    midi.save(str(folder / "song.mid"))
    stems = render_parts(midi, sample_rate=44100)
    (folder / "stems").mkdir(exist_ok=True)
    for name, audio in stems.items():
        _write_float_wav(folder / "stems" / f"{name}.wav", audio.samples.astype(np.float64), audio.sample_rate)
    draft = sum(a.samples.astype(np.float64) for a in stems.values())
    rate = next(iter(stems.values())).sample_rate
    _write_float_wav(folder / "draft.wav", draft, rate)
    total = draft.shape[1] / rate
    truth = [{"role": role, "start_s": start, "end_s": end if i < len(info.sections) - 1 else total}
             for i, (start, end, _label, role) in enumerate(info.sections)]
    return {"draft": "draft.wav", "stems": "stems", "midi": "song.mid", "sections": truth}


def prepare_material(material: Material) -> dict[str, Any]:
    """Write the material's draft (and stems, MIDI) under ``bench-out/notes/material/ID`` once;
    returns paths relative to that folder and, for composed material, its sections."""
    folder = OUT / "material" / material.tag
    done = folder / "material.json"
    if done.exists():
        return json.loads(done.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    songs, stems_root = SHARED_AUDIO / "songs", SHARED_AUDIO / "stems"
    info: dict[str, Any]
    if material.id in ("xeon", "king"):
        source = songs / ("supertuxkart_xeon6.ogg" if material.id == "xeon" else "wesnoth_the_king_is_dead.ogg")
        parts, rate = _excerpt({"draft": source}, *((30.0, 90.0) if material.id == "xeon" else (20.0, 60.0)))
        _write_float_wav(folder / "draft.wav", parts["draft"], rate)
        info = {"draft": "draft.wav"}
    elif material.id == "aidraft":
        parts, rate = _excerpt({"draft": SHARED_AUDIO / "ai-drafts" / "happy_acoustic_1.opus"}, 0.0, 40.0)
        _write_float_wav(folder / "draft.wav", parts["draft"], rate)
        info = {"draft": "draft.wav"}
    elif material.id == "fof":
        parts, rate = _excerpt({"band": stems_root / "fof_feelings" / "song.ogg",
                                "guitar": stems_root / "fof_feelings" / "guitar.ogg"}, 60.0, 60.0)
        (folder / "stems").mkdir(exist_ok=True)
        for name, samples in parts.items():
            _write_float_wav(folder / "stems" / f"{name}.wav", samples, rate)
        _write_float_wav(folder / "draft.wav", parts["band"] + parts["guitar"], rate)
        info = {"draft": "draft.wav", "stems": "stems"}
    elif material.id == "reggae":
        source = stems_root / "lmms_reggaetry"
        (folder / "stems").mkdir(exist_ok=True)
        for path in sorted(source.glob("[0-9]_*.ogg")):
            shutil.copyfile(path, folder / "stems" / path.name)
        shutil.copyfile(source / "mix.ogg", folder / "draft.ogg")
        info = {"draft": "draft.ogg", "stems": "stems"}
    elif material.id == "genpop":
        info = _compose_genpop(folder)
    else:
        raise ValueError(f"unknown material {material.id}")
    done.write_text(json.dumps(info, indent=1))
    return info


def material_available(material: Material) -> str | None:
    """Why the material cannot be made here (None when it can)."""
    if material.id == "genpop":
        modules = ("trackwright.produce.instruments", "trackwright.score.draft")
        missing = [name for name in modules if importlib.util.find_spec(name) is None]
        return f"cannot compose it without {', '.join(missing)}" if missing else None
    return None if SHARED_AUDIO.is_dir() else f"{SHARED_AUDIO} is absent"


# --- the command line under test ----------------------------------------------------------------
@dataclass(frozen=True)
class Engine:
    """How to run trackwright: ``python -m trackwright`` with this interpreter, and the hash of the
    package's sources (so cached runs of another engine are not reused)."""

    python: str
    fingerprint: str
    package: str

    @classmethod
    def find(cls, python: str) -> Engine:
        code = ("import hashlib, pathlib, trackwright; root = pathlib.Path(trackwright.__file__).parent; h = "
                "hashlib.sha256(); [h.update(str(p.relative_to(root)).encode() + p.read_bytes()) for p in "
                "sorted(root.rglob('*.py'))]; print(h.hexdigest()[:12], root)")
        done = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
        fingerprint, package = done.stdout.split(maxsplit=1)
        return cls(python, fingerprint, package.strip())

    def run(self, args: list[str], *, cwd: Path, timeout_s: float = NOTE_TIMEOUT_S) -> subprocess.CompletedProcess:
        command = [self.python, "-m", "trackwright", "-q", *args]
        try:
            return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired as err:
            return subprocess.CompletedProcess(command, 124, err.stdout or "", f"timed out after {timeout_s:.0f} s")


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _json_out(done: subprocess.CompletedProcess, what: str) -> Any:
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {done.returncode}): {done.stderr.strip()[-400:]}")
    return json.loads(done.stdout)


def _heard(render: dict[str, Any]) -> str:
    """The audio a listener gets from a render: its master when there is one, else its mix."""
    return render.get("master") or render["mix"]


def find_drop(track: Track) -> float:
    """The drop: the time of the largest rise of 3 s loudness (the 3 s after minus the 3 s before), s."""
    d = track.duration_s
    times = np.arange(3.0, max(d - 3.0, 3.0) + 1e-9, 0.5)
    rises = [plain_loudness(track, t, t + 3) - plain_loudness(track, t - 3, t) for t in times]
    return float(times[int(np.argmax(rises))]) if len(times) else 0.0


def _new_args(material: Material) -> list[str]:
    """``new project --audio … [--stems …] [--midi …] --json`` for the material (made if need be)."""
    source = prepare_material(material)
    src = OUT / "material" / material.tag
    args = ["new", "project", "--audio", str(src / source["draft"])]
    args += ["--stems", str(src / source["stems"])] if source.get("stems") else []
    args += ["--midi", str(src / source["midi"])] if source.get("midi") else []
    return args + ["--json"]


def base_project(material: Material, engine: Engine) -> dict[str, Any]:
    """Version 1 of the material's project, made once per engine and rendered: its folder, the
    render's paths (relative to OUT), its sections and drop."""
    folder = OUT / "bases" / engine.fingerprint / material.tag
    info_path = folder / "base.json"
    with _locked(OUT / "bases" / f"{material.tag}.lock"):
        if info_path.exists():
            return json.loads(info_path.read_text())
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        source = prepare_material(material)
        _json_out(engine.run(_new_args(material), cwd=folder), f"new ({material.id})")
        render = _json_out(engine.run(["render", "project", "--json"], cwd=folder), f"render ({material.id})")
        if source.get("sections"):
            sections = source["sections"]
        else:
            analysis = _json_out(engine.run(["analyze", "project", "--json"], cwd=folder), f"analyze ({material.id})")
            sections = [{"role": s.get("role"), "start_s": float(s["start_s"]), "end_s": float(s["end_s"])}
                        for s in analysis.get("sections", [])]
        for path in (folder / "project" / "renders").rglob("*"):
            if path.is_file():  # the runs hard-link these: a tool writing into them in place would fail
                path.chmod(0o444)
        track = Track.load(folder / _heard(render))
        info = {"material": material.id, "folder": str(folder.relative_to(OUT)), "render": render,
                "sections": sections, "duration_s": track.duration_s,
                "drop_s": find_drop(track), "engine": engine.fingerprint}
        info_path.write_text(json.dumps(info, indent=1))
        return info


def copy_project(base: Path, target: Path) -> None:
    """A working copy of a base project: sources and renders hard-linked (both are written only by
    rename), everything else copied."""
    def link_or_copy(src: str, dst: str) -> None:
        if "/sources/" in src or "/renders/" in src:
            try:
                os.link(src, dst)
                return
            except OSError:
                pass
        shutil.copy2(src, dst)

    shutil.copytree(base, target, copy_function=link_or_copy, ignore=shutil.ignore_patterns(".lock"))


# --- scopes -----------------------------------------------------------------------------------------
@dataclass
class Place:
    """A resolved scope: ``cores`` (where the move is measured) and ``zones`` (where the tool may act;
    the outside check starts beyond them), seconds of the version before the note."""

    cores: list[tuple[float, float]]
    zones: list[tuple[float, float]]
    whole: bool = False
    outside: str = "both"


class NotApplicable(Exception):
    """The material lacks what the scope names (a section it does not have)."""


class InvalidPlace(Exception):
    """The scope is impossible on this material (past the end, reversed): the right answer is a refusal."""


_TIME = re.compile(r"^(?:(\d+):)?(\d{1,2}(?:\.\d+)?)$")


def parse_clock(text: str) -> float:
    """``"1:20"`` → 80.0 s (InvalidPlace for ``"9:99"`` and anything unreadable)."""
    match = _TIME.match(text.strip())
    if match is None or (match[1] is not None and float(match[2]) >= 60):
        raise InvalidPlace(f"{text!r} is not a time")
    return 60 * int(match[1] or 0) + float(match[2])


def _section(sections: list[dict[str, Any]], scope: dict[str, Any], role: str) -> list[dict[str, Any]]:
    if role == "ending":
        return sections[-1:]
    if role == "opening":
        return sections[:1]
    found = [s for s in sections if s.get("role") == role]
    if not found:
        raise NotApplicable(f"no {role} section")
    if scope.get("every"):
        return found
    if scope.get("last"):
        return found[-1:]
    n = int(scope.get("n", 1))
    if n > len(found):
        raise NotApplicable(f"no {role} {n}")
    return [found[n - 1]]


def resolve_place(scope: dict[str, Any] | None, base: dict[str, Any]) -> Place:
    """Where a clause's scope lies on the material (version 1), by the harness's own reading."""
    d = float(base["duration_s"])
    if scope is None:
        return Place([(0.0, d)], [(0.0, d)], whole=True)

    def clip(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
        return [(max(0.0, a), min(d, b)) for a, b in spans if min(d, b) > max(0.0, a)]

    m = RAMP_MARGIN_S
    if "last_s" in scope or "first_s" in scope:
        n = float(scope.get("last_s", scope.get("first_s")))
        if n >= d:
            raise InvalidPlace(f"{n:g} s is longer than the piece")
        if "last_s" in scope:
            return Place([(d - n, d)], clip([(d - n - m, d)]))
        return Place([(0.0, n)], clip([(0.0, n + m)]))
    if "fraction" in scope:
        a, b = (float(x) * d for x in scope["fraction"])
        return Place([(a, b)], clip([(a - m, b + m)]))
    if "span" in scope:
        first, _, second = str(scope["span"]).partition("-")
        a, b = parse_clock(first), parse_clock(second)
        if b <= a or a >= d - 1.0:
            raise InvalidPlace(f"{scope['span']} is not inside the piece")
        return Place([(a, min(b, d))], clip([(a - m, b + m)]))
    if "at" in scope:
        t = parse_clock(str(scope["at"]))
        if t >= d - 1.0:
            raise InvalidPlace(f"{scope['at']} is past the end")
        return Place([(t, min(t + 4.0, d))], clip([(t - 6.0, t + 20.0)]))
    if "from" in scope:
        t = parse_clock(str(scope["from"]))
        if t >= d - 1.0:
            raise InvalidPlace(f"{scope['from']} is past the end")
        return Place([(t, d)], clip([(t - m, d)]))
    if "until" in scope:
        t = parse_clock(str(scope["until"]))
        if t > d:
            raise InvalidPlace(f"{scope['until']} is past the end")
        return Place([(0.0, t)], clip([(0.0, t + m)]))
    if "drop" in scope:
        t = float(base["drop_s"])
        return Place([(t, min(t + 6.0, d))], clip([(t - 3.0, d)]), outside="head")
    sections = base["sections"]
    if "before" in scope:
        target = _section(sections, scope, str(scope["before"]))[0]
        c = float(target["start_s"])
        if c < 2.0:
            raise NotApplicable(f"nothing before the {scope['before']}")
        if "s" in scope:
            return Place([(max(0.0, c - float(scope["s"])), c)], clip([(c - 20.0, c + 6.0)]))
        return Place([(0.0, c)], clip([(0.0, c + m)]))
    found = _section(sections, scope, str(scope["section"]))
    if scope.get("onward"):
        start = float(found[0]["start_s"])
        return Place([(start, d)], clip([(start - m, d)]))
    spans = [(float(s["start_s"]), float(s["end_s"])) for s in found]
    return Place(spans, clip([(a - m, b + m) for a, b in spans]))


def _shrunk(span: tuple[float, float], d: float) -> tuple[float, float]:
    """A core without the tool's ramps: 1 s (at most 10 %) off each inner edge."""
    a, b = span
    edge = min(1.0, 0.1 * (b - a))
    return (a + edge if a > 0.01 else a, b - edge if b < d - 0.01 else b)


# --- judging a run -------------------------------------------------------------------------------
@dataclass
class Audio:
    """One version's heard audio and, with stems, the stems summed per role (plus the residual)."""

    track: Track
    parts: dict[str, Track]
    stems_sum_error_db: float | None


def load_version(folder: Path, render: dict[str, Any], material: Material, *, with_parts: bool) -> Audio:
    """A render's heard audio and, when ``with_parts``, its stems summed per role of ``material``."""
    track = Track.load(folder / _heard(render))
    parts: dict[str, Track] = {}
    error = None
    stems = render.get("stems") or {}
    if stems and with_parts:
        loaded = {name: Track.load(folder / path) for name, path in stems.items()}
        total = sum(t.samples for t in loaded.values())
        if render.get("residual"):
            total = total + Track.load(folder / render["residual"]).samples
        mix = Track.load(folder / render["mix"]).samples
        n = min(mix.shape[1], total.shape[1])
        error = float(10 * np.log10(max(np.sum((mix[:, :n] - total[:, :n]) ** 2), 1e-20) / max(np.sum(mix ** 2), 1e-20)))
        for role, pattern in material.roles.items():
            names = [name for name in loaded if re.search(pattern, name, re.IGNORECASE)]
            if names:
                parts[role] = Track(sum(loaded[name].samples for name in names), track.rate)
    return Audio(track, parts, error)


_BEFORE: dict[tuple[str, bool], Audio] = {}


def load_before(base: dict[str, Any], material: Material, *, with_parts: bool) -> Audio:
    """Version 1 of the material, kept per worker process (its meters' caches are reused)."""
    key = (base["folder"], with_parts)
    if key not in _BEFORE:
        _BEFORE[key] = load_version(OUT / base["folder"], base["render"], material,
                                    with_parts=with_parts)
    return _BEFORE[key]


def _after_span(span: tuple[float, float], d_before: float, d_after: float) -> tuple[float, float]:
    """Where a span of the version before lies in the version after: the same place when the
    length is unchanged; aligned at the end when it reaches the end; otherwise at its start."""
    if abs(d_after - d_before) <= 0.1:
        return span
    if span[1] >= d_before - 0.01:
        if span[0] <= 0.01:
            return (0.0, d_after)
        return (max(0.0, span[0] + d_after - d_before), d_after)
    return span


def measure_term(term: Term, before: Audio, after: Audio, span: tuple[float, float], whole: bool) -> float | tuple:
    """The term's measured change (after − before, in its unit) over ``span`` of the version before."""
    b, a = before.track, after.track
    db, da = b.duration_s, a.duration_s
    s_b = (0.0, db) if whole else _shrunk(span, db)
    s_a = (0.0, da) if whole else _after_span(s_b, db, da)
    kind = term.descriptor
    if kind == "duration":
        return da if term.direction == "to" else da - db
    if kind == "tempo":
        return 100.0 * (tempo_factor(b, a) - 1.0)
    if kind == "pitch":
        return pitch_shift_st(b, a, (s_b, s_a))
    if kind in ("fade_out", "fade_in"):
        length = float(term.arg)
        return [list(fade_depth_db(b, at_end=kind == "fade_out", length_s=length)),
                list(fade_depth_db(a, at_end=kind == "fade_out", length_s=length))]
    if kind == "part":
        role = term.arg
        for version in (before, after):
            if version.stems_sum_error_db is None or version.stems_sum_error_db > -30.0:
                raise ValueError("the rendered stems (+ residual) do not sum to the mix: parts cannot be checked")
        pb, pa = before.parts[role], after.parts[role]
        if term.direction == "same":
            return _region_dict(compare_region(pb, pa, *s_b, offset_s=s_a[0] - s_b[0]))
        return ((loudness_lufs(pa, *s_a) - loudness_lufs(a, *s_a)) - (loudness_lufs(pb, *s_b) - loudness_lufs(b, *s_b)))
    if kind == "loudness":
        return loudness_lufs(a, *s_a) - loudness_lufs(b, *s_b)
    if kind == "lra":
        return loudness_range_lu(a, *s_a) - loudness_range_lu(b, *s_b)
    if kind == "centroid":
        return 100.0 * (centroid_hz(a, *s_a) / centroid_hz(b, *s_b) - 1.0)
    if kind in ("band", "presence"):
        lo, hi = term.arg if kind == "band" else (1000.0, 4000.0)
        return band_share_db(a, *s_a, lo, hi) - band_share_db(b, *s_b, lo, hi)
    if kind == "onsets":
        before_density = onset_density(b, *s_b)
        return 100.0 * (onset_density(a, *s_a) / before_density - 1.0) if before_density > 0 else float("nan")
    if kind == "width":
        return width_db(a, *s_a) - width_db(b, *s_b)
    if kind == "crest":
        return crest_db(a, *s_a) - crest_db(b, *s_b)
    if kind == "gaps":
        return gap_depth_db(a, *s_a) - gap_depth_db(b, *s_b)
    if kind == "rise":
        return rise_lu(a, *s_a) - rise_lu(b, *s_b)
    raise ValueError(f"no meter for {kind}")


def _region_dict(diff: Any) -> dict[str, Any]:
    return {"max_short_term_lu": round(float(diff.max_short_term_lu), 4), "max_band_db": round(float(diff.max_band_db), 4),
            "residual_db": round(float(diff.residual_db), 2), "identical": bool(diff.identical),
            "seconds": round(float(diff.seconds), 2)}


def region_unchanged(diff: dict[str, Any]) -> bool:
    """Unchanged to the ear: identical, or short-term loudness within 0.2 LU and bands within 0.5 dB."""
    return bool(diff["identical"]) or (diff["max_short_term_lu"] < 0.2 and diff["max_band_db"] < 0.5)


def verdict(term: Term, value: Any, *, duration_s: float = 0.0) -> tuple[str, str]:
    """("ok" | "small" | "large" | "wrong" | "broken" | "unmeasured", a short description) of a
    measured change. ``duration_s`` (the version before) sets the smallest length change that
    counts without a stated amount: max(1 s, 2 %), the length change of a 2 % tempo move."""
    kind = term.descriptor
    if isinstance(value, dict) and "error" in value:
        return "unmeasured", f"{term.text}: {value['error']}"
    if kind in ("fade_out", "fade_in"):
        (edge_b, middle_b), (edge_a, middle_a) = value
        faded = edge_a <= -15.0 and middle_a <= -2.0 and (edge_a <= edge_b - 6.0 or middle_a <= middle_b - 2.0)
        text = f"{kind} edge {edge_b:+.1f}→{edge_a:+.1f} dB, middle {middle_b:+.1f}→{middle_a:+.1f} dB"
        return ("ok" if faded else "small"), text
    if kind == "part" and term.direction == "same":
        changed = not (value["residual_db"] < -30.0 or region_unchanged(value))
        text = (f"part {term.arg}: short-term Δ ≤ {value['max_short_term_lu']:.2f} LU, bands ≤ "
                f"{value['max_band_db']:.2f} dB, residual {value['residual_db']:.0f} dB")
        return ("broken" if changed else "ok"), text
    if not isinstance(value, (int, float)) or not np.isfinite(value):
        return "unmeasured", f"{term.key} could not be measured"
    unit = {"centroid": "%", "onsets": "%", "tempo": "%", "duration": " s", "pitch": " st",
            "loudness": " LU", "lra": " LU", "rise": " LU"}.get(kind, " dB")
    text = f"{term.key} {value:+.2f}{unit}" if term.direction != "to" else f"duration {value:.2f} s"
    threshold, tolerance = THRESHOLDS[kind], SAME_TOLERANCE[kind]
    if kind == "duration":
        threshold = max(threshold, 0.02 * duration_s)
    if term.direction == "to":
        return ("ok" if term.low <= value <= term.high else "small"), text
    if term.direction == "same":
        return ("ok" if abs(value) <= tolerance else "broken"), text
    if term.direction == "not_up":
        return ("ok" if value <= tolerance else "broken"), text
    if term.direction == "not_down":
        return ("ok" if value >= -tolerance else "broken"), text
    signed = value if term.direction == "up" else -value
    low = term.low if term.low is not None else threshold
    if signed <= -threshold:
        return "wrong", text
    if signed < low:
        return "small", text
    if term.high is not None and signed > term.high:
        return "large", text
    return "ok", text


def outside_regions(places: list[Place], d_before: float, d_after: float, mode: str, reverb: bool) -> list[tuple[float, float, float]]:
    """(start_s, end_s, offset_s) of the version before that must be unchanged in the version after."""
    if mode == "none" or any(p.whole for p in places):
        return []
    zones = sorted((a, b + (REVERB_TAIL_S if reverb else 0.0)) for p in places for a, b in p.zones)
    mode = "head" if any(p.outside == "head" for p in places) else mode
    same_length = abs(d_after - d_before) <= 0.1
    regions, cursor = [], 0.0
    for a, b in zones:
        if a - cursor >= 1.0 and (same_length or cursor == 0.0):
            regions.append((cursor, a, 0.0))
        cursor = max(cursor, b)
        if mode == "head":
            return regions
    if d_before - cursor >= 1.0:
        regions.append((cursor, d_before, d_after - d_before))
    return regions


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def tool_claim(payload: Any) -> bool | None:
    """Did the tool claim it did as asked? True/False from ``as_asked``/``achieved`` flags; None without any."""
    flags: list[bool] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, v in value.items():
                if key in ("as_asked", "achieved") and isinstance(v, bool):
                    flags.append(v)
                else:
                    walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(payload)
    if any(re.search(r"not achieved|not as asked", s, re.IGNORECASE) for s in _strings(payload)):
        return False
    return all(flags) if flags else None


def _mentions_parts(texts: list[str]) -> bool:
    return any(re.search(r"\bstems?\b|separat|split", t, re.IGNORECASE) for t in texts)


def _term_groups(note: Note, material: Material, expected: str) -> list[tuple[int, str, list[Term]]]:
    """(clause index, group, terms) to measure: expect/any/keep per clause, or the fallback of a
    note whose parts the material lacks; ``any`` terms on parts the material lacks are left out."""
    if expected == "needs":
        return [(0, "fallback", list(note.fallback))] if note.fallback else []
    groups = []
    for i, clause in enumerate(note.clauses):
        usable_any = [t for t in clause.any if t.descriptor != "part" or t.arg in material.roles]
        groups += [(i, "expect", clause.expect), (i, "any", usable_any), (i, "keep", clause.keep)]
    return [g for g in groups if g[2]]


def expectation(note: Note, material: Material, base: dict[str, Any]) -> tuple[str, list[Place], dict[str, Any]]:
    """What the right answer is on this material: "move", "needs" (parts it lacks), "refuse",
    "no_change" or "n/a" (a section it does not have); the resolved places; why."""
    try:
        places = [resolve_place(c.scope, base) for c in note.clauses]
    except InvalidPlace as err:
        return "refuse", [], {"invalid_place": str(err)}
    except NotApplicable as err:
        return "n/a", [], {"why_na": str(err)}
    if note.refuse or note.no_change:
        return ("refuse" if note.refuse else "no_change"), places, {}
    strict = {t.arg for c in note.clauses for t in (*c.expect, *c.keep) if t.descriptor == "part"}
    missing = sorted(r for r in set(note.needs) | strict if r not in material.roles)
    return ("needs", places, {"missing_parts": missing}) if missing else ("move", places, {})


def measure_run(note: Note, material: Material, base: dict[str, Any], outcome: dict[str, Any],
                before: Audio | None, after: Audio | None) -> dict[str, Any]:
    """Everything the grade needs, as numbers: the expectation, what the tool did and said, each
    term's measured change per span, and the differences outside the scope."""
    expected, places, why = expectation(note, material, base)
    made = bool(outcome["version_made"]) and after is not None
    crash = None
    if outcome["rc"] not in (0, 1) or "Traceback" in outcome["stderr"]:
        crash = (outcome["stderr"].strip().splitlines() or ["?"])[-1][:200]
    elif outcome["version_made"] and after is None:
        crash = f"the new version does not render: {outcome.get('render_error')}"
    payload = outcome.get("payload")
    measured: dict[str, Any] = {"expected": expected, **why, "made": made, "crash": crash,
                                "claimed": tool_claim(payload) if made else None,
                                "mentions_parts": _mentions_parts([outcome["stderr"], *_strings(payload)]),
                                "refusal": (outcome["stderr"].strip().splitlines() or [""])[0][:200],
                                "duration_before_s": base["duration_s"], "terms": [], "outside": []}
    if not made or expected not in ("move", "needs"):
        return measured
    for index, group, terms in _term_groups(note, material, expected):
        place = places[index]
        for term in terms:
            values = []
            for span in place.cores:
                try:
                    values.append(measure_term(term, before, after, span, place.whole))
                except (KeyError, ValueError, ZeroDivisionError) as err:
                    values.append({"error": str(err) or type(err).__name__})
            measured["terms"].append({"clause": index, "group": group, "term": term.text, "values": values,
                                      "spans": [[round(a, 2), round(b, 2)] for a, b in place.cores]})
    reverb = any(t.descriptor == "gaps" for c in note.clauses for t in (*c.expect, *c.any))
    for start, end, offset in outside_regions(places, before.track.duration_s, after.track.duration_s,
                                              note.outside, reverb):
        diff = compare_region(before.track, after.track, start, end, offset_s=offset)
        measured["outside"].append({"span": [round(start, 2), round(end, 2)], "offset_s": round(offset, 3),
                                    **_region_dict(diff)})
    return measured


#: Bump when grading changes: cached runs are graded again from their stored measurements.
GRADING_VERSION = 2


def grade(note: Note, measured: dict[str, Any]) -> dict[str, Any]:
    """Pass or fail a measured run, with its causes [{kind, text}], each term's verdict, whether
    the tool claimed success on a failure (a lie), and constraint violations and their catching."""
    expected, made = measured["expected"], measured["made"]
    causes: list[dict[str, str]] = []
    verdicts: list[dict[str, Any]] = []
    graded: dict[str, Any] = {"grading": GRADING_VERSION, "expected": expected, "causes": causes, "verdicts": verdicts,
                              "constraint_broken": False}
    if expected == "n/a":
        return {**graded, "status": "na", "lie": False, "constraint_caught": None}
    if measured["crash"]:
        causes.append({"kind": "crash", "text": measured["crash"]})
    if expected in ("refuse", "no_change"):
        if made:
            causes.append({"kind": f"made a version ({expected} expected)", "text": "a version was made"})
    elif not made:
        if expected == "move" and not measured["crash"]:
            causes.append({"kind": "refused (a move was expected)", "text": measured["refusal"] or "no version"})
    else:
        if expected == "needs" and not measured["mentions_parts"]:
            causes.append({"kind": "needs parts: made a version without saying so",
                           "text": f"the draft has no {', '.join(measured.get('missing_parts', []))}"})
        terms = {t.text: t for c in note.clauses for t in (*c.expect, *c.any, *c.keep)} | {t.text: t for t in note.fallback}
        by_group: dict[tuple[int, str], list[dict[str, Any]]] = defaultdict(list)
        for row in measured["terms"]:
            term = terms[row["term"]]
            states = [verdict(term, v, duration_s=measured["duration_before_s"]) for v in row["values"]]
            worst = next((st for st in states if st[0] != "ok"), states[0])
            entry = {"term": row["term"], "group": row["group"], "state": worst[0], "text": worst[1]}
            verdicts.append(entry)
            by_group[(row["clause"], row["group"])].append(entry)
        for (_, group), rows in by_group.items():
            if group in ("expect", "fallback"):
                causes += [{"kind": f"{r['state']}: {r['term'].split()[0]}", "text": r["text"]}
                           for r in rows if r["state"] != "ok"]
            elif group == "any":
                wrong = [r for r in rows if r["state"] == "wrong"]
                if wrong:
                    causes.append({"kind": f"wrong: {wrong[0]['term'].split()[0]}", "text": wrong[0]["text"]})
                elif not any(r["state"] == "ok" for r in rows):
                    causes.append({"kind": "no audible move (any of)", "text": "; ".join(r["text"] for r in rows)})
            else:
                for r in rows:
                    if r["state"] != "ok":
                        graded["constraint_broken"] = True
                        causes.append({"kind": f"constraint broken: {r['term']}", "text": r["text"]})
        for row in measured["outside"]:
            if not region_unchanged(row):
                causes.append({"kind": "outside the scope changed",
                               "text": f"{row['span'][0]:.1f}-{row['span'][1]:.1f} s: {row['max_short_term_lu']:.2f} LU, "
                                       f"{row['max_band_db']:.2f} dB"})
    graded["status"] = "fail" if causes else "pass"
    graded["lie"] = bool(made and causes and measured["claimed"] is True and expected in ("move", "needs"))
    graded["constraint_caught"] = (measured["claimed"] is not True) if graded["constraint_broken"] else None
    return graded


# --- one run ------------------------------------------------------------------------------------------
def _cache_key(note: Note, material: Material) -> str:
    blob = json.dumps({"note": note.raw, "material": material.tag, "harness": HARNESS_VERSION}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def run_path(engine: Engine, note: Note, material: Material) -> Path:
    return OUT / "runs" / engine.fingerprint / material.id / f"{note.id}.{_cache_key(note, material)}.json"


def run_one(note: Note, material: Material, engine: Engine, split: str, fresh_projects: bool) -> dict[str, Any]:
    """Try ``note`` on a fresh copy of the material's project; measure, cache and grade the run."""
    path = run_path(engine, note, material)
    if path.exists():
        return load_run(path, note)
    base = base_project(material, engine)
    base_folder = OUT / base["folder"]
    work = OUT / "work" / f"{material.id}-{note.id}-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        if fresh_projects:
            _json_out(engine.run(_new_args(material), cwd=work), "new")
        else:
            copy_project(base_folder / "project", work / "project")
        start = time.perf_counter()
        done = engine.run(["note", "project", note.text, "--json"], cwd=work)
        wall = time.perf_counter() - start
        try:
            payload = json.loads(done.stdout) if done.returncode == 0 and done.stdout.strip() else None
        except json.JSONDecodeError:
            payload = None
        rendered = engine.run(["render", "project", "--json"], cwd=work)
        render_error = None
        if rendered.returncode == 0:
            render = json.loads(rendered.stdout)
            made = int(render.get("version", 1)) > 1
        else:  # the new version does not render: is there one?
            render, render_error = None, (rendered.stderr.strip().splitlines() or ["?"])[-1][:200]
            history = engine.run(["versions", "project", "--json"], cwd=work)
            made = history.returncode == 0 and len(json.loads(history.stdout or "[]")) > 1
        outcome = {"rc": done.returncode, "stderr": done.stderr[-2000:], "payload": payload, "version_made": made,
                   "note_wall_s": round(wall, 2), "render_error": render_error}
        with_parts = bool(note.roles) and material.kind == "stems"
        before = load_before(base, material, with_parts=with_parts)
        after = load_version(work, render, material, with_parts=with_parts) if made and render else None
        measured = measure_run(note, material, base, outcome, before, after)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    record = {"note": note.id, "text": note.text, "category": note.category, "material": material.id,
              "material_kind": material.kind, "split": split, "rc": outcome["rc"],
              "version_made": outcome["version_made"], "note_wall_s": outcome["note_wall_s"],
              "stderr": outcome["stderr"].strip()[-300:], "engine": engine.fingerprint,
              "tool": _summary(payload), "measured": measured}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record, indent=1, ensure_ascii=False, default=float))
    tmp.replace(path)
    return {**record, **grade(note, measured)}


def load_run(path: Path, note: Note) -> dict[str, Any]:
    """A cached run, graded now (so a change of grading needs no re-run)."""
    record = json.loads(path.read_text())
    return {**record, **grade(note, record["measured"])}


def _summary(payload: Any) -> dict[str, Any] | None:
    """What the tool said, trimmed: its changes and notes (free text) and its own claim."""
    if not isinstance(payload, dict):
        return None
    changes = [c.get("what") if isinstance(c, dict) else str(c) for c in payload.get("changes", [])]
    return {"changes": changes[:12], "notes": list(payload.get("notes", []))[:8], "claim": tool_claim(payload)}


# --- the whole benchmark ---------------------------------------------------------------------------
def _selected(notes: list[Note], args: argparse.Namespace) -> list[Note]:
    split = load_split()
    ids = set(split[args.split])
    chosen = [n for n in notes if n.id in ids]
    if args.categories:
        chosen = [n for n in chosen if n.category in args.categories.split(",")]
    if args.notes:
        chosen = [n for n in chosen if n.id in args.notes.split(",")]
    by_category: dict[str, list[Note]] = defaultdict(list)
    for n in chosen:
        by_category[n.category].append(n)
    ordered: list[Note] = []  # round robin over categories, so a --limit run covers them all
    for i in range(max((len(v) for v in by_category.values()), default=0)):
        ordered += [by_category[c][i] for c in CATEGORIES if i < len(by_category[c])]
    return ordered


def _rate(rows: list[dict[str, Any]]) -> str:
    graded = [r for r in rows if r["status"] != "na"]
    passed = sum(r["status"] == "pass" for r in graded)
    return f"{passed:4d}/{len(graded):<4d} {100 * passed / len(graded):5.1f} %" if graded else "   –/0       – "


def report(runs: list[dict[str, Any]], split: str) -> dict[str, Any]:
    """Print the tables and return the summary."""
    graded = [r for r in runs if r["status"] != "na"]
    print(f"\nnotes: {split} split, {len(runs)} runs ({len(runs) - len(graded)} not applicable), "
          f"{len({r['note'] for r in runs})} notes × {len({r['material'] for r in runs})} materials")
    print(f"  {'category':<14} {'passed':>16}")
    for category in CATEGORIES:
        rows = [r for r in runs if r["category"] == category]
        if rows:
            print(f"  {category:<14} {_rate(rows)}")
    print(f"  {'material':<14}")
    for material in MATERIALS:
        rows = [r for r in runs if r["material"] == material]
        if rows:
            print(f"  {material:<14} {_rate(rows)}   ({MATERIALS[material].kind})")
    for kind in ("mix", "stems"):
        rows = [r for r in runs if r["material_kind"] == kind]
        if rows:
            print(f"  all {kind:<10} {_rate(rows)}")
    print(f"  {'overall':<14} {_rate(runs)}")
    print(f"  {'expected':<14}")
    for kind in ("move", "needs", "refuse", "no_change"):
        rows = [r for r in runs if r["expected"] == kind]
        if rows:
            print(f"  {kind:<14} {_rate(rows)}")
    moved = [r for r in graded if r["expected"] in ("move", "needs") and r["version_made"]]
    lies = [r for r in graded if r.get("lie")]
    broken = [r for r in graded if r.get("constraint_broken")]
    caught = [r for r in broken if r.get("constraint_caught")]
    outside = [r for r in graded if any(c["kind"] == "outside the scope changed" for c in r["causes"])]
    crashes = [r for r in graded if any(c["kind"] == "crash" for c in r["causes"])]
    claimed_fail = [r for r in moved if r["status"] == "fail"]
    print(f"  false 'as asked': {len(lies)} of {len(claimed_fail)} failed runs that made a version "
          f"(version-making runs: {len(moved)})")
    print(f"  constraint violations caught by the tool: {len(caught)}/{len(broken)}")
    print(f"  audio outside the scope changed: {len(outside)} runs;  crashes: {len(crashes)}")
    walls = sorted(r["note_wall_s"] for r in runs if r.get("note_wall_s") is not None)
    if walls:
        print(f"  note command time: median {np.median(walls):.1f} s, p90 {np.percentile(walls, 90):.1f} s, "
              f"max {walls[-1]:.1f} s")
    counter: Counter[str] = Counter()
    examples: dict[str, list[str]] = defaultdict(list)
    for r in graded:
        for kind in dict.fromkeys(c["kind"] for c in r["causes"]):
            counter[kind] += 1
            if len(examples[kind]) < 3:
                text = next(c["text"] for c in r["causes"] if c["kind"] == kind)
                examples[kind].append(f"{r['note']} on {r['material']} \"{r['text'][:60]}\": {text}")
    print("  top failure causes (runs):")
    for kind, count in counter.most_common(12):
        print(f"    {count:4d}  {kind}")
        for example in examples[kind]:
            print(f"            e.g. {example}")
    summary = {"split": split, "runs": len(runs), "graded": len(graded),
               "passed": sum(r["status"] == "pass" for r in graded),
               "by_category": {c: _counts([r for r in graded if r["category"] == c]) for c in CATEGORIES},
               "by_material": {m: _counts([r for r in graded if r["material"] == m]) for m in MATERIALS},
               "by_expected": {k: _counts([r for r in graded if r["expected"] == k])
                               for k in ("move", "needs", "refuse", "no_change")},
               "false_as_asked": len(lies), "constraint_broken": len(broken), "constraint_caught": len(caught),
               "outside_changed": len(outside), "crashes": len(crashes),
               "causes": dict(counter.most_common()), "examples": dict(examples)}
    return summary


def _counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    return {"graded": len(rows), "passed": sum(r["status"] == "pass" for r in rows)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", choices=("dev", "heldout"), default="dev",
                        help="dev (default) or heldout: held-out results are for the final figure only")
    parser.add_argument("--materials", default=",".join(DEFAULT_MATERIALS),
                        help=f"comma-separated, from {', '.join(MATERIALS)} (default: {','.join(DEFAULT_MATERIALS)})")
    parser.add_argument("--categories", default="", help="only these categories (comma-separated)")
    parser.add_argument("--notes", default="", help="only these note ids (comma-separated)")
    parser.add_argument("--limit", type=int, default=0, help="at most this many runs (categories round robin)")
    parser.add_argument("--budget-s", type=float, default=0.0, help="start no new run after this many seconds")
    parser.add_argument("--jobs", type=int, default=2, help="parallel runs (default 2)")
    parser.add_argument("--python", default=sys.executable, help="the interpreter that runs `-m trackwright`")
    parser.add_argument("--fresh", action="store_true", help="make every run's project with `new` (no copies)")
    parser.add_argument("--report-only", action="store_true", help="only summarise the runs already cached")
    args = parser.parse_args(argv)

    engine = Engine.find(args.python)
    notes = _selected(load_corpus(), args)
    materials = []
    for name in args.materials.split(","):
        material = MATERIALS[name.strip()]
        why = material_available(material)
        if why:
            print(f"notes: skipping material {material.id}: {why}")
        else:
            materials.append(material)
    if args.split == "heldout":
        print("notes: HELD-OUT split — report this figure; do not tune on it")
    tasks = [(n, m) for n in notes for m in materials]
    if args.limit:
        tasks = tasks[:args.limit]
    print(f"notes: engine {engine.fingerprint} ({engine.package}); {len(tasks)} runs "
          f"({len(notes)} notes × {len(materials)} materials{', limited' if args.limit else ''})")
    runs: list[dict[str, Any]] = []
    todo = []
    for note, material in tasks:
        path = run_path(engine, note, material)
        if path.exists():
            runs.append(load_run(path, note))
        elif not args.report_only:
            todo.append((note, material))
    if todo:
        print(f"notes: {len(runs)} cached, {len(todo)} to run with {args.jobs} workers")
        for material in {m.id: m for _, m in todo}.values():
            base_project(material, engine)
        start = time.perf_counter()
        with concurrent.futures.ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            pending: set[concurrent.futures.Future] = set()
            queue = list(todo)
            while queue or pending:
                while queue and len(pending) < 2 * max(1, args.jobs):
                    if args.budget_s and time.perf_counter() - start > args.budget_s:
                        print(f"notes: time budget reached; {len(queue)} runs left for the next call")
                        queue = []
                        break
                    note, material = queue.pop(0)
                    pending.add(pool.submit(run_one, note, material, engine, args.split, args.fresh))
                if not pending:
                    break
                finished, pending = concurrent.futures.wait(pending, return_when=concurrent.futures.FIRST_COMPLETED)
                for future in finished:
                    try:
                        record = future.result()
                    except Exception as err:  # a harness failure on one run: say so and carry on
                        print(f"notes: run failed in the harness: {err!r}")
                        continue
                    runs.append(record)
                    if len(runs) % 20 == 0:
                        elapsed = time.perf_counter() - start
                        print(f"notes: {len(runs)}/{len(tasks)} runs, {elapsed / 60:.1f} min", flush=True)
    if not runs:
        print("notes: nothing measured")
        return 0
    summary = report(runs, args.split)
    OUT.mkdir(parents=True, exist_ok=True)
    out = OUT / f"report-{args.split}.json"
    out.write_text(json.dumps({"engine": engine.fingerprint, "summary": summary, "runs": runs}, indent=1,
                              ensure_ascii=False, default=float))
    print(f"notes: every run in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
