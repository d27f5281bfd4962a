"""The rigid transform value type :class:`Pose`.

A pose named ``T_a_b`` maps points from frame ``b`` into frame ``a``:
``x_a = R @ x_b + t``. Products cancel inner frames:
``T_base_obj = T_base_cam @ T_cam_obj``. Translations are in metres.

Frames can optionally be named (``parent``/``child``); when both operands of ``@``
carry names, the inner ones must match, as kornia's ``NamedPose`` checks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rigidpose.geometry.rotations import (
    axis_angle_to_matrix,
    is_rotation,
    matrix_to_axis_angle,
    matrix_to_quat,
    quat_to_matrix,
    rotation_angle_between,
)


def _frozen(a: ArrayLike, shape: tuple[int, ...], name: str) -> NDArray[np.float64]:
    arr = np.array(a, dtype=np.float64)
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class Pose:
    """A rigid transform ``T_parent_child`` = (R, t).

    Attributes:
        R: (3, 3) rotation matrix, orthonormal with det +1 (checked to 1e-5).
        t: (3,) translation in metres.
        parent: optional name of the frame points are mapped into.
        child: optional name of the frame points are mapped from.
    """

    R: NDArray[np.float64]
    t: NDArray[np.float64]
    parent: str | None = None
    child: str | None = None

    def __post_init__(self) -> None:
        R = _frozen(self.R, (3, 3), "R")
        if not is_rotation(R, atol=1e-5):
            raise ValueError("R is not a rotation matrix (R^T R != I or det != +1)")
        object.__setattr__(self, "R", R)
        object.__setattr__(self, "t", _frozen(np.reshape(self.t, -1), (3,), "t"))

    # --- construction -------------------------------------------------------------
    @classmethod
    def identity(cls, parent: str | None = None, child: str | None = None) -> Pose:
        return cls(np.eye(3), np.zeros(3), parent, child)

    @classmethod
    def from_matrix(cls, T: ArrayLike, parent: str | None = None, child: str | None = None) -> Pose:
        """From a (4, 4) homogeneous matrix (bottom row must be ``[0, 0, 0, 1]``)."""
        T = np.asarray(T, dtype=np.float64)
        if T.shape != (4, 4):
            raise ValueError(f"expected a (4, 4) matrix, got {T.shape}")
        if not np.allclose(T[3], [0.0, 0.0, 0.0, 1.0], atol=1e-9):
            raise ValueError(f"bottom row of a rigid transform must be [0 0 0 1], got {T[3]}")
        return cls(T[:3, :3], T[:3, 3], parent, child)

    @classmethod
    def from_rvec_tvec(
        cls, rvec: ArrayLike, tvec: ArrayLike, parent: str | None = None, child: str | None = None
    ) -> Pose:
        """From OpenCV's axis-angle ``rvec`` (3,) in radians and ``tvec`` (3,) in metres."""
        return cls(axis_angle_to_matrix(np.reshape(rvec, 3)), np.reshape(tvec, 3), parent, child)

    @classmethod
    def from_quat(
        cls, quat_xyzw: ArrayLike, t: ArrayLike, parent: str | None = None, child: str | None = None
    ) -> Pose:
        """From a scalar-last quaternion (4,) and a translation (3,) in metres."""
        return cls(quat_to_matrix(quat_xyzw), t, parent, child)

    # --- conversion ---------------------------------------------------------------
    def as_matrix(self) -> NDArray[np.float64]:
        """(4, 4) homogeneous matrix."""
        T = np.eye(4)
        T[:3, :3] = self.R
        T[:3, 3] = self.t
        return T

    def to_rvec_tvec(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """OpenCV ``(rvec (3,), tvec (3,))``."""
        return matrix_to_axis_angle(self.R), self.t.copy()

    def quat(self) -> NDArray[np.float64]:
        """Scalar-last quaternion (4,) with ``w >= 0``."""
        return matrix_to_quat(self.R)

    # --- algebra ------------------------------------------------------------------
    def __matmul__(self, other: Pose) -> Pose:
        if not isinstance(other, Pose):
            return NotImplemented
        if self.child is not None and other.parent is not None and self.child != other.parent:
            raise ValueError(
                f"frame mismatch: T_{self.parent}_{self.child} @ T_{other.parent}_{other.child}"
            )
        return Pose(self.R @ other.R, self.R @ other.t + self.t, self.parent, other.child)

    def inv(self) -> Pose:
        """The inverse transform ``T_child_parent``."""
        Rt = self.R.T
        return Pose(Rt, -Rt @ self.t, self.child, self.parent)

    def transform(self, points: ArrayLike) -> NDArray[np.float64]:
        """Map points (N, 3) or (3,) from the child frame into the parent frame."""
        p = np.asarray(points, dtype=np.float64)
        return p @ self.R.T + self.t

    def renamed(self, parent: str | None, child: str | None) -> Pose:
        """The same transform with other frame names."""
        return Pose(self.R, self.t, parent, child)

    # --- comparison ---------------------------------------------------------------
    def angle_to(self, other: Pose) -> float:
        """Rotation angle in radians between the two poses' rotations, in [0, π]."""
        return float(rotation_angle_between(self.R, other.R))

    def distance_to(self, other: Pose) -> float:
        """Euclidean distance in metres between the two translations."""
        return float(np.linalg.norm(self.t - other.t))

    def allclose(self, other: Pose, rtol: float = 1e-7, atol: float = 1e-9) -> bool:
        return bool(
            np.allclose(self.R, other.R, rtol=rtol, atol=atol)
            and np.allclose(self.t, other.t, rtol=rtol, atol=atol)
        )

    def __repr__(self) -> str:
        name = f"T_{self.parent or '?'}_{self.child or '?'}"
        rv = matrix_to_axis_angle(self.R)
        return f"Pose({name}, rvec={np.round(rv, 4).tolist()}, t={np.round(self.t, 4).tolist()} m)"
