"""Diameter (against brute force), keypoints and surface samples."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from rigidpose.objects import ObjectModel
from rigidpose.objects.diameter import diameter, max_pairwise_distance

from objects_meshes import YCB_NAMES, offset_box, ycb_path


@pytest.mark.parametrize("seed", range(4))
def test_diameter_matches_brute_force_on_random_meshes(seed):
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(3000, 3)) * rng.uniform(0.01, 0.5, size=3)
    hull = trimesh.convex.convex_hull(v[:500])
    pts = np.vstack([v, hull.vertices])
    assert diameter(pts) == pytest.approx(max_pairwise_distance(pts), rel=1e-9)


def test_diameter_flat_and_tiny_sets():
    flat = np.c_[np.random.default_rng(0).random((200, 2)), np.zeros(200)]
    assert diameter(flat) == pytest.approx(max_pairwise_distance(flat), rel=1e-12)
    assert diameter(np.array([[0, 0, 0], [3.0, 4.0, 0]])) == pytest.approx(5.0)


def test_box_diameter_is_space_diagonal():
    m = ObjectModel(offset_box())
    assert m.diameter == pytest.approx(np.sqrt(0.1**2 + 0.2**2 + 0.3**2), rel=1e-9)


@pytest.mark.slow
@pytest.mark.parametrize("name", YCB_NAMES)
def test_ycb_diameter_within_0p1_percent_of_brute_force(ycb_dir, name):
    m = ObjectModel.load(ycb_path(ycb_dir, name), units="m", symmetries=None)
    brute = max_pairwise_distance(m.vertices)
    assert abs(m.diameter - brute) / brute < 1e-3
    assert 0.1 < m.diameter < 0.3  # YCB objects are 10–30 cm across


def test_keypoints_shape_determinism_and_centre_last():
    a = ObjectModel(offset_box())
    b = ObjectModel(offset_box())
    kp = a.keypoints(12)
    assert kp.shape == (13, 3)
    np.testing.assert_array_equal(kp, b.keypoints(12))
    np.testing.assert_allclose(kp[-1], a.centre)
    assert np.all(kp[:-1] >= a.bbox_min - 1e-9) and np.all(kp[:-1] <= a.bbox_min + a.extents + 1e-9)
    assert a.keypoints(4).shape == (5, 3)


def test_keypoints_spread_beats_random_surface_points():
    m = ObjectModel(offset_box())
    kp = m.keypoints(8)[:-1]

    def min_gap(p):
        d = np.linalg.norm(p[:, None] - p[None], axis=-1)
        return d[np.triu_indices(len(p), 1)].min()

    rng = np.random.default_rng(0)
    surf = m.surface_points(5000)
    random_gaps = [min_gap(surf[rng.choice(len(surf), 8, replace=False)]) for _ in range(50)]
    assert min_gap(kp) > np.percentile(random_gaps, 95)
    assert min_gap(kp) > 0.25 * m.diameter * 0.5


def test_surface_points_deterministic_and_on_surface():
    m = ObjectModel(offset_box())
    p = m.surface_points(1000)
    assert p.shape == (1000, 3)
    np.testing.assert_array_equal(p, ObjectModel(offset_box()).surface_points(1000))
    # every sample lies on one of the box faces
    rel = np.abs(p - m.centre) - m.extents / 2
    assert np.all(np.min(np.abs(rel), axis=1) < 1e-9)
    assert np.all(rel < 1e-9)


def test_info_matches_properties():
    from rigidpose.objects import Symmetries
    m = ObjectModel(offset_box(), symmetries=Symmetries())
    info = m.info
    assert info.diameter == m.diameter
    np.testing.assert_array_equal(info.min_xyz, m.bbox_min)
    np.testing.assert_array_equal(info.size_xyz, m.extents)
    assert not info.symmetries.is_symmetric
