"""iXML and RIFF INFO metadata on delivered WAVs: the audio is untouched, every RIFF reader still
opens the file, and the fields read back (checked with a chunk walker written here)."""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from trackwright.audio import Audio, save_audio
from trackwright.deliver.wavmeta import (BextInfo, TrackMetadata, bext_chunk, normalise_isrc, read_bext, read_info,
                                         read_ixml, write_track_metadata, write_wav_chunks)
from trackwright.errors import ParameterError


def _chunks(path: Path) -> dict[bytes, bytes]:
    data = path.read_bytes()
    assert data[:4] == b"RIFF" and struct.unpack("<I", data[4:8])[0] == len(data) - 8
    out, at = {}, 12
    while at + 8 <= len(data):
        size = struct.unpack("<I", data[at + 4: at + 8])[0]
        out[data[at: at + 4]] = data[at + 8: at + 8 + size]
        at += 8 + size + (size & 1)
    assert at == len(data)
    return out


def test_ixml_and_info_read_back_and_leave_the_audio_alone(tmp_path: Path, rng: np.random.Generator) -> None:
    samples = (0.1 * rng.standard_normal((2, 4801))).astype(np.float32)
    path = tmp_path / "Song_Main_v1.wav"
    save_audio(Audio(samples, 48000), path, bit_depth="24")
    before, _ = sf.read(str(path), dtype="int32")
    write_wav_chunks(path, {b"bext": bext_chunk(BextInfo("Main", "trackwright", "TW1", "2026-01-02", "03:04:05"))})
    meta = TrackMetadata("Song — main", artist="Band", composer="A. Writer / B. Writer", publisher="Pub Music",
                         isrc="gb-abc-26-00001", catalogue_number="CAT 042", comment="final master")
    write_track_metadata(path, meta, scene="main", file_uid="TW1")
    after, rate = sf.read(str(path), dtype="int32")
    assert rate == 48000 and np.array_equal(before, after)
    chunks = _chunks(path)
    assert {b"fmt ", b"data", b"bext", b"iXML", b"LIST"} <= set(chunks)
    root = ET.fromstring(chunks[b"iXML"])  # well-formed XML with iXML's element names
    assert root.tag == "BWFXML" and root.findtext("SPEED/FILE_SAMPLE_RATE") == "48000"
    ixml = read_ixml(path)
    assert ixml["PROJECT"] == "Song — main" and ixml["SCENE"] == "main" and ixml["AUDIO_BIT_DEPTH"] == "24"
    assert ixml["USER/ISRC"] == "GBABC2600001" and ixml["USER/COMPOSER"] == "A. Writer / B. Writer"
    assert ixml["USER/PUBLISHER"] == "Pub Music" and ixml["USER/CATALOGUE_NUMBER"] == "CAT 042"
    info = read_info(path)
    assert info == {"INAM": "Song — main", "IART": "Band", "ICOP": "Pub Music", "ICMT": "final master",
                    "ISFT": "trackwright"}
    assert read_bext(path).description == "Main"
    # written again: the chunks are replaced, not repeated
    write_track_metadata(path, TrackMetadata("Second"))
    assert read_ixml(path)["PROJECT"] == "Second" and "USER/ISRC" not in read_ixml(path)
    assert list(_chunks(path)).count(b"iXML") == 1


def test_isrc_is_checked() -> None:
    assert normalise_isrc("US-S1Z-99-00001") == "USS1Z9900001"
    with pytest.raises(ParameterError, match="ISRC 'US-S1Z-99-0001'"):
        TrackMetadata("x", isrc="US-S1Z-99-0001")


def test_missing_chunks_read_as_none(tmp_path: Path) -> None:
    path = tmp_path / "plain.wav"
    save_audio(Audio(np.zeros((1, 100), np.float32), 44100), path)
    assert read_ixml(path) is None and read_info(path) == {}
