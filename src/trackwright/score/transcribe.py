"""Audio to MIDI with Spotify's basic-pitch, run on onnxruntime with the model its wheel ships.

Conventions
-----------
* basic-pitch 0.4.0 declares TensorFlow as a requirement; trackwright installs it without its
  dependencies (``make install`` does: ``pip install --no-deps basic-pitch==0.4.0``) plus the
  light ones it needs at inference time (librosa, pretty_midi, resampy, mir_eval) and
  onnxruntime. The network is ``basic_pitch/saved_models/icassp_2022/nmp.onnx``, loaded here
  with onnxruntime directly; nothing is downloaded.
* Audio is mixed to mono and resampled to 22 050 Hz (the model's rate); the model sees 2 s
  windows overlapping by 30 frames (basic-pitch's own windowing and unwrapping are reused), and
  basic-pitch's note creation turns its note/onset/contour posteriors into notes.
* A :class:`TranscribedNote` has ``start_s``/``end_s`` in seconds, a MIDI ``pitch``, a
  ``velocity`` 1–127 (from the level of the note's first 100 ms:
  127 · 10^(dB/40), dB re a full-scale sine) and ``pitch_bends``: about one value per
  model frame (~11.6 ms), spread evenly over the note, in MIDI pitch-bend units for a
  ±2-semitone range (4096 per semitone).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import mido
import numpy as np

from trackwright.analysis.features import mono_at
from trackwright.audio import Audio, validate_audio, write_atomic
from trackwright.errors import MissingDependencyError, ParameterError
from trackwright.progress import ProgressCallback, ignore_progress
from trackwright.score.midifile import append_in_order

#: Sample rate the basic-pitch model runs at, Hz.
MODEL_RATE = 22050
#: The model file inside the basic_pitch package.
MODEL_FILE = ("saved_models", "icassp_2022", "nmp.onnx")
#: Pitch-bend units per semitone in the MIDI this module writes (bend range ±2 semitones).
BEND_PER_SEMITONE = 4096
_INSTALL_HINT = ("install it without TensorFlow: pip install --no-deps basic-pitch==0.4.0 && "
                 "pip install onnxruntime librosa pretty_midi resampy mir_eval (make install does)")
_OVERLAP_FRAMES = 30
#: Lowest pitch the model hears (A0), Hz.
LOWEST_HZ = 27.5
#: basic-pitch's bends read one contour bin (1/3 semitone) sharp: measured on in-tune FluidSynth
#: renders, every note from MIDI 36 to 81 bends +1 bin throughout; subtracted here.
CONTOUR_OFFSET_BINS = 1
#: Length of a note's attack whose level sets its velocity, seconds.
ATTACK_S = 0.1
#: Onsets closer than this count as one attack in monophonic mode, seconds.
CHORD_SPREAD_S = 0.05


@dataclass(frozen=True)
class TranscribedNote:
    """One note heard in the audio.

    Attributes:
        start_s, end_s: onset and offset, seconds from the start of the audio.
        pitch: MIDI note number (21–108).
        velocity: MIDI velocity 1–127, from the RMS level of the note's attack (see :func:`transcribe`).
        pitch_bends: bends spread evenly from onset to offset (one per model frame, ~11.6 ms),
            MIDI units (4096 per semitone, ±2 semitones).
    """

    start_s: float
    end_s: float
    pitch: int
    velocity: int
    pitch_bends: tuple[int, ...] = field(default=(), repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {"start_s": round(self.start_s, 4), "end_s": round(self.end_s, 4), "pitch": self.pitch,
                "velocity": self.velocity, "pitch_bends": list(self.pitch_bends)}


@dataclass(frozen=True)
class Transcription:
    """Notes of one audio signal, in onset order.

    Attributes:
        notes: the :class:`TranscribedNote` list.
        duration_s: length of the audio transcribed, seconds.
    """

    notes: list[TranscribedNote]
    duration_s: float

    def intervals_pitches(self) -> tuple[np.ndarray, np.ndarray]:
        """(onset/offset seconds, shape (notes, 2); frequencies Hz, shape (notes,)) for mir_eval."""
        if not self.notes:
            return np.zeros((0, 2)), np.zeros(0)
        intervals = np.array([[n.start_s, n.end_s] for n in self.notes], dtype=float)
        hz = 440.0 * 2.0 ** ((np.array([n.pitch for n in self.notes], dtype=float) - 69.0) / 12.0)
        return intervals, hz

    def to_midi(self, *, program: int = 0, bpm: float = 120.0, name: str = "transcription") -> mido.MidiFile:
        """A one-track type-1 MIDI file: notes, their velocities and pitch bends (±2 semitones).

        Notes that overlap in time share the channel's bend, so bends are written only for notes
        that sound alone (as basic-pitch does).
        """
        if not 0 <= program <= 127:
            raise ParameterError(f"program must be a General MIDI program 0–127, got {program}")
        midi = mido.MidiFile(type=1, ticks_per_beat=480)
        track = mido.MidiTrack()
        midi.tracks.append(track)
        tempo = mido.bpm2tempo(bpm)
        ticks_per_s = 480 * bpm / 60.0
        track.append(mido.MetaMessage("track_name", name=name, time=0))
        track.append(mido.MetaMessage("set_tempo", tempo=tempo, time=0))
        track.append(mido.Message("program_change", program=program, channel=0, time=0))
        # Bend range ±2 semitones (RPN 0,0), the General MIDI default, said explicitly.
        for control, value in ((101, 0), (100, 0), (6, 2), (38, 0)):
            track.append(mido.Message("control_change", control=control, value=value, channel=0, time=0))
        events: list[tuple[int, int, mido.Message]] = []
        alone = _sounding_alone(self.notes)
        for note, solo in zip(self.notes, alone):
            on, off = round(note.start_s * ticks_per_s), max(round(note.end_s * ticks_per_s),
                                                            round(note.start_s * ticks_per_s) + 1)
            events.append((on, 2, mido.Message("note_on", note=note.pitch, velocity=note.velocity, channel=0)))
            events.append((off, 0, mido.Message("note_off", note=note.pitch, velocity=0, channel=0)))
            if solo and any(note.pitch_bends):
                last = None
                times = np.linspace(note.start_s, note.end_s, len(note.pitch_bends))
                for time_s, bend in zip(times, note.pitch_bends):
                    tick = round(time_s * ticks_per_s)
                    value = int(np.clip(bend, -8192, 8191))
                    if value != last and tick < off:
                        events.append((tick, 1, mido.Message("pitchwheel", pitch=value, channel=0)))
                        last = value
                events.append((off, 1, mido.Message("pitchwheel", pitch=0, channel=0)))
        append_in_order(track, events)
        return midi


def _sounding_alone(notes: list[TranscribedNote]) -> list[bool]:
    """For each note (in onset order), whether no other note overlaps it in time."""
    out = []
    latest_end = -np.inf
    for index, note in enumerate(notes):
        before = latest_end > note.start_s
        after = index + 1 < len(notes) and notes[index + 1].start_s < note.end_s
        out.append(not (before or after))
        latest_end = max(latest_end, note.end_s)
    return out


@contextlib.contextmanager
def _quiet_import() -> Iterator[None]:
    """basic_pitch logs a warning per missing back end (TF, CoreML, TFLite) at import time."""
    logger = logging.getLogger()
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


@lru_cache(maxsize=1)
def _basic_pitch() -> tuple[Any, Any, Any]:
    """(basic_pitch.inference, basic_pitch.note_creation, basic_pitch.constants), imported quietly."""
    try:
        with _quiet_import():
            import basic_pitch
            from basic_pitch import constants, inference, note_creation
    except ImportError as err:
        raise MissingDependencyError(f"audio-to-MIDI needs basic-pitch and its light dependencies "
                                     f"({err.name or err} is missing); {_INSTALL_HINT}") from err
    del basic_pitch
    return inference, note_creation, constants


def model_path() -> Path:
    """Path of the ``nmp.onnx`` model shipped in the basic-pitch wheel.

    Raises MissingDependencyError when basic-pitch is not installed or ships no ONNX model.
    """
    inference, _, _ = _basic_pitch()
    path = Path(inference.__file__).parent.joinpath(*MODEL_FILE)
    if not path.is_file():
        raise MissingDependencyError(f"{path}: basic-pitch's ONNX model is missing; reinstall basic-pitch==0.4.0")
    return path


@lru_cache(maxsize=1)
def _session() -> Any:
    """An onnxruntime session on the model (made once per process)."""
    try:
        import onnxruntime
    except ImportError as err:
        raise MissingDependencyError(f"audio-to-MIDI needs onnxruntime; {_INSTALL_HINT}") from err
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = min(8, os.cpu_count() or 1)
    return onnxruntime.InferenceSession(str(model_path()), sess_options=options, providers=["CPUExecutionProvider"])


def _posteriors(mono: np.ndarray, report: ProgressCallback) -> dict[str, np.ndarray]:
    inference, _, constants = _basic_pitch()
    session = _session()
    overlap_len = _OVERLAP_FRAMES * constants.FFT_HOP
    hop = constants.AUDIO_N_SAMPLES - overlap_len
    padded = np.concatenate([np.zeros(overlap_len // 2, dtype=np.float32), mono])
    windows = np.stack([w[:, 0] for w, _ in inference.window_audio_file(padded, hop)])[:, :, np.newaxis]
    names = ["StatefulPartitionedCall:1", "StatefulPartitionedCall:2", "StatefulPartitionedCall:0"]
    out: dict[str, list[np.ndarray]] = {"note": [], "onset": [], "contour": []}
    batch = 16
    for start in range(0, len(windows), batch):
        results = session.run(names, {"serving_default_input_2:0": windows[start:start + batch]})
        for key, value in zip(("note", "onset", "contour"), results):
            out[key].append(value)
        report(min(1.0, (start + batch) / len(windows)), "transcribing")
    return {key: inference.unwrap_output(np.concatenate(value), len(mono), _OVERLAP_FRAMES)
            for key, value in out.items()}


def transcribe(audio: Audio, *, onset_threshold: float = 0.5, frame_threshold: float = 0.3,
               min_note_s: float = 0.058, min_hz: float | None = None, max_hz: float | None = None,
               monophonic: bool = False, progress: ProgressCallback | None = None) -> Transcription:
    """Notes of ``audio`` (any rate, channels × frames) with onsets, velocities and pitch bends.

    Parameters
    ----------
    audio : Audio
        Best on one melodic stem (a lead, a bass line, keys); polyphony is allowed.
    onset_threshold, frame_threshold : float
        basic-pitch's posterior thresholds (0–1) for starting a note and for keeping it going.
    min_note_s : float
        Shortest note kept, seconds.
    min_hz, max_hz : float, optional
        Keep only notes in this range, Hz (e.g. 30–400 for a bass line).
    monophonic : bool
        One note at a time (a bass line, a lead, a voice): of notes starting within
        :data:`CHORD_SPREAD_S` of each other only the loudest is kept (the others are mostly its
        overtones an octave or a twelfth up), and a note ends where the next one starts.
    progress : callable, optional
        ``(fraction, label)``.

    Returns
    -------
    Transcription

    Raises
    ------
    MissingDependencyError
        basic-pitch or onnxruntime is not installed.
    ParameterError
        A threshold outside 0–1, a negative length or an empty frequency range.

    Examples
    --------
    >>> notes = transcribe(load_audio("lead.wav")).notes  # doctest: +SKIP
    """
    for name, value in (("onset_threshold", onset_threshold), ("frame_threshold", frame_threshold)):
        if not 0.0 < value < 1.0:
            raise ParameterError(f"{name} must be between 0 and 1, got {value:g}")
    if not 0.0 <= min_note_s <= 10.0:
        raise ParameterError(f"min_note_s must be 0–10 seconds, got {min_note_s:g}")
    for name, value in (("min_hz", min_hz), ("max_hz", max_hz)):
        if value is not None and not (math.isfinite(value) and value > 0):
            raise ParameterError(f"{name} (--{name.replace('_', '-')}) must be a positive number of Hz, got {value:g}")
    if min_hz is not None and min_hz < LOWEST_HZ:
        min_hz = None  # below the model's lowest bin; basic-pitch would index from the top
    if min_hz is not None and max_hz is not None and min_hz >= max_hz:
        raise ParameterError(f"min_hz {min_hz:g} Hz must be below max_hz {max_hz:g} Hz")
    validate_audio(audio)
    _, note_creation, constants = _basic_pitch()
    mono = mono_at(audio, constants.AUDIO_SAMPLE_RATE)
    output = _posteriors(mono, progress or ignore_progress)
    min_frames = int(round(min_note_s * constants.AUDIO_SAMPLE_RATE / constants.FFT_HOP))
    with _quiet_import():
        _, events = note_creation.model_output_to_notes(
            output, onset_thresh=onset_threshold, frame_thresh=frame_threshold, min_note_len=max(1, min_frames),
            min_freq=min_hz, max_freq=max_hz, multiple_pitch_bends=False, melodia_trick=True)
    # basic-pitch bends are in 1/3-semitone contour bins, one bin high; MIDI units are 4096 per semitone.
    events = sorted(events, key=lambda e: (e[0], e[2]))
    if monophonic:
        events = _one_at_a_time(events)
    notes = [TranscribedNote(float(start), float(end), int(pitch), _velocity(mono, float(start), float(end)),
                             tuple(int(round((b - CONTOUR_OFFSET_BINS) * BEND_PER_SEMITONE / 3)) for b in (bends or ())))
             for start, end, pitch, _, bends in events]
    return Transcription(notes, audio.duration_s)


def _velocity(mono: np.ndarray, start_s: float, end_s: float) -> int:
    """MIDI velocity from the RMS level of the note's attack (:data:`ATTACK_S`), on the 40 dB curve.

    basic-pitch's own amplitude is a posterior that hardly moves with level, so the level is
    read from the audio: velocity = 127 · 10^(dB/40) with dB the attack's RMS re full-scale sine.
    """
    first = int(start_s * MODEL_RATE)
    last = max(first + 1, int(min(end_s, start_s + ATTACK_S) * MODEL_RATE))
    rms = float(np.sqrt(np.mean(np.square(mono[first:last], dtype=np.float64)))) if first < len(mono) else 0.0
    level_db = 20.0 * np.log10(max(rms * np.sqrt(2.0), 1e-9))
    return int(np.clip(round(127.0 * 10.0 ** (level_db / 40.0)), 1, 127))


def _one_at_a_time(events: list[tuple]) -> list[tuple]:
    """basic-pitch note events ``(start s, end s, pitch, amplitude, bends)`` in onset order, one at a time.

    Of each cluster of onsets within :data:`CHORD_SPREAD_S` the one the model is surest of
    (highest amplitude) is kept; a note is cut where the next one starts (its bends with it).
    """
    kept: list[tuple] = []
    cluster: list[tuple] = []
    for event in [*events, None]:
        if event is not None and cluster and event[0] - cluster[0][0] <= CHORD_SPREAD_S:
            cluster.append(event)
            continue
        if cluster:
            kept.append(max(cluster, key=lambda e: (e[3], -e[2])))
        cluster = [event] if event is not None else []
    out = []
    for index, (start, end, pitch, amplitude, bends) in enumerate(kept):
        following = kept[index + 1][0] if index + 1 < len(kept) else end
        if following < end:
            if bends:
                bends = bends[:max(1, round(len(bends) * (following - start) / max(end - start, 1e-9)))]
            end = following
        out.append((start, end, pitch, amplitude, bends))
    return out


def save_midi(midi: mido.MidiFile, path: str | os.PathLike[str]) -> Path:
    """Write ``midi`` to ``path`` atomically; return the path."""
    return write_atomic(Path(path), lambda tmp: midi.save(str(tmp)))


def transcribe_stems(stems: Mapping[str, Audio], roles: Mapping[str, str], *,
                     progress: ProgressCallback | None = None) -> dict[str, Transcription]:
    """Transcribe every melodic stem (role vocals, lead, bass, guitar, keys, strings or pad) of a project.

    Parameters
    ----------
    stems : mapping
        Part name → stem audio.
    roles : mapping
        Part name → role (see :mod:`trackwright.analysis.roles`); drums, fx and other are skipped.
    """
    report = progress or ignore_progress
    melodic = [name for name in stems if roles.get(name) in MELODIC_ROLES]
    out = {}
    for index, name in enumerate(melodic):
        low_hz, high_hz = (LOWEST_HZ, 500.0) if roles[name] == "bass" else (None, None)
        out[name] = transcribe(stems[name], min_hz=low_hz, max_hz=high_hz, monophonic=roles[name] in MONOPHONIC_ROLES,
                               progress=lambda f, label, i=index: report((i + f) / len(melodic), f"{name}: {label}"))
    return out


#: Roles whose stems carry notes worth transcribing.
MELODIC_ROLES = ("vocals", "lead", "bass", "guitar", "keys", "strings", "pad")
#: Roles transcribed one note at a time.
MONOPHONIC_ROLES = ("vocals", "lead", "bass")
