"""The systems the analysis benches compare: ours, madmom (ONNX build) and a librosa baseline.

Each takes an :class:`~trackwright.audio.Audio` and returns a dict with ``beats`` and
``downbeats`` (seconds), ``metre`` (``"6/8"``), ``tempo_bpm``, ``key`` (``"C major"``) and
``chords`` ([(start_s, end_s, Harte label)]).

* **madmom**: RNN + DBN beat tracker; RNN + DBN downbeat tracker with 2, 3 or 4 beats to the
  bar (its metre is that count over 4: it has no notion of compound metre); CNN + CRF major/minor
  chords; CNN key. The tempo is 60 / the median beat interval.
* **librosa**: ``beat_track`` (downbeats every 4th beat, metre 4/4), beat-synchronous
  ``chroma_cqt`` with major/minor templates, Krumhansl–Kessler key profiles.
"""

from __future__ import annotations

import mir_eval
import numpy as np

from trackwright.analysis.analyze import analyze
from trackwright.audio import Audio

PITCHES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def _tempo(beats: np.ndarray) -> float:
    return float(60.0 / np.median(np.diff(beats))) if len(beats) >= 2 else 0.0


def ours(audio: Audio) -> dict:
    analysis = analyze(audio)
    rhythm = analysis.rhythm
    return {"beats": rhythm.beats_s, "downbeats": rhythm.downbeats_s, "metre": rhythm.time_signature,
            "tempo_bpm": rhythm.tempo_bpm, "key": analysis.harmony.key.name,
            "chords": [(c.start_s, c.end_s, c.label) for c in analysis.harmony.chords],
            "sections": [(s.start_s, s.end_s) for s in analysis.structure.sections]}


def librosa_system(audio: Audio) -> dict:
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
    return {"beats": beats, "downbeats": beats[::4], "metre": "4/4", "tempo_bpm": _tempo(beats), "key": key,
            "chords": chords}


_MADMOM: dict = {}


def _madmom_processors() -> dict:
    if not _MADMOM:
        from madmom.features import beats, chords, downbeats, key

        _MADMOM.update(
            beat_act=beats.RNNBeatProcessor(), beat_dbn=beats.DBNBeatTrackingProcessor(fps=100),
            down_act=downbeats.RNNDownBeatProcessor(),
            down_dbn=downbeats.DBNDownBeatTrackingProcessor(beats_per_bar=[2, 3, 4], fps=100),
            chord_feat=chords.CNNChordFeatureProcessor(), chord_crf=chords.CRFChordRecognitionProcessor(),
            key=key.CNNKeyRecognitionProcessor(), key_label=key.key_prediction_to_label)
    return _MADMOM


def madmom_system(audio: Audio) -> dict:
    from madmom.audio.signal import Signal

    p = _madmom_processors()
    mono = audio.samples.mean(axis=0).astype(np.float32)
    if audio.sample_rate != 44100:
        import soxr

        mono = soxr.resample(mono, audio.sample_rate, 44100).astype(np.float32)
    signal = Signal(mono, sample_rate=44100, num_channels=1)
    beats = np.asarray(p["beat_dbn"](p["beat_act"](signal)))
    bar = np.asarray(p["down_dbn"](p["down_act"](signal)))
    downbeats = bar[bar[:, 1] == 1, 0] if len(bar) else np.zeros(0)
    per_bar = int(bar[:, 1].max()) if len(bar) else 4
    segments = p["chord_crf"](p["chord_feat"](signal))
    chords = [(float(s), float(e), str(label)) for s, e, label in segments]
    key = str(p["key_label"](p["key"](signal)))  # "A major", "C# minor"
    return {"beats": beats, "downbeats": downbeats, "metre": f"{per_bar}/4", "tempo_bpm": _tempo(beats), "key": key,
            "chords": chords}


SYSTEMS = {"ours": ours, "madmom": madmom_system, "librosa": librosa_system}


def majmin_overlap(reference: list, estimate: list) -> tuple[float, float]:
    """(majmin score × scored duration, scored duration) of one piece's chords, each a list of
    (start_s, end_s, Harte label); reference ``X`` spans are not scored (mir_eval)."""
    ref_int = np.array([[s, e] for s, e, _ in reference])
    ref_lab = [label for _, _, label in reference]
    if not estimate:
        estimate = [(0.0, float(ref_int[-1, 1]), "N")]
    est_int = np.array([[s, e] for s, e, _ in estimate])
    est_lab = [label for _, _, label in estimate]
    est_int, est_lab = mir_eval.util.adjust_intervals(est_int, est_lab, float(ref_int[0, 0]), float(ref_int[-1, 1]),
                                                      "N", "N")
    intervals, ref_l, est_l = mir_eval.util.merge_labeled_intervals(ref_int, ref_lab, est_int, est_lab)
    durations = mir_eval.util.intervals_to_durations(intervals)
    comparisons = mir_eval.chord.majmin(ref_l, est_l)
    scored = comparisons >= 0
    return float(np.sum(comparisons[scored] * durations[scored])), float(np.sum(durations[scored]))
