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

from rigidpose.geometry import Pose, axis_angle_to_matrix

F64 = NDArray[np.float64]


def apply_perturbation(pose: Pose, delta: NDArray[np.float64]) -> Pose:
    """Pose updated by ``delta`` (6,) = (δt [m], δθ [rad]) in the ROS-order parametrisation."""
    d = np.asarray(delta, dtype=np.float64).reshape(6)
    return Pose(axis_angle_to_matrix(d[3:]) @ pose.R, pose.t + d[:3], pose.parent, pose.child)


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
