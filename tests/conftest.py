"""Shared fixtures: a seeded random generator and a temporary folder of generated audio."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

SHARED_AUDIO = Path(__file__).resolve().parents[1].parent / "shared" / "audio"


@pytest.fixture
def rng() -> np.random.Generator:
    """A random generator with a fixed seed, so every run sees the same data."""
    return np.random.default_rng(20261124)
