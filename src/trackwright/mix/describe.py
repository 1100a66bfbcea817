"""A mix plan's changes in words (for ``trackwright diff``): what moved, part by part and on the bus.

``mix_changes(old, new)`` returns lines such as ``mix added (rock): 3 parts moved``,
``guitar: cut −3 dB at 2 kHz added``, ``song: fader +1.5 dB``, ``bus: reverb return −16 → −24 dB``.
Levels in dB, frequencies in Hz.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trackwright.mix.mixer import MixPlan, PartPlan

#: Differences smaller than these are not reported (dB, Hz, width).
_DB, _HZ, _WIDTH = 0.05, 0.5, 0.005


def _db(value: float) -> str:
    return f"{value:+.1f} dB".replace("-", "−")


def _cut_words(cut: Mapping[str, Any]) -> str:
    freq = float(cut["freq_hz"])
    where = f"{freq / 1000:g} kHz" if freq >= 1000 else f"{freq:.0f} Hz"
    return f"{_db(float(cut['gain_db']))} at {where}"


def _compressor_words(compressor: Mapping[str, Any] | None) -> str:
    if compressor is None:
        return "none"
    return f"{float(compressor['ratio']):g}:1 from {float(compressor['threshold_db']):.1f} dBFS".replace("-", "−")


def part_changes(name: str, old: PartPlan | None, new: PartPlan | None, *, joined: bool = True) -> list[str]:
    """How one part's decisions changed, one phrase each (``old``/``new`` None: the part was not in
    the plan; a part new to it is compared with a part as delivered, and said to join it when ``joined``)."""
    if old is None and new is None:
        return []
    if new is None:
        return [f"{name}: left the mix plan"]
    base = old if old is not None else PartPlan(new.role)
    lines = []
    prefix = f"{name}: "
    if old is None:
        if joined:
            lines.append(f"{name}: joined the mix plan as {new.role}")
    elif old.role != new.role:
        lines.append(f"{prefix}role {old.role} → {new.role}")
    if base.mute != new.mute:
        lines.append(prefix + ("left out" if new.mute else "back in"))
    if abs(new.gain_db - base.gain_db) >= _DB:
        lines.append(f"{prefix}fader {_db(new.gain_db - base.gain_db)}")
    if abs(new.highpass_hz - base.highpass_hz) >= _HZ:
        lines.append(f"{prefix}high-pass " + ("off" if not new.highpass_hz else f"at {new.highpass_hz:g} Hz")
                     + ("" if not base.highpass_hz else f" (was {base.highpass_hz:g} Hz)"))
    before = [_cut_words(c) for c in base.cuts]
    after = [_cut_words(c) for c in new.cuts]
    lines += [f"{prefix}cut {w} added" for w in after if w not in before]
    lines += [f"{prefix}cut {w} removed" for w in before if w not in after]
    if _compressor_words(base.compressor) != _compressor_words(new.compressor):
        lines.append(f"{prefix}compressor {_compressor_words(base.compressor)} → {_compressor_words(new.compressor)}")
    if abs(new.width - base.width) >= _WIDTH:
        lines.append(f"{prefix}width ×{base.width:.2f} → ×{new.width:.2f}")
    if abs(new.pan - base.pan) >= _WIDTH:
        lines.append(f"{prefix}pan {base.pan:+.2f} → {new.pan:+.2f}")
    if (base.send_db is None) != (new.send_db is None) or (
            base.send_db is not None and new.send_db is not None and abs(new.send_db - base.send_db) >= _DB):
        lines.append(f"{prefix}reverb send " + ("off" if new.send_db is None else _db(new.send_db)))
    return lines


def _bus_lines(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    lines = []
    for block, key, unit in (("reverb", "return_db", "dB"), ("reverb", "room_size", ""), ("glue", "ratio", ":1"),
                             ("glue", "depth_db", "dB")):
        a, b = (old.get(block) or {}).get(key), (new.get(block) or {}).get(key)
        if a != b and (a is None or b is None or abs(float(a) - float(b)) >= _DB / 10):
            words = {"return_db": "reverb return", "room_size": "reverb room", "ratio": "glue ratio",
                     "depth_db": "glue depth under the peaks"}[key]
            lines.append(f"bus: {words} {'—' if a is None else f'{float(a):g}'} → {'—' if b is None else f'{float(b):g}'}"
                         f"{' ' + unit if unit and not unit.startswith(':') else unit}".replace("-", "−"))
    before = [_cut_words(m) + f" ({m.get('band', 'eq')})" for m in old.get("eq") or []]
    after = [_cut_words(m) + f" ({m.get('band', 'eq')})" for m in new.get("eq") or []]
    lines += [f"bus: EQ {w} added" for w in after if w not in before]
    lines += [f"bus: EQ {w} removed" for w in before if w not in after]
    return lines


def mix_changes(old: MixPlan | None, new: MixPlan | None) -> list[str]:
    """What changed between two recipes' ``mix:`` blocks, in words.

    Examples
    --------
    >>> a = MixPlan("pop", {"bass": PartPlan("bass")}, {}, None)
    >>> b = MixPlan("rock", {"bass": PartPlan("bass", gain_db=-2.0)}, {}, None)
    >>> mix_changes(a, b)
    ['mix style pop → rock', 'bass: fader −2.0 dB']
    """
    if old is None and new is None:
        return []
    if new is None:
        return [f"mix removed (was {old.style if old is not None else ''}): the parts play as placed"]
    lines = []
    if old is None:
        lines.append(f"mix added ({new.style})")
    elif old.style != new.style:
        lines.append(f"mix style {old.style} → {new.style}")
    if old is not None and old.target != new.target:
        lines.append(f"mix master target {old.target} → {new.target}")
    parts_old = {} if old is None else old.parts
    for name in sorted(set(parts_old) | set(new.parts)):
        lines += part_changes(name, parts_old.get(name), new.parts.get(name), joined=old is not None)
    lines += _bus_lines({} if old is None else old.bus, new.bus)
    return lines
