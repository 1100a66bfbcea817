"""Composition operations: speed, motif similarity, voice-leading violations and what the audio
analysis hears after a FluidSynth render. Prints numbers, asserts nothing.

    .venv/bin/python bench/bench_compose.py [--no-audio]
"""

from __future__ import annotations

import sys
import time

from trackwright.score.compose import OPERATIONS, compose
from trackwright.score.draft import compose_draft_with_truth, compose_song, pop_form_sections
from trackwright.score.melody_ops import motif_similarity
from trackwright.score.symbolic import load_score


def _fixtures() -> dict[str, object]:
    out = {"draft 8 bars": load_score(compose_draft_with_truth(bars=8, key="C")[0]),
           "pop song 56 bars": load_score(compose_song(pop_form_sections("Am"), key="Am")[0])}
    try:
        import music21
        from music21.midi import translate

        out["chorale bwv66.6"] = load_score(
            translate.music21ObjectToMidiFile(music21.corpus.parse("bach/bwv66.6")).writestr())
    except ImportError:
        print("music21 not installed: chorale skipped")
    return out


def main() -> None:
    audio = "--no-audio" not in sys.argv
    fixtures = _fixtures()
    print(f"{'fixture':<18} {'operation':<17} {'ms':>7} {'changes':>7} {'violations':>10} {'motif':>6}  key")
    for label, score in fixtures.items():
        for name in OPERATIONS:
            options = {"technique": "sequence"} if name == "vary_melody" else {}
            start = time.perf_counter()
            try:
                result = compose(score, name, seed=1, **options)
            except Exception as error:  # noqa: BLE001 - a bench reports, it does not stop
                print(f"{label:<18} {name:<17} refused: {error}")
                continue
            ms = 1000 * (time.perf_counter() - start)
            melody = score.melody
            motif = motif_similarity(score.part(melody).notes, result.score.part(melody).notes) if melody else float("nan")
            print(f"{label:<18} {name:<17} {ms:7.0f} {len(result.changes):7d} {len(result.violations):10d} "
                  f"{motif:6.2f}  {result.key_before} → {result.key_after}")
    if not audio:
        return
    from trackwright.analysis.analyze import analyze
    from trackwright.produce.fluidsynth import render_midi

    print("\nheard by trackwright.analysis after a FluidSynth render (22.05 kHz):")
    draft = fixtures["draft 8 bars"]
    for name, options in (("change_mode", {}), ("reharmonise", {"rate": 0.6}), ("transpose", {"semitones": 3})):
        result = compose(draft, name, seed=2, **options)
        start = time.perf_counter()
        rendered = render_midi(result.score.to_midi(), sample_rate=22050)
        analysis = analyze(rendered).to_dict()
        seconds = time.perf_counter() - start
        bar_s = draft.seconds(draft.beats_per_bar)
        heard = []
        for bar in range(len(result.chords_after)):
            t = (bar + 0.5) * bar_s
            label = next((c["label"] for c in analysis["chords"] if c["start_s"] <= t < c["end_s"]), "N")
            root, _, quality = label.partition(":")
            heard.append(root + {"maj": "", "min": "m"}.get(quality, quality))
        agree = sum(a == b for a, b in zip(heard, result.chords_after)) / len(heard)
        key = analysis["key"]
        print(f"  {name:<12} written key {result.key_after:<9} heard {key['tonic']} {key['mode']:<6} "
              f"chords agree {100 * agree:5.1f} %  (render + analysis {seconds:.1f} s)")


if __name__ == "__main__":
    main()
