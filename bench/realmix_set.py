"""Build the real-multitrack development set of ``bench_realmix.py`` into ``bench-out/realmix/``.

Each song becomes a folder ``bench-out/realmix/songs/<id>/`` with

* ``mix.flac`` — the artist's own mix of the excerpt (the released mix, or the sum of the stems
  where that sum *is* the release: Frets on Fire plays ``song.ogg`` and ``guitar.ogg`` together;
  a tracker module's mix is the player's output);
* ``stems/<name>.flac`` — one file per part, time-aligned with the mix, same length;
* ``notes.mid`` — the parts as MIDI on the excerpt's timeline (0 s = the excerpt's start), one
  track per part, each named like the stem it plays (where a part is known);
* ``song.json`` — provenance: source package and version, files, tool, excerpt window, how the
  mix was made, and a role per stem (vocals, lead, drums, bass, guitar, keys, strings, pad, fx,
  other) with where the role came from (``labelled`` here, or ``name``: the keyword table).

Sources (all Debian packages, fetched with ``apt-get download`` + ``dpkg -x`` into
``bench-out/realmix/debs/``; shared/audio is used where it has the song already):

* ``fretsonfire-songs-sectoid``: four rock/metal songs, each ``song.ogg`` (band without lead
  guitar) + ``guitar.ogg`` (lead guitar) + ``notes.mid`` (the game's chart: the expert
  difficulty, notes 96–100 = the five fret buttons, is kept; it is a rhythm chart, not pitches).
* ``lmms-common`` demo projects, rendered headless with ``lmms render`` (the mix) and
  ``lmms rendertracks`` (each track solo) of the project with its clips after the window removed
  (so the render stops there; ``-l`` does not limit a render to the loop markers), then cut to
  the window; MIDI from the project's own note data (song-level instrument tracks;
  beat/bassline patterns are not exported).
* tracker modules (``pingus-data`` .it, ``tecnoballz-data`` .mod, ``monsterz-data`` .s3m),
  rendered with libxmp (ctypes): the mix once, then each channel alone; channels are grouped by
  the instrument they play most into one stem per instrument, and the pattern events become
  MIDI (tracker note n → MIDI n + 11, so an octave may be off; timing is exact).

Every song is cut to one window of at most ``--excerpt-s`` seconds (default 60) so that the
benchmark stays bounded. The held-out split lives in ``bench/realmix_split.json`` (committed,
made by ``--write-split`` with a fixed seed, stratified by source family) and is fixed before
anything is measured.

Usage::

    python bench/realmix_set.py                  # build every song not yet built
    python bench/realmix_set.py --only fof_metal  # one song
    python bench/realmix_set.py --list           # the songs, families and split

Needs ``apt-get`` (download only), ``lmms`` (``apt-get install lmms``) for the LMMS family and
``libxmp4`` (installed with ``xmp``) for the tracker family; a family whose tool is missing is
skipped with one line saying what to install.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import gzip
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pretty_midi
import soundfile as sf
import soxr

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench-out" / "realmix"
SHARED = ROOT.parent / "shared" / "audio"
SPLIT_FILE = Path(__file__).resolve().parent / "realmix_split.json"
SPLIT_SEED = 15
RATE = 44100
#: Bump when the way a song is built changes: cached songs of another version are rebuilt.
BUILD_VERSION = 3

ROLES = ("vocals", "lead", "drums", "bass", "guitar", "keys", "strings", "pad", "fx", "other")
#: Keyword → role, checked in order (drums before bass, so "bassdrum" is drums).
_ROLE_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("fx", ("fx", "sweep", "riser", "alien", "ufo", "buzz", "wind", "impact")),
    ("drums", ("kick", "kik", "bassdrum", "bass drum", "bd ", "snare", "snr", "hihat", "hi-hat", "hihhat", "hat",
               " hh", "tom", "crash", "ride", "cymbal", "clap", "perc", "drum", "cowbell", "shaker", "tamb", "rim",
               "kit", ".ds ")),
    ("bass", ("bass",)),
    ("vocals", ("vox", "vocal", "voice", "choir", "aah", "ooh")),
    ("guitar", ("guitar", "gtr", "dist")),
    ("keys", ("piano", "e-piano", "epiano", "rhodes", "organ", "keys", "clav", "harpsi", "marimba", "bell")),
    ("strings", ("string", "violin", "cello", "viola", "orch")),
    ("pad", ("pad",)),
    ("lead", ("lead", "flute", "sax", "trumpet", "horn", "brass", "solo", "pluck", "synth")),
    ("fx", ("noise",)),
)


def role_from_name(name: str) -> str:
    """A role for a part from the words in its name (the set's own table, not trackwright's)."""
    low = name.lower().replace("_", " ") + " "
    for role, words in _ROLE_WORDS:
        if any(word.replace("_", " ") in low for word in words):
            return role
    return "other"


@dataclass(frozen=True)
class Song:
    """One song of the set: where it comes from and how it is cut.

    Attributes:
        id: folder name and split key.
        family: ``fof``, ``lmms`` or ``tracker`` (the split is stratified by it).
        style: a word for the genre (rock, metal, reggae, electronic, chip, orchestral, ...).
        package: the Debian package it comes from.
        source: path of the song inside the package (a folder for fof, a project or module file).
        start_s: excerpt start, seconds (LMMS: rounded down to a bar).
        roles: labelled roles for some stems (stem name → role); others come from the name.
    """

    id: str
    family: str
    style: str
    package: str
    source: str
    start_s: float = 0.0
    roles: dict[str, str] = field(default_factory=dict)


_FOF = "usr/share/games/fretsonfire/data/songs/sectoid"
_LMMS = "usr/share/lmms/projects/demos"
SONGS: tuple[Song, ...] = (
    Song("fof_feelings", "fof", "rock ballad", "fretsonfire-songs-sectoid", f"{_FOF}/Feelings", 30.0,
         {"song": "other", "guitar": "guitar"}),
    Song("fof_escape", "fof", "rock", "fretsonfire-songs-sectoid", f"{_FOF}/Escape from chaosland", 30.0,
         {"song": "other", "guitar": "guitar"}),
    Song("fof_metal", "fof", "metal", "fretsonfire-songs-sectoid", f"{_FOF}/Metal madness", 30.0,
         {"song": "other", "guitar": "guitar"}),
    Song("fof_war", "fof", "metal", "fretsonfire-songs-sectoid", f"{_FOF}/War of freedom", 30.0,
         {"song": "other", "guitar": "guitar"}),
    Song("lmms_reggaetry", "lmms", "reggae", "lmms-common", f"{_LMMS}/CapDan/CapDan-ReggaeTry.mmpz", 0.0),
    Song("lmms_axe80s", "lmms", "synth rock", "lmms-common", f"{_LMMS}/Thomasso-AxeFromThe80s.mmpz", 20.0),
    Song("lmms_c64", "lmms", "chip", "lmms-common", f"{_LMMS}/Skiessi/Skiessi-C64.mmpz", 0.0),
    Song("lmms_house", "lmms", "electronic", "lmms-common", f"{_LMMS}/Shovon-ProgressiveHousePluckDemo.mmpz", 20.0),
    Song("lmms_mauiwowi", "lmms", "electronic", "lmms-common", f"{_LMMS}/Alf42red-Mauiwowi.mmpz", 20.0),
    Song("lmms_zerosum", "lmms", "electronic", "lmms-common",
         f"{_LMMS}/CapDan/CapDan-ZeroSumGame-OriginalByZakarra.mmpz", 20.0),
    Song("trk_pingus_march", "tracker", "orchestral march", "pingus-data", "usr/share/games/pingus/data/music/goin_march.it"),
    Song("trk_pingus_sorcerer", "tracker", "orchestral", "pingus-data", "usr/share/games/pingus/data/music/sorcerer.it"),
    Song("trk_pingus_menus", "tracker", "orchestral", "pingus-data", "usr/share/games/pingus/data/music/pingus-1.it"),
    Song("trk_pingus_journey", "tracker", "adventure", "pingus-data", "usr/share/games/pingus/data/music/rough_journey.it"),
    Song("trk_tecnoballz_title", "tracker", "chip", "tecnoballz-data", "usr/share/games/tecnoballz/musics/tecnoballz.mod"),
    Song("trk_tecnoballz_fridge", "tracker", "chip", "tecnoballz-data",
         "usr/share/games/tecnoballz/musics/fridge-in-space_from_reg-zbb.mod"),
    Song("trk_monsterz", "tracker", "chip", "monsterz-data", "usr/share/games/monsterz/sound/music.s3m"),
)


# ---------------------------------------------------------------------------------------------
# small helpers


def safe_name(text: str) -> str:
    """A file/part name: lower case, ``[a-z0-9_.-]``, no leading digit-underscore index."""
    name = re.sub(r"[^a-z0-9_.\-]+", "_", text.strip().lower())
    name = re.sub(r"_+", "_", name).strip("_.-")
    return name or "part"


def unique(name: str, taken: set[str]) -> str:
    """``name``, or ``name_2``, ``name_3``… when taken; the result is added to ``taken``."""
    out, n = name, 2
    while out in taken:
        out, n = f"{name}_{n}", n + 1
    taken.add(out)
    return out


def run(cmd: list[str], *, timeout_s: float, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run a tool; raise with its last stderr line when it fails."""
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, cwd=cwd,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"{' '.join(cmd[:3])}… exited {proc.returncode}: {' | '.join(tail)}")
    return proc


def deb_root(package: str) -> tuple[Path, str]:
    """The unpacked Debian package (downloaded once) and its version."""
    debs = OUT / "debs"
    root = debs / package
    stamp = root / ".version"
    if stamp.exists():
        return root, stamp.read_text().strip()
    debs.mkdir(parents=True, exist_ok=True)
    run(["apt-get", "download", package], timeout_s=600, cwd=debs)
    deb = sorted(debs.glob(f"{package}_*.deb"))[-1]
    version = deb.name.split("_")[1]
    tmp = debs / f".{package}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    run(["dpkg", "-x", str(deb), str(tmp)], timeout_s=600)
    (tmp / ".version").write_text(version)
    tmp.rename(root)
    deb.unlink()
    return root, version


def load(path: Path) -> np.ndarray:
    """Audio as float64 stereo (2 × frames) at 44.1 kHz."""
    data, rate = sf.read(str(path), dtype="float64", always_2d=True)
    if rate != RATE:
        data = soxr.resample(data, rate, RATE)
    data = data.T
    return np.vstack([data, data]) if data.shape[0] == 1 else data[:2]


def write(path: Path, audio: np.ndarray) -> None:
    """Write 2 × frames float audio as 24-bit FLAC, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.flac")
    sf.write(str(tmp), np.clip(audio.T, -1.0, 1.0 - 2.0 ** -23), RATE, subtype="PCM_24")
    tmp.rename(path)


def level_db(audio: np.ndarray) -> float:
    """RMS over all channels, dBFS (−inf for silence)."""
    power = float(np.mean(np.square(audio)))
    return 10.0 * np.log10(power) if power > 0 else float("-inf")


@dataclass
class Built:
    """What a family builder hands back: the excerpt's mix, stems and MIDI notes."""

    mix: np.ndarray
    stems: dict[str, np.ndarray]
    notes: dict[str, list[tuple[float, float, int, int]]]  # part → (start_s, end_s, pitch, velocity)
    drums: set[str]
    mix_kind: str
    tool: str
    files: list[str]
    version: str
    license_file: str


# ---------------------------------------------------------------------------------------------
# Frets on Fire


def build_fof(song: Song, excerpt_s: float) -> Built:
    root, version = deb_root(song.package)
    folder = root / song.source
    shared = SHARED / "stems" / "fof_feelings"
    src = shared if song.id == "fof_feelings" and shared.is_dir() else folder
    a, b = int(song.start_s * RATE), int((song.start_s + excerpt_s) * RATE)
    stems = {name: load(src / f"{name}.ogg")[:, a:b] for name in ("song", "guitar")}
    frames = min(s.shape[1] for s in stems.values())
    stems = {k: v[:, :frames] for k, v in stems.items()}
    midi = pretty_midi.PrettyMIDI(str(folder / "notes.mid"))
    notes = [(n.start - song.start_s, n.end - song.start_s, n.pitch, n.velocity)
             for inst in midi.instruments for n in inst.notes
             if 96 <= n.pitch <= 100 and song.start_s <= n.start < song.start_s + frames / RATE]
    return Built(mix=stems["song"] + stems["guitar"], stems=stems, notes={"guitar": notes}, drums=set(),
                 mix_kind="sum of stems (the game plays song.ogg + guitar.ogg: the sum is the release)",
                 tool="ogg decode", files=[str(src / "song.ogg"), str(src / "guitar.ogg"), str(folder / "notes.mid")],
                 version=version, license_file=str(root / "usr/share/doc" / song.package / "copyright"))


# ---------------------------------------------------------------------------------------------
# LMMS


def _lmms_xml(path: Path) -> ET.Element:
    raw = path.read_bytes()
    if path.suffix == ".mmpz":
        raw = zlib.decompress(raw[4:])  # Qt's qCompress: 4-byte big-endian length, then zlib
    return ET.fromstring(raw)


def _lmms_notes(root: ET.Element, start_tick: int, end_tick: int, bpm: float
                ) -> tuple[list[str], dict[str, list[tuple[float, float, int, int]]]]:
    """Song-level instrument tracks' names (in order) and their notes inside the window (seconds)."""
    container = root.find("song/trackcontainer")
    names, notes = [], {}
    for track in container.findall("track") if container is not None else []:
        if track.get("type") != "0":
            continue
        name = track.get("name", "track")
        names.append(name)
        events = notes.setdefault(name, [])
        for pattern in track.findall("pattern"):
            base = int(pattern.get("pos", "0"))
            for note in pattern.findall("note"):
                on = base + int(note.get("pos", "0"))
                length = int(note.get("len", "12"))
                off = on + (length if length > 0 else 12)  # step notes have len < 0: one 1/16
                if not start_tick <= on < end_tick:
                    continue
                sec = 60.0 / bpm / 48.0  # 48 ticks per beat
                velocity = int(np.clip(round(float(note.get("vol", "100")) * 1.27), 1, 127))
                events.append(((on - start_tick) * sec, (min(off, end_tick) - start_tick) * sec,
                               int(np.clip(int(note.get("key", "57")) + 12, 0, 127)), velocity))
    return names, notes


def build_lmms(song: Song, excerpt_s: float) -> Built:
    if shutil.which("lmms") is None:
        raise RuntimeError("lmms is not installed (apt-get install lmms)")
    root_dir, version = deb_root(song.package)
    project = root_dir / song.source
    root = _lmms_xml(project)
    head = root.find("head")
    bpm = float(head.get("bpm", "120")) if head is not None else 120.0
    bar_ticks = 192 * int(head.get("timesig_numerator", "4")) // int(head.get("timesig_denominator", "4"))
    bar_s = bar_ticks / 48.0 * 60.0 / bpm
    start_bar = int(song.start_s // bar_s)
    bars = max(1, int(excerpt_s // bar_s))
    start_tick, end_tick = start_bar * bar_ticks, (start_bar + bars) * bar_ticks
    names, notes = _lmms_notes(root, start_tick, end_tick, bpm)
    shared = SHARED / "stems" / "lmms_reggaetry"
    files = [str(project)]
    if song.id == "lmms_reggaetry" and shared.is_dir():
        mix = load(shared / "mix.ogg")
        stems_raw = {re.sub(r"^\d+_", "", p.stem): load(p) for p in sorted(shared.glob("*.ogg")) if p.stem != "mix"}
        a, b = int(song.start_s * RATE), int((song.start_s + excerpt_s) * RATE)
        mix, stems_raw = mix[:, a:b], {k: v[:, a:b] for k, v in stems_raw.items()}
        files += [str(shared)]
        tool = "shared/audio render (lmms rendertracks, solo per track) + mix.ogg"
    else:
        # the song ends with the window: later clips go (lmms renders to the last clip's end)
        for parent in root.iter():
            for clip in [c for c in parent if c.tag in ("pattern", "bbtco", "automationpattern", "sampletco")]:
                if int(clip.get("pos", "0")) >= end_tick and parent.tag == "track":
                    parent.remove(clip)
        with tempfile.TemporaryDirectory(dir=OUT) as tmp:
            work = Path(tmp)
            mmp = work / "project.mmp"
            ET.ElementTree(root).write(mmp, encoding="utf-8", xml_declaration=True)
            (work / "tracks").mkdir()
            limit = 60.0 + 20.0 * excerpt_s
            for take in ("mix.wav", "mix_again.wav"):
                run(["lmms", "--allowroot", "render", str(mmp), "-f", "wav", "-a", "-o", str(work / take)],
                    timeout_s=limit)
            run(["lmms", "--allowroot", "rendertracks", str(mmp), "-f", "wav", "-a", "-o", str(work / "tracks") + "/"],
                timeout_s=limit * 4)
            a, b = int(start_bar * bar_s * RATE), int((start_bar + bars) * bar_s * RATE)
            mix = load(work / "mix.wav")[:, a:b]
            again = load(work / "mix_again.wav")[:, a:b]
            n = min(mix.shape[1], again.shape[1])
            repeat_db = round(level_db(mix[:, :n] - again[:, :n]) - level_db(mix[:, :n]), 2)
            stems_raw = {}
            for path in sorted((work / "tracks").glob("*.wav"), key=lambda p: int(p.name.split("_")[0])):
                stems_raw[re.sub(r"^\d+_", "", path.stem).removesuffix(".ogg").removesuffix(".wav")] = load(path)[:, a:b]
        tool = ("lmms render / rendertracks (32-bit float) of the project cut after the window; "
                f"two renders of the mix differ by {repeat_db} dB re the mix (the floor of any stems-sum residual)")
    frames = mix.shape[1]  # a track that ends early is padded with silence
    stems_raw = {k: np.pad(v[:, :frames], ((0, 0), (0, frames - min(frames, v.shape[1])))) for k, v in stems_raw.items()}
    taken: set[str] = set()
    stems: dict[str, np.ndarray] = {}
    renamed: dict[str, str] = {}
    for raw, audio in stems_raw.items():
        if level_db(audio[:, :frames]) < -90.0:
            continue  # a track silent in the window (or an automation track)
        name = unique(safe_name(raw), taken)
        renamed.setdefault(safe_name(raw), name)
        stems[name] = audio[:, :frames]
    # MIDI parts named like their stems where the names meet (first track of a name)
    midi_notes: dict[str, list[tuple[float, float, int, int]]] = {}
    for raw in names:
        part = renamed.get(safe_name(raw))
        if part is not None and notes.get(raw) and part not in midi_notes:
            midi_notes[part] = notes[raw]
    drums = {p for p in midi_notes if role_from_name(p) == "drums"}
    return Built(mix=mix[:, :frames], stems=stems, notes=midi_notes, drums=drums,
                 mix_kind="the project's own render (lmms render): master FX and sends included",
                 tool=tool, files=files, version=version,
                 license_file=str(root_dir / "usr/share/doc" / song.package / "copyright"))


# ---------------------------------------------------------------------------------------------
# tracker modules (libxmp through ctypes)


class _Event(ctypes.Structure):
    _fields_ = [(n, ctypes.c_ubyte) for n in ("note", "ins", "vol", "fxt", "fxp", "f2t", "f2p", "flag")]


class _ChannelInfo(ctypes.Structure):
    _fields_ = [("period", ctypes.c_uint), ("position", ctypes.c_uint), ("pitchbend", ctypes.c_short),
                ("note", ctypes.c_ubyte), ("instrument", ctypes.c_ubyte), ("sample", ctypes.c_ubyte),
                ("volume", ctypes.c_ubyte), ("pan", ctypes.c_ubyte), ("reserved", ctypes.c_ubyte), ("event", _Event)]


class _FrameInfo(ctypes.Structure):
    _fields_ = ([(n, ctypes.c_int) for n in ("pos", "pattern", "row", "num_rows", "frame", "speed", "bpm", "time",
                                              "total_time", "frame_time")]
                + [("buffer", ctypes.c_void_p), ("buffer_size", ctypes.c_int), ("total_size", ctypes.c_int),
                   ("volume", ctypes.c_int), ("loop_count", ctypes.c_int), ("virt_channels", ctypes.c_int),
                   ("virt_used", ctypes.c_int), ("sequence", ctypes.c_int), ("channel_info", _ChannelInfo * 64)])


class _Envelope(ctypes.Structure):
    _fields_ = [(n, ctypes.c_int) for n in ("flg", "npt", "scl", "sus", "sue", "lps", "lpe")] + [("data", ctypes.c_short * 64)]


class _KeyMap(ctypes.Structure):
    _fields_ = [("ins", ctypes.c_ubyte), ("xpo", ctypes.c_byte)]


class _Instrument(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char * 32), ("vol", ctypes.c_int), ("nsm", ctypes.c_int), ("rls", ctypes.c_int),
                ("aei", _Envelope), ("pei", _Envelope), ("fei", _Envelope), ("map", _KeyMap * 121),
                ("sub", ctypes.c_void_p), ("extra", ctypes.c_void_p)]


class _Module(ctypes.Structure):
    _fields_ = ([("name", ctypes.c_char * 64), ("type", ctypes.c_char * 64)]
                + [(n, ctypes.c_int) for n in ("pat", "trk", "chn", "ins", "smp", "spd", "bpm", "len", "rst", "gvl")]
                + [("xxp", ctypes.c_void_p), ("xxt", ctypes.c_void_p), ("xxi", ctypes.POINTER(_Instrument))])


class _ModuleInfo(ctypes.Structure):
    _fields_ = [("md5", ctypes.c_ubyte * 16), ("vol_base", ctypes.c_int), ("mod", ctypes.POINTER(_Module)),
                ("comment", ctypes.c_char_p), ("num_sequences", ctypes.c_int), ("seq_data", ctypes.c_void_p)]


_XMP_PLAYER_AMP = 0
_XMP_KEY_OFF = 0x81


class Tracker:
    """A module loaded in libxmp: render the mix or one channel alone, 44.1 kHz 16-bit stereo."""

    def __init__(self, path: Path) -> None:
        found = ctypes.util.find_library("xmp")
        if found is None:
            raise RuntimeError("libxmp is not installed (apt-get install libxmp4)")
        self.lib = ctypes.CDLL(found)
        self.lib.xmp_create_context.restype = ctypes.c_void_p
        self.ctx = ctypes.c_void_p(self.lib.xmp_create_context())
        if self.lib.xmp_load_module(self.ctx, str(path).encode()) != 0:
            raise RuntimeError(f"libxmp cannot load {path}")
        info = _ModuleInfo()
        self.lib.xmp_get_module_info(self.ctx, ctypes.byref(info))
        module = info.mod.contents
        self.channels = module.chn
        self.instruments = [module.xxi[i].name.decode("latin-1").strip() or f"ins{i + 1}" for i in range(module.ins)]
        self.title = module.name.decode("latin-1").strip()
        self.type = module.type.decode("latin-1").strip()

    def close(self) -> None:
        self.lib.xmp_release_module(self.ctx)
        self.lib.xmp_free_context(self.ctx)

    def render(self, max_s: float, solo: int | None = None
               ) -> tuple[np.ndarray, list[list[tuple[int, int, int, int]]], list[float]]:
        """(2 × frames audio, per frame per channel (instrument, volume, event note, event ins), frame times s)."""
        self.lib.xmp_start_player(self.ctx, RATE, 0)
        self.lib.xmp_set_player(self.ctx, _XMP_PLAYER_AMP, 0)
        for channel in range(self.channels):
            self.lib.xmp_channel_mute(self.ctx, channel, 0 if solo in (None, channel) else 1)
        frame = _FrameInfo()
        chunks, states, times, done = [], [], [], 0
        while self.lib.xmp_play_frame(self.ctx) == 0:
            self.lib.xmp_get_frame_info(self.ctx, ctypes.byref(frame))
            if frame.loop_count > 0 or done >= max_s * RATE:
                break
            chunks.append(np.frombuffer(ctypes.string_at(frame.buffer, frame.buffer_size), dtype=np.int16).copy())
            times.append(done / RATE)
            done += frame.buffer_size // 4
            if solo is None:
                states.append([(c.instrument, c.volume, c.event.note if frame.frame == 0 else 0, c.event.ins)
                               for c in frame.channel_info[: self.channels]])
        self.lib.xmp_end_player(self.ctx)
        audio = np.concatenate(chunks).reshape(-1, 2).T.astype(np.float64) / 32768.0
        return audio, states, times


def build_tracker(song: Song, excerpt_s: float) -> Built:
    root, version = deb_root(song.package)
    path = root / song.source
    module = Tracker(path)
    try:
        end_s = song.start_s + excerpt_s
        mix, states, times = module.render(end_s)
        frames = mix.shape[1]
        # which instrument each channel plays most (frames with volume > 0)
        use = np.zeros((module.channels, len(module.instruments) + 1))
        for state in states:
            for channel, (ins, vol, _, _) in enumerate(state):
                if vol > 0 and 0 <= ins < len(module.instruments):
                    use[channel, ins + 1] += vol
        groups: dict[int, list[int]] = {}
        for channel in range(module.channels):
            if use[channel].sum() > 0:
                groups.setdefault(int(np.argmax(use[channel])), []).append(channel)
        taken: set[str] = set()
        stems: dict[str, np.ndarray] = {}
        names: dict[int, str] = {}
        for ins, channels in sorted(groups.items()):
            audio = np.zeros_like(mix)
            for channel in channels:
                solo, _, _ = module.render(end_s, solo=channel)
                n = min(frames, solo.shape[1])
                audio[:, :n] += solo[:, :n]
            if level_db(audio) < -90.0:
                continue
            names[ins] = unique(safe_name(module.instruments[ins - 1]), taken)
            stems[names[ins]] = audio
        # MIDI: every note event, as a part per instrument (the stems' instruments by their names)
        notes: dict[str, list[tuple[float, float, int, int]]] = {}
        open_notes: dict[int, tuple[float, int, int, int]] = {}
        current_ins = [0] * module.channels
        for t, state in zip(times + [frames / RATE], states + [[(0, 0, _XMP_KEY_OFF, 0)] * module.channels]):
            for channel, (_, vol, note, ins) in enumerate(state):
                if ins:
                    current_ins[channel] = ins
                if note == 0:
                    continue
                if channel in open_notes:
                    on, pitch, velocity, part_ins = open_notes.pop(channel)
                    if part_ins in names and t > on:
                        notes.setdefault(names[part_ins], []).append((on, t, pitch, velocity))
                if 1 <= note <= 120:
                    open_notes[channel] = (t, int(np.clip(note + 11, 0, 127)),
                                           int(np.clip(round(vol / 64 * 127), 1, 127)), current_ins[channel] + 0)
        a = int(song.start_s * RATE)
        window = {k: [(s - song.start_s, e - song.start_s, p, v) for s, e, p, v in ev if s >= song.start_s]
                  for k, ev in notes.items()}
        drums = {k for k in window if role_from_name(k) == "drums"}
        return Built(mix=mix[:, a:], stems={k: v[:, a:] for k, v in stems.items()}, notes=window, drums=drums,
                     mix_kind="the module's own playback (libxmp, all channels); stems are channels alone, "
                              "grouped by the instrument each channel plays most",
                     tool=f"libxmp {module.type}, 16-bit, amp 0, spline interpolation",
                     files=[str(path)], version=version,
                     license_file=str(root / "usr/share/doc" / song.package / "copyright"))
    finally:
        module.close()


BUILDERS = {"fof": build_fof, "lmms": build_lmms, "tracker": build_tracker}


# ---------------------------------------------------------------------------------------------


def write_midi(path: Path, notes: dict[str, list[tuple[float, float, int, int]]], drums: set[str]) -> None:
    """One MIDI track per part, named after it (120 BPM grid; times in seconds are exact)."""
    midi = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    for part, events in notes.items():
        if not events:
            continue
        inst = pretty_midi.Instrument(program=0, is_drum=part in drums, name=part)
        for start, end, pitch, velocity in events:
            inst.notes.append(pretty_midi.Note(velocity=velocity, pitch=pitch, start=max(0.0, start),
                                               end=max(start + 0.02, end)))
        midi.instruments.append(inst)
    tmp = path.with_name(path.name + ".tmp")
    midi.write(str(tmp))
    tmp.rename(path)


def spec_hash(song: Song, excerpt_s: float) -> str:
    text = json.dumps([asdict(song), excerpt_s, BUILD_VERSION], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def build(song: Song, excerpt_s: float, force: bool = False) -> dict:
    """Build one song's folder (cached by its spec); returns its song.json record."""
    folder = OUT / "songs" / song.id
    record_path = folder / "song.json"
    key = spec_hash(song, excerpt_s)
    if record_path.exists() and not force:
        record = json.loads(record_path.read_text())
        if record.get("spec_hash") == key:
            return record
    built = BUILDERS[song.family](song, excerpt_s)
    tmp = OUT / "songs" / f".{song.id}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "stems").mkdir(parents=True)
    write(tmp / "mix.flac", built.mix)
    stems = {}
    total = np.zeros_like(built.mix)
    for name, audio in built.stems.items():
        write(tmp / "stems" / f"{name}.flac", audio)
        total += audio
        role, how = (song.roles[name], "labelled") if name in song.roles else (role_from_name(name), "name")
        stems[name] = {"file": f"stems/{name}.flac", "role": role, "role_from": how,
                       "level_dbfs": round(level_db(audio), 2),
                       "midi_part": name if built.notes.get(name) else None}
    has_midi = any(built.notes.values())
    if has_midi:
        write_midi(tmp / "notes.mid", built.notes, built.drums)
    license_copy = tmp / "COPYRIGHT"
    source_license = Path(built.license_file)
    if source_license.exists():
        data = source_license.read_bytes()
        license_copy.write_bytes(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data)
    residual = built.mix - total
    record = {
        "id": song.id, "family": song.family, "style": song.style, "spec_hash": key,
        "package": song.package, "package_version": built.version, "source": song.source,
        "source_files": built.files, "tool": built.tool, "mix_kind": built.mix_kind,
        "excerpt": {"start_s": song.start_s, "duration_s": round(built.mix.shape[1] / RATE, 3)},
        "sample_rate": RATE, "mix": "mix.flac", "midi": "notes.mid" if has_midi else None,
        "midi_parts": sorted(k for k, v in built.notes.items() if v),
        "stems": stems,
        "build_residual_db": round(level_db(residual) - level_db(built.mix), 2),
        "license": "COPYRIGHT (copied from the Debian package)",
    }
    (tmp / "song.json").write_text(json.dumps(record, indent=2) + "\n")
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    return record


def make_split(songs: tuple[Song, ...] = SONGS, seed: int = SPLIT_SEED, heldout_fraction: float = 1 / 3) -> dict:
    """A seeded split stratified by family: about a third of each family held out."""
    rng = random.Random(seed)
    heldout: list[str] = []
    for family in sorted({s.family for s in songs}):
        ids = sorted(s.id for s in songs if s.family == family)
        rng.shuffle(ids)
        heldout += ids[: max(1, round(len(ids) * heldout_fraction))]
    dev = sorted(s.id for s in songs if s.id not in heldout)
    return {"seed": seed, "rule": "per family, a seeded third held out (random.Random(seed).shuffle of sorted ids)",
            "dev": dev, "heldout": sorted(heldout)}


def load_split() -> dict:
    """The committed split (bench/realmix_split.json)."""
    return json.loads(SPLIT_FILE.read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", help="build only this song id (repeatable)")
    parser.add_argument("--excerpt-s", type=float, default=60.0, help="excerpt length, seconds (default 60)")
    parser.add_argument("--force", action="store_true", help="rebuild even when cached")
    parser.add_argument("--list", action="store_true", help="list the songs and the split, build nothing")
    parser.add_argument("--write-split", action="store_true", help="(re)write bench/realmix_split.json")
    args = parser.parse_args(argv)
    if args.write_split:
        SPLIT_FILE.write_text(json.dumps(make_split(), indent=2) + "\n")
        print(f"wrote {SPLIT_FILE}")
        return 0
    split = load_split()
    songs = [s for s in SONGS if not args.only or s.id in args.only]
    if args.list:
        for s in songs:
            print(f"{s.id:<24} {s.family:<8} {s.style:<18} {'held-out' if s.id in split['heldout'] else 'dev'}")
        return 0
    OUT.mkdir(parents=True, exist_ok=True)
    failed = 0
    for song in songs:
        try:
            record = build(song, args.excerpt_s, force=args.force)
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
            failed += 1
            print(f"{song.id:<24} skipped: {exc}", file=sys.stderr)
            continue
        roles = ", ".join(f"{k}={v['role']}" for k, v in record["stems"].items())
        print(f"{song.id:<24} {record['excerpt']['duration_s']:5.1f} s  {len(record['stems']):2d} stems  "
              f"stems-sum residual {record['build_residual_db']:7.1f} dB  midi {','.join(record['midi_parts']) or '-'}  "
              f"[{roles}]")
    manifest = {"songs": sorted(p.parent.name for p in (OUT / "songs").glob("*/song.json")), "split": split}
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return 1 if failed == len(songs) else 0


if __name__ == "__main__":
    sys.exit(main())
