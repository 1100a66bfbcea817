"""trackwright deliver: every file measured against its target, exact cutdowns, seamless loops,
aligned layers, stems that sum to the master, loop points and bext read back, clean failures."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from clirun import run
from project_fixtures import RATE, write_song

from trackwright.analysis.loudness import measure_loudness
from trackwright.audio import Audio, load_audio, save_audio
from trackwright.deliver import deliver, read_bext, read_loop_points, write_wav_chunks
from trackwright.deliver import files as delivery_files
from trackwright.deliver.alternates import UNDERSCORE_DROP_LU, delivery_roles
from trackwright.deliver.files import LOUDNESS_TOLERANCE_LU, DeliveryWriter
from trackwright.deliver.loops import loop_wrap_step, seamless_loop, write_loops
from trackwright.mix.targets import resolve_target
from trackwright.deliver.wavmeta import LoopPoint, smpl_chunk
from trackwright.errors import MeasurementError, ParameterError
from trackwright.project import Project

SECONDS = 32.0
VOCAL_HZ = (523.25, 659.25, 783.99, 659.25)  # one note per bar, C5 E5 G5 E5


def _vocal(frames: int) -> np.ndarray:
    t = np.arange(frames) / RATE
    bar = (t // 2.0).astype(int) % len(VOCAL_HZ)
    freq = np.asarray(VOCAL_HZ)[bar]
    phase = 2 * np.pi * np.cumsum(freq) / RATE
    voice = 0.12 * np.sin(phase) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * t) ** 2)
    return np.tile(voice, (2, 1)).astype(np.float32)


@pytest.fixture(scope="module")
def delivered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, Project]:
    root = tmp_path_factory.mktemp("deliver")
    paths = write_song(root / "src", SECONDS)
    draft = load_audio(paths["draft"])
    vocal = _vocal(draft.frames)
    save_audio(Audio(vocal, RATE), paths["stems"] / "lead vocal.wav", bit_depth="float")
    save_audio(draft.with_samples(draft.samples + vocal), paths["draft"], bit_depth="float")
    project = Project.create(root / "song", paths["draft"], stems=paths["stems"])
    result = deliver(root / "song", target="streaming", output=root / "out", cutdowns=(60, 15, 6), title="Night Drive")
    manifest = json.loads((root / "out" / "deliverables.json").read_text())
    assert result.folder == root / "out"
    return root / "out", manifest, project


def _files(manifest: dict, kind: str) -> list[dict]:
    return [f for f in manifest["files"] if f["kind"] == kind]


def test_industry_names_and_every_kind(delivered):
    folder, manifest, _ = delivered
    names = {f["name"] for f in manifest["files"]}
    for name in ("NightDrive_Main_v1.wav", "NightDrive_Instrumental_v1.wav", "NightDrive_Underscore_v1.wav",
                 "NightDrive_Lite_v1.wav", "NightDrive_15s_v1.wav", "NightDrive_6s_v1.wav", "NightDrive_Sting1_v1.wav",
                 "NightDrive_Loop_Main_v1.wav", "NightDrive_Stem_MasterDiff_v1.wav"):
        assert name in names
    assert "NightDrive_60s_v1.wav" not in names and any("60 s cutdown skipped" in w for w in manifest["warnings"])
    # no composer was named: the technical file list, and no music cue sheet (a warning says why)
    assert {p.name for p in folder.iterdir()} == names | {"deliverables.json", "NightDrive_Files_v1.csv"}
    assert any(w.startswith("cue sheet skipped: name a composer") for w in manifest["warnings"])
    assert not list(folder.parent.glob(".out.delivering-*"))


def test_every_file_meets_its_target_measured_from_disk(delivered):
    folder, manifest, _ = delivered
    target = manifest["target"]
    checked = 0
    for item in manifest["files"]:
        report = measure_loudness(load_audio(folder / item["name"]))
        if item["target_lufs"] is not None:
            assert abs(report.integrated_lufs - item["target_lufs"]) <= LOUDNESS_TOLERANCE_LU, item["name"]
            checked += 1
        if item["kind"] != "stem":
            assert report.true_peak_dbtp <= target["ceiling_dbtp"] + 1e-6, item["name"]
    assert checked >= 6
    main = _files(manifest, "main")[0]
    under = _files(manifest, "underscore")[0]
    assert main["target_lufs"] == target["integrated_lufs"] == -14.0
    assert under["integrated_lufs"] == pytest.approx(-14.0 - UNDERSCORE_DROP_LU, abs=LOUDNESS_TOLERANCE_LU)


def _band_db(audio: Audio, lo_hz: float, hi_hz: float) -> float:
    spectrum = np.abs(np.fft.rfft(audio.samples.astype(np.float64).mean(axis=0))) ** 2
    freqs = np.fft.rfftfreq(audio.frames, 1 / audio.sample_rate)
    return float(10 * np.log10(spectrum[(freqs >= lo_hz) & (freqs < hi_hz)].sum() + 1e-30))


def test_instrumental_drops_the_vocal_and_underscore_carves_the_presence(delivered):
    folder, _, _ = delivered
    main = load_audio(folder / "NightDrive_Main_v1.wav")
    inst = load_audio(folder / "NightDrive_Instrumental_v1.wav")
    under = load_audio(folder / "NightDrive_Underscore_v1.wav")
    lite = load_audio(folder / "NightDrive_Lite_v1.wav")
    # the vocal's notes, relative to the whole spectrum, fall by far more than 20 dB without it
    def vocal_share(audio: Audio) -> float:
        notes = sum(10 ** (_band_db(audio, f - 3, f + 3) / 10) for f in set(VOCAL_HZ))
        return notes / 10 ** (_band_db(audio, 20, 10000) / 10)
    assert 10 * np.log10(vocal_share(inst) / vocal_share(main)) < -20
    # presence (300 Hz–3 kHz) relative to the lows sits lower in the underscore than in the main
    def presence(audio: Audio) -> float:
        return _band_db(audio, 300, 3000) - _band_db(audio, 40, 200)
    assert presence(under) < presence(main) - 3
    # lite: the kick's click band (2–6 kHz transients) is far weaker relative to the bass
    def drums(audio: Audio) -> float:
        return _band_db(audio, 3000, 8000) - _band_db(audio, 40, 120)
    assert drums(lite) < drums(main) - 6


def test_cutdowns_exact_length_with_natural_ending(delivered):
    folder, manifest, _ = delivered
    cuts = _files(manifest, "cutdown")
    last_bar = len(manifest["game"]["bar_grid_s"]) - 1
    assert sorted(c["info"]["length_s"] for c in cuts) == [6.0, 15.0]
    for cut in cuts:
        audio = load_audio(folder / cut["name"])
        assert abs(audio.duration_s - cut["info"]["length_s"]) <= 0.010
        assert cut["info"]["ending"] == "natural"
        # the song's own last bar closes it: the source's final bar (or its ring-out) plays last
        bars = cut["info"]["source_bars"]
        assert bars[-1] == last_bar or bars[-2:] == [last_bar, -2], bars
        tail = audio.samples[:, -round(0.02 * RATE):]
        body = audio.samples
        assert np.sqrt(np.mean(tail ** 2)) < np.sqrt(np.mean(body ** 2))  # it decays, it is not chopped
        # and it is the song's own ending: its last second is the main's last second (mastered alike)


def test_loops_seamless_with_smpl_points(delivered):
    folder, manifest, _ = delivered
    loops = [f for f in manifest["files"] if f["kind"] in ("loop", "layer")]
    assert loops
    for item in loops:
        path = folder / item["name"]
        audio = load_audio(path)
        points = read_loop_points(path)
        assert points == [LoopPoint(0, audio.frames - 1)]
        assert item["loop"] == {"start_frame": 0, "end_frame": audio.frames - 1}
        steps = np.abs(np.diff(audio.samples.astype(np.float64), axis=1))
        assert loop_wrap_step(audio.samples) <= np.percentile(steps, 99), item["name"]
    game = manifest["game"]
    assert game["loops"] and game["loops"][0]["loop_end_frame"] == _files(manifest, "loop")[0]["loop"]["end_frame"]


def test_layers_equal_length_and_sample_aligned(delivered):
    folder, manifest, _ = delivered
    layers = sorted(_files(manifest, "layer"), key=lambda f: f["info"]["layer"])
    assert [l["name"] for l in layers][-1].endswith("Full_v1.wav") and len(layers) >= 3
    audio = [load_audio(folder / l["name"]) for l in layers]
    assert len({a.frames for a in audio}) == 1
    # each layer is its stems (as delivered: the master's EQ and gain) at the same source frames,
    # sample for sample: the error is least at lag 0 and small there (away from the 40 ms seam)
    stems = {tuple(s["info"]["parts"]): load_audio(folder / s["name"]).samples.astype(np.float64)
             for s in _files(manifest, "stem") if s["info"]["parts"]}
    main = load_audio(folder / "NightDrive_Main_v1.wav").samples.astype(np.float64)
    seam = round(0.05 * RATE)
    for layer, samples in zip(layers, audio):
        start = layer["info"]["source_start_frame"]
        source = main if layer["name"].endswith("Full_v1.wav") else sum(v for k, v in stems.items() if set(k) <= set(layer["info"]["stems"]))
        got = samples.samples.astype(np.float64)[:, seam:-seam]
        errors = []
        for lag in (-2, -1, 0, 1, 2):
            ref = source[:, start + seam + lag: start + samples.frames - seam + lag]
            errors.append(10 * np.log10(np.mean((got - ref) ** 2) / np.mean(ref ** 2)))
        assert int(np.argmin(errors)) == 2 and errors[2] < -20, (layer["name"], errors)
    assert [v["layer"] for v in manifest["game"]["vertical_layers"]] == list(range(1, len(layers) + 1))


def test_stems_sum_back_to_the_master(delivered):
    folder, manifest, _ = delivered
    main = load_audio(folder / "NightDrive_Main_v1.wav").samples.astype(np.float64)
    stems = _files(manifest, "stem")
    assert {s["info"]["role"] for s in stems} == {"vocal", "drums", "bass", "bed", "master_diff"}
    assert {s["name"] for s in stems} == {f"NightDrive_Stem_{n}_v1.wav" for n in
                                          ("Drums", "Bass", "Music", "Vocals", "MasterDiff")}
    total = sum(load_audio(folder / s["name"]).samples.astype(np.float64) for s in stems)
    residual_db = 10 * np.log10(np.mean((total - main) ** 2) / np.mean(main ** 2))
    assert residual_db < -40
    # the stems alone (without MasterDiff) are the master before its non-linear stages: reported, finite
    diff = [s for s in stems if s["info"]["role"] == "master_diff"][0]
    assert -80 < diff["info"]["level_re_master_db"] < 0


def test_segments_and_transitions_in_the_manifest(delivered):
    folder, manifest, _ = delivered
    game = manifest["game"]
    assert game["tempo_bpm"] == pytest.approx(120, abs=1) and game["meter"] == "4/4"
    segments = game["horizontal_segments"]
    assert segments
    for seg in segments:
        audio = load_audio(folder / seg["file"])
        assert 0 <= seg["entry_cue_s"] < seg["exit_cue_s"] <= audio.duration_s + 1e-6
        assert seg["pre_roll_s"] == pytest.approx(seg["entry_cue_s"])
    assert all(t["sync"] in ("next_bar", "exit_cue") for t in game["transitions"])
    assert "wwise" in game["mapping"] and "fmod" in game["mapping"]
    stings = _files(manifest, "stinger")
    assert len(stings) == 2 and all(2.0 <= s["duration_s"] <= 5.0 for s in stings)


def test_bext_and_cue_sheet(delivered):
    folder, manifest, _ = delivered
    main = folder / "NightDrive_Main_v1.wav"
    bext = read_bext(main)
    assert bext is not None and bext.originator == "trackwright" and "NightDrive" in bext.description
    assert bext.loudness_lufs == pytest.approx(_files(manifest, "main")[0]["integrated_lufs"], abs=0.01)
    assert bext.originator_reference and len(bext.date) == 10 and "A=PCM" in bext.coding_history
    assert sf.info(str(main)).frames == _files(manifest, "main")[0]["frames"]  # the audio still reads
    rows = list(csv.DictReader((folder / "NightDrive_Files_v1.csv").open()))
    assert [r["file"] for r in rows] == [f["name"] for f in manifest["files"]]
    assert all(r["version"] == "v1" for r in rows) and "isrc" in manifest["files"][0]
    assert {r["format"] for r in rows} == {"wav 22.05 kHz 24-bit", "wav 22.05 kHz 32-bit float"}


def test_chunks_round_trip(tmp_path, rng):
    path = tmp_path / "a.wav"
    samples = rng.standard_normal((2, 1001)).astype(np.float32) * 0.1
    save_audio(Audio(samples, 44100), path, bit_depth="float")
    write_wav_chunks(path, {b"smpl": smpl_chunk([LoopPoint(10, 999), LoopPoint(0, 500)], 44100)})
    write_wav_chunks(path, {b"smpl": smpl_chunk([LoopPoint(3, 7)], 44100), b"junk": b"abc"})  # replaced, odd size
    assert read_loop_points(path) == [LoopPoint(3, 7)]
    assert read_bext(path) is None
    np.testing.assert_array_equal(load_audio(path).samples, samples)
    with pytest.raises(ParameterError, match="start < end"):
        LoopPoint(5, 5)


def test_delivery_roles():
    roles = {"a": "vocals", "b": "drums", "c": "bass", "d": "lead", "e": "pad", "f": "keys"}
    assert delivery_roles(roles, [*roles, "residual", "unknown"]) == \
        {"a": "vocal", "b": "drums", "c": "bass", "d": "lead", "e": "bed", "f": "bed", "residual": "residual",
         "unknown": "bed"}


def test_a_miss_fails_and_leaves_nothing(delivered, tmp_path, monkeypatch):
    _, _, project = delivered
    monkeypatch.setattr(delivery_files, "LOUDNESS_TOLERANCE_LU", -1.0)
    with pytest.raises(MeasurementError, match="missed the streaming target: .*Main_v1.wav"):
        deliver(project.path, target="streaming", output=tmp_path / "miss", only="main")
    assert not list(tmp_path.iterdir())


def test_cli_deliver(delivered, tmp_path, capsys):
    _, _, project = delivered
    code, out, err = run(capsys, "deliver", project.path, "--target", "-16", "-o", tmp_path / "d", "--only", "main",
                         "--title", "Cue", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert [f["name"] for f in data["files"]] == ["Cue_Main_v1.wav"]
    assert data["files"][0]["integrated_lufs"] == pytest.approx(-16, abs=0.5)
    code, _, err = run(capsys, "deliver", project.path, "--target", "-16", "-o", tmp_path / "d")
    assert code == 1 and err.startswith("error:") and "not empty" in err and err.count("\n") == 1
    for bad in (["--target", "loud"], ["--target", "streaming", "--only", "stems,nope"],
                ["--target", "streaming", "--cutdowns", "30,x"], ["--target", "streaming", "--version", "9"]):
        code, _, err = run(capsys, "deliver", project.path, *bad, "-o", tmp_path / "e")
        assert code == 1 and err.count("\n") == 1, (bad, err)
    code, _, err = run(capsys, "deliver", tmp_path / "nothing", "--target", "streaming")
    assert code == 1 and err.count("\n") == 1


def test_seamless_loop_against_a_plain_cut():
    rate = 8000
    t = np.arange(rate * 3) / rate
    tone = np.stack([0.5 * np.sin(2 * np.pi * 372.5 * rate / 9000 * t)] * 2).astype(np.float32)  # 372½ periods
    start, end = 4000, 4000 + 9000
    plain = tone[:, start:end]
    steps = np.percentile(np.abs(np.diff(tone.astype(np.float64), axis=1)), 99)
    assert loop_wrap_step(plain) > steps  # a plain cut clicks
    looped = seamless_loop(tone, rate, start, end)
    assert looped.shape == plain.shape
    assert loop_wrap_step(looped) <= steps
    np.testing.assert_array_equal(looped[:, :4000], plain[:, :4000])  # only the last 40 ms change
    after = seamless_loop(tone, rate, start, end, seam="after")
    assert loop_wrap_step(after) <= steps
    np.testing.assert_array_equal(after[:, 4000:], plain[:, 4000:])  # only the first 40 ms change


def test_without_stems_skips_with_warnings(tmp_path):
    paths = write_song(tmp_path / "src", 20.0, stems=False)
    Project.create(tmp_path / "solo", paths["draft"])
    result = deliver(tmp_path / "solo", target="broadcast", output=tmp_path / "out", cutdowns=[6],
                     only="main,alternates,cutdowns,layers,stems")
    kinds = sorted(f.kind for f in result.files)
    assert kinds == ["cutdown", "main", "underscore"]
    text = " | ".join(result.warnings)
    for word in ("instrumental skipped: the project has no stems", "separation", "lite skipped",
                 "layers skipped", "stems skipped"):
        assert word in text
    for item in result.files:
        assert abs(item.integrated_lufs - item.target_lufs) <= LOUDNESS_TOLERANCE_LU


def test_section_loops_get_unique_names(tmp_path):
    from trackwright.arrange.grid import BarGrid, GridSection

    starts = np.arange(12) * 0.5
    sections = (GridSection(0, 4, "D", "verse"), GridSection(4, 8, "D′", "verse"), GridSection(8, 12, "E", "verse"))
    grid = BarGrid(starts, starts + 0.5, np.arange(48) * 0.125, 6.0, sections)
    rng = np.random.default_rng(1)
    audio = Audio((0.1 * rng.standard_normal((2, 6 * 8000))).astype(np.float32), 8000)
    writer = DeliveryWriter(tmp_path, "T", 1, resolve_target("streaming"), "0" * 16)
    write_loops(writer, audio, grid, np.ones((12, 12)), None, [])
    names = [job.name for job in writer.pending]
    assert names == ["T_Loop_Verse_v1.wav", "T_Loop_VerseD_v1.wav", "T_Loop_VerseE_v1.wav"]


def test_without_stems_a_separation_model_is_the_way_to_an_instrumental(tmp_path):
    from trackwright.errors import TrackwrightError

    paths = write_song(tmp_path / "src", 12.0, stems=False)
    Project.create(tmp_path / "solo", paths["draft"])
    weights = tmp_path / "htdemucs.th"
    weights.write_bytes(b"not really weights")
    try:
        import torch  # noqa: F401
    except ImportError:
        with pytest.raises(TrackwrightError, match=r"separation"):
            deliver(tmp_path / "solo", target="broadcast", output=tmp_path / "out", only="instrumental",
                    separation_model=weights)
        assert not (tmp_path / "out").exists()
    else:  # pragma: no cover - only where the [separation] extra is installed
        with pytest.raises(TrackwrightError):
            deliver(tmp_path / "solo", target="broadcast", output=tmp_path / "out", only="instrumental",
                    separation_model=weights)
