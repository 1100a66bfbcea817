"""trackwright benchmarks: prints numbers, asserts nothing (`make bench`).

For one 3-minute stereo 44.1 kHz file (the demo draft, rendered longer with FluidSynth):

* meter speed — full ``measure_loudness`` (integrated, momentary, short-term, LRA, true peak),
  × realtime (goal ≥ 300×);
* master speed — ``master`` to the streaming target, × realtime (goal ≥ 100×);
* reference mastering, ours against Matchering on the same file and reference in this same
  process: the speed ratio (goal: ours ≥ 5× faster) and both outputs' loudness and true peak as
  our meter measures them.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from trackwright.analysis.loudness import measure_loudness
from trackwright.audio import Audio, load_audio, save_audio
from trackwright.mix.master import master
from trackwright.mix.targets import resolve_target
from trackwright.produce.fluidsynth import render_midi
from trackwright.score.draft import compose_draft_with_truth

RATE = 44100
SECONDS = 180.0


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    """Median wall time (s) of ``repeats`` calls and the last result."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def make_track(seed: int, bpm: float, key: str, folder: Path) -> Audio:
    """Render a draft of about three minutes with FluidSynth; trimmed to exactly 180 s."""
    bars = int(SECONDS / (4 * 60.0 / bpm)) + 2
    midi, _ = compose_draft_with_truth(bpm=bpm, bars=bars, key=key, seed=seed)
    path = folder / f"draft{seed}.mid"
    midi.save(str(path))
    audio = render_midi(path, sample_rate=RATE)
    return audio.with_samples(audio.samples[:, : int(SECONDS * RATE)])


def row(label: str, value: str) -> None:
    print(f"  {label:<44} {value}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-matchering", action="store_true")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        print("preparing a 3-minute stereo 44.1 kHz track with FluidSynth …", flush=True)
        track = make_track(0, 100.0, "C", tmp)
        reference = make_track(7, 120.0, "A", tmp)
        duration = track.duration_s

        print(f"\ntrackwright benchmarks ({duration:.0f} s, {track.channels} ch, {track.sample_rate} Hz)")
        meter_s, report = timed(lambda: measure_loudness(track), args.repeats)
        row("meter: measure_loudness", f"{meter_s:.3f} s = {duration / meter_s:,.0f}× realtime (goal ≥ 300×)")

        target = resolve_target("streaming")
        master_s, mastered = timed(lambda: master(track, target), args.repeats)
        after = mastered.after
        row("master: streaming (−14 LUFS, −1 dBTP)",
            f"{master_s:.3f} s = {duration / master_s:,.0f}× realtime (goal ≥ 100×)")
        row("  result", f"{after.integrated_lufs:.2f} LUFS, {after.true_peak_dbtp:.2f} dBTP "
                        f"(input {report.integrated_lufs:.2f} LUFS, {report.true_peak_dbtp:.2f} dBTP)")

        ours_s, matched = timed(lambda: master(track, None, reference=reference), args.repeats)
        ref_report = measure_loudness(reference)
        row("master --reference (ours)", f"{ours_s:.3f} s = {duration / ours_s:,.0f}× realtime")
        row("  result", f"{matched.after.integrated_lufs:.2f} LUFS, {matched.after.true_peak_dbtp:.2f} dBTP "
                        f"(reference {ref_report.integrated_lufs:.2f} LUFS, {ref_report.true_peak_dbtp:.2f} dBTP)")

        if args.skip_matchering:
            row("Matchering", "skipped (--skip-matchering)")
        else:
            try:
                import matchering
            except ImportError:
                row("Matchering", "not installed: pip install 'trackwright[bench]'")
            else:
                target_path, ref_path, out_path = tmp / "target.wav", tmp / "reference.wav", tmp / "mg.wav"
                save_audio(track, target_path, bit_depth="float")
                save_audio(reference, ref_path, bit_depth="float")
                matchering.log(lambda *a, **k: None)

                def run_matchering() -> None:
                    matchering.process(target=str(target_path), reference=str(ref_path),
                                       results=[matchering.pcm24(str(out_path))])

                mg_s, _ = timed(run_matchering, 1)
                mg_report = measure_loudness(load_audio(out_path))
                row("Matchering 2 (same file and reference)", f"{mg_s:.3f} s = {duration / mg_s:,.0f}× realtime")
                row("  result", f"{mg_report.integrated_lufs:.2f} LUFS, {mg_report.true_peak_dbtp:.2f} dBTP")
                row("speed ratio ours / Matchering", f"{mg_s / ours_s:.1f}× faster (goal ≥ 5×)")

        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        row("peak memory (max RSS of this process)", f"{peak_mib:,.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
