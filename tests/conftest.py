"""Shared fixtures: the real data in ../shared/data, seeded generators."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """``$RIGIDPOSE_SHARED_DATA`` or ``../shared/data`` beside the repository."""
    return Path(os.environ.get("RIGIDPOSE_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    d = shared_data_dir()
    if not d.is_dir():
        pytest.skip(f"real data not found at {d} (set RIGIDPOSE_SHARED_DATA or place shared/ beside the repo)")
    return d


@pytest.fixture(scope="session")
def ycb_dir(shared_data: Path) -> Path:
    d = shared_data / "meshes" / "ycb"
    if not d.is_dir():
        pytest.skip(f"YCB meshes not found at {d}")
    return d


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)
