"""Choosing video frames that add information: new board positions, scales and tilts.

Consecutive video frames are near-duplicates; calibrating on all of them wastes time and
over-weights wherever the board lingered. Each detection is summarised by a 5-vector
(:func:`view_descriptor`), and a frame is kept only if it differs from every kept frame.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from calibration.detect import Detection

F64 = NDArray[np.float64]


def view_descriptor(det: Detection, image_size: tuple[int, int]) -> F64:
    """(5,) summary of a view: centre x/W, centre y/H, scale, tilt about y, tilt about x.

    The board's detected extent (the bounding rectangle of its corners on the board
    plane) is mapped into the image through the fitted homography. Scale is
    ``sqrt(quad area / image area)``; the tilts are the log ratios of opposite quad edges
    (0 for a fronto-parallel board, about ±0.1 for 10 % foreshortening).
    """
    import cv2

    W, H = image_size
    xy = det.object_points[:, :2]
    Hm, _ = cv2.findHomography(xy, det.image_points, 0)
    (x0, y0), (x1, y1) = xy.min(axis=0), xy.max(axis=0)
    rect = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64).reshape(-1, 1, 2)
    q = cv2.perspectiveTransform(rect, Hm).reshape(4, 2)
    centre = q.mean(axis=0) / (W, H)
    d1, d2 = q[2] - q[0], q[3] - q[1]
    area = 0.5 * abs(d1[0] * d2[1] - d1[1] * d2[0])
    edge = lambda a, b: max(np.linalg.norm(q[a] - q[b]), 1e-9)  # noqa: E731
    tilt_y = np.log(edge(1, 2) / edge(3, 0))  # right edge vs left edge
    tilt_x = np.log(edge(2, 3) / edge(0, 1))  # bottom edge vs top edge
    return np.array([centre[0], centre[1], np.sqrt(area / (W * H)), tilt_y, tilt_x])


class FrameSelector:
    """Greedy selection: keep a view if its descriptor is at least ``min_distance`` away
    (max-norm) from every kept one, up to ``max_frames`` views."""

    def __init__(self, image_size: tuple[int, int], min_distance: float = 0.08, max_frames: int = 60) -> None:
        self.image_size = image_size
        self.min_distance = min_distance
        self.max_frames = max_frames
        self.kept: list[F64] = []

    def offer(self, det: Detection) -> bool:
        """True (and remember it) if ``det`` adds coverage; False for a near-duplicate."""
        if len(det) < 4 or len(self.kept) >= self.max_frames:
            return False
        d = view_descriptor(det, self.image_size)
        if not np.all(np.isfinite(d)):
            return False
        if self.kept and np.min(np.max(np.abs(np.array(self.kept) - d), axis=1)) < self.min_distance:
            return False
        self.kept.append(d)
        return True
