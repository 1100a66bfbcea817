"""Splitting a mix into stems: a built-in DSP split, and Demucs with weights already on disk.

Conventions
-----------
* Every separation returns stems that sum to the input mix (to float precision): whatever a
  method cannot attribute goes into the stem ``other``. Stems are ``Audio`` at the mix's rate
  and channel count (channels × frames).
* The built-in split is signal processing, not a model. It is honest about what it is:

  - ``drums``: the percussive part of a median-filter harmonic/percussive split of the STFT
    (Fitzgerald's HPSS with Wiener masks, computed on the channels' mean magnitude so the stereo
    image holds);
  - ``bass``: the harmonic part below :data:`BASS_CUTOFF_HZ`, by a linear-phase FIR low-pass
    (its complement carries the rest, so nothing is lost at the crossover);
  - ``centre`` and ``sides``: the harmonic part above it, split into mid (L+R)/2 and side
    (L−R)/2 (vocals and leads are often centred; a mono mix has no ``sides``);
  - ``other``: what the STFT round trip leaves.

  It cannot tell a centred vocal from a centred piano, nor a bass note from a kick's body, so
  its stems are rough (SDR on rendered parts: :func:`sdr_db`, reported by ``make bench``).
* Demucs (``pip install trackwright[separation]``) is used only with weights the user already
  has: a ``.th`` or ``.safetensors`` model file, or a folder holding one bag ``NAME.yaml`` with
  its model files (as demucs's own model folders and its Hugging Face downloads are laid out).
  Nothing is downloaded.
* SDR here is the plain signal-to-distortion ratio ``10·log10(Σs² / Σ(s−ŝ)²)`` in dB over all
  channels (no allowed distortion filter, unlike BSS Eval).
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from glob import escape as glob_escape
from pathlib import Path
from typing import Any

import numpy as np
import soxr
import yaml
from scipy import signal as sps

from trackwright.analysis.roles import ROLES
from trackwright.analysis.spectrum import hpss_masks, istft, stft
from trackwright.audio import Audio, save_audio, validate_audio
from trackwright.errors import MissingDependencyError, ParameterError, TrackwrightError
from trackwright.parallel import thread_map
from trackwright.progress import ProgressCallback, ignore_progress

#: Crossover of the built-in bass stem, Hz: a bass line's fundamentals and its low notes' octave (SDR of the
#: bass stem on rendered parts: 1.0 dB at 120 Hz, 3.4 dB at 200 Hz).
BASS_CUTOFF_HZ = 200.0
#: Width of the FIR low-pass's transition band, Hz.
BASS_TRANSITION_HZ = 60.0
#: STFT window of the harmonic/percussive split at 44.1 kHz (scaled with the rate; hop a quarter of it).
HPSS_N_FFT = 4096
METHODS = ("builtin", "demucs")
#: Stem name → role (see :mod:`trackwright.analysis.roles`) of the built-in split's stems.
BUILTIN_ROLES = {"drums": "drums", "bass": "bass", "centre": "other", "sides": "other", "other": "other"}
_DEMUCS_HINT = "install the extra: pip install 'trackwright[separation]'"


@dataclass(frozen=True)
class Separation:
    """Stems split from a mix.

    Attributes:
        stems: stem name → ``Audio`` (the mix's rate and channels); they sum to the mix.
        roles: stem name → role (``drums``, ``bass``, ``vocals``, ``other``…).
        method: ``"builtin"`` or ``"demucs"``.
        notes: what the method can and cannot do, for the user.
    """

    stems: dict[str, Audio]
    roles: dict[str, str]
    method: str
    notes: list[str] = field(default_factory=list)

    def save(self, folder: str | os.PathLike[str], *, bit_depth: str = "float",
             inputs: tuple[str | os.PathLike[str], ...] = ()) -> dict[str, Path]:
        """Write ``NAME.wav`` per stem into ``folder`` (made if missing), atomically; return the paths.

        The default 32-bit float keeps the exact sum; 16/24-bit files sum to the mix within dither.
        """
        out = Path(folder)
        if out.exists() and not out.is_dir():
            raise ParameterError(f"{out}: exists and is not a folder; give a folder for the stems")
        out.mkdir(parents=True, exist_ok=True)
        paths = {name: out / f"{name}.wav" for name in self.stems}
        for name, stem in self.stems.items():
            save_audio(stem, paths[name], bit_depth=bit_depth, inputs=inputs)
        return paths

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``--json`` (no samples)."""
        return {"method": self.method, "stems": list(self.stems), "roles": dict(self.roles), "notes": list(self.notes)}


def sdr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Signal-to-distortion ratio of ``estimate`` against ``reference`` (same shape), dB.

    ``10·log10(Σ reference² / Σ (reference − estimate)²)``; +inf for a perfect estimate.
    """
    reference = np.asarray(reference, dtype=np.float64)
    estimate = np.asarray(estimate, dtype=np.float64)
    if reference.shape != estimate.shape:
        raise ParameterError(f"SDR needs equal shapes, got {reference.shape} and {estimate.shape}")
    power = float(np.sum(reference**2))
    error = float(np.sum((reference - estimate) ** 2))
    if power == 0.0:
        raise ParameterError("SDR is undefined for a silent reference")
    return float("inf") if error == 0.0 else 10.0 * float(np.log10(power / error))


def separation_sdr(references: Mapping[str, Audio], separation: Separation,
                   groups: Mapping[str, tuple[str, ...]]) -> dict[str, dict[str, float]]:
    """SDR of each separated stem against the sum of the reference parts it stands for.

    Parameters
    ----------
    references : mapping
        Part name → the true part (its sum is the mix that was separated).
    separation : Separation
    groups : mapping
        Separated stem (or ``"a+b"`` for several stems summed) → the reference parts it should
        hold, e.g. ``{"drums": ("drums",), "bass": ("bass",), "centre+sides+other": ("chords", "lead")}``.

    Returns
    -------
    dict
        Per group: ``sdr_db`` and ``mix_sdr_db``, the SDR of handing over the whole mix instead
        (the baseline a split has to beat).
    """
    mix = sum(a.samples.astype(np.float64) for a in references.values())
    out = {}
    for key, parts in groups.items():
        estimate = sum(separation.stems[name].samples.astype(np.float64) for name in key.split("+"))
        truth = sum(references[p].samples.astype(np.float64) for p in parts)
        out[key] = {"sdr_db": round(sdr_db(truth, estimate), 2), "mix_sdr_db": round(sdr_db(truth, mix), 2)}
    return out


def _lowpass_fir(rate: int, cutoff_hz: float) -> np.ndarray:
    """Odd-length linear-phase low-pass (Kaiser window, 60 dB), unity gain at DC."""
    numtaps, beta = sps.kaiserord(60.0, BASS_TRANSITION_HZ / (0.5 * rate))
    return sps.firwin(numtaps | 1, cutoff_hz, window=("kaiser", beta), fs=rate)


def split_low(samples: np.ndarray, rate: int, cutoff_hz: float = BASS_CUTOFF_HZ) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) of ``samples`` (channels × frames): a linear-phase low-pass, delay removed, and the rest.

    ``low + high == samples`` exactly (the high band is the complement).
    """
    taps = _lowpass_fir(rate, cutoff_hz)
    delay = (len(taps) - 1) // 2
    low = sps.oaconvolve(samples, taps[np.newaxis, :], axes=1)[:, delay:delay + samples.shape[1]]
    low = low.astype(samples.dtype)
    return low, samples - low


def separate_builtin(audio: Audio, *, bass_cutoff_hz: float = BASS_CUTOFF_HZ,
                     progress: ProgressCallback | None = None) -> Separation:
    """The built-in split: ``drums``, ``bass``, ``centre``, ``sides`` (stereo only) and ``other``.

    Parameters
    ----------
    audio : Audio
        The mix, channels × frames, any rate.
    bass_cutoff_hz : float
        Crossover of the bass stem, 40–400 Hz.
    progress : callable, optional
        ``(fraction, label)``.

    Returns
    -------
    Separation
        Stems that sum to ``audio`` (float32 rounding aside).
    """
    report = progress or ignore_progress
    validate_audio(audio)
    if not 40.0 <= bass_cutoff_hz <= 400.0:
        raise ParameterError(f"bass_cutoff_hz must be 40–400 Hz, got {bass_cutoff_hz:g}")
    if bass_cutoff_hz >= audio.sample_rate / 4:
        raise ParameterError(f"a {audio.sample_rate} Hz signal is too low a rate for a {bass_cutoff_hz:g} Hz bass split")
    x = audio.samples.astype(np.float64)
    n_fft = int(2 ** round(np.log2(HPSS_N_FFT * audio.sample_rate / 44100.0)))
    report(0.0, "STFT")
    spectra = thread_map(lambda channel: stft(channel, n_fft), list(audio.samples))
    report(0.3, "harmonic/percussive masks")
    harmonic_mask, percussive_mask = hpss_masks(np.mean([np.abs(s) for s in spectra], axis=0))
    report(0.6, "inverse STFT")

    def inverse(spectrum: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (istft(spectrum * percussive_mask, n_fft, audio.frames),
                istft(spectrum * harmonic_mask, n_fft, audio.frames))

    parts = thread_map(inverse, spectra)
    drums = np.stack([p for p, _ in parts])
    harmonic = np.stack([h for _, h in parts])
    residual = x - drums - harmonic
    report(0.85, "bass band and centre/side")
    bass, upper = split_low(harmonic, audio.sample_rate, bass_cutoff_hz)
    stems: dict[str, np.ndarray] = {"drums": drums, "bass": bass}
    if audio.channels == 2:
        mid = 0.5 * (upper[0] + upper[1])
        stems["centre"] = np.stack([mid, mid])
        stems["sides"] = upper - stems["centre"]
    else:
        stems["centre"] = upper
    stems["other"] = residual
    out = {name: audio.with_samples(value.astype(np.float32)) for name, value in stems.items()}
    # float32 rounding: put the last bit of the difference into "other" so the sum is the mix.
    total = sum(a.samples.astype(np.float64) for a in out.values())
    out["other"] = audio.with_samples((out["other"].samples + (x - total)).astype(np.float32))
    report(1.0, "done")
    notes = [f"built-in DSP split: drums = percussive (median-filter HPSS), bass = harmonic below "
             f"{bass_cutoff_hz:g} Hz, centre/sides = harmonic above it by mid/side; a rough split, not a model "
             "(a centred vocal and a centred piano land in the same stem); for real stems use --method demucs"]
    return Separation(out, {name: BUILTIN_ROLES[name] for name in out}, "builtin", notes)


def _demucs_model(model: str | os.PathLike[str]) -> Any:
    """A Demucs model (or bag of models) from weights on disk; nothing is downloaded.

    ``model`` is a model file (``.th``, the package Demucs's ``states.serialize_model`` writes — a
    pickle, so only files you trust — or ``.safetensors`` as demucs ≥ 4.1 fetches them), or a
    folder holding one bag ``NAME.yaml`` and the files of the signatures it lists
    (``SIG.th``, ``SIG-CHECKSUM.th``, checked, or ``SIG.safetensors``).
    """
    path = Path(model)
    if not path.exists():
        raise MissingDependencyError(f"{path}: no such Demucs model file; give weights you already have "
                                     "(a .th or .safetensors file, or a folder with NAME.yaml and its model files) "
                                     "— nothing is downloaded")
    try:
        import torch  # noqa: F401 - demucs needs it; missing torch is the same missing extra
        from demucs import states
        from demucs.apply import BagOfModels
    except ImportError as err:
        raise MissingDependencyError(f"--method demucs needs the demucs package and torch ({err.name or err} is "
                                     f"missing); {_DEMUCS_HINT}") from err
    try:
        if not path.is_dir():
            net = _demucs_file(path, states)
        else:
            bags = sorted(path.glob("*.yaml"))
            if len(bags) != 1:
                raise ParameterError(f"{path}: a Demucs model folder must hold exactly one NAME.yaml (found "
                                     f"{len(bags)}); or give the model file itself")
            spec = yaml.safe_load(bags[0].read_text(encoding="utf-8"))
            if not isinstance(spec, dict) or not isinstance(spec.get("models"), list) or not spec["models"]:
                raise ParameterError(f"{bags[0]}: not a Demucs bag (it needs a 'models:' list of signatures)")
            nets = [_demucs_file(_bag_member(path, str(sig)), states) for sig in spec["models"]]
            net = BagOfModels(nets, spec.get("weights"), spec.get("segment"))
    except TrackwrightError:
        raise
    except Exception as err:  # noqa: BLE001 - torch/demucs raise many kinds; one line for the user
        raise ParameterError(f"{path}: not a Demucs model Demucs can load ({type(err).__name__}: "
                             f"{str(err).splitlines()[0] if str(err) else 'no detail'})") from err
    net.eval()
    return net


def _bag_member(folder: Path, sig: str) -> Path:
    """The file of signature ``sig`` in a bag folder (``SIG.safetensors``, ``SIG.th`` or ``SIG-CHECKSUM.th``)."""
    found = [p for p in (folder / f"{sig}.safetensors", folder / f"{sig}.th") if p.is_file()]
    found += sorted(folder.glob(f"{glob_escape(sig)}-*.th"))
    if not found:
        raise ParameterError(f"{folder}: the bag lists model {sig!r} but there is no {sig}.th, {sig}-CHECKSUM.th "
                             f"or {sig}.safetensors beside it (nothing is downloaded)")
    if len(found) > 1:
        raise ParameterError(f"{folder}: several files for model {sig!r} ({', '.join(p.name for p in found)}); "
                             "keep one")
    member = found[0]
    if member.suffix == ".th" and member.stem != sig:
        from demucs.repo import check_checksum

        check_checksum(member, member.stem.rsplit("-", 1)[1])
    return member


def _demucs_file(path: Path, states: Any) -> Any:
    """One Demucs model from a ``.safetensors`` file or a ``.th`` package."""
    if path.suffix == ".safetensors":
        try:
            from demucs.hf import load_safetensors_model
        except ImportError as err:
            raise MissingDependencyError(f"{path}: .safetensors Demucs models need demucs 4.1 or later "
                                         f"({err.name or err} is missing); {_DEMUCS_HINT}") from err
        return load_safetensors_model(path)
    import torch

    # Loaded here, not by states.load_model: demucs 4.0's torch.load relies on the pre-2.6 default
    # weights_only=False, without which a model package (it names the model's class) does not load.
    package = torch.load(path, map_location="cpu", weights_only=False)
    keys = package if isinstance(package, dict) else {}
    missing = [key for key in ("klass", "args", "kwargs", "state") if key not in keys]
    if missing:
        raise ParameterError(f"{path}: not a Demucs model package (no {', '.join(missing)}); a bare state dict or a "
                             "training checkpoint is not enough — give the model file Demucs exports")
    return states.load_model(package)


def _chunk_progress(net: Any, frames: int, shifts: int, report: ProgressCallback) -> Any:
    """A demucs ``apply_model`` callback that reports 0.05…0.9 as chunks finish (never going back)."""
    members = list(getattr(net, "models", [net]))
    shift_frames = int(0.5 * int(net.samplerate)) if shifts else 0  # a shift adds up to half a second
    done = [0.05]

    def callback(info: Mapping[str, Any]) -> None:
        if info.get("state") != "end":
            return
        index = int(info.get("model_idx_in_bag", 0))
        member = members[min(index, len(members) - 1)]
        segment = int(float(getattr(member, "segment", 0) or 0) * int(net.samplerate))
        chunk_end = int(info.get("segment_offset", 0)) + segment
        within = min(1.0, chunk_end / (frames + shift_frames))
        fraction = (index + (int(info.get("shift_idx", 0)) + within) / max(1, shifts)) / len(members)
        done[0] = max(done[0], 0.05 + 0.85 * min(1.0, fraction))
        report(done[0], "Demucs")

    return callback


def separate_demucs(audio: Audio, model: str | os.PathLike[str], *, shifts: int = 1,
                    progress: ProgressCallback | None = None) -> Separation:
    """Split ``audio`` with a Demucs model the user already has on disk (CPU, or CUDA when present).

    Parameters
    ----------
    audio : Audio
        The mix (channels × frames); resampled to the model's rate and back.
    model : path
        A ``.th`` or ``.safetensors`` model file, or a folder holding one bag ``NAME.yaml`` and
        its model files (see :func:`_demucs_model`).
    shifts : int
        Demucs's random-shift trick, as its own command line's ``--shifts``: the input is shifted by a
        random 0–0.5 s this many times and the outputs averaged (more is slower and slightly better;
        0 = no shift, the same stems every run).

    Returns
    -------
    Separation
        The model's sources (``drums``, ``bass``, ``other``, ``vocals``…); what they miss of the
        mix is added to ``other`` so the stems sum to it.

    Raises
    ------
    MissingDependencyError
        The demucs package (the ``[separation]`` extra) or the model file is missing.
    """
    report = progress or ignore_progress
    validate_audio(audio)
    if shifts < 0:
        raise ParameterError(f"shifts must be 0 or more, got {shifts}")
    net = _demucs_model(model)
    import torch
    from demucs.apply import apply_model

    rate = int(net.samplerate)
    x = audio.samples
    if x.shape[0] == 1:
        x = np.repeat(x, int(net.audio_channels), axis=0)
    elif x.shape[0] != int(net.audio_channels):
        raise ParameterError(f"Demucs takes mono or {net.audio_channels}-channel audio, not {x.shape[0]} channels")
    if audio.sample_rate != rate:
        x = soxr.resample(x.T, audio.sample_rate, rate, quality="HQ").T
    wav = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    ref = wav.mean(0)
    centre, spread = ref.mean(), ref.std() + 1e-8
    report(0.05, "Demucs")
    options: dict[str, Any] = {}
    if "callback" in inspect.signature(apply_model).parameters:  # demucs ≥ 4.1: a call per chunk
        options["callback"] = _chunk_progress(net, wav.shape[-1], shifts, report)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    with torch.no_grad():
        sources = apply_model(net, ((wav - centre) / spread)[None], device=device, shifts=shifts, split=True,
                              overlap=0.25, progress=False, **options)[0]
    sources = (sources * spread + centre).cpu().numpy()
    report(0.9, "back to the mix's rate")
    stems = {}
    for name, source in zip(net.sources, sources):
        if audio.sample_rate != rate:
            source = soxr.resample(source.T, rate, audio.sample_rate, quality="HQ").T
        source = source[:, :audio.frames]
        source = np.pad(source, ((0, 0), (0, audio.frames - source.shape[1])))
        if audio.channels == 1:
            source = source.mean(axis=0, keepdims=True)
        stems[str(name)] = source.astype(np.float64)
    stems.setdefault("other", np.zeros(audio.samples.shape))
    stems["other"] = stems["other"] + (audio.samples.astype(np.float64) - sum(stems.values()))

    roles = {name: name if name in ROLES else "other" for name in stems}
    report(1.0, "done")
    return Separation({name: audio.with_samples(s.astype(np.float32)) for name, s in stems.items()}, roles, "demucs",
                      [f"Demucs model {Path(model).name}; what its sources miss of the mix is in 'other'"])


def separate(audio: Audio, *, method: str = "builtin", model: str | os.PathLike[str] | None = None,
             progress: ProgressCallback | None = None) -> Separation:
    """Split a mix with ``method`` ``"builtin"`` (:func:`separate_builtin`) or ``"demucs"`` (needs ``model``)."""
    if method not in METHODS:
        raise ParameterError(f"unknown separation method {method!r}; use one of {', '.join(METHODS)}")
    if method == "demucs":
        if model is None:
            raise ParameterError("--method demucs needs --model PATH: Demucs weights you already have on disk "
                                 "(nothing is downloaded)")
        return separate_demucs(audio, model, progress=progress)
    if model is not None:
        raise ParameterError("--model is for --method demucs; the built-in split has no model")
    return separate_builtin(audio, progress=progress)
