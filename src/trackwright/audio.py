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
"""

from __future__ import annotations

import os
import shutil
import struct
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from trackwright.errors import AudioFileError, InvalidAudioError, ParameterError

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
        with sf.SoundFile(str(path)) as f:
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
    old content or the complete new one.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise AudioFileError(f"{path}: folder {folder} does not exist")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part" + path.suffix, dir=folder)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        with tmp.open("rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


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
        sf.write(str(tmp), data.T, audio.sample_rate, subtype=subtype, format=container)
        if subtype == "FLOAT":
            _clear_peak_timestamp(tmp)

    write_atomic(out, write)
    return warnings


def export_audio(source: str | os.PathLike[str], output: str | os.PathLike[str], *, bit_depth: str = "24") -> list[str]:
    """Write the audio file ``source`` to ``output`` (WAV or FLAC by its extension, at ``bit_depth``), atomically.

    A 32-bit float WAV exported as a float WAV is copied byte for byte. Returns
    :func:`save_audio`'s warnings.
    """
    src, out = Path(source), Path(output)
    output_format(out, bit_depth)
    if out.suffix.lower() == ".wav" and bit_depth == "float" and sf.info(str(src)).subtype == "FLOAT":
        write_atomic(out, lambda tmp: shutil.copyfile(src, tmp))
        return []
    return save_audio(load_audio(src), out, bit_depth=bit_depth)
