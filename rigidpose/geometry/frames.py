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
