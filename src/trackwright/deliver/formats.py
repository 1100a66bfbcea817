"""Delivery formats as spec sheets state them: sample rate, bit depth, container, lossy previews, file names.

Conventions
-----------
* A :class:`FormatSpec` is one deliverable's format: container (``wav``, ``flac``, ``mp3``,
  ``ogg`` = Ogg Vorbis, ``opus`` = Ogg Opus), sample rate (Hz; ``None`` keeps the source's) and
  bit depth (``"16"``, ``"24"``, ``"float"``; lossless containers only). :func:`parse_format`
  reads the short form a flag takes (``wav:48k:24``, ``flac/96k/24``, ``mp3``) and
  :func:`format_from_mapping` the ``delivery:`` block of a recipe or brief.
* Sample-rate conversion is libsoxr's very-high-quality linear-phase resampler (passband to
  ~0.91 × Nyquist, > 140 dB rejection); it keeps the loudness to a few thousandths of an LU.
  Inter-sample peaks can move when the rate changes, so with ``ceiling_dbtp`` the converted
  audio is measured (true peak, BS.1770) and, if over the ceiling, lowered by the excess plus
  :data:`TRIM_MARGIN_DB`: the trim is reported and is never more than a few hundredths of a dB
  for a master that met the ceiling at its own rate.
* 16-bit output is TPDF-dithered (±1 LSB, :func:`~trackwright.audio.save_audio`); 24-bit and
  32-bit float are written without dither.
* Lossy previews go through libsndfile (MP3 needs libsndfile ≥ 1.1 with LAME/mpg123; Ogg
  Vorbis and Opus need its Ogg support): :func:`lossy_support` says what this machine can
  write, and an unwritable one is a :class:`~trackwright.errors.MissingDependencyError` with
  the reason. Opus runs at 48 kHz only, so other rates are converted to 48 kHz first.
* File names come from a template (default :data:`DEFAULT_TEMPLATE`); :func:`check_template`
  rejects unknown fields before any work, :func:`render_name` fills and cleans one name.
"""

from __future__ import annotations

import math
import os
import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import soxr

from trackwright.analysis.loudness import true_peak_dbtp
from trackwright.audio import (BIT_DEPTHS, Audio, check_output_path, load_audio, save_audio, validate_audio,
                               write_atomic, write_tagged)
from trackwright.errors import MissingDependencyError, ParameterError, reject_unknown_fields

SAMPLE_RATES = (44100, 48000, 88200, 96000, 176400, 192000)
LOSSLESS = ("wav", "flac")
#: Lossy containers → (libsndfile format, subtype).
LOSSY = {"mp3": ("MP3", "MPEG_LAYER_III"), "ogg": ("OGG", "VORBIS"), "opus": ("OGG", "OPUS")}
CONTAINERS = LOSSLESS + tuple(LOSSY)
OPUS_RATE = 48000
MP3_MAX_RATE = 48000
#: Extra gain reduction when a converted file is trimmed back under its ceiling, dB.
TRIM_MARGIN_DB = 0.02
#: How far under the ceiling 16-bit output is held before its dither, dB (2 LSB at −1 dBFS is 0.0007 dB).
DITHER_MARGIN_DB = 0.005
#: Extra gain reduction when a lossy file decodes over its ceiling and is encoded again, dB.
LOSSY_MARGIN_DB = 0.1
DEFAULT_TEMPLATE = "{title}_{kind}_{length}s_{target}"
#: Fields a naming template may use.
NAME_FIELDS = ("title", "kind", "length", "target", "version", "rate", "bits", "format")
_RATE_WORDS = {"44.1k": 44100, "44k": 44100, "48k": 48000, "88.2k": 88200, "96k": 96000, "176.4k": 176400,
               "192k": 192000}
_DEPTH_WORDS = {"16": "16", "24": "24", "32": "float", "32f": "float", "float": "float", "f32": "float"}
_FORMAT_FIELDS = ("container", "sample_rate", "bit_depth", "quality")


@dataclass(frozen=True)
class FormatSpec:
    """One deliverable's format.

    Parameters
    ----------
    container : str
        ``wav``, ``flac``, ``mp3``, ``ogg`` (Vorbis) or ``opus``.
    sample_rate : int or None
        Hz, one of :data:`SAMPLE_RATES`; None keeps the source's rate.
    bit_depth : str
        ``"16"`` (TPDF-dithered), ``"24"`` or ``"float"`` (WAV only); ignored for lossy containers.
    quality : float
        Lossy quality 0–1 (libsndfile's compression level inverted: 1 = best); default 0.8.
    """

    container: str = "wav"
    sample_rate: int | None = None
    bit_depth: str = "24"
    quality: float = 0.8

    def __post_init__(self) -> None:
        if self.container not in CONTAINERS:
            raise ParameterError(f"format: unknown container {self.container!r} (use {', '.join(CONTAINERS)})")
        if self.sample_rate is not None and self.sample_rate not in SAMPLE_RATES:
            raise ParameterError(f"format: sample rate {self.sample_rate} Hz is not a delivery rate "
                                 f"(use {', '.join(f'{r / 1000:g}k' for r in SAMPLE_RATES)})")
        if self.bit_depth not in BIT_DEPTHS:
            raise ParameterError(f"format: bit depth {self.bit_depth!r} is not one of 16, 24, float")
        if self.container == "flac" and self.bit_depth == "float":
            raise ParameterError("format: FLAC holds integers only; use 16 or 24 bits, or WAV for 32-bit float")
        if not 0.0 <= self.quality <= 1.0:
            raise ParameterError(f"format: lossy quality {self.quality:g} is outside 0–1")

    @property
    def lossy(self) -> bool:
        """True for MP3, Ogg Vorbis and Opus."""
        return self.container in LOSSY

    @property
    def extension(self) -> str:
        """The file extension, with its dot."""
        return ".ogg" if self.container == "ogg" else f".{self.container}"

    def label(self, source_rate: int | None = None) -> str:
        """``"wav 48 kHz 24-bit"``, ``"mp3 44.1 kHz"`` (the rate the file will have)."""
        rate = self.target_rate(source_rate) if source_rate else self.sample_rate
        words = [self.container] + ([f"{rate / 1000:g} kHz"] if rate else [])
        if not self.lossy:
            words.append("32-bit float" if self.bit_depth == "float" else f"{self.bit_depth}-bit")
        return " ".join(words)

    def target_rate(self, source_rate: int) -> int:
        """The rate the file is written at for a source at ``source_rate`` Hz (Opus: 48 kHz; MP3:
        at most 48 kHz, so 88.2/176.4 kHz become 44.1 kHz and 96/192 kHz 48 kHz)."""
        if self.container == "opus":
            return OPUS_RATE
        rate = self.sample_rate or source_rate
        if self.container == "mp3" and rate > MP3_MAX_RATE:
            return 44100 if rate % 44100 == 0 else MP3_MAX_RATE
        return rate


def parse_format(text: str) -> FormatSpec:
    """A :class:`FormatSpec` from its short form: container, rate and depth in any order.

    Separators may be ``:``, ``/``, ``,``, ``-`` or spaces; rates are ``44.1k``/``48k``/``96k`` or
    Hz; depths ``16``, ``24``, ``32f``/``float``. Missing parts keep their defaults (WAV, the
    source's rate, 24-bit).

    >>> parse_format("flac:48k:16")
    FormatSpec(container='flac', sample_rate=48000, bit_depth='16', quality=0.8)
    """
    container, rate, depth = "wav", None, "24"
    words = [w for w in re.split(r"[:/,\s-]+", text.strip().lower()) if w]
    if not words:
        raise ParameterError("--format is empty (e.g. wav:48k:24, flac:96k:24, mp3)")
    for word in words:
        if word in CONTAINERS or word == "vorbis":
            container = "ogg" if word == "vorbis" else word
        elif word in _RATE_WORDS:
            rate = _RATE_WORDS[word]
        elif word.isdigit() and int(word) >= 8000:
            rate = int(word)
        elif word.removesuffix("bit") in _DEPTH_WORDS:
            depth = _DEPTH_WORDS[word.removesuffix("bit")]
        else:
            raise ParameterError(f"--format {text!r}: cannot read {word!r} (a container {', '.join(CONTAINERS)}, "
                                 "a rate such as 48k, or a depth 16, 24 or 32f)")
    return FormatSpec(container, rate, depth)


def format_from_mapping(data: Mapping[str, Any], *, where: str = "delivery.format") -> FormatSpec:
    """A :class:`FormatSpec` from a recipe's or brief's ``delivery:`` mapping (keys as :class:`FormatSpec`)."""
    reject_unknown_fields(data, _FORMAT_FIELDS, where)
    rate = data.get("sample_rate")
    if isinstance(rate, str):
        rate = _RATE_WORDS.get(rate.lower(), int(rate) if rate.isdigit() else rate)
    depth = str(data.get("bit_depth", "24")).lower()
    return FormatSpec(str(data.get("container", "wav")).lower(), rate if rate is None else int(rate),
                      _DEPTH_WORDS.get(depth, depth), float(data.get("quality", 0.8)))


def lossy_support() -> dict[str, str | None]:
    """Each lossy container → None when this libsndfile writes it, else the reason it cannot."""
    formats = sf.available_formats()
    out: dict[str, str | None] = {}
    for name, (container, subtype) in LOSSY.items():
        if container not in formats:
            out[name] = f"libsndfile {sf.__libsndfile_version__} was built without {container} support"
        elif subtype not in sf.available_subtypes(container):
            out[name] = f"libsndfile {sf.__libsndfile_version__} cannot encode {subtype}"
        else:
            out[name] = None
    return out


def resample(audio: Audio, sample_rate: int) -> Audio:
    """``audio`` at ``sample_rate`` Hz (libsoxr, very high quality); the same object when the rate matches."""
    if sample_rate == audio.sample_rate:
        return audio
    if not 8000 <= sample_rate <= 384000:
        raise ParameterError(f"cannot resample to {sample_rate} Hz (8–384 kHz)")
    out = soxr.resample(audio.samples.T.astype(np.float64), audio.sample_rate, sample_rate, quality="VHQ")
    return Audio(np.ascontiguousarray(out.T, dtype=np.float32), sample_rate)


@dataclass(frozen=True)
class Converted:
    """Audio converted for a format, and what the conversion did."""

    audio: Audio
    trim_db: float = 0.0
    true_peak_dbtp: float | None = None
    warnings: tuple[str, ...] = ()


def convert(audio: Audio, spec: FormatSpec, *, ceiling_dbtp: float | None = None) -> Converted:
    """``audio`` resampled for ``spec`` and, with ``ceiling_dbtp``, held under that true-peak ceiling.

    Parameters
    ----------
    audio : Audio
        The master (channels × frames).
    spec : FormatSpec
    ceiling_dbtp : float, optional
        True-peak ceiling, dBTP; measured after the conversion, and the audio lowered by the excess
        (plus :data:`TRIM_MARGIN_DB`) when it is over.
    """
    validate_audio(audio)
    out = resample(audio, spec.target_rate(audio.sample_rate))
    warnings: list[str] = []
    if spec.container == "opus" and audio.sample_rate != OPUS_RATE:
        warnings.append(f"Opus runs at 48 kHz: converted from {audio.sample_rate / 1000:g} kHz")
    if ceiling_dbtp is None:
        return Converted(out, 0.0, None, tuple(warnings))
    peak = true_peak_dbtp(out)
    trim = 0.0
    if peak > ceiling_dbtp:
        trim = peak - ceiling_dbtp + TRIM_MARGIN_DB
        out = out.with_samples(out.samples * np.float32(10 ** (-trim / 20)))
        warnings.append(f"true peak {peak:.2f} dBTP after conversion to {out.sample_rate / 1000:g} kHz: "
                        f"lowered {trim:.2f} dB to stay under {ceiling_dbtp:g} dBTP")
        peak -= trim
    return Converted(out, trim, peak, tuple(warnings))


@dataclass(frozen=True)
class Written:
    """A file written to a format: where, at what rate and length, and what the conversion did.

    ``audio`` is what the file holds when that is known without reading it back — a float or
    24-bit lossless file within full scale (equal to what was written to within one 24-bit
    step), or a lossy file as its decoder returned it — else ``None``; ``true_peak_dbtp`` is that
    audio's true peak when it was measured on the way (else ``None``). Both let a caller
    measure each file once.
    """

    path: Path
    spec: FormatSpec
    sample_rate: int
    frames: int
    trim_db: float = 0.0
    warnings: tuple[str, ...] = field(default_factory=tuple)
    audio: Audio | None = None
    true_peak_dbtp: float | None = None


def write_format(audio: Audio, path: str | os.PathLike[str], spec: FormatSpec, *,
                 ceiling_dbtp: float | None = None, inputs: Iterable[str | os.PathLike[str]] = (),
                 tags: Mapping[str, str] | None = None) -> Written:
    """Write ``audio`` to ``path`` in ``spec``'s format, atomically.

    The extension of ``path`` must match the container (``.wav``, ``.flac``, ``.mp3``, ``.ogg``
    for Vorbis, ``.opus``). 16-bit output is TPDF-dithered; 24-bit and float are not. With
    ``ceiling_dbtp``, 16-bit output is held :data:`DITHER_MARGIN_DB` under it (the dither adds up
    to 2 LSB to a peak), and a lossy file is decoded and measured: when the codec's overshoot puts
    its true peak over the ceiling it is encoded once more, lowered by the excess plus
    :data:`LOSSY_MARGIN_DB` (the trim is in the result and its warnings). ``tags`` are text
    fields for FLAC and the lossy containers (``title``, ``artist``, ``copyright``, ``comment``…;
    WAV metadata is written as chunks by :mod:`trackwright.deliver.wavmeta`).

    Raises
    ------
    MissingDependencyError
        A lossy container this libsndfile cannot write (the message says why).
    ParameterError
        The extension does not match the container.
    """
    out = check_output_path(path, inputs)
    if out.suffix.lower() != spec.extension:
        raise ParameterError(f"{out}: a {spec.container} file needs the extension {spec.extension}")
    if spec.lossy:
        reason = lossy_support()[spec.container]
        if reason is not None:
            raise MissingDependencyError(f"cannot write {spec.container.upper()} previews: {reason}; deliver "
                                         "WAV or FLAC, or install a libsndfile with that codec")
    hold = None if ceiling_dbtp is None else ceiling_dbtp - (DITHER_MARGIN_DB if spec.bit_depth == "16" else 0.0)
    converted = convert(audio, spec, ceiling_dbtp=hold)
    warnings = list(converted.warnings)
    trim = converted.trim_db
    known: Audio | None = None
    known_peak: float | None = None
    if spec.lossy:
        container, subtype = LOSSY[spec.container]
        data = np.clip(converted.audio.samples, -1.0, 1.0)
        level = round(1.0 - spec.quality, 3)

        def encode(samples: np.ndarray) -> None:
            write_atomic(out, lambda tmp: write_tagged(tmp, samples, converted.audio.sample_rate, container, subtype,
                                                       tags or {}, compression_level=level))

        encode(data)
        if ceiling_dbtp is not None:
            held = load_audio(out)
            decoded = true_peak_dbtp(held)
            known, known_peak = held, decoded
            if decoded > ceiling_dbtp:
                extra = decoded - ceiling_dbtp + LOSSY_MARGIN_DB
                encode(data * np.float32(10 ** (-extra / 20)))
                known, known_peak = None, None
                trim += extra
                warnings.append(f"{out.name}: the {spec.container.upper()} decoder's true peak was {decoded:.2f} dBTP: "
                                f"encoded again {extra:.2f} dB lower to stay under {ceiling_dbtp:g} dBTP")
    else:
        warnings += save_audio(converted.audio, out, bit_depth=spec.bit_depth, dither=spec.bit_depth == "16",
                               tags=tags if spec.container == "flac" else None)
        samples = converted.audio.samples
        exact = spec.bit_depth == "float" or (spec.bit_depth == "24" and float(np.abs(samples).max(initial=0.0)) <= 1.0)
        known, known_peak = (converted.audio, converted.true_peak_dbtp) if exact else (None, None)
    return Written(out, spec, converted.audio.sample_rate, converted.audio.frames, trim, tuple(warnings),
                   known, known_peak)


# -- names ------------------------------------------------------------------------------------------
def check_template(template: str) -> tuple[str, ...]:
    """The fields ``template`` uses; a one-line error for unknown fields, format specs or bad braces.

    >>> check_template("{title}_{kind}_{length}s")
    ('title', 'kind', 'length')
    """
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as err:
        raise ParameterError(f"naming template {template!r}: {err}") from err
    fields = []
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in NAME_FIELDS:
            raise ParameterError(f"naming template {template!r}: unknown field {{{name}}} "
                                 f"(use {', '.join('{' + f + '}' for f in NAME_FIELDS)})")
        if spec or conversion:
            raise ParameterError(f"naming template {template!r}: write {{{name}}} without a format or conversion")
        fields.append(name)
    if not fields:
        raise ParameterError(f"naming template {template!r} uses no field; every file would get the same name")
    return tuple(fields)


def _clean(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.+-]+", "", text.replace(" ", "-"))


def render_name(template: str, *, title: str, kind: str, length_s: float, target: str = "", version: int = 1,
                spec: FormatSpec | None = None, sample_rate: int | None = None) -> str:
    """A file name (with the container's extension) from ``template``.

    Fields: ``{title}``, ``{kind}``, ``{length}`` (whole seconds, rounded), ``{target}``,
    ``{version}`` (``v3``), ``{rate}`` (``48k``), ``{bits}`` (``24bit``, ``float``; empty for lossy)
    and ``{format}`` (the container). Characters other than letters, digits, ``.``, ``+`` and
    ``-`` are dropped from each value; empty runs of separators are closed up.

    >>> render_name(DEFAULT_TEMPLATE, title="MySong", kind="Cutdown", length_s=29.98, target="streaming")
    'MySong_Cutdown_30s_streaming.wav'
    """
    check_template(template)
    spec = spec or FormatSpec()
    rate = spec.target_rate(sample_rate) if sample_rate else spec.sample_rate
    values = {"title": _clean(title), "kind": _clean(kind), "length": str(int(math.floor(length_s + 0.5))),
              "target": _clean(target), "version": f"v{version}", "rate": f"{rate / 1000:g}k" if rate else "",
              "bits": "" if spec.lossy else ("float" if spec.bit_depth == "float" else f"{spec.bit_depth}bit"),
              "format": spec.container}
    name = template.format(**values)
    name = re.sub(r"[^A-Za-z0-9._+-]+", "", name)
    name = re.sub(r"([_.-])[_.-]+", r"\1", name).strip("_.-")
    if not name:
        raise ParameterError(f"naming template {template!r} gives an empty name for {title!r} {kind!r}")
    return name[:200] + spec.extension


def check_unique(names: Iterable[str]) -> None:
    """Raise :class:`ParameterError` naming the first file name that two deliverables share."""
    seen: set[str] = set()
    for name in names:
        if name.lower() in seen:
            raise ParameterError(f"naming template gives two files the name {name}; add {{kind}}, {{length}} or "
                                 "{version} to the template")
        seen.add(name.lower())
