"""Image / CameraInfo → numpy and Camera: round trips and every malformed case."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.ros

from ros_support import require_ros_workspace

require_ros_workspace()

import dds_support  # noqa: E402
from sensor_msgs.msg import CameraInfo, Image  # noqa: E402

from rigidpose.geometry import Camera  # noqa: E402
from rigidpose_ros.conversions import (  # noqa: E402
    camera_info_to_camera,
    camera_to_camera_info,
    image_to_depth,
    image_to_rgb,
    rgb_to_image,
)
from rigidpose_ros.errors import BadCameraInfo, MalformedImage, MessageError, UnsupportedEncoding  # noqa: E402


def make_image(arr: np.ndarray, encoding: str, pad: int = 0) -> Image:
    return dds_support.make_image(Image, arr, encoding, pad=pad)


@pytest.fixture
def rgb(rng) -> np.ndarray:
    return rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)


@pytest.mark.parametrize("pad", [0, 3])
def test_rgb8_bgr8_rgba_mono_to_rgb(rgb, pad):
    assert np.array_equal(image_to_rgb(make_image(rgb, "rgb8", pad)), rgb)
    assert np.array_equal(image_to_rgb(make_image(rgb[:, :, ::-1], "bgr8", pad)), rgb)
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 9, np.uint8)])
    assert np.array_equal(image_to_rgb(make_image(rgba, "rgba8", pad)), rgb)
    assert np.array_equal(image_to_rgb(make_image(rgba[:, :, [2, 1, 0, 3]], "bgra8", pad)), rgb)
    mono = rgb[:, :, 0]
    out = image_to_rgb(make_image(mono, "mono8", pad))
    assert out.shape == (5, 7, 3) and all(np.array_equal(out[:, :, c], mono) for c in range(3))


def test_rgb_round_trip_through_message(rgb):
    msg = rgb_to_image(rgb, Image)
    assert (msg.encoding, msg.step, msg.height, msg.width) == ("rgb8", 21, 5, 7)
    back = image_to_rgb(msg)
    assert np.array_equal(back, rgb) and back.flags.writeable


def test_depth_16uc1_millimetres_to_metres(rng):
    mm = rng.integers(0, 5000, (4, 6)).astype(np.uint16)
    mm[0, 0] = 0
    d = image_to_depth(make_image(mm.astype("<u2"), "16UC1", pad=2))
    assert d.dtype == np.float32 and d.shape == (4, 6)
    np.testing.assert_allclose(d, mm / 1000.0, rtol=1e-6)
    assert d[0, 0] == 0.0


def test_depth_32fc1_metres_with_nan_inf_negative_to_zero():
    m = np.array([[1.5, np.nan, -0.2], [np.inf, 0.0, 2.25]], dtype="<f4")
    d = image_to_depth(make_image(m, "32FC1", pad=4))
    np.testing.assert_array_equal(d, [[1.5, 0, 0], [0, 0, 2.25]])


@pytest.mark.parametrize(
    "mutate, err, kind",
    [
        (dict(encoding="yuv422"), UnsupportedEncoding, "encoding"),
        (dict(encoding="16UC1"), UnsupportedEncoding, "encoding"),
        (dict(encoding=""), UnsupportedEncoding, "encoding"),
        (dict(height=0), MalformedImage, "zero_size"),
        (dict(width=0), MalformedImage, "zero_size"),
        (dict(width=1 << 20), MalformedImage, "too_large"),
        (dict(step=20), MalformedImage, "step"),
        (dict(step=22), MalformedImage, "data_size"),
        (dict(data=b"\x00" * 104), MalformedImage, "data_size"),
        (dict(data=b""), MalformedImage, "data_size"),
    ],
)
def test_malformed_colour_images_raise_specific_errors(rgb, mutate, err, kind):
    msg = make_image(rgb, "rgb8")
    for k, v in mutate.items():
        setattr(msg, k, v)
    with pytest.raises(err) as info:
        image_to_rgb(msg)
    assert info.value.kind == kind and isinstance(info.value, MessageError)


@pytest.mark.parametrize(
    "mutate, err, kind",
    [
        (dict(encoding="rgb8"), UnsupportedEncoding, "encoding"),
        (dict(is_bigendian=1), UnsupportedEncoding, "big_endian"),
        (dict(step=7), MalformedImage, "step"),
        (dict(data=b"\x00" * 10), MalformedImage, "data_size"),
        (dict(height=0), MalformedImage, "zero_size"),
    ],
)
def test_malformed_depth_raises_specific_errors(mutate, err, kind):
    msg = make_image(np.ones((3, 4), "<u2"), "16UC1")
    for k, v in mutate.items():
        setattr(msg, k, v)
    with pytest.raises(err) as info:
        image_to_depth(msg)
    assert info.value.kind == kind


def test_camera_info_round_trip_with_distortion():
    K = np.array([[600.0, 0, 319.5], [0, 610.0, 239.5], [0, 0, 1]])
    cam = Camera(K, 640, 480, "plumb_bob", [0.1, -0.05, 0.001, 0.002, 0.01])
    msg = camera_to_camera_info(cam, CameraInfo)
    back = camera_info_to_camera(msg)
    np.testing.assert_array_equal(back.K, K)
    np.testing.assert_array_equal(back.dist, cam.dist)
    assert (back.width, back.height, back.distortion_model) == (640, 480, "plumb_bob")


def test_camera_info_distortion_model_names():
    msg = camera_to_camera_info(Camera.from_fov(64, 48, 60.0), CameraInfo)
    msg.distortion_model, msg.d = "", []
    assert camera_info_to_camera(msg).distortion_model == "plumb_bob"
    msg.distortion_model, msg.d = "equidistant", [0.1, 0.01, 0.0, 0.0]
    assert camera_info_to_camera(msg).distortion_model == "equidistant"
    msg.distortion_model, msg.d = "rational_polynomial", [0.1] * 8
    assert camera_info_to_camera(msg).distortion_model == "rational_polynomial"


def _info(**changes) -> CameraInfo:
    msg = camera_to_camera_info(Camera.from_fov(64, 48, 60.0), CameraInfo)
    for k, v in changes.items():
        if k == "roi_width":
            msg.roi.width = v
        else:
            setattr(msg, k, v)
    return msg


@pytest.mark.parametrize(
    "changes, kind",
    [
        (dict(k=[0.0] * 9), "camera_info_zero_k"),
        (dict(k=[np.nan] + [0.0] * 8), "camera_info_nan"),
        (dict(d=[np.nan, 0, 0, 0, 0]), "camera_info_nan"),
        (dict(width=0), "camera_info_size"),
        (dict(height=0), "camera_info_size"),
        (dict(distortion_model="weird"), "camera_info_model"),
        (dict(d=[0.1, 0.2, 0.3]), "camera_info_d"),
        (dict(binning_x=2), "camera_info_binning"),
        (dict(roi_width=10), "camera_info_roi"),
        (dict(k=[1.0, 0, 0, 0, 1.0, 0, 0, 0, 0]), "camera_info_k"),  # last row not [0 0 1]
        (dict(k=[-5.0, 0, 1, 0, 5.0, 1, 0, 0, 1]), "camera_info_k"),  # negative focal length
    ],
)
def test_bad_camera_info_raises_specific_errors(changes, kind):
    with pytest.raises(BadCameraInfo) as info:
        camera_info_to_camera(_info(**changes))
    assert info.value.kind == kind, str(info.value)


def _camera_info_from_yaml(path) -> CameraInfo:
    """What camera_info_manager does with a calibration YAML: copy its fields into CameraInfo."""
    import yaml

    d = yaml.safe_load(open(path, encoding="utf-8"))
    msg = CameraInfo()
    msg.width, msg.height = d["image_width"], d["image_height"]
    msg.distortion_model = d["distortion_model"]
    msg.d = [float(v) for v in d["distortion_coefficients"]["data"]]
    msg.k = [float(v) for v in d["camera_matrix"]["data"]]
    msg.r = [float(v) for v in d["rectification_matrix"]["data"]]
    msg.p = [float(v) for v in d["projection_matrix"]["data"]]
    return msg


@pytest.mark.parametrize("model, dist", [("plumb_bob", [-0.27, -0.04, 0.0018, -0.0003, 0.24]),
                                         ("rational_polynomial", [0.1, -0.2, 0.001, 0.0, 0.05, 0.1, -0.15, 0.04]),
                                         ("equidistant", [0.05, -0.01, 0.002, -0.0005])])
def test_calibration_yaml_is_accepted_by_the_node(tmp_path, model, dist):
    """The camera_info YAML written by `rigidpose calibrate intrinsics` becomes the node's Camera."""
    from calibration.io import write_camera_yaml

    K = np.array([[535.9, 0.0, 342.3], [0.0, 535.9, 235.6], [0.0, 0.0, 1.0]])
    cam = Camera(K, 640, 480, model, dist)
    path = tmp_path / "camera.yaml"
    write_camera_yaml(cam, path, camera_name="left")
    assert np.allclose(Camera.from_ros_yaml(path).K, K)
    back = camera_info_to_camera(_camera_info_from_yaml(path))
    assert np.allclose(back.K, K) and np.allclose(back.dist, dist)
    assert (back.width, back.height, back.distortion_model) == (640, 480, cam.distortion_model)
