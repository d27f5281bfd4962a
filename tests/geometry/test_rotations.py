"""Round trips of the rotation conversions (property tests)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from rigidpose.geometry import (
    axis_angle_to_matrix,
    matrix_to_6d,
    matrix_to_axis_angle,
    matrix_to_quat,
    project_to_so3,
    quat_to_matrix,
    random_rotation,
    rotation_angle,
    rotation_angle_between,
    sixd_to_matrix,
    skew,
)

finite = st.floats(-1.0, 1.0, allow_nan=False, allow_infinity=False)
quats = arrays(np.float64, 4, elements=finite).filter(lambda q: np.linalg.norm(q) > 1e-3)
rvecs = arrays(np.float64, 3, elements=st.floats(-3.1, 3.1, allow_nan=False))


def _rot(q: np.ndarray) -> np.ndarray:
    return quat_to_matrix(q)


@given(quats)
def test_quat_to_matrix_is_a_rotation(q):
    R = quat_to_matrix(q)
    assert np.allclose(R.T @ R, np.eye(3), atol=1e-9)
    assert np.isclose(np.linalg.det(R), 1.0)


@given(quats)
def test_matrix_quat_round_trip(q):
    R = _rot(q)
    q2 = matrix_to_quat(R)
    assert q2[3] >= 0.0
    assert np.allclose(quat_to_matrix(q2), R, atol=1e-9)
    qn = q / np.linalg.norm(q)
    # q and -q are the same rotation: the canonical output equals one of them.
    assert np.allclose(q2, qn, atol=1e-7) or np.allclose(q2, -qn, atol=1e-7)


@given(quats)
def test_q_and_minus_q_are_the_same_rotation(q):
    assert np.allclose(quat_to_matrix(q), quat_to_matrix(-q), atol=1e-12)


@given(rvecs)
def test_axis_angle_round_trip(r):
    R = axis_angle_to_matrix(r)
    assert np.allclose(axis_angle_to_matrix(matrix_to_axis_angle(R)), R, atol=1e-8)
    if np.linalg.norm(r) < np.pi - 1e-6:
        assert np.allclose(matrix_to_axis_angle(R), r, atol=1e-7)


def test_axis_angle_near_pi_and_zero():
    for angle in (np.pi, np.pi - 1e-9, 1e-12, 0.0):
        for axis in np.eye(3):
            R = axis_angle_to_matrix(axis * angle)
            back = matrix_to_axis_angle(R)
            assert np.isclose(np.linalg.norm(back), angle, atol=1e-6)
            assert np.allclose(axis_angle_to_matrix(back), R, atol=1e-9)


@given(quats)
def test_6d_round_trip(q):
    R = _rot(q)
    d6 = matrix_to_6d(R)
    assert d6.shape == (6,)
    assert np.allclose(sixd_to_matrix(d6), R, atol=1e-9)


@given(arrays(np.float64, 6, elements=finite))
def test_6d_of_any_input_is_a_rotation(d6):
    a, b = d6[:3], d6[3:]
    if np.linalg.norm(np.cross(a, b)) < 1e-3:
        return
    R = sixd_to_matrix(d6)
    assert np.allclose(R.T @ R, np.eye(3), atol=1e-9)
    assert np.isclose(np.linalg.det(R), 1.0)


@given(rvecs)
def test_rotation_angle_is_the_axis_angle_norm(r):
    if np.linalg.norm(r) > np.pi:
        r = r / np.linalg.norm(r) * (np.linalg.norm(r) % np.pi)
    assert np.isclose(rotation_angle(axis_angle_to_matrix(r)), np.linalg.norm(r), atol=1e-6)


def test_batched_shapes(rng):
    R = random_rotation(rng, 7).reshape(7, 3, 3)
    assert matrix_to_quat(R).shape == (7, 4)
    assert matrix_to_axis_angle(R).shape == (7, 3)
    assert matrix_to_6d(R).shape == (7, 6)
    assert np.allclose(quat_to_matrix(matrix_to_quat(R)), R, atol=1e-9)
    assert np.allclose(sixd_to_matrix(matrix_to_6d(R)), R, atol=1e-9)
    assert rotation_angle_between(R, R).shape == (7,)
    assert np.allclose(rotation_angle_between(R, R), 0.0, atol=1e-6)


def test_skew_is_the_cross_product(rng):
    a, b = rng.standard_normal((2, 3))
    assert np.allclose(skew(a) @ b, np.cross(a, b))


def test_project_to_so3_recovers_a_noisy_rotation(rng):
    R = random_rotation(rng)
    noisy = R + 1e-4 * rng.standard_normal((3, 3))
    Rp = project_to_so3(noisy)
    assert np.allclose(Rp.T @ Rp, np.eye(3), atol=1e-12)
    assert rotation_angle_between(R, Rp) < 1e-3


def test_random_rotation_is_seeded():
    a = random_rotation(np.random.default_rng(3), 4)
    b = random_rotation(np.random.default_rng(3), 4)
    assert np.array_equal(a, b)


@pytest.mark.parametrize("bad", [np.zeros(4), np.ones(3)])
def test_bad_quaternions_raise(bad):
    with pytest.raises(ValueError):
        quat_to_matrix(bad)


@settings(max_examples=25)
@given(quats, quats)
def test_angle_between_is_symmetric(q1, q2):
    R1, R2 = _rot(q1), _rot(q2)
    assert np.isclose(rotation_angle_between(R1, R2), rotation_angle_between(R2, R1), atol=1e-7)


def test_is_rotation_is_orthonormal_with_det_plus_one(rng):
    """The written-out check gives np.allclose(RᵀR, I, atol) and |det R − 1| < atol's verdict on
    rotations perturbed by 1e-8 to 1e-4, on reflections, and refuses wrong shapes and NaN."""
    from rigidpose.geometry.rotations import is_rotation

    verdicts = set()
    for _ in range(2000):
        R = random_rotation(rng) @ (np.eye(3) + rng.normal(0.0, 10 ** rng.uniform(-8, -4), (3, 3)))
        R = -R if rng.random() < 0.1 else R
        for atol in (1e-6, 1e-5):
            expected = bool(np.allclose(R.T @ R, np.eye(3), atol=atol) and abs(np.linalg.det(R) - 1.0) < atol)
            assert is_rotation(R, atol) == expected
            verdicts.add(expected)
    assert verdicts == {True, False}
    assert not is_rotation(np.eye(4)) and not is_rotation(np.full((3, 3), np.nan))
