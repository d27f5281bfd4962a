"""Crop-invariant pose codes for the direct pose head (pure numpy).

A pose ``T_cam_obj`` seen in a crop with intrinsics ``crop_camera`` (from
``Camera.cropped(bbox, (S, S))``) is coded as

- ``rot6d`` (6,): the 6D rotation (Zhou et al.) of the **allocentric** rotation
  ``R_allo = R_view^T @ R_cam_obj`` (or of ``R_cam_obj`` itself when
  ``allocentric=False``). ``R_view`` is the smallest rotation taking the optical axis
  ``(0, 0, 1)`` onto the ray through the object's centre; an object translated
  sideways at constant allocentric rotation looks the same in its crop (GDR-Net).
- ``trans`` (3,) = ``(dx, dy, z_n)``: the projected object centre ``(u, v)`` in crop
  pixels relative to the crop centre, normalised by the crop size,
  ``dx = (u - (W - 1)/2) / W``, ``dy = (v - (H - 1)/2) / H``, and the scale-invariant
  depth ``z_n = z · sqrt(W·H) / (sqrt(fx·fy) · diameter)`` with ``fx, fy`` of the crop
  camera and ``z`` the centre's depth in metres. ``z_n`` is the crop size over the
  object's apparent diameter in pixels: it does not depend on the resolution the crop is
  resized to, and it stays near a constant when crops are sized to the object
  ("dynamic zoom-in"), like GDR-Net's scale-invariant translation (SITE).

"Centre" is the point ``centre_obj`` (object frame, metres; default the origin). Training
uses :func:`pose_centre`, the object's bounding-box centre averaged over its symmetry
group: a point every symmetry maps onto itself, so all symmetry-equivalent poses
``T @ S`` put it at the same place in the camera and share one translation target and one
viewing ray (the origin of a mesh, e.g. a YCB bottle's base, generally moves under its
symmetries). Decoding is the exact inverse: ``decode_pose(*encode_pose(T, cam, d), cam, d) == T``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rigidpose.geometry import Camera, Pose, matrix_to_6d, sixd_to_matrix
from rigidpose.objects import ModelInfo

#: Discretisation step (rad) of continuous symmetries when averaging the centre over them.
CENTRE_SYM_STEP = 0.1

F64 = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class PoseCode:
    """Regression targets of the direct pose head: ``rot6d`` (6,) and ``trans`` (3,) = (dx, dy, z_n)."""

    rot6d: F64
    trans: F64


def pose_centre(info: ModelInfo) -> F64:
    """(3,) the point the direct pose head codes, object frame, metres.

    The bounding-box centre ``min_xyz + size_xyz / 2`` averaged over the symmetry
    transforms ``S`` of ``info.symmetries`` (``mean_s S_s(c)``): fixed by every discrete
    symmetry exactly and by continuous ones to the discretisation (on the axis).
    """
    c = np.asarray(info.min_xyz, dtype=np.float64) + np.asarray(info.size_xyz, dtype=np.float64) / 2
    if not info.symmetries.is_symmetric:
        return c
    Ts = info.symmetries.transforms(CENTRE_SYM_STEP)
    return (Ts[:, :3, :3] @ c + Ts[:, :3, 3]).mean(axis=0)


def view_rotation(t: ArrayLike) -> F64:
    """(3, 3) smallest rotation taking ``(0, 0, 1)`` onto the direction of ``t`` (3,), z > 0."""
    d = np.asarray(t, dtype=np.float64).reshape(3)
    n = np.linalg.norm(d)
    if not n > 0:
        raise ValueError("the object centre is at the camera centre")
    d = d / n
    v = np.cross([0.0, 0.0, 1.0], d)  # axis · sin(angle)
    c = d[2]
    if c <= -1.0 + 1e-12:
        raise ValueError("the object centre is behind the camera")
    vx = np.array([[0.0, -v[2], v[1]], [v[2], 0.0, -v[0]], [-v[1], v[0], 0.0]])
    return np.eye(3) + vx + vx @ vx / (1.0 + c)


def _scale(crop_camera: Camera, diameter: float) -> float:
    """Metres of depth per unit of ``z_n``."""
    if not diameter > 0:
        raise ValueError(f"diameter must be positive, got {diameter}")
    f = np.sqrt(crop_camera.fx * crop_camera.fy)
    return float(f * diameter / np.sqrt(crop_camera.width * crop_camera.height))


def encode_pose(
    T_cam_obj: Pose,
    crop_camera: Camera,
    diameter: float,
    *,
    centre_obj: ArrayLike = (0.0, 0.0, 0.0),
    allocentric: bool = True,
) -> PoseCode:
    """Code a GT pose for the crop whose intrinsics are ``crop_camera`` (see module doc)."""
    c_cam = T_cam_obj.transform(np.asarray(centre_obj, dtype=np.float64).reshape(3))
    if c_cam[2] <= 0:
        raise ValueError(f"the object centre is behind the camera (z = {c_cam[2]:.4f} m)")
    u, v = crop_camera.project(c_cam[None])[0]
    W, H = crop_camera.width, crop_camera.height
    trans = np.array([(u - (W - 1) / 2) / W, (v - (H - 1) / 2) / H, c_cam[2] / _scale(crop_camera, diameter)])
    R = view_rotation(c_cam).T @ T_cam_obj.R if allocentric else T_cam_obj.R
    return PoseCode(matrix_to_6d(R), trans)


def decode_pose(
    rot6d: ArrayLike,
    trans: ArrayLike,
    crop_camera: Camera,
    diameter: float,
    *,
    centre_obj: ArrayLike = (0.0, 0.0, 0.0),
    allocentric: bool = True,
    parent: str | None = "cam",
    child: str | None = "obj",
) -> Pose:
    """The inverse of :func:`encode_pose`: head outputs (6,), (3,) → ``T_cam_obj``."""
    dx, dy, z_n = np.asarray(trans, dtype=np.float64).reshape(3)
    if not z_n > 0:
        raise ValueError(f"scale-invariant depth must be positive, got {z_n}")
    W, H = crop_camera.width, crop_camera.height
    uv = np.array([[dx * W + (W - 1) / 2, dy * H + (H - 1) / 2]])
    c_cam = crop_camera.rays(uv)[0] * z_n * _scale(crop_camera, diameter)
    R = sixd_to_matrix(np.asarray(rot6d, dtype=np.float64).reshape(6))
    if allocentric:
        R = view_rotation(c_cam) @ R
    t = c_cam - R @ np.asarray(centre_obj, dtype=np.float64).reshape(3)
    return Pose(R, t, parent, child)
