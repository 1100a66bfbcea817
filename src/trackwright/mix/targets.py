"""Delivery targets: integrated loudness (LUFS) and true-peak ceiling (dBTP) per destination.

The streaming figures come from the services' public help pages and change now and then; they
live in this one table (see ``shared/reference/ebu-loudness-tests.md``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

from trackwright.errors import ParameterError

#: Loudness a numeric target may ask for, LUFS.
LUFS_RANGE = (-40.0, -5.0)
#: True-peak ceiling a target may ask for, dBTP.
CEILING_RANGE = (-12.0, 0.0)
#: Ceiling used with a numeric target or a reference when none is given, dBTP.
DEFAULT_CEILING_DBTP = -1.0
#: Integrated-loudness tolerance every master is held to, LU.
TOLERANCE_LU = 0.2


@dataclass(frozen=True)
class Target:
    """A delivery target.

    Attributes:
        name: short name used on the command line (``streaming``, ``broadcast``…), or the
            number as given (``-16``) for a numeric target.
        integrated_lufs: integrated loudness to land on, LUFS (BS.1770-4 gated).
        ceiling_dbtp: true-peak ceiling, dBTP (measured 4×+ oversampled).
        description: who asks for it.
        max_lra_lu: largest loudness range the destination accepts, LU, where it names one.
    """

    name: str
    integrated_lufs: float
    ceiling_dbtp: float
    description: str = ""
    max_lra_lu: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target("streaming", -14.0, -1.0, "Spotify, YouTube, Tidal (Spotify asks −2 dBTP above −14 LUFS)"),
        Target("apple", -16.0, -1.0, "Apple Music (Sound Check)"),
        Target("amazon", -14.0, -2.0, "Amazon Music"),
        Target("broadcast", -23.0, -1.0, "EBU R128 broadcast (±0.2 LU for quality control)"),
        Target("atsc", -24.0, -2.0, "ATSC A/85, US television"),
        Target("netflix", -24.0, -2.0, "Netflix music-only cue (full programme; dialogue-gated −27)"),
        Target("game", -23.0, -1.0, "Sony ASWG-R001, home consoles (LRA ≤ 20 LU)", max_lra_lu=20.0),
        Target("handheld", -18.0, -1.0, "Sony ASWG-R001, handheld/mobile games", max_lra_lu=20.0),
        Target("podcast", -16.0, -1.0, "AES streaming recommendation, podcasts and spoken word"),
    )
}


def _check_range(value: float, bounds: tuple[float, float], what: str, unit: str) -> float:
    if not math.isfinite(value) or not bounds[0] <= value <= bounds[1]:
        raise ParameterError(f"{what} {value:g} {unit} is outside {bounds[0]:g} to {bounds[1]:g} {unit}")
    return float(value)


def resolve_target(spec: str | float, *, ceiling_dbtp: float | None = None) -> Target:
    """A :class:`Target` from a name (``"streaming"``) or a loudness (``"-16"``, ``-16.0``), LUFS.

    ``ceiling_dbtp`` overrides the target's ceiling (dBTP). A numeric target without a ceiling
    gets :data:`DEFAULT_CEILING_DBTP`. Unknown names and out-of-range numbers raise
    :class:`~trackwright.errors.ParameterError`.
    """
    text = str(spec).strip()
    key = text.lower()
    if key in TARGETS:
        target = TARGETS[key]
    else:
        try:
            lufs = float(text.removesuffix("LUFS").removesuffix("lufs").strip())
        except ValueError:
            names = ", ".join(TARGETS)
            raise ParameterError(f"unknown target {text!r}; use one of {names} or a loudness in LUFS like -14") from None
        lufs = _check_range(lufs, LUFS_RANGE, "target loudness", "LUFS")
        target = Target("custom", lufs, DEFAULT_CEILING_DBTP, f"custom loudness, {lufs:g} LUFS")
    if ceiling_dbtp is not None:
        target = replace(target, ceiling_dbtp=_check_range(float(ceiling_dbtp), CEILING_RANGE, "ceiling", "dBTP"))
    return target
