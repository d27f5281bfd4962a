"""Millimetre ↔ metre conversion for the BOP format. The ONLY place in rigidpose that scales by 1000.

BOP stores lengths (translations, diameters, depth after ``depth_scale``) in millimetres;
rigidpose uses metres everywhere inside.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rigidpose.errors import DataError
from rigidpose.geometry import Pose
from rigidpose.geometry.rotations import is_rotation, project_to_so3

#: Millimetres in one metre.
MM_PER_M = 1000.0

#: Largest deviation from orthonormality accepted for a rotation read from a file
#: (BOP files store rotations with ~7 significant digits); such a matrix is
#: re-orthonormalised.
ROTATION_TOL = 1e-3


def mm_to_m(x: ArrayLike) -> NDArray[np.float64] | float:
    """Millimetres → metres (array or scalar)."""
    a = np.asarray(x, dtype=np.float64) / MM_PER_M
    return float(a) if a.ndim == 0 else a


def m_to_mm(x: ArrayLike) -> NDArray[np.float64] | float:
    """Metres → millimetres (array or scalar)."""
    a = np.asarray(x, dtype=np.float64) * MM_PER_M
    return float(a) if a.ndim == 0 else a


def rotation_from_values(R9: ArrayLike, where: str) -> NDArray[np.float64]:
    """9 row-major values → (3, 3) rotation; re-orthonormalised if within :data:`ROTATION_TOL`."""
    R = np.asarray(R9, dtype=np.float64).reshape(3, 3)
    if not np.all(np.isfinite(R)):
        raise DataError(f"{where}: rotation has non-finite values")
    if not is_rotation(R, atol=ROTATION_TOL):
        raise DataError(f"{where}: the 9 values are not a rotation matrix (R^T R != I or det != +1)")
    return R if is_rotation(R, atol=1e-9) else project_to_so3(R)


def pose_from_bop_mm(R9: ArrayLike, t_mm: ArrayLike, where: str,
                     parent: str | None = None, child: str | None = None) -> Pose:
    """BOP ``R`` (9 values, row-major) and ``t`` (3 values, **mm**) → :class:`Pose` in **metres**."""
    t = np.asarray(t_mm, dtype=np.float64).reshape(3)
    if not np.all(np.isfinite(t)):
        raise DataError(f"{where}: translation has non-finite values")
    return Pose(rotation_from_values(R9, where), mm_to_m(t), parent, child)


def pose_to_bop_mm(pose: Pose) -> tuple[list[float], list[float]]:
    """:class:`Pose` in metres → (R as 9 row-major floats, t as 3 floats in **mm**)."""
    return pose.R.ravel().tolist(), m_to_mm(pose.t).tolist()
