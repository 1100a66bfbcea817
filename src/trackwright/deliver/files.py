"""The files of a delivery: each one written in its format, read back, measured and tagged.

Conventions
-----------
* Files are queued with :meth:`DeliveryWriter.write` and written in parallel by
  :meth:`DeliveryWriter.flush`, in the order they were queued. A file's name and format follow
  the delivery's :class:`~trackwright.deliver.spec.DeliverySpec` (the format of its kind, the
  naming template); the main, alternates and cutdowns also get one copy per preview format.
* Every file is measured as a client will get it: read back after it is written, so loudness
  and true peak are those of the resampled, dithered or encoded file.
* A loop (a ``smpl`` loop over the whole file) changes rate as a loop: it is resampled with
  itself wrapped around both ends, so the wrap stays seamless, and its loop points are the
  written file's.
* WAV files carry ``bext`` (loudness, coding history), ``iXML`` (title, artist, composer,
  publisher, ISRC, catalogue number, the kind as scene, the description as note), ``LIST``/
  ``INFO`` and, for loops, ``smpl``; FLAC, MP3 and Ogg files carry title, artist, copyright and
  a comment as text tags. The ISRC identifies one recording: it goes to the main (and its
  previews) only.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from trackwright.analysis.loudness import ABSOLUTE_GATE_LUFS as SILENCE_GATE_LUFS
from trackwright.analysis.loudness import BLOCK_S as MIN_LOUDNESS_S
from trackwright.analysis.loudness import measure_loudness, true_peak_dbtp
from trackwright.audio import Audio, load_audio
from trackwright.deliver.cuesheet import Cue, CueSheet, Party
from trackwright.deliver.formats import FormatSpec, render_name, resample, write_format
from trackwright.deliver.spec import PREVIEW_KINDS, DeliverySpec
from trackwright.deliver.wavmeta import (BextInfo, LoopPoint, TrackMetadata, bext_chunk, info_chunk, ixml_chunk,
                                         smpl_chunk, write_wav_chunks)
from trackwright.errors import MeasurementError, ParameterError
from trackwright.mix.targets import Target
from trackwright.parallel import thread_map

#: Full-length material must land within this of its loudness target, LU.
LOUDNESS_TOLERANCE_LU = 0.5
ORIGINATOR = "trackwright"
#: Audio wrapped around each end of a loop when it is resampled, seconds.
LOOP_WRAP_S = 0.1


@dataclass(frozen=True)
class Deliverable:
    """One delivered file and its measurements.

    Attributes:
        name: file name inside the delivery folder.
        kind: main, instrumental, underscore, lite, cutdown, stinger, loop, layer, segment, stem, preview.
        description: what it is, in words (also in its ``bext``).
        duration_s: length, seconds; frames: length in sample frames.
        integrated_lufs, true_peak_dbtp, loudness_range_lu: measured from the written file.
        target_lufs: loudness it was held to (±0.5 LU), or None (cut from the master, or a stem).
        ceiling_dbtp: true-peak ceiling it was held to, or None (stems, float).
        loop: (start, end) frames of its ``smpl`` loop (end inclusive), or None.
        info: kind-specific facts (cue points, source bars, ending…).
        sample_rate: the file's rate, Hz; format: its format in words (``wav 48 kHz 16-bit``).
        isrc: its ISRC, or "".
        label: what ``{kind}`` is in a naming template (``Main``, ``Stem-Drums``, ``Cutdown``).
    """

    name: str
    kind: str
    description: str
    duration_s: float
    frames: int
    integrated_lufs: float | None
    true_peak_dbtp: float
    loudness_range_lu: float | None
    target_lufs: float | None
    ceiling_dbtp: float | None
    loop: tuple[int, int] | None = None
    info: dict[str, Any] = field(default_factory=dict)
    sample_rate: int = 0
    format: str = ""
    isrc: str = ""
    label: str = ""

    def misses(self) -> list[str]:
        """How the file misses its targets (empty when it meets them)."""
        out = []
        if self.target_lufs is not None and (self.integrated_lufs is None or
                                             abs(self.integrated_lufs - self.target_lufs) > LOUDNESS_TOLERANCE_LU):
            got = "unmeasurable" if self.integrated_lufs is None else f"{self.integrated_lufs:.2f} LUFS"
            out.append(f"{self.name}: {got}, target {self.target_lufs:g} ±{LOUDNESS_TOLERANCE_LU:g} LU")
        if self.ceiling_dbtp is not None and self.true_peak_dbtp > self.ceiling_dbtp:
            out.append(f"{self.name}: true peak {self.true_peak_dbtp:.2f} dBTP over the "
                       f"{self.ceiling_dbtp:g} dBTP ceiling")
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``isrc`` None where none was given, for the label to fill)."""
        data = asdict(self)
        for key in ("duration_s", "integrated_lufs", "true_peak_dbtp", "loudness_range_lu"):
            if data[key] is not None:
                data[key] = round(data[key], 3) if math.isfinite(data[key]) else None  # digital silence: no peak
        data["loop"] = None if self.loop is None else {"start_frame": self.loop[0], "end_frame": self.loop[1]}
        data["isrc"] = self.isrc or None
        return data


@dataclass(frozen=True)
class _Job:
    """A queued file."""

    index: int
    audio: Audio
    name: str
    kind: str
    description: str
    target_lufs: float | None
    ceiling: bool
    loop: tuple[int, int] | None
    spec: FormatSpec
    info: dict[str, Any]
    isrc: str
    label: str


def kind_word(kind: str, parts: Sequence[str]) -> str:
    """What ``{kind}`` is in a naming template: the name's words joined by ``-`` (``Stem-Drums``,
    ``Loop-Main``); ``Cutdown`` for a cutdown (its length is ``{length}``)."""
    return "Cutdown" if kind == "cutdown" else "-".join(parts)


def resample_loop(audio: Audio, sample_rate: int) -> Audio:
    """A loop (the whole of ``audio``) at ``sample_rate`` Hz, resampled with itself wrapped around
    both ends so that its wrap stays seamless; ``round(frames × new / old)`` frames."""
    frames = round(audio.frames * sample_rate / audio.sample_rate)
    pad = min(audio.frames, round(LOOP_WRAP_S * audio.sample_rate))
    wrapped = np.concatenate([audio.samples[:, -pad:], audio.samples, audio.samples[:, :pad]], axis=1)
    out = resample(audio.with_samples(wrapped), sample_rate)
    start = round(pad * sample_rate / audio.sample_rate)
    return Audio(np.ascontiguousarray(out.samples[:, start:start + frames]), sample_rate)


class DeliveryWriter:
    """Writes, measures and tags the files of one delivery into the staging folder.

    Parameters
    ----------
    folder : Path
    title : str
        The file-name title (``NightDrive``).
    version : int
    target : Target
    reference : str
        The render's cache key (in each ``bext`` originator reference).
    spec : DeliverySpec, optional
        Formats, previews, naming template and metadata (default: 24-bit WAVs, float stems).
    metadata : TrackMetadata, optional
        Title (as people write it), artist, composer… for the files' tags.
    """

    def __init__(self, folder: Path, title: str, version: int, target: Target, reference: str, *,
                 spec: DeliverySpec | None = None, metadata: TrackMetadata | None = None) -> None:
        self.folder, self.title, self.version, self.target, self.reference = folder, title, version, target, reference
        self.spec = spec or DeliverySpec()
        self.metadata = metadata or TrackMetadata(title)
        self.files: list[Deliverable] = []
        self.pending: list[_Job] = []
        self.warnings: list[str] = []
        now = dt.datetime.now(dt.timezone.utc)
        self.date, self.time = now.strftime("%Y-%m-%d"), now.strftime("%H:%M:%S")

    def file_name(self, parts: Sequence[str], kind: str, length_s: float, spec: FormatSpec, sample_rate: int) -> str:
        """The name of a file: ``Title_<parts>_v3.<ext>``, or the spec's naming template."""
        template = self.spec.name_template
        if template is None:
            return "_".join([self.title, *parts, f"v{self.version}"]) + spec.extension
        return render_name(template, title=self.title, kind=kind_word(kind, parts), length_s=length_s,
                           target=self.target.name, version=self.version, spec=spec, sample_rate=sample_rate)

    def write(self, audio: Audio, parts: Sequence[str], kind: str, description: str, *, target_lufs: float | None,
              ceiling: bool = True, loop: tuple[int, int] | None = None,
              info: Mapping[str, Any] | None = None) -> str:
        """Queue a file named from ``parts`` (``("Stem", "Drums")``) in its kind's format, and its
        previews; :meth:`flush` writes the queue in parallel and keeps the order. Returns its name.

        Raises
        ------
        ParameterError
            The naming template gives it the name of another file.
        """
        spec = self.spec.format_for(kind)
        isrc = self.metadata.isrc if kind == "main" else ""
        name = self._queue(audio, parts, kind, description, target_lufs, ceiling, loop, spec, dict(info or {}), isrc)
        if kind in PREVIEW_KINDS:
            for preview in self.spec.previews:  # held to the ceiling; its loudness is reported, not held
                at_rate = preview if preview.sample_rate else dataclasses.replace(preview, sample_rate=spec.sample_rate)
                self._queue(audio, parts, kind, f"{description}, {preview.container.upper()} preview", None,
                            ceiling, None, at_rate, {"preview_of": name}, isrc, preview=True)
        return name

    def _queue(self, audio: Audio, parts: Sequence[str], kind: str, description: str, target_lufs: float | None,
               ceiling: bool, loop: tuple[int, int] | None, spec: FormatSpec, info: dict[str, Any], isrc: str,
               *, preview: bool = False) -> str:
        name = self.file_name(parts, kind, audio.duration_s, spec, audio.sample_rate)
        taken = {f.name.lower() for f in self.files} | {job.name.lower() for job in self.pending}
        if name.lower() in taken:
            raise ParameterError(f"the naming template gives two files the name {name}; add {{kind}}, {{length}} or "
                                 "{format} to it")
        self.pending.append(_Job(len(self.files) + len(self.pending), audio, name, "preview" if preview else kind,
                                 description, target_lufs, ceiling, loop, spec, info, isrc,
                                 kind_word(kind, parts)))
        return name

    def flush(self) -> None:
        """Write, read back, measure and tag every queued file."""
        work, self.pending = self.pending, []
        self.files.extend(thread_map(self._write_one, work))

    def find(self, kind: str) -> Deliverable | None:
        """The first written file of ``kind``."""
        return next((f for f in self.files if f.kind == kind), None)

    def _write_one(self, job: _Job) -> Deliverable:
        path = self.folder / job.name
        audio, loop = job.audio, job.loop
        rate = job.spec.target_rate(audio.sample_rate)
        if loop is not None and rate != audio.sample_rate:
            if loop != (0, audio.frames - 1):
                raise RuntimeError(f"{job.name}: only whole-file loops change rate")  # a bug, not a user error
            audio = resample_loop(audio, rate)
            loop = (0, audio.frames - 1)
        title = self.metadata.title if job.label == "Main" else f"{self.metadata.title} ({job.label})"
        meta = dataclasses.replace(self.metadata, title=title, isrc=job.isrc, comment=job.description)
        notes = (job.description, f"ISRC {meta.isrc}" if meta.isrc else "",
                 f"catalogue number {meta.catalogue_number}" if meta.catalogue_number else "")
        tags = {"title": title, "artist": meta.artist or meta.composer, "copyright": meta.copyright or meta.publisher,
                "comment": "; ".join(x for x in notes if x)}
        written_format = write_format(audio, path, job.spec,
                                      ceiling_dbtp=self.target.ceiling_dbtp if job.ceiling else None, tags=tags)
        self.warnings.extend(w if w.startswith(job.name) else f"{job.name}: {w}" for w in written_format.warnings)
        info = {**job.info, "trim_db": round(written_format.trim_db, 3)} if written_format.trim_db else job.info
        # measure what a client will get: read back unless the writer knows it (see Written)
        written = written_format.audio if written_format.audio is not None else load_audio(path)
        integrated, loudness_range, true_peak = _measure(written, written_format.true_peak_dbtp)
        description = job.description
        if integrated is None and written.duration_s >= MIN_LOUDNESS_S:
            # near-silent (the MasterDiff of a clean master, an empty layer): written, and said so
            info = {**info, "near_silent": True}
            description = f"{description} (near-silent: below the {SILENCE_GATE_LUFS:g} LUFS gate)"
        if job.spec.container == "wav":
            bits = {"float": "32", "16": "16", "24": "24"}[job.spec.bit_depth]
            steps = [f"trackwright deliver {self.target.name}"]
            if written.sample_rate != job.audio.sample_rate:
                steps.append(f"resampled from {job.audio.sample_rate} Hz (libsoxr VHQ)")
            if bits == "16":
                steps.append("TPDF dither")
            history = (f"A=PCM,F={written.sample_rate},W={bits},"
                       f"M={'stereo' if written.channels == 2 else 'mono' if written.channels == 1 else 'multi'},"
                       f"T={'; '.join(steps)}")
            reference = f"TW{self.reference[:10]}{job.index:04d}"[:32]
            bext = BextInfo(description[:256], ORIGINATOR, reference, self.date, self.time, integrated,
                            loudness_range, true_peak if math.isfinite(true_peak) else None, history)
            chunks = {b"bext": bext_chunk(bext),
                      b"iXML": ixml_chunk(meta, project=self.metadata.title, scene=job.label, note=job.description,
                                          file_uid=reference, sample_rate=written.sample_rate, bit_depth=int(bits)),
                      b"LIST": info_chunk(meta)}
            if loop is not None:
                chunks[b"smpl"] = smpl_chunk([LoopPoint(*loop)], written.sample_rate)
            write_wav_chunks(path, chunks)
        return Deliverable(job.name, job.kind, description, written.duration_s, written.frames, integrated,
                           true_peak, loudness_range, job.target_lufs,
                           self.target.ceiling_dbtp if job.ceiling else None, loop, info, written.sample_rate,
                           job.spec.label(job.audio.sample_rate), job.isrc, job.label)


def _measure(audio: Audio, known_peak_dbtp: float | None = None) -> tuple[float | None, float | None, float]:
    """(integrated LUFS, loudness range LU, true peak dBTP) of a written file (its true peak taken
    from ``known_peak_dbtp`` when the writer measured it); loudness and range are None when it is
    below the BS.1770 absolute gate (or digital silence: true peak −inf)."""
    try:
        report = measure_loudness(audio, true_peak_dbtp=known_peak_dbtp)
    except MeasurementError:
        return None, None, true_peak_dbtp(audio) if known_peak_dbtp is None else known_peak_dbtp
    integrated = report.integrated_lufs if math.isfinite(report.integrated_lufs) else None
    return integrated, report.loudness_range_lu, report.true_peak_dbtp


def file_list(files: Sequence[Deliverable], version: int) -> str:
    """The technical list of a delivery's files as CSV text: one row per file."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["file", "version", "format", "duration_s", "loudness_lufs", "true_peak_dbtp", "isrc",
                     "description"])
    for item in files:
        writer.writerow([item.name, f"v{version}", item.format, f"{item.duration_s:.3f}",
                         "" if item.integrated_lufs is None else f"{item.integrated_lufs:.2f}",
                         f"{item.true_peak_dbtp:.2f}", item.isrc, item.description])
    return buffer.getvalue()


#: Files a music cue sheet lists (the music a production may use; loops, layers, segments and stems are material).
CUE_KINDS = ("main", "instrumental", "underscore", "lite", "cutdown", "stinger")
#: Kinds without the vocal (background instrumental by default).
_INSTRUMENTAL_KINDS = ("instrumental", "underscore")


def delivery_cue_sheet(files: Sequence[Deliverable], spec: DeliverySpec, metadata: TrackMetadata, *,
                       vocal: bool) -> CueSheet | None:
    """The music cue sheet of a delivery: one cue per main, alternate, cutdown and stinger file.

    Title ``Title (Instrumental)``; composers and publishers from the spec's ``cue_sheet`` (else
    the metadata's, split on ``/`` or ``;``); usage from the spec, else ``BV`` where a vocal plays
    (``vocal``: the project has a vocal stem; the instrumental and underscore never) and ``BI``;
    in at the spec's programme timecode, out after the file's duration. None when no composer is
    named (a cue sheet without one is refused by every society).
    """
    fields = spec.cue_sheet

    def split(text: str) -> tuple[Party, ...]:
        return tuple(Party(name.strip()) for name in text.replace(";", "/").split("/") if name.strip())

    composers = fields.composers or split(metadata.composer)
    if not composers:
        return None
    publishers = fields.publishers or split(metadata.publisher)
    cues = []
    for item in files:
        if item.kind not in CUE_KINDS:
            continue
        label = f"{item.info['length_s']:g} s cutdown" if item.kind == "cutdown" else item.label
        usage = fields.usage or ("BV" if vocal and item.kind not in _INSTRUMENTAL_KINDS else "BI")
        title = metadata.title if item.kind == "main" else f"{metadata.title} ({label})"
        cues.append(Cue(title, composers, publishers, usage, fields.in_s, fields.in_s + item.duration_s,
                        item.isrc, metadata.catalogue_number, metadata.artist, item.name))
    return CueSheet(fields.production or metadata.title, tuple(cues), fields.episode, fields.company,
                    fields.frame_rate)
