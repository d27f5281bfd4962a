"""Checks of the estimator's inputs: image, camera and depth, each with a one-line error.

Depth is HxW float32 metres with 0 = invalid. NaN, inf, zero and negative values are
*invalid pixels*, not errors: they are set to 0 and ICP ignores them. Values far beyond
any depth camera's range mean the array is in other units (typically uint16
millimetres passed as metres) and are rejected.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from rigidpose.errors import RigidposeError
from rigidpose.geometry import Camera

#: Depth values above this (metres) are taken as a units mistake.
MAX_DEPTH_M = 100.0


def check_rgb(rgb: NDArray, camera: Camera) -> NDArray[np.uint8]:
    """``rgb`` as a contiguous (H, W, 3) uint8 array matching ``camera``'s size."""
    if not isinstance(camera, Camera):
        raise RigidposeError(f"camera must be a rigidpose Camera, got {type(camera).__name__}")
    a = np.asarray(rgb)
    if a.ndim != 3 or a.shape[2] != 3:
        raise RigidposeError(f"image must be HxWx3 RGB, got shape {a.shape}")
    if a.dtype != np.uint8:
        raise RigidposeError(f"image must be uint8 RGB, got {a.dtype}")
    if a.shape[:2] != (camera.height, camera.width):
        raise RigidposeError(
            f"image is {a.shape[1]}x{a.shape[0]} but the camera is {camera.width}x{camera.height} "
            "(use the camera calibrated for this resolution, or Camera.scaled)"
        )
    return np.ascontiguousarray(a)


def check_depth(depth: NDArray | None, camera: Camera) -> NDArray[np.float32] | None:
    """``depth`` (H, W) metres → float32 with invalid pixels (NaN, inf, ≤ 0) set to 0.

    Raises ``RigidposeError`` for another resolution than the camera's, a non-2-D array,
    or values that cannot be metres (> 100 m: "depth looks like millimetres").
    """
    if depth is None:
        return None
    d = np.asarray(depth)
    if d.ndim == 3 and d.shape[2] == 1:
        d = d[..., 0]
    if d.ndim != 2:
        raise RigidposeError(f"depth must be a single-channel HxW image, got shape {d.shape}")
    if d.shape != (camera.height, camera.width):
        raise RigidposeError(
            f"depth is {d.shape[1]}x{d.shape[0]} but the camera is {camera.width}x{camera.height} "
            "(register the depth image to the colour camera first)"
        )
    if not (np.issubdtype(d.dtype, np.floating) or np.issubdtype(d.dtype, np.integer)):
        raise RigidposeError(f"depth must be numeric metres, got dtype {d.dtype}")
    d = d.astype(np.float32)
    valid = np.isfinite(d) & (d > 0)
    if valid.any():
        top = float(np.percentile(d[valid], 99))
        if top > MAX_DEPTH_M:
            unit = "millimetres" if top < 100_000 else "unknown units"
            raise RigidposeError(
                f"depth looks like {unit} (99th percentile {top:.0f}, expected metres); "
                "convert it to float32 metres, e.g. depth_mm * 0.001"
            )
    return np.where(valid, d, np.float32(0.0))
