"""A TEST DOUBLE for the node's ``estimator_factory``: the real ``Estimator`` and
``Tracker`` with the network replaced by the ground truth (``tests/estimate/fakes.py``).

The scene moves with the frame index, which the test writes into pixel (0, 0)'s red
value: two brackets (object 1) that cross each other and a box (object 2, three 180°
symmetries) that turns. The crop stage answers with 0.5 px keypoint noise and, for the
box, a random symmetry equivalent each time, as a network trained symmetry-aware does.
Boxes are given on frame 0 only; from then on the tracker follows without a detector.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "estimate"))

from fakes import GtCropStage, gt_box, make_objects  # noqa: E402

from rigidpose.estimate.estimator import Estimator  # noqa: E402
from rigidpose.geometry import Pose, axis_angle_to_matrix  # noqa: E402

FRAMES = 12


def scene(k: int) -> list[tuple[int, Pose]]:
    """(obj_id, T_cam_obj) of frame ``k`` (0 … FRAMES−1)."""
    s = k / (FRAMES - 1)
    a = Pose(axis_angle_to_matrix([1.8, 0.2, 0.1 + s]), [-0.12 + 0.24 * s, -0.03, 0.55], "cam", "obj")
    b = Pose(axis_angle_to_matrix([0.4, -2.0, 0.3 - s]), [0.12 - 0.24 * s, 0.04, 0.6], "cam", "obj")
    c = Pose(axis_angle_to_matrix([0.2, 0.1, 0.3 + 1.2 * s]), [0.0, 0.12, 0.5], "cam", "obj")
    return [(1, a), (1, b), (2, c)]


class GtTrackingEstimator:
    def __init__(self, options: dict) -> None:
        cards, self.meshes = make_objects()
        self.crop = GtCropStage(cards, self.meshes, np.random.default_rng(0), noise_px=0.5)
        # silhouette="off": the masks here are the ground truth's, so the fit would only add
        # time; at about a second per frame the test re-sends frames, which the node then
        # estimates (and tracks) twice
        self.est = Estimator(self.crop, None, cards, self.meshes, score_threshold=0.1,
                             tracking=bool(options.get("tracking")), silhouette="off")
        self.object_boxes = self.est.object_boxes

    def estimate(self, rgb, camera, depth=None):
        k = int(rgb[0, 0, 0])
        self.crop.gt = scene(k)
        boxes = [(o, gt_box(self.meshes, o, T, camera)) for o, T in self.crop.gt] if k == 0 else None
        return self.est.estimate(rgb, camera, depth, boxes=boxes)


def make_estimator(options: dict) -> GtTrackingEstimator:
    return GtTrackingEstimator(options)
