"""sensor_msgs Image / CameraInfo → numpy arrays and :class:`rigidpose.geometry.Camera`, strictly checked.

Arrays follow the rigidpose conventions: colour is (H, W, 3) uint8 RGB; depth is
(H, W) float32 in metres, where 0 means invalid. Every defect raises a specific
:class:`~rigidpose_ros.errors.MessageError`; nothing here logs or guesses.

The functions read only the message fields (``height``, ``width``, ``encoding``,
``is_bigendian``, ``step``, ``data``; ``k``, ``d``, ``distortion_model``, ...), so they
work on any object with those attributes, which keeps them testable without ROS.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from rigidpose.geometry import DISTORTION_MODELS, Camera
from rigidpose_ros.errors import BadCameraInfo, MalformedImage, SizeMismatch, UnsupportedEncoding

#: colour encodings: name → (channels, index order that gives RGB)
COLOR_ENCODINGS: dict[str, tuple[int, tuple[int, ...]]] = {
    "rgb8": (3, (0, 1, 2)),
    "bgr8": (3, (2, 1, 0)),
    "rgba8": (4, (0, 1, 2)),
    "bgra8": (4, (2, 1, 0)),
    "mono8": (1, (0, 0, 0)),
}
#: depth encodings: name → (numpy dtype, factor to metres)
DEPTH_ENCODINGS: dict[str, tuple[np.dtype, float]] = {
    "16UC1": (np.dtype("<u2"), 1e-3),  # millimetres (OpenNI / RealSense convention)
    "mono16": (np.dtype("<u2"), 1e-3),
    "32FC1": (np.dtype("<f4"), 1.0),  # metres (REP 118)
}
#: ROS ``distortion_model`` names → rigidpose names ("" means none given).
ROS_DISTORTION_MODELS = {
    "plumb_bob": "plumb_bob",
    "rational_polynomial": "rational_polynomial",
    "equidistant": "equidistant",
    "fisheye": "equidistant",
}
MAX_SIDE = 1 << 15  # a sanity bound on width/height (32768 px)


def _rows(msg: Any, bytes_per_pixel: int) -> NDArray[np.uint8]:
    """The image's pixel bytes as (height, width * bytes_per_pixel) uint8, padding removed."""
    h, w, step = int(msg.height), int(msg.width), int(msg.step)
    if h <= 0 or w <= 0:
        raise MalformedImage(f"image has zero size ({w}x{h})", "zero_size")
    if h > MAX_SIDE or w > MAX_SIDE:
        raise MalformedImage(f"image size {w}x{h} exceeds {MAX_SIDE} px per side", "too_large")
    row = w * bytes_per_pixel
    if step < row:
        raise MalformedImage(
            f"step {step} is smaller than width x bytes per pixel = {w}x{bytes_per_pixel} = {row}", "step"
        )
    data = np.frombuffer(msg.data, dtype=np.uint8)
    if data.size != h * step:
        raise MalformedImage(
            f"data has {data.size} bytes but height x step = {h}x{step} = {h * step}", "data_size"
        )
    return data.reshape(h, step)[:, :row]


def image_to_rgb(msg: Any) -> NDArray[np.uint8]:
    """sensor_msgs/Image (rgb8, bgr8, rgba8, bgra8, mono8) → (H, W, 3) uint8 RGB (a new array)."""
    enc = str(msg.encoding)
    if enc not in COLOR_ENCODINGS:
        raise UnsupportedEncoding(
            f"unsupported colour encoding {enc!r}; use one of {sorted(COLOR_ENCODINGS)}"
        )
    channels, order = COLOR_ENCODINGS[enc]
    px = _rows(msg, channels).reshape(int(msg.height), int(msg.width), channels)
    return np.ascontiguousarray(px[:, :, list(order)])


def image_to_depth(msg: Any) -> NDArray[np.float32]:
    """sensor_msgs/Image (16UC1/mono16 in mm, 32FC1 in m) → (H, W) float32 metres, 0 = invalid.

    NaN, infinite and negative depths become 0. Big-endian data is rejected.
    """
    enc = str(msg.encoding)
    if enc not in DEPTH_ENCODINGS:
        raise UnsupportedEncoding(f"unsupported depth encoding {enc!r}; use one of {sorted(DEPTH_ENCODINGS)}")
    if msg.is_bigendian:
        raise UnsupportedEncoding(f"big-endian {enc} depth is not supported", "big_endian")
    dtype, to_m = DEPTH_ENCODINGS[enc]
    raw = _rows(msg, dtype.itemsize).copy().view(dtype).reshape(int(msg.height), int(msg.width))
    depth = raw.astype(np.float32) * np.float32(to_m)
    depth[~(np.isfinite(depth) & (depth > 0))] = 0.0
    return depth


def rgb_to_image(rgb: NDArray[np.uint8], msg_type: type, header: Any = None) -> Any:
    """(H, W, 3) uint8 RGB → a ``msg_type`` (sensor_msgs/Image) with encoding rgb8."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) image, got {rgb.shape}")
    msg = msg_type()
    if header is not None:
        msg.header = header
    msg.height, msg.width = int(rgb.shape[0]), int(rgb.shape[1])
    msg.encoding, msg.is_bigendian, msg.step = "rgb8", 0, int(rgb.shape[1] * 3)
    msg.data = rgb.tobytes()
    return msg


def camera_info_to_camera(msg: Any) -> Camera:
    """sensor_msgs/CameraInfo → :class:`Camera` (K, size, distortion).

    Raises :class:`BadCameraInfo` for a zero or non-finite K, a zero size, binning or a
    region of interest (not supported), an unknown distortion model, or coefficients
    that do not fit the model.
    """
    w, h = int(msg.width), int(msg.height)
    if w <= 0 or h <= 0:
        raise BadCameraInfo(f"camera_info has zero image size ({w}x{h})", "camera_info_size")
    k = np.asarray(msg.k, dtype=np.float64).reshape(-1)
    if k.size != 9:
        raise BadCameraInfo(f"K must have 9 values, got {k.size}", "camera_info_k")
    if not np.all(np.isfinite(k)):
        raise BadCameraInfo("K contains NaN or infinite values", "camera_info_nan")
    if not np.any(k):
        raise BadCameraInfo("K is all zeros: the camera is not calibrated", "camera_info_zero_k")
    if int(msg.binning_x) > 1 or int(msg.binning_y) > 1:
        raise BadCameraInfo("binned camera_info is not supported", "camera_info_binning")
    roi = msg.roi
    if int(roi.width) or int(roi.height) or int(roi.x_offset) or int(roi.y_offset):
        if (int(roi.x_offset), int(roi.y_offset), int(roi.width), int(roi.height)) != (0, 0, w, h):
            raise BadCameraInfo("camera_info with a region of interest is not supported", "camera_info_roi")
    d = np.asarray(msg.d, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(d)):
        raise BadCameraInfo("D contains NaN or infinite values", "camera_info_nan")
    name = str(msg.distortion_model)
    if name == "" and not np.any(d):
        name = "plumb_bob"  # no model and no coefficients: an ideal pinhole
    if name not in ROS_DISTORTION_MODELS:
        raise BadCameraInfo(
            f"unknown distortion_model {name!r}; use one of {sorted(ROS_DISTORTION_MODELS)}", "camera_info_model"
        )
    model = ROS_DISTORTION_MODELS[name]
    if np.any(d) and d.size not in DISTORTION_MODELS[model]:
        raise BadCameraInfo(
            f"{name} takes {DISTORTION_MODELS[model]} coefficients, got {d.size}", "camera_info_d"
        )
    try:
        return Camera(k.reshape(3, 3), w, h, model, d if np.any(d) else ())
    except ValueError as exc:
        raise BadCameraInfo(f"invalid camera_info: {exc}", "camera_info_k") from None


def camera_to_camera_info(camera: Camera, msg_type: type, header: Any = None) -> Any:
    """:class:`Camera` → a ``msg_type`` (sensor_msgs/CameraInfo); P = [K | 0], R = I."""
    msg = msg_type()
    if header is not None:
        msg.header = header
    msg.width, msg.height = camera.width, camera.height
    msg.distortion_model = camera.distortion_model
    msg.d = [float(v) for v in camera.dist]
    msg.k = camera.K.reshape(-1).tolist()
    msg.r = np.eye(3).reshape(-1).tolist()
    P = np.zeros((3, 4))
    P[:, :3] = camera.K
    msg.p = P.reshape(-1).tolist()
    return msg


def check_same_size(camera: Camera, shape: tuple[int, ...], what: str) -> None:
    """Raise :class:`SizeMismatch` unless an array of ``shape`` (H, W[, C]) fits ``camera``."""
    if tuple(shape[:2]) != (camera.height, camera.width):
        raise SizeMismatch(
            f"{what} is {shape[1]}x{shape[0]} but camera_info is {camera.width}x{camera.height}"
        )
