"""The catalogue: one row per track, as ``catalog.csv``, ``catalog.json`` and ``catalog.html``.

The rows are read back from the per-track records on disk (not from this run's memory), so a
resumed or repeated batch writes the same catalogue as one uninterrupted run. The HTML page is
self-contained (inline CSS, JavaScript and SVG; nothing is fetched): a table that sorts on any
column and filters by text, verdict and duplicate group, each title linking the track's own
analysis report, and histograms of the catalogue's tempi, keys and loudness.
"""

from __future__ import annotations

import csv
import html
import io
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trackwright import __version__
from trackwright.audio import write_atomic
from trackwright.batch.duplicates import DuplicateReport
from trackwright.batch.inputs import TrackInput
from trackwright.batch.qc import VERDICTS
from trackwright.batch.steps import TrackOutcome
from trackwright.batch.store import TRACKS, TrackFolder, write_json

#: Columns of catalog.csv, in order.
COLUMNS = ("id", "title", "path", "status", "error", "duration_s", "tempo_bpm", "time_signature", "key",
           "key_confidence", "integrated_lufs", "true_peak_dbtp", "loudness_range_lu", "findings", "verdict",
           "reasons", "duplicate_group", "duplicate_of", "report", "master", "delivery")
FAILED_VERDICT = "failed"
_PITCHES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


@dataclass(frozen=True)
class CatalogPaths:
    """Where the catalogue was written."""

    csv: Path
    json: Path
    html: Path


def catalog_rows(output: Path, tracks: Sequence[TrackInput], outcomes: dict[str, TrackOutcome],
                 duplicates: DuplicateReport | None) -> list[dict[str, Any]]:
    """One row per track (input order) from the records under ``output`` and this run's failures."""
    groups = duplicates.group_of(len(tracks)) if duplicates is not None else [None] * len(tracks)
    first_of: dict[int, str] = {}
    rows = []
    for index, track in enumerate(tracks):
        folder = TrackFolder(output, track.track_id)
        prefix = f"{TRACKS}/{track.track_id}/"
        analysis = folder.record("analyze")
        qc = folder.record("qc")
        mastered = folder.record("master")
        delivered = folder.record("deliver")
        summary = analysis["result"]["summary"] if analysis else {}
        outcome = outcomes.get(track.track_id)
        error = outcome.error if outcome is not None else None
        group = groups[index]
        if group is not None:
            first_of.setdefault(group, track.title)
        verdict = qc["result"]["verdict"] if qc else (FAILED_VERDICT if error else None)
        rows.append({
            "id": track.track_id, "title": track.title, "path": str(track.path),
            "status": "failed" if error else "ok", "error": error,
            "duration_s": summary.get("duration_s"), "tempo_bpm": summary.get("tempo_bpm"),
            "time_signature": summary.get("time_signature"), "key": summary.get("key"),
            "key_confidence": summary.get("key_confidence"), "integrated_lufs": summary.get("integrated_lufs"),
            "true_peak_dbtp": summary.get("true_peak_dbtp"), "loudness_range_lu": summary.get("loudness_range_lu"),
            "findings": summary.get("findings"), "verdict": verdict,
            "reasons": [r["message"] for r in qc["result"]["reasons"]] if qc else [],
            "duplicate_group": group,
            "duplicate_of": first_of[group] if group is not None and first_of[group] != track.title else None,
            "report": prefix + "report.html" if analysis else None,
            "master": prefix + "master.wav" if mastered else None,
            "delivery": prefix + "deliver/delivery" if delivered else None,
        })
    return rows


def _csv_text(rows: Sequence[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "; ".join(row[k]) if isinstance(row[k], list) else ("" if row[k] is None else row[k])
                         for k in COLUMNS})
    return buffer.getvalue()


def _histogram_svg(title: str, labels: Sequence[str], counts: Sequence[int], *, colour: str = "#4a7bb7") -> str:
    width, height, left, bottom = 460, 190, 30, 40
    top = 26
    peak = max(max(counts, default=0), 1)
    bar = (width - left - 10) / max(len(counts), 1)
    parts = [f'<svg class="plot" viewBox="0 0 {width} {height}" role="img" aria-label="{html.escape(title)}">',
             f'<text x="{left}" y="16" class="t">{html.escape(title)}</text>',
             f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" y2="{height - bottom}" class="axis"/>',
             f'<text x="{left - 4}" y="{top + 4}" class="n" text-anchor="end">{peak}</text>']
    step = max(1, math.ceil(len(labels) / 12))
    for i, (label, count) in enumerate(zip(labels, counts)):
        h = (height - bottom - top) * count / peak
        x = left + i * bar
        parts.append(f'<rect x="{x + 1:.1f}" y="{height - bottom - h:.1f}" width="{max(bar - 2, 1):.1f}" '
                     f'height="{h:.1f}" fill="{colour}"><title>{html.escape(label)}: {count}</title></rect>')
        if i % step == 0:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{height - bottom + 14}" class="l" '
                         f'transform="rotate(40 {x + bar / 2:.1f} {height - bottom + 14})">{html.escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _binned(values: Sequence[float], start: float, stop: float, width: float, unit: str) -> tuple[list[str], list[int]]:
    edges = [start + i * width for i in range(round((stop - start) / width))]
    counts = [0] * len(edges)
    for v in values:
        i = min(max(int((v - start) // width), 0), len(edges) - 1)
        counts[i] += 1
    return [f"{e:g}–{e + width:g}{unit}" for e in edges], counts


def _plots(rows: Sequence[dict[str, Any]]) -> str:
    tempi = [r["tempo_bpm"] for r in rows if isinstance(r["tempo_bpm"], (int, float))]
    loud = [r["integrated_lufs"] for r in rows if isinstance(r["integrated_lufs"], (int, float))]
    keys = Counter(r["key"] for r in rows if r["key"])
    key_labels = [f"{p} {m}" for m in ("major", "minor") for p in _PITCHES]
    others = sorted(k for k in keys if k not in key_labels)
    tempo_labels, tempo_counts = _binned(tempi, 40, 220, 10, "")
    loud_labels, loud_counts = _binned(loud, -40, -4, 2, "")
    verdicts = Counter(r["verdict"] for r in rows)
    verdict_labels = [v for v in (*VERDICTS, FAILED_VERDICT) if verdicts.get(v)]
    return ('<div class="plots">'
            + _histogram_svg("tempo (BPM)", tempo_labels, tempo_counts)
            + _histogram_svg("key", [k.replace(" major", "").replace(" minor", "m") for k in key_labels + others],
                             [keys.get(k, 0) for k in key_labels + others], colour="#7a5fb0")
            + _histogram_svg("integrated loudness (LUFS)", loud_labels, loud_counts, colour="#3b9a6b")
            + _histogram_svg("verdict", verdict_labels, [verdicts[v] for v in verdict_labels], colour="#c07a2c")
            + "</div>")


_STYLE = """body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}h1{font-size:1.4em;margin:0 0 .3em}
.meta{color:#555;margin-bottom:1em}.plots{display:flex;flex-wrap:wrap;gap:1em}.plot{width:460px;max-width:100%;
background:#fafafa;border:1px solid #ddd}.plot .t{font-weight:600;font-size:13px}.plot .l,.plot .n{font-size:10px;
fill:#555}.axis{stroke:#999}.controls{margin:1em 0;display:flex;gap:1em;flex-wrap:wrap;align-items:center}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #e3e3e3;padding:3px 6px;text-align:left;
vertical-align:top}th{cursor:pointer;background:#f2f2f2;position:sticky;top:0;white-space:nowrap}
th.asc:after{content:" ▲"}th.desc:after{content:" ▼"}td.num{text-align:right;font-variant-numeric:tabular-nums}
.v-ready{color:#1d7a3a;font-weight:600}.v-needs-work{color:#a86a00;font-weight:600}.v-reject,.v-failed{color:#b3261e;
font-weight:600}.why{color:#666;font-size:12px}tr.hidden{display:none}"""

_SCRIPT = """(function(){const t=document.getElementById('catalog'),b=t.tBodies[0],q=document.getElementById('q'),
v=document.getElementById('verdict'),d=document.getElementById('dups'),n=document.getElementById('shown');
function f(){const s=q.value.toLowerCase(),w=v.value,o=d.checked;let c=0;for(const r of b.rows){const ok=
(!s||r.textContent.toLowerCase().includes(s))&&(!w||r.dataset.verdict===w)&&(!o||r.dataset.group!=='');
r.classList.toggle('hidden',!ok);if(ok)c++}n.textContent=c}
q.addEventListener('input',f);v.addEventListener('change',f);d.addEventListener('change',f);
t.tHead.querySelectorAll('th').forEach((h,i)=>h.addEventListener('click',()=>{const up=!h.classList.contains('asc');
t.tHead.querySelectorAll('th').forEach(x=>x.classList.remove('asc','desc'));h.classList.add(up?'asc':'desc');
const num=h.dataset.type==='num',rows=[...b.rows];rows.sort((x,y)=>{const a=x.cells[i].dataset.sort??x.cells[i]
.textContent,c=y.cells[i].dataset.sort??y.cells[i].textContent;if(num){const p=parseFloat(a),r=parseFloat(c);
if(isNaN(p)&&isNaN(r))return 0;if(isNaN(p))return 1;if(isNaN(r))return -1;return up?p-r:r-p}
return up?a.localeCompare(c):c.localeCompare(a)});rows.forEach(r=>b.appendChild(r))}));f()})();"""

_TABLE = (("title", "title", "text"), ("duration", "duration_s", "num"), ("tempo", "tempo_bpm", "num"),
          ("key", "key", "text"), ("loudness", "integrated_lufs", "num"), ("true peak", "true_peak_dbtp", "num"),
          ("verdict", "verdict", "text"), ("findings", "findings", "num"), ("dup. group", "duplicate_group", "num"))


def _cell(row: dict[str, Any], key: str, kind: str) -> str:
    value = row[key]
    if key == "title":
        title = html.escape(str(value))
        link = f'<a href="{html.escape(row["report"])}">{title}</a>' if row["report"] else title
        extra = f'<div class="why">{html.escape(row["error"])}</div>' if row["error"] else ""
        return f'<td data-sort="{title}">{link}{extra}</td>'
    if key == "verdict":
        label = html.escape(value or "—")
        why = "".join(f'<div class="why">{html.escape(r)}</div>' for r in row["reasons"])
        return f'<td><span class="v-{(value or "").replace(" ", "-")}">{label}</span>{why}</td>'
    if value is None:
        return f'<td class="{kind}" data-sort="">—</td>'
    if key == "duration_s":
        text = f"{int(value // 60)}:{value % 60:04.1f}"
    elif key == "key" and row["key_confidence"] is not None:
        text = f"{value} ({row['key_confidence']:.2f})"
    elif isinstance(value, float):
        text = f"{value:.1f}"
    else:
        text = str(value)
    return f'<td class="{kind}" data-sort="{html.escape(str(value))}">{html.escape(text)}</td>'


def render_html(rows: Sequence[dict[str, Any]], duplicates: DuplicateReport | None, *, title: str) -> str:
    """The catalogue page as one self-contained HTML string."""
    verdicts = Counter(r["verdict"] for r in rows)
    groups = len(duplicates.groups) if duplicates is not None else 0
    grouped = sum(1 for r in rows if r["duplicate_group"] is not None)
    meta = (f"{len(rows)} tracks · " + " · ".join(f"{verdicts[v]} {v}" for v in (*VERDICTS, FAILED_VERDICT)
                                                  if verdicts.get(v))
            + f" · {groups} near-duplicate group{'s' if groups != 1 else ''} ({grouped} tracks)")
    head = "".join(f'<th data-type="{kind}">{html.escape(label)}</th>' for label, _, kind in _TABLE)
    body = "".join(
        f'<tr data-verdict="{html.escape(r["verdict"] or "")}" data-group="{r["duplicate_group"] or ""}">'
        + "".join(_cell(r, key, kind) for _, key, kind in _TABLE) + "</tr>" for r in rows)
    options = "".join(f'<option value="{v}">{v}</option>' for v in (*VERDICTS, FAILED_VERDICT))
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f'<meta name="viewport" content="width=device-width,initial-scale=1"><style>{_STYLE}</style></head><body>'
            f'<h1>{html.escape(title)}</h1><div class="meta">{html.escape(meta)} · trackwright {__version__}</div>'
            f'{_plots(rows)}<div class="controls"><input id="q" type="search" placeholder="filter: title, key, '
            f'reason…" size="30"><select id="verdict"><option value="">every verdict</option>{options}</select>'
            f'<label><input id="dups" type="checkbox"> near-duplicates only</label><span><span id="shown">'
            f'{len(rows)}</span> shown</span></div><table id="catalog"><thead><tr>{head}</tr></thead><tbody>{body}'
            f'</tbody></table><script>{_SCRIPT}</script></body></html>')


def write_catalog(output: Path, rows: Sequence[dict[str, Any]], duplicates: DuplicateReport | None,
                  tracks: Sequence[TrackInput]) -> CatalogPaths:
    """Write ``catalog.csv``, ``catalog.json`` and ``catalog.html`` into ``output`` (atomically)."""
    paths = CatalogPaths(output / "catalog.csv", output / "catalog.json", output / "catalog.html")
    text = _csv_text(rows)
    write_atomic(paths.csv, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    groups = []
    if duplicates is not None:
        for number, members in enumerate(duplicates.groups, start=1):
            inside = set(members)
            groups.append({"group": number, "tracks": [tracks[i].track_id for i in members],
                           "matches": [{**m.to_dict(), "a": tracks[m.a].track_id, "b": tracks[m.b].track_id}
                                       for m in duplicates.matches if m.a in inside]})
    verdicts = Counter(r["verdict"] for r in rows if r["verdict"])
    write_json(paths.json, {"trackwright": __version__, "tracks": list(rows), "duplicate_groups": groups,
                            "summary": {"tracks": len(rows), "verdicts": dict(sorted(verdicts.items())),
                                        "failed": sum(1 for r in rows if r["status"] == "failed"),
                                        "duplicate_groups": len(groups)}})
    page = render_html(rows, duplicates, title=f"Catalogue: {output.name}")
    write_atomic(paths.html, lambda tmp: tmp.write_text(page, encoding="utf-8"))
    return paths
