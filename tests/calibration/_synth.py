"""Synthetic board images with known intrinsics, distortion and poses (test helper).

Each output pixel is traced back through the lens (``Camera.rays`` removes the
distortion), intersected with the board plane and the printed board texture is sampled
there, so the image is exactly what the distorted camera would see. Rendering is done at
2x and area-averaged down, then lightly blurred with a little noise.
"""

from __future__ import annotations

import numpy as np

from calibration.board import BoardSpec, render_board
from rigidpose.geometry import Camera, Pose, axis_angle_to_matrix

_SS = 2  # supersampling factor
_RAYS: dict[int, np.ndarray] = {}


def _rays(camera: Camera) -> np.ndarray:
    key = id(camera)
    if key not in _RAYS:
        h, w = camera.height * _SS, camera.width * _SS
        v, u = np.mgrid[0:h, 0:w]
        uv = np.stack([(u.ravel() + 0.5) / _SS - 0.5, (v.ravel() + 0.5) / _SS - 0.5], axis=1)
        _RAYS.clear()
        _RAYS[key] = camera.rays(uv).reshape(h, w, 3)
    return _RAYS[key]


def board_origin_on_print(spec: BoardSpec) -> float:
    """Offset (m) from the printed board's top-left corner to the board-frame origin."""
    return spec.square if spec.kind == "chessboard" else 0.0


def render_view(spec: BoardSpec, camera: Camera, T_cam_board: Pose, rng: np.random.Generator,
                px_per_m: float = 4000.0, noise: float = 2.0) -> np.ndarray:
    """(H, W) uint8 image of the board at pose ``T_cam_board`` seen by ``camera``."""
    import cv2

    margin = 0.02
    tex = np.pad(render_board(spec, px_per_m), int(margin * px_per_m), constant_values=255)
    rays = _rays(camera)
    R, t = T_cam_board.R, T_cam_board.t
    n = R[:, 2]  # board normal in the camera frame
    s = (n @ t) / (rays @ n)  # ray scale that hits the plane z_board = 0
    p_cam = rays * s[..., None]
    p_board = (p_cam - t) @ R  # R^T (p - t)
    off = board_origin_on_print(spec) + margin
    mx = ((p_board[..., 0] + off) * px_per_m - 0.5).astype(np.float32)
    my = ((p_board[..., 1] + off) * px_per_m - 0.5).astype(np.float32)
    behind = s <= 0
    mx[behind] = -1e6
    big = cv2.remap(tex, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=128)
    img = cv2.resize(big, (camera.width, camera.height), interpolation=cv2.INTER_AREA).astype(np.float64)
    img = cv2.GaussianBlur(img, (0, 0), 0.7)
    img = 40 + img * (180 / 255) + rng.normal(0.0, noise, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def look_at_board(spec: BoardSpec, distance: float, tilt_deg: tuple[float, float, float],
                  shift: tuple[float, float]) -> Pose:
    """``T_cam_board`` with the board centre at ``(shift, distance)`` in the camera frame,
    rotated by the axis-angle ``tilt_deg`` (degrees about camera x, y, z)."""
    w, h = spec.size_m
    o = board_origin_on_print(spec)
    centre_board = np.array([w / 2 - o, h / 2 - o, 0.0])
    R = axis_angle_to_matrix(np.radians(tilt_deg))
    t = np.array([shift[0], shift[1], distance]) - R @ centre_board
    return Pose(R, t, "cam", "board")


def varied_poses(spec: BoardSpec, camera: Camera, n: int, rng: np.random.Generator,
                 distance: tuple[float, float] = (0.45, 0.8), max_tilt: float = 40.0) -> list[Pose]:
    """``n`` board poses spread over the image, every board corner inside with a margin."""
    poses: list[Pose] = []
    corners = spec.object_points()
    while len(poses) < n:
        d = rng.uniform(*distance)
        tilt = (rng.uniform(-max_tilt, max_tilt), rng.uniform(-max_tilt, max_tilt), rng.uniform(-20, 20))
        shift = (rng.uniform(-0.35, 0.35) * d, rng.uniform(-0.25, 0.25) * d)
        T = look_at_board(spec, d, tilt, shift)
        uv = camera.project(T.transform(corners))
        m = 15
        if np.all(np.isfinite(uv)) and np.all((uv > m) & (uv < np.array(camera.size) - m)):
            poses.append(T)
    return poses
