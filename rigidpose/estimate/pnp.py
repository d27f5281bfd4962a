"""Pose from 2D–3D keypoint correspondences: PnP-RANSAC, then weighted Gauss–Newton.

The keypoint network gives, for each model keypoint, a pixel position and a
confidence. :func:`solve_pnp` drops low-confidence keypoints, finds an inlier set with
``cv2.solvePnPRansac`` (SQPnP), refines on the inliers with confidence-weighted
Levenberg–Marquardt, and returns a covariance in the ROS ``PoseWithCovariance``
parametrisation (see :mod:`rigidpose.estimate.covariance`).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import ArrayLike, NDArray

from rigidpose.estimate.covariance import apply_perturbation, gauss_newton_covariance
from rigidpose.geometry import Camera, Pose, skew

F64 = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class PnPResult:
    """A PnP pose ``T_cam_obj`` with its inlier set, error and covariance.

    Attributes:
        pose: ``T_cam_obj`` (metres).
        inliers: (N,) bool, the correspondences used in the refinement.
        rmse_px: RMS reprojection error of the inliers, pixels (unweighted).
        covariance: (6, 6) in ROS order (x, y, z, rx, ry, rz), metres and radians.
    """

    pose: Pose
    inliers: NDArray[np.bool_]
    rmse_px: float
    covariance: F64


def reprojection_errors(pose: Pose, points_obj: ArrayLike, points_px: ArrayLike, camera: Camera) -> F64:
    """Pixel distances (N,) between observed pixels (N, 2) and the projected model points (N, 3)."""
    proj = camera.project(pose.transform(points_obj))
    err = np.linalg.norm(proj - np.asarray(points_px, dtype=np.float64), axis=1)
    return np.where(np.isfinite(err), err, np.inf)


def _residuals_and_jacobian(pose: Pose, X: F64, uv: F64, K: F64, sw: F64) -> tuple[F64, F64]:
    """Weighted residuals (2N,) and their Jacobian (2N, 6) for ideal (undistorted) pixels."""
    p = pose.transform(X)
    z = np.maximum(p[:, 2], 1e-9)
    fx, fy = K[0, 0], K[1, 1]
    proj = np.stack([fx * p[:, 0] / z + K[0, 1] * p[:, 1] / z + K[0, 2], fy * p[:, 1] / z + K[1, 2]], axis=1)
    r = ((proj - uv) * sw[:, None]).reshape(-1)
    d_proj = np.zeros((len(p), 2, 3))
    d_proj[:, 0, 0] = fx / z
    d_proj[:, 0, 1] = K[0, 1] / z
    d_proj[:, 0, 2] = -(fx * p[:, 0] + K[0, 1] * p[:, 1]) / z**2
    d_proj[:, 1, 1] = fy / z
    d_proj[:, 1, 2] = -fy * p[:, 1] / z**2
    d_point = np.concatenate([np.broadcast_to(np.eye(3), (len(p), 3, 3)), -skew(p - pose.t)], axis=2)
    J = (d_proj @ d_point) * sw[:, None, None]
    return r, J.reshape(-1, 6)


def refine_lm(
    pose: Pose, points_obj: F64, points_ideal_px: F64, K: F64, weights: F64, iterations: int = 15,
    normals: F64 | None = None,
) -> tuple[Pose, F64, F64]:
    """Weighted Levenberg–Marquardt on the reprojection error.

    Args:
        pose: initial ``T_cam_obj``.
        points_obj: (N, 3) model points, metres.
        points_ideal_px: (N, 2) undistorted pixels.
        K: (3, 3) intrinsics.
        weights: (N,) non-negative weights (keypoint confidences).
        normals: (N, 2) unit image directions, or None. When given, each residual is the
            reprojection error along its normal only (point-to-line, as for contour points,
            which may slide along their contour); otherwise both pixel coordinates.

    Returns:
        The refined pose, the weighted residuals (2N,; N with ``normals``) and their
        Jacobian (2N, 6; N, 6 with ``normals``).
    """
    sw = np.sqrt(np.asarray(weights, dtype=np.float64))
    n = None if normals is None else np.asarray(normals, dtype=np.float64).reshape(-1, 2)

    def residuals(p: Pose) -> tuple[F64, F64]:
        r, J = _residuals_and_jacobian(p, points_obj, points_ideal_px, K, sw)
        if n is None:
            return r, J
        return np.einsum("ij,ij->i", r.reshape(-1, 2), n), np.einsum("ijk,ij->ik", J.reshape(-1, 2, 6), n)

    r, J = residuals(pose)
    lam = 1e-3
    for _ in range(iterations):
        H = J.T @ J
        step = -np.linalg.solve(H + lam * np.diag(np.diag(H) + 1e-12), J.T @ r)
        candidate = apply_perturbation(pose, step)
        r2, J2 = residuals(candidate)
        if r2 @ r2 < r @ r:
            improvement = (r @ r - r2 @ r2) / max(r @ r, 1e-300)
            pose, r, J, lam = candidate, r2, J2, lam * 0.3
            if improvement < 1e-10:
                break
        else:
            lam *= 10.0
            if lam > 1e8:
                break
    return pose, r, J


def solve_pnp(
    points_obj: ArrayLike,
    points_px: ArrayLike,
    camera: Camera,
    confidences: ArrayLike | None = None,
    *,
    min_confidence: float = 0.05,
    ransac_threshold_px: float = 6.0,
    ransac_iterations: int = 100,
    pixel_sigma: float | None = None,
) -> PnPResult | None:
    """Estimate ``T_cam_obj`` from N ≥ 4 correspondences, or None when it cannot.

    Args:
        points_obj: (N, 3) model keypoints in the object frame, metres.
        points_px: (N, 2) detected pixels in the (distorted) image.
        camera: the image's camera.
        confidences: (N,) keypoint confidences in [0, 1]; None means all 1.
        min_confidence: keypoints below this are not used.
        ransac_threshold_px: inlier threshold of the RANSAC stage.
        pixel_sigma: known keypoint noise (px) for the covariance; None estimates it
            from the residuals.
    """
    X = np.asarray(points_obj, dtype=np.float64).reshape(-1, 3)
    uv = np.asarray(points_px, dtype=np.float64).reshape(-1, 2)
    w = np.ones(len(X)) if confidences is None else np.asarray(confidences, dtype=np.float64).reshape(-1)
    if not (len(X) == len(uv) == len(w)):
        raise ValueError(f"got {len(X)} model points, {len(uv)} pixels and {len(w)} confidences")
    usable = np.isfinite(uv).all(axis=1) & np.isfinite(w) & (w >= min_confidence)
    if usable.sum() < 4:
        return None
    ideal = camera.undistort_points(uv[usable])
    try:
        ok, rvec, tvec, idx = cv2.solvePnPRansac(
            X[usable], ideal, camera.K, None,
            iterationsCount=ransac_iterations, reprojectionError=ransac_threshold_px,
            confidence=0.999, flags=cv2.SOLVEPNP_SQPNP,
        )
    except cv2.error:  # degenerate keypoints (SQPnP asserts when they nearly coincide): no PnP pose
        return None
    if not ok or idx is None or len(idx) < 4 or not np.all(np.isfinite(tvec)) or tvec[2, 0] <= 0:
        return None
    inl = np.zeros(len(X), bool)
    inl[np.flatnonzero(usable)[idx.ravel()]] = True
    pose0 = Pose.from_rvec_tvec(rvec, tvec, "cam", "obj")
    ideal_all = camera.undistort_points(uv[inl])
    pose, r, J = refine_lm(pose0, X[inl], ideal_all, camera.K, w[inl])
    if pixel_sigma is None:
        cov = gauss_newton_covariance(J, r)
    else:
        cov = gauss_newton_covariance(J, r, sigma=pixel_sigma)
    err = reprojection_errors(pose, X[inl], uv[inl], camera)
    return PnPResult(pose, inl, float(np.sqrt(np.mean(err**2))), cov)
