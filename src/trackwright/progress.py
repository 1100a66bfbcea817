"""Progress reporting for long work: a rich bar on a terminal, nothing when piped or quiet.

Library functions take an optional ``progress`` callable ``(fraction, label) -> None`` with
``fraction`` in 0…1; they never print. The command-line program passes one made here.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

ProgressCallback = Callable[[float, str], None]


def ignore_progress(fraction: float, label: str) -> None:  # noqa: ARG001 - the callback signature
    """A progress callback that reports nothing."""
    return None


@contextmanager
def progress_bar(description: str, *, quiet: bool = False) -> Iterator[ProgressCallback]:
    """Yield a progress callback; draws a bar on stderr only when it is a terminal.

    Parameters
    ----------
    description : str
        What the work is, shown left of the bar.
    quiet : bool
        Draw nothing, whatever the terminal.
    """
    if quiet or not sys.stderr.isatty():
        yield ignore_progress
        return
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
               TextColumn("{task.fields[label]}"), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=1.0, label="")

        def update(fraction: float, label: str) -> None:
            bar.update(task, completed=min(max(fraction, 0.0), 1.0), label=label)

        yield update
