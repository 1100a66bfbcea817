"""Music cue sheets: the fields music supervisors and collecting societies ask for, as CSV and HTML.

Conventions
-----------
* One :class:`Cue` per use of music in a production: its title, writers (composers) and
  publishers with their society, IPI number and share, the usage code, the timecode in and out
  in the programme, and the duration (out − in).
* Times are seconds; the sheet prints them as ``HH:MM:SS:FF`` at the production's frame rate
  (non-drop-frame; 23.976 and 29.97 are counted as 24 and 30 frames a second, as NDF timecode
  is) and the duration as ``MM:SS``, rounded to the second as societies list it.
* Shares of each role, when given, must add up to 100 %.
* Usage codes: BI background instrumental, BV background vocal, VI visual instrumental, VV
  visual vocal, MT main title, ET end title, LOGO (:data:`USAGES`).
* The HTML is one self-contained page (no scripts, no external files) that prints on A4/Letter.
"""

from __future__ import annotations

import csv
import html
import io
import math
import os
from dataclasses import dataclass
from pathlib import Path

from trackwright.audio import write_atomic
from trackwright.errors import ParameterError

USAGES = {"BI": "background instrumental", "BV": "background vocal", "VI": "visual instrumental",
          "VV": "visual vocal", "MT": "main title", "ET": "end title", "LOGO": "logo"}
FRAME_RATES = (23.976, 24.0, 25.0, 29.97, 30.0)
COLUMNS = ("cue", "title", "composers", "publishers", "usage", "timecode_in", "timecode_out", "duration",
           "duration_s", "isrc", "catalogue_number", "artist", "file")


@dataclass(frozen=True)
class Party:
    """A writer or publisher: name, collecting society (PRS, ASCAP, GEMA…), IPI number, share in %."""

    name: str
    society: str = ""
    ipi: str = ""
    share_percent: float | None = None

    def label(self) -> str:
        """``"A. Writer (PRS, IPI 00123456789) 50%"``."""
        extra = ", ".join(x for x in (self.society, f"IPI {self.ipi}" if self.ipi else "") if x)
        share = f" {self.share_percent:g}%" if self.share_percent is not None else ""
        return f"{self.name}{f' ({extra})' if extra else ''}{share}"


@dataclass(frozen=True)
class Cue:
    """One use of music: what it is, who wrote and publishes it, how and where it is used (seconds)."""

    title: str
    composers: tuple[Party, ...]
    publishers: tuple[Party, ...]
    usage: str
    in_s: float
    out_s: float
    isrc: str = ""
    catalogue_number: str = ""
    artist: str = ""
    file: str = ""

    @property
    def duration_s(self) -> float:
        """Out − in, seconds."""
        return self.out_s - self.in_s


@dataclass(frozen=True)
class CueSheet:
    """A production's music: its title, episode, company, frame rate and cues."""

    production: str
    cues: tuple[Cue, ...]
    episode: str = ""
    company: str = ""
    frame_rate: float = 25.0


def _check_shares(parties: tuple[Party, ...], what: str, where: str) -> None:
    shares = [p.share_percent for p in parties]
    if any(s is not None for s in shares):
        if any(s is None for s in shares):
            raise ParameterError(f"{where}: give every {what} a share, or none")
        total = sum(s for s in shares if s is not None)
        if abs(total - 100.0) > 0.01:
            raise ParameterError(f"{where}: {what} shares add up to {total:g}%, not 100%")


def check_cue_sheet(sheet: CueSheet) -> None:
    """Raise :class:`ParameterError` for the first problem: a missing field, a bad usage code,
    out not after in, shares not adding up to 100 %, an unknown frame rate."""
    if not sheet.production.strip():
        raise ParameterError("cue sheet: the production title is empty")
    if not any(math.isclose(sheet.frame_rate, r, abs_tol=1e-3) for r in FRAME_RATES):
        raise ParameterError(f"cue sheet: frame rate {sheet.frame_rate:g} is not one of "
                             f"{', '.join(f'{r:g}' for r in FRAME_RATES)}")
    for number, cue in enumerate(sheet.cues, start=1):
        where = f"cue {number} ({cue.title or 'untitled'})"
        if not cue.title.strip():
            raise ParameterError(f"{where}: the title is empty")
        if not cue.composers:
            raise ParameterError(f"{where}: name at least one composer")
        if cue.usage not in USAGES:
            raise ParameterError(f"{where}: usage {cue.usage!r} is not one of {', '.join(USAGES)}")
        if not 0 <= cue.in_s < cue.out_s:
            raise ParameterError(f"{where}: timecode out ({cue.out_s:g} s) must come after in ({cue.in_s:g} s)")
        _check_shares(cue.composers, "composer", where)
        _check_shares(cue.publishers, "publisher", where)


def timecode(seconds: float, frame_rate: float = 25.0) -> str:
    """``HH:MM:SS:FF`` (non-drop-frame) of ``seconds`` at ``frame_rate`` frames a second.

    >>> timecode(3723.5, 25)
    '01:02:03:12'
    """
    fps = round(frame_rate)
    frames = math.floor(seconds * frame_rate + 1e-6)
    ff = frames % fps
    total = frames // fps
    return f"{total // 3600:02d}:{total // 60 % 60:02d}:{total % 60:02d}:{ff:02d}"


def duration_label(seconds: float) -> str:
    """``MM:SS`` rounded to the second (``H:MM:SS`` from an hour)."""
    total = math.floor(seconds + 0.5)
    return f"{total // 3600}:{total // 60 % 60:02d}:{total % 60:02d}" if total >= 3600 else \
        f"{total // 60:02d}:{total % 60:02d}"


def _rows(sheet: CueSheet) -> list[list[str]]:
    check_cue_sheet(sheet)
    return [[str(number), cue.title, "; ".join(p.label() for p in cue.composers),
             "; ".join(p.label() for p in cue.publishers), cue.usage, timecode(cue.in_s, sheet.frame_rate),
             timecode(cue.out_s, sheet.frame_rate), duration_label(cue.duration_s), f"{cue.duration_s:.3f}",
             cue.isrc, cue.catalogue_number, cue.artist, cue.file]
            for number, cue in enumerate(sheet.cues, start=1)]


def cue_sheet_csv(sheet: CueSheet) -> str:
    """The cue sheet as CSV: a header row (:data:`COLUMNS`) and one row per cue."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows(_rows(sheet))
    return buffer.getvalue()


def cue_sheet_html(sheet: CueSheet) -> str:
    """The cue sheet as one printable HTML page (escaped; no scripts or external files)."""
    rows = _rows(sheet)
    total = sum(c.duration_s for c in sheet.cues)
    heads = ("#", "Title", "Composers", "Publishers", "Usage", "In", "Out", "Duration", "ISRC", "Catalogue no.",
             "Artist")
    body = "\n".join("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row[:8] + row[9:12]) + "</tr>"
                     for row in rows)
    facts = " · ".join(html.escape(x) for x in (sheet.episode, sheet.company,
                                                f"{sheet.frame_rate:g} fps non-drop timecode") if x)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Music cue sheet: {html.escape(sheet.production)}</title>
<style>
body {{ font: 10pt/1.35 system-ui, sans-serif; margin: 1.5cm; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border: 1px solid #999; padding: 3px 5px; text-align: left; vertical-align: top; }}
th {{ background: #eee; }}
@page {{ size: A4 landscape; margin: 1cm; }}
</style></head><body>
<h1>Music cue sheet: {html.escape(sheet.production)}</h1>
<p>{facts}</p>
<table>
<thead><tr>{"".join(f"<th>{h}</th>" for h in heads)}</tr></thead>
<tbody>
{body}
</tbody>
</table>
<p>{len(rows)} cue{"s" if len(rows) != 1 else ""}, total music {duration_label(total)}.
Usage: {html.escape(", ".join(f"{k} = {v}" for k, v in USAGES.items()))}.</p>
</body></html>
"""


def write_cue_sheet(sheet: CueSheet, folder: str | os.PathLike[str], *, stem: str = "CueSheet") -> tuple[Path, Path]:
    """Write ``<stem>.csv`` and ``<stem>.html`` into ``folder``, atomically; returns both paths."""
    out = Path(folder)
    text_csv, text_html = cue_sheet_csv(sheet), cue_sheet_html(sheet)
    csv_path, html_path = out / f"{stem}.csv", out / f"{stem}.html"
    write_atomic(csv_path, lambda tmp: tmp.write_text(text_csv, encoding="utf-8", newline=""))
    write_atomic(html_path, lambda tmp: tmp.write_text(text_html, encoding="utf-8"))
    return csv_path, html_path
