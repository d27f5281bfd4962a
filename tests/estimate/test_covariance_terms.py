"""The terms the RGB-only silhouette answer adds to its contour fit's covariance."""

from __future__ import annotations

import numpy as np
import pytest

from fakes import BRACKET_CAM as CAM
from rigidpose.estimate.covariance import correlation_time, displacement_covariance, outline_shift_covariance
from rigidpose.estimate.outline import outline_order
from rigidpose.estimate.silhouette import SilhouetteConfig
from rigidpose.geometry import Pose, axis_angle_to_matrix


def test_the_outline_shift_term():
    """One pixel of the whole outline, at 0.5 m before a 600-pixel focal length: 0.83 mm in x and y."""
    pose = Pose(np.eye(3), [0.01, 0.02, 0.5], "cam", "obj")
    cov = outline_shift_covariance(pose, CAM)
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), [0.5 / 600, 0.5 / 600, 0, 0, 0, 0], atol=1e-15)
    assert np.count_nonzero(cov) == 2
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="outline_shift_px must be"):
            SilhouetteConfig(outline_shift_px=bad)


def test_the_displacement_covariance_is_the_move_squared():
    """A shift of (1, -2, 3) mm and a turn of 0.1 rad about the camera's z: δ δᵀ in the
    contour fit's order (x, y, z, then the rotation vector), metres and radians."""
    a = Pose(np.eye(3), [0.0, 0.0, 0.5], "cam", "obj")
    b = Pose(axis_angle_to_matrix([0.0, 0.0, 0.1]), [0.001, -0.002, 0.503], "cam", "obj")
    d = np.array([0.001, -0.002, 0.003, 0.0, 0.0, 0.1])
    np.testing.assert_allclose(displacement_covariance(a, b), np.outer(d, d), atol=1e-12)
    assert not displacement_covariance(a, a).any()


def test_the_correlation_time_of_white_and_correlated_noise():
    """White noise: τ ≈ 1. An AR(1) series with φ = 0.8: τ = (1 + φ) / (1 − φ) = 9."""
    rng = np.random.default_rng(0)
    assert 1.0 <= correlation_time(rng.normal(size=5000)) < 1.2
    phi, x = 0.8, np.zeros(20000)
    noise = rng.normal(size=len(x))
    for i in range(1, len(x)):
        x[i] = phi * x[i - 1] + noise[i]
    assert 7.5 < correlation_time(x) < 10.5
    assert correlation_time(np.ones(50)) == 1.0 and correlation_time([0.3, -0.1]) == 1.0


def test_the_outline_order_follows_each_outline():
    """A 10 × 6 rectangle's 28 border pixels are numbered 0..27 in turn (each next to the one
    before), its inside is -1; a second shape's numbers run on their own, a gap away."""
    hit = np.zeros((20, 40), bool)
    hit[2:8, 3:13] = True
    order = outline_order(hit)
    border = order[order >= 0]
    assert sorted(border) == list(range(28)) and np.all(order[3:7, 4:12] == -1)
    ys, xs = np.nonzero(order >= 0)
    path = np.stack([xs, ys], 1)[np.argsort(order[ys, xs])]
    assert np.abs(np.diff(path, axis=0)).max() == 1  # neighbours along the outline
    hit[12:15, 25:30] = True
    two = outline_order(hit)
    a, b = two[2:8, 3:13], two[12:15, 25:30]
    a, b = a[a >= 0], b[b >= 0]
    assert (len(a), a.max() - a.min(), len(b), b.max() - b.min()) == (28, 27, 12, 11)
    assert min(abs(a.min() - b.max()), abs(b.min() - a.max())) > 1000
    assert np.all(outline_order(np.zeros((5, 5), bool)) == -1)


def test_the_correlation_time_leaves_out_non_finite_residuals():
    rng = np.random.default_rng(1)
    x = rng.normal(size=500)
    with_nan = np.insert(x, [10, 200], [np.nan, np.inf])
    assert correlation_time(with_nan) == pytest.approx(correlation_time(x))
