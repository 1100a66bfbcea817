"""Reading stems: a folder of stem files checked against each other (or against a draft) and fitted.

Conventions
-----------
* A stem's part name is its file stem, lower-cased (``Bass.wav`` → ``bass``).
* Every stem must have the reference's (the draft's, or the longest stem's) sample rate and
  length within :data:`STEM_LENGTH_SLACK_S` (padded with silence or trimmed, with a warning); a
  mono stem under a multichannel reference is spread to every channel; anything else is refused
  with the reason.
* Roles are guessed by :mod:`trackwright.analysis.roles`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trackwright.analysis.roles import RoleGuess, guess_role, role_from_name
from trackwright.audio import READ_EXTENSIONS, Audio, audio_info, load_audio
from trackwright.errors import ParameterError

#: Largest length difference between a stem and the draft that is padded/trimmed, seconds.
STEM_LENGTH_SLACK_S = 0.05
#: Stem file types accepted in a stems folder.
STEM_EXTENSIONS = tuple(ext for ext in READ_EXTENSIONS if ext != ".mp3")


def find_stems(folder: Path) -> tuple[dict[str, Path], list[str]]:
    """Part name → file of every audio file in ``folder`` (not recursive), and warnings.

    A stem whose file name names no role (see :func:`trackwright.analysis.roles.role_from_name`)
    is mentioned: its role will be guessed from its sound.

    Raises ParameterError when the folder is missing, holds no audio, or two files would give
    the same part name.
    """
    folder = Path(folder)
    if not folder.exists():
        raise ParameterError(f"{folder}: no such stems folder")
    if not folder.is_dir():
        raise ParameterError(f"{folder}: --stems takes a folder of WAV/FLAC/OGG files, not a file")
    stems: dict[str, Path] = {}
    warnings: list[str] = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.is_dir():
            continue
        if path.suffix.lower() not in STEM_EXTENSIONS:
            warnings.append(f"{path}: not a WAV/FLAC/OGG/AIFF file; left out of the stems")
            continue
        name = path.stem.lower()
        if name in stems:
            raise ParameterError(f"{folder}: {stems[name].name} and {path.name} would both be the part {name!r}; "
                                 "rename one")
        stems[name] = path
    if not stems:
        raise ParameterError(f"{folder}: holds no stems (WAV, FLAC or OGG files)")
    warnings += [f"{path.name}: the name says nothing of its role (vocals, drums, bass…); guessed from its sound"
                 for path in stems.values() if role_from_name(path.name) is None]
    return stems, warnings


def check_stem(path: Path, name: str, draft_rate: int, draft_frames: int, draft_channels: int) -> list[str]:
    """Refuse a stem that cannot play under the draft; return warnings for one that needs fitting."""
    info = audio_info(path)
    if info.samplerate != draft_rate:
        raise ParameterError(f"{path}: stem {name!r} is at {info.samplerate} Hz but the draft is at {draft_rate} Hz; "
                             "export the stems at the draft's sample rate")
    if info.channels != draft_channels and info.channels != 1:
        raise ParameterError(f"{path}: stem {name!r} has {info.channels} channels but the draft has "
                             f"{draft_channels}; export the stems with the draft's channels (or mono)")
    return length_warnings(path, name, info.frames, draft_frames, draft_rate)


def length_warnings(path: Path | str, name: str, frames: int, draft_frames: int, rate: int) -> list[str]:
    """Warn about (or refuse) a stem ``frames`` long under a draft ``draft_frames`` long."""
    diff_s = (frames - draft_frames) / rate
    if abs(diff_s) > STEM_LENGTH_SLACK_S + 0.5 / rate:
        raise ParameterError(
            f"{path}: stem {name!r} is {frames / rate:.3f} s long but the draft is {draft_frames / rate:.3f} s "
            f"({abs(diff_s) * 1000:.0f} ms {'longer' if diff_s > 0 else 'shorter'}; at most "
            f"{STEM_LENGTH_SLACK_S * 1000:.0f} ms is padded or trimmed); export stems and draft from the same session"
        )
    if frames == draft_frames:
        return []
    verb = "trimmed" if diff_s > 0 else "padded with silence"
    return [f"stem {name!r} is {abs(diff_s) * 1000:.1f} ms {'longer' if diff_s > 0 else 'shorter'} than the draft; "
            f"{verb} to match"]


def fit_stem(stem: Audio, frames: int, channels: int) -> Audio:
    """``stem`` padded or trimmed to ``frames`` and spread from mono to ``channels``."""
    samples = stem.samples
    if samples.shape[1] > frames:
        samples = samples[:, :frames]
    elif samples.shape[1] < frames:
        samples = np.pad(samples, ((0, 0), (0, frames - samples.shape[1])))
    if samples.shape[0] == 1 and channels > 1:
        samples = np.repeat(samples, channels, axis=0)
    return Audio(np.ascontiguousarray(samples), stem.sample_rate)


@dataclass(frozen=True)
class StemSet:
    """A folder of stems, checked and fitted to one length.

    Attributes:
        stems: part name → ``Audio``, all at one rate, length and channel count.
        roles: part name → :class:`RoleGuess`.
        warnings: stems padded/trimmed, files left out.
    """

    stems: dict[str, Audio]
    roles: dict[str, RoleGuess]
    warnings: list[str]


def load_stems(folder: str | Path) -> StemSet:
    """Read a folder of stems (WAV/FLAC/OGG/AIFF), check them against each other and guess their roles.

    The longest stem sets the length and the most channels set the channel count; every stem
    must share its rate and lie within :data:`STEM_LENGTH_SLACK_S`
    of that length (padded or trimmed with a warning; refused otherwise, with the reason).
    """
    files, warnings = find_stems(Path(folder))
    infos = {name: audio_info(path) for name, path in files.items()}
    longest = max(files, key=lambda name: (infos[name].frames, name))
    rate, frames = infos[longest].samplerate, infos[longest].frames
    channels = max(info.channels for info in infos.values())
    stems = {}
    for name, path in files.items():
        warnings += check_stem(path, name, rate, frames, channels)
        stems[name] = fit_stem(load_audio(path), frames, channels)
    roles = {name: guess_role(files[name], stems[name]) for name in files}
    return StemSet(stems, roles, warnings)
