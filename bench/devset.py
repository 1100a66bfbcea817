"""The metre development set: pieces with exact beats, downbeats, metre, chords and key.

Three steps, each a subcommand:

``catalogue``
    Draws the pieces (seeded) and writes ``bench/devset_pieces.json``: folk tunes from the
    music21 corpus's ABC collections in 2/4, 3/4, 4/4, 6/8, 9/8 and 12/8 (harmonised and
    accompanied in the metre's own textures), string-quartet, piano and chorale excerpts
    (minuets, a 9/8 adagio, 6/8 prestos, slow movements played with rubato), grooves composed
    here (ragtime, shuffle, 12/8 and 6/8 ballads, jazz waltz, half-time electronic, march,
    piano ballad), tempo maps (steady, rubato, accelerando, ritardando, a step), plus the real
    recordings: the charted songs of Debian's ``fretsonfire-songs-sectoid`` and the AI drafts in
    ``shared/audio/ai-drafts``. Committed; re-running it is only needed to change the set.
``split``
    Fixes the held-out split (``bench/devset_split.json``): within each (group, metre) stratum a
    seeded draw holds out half the pieces. Committed before any tuning.
``build``
    Renders every piece with FluidSynth into ``bench-out/devset/`` (FLAC + truth JSON), skipping
    pieces already built from the same spec; for the charted songs it mixes ``song.ogg`` and
    ``guitar.ogg`` and reads the beat grid from ``notes.mid`` (see :func:`chart_truth`).

Truth conventions: ``beats_s`` are the metrical beats (the dotted quarter in 6/8, 9/8, 12/8;
the quarter in x/4; the half note in 2/2), ``downbeats_s`` the bar lines after any pickup,
``metre`` the time signature, ``tempo_bpm`` the median beat rate. A piece scores only what its
truth has (``null`` otherwise): charted songs have beats and tempo; AI drafts only a requested
tempo and key (labels, not verified truth).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import mido
import numpy as np
import soundfile as sf
from devset_music import Metre, Symbolic, tempo_map, to_midi
from devset_sources import GROOVES, MODAL_GROOVES, Unusable, folk_tune, score_excerpt

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PIECES_PATH = HERE / "devset_pieces.json"
SPLIT_PATH = HERE / "devset_split.json"
OUT = ROOT / "bench-out" / "devset"
SHARED = ROOT.parent / "shared" / "audio"
FOF_PACKAGE = "fretsonfire-songs-sectoid"
RATE = 44100
#: Envelope latency of the onset measure used to align the charted songs, seconds: measured on
#: rendered drafts with known beats (librosa onset strength, hop 256 at 44.1 kHz peaks 15 ms late).
ONSET_LATENCY_S = 0.015

MELODY_PROGRAMS = (40, 73, 21, 0, 71, 68, 78, 22, 105, 24)
BASS_PROGRAMS = (32, 42, 58, 70, 33)
CHORD_PROGRAMS = {"boomchick": (0, 24, 25, 21), "arpeggio": (0, 46, 24, 6), "sustained": (48, 19, 49, 89),
                  "sparse": (46, 24, 0, 105)}
QUARTETS = ((40, 40, 41, 42), (0, 0, 0, 0), (73, 68, 71, 70), (19, 19, 19, 19), (48, 48, 48, 48))


# --- catalogue ------------------------------------------------------------------------------------

def _abc_tunes(collection: str) -> list[tuple[str, int | None, str, str]]:
    """(corpus path, tune number or None, metre, K: field) of every tune in an ABC collection."""
    from music21 import corpus

    out = []
    for path in corpus.getComposer(collection):
        text = Path(path).read_text(errors="ignore")
        relative = str(path).split("/corpus/")[1]
        blocks = re.split(r"^(?=X:)", text, flags=re.M)
        tunes = [b for b in blocks if b.startswith("X:")]
        for block in tunes:
            number = re.match(r"X:\s*(\d+)", block)
            metre = re.search(r"^M:\s*(\S+)", block, re.M)
            key = re.search(r"^K:\s*(\S+)", block, re.M)
            if number and metre and key:
                out.append((relative, int(number.group(1)) if len(tunes) > 1 else None, metre.group(1), key.group(1)))
    return out


#: Folk tunes per metre: how many, and the beat tempo range (BPM of the metrical beat).
FOLK_PLAN = {"2/4": (5, (84, 112)), "3/4": (5, (96, 150)), "4/4": (4, (70, 100)), "6/8": (6, (96, 124)),
             "9/8": (6, (100, 126)), "12/8": (5, (90, 120))}

#: (corpus path, bars, beat BPM, tempo kind, instrumentation index) of the score excerpts.
SCORES = (
    ("haydn/opus1no1/movement1.mxl", 16, 100, "steady", 0),
    ("haydn/opus1no1/movement2.mxl", 16, 126, "steady", 0),
    ("haydn/opus1no1/movement5.mxl", 14, 132, "steady", 2),
    ("mozart/k156/movement3.mxl", 16, 138, "rit", 0),
    ("mozart/k458/movement1.mxl", 16, 104, "steady", 0),
    ("mozart/k458/movement2.mxl", 16, 132, "steady", 2),
    ("mozart/k458/movement3.mxl", 8, 50, "rubato", 4),
    ("mozart/k80/movement3.mxl", 14, 120, "accel", 0),
    ("mozart/k155/movement3.mxl", 20, 100, "steady", 1),
    ("mozart/k545/movement1_exposition.mxl", 10, 126, "rubato", 1),
    ("beethoven/opus18no1/movement2.mxl", 6, 42, "rubato", 0),
    ("beethoven/opus18no1/movement3.mxl", 20, 180, "steady", 0),
    ("beethoven/opus18no1/movement4.mxl", 24, 144, "step", 4),
    ("joplin/maple_leaf_rag.mxl", 20, 92, "steady", 1),
    ("schumann_clara/polonaise_op1n1.mxl", 12, 100, "rubato", 1),
    ("chopin/mazurka06-2.krn", 16, 132, "rubato", 1),
    ("bach/bwv253.mxl", 8, 76, "rit", 3),
    ("bach/bwv347.mxl", 10, 88, "steady", 4),
)

#: (groove, beat BPM range, tempo kind, bars, count).
GROOVE_PLAN = (("rag", (80, 100), "steady", 24, 2), ("shuffle", (96, 132), "steady", 12, 2),
               ("twelve_eight", (50, 66), "steady", 10, 3), ("six_eight_pop", (60, 76), "steady", 16, 2),
               ("jazz_waltz", (132, 168), "steady", 24, 1), ("electronic_halftime", (123, 128), "steady", 16, 2),
               ("nine_eight", (96, 120), "steady", 16, 1), ("march", (104, 120), "steady", 24, 1),
               ("piano_ballad", (66, 80), "rubato", 12, 2))


def make_catalogue(seed: int = 14) -> list[dict]:
    rng = np.random.default_rng(seed)
    pieces: list[dict] = []
    tunes = [t for collection in ("ryansMammoth", "oneills1850", "airdsAirs", "miscFolk", "essenFolksong")
             for t in _abc_tunes(collection)]
    metre_alias = {"C": "4/4", "C|": "2/2"}
    for metre, (count, (lo, hi)) in FOLK_PLAN.items():
        pool = [t for t in tunes if metre_alias.get(t[2], t[2]) == metre]
        order = rng.permutation(len(pool))
        taken = 0
        for index in order:
            if taken >= count:
                break
            path, number, _, key_field = pool[index]
            style = ("boomchick", "arpeggio", "sustained", "sparse")[int(rng.integers(4))]
            spec = {"group": "folk", "kind": "folk", "source": path, "number": number, "metre": metre,
                    "bpm": round(float(rng.uniform(lo, hi)), 1),
                    "tempo": str(rng.choice(["steady", "steady", "steady", "rit", "accel", "rubato"])),
                    "style": style, "melody_program": int(rng.choice(MELODY_PROGRAMS)),
                    "bass_program": int(rng.choice(BASS_PROGRAMS)),
                    "chord_program": int(rng.choice(CHORD_PROGRAMS[style])), "seed": int(rng.integers(1 << 30)),
                    "seconds": 40}
            try:
                symbolic(spec)
            except Unusable:
                continue
            except Exception as error:  # noqa: BLE001 - a corpus tune music21 cannot read: draw another
                print(f"  skip {path} #{number}: {type(error).__name__}: {error}", file=sys.stderr)
                continue
            tune = path.split("/")[-1].split(".")[0]
            spec["id"] = f"folk-{metre.replace('/', '')}-{tune}-{number or 0}"
            pieces.append(spec)
            taken += 1
        print(f"folk {metre}: {taken} of {count}", file=sys.stderr)
    for path, bars, bpm, kind, band in SCORES:
        spec = {"group": "classical", "kind": "score", "source": path, "bars": bars, "bpm": bpm, "tempo": kind,
                "programs": list(QUARTETS[band]), "seed": int(rng.integers(1 << 30))}
        try:
            spec["metre"] = symbolic(spec).metre.text
        except Unusable as error:
            print(f"  skip {path}: {error}", file=sys.stderr)
            continue
        spec["id"] = "classical-" + path.rsplit(".", 1)[0].replace("/", "-")
        pieces.append(spec)
    for name, (lo, hi), kind, bars, count in GROOVE_PLAN:
        for k in range(count):
            spec = {"group": "groove", "kind": "groove", "source": name, "bars": bars,
                    "bpm": round(float(rng.uniform(lo, hi)), 1), "tempo": kind if k == 0 else "steady",
                    "tonic": int(rng.integers(12)), "minor": bool(rng.random() < 0.5),
                    "seed": int(rng.integers(1 << 30))}
            spec["metre"] = symbolic(spec).metre.text
            spec["id"] = f"groove-{name}-{k + 1}"
            pieces.append(spec)
    for song in ("Escape from chaosland", "Feelings", "Metal madness", "War of freedom"):
        pieces.append({"group": "fof", "kind": "chart", "source": song, "metre": None,
                       "id": "fof-" + song.lower().replace(" ", "-")})
    labels = json.loads((SHARED / "ai-drafts" / "labels.json").read_text())
    for item in labels:
        pieces.append({"group": "ai", "kind": "ai", "source": item["file"], "metre": None, "bpm": item["bpm"],
                       "key": item["key"], "id": "ai-" + item["file"].split(".")[0]})
    return pieces


# --- split ----------------------------------------------------------------------------------------

def make_split(pieces: list[dict], seed: int = 2026) -> dict:
    """Half of every (group, metre) stratum held out; odd strata alternate rounding up and down."""
    rng = np.random.default_rng(seed)
    strata: dict[tuple[str, str], list[str]] = {}
    for piece in pieces:
        strata.setdefault((piece["group"], str(piece["metre"])), []).append(piece["id"])
    held_out, development = [], []
    round_up = True
    for stratum in sorted(strata):
        ids = sorted(strata[stratum])
        order = [ids[i] for i in rng.permutation(len(ids))]
        count = len(ids) // 2 + (len(ids) % 2 if round_up else 0)
        if len(ids) % 2:
            round_up = not round_up
        held_out += order[:count]
        development += order[count:]
    return {"seed": seed, "rule": "half of each (group, metre) stratum held out by a seeded draw",
            "development": sorted(development), "held_out": sorted(held_out)}


# --- build ----------------------------------------------------------------------------------------

def symbolic(spec: dict) -> Symbolic:
    """The notes of a rendered piece (folk, score or groove spec)."""
    if spec["kind"] == "folk":
        metre = Metre.parse(spec["metre"])
        bar_s = metre.beats_per_bar * 60.0 / spec["bpm"]
        return folk_tune(spec["source"], number=spec["number"], target_bars=max(8, round(spec["seconds"] / bar_s)),
                         style=spec["style"], melody_program=spec["melody_program"], bass_program=spec["bass_program"],
                         chord_program=spec["chord_program"], seed=spec["seed"])
    if spec["kind"] == "score":
        piece = score_excerpt(spec["source"], bars=spec["bars"])
        piece.programs = dict(enumerate(spec["programs"]))
        return piece
    rng = np.random.default_rng(spec["seed"])
    make = GROOVES[spec["source"]]
    if spec["source"] in MODAL_GROOVES:
        return make(rng, spec["tonic"], spec["minor"], spec["bars"])
    return make(rng, spec["tonic"], spec["bars"])


def _digest(spec: dict) -> str:
    return hashlib.sha1(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:12]


def render_piece(spec: dict) -> tuple[np.ndarray, dict]:
    """(stereo samples frames × 2 at 44.1 kHz, truth) of a rendered piece."""
    from trackwright.produce.fluidsynth import render_midi

    piece = symbolic(spec)
    rng = np.random.default_rng(spec["seed"] + 1)
    tempo = tempo_map(spec["tempo"], spec["bpm"], piece.length_ql, piece.metre.beat_ql, rng)
    jitter = 0.008 if spec["group"] != "classical" else 0.012
    midi = to_midi(piece, tempo, jitter_s=jitter, rng=rng)
    audio = render_midi(midi, sample_rate=RATE, tail_s=1.5)
    beats = tempo.seconds(piece.beats_ql())
    downbeats = tempo.seconds(piece.downbeats_ql())
    chords = None
    if piece.chords is not None:
        chords = [[float(tempo.seconds(a)), float(tempo.seconds(b)), label] for a, b, label in piece.chords if b > a]
    truth = {"id": spec["id"], "group": spec["group"], "metre": piece.metre.text, "tempo": spec["tempo"],
             "pickup": piece.pickup_ql > 1e-9, "beats_s": beats.tolist(), "downbeats_s": downbeats.tolist(),
             "tempo_bpm": float(60.0 / np.median(np.diff(beats))), "key": piece.key, "chords": chords,
             "subdivision_s": tempo.seconds(np.arange(0.0, piece.length_ql, piece.metre.beat_ql / (3 if piece.metre.compound else 2))).tolist()}
    return audio.samples.T, truth


def _fof_folder() -> Path:
    folder = OUT.parent / "fof"
    songs = folder / "usr/share/games/fretsonfire/data/songs/sectoid"
    if not songs.is_dir():
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(["apt-get", "download", FOF_PACKAGE], cwd=tmp, check=True, capture_output=True)
            deb = next(Path(tmp).glob("*.deb"))
            subprocess.run(["dpkg", "-x", str(deb), str(folder)], check=True)
    return songs


def chart_truth(song_folder: Path, samples: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Beat times (s) of a Frets on Fire chart, its BPM and the offset found for it.

    ``notes.mid`` is charted against the audio on a constant tempo (its ``set_tempo`` events
    all agree): beat ``k`` is at ``k`` quarter notes. The chart sits a few tens of ms early
    against the recording, the same amount all through (checked per quarter of the song), so
    the offset that best aligns the beats with the mix's onset envelope, less the envelope's
    own latency (:data:`ONSET_LATENCY_S`), is added: an alignment of the whole grid in one
    number, independent of any beat tracker.
    """
    import librosa

    midi = mido.MidiFile(str(song_folder / "notes.mid"))
    tempos = {m.tempo for m in midi.tracks[0] if m.type == "set_tempo"}
    if len(tempos) != 1:
        raise RuntimeError(f"{song_folder.name}: tempo changes in the chart")
    seconds_per_beat = tempos.pop() / 1e6
    mono = samples.mean(axis=1)
    envelope = librosa.onset.onset_strength(y=mono, sr=RATE, hop_length=256)
    beats = np.arange(0.0, len(mono) / RATE - 0.5, seconds_per_beat)
    offsets = np.arange(-0.1, 0.1001, 0.0025)
    fit = [envelope[np.clip(np.round((beats + o) * RATE / 256).astype(int), 0, len(envelope) - 1)].mean() for o in offsets]
    offset = float(offsets[int(np.argmax(fit))]) - ONSET_LATENCY_S
    return beats + offset, 60.0 / seconds_per_beat, offset


def build(pieces: list[dict], only: set[str] | None = None) -> None:
    from trackwright.audio import load_audio

    OUT.mkdir(parents=True, exist_ok=True)
    for spec in pieces:
        if only and spec["id"] not in only:
            continue
        audio_path, truth_path = OUT / f"{spec['id']}.flac", OUT / f"{spec['id']}.json"
        digest = _digest(spec)
        if truth_path.exists() and json.loads(truth_path.read_text()).get("spec_digest") == digest and \
                (audio_path.exists() or spec["kind"] == "ai"):
            continue
        if spec["kind"] in ("folk", "score", "groove"):
            samples, truth = render_piece(spec)
        elif spec["kind"] == "chart":
            try:
                folder = _fof_folder() / spec["source"]
            except (OSError, subprocess.CalledProcessError, StopIteration) as error:
                print(f"  {spec['id']}: skipped, {FOF_PACKAGE} could not be fetched ({error})", file=sys.stderr)
                continue
            song, _ = sf.read(folder / "song.ogg", always_2d=True, dtype="float32")
            guitar, _ = sf.read(folder / "guitar.ogg", always_2d=True, dtype="float32")
            n = min(len(song), len(guitar))
            samples = song[:n] + guitar[:n]
            samples /= max(1.0, float(np.abs(samples).max()) / 0.98)
            beats, bpm, offset = chart_truth(folder, samples)
            truth = {"id": spec["id"], "group": "fof", "metre": None, "tempo": "steady", "pickup": None,
                     "beats_s": beats.tolist(), "downbeats_s": None, "tempo_bpm": bpm, "key": None, "chords": None,
                     "chart_offset_s": offset}
            print(f"  {spec['id']}: chart offset {1000 * offset:+.1f} ms", file=sys.stderr)
        else:  # an AI draft: its labels only; the audio stays in shared/
            truth = {"id": spec["id"], "group": "ai", "metre": None, "tempo": "steady", "pickup": None,
                     "beats_s": None, "downbeats_s": None, "tempo_bpm": float(spec["bpm"]), "key": spec["key"],
                     "chords": None, "audio": str(SHARED / "ai-drafts" / spec["source"])}
            samples = None
        if samples is not None:
            sf.write(audio_path, samples, RATE, subtype="PCM_16")
            truth["audio"] = str(audio_path)
            truth["duration_s"] = len(samples) / RATE
        else:
            truth["duration_s"] = load_audio(truth["audio"]).duration_s
        truth["spec_digest"] = digest
        truth_path.write_text(json.dumps(truth))
        print(f"built {spec['id']}", file=sys.stderr, flush=True)


@dataclass
class Item:
    """One built piece: its spec, its truth and where its audio is."""

    spec: dict
    truth: dict

    @property
    def id(self) -> str:
        return self.spec["id"]

    @property
    def audio_path(self) -> Path:
        return Path(self.truth["audio"])


def load(split: str) -> list[Item]:
    """The built pieces of ``split`` (``development``, ``held_out`` or ``all``), building what is missing."""
    pieces = json.loads(PIECES_PATH.read_text())
    chosen = json.loads(SPLIT_PATH.read_text())
    ids = set(chosen["development"]) | set(chosen["held_out"]) if split == "all" else set(chosen[split])
    wanted = [p for p in pieces if p["id"] in ids and (p["group"] != "ai" or (SHARED / "ai-drafts").is_dir())]
    build(wanted)
    return [Item(p, json.loads((OUT / f"{p['id']}.json").read_text())) for p in wanted
            if (OUT / f"{p['id']}.json").exists()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=("catalogue", "split", "build"))
    parser.add_argument("--only", nargs="*", help="build only these piece ids")
    args = parser.parse_args(argv)
    if args.step == "catalogue":
        pieces = make_catalogue()
        PIECES_PATH.write_text(json.dumps(pieces, indent=1) + "\n")
        print(f"{len(pieces)} pieces → {PIECES_PATH}")
    elif args.step == "split":
        split = make_split(json.loads(PIECES_PATH.read_text()))
        SPLIT_PATH.write_text(json.dumps(split, indent=1) + "\n")
        print(f"{len(split['development'])} development, {len(split['held_out'])} held out → {SPLIT_PATH}")
    else:
        build(json.loads(PIECES_PATH.read_text()), set(args.only) if args.only else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
