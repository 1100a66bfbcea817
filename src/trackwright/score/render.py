"""Hearing a recipe's ``score:`` operations: compose the edited MIDI and render it with FluidSynth."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from trackwright.audio import Audio, write_atomic
from trackwright.score.compose import compose_midi


def render_score_ops(midi: str | os.PathLike[str], ops: Sequence[Mapping[str, Any]], midi_out: str | os.PathLike[str],
                     write_audio: Callable[[Audio], None], *, sample_rate: int = 44100) -> list[str]:
    """Apply ``ops`` to ``midi``, write the result to ``midi_out`` (atomically) and hand its
    FluidSynth render (float32, channels × frames at ``sample_rate`` Hz) to ``write_audio``.

    Returns one warning line per operation whose written parts break a voice-leading rule.
    """
    from trackwright.produce.fluidsynth import render_midi

    score, results = compose_midi(midi, ops)
    data = score.to_bytes()
    write_atomic(Path(midi_out), lambda tmp: tmp.write_bytes(data))
    write_audio(render_midi(score.to_midi(), sample_rate=sample_rate))
    return [f"score: {r.op}: {len(r.violations)} voice-leading violation(s), first: {r.violations[0].detail}"
            for r in results if r.violations]
