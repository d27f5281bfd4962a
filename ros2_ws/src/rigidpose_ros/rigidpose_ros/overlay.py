"""Draw estimated object boxes onto the image (for ``~/overlay``)."""

from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np
from numpy.typing import NDArray

from rigidpose.geometry import Camera, PoseEstimate
from rigidpose_ros.pose_msgs import BOX_EDGES, box_corners


def draw_boxes(
    rgb: NDArray[np.uint8], camera: Camera, estimates: Sequence[PoseEstimate], boxes: dict,
    colour: tuple[int, int, int] = (40, 230, 60),
) -> NDArray[np.uint8]:
    """A copy of ``rgb`` (H, W, 3) with each estimate's box edges projected by ``camera``.

    ``boxes`` maps ``obj_id`` → ``(centre (3,), size (3,))`` in the object frame, metres;
    objects without a box get a small axis triad of 1/10 of a metre instead.
    """
    out = np.ascontiguousarray(rgb).copy()
    for est in estimates:
        if est.obj_id in boxes:
            pts = box_corners(*boxes[est.obj_id])
            edges = BOX_EDGES
        else:
            pts = np.array([[0, 0, 0], [0.1, 0, 0], [0, 0.1, 0], [0, 0, 0.1]], dtype=np.float64)
            edges = ((0, 1), (0, 2), (0, 3))
        uv = camera.project(est.pose.transform(pts))
        for a, b in edges:
            if np.all(np.isfinite(uv[[a, b]])) and np.all(np.abs(uv[[a, b]]) < 1e5):
                pa, pb = (tuple(int(round(c)) for c in uv[i]) for i in (a, b))
                cv2.line(out, pa, pb, colour, 2, cv2.LINE_AA)
    return out
