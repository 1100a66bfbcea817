"""A project's stem roles: guessed from the stems, overridden by the user (``trackwright stems --set``).

The user's choices live in ``project.yaml`` under ``roles:`` (part name → role); every stage that
needs a role (mix, produce, deliver, notes, review) reads them through :func:`project_roles`, or
through :func:`part_roles` for the parts a version places: its stems, the re-rendered parts
``midi:<part>`` (which take the role of the stem they replace) and the residual part.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from trackwright.analysis.roles import ROLES, RoleGuess, guess_role, role_from_name
from trackwright.analysis.stemsum import RESIDUAL_WARN_DB
from trackwright.audio import write_atomic
from trackwright.errors import ParameterError, ProjectError
from trackwright.produce.production import MIDI_PREFIX, Production
from trackwright.project.recipe import Recipe
from trackwright.project.render import RESIDUAL_PART
from trackwright.project.store import PROJECT_FILE, Project


def _project_yaml(project: Project) -> tuple[Path, dict[str, Any]]:
    path = project.path / PROJECT_FILE
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ProjectError(f"{path}: damaged (not a mapping)")
    return path, data


def _set_roles(data: dict[str, Any], where: Path) -> dict[str, str]:
    roles = data.get("roles") or {}
    if not isinstance(roles, dict) or any(not isinstance(k, str) or v not in ROLES for k, v in roles.items()):
        raise ProjectError(f"{where}: roles: must map part names to one of {', '.join(ROLES)}, got {roles!r}")
    return dict(roles)


def project_roles(project: Project) -> dict[str, RoleGuess]:
    """Part name → role of every stem of ``project``: ``project.yaml``'s ``roles:`` where set, else guessed.

    Guesses read the imported stems' file names (kept as the user named them), then their sound.
    """
    where, data = _project_yaml(project)
    chosen = _set_roles(data, where)
    out = {}
    for name, rel in sorted(project.recipe().stem_sources.items()):
        if name in chosen:
            out[name] = RoleGuess(chosen[name], "set", f"project.yaml roles: {name}: {chosen[name]}")
        else:
            out[name] = guess_role(project.path / rel)
    return out


def part_roles(project: Project, recipe: Recipe | None = None) -> dict[str, RoleGuess]:
    """Part name → role of every part ``recipe`` (default: the latest) places.

    The stems it keeps (:func:`project_roles`: set by the user, else guessed); each re-rendered
    part ``midi:<part>`` with the role of the stem it replaces (source ``replaces``), else the
    role its MIDI part's name states, else ``other``; and :data:`~trackwright.project.render.RESIDUAL_PART`
    (``other``, source ``residual``) when the stems leave a residual that plays as a part.
    """
    recipe = recipe if recipe is not None else project.recipe()
    stems = project_roles(project)
    production = recipe.production or Production()
    out: dict[str, RoleGuess] = {}
    if not production.replaces_draft:
        out = {name: guess for name, guess in stems.items() if name not in production.replaced_stems}
        placement = project.stem_sum()
        if placement is not None and placement.left_db > RESIDUAL_WARN_DB and RESIDUAL_PART not in stems:
            out[RESIDUAL_PART] = RoleGuess("other", "residual", "what no stem holds")
    for part, setting in production.parts.items():
        if setting.replaces in stems:
            replaced = stems[setting.replaces]
            out[f"{MIDI_PREFIX}{part}"] = RoleGuess(replaced.role, "replaces",
                                                    f"replaces stem {setting.replaces} ({replaced.role})")
        else:
            named = role_from_name(part)
            out[f"{MIDI_PREFIX}{part}"] = named if named is not None else RoleGuess("other", "name",
                                                                                   f"MIDI part {part!r}")
    return dict(sorted(out.items()))


def set_project_roles(project: Project, roles: Mapping[str, str]) -> dict[str, RoleGuess]:
    """Record roles for some stems in ``project.yaml`` (``roles:`` map, under the project lock).

    Unknown part names or roles raise ParameterError. Returns :func:`project_roles` afterwards.
    """
    parts = project.recipe().stem_sources
    for name, role in roles.items():
        if name not in parts:
            raise ParameterError(f"{name!r} is not a stem of {project.path} (stems: {', '.join(sorted(parts)) or 'none'})")
        if role not in ROLES:
            raise ParameterError(f"{name}: unknown role {role!r}; roles are {', '.join(ROLES)}")
    with project.lock():
        where, data = _project_yaml(project)
        data["roles"] = dict(sorted({**_set_roles(data, where), **roles}.items()))
        text = yaml.safe_dump(data, sort_keys=False)
        write_atomic(where, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return project_roles(project)
