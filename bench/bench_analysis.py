"""Analysis accuracy and speed (`make bench`): ours against exact ground truth, beside a librosa baseline.

Material, all rendered with FluidSynth and the system SoundFont so the ground truth is exact:

* **composed songs** — pop-form songs (intro, verse, chorus, verse, chorus, bridge, chorus, outro)
  in several keys, modes and tempos, with varied General MIDI instruments: beats, downbeats, key,
  chords and sections are known;
* **Bach chorales** from the music21 corpus, played by organ, strings or piano at varied tempos:
  beats and downbeats from the score's measures, the key from its key signature and final bass
  note, a chord per beat from music21's chordify (major/minor triads and sevenths; other
  sonorities are left out of the majmin score, as mir_eval does with ``X``).

Scores (mir_eval): beat and downbeat F-measure (±70 ms), key weighted score, chord majmin WCSR
(duration-weighted over the whole set), section boundary hit-rate F at 3 s and 0.5 s.
Baseline: librosa ``beat_track`` (downbeats = every 4th beat), beat-synchronous ``chroma_cqt``
with major/minor templates, and the Krumhansl–Kessler key profile.
Speed: ``analyze`` on 1-, 3- and 10-minute songs (× realtime; cost per minute shows linearity),
and peak memory for the 10-minute song in a fresh process.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import mir_eval
import numpy as np

from trackwright.analysis.analyze import analyze
from trackwright.audio import Audio, save_audio
from trackwright.produce.fluidsynth import render_midi
from trackwright.score.draft import compose_song, pop_form_sections

RATE = 22050
PITCHES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


@dataclass
class Truth:
    name: str
    audio: Audio
    beats: np.ndarray
    downbeats: np.ndarray
    key: str                                   # "C major"
    chords: list[tuple[float, float, str]]    # Harte labels, "X" for out-of-vocabulary
    sections: list[tuple[float, float]] = field(default_factory=list)


def composed_songs(count: int) -> list[Truth]:
    plans = [("C", 110, {}), ("Am", 92, {"chords": 0, "lead": 73}), ("Eb", 76, {"chords": 19, "pad": 89}),
             ("G", 128, {"lead": 56, "bass": 38}), ("F#m", 100, {"chords": 24, "lead": 65}),
             ("Bb", 84, {"chords": 2, "pad": 50, "lead": 71}), ("Dm", 118, {"bass": 34, "lead": 81}),
             ("E", 140, {"chords": 5, "lead": 40})]
    out = []
    for i, (key, bpm, programs) in enumerate(plans[:count]):
        midi, info = compose_song(pop_form_sections(key, seed=i), bpm=bpm, key=key, seed=i, programs=programs)
        tonic = info.key.rstrip("m")
        name = f"{tonic} {'minor' if info.key.endswith('m') else 'major'}"
        chords = [(s, e, label[:-1] + ":min" if label.endswith("m") else label + ":maj") for s, e, label in info.chords]
        out.append(Truth(f"song {key} {bpm} BPM", render_midi(midi, sample_rate=RATE), np.array(info.beat_times_s),
                         np.array(info.downbeat_times_s), name, chords, [(s, e) for s, e, _, _ in info.sections]))
    return out


def _chord_label(chord) -> str:  # noqa: ANN001 - a music21 chord
    try:
        root = chord.root().pitchClass
    except Exception:  # noqa: BLE001 - music21 raises several kinds on odd sonorities
        return "X"
    if chord.isMajorTriad() or chord.isDominantSeventh() or chord.isIncompleteMajorTriad():
        return f"{PITCHES[root]}:maj"
    if chord.isMinorTriad() or chord.isIncompleteMinorTriad() or (chord.isSeventh() and chord.quality == "minor"):
        return f"{PITCHES[root]}:min"
    return "X"


def chorales(count: int) -> list[Truth]:
    import mido
    from music21 import corpus, key, meter, tempo

    out = []
    programs, tempos = (19, 48, 0, 52), (72, 84, 96, 66)
    for path in corpus.getComposer("bach"):
        if len(out) >= count:
            break
        score = corpus.parse(path)
        try:
            score = score.expandRepeats()  # the MIDI plays the repeats; the truth must too
        except Exception:  # noqa: BLE001 - music21 refuses some malformed repeat structures
            continue
        signatures = score.recurse().getElementsByClass(meter.TimeSignature)
        if not signatures or signatures[0].ratioString != "4/4" or len(score.parts) != 4:
            continue
        bpm = tempos[len(out) % len(tempos)]
        # the corpus's own marks (some are text-only, which music21 plays at a default number)
        # would override ours: the MIDI must play at exactly the tempo the truth assumes
        for mark in list(score.recurse().getElementsByClass(tempo.MetronomeMark)):
            mark.activeSite.remove(mark)
        score.insert(0, tempo.MetronomeMark(number=bpm))
        signature = score.recurse().getElementsByClass(key.KeySignature)
        if not signature:
            continue
        bass = score.parts[-1].recurse().notes
        final = bass[-1].pitches[0].pitchClass if len(bass) else None
        major = signature[0].asKey("major")
        minor = signature[0].asKey("minor")
        if final == major.tonic.pitchClass:
            truth_key = f"{PITCHES[major.tonic.pitchClass]} major"
        elif final == minor.tonic.pitchClass:
            truth_key = f"{PITCHES[minor.tonic.pitchClass]} minor"
        else:
            continue  # modal endings (a Picardy/phrygian close): no clean key label
        seconds_per_quarter = 60.0 / bpm
        measures = score.parts[0].getElementsByClass("Measure")
        offsets = [float(m.offset) for m in measures]
        if measures and measures[0].duration.quarterLength < 4:  # anacrusis: the first full bar starts later
            offsets = offsets[1:]
        length_q = float(score.highestTime)
        beats = np.arange(0.0, length_q, 1.0)
        pickup = float(measures[1].offset) % 1.0 if len(measures) > 1 else 0.0
        beats = beats + pickup
        chords = []
        chordified = score.chordify()
        for element in chordified.recurse().getElementsByClass("Chord"):
            start = float(element.getOffsetInHierarchy(chordified))
            end = start + float(element.duration.quarterLength)
            chords.append((start * seconds_per_quarter, end * seconds_per_quarter, _chord_label(element)))
        with tempfile.TemporaryDirectory() as folder:
            midi_path = Path(folder) / "chorale.mid"
            score.write("midi", fp=str(midi_path))
            midi = mido.MidiFile(str(midi_path))
            played = {round(mido.tempo2bpm(m.tempo), 3) for track in midi.tracks for m in track if m.type == "set_tempo"}
            if played != {float(bpm)}:
                raise RuntimeError(f"{path}: the MIDI plays at {sorted(played)} BPM, the truth assumes {bpm}")
            for track in midi.tracks:
                for message in track:
                    if message.type == "program_change":
                        message.program = programs[len(out) % len(programs)]
                for channel in range(4):
                    track.insert(0, mido.Message("program_change", channel=channel,
                                                 program=programs[len(out) % len(programs)], time=0))
            audio = render_midi(midi, sample_rate=RATE)
        out.append(Truth(f"{Path(path).stem} ({truth_key}, {bpm} BPM)", audio,
                         beats[beats * seconds_per_quarter < length_q * seconds_per_quarter] * seconds_per_quarter,
                         np.array(offsets) * seconds_per_quarter, truth_key, chords))
    return out


# --- the librosa baseline ---------------------------------------------------------------------
KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def baseline(audio: Audio) -> dict:
    import librosa

    y = audio.samples.mean(axis=0)
    sr = audio.sample_rate
    _, frames = librosa.beat.beat_track(y=y, sr=sr, hop_length=512)
    beats = librosa.frames_to_time(frames, sr=sr, hop_length=512)
    chroma = librosa.feature.chroma_cqt(y=y, sr=sr, hop_length=512)
    scores = [np.corrcoef(chroma.mean(axis=1), np.roll(profile, k))[0, 1] for profile in (KK_MAJOR, KK_MINOR)
              for k in range(12)]
    best = int(np.argmax(scores))
    key = f"{PITCHES[best % 12]} {'major' if best < 12 else 'minor'}"
    bounds = np.concatenate(([0], frames, [chroma.shape[1]]))
    synced = librosa.util.sync(chroma, bounds, aggregate=np.median)
    templates, labels = [], []
    for root in range(12):
        for quality, intervals in (("maj", (0, 4, 7)), ("min", (0, 3, 7))):
            t = np.zeros(12)
            t[[(root + i) % 12 for i in intervals]] = 1
            templates.append(t / np.linalg.norm(t))
            labels.append(f"{PITCHES[root]}:{quality}")
    norm = synced / np.maximum(np.linalg.norm(synced, axis=0, keepdims=True), 1e-9)
    picks = np.argmax(np.array(templates) @ norm, axis=0)
    times = np.concatenate(([0.0], beats, [audio.duration_s]))
    chords = [(times[i], times[i + 1], labels[p]) for i, p in enumerate(picks) if times[i + 1] > times[i]]
    return {"beats": beats, "downbeats": beats[::4], "key": key, "chords": chords}


def ours(audio: Audio) -> dict:
    analysis = analyze(audio)
    return {"beats": analysis.rhythm.beats_s, "downbeats": analysis.rhythm.downbeats_s,
            "key": analysis.harmony.key.name,
            "chords": [(c.start_s, c.end_s, c.label) for c in analysis.harmony.chords],
            "sections": [(s.start_s, s.end_s) for s in analysis.structure.sections]}


def chord_overlap(truth: Truth, estimate: list[tuple[float, float, str]]) -> tuple[float, float]:
    """(majmin score × scored duration, scored duration) for one piece."""
    ref_int = np.array([[s, e] for s, e, _ in truth.chords])
    ref_lab = [label for _, _, label in truth.chords]
    est_int = np.array([[s, e] for s, e, _ in estimate])
    est_lab = [label for _, _, label in estimate]
    end = float(ref_int[-1, 1])
    est_int, est_lab = mir_eval.util.adjust_intervals(est_int, est_lab, float(ref_int[0, 0]), end, "N", "N")
    intervals, ref_l, est_l = mir_eval.util.merge_labeled_intervals(ref_int, ref_lab, est_int, est_lab)
    durations = mir_eval.util.intervals_to_durations(intervals)
    comparisons = mir_eval.chord.majmin(ref_l, est_l)
    scored = comparisons >= 0
    return float(np.sum(comparisons[scored] * durations[scored])), float(np.sum(durations[scored]))


def evaluate(pieces: list[Truth], system) -> dict:  # noqa: ANN001 - a callable
    beat_f, down_f, key_s, seg3, seg05 = [], [], [], [], []
    chord_num = chord_den = 0.0
    for piece in pieces:
        result = system(piece.audio)
        beat_f.append(mir_eval.beat.f_measure(mir_eval.beat.trim_beats(piece.beats),
                                              mir_eval.beat.trim_beats(np.asarray(result["beats"]))))
        down_f.append(mir_eval.beat.f_measure(mir_eval.beat.trim_beats(piece.downbeats),
                                              mir_eval.beat.trim_beats(np.asarray(result["downbeats"]))))
        key_s.append(mir_eval.key.weighted_score(piece.key, result["key"]))
        num, den = chord_overlap(piece, result["chords"])
        chord_num, chord_den = chord_num + num, chord_den + den
        if piece.sections and "sections" in result:
            ref = np.array(piece.sections)
            est = np.array(result["sections"])
            est[-1, 1] = ref[-1, 1]
            seg3.append(mir_eval.segment.detection(ref, est, window=3.0)[2])
            seg05.append(mir_eval.segment.detection(ref, est, window=0.5)[2])
    return {"beat_f": float(np.mean(beat_f)), "downbeat_f": float(np.mean(down_f)), "key_weighted": float(np.mean(key_s)),
            "chord_majmin_wcsr": chord_num / max(chord_den, 1e-9),
            "section_f_3s": float(np.mean(seg3)) if seg3 else None,
            "section_f_0.5s": float(np.mean(seg05)) if seg05 else None}


def speed(minutes: tuple[float, ...]) -> list[tuple[float, float]]:
    rows = []
    for m in minutes:
        sections = pop_form_sections("C", seed=3)
        song_s = sum(s.bars for s in sections) * 4 * 60 / 110
        plan = sections * max(1, int(np.ceil(m * 60 / song_s)))
        midi, _ = compose_song(plan, bpm=110, key="C", seed=3)
        audio = render_midi(midi, sample_rate=44100)
        audio = audio.with_samples(np.ascontiguousarray(audio.samples[:, : round(m * 60 * 44100)]))
        start = time.perf_counter()
        analyze(audio)
        rows.append((audio.duration_s, time.perf_counter() - start))
    return rows


def memory_of_ten_minutes(folder: Path) -> float:
    """Peak RSS (MiB) of a fresh process analysing a 10-minute stereo 44.1 kHz file."""
    sections = pop_form_sections("G", seed=4)
    midi, _ = compose_song(sections * 5, bpm=100, key="G", seed=4)
    path = folder / "ten.wav"
    audio = render_midi(midi, sample_rate=44100)
    save_audio(audio.with_samples(audio.samples[:, : 600 * 44100]), path, bit_depth="16")
    # VmHWM is this process's own high-water mark; ru_maxrss would inherit the parent's across exec
    code = ("import sys; from trackwright.audio import load_audio; from trackwright.analysis.analyze "
            "import analyze; analyze(load_audio(sys.argv[1])); "
            "print([int(l.split()[1]) / 1024 for l in open('/proc/self/status') if l.startswith('VmHWM')][0])")
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs", type=int, default=8)
    parser.add_argument("--chorales", type=int, default=8)
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args(argv)
    print("rendering ground-truth material with FluidSynth …", flush=True)
    songs, bach = composed_songs(args.songs), chorales(args.chorales)
    results: dict = {}
    for label, pieces in (("composed songs", songs), ("Bach chorales", bach), ("all", songs + bach)):
        results[label] = {"ours": evaluate(pieces, ours)}
        if not args.skip_baseline:
            results[label]["librosa"] = evaluate(pieces, baseline)
    goals = {"beat_f": 0.95, "downbeat_f": 0.85, "key_weighted": 0.90, "chord_majmin_wcsr": 0.80, "section_f_3s": 0.80,
             "section_f_0.5s": None}
    print(f"\nanalysis accuracy ({len(songs)} composed songs, {len(bach)} Bach chorales; mir_eval)")
    for label, by_system in results.items():
        print(f"  {label}")
        for metric, goal in goals.items():
            ours_value = by_system["ours"][metric]
            base = by_system.get("librosa", {}).get(metric)
            text = "n/a" if ours_value is None else f"{ours_value:.3f}"
            base_text = "n/a" if base is None else f"{base:.3f}"
            goal_text = f"(goal ≥ {goal})" if goal else ""
            print(f"    {metric:<20} ours {text:>6}   librosa {base_text:>6}   {goal_text}")
    rows = speed((1.0, 3.0, 10.0))
    print("\nanalysis speed (stereo 44.1 kHz)")
    for duration, seconds in rows:
        print(f"  {duration / 60:5.1f} min: {seconds:.2f} s = {duration / seconds:,.0f}× realtime "
              f"({seconds / (duration / 60):.2f} s per minute)")
    with tempfile.TemporaryDirectory() as folder:
        peak = memory_of_ten_minutes(Path(folder))
    print(f"  peak memory, 10-minute song in a fresh process: {peak:,.0f} MiB (goal ≤ 1024)")
    results["speed"] = [{"duration_s": d, "seconds": s} for d, s in rows]
    results["peak_mib_10_min"] = peak
    print(f"  (this process max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
