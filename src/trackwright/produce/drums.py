"""Percussion layering: find kick and snare hits in a drum stem and layer Hydrogen kit samples on them.

Conventions
-----------
* Hydrogen drum kits (Debian ``hydrogen-drumkits``) live in folders with a ``drumkit.xml`` and
  FLAC/WAV samples: :data:`KIT_FOLDERS` are searched, or pass a kit folder.
* Hits are found by band-limited onset detection (kick 40–120 Hz, snare 150–400 Hz): the band's
  envelope (smoothed over one period of the band's lowest frequency) must rise by
  :data:`RISE_DB` within 15 ms, be within :data:`FLOOR_DB` of the band's loudest moment, and be
  :data:`MIN_GAP_S` from the previous hit.
* Each sample is placed where it best lines up with the hit: the sample's attack is
  cross-correlated against the stem (in the role's band) within ±``search_ms`` of the detected
  onset, and the lag with the largest *positive* correlation wins, so the layer adds to the hit
  instead of cancelling it (no comb filtering). Its level is the hit's band level plus
  ``blend_db``.
* An onset is a kick when the kick band holds more energy than the snare band over the next
  50 ms, else a snare: a kick and snare struck together are layered as a kick only.
* The stem is never changed; the result is the stem plus the layer (channels × frames).
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soxr
from scipy import signal

from trackwright.audio import Audio, load_audio, validate_audio
from trackwright.errors import MissingDependencyError, ParameterError

#: Where Hydrogen kits are looked for, in order.
KIT_FOLDERS: tuple[Path, ...] = (Path("~/.hydrogen/data/drumkits").expanduser(),
                                 Path("/usr/share/hydrogen/data/drumkits"))
#: Kit used when none is named (an acoustic kit from hydrogen-drumkits).
DEFAULT_KIT = "ColomboAcousticDrumkit"
#: Detection and alignment band per role, Hz.
BANDS: dict[str, tuple[float, float]] = {"kick": (40.0, 120.0), "snare": (150.0, 400.0)}
_NAMES = {"kick": re.compile(r"kick|bass ?drum|\bbd\b", re.I),
          "snare": re.compile(r"^(?!.*(roll|rim|brush|stick)).*snare", re.I)}
RISE_DB = 12.0
#: Hits quieter than the band's loudest moment by more than this are not layered, dB.
FLOOR_DB = 20.0
MIN_GAP_S = 0.08
_HOP_S, _RISE_WINDOW_S, _CLASSIFY_S = 0.001, 0.015, 0.05
_ATTACK_S = 0.04


@dataclass(frozen=True)
class DrumKit:
    """A Hydrogen kit: its name, folder and the sample layers of each piece.

    Attributes:
        name: the kit's name.
        folder: its folder.
        pieces: instrument name → layers ``(min_velocity, max_velocity, sample path)``, velocities 0…1.
    """

    name: str
    folder: Path
    pieces: dict[str, list[tuple[float, float, Path]]] = field(repr=False)

    def piece(self, role: str) -> str:
        """The name of the kit's first piece for ``role`` (``kick`` or ``snare``)."""
        if role not in _NAMES:
            raise ParameterError(f"drum role must be one of {', '.join(_NAMES)}, got {role!r}")
        for name in self.pieces:
            if _NAMES[role].search(name):
                return name
        raise ParameterError(f"kit {self.name} has no {role} (pieces: {', '.join(self.pieces)})")

    def sample(self, role: str, *, sample_rate: int, velocity: float = 0.8) -> Audio:
        """The sample of ``role`` whose velocity layer holds ``velocity`` (0…1), at ``sample_rate`` Hz."""
        layers = self.pieces[self.piece(role)]
        chosen = next((path for lo, hi, path in layers if lo <= velocity <= hi), layers[-1][2])
        audio = load_audio(chosen)
        if audio.sample_rate != sample_rate:
            audio = Audio(soxr.resample(audio.samples.T, audio.sample_rate, sample_rate, quality="HQ").T.copy(),
                          sample_rate)
        return audio


def list_kits() -> list[Path]:
    """Folders of the installed Hydrogen kits (with a drumkit.xml), sorted by name."""
    found = {}
    for root in KIT_FOLDERS:
        if root.is_dir():
            for xml in sorted(root.glob("*/drumkit.xml")):
                found.setdefault(xml.parent.name, xml.parent)
    return [found[name] for name in sorted(found)]


def _strip(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def load_kit(kit: str | os.PathLike[str] | None = None) -> DrumKit:
    """Read a Hydrogen kit: a folder, the name of an installed kit, or None for :data:`DEFAULT_KIT`.

    Raises
    ------
    MissingDependencyError
        No kit of that name is installed (install the Debian package hydrogen-drumkits).
    ParameterError
        The folder's drumkit.xml is unreadable or names no samples.
    """
    chosen = DEFAULT_KIT if kit is None else kit
    folder = Path(chosen)
    if not (folder / "drumkit.xml").is_file():
        installed = {path.name.lower(): path for path in list_kits()}
        if str(chosen).lower() not in installed:
            if kit is None and installed:
                folder = next(iter(installed.values()))
            else:
                have = ", ".join(sorted(p.name for p in installed.values())) or "none installed"
                raise MissingDependencyError(
                    f"no Hydrogen drum kit {str(chosen)!r} (kits: {have}); install the Debian package "
                    "hydrogen-drumkits (make sysdeps does) or pass a kit folder")
        else:
            folder = installed[str(chosen).lower()]
    try:
        root = ET.parse(folder / "drumkit.xml").getroot()
    except (ET.ParseError, OSError) as err:
        raise ParameterError(f"{folder / 'drumkit.xml'}: not a readable Hydrogen kit ({err})") from err
    for element in root.iter():
        element.tag = _strip(element.tag)
    pieces: dict[str, list[tuple[float, float, Path]]] = {}
    for instrument in root.iter("instrument"):
        name = (instrument.findtext("name") or "").strip()
        layers = []
        for layer in instrument.iter("layer"):
            filename = layer.findtext("filename")
            if filename and (folder / filename).is_file():
                layers.append((float(layer.findtext("min") or 0.0), float(layer.findtext("max") or 1.0),
                               folder / filename))
        if name and layers:
            pieces.setdefault(name, sorted(layers))
    if not pieces:
        raise ParameterError(f"{folder / 'drumkit.xml'}: names no samples that exist")
    return DrumKit((root.findtext("name") or folder.name).strip(), folder, pieces)


def _band(mono: np.ndarray, sample_rate: int, role: str) -> np.ndarray:
    lo, hi = BANDS[role]
    sos = signal.butter(4, [lo, min(hi, 0.45 * sample_rate)], btype="bandpass", fs=sample_rate, output="sos")
    return signal.sosfilt(sos, mono)


def _onsets(band: np.ndarray, rate: int, lowest_hz: float) -> np.ndarray:
    """Frames (at ``_HOP_S``) where ``band``'s envelope starts a rise of :data:`RISE_DB`."""
    # one period of the band's lowest frequency smooths the envelope without blurring the attack
    hop, window = max(1, round(_HOP_S * rate)), max(1, round(rate / lowest_hz))
    power = np.convolve(band ** 2, np.ones(window) / window)[:band.size:hop]  # causal: rises at the attack
    level_db = 10.0 * np.log10(power + 1e-12)
    floor_db = level_db.max() - FLOOR_DB
    back = round(_RISE_WINDOW_S / _HOP_S)
    padded = np.concatenate([np.full(back, level_db[0]), level_db])
    recent_min = np.lib.stride_tricks.sliding_window_view(padded, back + 1)[:, :-1].min(axis=1)[:level_db.size]
    rising = (level_db - recent_min >= RISE_DB) & (level_db > floor_db)
    hits: list[int] = []
    gap = round(MIN_GAP_S / _HOP_S)
    for frame in np.flatnonzero(rising):
        if hits and frame - hits[-1] < gap:
            continue
        start = max(0, frame - back)
        hits.append(start + int(np.argmin(level_db[start:frame + 1])))  # where the rise began
    return np.array(hits, int) * hop


def detect_hits(audio: Audio, role: str) -> np.ndarray:
    """Onset times (s) of ``role`` hits (``kick`` or ``snare``) in a drum stem.

    Band-limited onset detection (see the module conventions); an onset counts as a kick when
    the kick band holds more energy than the snare band over the next 50 ms, else as a snare
    (so kick and snare struck together count as a kick). Each time is within a few
    milliseconds of the true attack.
    """
    if role not in BANDS:
        raise ParameterError(f"drum role must be one of {', '.join(BANDS)}, got {role!r}")
    validate_audio(audio, name="drum stem")
    rate = audio.sample_rate
    mono = audio.samples.mean(axis=0).astype(np.float64)
    bands = {name: _band(mono, rate, name) for name in BANDS}
    onsets = _onsets(bands[role], rate, BANDS[role][0])
    span = round(_CLASSIFY_S * rate)
    cumulative = {name: np.concatenate([[0.0], np.cumsum(band ** 2)]) for name, band in bands.items()}

    def energy(name: str, at: int) -> float:
        return float(cumulative[name][min(at + span, mono.size)] - cumulative[name][at])

    keep = [at for at in onsets if (energy("kick", at) >= energy("snare", at)) == (role == "kick")]
    return np.array(keep, float) / rate


@dataclass(frozen=True)
class Hit:
    """One layered hit.

    Attributes:
        role: kick or snare.
        time_s: detected onset, seconds.
        placed_s: where the sample starts after alignment, seconds.
        correlation: normalised correlation of the aligned sample with the hit in the role's band (−1…1).
        gain_db: gain applied to the sample, dB.
    """

    role: str
    time_s: float
    placed_s: float
    correlation: float
    gain_db: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"role": self.role, "time_s": round(self.time_s, 4), "placed_s": round(self.placed_s, 5),
                "correlation": round(self.correlation, 3), "gain_db": round(self.gain_db, 2)}


@dataclass(frozen=True)
class LayerResult:
    """The layered stem and what was layered.

    Attributes:
        audio: stem + layer (channels × frames, float32, the stem's rate).
        layer: the layer alone (same shape).
        hits: every layered hit.
        kit: the kit's name.
    """

    audio: Audio
    layer: Audio
    hits: list[Hit]
    kit: str


def _fit_channels(samples: np.ndarray, channels: int) -> np.ndarray:
    if samples.shape[0] == channels:
        return samples
    mono = samples.mean(axis=0, keepdims=True)
    return np.repeat(mono, channels, axis=0)


def layer_drums(stem: Audio, *, kit: DrumKit | str | os.PathLike[str] | None = None,
                roles: Sequence[str] = ("kick", "snare"), blend_db: float = -3.0, search_ms: float = 10.0,
                samples: dict[str, Audio] | None = None) -> LayerResult:
    """Layer kit samples on the kick and snare hits of ``stem``, phase-aligned.

    Parameters
    ----------
    stem : Audio
        The drum stem (channels × frames).
    kit : DrumKit, name or folder, optional
        Hydrogen kit (default :data:`DEFAULT_KIT`).
    roles : sequence of str
        Which pieces to layer: ``kick``, ``snare``.
    blend_db : float
        Level of each sample relative to the hit it joins, in the role's band, dB (−24…+12).
    search_ms : float
        How far from the detected onset the alignment looks, milliseconds (0.5…30).
    samples : dict, optional
        Role → sample to use instead of the kit's (any rate is resampled).

    Returns
    -------
    LayerResult
    """
    validate_audio(stem, name="drum stem")
    if not -24.0 <= blend_db <= 12.0:
        raise ParameterError(f"blend_db must be −24…+12 dB, got {blend_db:g}")
    if not 0.5 <= search_ms <= 30.0:
        raise ParameterError(f"search_ms must be 0.5…30 ms, got {search_ms:g}")
    rate = stem.sample_rate
    given = dict(samples or {})
    if any(role not in given for role in roles):
        kit = kit if isinstance(kit, DrumKit) else load_kit(kit)
    kit_name = kit.name if isinstance(kit, DrumKit) else "given samples"
    layer = np.zeros(stem.samples.shape, np.float64)
    mono = stem.samples.mean(axis=0).astype(np.float64)
    search, attack = round(search_ms / 1000.0 * rate), round(_ATTACK_S * rate)
    hits: list[Hit] = []
    for role in roles:
        times = detect_hits(stem, role)
        if role in given:
            sample = given[role]
            if sample.sample_rate != rate:
                sample = Audio(soxr.resample(sample.samples.T, sample.sample_rate, rate, quality="HQ").T.copy(), rate)
        else:
            sample = kit.sample(role, sample_rate=rate)  # type: ignore[union-attr]
        sample_samples = _fit_channels(sample.samples.astype(np.float64), stem.channels)
        band = _band(mono, rate, role)
        sample_band = _band(sample_samples.mean(axis=0), rate, role)
        # the attack snippet starts at the sample's own onset, so lags mean the same for every sample
        start = int(np.argmax(np.abs(sample_band) > 0.05 * np.abs(sample_band).max()))
        start = max(0, start - round(0.002 * rate))
        snippet = sample_band[start:start + attack]
        snippet_norm = float(np.sqrt(np.sum(snippet ** 2))) or 1.0
        snippet_rms = snippet_norm / np.sqrt(max(snippet.size, 1))
        for time_s in times:
            onset = round(time_s * rate)
            lo, hi = max(0, onset - search), min(band.size, onset + search + attack)
            region = band[lo:hi]
            if region.size < snippet.size + 1:
                continue
            corr = signal.correlate(region, snippet, mode="valid", method="fft")
            energy = np.convolve(region ** 2, np.ones(snippet.size), mode="valid")
            normalised = corr / (snippet_norm * np.sqrt(np.maximum(energy, 1e-20)))
            best = int(np.argmax(normalised))
            at = lo + best - start                          # where the sample file starts
            hit_rms = float(np.sqrt(energy[best] / snippet.size))
            gain = hit_rms / max(snippet_rms, 1e-12) * 10.0 ** (blend_db / 20.0)
            first, skip = max(at, 0), max(-at, 0)
            length = min(sample_samples.shape[1] - skip, layer.shape[1] - first)
            if length <= 0:
                continue
            layer[:, first:first + length] += gain * sample_samples[:, skip:skip + length]
            hits.append(Hit(role, float(time_s), at / rate, float(normalised[best]),
                            float(20.0 * np.log10(max(gain, 1e-12)))))
    hits.sort(key=lambda h: h.time_s)
    layered = stem.samples.astype(np.float64) + layer
    return LayerResult(stem.with_samples(layered.astype(np.float32)), stem.with_samples(layer.astype(np.float32)),
                       hits, kit_name)
