"""The ONE place where the renderers go from the OpenCV camera frame to OpenGL.

Both backends use these helpers; the maths lives in :mod:`rigidpose.geometry.frames`
(``R_CV_GL``, ``opencv_to_opengl_object``, ``opengl_projection_from_K``).
GL window rows count from the bottom; ``gl_projection(..., top_row_first=True)`` mirrors y
so that read-backs come in image order.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from rigidpose.geometry import Camera, Pose
from rigidpose.geometry.frames import (
    R_CV_GL,
    opencv_to_opengl_camera,
    opencv_to_opengl_object,
    opengl_projection_from_K,
)


def gl_projection(camera: Camera, near: float, far: float, top_row_first: bool = False) -> NDArray[np.float64]:
    """(4, 4) GL projection for ``camera`` (pixel-centre convention of :class:`Camera`).

    With ``top_row_first`` the clip-space y axis is mirrored so that GL window row 0 is
    image row 0: read-backs need no flip, but triangle winding is mirrored too (set
    the front face to clockwise).
    """
    P = opengl_projection_from_K(camera.K, camera.width, camera.height, near, far)
    if top_row_first:
        P = np.diag([1.0, -1.0, 1.0, 1.0]) @ P
    return P


def gl_modelview(T_cam_obj: NDArray[np.float64]) -> NDArray[np.float64]:
    """(4, 4) object → OpenGL camera frame, from ``T_cam_obj`` in the OpenCV frame."""
    return opencv_to_opengl_object(Pose.from_matrix(T_cam_obj)).as_matrix()


def gl_camera_pose_in_cv_world() -> NDArray[np.float64]:
    """(4, 4) pose of an OpenGL camera placed at the OpenCV camera (world = OpenCV cam).

    For scene-graph renderers (pyrender): put objects at ``T_cam_obj`` and the camera
    node at this pose.
    """
    return opencv_to_opengl_camera(Pose.identity()).as_matrix()


def light_direction_gl(direction_cam: tuple[float, float, float]) -> NDArray[np.float64]:
    """Unit light direction in the OpenGL camera frame from one in the OpenCV frame."""
    d = R_CV_GL @ np.asarray(direction_cam, dtype=np.float64)
    return d / max(np.linalg.norm(d), 1e-12)


def projected_bbox(camera: Camera, corners_cam: NDArray[np.float64]) -> tuple[int, int, int, int]:
    """Pixel box ``(x0, y0, x1, y1)`` (exclusive ends, clipped to the image) containing the
    projection of points ``corners_cam`` (N, 3); the whole image if any is behind the camera."""
    if np.any(corners_cam[:, 2] <= 1e-6):
        return 0, 0, camera.width, camera.height
    uv = corners_cam[:, :2] / corners_cam[:, 2:3] @ camera.K[:2, :2].T + camera.K[:2, 2]
    x0 = int(np.clip(np.floor(uv[:, 0].min()) - 1, 0, camera.width))
    y0 = int(np.clip(np.floor(uv[:, 1].min()) - 1, 0, camera.height))
    x1 = int(np.clip(np.ceil(uv[:, 0].max()) + 2, 0, camera.width))
    y1 = int(np.clip(np.ceil(uv[:, 1].max()) + 2, 0, camera.height))
    return x0, y0, x1, y1
