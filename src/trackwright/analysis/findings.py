"""Findings and strengths: what the critique (and the brief check) report."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

SEVERITIES = ("info", "minor", "major")


def clock(seconds: float) -> str:
    """``m:ss`` (or ``m:ss.s`` when the tenth matters) for a time in seconds."""
    seconds = max(0.0, seconds)
    minutes, rest = divmod(seconds, 60.0)
    return f"{int(minutes)}:{rest:04.1f}" if abs(rest - round(rest)) >= 0.05 else f"{int(minutes)}:{round(rest):02d}"


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 3) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


@dataclass(frozen=True)
class Finding:
    """Something that needs rewriting, with where (seconds), how bad, the numbers, and the fix.

    Attributes
    ----------
    kind, severity : str
        What it is (``hard_cut``, ``tonal_thin``…) and how bad (``info``, ``minor``, ``major``).
    start_s, end_s : float
        Where, seconds (``span`` in the JSON form gives the pair).
    message : str
        One sentence a producer reads.
    suggestion : str
        What to do, in words, naming the trackwright command or recipe change.
    evidence : dict
        The measured numbers the finding rests on.
    confidence : float
        How sure the detector is that the defect is there, 0–1 (1 for plain measurements).
    reference : str
        The reference the finding was judged against (``"orchestral (inferred, 0.74)"``), or "".
    fix : str
        The trackwright command line that fixes it (``PROJECT``/``IN``/``OUT`` to fill in), or "".
    """

    kind: str
    severity: str
    start_s: float
    end_s: float
    message: str
    suggestion: str
    evidence: dict[str, Any] = field(default_factory=dict)
    confidence: float = 1.0
    reference: str = ""
    fix: str = ""

    @property
    def span(self) -> tuple[float, float]:
        """(start, end), seconds."""
        return self.start_s, self.end_s

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: the original keys plus ``span``, ``confidence``, ``reference`` and ``fix``."""
        return {"kind": self.kind, "severity": self.severity, "start_s": round(self.start_s, 3),
                "end_s": round(self.end_s, 3), "span": [round(self.start_s, 3), round(self.end_s, 3)],
                "message": self.message, "evidence": _clean(self.evidence), "suggestion": self.suggestion,
                "confidence": round(self.confidence, 2), "reference": self.reference, "fix": self.fix}


@dataclass(frozen=True)
class Strength:
    """Something that works and should be kept."""

    kind: str
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"kind": self.kind, "message": self.message, "evidence": _clean(self.evidence)}


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Most severe first, then by start time."""
    return sorted(findings, key=lambda f: (-SEVERITIES.index(f.severity), f.start_s))
