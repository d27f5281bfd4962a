"""The dense-coordinate hypothesis: RANSAC inliers, their quality, and the fusion modes."""

from __future__ import annotations

import numpy as np
import pytest

from fakes import CAM, make_objects
from rigidpose.estimate.crop_predict import CropOutput, CropRequest, DenseCorrespondences
from rigidpose.estimate.dense import MIN_DENSE, dense_inliers, rgb_hypothesis
from rigidpose.estimate.fuse import FuseConfig
from rigidpose.geometry import Pose, random_rotation


@pytest.fixture(scope="module")
def bracket():
    cards, meshes = make_objects()
    return cards[1], meshes[1]


def crop_with_dense(card, mesh, T, rng, n=300, outliers=0.25, noise_px=0.5, keypoint_noise_px=0.0):
    """A crop output whose coordinate head saw ``n`` surface points of ``mesh`` at pose ``T``:
    a share ``outliers`` of them at random wrong model points; keypoints with their own noise."""
    X = mesh.surface_points(2000)[rng.choice(2000, n, replace=False)]
    px = CAM.project(T.transform(X)) + rng.normal(0, noise_px, (n, 2))
    bad = rng.random(n) < outliers
    X_seen = X.copy()
    X_seen[bad] = X[rng.permutation(np.flatnonzero(bad))]  # a wrong model point for those pixels
    X_seen[bad] += rng.normal(0, 0.02, (bad.sum(), 3))
    weights = np.full(n, 0.9)
    kp = CAM.project(T.transform(card.keypoints)) + rng.normal(0, keypoint_noise_px + 1e-9, (len(card.keypoints), 2))
    centre = CAM.project(T.t[None])[0]
    box = np.array([centre[0] - 100, centre[1] - 100, 200, 200])
    req = CropRequest(1, box, 0.8)
    dense = DenseCorrespondences(X_seen, px, weights)
    return CropOutput(req, kp, np.full(len(kp), 0.5), None, np.zeros((32, 32), np.float32), box, dense), bad


def test_inliers_drop_the_wrong_correspondences(bracket, rng):
    card, mesh = bracket
    T = Pose(random_rotation(rng), [0.02, -0.01, 0.5], "cam", "obj")
    crop, bad = crop_with_dense(card, mesh, T, rng)
    res = dense_inliers(crop, CAM)
    assert res is not None
    n_in = len(res.inliers.points_obj)
    assert n_in >= 0.95 * (~bad).sum() and n_in <= (~bad).sum() + 0.15 * bad.sum()  # a wrong point may land near
    assert res.quality == pytest.approx(n_in / len(bad))


def test_fused_mode_takes_the_dense_pose_over_wrong_keypoints(bracket, rng):
    card, mesh = bracket
    T = Pose(random_rotation(rng), [0.0, 0.03, 0.6], "cam", "obj")
    crop, bad = crop_with_dense(card, mesh, T, rng, keypoint_noise_px=40.0)
    fused, quality = rgb_hypothesis(crop, card.keypoints, CAM, card.info.diameter, FuseConfig())
    assert np.degrees(fused.pose.angle_to(T)) < 1.0 and np.linalg.norm(fused.pose.t - T.t) < 0.005
    assert 0.6 < quality < 0.9 and fused.reprojection_px < 2.0
    kp, kp_quality = rgb_hypothesis(crop, card.keypoints, CAM, card.info.diameter, FuseConfig(mode="keypoints"))
    assert kp_quality == 0.5  # the mean keypoint confidence
    assert kp is None or np.degrees(kp.pose.angle_to(T)) > 1.0 or np.linalg.norm(kp.pose.t - T.t) > 0.005


def test_without_enough_dense_points_fused_falls_back_to_keypoints_and_dense_gives_nothing(bracket, rng):
    card, mesh = bracket
    T = Pose(random_rotation(rng), [0.0, 0.0, 0.5], "cam", "obj")
    crop, _ = crop_with_dense(card, mesh, T, rng, n=MIN_DENSE - 1, outliers=0.0)
    assert dense_inliers(crop, CAM) is None
    fused, quality = rgb_hypothesis(crop, card.keypoints, CAM, card.info.diameter, FuseConfig())
    assert quality == 0.5 and np.degrees(fused.pose.angle_to(T)) < 1.0
    assert rgb_hypothesis(crop, card.keypoints, CAM, card.info.diameter, FuseConfig(mode="dense")) == (None, 0.0)
