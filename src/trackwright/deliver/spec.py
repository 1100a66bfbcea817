"""The spec sheet of a delivery: formats per kind of file, previews, the naming template, metadata, cue-sheet fields.

Conventions
-----------
* It comes from the brief's ``delivery:`` block (:func:`spec_from_mapping`) and from
  ``deliver``'s flags (:func:`spec_from_flags`); :meth:`DeliverySpec.merged` lets the flags win,
  field by field. Every field is checked before anything is rendered, and a bad one is one
  line naming it (``delivery.formats.loops: …``)::

      composer: A. Writer                        # the brief's own field, also used by export
      delivery:
        format: wav:48k:24                       # every file (short form, or {container, sample_rate, bit_depth})
        formats: {stems: wav:48k:float, main: wav:48k:16}    # per kind
        previews: [mp3]                          # extra copies of the main, alternates and cutdowns
        name: "{title}_{kind}_{length}s_{target}"
        metadata: {artist: …, publisher: …, isrc: GB-ABC-26-00001, catalogue_number: …, copyright: …}
        cue_sheet:
          production: The Film                   # default: the title
          episode: "1"
          company: …
          frame_rate: 25
          usage: BI                              # default BV where a vocal plays, else BI
          in: "01:02:03:00"                      # programme timecode of the cue's start (or seconds)
          composers: [{name: A. Writer, society: PRS, ipi: "00123456789", share: 100}]
          publishers: [{name: …, society: …, share: 100}]

* Kinds are the file kinds (``main``, ``instrumental``, ``underscore``, ``lite``, ``cutdown``,
  ``stinger``, ``loop``, ``layer``, ``segment``, ``stem``); plurals and ``alternates`` (the
  instrumental, underscore and lite) are accepted.
* Defaults: 24-bit WAV at the master's rate; stems 32-bit float WAV. A default format
  (``format``) sets every kind's container and rate, and the bit depth of all but the stems,
  which keep float in WAV (so no stem clips; 24-bit in FLAC). Loops and layers keep WAV
  whatever the default (their loop points live in its ``smpl`` chunk): naming another container
  for them is refused. MP3, Ogg and Opus are previews: they may be named per kind (not for
  loops, layers or stems) or as ``previews``, never as the default.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from trackwright.analysis.brief import parse_time
from trackwright.deliver.cuesheet import FRAME_RATES, USAGES, Party
from trackwright.deliver.formats import FormatSpec, check_template, format_from_mapping, parse_format
from trackwright.deliver.wavmeta import normalise_isrc
from trackwright.errors import ParameterError, reject_unknown_fields

#: File kinds a format can be given for.
FILE_KINDS = ("main", "instrumental", "underscore", "lite", "cutdown", "stinger", "loop", "layer", "segment", "stem")
#: Kinds a preview is made of.
PREVIEW_KINDS = ("main", "instrumental", "underscore", "lite", "cutdown")
ALTERNATES = ("instrumental", "underscore", "lite")
#: Kinds that must stay WAV (``smpl`` loop points).
LOOPED_KINDS = ("loop", "layer")
METADATA_FIELDS = ("artist", "composer", "publisher", "isrc", "catalogue_number", "copyright")
_BLOCK_FIELDS = ("format", "formats", "previews", "name", "metadata", "cue_sheet")
_CUE_FIELDS = ("production", "episode", "company", "frame_rate", "usage", "in", "composers", "publishers")
_PARTY_FIELDS = ("name", "society", "ipi", "share")


def kinds_named(word: str, where: str) -> tuple[str, ...]:
    """The file kinds a word names: ``main``, ``cutdowns`` → ``cutdown``, ``alternates`` → three."""
    text = word.strip().lower()
    if text == "alternates":
        return ALTERNATES
    singular = text[:-1] if text.endswith("s") and text[:-1] in FILE_KINDS else text
    if singular not in FILE_KINDS:
        raise ParameterError(f"{where}: unknown kind {word!r} (use {', '.join(FILE_KINDS)}, plurals or alternates)")
    return (singular,)


def check_kind_format(kind: str, spec: FormatSpec, where: str) -> None:
    """Refuse a format a kind cannot take: loops and layers other than WAV, lossy stems."""
    if kind in LOOPED_KINDS and spec.container != "wav":
        raise ParameterError(f"{where}: loops and layers are WAV (their loop points live in its smpl chunk), "
                             f"not {spec.container}")
    if kind == "stem" and spec.lossy:
        raise ParameterError(f"{where}: stems are lossless (they sum back to the master), not {spec.container}")


@dataclass(frozen=True)
class CueSheetFields:
    """What a music cue sheet needs that the audio cannot tell (see :mod:`trackwright.deliver.cuesheet`)."""

    production: str = ""
    episode: str = ""
    company: str = ""
    frame_rate: float = 25.0
    usage: str = ""
    in_s: float = 0.0
    composers: tuple[Party, ...] = ()
    publishers: tuple[Party, ...] = ()


@dataclass(frozen=True)
class DeliverySpec:
    """A delivery's spec sheet (see the module conventions).

    Attributes
    ----------
    default : FormatSpec or None
        The format of every file not named in ``formats`` (None: 24-bit WAV at the master's rate).
    formats : dict
        File kind → its format.
    previews : tuple of FormatSpec
        Extra copies of the main, alternates and cutdowns.
    name_template : str or None
        A naming template (:func:`~trackwright.deliver.formats.render_name`); None keeps the
        ``Title_Kind_v3`` names.
    metadata : dict
        ``artist``, ``composer``, ``publisher``, ``isrc``, ``catalogue_number``, ``copyright`` (text).
    cue_sheet : CueSheetFields
    """

    default: FormatSpec | None = None
    formats: dict[str, FormatSpec] = field(default_factory=dict)
    previews: tuple[FormatSpec, ...] = ()
    name_template: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    cue_sheet: CueSheetFields = field(default_factory=CueSheetFields)

    def __post_init__(self) -> None:
        if self.default is not None and self.default.lossy:
            raise ParameterError(f"{self.default.container}: a lossy format is a preview, not the delivery's format: "
                                 f"use --preview {self.default.container} (or name kinds: --format "
                                 f"main={self.default.container})")
        for kind, spec in self.formats.items():
            check_kind_format(kind, spec, kind)
        for spec in self.previews:
            if spec.container == "wav":
                raise ParameterError("a preview is FLAC, MP3, Ogg or Opus: the masters are WAV already")
        if self.name_template is not None:
            check_template(self.name_template)
        if self.metadata.get("isrc"):
            normalise_isrc(self.metadata["isrc"])

    def format_for(self, kind: str) -> FormatSpec:
        """The format of a file of ``kind`` (see the module conventions)."""
        if kind in self.formats:
            return self.formats[kind]
        base = self.default or FormatSpec()
        if kind == "stem":
            return FormatSpec(base.container, base.sample_rate, "float" if base.container == "wav" else "24")
        if kind in LOOPED_KINDS and base.container != "wav":
            return FormatSpec("wav", base.sample_rate, base.bit_depth)
        return base

    def merged(self, other: DeliverySpec) -> DeliverySpec:
        """This spec with every field ``other`` sets taken from ``other`` (formats and metadata key by key)."""
        return DeliverySpec(
            default=other.default or self.default, formats={**self.formats, **other.formats},
            previews=other.previews or self.previews, name_template=other.name_template or self.name_template,
            metadata={**self.metadata, **{k: v for k, v in other.metadata.items() if v}},
            cue_sheet=self.cue_sheet if other.cue_sheet == CueSheetFields() else other.cue_sheet)


def _format(value: Any, where: str) -> FormatSpec:
    try:
        if isinstance(value, Mapping):
            return format_from_mapping(value, where=where)
        if isinstance(value, str):
            return parse_format(value)
    except ParameterError as err:
        raise ParameterError(f"{where}: {err}") from err
    raise ParameterError(f"{where}: a format is a short form such as wav:48k:24 or a mapping of container, "
                         f"sample_rate, bit_depth; got {value!r}")


def _parties(value: Any, where: str) -> tuple[Party, ...]:
    items = [value] if isinstance(value, (str, Mapping)) else value
    if not isinstance(items, Sequence):
        raise ParameterError(f"{where}: a list of names or of {{name, society, ipi, share}}, got {value!r}")
    out = []
    for index, item in enumerate(items):
        here = f"{where}[{index}]"
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, Mapping) or not str(item.get("name", "")).strip():
            raise ParameterError(f"{here}: needs a name")
        reject_unknown_fields(item, _PARTY_FIELDS, here)
        share = item.get("share")
        if share is not None and (isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share <= 100):
            raise ParameterError(f"{here}.share: a percentage above 0 and up to 100, got {share!r}")
        out.append(Party(str(item["name"]).strip(), str(item.get("society", "")), str(item.get("ipi", "")),
                         None if share is None else float(share)))
    return tuple(out)


def _timecode_s(value: Any, frame_rate: float, where: str) -> float:
    """Seconds from ``HH:MM:SS:FF`` (at ``frame_rate``) or anything :func:`parse_time` reads."""
    if isinstance(value, str) and value.count(":") == 3:
        try:
            hours, minutes, seconds, frames = (int(p) for p in value.split(":"))
        except ValueError:
            raise ParameterError(f"{where}: {value!r} is not HH:MM:SS:FF") from None
        if frames >= round(frame_rate) or minutes >= 60 or seconds >= 60 or min(hours, minutes, seconds, frames) < 0:
            raise ParameterError(f"{where}: {value!r} is not a timecode at {frame_rate:g} fps")
        return hours * 3600 + minutes * 60 + seconds + frames / round(frame_rate)
    try:
        return parse_time(value, "timecode")
    except ParameterError as err:
        raise ParameterError(f"{where}: {err}") from err


def _cue_fields(data: Any, where: str) -> CueSheetFields:
    if not isinstance(data, Mapping):
        raise ParameterError(f"{where}: must be a mapping of {', '.join(_CUE_FIELDS)}")
    reject_unknown_fields(data, _CUE_FIELDS, where)
    rate = data.get("frame_rate", 25.0)
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or \
            not any(abs(float(rate) - r) < 1e-3 for r in FRAME_RATES):
        raise ParameterError(f"{where}.frame_rate: one of {', '.join(f'{r:g}' for r in FRAME_RATES)}, got {rate!r}")
    usage = str(data.get("usage", "")).strip().upper()
    if usage and usage not in USAGES:
        raise ParameterError(f"{where}.usage: one of {', '.join(USAGES)}, got {data.get('usage')!r}")
    return CueSheetFields(str(data.get("production", "")), str(data.get("episode", "")), str(data.get("company", "")),
                          float(rate), usage, _timecode_s(data.get("in", 0), float(rate), f"{where}.in"),
                          _parties(data.get("composers", ()), f"{where}.composers"),
                          _parties(data.get("publishers", ()), f"{where}.publishers"))


def _metadata(data: Any, where: str) -> dict[str, str]:
    if not isinstance(data, Mapping):
        raise ParameterError(f"{where}: must be a mapping of {', '.join(METADATA_FIELDS)}")
    reject_unknown_fields(data, METADATA_FIELDS, where)
    out = {key: str(value).strip() for key, value in data.items() if value is not None and str(value).strip()}
    if "isrc" in out:
        try:
            out["isrc"] = normalise_isrc(out["isrc"])
        except ParameterError as err:
            raise ParameterError(f"{where}.isrc: {err}") from err
    return out


def _per_kind(entries: Mapping[str, Any], where: str) -> dict[str, FormatSpec]:
    out: dict[str, FormatSpec] = {}
    for word, value in entries.items():
        spec = _format(value, f"{where}.{word}")
        for kind in kinds_named(str(word), f"{where}.{word}"):
            check_kind_format(kind, spec, f"{where}.{word}")
            out[kind] = spec
    return out


def _checked(make: Callable[[], DeliverySpec], where: str) -> DeliverySpec:
    try:
        return make()
    except ParameterError as err:
        message = str(err)
        raise ParameterError(message if message.startswith(where) else f"{where}: {message}") from err


def spec_from_mapping(data: Mapping[str, Any], *, composer: str = "", where: str = "delivery") -> DeliverySpec:
    """A :class:`DeliverySpec` from a brief's ``delivery:`` block; ``composer`` (the brief's own
    field) fills ``metadata.composer`` when the block does not."""
    if not isinstance(data, Mapping):
        raise ParameterError(f"{where}: must be a mapping of {', '.join(_BLOCK_FIELDS)}")
    reject_unknown_fields(data, _BLOCK_FIELDS, where)
    formats = data.get("formats") or {}
    if not isinstance(formats, Mapping):
        raise ParameterError(f"{where}.formats: must map kinds to formats, e.g. {{stems: wav:48k:float}}")
    previews = data.get("previews") or ()
    previews = [previews] if isinstance(previews, str) else previews
    if not isinstance(previews, Sequence):
        raise ParameterError(f"{where}.previews: a list of formats such as [mp3, flac:16]")
    metadata = _metadata(data.get("metadata") or {}, f"{where}.metadata")
    if composer.strip() and "composer" not in metadata:
        metadata["composer"] = composer.strip()
    name = data.get("name")
    if name is not None and not isinstance(name, str):
        raise ParameterError(f"{where}.name: a naming template such as \"{{title}}_{{kind}}_{{length}}s\"")
    return _checked(lambda: DeliverySpec(
        None if data.get("format") is None else _format(data["format"], f"{where}.format"),
        _per_kind(formats, f"{where}.formats"),
        tuple(_format(p, f"{where}.previews[{i}]") for i, p in enumerate(previews)), name, metadata,
        _cue_fields(data.get("cue_sheet") or {}, f"{where}.cue_sheet")), where)


def spec_from_flags(*, formats: Sequence[str] = (), previews: Sequence[str] = (), name_template: str | None = None,
                    metadata: Mapping[str, str | None] | None = None) -> DeliverySpec:
    """A :class:`DeliverySpec` from ``deliver``'s flags: ``--format SPEC`` or ``--format KIND=SPEC``
    (repeatable), ``--preview SPEC``, ``--name-template``, and the metadata flags."""
    default = None
    per_kind: dict[str, FormatSpec] = {}
    for text in formats:
        word, sep, value = text.partition("=")
        if sep:
            spec = _format(value, f"--format {text}")
            for kind in kinds_named(word, f"--format {text}"):
                check_kind_format(kind, spec, f"--format {text}")
                per_kind[kind] = spec
        else:
            default = _format(text, f"--format {text}")
    return DeliverySpec(default, per_kind, tuple(_format(p, f"--preview {p}") for p in previews), name_template,
                        _metadata({k: v for k, v in (metadata or {}).items() if v}, "metadata"))


def check_names(template: str | None, kinds: Collection[str], cutdowns: Sequence[float]) -> None:
    """Refuse, before anything is rendered, a naming template that would give two files one name.

    ``kinds`` are ``deliver``'s kinds (``main``, ``cutdowns``, ``stems``…). Without ``{kind}``
    only a lone main can be named; with several cutdowns the template needs ``{length}`` (every
    cutdown's ``{kind}`` is ``Cutdown``). Names that still collide are refused as they are made.
    """
    if template is None:
        return
    fields = check_template(template)
    if "kind" not in fields and set(kinds) != {"main"}:
        raise ParameterError(f"naming template {template!r} has no {{kind}}: every file but a lone main would share "
                             "a name")
    if "cutdowns" in kinds and len(cutdowns) > 1 and "length" not in fields:
        raise ParameterError(f"naming template {template!r} has no {{length}}: the {len(cutdowns)} cutdowns would "
                             "share a name")
