"""Fit to a brief: a YAML cue sheet checked against the analysis.

A brief looks like this (times as seconds, ``m:ss`` or ``m:ss.s``; positions also as ``80%``)::

    title: Scene 12 – the letter
    duration: "1:30"          # target length
    tolerance: 2              # seconds of slack on the length (default 1)
    dialogue:                 # spans where someone speaks
      - "0:10-0:25"
      - {start: 40, end: 55}
    hits:                     # sync points that need a musical event
      - {at: "0:30.5", what: door slam}
    arc: "restrained until 80%, peak at the end"
    composer: A. Writer       # credited in exports and delivered files' metadata
    delivery:                 # the spec sheet: read by `trackwright deliver` (see trackwright.deliver.spec)
      format: wav:48k:24

Findings: the length mismatch; music that competes with dialogue (loudness in the span not at
least 6 LU under the song's loudest passages, or — unless it is 10 LU down — the 300 Hz–3 kHz
speech band carrying more of the energy than in the rest of the song); hits with no onset within 100 ms; and where the arc
peaks against where the brief wants it (and whether it holds back until it should).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from trackwright.analysis.dynamics import SHORT_WINDOW_CENTRE_S, Dynamics
from trackwright.analysis.features import BAND_CENTRES_HZ, Features
from trackwright.analysis.findings import Finding, clock
from trackwright.errors import ParameterError

DIALOGUE_HEADROOM_LU = 6.0
#: Music this far under its loudest passages is quiet enough whatever its spectrum.
QUIET_UNDERSCORE_LU = 10.0
SPEECH_BAND_HZ = (300.0, 3000.0)
HIT_WINDOW_S = 0.1
PEAK_TOLERANCE = 0.1


@dataclass(frozen=True)
class Brief:
    """A parsed cue sheet (times in seconds; ``peak_at``/``restrained_until`` as 0–1 of the length)."""

    title: str = ""
    duration_s: float | None = None
    tolerance_s: float = 1.0
    dialogue: list[tuple[float, float]] = field(default_factory=list)
    hits: list[tuple[float, str]] = field(default_factory=list)
    arc: str = ""
    peak_at: float | None = None
    restrained_until: float | None = None
    composer: str = ""
    #: The ``delivery:`` block as written (a mapping); deliver checks it field by field.
    delivery: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (without the delivery block, which deliver reads from the brief itself)."""
        return {"title": self.title, "duration_s": self.duration_s, "tolerance_s": self.tolerance_s,
                "dialogue": [list(span) for span in self.dialogue], "hits": [{"at": t, "what": w} for t, w in self.hits],
                "arc": self.arc, "peak_at": self.peak_at, "restrained_until": self.restrained_until,
                "composer": self.composer}


def parse_time(value: Any, what: str = "time") -> float:
    """Seconds from ``90``, ``"90"``, ``"1:30"``, ``"1:30.5"`` or ``"0:01:30"``."""
    if isinstance(value, bool):
        raise ParameterError(f"brief: {what} {value!r} is not a time")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        text = str(value).strip().removesuffix("s")
        try:
            parts = [float(p) for p in text.split(":")]
        except ValueError:
            raise ParameterError(f"brief: {what} {value!r} is not a time (use seconds or m:ss)") from None
        seconds = 0.0
        for part in parts:
            seconds = seconds * 60.0 + part
    if not math.isfinite(seconds) or seconds < 0:
        raise ParameterError(f"brief: {what} {value!r} must be a non-negative time")
    return seconds


def _span(value: Any) -> tuple[float, float]:
    if isinstance(value, dict):
        start, end = parse_time(value.get("start"), "dialogue start"), parse_time(value.get("end"), "dialogue end")
    else:
        pieces = re.split(r"\s*(?:-|–|to)\s*", str(value).strip())
        if len(pieces) != 2:
            raise ParameterError(f"brief: dialogue span {value!r} should look like 0:10-0:25")
        start, end = parse_time(pieces[0], "dialogue start"), parse_time(pieces[1], "dialogue end")
    if end <= start:
        raise ParameterError(f"brief: dialogue span {value!r} ends before it starts")
    return start, end


def _position(text: str, duration: float | None) -> float | None:
    """A fraction 0–1 from "80%", "the end", "the middle", or a time (needs the duration)."""
    text = text.strip().lower()
    if text in ("the end", "end", "the finish"):
        return 0.95
    if text in ("the middle", "middle", "halfway"):
        return 0.5
    if text in ("the start", "start", "the beginning"):
        return 0.05
    percent = re.fullmatch(r"(\d+(?:\.\d+)?)\s*%", text)
    if percent:
        return float(percent.group(1)) / 100.0
    if duration:
        return parse_time(text, "arc position") / duration
    return None


def _parse_arc(arc: str, duration: float | None) -> tuple[float | None, float | None]:
    peak = restrained = None
    found = re.search(r"peak(?:s|ing)?\s+(?:at|in|near|by)\s+([^,;]+)", arc, re.IGNORECASE)
    if found:
        peak = _position(found.group(1), duration)
    found = re.search(r"(?:restrained|hold(?:s|ing)? back|quiet|understated)\s+until\s+([^,;]+)", arc, re.IGNORECASE)
    if found:
        restrained = _position(found.group(1), duration)
    return peak, restrained


def load_brief(path: str | Path) -> Brief:
    """Read and validate a YAML cue sheet; one-line :class:`ParameterError` on any problem."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ParameterError(f"{path}: no such brief") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ParameterError(f"{path}: not a readable YAML brief ({str(error).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise ParameterError(f"{path}: a brief is a YAML mapping (duration, dialogue, hits, arc)")
    known = {"title", "duration", "duration_s", "tolerance", "dialogue", "hits", "arc", "peak_at", "restrained_until",
             "composer", "delivery"}
    unknown = set(data) - known
    if unknown:
        raise ParameterError(f"{path}: unknown brief field(s): {', '.join(sorted(unknown))}")
    duration_value = data.get("duration", data.get("duration_s"))
    duration = parse_time(duration_value, "duration") if duration_value is not None else None
    hits = []
    for hit in data.get("hits") or []:
        if isinstance(hit, dict):
            hits.append((parse_time(hit.get("at"), "hit"), str(hit.get("what", ""))))
        else:
            hits.append((parse_time(hit, "hit"), ""))
    arc = str(data.get("arc") or "")
    peak, restrained = _parse_arc(arc, duration)
    if data.get("peak_at") is not None:
        peak = _position(str(data["peak_at"]), duration)
    if data.get("restrained_until") is not None:
        restrained = _position(str(data["restrained_until"]), duration)
    delivery = data.get("delivery") or {}
    if not isinstance(delivery, dict):
        raise ParameterError(f"{path}: delivery: must be a mapping (format, formats, previews, name, metadata, "
                             "cue_sheet)")
    return Brief(title=str(data.get("title") or ""), duration_s=duration, composer=str(data.get("composer") or ""),
                 delivery=delivery,
                 tolerance_s=parse_time(data.get("tolerance", 1.0), "tolerance"),
                 dialogue=[_span(s) for s in data.get("dialogue") or []], hits=sorted(hits), arc=arc,
                 peak_at=peak, restrained_until=restrained)


def _speech_share(features: Features, start_s: float, end_s: float) -> float:
    """Share of band energy in 300 Hz–3 kHz between two times (0–1)."""
    speech = (BAND_CENTRES_HZ >= SPEECH_BAND_HZ[0]) & (BAND_CENTRES_HZ <= SPEECH_BAND_HZ[1])
    lo = int(np.clip(start_s * features.onset_rate, 0, features.bands_db.shape[1] - 1))
    hi = int(np.clip(end_s * features.onset_rate, lo + 1, features.bands_db.shape[1]))
    energy = 10 ** (features.bands_db[:, lo:hi] / 10).mean(axis=1)
    return float(energy[speech].sum() / max(energy.sum(), 1e-20))


def check_brief(brief: Brief, duration_s: float, features: Features, dynamics: Dynamics) -> list[Finding]:
    """Findings for how the track fits ``brief``."""
    findings: list[Finding] = []
    if brief.duration_s is not None and abs(duration_s - brief.duration_s) > brief.tolerance_s:
        difference = duration_s - brief.duration_s
        findings.append(Finding(
            "brief_length", "major", min(duration_s, brief.duration_s), max(duration_s, brief.duration_s),
            f"{clock(duration_s)} long against the brief's {clock(brief.duration_s)} "
            f"({'over' if difference > 0 else 'short'} by {abs(difference):.1f} s)",
            f"fit it on the beat grid: trackwright fit AUDIO -o OUT --duration {brief.duration_s:g}",
            {"duration_s": duration_s, "target_s": brief.duration_s, "difference_s": difference}))
    times, curve = dynamics.times_s - SHORT_WINDOW_CENTRE_S, dynamics.short_term_lufs
    loud = float(np.percentile(curve[curve > -60], 90)) if np.any(curve > -60) else -70.0
    song_share = _speech_share(features, 0.0, duration_s)
    for start, end in brief.dialogue:
        inside = (times >= start) & (times < end)
        if not inside.any() or start >= duration_s:
            continue
        level = float(10 * np.log10(np.mean(10 ** (curve[inside] / 10))))
        share = _speech_share(features, start, min(end, duration_s))
        reasons = []
        if level > loud - DIALOGUE_HEADROOM_LU:
            reasons.append(f"music is only {loud - level:.1f} LU under its loudest passages")
        if share > song_share * 1.1 and share > 0.3 and level > loud - QUIET_UNDERSCORE_LU:
            reasons.append(f"{share:.0%} of its energy sits in the 300 Hz–3 kHz speech band")
        if reasons:
            findings.append(Finding(
                "dialogue_clash", "major", start, end,
                f"dialogue {clock(start)}–{clock(end)}: " + "; ".join(reasons),
                "make an underscore for the span (duck 6 dB, thin 300 Hz–3 kHz, drop the lead): "
                "trackwright note PROJECT \"stay under the dialogue\" (alternate: underscore)",
                {"level_lufs": level, "loudest_lufs": loud, "speech_share": share, "song_speech_share": song_share}))
    onset_times = features.onset_times()
    threshold = np.percentile(features.onset, 90)
    strong = onset_times[features.onset >= threshold]
    for at, what in brief.hits:
        nearest = float(np.min(np.abs(strong - at))) if strong.size else math.inf
        if nearest > HIT_WINDOW_S:
            label = f" ({what})" if what else ""
            findings.append(Finding(
                "missed_hit", "major", max(0.0, at - 0.5), at + 0.5,
                f"nothing lands on the hit at {clock(at)}{label}: the nearest strong onset is "
                f"{nearest:.2f} s away" if math.isfinite(nearest) else f"nothing lands on the hit at {clock(at)}{label}",
                f"move a downbeat onto it: trackwright fit AUDIO -o OUT --hit {at:g}",
                {"hit_s": at, "nearest_onset_s": nearest}))
    if brief.peak_at is not None:
        actual = dynamics.peak_s / max(duration_s, 1e-9)
        if abs(actual - brief.peak_at) > PEAK_TOLERANCE:
            findings.append(Finding(
                "misplaced_peak", "major", dynamics.peak_s - 4.0, dynamics.peak_s + 4.0,
                f"the emotional peak is at {clock(dynamics.peak_s)} ({actual:.0%}); the brief wants it at "
                f"{brief.peak_at:.0%} ({clock(brief.peak_at * duration_s)})",
                "rebuild the arc: hold back earlier sections and put the fullest section at the intended peak: "
                "trackwright note PROJECT \"hold back until the last scene\" (recipe: dynamics.arc)",
                {"peak_s": dynamics.peak_s, "peak_fraction": actual, "intended_fraction": brief.peak_at}))
    if brief.restrained_until is not None:
        until = brief.restrained_until * duration_s
        before = dynamics.arc_lufs[dynamics.times_s - SHORT_WINDOW_CENTRE_S < until]
        if before.size and before.max() > dynamics.arc_lufs.max() - 3.0:
            findings.append(Finding(
                "no_restraint", "major", 0.0, until,
                f"the music does not hold back until {clock(until)}: it already reaches within "
                f"{dynamics.arc_lufs.max() - before.max():.1f} LU of its peak",
                "pull the early sections back 4–6 dB and thin them: trackwright note PROJECT "
                "\"hold back until the last scene\"",
                {"early_max_lufs": float(before.max()), "peak_lufs": float(dynamics.arc_lufs.max())}))
    return findings
