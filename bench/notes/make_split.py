"""Write bench/notes/split.json: the held-out split of the note corpus (seed 20, 30 % of each
category). Run once, before anything is measured; the committed file is the split. Re-running
on an unchanged corpus writes the same file; after adding notes, keep the old held-out ids
(new notes go to whichever side this draws for them) — never move a note out of held-out.

    python bench/notes/make_split.py [--check]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from notes_corpus import SPLIT, load_corpus, make_split


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    split = make_split(load_corpus())
    text = json.dumps(split, indent=1) + "\n"
    if "--check" in args:
        same = SPLIT.exists() and json.loads(SPLIT.read_text())["heldout"] == split["heldout"]
        print("split.json matches the corpus" if same else "split.json differs from a fresh draw")
        return 0 if same else 1
    SPLIT.write_text(text, encoding="utf-8")
    print(f"{SPLIT}: {len(split['dev'])} dev, {len(split['heldout'])} held out")
    return 0


if __name__ == "__main__":
    sys.exit(main())
