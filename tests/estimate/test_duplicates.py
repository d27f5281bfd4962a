"""Per-frame duplicate suppression: one estimate per object instance."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from fakes import CAM, GtCropStage, gt_box, make_objects, render_depth
from rigidpose.estimate.duplicates import pose_gap, suppress_duplicates
from rigidpose.estimate.estimator import Estimator
from rigidpose.geometry import Pose, PoseEstimate

T1 = Pose.from_rvec_tvec([2.0, 0.3, -0.4], [0.02, -0.01, 0.45], "cam", "obj")


@pytest.fixture(scope="module")
def objects():
    return make_objects()


def _m(obj_id: int, pose: Pose, score: float):
    return SimpleNamespace(estimate=PoseEstimate(obj_id, pose, score))


def test_pose_gap_is_the_mean_point_distance_over_symmetries(objects):
    cards, _ = objects
    pts = cards[1].keypoints
    shifted = Pose(T1.R, T1.t + [0.003, 0.0, 0.004], "cam", "obj")
    assert pose_gap(T1, shifted, pts, np.eye(4)[None]) == pytest.approx(0.005)
    box = cards[2]
    turned = Pose(T1.R @ np.diag([1.0, -1, -1]), T1.t, "cam", "obj")  # one of the box's 180° turns
    assert pose_gap(T1, turned, box.keypoints, box.info.symmetries.transforms()) == pytest.approx(0.0, abs=1e-12)
    assert pose_gap(T1, turned, box.keypoints, np.eye(4)[None]) > 0.01


def test_suppress_keeps_the_better_estimate_of_each_instance(objects):
    cards, _ = objects
    d = cards[1].info.diameter
    near = Pose(T1.R, T1.t + [0.05 * d, 0, 0], "cam", "obj")  # within 0.1 d: the same instance
    far = Pose(T1.R, T1.t + [0.3 * d, 0, 0], "cam", "obj")  # another instance beside it
    ms = [_m(1, T1, 0.4), _m(1, near, 0.9), _m(1, far, 0.2), _m(2, T1, 0.1)]
    kept = suppress_duplicates(ms, cards)
    assert kept == [ms[1], ms[2], ms[3]]  # original order; the other object is not compared
    assert suppress_duplicates(ms, cards, separation=0.0) == ms
    assert suppress_duplicates([], cards) == []


def test_estimator_reports_one_pose_for_two_boxes_of_one_object(objects):
    """Two detections of one bracket (a tight and a loose box) both converge with depth."""
    cards, meshes = objects
    crop = GtCropStage(cards, meshes, np.random.default_rng(5))
    crop.gt = [(1, T1)]
    box = gt_box(meshes, 1, T1)
    loose = box + np.array([-6.0, -4.0, 12.0, 8.0])
    depth = render_depth(meshes, crop.gt)
    rgb = np.zeros((480, 640, 3), np.uint8)
    boxes = [(1, box), (1, loose)]
    both = Estimator(crop, None, cards, meshes, duplicate_separation=0.0).measure(rgb, CAM, depth, boxes)
    assert len(both) == 2 and both[0].estimate.pose.distance_to(both[1].estimate.pose) < 0.01
    crop.rng = np.random.default_rng(5)  # the same keypoint noise as in the first run
    [one] = Estimator(crop, None, cards, meshes).measure(rgb, CAM, depth, boxes)
    assert one.estimate.score == max(m.estimate.score for m in both)
    assert one.estimate.pose.distance_to(T1) < 2e-3
