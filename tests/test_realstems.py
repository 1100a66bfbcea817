"""Real stems, real mixes (issue 15): stems checked against the draft, a replaced part gone for real and
level-matched, roles set once and honoured by mix and deliver, quiet material delivered, files 0644,
stingers without clicks, `-o` folders made, `diff` of a mix. Every check measures on its own (numpy
least squares, pyloudnorm), never with the verdict of the code it checks."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import mido
import numpy as np
import pyloudnorm
import pytest
from clirun import run
from project_fixtures import write_song

from trackwright.audio import Audio, load_audio, save_audio
from trackwright.cli import main

RATE = 22050


def _stereo(x: np.ndarray) -> np.ndarray:
    return np.stack([x, x]).astype(np.float32)


def _tones(seconds: float, *freqs_amps: tuple[float, float], tremolo_hz: float = 0.0) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    out = sum(a * np.sin(2 * np.pi * f * t) for f, a in freqs_amps)
    if tremolo_hz:
        out = out * (0.75 + 0.25 * np.sin(2 * np.pi * tremolo_hz * t))
    return out


def _lufs(x: np.ndarray, rate: int = RATE) -> float:
    return float(pyloudnorm.Meter(rate).integrated_loudness(np.asarray(x, dtype=np.float64).T))


def _lsq_gains(mix: np.ndarray, parts: list[np.ndarray]) -> np.ndarray:
    """Least-squares gains of ``parts`` in ``mix`` (all channels × frames), numpy alone."""
    frames = min(mix.shape[1], *(p.shape[1] for p in parts))
    matrix = np.stack([p[:, :frames].astype(np.float64).ravel() for p in parts], axis=1)
    return np.linalg.lstsq(matrix, mix[:, :frames].astype(np.float64).ravel(), rcond=None)[0]


def _bass_midi(path: Path, seconds: float) -> None:
    midi = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    midi.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(120), time=0))
    track.append(mido.MetaMessage("track_name", name="bass", time=0))
    for index in range(int(seconds * 2) - 1):
        track.append(mido.Message("note_on", note=36 + (index // 4) % 3 * 5, velocity=100, time=0))
        track.append(mido.Message("note_off", note=36 + (index // 4) % 3 * 5, velocity=0, time=440))
        track.append(mido.Message("note_on", note=0, velocity=0, time=40))
    midi.save(str(path))


def test_the_stem_sum_measures_residual_polarity_and_delay() -> None:
    """Ground truth built in: ``hit`` enters the mix reversed and 5 ms late, ``ghost`` is not in it."""
    from trackwright.analysis.stemsum import measure_stem_sum  # here, so the other tests run on code without it

    seconds = 6.0
    t = np.arange(round(seconds * RATE)) / RATE
    rng = np.random.default_rng(3)
    pad = _stereo(_tones(seconds, (220, 0.1), (330, 0.05)))
    hit = np.zeros(t.size)
    for start in range(0, t.size - 2000, RATE // 3):
        hit[start:start + 2000] += rng.normal(0, 0.2, 2000) * np.exp(-np.arange(2000) / 300)
    ghost = _stereo(_tones(seconds, (700, 0.05)))
    delay = round(0.005 * RATE)
    mix = pad - _stereo(np.concatenate([np.zeros(delay), hit[:-delay]]))
    found = measure_stem_sum(Audio(mix, RATE), {"pad": Audio(pad, RATE), "hit": Audio(_stereo(hit), RATE),
                                                 "ghost": Audio(ghost, RATE)})
    raw = 10 * np.log10(np.sum((mix - pad - _stereo(hit) - ghost) ** 2) / np.sum(mix ** 2))
    assert found.residual_db == pytest.approx(raw, abs=0.01) and found.residual_db > -30
    assert found.stems["hit"].polarity == -1 and found.stems["hit"].delay_frames == delay
    assert found.stems["pad"].as_given
    assert found.stems["ghost"].gain_db < -40
    assert found.placed_residual_db < -60
    words = " ".join(found.warnings())
    assert "do not add up" in words and "'hit'" in words and "reverse polarity" in words and "'ghost' is not in" in words


def test_a_stem_barely_correlated_with_the_mix_is_not_moved() -> None:
    """A synth rendered twice with free-running phases: its sound is in the mix, its samples are not
    (independent noise here). Its best lag is chance, and a least-squares gain would mute a part
    the mix plainly holds: it keeps its place and level (as given)."""
    from trackwright.analysis.stemsum import measure_stem_sum

    seconds = 6.0
    rng = np.random.default_rng(8)
    drums = np.zeros(round(seconds * RATE))
    for start in range(0, drums.size - 2000, RATE // 2):
        drums[start:start + 2000] += rng.normal(0, 0.3, 2000) * np.exp(-np.arange(2000) / 400)
    synth_in_stem, synth_in_mix = rng.normal(0, 0.05, drums.size), rng.normal(0, 0.05, drums.size)
    mix = _stereo(drums + synth_in_mix)
    found = measure_stem_sum(Audio(mix, RATE), {"drums": Audio(_stereo(drums), RATE),
                                                 "synth": Audio(_stereo(synth_in_stem), RATE)})
    assert found.stems["synth"].delay_frames == 0
    assert found.stems["drums"].delay_frames == 0
    # numpy's least squares would all but mute it (its samples are not in the mix) ...
    assert abs(_lsq_gains(mix, [_stereo(drums), _stereo(synth_in_stem)])[1]) < 0.1
    # ... but the mix beyond the drums holds its sound at its level: it plays as given, at unity
    assert found.stems["synth"].as_given and found.stems["drums"].gain == pytest.approx(1.0, abs=0.02)


@pytest.fixture(scope="module")
def unsummed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A draft of keys alone (and, in ``half``, keys + the bass at −6 dB), stems keys + bass, a bass MIDI part."""
    root = tmp_path_factory.mktemp("unsummed")
    seconds = 8.0
    keys = _stereo(_tones(seconds, (261.6, 0.04), (329.6, 0.04), (392.0, 0.04)))
    bass = _stereo(_tones(seconds, (65.4, 0.2), (130.8, 0.05), tremolo_hz=2.0))
    (root / "stems").mkdir()
    save_audio(Audio(keys, RATE), root / "stems" / "keys.wav", bit_depth="float")
    save_audio(Audio(bass, RATE), root / "stems" / "bass.wav", bit_depth="float")
    save_audio(Audio(keys, RATE), root / "draft.wav", bit_depth="float")
    save_audio(Audio(keys + 0.5 * bass, RATE), root / "half.wav", bit_depth="float")
    save_audio(Audio(keys + 0.005 * bass, RATE), root / "faint.wav", bit_depth="float")   # −46 dB: all but absent
    _bass_midi(root / "bass.mid", seconds)
    return {"root": root, "stems": root / "stems", "draft": root / "draft.wav", "half": root / "half.wav",
            "faint": root / "faint.wav",
            "midi": root / "bass.mid", "bass": root / "stems" / "bass.wav"}


@pytest.mark.parametrize("draft, in_draft_db", [("draft", None), ("half", -6.02), ("faint", None)])
def test_a_replaced_stem_leaves_the_sum_for_real_at_its_level(tmp_path, capsys, unsummed, draft,
                                                               in_draft_db) -> None:
    project = tmp_path / "p"
    code, _, err = run(capsys, "-q", "new", project, "--audio", unsummed[draft], "--stems", unsummed["stems"],
                       "--midi", unsummed["midi"])
    assert code == 0, err
    warned = err
    code, out, err = run(capsys, "produce", project, "--instrument", "bass=gm:33", "--replace", "bass=bass", "--json")
    assert code == 0, err
    data = json.loads(out)
    output = load_audio(data["mix"]).samples
    folder = Path(data["mix"]).parent
    replacement = load_audio(folder / "stems" / "midi-bass.wav").samples
    original = load_audio(unsummed["bass"]).samples
    keys = load_audio(unsummed["stems"] / "keys.wav").samples
    gains = _lsq_gains(output, [original, keys, replacement])
    assert abs(gains[0]) < 10 ** (-40 / 20), gains          # the original bass is gone, in either polarity
    assert gains[1] == pytest.approx(1.0, abs=0.01) and gains[2] == pytest.approx(1.0, abs=0.01)
    # level-matched: to the bass as the draft holds it, or to its own file when the draft does not
    # (silent there, or at a trace of its level)
    expected = _lufs(original) + (in_draft_db or 0.0)
    assert _lufs(replacement) == pytest.approx(expected, abs=1.0)
    peak = np.abs(replacement).max()
    assert 20 * np.log10(peak) <= -1.0
    assert "do not add up" in warned                            # `new` said so
    if in_draft_db is None:
        assert "'bass' is not in the draft" in warned


def test_a_loud_replacement_stays_under_the_ceiling(tmp_path, capsys, unsummed) -> None:
    root = tmp_path / "loud"
    (root / "stems").mkdir(parents=True)
    # the bass stem driven into saturation: dense, peaks near −2 dBFS (the rebuild has sharper peaks)
    loud = 0.8 * np.tanh(load_audio(unsummed["bass"]).samples * 8.0)
    keys = load_audio(unsummed["stems"] / "keys.wav").samples
    save_audio(Audio(loud, RATE), root / "stems" / "bass.wav", bit_depth="float")
    save_audio(Audio(keys, RATE), root / "stems" / "keys.wav", bit_depth="float")
    save_audio(Audio(loud + keys, RATE), root / "draft.wav", bit_depth="float")
    assert run(capsys, "-q", "new", root / "p", "--audio", root / "draft.wav", "--stems", root / "stems",
               "--midi", unsummed["midi"])[0] == 0
    code, out, err = run(capsys, "produce", root / "p", "--instrument", "bass=gm:39", "--replace", "bass=bass",
                         "--json")
    assert code == 0, err
    replacement = load_audio(Path(json.loads(out)["mix"]).parent / "stems" / "midi-bass.wav").samples
    upsampled = np.stack([np.interp(np.arange(replacement.shape[1] * 4) / 4, np.arange(replacement.shape[1]), ch)
                          for ch in replacement])
    original = np.stack([np.interp(np.arange(loud.shape[1] * 4) / 4, np.arange(loud.shape[1]), ch) for ch in loud])
    # never above the ceiling: −1 dBTP, or the peaks of the stem it replaces when they are higher, at most 0 dBTP
    ceiling = min(0.0, max(-1.0, 20 * np.log10(np.abs(original).max())))
    assert 20 * np.log10(np.abs(upsampled).max()) <= ceiling + 0.1
    # and still at the level of what it replaces: its sharper peaks are limited, not the whole part turned down
    assert _lufs(replacement) == pytest.approx(_lufs(loud), abs=1.0)


@pytest.fixture(scope="module")
def band(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project whose stems sum exactly: a full-band 'song' and a 'guitar' (no vocal, no lead)."""
    root = tmp_path_factory.mktemp("band")
    seconds = 12.0
    rng = np.random.default_rng(8)
    t = np.arange(round(seconds * RATE)) / RATE
    song = _tones(seconds, (55, 0.2), (110, 0.05), (220, 0.05)) + 0.01 * rng.normal(size=t.size)
    kick = np.zeros(t.size)
    for start in range(0, t.size - 3000, RATE // 2):
        kick[start:start + 3000] += np.sin(2 * np.pi * 60 * np.arange(3000) / RATE) * np.exp(-np.arange(3000) / 800)
    song = _stereo(song + 0.4 * kick)
    guitar = _stereo(_tones(seconds, (196, 0.06), (392, 0.05), (587, 0.03)) * (np.sin(2 * np.pi * 2 * t) > -0.5))
    (root / "stems").mkdir()
    save_audio(Audio(song, RATE), root / "stems" / "song.wav", bit_depth="float")
    save_audio(Audio(guitar, RATE), root / "stems" / "guitar.wav", bit_depth="float")
    save_audio(Audio(song + guitar, RATE), root / "draft.wav", bit_depth="float")
    project = root / "p"
    assert main(["-q", "new", str(project), "--audio", str(root / "draft.wav"), "--stems", str(root / "stems")]) == 0
    return project


def test_a_role_set_once_reaches_deliver_and_the_mix(band, capsys, tmp_path) -> None:
    code, out, err = run(capsys, "stems", band, "--set", "guitar=lead", "--json")
    assert code == 0, err
    roles = json.loads(out)["roles"]
    assert roles["guitar"] == {"role": "lead", "source": "set", "reason": "project.yaml roles: guitar: lead"}
    code, out, err = run(capsys, "-q", "deliver", band, "--target", "streaming", "-o", tmp_path / "d",
                         "--only", "underscore,stems", "--json")
    assert code == 0, err
    files = {f["name"]: f for f in json.loads(out)["files"]}
    underscore = next(f for f in files.values() if f["kind"] == "underscore")
    assert underscore["info"]["removed_stems"] == ["guitar"]
    lead = next(f for f in files.values() if f["info"].get("role") == "lead")
    assert lead["info"]["parts"] == ["guitar"]
    # the underscore holds no guitar: its least-squares gain there is nil, the song's is not
    under = load_audio(tmp_path / "d" / underscore["name"]).samples
    guitar = load_audio(band / "sources" / "stems" / "guitar.wav").samples
    song = load_audio(band / "sources" / "stems" / "song.wav").samples
    gains = _lsq_gains(under, [guitar, song])
    assert abs(gains[0]) < 0.05 * abs(gains[1])
    code, out, err = run(capsys, "-q", "mix", band, "--style", "rock", "--json")
    assert code == 0, err
    plan = json.loads(out)["plan"]
    assert plan["parts"]["guitar"]["role"] == "lead" and plan["parts"]["song"]["role"] == roles["song"]["role"]
    assert plan["parts"]["song"]["highpass_hz"] == 0.0     # a full-band stem is never high-passed


def test_diff_says_what_the_mix_changed(band, capsys) -> None:
    code, out, err = run(capsys, "-q", "mix", band, "--style", "pop", "--json")
    assert code == 0, err
    first = json.loads(out)["version"]
    code, out, err = run(capsys, "-q", "mix", band, "--style", "cinematic", "--json")
    assert code == 0, err
    second = json.loads(out)["version"]
    code, out, err = run(capsys, "diff", band, "1", str(first), "--json")
    assert code == 0, err
    changes = json.loads(out)["changes"]
    assert changes != ["no musical change"] and changes[0] == "mix added (pop)"
    code, out, _ = run(capsys, "diff", band, str(first), str(second), "--json")
    changes = json.loads(out)["changes"]
    assert "mix style pop → cinematic" in changes and any(line.startswith("bus: reverb") for line in changes)


def test_quiet_material_is_delivered_and_said_to_be_quiet(tmp_path, capsys) -> None:
    """Stems that sum exactly to a quiet draft (−28 LUFS): the MasterDiff is near-silent, and deliver writes it."""
    seconds = 12.0
    keys = _stereo(_tones(seconds, (261.6, 0.02), (329.6, 0.02), (392.0, 0.02)))
    bass = _stereo(_tones(seconds, (65.4, 0.05), tremolo_hz=2.0))
    (tmp_path / "stems").mkdir()
    save_audio(Audio(keys, RATE), tmp_path / "stems" / "keys.wav", bit_depth="float")
    save_audio(Audio(bass, RATE), tmp_path / "stems" / "bass.wav", bit_depth="float")
    save_audio(Audio(keys + bass, RATE), tmp_path / "draft.wav", bit_depth="float")
    assert run(capsys, "-q", "new", tmp_path / "p", "--audio", tmp_path / "draft.wav", "--stems",
               tmp_path / "stems")[0] == 0
    for target in ("atsc", "game", "-20"):
        out_dir = tmp_path / f"d{target}"
        code, out, err = run(capsys, "-q", "deliver", tmp_path / "p", "--target", target, "-o", out_dir,
                             "--only", "main,stems", "--json")
        assert code == 0, (target, err)
        files = json.loads(out)["files"]
        diff = next(f for f in files if f["info"].get("role") == "master_diff")
        assert diff["info"].get("near_silent") is True and diff["integrated_lufs"] is None
        for item in files:
            path = out_dir / item["name"]
            assert path.is_file()
            samples = load_audio(path).samples
            level = _lufs(samples) if np.any(samples) else -np.inf
            assert (level < -70) == (item["integrated_lufs"] is None), item["name"]


def test_outputs_are_0644_and_stingers_start_and_end_at_rest(tmp_path, capsys) -> None:
    song = write_song(tmp_path / "song", 20.0)
    old = os.umask(0o022)
    try:
        assert run(capsys, "-q", "new", tmp_path / "p", "--audio", song["draft"], "--stems", song["stems"])[0] == 0
        code, out, err = run(capsys, "-q", "deliver", tmp_path / "p", "--target", "streaming", "-o",
                             tmp_path / "d", "--only", "main,stingers", "--json")
        assert code == 0, err
        code, _, err = run(capsys, "-q", "master", song["draft"], "-o", tmp_path / "new" / "sub" / "m.wav",
                           "--target", "streaming")
        assert code == 0, err
        code, _, err = run(capsys, "-q", "mix", song["stems"], "-o", tmp_path / "new2" / "m.wav", "--target", "none")
        assert code == 0, err
    finally:
        os.umask(old)
    written = [*(tmp_path / "d").iterdir(), tmp_path / "new" / "sub" / "m.wav", tmp_path / "new2" / "m.wav"]
    for path in written:
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path
    stings = [f for f in json.loads(out)["files"] if f["kind"] == "stinger"]
    assert stings
    for item in stings:
        samples = load_audio(tmp_path / "d" / item["name"]).samples
        assert np.abs(samples[:, 0]).max() < 1e-3 and np.abs(samples[:, -1]).max() < 1e-3, item["name"]
        # no step at the edges larger than the music's own steps inside
        inner = np.abs(np.diff(samples, axis=1)).max()
        assert np.abs(samples[:, :3]).max() <= inner and np.abs(samples[:, -3:]).max() <= inner
