"""Every pose error against hand-computed values (1e-6 relative)."""

from __future__ import annotations

import numpy as np
import pytest

from rigidpose.eval import add, adi, mspd, mssd, proj_2d, re, te
from rigidpose.geometry import Camera, axis_angle_to_matrix, random_rotation
from rigidpose.objects import ContinuousSymmetry, Symmetries

REL = 1e-6
K = np.array([[500.0, 0.0, 320.0], [0.0, 500.0, 240.0], [0.0, 0.0, 1.0]])


@pytest.fixture
def pts(rng):
    return rng.uniform(-0.05, 0.05, (200, 3))


def test_add_translation_offset_is_its_norm(pts, rng):
    R = random_rotation(rng)
    t = np.array([0.1, -0.05, 0.8])
    off = np.array([0.003, -0.004, 0.012])  # |off| = 13 mm
    assert add(R, t + off, R, t, pts) == pytest.approx(0.013, rel=REL)
    assert te(t + off, t) == pytest.approx(0.013, rel=REL)
    assert mssd(R, t + off, R, t, pts, None) == pytest.approx(0.013, rel=REL)


def test_add_rotation_about_axis_is_analytic():
    # Points at radius r from the z axis move by the chord 2 r sin(θ/2) under a rotation θ about z.
    p = np.array([[0.1, 0.0, 0.0], [0.0, 0.2, 0.05], [0.0, 0.0, 0.3], [-0.03, 0.04, -0.1]])
    r = np.linalg.norm(p[:, :2], axis=1)  # 0.1, 0.2, 0, 0.05
    th = 0.3
    Rz = axis_angle_to_matrix([0.0, 0.0, th])
    t = np.array([0.0, 0.0, 1.0])
    chord = 2.0 * r * np.sin(th / 2.0)
    assert add(Rz, t, np.eye(3), t, p) == pytest.approx(chord.mean(), rel=REL)
    assert mssd(Rz, t, np.eye(3), t, p, np.eye(4)[None]) == pytest.approx(chord.max(), rel=REL)
    assert re(Rz, np.eye(3)) == pytest.approx(th, rel=REL)
    assert te(t, t) == 0.0


def test_adds_le_add_and_zero_for_symmetric_point_set(pts, rng):
    for _ in range(5):
        R_e, R_g = random_rotation(rng), random_rotation(rng)
        t_e, t_g = rng.uniform(-0.1, 0.1, 3) + [0, 0, 1], rng.uniform(-0.1, 0.1, 3) + [0, 0, 1]
        assert adi(R_e, t_e, R_g, t_g, pts) <= add(R_e, t_e, R_g, t_g, pts) + 1e-15
    square = np.array([[0.1, 0, 0], [0, 0.1, 0], [-0.1, 0, 0], [0, -0.1, 0]])
    R90 = axis_angle_to_matrix([0, 0, np.pi / 2])
    t = np.array([0, 0, 1.0])
    assert adi(R90, t, np.eye(3), t, square) == pytest.approx(0.0, abs=1e-12)
    assert add(R90, t, np.eye(3), t, square) == pytest.approx(0.1 * np.sqrt(2), rel=REL)


def test_mssd_mspd_zero_for_gt_composed_with_a_symmetry(pts, rng):
    syms = Symmetries(continuous=(ContinuousSymmetry([0, 0, 1], [0.01, 0.0, 0.0]),)).transforms()
    R_g, t_g = random_rotation(rng), np.array([0.02, -0.03, 0.7])
    S = syms[37]
    R_e, t_e = R_g @ S[:3, :3], R_g @ S[:3, 3] + t_g  # T_e = T_g ∘ S
    assert mssd(R_e, t_e, R_g, t_g, pts, syms) == pytest.approx(0.0, abs=1e-12)
    assert mspd(R_e, t_e, R_g, t_g, K, pts, syms) == pytest.approx(0.0, abs=1e-9)
    # without the symmetry the same estimate is wrong
    assert mssd(R_e, t_e, R_g, t_g, pts, None) > 1e-3


def test_mssd_is_min_over_symmetries_of_max_distance(pts, rng):
    syms = Symmetries(np.diag([-1.0, -1.0, 1.0, 1.0])[None]).transforms()
    R_g, t_g = np.eye(3), np.array([0, 0, 1.0])
    R_e, t_e = axis_angle_to_matrix([0, 0, np.pi - 0.2]), t_g
    want = min(
        np.linalg.norm(pts @ R_e.T - (pts @ S[:3, :3].T + S[:3, 3]), axis=1).max() for S in syms
    )
    assert mssd(R_e, t_e, R_g, t_g, pts, syms) == pytest.approx(want, rel=REL)
    # equals the max chord of a 0.2 rad rotation about z
    assert want == pytest.approx((2 * np.linalg.norm(pts[:, :2], axis=1) * np.sin(0.1)).max(), rel=REL)


def test_mspd_and_proj_for_a_pure_pixel_shift():
    # Planar points at depth z: a shift dx in x moves every projection by fx·dx/z pixels.
    p = np.array([[0.05, 0.05, 0.0], [-0.05, 0.02, 0.0], [0.01, -0.04, 0.0]])
    z, dx = 0.5, 0.004
    t_g = np.array([0.0, 0.0, z])
    shift = 500.0 * dx / z  # 4 px
    assert mspd(np.eye(3), t_g + [dx, 0, 0], np.eye(3), t_g, K, p, np.eye(4)[None]) == pytest.approx(shift, rel=REL)
    assert proj_2d(np.eye(3), t_g + [dx, 0, 0], np.eye(3), t_g, K, p) == pytest.approx(shift, rel=REL)
    cam = Camera(K, 640, 480)
    assert mspd(np.eye(3), t_g + [dx, 0, 0], np.eye(3), t_g, cam, p, None) == pytest.approx(shift, rel=REL)


def test_re_is_symmetric_and_bounded(rng):
    R = random_rotation(rng)
    Rpi = R @ axis_angle_to_matrix([np.pi, 0, 0])
    assert re(Rpi, R) == pytest.approx(np.pi, rel=REL)
    assert re(R, R) == pytest.approx(0.0, abs=1e-7)
