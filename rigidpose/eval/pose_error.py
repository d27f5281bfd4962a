"""Pose errors as in bop_toolkit's ``pose_error.py``: one function per metric, arrays in, a number out.

Conventions: ``R_*`` (3, 3), ``t_*`` (3,) in metres map object points into the camera
frame (``T_cam_obj``); ``pts`` (N, 3) are object points in metres; ``syms`` is the
(S, 4, 4) array of ``Symmetries.transforms()`` (identity first, metres). Distances are
returned in metres, angles in radians, projection errors in pixels.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial import cKDTree

from rigidpose.eval.depth_render import DepthRenderer
from rigidpose.eval.recall import VSD_DELTA, VSD_TAUS
from rigidpose.geometry import Camera, Pose, rotation_angle_between

F64 = NDArray[np.float64]

#: Symmetries processed together in :func:`mssd` / :func:`mspd` (bounds memory to ~S·N·3 floats).
_SYM_CHUNK = 128


def transform_pts(pts: ArrayLike, R: ArrayLike, t: ArrayLike) -> F64:
    """``pts`` (N, 3) → ``pts @ R.T + t`` (N, 3)."""
    return np.asarray(pts, dtype=np.float64) @ np.asarray(R, dtype=np.float64).T + np.reshape(t, 3)


def project(K: ArrayLike | Camera, pts_cam: ArrayLike) -> F64:
    """Camera-frame points (..., 3) → pixels (..., 2) with a (3, 3) ``K`` or a :class:`Camera`."""
    p = np.asarray(pts_cam, dtype=np.float64)
    if isinstance(K, Camera):
        return K.project(p.reshape(-1, 3)).reshape(p.shape[:-1] + (2,))
    K = np.asarray(K, dtype=np.float64)
    uvw = p @ K.T
    return uvw[..., :2] / uvw[..., 2:3]


def add(R_e: ArrayLike, t_e: ArrayLike, R_g: ArrayLike, t_g: ArrayLike, pts: ArrayLike) -> float:
    """ADD: mean distance (m) between corresponding model points under the two poses."""
    d = transform_pts(pts, R_e, t_e) - transform_pts(pts, R_g, t_g)
    return float(np.linalg.norm(d, axis=1).mean())


def adi(R_e: ArrayLike, t_e: ArrayLike, R_g: ArrayLike, t_g: ArrayLike, pts: ArrayLike) -> float:
    """ADD-S / ADI: mean distance (m) from each GT-posed point to its nearest estimate-posed point.

    The nearest neighbour comes from a ``scipy.spatial.cKDTree``. Always ``adi <= add``.
    """
    pts_e = transform_pts(pts, R_e, t_e)
    pts_g = transform_pts(pts, R_g, t_g)
    dists, _ = cKDTree(pts_e).query(pts_g, k=1)
    return float(np.mean(dists))


add_s = adi


def _sym_gt_points(pts: F64, R_g: F64, t_g: F64, syms: F64) -> F64:
    """GT-posed points under each symmetry, (S, N, 3): ``R_g (S_R p + S_t) + t_g``."""
    R = np.einsum("ij,sjk->sik", R_g, syms[:, :3, :3])
    t = np.einsum("ij,sj->si", R_g, syms[:, :3, 3]) + t_g
    return np.einsum("nk,sjk->snj", pts, R) + t[:, None, :]


def _check_syms(syms: ArrayLike | None) -> F64:
    if syms is None:
        return np.eye(4)[None]
    s = np.asarray(syms, dtype=np.float64).reshape(-1, 4, 4)
    if s.shape[0] == 0:
        raise ValueError("syms must hold at least the identity")
    return s


def mssd(R_e: ArrayLike, t_e: ArrayLike, R_g: ArrayLike, t_g: ArrayLike, pts: ArrayLike,
         syms: ArrayLike | None) -> float:
    """MSSD: ``min over S of max over points`` of the 3D distance (m) to the symmetric GT pose."""
    pts = np.asarray(pts, dtype=np.float64)
    pts_e = transform_pts(pts, R_e, t_e)
    s = _check_syms(syms)
    R_g, t_g = np.asarray(R_g, dtype=np.float64), np.reshape(t_g, 3).astype(np.float64)
    best = np.inf
    for i in range(0, len(s), _SYM_CHUNK):
        g = _sym_gt_points(pts, R_g, t_g, s[i : i + _SYM_CHUNK])
        best = min(best, float(np.linalg.norm(g - pts_e, axis=2).max(axis=1).min()))
    return best


def mspd(R_e: ArrayLike, t_e: ArrayLike, R_g: ArrayLike, t_g: ArrayLike, K: ArrayLike | Camera,
         pts: ArrayLike, syms: ArrayLike | None) -> float:
    """MSPD: ``min over S of max over points`` of the 2D projection distance (px)."""
    pts = np.asarray(pts, dtype=np.float64)
    uv_e = project(K, transform_pts(pts, R_e, t_e))
    s = _check_syms(syms)
    R_g, t_g = np.asarray(R_g, dtype=np.float64), np.reshape(t_g, 3).astype(np.float64)
    best = np.inf
    for i in range(0, len(s), _SYM_CHUNK):
        uv_g = project(K, _sym_gt_points(pts, R_g, t_g, s[i : i + _SYM_CHUNK]))
        best = min(best, float(np.linalg.norm(uv_g - uv_e, axis=2).max(axis=1).min()))
    return best


def proj_2d(R_e: ArrayLike, t_e: ArrayLike, R_g: ArrayLike, t_g: ArrayLike, K: ArrayLike | Camera,
            pts: ArrayLike) -> float:
    """2D projection error: mean pixel distance between the projected model points."""
    uv_e = project(K, transform_pts(pts, R_e, t_e))
    uv_g = project(K, transform_pts(pts, R_g, t_g))
    return float(np.linalg.norm(uv_e - uv_g, axis=1).mean())


def re(R_e: ArrayLike, R_g: ArrayLike) -> float:
    """Rotation error: the angle (rad, in [0, π]) of ``R_e R_g^T``."""
    return float(rotation_angle_between(R_g, R_e))


def te(t_e: ArrayLike, t_g: ArrayLike) -> float:
    """Translation error: ``|t_e - t_g|`` in metres."""
    return float(np.linalg.norm(np.reshape(t_e, 3) - np.reshape(t_g, 3)))


def _estimate_visib_mask(d_test: F64, d_model: F64, delta: float) -> NDArray[np.bool_]:
    """bop_toolkit ``visibility._estimate_visib_mask`` in "bop19" mode (distances in m)."""
    return np.logical_and(np.logical_or(d_model - d_test <= delta, d_test == 0), d_model > 0)


def vsd(R_e: ArrayLike, t_e: ArrayLike, R_g: ArrayLike, t_g: ArrayLike, depth_test: ArrayLike,
        camera: Camera, renderer: DepthRenderer, diameter: float,
        taus: ArrayLike = VSD_TAUS, delta: float = VSD_DELTA,
        normalized_by_diameter: bool = True, depth_gt: ArrayLike | None = None,
        depth_est: ArrayLike | None = None) -> F64:
    """VSD (Visible Surface Discrepancy) as bop_toolkit defines it, one error per ``tau``.

    Args:
        depth_test: (H, W) depth of the test image in metres, 0 = invalid.
        camera: the test image's camera.
        renderer: ray-caster of the object mesh (metres, object frame).
        diameter: object diameter in metres.
        taus: misalignment tolerances; fractions of the diameter when
            ``normalized_by_diameter`` (BOP19+), else metres.
        delta: visibility tolerance in metres (BOP: 15 mm).
        depth_gt: the GT pose's rendered depth (H, W) in metres, when already known.
        depth_est: the estimated pose's rendered depth, when already known.

    Returns:
        (len(taus),) errors in [0, 1]; 1 where neither pose shows a visible surface.
    """
    taus = np.atleast_1d(np.asarray(taus, dtype=np.float64))
    depth_test = np.asarray(depth_test, dtype=np.float64)
    camera.check_image(depth_test, "depth image")
    d_est = renderer.render(Pose(R_e, t_e), camera) if depth_est is None else np.asarray(depth_est)
    d_gt = renderer.render(Pose(R_g, t_g), camera) if depth_gt is None else np.asarray(depth_gt)
    v, u = np.nonzero((d_est > 0) | (d_gt > 0))
    if v.size == 0:
        return np.ones_like(taus)
    # Depth (along z) → distance from the camera centre, on the pixels that matter only.
    ray_len = np.linalg.norm(camera.rays(np.stack([u, v], axis=1).astype(np.float64)), axis=1)
    dist_test = depth_test[v, u] * ray_len
    dist_gt = d_gt[v, u].astype(np.float64) * ray_len
    dist_est = d_est[v, u].astype(np.float64) * ray_len
    visib_gt = _estimate_visib_mask(dist_test, dist_gt, delta)
    visib_est = _estimate_visib_mask(dist_test, dist_est, delta)
    visib_est |= visib_gt & (dist_est > 0)
    inter = visib_gt & visib_est
    union_count = int(np.count_nonzero(visib_gt | visib_est))
    if union_count == 0:
        return np.ones_like(taus)
    comp_count = union_count - int(np.count_nonzero(inter))
    dists = np.abs(dist_gt[inter] - dist_est[inter])
    if normalized_by_diameter:
        dists = dists / diameter
    costs = (dists[None, :] >= taus[:, None]).sum(axis=1)
    return (costs + comp_count) / float(union_count)
