"""Fixtures for the synth tests (helpers live in ``synth_helpers.py``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from synth_helpers import synth_args, write_inputs

from rigidpose.cli import main
from rigidpose.geometry import Camera


@pytest.fixture
def small_camera() -> Camera:
    K = np.array([[210.0, 0.0, 161.3], [0.0, 205.0, 118.7], [0.0, 0.0, 1.0]])
    return Camera(K, 320, 240)


@pytest.fixture(scope="session")
def dataset(tmp_path_factory) -> Path:  # noqa: ANN001
    d = tmp_path_factory.mktemp("synth")
    inp = write_inputs(d / "in")
    assert main(synth_args(inp, d / "out", 10)) == 0
    return d / "out"
