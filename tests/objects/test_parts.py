"""The procedural demo part."""

from __future__ import annotations

import numpy as np
import trimesh
from scipy.spatial import cKDTree

from rigidpose.objects.parts import bracket


def test_bracket_is_watertight_deterministic_and_sized_in_metres():
    a, b = bracket(), bracket()
    assert a.is_watertight and a.is_volume
    assert np.array_equal(a.vertices, b.vertices) and np.array_equal(a.faces, b.faces)
    assert np.allclose(a.extents, [0.102, 0.050, 0.055], atol=1e-4)
    assert a.volume > 0


def test_bracket_has_no_rotational_symmetry():
    """Every 180° flip about a principal axis through the centre moves the surface a lot."""
    part = bracket()
    pts, _ = trimesh.sample.sample_surface(part, 1000, seed=0)
    dense, _ = trimesh.sample.sample_surface(part, 40000, seed=1)
    tree = cKDTree(dense)
    centre = part.bounds.mean(axis=0)
    for axis in np.eye(3):
        R = 2 * np.outer(axis, axis) - np.eye(3)  # 180° about axis
        moved = (pts - centre) @ R.T + centre
        dist, _ = tree.query(moved)
        assert np.mean(dist) > 0.003, f"bracket looks symmetric about {axis}"
