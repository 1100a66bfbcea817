"""Mixing stems: gain staging, high-pass, unmasking EQ, compression, pan and width, a space bus, glue, master.

Conventions
-----------
* Mixing is two stages: :func:`plan_mix` *decides* (measures the stems and writes every choice
  into a :class:`MixPlan`, plain data that round-trips through a recipe's ``mix:`` block and
  ``--json``), and :func:`apply_mix` *does* (renders a plan). A revised plan — one part's gain
  changed by hand — renders without re-deciding anything else.
* Each part has a *role* (vocals, lead, drums, bass, keys, guitar, strings, pad, fx, other)
  guessed from its name, else its sound (:mod:`trackwright.analysis.roles`); roles carry a priority (vocals highest) used for unmasking, a level
  relative to the lead, a high-pass, a compressor, a pan and a width (:data:`ROLES`).
* Unmasking: every part's long-term spectrum in third-octave bands (63 Hz–10 kHz) is measured
  after gain staging. For each higher-priority part, its *key bands* are the two bands where it
  stands out most from its own average (among those within 12 dB of its loudest band); a lower-priority part whose level in a key band is
  within :data:`MASKING_MARGIN_DB` of the higher one's gets a peak cut there (Q 1.4) deep enough
  to clear the margin by 3 dB (2–6 dB). Faders are set before the cuts, so a carve stays a carve.
* Levels in dB/LUFS, frequencies in Hz, times in ms where named so. Audio is channels × frames.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pedalboard

from trackwright.analysis.loudness import integrated_loudness
from trackwright.analysis.roles import guess_role as guess_stem_role
from trackwright.analysis.roles import role_from_name
from trackwright.audio import Audio, validate_audio
from trackwright.errors import MeasurementError, ParameterError, reject_unknown_fields
from trackwright.mix.master import MasterResult, glue_threshold_db, master, per_channel
from trackwright.mix.targets import Target, resolve_target
from trackwright.parallel import thread_map
from trackwright.progress import ProgressCallback, ignore_progress


@dataclass(frozen=True)
class Role:
    """How a kind of part is treated.

    Attributes:
        priority: higher wins unmasking (vocals 10 … pads 3).
        level_lu: loudness relative to the mix's anchor part (the highest priority), LU.
        highpass_hz: high-pass corner, Hz (0 = none).
        ratio, attack_ms, release_ms: compressor; its threshold sits ``depth_db`` under the part's
            loud peaks (90th percentile of 50 ms peaks); the fader after it sets the level.
        depth_db: see above, dB.
        pan: −1…+1; width: side gain (0 mono, 1 as is, >1 wider).
        send: reverb send relative to the style's, linear 0…2.
    """

    priority: int
    level_lu: float
    highpass_hz: float
    ratio: float
    attack_ms: float
    release_ms: float
    depth_db: float
    pan: float
    width: float
    send: float


ROLES: dict[str, Role] = {
    "vocals": Role(10, 0.0, 90.0, 3.0, 5.0, 120.0, 6.0, 0.0, 1.0, 1.0),
    "lead": Role(9, -1.0, 120.0, 2.5, 10.0, 150.0, 4.0, 0.1, 1.0, 1.0),
    "drums": Role(8, -1.5, 0.0, 2.0, 25.0, 120.0, 4.0, 0.0, 1.0, 0.4),
    "bass": Role(7, -3.0, 30.0, 4.0, 15.0, 200.0, 6.0, 0.0, 0.0, 0.0),
    "keys": Role(5, -5.0, 110.0, 2.0, 15.0, 200.0, 3.0, -0.2, 1.1, 1.0),
    "guitar": Role(5, -5.0, 100.0, 2.5, 10.0, 150.0, 3.0, 0.3, 1.1, 0.8),
    "strings": Role(4, -6.0, 70.0, 1.5, 30.0, 300.0, 2.0, -0.1, 1.2, 1.4),
    "pad": Role(3, -8.0, 150.0, 1.5, 30.0, 300.0, 2.0, 0.0, 1.3, 1.4),
    "fx": Role(2, -10.0, 200.0, 1.5, 10.0, 200.0, 2.0, 0.0, 1.2, 1.5),
    "other": Role(3, -6.0, 100.0, 2.0, 15.0, 200.0, 3.0, 0.0, 1.0, 1.0),
}

@dataclass(frozen=True)
class Style:
    """A mix style: the space bus and the glue.

    Attributes:
        room_size: pedalboard Reverb room size 0…1; damping 0…1.
        return_db: reverb return level, dB.
        glue_ratio: bus compressor ratio.
        width: overall width factor applied on top of each role's.
        compression: scales every part compressor's ratio above 1 (0.5 gentler, 1.5 harder).
        target: delivery target name for the master.
    """

    room_size: float
    damping: float
    return_db: float
    glue_ratio: float
    width: float
    compression: float
    target: str


STYLES: dict[str, Style] = {
    "cinematic": Style(0.85, 0.4, -10.0, 1.5, 1.2, 0.7, "streaming"),
    "pop": Style(0.45, 0.5, -16.0, 2.0, 1.0, 1.2, "streaming"),
    "intimate": Style(0.25, 0.6, -20.0, 1.5, 0.8, 0.6, "streaming"),
    "electronic": Style(0.55, 0.3, -15.0, 2.5, 1.15, 1.4, "streaming"),
}
#: A lower-priority part within this many dB of a higher one in the higher one's key band masks it.
MASKING_MARGIN_DB = 10.0
#: A key band must be within this many dB of the part's loudest band (where it really plays).
KEY_BAND_RANGE_DB = 12.0
_BAND_EDGES = 63.0 * 2.0 ** (np.arange(0, 23) / 3.0)    # third octaves, 63 Hz … 10 kHz
_BAND_CENTRES = np.sqrt(_BAND_EDGES[:-1] * _BAND_EDGES[1:])
_MAX_CUT_DB, _MIN_CUT_DB, _CUT_Q, _CLEARANCE_DB = 6.0, 2.0, 1.4, 3.0
_SILENT_LUFS = -70.0
_SPECTRUM_FRAME, _SPECTRUM_FRAMES = 4096, 600


def guess_role(name: str, audio: Audio | None = None) -> str:
    """A part's role: from its name (:func:`trackwright.analysis.roles.role_from_name`), else from
    its sound when ``audio`` is given (:func:`trackwright.analysis.roles.guess_role`), else ``other``."""
    named = role_from_name(name)
    if named is not None:
        return named.role
    return guess_stem_role(name, audio).role if audio is not None else "other"


@dataclass(frozen=True)
class PartPlan:
    """Every decision for one part.

    Attributes:
        role: the part's role (a :data:`ROLES` key).
        gain_db: the fader (after the compressor), dB: the part's level change.
        highpass_hz: high-pass corner, Hz (0 = none).
        cuts: unmasking cuts ``{"freq_hz", "gain_db", "q", "for"}`` (``for`` = the part unmasked).
        compressor: ``{"threshold_db", "ratio", "attack_ms", "release_ms"}`` or None.
        pan: −1…+1 balance; width: side gain.
        send_db: reverb send, dB (None = dry).
        mute: leave the part out.
        why: the reasons, in words.
    """

    role: str
    gain_db: float = 0.0
    highpass_hz: float = 0.0
    cuts: list[dict[str, Any]] = field(default_factory=list)
    compressor: dict[str, float] | None = None
    pan: float = 0.0
    width: float = 1.0
    send_db: float | None = None
    mute: bool = False
    why: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain form (recipe ``mix.parts.<name>`` and JSON)."""
        return {"role": self.role, "gain_db": round(self.gain_db, 2), "highpass_hz": round(self.highpass_hz, 1),
                "cuts": [dict(c) for c in self.cuts],
                "compressor": None if self.compressor is None else dict(self.compressor),
                "pan": round(self.pan, 3), "width": round(self.width, 3),
                "send_db": None if self.send_db is None else round(self.send_db, 2), "mute": self.mute,
                "why": list(self.why)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], field_name: str = "part") -> PartPlan:
        """Parse :meth:`to_dict`'s form; errors name the field."""
        allowed = ("role", "gain_db", "highpass_hz", "cuts", "compressor", "pan", "width", "send_db", "mute", "why")
        if not isinstance(data, Mapping):
            raise ParameterError(f"{field_name}: must be a mapping of {', '.join(allowed)}")
        reject_unknown_fields(data, allowed, field_name)
        role = data.get("role", "other")
        if role not in ROLES:
            raise ParameterError(f"{field_name}.role: must be one of {', '.join(ROLES)}, got {role!r}")

        def number(key: str, default: float, lo: float, hi: float) -> float:
            value = data.get(key, default)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
                raise ParameterError(f"{field_name}.{key}: must be a number {lo:g}…{hi:g}, got {value!r}")
            return float(value)

        cuts = []
        for index, cut in enumerate(data.get("cuts") or []):
            if not isinstance(cut, Mapping) or not {"freq_hz", "gain_db"} <= set(cut):
                raise ParameterError(f"{field_name}.cuts[{index}]: needs freq_hz and gain_db")
            cuts.append(dict(cut))
        send = data.get("send_db")
        return cls(role=role, gain_db=number("gain_db", 0.0, -60.0, 24.0),
                   highpass_hz=number("highpass_hz", 0.0, 0.0, 2000.0), cuts=cuts,
                   compressor=None if data.get("compressor") is None else dict(data["compressor"]),
                   pan=number("pan", 0.0, -1.0, 1.0), width=number("width", 1.0, 0.0, 2.0),
                   send_db=None if send is None else number("send_db", 0.0, -80.0, 12.0),
                   mute=bool(data.get("mute", False)), why=[str(w) for w in data.get("why") or []])


@dataclass(frozen=True)
class MixPlan:
    """A whole mix as data: style, each part's decisions, the bus and the master target.

    Attributes:
        style: a :data:`STYLES` name.
        parts: part name → :class:`PartPlan`.
        bus: ``{"reverb": {...}, "glue": {...}}``.
        target: delivery target for the master (a name or LUFS), or None for no mastering.
    """

    style: str
    parts: dict[str, PartPlan]
    bus: dict[str, Any]
    target: str | float | None = "streaming"

    def to_dict(self) -> dict[str, Any]:
        """Plain form: the recipe's ``mix:`` block."""
        return {"style": self.style, "target": self.target, "bus": _plain(self.bus),
                "parts": {name: part.to_dict() for name, part in sorted(self.parts.items())}}

    @classmethod
    def from_dict(cls, data: Any, field_name: str = "mix") -> MixPlan:
        """Parse :meth:`to_dict`'s form; errors name the field."""
        if not isinstance(data, Mapping):
            raise ParameterError(f"{field_name}: must be a mapping of style, target, bus, parts")
        reject_unknown_fields(data, ("style", "target", "bus", "parts"), field_name)
        style = data.get("style", "pop")
        if style not in STYLES:
            raise ParameterError(f"{field_name}.style: must be one of {', '.join(STYLES)}, got {style!r}")
        parts = data.get("parts") or {}
        if not isinstance(parts, Mapping):
            raise ParameterError(f"{field_name}.parts: must be a mapping of part name → decisions")
        bus = data.get("bus") or {}
        if not isinstance(bus, Mapping):
            raise ParameterError(f"{field_name}.bus: must be a mapping")
        return cls(style, {str(n): PartPlan.from_dict(p, f"{field_name}.parts.{n}") for n, p in parts.items()},
                   dict(bus), data.get("target", "streaming"))


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (bool, str)) or value is None:
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    return round(float(value), 3)


def band_levels_db(audio: Audio) -> np.ndarray:
    """Long-term level of each third-octave band (centres ``_BAND_CENTRES``, 70 Hz–9 kHz), dB."""
    mono = audio.samples.mean(axis=0)
    size = min(_SPECTRUM_FRAME, mono.size)
    count = max(1, min(mono.size // size, _SPECTRUM_FRAMES))
    # up to _SPECTRUM_FRAMES frames spread evenly over the part (a long-term average, not every frame)
    starts = np.linspace(0, mono.size - size, count).astype(int)
    frames = mono[starts[:, None] + np.arange(size)[None, :]] * np.hanning(size).astype(np.float32)
    power = np.mean(np.abs(np.fft.rfft(frames, axis=1)) ** 2, axis=0)
    freqs = np.fft.rfftfreq(size, 1.0 / audio.sample_rate)
    levels = []
    for lo, hi in zip(_BAND_EDGES[:-1], _BAND_EDGES[1:]):
        inside = (freqs >= lo) & (freqs < hi)
        levels.append(10.0 * np.log10(float(power[inside].sum()) + 1e-20))
    return np.array(levels)


def _key_bands(levels_db: np.ndarray, count: int = 2) -> np.ndarray:
    """Indices of the ``count`` bands where a part stands out most from its own average, among the
    bands within :data:`KEY_BAND_RANGE_DB` of its loudest; the most distinctive last."""
    distinct = levels_db - levels_db.mean()
    distinct[levels_db < levels_db.max() - KEY_BAND_RANGE_DB] = -np.inf
    return np.argsort(distinct)[-count:][np.isfinite(np.sort(distinct)[-count:])]


def masking_ratio_db(part: Audio, others: list[Audio], *, band_hz: tuple[float, float] | None = None) -> float:
    """How far ``part`` stands above the sum of ``others`` in its key band, dB (higher = clearer).

    ``band_hz`` defaults to the third-octave band where ``part`` stands out most from its own
    average (its key band). Energy ratio of ``part`` over Σ ``others`` in that band.
    """
    mine = band_levels_db(part)
    if band_hz is None:
        key = int(_key_bands(mine)[-1])
    else:
        centre = math.sqrt(band_hz[0] * band_hz[1])
        key = int(np.argmin(np.abs(np.log(_BAND_CENTRES / centre))))
    others_power = sum(10.0 ** (band_levels_db(o)[key] / 10.0) for o in others)
    return float(mine[key] - 10.0 * np.log10(others_power + 1e-20))


def _loudness(audio: Audio) -> float:
    try:
        return float(integrated_loudness(audio))
    except MeasurementError:
        return -math.inf


def plan_mix(stems: Mapping[str, Audio], *, style: str = "pop", roles: Mapping[str, str] | None = None,
             target: str | float | None = None, unmask: bool = True) -> MixPlan:
    """Decide a mix of ``stems`` (part name → audio, same rate and length).

    Parameters
    ----------
    stems : mapping of str to Audio
        The parts (channels × frames each).
    style : str
        A :data:`STYLES` name: the space, glue, width and compression character.
    roles : mapping, optional
        Part name → role, overriding :func:`guess_role`.
    target : str or float, optional
        Master target (name or LUFS); default the style's; ``"none"`` for no mastering.
    unmask : bool
        Carve masking bands out of lower-priority parts.

    Returns
    -------
    MixPlan
    """
    return _plan_mix(stems, style=style, roles=roles, target=target, unmask=unmask, keep_renders=False)[0]


@dataclass(frozen=True)
class _Measured:
    """What planning reads off one stem, all in one pass over it.

    Attributes:
        loudness: integrated loudness as delivered, LUFS (−inf when silent).
        threshold_db: :func:`glue_threshold_db` of the stem, dBFS.
        band_levels: :func:`band_levels_db` (third-octave levels, dB, shape (22,)), or None
            when not unmasking.
        highpassed: the stem as float32 stereo (2 × frames) through its role's high-pass, the
            common first stage of every render of the part.
    """

    loudness: float
    threshold_db: float
    band_levels: np.ndarray | None
    highpassed: np.ndarray


def _measure(audio: Audio, highpass_hz: float, unmask: bool) -> _Measured:
    """:class:`_Measured` for one stem whose role high-passes at ``highpass_hz`` Hz (0 = none)."""
    return _Measured(_loudness(audio), glue_threshold_db(audio.samples, audio.sample_rate),
                     band_levels_db(audio) if unmask else None, _highpassed(audio, highpass_hz))


def _plan_mix(stems: Mapping[str, Audio], *, style: str, roles: Mapping[str, str] | None,
              target: str | float | None, unmask: bool, keep_renders: bool) -> tuple[MixPlan, dict[str, Audio]]:
    """:func:`plan_mix`; with ``keep_renders`` also each audible part rendered as planned at a
    0 dB fader (for :func:`_apply` to scale), else an empty dict."""
    if style not in STYLES:
        raise ParameterError(f"unknown mix style {style!r}: use one of {', '.join(STYLES)}")
    _check_stems(stems)
    chosen = STYLES[style]
    unknown = sorted(set(roles or {}) - set(stems))
    if unknown:
        raise ParameterError(f"--role {unknown[0]}=…: no part named {unknown[0]!r} (parts: {', '.join(stems)})")
    role_of = {name: (roles or {}).get(name) or guess_role(name, audio) for name, audio in stems.items()}
    for name, role in role_of.items():
        if role not in ROLES:
            raise ParameterError(f"part {name}: unknown role {role!r} (roles: {', '.join(ROLES)})")
    names = list(stems)
    measured = dict(zip(names, thread_map(lambda n: _measure(stems[n], ROLES[role_of[n]].highpass_hz, unmask), names)))
    loudness = {n: measured[n].loudness for n in names}
    audible = [n for n in stems if loudness[n] > _SILENT_LUFS]
    if not audible:
        raise ParameterError("every stem is silent: nothing to mix")
    anchor = max(audible, key=lambda n: (ROLES[role_of[n]].priority, loudness[n]))
    # the anchor sits at −18 LUFS before the master; the others relative to it
    plans: dict[str, dict[str, Any]] = {}
    for name in stems:
        role = ROLES[role_of[name]]
        if name not in audible:
            plans[name] = {"role": role_of[name], "mute": True, "why": ["silent: left out"]}
            continue
        goal = -18.0 + role.level_lu - ROLES[role_of[anchor]].level_lu
        gain = float(np.clip(goal - loudness[name], -40.0, 24.0))
        why = [f"{role_of[name]} at {goal:.1f} LUFS ({loudness[name]:.1f} LUFS as delivered)"]
        if role.highpass_hz:
            why.append(f"high-pass at {role.highpass_hz:g} Hz: a {role_of[name]} part has no business below it")
        ratio = 1.0 + (role.ratio - 1.0) * chosen.compression
        # the compressor starts ``depth_db`` under the part's loud peaks (after its gain)
        threshold = measured[name].threshold_db + 3.0 - role.depth_db
        send = None if role.send == 0 else 20 * math.log10(role.send)
        plans[name] = {"role": role_of[name], "gain_db": gain, "highpass_hz": role.highpass_hz,
                       "compressor": {"threshold_db": round(threshold, 2), "ratio": round(ratio, 2),
                                      "attack_ms": role.attack_ms, "release_ms": role.release_ms},
                       "pan": role.pan, "width": float(np.clip(role.width * chosen.width, 0.0, 2.0)) if role.width else 0.0,
                       "send_db": send, "cuts": [], "why": why}
    if unmask:
        _unmask({n: measured[n].band_levels for n in audible}, plans, audible, role_of)
    renders = _set_faders(stems, {n: measured[n].highpassed for n in audible}, plans,
                          {n: -18.0 + ROLES[role_of[n]].level_lu - ROLES[role_of[anchor]].level_lu for n in audible},
                          keep_renders)
    bus = {"reverb": {"room_size": chosen.room_size, "damping": chosen.damping, "return_db": chosen.return_db},
           "glue": {"ratio": chosen.glue_ratio, "attack_ms": 30.0, "release_ms": 200.0}}
    resolved_target: str | float | None = chosen.target if target is None else target
    if isinstance(resolved_target, str) and resolved_target.lower() == "none":
        resolved_target = None
    return MixPlan(style, {n: PartPlan.from_dict(p, f"parts.{n}") for n, p in plans.items()}, bus,
                   resolved_target), renders


def _set_faders(stems: Mapping[str, Audio], highpassed: Mapping[str, np.ndarray], plans: dict[str, dict[str, Any]],
                goals: Mapping[str, float], keep_renders: bool) -> dict[str, Audio]:
    """Measure each part through its chain at unity and set its fader so it lands on its goal, LUFS.

    ``highpassed`` holds each part after its high-pass (float32, 2 × frames), the stage every
    render shares. The fader is measured without the unmasking cuts (it must not undo a carve).
    With ``keep_renders``, returns each part rendered with its cuts at a 0 dB fader — for a part
    without cuts that is the measured render itself — so :func:`_apply` only scales them (the
    fader is linear); the renders with cuts need no fader, so they run alongside the measuring.
    """
    names = list(goals)
    carved = [n for n in names if keep_renders and plans[n]["cuts"]]
    unity = {n: PartPlan.from_dict({**plans[n], "gain_db": 0.0}, f"parts.{n}") for n in names}

    def render(job: tuple[str, bool]) -> tuple[Audio, float]:
        """(render at 0 dB, its loudness in LUFS — measured only for the cut-free render)."""
        name, with_cuts = job
        audio = stems[name].with_samples(_finish_part(highpassed[name], stems[name].sample_rate, unity[name],
                                                      with_cuts=with_cuts))
        return audio, (math.nan if with_cuts else _loudness(audio))

    jobs = [(n, False) for n in names] + [(n, True) for n in carved]
    done = dict(zip(jobs, thread_map(render, jobs)))
    renders = {}
    for name in names:
        audio, measured = done[(name, False)]
        gain = plans[name]["gain_db"] if not math.isfinite(measured) else np.clip(goals[name] - measured, -60.0, 24.0)
        plans[name]["gain_db"] = round(float(gain), 2)
        if keep_renders:
            renders[name] = done[(name, True)][0] if name in carved else audio
    return renders


def _unmask(band_levels: Mapping[str, np.ndarray], plans: dict[str, dict[str, Any]], audible: list[str],
            role_of: Mapping[str, str]) -> None:
    """Add peak cuts to lower-priority parts where they crowd a higher one's key bands.

    ``band_levels`` holds each audible stem's :func:`band_levels_db` as delivered, dB.
    """
    levels = {n: band_levels[n] + plans[n]["gain_db"] for n in audible}
    ranked = sorted(audible, key=lambda n: -ROLES[role_of[n]].priority)
    for high in ranked:
        mine = levels[high]
        keys = _key_bands(mine)
        for low in ranked:
            if ROLES[role_of[low]].priority >= ROLES[role_of[high]].priority:
                continue
            for key in sorted(int(k) for k in keys):
                excess = float(levels[low][key] - (mine[key] - MASKING_MARGIN_DB))
                if excess <= 0:
                    continue
                cut = float(np.clip(excess + _CLEARANCE_DB, _MIN_CUT_DB, _MAX_CUT_DB))
                freq = float(_BAND_CENTRES[key])
                plans[low]["cuts"].append({"freq_hz": round(freq, 1), "gain_db": round(-cut, 2), "q": _CUT_Q,
                                           "for": high})
                plans[low]["why"].append(f"cut {cut:.1f} dB at {freq:.0f} Hz: it masks {high} there "
                                         f"({levels[low][key] - mine[key]:+.1f} dB against it)")
                levels[low][key] -= cut


def _check_stems(stems: Mapping[str, Audio]) -> None:
    if not stems:
        raise ParameterError("no stems to mix")
    rates = {a.sample_rate for a in stems.values()}
    frames = {a.frames for a in stems.values()}
    if len(rates) > 1 or len(frames) > 1:
        raise ParameterError("stems must share one sample rate and length "
                             f"(rates {sorted(rates)} Hz, lengths {sorted(frames)} frames)")
    for name, audio in stems.items():
        validate_audio(audio, name=name)
        if audio.channels > 2:
            raise ParameterError(f"{name}: mixing takes mono or stereo stems, got {audio.channels} channels")


def _highpassed(audio: Audio, highpass_hz: float) -> np.ndarray:
    """``audio`` as float32 stereo (2 × frames; mono is doubled) through a 12 dB/octave high-pass
    at ``highpass_hz`` Hz (two 6 dB/octave stages; 0 = none, a copy-free pass-through)."""
    samples = audio.samples
    samples = np.repeat(samples, 2, axis=0) if audio.channels == 1 else samples
    samples = np.ascontiguousarray(samples, np.float32)
    if highpass_hz <= 0:
        return samples
    board = pedalboard.Pedalboard([pedalboard.HighpassFilter(cutoff_frequency_hz=highpass_hz),
                                   pedalboard.HighpassFilter(cutoff_frequency_hz=highpass_hz)])
    return board(samples, audio.sample_rate)


def _finish_part(highpassed: np.ndarray, sample_rate: int, plan: PartPlan, *, with_cuts: bool = True) -> np.ndarray:
    """The rest of a part's chain after :func:`_highpassed`: the plan's cuts (unless
    ``with_cuts`` is False), compressor, fader, width and pan. Float32 2 × frames in and out.

    The cuts and the compressor keep separate state per channel, so each channel runs on its own
    core (:func:`~trackwright.mix.master.per_channel`): the renders of a mix then share the cores
    evenly however unevenly their chains are loaded."""
    cuts = plan.cuts if with_cuts else []
    if not cuts and plan.compressor is None:
        return _place(highpassed, plan.gain_db, plan.width, plan.pan)

    def board() -> pedalboard.Pedalboard:
        plugins: list[pedalboard.Plugin] = [
            pedalboard.PeakFilter(cutoff_frequency_hz=float(cut["freq_hz"]), gain_db=float(cut["gain_db"]),
                                  q=float(cut.get("q", _CUT_Q))) for cut in cuts]
        if plan.compressor is not None:
            plugins.append(pedalboard.Compressor(threshold_db=float(plan.compressor["threshold_db"]),
                                                 ratio=max(1.0, float(plan.compressor["ratio"])),
                                                 attack_ms=float(plan.compressor["attack_ms"]),
                                                 release_ms=float(plan.compressor["release_ms"])))
        return pedalboard.Pedalboard(plugins)

    return _place(per_channel(board, highpassed, sample_rate), plan.gain_db, plan.width, plan.pan)


def _place(samples: np.ndarray, gain_db: float, width: float, pan: float) -> np.ndarray:
    """Fader (dB), width (side gain) and constant-power pan (−1…+1) of float32 2 × frames
    ``samples`` as one 2 × 2 matrix, in float32; a new array."""
    angle = (pan + 1.0) * math.pi / 4.0   # constant-power pan; ×√2 keeps the centre at unity
    fader = 10.0 ** (gain_db / 20.0) * math.sqrt(2.0)
    # mid = (L + R) / 2, side = (L − R) / 2 · width; left = (mid + side) · cos, right = (mid − side) · sin
    matrix = np.array([[1.0 + width, 1.0 - width], [1.0 - width, 1.0 + width]]) / 2.0
    matrix *= fader * np.array([[math.cos(angle)], [math.sin(angle)]])
    out = np.empty_like(samples, dtype=np.float32)
    scratch = np.empty(samples.shape[1], dtype=np.float32)
    for row in range(2):
        np.multiply(samples[0], np.float32(matrix[row, 0]), out=out[row])
        if matrix[row, 1] != 0.0:
            out[row] += np.multiply(samples[1], np.float32(matrix[row, 1]), out=scratch)
    return out


def process_part(audio: Audio, plan: PartPlan) -> Audio:
    """One part through its plan: high-pass, cuts, compressor, fader gain, width and pan (stereo out)."""
    if plan.mute:
        return audio.with_samples(np.zeros((2, audio.frames), dtype=np.float32))
    return audio.with_samples(_finish_part(_highpassed(audio, plan.highpass_hz), audio.sample_rate, plan))


@dataclass(frozen=True)
class MixResult:
    """A mix and how it was made.

    Attributes:
        audio: the master (or the pre-master mix when the plan has no target), 2 × frames.
        premaster: the mix before mastering, 2 × frames.
        parts: part name → processed part (2 × frames), before the space bus.
        plan: the decisions.
        master: the mastering result, or None.
        warnings: one line each.
    """

    audio: Audio
    premaster: Audio
    parts: dict[str, Audio]
    plan: MixPlan
    master: MasterResult | None
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the plan (every decision with its reasons) and the master's numbers."""
        out = {"plan": self.plan.to_dict(), "warnings": list(self.warnings), "master": None}
        if self.master is not None:
            out["master"] = {"target": self.master.target.name, "integrated_lufs": round(self.master.after.integrated_lufs, 2),
                             "true_peak_dbtp": round(self.master.after.true_peak_dbtp, 2),
                             "gain_db": round(self.master.gain_db, 2)}
        return out


def apply_mix(stems: Mapping[str, Audio], plan: MixPlan, *, progress: ProgressCallback | None = None) -> MixResult:
    """Render ``plan`` over ``stems``: parts in parallel, the reverb bus, glue, then the master.

    Parts the plan does not name play as delivered (centre, no processing) with a warning.
    """
    return _apply(stems, plan, {}, progress)


def _apply(stems: Mapping[str, Audio], plan: MixPlan, renders: Mapping[str, Audio],
           progress: ProgressCallback | None) -> MixResult:
    """:func:`apply_mix`; ``renders`` holds parts already rendered as ``plan`` has them but at a
    0 dB fader (from :func:`_plan_mix`), which only need scaling by their fader."""
    report = progress or ignore_progress
    _check_stems(stems)
    warnings = [f"{name}: not in the mix plan, played as delivered" for name in stems if name not in plan.parts]
    unknown = sorted(set(plan.parts) - set(stems))
    if unknown:
        raise ParameterError(f"the mix plan names a part with no stem: {unknown[0]} (stems: {', '.join(stems)})")
    rate = next(iter(stems.values())).sample_rate
    names = sorted(stems)
    report(0.05, "processing parts")

    def part(name: str) -> Audio:
        chosen = plan.parts.get(name, PartPlan("other"))
        if name in renders and not chosen.mute:
            return renders[name].with_samples(renders[name].samples * np.float32(10.0 ** (chosen.gain_db / 20.0)))
        return process_part(stems[name], chosen)

    processed = dict(zip(names, thread_map(part, names)))
    # float32 sums: a handful of parts add up far inside float32's 24-bit precision
    sends = np.zeros((2, processed[names[0]].frames), dtype=np.float32)
    scratch = np.empty_like(sends)
    for name in names:
        chosen = plan.parts.get(name)
        if chosen is not None and chosen.send_db is not None and not chosen.mute:
            sends += np.multiply(processed[name].samples, np.float32(10.0 ** (chosen.send_db / 20.0)), out=scratch)
    report(0.5, "space and glue")
    reverb = plan.bus.get("reverb", {})
    space = pedalboard.Reverb(room_size=float(reverb.get("room_size", 0.5)), damping=float(reverb.get("damping", 0.5)),
                              wet_level=1.0, dry_level=0.0, width=1.0)
    with ThreadPoolExecutor(max_workers=1) as pool:  # the reverb takes one core: sum the dry parts beside it
        wet = pool.submit(space, sends, float(rate))
        dry = scratch
        np.copyto(dry, processed[names[0]].samples)
        for name in names[1:]:
            dry += processed[name].samples
        mix = wet.result()
    mix *= np.float32(10.0 ** (float(reverb.get("return_db", -14.0)) / 20.0))
    mix += dry
    glue = plan.bus.get("glue", {})
    # a plan read back from a recipe keeps its threshold; a fresh one records what was used
    threshold = float(glue["threshold_db"]) if "threshold_db" in glue else round(glue_threshold_db(mix, rate), 2)
    plan.bus.setdefault("glue", {})["threshold_db"] = threshold

    def compressor() -> pedalboard.Compressor:
        return pedalboard.Compressor(threshold_db=threshold, ratio=float(glue.get("ratio", 2.0)),
                                     attack_ms=float(glue.get("attack_ms", 30.0)),
                                     release_ms=float(glue.get("release_ms", 200.0)))

    premaster = Audio(per_channel(compressor, mix, rate), rate)
    peak = float(np.abs(premaster.samples).max())
    if peak > 1.0 and plan.target is None:
        warnings.append(f"the mix peaks at {20 * math.log10(peak):+.1f} dBFS with no master to contain it")
    mastered = None
    out = premaster
    if plan.target is not None:
        target: Target = resolve_target(plan.target)
        mastered = master(premaster, target, progress=lambda f, label: report(0.6 + 0.4 * f, f"mastering: {label}"))
        warnings.extend(mastered.warnings)
        out = mastered.audio
    report(1.0, "mixed")
    return MixResult(out, premaster, processed, plan, mastered, warnings)


def mix_stems(stems: Mapping[str, Audio], *, style: str = "pop", roles: Mapping[str, str] | None = None,
              target: str | float | None = None, progress: ProgressCallback | None = None) -> MixResult:
    """:func:`plan_mix` then :func:`apply_mix`: the whole mix of ``stems`` in one call."""
    plan, renders = _plan_mix(stems, style=style, roles=roles, target=target, unmask=True, keep_renders=True)
    return _apply(stems, plan, renders, progress)
