"""The critique: measurements turned into findings (with a fix) and strengths.

Every rule reads numbers the analysis already measured; thresholds are module constants so
they can be read and tuned in one place. Three principles, from how a producer listens:

* **Judge against the right reference.** Tonal balance, loudness range and density are read
  against the track's style (:mod:`~trackwright.analysis.style`): an orchestra is not a thin
  pop mix, a metal master is not over-compressed at a PLR of 9 dB, an underscore is meant to be
  steady. Findings say which reference they used.
* **A defect needs evidence, and severity follows it.** Editing and signal defects
  (:mod:`~trackwright.analysis.detect`) carry a span, a confidence and their measurements; a
  finding is *major* only when a listener would hear the problem for what it is.
* **Short clips are clips.** Under :data:`CLIP_S` a track holds a section or two: a level that
  does not build, or a harmony that does not leave its loop, is at most minor there.

Every finding's ``fix`` is a trackwright command line (``PROJECT``, ``IN``, ``OUT`` to fill in).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from trackwright.analysis.defects import Defect
from trackwright.analysis.dynamics import Dynamics
from trackwright.analysis.findings import Finding, Strength, clock, sort_findings
from trackwright.analysis.harmony import Harmony
from trackwright.analysis.loudness import LoudnessReport
from trackwright.analysis.rhythm import Rhythm
from trackwright.analysis.structure import Structure, Transition
from trackwright.analysis.style import Style, problems_against
from trackwright.analysis.tonal import PROBLEM_BANDS, Tonal

LOOP_SHARE = 0.6          # a loop covering this share of the song is a finding
VERBATIM_PASSES = 3       # a section played this many times verbatim is a finding
MONO_LOSS_LU = 3.0
#: A mono fold-down losing this much (LU) is major: the mix falls apart on a phone speaker.
MONO_LOSS_MAJOR_LU = 6.0
NEGATIVE_CORRELATION_SHARE = 0.2
CLEAR_KEY = 0.5
CONTRAST_LU = 6.0
#: Shorter than this (s), a track is judged as a clip.
CLIP_S = 60.0
#: A flat arc is major only in a piece at least this long (s): a shorter cue or loop may hold one section.
ARC_MAJOR_S = 150.0
#: A tonal problem this many dB past its (style) threshold is major, when the style is known.
TONAL_MAJOR_MARGIN_DB = 6.0
#: A hard cut whose click is this many times sharper than the loudest transients around it is major.
CUT_MAJOR_FACTOR = 6.0
#: Clipping that flattens this share of the samples over a burst of at least this long (s) is major.
CLIP_MAJOR_SHARE = 0.05
CLIP_MAJOR_S = 0.25
#: Scattered clipping flattening this share of all samples is minor (under it: information).
CLIP_MINOR_SHARE = 1e-4
#: Inter-sample overs above this true peak (dBTP) are minor (under it: information).
OVERS_MINOR_DBTP = 0.5
#: A DC offset at or above this (linear) is major.
DC_MAJOR = 0.05
#: An inverted channel whose correlation falls this low is major (the mono fold-down hollows out).
FLIP_MAJOR_CORRELATION = -0.5
FLIP_MAJOR_S = 3.0
#: A gain step this large (dB), every band alike, is major: released music makes 6–8 dB steps
#: that move most bands alike (a tutti cut off, a band dropping to one part), rarely 9.
JUMP_MAJOR_DB = 9.0
#: A track that stops dead within this many dB of its playing level is major (under it, the sound
#: was already dying away).
TRUNCATED_MAJOR_DB = -15.0
#: A fade shorter than this (s) over playing music is major.
CUT_FADE_MAJOR_S = 1.0

#: The fix for what the master chain repairs (overs, clipping of a loud master, DC).
MASTER_FIX = "trackwright master IN -o OUT --target streaming"
_BAND_FIX = {
    "boomy": ("cut 2–4 dB around 60–150 Hz on the bass and kick (mix EQ), or master with --reference",
              "trackwright master IN -o OUT --reference REF"),
    "thin": (("reinforce the low end: re-voice or re-render the bass an octave down, layer a sub (produce recipe), "
              "or master with --reference to a fuller track"), "trackwright master IN -o OUT --reference REF"),
    "muddy": ("cut 2–4 dB around 150–400 Hz on pads and guitars (mix EQ) to unmask the low mids",
              "trackwright mix PROJECT"),
    "boxy": ("cut 2–3 dB around 400–900 Hz (mix EQ)", "trackwright mix PROJECT"),
    "harsh": ("cut 2–3 dB around 2–5 kHz on the lead and cymbals (mix EQ), or master with --reference",
              "trackwright master IN -o OUT --reference REF"),
    "sibilant": ("de-ess the vocal / cut 5–9 kHz (mix EQ)", "trackwright mix PROJECT"),
    "dull": ("add 2–3 dB of air above 6 kHz, or master with --reference to a brighter track",
             "trackwright master IN -o OUT --reference REF"),
}


@dataclass(frozen=True)
class _Context:
    duration_s: float
    rhythm: Rhythm
    style: Style | None

    @property
    def clip(self) -> bool:
        return self.duration_s < CLIP_S

    @property
    def reference(self) -> str:
        return self.style.label if self.style is not None else ""

    @property
    def loops_idiomatic(self) -> bool:
        return self.style is not None and self.style.reference.loops_idiomatic and \
            (self.style.source == "brief" or self.style.confidence >= 0.5)

    def bar(self, time_s: float) -> int:
        """1-based bar number of a time on the track's bar grid."""
        downbeats = self.rhythm.downbeats_s
        if not len(downbeats):
            return 1 + int(time_s / (self.rhythm.beats_per_bar * 60.0 / max(self.rhythm.tempo_bpm, 1.0)))
        return max(1, int(np.searchsorted(downbeats, time_s + 1e-6, side="right")))

    def bars(self, start_s: float, end_s: float) -> str:
        first, last = self.bar(start_s), self.bar(max(start_s, end_s - 1e-3))
        return f"bars {first}-{last}"


def _chord_names(labels: list[str]) -> str:
    return "–".join(label.replace(":maj", "").replace(":min", "m") for label in labels)


def _master_finding(kind: str, severity: str, span: tuple[float, float], message: str, suggestion: str,
                    evidence: dict, confidence: float) -> Finding:
    """A finding that mastering fixes (the command is :data:`MASTER_FIX`)."""
    return Finding(kind, severity, *span, message, suggestion, evidence, confidence, "", MASTER_FIX)


def _defect_finding(defect: Defect, context: _Context) -> Finding | None:
    """One defect as a finding: message, severity from its evidence, the fix."""
    e, span = defect.evidence, (defect.start_s, defect.end_s)
    where = f"{clock(defect.start_s)}–{clock(defect.end_s)}"
    confidence = defect.confidence
    if defect.kind == "hard_cut":
        at = float(e["at_s"])
        factor = float(e.get("over_loudest_transients", 0.0))
        unmistakable = factor >= CUT_MAJOR_FACTOR and float(e.get("over_track_transients", 0.0)) >= CUT_MAJOR_FACTOR
        signs = ([f"the waveform jumps there (a click {factor:.0f}× sharper than the loudest transient around it)"]
                 if factor else []) + ([f"the beat skips {float(e['beat_jump']):.2f} of a beat"]
                                       if "beat_jump" in e else [])
        return Finding(
            "hard_cut", "major" if unmistakable else "minor", *span,
            f"hard cut at {clock(at)}: " + " and ".join(signs) + " — a splice with no crossfade",
            "re-make the edit on a downbeat with a short crossfade: cutting the broken bar re-joins the music on "
            "downbeats, crossfaded", e, confidence, "",
            f'trackwright arrange PROJECT cut "{context.bars(at, at)}"')
    if defect.kind == "verbatim_repeat":
        passes, unit = int(e["passes"]), float(e["unit_s"])
        idiom = context.loops_idiomatic
        keep_end = defect.start_s + 2 * unit
        return Finding(
            "verbatim_repeat", "minor" if idiom else "major", *span,
            f"the same {unit:.1f} s is played {passes} times back to back, sample for sample ({where}): a "
            "copy-paste" + (" — the idiom of loop-based music, but the ear still hears it" if idiom else ""),
            "cut the extra passes, or vary them (new top line, parts in or out): "
            f"trackwright arrange PROJECT cut \"{context.bars(keep_end, defect.end_s)}\"",
            e, confidence, context.reference if idiom else "",
            f'trackwright arrange PROJECT cut "{context.bars(keep_end, defect.end_s)}"')
    if defect.kind == "dead_air":
        inside = e.get("where") == "inside"
        return Finding(
            "dead_air", "major" if inside else "minor", *span,
            f"{float(e['seconds']):.1f} s of dead air {'at ' + where if inside else 'at the ' + str(e['where'])} "
            f"({float(e['level_dbfs']):.0f} dBFS, the music runs near {float(e['typical_dbfs']):.0f})",
            "remove the gap (it is not a rest the music takes: it does not sit on the beat grid)",
            e, confidence, "", f'trackwright arrange PROJECT cut "{context.bars(*span)}"')
    if defect.kind == "truncated_ending":
        cold = bool(e.get("cold_start"))
        return Finding(
            "truncated_ending", "major" if float(e["end_level_db"]) >= TRUNCATED_MAJOR_DB else "minor", *span,
            f"the track stops dead at {clock(defect.end_s)}, still playing ({float(e['end_level_db']):+.0f} dB against "
            "its level before), mid-phrase (off the bar line, and it does not loop back into the start)"
            + ("; it also starts cold, as a loop file does" if cold else ""),
            "give it an ending: let the last phrase finish and ring out, or fade over the last two bars",
            e, confidence, "", "trackwright arrange PROJECT fade out --bars 2")
    if defect.kind == "cut_fade":
        fade = float(e["fade_s"])
        return Finding(
            "cut_fade", "major" if fade < CUT_FADE_MAJOR_S and not e.get("cold_start") else "minor", *span,
            f"a {fade:.1f} s fade at {where} cuts the music off while it is still playing "
            f"({int(e.get('onsets_in_fade', 0))} notes start inside it)",
            "end on the song's own final bar and ring-out, or fade over at least two bars",
            e, confidence, "", f"trackwright fit PROJECT --duration {defect.end_s:.1f} --ending natural")
    if defect.kind == "clipping":
        share = float(e["clipped_share"])
        if e.get("burst"):
            sustained = share >= CLIP_MAJOR_SHARE and defect.end_s - defect.start_s >= CLIP_MAJOR_S
            return Finding(
                "clipping", "major" if sustained else "minor", *span,
                f"clipping at {where}: {int(e['runs'])} flat-topped runs flatten {share:.1%} of the samples "
                f"(the longest {int(e['longest_run_samples'])} samples)",
                "re-render or re-export that passage with headroom (rebuild the mix from its stems), then master "
                "with a true-peak ceiling", e, confidence, "", "trackwright mix PROJECT")
        severity = "minor" if share >= CLIP_MINOR_SHARE else "info"
        return _master_finding(
            "clipping", severity, span,
            f"{int(e['runs'])} short flat-topped peaks across the track ({share:.3%} of the samples, the longest "
            f"{int(e['longest_run_samples'])} samples): a loud master's clipper or a lossy decode at full scale",
            "leave headroom in the master: master to a target with a true-peak ceiling", e, confidence)
    if defect.kind == "dc_offset":
        offset = float(e["offset"])
        return _master_finding(
            "dc_offset", "major" if abs(offset) >= DC_MAJOR else "minor", span,
            f"DC offset at {where}: channel {int(e['channel']) + 1} sits at {offset:+.3f} "
            f"({float(e['offset_dbfs']):.0f} dBFS): it eats headroom and thumps at every edit",
            "remove it with a high-pass: the master chain starts with one at 12 Hz", e, confidence)
    if defect.kind == "phase_flip":
        value = float(e["correlation"])
        whole = bool(e.get("whole_track"))
        return Finding(
            "phase_flip", "major" if value <= FLIP_MAJOR_CORRELATION and defect.end_s - defect.start_s >= FLIP_MAJOR_S
            else "minor", *span,
            ("one channel's polarity is inverted over the whole track" if whole else
             f"one channel's polarity is inverted at {where}")
            + (f": channel {int(e['channel']) + 1}'s waveform changes sign at both ends" if e.get("edges_flip") else "")
            + f"{'; ' if e.get('edges_flip') else ': '}L/R correlation {value:+.2f}"
            + ("" if whole else f" against {float(e.get('correlation_elsewhere', 0)):+.2f} elsewhere")
            + "; the centre hollows out and a mono fold-down cancels",
            "restore the channel's polarity over the span: rebuild the mix from its stems (the inversion is in "
            "the bounce), or invert the channel back before mastering", e, confidence, "", "trackwright mix PROJECT")
    if defect.kind == "level_jump":
        gain = float(e["gain_db"])
        word = "quieter" if gain > 0 else "louder"
        return Finding(
            "level_jump", "major" if abs(gain) >= JUMP_MAJOR_DB else "minor", *span,
            f"the level jumps {gain:+.1f} dB at {clock(defect.start_s)} and back at {clock(defect.end_s)}, "
            + ("the waveform scaled at its edge: " if e.get("edges_scaled") else "every band alike: ")
            + "a gain change, not the music",
            f"make the span {abs(gain):.0f} dB {word} so it sits with the music around it",
            e, confidence, "",
            ('trackwright note PROJECT "quieter"' if gain > 0 else 'trackwright note PROJECT "louder"')
            + f" --at {clock(defect.start_s)}-{clock(defect.end_s)}")
    return None


def _overs_finding(defects: list[Defect]) -> Finding | None:
    overs = [d for d in defects if d.kind == "intersample_overs"]
    if not overs:
        return None
    count = sum(int(d.evidence["overs"]) for d in overs)
    peak = float(overs[0].evidence["true_peak_dbtp"])
    return Finding(
        "intersample_overs", "minor" if peak > OVERS_MINOR_DBTP else "info", overs[0].start_s, overs[-1].end_s,
        f"{count} inter-sample overs (true peak {peak:+.1f} dBTP): they distort on conversion and lossy encoding",
        "master with a true-peak limiter to a −1 dBTP ceiling",
        {"overs": count, "true_peak_dbtp": peak, "spans": len(overs)}, 1.0, "",
        MASTER_FIX)


def _transition_finding(transition: Transition, seams: list[float]) -> Finding | None:
    """An unprepared section change: minor when it is hard (off the grid or mid-phrase and the
    sound itself jumps), information otherwise; a change the music prepares is no finding at all.
    Placement alone rests on beat and section tracking, which err on rubato and dense music, so
    a transition is never major by itself: when the waveform shows the splice, the finding is a
    :data:`hard_cut` instead. ``seams`` are the edges (s) of defects already found: a transition
    within 1.5 s of one is that defect's doing."""
    if not transition.abrupt or any(abs(seam - transition.time_s) <= 1.5 for seam in seams):
        return None
    hard = (transition.off_downbeat_s > 0.1 or transition.mid_phrase) and any(
        "suddenly" in r or "beat grid" in r or "level jumps" in r for r in transition.reasons)
    return Finding(
        "abrupt_transition", "minor" if hard else "info", max(0.0, transition.time_s - 1.0), transition.time_s + 1.0,
        f"abrupt transition at {clock(transition.time_s)}: " + "; ".join(transition.reasons),
        "re-cut on the downbeat at a phrase boundary with a short crossfade, or prepare it (a fill, a riser, a "
        "pickup into it)", {"level_jump_db": transition.level_jump_db, "timbre_jump": transition.timbre_jump,
                            "off_downbeat_s": transition.off_downbeat_s, "mid_phrase": transition.mid_phrase,
                            "preparation": list(transition.preparation)},
        0.7 if hard else 0.5, "", "trackwright fit PROJECT --duration SECONDS")


def critique(duration_s: float, loudness: LoudnessReport, rhythm: Rhythm, harmony: Harmony, structure: Structure,
             dynamics: Dynamics, tonal: Tonal, *, defects: list[Defect] | None = None,
             style: Style | None = None) -> tuple[list[Finding], list[Strength]]:
    """Findings (most severe first, then by time) and strengths of an analysed track.

    ``defects`` come from :func:`~trackwright.analysis.detect.find_defects`, ``style`` from
    :func:`~trackwright.analysis.style.infer_style` (or the brief); without a style the pop
    reference is used, as before styles existed.
    """
    context = _Context(duration_s, rhythm, style)
    reference = style.reference if style is not None else None
    findings: list[Finding] = []
    strengths: list[Strength] = []
    defects = defects or []
    for defect in defects:
        finding = _defect_finding(defect, context)
        if finding is not None:
            findings.append(finding)
    overs = _overs_finding(defects)
    if overs is not None:
        findings.append(overs)
    # the edges of located defects: a section change found there is the defect's doing
    seams = [float(t) for f in findings if f.end_s - f.start_s < 0.5 * duration_s
             for t in (f.start_s, f.end_s, f.evidence.get("at_s", f.start_s))]

    loop = harmony.loop
    if loop is not None and (loop.end_s - loop.start_s) >= LOOP_SHARE * duration_s:
        whole = (loop.end_s - loop.start_s) >= 0.9 * duration_s
        major = whole and not context.clip and not context.loops_idiomatic
        findings.append(Finding(
            "looped_progression", "major" if major else "minor", loop.start_s, loop.end_s,
            f"the same {len(loop.chords)}-chord cycle ({_chord_names(loop.chords)}) repeats {loop.repetitions} times "
            f"({clock(loop.start_s)}–{clock(loop.end_s)}); the harmony never leaves it",
            "reharmonise a section (a new progression for the chorus or bridge, a delayed resolution)",
            {"chords": loop.chords, "bars": loop.bars, "repetitions": loop.repetitions, "coverage": loop.coverage},
            1.0, context.reference, "trackwright compose PROJECT reharmonise --rate 0.5"))
    for transition in structure.transitions:
        finding = _transition_finding(transition, seams)
        if finding is not None:
            findings.append(finding)
    expects_arc = reference.expects_arc if reference is not None else True
    if dynamics.flat and (expects_arc or context.clip):
        major = expects_arc and duration_s >= ARC_MAJOR_S and style is not None and (
            style.source == "brief" or style.confidence >= 0.5)
        findings.append(Finding(
            "flat_dynamics", "major" if major else "minor", 0.0, duration_s,
            f"flat, static loudness: the arc moves only {dynamics.arc_range_lu:.1f} LU "
            f"(loudness range {dynamics.loudness_range_lu:.1f} LU); nothing builds or breathes"
            + (f" (a {duration_s:.0f} s clip: one section may well be steady)" if context.clip else ""),
            "shape an arc: pull the verses back 3–4 dB and build into the last chorus with added parts",
            {"arc_range_lu": dynamics.arc_range_lu, "loudness_range_lu": dynamics.loudness_range_lu,
             "clip": context.clip}, 1.0, context.reference, 'trackwright note PROJECT "build to the last chorus"'))
    passes: dict[str, list] = {}
    for section in structure.sections:
        passes.setdefault(section.label, []).append(section)
    covered = [f for f in findings if f.kind == "verbatim_repeat"]
    for label, sections in passes.items():
        if len(sections) >= VERBATIM_PASSES and not label.endswith("′"):
            if any(f.start_s <= sections[0].start_s + 1 and f.end_s >= sections[-1].end_s - 1 for f in covered):
                continue
            role = sections[0].role
            findings.append(Finding(
                "verbatim_repeat", "major" if len(sections) >= 4 and not context.loops_idiomatic else "minor",
                sections[0].start_s, sections[-1].end_s,
                f"{role} {label} repeats verbatim {len(sections)} times ({clock(sections[0].start_s)}–"
                f"{clock(sections[-1].end_s)}); shorten or vary the last pass",
                f"vary the last {role} (new top line, key lift, added or removed parts) or cut a pass",
                {"label": label, "passes": len(sections), "similarity": [s.similarity for s in sections[1:]]},
                1.0, context.reference, f'trackwright note PROJECT "vary the last {role}"'))
    problems = problems_against(tonal, reference) if reference is not None else tonal.problems
    known = style is not None and (style.source == "brief" or style.confidence >= 0.5)
    for band, excess in problems.items():
        threshold = abs(PROBLEM_BANDS[band][2]) + (reference.tolerance_db if reference is not None else 0.0)
        colour_free = style is not None and style.name in ("ambient", "underscore", "orchestral")
        major = abs(excess) >= threshold + TONAL_MAJOR_MARGIN_DB and (known or style is None) and not context.clip \
            and not colour_free
        text, fix = _BAND_FIX[band]
        findings.append(Finding(
            f"tonal_{band}", "major" if major else "minor", 0.0, duration_s,
            f"{band}: {abs(excess):.1f} dB {'over' if excess > 0 else 'under'} the "
            f"{style.name if style is not None else 'pop'} reference curve", text, {"excess_db": excess},
            1.0, context.reference or "pop", fix))
    if tonal.mono_loss_lu is not None and (tonal.mono_loss_lu >= MONO_LOSS_LU or (
            tonal.negative_correlation_fraction or 0) >= NEGATIVE_CORRELATION_SHARE) \
            and not any(f.kind == "phase_flip" for f in findings):
        findings.append(Finding(
            "mono_compatibility", "major" if tonal.mono_loss_lu >= MONO_LOSS_MAJOR_LU else "minor", 0.0, duration_s,
            f"poor mono compatibility: {tonal.mono_loss_lu:.1f} LU lost in a mono fold-down, "
            f"L/R correlation {tonal.correlation:.2f}",
            "find the out-of-phase part (stereo chorus, widener, flipped polarity) and narrow or re-render it",
            {"mono_loss_lu": tonal.mono_loss_lu, "correlation": tonal.correlation,
             "negative_correlation_fraction": tonal.negative_correlation_fraction}, 1.0, "",
            "trackwright mix PROJECT"))
    min_plr = reference.min_plr_db if reference is not None else 8.0
    if dynamics.plr_db < min_plr:
        findings.append(Finding(
            "over_compressed", "minor", 0.0, duration_s,
            f"over-compressed: peak-to-loudness ratio {dynamics.plr_db:.1f} dB at {loudness.integrated_lufs:.1f} LUFS "
            f"(a {style.name if style is not None else 'pop'} master keeps ≥ {min_plr:.0f} dB)",
            "master to a delivery target instead of maximum loudness",
            {"plr_db": dynamics.plr_db, "integrated_lufs": loudness.integrated_lufs}, 1.0, context.reference,
            MASTER_FIX))
    if rhythm.drifts:
        findings.append(Finding(
            "tempo_drift", "info", float(rhythm.tempo_curve_s[0]) if len(rhythm.tempo_curve_s) else 0.0, duration_s,
            f"the tempo drifts between {min(rhythm.tempo_curve_bpm):.1f} and {max(rhythm.tempo_curve_bpm):.1f} BPM",
            "if unintended, conform to a grid before editing",
            {"min_bpm": float(min(rhythm.tempo_curve_bpm)), "max_bpm": float(max(rhythm.tempo_curve_bpm))},
            1.0, "", "trackwright fit PROJECT --duration SECONDS"))
    distinct = {c.label for c in harmony.chords if c.label != "N"}
    if 0 < len(distinct) <= 3:
        findings.append(Finding(
            "harmonic_poverty", "minor" if not context.loops_idiomatic else "info", 0.0, duration_s,
            f"only {len(distinct)} different chords in the whole song",
            "add a contrasting progression for the bridge or pre-chorus",
            {"distinct_chords": sorted(distinct)}, 1.0, context.reference,
            "trackwright compose PROJECT reharmonise --kinds secondary,interchange"))
    _strengths(strengths, rhythm, harmony, structure, dynamics, tonal, findings, style)
    return sort_findings(findings), strengths


def _strengths(strengths: list[Strength], rhythm: Rhythm, harmony: Harmony, structure: Structure,
               dynamics: Dynamics, tonal: Tonal, findings: list[Finding], style: Style | None) -> None:
    kinds = {f.kind for f in findings}
    if not rhythm.drifts and len(rhythm.beats_s) > 8:
        strengths.append(Strength("steady_pulse", f"steady pulse at {rhythm.tempo_bpm:.1f} BPM in "
                                                  f"{rhythm.time_signature}", {"tempo_bpm": rhythm.tempo_bpm}))
    if harmony.key.confidence >= CLEAR_KEY:
        strengths.append(Strength("clear_key", f"clear tonal centre: {harmony.key.name}",
                                  {"confidence": harmony.key.confidence}))
    if not dynamics.flat and dynamics.contrast_lu >= CONTRAST_LU:
        strengths.append(Strength("dynamic_contrast", f"sections contrast by {dynamics.contrast_lu:.1f} LU; "
                                                      f"the arc peaks at {clock(dynamics.peak_s)}",
                                  {"contrast_lu": dynamics.contrast_lu, "peak_s": dynamics.peak_s}))
    prepared = [t for t in structure.transitions if t.preparation and not t.abrupt]
    if prepared:
        strengths.append(Strength("prepared_contrast", f"{len(prepared)} section change(s) prepared by the music ("
                                  + "; ".join(f"{clock(t.time_s)}: {', '.join(t.preparation)}" for t in prepared[:3])
                                  + ")", {"times_s": [t.time_s for t in prepared]}))
    if structure.transitions and not any(t.abrupt for t in structure.transitions):
        strengths.append(Strength("smooth_transitions", f"all {len(structure.transitions)} section changes land "
                                                        "on the downbeat at phrase boundaries", {}))
    labels = Counter(s.label.rstrip("′") for s in structure.sections)
    if len(labels) >= 3:
        strengths.append(Strength("varied_form", "a varied form: " + " ".join(s.label for s in structure.sections),
                                  {"sections": len(structure.sections), "distinct": len(labels)}))
    if not any(k.startswith("tonal_") for k in kinds):
        name = style.name if style is not None else "pop"
        strengths.append(Strength("balanced_spectrum", f"tonal balance within tolerance of the {name} reference", {}))
    if not kinds & {"clipping", "intersample_overs"}:
        strengths.append(Strength("clean_peaks", f"no clipping or inter-sample overs (true peak "
                                                 f"{tonal.true_peak_dbtp:+.1f} dBTP)", {}))
    if not kinds & {"hard_cut", "dead_air", "truncated_ending", "cut_fade", "level_jump", "verbatim_repeat"}:
        strengths.append(Strength("clean_edits", "no splices, gaps, copy-pasted repeats or clipped endings", {}))
