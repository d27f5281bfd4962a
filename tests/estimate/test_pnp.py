"""PnP-RANSAC with weighted refinement, and its covariance."""

from __future__ import annotations

import numpy as np
import pytest

from rigidpose.estimate.pnp import reprojection_errors, solve_pnp
from rigidpose.geometry import Camera, Pose, matrix_to_axis_angle

CAM = Camera(np.array([[600.0, 0, 320], [0, 600.0, 240], [0, 0, 1]]), 640, 480)
DIST_CAM = Camera(CAM.K, 640, 480, "plumb_bob", [-0.2, 0.05, 0.001, -0.001, 0.0])
T_TRUE = Pose.from_rvec_tvec([0.3, -0.2, 0.5], [0.02, -0.01, 0.6], "cam", "obj")


def _keypoints(rng, n=9):
    return rng.uniform(-0.05, 0.05, (n, 3))


def _error(est: Pose, true: Pose) -> np.ndarray:
    """(6,) error in the ROS-order perturbation: (δt, δθ) with R_est = exp(δθ) R_true."""
    return np.r_[est.t - true.t, matrix_to_axis_angle(est.R @ true.R.T)]


@pytest.mark.parametrize("cam", [CAM, DIST_CAM], ids=["pinhole", "distorted"])
def test_exact_correspondences_give_the_exact_pose(rng, cam):
    X = _keypoints(rng)
    res = solve_pnp(X, cam.project(T_TRUE.transform(X)), cam)
    assert res is not None and res.inliers.all()
    assert res.pose.distance_to(T_TRUE) < 1e-7 and res.pose.angle_to(T_TRUE) < 1e-7
    assert res.rmse_px < 1e-5


def test_outliers_are_rejected(rng):
    X = _keypoints(rng, 12)
    uv = CAM.project(T_TRUE.transform(X))
    uv[[2, 7]] += [[80.0, -40.0], [-60.0, 90.0]]
    res = solve_pnp(X, uv, CAM)
    assert res is not None
    assert not res.inliers[2] and not res.inliers[7] and res.inliers.sum() == 10
    assert res.pose.distance_to(T_TRUE) < 1e-6


def test_low_confidence_keypoints_are_ignored(rng):
    X = _keypoints(rng)
    uv = CAM.project(T_TRUE.transform(X))
    uv[0] += 200.0
    conf = np.ones(9)
    conf[0] = 0.01
    res = solve_pnp(X, uv, CAM, conf)
    assert not res.inliers[0] and res.pose.distance_to(T_TRUE) < 1e-6
    assert np.all(reprojection_errors(res.pose, X[1:], uv[1:], CAM) < 1e-4)


def test_too_few_usable_points_give_none(rng):
    X = _keypoints(rng, 5)
    uv = CAM.project(T_TRUE.transform(X))
    assert solve_pnp(X, uv, CAM, [1, 1, 1, 0, 0]) is None
    uv[1] = np.nan
    assert solve_pnp(X, uv, CAM, [1, 1, 1, 1, 0]) is None
    with pytest.raises(ValueError, match="confidences"):
        solve_pnp(X, uv, CAM, [1, 1])


def test_coincident_keypoints_give_none_not_an_opencv_error(rng):
    """An untrained network can put every keypoint on one pixel; SQPnP asserts on that."""
    X = _keypoints(rng, 9)
    uv = np.tile([[320.0, 240.0]], (9, 1))
    assert solve_pnp(X, uv, CAM) is None


@pytest.mark.parametrize("sigma_known", [True, False])
def test_covariance_matches_the_empirical_spread(sigma_known):
    """With known pixel noise, predicted std per axis is within 2x of the observed spread."""
    rng = np.random.default_rng(7)
    X = _keypoints(rng, 9)
    clean = CAM.project(T_TRUE.transform(X))
    sigma = 1.5
    errors, stds, mahalanobis = [], [], []
    for _ in range(300):
        res = solve_pnp(X, clean + rng.normal(0, sigma, clean.shape), CAM, pixel_sigma=sigma if sigma_known else None)
        e = _error(res.pose, T_TRUE)
        errors.append(e)
        stds.append(np.sqrt(np.diag(res.covariance)))
        mahalanobis.append(e @ np.linalg.solve(res.covariance, e))
    empirical = np.std(np.array(errors), axis=0)
    predicted = np.sqrt(np.mean(np.array(stds) ** 2, axis=0))
    ratio = predicted / empirical
    assert np.all((ratio > 0.5) & (ratio < 2.0)), ratio
    # The correlations are right too: squared Mahalanobis errors average the 6 degrees of freedom.
    assert 3.0 < np.mean(mahalanobis) < 12.0, np.mean(mahalanobis)
