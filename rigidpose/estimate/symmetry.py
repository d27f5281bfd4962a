"""A stable frame for symmetric objects.

A symmetric object's pose is ambiguous: ``T_cam_obj`` and ``T_cam_obj @ S`` look the
same for every symmetry ``S``. A robot needs a frame that does not flip from one frame
to the next, so the estimator reports the equivalent pose closest to a reference:
the previous pose when tracking, otherwise a canonical one (the equivalent whose
rotation is closest to the camera's axes, i.e. to the identity in the camera frame).
"""

from __future__ import annotations

import numpy as np

from rigidpose.geometry import Pose
from rigidpose.objects.symmetries import Symmetries

#: The canonical reference: the object frame aligned with the camera frame.
CANONICAL_R = np.eye(3)


def stable_pose(T_cam_obj: Pose, symmetries: Symmetries, reference: Pose | None = None) -> Pose:
    """The symmetry-equivalent of ``T_cam_obj`` whose rotation is closest to ``reference``.

    Args:
        T_cam_obj: any pose of the object.
        symmetries: the object's symmetries (object frame, metres).
        reference: the previous frame's pose; None uses the canonical reference.

    Returns ``T_cam_obj @ S`` for the best symmetry transform ``S`` (the identity for an
    asymmetric object). For continuous symmetries the choice is exact to BOP's
    discretisation step (0.01 rad) and then refined in closed form about the axis.
    """
    if not symmetries.is_symmetric:
        return T_cam_obj
    R_ref = CANONICAL_R if reference is None else reference.R
    S = symmetries.closest(R_ref, T_cam_obj.R)
    if symmetries.continuous:
        S = _refine_continuous(T_cam_obj, S, symmetries, R_ref)
    T = T_cam_obj.as_matrix() @ S
    return Pose.from_matrix(T, T_cam_obj.parent, T_cam_obj.child)


def _refine_continuous(T_cam_obj: Pose, S: np.ndarray, symmetries: Symmetries, R_ref: np.ndarray) -> np.ndarray:
    """Refine the angle about the continuous axis: maximise tr(R_refᵀ R S R_axis(φ))."""
    sym = symmetries.continuous[0]
    a = sym.axis  # in the object frame
    M = R_ref.T @ T_cam_obj.R @ S[:3, :3]
    # tr(M R(φ)) = c0 + c1 cos φ + c2 sin φ for a rotation about unit axis a.
    A = np.outer(a, a)
    K = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    c1 = np.trace(M @ (np.eye(3) - A))
    c2 = np.trace(M @ K)
    phi = float(np.arctan2(c2, c1))
    return S @ sym.transform(phi)


def transport_covariance(covariance: np.ndarray, T_before: Pose, T_after: Pose) -> np.ndarray:
    """The ROS-order covariance (6, 6) of ``T_before`` re-expressed for ``T_after = T_before @ S``.

    Both poses are the same physical estimate; only the object origin may move (a
    symmetry with an offset). A rotation δθ about the old origin moves the new origin by
    ``δθ × (t_after − t_before)``, so ``δt' = δt − [t_after − t_before]ₓ δθ``.
    """
    from rigidpose.geometry import skew

    J = np.eye(6)
    J[:3, 3:] = -skew(T_after.t - T_before.t)
    return J @ np.asarray(covariance, dtype=np.float64) @ J.T
