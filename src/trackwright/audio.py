"""Audio in memory and on disk.

Conventions
-----------
* :class:`Audio` holds ``samples`` as ``float32`` shaped ``(channels, frames)`` and a
  ``sample_rate`` in Hz. Full scale is ±1.0.
* :func:`load_audio` reads WAV, AIFF, FLAC, OGG (Vorbis/Opus) and MP3 through libsndfile and
  validates what it reads: every problem becomes one :class:`~trackwright.errors.TrackwrightError`
  line naming the file.
* :func:`save_audio` writes WAV (16/24-bit PCM, 32-bit float) or FLAC (16/24-bit) atomically:
  a temporary file in the destination folder, flushed to disk, then renamed over the final name,
  so an interrupted write never leaves a half-written file under that name.
* File names reach libsndfile as bytes (:func:`os.fsencode`), so names that are not UTF-8
  work; a write that fails (a read-only folder, a full disk, a file-size limit, a name too
  long) is one :class:`~trackwright.errors.FileSystemError` line naming the file and the reason.
"""

from __future__ import annotations

import os
import resource
import shutil
import struct
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import soundfile as sf

from trackwright.errors import AudioFileError, FileSystemError, InvalidAudioError, ParameterError
from trackwright.files import file_system_error, fit_name, pid_alive, printable, renamed, reporting, temp_name

MIN_SAMPLE_RATE = 8_000
MAX_SAMPLE_RATE = 384_000
MAX_CHANNELS = 8
#: Refuse to load more than this many samples (channels × frames): 4 GiB as float32.
MAX_SAMPLES = 1 << 30

READ_EXTENSIONS = (".wav", ".wave", ".aif", ".aiff", ".aifc", ".flac", ".ogg", ".oga", ".opus", ".mp3")

#: (container, subtype) for each writable (extension, bit depth).
_WRITE_FORMATS: dict[tuple[str, str], tuple[str, str]] = {
    (".wav", "16"): ("WAV", "PCM_16"),
    (".wav", "24"): ("WAV", "PCM_24"),
    (".wav", "float"): ("WAV", "FLOAT"),
    (".flac", "16"): ("FLAC", "PCM_16"),
    (".flac", "24"): ("FLAC", "PCM_24"),
}
BIT_DEPTHS = ("16", "24", "float")


@dataclass(frozen=True)
class Audio:
    """Samples and their rate.

    Parameters
    ----------
    samples : np.ndarray, float32, shape (channels, frames)
        Full scale is ±1.0; values beyond it are kept (float headroom) until written as integers.
    sample_rate : int
        Hz.
    """

    samples: np.ndarray
    sample_rate: int

    def __post_init__(self) -> None:
        samples = np.asarray(self.samples)
        if samples.ndim == 1:
            samples = samples[np.newaxis, :]
        if samples.ndim != 2:
            raise ParameterError(f"audio samples must be shaped (channels, frames), got shape {samples.shape}")
        if samples.dtype != np.float32:
            samples = samples.astype(np.float32)
        object.__setattr__(self, "samples", samples)
        object.__setattr__(self, "sample_rate", int(self.sample_rate))

    @property
    def channels(self) -> int:
        """Number of channels."""
        return int(self.samples.shape[0])

    @property
    def frames(self) -> int:
        """Number of sample frames."""
        return int(self.samples.shape[1])

    @property
    def duration_s(self) -> float:
        """Duration in seconds."""
        return self.frames / self.sample_rate

    def with_samples(self, samples: np.ndarray) -> Audio:
        """A new :class:`Audio` at the same rate holding ``samples`` (channels × frames)."""
        return Audio(samples, self.sample_rate)


def validate_audio(audio: Audio, *, name: str = "audio") -> None:
    """Raise :class:`InvalidAudioError` when ``audio`` is unusable.

    Checks: at least one frame, 1–8 channels, a sample rate of 8–384 kHz, no NaN or Inf.
    ``name`` (a file name, say) starts the error line.
    """
    if audio.frames == 0:
        raise InvalidAudioError(f"{name}: holds no audio frames")
    if not 1 <= audio.channels <= MAX_CHANNELS:
        raise InvalidAudioError(
            f"{name}: has {audio.channels} channels; trackwright handles 1 to {MAX_CHANNELS}"
        )
    if not MIN_SAMPLE_RATE <= audio.sample_rate <= MAX_SAMPLE_RATE:
        raise InvalidAudioError(
            f"{name}: sample rate {audio.sample_rate} Hz is outside the supported "
            f"{MIN_SAMPLE_RATE // 1000}–{MAX_SAMPLE_RATE // 1000} kHz"
        )
    finite = np.isfinite(audio.samples)
    if not finite.all():
        bad = np.flatnonzero(~finite.all(axis=0))
        raise InvalidAudioError(
            f"{name}: contains {int((~finite).sum())} NaN/Inf samples "
            f"(first at {bad[0] / audio.sample_rate:.3f} s); repair or re-export the file"
        )


def _declared_pcm_frames(path: Path, head: bytes) -> tuple[int, int] | None:
    """(declared data bytes, bytes present) of a RIFF/WAVE or AIFF data chunk, else ``None``."""
    size = path.stat().st_size
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        endian, offset = "<", 12
    elif head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        endian, offset = ">", 12
    else:
        return None
    with path.open("rb") as f:
        while offset + 8 <= size:
            f.seek(offset)
            chunk = f.read(8)
            if len(chunk) < 8:
                return None
            chunk_id = chunk[:4]
            (chunk_size,) = struct.unpack(endian + "I", chunk[4:])
            if chunk_id in (b"data", b"SSND"):
                if chunk_size in (0, 0xFFFFFFFF):  # streaming writers leave it unset
                    return None
                return chunk_size, size - offset - 8
            offset += 8 + chunk_size + (chunk_size & 1)
    return None


def sound_name(path: str | os.PathLike[str]) -> bytes:
    """``path`` as libsndfile should get it: bytes, so that names that are not UTF-8 open too."""
    return os.fsencode(path)


def audio_info(path: str | os.PathLike[str]) -> sf._SoundFileInfo:
    """libsndfile's header information of ``path`` (rate, frames, channels, format, subtype).

    Raises
    ------
    AudioFileError
        One line naming the file when it is missing or not audio (a text file named ``.wav``).
    """
    try:
        return sf.info(sound_name(path))
    except (sf.LibsndfileError, RuntimeError, sf.SoundFileError) as err:
        detail = str(err).split(":")[-1].strip() or "unknown format"
        raise AudioFileError(f"{printable(path)}: not a readable audio file ({detail})") from err


def _check_file(path: Path) -> None:
    if not path.exists():
        raise AudioFileError(f"{path}: no such file")
    if path.is_dir():
        raise AudioFileError(f"{path}: is a folder, not an audio file")
    if path.stat().st_size == 0:
        raise AudioFileError(f"{path}: file is empty (0 bytes)")
    try:
        with path.open("rb") as f:
            head = f.read(12)
    except OSError as err:
        raise AudioFileError(f"{path}: cannot be read ({err.strerror})") from err
    declared = _declared_pcm_frames(path, head)
    if declared is not None:
        want, have = declared
        if have < want:
            raise AudioFileError(
                f"{path}: file is truncated: its header declares {want} bytes of audio, "
                f"only {max(have, 0)} are present"
            )


_READ_BLOCK = 1 << 18


def _read_channels_first(f: sf.SoundFile, channels: int, frames: int) -> np.ndarray:
    """Read the whole file as float32 (channels, frames), block by block, so no interleaved copy
    of the track is held next to the result. ``frames`` may be an estimate (compressed formats)."""
    out = np.empty((channels, max(frames, 0)), dtype=np.float32)
    extra: list[np.ndarray] = []
    position = 0
    while True:
        block = f.read(_READ_BLOCK, dtype="float32", always_2d=True)
        if not len(block):
            break
        room = min(len(block), out.shape[1] - position)
        if room > 0:
            out[:, position: position + room] = block[:room].T
            position += room
        if room < len(block):
            extra.append(np.ascontiguousarray(block[room:].T))
    if extra:
        return np.concatenate([out[:, :position], *extra], axis=1)
    return out if position == out.shape[1] else np.ascontiguousarray(out[:, :position])


def load_audio(path: str | os.PathLike[str], *, validate: bool = True) -> Audio:
    """Read an audio file.

    Parameters
    ----------
    path : path-like
        A WAV, AIFF, FLAC, OGG (Vorbis or Opus) or MP3 file.
    validate : bool
        Run :func:`validate_audio` on the result (default).

    Returns
    -------
    Audio
        float32 samples shaped (channels, frames) at the file's sample rate.

    Raises
    ------
    AudioFileError
        Missing, empty, truncated, corrupt or not-audio files; files too large to load.
    InvalidAudioError
        NaN/Inf samples, more than 8 channels, a sample rate outside 8–384 kHz.
    """
    path = Path(path)
    _check_file(path)
    try:
        with sf.SoundFile(sound_name(path)) as f:
            channels, rate, frames = f.channels, f.samplerate, f.frames
            if channels > MAX_CHANNELS:
                raise InvalidAudioError(
                    f"{path}: has {channels} channels; trackwright handles 1 to {MAX_CHANNELS}"
                )
            if frames > 0 and frames * channels > MAX_SAMPLES:
                raise AudioFileError(
                    f"{path}: too large to load ({frames * channels:,} samples, "
                    f"limit {MAX_SAMPLES:,}); split it into parts first"
                )
            samples = _read_channels_first(f, channels, frames)
    except (sf.LibsndfileError, RuntimeError, sf.SoundFileError) as err:
        detail = str(err).split(":")[-1].strip() or "unknown format"
        raise AudioFileError(f"{path}: not a readable audio file ({detail})") from err
    audio = Audio(samples, rate)
    if audio.frames == 0:
        raise AudioFileError(f"{path}: holds no audio frames")
    if validate:
        validate_audio(audio, name=str(path))
    return audio


def stream_audio(path: str | os.PathLike[str], *, block_frames: int = _READ_BLOCK) -> Iterator[Audio]:
    """Read an audio file as consecutive blocks of ``block_frames`` frames (the last shorter).

    The file is never held whole, so its length is not limited by memory; the blocks are
    float32 (channels, frames) at the file's rate and are checked as :func:`load_audio` checks
    a file (the errors are the same, raised when the bad block is reached).

    Raises
    ------
    AudioFileError, InvalidAudioError
        As :func:`load_audio`.
    """
    path = Path(path)
    _check_file(path)
    position = 0
    try:
        with sf.SoundFile(sound_name(path)) as f:
            channels, rate = f.channels, f.samplerate
            validate_audio(Audio(np.zeros((channels, 1), dtype=np.float32), rate), name=str(path))
            while True:
                block = f.read(block_frames, dtype="float32", always_2d=True)
                if not len(block):
                    break
                audio = Audio(np.ascontiguousarray(block.T), rate)
                finite = np.isfinite(audio.samples).all(axis=0)
                if not finite.all():
                    first = (position + int(np.flatnonzero(~finite)[0])) / rate
                    raise InvalidAudioError(f"{path}: contains NaN/Inf samples (first at {first:.3f} s); "
                                            "repair or re-export the file")
                position += audio.frames
                yield audio
    except (sf.LibsndfileError, RuntimeError, sf.SoundFileError) as err:
        detail = str(err).split(":")[-1].strip() or "unknown format"
        raise AudioFileError(f"{path}: not a readable audio file ({detail})") from err
    if position == 0:
        raise AudioFileError(f"{path}: holds no audio frames")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_output_path(output: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str]] = ()) -> Path:
    """Refuse an output path that would overwrite one of ``inputs``; return it as a Path."""
    out = Path(output)
    for src in inputs:
        src_path = Path(src)
        if out.resolve() == src_path.resolve() or _same_file(out, src_path):
            raise ParameterError(f"{out}: output path is the same as the input; choose another name")
    return out


def write_atomic(path: str | os.PathLike[str], write) -> Path:  # noqa: ANN001 - any callable(Path)
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, then rename it to ``path``.

    The temporary file is removed when ``write`` fails, so the final name holds either the
    old content or the complete new one. Its name (``.NAME.RANDOM.part.EXT``) never exceeds
    255 bytes, however long ``NAME`` is.

    Raises
    ------
    FileSystemError
        The folder is missing or read-only, the disk is full, a file-size limit is reached, the
        name is too long: one line naming ``path`` and the reason.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise AudioFileError(f"{printable(path)}: folder {printable(folder)} does not exist")
    if len(os.fsencode(path.name)) > 255:
        raise FileSystemError(f"{printable(path)}: cannot write: name too long (at most 255 bytes per name, "
                              f"this one has {len(os.fsencode(path.name))})")
    tmp = None
    try:
        for _ in range(100):
            candidate = folder / temp_name(path)
            try:
                # 0o666 less the umask (0644 under umask 022): the mode open() gives any new file
                os.close(os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            except FileExistsError:
                continue
            tmp = candidate
            break
        else:
            raise FileExistsError(17, "no free temporary name", str(folder))
        write(tmp)
        with tmp.open("rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        if isinstance(err, OSError) and (err.filename is None or tmp is None or str(err.filename) == str(tmp)
                                         or str(err.filename) == str(folder)):
            raise file_system_error(err, path, action="write") from err
        raise
    return path


_Made = TypeVar("_Made")


def write_folder_atomic(folder: str | os.PathLike[str], write: Callable[[Path], _Made], *, what: str = "output",
                        tag: str = "writing") -> _Made:
    """Call ``write(staging)`` on a hidden folder beside ``folder``, then rename it to ``folder``.

    ``folder`` must not exist, or be an empty folder (a :class:`ParameterError` naming ``what``
    otherwise); its parent must exist. The staging folder is ``.<name>.<tag>-<pid>``; on any
    error it is removed, so ``folder`` ends up complete or untouched. Returns what ``write``
    returned (paths in it still name the staging folder).
    """
    out = Path(folder)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ParameterError(f"{printable(out)}: already exists and is not empty; choose a new folder for the {what}")
    if not out.parent.is_dir():
        raise ParameterError(f"{printable(out)}: folder {printable(out.parent)} does not exist")
    clean_stale_staging(out.parent, tag)
    staging = out.parent / f".{fit_name(out.name, reserve=len(tag) + 12)}.{tag}-{os.getpid()}"
    with reporting(out, f"create the {what} folder"):
        if staging.exists():
            shutil.rmtree(staging)
        staging.mkdir()
    try:
        made = write(staging)
        if out.exists():
            out.rmdir()  # an empty folder the caller made
        os.rename(staging, out)
    except BaseException as err:
        shutil.rmtree(staging, ignore_errors=True)
        shown = renamed(err, staging, out)  # a full disk names the output folder, not its staging folder
        if shown is err:
            raise
        raise shown from err
    return made


def clean_stale_staging(folder: Path, tag: str) -> list[Path]:
    """Remove the ``.NAME.TAG-<pid>`` staging folders that killed commands left in ``folder``
    (their process is gone); return what was removed."""
    removed = []
    for entry in folder.glob(f".*.{tag}-*"):
        pid = entry.name.rsplit("-", 1)[-1]
        if pid.isdigit() and entry.is_dir() and not entry.is_symlink() and not pid_alive(int(pid)):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def available_memory_bytes() -> int | None:
    """Memory the kernel says is available now (``MemAvailable`` in ``/proc/meminfo``), bytes; None elsewhere."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def check_memory(needed_bytes: float, what: str) -> None:
    """Refuse, before the work starts, what would need more memory than is available.

    Parameters
    ----------
    needed_bytes : float
        An estimate of the working memory, bytes.
    what : str
        What needs it, for the message (e.g. ``"a 600 s cue"``).
    """
    available = available_memory_bytes()
    if available is not None and needed_bytes > available:
        raise ParameterError(f"{what} needs about {needed_bytes / 2**30:.1f} GiB of memory and "
                             f"{available / 2**30:.1f} GiB is available; ask for less")


def _tpdf_dither(samples: np.ndarray, bits: int, seed: int = 0) -> np.ndarray:
    """Add triangular (TPDF) dither of ±1 LSB at ``bits`` bits; deterministic for a seed."""
    lsb = 2.0 ** (1 - bits)
    rng = np.random.default_rng(seed)
    noise = (rng.random(samples.shape, dtype=np.float32) - rng.random(samples.shape, dtype=np.float32)) * lsb
    return samples + noise


def _clear_peak_timestamp(path: Path) -> None:
    """Zero the timestamp libsndfile stamps into a float WAV's PEAK chunk, so that the same
    samples always give the same bytes (renders are compared and cached by content hash)."""
    with path.open("r+b") as f:
        head = f.read(12)
        if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return
        offset, size = 12, path.stat().st_size
        while offset + 8 <= size:
            f.seek(offset)
            chunk = f.read(8)
            (chunk_size,) = struct.unpack("<I", chunk[4:])
            if chunk[:4] == b"PEAK":
                if chunk_size >= 8:
                    f.seek(offset + 12)  # after the id, size and the 4-byte version
                    f.write(b"\0\0\0\0")
                return
            if chunk[:4] == b"data":
                return
            offset += 8 + chunk_size + (chunk_size & 1)


def output_format(path: str | os.PathLike[str], bit_depth: str = "24") -> tuple[str, str]:
    """(container, subtype) that :func:`save_audio` writes ``path`` with; a one-line error when
    the extension and bit depth cannot be written (check this before long work)."""
    out = Path(path)
    key = (out.suffix.lower(), str(bit_depth))
    if key not in _WRITE_FORMATS:
        raise ParameterError(
            f"{out}: cannot write {bit_depth}-bit {out.suffix or '(no extension)'}; "
            "use .wav (16, 24, float) or .flac (16, 24)"
        )
    return _WRITE_FORMATS[key]


def save_audio(
    audio: Audio,
    path: str | os.PathLike[str],
    *,
    bit_depth: str = "24",
    dither: bool = True,
    inputs: Iterable[str | os.PathLike[str]] = (),
    tags: Mapping[str, str] | None = None,
) -> list[str]:
    """Write ``audio`` to a WAV or FLAC file, atomically.

    Parameters
    ----------
    audio : Audio
        Samples (channels × frames); validated first.
    path : path-like
        Destination; its extension (``.wav`` or ``.flac``) picks the container.
    bit_depth : {"16", "24", "float"}
        Integer PCM or 32-bit float (WAV only).
    dither : bool
        TPDF-dither 16-bit output (default); 24-bit and float are written as they are.
    inputs : paths
        Source files of this output; writing over one of them is refused.
    tags : mapping, optional
        Text fields libsndfile writes (``title``, ``artist``, ``copyright``, ``comment``,
        ``album``…): FLAC's Vorbis comments, a WAV's ``LIST``/``INFO``.

    Returns
    -------
    list of str
        Warnings, e.g. how many samples were clipped to full scale for integer output.
    """
    out = check_output_path(path, inputs)
    container, subtype = output_format(out, bit_depth)
    validate_audio(audio, name=str(out))
    warnings: list[str] = []
    data = audio.samples
    if subtype.startswith("PCM"):
        bits = int(subtype[-2:])
        if dither and bits == 16:
            data = _tpdf_dither(data, bits)
        limit = 1.0 - 2.0 ** (1 - bits)
        over = int(np.count_nonzero(np.abs(data) > limit))
        if over:
            warnings.append(
                f"{out}: {over} samples beyond full scale were clipped for {bits}-bit output"
            )
            data = np.clip(data, -limit, limit)

    def write(tmp: Path) -> None:
        try:
            if tags:
                write_tagged(tmp, data, audio.sample_rate, container, subtype, tags)
            else:
                sf.write(sound_name(tmp), data.T, audio.sample_rate, subtype=subtype, format=container)
        except (sf.LibsndfileError, RuntimeError, sf.SoundFileError) as err:
            raise FileSystemError(f"{printable(out)}: cannot write: {_why_unwritten(tmp, data.nbytes)} "
                                  f"(libsndfile: {str(err).strip()})") from err
        if subtype == "FLOAT":
            _clear_peak_timestamp(tmp)

    write_atomic(out, write)
    return warnings


def write_tagged(path: Path, samples: np.ndarray, sample_rate: int, container: str, subtype: str,
                 tags: Mapping[str, str], **options: float) -> None:
    """Write ``samples`` (channels × frames) with libsndfile and its text ``tags`` (``title``,
    ``artist``…; unknown names raise ParameterError). ``options`` go to the file (``compression_level``)."""
    with sf.SoundFile(sound_name(path), "w", sample_rate, samples.shape[0], subtype=subtype, format=container,
                      **options) as file:
        for key, value in tags.items():
            if key not in sf._str_types:  # libsndfile's own list of text fields
                raise ParameterError(f"{key}: not a text field an audio file holds")
            if value:
                setattr(file, key, value)
        file.write(samples.T)


def _why_unwritten(path: Path, size: int) -> str:
    """libsndfile says only "System error": the likely reason a write of about ``size`` bytes failed."""
    try:
        limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
        if limit != resource.RLIM_INFINITY and limit < size + 65536:
            return f"file too large for the file-size limit ({limit} bytes, `ulimit -f`)"
        room = os.statvfs(path.parent)
        if room.f_bavail * room.f_frsize < size + 65536:
            return "no space left on the disk"
    except OSError:
        pass
    return "the file could not be written (a full disk, a file-size limit or an I/O error)"


def export_audio(source: str | os.PathLike[str], output: str | os.PathLike[str], *, bit_depth: str = "24") -> list[str]:
    """Write the audio file ``source`` to ``output`` (WAV or FLAC by its extension, at ``bit_depth``), atomically.

    A 32-bit float WAV exported as a float WAV is copied byte for byte. Returns
    :func:`save_audio`'s warnings.
    """
    src, out = Path(source), Path(output)
    output_format(out, bit_depth)
    if out.suffix.lower() == ".wav" and bit_depth == "float" and audio_info(src).subtype == "FLOAT":
        write_atomic(out, lambda tmp: shutil.copyfile(src, tmp))
        return []
    return save_audio(load_audio(src), out, bit_depth=bit_depth)
