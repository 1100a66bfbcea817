"""The critique's calibration set: finished, released tracks across styles, built into bench-out/.

Run ``python bench/critique_set.py`` once (``make bench`` does): it takes the six songs of
``/work/shared/audio/songs`` (or ``$TRACKWRIGHT_SHARED_AUDIO/songs``) and the Fret on Fire
"Feelings" stems, downloads the Debian game-music packages below with ``apt-get download``
(no root needed), extracts only the tracks listed, decodes them (Fret on Fire songs: the backing
and guitar stems summed, then scaled so the sample peak is at most 0.99) and writes
``bench-out/critique/tracks/<id>.flac`` (24-bit) and ``bench-out/critique/manifest.json``.

Every track carries a style label — orchestral, rock, electronic, ambient, acoustic, pop or
underscore — given by hand from the package's metadata (Vorbis GENRE/TITLE tags, the game's
credits) and a first look at its level and spectrum; the labels are judgement, not ground truth.

``bench/critique_split.json`` (committed) fixes which tracks are held out: per style, a third
(at least two) chosen with a seeded shuffle *before* any tuning. ``--make-split`` writes it when it
is missing and refuses to overwrite it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trackwright.audio import Audio, load_audio, save_audio

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench-out" / "critique"
SPLIT_FILE = Path(__file__).resolve().parent / "critique_split.json"
SPLIT_SEED = 22
STYLES = ("orchestral", "rock", "electronic", "ambient", "acoustic", "pop", "underscore")
SHARED = Path(os.environ.get("TRACKWRIGHT_SHARED_AUDIO", "/work/shared/audio"))

WESNOTH = "usr/share/games/wesnoth/1.16/data/core/music/"
WIDELANDS = "usr/share/games/widelands/data/music/"
STK = "usr/share/games/supertuxkart/data/music/"
NAEV = "usr/share/naev/dat/snd/music/"
FDRPG = "usr/share/freedroidrpg/data/sound/music/"
FOF = "usr/share/games/fretsonfire/data/songs/"
LINCITY = "usr/share/games/lincity-ng/music/default/"


@dataclass(frozen=True)
class Track:
    """One calibration track: ``members`` are summed (stems of one song)."""

    id: str
    style: str
    package: str            # Debian package, or "shared" for the shared audio folder
    members: tuple[str, ...]
    note: str = ""


def _fof(folder: str) -> tuple[str, ...]:
    return (f"{FOF}{folder}/song.ogg", f"{FOF}{folder}/guitar.ogg")


TRACKS: tuple[Track, ...] = (
    # orchestral (Wesnoth's tags say "Romantic Classical")
    Track("wesnoth_knolls", "orchestral", "shared", ("songs/wesnoth_knolls.ogg",)),
    Track("wesnoth_the_king_is_dead", "orchestral", "shared", ("songs/wesnoth_the_king_is_dead.ogg",)),
    Track("wesnoth_heroes_rite", "orchestral", "wesnoth-1.16-music", (WESNOTH + "heroes_rite.ogg",)),
    Track("wesnoth_legends_of_the_north", "orchestral", "wesnoth-1.16-music", (WESNOTH + "legends_of_the_north.ogg",)),
    Track("wesnoth_northerners", "orchestral", "wesnoth-1.16-music", (WESNOTH + "northerners.ogg",)),
    Track("wesnoth_breaking_the_chains", "orchestral", "wesnoth-1.16-music", (WESNOTH + "breaking_the_chains.ogg",)),
    Track("widelands_hypatias_theme", "orchestral", "widelands-data", (WIDELANDS + "ingame_24.ogg",),
          "Stuart Marshall, GENRE=Soundtrack"),
    # rock / metal
    Track("fof_armygeddon", "rock", "fretsonfire-songs-muldjord", _fof("muldjord/armygeddon")),
    Track("fof_chaos_god", "rock", "fretsonfire-songs-muldjord", _fof("muldjord/chaos_god")),
    Track("fof_mutilated_mime", "rock", "fretsonfire-songs-muldjord", _fof("muldjord/mutilated_mime")),
    Track("fof_escape_from_chaosland", "rock", "fretsonfire-songs-sectoid", _fof("sectoid/Escape from chaosland")),
    Track("fof_war_of_freedom", "rock", "fretsonfire-songs-sectoid", _fof("sectoid/War of freedom")),
    Track("fof_feelings", "rock", "shared", ("stems/fof_feelings/song.ogg", "stems/fof_feelings/guitar.ogg")),
    Track("widelands_middlefinger_02", "rock", "widelands-data", (WIDELANDS + "ingame_16.ogg",),
          "MiddleFinger, GENRE=Thrash Metal"),
    # electronic
    Track("naev_machina", "electronic", "shared", ("songs/naev_machina.ogg",)),
    Track("stk_xeon6", "electronic", "shared", ("songs/supertuxkart_xeon6.ogg",)),
    Track("stk_white_valley", "electronic", "supertuxkart-data", (STK + "valley.ogg",), "DJ Helium, GENRE=Electronic"),
    Track("stk_sky_vibe", "electronic", "supertuxkart-data", (STK + "SkyVibe-HighFrequency.ogg",),
          "Speedsound, GENRE=Psychedelic"),
    Track("mucade_mcd1", "electronic", "mu-cade-data", ("usr/share/games/mu-cade/sounds/musics/mcd1.ogg",)),
    Track("lincity_pronobozo", "electronic", "lincity-ng-data", (LINCITY + "01 - pronobozo - lincity.ogg",)),
    Track("naev_terminal", "electronic", "naev-data", (NAEV + "terminal.ogg",), "Askyel, GENRE=Electronic"),
    # ambient
    Track("colobot_constructive", "ambient", "shared", ("songs/colobot_constructive.ogg",)),
    Track("naev_ambient1", "ambient", "naev-data", (NAEV + "ambient1.ogg",)),
    Track("naev_ambient3", "ambient", "naev-data", (NAEV + "ambient3.ogg",)),
    Track("naev_ocean", "ambient", "naev-data", (NAEV + "ocean.ogg",), "Ken Seguro"),
    Track("naev_ambient2_5", "ambient", "naev-data", (NAEV + "ambient2_5.ogg",), "Nikola Whallon"),
    Track("fdrpg_ambience", "ambient", "freedroidrpg-data", (FDRPG + "Ambience.ogg",)),
    # acoustic
    Track("wesnoth_traveling_minstrels", "acoustic", "wesnoth-1.16-music", (WESNOTH + "traveling_minstrels.ogg",),
          "a period-instrument ensemble"),
    Track("widelands_flat_lands", "acoustic", "widelands-data", (WIDELANDS + "ingame_28.ogg",),
          "Klaus Halfmann, genre=folk"),
    Track("widelands_recorder", "acoustic", "widelands-data", (WIDELANDS + "ingame_00.ogg",), "TITLE=Recorder 2"),
    Track("stk_celtic", "acoustic", "supertuxkart-data", (STK + "celtic.ogg",)),
    Track("lincity_city_blues", "acoustic", "lincity-ng-data", (LINCITY + "02 - Robert van Herk - City Blues.ogg",)),
    Track("lincity_architectural", "acoustic", "lincity-ng-data",
          (LINCITY + "03 - Robert van Herk - Architectural Contemplations.ogg",)),
    # pop
    Track("stk_penguin_party", "pop", "supertuxkart-data", (STK + "Penguin_Party.ogg",)),
    Track("stk_kart_grand_prix", "pop", "supertuxkart-data", (STK + "kart_grand_prix.ogg",)),
    Track("etr_credits_ballad", "pop", "extremetuxracer-data", ("usr/share/games/etr/music/credits1-cp.ogg",),
          "Kristian Picon, TITLE=Credits Ballad"),
    Track("xmoto_ride_a_long", "pop", "xmoto-data", ("usr/share/games/xmoto/Textures/Musics/ridealong.ogg",),
          "Jens Erler"),
    Track("stk_menutheme", "pop", "supertuxkart-data", (STK + "menutheme.ogg",)),
    # underscore (music under picture or play: tension, suspense)
    Track("drascula_track2", "underscore", "shared", ("songs/drascula_track2.ogg",)),
    Track("wesnoth_suspense", "underscore", "wesnoth-1.16-music", (WESNOTH + "suspense.ogg",)),
    Track("fdrpg_suspicion", "underscore", "freedroidrpg-data", (FDRPG + "Suspicion.ogg",)),
    Track("widelands_tension_1", "underscore", "widelands-data", (WIDELANDS + "ingame_19.ogg",),
          "TITLE=Widelands Tension 1"),
    Track("naev_intrigue", "underscore", "naev-data", (NAEV + "intrigue.ogg",)),
)


def make_split(tracks: tuple[Track, ...] = TRACKS, seed: int = SPLIT_SEED) -> dict[str, list[str]]:
    """Per style, a seeded third of the tracks (at least two) held out; the rest for development."""
    rng = random.Random(seed)
    held, dev = [], []
    for style in STYLES:
        ids = sorted(t.id for t in tracks if t.style == style)
        rng.shuffle(ids)
        count = max(2, round(len(ids) / 3))
        held += ids[:count]
        dev += ids[count:]
    return {"seed": seed, "held_out": sorted(held), "dev": sorted(dev)}  # type: ignore[dict-item]


def load_split() -> dict[str, list[str]]:
    """The committed split (``bench/critique_split.json``)."""
    return json.loads(SPLIT_FILE.read_text())


def _download(package: str, debs: Path) -> Path:
    found = sorted(debs.glob(f"{package}_*.deb"))
    if found:
        return found[-1]
    debs.mkdir(parents=True, exist_ok=True)
    subprocess.run(["apt-get", "download", package], cwd=debs, check=True, capture_output=True)
    found = sorted(debs.glob(f"{package}_*.deb"))
    if not found:
        raise SystemExit(f"apt-get download {package} gave no .deb")
    return found[-1]


def _extract(deb: Path, member: str, into: Path) -> Path:
    target = into / member
    if not target.is_file():
        into.mkdir(parents=True, exist_ok=True)
        tar = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
        subprocess.run(["tar", "-x", "-C", str(into), f"./{member}"], stdin=tar.stdout, check=True)
        tar.wait()
    return target


def _source_files(track: Track, debs: Path, extracted: Path) -> list[Path]:
    if track.package == "shared":
        return [SHARED / m for m in track.members]
    deb = _download(track.package, debs)
    return [_extract(deb, m, extracted / track.package) for m in track.members]


def build(out: Path = OUT, only: set[str] | None = None, *, verbose: bool = True) -> list[dict]:
    """Build (or reuse) every track's FLAC; returns the manifest entries (printed when ``verbose``
    or when a track had to be built)."""
    tracks_dir = out / "tracks"
    tracks_dir.mkdir(parents=True, exist_ok=True)
    manifest = []
    for track in TRACKS:
        if only and track.id not in only:
            continue
        path = tracks_dir / f"{track.id}.flac"
        gain = 1.0
        built = not path.is_file()
        if built:
            sources = _source_files(track, out / "debs", out / "extracted")
            parts = [load_audio(p) for p in sources]
            frames = min(p.samples.shape[1] for p in parts)
            total = sum(p.samples[:, :frames].astype(np.float64) for p in parts)
            peak = float(np.abs(total).max())
            gain = min(1.0, 0.99 / peak) if len(parts) > 1 else 1.0
            save_audio(Audio((total * gain).astype(np.float32), parts[0].sample_rate), path)
        audio = load_audio(path)
        manifest.append({"id": track.id, "style": track.style, "package": track.package,
                         "members": list(track.members), "note": track.note, "path": str(path),
                         "duration_s": round(audio.duration_s, 2), "sample_rate": audio.sample_rate,
                         "stem_gain": round(gain, 4)})
        if verbose or built:
            print(f"{track.id:32s} {track.style:11s} {audio.duration_s:6.1f} s", flush=True)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest


def load_manifest(out: Path = OUT) -> list[dict]:
    """The built manifest (run :func:`build` first)."""
    path = out / "manifest.json"
    if not path.is_file():
        raise SystemExit(f"{path} is missing: run python bench/critique_set.py first")
    return json.loads(path.read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--make-split", action="store_true", help="write bench/critique_split.json if it is missing")
    parser.add_argument("--only", nargs="*", help="build only these track ids")
    args = parser.parse_args(argv)
    if args.make_split:
        if SPLIT_FILE.exists():
            print(f"{SPLIT_FILE} exists; it is fixed and never rewritten", file=sys.stderr)
            return 1
        with tempfile.NamedTemporaryFile("w", dir=SPLIT_FILE.parent, delete=False, suffix=".tmp") as handle:
            json.dump(make_split(), handle, indent=1)
        os.replace(handle.name, SPLIT_FILE)
        print(f"wrote {SPLIT_FILE}")
        return 0
    build(only=set(args.only) if args.only else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
