"""The HTML report: one self-contained file a director can open (no scripts, no downloads).

Plots are drawn as inline SVG on one shared time axis — waveform, short-term loudness and its
arc, sections (coloured by repetition label, abrupt transitions in red, prepared contrasts in
green), findings, chords and key — followed by the bar self-similarity matrix (an embedded PNG),
the long-term spectrum against the reference curve of the track's style, and the findings table
with timestamps, each finding's fix (a trackwright command), confidence and reference.
"""

from __future__ import annotations

import base64
import html
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from trackwright.analysis.analyze import Analysis
from trackwright.analysis.dynamics import SHORT_WINDOW_CENTRE_S
from trackwright.analysis.findings import Finding, clock
from trackwright.analysis.style import aligned_curve_db, problems_against
from trackwright.audio import Audio, write_atomic

WIDTH = 1000
LEFT = 70
PLOT = WIDTH - LEFT - 20
_PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f",
            "#bab0ac")
_SEVERITY = {"major": "#d62728", "minor": "#ff7f0e", "info": "#7f7f7f"}


def _x(t: float, duration: float) -> float:
    return LEFT + PLOT * min(max(t / max(duration, 1e-9), 0.0), 1.0)


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _time_axis(duration: float, y: float) -> str:
    step = next(s for s in (5, 10, 15, 30, 60, 120, 300, 600) if duration / s <= 12)
    ticks = []
    for t in np.arange(0.0, duration + 1e-9, step):
        x = _x(t, duration)
        ticks.append(f'<line x1="{x:.1f}" y1="{y}" x2="{x:.1f}" y2="{y + 4}" stroke="#555"/>'
                     f'<text x="{x:.1f}" y="{y + 16}" font-size="11" text-anchor="middle">{clock(t)}</text>')
    return f'<line x1="{LEFT}" y1="{y}" x2="{LEFT + PLOT}" y2="{y}" stroke="#555"/>' + "".join(ticks)


def _waveform(analysis: Analysis, audio: Audio | None, top: float, height: float) -> str:
    duration = analysis.duration_s
    mid = top + height / 2
    if audio is not None:
        mono = audio.samples.mean(axis=0)
        columns = np.array_split(np.abs(mono), PLOT)
        peaks = np.array([c.max() if c.size else 0.0 for c in columns])
    elif analysis.features is not None:
        level = analysis.features.rms_db
        columns = np.array_split(level, PLOT)
        peaks = np.array([10 ** (c.max() / 20) * 1.41 if c.size else 0.0 for c in columns])
    else:
        return ""
    peaks = np.clip(peaks, 0, 1)
    points = [f"{LEFT + i:.1f},{mid - p * height / 2:.1f}" for i, p in enumerate(peaks)]
    points += [f"{LEFT + i:.1f},{mid + p * height / 2:.1f}" for i, p in reversed(list(enumerate(peaks)))]
    return (f'<text x="8" y="{mid + 4}" font-size="11">waveform</text>'
            f'<polygon points="{" ".join(points)}" fill="#6b8fb5" stroke="none"/>'
            f'<line x1="{LEFT}" y1="{mid}" x2="{LEFT + PLOT}" y2="{mid}" stroke="#ccc"/>') if duration else ""


def _loudness(analysis: Analysis, top: float, height: float) -> str:
    d = analysis.dynamics
    if not len(d.times_s):
        return ""
    lo = max(-60.0, float(np.floor(np.min(d.short_term_lufs[d.short_term_lufs > -70], initial=-30) / 6) * 6))
    hi = float(np.ceil(max(np.max(d.short_term_lufs), -10) / 6) * 6)

    def y(v: float) -> float:
        return top + height * (1 - (min(max(v, lo), hi) - lo) / max(hi - lo, 1e-9))

    def line(values: np.ndarray, colour: str, widthpx: float) -> str:
        pts = " ".join(f"{_x(t - SHORT_WINDOW_CENTRE_S, analysis.duration_s):.1f},{y(v):.1f}" for t, v in zip(d.times_s, values))
        return f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="{widthpx}"/>'

    grid = "".join(f'<line x1="{LEFT}" y1="{y(v):.1f}" x2="{LEFT + PLOT}" y2="{y(v):.1f}" stroke="#eee"/>'
                   f'<text x="{LEFT - 4}" y="{y(v) + 4:.1f}" font-size="10" text-anchor="end">{v:g}</text>'
                   for v in np.arange(lo, hi + 1e-9, 6))
    peak = _x(d.peak_s - SHORT_WINDOW_CENTRE_S, analysis.duration_s)
    return (f'<text x="8" y="{top + height / 2}" font-size="11">LUFS (3 s)</text>{grid}'
            + line(d.short_term_lufs, "#1f77b4", 1.2) + line(d.arc_lufs, "#d62728", 2.2)
            + f'<line x1="{peak:.1f}" y1="{top}" x2="{peak:.1f}" y2="{top + height}" stroke="#d62728" '
              f'stroke-dasharray="4 3"/><text x="{peak + 3:.1f}" y="{top + 10}" font-size="10" fill="#d62728">peak</text>')


def _sections(analysis: Analysis, top: float, height: float) -> str:
    parts = [f'<text x="8" y="{top + height / 2 + 4}" font-size="11">sections</text>']
    letters = sorted({s.label.rstrip("′") for s in analysis.structure.sections})
    for section in analysis.structure.sections:
        x0, x1 = _x(section.start_s, analysis.duration_s), _x(section.end_s, analysis.duration_s)
        colour = _PALETTE[letters.index(section.label.rstrip("′")) % len(_PALETTE)]
        parts.append(f'<rect class="section" x="{x0:.1f}" y="{top}" width="{max(x1 - x0, 1):.1f}" height="{height}" '
                     f'fill="{colour}" fill-opacity="0.55" stroke="#fff"><title>{_e(section.label)} {_e(section.role)} '
                     f'{clock(section.start_s)}–{clock(section.end_s)}</title></rect>'
                     f'<text x="{(x0 + x1) / 2:.1f}" y="{top + height / 2 + 4}" font-size="11" text-anchor="middle">'
                     f'{_e(section.label)} {_e(section.role)}</text>')
    for transition in analysis.structure.transitions:
        if transition.abrupt:
            x = _x(transition.time_s, analysis.duration_s)
            parts.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{top + height + 4}" stroke="#d62728" '
                         f'stroke-width="3"><title>abrupt: {_e("; ".join(transition.reasons))}</title></line>')
        elif transition.preparation:
            x = _x(transition.time_s, analysis.duration_s)
            parts.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{top + height + 4}" stroke="#2ca02c" '
                         f'stroke-width="3"><title>prepared: {_e("; ".join(transition.preparation))}</title></line>')
    return "".join(parts)


def _findings_lane(analysis: Analysis, top: float, height: float) -> str:
    parts = [f'<text x="8" y="{top + 12}" font-size="11">findings</text>']
    rows = max(1, min(len(analysis.findings), 6))
    lane = height / rows
    for i, finding in enumerate(analysis.findings):
        x0, x1 = _x(finding.start_s, analysis.duration_s), _x(finding.end_s, analysis.duration_s)
        y = top + (i % rows) * lane
        parts.append(f'<rect class="finding" x="{x0:.1f}" y="{y + 2:.1f}" width="{max(x1 - x0, 3):.1f}" '
                     f'height="{lane - 4:.1f}" fill="{_SEVERITY[finding.severity]}" fill-opacity="0.7">'
                     f'<title>{_e(finding.message)}</title></rect>'
                     f'<text x="{x0 + 3:.1f}" y="{y + lane / 2 + 4:.1f}" font-size="10" fill="#fff">{i + 1}</text>')
    return "".join(parts)


def _chords(analysis: Analysis, top: float, height: float) -> str:
    parts = [f'<text x="8" y="{top + height / 2 + 4}" font-size="11">chords</text>']
    roots = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
    for chord in analysis.harmony.chords:
        x0, x1 = _x(chord.start_s, analysis.duration_s), _x(chord.end_s, analysis.duration_s)
        if chord.label == "N":
            colour = "#eeeeee"
        else:
            root = roots.index(chord.label.split(":")[0])
            colour = f"hsl({(root * 7 % 12) * 30}, 55%, {70 if 'min' in chord.label else 60}%)"
        name = chord.label.replace(":maj", "").replace(":min", "m").replace(":", "")
        parts.append(f'<rect class="chord" x="{x0:.1f}" y="{top}" width="{max(x1 - x0, 1):.1f}" height="{height}" '
                     f'fill="{colour}" stroke="#fff"><title>{_e(chord.label)} {clock(chord.start_s)}</title></rect>')
        if x1 - x0 > 7 * len(name):
            parts.append(f'<text x="{x0 + 2:.1f}" y="{top + height / 2 + 4}" font-size="10">{_e(name)}</text>')
    return "".join(parts)


def _timeline(analysis: Analysis, audio: Audio | None) -> str:
    body = (_waveform(analysis, audio, 10, 70) + _loudness(analysis, 95, 120) + _sections(analysis, 230, 28)
            + _chords(analysis, 268, 22) + _findings_lane(analysis, 300, 60) + _time_axis(analysis.duration_s, 370))
    return f'<svg class="timeline" width="{WIDTH}" height="395" xmlns="http://www.w3.org/2000/svg">{body}</svg>'


def _png(gray: np.ndarray) -> bytes:
    """A greyscale image (rows × cols, 0–255) as PNG bytes."""
    rows = b"".join(b"\x00" + bytes(row) for row in gray.astype(np.uint8))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", gray.shape[1], gray.shape[0], 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


def _similarity(analysis: Analysis) -> str:
    matrix = analysis.structure.similarity
    if matrix.size == 0:
        return ""
    scale = max(1, 300 // len(matrix))
    image = np.kron(255 * (1 - np.clip(matrix, 0, 1)), np.ones((scale, scale)))
    data = base64.b64encode(_png(image)).decode()
    size = 300
    ticks = "".join(
        f'<line x1="{s.start_s / analysis.duration_s * size:.1f}" y1="0" x2="{s.start_s / analysis.duration_s * size:.1f}" '
        f'y2="{size}" stroke="#d62728" stroke-opacity="0.6"/>' for s in analysis.structure.sections[1:])
    return (f'<div class="panel"><h3>Self-similarity (bars)</h3><svg class="ssm" width="{size}" height="{size}" '
            f'xmlns="http://www.w3.org/2000/svg"><image width="{size}" height="{size}" preserveAspectRatio="none" '
            f'href="data:image/png;base64,{data}"/>{ticks}</svg><p class="note">dark = similar; red lines = section '
            f'starts</p></div>')


def _spectrum(analysis: Analysis) -> str:
    tonal = analysis.tonal
    if not len(tonal.band_hz):
        return ""
    w, h, left = 420, 240, 40
    lo, hi = math.log10(25), math.log10(20000)
    style = analysis.style
    reference_db = aligned_curve_db(tonal, style.reference) if style is not None else tonal.reference_db
    problems_db = problems_against(tonal, style.reference) if style is not None else tonal.problems
    values = np.concatenate((tonal.band_db, reference_db))
    top_db, bottom_db = float(np.max(values)) + 3, float(np.min(values)) - 3

    def xy(f: float, v: float) -> str:
        return f"{left + (w - left - 10) * (math.log10(f) - lo) / (hi - lo):.1f},{10 + (h - 40) * (top_db - v) / (top_db - bottom_db):.1f}"

    mix = " ".join(xy(f, v) for f, v in zip(tonal.band_hz, tonal.band_db))
    ref = " ".join(xy(f, v) for f, v in zip(tonal.band_hz, reference_db))
    ticks = "".join(f'<text x="{xy(f, bottom_db).split(",")[0]}" y="{h - 12}" font-size="10" text-anchor="middle">'
                    f'{f if f < 1000 else f"{f // 1000}k"}</text>' for f in (31, 63, 125, 250, 500, 1000, 2000, 4000, 8000, 16000))
    problems = ", ".join(f"{k} ({v:+.1f} dB)" for k, v in problems_db.items()) or "none"
    name = style.name if style is not None else "pop"
    return (f'<div class="panel"><h3>Long-term spectrum vs the {_e(name)} reference</h3><svg class="spectrum" width="{w}" height="{h}" '
            f'xmlns="http://www.w3.org/2000/svg"><polyline points="{ref}" fill="none" stroke="#999" stroke-dasharray="5 3" '
            f'stroke-width="2"/><polyline points="{mix}" fill="none" stroke="#1f77b4" stroke-width="2"/>{ticks}</svg>'
            f'<p class="note">blue = this mix (1/3 octave), grey = the reference for its style; problems: {_e(problems)}</p></div>')


def _finding_details(f: Finding) -> str:
    """The fix command, the reference, the confidence and the key evidence of one finding."""
    bits = []
    if f.fix:
        bits.append(f'<code class="fix">{_e(f.fix)}</code>')
    notes = [f"confidence {f.confidence:.0%}"] + ([f"judged against {f.reference}"] if f.reference else [])
    evidence = ", ".join(f"{_e(k)} {_e(_short(v))}" for k, v in list(f.evidence.items())[:4]
                         if isinstance(v, (int, float, str, bool)))
    if evidence:
        notes.append(evidence)
    bits.append(f'<div class="note">{"; ".join(_e(n) if i < 2 else n for i, n in enumerate(notes))}</div>')
    return "".join(bits)


def _short(value: object) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _findings_table(analysis: Analysis) -> str:
    rows = "".join(
        f'<tr class="finding-row {f.severity}"><td>{i + 1}</td><td><span class="sev {f.severity}">{f.severity}</span></td>'
        f'<td>{clock(f.start_s)}–{clock(f.end_s)}</td><td>{_e(f.message)}</td>'
        f'<td>{_e(f.suggestion)}{_finding_details(f)}</td></tr>'
        for i, f in enumerate(analysis.findings))
    strengths = "".join(f"<li>{_e(s.message)}</li>" for s in analysis.strengths)
    style = analysis.style
    judged = (f'<p class="meta">judged as {_e(style.label)}: tonal balance, loudness range and density are read '
              f'against that style\'s reference</p>') if style is not None else ""
    return (f'<h2>Findings ({len(analysis.findings)})</h2>{judged}<table class="findings"><tr><th>#</th>'
            f'<th>severity</th><th>where</th><th>finding</th><th>suggested fix</th></tr>{rows}</table>'
            f'<h2>What works</h2><ul class="strengths">{strengths}</ul>')


_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222;max-width:1060px}
h1{margin-bottom:4px} .meta{color:#555;margin-bottom:16px} .panels{display:flex;gap:24px;flex-wrap:wrap}
.panel{border:1px solid #ddd;border-radius:6px;padding:8px 12px} .note{font-size:12px;color:#666}
table.findings{border-collapse:collapse;width:100%;font-size:14px} table.findings td,table.findings th{border-bottom:1px solid #eee;padding:6px;text-align:left;vertical-align:top}
code.fix{display:block;margin-top:4px;font-size:12px;background:#f4f4f4;padding:2px 4px;border-radius:3px}
.sev{color:#fff;border-radius:3px;padding:1px 6px;font-size:12px} .sev.major{background:#d62728}.sev.minor{background:#ff7f0e}.sev.info{background:#7f7f7f}
svg text{font-family:system-ui,sans-serif}
"""


def render_html(analysis: Analysis, *, title: str = "trackwright analysis", audio: Audio | None = None) -> str:
    """The report as one HTML string."""
    key = analysis.harmony.key
    loud = analysis.loudness
    meta = (f"{clock(analysis.duration_s)} · {analysis.rhythm.tempo_bpm:.1f} BPM {analysis.rhythm.time_signature} · "
            f"{_e(key.name)} (confidence {key.confidence:.2f}) · {loud.integrated_lufs:.1f} LUFS · "
            f"LRA {analysis.dynamics.loudness_range_lu:.1f} LU · true peak {loud.true_peak_dbtp:.1f} dBTP")
    loop = analysis.harmony.loop
    harmony = (f"looped progression: {_e(' – '.join(loop.chords))} × {loop.repetitions}" if loop else
               "no looped progression") + f" · {analysis.harmony.changes_per_bar:.2f} chord changes per bar"
    form = " ".join(f"{_e(s.label)}" for s in analysis.structure.sections)
    brief = ""
    if analysis.brief is not None:
        brief = f'<p class="meta">brief: {_e(analysis.brief.title or "cue sheet")} — {_e(analysis.brief.arc)}</p>'
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
            f'<style>{_STYLE}</style></head><body><h1>{_e(title)}</h1><div class="meta">{meta}</div>'
            f'<div class="meta">form: {form} · {harmony}</div>{brief}'
            f'{_timeline(analysis, audio)}<div class="panels">{_similarity(analysis)}{_spectrum(analysis)}</div>'
            f'{_findings_table(analysis)}<p class="note">trackwright — measured with our BS.1770-4 meter; times are '
            f'm:ss from the start of the file.</p></body></html>')


def write_html_report(analysis: Analysis, path: str | Path, *, title: str = "trackwright analysis",
                      audio: Audio | None = None) -> Path:
    """Write :func:`render_html` to ``path`` atomically; returns the path."""
    target = Path(path)
    text = render_html(analysis, title=title, audio=audio)
    write_atomic(target, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return target
