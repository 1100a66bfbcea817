"""Stems-in benchmark (`make bench`): built-in separation SDR and basic-pitch note F on known parts.

A pop-form song composed in code (score/draft.py) is rendered part by part with FluidSynth at
44.1 kHz, so every stem and every note is known. Prints:

* separation: SDR (dB) of the built-in split's stems against the parts they stand for, next to
  the SDR of handing over the whole mix (the baseline a split must beat), and × realtime;
* audio to MIDI: mir_eval note precision/recall/F (onset-only within 50 ms; and with offsets,
  mir_eval's default 20 % / 50 ms) for the lead and bass (monophonic) and the chords
  (polyphonic), and × realtime;
* roles: the content guess for each rendered part (names say nothing).

Asserts nothing.
"""

from __future__ import annotations

import time

import mido
import mir_eval
import numpy as np

from trackwright.audio import Audio
from trackwright.produce.fluidsynth import render_midi
from trackwright.produce.separate import separate_builtin, separation_sdr
from trackwright.analysis.roles import measure_content, role_from_content
from trackwright.score.draft import compose_song, pop_form_sections
from trackwright.score.transcribe import transcribe

RATE = 44100


def render_part(midi: mido.MidiFile, part: str, frames: int) -> Audio:
    """The track named ``part`` (with the tempo track) rendered alone, cut or padded to ``frames``."""
    alone = mido.MidiFile(type=1, ticks_per_beat=midi.ticks_per_beat)
    alone.tracks.append(midi.tracks[0])
    alone.tracks.extend(track for track in midi.tracks if track.name == part)
    audio = render_midi(alone, sample_rate=RATE, tail_s=1.0)
    return audio.with_samples(np.pad(audio.samples, ((0, 0), (0, max(0, frames - audio.frames))))[:, :frames])


def note_scores(reference: list[tuple[float, float, int, int]], estimate) -> tuple[float, float, float, float]:  # noqa: ANN001
    """(precision, recall, F onset-only 50 ms, F with offsets) of a Transcription against notes."""
    ref = np.array([[s, e] for s, e, _, _ in reference])
    ref_hz = 440.0 * 2.0 ** ((np.array([p for _, _, p, _ in reference]) - 69) / 12)
    est, est_hz = estimate.intervals_pitches()
    p, r, f, _ = mir_eval.transcription.precision_recall_f1_overlap(ref, ref_hz, est, est_hz, onset_tolerance=0.05,
                                                                    offset_ratio=None)
    f_off = mir_eval.transcription.precision_recall_f1_overlap(ref, ref_hz, est, est_hz)[2]
    return p, r, f, f_off


def main() -> int:
    midi, info = compose_song(pop_form_sections("C"), bpm=100.0, key="C", seed=3)
    frames = round((info.duration_s + 1.0) * RATE)
    start = time.perf_counter()
    parts = {part: render_part(midi, part, frames) for part in info.notes}
    print(f"produce A: a {info.duration_s:.0f} s pop-form song ({info.bars} bars), parts {', '.join(parts)} "
          f"rendered one by one at {RATE} Hz ({time.perf_counter() - start:.1f} s)")
    mix = Audio(sum(a.samples.astype(np.float64) for a in parts.values()), RATE)

    start = time.perf_counter()
    split = separate_builtin(mix)
    seconds = time.perf_counter() - start
    total = sum(s.samples.astype(np.float64) for s in split.stems.values())
    print(f"built-in separation: {mix.duration_s / seconds:.1f}× realtime, stems sum to the mix within "
          f"{np.abs(total - mix.samples).max():.1e}")
    melodic = tuple(p for p in parts if p not in ("drums", "bass"))
    scores = separation_sdr(parts, split, {"drums": ("drums",), "bass": ("bass",),
                                           "centre+sides+other": melodic})
    for group, score in scores.items():
        truth = "+".join({"drums": ("drums",), "bass": ("bass",)}.get(group, melodic))
        print(f"  {group:<20} vs {truth:<20} SDR {score['sdr_db']:+6.2f} dB   (whole mix: {score['mix_sdr_db']:+6.2f} dB)")

    print("audio to MIDI (basic-pitch on onnxruntime), per rendered part:")
    for part, options in (("lead", {"monophonic": True}), ("bass", {"monophonic": True, "max_hz": 500.0}),
                          ("chords", {}), ("pad", {})):
        if part not in parts:
            continue
        start = time.perf_counter()
        result = transcribe(parts[part], **options)
        seconds = time.perf_counter() - start
        p, r, f, f_off = note_scores(info.notes[part], result)
        bent = sum(1 for n in result.notes if any(n.pitch_bends))
        print(f"  {part:<7} {len(info.notes[part]):>4} notes → {len(result.notes):>4}  P {p:.3f} R {r:.3f} "
              f"F(onset 50 ms) {f:.3f}  F(+offsets) {f_off:.3f}  {bent} bent  {parts[part].duration_s / seconds:5.1f}× realtime")

    print("roles from content (file names saying nothing):")
    for part, audio in parts.items():
        guess = role_from_content(measure_content(audio))
        print(f"  {part:<7} → {guess.role:<6} ({guess.reason})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
