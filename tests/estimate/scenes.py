"""Depth scenes for the depth-search tests: a table behind ray-cast parts."""

from __future__ import annotations

import numpy as np

from rigidpose.geometry import Camera


def table_behind(camera: Camera, depth: np.ndarray, hit: np.ndarray, normal) -> np.ndarray:
    """``depth`` (H, W, metres) with a plane just behind the parts filling every other pixel.

    ``hit``: (H, W) bool, the parts' pixels; ``normal``: the plane's camera-frame normal,
    pointing away from the camera. The plane lies 2 mm behind the parts' farthest point
    along it."""
    n = np.asarray(normal, float) / np.linalg.norm(normal)
    v, u = np.nonzero(hit)
    pts = camera.backproject_pixels(np.stack([u, v], 1).astype(float), depth[v, u].astype(float))
    c = (pts @ n).max() + 0.002
    uu, vv = np.meshgrid(np.arange(camera.width, dtype=float), np.arange(camera.height, dtype=float))
    rays = np.linalg.inv(camera.K) @ np.stack([uu, vv, np.ones_like(uu)]).reshape(3, -1)  # z = 1: depth = ray length
    plane = (c / (n @ rays)).reshape(camera.height, camera.width)
    return np.where(hit, np.minimum(depth, plane), plane).astype(np.float32)
