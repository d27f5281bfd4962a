"""Parameter uncertainty of the fisheye (equidistant) model, which OpenCV does not report.

The same estimate ``calibrateCameraExtended`` gives for the pinhole models: the residual
variance times the inverse of the Gauss-Newton normal matrix over intrinsics and every
view's pose, ``cov = s² (JᵀJ)⁻¹`` with ``s² = |r|² / (2N - p)``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from rigidpose.geometry import Camera

F64 = NDArray[np.float64]


def fisheye_std(views, camera: Camera, rvecs: F64, tvecs: F64) -> F64:
    """Standard deviations (8,) of fx, fy, cx, cy (px) and k1..k4 for a fisheye solve.

    Args:
        views: the n ``Detection`` objects the solve used.
        camera: the solved equidistant camera.
        rvecs, tvecs: (n, 3) board poses ``T_cam_board``.
    """
    import cv2

    n = len(views)
    n_pts = sum(len(v) for v in views)
    J = np.zeros((2 * n_pts, 8 + 6 * n))
    res = np.zeros(2 * n_pts)
    row = 0
    for i, v in enumerate(views):
        proj, jac = cv2.fisheye.projectPoints(v.object_points.reshape(1, -1, 3), rvecs[i], tvecs[i],
                                              camera.K, camera.dist)
        m = 2 * len(v)
        jac = np.asarray(jac).reshape(m, 15)
        J[row : row + m, :8] = jac[:, :8]  # f(2) c(2) k(4)
        J[row : row + m, 8 + 6 * i : 14 + 6 * i] = jac[:, 8:14]  # rvec(3) tvec(3)
        res[row : row + m] = (proj.reshape(-1, 2) - v.image_points).reshape(-1)
        row += m
    dof = max(1, J.shape[0] - J.shape[1])
    s2 = float(res @ res) / dof
    cov = s2 * np.linalg.pinv(J.T @ J)
    return np.sqrt(np.clip(np.diag(cov)[:8], 0.0, None))
