"""A TEST DOUBLE for the estimator, injected only by tests/ros via the node's
``estimator_factory`` parameter. It is not shipped with rigidpose_ros.

It returns fixed objects whose translations encode the inputs it received, so a test
can check the whole path (message → numpy → estimator → messages):
``mug`` at ``t = (mean R / 1000, mean B / 1000, median depth in m)`` with a rotation of
90° about z; object 2 at ``(0.1, -0.1, z + 0.2)``; object 3 with a score below any
sensible threshold (it must be filtered out).
"""

from __future__ import annotations

import numpy as np

from rigidpose.geometry import Pose, PoseEstimate

RZ90 = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
COVARIANCE = np.diag([1e-4, 2e-4, 3e-4, 1e-3, 2e-3, 3e-3])


class FakeEstimator:
    object_boxes = {1: (np.array([0.0, 0.0, 0.05]), np.array([0.08, 0.08, 0.1]))}

    def __init__(self, options: dict) -> None:
        self.options = options

    def estimate(self, rgb, camera, depth):
        assert rgb.dtype == np.uint8 and rgb.shape == (camera.height, camera.width, 3)
        z = float(np.median(depth[depth > 0])) if depth is not None and np.any(depth > 0) else 0.0
        red, blue = rgb[..., 0].mean() / 1000.0, rgb[..., 2].mean() / 1000.0
        return [
            PoseEstimate(1, Pose(RZ90, [red, blue, z]), 0.9, covariance=COVARIANCE, name="mug"),
            PoseEstimate(2, Pose(np.eye(3), [0.1, -0.1, z + 0.2]), 0.8),
            PoseEstimate(3, Pose.identity(), 0.05),
        ]


class _CountingTracker:
    def __init__(self) -> None:
        self.resets = 0

    def reset(self) -> None:
        self.resets += 1


class TrackingFakeEstimator(FakeEstimator):
    """:class:`FakeEstimator` with a ``tracker`` whose resets the output shows: object 2's x is
    0.1 + the number of resets so far."""

    def __init__(self, options: dict) -> None:
        super().__init__(options)
        self.tracker = _CountingTracker()

    def estimate(self, rgb, camera, depth):
        out = super().estimate(rgb, camera, depth)
        t = out[1].pose.t + [self.tracker.resets, 0.0, 0.0]
        out[1] = PoseEstimate(2, Pose(np.eye(3), t), 0.8)
        return out


def make_estimator(options: dict) -> FakeEstimator:
    return FakeEstimator(options)


def make_tracking_estimator(options: dict) -> TrackingFakeEstimator:
    return TrackingFakeEstimator(options)
