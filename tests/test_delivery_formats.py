"""Delivery formats: 48 kHz/24-bit and 16-bit dithered outputs measured from the written files
(dither only at 16 bits, loudness within ±0.1 LU and true peak under the ceiling after resampling),
lossy previews decoding back at the expected length, and the naming template."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.signal
import soundfile as sf

from trackwright.analysis.loudness import integrated_loudness, true_peak_dbtp
from trackwright.audio import Audio, load_audio
from trackwright.deliver.formats import (DEFAULT_TEMPLATE, FormatSpec, check_template, check_unique,
                                         format_from_mapping, lossy_support, parse_format, render_name, write_format)
from trackwright.errors import ParameterError

CEILING = -1.0


@pytest.fixture(scope="module")
def master() -> Audio:
    """8 s at 44.1 kHz: band-limited noise and chords clipped like a loud master (about −11 LUFS), true
    peak at −1.03 dBTP, then 1 s of digital silence (where dither shows)."""
    rate = 44100
    rng = np.random.default_rng(7)
    t = np.arange(7 * rate) / rate
    tones = sum(np.sin(2 * np.pi * f * t + p) for f, p in ((110, 0), (277, 1), (330, 2), (554, 3), (1760, 4)))
    noise = scipy.signal.sosfilt(scipy.signal.butter(4, [60, 12000], "bandpass", fs=rate, output="sos"),
                                 rng.standard_normal((2, t.size)))
    music = 0.05 * tones + 0.3 * noise * (1 + 0.5 * np.sin(2 * np.pi * 2 * t))
    audio = Audio(np.concatenate([music, np.zeros((2, rate))], axis=1).astype(np.float32), rate)
    audio = audio.with_samples(audio.samples * np.float32(10 ** ((-14 - integrated_loudness(audio)) / 20)))
    # a fast hard clip holds the sample peaks, then one gain puts the true peak at −1.03 dBTP
    clipped = np.clip(audio.samples, -0.6, 0.6)
    audio = audio.with_samples(clipped)
    return audio.with_samples(audio.samples * np.float32(10 ** ((CEILING - 0.03 - true_peak_dbtp(audio)) / 20)))


def _lsb_stats(samples: np.ndarray, bits: int) -> tuple[float, int]:
    """(RMS in LSB, distinct values) of a stretch of samples."""
    lsb = 2.0 ** (1 - bits)
    return float(np.sqrt(np.mean((samples / lsb) ** 2))), len(np.unique(np.round(samples / lsb)))


@pytest.mark.parametrize("bits", ["24", "16"])
def test_48k_outputs_keep_loudness_and_ceiling_and_dither_only_at_16_bits(tmp_path: Path, master: Audio,
                                                                          bits: str) -> None:
    spec = parse_format(f"wav:48k:{bits}")
    written = write_format(master, tmp_path / f"m{bits}.wav", spec, ceiling_dbtp=CEILING)
    info = sf.info(str(written.path))
    assert (info.samplerate, info.subtype) == (48000, f"PCM_{bits}")
    back = load_audio(written.path)
    assert back.frames == round(master.frames * 48000 / 44100)
    assert integrated_loudness(back) == pytest.approx(integrated_loudness(master), abs=0.1)
    assert true_peak_dbtp(back) <= CEILING
    assert written.trim_db < 0.1
    silence = back.samples[:, -back.sample_rate // 2:]  # the last half second: digital silence in the master
    rms, values = _lsb_stats(silence, int(bits))
    if bits == "16":  # TPDF dither of ±1 LSB, quantised (libsndfile floors): about 0.7 LSB RMS over 2–3 codes
        assert 0.3 < rms < 1.0 and values >= 2
    else:
        assert rms == 0.0 and values == 1


def test_a_peak_over_the_ceiling_after_conversion_is_trimmed(tmp_path: Path, master: Audio) -> None:
    before = true_peak_dbtp(master)
    written = write_format(master, tmp_path / "t.wav", FormatSpec("wav", 48000, "24"), ceiling_dbtp=-2.0)
    back = load_audio(written.path)
    assert true_peak_dbtp(back) <= -2.0
    assert written.trim_db == pytest.approx(before + 2.0 + 0.02, abs=0.02)
    assert integrated_loudness(back) == pytest.approx(integrated_loudness(master) - written.trim_db, abs=0.1)
    assert any("lowered" in w for w in written.warnings)


def test_float_and_flac_carry_no_dither(tmp_path: Path, master: Audio) -> None:
    for spec, name in ((FormatSpec("wav", 96000, "float"), "f.wav"), (FormatSpec("flac", 48000, "24"), "f.flac")):
        written = write_format(master, tmp_path / name, spec, ceiling_dbtp=CEILING)
        back = load_audio(written.path)
        assert back.sample_rate == spec.sample_rate
        assert np.all(back.samples[:, -back.sample_rate // 2:] == 0.0)
        assert true_peak_dbtp(back) <= CEILING


@pytest.mark.parametrize("container", ["mp3", "ogg", "opus"])
def test_lossy_previews_decode_back_with_the_expected_length(tmp_path: Path, master: Audio, container: str) -> None:
    spec = FormatSpec(container)
    if lossy_support()[container] is not None:
        with pytest.raises(Exception, match="cannot write"):
            write_format(master, tmp_path / f"p{spec.extension}", spec)
        pytest.skip(lossy_support()[container])
    written = write_format(master, tmp_path / f"p{spec.extension}", spec)
    back = load_audio(written.path)
    rate = 48000 if container == "opus" else master.sample_rate
    assert back.sample_rate == rate
    assert back.frames == round(master.frames * rate / master.sample_rate)
    assert integrated_loudness(back) == pytest.approx(integrated_loudness(master), abs=0.5)


def test_format_parsing_and_mapping() -> None:
    assert parse_format("flac/96k/24bit") == FormatSpec("flac", 96000, "24")
    assert parse_format("WAV 44100 32f") == FormatSpec("wav", 44100, "float")
    assert parse_format("vorbis").container == "ogg"
    assert format_from_mapping({"container": "wav", "sample_rate": "48k", "bit_depth": 16}) == FormatSpec("wav", 48000, "16")
    with pytest.raises(ParameterError, match="cannot read 'aiff'"):
        parse_format("aiff")
    with pytest.raises(ParameterError, match="not a delivery rate"):
        parse_format("wav:22050")
    with pytest.raises(ParameterError, match="FLAC holds integers"):
        parse_format("flac:32f")
    with pytest.raises(ParameterError, match=r"delivery.format.rate: unknown field"):
        format_from_mapping({"rate": 48000})


def test_naming_template() -> None:
    name = render_name(DEFAULT_TEMPLATE, title="My Song", kind="Cutdown", length_s=29.6, target="broadcast",
                       spec=FormatSpec("flac", 48000, "24"))
    assert name == "My-Song_Cutdown_30s_broadcast.flac"
    assert render_name("{title}_{rate}_{bits}_{version}", title="S", kind="", length_s=1, version=3,
                       spec=FormatSpec("wav", None, "16"), sample_rate=44100) == "S_44.1k_16bit_v3.wav"
    assert render_name("{title}_{kind}_{target}", title="S", kind="Main", length_s=1) == "S_Main.wav"
    assert check_template("{title}-{length}") == ("title", "length")
    with pytest.raises(ParameterError, match=r"unknown field \{lenght\}"):
        check_template("{title}_{lenght}s")
    with pytest.raises(ParameterError, match="without a format"):
        check_template("{length:03d}")
    with pytest.raises(ParameterError, match="uses no field"):
        check_template("master")
    with pytest.raises(ParameterError, match="two files the name a.wav"):
        check_unique(["A.wav", "B.wav", "a.wav"])


@pytest.mark.parametrize(("spec", "known"), [(FormatSpec("wav", 48000, "24"), True), (FormatSpec("wav", None, "float"), True),
                                             (FormatSpec("flac", None, "24"), True), (FormatSpec("wav", None, "16"), False)])
def test_what_the_writer_says_it_wrote_is_the_file(tmp_path: Path, master: Audio, spec: FormatSpec,
                                                   known: bool) -> None:
    """Deliver measures a file once, from what the writer hands back; that must be the file's content
    (within one 24-bit step) and its true peak, or nothing when dither changed the content."""
    written = write_format(master, tmp_path / f"k{spec.extension}", spec, ceiling_dbtp=CEILING)
    back = load_audio(written.path)
    if not known:
        assert written.audio is None and written.true_peak_dbtp is None
        return
    assert written.audio is not None and written.true_peak_dbtp is not None
    assert (written.audio.sample_rate, written.audio.frames) == (back.sample_rate, back.frames)
    assert np.abs(written.audio.samples - back.samples).max() <= 1.01 * 2.0 ** -23  # libsndfile truncates
    assert written.true_peak_dbtp == pytest.approx(true_peak_dbtp(back), abs=0.001)
