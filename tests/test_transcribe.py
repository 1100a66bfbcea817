"""basic-pitch on onnxruntime: notes of FluidSynth renders of known MIDI, velocities, bends, MIDI out.

Thresholds: on these renders (4 bars at 110 BPM, 22.05 kHz) the measured onset-only F-measure
(50 ms, mir_eval) is 1.00 for the lead and 0.98 for the bass line; 0.85 leaves room for another
FluidSynth/SoundFont or onnxruntime build without letting a broken pipeline (octave errors,
shifted times: F < 0.5) pass.
"""

from __future__ import annotations

from pathlib import Path

import mido
import mir_eval
import numpy as np
import pytest

from stems_fixtures import rendered_parts
from clirun import run
from trackwright.audio import Audio, save_audio
from trackwright.errors import MissingDependencyError, ParameterError
from trackwright.score import transcribe as transcribe_module
from trackwright.score.transcribe import Transcription, transcribe, transcribe_stems

F_THRESHOLD = 0.85


def onset_f(reference: list[tuple[float, float, int, int]], result: Transcription) -> float:
    ref = np.array([[s, e] for s, e, _, _ in reference])
    ref_hz = 440.0 * 2.0 ** ((np.array([p for _, _, p, _ in reference]) - 69) / 12)
    est, est_hz = result.intervals_pitches()
    return mir_eval.transcription.precision_recall_f1_overlap(ref, ref_hz, est, est_hz, onset_tolerance=0.05,
                                                              offset_ratio=None)[2]


@pytest.mark.parametrize(("part", "kwargs"), [("lead", {"monophonic": True}),
                                              ("bass", {"monophonic": True, "max_hz": 500.0})])
def test_notes_of_a_rendered_line_match_the_midi(part: str, kwargs: dict) -> None:
    stems, info = rendered_parts()
    result = transcribe(stems[part], **kwargs)
    assert onset_f(info.notes[part], result) >= F_THRESHOLD
    assert all(1 <= n.velocity <= 127 and n.end_s > n.start_s for n in result.notes)
    assert result.duration_s == pytest.approx(stems[part].duration_s)


def test_monophonic_drops_the_bass_overtones() -> None:
    stems, info = rendered_parts()
    poly = transcribe(stems["bass"])
    mono = transcribe(stems["bass"], monophonic=True)
    assert len(poly.notes) > 1.5 * len(info.notes["bass"])  # octave overtones read as notes
    assert len(mono.notes) <= 1.1 * len(info.notes["bass"])
    assert all(a.end_s <= b.start_s + 1e-9 for a, b in zip(mono.notes, mono.notes[1:]))


def test_velocity_follows_loudness() -> None:
    stems, _ = rendered_parts()
    loud = transcribe(stems["lead"], monophonic=True)
    soft = transcribe(stems["lead"].with_samples(stems["lead"].samples * 0.2), monophonic=True)
    assert np.median([n.velocity for n in soft.notes]) < np.median([n.velocity for n in loud.notes]) - 10


def test_a_glide_bends_and_in_tune_notes_do_not() -> None:
    rate = 22050
    t = np.arange(2 * rate) / rate
    cents = np.where(t < 1.0, 0.0, np.minimum(t - 1.0, 0.5) * 200.0)  # up a semitone over 0.5 s
    phase = 2 * np.pi * np.cumsum(440.0 * 2 ** (cents / 1200)) / rate
    signal = 0.3 * (np.sin(phase) + 0.3 * np.sin(2 * phase)) * np.minimum(1.0, t * 50)
    result = transcribe(Audio(signal.astype(np.float32), rate), monophonic=True)
    first = result.notes[0]
    assert first.pitch == 69 and first.pitch_bends[0] == 0
    assert max(first.pitch_bends) >= transcribe_module.BEND_PER_SEMITONE // 3  # rising before the next note
    assert result.notes[-1].pitch == 70
    midi = result.to_midi()
    assert any(m.type == "pitchwheel" and m.pitch > 1000 for m in midi.tracks[0])
    stems, _ = rendered_parts()
    lead = transcribe(stems["lead"], monophonic=True)
    assert sum(not any(n.pitch_bends) for n in lead.notes) >= 0.6 * len(lead.notes)


def test_midi_round_trips_notes(tmp_path: Path) -> None:
    stems, _ = rendered_parts()
    result = transcribe(stems["lead"], monophonic=True)
    path = transcribe_module.save_midi(result.to_midi(bpm=110.0), tmp_path / "lead.mid")
    notes = [m for m in mido.MidiFile(str(path)).tracks[0] if m.type == "note_on" and m.velocity > 0]
    assert [m.note for m in notes] == [n.pitch for n in result.notes]
    assert [m.velocity for m in notes] == [n.velocity for n in result.notes]


def test_melodic_stems_only() -> None:
    stems, _ = rendered_parts()
    out = transcribe_stems({"Drums": stems["drums"], "Bass": stems["bass"]}, {"Drums": "drums", "Bass": "bass"})
    assert list(out) == ["Bass"] and out["Bass"].notes


def test_bad_thresholds_and_a_missing_package(monkeypatch: pytest.MonkeyPatch) -> None:
    audio = Audio(np.zeros((1, 22050), np.float32), 22050)
    with pytest.raises(ParameterError, match="onset_threshold"):
        transcribe(audio, onset_threshold=1.5)
    with pytest.raises(ParameterError, match="min_hz"):
        transcribe(audio, min_hz=400.0, max_hz=100.0)
    assert transcribe(audio).notes == []
    monkeypatch.setattr(transcribe_module, "model_path", lambda: (_ for _ in ()).throw(
        MissingDependencyError("basic-pitch missing; pip install --no-deps basic-pitch==0.4.0")))
    transcribe_module._session.cache_clear()
    try:
        with pytest.raises(MissingDependencyError, match="no-deps basic-pitch"):
            transcribe(audio)
    finally:
        monkeypatch.undo()
        transcribe_module._session.cache_clear()


def test_transcribe_command_file_and_project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from trackwright.project import Project

    stems, _ = rendered_parts()
    folder = tmp_path / "stems"
    folder.mkdir()
    for name, file_name in (("lead", "Lead.wav"), ("bass", "Bass.wav"), ("drums", "Drums.wav")):
        save_audio(stems[name], folder / file_name, bit_depth="float")
    code, out, _ = run(capsys, "transcribe", folder / "Lead.wav", "-o", tmp_path / "lead.mid", "--mono", "--json")
    assert code == 0 and len(json.loads(out)["parts"]["Lead"]["notes"]) >= 10
    assert len([m for m in mido.MidiFile(str(tmp_path / "lead.mid")).tracks[0] if m.type == "note_on"]) >= 10
    draft = stems["lead"].with_samples(sum(stems[n].samples for n in ("lead", "bass", "drums")))
    save_audio(draft, tmp_path / "draft.wav", bit_depth="float")
    Project.create(tmp_path / "proj", tmp_path / "draft.wav", stems=folder)
    code, out, _ = run(capsys, "transcribe", tmp_path / "proj", "-o", tmp_path / "midi")
    assert code == 0 and sorted(p.name for p in (tmp_path / "midi").iterdir()) == ["bass.mid", "lead.mid"]
    code, _, err = run(capsys, "transcribe", folder / "Lead.wav", "-o", tmp_path / "lead.txt")
    assert code == 1 and ".mid" in err
    code, out, _ = run(capsys, "stems", tmp_path / "proj", "--set", "lead=vocals", "--json")
    assert code == 0 and json.loads(out)["roles"]["lead"] == {"role": "vocals", "source": "set",
                                                              "reason": "project.yaml roles: lead: vocals"}
