"""Re-rendering MIDI parts with chosen instruments: General MIDI programs, SoundFont presets, SFZ.

Conventions
-----------
* A *part* is one MIDI track that holds notes, named by its ``track_name`` (lower-cased) or
  ``track<N>`` when it has none. Tracks without notes (tempo, time signature) are the
  *conductor* and go with every part.
* An :class:`Instrument` is a bank/program in a SoundFont (``.sf2``/``.sf3``), or an SFZ file.
  ``bank=128`` is the percussion bank: the part is moved to MIDI channel 10 (index 9).
* Each part is rendered on its own by FluidSynth
  (:func:`~trackwright.produce.fluidsynth.render_midi`) with its own SoundFont, in parallel,
  and every rendered part has the same length (channels × frames, stereo, the requested rate).
* SFZ instruments need ``sfizz_render`` (the sfizz project); Debian 12 does not package it, so
  without it an SFZ part raises :class:`~trackwright.errors.MissingDependencyError`.

Example
-------
>>> parts = render_parts("song.mid", {"chords": "strings", "lead": "gm:73"}, sample_rate=48000)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mido
import numpy as np

from trackwright.arrange.midi import load_midi
from trackwright.audio import Audio, load_audio
from trackwright.errors import MissingDependencyError, ParameterError, TrackwrightError, reject_unknown_fields
from trackwright.parallel import thread_map
from trackwright.produce.fluidsynth import render_midi
from trackwright.produce.soundfonts import check_soundfont, find_soundfont
from trackwright.progress import ProgressCallback, ignore_progress

#: General MIDI percussion bank in SoundFonts (FluidSynth plays it on channel 10).
DRUM_BANK = 128
DRUM_CHANNEL = 9

#: Debian's SoundFonts by short name, best file first.
SOUNDFONTS: dict[str, tuple[Path, ...]] = {
    "musescore": (Path("/usr/share/sounds/sf3/MuseScore_General.sf3"),     # musescore-general-soundfont
                  Path("/usr/share/sounds/sf3/MuseScore_General_Full.sf3"),
                  Path("/usr/share/sounds/sf2/MuseScore_General.sf2")),
    "fluidr3": (Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"),               # fluid-soundfont-gm
                Path("/usr/share/sounds/sf2/FluidR3_GS.sf2")),
}


@dataclass(frozen=True)
class Instrument:
    """One instrument to play a part with.

    Attributes:
        program: preset (General MIDI program) number, 0–127.
        bank: SoundFont bank, 0–128 (128 = percussion kits).
        soundfont: a path to an .sf2/.sf3, a short name from :data:`SOUNDFONTS`
            (``musescore``, ``fluidr3``), or None for the default General MIDI SoundFont.
        sfz: an SFZ file instead of a SoundFont preset (needs ``sfizz_render``).
        name: what the instrument is, in words (a preset name).
    """

    program: int = 0
    bank: int = 0
    soundfont: str | None = None
    sfz: str | None = None
    name: str = ""

    def __post_init__(self) -> None:
        for field_name, value, top in (("program", self.program, 127), ("bank", self.bank, DRUM_BANK)):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
                raise ParameterError(f"instrument {field_name} must be a whole number 0–{top}, got {value!r}")

    @property
    def drums(self) -> bool:
        """True for a percussion kit (bank 128)."""
        return self.bank == DRUM_BANK

    def soundfont_path(self) -> Path:
        """The SoundFont file to render with (a named Debian font falls back to the default one)."""
        if self.soundfont is None:
            return find_soundfont()
        if self.soundfont.lower() in SOUNDFONTS:
            for candidate in SOUNDFONTS[self.soundfont.lower()]:
                if candidate.is_file():
                    return check_soundfont(candidate)
            return find_soundfont()
        return find_soundfont(self.soundfont)

    def check(self) -> Instrument:
        """This instrument, after checking that it can play: its SoundFont exists and is one, or its
        SFZ file exists and ``sfizz_render`` is installed (ParameterError or MissingDependencyError,
        one line). Call it before committing a version that names the instrument."""
        if self.sfz is not None:
            if not Path(self.sfz).expanduser().is_file():
                raise ParameterError(f"SFZ instrument {self.sfz} does not exist")
            sfizz_binary()
        else:
            self.soundfont_path()
        return self

    def to_dict(self) -> dict[str, Any]:
        """Plain form, for recipes and JSON."""
        return {"name": self.name, "program": self.program, "bank": self.bank, "soundfont": self.soundfont,
                "sfz": self.sfz}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], field_name: str = "instrument") -> Instrument:
        """Parse :meth:`to_dict`'s form; errors name the field."""
        reject_unknown_fields(data, ("name", "program", "bank", "soundfont", "sfz"), field_name)
        try:
            return cls(program=data.get("program", 0), bank=data.get("bank", 0), soundfont=data.get("soundfont"),
                       sfz=data.get("sfz"), name=str(data.get("name", "")))
        except ParameterError as err:
            raise ParameterError(f"{field_name}: {err}") from err


#: Named presets: General MIDI programs in the default SoundFont (FluidR3, quick to load) and, as
#: ``ms-<name>``, in Debian's MuseScore General (richer; its .sf3 takes ~3 s to load per part;
#: FluidR3 when it is not installed).
_GM_PRESETS: dict[str, tuple[int, int]] = {
    "piano": (0, 0), "epiano": (4, 0), "organ": (19, 0), "guitar": (25, 0), "bass": (33, 0),
    "strings": (48, 0), "slow-strings": (49, 0), "choir": (52, 0), "horn": (60, 0), "brass": (61, 0),
    "flute": (73, 0), "lead": (80, 0), "pad": (89, 0), "drums": (0, DRUM_BANK),
    "room-drums": (8, DRUM_BANK), "orchestra-drums": (48, DRUM_BANK)}
PRESETS: dict[str, Instrument] = {
    f"{prefix}{name}": Instrument(program, bank, font, name=f"{prefix}{name}")
    for prefix, font in (("", None), ("ms-", "musescore")) for name, (program, bank) in _GM_PRESETS.items()}


def resolve_instrument(spec: str | Instrument | Mapping[str, Any]) -> Instrument:
    """An :class:`Instrument` from a preset name or a short text form.

    Forms: ``"strings"`` (a :data:`PRESETS` name), ``"gm:48"`` (General MIDI program in the
    default SoundFont), ``"drums:0"`` (percussion kit), ``"sf:PATH:BANK:PROGRAM"`` (a preset in
    your own SoundFont), ``"sfz:PATH"``, or a mapping like :meth:`Instrument.to_dict`.
    """
    if isinstance(spec, Instrument):
        return spec
    if isinstance(spec, Mapping):
        return Instrument.from_dict(spec)
    if not isinstance(spec, str) or not spec.strip():
        raise ParameterError(f"an instrument must be a preset name or a form like gm:48, got {spec!r}")
    text = spec.strip()
    kind, _, rest = text.partition(":")
    kind = kind.lower()
    try:
        if not rest and kind in PRESETS:
            return PRESETS[kind]
        if kind == "gm":
            return Instrument(int(rest), 0, None, name=text)
        if kind == "drums":
            return Instrument(int(rest or 0), DRUM_BANK, None, name=text)
        if kind == "sf":
            path, bank, program = rest.rsplit(":", 2)
            return Instrument(int(program), int(bank), path, name=text)
        if kind == "sfz":
            return Instrument(sfz=rest, name=text)
    except ValueError:
        pass
    raise ParameterError(f"unknown instrument {spec!r}: use a preset ({', '.join(PRESETS)}), gm:PROGRAM, "
                         "drums:KIT, sf:PATH:BANK:PROGRAM or sfz:PATH")


def _has_notes(track: mido.MidiTrack) -> bool:
    return any(msg.type == "note_on" and msg.velocity > 0 for msg in track)


def part_names(midi: str | os.PathLike[str] | mido.MidiFile) -> list[str]:
    """The part names of a MIDI file, in track order (see the module conventions)."""
    return list(split_parts(midi))


def split_parts(midi: str | os.PathLike[str] | mido.MidiFile) -> dict[str, mido.MidiFile]:
    """One type-1 MIDI file per part: the conductor tracks plus that part's track.

    A type-0 file (one track, several channels) is split by channel, parts named ``ch<N>``
    (1-based; ``drums`` for channel 10).
    """
    source = load_midi(midi)
    conductor = [track for track in source.tracks if not _has_notes(track)]
    parts: dict[str, mido.MidiFile] = {}
    tracks = [t for t in source.tracks if _has_notes(t)]
    if len(tracks) == 1 and len({m.channel for m in tracks[0] if hasattr(m, "channel")}) > 1:
        return _split_channels(source, tracks[0], conductor)
    for index, track in enumerate(source.tracks):
        if not _has_notes(track):
            continue
        name = next((m.name for m in track if m.type == "track_name" and m.name.strip()), f"track{index}")
        name = name.strip().lower()
        if name in parts:
            name = f"{name}{index}"
        out = mido.MidiFile(type=1, ticks_per_beat=source.ticks_per_beat)
        out.tracks.extend(mido.MidiTrack(t) for t in conductor)
        out.tracks.append(mido.MidiTrack(track))
        parts[name] = out
    return parts


def _split_channels(source: mido.MidiFile, track: mido.MidiTrack, conductor: list[mido.MidiTrack]
                    ) -> dict[str, mido.MidiFile]:
    absolute, tick = [], 0
    for msg in track:
        tick += msg.time
        absolute.append((tick, msg))
    channels = sorted({m.channel for _, m in absolute if hasattr(m, "channel")})
    meta = mido.MidiTrack()
    now = 0
    for t, msg in absolute:
        if msg.is_meta and msg.type != "end_of_track":
            meta.append(msg.copy(time=t - now))
            now = t
    parts = {}
    for channel in channels:
        if not any(m.type == "note_on" and m.velocity > 0 and m.channel == channel for _, m in absolute):
            continue
        out_track, now = mido.MidiTrack(), 0
        for t, msg in absolute:
            if hasattr(msg, "channel") and msg.channel == channel:
                out_track.append(msg.copy(time=t - now))
                now = t
        out = mido.MidiFile(type=1, ticks_per_beat=source.ticks_per_beat)
        out.tracks.extend([*(mido.MidiTrack(t) for t in conductor), meta, out_track])
        parts["drums" if channel == DRUM_CHANNEL else f"ch{channel + 1}"] = out
    return parts


def assign_instrument(part: mido.MidiFile, instrument: Instrument) -> mido.MidiFile:
    """A copy of a one-part MIDI file set to play ``instrument``.

    Program changes and bank selects (CC0/CC32) are replaced by the instrument's; a kit moves
    the part to channel 10, a melodic instrument moves a channel-10 part to channel 1.
    """
    out = mido.MidiFile(type=1, ticks_per_beat=part.ticks_per_beat)
    for track in part.tracks:
        if not _has_notes(track):
            out.tracks.append(mido.MidiTrack(track))
            continue
        channels = sorted({m.channel for m in track if hasattr(m, "channel")})
        if instrument.drums:
            target = DRUM_CHANNEL
        else:
            target = channels[0] if channels and channels[0] != DRUM_CHANNEL else 0
        new, carry = mido.MidiTrack(), 0
        if not instrument.drums:  # channel 10 selects kits by program alone
            new.append(mido.Message("control_change", control=0, value=instrument.bank, channel=target, time=0))
            new.append(mido.Message("control_change", control=32, value=0, channel=target, time=0))
        new.append(mido.Message("program_change", program=instrument.program, channel=target, time=0))
        for msg in track:
            if msg.type == "program_change" or (msg.type == "control_change" and msg.control in (0, 32)):
                carry += msg.time
                continue
            moved = msg.copy(time=msg.time + carry, channel=target) if hasattr(msg, "channel") else \
                msg.copy(time=msg.time + carry)
            carry = 0
            new.append(moved)
        out.tracks.append(new)
    return out


def sfizz_binary() -> str:
    """Path of ``sfizz_render``; :class:`MissingDependencyError` when it is absent."""
    found = shutil.which("sfizz_render")
    if found is None:
        raise MissingDependencyError(
            "SFZ instruments need sfizz_render (from sfizz, https://sfz.tools/sfizz), which Debian 12 "
            "does not package; install it yourself, or use a SoundFont preset (sf:PATH:BANK:PROGRAM)")
    return found


def _render_sfz(part: mido.MidiFile, sfz: str, sample_rate: int) -> Audio:
    if not Path(sfz).is_file():
        raise ParameterError(f"SFZ file {sfz} does not exist")
    binary = sfizz_binary()
    with tempfile.TemporaryDirectory(prefix="trackwright-sfizz-") as folder:
        midi_path, wav_path = Path(folder) / "part.mid", Path(folder) / "part.wav"
        part.save(str(midi_path))
        done = subprocess.run([binary, "--sfz", sfz, "--midi", str(midi_path), "--wav", str(wav_path),
                               "--samplerate", str(sample_rate)], capture_output=True, text=True, check=False)
        if done.returncode != 0 or not wav_path.is_file():
            lines = (done.stderr or done.stdout or f"exit status {done.returncode}").strip().splitlines()
            raise TrackwrightError(f"sfizz_render failed on {sfz}: {lines[-1]}")
        return load_audio(wav_path)


def render_part(part: mido.MidiFile, instrument: Instrument | None, *, sample_rate: int = 44100,
                tail_s: float = 2.0) -> Audio:
    """Render a one-part MIDI file with ``instrument`` (None: as written, default SoundFont).

    Returns stereo float32 (2 × frames) at ``sample_rate`` Hz.
    """
    if instrument is None:
        return render_midi(part, sample_rate=sample_rate, tail_s=tail_s)
    assigned = assign_instrument(part, instrument)
    if instrument.sfz is not None:
        return _render_sfz(assigned, instrument.sfz, sample_rate)
    return render_midi(assigned, sample_rate=sample_rate, soundfont=instrument.soundfont_path(), tail_s=tail_s)


def render_parts(midi: str | os.PathLike[str] | mido.MidiFile,
                 instruments: Mapping[str, str | Instrument | Mapping[str, Any]] | None = None, *,
                 sample_rate: int = 44100, tail_s: float = 2.0,
                 progress: ProgressCallback | None = None) -> dict[str, Audio]:
    """Render every part of ``midi``, each with its assigned instrument, to equal-length stems.

    Parameters
    ----------
    midi : path or mido.MidiFile
        The music; parts as in :func:`split_parts`.
    instruments : mapping, optional
        Part name → instrument (a preset name, a text form of :func:`resolve_instrument`, or an
        :class:`Instrument`). Parts not named play their own programs in the default SoundFont.
    sample_rate : int
        Hz (the project's rate).
    tail_s : float
        Release tail kept after the music ends, seconds.

    Returns
    -------
    dict
        Part name → stereo float32 :class:`Audio` (2 × frames), all the same length.

    Raises
    ------
    ParameterError
        An instrument names a part the MIDI does not have, or is malformed.
    MissingDependencyError
        FluidSynth, a SoundFont or (for SFZ) sfizz_render is missing.
    """
    report = progress or ignore_progress
    parts = split_parts(midi)
    if not parts:
        raise ParameterError("the MIDI holds no notes to render")
    chosen = {name: resolve_instrument(spec) for name, spec in (instruments or {}).items()}
    unknown = sorted(set(chosen) - set(parts))
    if unknown:
        raise ParameterError(f"no part named {unknown[0]!r} in the MIDI (parts: {', '.join(parts)})")
    names = list(parts)
    done = [0]

    def one(name: str) -> Audio:
        audio = render_part(parts[name], chosen.get(name), sample_rate=sample_rate, tail_s=tail_s)
        done[0] += 1
        report(done[0] / len(names), f"rendered {name}")
        return audio

    report(0.0, "rendering parts")
    rendered = dict(zip(names, thread_map(one, names)))
    frames = max(a.frames for a in rendered.values())
    return {name: audio.with_samples(np.pad(audio.samples, ((0, 0), (0, frames - audio.frames))))
            for name, audio in rendered.items()}
