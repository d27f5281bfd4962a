"""Fixtures of the estimate tests (scenes and their helpers live in ``scenes.py``)."""

from __future__ import annotations

import numpy as np
import pytest
from scenes import MeshArrays

from rigidpose.objects.parts import bracket
from rigidpose.objects.raycast import MeshRaycaster


@pytest.fixture(scope="module")
def part():
    """(mesh arrays, ray caster, diameter in metres) of the bundled bracket."""
    mesh = bracket()
    return MeshArrays(mesh), MeshRaycaster(mesh.vertices, mesh.faces), float(np.linalg.norm(mesh.extents))
