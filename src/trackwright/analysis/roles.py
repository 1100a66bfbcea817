"""What each stem is: its role guessed from its file name, else from its sound.

Conventions
-----------
* Roles: ``vocals``, ``lead`` (a lead synth or melody instrument), ``drums``, ``bass``,
  ``guitar``, ``keys``, ``strings``, ``pad`` (pads, synths, arps, textures), ``fx`` and ``other``
  (an "Instrumental", brass, anything unclear) — see :data:`ROLES`. This is the one role
  vocabulary of trackwright: the mixer's role settings, deliver's stem groups and the notes'
  part names are keyed by it.
* Names are read the way generators and DAWs write them: ``Vocals.wav``, ``Song (Drums).wav``,
  ``01_Kick.wav``, ``bass stem.flac``, ``LeadVox.wav``, ``Track 3 - Synth Pad.wav``. Words in
  brackets win (``Bass Drop (Vocals)`` is a vocal), then the last word that names a role
  (``Song Title - Bass``), with two-word phrases first (``bass drum`` is drums, ``synth bass``
  is bass, ``lead vox`` is vocals).
* When the name says nothing, the sound decides, with four measures of the mono signal:
  percussive energy share (median-filter HPSS, as the built-in separation), low-band share
  (below 250 Hz), spectral centroid (Hz) and pitchedness (1 − spectral flatness). Content alone
  only tells drums, bass, fx-like noise and "pitched, something else" (``other``) apart.
* A project's roles (the guesses overridden by the user's ``roles:``) are read by
  :func:`trackwright.project.roles.project_roles`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trackwright.analysis.features import mono_at
from trackwright.analysis.spectrum import hpss_masks, stft
from trackwright.audio import Audio, load_audio
from trackwright.errors import ParameterError

#: The roles: the one vocabulary the mixer, produce, deliver, the notes and the review room share.
ROLES = ("vocals", "lead", "drums", "bass", "guitar", "keys", "strings", "pad", "fx", "other")
#: Rate the content measures run at, Hz.
CONTENT_RATE = 22050
#: At most this much of a stem is measured for its content (from its loudest stretch), seconds.
CONTENT_SPAN_S = 30.0
#: Upper edge of the "low band" of the content measures, Hz.
LOW_BAND_HZ = 250.0

#: Two-word phrases, read before single words.
_PHRASES: dict[tuple[str, str], str] = {
    ("bass", "drum"): "drums", ("kick", "drum"): "drums", ("snare", "drum"): "drums", ("drum", "loop"): "drums",
    ("synth", "bass"): "bass", ("bass", "guitar"): "bass", ("sub", "bass"): "bass", ("bass", "synth"): "bass",
    ("lead", "vox"): "vocals", ("lead", "vocal"): "vocals", ("lead", "vocals"): "vocals",
    ("backing", "vocals"): "vocals", ("backing", "vocal"): "vocals", ("lead", "synth"): "lead",
    ("synth", "lead"): "lead", ("synth", "pad"): "pad", ("electric", "piano"): "keys",
    ("acoustic", "guitar"): "guitar", ("electric", "guitar"): "guitar", ("string", "section"): "strings",
    ("backing", "track"): "other", ("no", "vocals"): "other", ("sound", "effects"): "fx",
}
_WORDS: dict[str, str] = {}
for _role, _words in {
    "vocals": "vocal vocals vox voc vocs voice voices singer bv bvs bgv bgvs backing backings "
              "harmony harmonies harm choir choirs adlib adlibs chant chants rap acapella acappella "
              "dialog dialogue speech spoken",
    "drums": "drum drums kick kicks kik bd snare snares snr sd hat hats hihat hihats hh cymbal cymbals "
             "crash ride tom toms perc percs percussion clap claps shaker shakers tamb tambourine rim "
             "overhead overheads beat beats breakbeat conga congas bongo bongos cowbell",
    "bass": "bass basses bassline sub subs 808 808s",
    "guitar": "guitar guitars gtr gtrs gtrl gtrr guit ag eg strat",
    "keys": "keys keyboard keyboards piano pianos pno rhodes organ organs epiano ep wurli wurlitzer clav "
            "clavinet harpsichord celesta marimba vibes vibraphone glock glockenspiel mallets chords chord comp comping",
    "strings": "strings string str strs violin violins vln viola violas vla cello cellos celli vc "
               "contrabass orchestra orch ensemble harp pizz pizzicato",
    "lead": "lead leads melody melodies solo hook topline",
    "pad": "synth synths syn pad pads arp arps arpeggio pluck plucks atmos atmosphere drone texture textures",
    "fx": "fx sfx effects effect riser risers impact impacts sweep sweeps whoosh whooshes transition "
          "transitions uplifter downlifter reverse noise foley",
    "other": "instrumental instrumentals inst instr accompaniment music other others brass horn horns "
             "trumpet trumpets trombone sax saxophone winds woodwind woodwinds flute flutes clarinet oboe "
             "mix",
}.items():
    for _word in _words.split():
        _WORDS[_word] = _role


@dataclass(frozen=True)
class RoleGuess:
    """A stem's role and why.

    Attributes:
        role: one of :data:`ROLES`.
        source: ``"name"`` (a word of the file name), ``"content"`` (the sound), ``"set"``
            (given by the user), ``"replaces"`` (a rebuilt part: the role of the stem it
            replaces) or ``"residual"`` (what no stem holds).
        reason: the word read, or the measures, in a few words.
    """

    role: str
    source: str
    reason: str

    def __str__(self) -> str:
        return self.role

    def to_dict(self) -> dict[str, str]:
        """Plain data for JSON."""
        return {"role": self.role, "source": self.source, "reason": self.reason}


def name_words(name: str) -> list[str]:
    """The lower-case words of a file name: split at separators, camelCase and digit runs.

    ``"01_LeadVox (Stem).wav"`` → ``["lead", "vox", "stem"]``; numbers alone are dropped,
    except ``808``.
    """
    stem = Path(name).stem if Path(name).suffix.lower() in (".wav", ".wave", ".flac", ".ogg", ".oga", ".opus",
                                                             ".aif", ".aiff", ".aifc", ".mp3") else name
    stem = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", stem)
    words = []
    for word in re.split(r"[^0-9A-Za-z]+|(?<=[A-Za-z])(?=[0-9])|(?<=[0-9])(?=[A-Za-z])", stem):
        word = word.lower()
        if word and (not word.isdigit() or word == "808"):
            words.append(word)
    return words


def _role_in(words: list[str]) -> tuple[str, str] | None:
    """(role, the words read) of the last phrase or word naming a role, else None."""
    found: tuple[int, str, str] | None = None
    index = 0
    while index < len(words):
        pair = tuple(words[index:index + 2])
        if len(pair) == 2 and pair in _PHRASES:
            found = (index, _PHRASES[pair], " ".join(pair))
            index += 2
            continue
        if words[index] in _WORDS:
            found = (index, _WORDS[words[index]], words[index])
        index += 1
    return None if found is None else (found[1], found[2])


def role_from_name(name: str) -> RoleGuess | None:
    """The role a file name states, or None when it names none.

    Words in round or square brackets are read first (``Bass Drop Love (Vocals).wav`` → vocals),
    then the whole name, where the last role word wins (``My Song - Bass.wav`` → bass).
    """
    bracketed = re.findall(r"[(\[]([^)\]]*)[)\]]", Path(name).stem)
    for text in reversed(bracketed):
        found = _role_in(name_words(text))
        if found is not None:
            return RoleGuess(found[0], "name", f"{found[1]!r} in the file name")
    found = _role_in(name_words(name))
    if found is None:
        return None
    return RoleGuess(found[0], "name", f"{found[1]!r} in the file name")


@dataclass(frozen=True)
class StemContent:
    """Measures of a stem's sound (mono, at most :data:`CONTENT_SPAN_S` of its loudest part).

    Attributes:
        percussive_share: share of the energy in the percussive part of an HPSS split, 0–1.
        low_share: share of the energy below :data:`LOW_BAND_HZ`, 0–1.
        centroid_hz: energy-weighted mean frequency, Hz.
        pitchedness: 1 − the median spectral flatness of the louder frames, 0–1 (1 = pure tones).
        level_dbfs: RMS level of the measured part, dBFS.
    """

    percussive_share: float
    low_share: float
    centroid_hz: float
    pitchedness: float
    level_dbfs: float


def measure_content(audio: Audio) -> StemContent:
    """The :class:`StemContent` measures of ``audio`` (channels × frames, any rate)."""
    mono = mono_at(audio, CONTENT_RATE).astype(np.float64)
    span = int(CONTENT_SPAN_S * CONTENT_RATE)
    if len(mono) > span:  # the loudest stretch of CONTENT_SPAN_S, found on 1 s blocks
        blocks = np.add.reduceat(mono**2, np.arange(0, len(mono), CONTENT_RATE))
        window = int(CONTENT_SPAN_S)
        sums = np.convolve(blocks, np.ones(window), mode="valid")
        start = int(np.argmax(sums)) * CONTENT_RATE
        mono = mono[start:start + span]
    level = float(np.sqrt(np.mean(mono**2))) if len(mono) else 0.0
    level_dbfs = 20.0 * np.log10(max(level, 1e-12))
    spectrum = np.abs(stft(mono.astype(np.float32), 2048))
    power = spectrum.astype(np.float64) ** 2
    total = float(power.sum())
    if total <= 0.0:
        return StemContent(0.0, 0.0, 0.0, 0.0, level_dbfs)
    freqs = np.fft.rfftfreq(2048, 1.0 / CONTENT_RATE)
    harmonic_mask, percussive_mask = hpss_masks(spectrum)
    percussive = float((power * percussive_mask**2).sum())
    harmonic = float((power * harmonic_mask**2).sum())
    frame_power = power.sum(axis=0)
    loud = frame_power > 0.01 * frame_power.max()
    loud_power = power[:, loud] + 1e-20  # spectral flatness: geometric over arithmetic mean
    flatness = np.exp(np.mean(np.log(loud_power), axis=0)) / np.mean(loud_power, axis=0)
    return StemContent(
        percussive_share=percussive / max(percussive + harmonic, 1e-30),
        low_share=float(power[freqs < LOW_BAND_HZ].sum()) / total,
        centroid_hz=float((freqs[:, None] * power).sum() / total),
        pitchedness=float(1.0 - np.median(flatness)) if flatness.size else 0.0,
        level_dbfs=float(level_dbfs))


def role_from_content(content: StemContent) -> RoleGuess:
    """A role from the :class:`StemContent` measures (drums, bass, fx or other)."""
    reason = (f"percussive {content.percussive_share:.0%}, low band {content.low_share:.0%}, "
              f"centroid {content.centroid_hz:.0f} Hz, pitchedness {content.pitchedness:.2f}")
    if content.level_dbfs < -80.0:
        return RoleGuess("other", "content", f"silent ({content.level_dbfs:.0f} dBFS)")
    if content.low_share > 0.5 and content.centroid_hz < 400.0 and content.percussive_share < 0.5:
        return RoleGuess("bass", "content", reason)
    if content.percussive_share > 0.5:
        return RoleGuess("drums", "content", reason)
    if content.pitchedness < 0.8 and content.centroid_hz > 3000.0:
        return RoleGuess("fx", "content", reason)
    return RoleGuess("other", "content", reason)


def guess_role(path: str | Path, audio: Audio | None = None) -> RoleGuess:
    """A stem's role from its file name, else from its sound (``audio``, or read from ``path``)."""
    named = role_from_name(Path(path).name)
    if named is not None:
        return named
    return role_from_content(measure_content(audio if audio is not None else load_audio(path)))


def stems_with_role(roles: Mapping[str, str | RoleGuess], role: str) -> list[str]:
    """The part names whose role is ``role`` (e.g. "which stem is the vocal"), in name order."""
    if role not in ROLES:
        raise ParameterError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
    return sorted(name for name, value in roles.items()
                  if (value.role if isinstance(value, RoleGuess) else value) == role)
