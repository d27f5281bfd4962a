"""The dataset-level ``camera.json``: intrinsics, image size and ``depth_scale``.

``depth_scale`` multiplies the uint16 depth-PNG values to give **millimetres**
(BOP's convention); :func:`rigidpose.bop.images.read_depth` turns that into metres.
"""

from __future__ import annotations

import numpy as np

from rigidpose.bop.jsonio import PathLike, as_float, as_int, get, read_json_dict, write_json_atomic
from rigidpose.errors import DataError
from rigidpose.geometry import Camera


def camera_from_values(fx: float, fy: float, cx: float, cy: float, width: int, height: int,
                       where: str) -> Camera:
    """A distortion-free :class:`Camera`, or a :class:`DataError` saying what is invalid."""
    try:
        return Camera(np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]]), width, height)
    except ValueError as exc:
        raise DataError(f"{where}: invalid camera: {exc}") from None


def check_depth_scale(v: object, where: str) -> float:
    s = as_float(v, f"{where}: depth_scale")
    if s <= 0:
        raise DataError(f"{where}: depth_scale must be positive, got {s}")
    return s


def read_camera_json(path: PathLike) -> tuple[Camera, float]:
    """Read BOP ``camera.json`` → (:class:`Camera`, ``depth_scale`` in mm per depth unit)."""
    d = read_json_dict(path)
    w = str(path)
    vals = {k: as_float(get(d, k, w), f"{w}: {k}") for k in ("fx", "fy", "cx", "cy")}
    width = as_int(get(d, "width", w), f"{w}: width")
    height = as_int(get(d, "height", w), f"{w}: height")
    cam = camera_from_values(vals["fx"], vals["fy"], vals["cx"], vals["cy"], width, height, w)
    return cam, check_depth_scale(d.get("depth_scale", 1.0), w)


def write_camera_json(path: PathLike, camera: Camera, depth_scale: float) -> None:
    """Write BOP ``camera.json`` atomically. The camera must be distortion-free (BOP has no
    distortion field) with zero skew."""
    if camera.has_distortion or camera.K[0, 1] != 0.0:
        raise DataError(f"{path}: BOP camera.json cannot hold lens distortion or skew; undistort first")
    if not (np.isfinite(depth_scale) and depth_scale > 0):
        raise DataError(f"{path}: depth_scale must be positive, got {depth_scale}")
    write_json_atomic(path, {
        "cx": camera.cx, "cy": camera.cy, "depth_scale": float(depth_scale),
        "fx": camera.fx, "fy": camera.fy, "height": camera.height, "width": camera.width,
    })
