"""``trackwright deliver`` to a spec sheet: formats per kind measured from the written files (48 kHz 16-bit
dithered, 96 kHz 24-bit FLAC, an MP3 preview), loudness and true peak still on target after the
conversion (pyloudnorm and the project's true-peak meter, not deliver's own report), the naming
template, metadata read back (bext, iXML, INFO, FLAC tags), the music cue sheet, and the FMOD and
Wwise hand-off of the delivery.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from clirun import run
from project_fixtures import write_song

from trackwright.analysis.loudness import true_peak_dbtp
from trackwright.audio import Audio, load_audio, save_audio
from trackwright.deliver import deliver, read_bext, read_loop_points
from trackwright.deliver.formats import lossy_support
from trackwright.deliver.loops import loop_wrap_step
from trackwright.deliver.spec import spec_from_mapping
from trackwright.deliver.wavmeta import LoopPoint, read_info, read_ixml
from trackwright.errors import ParameterError
from trackwright.export import export
from trackwright.project import Project

pyloudnorm = pytest.importorskip("pyloudnorm")
SECONDS = 32.0
SILENCE_S = 1.5
TARGET_LUFS, CEILING = -14.0, -1.0
BRIEF = """title: Night Drive
composer: A. Writer
delivery:
  metadata: {publisher: Tidewater Music, copyright: "℗ 2026 Tidewater"}
  cue_sheet:
    production: The Long Night
    episode: "3"
    frame_rate: 25
    in: "01:00:00:00"
    composers: [{name: A. Writer, society: PRS, ipi: "00123456789", share: 100}]
    publishers: [{name: Tidewater Music, society: PRS, share: 100}]
"""


def _loudness(audio: Audio) -> float:
    return float(pyloudnorm.Meter(audio.sample_rate).integrated_loudness(audio.samples.T.astype(np.float64)))


def _lsb_rms(samples: np.ndarray, bits: int) -> tuple[float, int]:
    lsb = 2.0 ** (1 - bits)
    return float(np.sqrt(np.mean((samples / lsb) ** 2))), len(np.unique(np.round(samples / lsb)))


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 32 s song with four stems (a pad repeating every 4 bars, so bars loop), then 1.5 s of digital silence (where dither shows), and a brief."""
    root = tmp_path_factory.mktemp("spec")
    paths = write_song(root / "src", SECONDS)
    draft = load_audio(paths["draft"])
    t = np.arange(draft.frames) / draft.sample_rate
    freq = np.asarray((261.63, 329.63, 392.0, 329.63))[(t // 2.0).astype(int) % 4]  # a pad whose bars repeat every 4
    pad = np.tile(0.1 * np.sin(2 * np.pi * np.cumsum(freq) / draft.sample_rate), (2, 1)).astype(np.float32)
    save_audio(Audio(pad, draft.sample_rate), paths["stems"] / "pad.wav", bit_depth="float")
    save_audio(draft.with_samples(draft.samples + pad), paths["draft"], bit_depth="float")
    for path in [paths["draft"], *sorted(paths["stems"].glob("*.wav"))]:
        audio = load_audio(path)
        pad = np.zeros((audio.channels, round(SILENCE_S * audio.sample_rate)), dtype=np.float32)
        save_audio(audio.with_samples(np.concatenate([audio.samples, pad], axis=1)), path, bit_depth="float")
    (root / "src" / "brief.yaml").write_text(BRIEF, encoding="utf-8")
    Project.create(root / "song", paths["draft"], stems=paths["stems"], brief=root / "src" / "brief.yaml")
    return root / "song"


@pytest.fixture(scope="module")
def at_48k_16(project: Path) -> tuple[Path, dict]:
    out = project.parent / "d48"
    deliver(project, target="streaming", output=out, only="main,underscore,stems,loops,layers,segments",
            formats=["wav:48k:16"], previews=["mp3"] if lossy_support()["mp3"] is None else [],
            metadata={"isrc": "GB-ABC-26-00001", "catalogue_number": "TWM-042", "artist": "The Night Band"})
    return out, json.loads((out / "deliverables.json").read_text())


def test_48k_16bit_files_are_dithered_and_on_target(at_48k_16) -> None:
    folder, manifest = at_48k_16
    main = folder / "NightDrive_Main_v1.wav"
    info = sf.info(str(main))
    assert (info.samplerate, info.subtype) == (48000, "PCM_16")
    audio = load_audio(main)
    assert abs(_loudness(audio) - TARGET_LUFS) <= 0.5
    assert true_peak_dbtp(audio) <= CEILING
    under = load_audio(folder / "NightDrive_Underscore_v1.wav")
    assert abs(_loudness(under) - (TARGET_LUFS - 6.0)) <= 0.5 and true_peak_dbtp(under) <= CEILING
    # the master's digital silence at the end carries the TPDF dither: 2+ codes, about ±1 LSB
    rms, codes = _lsb_rms(audio.samples[:, -audio.sample_rate // 2:], 16)
    assert 0.3 < rms < 1.0 and codes >= 2
    # stems keep 32-bit float (nothing clips) at the delivery's rate, and carry no dither
    stem = folder / "NightDrive_Stem_Bass_v1.wav"
    assert (sf.info(str(stem)).samplerate, sf.info(str(stem)).subtype) == (48000, "FLOAT")
    assert np.all(load_audio(stem).samples[:, -audio.sample_rate // 4:] == 0.0)
    for item in manifest["files"]:
        assert item["sample_rate"] == 48000 and item["frames"] == sf.info(str(folder / item["name"])).frames


def test_loops_keep_their_wrap_and_loop_points_at_the_new_rate(at_48k_16) -> None:
    folder, manifest = at_48k_16
    looped = [f for f in manifest["files"] if f["kind"] in ("loop", "layer")]
    assert looped
    lengths = set()
    for item in looped:
        path = folder / item["name"]
        audio = load_audio(path)
        assert audio.sample_rate == 48000
        assert read_loop_points(path) == [LoopPoint(0, audio.frames - 1)]
        steps = np.abs(np.diff(audio.samples.astype(np.float64), axis=1))
        assert loop_wrap_step(audio.samples) <= np.percentile(steps, 99), item["name"]
        if item["kind"] == "layer":
            lengths.add(audio.frames)
    assert len(lengths) == 1  # layers still sample-aligned, equal length


def test_mp3_preview_decodes_at_the_expected_length(at_48k_16) -> None:
    if lossy_support()["mp3"] is not None:
        pytest.skip(lossy_support()["mp3"])
    folder, manifest = at_48k_16
    preview = load_audio(folder / "NightDrive_Main_v1.mp3")
    main = load_audio(folder / "NightDrive_Main_v1.wav")
    assert preview.sample_rate == 48000 and preview.frames == main.frames
    (entry,) = [f for f in manifest["files"] if f["name"] == "NightDrive_Main_v1.mp3"]
    assert entry["kind"] == "preview" and entry["info"]["preview_of"] == "NightDrive_Main_v1.wav"
    # held to the ceiling as decoded (re-encoded lower when the codec overshoots), loudness reported
    assert true_peak_dbtp(preview) <= CEILING
    assert _loudness(preview) == pytest.approx(TARGET_LUFS - entry["info"].get("trim_db", 0.0), abs=0.3)
    assert entry["integrated_lufs"] == pytest.approx(_loudness(preview), abs=0.1)
    with sf.SoundFile(str(folder / "NightDrive_Main_v1.mp3")) as file:
        assert file.title == "Night Drive" and file.artist == "The Night Band"


def test_metadata_reads_back(at_48k_16) -> None:
    folder, manifest = at_48k_16
    main = folder / "NightDrive_Main_v1.wav"
    ixml = read_ixml(main)
    assert ixml["USER/ISRC"] == "GBABC2600001" and ixml["USER/COMPOSER"] == "A. Writer"
    assert ixml["USER/PUBLISHER"] == "Tidewater Music" and ixml["USER/CATALOGUE_NUMBER"] == "TWM-042"
    assert ixml["USER/TITLE"] == "Night Drive" and ixml["SPEED/FILE_SAMPLE_RATE"] == "48000"
    assert ixml["AUDIO_BIT_DEPTH"] == "16"
    info = read_info(main)
    assert info["INAM"] == "Night Drive" and info["IART"] == "The Night Band" and info["ICOP"] == "℗ 2026 Tidewater"
    bext = read_bext(main)
    assert "F=48000,W=16" in bext.coding_history and "dither" in bext.coding_history
    assert bext.loudness_lufs == pytest.approx(manifest["files"][0]["integrated_lufs"], abs=0.01)
    assert manifest["isrc"]["main"] == "GBABC2600001"
    under = read_ixml(folder / "NightDrive_Underscore_v1.wav")
    assert under["USER/TITLE"] == "Night Drive (Underscore)" and "USER/ISRC" not in under  # one ISRC, one recording


def test_cue_sheet_for_the_supervisor(at_48k_16) -> None:
    folder, manifest = at_48k_16
    rows = list(csv.DictReader((folder / "NightDrive_CueSheet_v1.csv").open(encoding="utf-8")))
    assert [r["title"] for r in rows] == ["Night Drive", "Night Drive (Underscore)"]
    main = manifest["files"][0]
    first = rows[0]
    assert first["composers"] == "A. Writer (PRS, IPI 00123456789) 100%"
    assert first["publishers"] == "Tidewater Music (PRS) 100%"
    assert (first["usage"], first["timecode_in"]) == ("BI", "01:00:00:00")  # no vocal stem: background instrumental
    frames = int(main["duration_s"] * 25)  # timecode counts whole frames
    assert first["timecode_out"] == f"01:00:{frames // 25:02d}:{frames % 25:02d}"
    assert float(first["duration_s"]) == pytest.approx(main["duration_s"], abs=1e-3)
    assert first["isrc"] == "GBABC2600001" and first["catalogue_number"] == "TWM-042"
    assert "The Long Night" in (folder / "NightDrive_CueSheet_v1.html").read_text(encoding="utf-8")
    files = list(csv.DictReader((folder / "NightDrive_Files_v1.csv").open(encoding="utf-8")))
    assert [f["file"] for f in files] == [f["name"] for f in manifest["files"]]


def test_engine_files_from_the_delivery(at_48k_16, capsys: pytest.CaptureFixture[str]) -> None:
    folder, manifest = at_48k_16
    code, out, err = run(capsys, "export", folder, "--to", "fmod", "--json")
    assert code == 0, err
    script = Path(json.loads(out)["path"])
    assert script.parent == folder and script.name == "NightDrive_fmod.js"
    data = json.loads(re.search(r"var TRACKWRIGHT_MUSIC = (\{.*?\n\});", script.read_text(), re.S).group(1))
    named = [x["file"] for x in data["layers"] + data["segments"]]
    assert named and all((Path(data["audio_folder"]) / name).is_file() for name in named)
    assert {x["file"] for x in data["layers"]} == {f["name"] for f in manifest["files"] if f["kind"] == "layer"}
    result = export(folder, to="wwise")
    rows = list(csv.DictReader(result.path.open(encoding="utf-8"), delimiter="\t"))
    assert rows and all((folder / row["Audio File"].replace("\\", "/")).is_file() for row in rows)
    cues = json.loads((folder / "NightDrive_wwise_cues.json").read_text())
    for segment in cues["segments"]:
        assert segment["sample_rate"] == 48000
        assert segment["entry_cue_samples"] == round(segment["entry_cue_ms"] * 48)


def test_flac_96k_with_a_naming_template(project: Path) -> None:
    out = project.parent / "d96"
    result = deliver(project, target="streaming", output=out, only="main,cutdowns", cutdowns=(10, 6),
                     formats=["flac:96k:24"], name_template="{title}_{kind}_{length}s_{target}")
    names = [f.name for f in result.files]
    assert names == ["NightDrive_Main_34s_streaming.flac", "NightDrive_Cutdown_10s_streaming.flac",
                     "NightDrive_Cutdown_6s_streaming.flac"]
    for name in names:
        info = sf.info(str(out / name))
        assert (info.format, info.samplerate, info.subtype) == ("FLAC", 96000, "PCM_24")
        audio = load_audio(out / name)
        assert abs(_loudness(audio) - TARGET_LUFS) <= 0.5 and true_peak_dbtp(audio) <= CEILING
    with sf.SoundFile(str(out / names[1])) as file:  # FLAC carries text tags
        assert file.title == "Night Drive (Cutdown)" and file.artist == "A. Writer"
        assert file.copyright == "℗ 2026 Tidewater"
    rows = list(csv.DictReader((out / "NightDrive_CueSheet_v1.csv").open(encoding="utf-8")))
    assert [r["title"] for r in rows] == ["Night Drive", "Night Drive (10 s cutdown)", "Night Drive (6 s cutdown)"]


@pytest.mark.parametrize(("flags", "message"), [
    (["--name-template", "{title}_{lenght}s"], r"unknown field \{lenght\}"),
    (["--name-template", "{title}_{kind}", "--only", "cutdowns", "--cutdowns", "10,6"], r"no \{length\}"),
    (["--name-template", "{title}_v1", "--only", "main,stems"], r"no \{kind\}"),
    (["--format", "mp3"], "a preview, not the delivery's format"),
    (["--format", "loops=flac"], "loops and layers are WAV"),
    (["--format", "wav:22050"], "not a delivery rate"),
    (["--format", "main=aiff"], "cannot read 'aiff'"),
    (["--preview", "wav"], "a preview is FLAC, MP3"),
    (["--isrc", "GB-12"], "ISRC 'GB-12' is not"),
])
def test_bad_specs_are_refused_before_rendering(project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                flags: list[str], message: str) -> None:
    code, _, err = run(capsys, "deliver", project, "--target", "streaming", "-o", tmp_path / "out", *flags)
    assert code == 1 and err.startswith("error:") and err.count("\n") == 1, err
    assert re.search(message, err), err
    assert not (tmp_path / "out").exists()


def test_the_brief_delivery_block_is_checked_field_by_field() -> None:
    spec = spec_from_mapping({"format": "wav:48k:24", "formats": {"stems": "wav:48k:float", "cutdowns": "flac"},
                              "previews": ["mp3"], "metadata": {"isrc": "gb-abc-26-00001"}}, composer="A. Writer")
    assert spec.format_for("main").sample_rate == 48000 and spec.format_for("cutdown").container == "flac"
    assert spec.format_for("stem").bit_depth == "float" and spec.format_for("loop").container == "wav"
    assert spec.metadata == {"isrc": "GBABC2600001", "composer": "A. Writer"}
    for block, message in (({"formats": {"loops": "flac"}}, "delivery.formats.loops: loops and layers are WAV"),
                           ({"formats": {"jingles": "wav"}}, "delivery.formats.jingles: unknown kind"),
                           ({"cue_sheet": {"usage": "XX"}}, "delivery.cue_sheet.usage: one of"),
                           ({"cue_sheet": {"in": "01:00:00:30"}}, "not a timecode at 25 fps"),
                           ({"metadata": {"label": "x"}}, "delivery.metadata.label: unknown field"),
                           ({"nme": "{title}"}, "delivery.nme: unknown field")):
        with pytest.raises(ParameterError, match=message):
            spec_from_mapping(block)
