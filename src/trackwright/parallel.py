"""Running per-channel work on every core: libsoxr, SciPy filters, NumPy and pedalboard release the GIL."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def thread_map(function: Callable[[Item], Result], items: Iterable[Item]) -> list[Result]:
    """``[function(item) for item in items]``, run in up to ``os.cpu_count()`` threads, order kept."""
    work = list(items)
    workers = min(len(work), os.cpu_count() or 1)
    if workers <= 1:
        return [function(item) for item in work]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(function, work))
