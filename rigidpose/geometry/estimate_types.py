"""The :class:`PoseEstimate` value type: one detected object instance with its pose."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from rigidpose.geometry.pose import Pose


@dataclass(frozen=True, eq=False)
class PoseEstimate:
    """One object instance found in an image.

    Attributes:
        obj_id: BOP object id.
        pose: ``T_cam_obj`` in the OpenCV camera frame, metres.
        score: confidence in [0, 1].
        bbox: (4,) ``x, y, w, h`` in pixels, or None.
        covariance: (6, 6) covariance of ``(x, y, z, rot_x, rot_y, rot_z)`` in the camera
            frame, metres and radians, in ROS ``PoseWithCovariance`` order; or None.
        name: object name, when known.
        visible_fraction: estimated visible fraction of the object in [0, 1], or None.
    """

    obj_id: int
    pose: Pose
    score: float = 1.0
    bbox: NDArray[np.float64] | None = None
    covariance: NDArray[np.float64] | None = None
    name: str = ""
    visible_fraction: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.pose, Pose):
            raise TypeError(f"pose must be a Pose, got {type(self.pose).__name__}")
        if not np.isfinite(self.score):
            raise ValueError("score must be finite")
        if self.bbox is not None:
            b = np.array(self.bbox, dtype=np.float64).reshape(-1)
            if b.shape != (4,):
                raise ValueError(f"bbox must be (x, y, w, h), got shape {b.shape}")
            b.setflags(write=False)
            object.__setattr__(self, "bbox", b)
        if self.covariance is not None:
            c = np.array(self.covariance, dtype=np.float64)
            if c.shape != (6, 6):
                raise ValueError(f"covariance must be (6, 6), got {c.shape}")
            c.setflags(write=False)
            object.__setattr__(self, "covariance", c)

    @property
    def T_cam_obj(self) -> Pose:
        return self.pose
