"""The layer rules of ARCHITECTURE.md, checked on the source: a stage never imports a layer above it,
packages on one floor do not import each other, no import cycles, no function-local imports of
trackwright's own modules to dodge one (the command line excepted: it imports each command's
stages when the command runs, so that start-up stays fast), and function-local imports of other
packages only for the heavy or optional ones listed in :data:`LAZY_THIRD_PARTY`."""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "trackwright"

#: Each package (or top-level module) of trackwright and its floor; a module may import its own
#: package and anything on a lower floor. Arrangement sits just above the score (an edit of the
#: audio is applied to the MIDI too), batch just above deliver (it delivers a catalogue).
FLOORS = {
    "trackwright": 1, "audio": 1, "errors": 1, "progress": 1, "parallel": 1, "sqlite": 1, "files": 1,
    "analysis": 2,
    "score": 3, "arrange": 3.5,
    "produce": 4, "mix": 4,
    "project": 5,
    "revise": 6, "deliver": 6, "review": 6, "export": 6, "batch": 6.5,
    "cli": 7, "demo": 7, "__main__": 7,
}
#: Floors whose modules may import each other (the base's small modules, the entry points).
OPEN_FLOORS = {1, 7}
#: Modules allowed to import trackwright modules inside functions, and why.
LAZY_ALLOWED = {
    "trackwright.cli": "imports each command's stages when the command runs (start-up time)",
    "trackwright.review": "FastAPI is an optional extra: the app is imported on first use",
}

#: Third-party packages that may be imported inside a function, and why: each is optional (an
#: extra) or heavy enough that a command which does not use it should not pay for its import.
#: Any other package must be imported at module top, where a reader sees what a module needs.
LAZY_THIRD_PARTY = {
    "torch": "optional extra (separate with Demucs); seconds to import",
    "demucs": "optional extra (separate with Demucs)",
    "pedalboard": "native plug-in host, used only by automation renders and time-stretching",
    "uvicorn": "optional extra (the review server)",
    "basic_pitch": "optional extra (transcribe)",
    "onnxruntime": "optional extra (transcribe)",
    "scipy": ("about a second to import (scipy.signal pulls in scipy.stats): the meters, master and "
              "limiter run on numpy alone, and only the stages that need it import it"),
}


@dataclass(frozen=True)
class Import:
    """One ``import`` of a trackwright module: who, what, where, and whether it runs at import time."""

    source: str
    target: str
    line: int
    top_level: bool
    type_only: bool


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def find_imports(root: Path) -> list[Import]:
    """Every import of a module of the package at ``root`` (a folder with ``__init__.py``)."""
    package = root.name
    found: list[Import] = []
    for path in sorted(root.rglob("*.py")):
        module = module_name(path, root)
        tree = ast.parse(path.read_text(encoding="utf-8"))

        def visit(node: ast.AST, in_function: bool, type_only: bool) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                    visit(child, True, type_only)
                elif isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                    visit(child, in_function, True)
                elif isinstance(child, (ast.Import, ast.ImportFrom)):
                    if isinstance(child, ast.Import):
                        targets = [alias.name for alias in child.names]
                    else:
                        base = _resolve(child, module, path.name == "__init__.py")
                        targets = [base]
                        # `from trackwright.mix import limiter` imports the module trackwright.mix.limiter
                        for alias in child.names:
                            if (root.parent / Path(*f"{base}.{alias.name}".split("."))).with_suffix(".py").exists():
                                targets.append(f"{base}.{alias.name}")
                    for target in targets:
                        if target == package or target.startswith(package + "."):
                            found.append(Import(module, target, child.lineno, not in_function, type_only))
                else:
                    visit(child, in_function, type_only)

        visit(tree, False, False)
    return found


def floor_of(module: str) -> tuple[str, float]:
    """(the package a module belongs to, its floor)."""
    parts = module.split(".")
    key = parts[1] if len(parts) > 1 else parts[0]
    if key not in FLOORS:
        raise KeyError(f"{module}: its package {key!r} has no floor in ARCHITECTURE.md (add it to FLOORS)")
    return key, FLOORS[key]


def layer_violations(imports: list[Import]) -> list[str]:
    """Imports that reach up a floor, or across to another package on the same floor."""
    out = []
    for item in imports:
        (source_pkg, source_floor), (target_pkg, target_floor) = floor_of(item.source), floor_of(item.target)
        if source_pkg == target_pkg or target_floor < source_floor or \
                (target_floor == source_floor and source_floor in OPEN_FLOORS):
            continue
        direction = "up" if target_floor > source_floor else "across"
        out.append(f"{item.source}:{item.line} imports {item.target} ({direction}: {source_pkg} is on floor "
                   f"{source_floor:g}, {target_pkg} on floor {target_floor:g})")
    return out


def lazy_imports(imports: list[Import]) -> list[str]:
    """Function-local imports of trackwright modules outside :data:`LAZY_ALLOWED`."""
    return [f"{item.source}:{item.line} imports {item.target} inside a function"
            for item in imports if not item.top_level and item.source not in LAZY_ALLOWED]


def lazy_third_party_imports(root: Path) -> list[str]:
    """Function-local imports of packages outside trackwright, the standard library and
    :data:`LAZY_THIRD_PARTY`, in the package at ``root``."""
    out = []
    for path in sorted(root.rglob("*.py")):
        module = module_name(path, root)
        for function in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and not node.level:
                    names = [node.module or ""]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top not in (root.name, *sys.stdlib_module_names, *LAZY_THIRD_PARTY):
                        out.append(f"{module}:{node.lineno} imports {name} inside a function")
    return sorted(set(out))


def cycles(imports: list[Import]) -> list[list[str]]:
    """Strongly connected groups (more than one module) of the import-time import graph (Tarjan)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for item in imports:
        if item.top_level and not item.type_only and item.source != item.target:
            graph[item.source].add(item.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            # a package importing its own submodule that imports the package back is the usual
            # __init__ re-export, not a cycle of design
            if len(group) > 1 and not _init_reexport(group):
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return groups


def _init_reexport(group: list[str]) -> bool:
    packages = [m for m in group if any(other.startswith(m + ".") for other in group)]
    return len(packages) == 1 and all(m == packages[0] or m.startswith(packages[0] + ".") for m in group) \
        and len(group) == 2


@pytest.fixture(scope="module")
def imports() -> list[Import]:
    return find_imports(SRC)


def test_every_package_has_a_floor(imports: list[Import]) -> None:
    for item in imports:
        floor_of(item.source)
        floor_of(item.target)


def test_no_stage_imports_a_layer_above_it_or_beside_it(imports: list[Import]) -> None:
    assert layer_violations(imports) == []


def test_no_function_local_imports_of_our_own_modules(imports: list[Import]) -> None:
    assert lazy_imports(imports) == []


def test_function_local_imports_of_other_packages_are_the_listed_heavy_ones() -> None:
    assert lazy_third_party_imports(SRC) == []


def test_no_import_cycles(imports: list[Import]) -> None:
    assert cycles(imports) == []


def test_the_checks_catch_what_they_are_for(tmp_path: Path) -> None:
    """A tree with each fault planted: the checks must name every one."""
    root = tmp_path / "trackwright"
    files = {
        "__init__.py": "",
        "audio.py": "",
        "mix/__init__.py": "",
        "mix/mixer.py": "from trackwright.project.store import Project\n",   # up: 4 → 5
        "produce/__init__.py": "",
        "produce/parts.py": "from trackwright.mix import mixer\n",           # across: 4 → 4
        "project/__init__.py": "",
        "project/store.py": "import trackwright.project.render\n",
        "project/render.py": "from trackwright.project import store\n\ndef f():\n    from trackwright.audio import x\n",
        "produce/separate.py": "def f():\n    import torch\n    import json\n    from soundfile import read\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    planted = find_imports(root)
    assert layer_violations(planted) == [
        "trackwright.mix.mixer:1 imports trackwright.project.store (up: mix is on floor 4, project on floor 5)",
        "trackwright.produce.parts:1 imports trackwright.mix (across: produce is on floor 4, mix on floor 4)",
        "trackwright.produce.parts:1 imports trackwright.mix.mixer (across: produce is on floor 4, mix on floor 4)",
    ]
    assert lazy_imports(planted) == ["trackwright.project.render:4 imports trackwright.audio inside a function"]
    assert cycles(planted) == [["trackwright.project.render", "trackwright.project.store"]]
    assert lazy_third_party_imports(root) == ["trackwright.produce.separate:4 imports soundfile inside a function"]
