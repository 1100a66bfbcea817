"""The built-in demo: a draft composed in code, rendered with FluidSynth, critiqued, mastered,
then made into a project and cut down to a 30-second cue.

The draft has the flaws AI drafts typically have (a four-chord progression looped for the whole
song, flat dynamics), so later stages have something real to evaluate and fix. Later issues grow
the demo into the whole pipeline.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trackwright.analysis.analyze import Analysis, analyze
from trackwright.analysis.report import write_html_report
from trackwright.arrange.fit import FitResult, fit_audio
from trackwright.audio import load_audio, save_audio, write_atomic
from trackwright.mix.master import MasterResult, master
from trackwright.mix.targets import resolve_target
from trackwright.produce.fluidsynth import render_midi
from trackwright.produce.production import Production, measure_production
from trackwright.progress import ProgressCallback, ignore_progress
from trackwright.project import MasterSettings, Project, Recipe
from trackwright.project.operations import commit_version, make_version, mix_project
from trackwright.revise.note import apply_note
from trackwright.score.draft import compose_draft_with_truth

DEMO_TARGET = "streaming"
DEMO_SAMPLE_RATE = 44100
#: The demo's cutdown: length and hit point, seconds.
DEMO_CUE_S = 30.0
DEMO_HIT_S = 12.0
#: Creative notes the demo applies to the cutdown, one version each.
DEMO_NOTES = ("hold back until 0:20, then let it go", "a bit warmer",
              "more tension from 0:12 to 0:24, but don't make it obvious")
#: The rebuilt version: each MIDI part of the draft played by a MuseScore General instrument,
#: shaped along the sections and humanised (the draft's parts: drums, bass, chords, lead).
DEMO_PRODUCTION = {"drums": {"instrument": "ms-room-drums"}, "bass": {"instrument": "ms-bass"},
                   "chords": {"instrument": "ms-strings", "legato": True}, "lead": {"instrument": "ms-piano"}}
DEMO_HUMANIZE_SEED = 7


@dataclass
class DemoResult:
    """What the demo wrote (label → path) and the mastering result with before/after loudness."""

    files: dict[str, Path]
    mastered: MasterResult
    warnings: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rebuilt: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "files": {label: str(path) for label, path in self.files.items()},
            "master": self.mastered.to_dict(),
            "warnings": list(self.warnings),
            "findings": list(self.findings),
            "notes": list(self.notes),
            "rebuilt": dict(self.rebuilt),
        }


def run_demo(folder: str | os.PathLike[str], *, progress: ProgressCallback | None = None,
             bars: int = 16, seed: int = 0) -> DemoResult:
    """Compose, render and master the demo draft into ``folder`` (created if needed).

    Writes ``draft.mid``, ``draft.wav`` (the raw render, 24-bit), ``draft_analysis.json`` and
    ``draft_report.html`` (the critique of the draft), ``draft_master.wav`` (mastered to the
    streaming target, −14 LUFS / −1 dBTP, 24-bit) and ``summary.json``.
    """
    report = progress or ignore_progress
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    report(0.0, "composing")
    midi, info = compose_draft_with_truth(bars=bars, seed=seed)
    midi_path = out / "draft.mid"
    write_atomic(midi_path, lambda tmp: midi.save(str(tmp)))
    report(0.1, "rendering with FluidSynth")
    draft = render_midi(midi_path, sample_rate=DEMO_SAMPLE_RATE)
    warnings = save_audio(draft, out / "draft.wav", bit_depth="24")
    report(0.3, "analysing the draft")
    analysis = analyze(draft)
    write_atomic(out / "draft_analysis.json",
                 lambda tmp: tmp.write_text(json.dumps(analysis.to_dict(), indent=1) + "\n"))
    write_html_report(analysis, out / "draft_report.html", title="trackwright demo draft", audio=draft)
    report(0.5, "mastering")
    mastered = master(draft, resolve_target(DEMO_TARGET),
                      progress=lambda f, label: report(0.5 + 0.3 * f, label))
    warnings += list(mastered.warnings)
    warnings += save_audio(mastered.audio, out / "draft_master.wav", bit_depth="24")
    report(0.8, "project: a 30 s cutdown")
    cue = _cutdown(out, midi_path, analysis)
    report(0.9, "creative notes")
    explained = _apply_notes(cue["project"], out / "notes.txt")
    report(0.93, "rebuilding the parts")
    rebuilt = _rebuild(cue["project"], out / "rebuilt.wav", out / "draft_master.wav")
    files = {"midi": midi_path, "draft": out / "draft.wav", "analysis": out / "draft_analysis.json",
             "report": out / "draft_report.html", "master": out / "draft_master.wav", "project": cue["project"],
             "cutdown": cue["file"], "notes": out / "notes.txt", "rebuilt": out / "rebuilt.wav",
             "summary": out / "summary.json"}
    result = DemoResult(files=files, mastered=mastered, warnings=warnings,
                        findings=[f"{f.severity}: {f.message}" for f in analysis.findings], notes=explained,
                        rebuilt=rebuilt)
    summary = {**result.to_dict(), "draft": {"bpm": info.bpm, "bars": info.bars, "key": info.key},
               "cutdown": cue["fit"]}
    write_atomic(files["summary"], lambda tmp: tmp.write_text(json.dumps(summary, indent=2) + "\n"))
    report(1.0, "done")
    return result


def _cutdown(out: Path, midi_path: Path, analysis: Analysis) -> dict[str, Any]:
    """Make ``out/project`` from the draft and commit a 30 s cue with a downbeat on 12 s, mastered."""
    folder = out / "project"
    if (folder / "project.yaml").is_file():  # the previous demo's project: the demo owns it
        shutil.rmtree(folder)
    project = Project.create(folder, out / "draft.wav", midi=midi_path, author="demo")
    fits: list[FitResult] = []

    def cut(recipe: Recipe) -> tuple[Recipe, str]:
        fits.append(fit_audio(project.source_audio(), DEMO_CUE_S, hits=[DEMO_HIT_S], analysis=project.analysis(),
                              features=analysis.features))
        return (recipe.replace(arrangement=fits[0].edits, master=MasterSettings(target=DEMO_TARGET)),
                f"{DEMO_CUE_S:g} s cutdown, downbeat on {DEMO_HIT_S:g} s, mastered for {DEMO_TARGET}")

    rendered = make_version(project, cut, author="demo").rendered
    target = out / "cutdown_30s.wav"
    source = rendered.master or rendered.mix
    write_atomic(target, lambda tmp: tmp.write_bytes(source.read_bytes()))
    return {"project": folder, "file": target, "fit": fits[0].to_dict()}


def _apply_notes(project_dir: Path, text_file: Path) -> list[str]:
    """Apply :data:`DEMO_NOTES` one after another; write and return their explanations."""
    project = Project.open(project_dir)
    lines: list[str] = []
    for text in DEMO_NOTES:
        result = apply_note(project, text, author="demo")
        lines.append(f'note "{text}" → version {result.version}')
        lines.extend(f"  {line}" for line in result.explanation())
    write_atomic(text_file, lambda tmp: tmp.write_text("\n".join(lines) + "\n", encoding="utf-8"))
    return lines


def _rebuild(project_dir: Path, target: Path, draft_master: Path) -> dict[str, Any]:
    """A version of the demo project whose parts are rebuilt from the draft's MIDI
    (:data:`DEMO_PRODUCTION`, expression arc, humanised) and mixed by :func:`~trackwright.mix.mixer.plan_mix`;
    its master goes to ``target``. Returns the before/after measures (the draft's master, the
    version it was made from, the rebuilt one) and the versions made."""
    project = Project.open(project_dir)
    production = Production.from_dict({"parts": {
        name: {**setting, "replaces": "draft", "arc": "auto", "humanize_seed": DEMO_HUMANIZE_SEED}
        for name, setting in DEMO_PRODUCTION.items()}})
    with project.lock():
        parent = project.latest()
        before = project.render(parent)
        produced = commit_version(project, lambda recipe: (recipe.replace(production=production),
                                                           "; ".join(production.describe())), author="demo")
    mixed = mix_project(project, style="pop", author="demo")
    source = mixed.master or mixed.mix
    write_atomic(target, lambda tmp: tmp.write_bytes(source.read_bytes()))
    return {"parent": parent, "production_version": produced.number, "mix_version": mixed.version,
            "changes": production.describe(),
            "before": {"draft_master": measure_production(load_audio(draft_master)),
                       "cutdown": measure_production(load_audio(before.master or before.mix))},
            "after": measure_production(load_audio(target))}
