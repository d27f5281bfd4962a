"""Depth refinement: point-to-plane ICP between the visible model surface and the depth image.

The model's surface visible from the current estimate is ray-cast (exact points and
normals, :class:`~rigidpose.objects.raycast.MeshRaycaster`); the observed points are the
valid depth pixels inside the object's mask (or its rendered silhouette). open3d's
point-to-plane ICP with a Tukey kernel aligns them. The refinement is rejected, and the
input pose kept, when it diverges: too few observed points, low overlap, a large
residual, or a correction larger than the pose could plausibly be off.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from rigidpose.estimate.covariance import gauss_newton_covariance
from rigidpose.geometry import Camera, Pose
from rigidpose.objects.raycast import MeshRaycaster, clip_roi

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class IcpConfig:
    """Thresholds of :func:`refine_icp`; distances are fractions of the object diameter.

    Attributes:
        max_points: observed and model points are subsampled to at most this many. 1500
            (was 4000) took the depth row's ICP time per frame down by about a third with
            the same recall on three objects (docs/benchmarks.md, session 6).
        corr_dists: correspondence distances of the coarse-to-fine stages, × diameter.
        depth_gate: observed points further than this from the median depth of the
            model rendered at the current pose are background, × diameter.
        min_points: fewer valid observed points than this → not attempted.
        min_fitness: minimum fraction of observed points with a correspondence.
        max_rmse: maximum inlier RMS point-to-plane distance, × diameter.
        max_translation: maximum accepted correction, × diameter.
        max_rotation_deg: maximum accepted rotation correction, degrees.
    """

    max_points: int = 1500
    corr_dists: tuple[float, ...] = (0.1, 0.03)
    depth_gate: float = 1.0
    min_points: int = 50
    min_fitness: float = 0.5
    max_rmse: float = 0.02
    max_translation: float = 0.25
    max_rotation_deg: float = 30.0


@dataclass(frozen=True, eq=False)
class IcpResult:
    """Outcome of ICP. ``pose`` is the input pose when ``accepted`` is False.

    Attributes:
        pose: refined ``T_cam_obj``.
        accepted: whether the refinement passed every check.
        reason: why it was rejected ("" when accepted).
        fitness: fraction of observed points with a correspondence.
        rmse: inlier RMS point-to-plane distance, metres.
        covariance: (6, 6) ROS-order covariance from the point-to-plane Jacobian, or None.
    """

    pose: Pose
    accepted: bool
    reason: str = ""
    fitness: float = 0.0
    rmse: float = float("inf")
    covariance: F64 | None = None


def _subsample(a: NDArray, n: int) -> NDArray:
    """At most ``n`` of the rows of ``a``, evenly spaced (all of them when there are no more)."""
    if len(a) <= n:
        return a
    return a[np.linspace(0, len(a) - 1, n).astype(int)]


#: The observed depth is read in the image of the model's bounding box grown by this × the
#: diameter on every side (the pose being refined may be off by that much).
WINDOW_GROW = 0.15


def refine_icp(
    T_cam_obj: Pose,
    raycaster: MeshRaycaster,
    diameter: float,
    camera: Camera,
    depth: NDArray[np.float32],
    mask: NDArray[np.bool_] | None = None,
    config: IcpConfig = IcpConfig(),
) -> IcpResult:
    """Refine ``T_cam_obj`` against ``depth`` (H, W, metres, 0 = invalid).

    Args:
        raycaster: the object's mesh, for its visible surface at the current pose.
        diameter: object diameter, metres (scales every threshold).
        mask: optional (H, W) object mask. The observed points are the valid depth pixels
            inside it (where given) that lie within :data:`WINDOW_GROW` × ``diameter`` of the
            image of the model's bounding box at ``T_cam_obj``, and within the depth gate of
            the model's median depth there.
    """
    import open3d as o3d

    roi = raycaster.footprint(T_cam_obj, camera)
    model = raycaster.render(T_cam_obj, camera, roi, stride=2)
    if model.hit.sum() < config.max_points:  # every pixel, where every second one gives too few points
        model = raycaster.render(T_cam_obj, camera, roi)
    if model.roi[2] == 0 or model.hit.sum() < config.min_points:
        return IcpResult(T_cam_obj, False, "the object is not in view at this pose")
    x, y, w, h = clip_roi(raycaster.footprint(T_cam_obj, camera, WINDOW_GROW * diameter), camera)
    d_obs = np.asarray(np.asarray(depth)[y : y + h, x : x + w], dtype=np.float64)
    valid = np.isfinite(d_obs) & (d_obs > 0)
    if mask is not None:
        valid &= np.asarray(mask, bool)[y : y + h, x : x + w]
    z_model = np.where(model.hit, model.depth, np.nan)
    z_ref = np.nanmedian(z_model) if np.any(model.hit) else T_cam_obj.t[2]
    valid &= np.abs(d_obs - z_ref) < config.depth_gate * diameter
    if valid.sum() < config.min_points:
        return IcpResult(T_cam_obj, False, f"only {int(valid.sum())} valid depth points on the object")
    # both sets evenly subsampled before they are back-projected (undistorting costs per pixel)
    v, u = (_subsample(a, config.max_points) for a in np.nonzero(valid))
    observed = camera.backproject_pixels(np.stack([u + x, v + y], 1).astype(np.float64), d_obs[v, u])
    vm, um = (_subsample(a, config.max_points) for a in np.nonzero(model.hit))
    model_pts = camera.backproject_pixels(model.pixels(vm, um), model.depth[vm, um])
    model_nrm = model.normals[vm, um].astype(np.float64)

    src = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(observed))
    tgt = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(model_pts))
    tgt.normals = o3d.utility.Vector3dVector(model_nrm)
    delta = np.eye(4)
    reg = None
    for frac in config.corr_dists:
        dist = frac * diameter
        est = o3d.pipelines.registration.TransformationEstimationPointToPlane(
            o3d.pipelines.registration.TukeyLoss(k=dist)
        )
        reg = o3d.pipelines.registration.registration_icp(
            src, tgt, dist, delta, est, o3d.pipelines.registration.ICPConvergenceCriteria(max_iteration=30)
        )
        delta = np.asarray(reg.transformation)
    # delta maps observed points onto the model rendered at T; the object is at delta⁻¹ T.
    T_obs_model = Pose.from_matrix(delta)
    refined = Pose.from_matrix(T_obs_model.inv().as_matrix() @ T_cam_obj.as_matrix(), "cam", "obj")
    fitness, rmse = float(reg.fitness), float(reg.inlier_rmse)
    shift = T_cam_obj.distance_to(refined)
    turn = np.degrees(T_cam_obj.angle_to(refined))
    reason = ""
    if fitness < config.min_fitness:
        reason = f"low overlap (fitness {fitness:.2f} < {config.min_fitness})"
    elif rmse > config.max_rmse * diameter:
        reason = f"large residual ({rmse * 1000:.1f} mm)"
    elif shift > config.max_translation * diameter or turn > config.max_rotation_deg:
        reason = f"correction too large ({shift * 1000:.0f} mm, {turn:.0f} deg)"
    if reason:
        return IcpResult(T_cam_obj, False, reason, fitness, rmse)
    cov = _point_to_plane_covariance(refined, T_cam_obj, src, tgt, model_nrm, config.corr_dists[-1] * diameter)
    return IcpResult(refined, True, "", fitness, rmse, cov)


def _point_to_plane_covariance(refined: Pose, T_init: Pose, src, tgt, normals: F64, dist: float) -> F64 | None:
    """Covariance of the refined pose from the final point-to-plane correspondences."""
    from scipy.spatial import cKDTree

    # Model points and normals move with the pose: express them at the refined pose.
    T_move = refined.as_matrix() @ T_init.inv().as_matrix()
    q = np.asarray(tgt.points) @ T_move[:3, :3].T + T_move[:3, 3]
    n = normals @ T_move[:3, :3].T
    obs = np.asarray(src.points)
    d, i_mod = cKDTree(q).query(obs, distance_upper_bound=dist)
    i_obs = np.flatnonzero(np.isfinite(d))
    if len(i_obs) < 12:
        return None
    i_mod = i_mod[i_obs]
    qm, nm = q[i_mod], n[i_mod]
    r = np.sum(nm * (qm - obs[i_obs]), axis=1)
    J = np.concatenate([nm, np.cross(qm - refined.t, nm)], axis=1)
    return gauss_newton_covariance(J, r)
