"""Named converters between the OpenCV camera frame and OpenGL/Blender camera frames.

rigidpose uses the **OpenCV** camera frame everywhere: x right, y down, z forward.
OpenGL, pyrender and Blender cameras look down −z with y up. The two differ by a
rotation of π about x: ``R_cv_gl = diag(1, −1, −1)``. Renderers convert with these
functions and nowhere else.
"""

from __future__ import annotations

import numpy as np

from rigidpose.geometry.pose import Pose

#: Rotation taking points in an OpenGL camera frame into the OpenCV camera frame (and back).
R_CV_GL = np.diag([1.0, -1.0, -1.0])


def opencv_to_opengl_camera(T_world_cam_cv: Pose) -> Pose:
    """Camera pose ``T_world_cam`` with an OpenCV camera → the same camera as an OpenGL one.

    Use it to place a pyrender/OpenGL camera node from a rigidpose camera pose.
    """
    return Pose(T_world_cam_cv.R @ R_CV_GL, T_world_cam_cv.t, T_world_cam_cv.parent, "cam_gl")


def opengl_to_opencv_camera(T_world_cam_gl: Pose) -> Pose:
    """Camera pose ``T_world_cam`` with an OpenGL/Blender camera → OpenCV camera convention."""
    return Pose(T_world_cam_gl.R @ R_CV_GL, T_world_cam_gl.t, T_world_cam_gl.parent, "cam_cv")


def opengl_to_opencv_object(T_cam_gl_obj: Pose) -> Pose:
    """Object pose in an OpenGL camera frame → object pose in the OpenCV camera frame."""
    return Pose(R_CV_GL @ T_cam_gl_obj.R, R_CV_GL @ T_cam_gl_obj.t, "cam_cv", T_cam_gl_obj.child)


def opencv_to_opengl_object(T_cam_cv_obj: Pose) -> Pose:
    """Object pose in the OpenCV camera frame → object pose in an OpenGL camera frame."""
    return Pose(R_CV_GL @ T_cam_cv_obj.R, R_CV_GL @ T_cam_cv_obj.t, "cam_gl", T_cam_cv_obj.child)


#: Blender cameras use the OpenGL convention.
blender_to_opencv_camera = opengl_to_opencv_camera
opencv_to_blender_camera = opencv_to_opengl_camera


def opengl_projection_from_K(
    K: np.ndarray, width: int, height: int, near: float, far: float
) -> np.ndarray:
    """(4, 4) OpenGL projection matrix equivalent to the OpenCV intrinsics ``K``.

    For a point ``X`` in the **OpenGL** camera frame (``X_gl = R_CV_GL @ X_cv``) the
    clip coordinates ``P @ [X_gl, 1]`` land, after the viewport transform, on the
    window pixel whose centre is OpenCV pixel ``(u, v)`` = ``K @ X_cv / z`` with the
    pixel-centre convention of :class:`Camera` (integer ``u`` is a pixel centre) and
    image row ``v`` counted from the top (GL window row ``height - 1 - v``).
    ``near``/``far`` are clip distances in metres along the optical axis.
    """
    K = np.asarray(K, dtype=np.float64)
    if not 0.0 < near < far:
        raise ValueError(f"need 0 < near < far, got near={near}, far={far}")
    fx, s, cx = K[0]
    fy, cy = K[1, 1], K[1, 2]
    P = np.zeros((4, 4))
    P[0, 0] = 2.0 * fx / width
    P[0, 1] = -2.0 * s / width
    P[0, 2] = 1.0 - (2.0 * cx + 1.0) / width
    P[1, 1] = 2.0 * fy / height
    P[1, 2] = (2.0 * cy + 1.0) / height - 1.0
    P[2, 2] = -(far + near) / (far - near)
    P[2, 3] = -2.0 * far * near / (far - near)
    P[3, 2] = -1.0
    return P
