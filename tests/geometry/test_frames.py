"""OpenGL ↔ OpenCV camera-frame converters."""

from __future__ import annotations

import numpy as np

from rigidpose.geometry import (
    Pose,
    opencv_to_opengl_camera,
    opencv_to_opengl_object,
    opengl_to_opencv_camera,
    opengl_to_opencv_object,
    random_rotation,
)


def test_round_trips(rng):
    T = Pose(random_rotation(rng), rng.standard_normal(3), "world", "cam")
    assert opengl_to_opencv_camera(opencv_to_opengl_camera(T)).allclose(T)
    T_obj = Pose(random_rotation(rng), rng.standard_normal(3), "cam", "obj")
    assert opengl_to_opencv_object(opencv_to_opengl_object(T_obj)).allclose(T_obj)


def test_a_point_in_front_of_an_opencv_camera_is_at_negative_z_in_opengl():
    T_cam_obj = Pose(np.eye(3), [0.1, 0.2, 1.0])  # in front, right, below the centre (OpenCV)
    gl = opencv_to_opengl_object(T_cam_obj)
    assert np.allclose(gl.t, [0.1, -0.2, -1.0])


def test_camera_and_object_converters_agree(rng):
    T_world_cam = Pose(random_rotation(rng), rng.standard_normal(3))
    T_world_obj = Pose(random_rotation(rng), rng.standard_normal(3))
    T_camcv_obj = T_world_cam.inv() @ T_world_obj
    T_camgl_obj = opencv_to_opengl_camera(T_world_cam).inv().renamed(None, None) @ T_world_obj
    assert opencv_to_opengl_object(T_camcv_obj).allclose(T_camgl_obj, atol=1e-9)
