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

    ``suggestion`` names the trackwright command or recipe change that would fix it.
    """

    kind: str
    severity: str
    start_s: float
    end_s: float
    message: str
    suggestion: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"kind": self.kind, "severity": self.severity, "start_s": round(self.start_s, 3),
                "end_s": round(self.end_s, 3), "message": self.message, "evidence": _clean(self.evidence),
                "suggestion": self.suggestion}


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
