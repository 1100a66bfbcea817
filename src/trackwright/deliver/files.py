"""The files of a delivery: each one written, read back, measured and tagged (BWF ``bext``, ``smpl``).

Conventions
-----------
* Files are queued with :meth:`DeliveryWriter.write` and written in parallel by
  :meth:`DeliveryWriter.flush`, in the order they were queued.
* Every file is measured as a client will get it: read back after it is written.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from trackwright.analysis.loudness import measure_loudness
from trackwright.audio import Audio, load_audio, save_audio
from trackwright.deliver.wavmeta import BextInfo, LoopPoint, bext_chunk, smpl_chunk, write_wav_chunks
from trackwright.mix.targets import Target
from trackwright.parallel import thread_map

#: Full-length material must land within this of its loudness target, LU.
LOUDNESS_TOLERANCE_LU = 0.5
ORIGINATOR = "trackwright"


@dataclass(frozen=True)
class Deliverable:
    """One delivered file and its measurements.

    Attributes:
        name: file name inside the delivery folder.
        kind: main, instrumental, underscore, lite, cutdown, stinger, loop, layer, segment, stem.
        description: what it is, in words (also in its ``bext``).
        duration_s: length, seconds; frames: length in sample frames.
        integrated_lufs, true_peak_dbtp, loudness_range_lu: measured from the written file.
        target_lufs: loudness it was held to (±0.5 LU), or None (cut from the master, or a stem).
        ceiling_dbtp: true-peak ceiling it was held to, or None (stems, float).
        loop: (start, end) frames of its ``smpl`` loop (end inclusive), or None.
        info: kind-specific facts (cue points, source bars, ending…).
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
        """JSON-ready form (ISRC fields left for the label to fill)."""
        data = asdict(self)
        for key in ("duration_s", "integrated_lufs", "true_peak_dbtp", "loudness_range_lu"):
            if data[key] is not None:
                data[key] = round(data[key], 3)
        data["loop"] = None if self.loop is None else {"start_frame": self.loop[0], "end_frame": self.loop[1]}
        data["isrc"] = None
        return data


class DeliveryWriter:
    """Writes, measures and tags the files of one delivery into the staging folder."""

    def __init__(self, folder: Path, title: str, version: int, target: Target, reference: str) -> None:
        self.folder, self.title, self.version, self.target, self.reference = folder, title, version, target, reference
        self.files: list[Deliverable] = []
        self.pending: list[tuple[Any, ...]] = []
        now = dt.datetime.now(dt.timezone.utc)
        self.date, self.time = now.strftime("%Y-%m-%d"), now.strftime("%H:%M:%S")

    def name(self, *parts: str) -> str:
        return "_".join([self.title, *parts, f"v{self.version}"]) + ".wav"

    def write(self, audio: Audio, name: str, kind: str, description: str, *, target_lufs: float | None,
              ceiling: bool = True, loop: tuple[int, int] | None = None, bit_depth: str = "24",
              info: Mapping[str, Any] | None = None) -> None:
        """Queue a file; :meth:`flush` writes the queue in parallel and keeps the order."""
        if name in {f.name for f in self.files} | {job[2] for job in self.pending}:
            raise RuntimeError(f"deliver: two files named {name}")  # a bug, not a user error
        self.pending.append((len(self.files) + len(self.pending), audio, name, kind, description, target_lufs,
                             ceiling, loop, bit_depth, dict(info or {})))

    def flush(self) -> None:
        """Write, read back, measure and tag every queued file."""
        work, self.pending = self.pending, []
        self.files.extend(thread_map(lambda job: self._write_one(*job), work))

    def _write_one(self, index: int, audio: Audio, name: str, kind: str, description: str, target_lufs: float | None,
                   ceiling: bool, loop: tuple[int, int] | None, bit_depth: str, info: dict[str, Any]) -> Deliverable:
        path = self.folder / name
        save_audio(audio, path, bit_depth=bit_depth)
        written = load_audio(path)  # measure what a client will get
        report = measure_loudness(written)
        integrated = report.integrated_lufs if math.isfinite(report.integrated_lufs) else None
        history = (f"A=PCM,F={audio.sample_rate},W={'32' if bit_depth == 'float' else bit_depth},"
                   f"M={'stereo' if audio.channels == 2 else 'mono' if audio.channels == 1 else 'multi'},"
                   f"T=trackwright deliver {self.target.name}")
        bext = BextInfo(description[:256], ORIGINATOR, f"TW{self.reference[:10]}{index:04d}"[:32],
                        self.date, self.time, integrated, report.loudness_range_lu, report.true_peak_dbtp, history)
        chunks = {b"bext": bext_chunk(bext)}
        if loop is not None:
            chunks[b"smpl"] = smpl_chunk([LoopPoint(*loop)], audio.sample_rate)
        write_wav_chunks(path, chunks)
        return Deliverable(name, kind, description, written.duration_s, written.frames, integrated,
                           report.true_peak_dbtp, report.loudness_range_lu, target_lufs,
                           self.target.ceiling_dbtp if ceiling else None, loop, info)


def cue_sheet(files: Sequence[Deliverable], version: int) -> str:
    """The cue sheet of a delivery as CSV text: one row per file."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["file", "version", "duration_s", "loudness_lufs", "true_peak_dbtp", "description"])
    for item in files:
        writer.writerow([item.name, f"v{version}", f"{item.duration_s:.3f}",
                         "" if item.integrated_lufs is None else f"{item.integrated_lufs:.2f}",
                         f"{item.true_peak_dbtp:.2f}", item.description])
    return buffer.getvalue()
