"""Validation ADD(-S) recall of the keypoint and direct heads (rigidpose.net.val_pose)."""

from __future__ import annotations

import numpy as np
import pytest

from rigidpose.geometry import Camera, Pose, axis_angle_to_matrix
from rigidpose.net.pose_coding import encode_pose
from rigidpose.eval.pose_error import add, adi
from rigidpose.net.val_pose import ValObject, add_error, keypoint_pose, pose_recall_hits

S = 128
CROP = Camera(np.array([[300.0, 0, 63.5], [0, 300.0, 63.5], [0, 0, 1]]), S, S)


def _object(symmetric: bool = False) -> ValObject:
    rng = np.random.default_rng(0)
    kps = rng.uniform(-0.05, 0.05, (9, 3))
    return ValObject(kps, rng.uniform(-0.05, 0.05, (300, 3)), 0.17, symmetric, np.zeros(3))


def _sample(obj: ValObject, T: Pose, reported: Pose) -> tuple[dict, int, np.ndarray, np.ndarray, np.ndarray]:
    """A one-crop batch whose GT is ``T`` and whose heads answer ``reported`` exactly."""
    uv = CROP.project(reported.transform(obj.keypoints))
    code = encode_pose(reported, CROP, obj.diameter, centre_obj=obj.centre)
    batch = {"pose": T.as_matrix()[None], "K": CROP.K[None], "obj_index": np.array([0])}
    return batch, S, uv[None], code.rot6d[None], code.trans[None]


def test_exact_heads_hit_and_a_quarter_turn_misses():
    obj = _object()
    T = Pose(axis_angle_to_matrix([0.3, -0.4, 0.2]), [0.01, -0.02, 0.6], "cam", "obj")
    assert pose_recall_hits(*_sample(obj, T, T), {0: obj}, True) == ([True], [True])
    turned = Pose(T.R @ axis_angle_to_matrix([0.0, 0.0, np.pi / 2]), T.t, "cam", "obj")
    assert pose_recall_hits(*_sample(obj, T, turned), {0: obj}, True) == ([False], [False])


def test_symmetric_objects_are_scored_with_add_s():
    """A point set symmetric under a half turn about z: that turn is no error under ADD-S."""
    base = _object()
    pts = np.concatenate([base.points, base.points * [-1, -1, 1]])
    obj = ValObject(base.keypoints, pts, base.diameter, True, base.centre)
    T = Pose(axis_angle_to_matrix([0.3, -0.4, 0.2]), [0.01, -0.02, 0.6], "cam", "obj")
    half = Pose(T.R @ axis_angle_to_matrix([0.0, 0.0, np.pi]), T.t, "cam", "obj")
    assert pose_recall_hits(*_sample(obj, T, half), {0: obj}, True) == ([True], [True])


def test_degenerate_keypoints_give_no_pose():
    obj = _object()
    found = keypoint_pose(obj.keypoints, np.full((9, 2), 64.0), CROP.K)  # all on one pixel: must not raise
    assert found is None or np.all(np.isfinite(found[1]))
    batch, size, _, rot6d, trans = _sample(obj, Pose(np.eye(3), [0, 0, 0.6], "cam", "obj"),
                                           Pose(np.eye(3), [0, 0, 0.6], "cam", "obj"))
    kp, direct = pose_recall_hits(batch, size, np.full((1, 9, 2), 64.0), rot6d, trans, {0: obj}, True)
    assert kp == [False] and direct == [True]


def test_add_error_is_the_eval_metric():
    rng = np.random.default_rng(3)
    pts = rng.uniform(-0.05, 0.05, (200, 3))
    Re, Rg = axis_angle_to_matrix([0.2, 0.1, -0.3]), axis_angle_to_matrix([0.1, 0.3, 0.0])
    te, tg = np.array([0.01, 0.0, 0.5]), np.array([0.0, 0.02, 0.52])
    assert add_error(Re, te, Rg, tg, pts, False) == pytest.approx(add(Re, te, Rg, tg, pts), rel=1e-12)
    assert add_error(Re, te, Rg, tg, pts, True) == pytest.approx(adi(Re, te, Rg, tg, pts), rel=1e-12)
