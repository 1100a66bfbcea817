"""The critique: measurements turned into findings (with a suggested fix) and strengths.

Every rule reads numbers the analysis already measured; thresholds are module constants so
they can be read and tuned in one place.
"""

from __future__ import annotations

from collections import Counter

from trackwright.analysis.dynamics import Dynamics
from trackwright.analysis.findings import Finding, Strength, clock, sort_findings
from trackwright.analysis.harmony import Harmony
from trackwright.analysis.loudness import LoudnessReport
from trackwright.analysis.rhythm import Rhythm
from trackwright.analysis.structure import Structure
from trackwright.analysis.tonal import Tonal

LOOP_SHARE = 0.6          # a loop covering this share of the song is a finding
VERBATIM_PASSES = 3       # a section played this many times verbatim is a finding
MONO_LOSS_LU = 3.0
NEGATIVE_CORRELATION_SHARE = 0.2
OVERCOMPRESSED_PLR_DB = 8.0
CLEAR_KEY = 0.5
CONTRAST_LU = 6.0

_BAND_FIX = {
    "boomy": "cut 2–4 dB around 60–150 Hz on the bass and kick (mix EQ), or master with --reference",
    "thin": "reinforce the low end: re-voice or re-render the bass an octave down, layer a sub (produce recipe), "
            "or master with --reference to a fuller track",
    "muddy": "cut 2–4 dB around 150–400 Hz on pads and guitars (mix EQ) to unmask the low mids",
    "boxy": "cut 2–3 dB around 400–900 Hz (mix EQ)",
    "harsh": "cut 2–3 dB around 2–5 kHz on the lead and cymbals (mix EQ), or master with --reference",
    "sibilant": "de-ess the vocal / cut 5–9 kHz (mix EQ)",
    "dull": "add 2–3 dB of air above 6 kHz, or master with --reference to a brighter track",
}


def _chord_names(labels: list[str]) -> str:
    return "–".join(label.replace(":maj", "").replace(":min", "m") for label in labels)


def critique(duration_s: float, loudness: LoudnessReport, rhythm: Rhythm, harmony: Harmony, structure: Structure,
             dynamics: Dynamics, tonal: Tonal) -> tuple[list[Finding], list[Strength]]:
    """Findings (most severe first, then by time) and strengths of an analysed track."""
    findings: list[Finding] = []
    strengths: list[Strength] = []
    loop = harmony.loop
    if loop is not None and (loop.end_s - loop.start_s) >= LOOP_SHARE * duration_s:
        whole = (loop.end_s - loop.start_s) >= 0.9 * duration_s
        findings.append(Finding(
            "looped_progression", "major" if whole else "minor", loop.start_s, loop.end_s,
            f"the same {len(loop.chords)}-chord cycle ({_chord_names(loop.chords)}) repeats {loop.repetitions} times "
            f"({clock(loop.start_s)}–{clock(loop.end_s)}); the harmony never leaves it",
            "reharmonise a section (a new progression for the chorus or bridge, a delayed resolution): "
            "trackwright note PROJECT \"vary the harmony in the last chorus\" (recipe: harmony.reharmonize)",
            {"chords": loop.chords, "bars": loop.bars, "repetitions": loop.repetitions, "coverage": loop.coverage}))
    for transition in structure.transitions:
        if not transition.abrupt:
            continue
        hard = transition.off_downbeat_s > 0.1 or transition.mid_phrase
        findings.append(Finding(
            "abrupt_transition", "major" if hard else "minor", max(0.0, transition.time_s - 1.0), transition.time_s + 1.0,
            f"abrupt transition at {clock(transition.time_s)}: " + "; ".join(transition.reasons),
            "re-cut on the downbeat at a phrase boundary with a short crossfade, or add a fill or riser into it: "
            "trackwright fit / arrange recipe (sections.cut at a downbeat)",
            {"level_jump_db": transition.level_jump_db, "timbre_jump": transition.timbre_jump,
             "off_downbeat_s": transition.off_downbeat_s, "mid_phrase": transition.mid_phrase}))
    if dynamics.flat:
        findings.append(Finding(
            "flat_dynamics", "major", 0.0, duration_s,
            f"flat, static loudness: the arc moves only {dynamics.arc_range_lu:.1f} LU "
            f"(loudness range {dynamics.loudness_range_lu:.1f} LU); nothing builds or breathes",
            "shape an arc: pull the verses back 3–4 dB and build into the last chorus with added parts: "
            "trackwright note PROJECT \"build to the last chorus\" (recipe: dynamics.arc)",
            {"arc_range_lu": dynamics.arc_range_lu, "loudness_range_lu": dynamics.loudness_range_lu}))
    passes: dict[str, list] = {}
    for section in structure.sections:
        passes.setdefault(section.label, []).append(section)
    for label, sections in passes.items():
        if len(sections) >= VERBATIM_PASSES and not label.endswith("′"):
            role = sections[0].role
            findings.append(Finding(
                "verbatim_repeat", "major" if len(sections) >= 4 else "minor", sections[0].start_s, sections[-1].end_s,
                f"{role} {label} repeats verbatim {len(sections)} times ({clock(sections[0].start_s)}–"
                f"{clock(sections[-1].end_s)}); shorten or vary the last pass",
                f"vary the last {role} (new top line, key lift, added or removed parts) or cut a pass: "
                f"trackwright note PROJECT \"vary the last {role}\" (recipe: sections.vary)",
                {"label": label, "passes": len(sections),
                 "similarity": [s.similarity for s in sections[1:]]}))
    for band, excess in tonal.problems.items():
        findings.append(Finding(
            f"tonal_{band}", "major" if abs(excess) >= 8 else "minor", 0.0, duration_s,
            f"{band}: {abs(excess):.1f} dB {'over' if excess > 0 else 'under'} the reference curve",
            _BAND_FIX[band], {"excess_db": excess}))
    if tonal.mono_loss_lu is not None and (tonal.mono_loss_lu >= MONO_LOSS_LU or (
            tonal.negative_correlation_fraction or 0) >= NEGATIVE_CORRELATION_SHARE):
        findings.append(Finding(
            "mono_compatibility", "major", 0.0, duration_s,
            f"poor mono compatibility: {tonal.mono_loss_lu:.1f} LU lost in a mono fold-down, "
            f"L/R correlation {tonal.correlation:.2f}",
            "find the out-of-phase part (stereo chorus, widener, flipped polarity) and narrow or re-render it",
            {"mono_loss_lu": tonal.mono_loss_lu, "correlation": tonal.correlation,
             "negative_correlation_fraction": tonal.negative_correlation_fraction}))
    if tonal.clipped_runs or tonal.intersample_overs:
        findings.append(Finding(
            "clipping", "major" if tonal.clipped_runs > 10 else "minor", 0.0, duration_s,
            f"{tonal.clipped_runs} clipped runs and {tonal.intersample_overs} inter-sample overs "
            f"(true peak {tonal.true_peak_dbtp:+.1f} dBTP)",
            "re-render with more headroom, then master with a true-peak ceiling: trackwright master IN -o OUT "
            "--target streaming", {"clipped_runs": tonal.clipped_runs, "intersample_overs": tonal.intersample_overs,
                                   "true_peak_dbtp": tonal.true_peak_dbtp}))
    if dynamics.plr_db < OVERCOMPRESSED_PLR_DB:
        findings.append(Finding(
            "over_compressed", "minor", 0.0, duration_s,
            f"over-compressed: peak-to-loudness ratio {dynamics.plr_db:.1f} dB at {loudness.integrated_lufs:.1f} LUFS",
            "master to a delivery target instead of maximum loudness: trackwright master IN -o OUT --target streaming",
            {"plr_db": dynamics.plr_db, "integrated_lufs": loudness.integrated_lufs}))
    if rhythm.drifts:
        findings.append(Finding(
            "tempo_drift", "info", float(rhythm.tempo_curve_s[0]) if len(rhythm.tempo_curve_s) else 0.0, duration_s,
            f"the tempo drifts between {min(rhythm.tempo_curve_bpm):.1f} and {max(rhythm.tempo_curve_bpm):.1f} BPM",
            "if unintended, conform to a grid before editing: trackwright fit (beat-grid arrangement)",
            {"min_bpm": float(min(rhythm.tempo_curve_bpm)), "max_bpm": float(max(rhythm.tempo_curve_bpm))}))
    distinct = {c.label for c in harmony.chords if c.label != "N"}
    if 0 < len(distinct) <= 3:
        findings.append(Finding(
            "harmonic_poverty", "minor", 0.0, duration_s,
            f"only {len(distinct)} different chords in the whole song",
            "add a contrasting progression for the bridge or pre-chorus (recipe: harmony.reharmonize)",
            {"distinct_chords": sorted(distinct)}))

    # strengths
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
    if structure.transitions and not any(t.abrupt for t in structure.transitions):
        strengths.append(Strength("smooth_transitions", f"all {len(structure.transitions)} section changes land "
                                                        "on the downbeat at phrase boundaries", {}))
    labels = Counter(s.label.rstrip("′") for s in structure.sections)
    if len(labels) >= 3:
        strengths.append(Strength("varied_form", "a varied form: " + " ".join(s.label for s in structure.sections),
                                  {"sections": len(structure.sections), "distinct": len(labels)}))
    if not tonal.problems:
        strengths.append(Strength("balanced_spectrum", "tonal balance within 4 dB of the reference curve", {}))
    if not tonal.clipped_runs and not tonal.intersample_overs:
        strengths.append(Strength("clean_peaks", f"no clipping or inter-sample overs (true peak "
                                                 f"{tonal.true_peak_dbtp:+.1f} dBTP)", {}))
    return sort_findings(findings), strengths
