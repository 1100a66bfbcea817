"""Audio I/O: every readable format, every writable format, and every kind of bad input."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from signals import audio, tone

from trackwright.audio import Audio, load_audio, save_audio, validate_audio, write_atomic
from trackwright.errors import AudioFileError, InvalidAudioError, ParameterError


@pytest.fixture
def stereo() -> Audio:
    return audio(tone(-6.0, 1.0, 44100), 44100)


@pytest.mark.parametrize(
    ("suffix", "fmt", "subtype", "tolerance"),
    [
        (".wav", "WAV", "PCM_16", 1e-4),
        (".aiff", "AIFF", "PCM_24", 1e-6),
        (".flac", "FLAC", "PCM_24", 1e-6),
        (".ogg", "OGG", "VORBIS", None),
        (".mp3", "MP3", "MPEG_LAYER_III", None),
    ],
)
def test_reads_every_format(tmp_path: Path, stereo: Audio, suffix: str, fmt: str, subtype: str,
                            tolerance: float | None) -> None:
    path = tmp_path / f"x{suffix}"
    sf.write(path, stereo.samples.T, stereo.sample_rate, format=fmt, subtype=subtype)
    loaded = load_audio(path)
    assert loaded.samples.dtype == np.float32 and loaded.channels == 2 and loaded.sample_rate == 44100
    if tolerance is not None:
        assert loaded.frames == stereo.frames
        assert np.abs(loaded.samples - stereo.samples).max() < tolerance
    else:  # lossy codecs: same length within codec padding, same level
        assert abs(loaded.frames - stereo.frames) < 3000
        assert np.abs(loaded.samples).max() == pytest.approx(0.5, abs=0.05)


@pytest.mark.parametrize(("suffix", "depth", "tolerance"),
                         [(".wav", "16", 1e-4), (".wav", "24", 1e-6), (".wav", "float", 0.0),
                          (".flac", "16", 1e-4), (".flac", "24", 1e-6)])
def test_writes_round_trip(tmp_path: Path, stereo: Audio, suffix: str, depth: str, tolerance: float) -> None:
    path = tmp_path / f"out{suffix}"
    assert save_audio(stereo, path, bit_depth=depth) == []
    loaded = load_audio(path)
    assert np.abs(loaded.samples - stereo.samples).max() <= tolerance
    expected = {"16": "PCM_16", "24": "PCM_24", "float": "FLOAT"}[depth]
    assert sf.info(str(path)).subtype == expected
    assert [p.name for p in tmp_path.iterdir()] == [path.name], "no temporary file left behind"


def test_integer_output_is_clipped_with_a_warning_not_wrapped(tmp_path: Path) -> None:
    hot = audio(tone(+6.0, 0.5, 48000), 48000)
    warnings = save_audio(hot, tmp_path / "hot.wav", bit_depth="16")
    assert len(warnings) == 1 and "clipped" in warnings[0]
    loaded = load_audio(tmp_path / "hot.wav")
    # Wrapped samples would flip sign at the crest; clipped ones stay at full scale.
    crest = np.argmax(hot.samples[0])
    assert loaded.samples[0, crest] > 0.99
    loud = np.abs(hot.samples[0]) > 0.01
    assert np.all(np.sign(loaded.samples[0, loud]) == np.sign(hot.samples[0, loud]))
    assert np.abs(loaded.samples).max() <= 1.0
    assert save_audio(hot, tmp_path / "hot_float.wav", bit_depth="float") == []


def test_output_equal_to_input_is_refused(tmp_path: Path, stereo: Audio) -> None:
    src = tmp_path / "src.wav"
    save_audio(stereo, src)
    before = src.read_bytes()
    with pytest.raises(ParameterError, match="same as the input"):
        save_audio(stereo, src, inputs=[src])
    with pytest.raises(ParameterError, match="same as the input"):
        save_audio(stereo, tmp_path / "." / "src.wav", inputs=[src])
    assert src.read_bytes() == before


def test_failed_write_leaves_no_file_and_keeps_the_old_one(tmp_path: Path) -> None:
    target = tmp_path / "keep.wav"
    target.write_bytes(b"old")

    def explode(tmp: Path) -> None:
        tmp.write_bytes(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, explode)
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.wav"]


def test_unknown_output_format_is_refused(tmp_path: Path, stereo: Audio) -> None:
    with pytest.raises(ParameterError, match="cannot write"):
        save_audio(stereo, tmp_path / "x.mp3")
    with pytest.raises(ParameterError, match="cannot write"):
        save_audio(stereo, tmp_path / "x.flac", bit_depth="float")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AudioFileError, match="no such file"):
        load_audio(tmp_path / "nope.wav")


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(AudioFileError, match="empty"):
        load_audio(tmp_path / "empty.wav")


def test_not_audio_with_audio_extension(tmp_path: Path) -> None:
    (tmp_path / "notes.mp3").write_text("these are my lyrics, not audio\n" * 50)
    with pytest.raises(AudioFileError, match="not a readable audio file"):
        load_audio(tmp_path / "notes.mp3")


def test_corrupt_header(tmp_path: Path, stereo: Audio) -> None:
    path = tmp_path / "corrupt.flac"
    save_audio(stereo, path)
    data = bytearray(path.read_bytes())
    data[:64] = os.urandom(64)
    path.write_bytes(bytes(data))
    with pytest.raises(AudioFileError, match="not a readable audio file"):
        load_audio(path)


@pytest.mark.parametrize("suffix", [".wav", ".aiff"])
def test_truncated_pcm(tmp_path: Path, stereo: Audio, suffix: str) -> None:
    path = tmp_path / f"cut{suffix}"
    sf.write(path, stereo.samples.T, 44100, subtype="PCM_16")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(AudioFileError, match="truncated"):
        load_audio(path)


def test_truncated_flac(tmp_path: Path) -> None:
    noise = audio(np.random.default_rng(1).uniform(-0.5, 0.5, (2, 44100 * 3)), 44100)
    path = tmp_path / "cut.flac"
    save_audio(noise, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    try:
        loaded = load_audio(path)
    except AudioFileError as err:
        assert str(err).startswith(str(path))
    else:  # libsndfile may decode the frames that are there; it must never invent more
        assert loaded.frames <= noise.frames


def test_nan_and_inf_samples(tmp_path: Path, stereo: Audio) -> None:
    bad = stereo.samples.copy()
    bad[1, 4410] = np.nan
    bad[0, 9000] = np.inf
    path = tmp_path / "nan.wav"
    sf.write(path, bad.T, 44100, subtype="FLOAT")
    with pytest.raises(InvalidAudioError, match=r"2 NaN/Inf samples \(first at 0.100 s\)"):
        load_audio(path)


def test_too_many_channels(tmp_path: Path) -> None:
    path = tmp_path / "many.wav"
    sf.write(path, np.zeros((1000, 9)), 48000, subtype="PCM_16")
    with pytest.raises(InvalidAudioError, match="9 channels"):
        load_audio(path)


@pytest.mark.parametrize("rate", [4000, 400000])
def test_sample_rate_out_of_range(tmp_path: Path, rate: int) -> None:
    path = tmp_path / "odd.wav"
    sf.write(path, np.zeros((1000, 2)), rate, subtype="PCM_16")
    with pytest.raises(InvalidAudioError, match=f"sample rate {rate} Hz"):
        load_audio(path)


def test_odd_rates_and_mono_load(tmp_path: Path) -> None:
    for rate, channels in [(8000, 1), (11025, 1), (37800, 2), (192000, 6), (384000, 8)]:
        path = tmp_path / f"r{rate}.wav"
        sf.write(path, np.full((rate // 10, channels), 0.1), rate, subtype="PCM_24")
        loaded = load_audio(path)
        assert (loaded.sample_rate, loaded.channels, loaded.frames) == (rate, channels, rate // 10)


def test_audio_shape_rules() -> None:
    mono = Audio(np.zeros(100), 8000)
    assert mono.samples.shape == (1, 100) and mono.samples.dtype == np.float32
    with pytest.raises(ParameterError, match="channels, frames"):
        Audio(np.zeros((2, 2, 2)), 8000)
    with pytest.raises(InvalidAudioError, match="no audio frames"):
        validate_audio(Audio(np.zeros((2, 0)), 8000))


def test_dither_is_deterministic(tmp_path: Path, stereo: Audio) -> None:
    save_audio(stereo, tmp_path / "a.wav", bit_depth="16")
    save_audio(stereo, tmp_path / "b.wav", bit_depth="16")
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()


def test_huge_file_is_refused_before_loading(tmp_path: Path, stereo: Audio, monkeypatch: pytest.MonkeyPatch) -> None:
    import trackwright.audio as audio_module

    path = tmp_path / "big.wav"
    save_audio(stereo, path)
    monkeypatch.setattr(audio_module, "MAX_SAMPLES", 1000)
    with pytest.raises(AudioFileError, match="too large to load"):
        load_audio(path)
