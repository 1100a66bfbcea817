"""Production benchmark, part B (`make bench`): re-rendering, expression, drum layering and mixing.

Prints, for a 3-minute four-part piece (pop form at 80 BPM: drums, bass, chords, lead):

* FluidSynth re-render of the four parts with instrument presets (FluidR3), each part in its own
  process, in parallel: wall time and × realtime (goal ≥ 20×); the same with MuseScore General
  presets (a 38 MB .sf3 that is decoded per process).
* Expression: LRA of the flat draft and of the shaped one (dynamics arc + humanise), LU.
* Drum layering on the rendered drum part with the default Hydrogen kit: hits, mean correlation,
  time, and the low-band (40–120 Hz) energy change at the kicks.
* Mixing the four stems (plan + apply + master, pop style): × realtime (goal ≥ 30×), and the lead's
  masking ratio in its key band before and after.

``--mix-only`` renders the FluidR3 stems and times only the one-call mix (the number to watch
while working on :mod:`trackwright.mix`).

Asserts nothing.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time

import numpy as np
from scipy import signal

from trackwright.analysis.loudness import measure_loudness
from trackwright.audio import Audio
from trackwright.mix.mixer import apply_mix, masking_ratio_db, mix_stems, plan_mix
from trackwright.produce.drums import layer_drums, list_kits
from trackwright.produce.expression import arc_from_sections, humanize, shape_dynamics
from trackwright.produce.fluidsynth import render_midi
from trackwright.produce.instruments import render_parts
from trackwright.score.draft import FLAT_VELOCITY, compose_song, pop_form_sections

RATE = 44100
BPM = 80.0


def _song():  # noqa: ANN202 - (MidiFile, DraftInfo)
    parts = frozenset({"drums", "bass", "chords", "lead"})
    sections = [dataclasses.replace(s, parts=parts, velocity=FLAT_VELOCITY) for s in pop_form_sections()]
    return compose_song(sections, bpm=BPM, programs={"chords": 0})


def main(argv: list[str]) -> int:
    mix_only = "--mix-only" in argv
    midi, info = _song()
    print(f"piece: {info.duration_s:.1f} s, 4 parts (drums, bass, chords, lead), {os.cpu_count()} CPU cores")
    renders = (("FluidR3 presets", {"chords": "strings", "lead": "brass", "bass": "bass", "drums": "drums"}),
               ("MuseScore presets", {"chords": "ms-strings", "lead": "ms-brass", "bass": "ms-bass", "drums": "ms-drums"}))
    for label, presets in renders[:1] if mix_only else renders:
        start = time.perf_counter()
        parts = render_parts(midi, presets, sample_rate=RATE)
        took = time.perf_counter() - start
        print(f"render {label:<18} {took:6.2f} s  {info.duration_s / took:6.1f}× realtime  (goal ≥ 20×)")
        if label.startswith("FluidR3"):
            stems = parts
    if mix_only:
        time_mix_stems(stems)
        return 0

    bar_s = 4 * 60.0 / BPM
    arc = arc_from_sections([(s, e, role) for s, e, _, role in info.sections], bar_s=bar_s)
    start = time.perf_counter()
    shaped = humanize(shape_dynamics(midi, arc), seed=1)
    shaping_s = time.perf_counter() - start
    flat_lra = measure_loudness(render_midi(midi, sample_rate=22050)).loudness_range_lu
    shaped_lra = measure_loudness(render_midi(shaped, sample_rate=22050)).loudness_range_lu
    print(f"expression: LRA flat {flat_lra:.1f} LU → shaped {shaped_lra:.1f} LU (arc + humanise in {shaping_s:.2f} s)")

    if list_kits():
        drums = stems["drums"]
        start = time.perf_counter()
        layered = layer_drums(drums)
        took = time.perf_counter() - start
        kicks = [h for h in layered.hits if h.role == "kick"]
        sos = signal.butter(4, [40, 120], btype="bandpass", fs=RATE, output="sos")

        def low(x: np.ndarray) -> float:
            band = signal.sosfilt(sos, x.mean(axis=0))
            return float(sum(np.sum(band[round(h.time_s * RATE):round((h.time_s + 0.08) * RATE)] ** 2) for h in kicks))

        gain_db = 10 * np.log10(low(layered.audio.samples) / max(low(drums.samples), 1e-20)) if kicks else float("nan")
        mean_corr = np.mean([h.correlation for h in layered.hits]) if layered.hits else float("nan")
        print(f"drum layers ({layered.kit}): {len(kicks)} kicks, "
              f"{len(layered.hits) - len(kicks)} snares, mean correlation {mean_corr:.2f}, "
              f"low band at kicks {gain_db:+.1f} dB, {took:.2f} s ({drums.duration_s / took:.0f}× realtime)")
    else:
        print("drum layers: hydrogen-drumkits not installed, skipped")

    lead = "lead"
    before = masking_ratio_db(stems[lead], [a for n, a in stems.items() if n != lead])
    start = time.perf_counter()
    plan = plan_mix(stems, style="pop")
    planned = time.perf_counter() - start
    result = apply_mix(stems, plan)
    took = time.perf_counter() - start
    after = masking_ratio_db(result.parts[lead], [a for n, a in result.parts.items() if n != lead])
    seconds = next(iter(stems.values())).duration_s
    cuts = sum(len(p.cuts) for p in plan.parts.values())
    print(f"mix of 4 stems, plan then apply separately: plan {planned:.2f} s + apply/master {took - planned:.2f} s "
          f"= {took:.2f} s, {seconds / took:.1f}× realtime; {cuts} unmasking cuts; lead key-band ratio "
          f"{before:+.1f} → {after:+.1f} dB; master {result.master.after.integrated_lufs:.1f} LUFS")
    time_mix_stems(stems)
    return 0


def time_mix_stems(stems: dict[str, Audio]) -> None:
    """Time :func:`mix_stems` (the one-call path `trackwright mix` takes) three times over the
    stems (name → 2 × frames audio); prints the median and best × realtime."""
    seconds = next(iter(stems.values())).duration_s
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        mix_stems(stems, style="pop")
        runs.append(time.perf_counter() - start)
    best, median = min(runs), float(np.median(runs))
    print(f"mix of 4 stems (mix_stems, as `trackwright mix`): median {median:.2f} s = {seconds / median:.1f}× realtime, "
          f"best {best:.2f} s = {seconds / best:.1f}× (goal ≥ 30×)")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
