"""Shared fixtures: a seeded random generator and a temporary folder of generated audio."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

# The review room keeps its signing secrets in the user's config folder: tests use one of their own.
os.environ.setdefault("TRACKWRIGHT_CONFIG_DIR", tempfile.mkdtemp(prefix="trackwright-test-config-"))

SHARED_AUDIO = Path(__file__).resolve().parents[1].parent / "shared" / "audio"


@pytest.fixture
def rng() -> np.random.Generator:
    """A random generator with a fixed seed, so every run sees the same data."""
    return np.random.default_rng(20261124)
