"""A small reader of REAPER's ``.rpp`` text for the tests (independent of the writer).

A project is a tree of blocks: ``<NAME arg …`` opens one, ``>`` closes it, other lines are
``NAME arg …`` items. Arguments are split on spaces; a quoted argument (``"…"``, ``'…'`` or
backticks) keeps its spaces.
"""

from __future__ import annotations

from dataclasses import dataclass, field


def tokens(line: str) -> list[str]:
    """Split one line into REAPER tokens."""
    out, i, line = [], 0, line.strip()
    while i < len(line):
        if line[i] == " ":
            i += 1
            continue
        if line[i] in "\"'`":
            end = line.index(line[i], i + 1)
            out.append(line[i + 1:end])
            i = end + 1
        else:
            end = line.find(" ", i)
            end = len(line) if end < 0 else end
            out.append(line[i:end])
            i = end
    return out


@dataclass
class Block:
    name: str
    args: list[str]
    items: list[list[str]] = field(default_factory=list)
    blocks: list["Block"] = field(default_factory=list)

    def item(self, name: str) -> list[str] | None:
        """Arguments of the first item called ``name``."""
        return next((i[1:] for i in self.items if i[0] == name), None)

    def all(self, name: str) -> list[list[str]]:
        return [i[1:] for i in self.items if i[0] == name]

    def children(self, name: str) -> list["Block"]:
        return [b for b in self.blocks if b.name == name]


def parse(text: str) -> Block:
    """The root block of an ``.rpp`` text; raises ValueError when blocks do not balance."""
    stack: list[Block] = []
    root: Block | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("<"):
            parts = tokens(line[1:])
            block = Block(parts[0], parts[1:])
            if stack:
                stack[-1].blocks.append(block)
            else:
                if root is not None:
                    raise ValueError("two root blocks")
                root = block
            stack.append(block)
        elif line == ">":
            if not stack:
                raise ValueError("'>' without a block")
            stack.pop()
        else:
            if not stack:
                raise ValueError(f"item outside a block: {line}")
            stack[-1].items.append(tokens(line))
    if stack or root is None:
        raise ValueError("unbalanced blocks")
    return root
