"""Finding a General MIDI SoundFont on this machine (no downloads: Debian packages ship them)."""

from __future__ import annotations

import os
from pathlib import Path

from trackwright.errors import MissingDependencyError, ParameterError

#: Environment variable naming a SoundFont (.sf2/.sf3) to use instead of the system ones.
SOUNDFONT_ENV = "TRACKWRIGHT_SOUNDFONT"

#: Where Debian packages put General MIDI SoundFonts, best first.
SYSTEM_SOUNDFONTS: tuple[Path, ...] = (
    Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"),          # fluid-soundfont-gm
    Path("/usr/share/sounds/sf2/default-GM.sf2"),           # the Debian alternatives link
    Path("/usr/share/sounds/sf3/default-GM.sf3"),
    Path("/usr/share/sounds/sf3/MuseScore_General.sf3"),   # musescore-general-soundfont
    Path("/usr/share/sounds/sf2/MuseScore_General.sf2"),
    Path("/usr/share/sounds/sf2/TimGM6mb.sf2"),             # timgm6mb-soundfont
)


def find_soundfont(path: str | os.PathLike[str] | None = None) -> Path:
    """The SoundFont to render with: ``path`` if given, else ``$TRACKWRIGHT_SOUNDFONT``, else a system one.

    Raises
    ------
    ParameterError
        ``path`` (or the environment variable) names a file that does not exist or is not a
        SoundFont.
    MissingDependencyError
        No SoundFont is installed.
    """
    chosen = path if path is not None else os.environ.get(SOUNDFONT_ENV) or None
    if chosen is not None:
        candidate = Path(chosen).expanduser()
        if not candidate.is_file():
            raise ParameterError(f"SoundFont {candidate} does not exist")
        return check_soundfont(candidate)
    for candidate in SYSTEM_SOUNDFONTS:
        if candidate.is_file():
            return check_soundfont(candidate)
    raise MissingDependencyError(
        "no General MIDI SoundFont found: install the Debian package fluid-soundfont-gm "
        f"(make sysdeps does) or set {SOUNDFONT_ENV} to an .sf2/.sf3 file")


def check_soundfont(path: Path) -> Path:
    """Return ``path`` if it starts like a SoundFont (a RIFF ``sfbk`` file, .sf2 or .sf3).

    FluidSynth itself only logs an unreadable SoundFont and then renders silence with exit
    status 0, so the file is checked here first. :class:`ParameterError` otherwise.
    """
    try:
        with path.open("rb") as f:
            head = f.read(12)
    except OSError as error:
        raise ParameterError(f"SoundFont {path} cannot be read ({error.strerror})") from None
    if head[:4] != b"RIFF" or head[8:12] != b"sfbk":
        raise ParameterError(f"{path} is not a SoundFont (.sf2/.sf3 files start with a RIFF sfbk header)")
    return path
