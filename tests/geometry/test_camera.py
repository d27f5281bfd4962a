"""The Camera value type: projection, back-projection, derived cameras, file formats."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rigidpose.errors import RigidposeError
from rigidpose.geometry import Camera

K = np.array([[536.0, 0.0, 342.3], [0.0, 538.0, 235.6], [0.0, 0.0, 1.0]])
PLUMB = Camera(K, 640, 480, "plumb_bob", [-0.266, -0.0386, 0.00178, -0.00028, 0.238])
FISH = Camera(K, 640, 480, "fisheye", [0.05, -0.01, 0.002, -0.0005])
IDEAL = Camera(K, 640, 480)

pix = st.tuples(st.floats(20, 620), st.floats(20, 460))
depth = st.floats(0.05, 20.0)


@pytest.mark.parametrize("cam", [IDEAL, PLUMB, FISH], ids=["ideal", "plumb_bob", "fisheye"])
@settings(max_examples=40, deadline=None)
@given(uv=pix, z=depth)
def test_project_backproject_round_trip(cam, uv, z):
    p = cam.backproject_pixels(np.array([uv]), np.array([z]))
    assert np.isclose(p[0, 2], z)
    assert np.allclose(cam.project(p), [uv], atol=1e-4)


def test_project_matches_opencv(rng):
    p = rng.uniform([-0.3, -0.2, 0.5], [0.3, 0.2, 2.0], (50, 3))
    ref, _ = cv2.projectPoints(p, np.zeros(3), np.zeros(3), K, PLUMB.dist)
    assert np.allclose(PLUMB.project(p), ref.reshape(-1, 2), atol=1e-9)
    ref0, _ = cv2.projectPoints(p, np.zeros(3), np.zeros(3), K, None)
    assert np.allclose(IDEAL.project(p), ref0.reshape(-1, 2), atol=1e-9)


def test_points_behind_the_camera_are_nan():
    uv = IDEAL.project([[0, 0, -1.0], [0, 0, 1.0]])
    assert np.all(np.isnan(uv[0])) and np.allclose(uv[1], [K[0, 2], K[1, 2]])


def test_backproject_depth_image():
    d = np.full((480, 640), 2.0, np.float32)
    d[0, 0] = 0.0
    d[1, 1] = np.nan
    pts = IDEAL.backproject(d)
    assert pts.shape == (480, 640, 3)
    assert np.allclose(pts[0, 0], 0) and np.allclose(pts[1, 1], 0)
    assert np.allclose(IDEAL.project(pts[100:102, 200:202].reshape(-1, 3)), [[200, 100], [201, 100], [200, 101], [201, 101]])
    with pytest.raises(ValueError, match="depth is 320x240"):
        IDEAL.backproject(np.ones((240, 320)))


def test_undistort_points_inverts_distortion(rng):
    p = rng.uniform([-0.4, -0.3, 1.0], [0.4, 0.3, 1.0], (100, 3))
    distorted = PLUMB.project(p)
    ideal = IDEAL.project(p)
    assert np.allclose(PLUMB.undistort_points(distorted), ideal, atol=1e-6)


@pytest.mark.parametrize("factor", [0.5, 0.25, 2.0])
def test_scaled_matches_a_resized_image(factor):
    # A pixel centre at u maps to factor*(u+0.5)-0.5 in the resized image.
    p = np.array([[0.1, -0.05, 1.0], [-0.2, 0.1, 2.0]])
    s = IDEAL.scaled(factor)
    assert (s.width, s.height) == (round(640 * factor), round(480 * factor))
    assert np.allclose(s.project(p), factor * (IDEAL.project(p) + 0.5) - 0.5)


def test_cropped_agrees_with_warp_affine():
    img = np.zeros((480, 640), np.uint8)
    cv2.circle(img, (400, 300), 3, 255, -1)
    bbox = (350.0, 250.0, 100.0, 80.0)
    A = IDEAL.crop_affine(bbox, (128, 128))
    crop = cv2.warpAffine(img, A, (128, 128), flags=cv2.INTER_LINEAR)
    m = cv2.moments(crop)
    centroid = np.array([m["m10"] / m["m00"], m["m01"] / m["m00"]])
    p = IDEAL.backproject_pixels([[400.0, 300.0]], [1.0])
    assert np.allclose(IDEAL.cropped(bbox, (128, 128)).project(p)[0], centroid, atol=0.05)
    c = IDEAL.cropped(bbox, (128, 128))
    assert (c.width, c.height) == (128, 128)


def test_ros_yaml_round_trip(tmp_path):
    path = tmp_path / "camera.yaml"
    PLUMB.to_ros_yaml(path, camera_name="left")
    back = Camera.from_ros_yaml(path)
    assert np.allclose(back.K, PLUMB.K) and np.allclose(back.dist, PLUMB.dist)
    assert (back.width, back.height, back.distortion_model) == (640, 480, "plumb_bob")
    text = path.read_text()
    for key in ("image_width", "camera_name", "camera_matrix", "distortion_model",
                "distortion_coefficients", "rectification_matrix", "projection_matrix"):
        assert key in text


def test_bop_cam_k_round_trip():
    back = Camera.from_cam_K(IDEAL.to_cam_K(), 640, 480)
    assert np.array_equal(back.K, IDEAL.K)


def test_bad_camera_files(tmp_path):
    with pytest.raises(RigidposeError, match="not found"):
        Camera.from_ros_yaml(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("image_width: [unclosed\n")
    with pytest.raises(RigidposeError, match="cannot parse"):
        Camera.from_ros_yaml(bad)
    bad.write_text("image_width: 640\nimage_height: 480\n")
    with pytest.raises(RigidposeError, match="camera_matrix"):
        Camera.from_ros_yaml(bad)
    bad.write_text("image_width: 640\nimage_height: 480\ncamera_matrix: {rows: 3, cols: 3, data: [0,0,0,0,0,0,0,0,1]}\n")
    with pytest.raises(RigidposeError, match="focal"):
        Camera.from_ros_yaml(bad)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(K=np.eye(2), width=640, height=480), "3, 3"),
        (dict(K=K, width=0, height=480), "positive"),
        (dict(K=K, width=640, height=480, distortion_model="weird"), "unknown distortion"),
        (dict(K=K, width=640, height=480, dist=[0.1, 0.2, 0.3]), "coefficients"),
        (dict(K=np.where(np.eye(3) > 0, np.nan, K), width=640, height=480), "finite"),
    ],
)
def test_invalid_cameras(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Camera(**kwargs)


def test_check_image():
    IDEAL.check_image(np.zeros((480, 640, 3)))
    with pytest.raises(ValueError, match="320x240"):
        IDEAL.check_image(np.zeros((240, 320, 3)))
