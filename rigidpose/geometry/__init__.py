"""Pure geometry: poses, cameras, rotations and frame conventions (numpy, plus cv2 for lens models)."""

from rigidpose.geometry.camera import DISTORTION_MODELS, Camera
from rigidpose.geometry.estimate_types import PoseEstimate
from rigidpose.geometry.frames import (
    R_CV_GL,
    blender_to_opencv_camera,
    opencv_to_blender_camera,
    opencv_to_opengl_camera,
    opencv_to_opengl_object,
    opengl_to_opencv_camera,
    opengl_to_opencv_object,
)
from rigidpose.geometry.pose import Pose
from rigidpose.geometry.rotations import (
    axis_angle_to_matrix,
    matrix_to_6d,
    matrix_to_axis_angle,
    matrix_to_quat,
    project_to_so3,
    quat_to_matrix,
    random_rotation,
    rotation_angle,
    rotation_angle_between,
    sixd_to_matrix,
    skew,
)

__all__ = [
    "DISTORTION_MODELS",
    "R_CV_GL",
    "Camera",
    "Pose",
    "PoseEstimate",
    "axis_angle_to_matrix",
    "blender_to_opencv_camera",
    "matrix_to_6d",
    "matrix_to_axis_angle",
    "matrix_to_quat",
    "opencv_to_blender_camera",
    "opencv_to_opengl_camera",
    "opencv_to_opengl_object",
    "opengl_to_opencv_camera",
    "opengl_to_opencv_object",
    "project_to_so3",
    "quat_to_matrix",
    "random_rotation",
    "rotation_angle",
    "rotation_angle_between",
    "sixd_to_matrix",
    "skew",
]
