"""Rotation conversions, pure numpy, batched over leading dimensions.

Conventions:
- rotation matrices ``R`` have shape (..., 3, 3) and act on column vectors;
- quaternions are **scalar-last** ``(x, y, z, w)`` as in ROS and scipy, shape (..., 4);
  :func:`matrix_to_quat` returns the representative with ``w >= 0`` (q and -q are
  the same rotation);
- axis-angle vectors (OpenCV ``rvec``) have shape (..., 3) with the angle in radians
  as their norm;
- the 6D continuous representation (Zhou et al., CVPR 2019) is the first two columns
  of ``R`` concatenated, shape (..., 6).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

F64 = NDArray[np.float64]
_EYE = np.eye(3)

_EPS = 1e-12


def _as_rot(R: ArrayLike) -> F64:
    R = np.asarray(R, dtype=np.float64)
    if R.shape[-2:] != (3, 3):
        raise ValueError(f"expected rotation matrices of shape (..., 3, 3), got {R.shape}")
    return R


def quat_to_matrix(q: ArrayLike) -> F64:
    """Quaternion (..., 4) ``xyzw`` → rotation matrix (..., 3, 3). ``q`` is normalised first."""
    q = np.asarray(q, dtype=np.float64)
    if q.shape[-1] != 4:
        raise ValueError(f"expected quaternions of shape (..., 4), got {q.shape}")
    n = np.linalg.norm(q, axis=-1, keepdims=True)
    if np.any(n < _EPS):
        raise ValueError("zero-norm quaternion")
    x, y, z, w = np.moveaxis(q / n, -1, 0)
    R = np.stack(
        [
            1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w),
            2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
            2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y),
        ],
        axis=-1,
    )
    return R.reshape(q.shape[:-1] + (3, 3))


def matrix_to_quat(R: ArrayLike) -> F64:
    """Rotation matrix (..., 3, 3) → unit quaternion (..., 4) ``xyzw`` with ``w >= 0``.

    Uses the numerically stable branch on the largest diagonal term (Shepperd's method).
    """
    R = _as_rot(R)
    m = R.reshape(-1, 3, 3)
    out = np.empty((m.shape[0], 4))
    tr = np.trace(m, axis1=1, axis2=2)
    diag = np.diagonal(m, axis1=1, axis2=2)
    choice = np.argmax(np.concatenate([diag, tr[:, None]], axis=1), axis=1)
    for i in range(m.shape[0]):
        a = m[i]
        c = choice[i]
        if c == 3:
            s = 2.0 * np.sqrt(max(1.0 + tr[i], _EPS))
            q = [(a[2, 1] - a[1, 2]) / s, (a[0, 2] - a[2, 0]) / s, (a[1, 0] - a[0, 1]) / s, 0.25 * s]
        else:
            j, k = (c + 1) % 3, (c + 2) % 3
            s = 2.0 * np.sqrt(max(1.0 + a[c, c] - a[j, j] - a[k, k], _EPS))
            q = [0.0, 0.0, 0.0, (a[k, j] - a[j, k]) / s]
            q[c] = 0.25 * s
            q[j] = (a[j, c] + a[c, j]) / s
            q[k] = (a[k, c] + a[c, k]) / s
        out[i] = q
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    out[out[:, 3] < 0] *= -1.0
    return out.reshape(R.shape[:-2] + (4,))


def axis_angle_to_matrix(rvec: ArrayLike) -> F64:
    """Axis-angle (..., 3), angle in radians as the norm → rotation matrix (..., 3, 3) (Rodrigues)."""
    r = np.asarray(rvec, dtype=np.float64)
    if r.shape[-1] != 3:
        raise ValueError(f"expected axis-angle vectors of shape (..., 3), got {r.shape}")
    theta = np.linalg.norm(r, axis=-1)[..., None, None]
    K = skew(r)
    small = theta < 1e-8
    safe = np.where(small, 1.0, theta)
    a = np.where(small, 1.0 - theta**2 / 6.0, np.sin(safe) / safe)
    b = np.where(small, 0.5 - theta**2 / 24.0, (1.0 - np.cos(safe)) / safe**2)
    return np.eye(3) + a * K + b * (K @ K)


def matrix_to_axis_angle(R: ArrayLike) -> F64:
    """Rotation matrix (..., 3, 3) → axis-angle (..., 3) with angle in [0, π].

    Goes through the quaternion, which stays accurate near 0 and π.
    """
    q = matrix_to_quat(R)
    xyz, w = q[..., :3], q[..., 3]
    s = np.linalg.norm(xyz, axis=-1)
    angle = 2.0 * np.arctan2(s, w)
    scale = np.where(s < 1e-12, 2.0, angle / np.where(s < 1e-12, 1.0, s))
    return xyz * scale[..., None]


def matrix_to_6d(R: ArrayLike) -> F64:
    """Rotation matrix (..., 3, 3) → 6D representation (..., 6): columns 0 and 1 of ``R``."""
    R = _as_rot(R)
    return np.concatenate([R[..., :, 0], R[..., :, 1]], axis=-1)


def sixd_to_matrix(d6: ArrayLike) -> F64:
    """6D representation (..., 6) → rotation matrix (..., 3, 3) by Gram–Schmidt.

    Any input whose two 3-vectors are linearly independent maps to a valid rotation.
    """
    d = np.asarray(d6, dtype=np.float64)
    if d.shape[-1] != 6:
        raise ValueError(f"expected 6D rotations of shape (..., 6), got {d.shape}")
    a1, a2 = d[..., :3], d[..., 3:]
    b1 = a1 / np.maximum(np.linalg.norm(a1, axis=-1, keepdims=True), _EPS)
    a2p = a2 - np.sum(b1 * a2, axis=-1, keepdims=True) * b1
    b2 = a2p / np.maximum(np.linalg.norm(a2p, axis=-1, keepdims=True), _EPS)
    b3 = np.cross(b1, b2)
    return np.stack([b1, b2, b3], axis=-1)


def skew(v: ArrayLike) -> F64:
    """Vectors (..., 3) → skew-symmetric cross-product matrices (..., 3, 3): ``skew(a) @ b = a × b``."""
    v = np.asarray(v, dtype=np.float64)
    x, y, z = v[..., 0], v[..., 1], v[..., 2]
    o = np.zeros_like(x)
    return np.stack([o, -z, y, z, o, -x, -y, x, o], axis=-1).reshape(v.shape[:-1] + (3, 3))


def rotation_angle(R: ArrayLike) -> F64:
    """Angle in radians, in [0, π], of rotation matrices (..., 3, 3)."""
    R = _as_rot(R)
    c = (np.trace(R, axis1=-2, axis2=-1) - 1.0) / 2.0
    v = np.stack([R[..., 2, 1] - R[..., 1, 2], R[..., 0, 2] - R[..., 2, 0], R[..., 1, 0] - R[..., 0, 1]], -1)
    s = 0.5 * np.linalg.norm(v, axis=-1)
    # atan2 stays accurate near 0 where arccos loses half the digits.
    return np.arctan2(s, c)


def rotation_angle_between(R_a: ArrayLike, R_b: ArrayLike) -> F64:
    """Angle in radians of ``R_a^T R_b`` for matrices (..., 3, 3)."""
    return rotation_angle(np.swapaxes(_as_rot(R_a), -1, -2) @ _as_rot(R_b))


def project_to_so3(M: ArrayLike) -> F64:
    """Nearest rotation (Frobenius norm) to each matrix (..., 3, 3), through the SVD."""
    M = _as_rot(M)
    U, _, Vt = np.linalg.svd(M)
    d = np.sign(np.linalg.det(U @ Vt))
    D = np.zeros(M.shape)
    D[..., 0, 0] = 1.0
    D[..., 1, 1] = 1.0
    D[..., 2, 2] = d
    return U @ D @ Vt


def is_rotation(R: ArrayLike, atol: float = 1e-6) -> bool:
    """True when ``R`` (3, 3) is orthonormal with determinant +1 to within ``atol``."""
    R = np.asarray(R, dtype=np.float64)
    if R.shape != (3, 3) or not np.isfinite(R).all():
        return False
    # np.allclose(R.T @ R, I, atol=atol) written out (its rtol 1e-5 included): every Pose
    # is checked, and the silhouette and ICP searches build tens of thousands per frame
    if not (np.abs(R.T @ R - _EYE) <= atol + 1e-5 * _EYE).all():
        return False
    (a, b, c), (d, e, f), (g, h, i) = R.tolist()
    return abs(a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g) - 1.0) < atol  # det R = +1


def random_rotation(rng: np.random.Generator, size: int | None = None) -> F64:
    """Uniformly distributed rotations, (3, 3) or (size, 3, 3), from a seeded generator."""
    n = 1 if size is None else size
    q = rng.standard_normal((n, 4))
    R = quat_to_matrix(q)
    return R[0] if size is None else R
