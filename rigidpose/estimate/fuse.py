"""Fusion stage: the PnP hypothesis from the keypoints and the direct-head hypothesis.

Both hypotheses are scored by the confidence-weighted RMS reprojection error of the
network's keypoints. When the direct pose agrees with the keypoints (its error is under
a gate scaled by the object's apparent size), the two are fused by information
(``(Σ₁⁻¹ + Σ₂⁻¹)⁻¹``, in the ROS-order tangent space of the PnP pose); otherwise the
hypothesis with the lower error is kept, and the covariance follows the choice.

The direct head gives no uncertainty of its own: its covariance is a *prior* set in
:class:`FuseConfig` (rotation and relative translation sigmas), documented as such.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from rigidpose.estimate.covariance import apply_perturbation, fuse_information, pose_difference
from rigidpose.estimate.pnp import PnPResult, reprojection_errors, solve_pnp
from rigidpose.geometry import Camera, Pose

F64 = NDArray[np.float64]
MODES = ("fused", "keypoints", "direct", "dense")


@dataclass(frozen=True)
class FuseConfig:
    """Settings of :func:`fuse_hypotheses`.

    Attributes:
        mode: "fused" (choose or fuse), "keypoints" (PnP on the keypoints only), "direct" (direct
            head only) or "dense" (PnP on the dense coordinates only; see :mod:`.dense`). Here
            "dense" acts as "keypoints": the estimator passes the dense inliers as the points.
        min_confidence: keypoints below this confidence are ignored.
        gate_px / gate_rel: the direct pose is consistent when its keypoint error is below
            ``max(gate_px, gate_rel × apparent diameter in pixels)``.
        direct_rot_sigma_deg: prior rotation sigma of the direct head (per axis).
        direct_xy_sigma_rel / direct_z_sigma_rel: prior translation sigmas as fractions of the depth.
        ransac_threshold_px: PnP-RANSAC inlier threshold.
    """

    mode: str = "fused"
    min_confidence: float = 0.1
    gate_px: float = 3.0
    gate_rel: float = 0.05
    direct_rot_sigma_deg: float = 10.0
    direct_xy_sigma_rel: float = 0.01
    direct_z_sigma_rel: float = 0.05
    ransac_threshold_px: float = 6.0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"fusion mode must be one of {MODES}, got {self.mode!r}")


@dataclass(frozen=True, eq=False)
class FusedPose:
    """The outcome of the fusion stage.

    Attributes:
        pose: ``T_cam_obj``.
        covariance: (6, 6) ROS order, metres and radians.
        reprojection_px: weighted RMS keypoint reprojection error of ``pose``, pixels.
        source: "pnp", "direct" or "fused".
    """

    pose: Pose
    covariance: F64
    reprojection_px: float
    source: str


def keypoint_error(pose: Pose, points_obj: F64, points_px: F64, weights: F64, camera: Camera) -> float:
    """Weighted RMS reprojection error (px) of ``points_obj`` (N, 3) against ``points_px`` (N, 2)."""
    if weights.sum() <= 0 or pose.t[2] <= 0:
        return float("inf")
    err = reprojection_errors(pose, points_obj, points_px, camera)
    return float(np.sqrt(np.sum(weights * np.minimum(err, 1e6) ** 2) / weights.sum()))


def direct_prior_covariance(pose: Pose, cfg: FuseConfig) -> F64:
    """The direct head's prior covariance (6, 6), ROS order."""
    z = max(float(pose.t[2]), 1e-3)
    s = [cfg.direct_xy_sigma_rel * z] * 2 + [cfg.direct_z_sigma_rel * z] + [np.radians(cfg.direct_rot_sigma_deg)] * 3
    return np.diag(np.square(s))


def fuse_hypotheses(points_obj: F64, points_px: F64, confidences: F64, direct: Pose | None, camera: Camera,
                    diameter: float, cfg: FuseConfig = FuseConfig(),
                    solved: PnPResult | None = None) -> FusedPose | None:
    """Choose or fuse the PnP and direct hypotheses; None when neither exists.

    Args:
        points_obj: (K, 3) model keypoints, metres. points_px: (K, 2) image pixels.
        confidences: (K,) in [0, 1]. direct: the direct head's pose or None.
        diameter: object diameter, metres (for the gate).
        solved: a PnP result already found on these points (the dense stage's RANSAC), used
            instead of solving again.
    """
    X = np.asarray(points_obj, np.float64)
    uv = np.asarray(points_px, np.float64)
    w = np.where(np.asarray(confidences, np.float64) >= cfg.min_confidence, confidences, 0.0)
    pnp = solved
    if cfg.mode != "direct" and pnp is None:
        pnp = solve_pnp(X, uv, camera, w, min_confidence=cfg.min_confidence,
                        ransac_threshold_px=cfg.ransac_threshold_px)
    if cfg.mode in ("keypoints", "dense"):
        direct = None
    elif cfg.mode == "direct":
        pnp = None
    if direct is not None and direct.t[2] <= 0:
        direct = None
    e_pnp = keypoint_error(pnp.pose, X, uv, w, camera) if pnp else float("inf")
    e_dir = keypoint_error(direct, X, uv, w, camera) if direct is not None else float("inf")
    if pnp is None and direct is None:
        return None
    if pnp is None:
        return FusedPose(direct, direct_prior_covariance(direct, cfg), e_dir, "direct")
    if direct is None:
        return FusedPose(pnp.pose, pnp.covariance, e_pnp, "pnp")
    apparent = np.sqrt(camera.fx * camera.fy) * diameter / max(pnp.pose.t[2], 1e-6)
    gate = max(cfg.gate_px, cfg.gate_rel * apparent)
    if e_dir <= gate:
        C_dir = direct_prior_covariance(direct, cfg)
        cov = fuse_information(pnp.covariance, C_dir)
        delta = cov @ np.linalg.solve(C_dir, pose_difference(pnp.pose, direct))
        fused = apply_perturbation(pnp.pose, delta)
        return FusedPose(fused, cov, keypoint_error(fused, X, uv, w, camera), "fused")
    if e_dir < e_pnp:
        return FusedPose(direct, direct_prior_covariance(direct, cfg), e_dir, "direct")
    return FusedPose(pnp.pose, pnp.covariance, e_pnp, "pnp")
