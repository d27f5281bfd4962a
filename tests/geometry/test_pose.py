"""The Pose value type: algebra, conversions and frame checks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from rigidpose.geometry import Pose, random_rotation

vec3 = arrays(np.float64, 3, elements=st.floats(-3.0, 3.0, allow_nan=False))


def _pose(rvec, t, parent=None, child=None):
    return Pose.from_rvec_tvec(rvec, t, parent, child)


@given(vec3, vec3)
def test_inverse_composes_to_identity(r, t):
    T = _pose(r, t)
    assert (T @ T.inv()).allclose(Pose.identity(), atol=1e-9)
    assert (T.inv() @ T).allclose(Pose.identity(), atol=1e-9)


@given(vec3, vec3)
def test_matrix_round_trip(r, t):
    T = _pose(r, t)
    assert Pose.from_matrix(T.as_matrix()).allclose(T)


@given(vec3, vec3)
def test_rvec_tvec_round_trip(r, t):
    T = _pose(r, t)
    r2, t2 = T.to_rvec_tvec()
    assert Pose.from_rvec_tvec(r2, t2).allclose(T, atol=1e-9)


@given(vec3, vec3, vec3, vec3)
def test_composition_matches_matrix_product(r1, t1, r2, t2):
    A, B = _pose(r1, t1), _pose(r2, t2)
    assert np.allclose((A @ B).as_matrix(), A.as_matrix() @ B.as_matrix(), atol=1e-9)


def test_transform_points(rng):
    T = Pose(random_rotation(rng), rng.standard_normal(3))
    p = rng.standard_normal((5, 3))
    hom = np.c_[p, np.ones(5)] @ T.as_matrix().T
    assert np.allclose(T.transform(p), hom[:, :3])


def test_named_frames_cancel_and_are_checked():
    T_base_cam = _pose([0.1, 0, 0], [0, 0, 1], "base", "cam")
    T_cam_obj = _pose([0, 0.2, 0], [0, 0, 0.5], "cam", "obj")
    T_base_obj = T_base_cam @ T_cam_obj
    assert (T_base_obj.parent, T_base_obj.child) == ("base", "obj")
    assert (T_base_obj.inv().parent, T_base_obj.inv().child) == ("obj", "base")
    with pytest.raises(ValueError, match="frame mismatch"):
        T_cam_obj @ T_base_cam


def test_angle_and_distance():
    A = Pose.identity()
    B = _pose([0, 0, np.pi / 2], [3, 4, 0])
    assert np.isclose(A.angle_to(B), np.pi / 2)
    assert np.isclose(A.distance_to(B), 5.0)


def test_pose_is_frozen_and_validated(rng):
    T = Pose(random_rotation(rng), np.zeros(3))
    with pytest.raises(ValueError):
        T.R[0, 0] = 2.0
    with pytest.raises(ValueError, match="not a rotation"):
        Pose(np.diag([1.0, 1.0, -1.0]), np.zeros(3))
    with pytest.raises(ValueError, match="NaN"):
        Pose(np.eye(3), [np.nan, 0, 0])
    with pytest.raises(ValueError, match="shape"):
        Pose(np.eye(3), [0, 0])
    with pytest.raises(ValueError, match="bottom row"):
        Pose.from_matrix(np.ones((4, 4)))


def test_quaternion_construction():
    T = Pose.from_quat([0, 0, np.sin(np.pi / 4), np.cos(np.pi / 4)], [1, 2, 3])
    assert np.allclose(T.transform([1, 0, 0]), [1, 3, 3])
    assert np.allclose(T.quat(), [0, 0, np.sin(np.pi / 4), np.cos(np.pi / 4)])
