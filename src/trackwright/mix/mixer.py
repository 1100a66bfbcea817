"""Mixing stems that first does no harm: the source's own balance, moved only where a problem is measured.

Conventions
-----------
* Mixing is two stages: :func:`plan_mix` *decides* (measures the stems and writes every choice
  into a :class:`MixPlan`, plain data that round-trips through a recipe's ``mix:`` block and
  ``--json``), and :func:`apply_mix` *does* (renders a plan). A revised plan — one part's gain
  changed by hand — renders without re-deciding anything else.
* The plan starts from the source's own balance: every fader at 0 dB, every part centred as
  delivered, its width as delivered. It moves only where it measures a problem, and writes the
  reason beside each move (``why``):

  - **masking**: a lower-priority part as loud as a higher one (within :data:`MASKING_MARGIN_DB`)
    in one of the higher one's *key bands* (the two third-octave bands, 63 Hz–10 kHz, where it
    stands out most from its own average, among those within 12 dB of its loudest) gets a peak
    cut there (Q 1.4), :data:`MIN_CUT_DB`–:data:`MAX_EQ_DB` deep;
  - **rumble**: a part whose role has no business low down gets its role's high-pass only when
    the stem's own power under the corner is at most :data:`RUMBLE_SHARE_DB` of its whole
    (rumble, not content) — never on a full-band or bass-carrying stem;
  - **dynamics**: a part whose loudness range (EBU R128 LRA) exceeds :data:`WANDERING_LRA_LU`
    gets its role's compressor (scaled by the style), with its fader making up the loudness
    it took, so the balance holds;
  - **tonal balance** against the style's target curve (:class:`Style`): the sum's
    third-octave spectrum, aligned over 250 Hz–4 kHz, in the bands of
    :data:`trackwright.analysis.tonal.PROBLEM_BANDS` (boomy, muddy, boxy, harsh, sibilant; thin,
    dull): half the excess beyond the style's tolerance (a deficit: :data:`BOOST_EXTRA_DB` more)
    is corrected on the bus, at most :data:`MAX_EQ_DB`;
  - **space**: the style's reverb return is lowered until it changes the mix's side/mid by at
    most :data:`SPACE_WIDTH_DB` either way and sits :data:`SPACE_UNDER_LU` under the dry mix, so a
    near-mono source stays near mono and a wide (even out-of-phase) one stays wide;
  - **peaks**: when the sum's peak-to-loudness ratio exceeds :data:`PLR_ALLOWANCE_DB`, a master
    to the style's target would limit more than :data:`MAX_LIMITING_DB`; the glue is set deeper
    by the excess.

  The style's width applies to every part, capped at ±:data:`MAX_WIDTH_DB` of side/mid.
* Each part has a *role* (:data:`trackwright.analysis.roles.ROLES`, the one vocabulary):
  given (a project's roles, ``--role``), else guessed from its name, else its sound. Roles
  carry a priority (vocals highest) for unmasking, a high-pass corner, a compressor and a send
  (:data:`ROLE_SETTINGS`).
* :func:`balance_report` measures each part before and after (loudness, octave bands, width).
* Levels in dB/LUFS, frequencies in Hz, times in ms where named so. Audio is channels × frames.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pedalboard

from trackwright.analysis.bands import OCTAVE_BANDS_HZ, octave_levels_db, side_mid_db
from trackwright.analysis.loudness import integrated_loudness, measure_loudness
from trackwright.analysis.roles import ROLES as ROLE_NAMES
from trackwright.analysis.roles import guess_role
from trackwright.analysis.spectrum import average_spectrum
from trackwright.analysis.tonal import PROBLEM_BANDS, reference_curve_db, third_octave_levels
from trackwright.audio import Audio, validate_audio
from trackwright.errors import MeasurementError, ParameterError, reject_unknown_fields
from trackwright.mix.master import MasterResult, glue_threshold_db, master, per_channel
from trackwright.mix.targets import Target, resolve_target
from trackwright.parallel import thread_map
from trackwright.progress import ProgressCallback, ignore_progress


@dataclass(frozen=True)
class Role:
    """How a kind of part is treated when a problem calls for it.

    Attributes:
        priority: higher wins unmasking (vocals 10 … fx 2).
        highpass_hz: high-pass corner, Hz, used only against rumble (0 = never).
        ratio, attack_ms, release_ms: compressor, used only on a part whose loudness wanders;
            its threshold sits ``depth_db`` under the part's loud peaks (90th percentile of
            50 ms peaks); the fader after it makes up the loudness it took.
        depth_db: see above, dB.
        send: reverb send relative to the style's, linear 0…2.
    """

    priority: int
    highpass_hz: float
    ratio: float
    attack_ms: float
    release_ms: float
    depth_db: float
    send: float


#: Role → its settings; keyed by the one role vocabulary (:data:`trackwright.analysis.roles.ROLES`).
ROLE_SETTINGS: dict[str, Role] = {
    "vocals": Role(10, 90.0, 3.0, 5.0, 120.0, 6.0, 1.0),
    "lead": Role(9, 120.0, 2.5, 10.0, 150.0, 4.0, 1.0),
    "drums": Role(8, 0.0, 2.0, 25.0, 120.0, 4.0, 0.4),
    "bass": Role(7, 0.0, 4.0, 15.0, 200.0, 6.0, 0.0),
    "guitar": Role(5, 80.0, 2.5, 10.0, 150.0, 3.0, 0.8),
    "keys": Role(5, 80.0, 2.0, 15.0, 200.0, 3.0, 1.0),
    "strings": Role(4, 50.0, 1.5, 30.0, 300.0, 2.0, 1.4),
    "pad": Role(3, 100.0, 1.5, 30.0, 300.0, 2.0, 1.4),
    "fx": Role(2, 150.0, 1.5, 10.0, 200.0, 2.0, 1.5),
    "other": Role(3, 0.0, 2.0, 15.0, 200.0, 3.0, 1.0),
}
if tuple(ROLE_SETTINGS) != ROLE_NAMES:  # a fact of the code, not of the input: checked at import
    raise RuntimeError("mix.mixer.ROLE_SETTINGS must be keyed by analysis.roles.ROLES, in order")
#: The roles (the mixer's settings per role); an alias kept for callers.
ROLES = ROLE_SETTINGS


@dataclass(frozen=True)
class Style:
    """A mix style: its target curve, its space, its glue.

    Attributes:
        room_size: pedalboard Reverb room size 0…1; damping 0…1.
        return_db: the most reverb return it asks for, dB (lowered by the space check).
        glue_ratio: bus compressor ratio.
        width: side gain applied to every part (1 = as delivered; capped at ±:data:`MAX_WIDTH_DB`).
        compression: scales a part compressor's ratio above 1 (0 = never compress).
        target: delivery target name for the master.
        tilt_db: the target curve's slope above 150 Hz relative to the reference (dB per octave,
            positive brighter); low_db: its level under 150 Hz relative to the reference, dB.
        tolerance_db: how far a problem band may stray from the target before it is corrected, dB.
    """

    room_size: float
    damping: float
    return_db: float
    glue_ratio: float
    width: float
    compression: float
    target: str
    tilt_db: float = 0.0
    low_db: float = 0.0
    tolerance_db: float = 4.0

    def curve_db(self, freqs_hz: np.ndarray) -> np.ndarray:
        """The style's target curve, dB relative to 1 kHz (:func:`trackwright.analysis.tonal.reference_curve_db`
        tilted by ``tilt_db`` per octave above 150 Hz, ``low_db`` under it)."""
        f = np.maximum(np.asarray(freqs_hz, dtype=float), 1.0)
        tilt = self.tilt_db * np.log2(np.maximum(f, 150.0) / 1000.0)
        return reference_curve_db(f) + tilt + np.where(f < 150.0, self.low_db, 0.0)


STYLES: dict[str, Style] = {
    "pop": Style(0.45, 0.5, -16.0, 2.0, 1.0, 1.0, "streaming"),
    "cinematic": Style(0.85, 0.4, -10.0, 1.5, 1.1, 0.6, "streaming", -0.5, 1.0, 5.0),
    "intimate": Style(0.25, 0.6, -20.0, 1.5, 0.9, 0.6, "streaming", 0.0, -1.0, 4.0),
    "electronic": Style(0.55, 0.3, -15.0, 2.5, 1.05, 1.2, "streaming", 0.5, 2.0, 4.0),
    "rock": Style(0.35, 0.5, -18.0, 2.0, 1.0, 1.0, "streaming", 0.5, 1.0, 5.0),
    "metal": Style(0.3, 0.55, -20.0, 2.0, 1.0, 1.0, "streaming", 1.0, 2.0, 5.0),
    "orchestral": Style(0.8, 0.45, -12.0, 1.2, 1.1, 0.3, "streaming", -1.0, 0.0, 5.0),
    "ambient": Style(0.9, 0.35, -10.0, 1.2, 1.15, 0.3, "streaming", -1.0, 0.0, 5.0),
}
#: A lower-priority part within this many dB of a higher one in the higher one's key band masks it.
MASKING_MARGIN_DB = 6.0
#: A key band must be within this many dB of the part's loudest band (where it really plays).
KEY_BAND_RANGE_DB = 12.0
#: Largest EQ move (a cut, or a bus correction), dB.
MAX_EQ_DB = 4.0
#: Smallest unmasking cut, dB.
MIN_CUT_DB = 2.0
#: A role's high-pass goes on a stem only when the stem's power under the corner is at most this, dB re its whole.
RUMBLE_SHARE_DB = -20.0
#: A role's high-pass goes on a stem only when it would lower the mix's energy in no octave band
#: (63, 125, 250 Hz) by more than this, dB: a stem that carries the song's low end keeps it.
HIGHPASS_MIX_COST_DB = 1.5
#: Octave bands (centres, Hz) whose loss a high-pass is judged by.
_LOW_OCTAVES_HZ = (63.0, 125.0, 250.0)
#: A low octave this far under the mix's loudest octave holds nothing a high-pass could take, dB.
_EMPTY_OCTAVE_DB = 40.0
#: A part whose loudness range exceeds this, LU, gets its role's compressor.
WANDERING_LRA_LU = 8.0
#: Largest width change, dB of side/mid.
MAX_WIDTH_DB = 3.0
#: The reverb may widen the mix's side/mid by this much at most, dB.
SPACE_WIDTH_DB = 1.0
#: A reverb return the space check would hold under this (dB) is left out altogether (None).
REVERB_OFF_DB = -80.0
#: The reverb return sits at least this far under the dry mix, LU.
SPACE_UNDER_LU = 18.0
#: Mastering to the style's target should take at most this much limiting, dB.
MAX_LIMITING_DB = 3.0
#: A mix whose peaks stand more than this over its loudness (dB) would take more than
#: :data:`MAX_LIMITING_DB` of limiting to reach −14 LUFS under −1 dBTP (13 dB of headroom + 3).
PLR_ALLOWANCE_DB = 16.0
#: A bus correction is half the excess beyond the tolerance (the master's own EQ may do the rest).
TONAL_SHARE = 0.5
#: A deficit (thin, dull) must exceed the tolerance by this much more before it is lifted, dB.
BOOST_EXTRA_DB = 3.0
_BAND_EDGES = 63.0 * 2.0 ** (np.arange(0, 23) / 3.0)    # third octaves, 63 Hz … 10 kHz
_BAND_CENTRES = np.sqrt(_BAND_EDGES[:-1] * _BAND_EDGES[1:])
_CUT_Q, _CLEARANCE_DB = 1.4, 3.0
_SILENT_LUFS = -70.0
_SPECTRUM_FRAME, _SPECTRUM_FRAMES = 4096, 600
#: The space check listens to this much of the mix (its loudest stretch), seconds.
_SPACE_SPAN_S = 12.0


@dataclass(frozen=True)
class PartPlan:
    """Every decision for one part.

    Attributes:
        role: the part's role (a :data:`ROLE_SETTINGS` key).
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
        if role not in ROLE_SETTINGS:
            raise ParameterError(f"{field_name}.role: must be one of {', '.join(ROLE_SETTINGS)}, got {role!r}")

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
        bus: ``{"reverb": {...}, "glue": {...}, "eq": [...], "why": [...]}``.
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


def _spectrum(audio: Audio) -> tuple[np.ndarray, np.ndarray]:
    """(frequencies Hz, long-term power per bin) of the mono sum: up to :data:`_SPECTRUM_FRAMES`
    Hann frames of 4096 samples spread evenly over the part."""
    mono = audio.samples.mean(axis=0)
    size = min(_SPECTRUM_FRAME, mono.size)
    count = max(1, min(mono.size // size, _SPECTRUM_FRAMES))
    starts = np.linspace(0, mono.size - size, count).astype(int)
    frames = mono[starts[:, None] + np.arange(size)[None, :]] * np.hanning(size).astype(np.float32)
    power = np.mean(np.abs(np.fft.rfft(frames, axis=1)) ** 2, axis=0)
    return np.fft.rfftfreq(size, 1.0 / audio.sample_rate), power


def _third_octaves(freqs: np.ndarray, power: np.ndarray) -> np.ndarray:
    levels = []
    for lo, hi in zip(_BAND_EDGES[:-1], _BAND_EDGES[1:]):
        inside = (freqs >= lo) & (freqs < hi)
        levels.append(10.0 * np.log10(float(power[inside].sum()) + 1e-20))
    return np.array(levels)


def band_levels_db(audio: Audio) -> np.ndarray:
    """Long-term level of each third-octave band (centres ``_BAND_CENTRES``, 70 Hz–9 kHz), dB."""
    return _third_octaves(*_spectrum(audio))


def share_below_db(freqs: np.ndarray, power: np.ndarray, corner_hz: float) -> float:
    """Power under ``corner_hz`` relative to the whole (from :func:`_spectrum`), dB (−inf: none)."""
    below = float(power[(freqs > 0) & (freqs < corner_hz)].sum())
    total = float(power[freqs > 0].sum())
    return 10.0 * math.log10(below / total) if below > 0 and total > 0 else -math.inf


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
             target: str | float | None = None, unmask: bool = True, keep: Collection[str] = ()) -> MixPlan:
    """Decide a mix of ``stems`` (part name → audio, same rate and length) that first does no harm.

    Parameters
    ----------
    stems : mapping of str to Audio
        The parts (channels × frames each).
    style : str
        A :data:`STYLES` name: the target curve, space, glue, width and compression character.
    roles : mapping, optional
        Part name → role (a project's roles, ``--role``); the others are guessed
        (:func:`trackwright.analysis.roles.guess_role`).
    target : str or float, optional
        Master target (name or LUFS); default the style's; ``"none"`` for no mastering.
    unmask : bool
        Carve masking bands out of lower-priority parts.
    keep : collection of str
        Parts that play exactly as delivered (no EQ, dynamics, width or send), such as a
        project's residual — what no stem holds; they still count in the bus measures.

    Returns
    -------
    MixPlan
        Faders at 0 dB and parts as delivered, except the moves a measured problem asked for,
        each with its reason in ``why`` (see the module conventions).

    Examples
    --------
    >>> t = np.arange(22050 * 4) / 22050
    >>> tone = Audio(np.stack([0.1 * np.sin(2 * np.pi * 1000 * t)] * 2).astype(np.float32), 22050)
    >>> plan = plan_mix({"keys": tone}, target="none")
    >>> plan.parts["keys"].gain_db, plan.parts["keys"].highpass_hz
    (0.0, 80.0)
    """
    return _plan_mix(stems, style=style, roles=roles, target=target, unmask=unmask, keep=keep,
                     keep_renders=False)[0]


@dataclass(frozen=True)
class _Measured:
    """What planning reads off one stem, all in one pass over it.

    Attributes:
        loudness: integrated loudness as delivered, LUFS (−inf when silent).
        loudness_range: EBU R128 LRA, LU (None when too short or silent).
        threshold_db: :func:`glue_threshold_db` of the stem, dBFS.
        band_levels: third-octave levels (:func:`band_levels_db`, dB, shape (22,)).
        below_db: power under the role's high-pass corner, dB re the whole (−inf without a corner).
        freqs, power: the long-term spectrum of the mono sum (:func:`_spectrum`: Hz, power per bin).
    """

    loudness: float
    loudness_range: float | None
    threshold_db: float
    band_levels: np.ndarray
    below_db: float
    freqs: np.ndarray
    power: np.ndarray


def _measure(audio: Audio, corner_hz: float) -> _Measured:
    """:class:`_Measured` for one stem whose role high-passes at ``corner_hz`` Hz (0 = never)."""
    freqs, power = _spectrum(audio)
    try:
        report = measure_loudness(audio)
        loudness, spread = report.integrated_lufs, report.loudness_range_lu
    except MeasurementError:
        loudness, spread = -math.inf, None
    return _Measured(loudness, spread, glue_threshold_db(audio.samples, audio.sample_rate),
                     _third_octaves(freqs, power), share_below_db(freqs, power, corner_hz) if corner_hz else -math.inf,
                     freqs, power)


def highpass_mix_cost_db(freqs: np.ndarray, stem_power: np.ndarray, mix_power: np.ndarray,
                         corner_hz: float) -> float:
    """How much a high-pass at ``corner_hz`` Hz on one stem would lower the mix, dB (≥ 0): the
    largest loss of energy in an octave band of :data:`_LOW_OCTAVES_HZ`.

    ``stem_power`` and ``mix_power`` are long-term power spectra on ``freqs`` (Hz), from
    :func:`_spectrum` of the stem and of the mix it plays in. The filter is the one
    :func:`_highpassed` applies (two first-order stages: |H|² = (x²/(1+x²))², x = f/corner). A
    band :data:`_EMPTY_OCTAVE_DB` under the mix's loudest octave (63 Hz–8 kHz) does not count.
    """
    x2 = np.square(np.asarray(freqs, dtype=float) / corner_hz)
    removed = stem_power * (1.0 - np.square(x2 / (1.0 + x2)))

    def octave(centre: float) -> np.ndarray:
        return (freqs >= centre / math.sqrt(2.0)) & (freqs < centre * math.sqrt(2.0))

    loudest = max(float(mix_power[octave(c)].sum()) for c in OCTAVE_BANDS_HZ)
    worst = 0.0
    for centre in _LOW_OCTAVES_HZ:
        inside = octave(centre)
        band = float(mix_power[inside].sum())
        if band <= 0.0 or band < loudest * 10.0 ** (-_EMPTY_OCTAVE_DB / 10.0):
            continue
        kept = max(1.0 - float(removed[inside].sum()) / band, 1e-6)
        worst = max(worst, -10.0 * math.log10(kept))
    return worst


def _plan_mix(stems: Mapping[str, Audio], *, style: str, roles: Mapping[str, str] | None,
              target: str | float | None, unmask: bool, keep_renders: bool,
              keep: Collection[str] = ()) -> tuple[MixPlan, dict[str, Audio]]:
    """:func:`plan_mix`; with ``keep_renders`` also each audible part rendered as planned at a
    0 dB fader (for :func:`_apply` to scale), else an empty dict."""
    if style not in STYLES:
        raise ParameterError(f"unknown mix style {style!r}: use one of {', '.join(STYLES)}")
    _check_stems(stems)
    chosen = STYLES[style]
    unknown = sorted(set(roles or {}) - set(stems))
    if unknown:
        raise ParameterError(f"--role {unknown[0]}=…: no part named {unknown[0]!r} (parts: {', '.join(stems)})")
    role_of = {name: (roles or {}).get(name) or guess_role(name, audio).role for name, audio in stems.items()}
    for name, role in role_of.items():
        if role not in ROLE_SETTINGS:
            raise ParameterError(f"part {name}: unknown role {role!r} (roles: {', '.join(ROLE_SETTINGS)})")
    names = list(stems)
    measured = dict(zip(names, thread_map(lambda n: _measure(stems[n], ROLE_SETTINGS[role_of[n]].highpass_hz),
                                          names)))
    audible = [n for n in stems if measured[n].loudness > _SILENT_LUFS]
    if not audible:
        raise ParameterError("every stem is silent: nothing to mix")
    width = float(np.clip(chosen.width, 10 ** (-MAX_WIDTH_DB / 20), 10 ** (MAX_WIDTH_DB / 20)))
    plans: dict[str, dict[str, Any]] = {}
    mix_freqs, mix_power = _spectrum(Audio(_dry_sum(stems, audible, {}), stems[audible[0]].sample_rate))
    for name in stems:
        role = ROLE_SETTINGS[role_of[name]]
        facts = measured[name]
        if name not in audible:
            plans[name] = {"role": role_of[name], "mute": True, "why": ["silent: left out"]}
            continue
        why = [f"{role_of[name]}: kept at its own level ({facts.loudness:.1f} LUFS as delivered)"]
        if name in keep:
            plans[name] = {"role": role_of[name], "gain_db": 0.0, "highpass_hz": 0.0, "compressor": None, "pan": 0.0,
                           "width": 1.0, "send_db": None, "cuts": [], "why": [*why, "plays as delivered"]}
            continue
        highpass = 0.0
        cost = highpass_mix_cost_db(mix_freqs, facts.power, mix_power, role.highpass_hz) if role.highpass_hz else 0.0
        if role.highpass_hz and facts.below_db <= RUMBLE_SHARE_DB and cost <= HIGHPASS_MIX_COST_DB:
            highpass = role.highpass_hz
            why.append(f"high-pass at {role.highpass_hz:g} Hz: only {_share_words(facts.below_db)} of its power lies "
                       f"under it (rumble, not content; the mix's low octaves lose {cost:.1f} dB at most)")
        elif role.highpass_hz and facts.below_db > RUMBLE_SHARE_DB:
            why.append(f"no high-pass: {_share_words(facts.below_db)} of its power lies under {role.highpass_hz:g} Hz "
                       "(it carries low end)")
        elif role.highpass_hz:
            why.append(f"no high-pass: at {role.highpass_hz:g} Hz it would take {cost:.1f} dB from the mix's low "
                       f"octaves (it carries the song's low end there; at most {HIGHPASS_MIX_COST_DB:g} dB allowed)")
        compressor = None
        if (chosen.compression > 0 and facts.loudness_range is not None
                and facts.loudness_range > WANDERING_LRA_LU):
            ratio = 1.0 + (role.ratio - 1.0) * chosen.compression
            # the compressor starts ``depth_db`` under the part's loud peaks; its fader makes up the rest
            compressor = {"threshold_db": round(facts.threshold_db + 3.0 - role.depth_db, 2),
                          "ratio": round(ratio, 2), "attack_ms": role.attack_ms, "release_ms": role.release_ms}
            why.append(f"compressed {ratio:.1f}:1: its loudness wanders over {facts.loudness_range:.1f} LU "
                       f"(more than {WANDERING_LRA_LU:g} LU); the fader makes up what it takes")
        if width != 1.0:
            why.append(f"width ×{width:.2f} ({20 * math.log10(width):+.1f} dB of side): the {style} style")
        send = None if role.send == 0 else 20 * math.log10(role.send)
        plans[name] = {"role": role_of[name], "gain_db": 0.0, "highpass_hz": highpass, "compressor": compressor,
                       "pan": 0.0, "width": width, "send_db": send, "cuts": [], "why": why}
    if unmask:
        movable = [n for n in audible if n not in keep]
        _unmask({n: measured[n].band_levels for n in movable}, plans, movable, role_of)
    renders = _set_faders(stems, plans, {n: measured[n].loudness for n in audible}, keep_renders)
    bus = _plan_bus(stems, audible, plans, chosen, style)
    resolved_target: str | float | None = chosen.target if target is None else target
    if isinstance(resolved_target, str) and resolved_target.lower() == "none":
        resolved_target = None
    return MixPlan(style, {n: PartPlan.from_dict(p, f"parts.{n}") for n, p in plans.items()}, bus,
                   resolved_target), renders


def _share_words(share_db: float) -> str:
    """A power share in dB as a percentage, in words."""
    if not math.isfinite(share_db):
        return "none"
    percent = 100.0 * 10.0 ** (share_db / 10.0)
    if percent < 0.1:
        return "under 0.1 %"
    return f"{percent:.1f} %" if percent < 10 else f"{percent:.0f} %"


def _set_faders(stems: Mapping[str, Audio], plans: dict[str, dict[str, Any]], goals: Mapping[str, float],
                keep_renders: bool) -> dict[str, Audio]:
    """Measure each part through its chain at unity and set its fader so it keeps its loudness (``goals``, LUFS).

    Only parts with a high-pass or a compressor are measured (the others keep 0 dB). The fader
    is measured without the unmasking cuts (it must not undo a carve). With ``keep_renders``,
    returns each part rendered with its cuts at a 0 dB fader, so :func:`_apply` only scales them
    (the fader is linear).
    """
    names = list(goals)
    unity = {n: PartPlan.from_dict({**plans[n], "gain_db": 0.0}, f"parts.{n}") for n in names}
    shaped = [n for n in names if plans[n]["compressor"] is not None or plans[n]["highpass_hz"]]
    carved = [n for n in names if keep_renders and (plans[n]["cuts"] or n not in shaped)]

    def render(job: tuple[str, bool]) -> tuple[Audio, float]:
        """(render at 0 dB, its loudness in LUFS — measured only for the cut-free render)."""
        name, with_cuts = job
        audio = stems[name].with_samples(_finish_part(_highpassed(stems[name], unity[name].highpass_hz),
                                                      stems[name].sample_rate, unity[name], with_cuts=with_cuts))
        return audio, (math.nan if with_cuts else _loudness(audio))

    jobs = [(n, False) for n in shaped] + [(n, True) for n in carved]
    done = dict(zip(jobs, thread_map(render, jobs)))
    renders = {}
    for name in names:
        measured = done[(name, False)][1] if name in shaped else math.nan
        if math.isfinite(measured) and math.isfinite(goals[name]) and abs(goals[name] - measured) >= 0.1:
            gain = float(np.clip(goals[name] - measured, -60.0, 24.0))
            plans[name]["gain_db"] = round(gain, 2)
            plans[name]["why"].append(f"fader {gain:+.1f} dB: back to its own loudness after its "
                                      f"{'compressor' if plans[name]['compressor'] else 'high-pass'}")
        if keep_renders:
            renders[name] = done[(name, True)][0] if name in carved else done[(name, False)][0]
    return renders


def _unmask(band_levels: Mapping[str, np.ndarray], plans: dict[str, dict[str, Any]], audible: list[str],
            role_of: Mapping[str, str]) -> None:
    """Add peak cuts to lower-priority parts where they crowd a higher one's key bands.

    ``band_levels`` holds each audible stem's :func:`band_levels_db` as delivered, dB.
    """
    levels = {n: band_levels[n] + plans[n]["gain_db"] for n in audible}
    ranked = sorted(audible, key=lambda n: -ROLE_SETTINGS[role_of[n]].priority)
    for high in ranked:
        mine = levels[high]
        keys = _key_bands(mine)
        for low in ranked:
            if ROLE_SETTINGS[role_of[low]].priority >= ROLE_SETTINGS[role_of[high]].priority:
                continue
            for key in sorted(int(k) for k in keys):
                excess = float(levels[low][key] - (mine[key] - MASKING_MARGIN_DB))
                if excess <= 0:
                    continue
                cut = float(np.clip(excess + _CLEARANCE_DB, MIN_CUT_DB, MAX_EQ_DB))
                freq = float(_BAND_CENTRES[key])
                plans[low]["cuts"].append({"freq_hz": round(freq, 1), "gain_db": round(-cut, 2), "q": _CUT_Q,
                                           "for": high})
                plans[low]["why"].append(f"cut {cut:.1f} dB at {freq:.0f} Hz: it masks {high} there "
                                         f"({levels[low][key] - mine[key]:+.1f} dB against it)")
                levels[low][key] -= cut


def _dry_sum(stems: Mapping[str, Audio], names: list[str], plans: Mapping[str, Mapping[str, Any]],
             weight: str | None = None) -> np.ndarray:
    """Σ of the named parts as float32 stereo (2 × frames), each × its send (``weight="send_db"``) or as delivered."""
    first = stems[names[0]]
    total = np.zeros((2, first.frames), dtype=np.float32)
    for name in names:
        gain = 1.0
        if weight is not None:
            value = plans[name].get(weight)
            if value is None:
                continue
            gain = 10.0 ** (value / 20.0)
        samples = stems[name].samples
        total += (np.repeat(samples, 2, axis=0) if stems[name].channels == 1 else samples) * np.float32(gain)
    return total


def _loudest_span(samples: np.ndarray, rate: int, span_s: float) -> slice:
    """The ``span_s`` seconds of channels × frames ``samples`` with the most energy (1 s blocks)."""
    span = round(span_s * rate)
    if samples.shape[1] <= span:
        return slice(0, samples.shape[1])
    energy = np.add.reduceat(np.square(samples, dtype=np.float64).sum(axis=0), np.arange(0, samples.shape[1], rate))
    width = max(1, round(span_s))
    start = min(int(np.argmax(np.convolve(energy, np.ones(width), mode="valid"))) * rate, samples.shape[1] - span)
    return slice(start, start + span)


def _plan_bus(stems: Mapping[str, Audio], audible: list[str], plans: dict[str, dict[str, Any]], chosen: Style,
              style: str) -> dict[str, Any]:
    """The bus: tonal corrections against the style's curve, the space (its return held by what it
    does to width and level), the glue (deeper when the peaks stand too high). Each with its reason."""
    rate = stems[audible[0]].sample_rate
    dry = _dry_sum(stems, audible, plans)
    why: list[str] = []
    eq = _tonal_moves(dry, rate, chosen, style)
    reverb = {"room_size": chosen.room_size, "damping": chosen.damping, "return_db": chosen.return_db}
    span = _loudest_span(dry, rate, _SPACE_SPAN_S)
    sends = _dry_sum(stems, audible, plans, weight="send_db")[:, span]
    if np.any(sends):
        space = pedalboard.Reverb(room_size=chosen.room_size, damping=chosen.damping, wet_level=1.0, dry_level=0.0,
                                  width=1.0)
        wet = space(np.ascontiguousarray(sends), float(rate))
        allowed = _space_return_db(dry[:, span], wet)
        if allowed < REVERB_OFF_DB:
            reverb["return_db"] = None
            why.append(f"no reverb (the {style} style asks {chosen.return_db:g} dB): any return over "
                       f"{REVERB_OFF_DB:g} dB would change the mix's width by over {SPACE_WIDTH_DB:g} dB of side/mid "
                       "(a mono or out-of-phase source)")
        elif allowed < chosen.return_db:
            reverb["return_db"] = round(allowed, 2)
            why.append(f"reverb return {reverb['return_db']:.1f} dB (the {style} style asks {chosen.return_db:g}): "
                       f"more would change the mix's width by over {SPACE_WIDTH_DB:g} dB of side/mid or sit closer than "
                       f"{SPACE_UNDER_LU:g} LU under it")
    glue: dict[str, Any] = {"ratio": chosen.glue_ratio, "attack_ms": 30.0, "release_ms": 200.0}
    dry_lufs = _loudness(Audio(dry, rate))
    peak = float(np.abs(dry).max())
    if math.isfinite(dry_lufs) and peak > 0:
        plr = 20.0 * math.log10(peak) - dry_lufs
        if plr > PLR_ALLOWANCE_DB:
            glue["depth_db"] = round(min(plr - PLR_ALLOWANCE_DB + 3.0, 9.0), 2)
            why.append(f"glue {glue['depth_db']:.1f} dB under the loud peaks (3 dB as a rule): the peaks stand "
                       f"{plr:.1f} dB over the loudness, and a −14 LUFS master would limit more than "
                       f"{MAX_LIMITING_DB:g} dB")
    return {"reverb": reverb, "glue": glue, "eq": eq, "why": why}


def _space_return_db(dry: np.ndarray, wet: np.ndarray) -> float:
    """The largest reverb return (dB) under which ``wet`` (2 × frames, at 0 dB) changes ``dry``'s
    side/mid by at most :data:`SPACE_WIDTH_DB` either way (widening a near-mono source, or narrowing
    a wide one) and sits :data:`SPACE_UNDER_LU` (as power) under it."""
    def energy(x: np.ndarray) -> tuple[float, float]:
        mid = float(np.sum(np.square((x[0] + x[1]) * 0.5, dtype=np.float64)))
        side = float(np.sum(np.square((x[0] - x[1]) * 0.5, dtype=np.float64)))
        return mid, side

    dry_mid, dry_side = energy(dry)
    wet_mid, wet_side = energy(wet)
    if wet_mid + wet_side <= 0:
        return 0.0
    limits = [(dry_mid + dry_side) * 10 ** (-SPACE_UNDER_LU / 10) / (wet_mid + wet_side)]
    # (S + r·Ws) / (M + r·Wm) ≤ k · S / M, with k = 10^(width/10) and r the return as power
    k = 10 ** (SPACE_WIDTH_DB / 10)
    denominator = wet_side * dry_mid - k * dry_side * wet_mid
    if denominator > 0:
        limits.append((k - 1.0) * dry_side * dry_mid / denominator)
    # and ≥ S / (k · M): a reverb more central than the dry mix (a wide or out-of-phase source) must
    # not narrow it by more either
    denominator = dry_side * wet_mid - k * wet_side * dry_mid
    if denominator > 0:
        limits.append((k - 1.0) * dry_side * dry_mid / denominator)
    power = max(min(limits), 1e-12)
    return 10.0 * math.log10(power)


def _tonal_moves(dry: np.ndarray, rate: int, chosen: Style, style: str) -> list[dict[str, Any]]:
    """Bus EQ moves: the problem bands of the sum (:data:`trackwright.analysis.tonal.PROBLEM_BANDS`)
    beyond the style's tolerance of its curve, corrected by :data:`TONAL_SHARE` of the excess, at
    most :data:`MAX_EQ_DB`. The spectrum is both channels' power (an out-of-phase source has no
    mid, only its noise floor, which would read as all treble)."""
    spectra = [average_spectrum(channel[None, :], rate) for channel in dry]
    freqs = spectra[0][0]
    power_db = 10.0 * np.log10(np.mean([10.0 ** (db / 10.0) for _, db in spectra], axis=0))
    centres, levels = third_octave_levels(freqs, power_db, rate)
    if centres.size == 0:
        return []
    curve = chosen.curve_db(centres)
    aligned = (centres >= 250.0) & (centres <= 4000.0)
    if not aligned.any():
        return []
    offset = float(np.mean(levels[aligned] - curve[aligned]))
    moves = []
    for name, (lo, hi, limit) in PROBLEM_BANDS.items():
        inside = (centres >= lo) & (centres <= hi)
        if not inside.any() or hi > 0.45 * rate:
            continue
        excess = float(np.mean(levels[inside] - offset - curve[inside]))
        # a boost (thin, dull) waits for a larger deficit than a cut for an excess: it lifts noise and peaks
        over = excess - chosen.tolerance_db if limit > 0 else -excess - chosen.tolerance_db - BOOST_EXTRA_DB
        if over <= 0:
            continue
        gain = min(MAX_EQ_DB, TONAL_SHARE * over) * (-1.0 if limit > 0 else 1.0)
        if abs(gain) < 0.5:
            continue
        centre = math.sqrt(lo * hi)
        moves.append({"band": name, "freq_hz": round(centre, 1), "gain_db": round(gain, 2),
                      "q": round(centre / (hi - lo), 2),
                      "why": f"{name}: {lo:g}–{hi:g} Hz sits {excess:+.1f} dB off the {style} curve "
                             f"(tolerance {chosen.tolerance_db:g} dB); {gain:+.1f} dB on the bus"})
    return moves


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
        balance: :func:`balance_report` of the parts before and after, or None (not measured).
    """

    audio: Audio
    premaster: Audio
    parts: dict[str, Audio]
    plan: MixPlan
    master: MasterResult | None
    warnings: list[str] = field(default_factory=list)
    balance: dict[str, dict[str, Any]] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the plan (every decision with its reasons), the balance report and the master's numbers."""
        out = {"plan": self.plan.to_dict(), "warnings": list(self.warnings), "master": None,
               "balance": self.balance}
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
    return_db = reverb.get("return_db", -14.0)   # None: no reverb (the space check found none fits)
    with ThreadPoolExecutor(max_workers=1) as pool:  # the reverb takes one core: sum the dry parts beside it
        wet = pool.submit(space, sends, float(rate)) if return_db is not None else None
        dry = scratch
        np.copyto(dry, processed[names[0]].samples)
        for name in names[1:]:
            dry += processed[name].samples
        if wet is None:
            mix = dry
        else:
            mix = wet.result()
            mix *= np.float32(10.0 ** (float(return_db) / 20.0))
            mix += dry
    mix = _bus_eq(mix, rate, plan.bus.get("eq") or [])
    glue = plan.bus.get("glue", {})
    # a plan read back from a recipe keeps its threshold; a fresh one records what was used
    # (``depth_db`` under the loud peaks: 3 dB unless the plan set the glue deeper)
    depth = float(glue.get("depth_db", 3.0))
    threshold = (float(glue["threshold_db"]) if "threshold_db" in glue
                 else round(glue_threshold_db(mix, rate) + 3.0 - depth, 2))
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


def _bus_eq(mix: np.ndarray, rate: int, moves: list[Mapping[str, Any]]) -> np.ndarray:
    """The plan's bus corrections (peak filters, float32 2 × frames in and out)."""
    moves = [m for m in moves if abs(float(m.get("gain_db", 0.0))) >= 0.05]
    if not moves:
        return mix

    def board() -> pedalboard.Pedalboard:
        return pedalboard.Pedalboard([pedalboard.PeakFilter(cutoff_frequency_hz=float(m["freq_hz"]),
                                                            gain_db=float(m["gain_db"]), q=float(m.get("q", 1.0)))
                                      for m in moves])

    return per_channel(board, mix, rate)


def mix_stems(stems: Mapping[str, Audio], *, style: str = "pop", roles: Mapping[str, str] | None = None,
              target: str | float | None = None, keep: Collection[str] = (),
              progress: ProgressCallback | None = None) -> MixResult:
    """:func:`plan_mix` then :func:`apply_mix`: the whole mix of ``stems`` in one call, with its
    :func:`balance_report`."""
    plan, renders = _plan_mix(stems, style=style, roles=roles, target=target, unmask=True, keep=keep,
                              keep_renders=True)
    result = _apply(stems, plan, renders, progress)
    return dataclasses.replace(result, balance=balance_report(stems, result.parts))


def _balance(audio: Audio) -> dict[str, Any]:
    loudness = _loudness(audio)
    bands = octave_levels_db(audio)
    width = side_mid_db(audio)
    return {"loudness_lufs": round(loudness, 2) if math.isfinite(loudness) else None,
            "bands_db": {f"{centre:g}": (round(float(level), 2) if math.isfinite(level) else None)
                         for centre, level in zip(OCTAVE_BANDS_HZ, bands)},
            "side_mid_db": round(width, 2) if math.isfinite(width) else None}


def part_balance(parts: Mapping[str, Audio]) -> dict[str, dict[str, Any]]:
    """Each part's balance and their sum's (``"(all)"``): ``{"loudness_lufs", "bands_db"
    (octave band → energy dB, 63 Hz–8 kHz), "side_mid_db"}`` (None where silent)."""
    names = list(parts)
    if not names:
        return {}
    whole = {**parts, "(all)": Audio(_dry_sum(parts, names, {}), parts[names[0]].sample_rate)}
    return dict(zip(whole, thread_map(lambda name: _balance(whole[name]), list(whole))))


def balance_report(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Each part's balance before and after the mix, and of their sums (``"(all)"``).

    Parameters
    ----------
    before, after : mapping of str to Audio, or :func:`part_balance` results
        Part name → the part as delivered / as mixed (channels × frames), or its measures.

    Returns
    -------
    dict
        Part name → ``{"before": {...}, "after": {...}}`` (see :func:`part_balance`), for the
        parts in both.
    """
    def measured(side: Mapping[str, Any], names: list[str]) -> dict[str, dict[str, Any]]:
        if all(isinstance(side[n], Audio) for n in names):
            return part_balance({n: side[n] for n in names})
        return dict(side)

    names = [n for n in before if n in after and n != "(all)"]
    b, a = measured(before, names), measured(after, names)
    return {name: {"before": b[name], "after": a[name]} for name in [*names, "(all)"] if name in b and name in a}
