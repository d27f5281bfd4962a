"""Pose covariance from least-squares Jacobians and residuals.

All pose perturbations in rigidpose.estimate use one parametrisation, chosen to match
ROS ``PoseWithCovariance``: ``δ = (δx, δy, δz, δθx, δθy, δθz)`` with

    t' = t + δt,        R' = exp([δθ]ₓ) R,

i.e. the translation and a small rotation about the fixed axes of the parent (camera)
frame, rotating about the object origin. Units: metres and radians.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from rigidpose.geometry import Camera, Pose, axis_angle_to_matrix, matrix_to_axis_angle

F64 = NDArray[np.float64]


def apply_perturbation(pose: Pose, delta: NDArray[np.float64]) -> Pose:
    """Pose updated by ``delta`` (6,) = (δt [m], δθ [rad]) in the ROS-order parametrisation."""
    d = np.asarray(delta, dtype=np.float64).reshape(6)
    return Pose(axis_angle_to_matrix(d[3:]) @ pose.R, pose.t + d[:3], pose.parent, pose.child)


def pose_difference(T_from: Pose, T_to: Pose) -> F64:
    """The perturbation δ (6,) with ``apply_perturbation(T_from, δ) == T_to`` (ROS order)."""
    return np.concatenate([T_to.t - T_from.t, matrix_to_axis_angle(T_to.R @ T_from.R.T)])


def displacement_covariance(T_from: Pose, T_to: Pose) -> F64:
    """(6, 6) ``δ δᵀ`` of the move δ = :func:`pose_difference` from ``T_from`` to ``T_to``: added to
    an estimate's covariance where two fits of it disagree by that much (the silhouette
    polish's move from the contour fit)."""
    d = pose_difference(T_from, T_to)
    return np.outer(d, d)


def outline_shift_covariance(pose: Pose, camera: Camera, shift_px: float = 1.0) -> F64:
    """(6, 6): the variance of ``pose``'s x and y (camera frame, metres) from a shift of a fitted
    outline as a whole by ``shift_px`` pixels (std) in ``camera``'s image. Unlike independent
    noise at each outline pixel, such a shift does not average out over the pixels."""
    z = float(pose.t[2])
    cov = np.zeros((6, 6))
    cov[0, 0] = (shift_px * z / camera.K[0, 0]) ** 2
    cov[1, 1] = (shift_px * z / camera.K[1, 1]) ** 2
    return cov


def correlation_time(series: F64, max_lag: int = 200) -> float:
    """Integrated autocorrelation time τ ≥ 1 of a residual ``series`` (N,) in its order.

    ``τ = 1 + 2 Σ ρ_k`` over the lags before the autocorrelation ρ first drops to 0 or below
    (Geyer's initial positive sequence), at most ``max_lag``. N residuals correlated over τ
    neighbours carry the information of N / τ independent ones, so a least-squares covariance
    that assumes independence is too small by the factor τ. Non-finite entries are left out;
    1 for fewer than 3 residuals or a constant series.
    """
    x = np.asarray(series, np.float64).ravel()
    x = x[np.isfinite(x)]
    n = len(x)
    if n < 3:
        return 1.0
    x = x - x.mean()
    var = float(x @ x)
    if var <= 0:
        return 1.0
    tau = 1.0
    for k in range(1, min(max_lag, n - 1) + 1):
        rho = float(x[:-k] @ x[k:]) / var
        if rho <= 0:
            break
        tau += 2.0 * rho
    return tau


def gauss_newton_covariance(J: F64, residuals: F64, sigma: float | None = None) -> F64:
    """Covariance (6, 6) of the least-squares estimate ``σ² (JᵀJ)⁻¹``.

    Args:
        J: (M, 6) Jacobian of the (already weighted) residuals w.r.t. the perturbation.
        residuals: (M,) weighted residuals at the optimum.
        sigma: the residual standard deviation when known; otherwise estimated as
            ``sqrt(Σr² / (M − 6))``.

    Directions the data does not constrain get a large but finite variance (the
    pseudo-inverse of a regularised information matrix), never NaN.
    """
    J = np.asarray(J, dtype=np.float64)
    r = np.asarray(residuals, dtype=np.float64).reshape(-1)
    dof = max(r.size - 6, 1)
    s2 = float(sigma) ** 2 if sigma is not None else float(r @ r) / dof
    info = J.T @ J
    scale = max(np.trace(info), 1e-12)
    cov = np.linalg.inv(info + 1e-9 * scale * np.eye(6))
    cov = 0.5 * (cov + cov.T)
    return s2 * cov


def fuse_information(*covariances: F64) -> F64:
    """Fuse independent Gaussian estimates of one pose: ``(Σ Σᵢ⁻¹)⁻¹``."""
    info = sum(np.linalg.inv(c + 1e-15 * np.eye(6)) for c in covariances)
    cov = np.linalg.inv(info)
    return 0.5 * (cov + cov.T)
