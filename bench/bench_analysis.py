"""Analysis accuracy and speed (`make bench`): ours against exact ground truth, beside madmom and librosa.

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
Peers (:mod:`peers`): madmom's RNN/DBN beat and downbeat trackers, CNN/CRF chords and CNN key;
librosa ``beat_track`` (downbeats = every 4th beat), beat-synchronous ``chroma_cqt`` with
major/minor templates, and the Krumhansl–Kessler key profile.
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
from peers import PITCHES, librosa_system, madmom_system, majmin_overlap, ours

from trackwright.analysis.analyze import analyze
from trackwright.audio import Audio, save_audio
from trackwright.produce.fluidsynth import render_midi
from trackwright.score.draft import compose_song, pop_form_sections

RATE = 22050


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
        num, den = majmin_overlap(piece.chords, result["chords"])
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
    parser.add_argument("--skip-baseline", action="store_true", help="ours only (no madmom, no librosa)")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args(argv)
    print("rendering ground-truth material with FluidSynth …", flush=True)
    songs, bach = composed_songs(args.songs), chorales(args.chorales)
    results: dict = {}
    for label, pieces in (("composed songs", songs), ("Bach chorales", bach), ("all", songs + bach)):
        results[label] = {"ours": evaluate(pieces, ours)}
        if not args.skip_baseline:
            results[label]["madmom"] = evaluate(pieces, madmom_system)
            results[label]["librosa"] = evaluate(pieces, librosa_system)
    goals = {"beat_f": 0.95, "downbeat_f": 0.85, "key_weighted": 0.90, "chord_majmin_wcsr": 0.80, "section_f_3s": 0.80,
             "section_f_0.5s": None}
    print(f"\nanalysis accuracy ({len(songs)} composed songs, {len(bach)} Bach chorales; mir_eval)")
    for label, by_system in results.items():
        print(f"  {label}")
        for metric, goal in goals.items():
            cells = []
            for system in ("ours", "madmom", "librosa"):
                value = by_system.get(system, {}).get(metric)
                cells.append(f"{system} {'n/a' if value is None else f'{value:.3f}':>6}")
            goal_text = f"(goal ≥ {goal})" if goal else ""
            print(f"    {metric:<20} " + "   ".join(cells) + f"   {goal_text}")
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
