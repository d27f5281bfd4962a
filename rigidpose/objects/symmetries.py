"""Object symmetries as BOP describes them, in metres.

A symmetry is a rigid transform ``S`` of the object frame that leaves the object's
appearance unchanged, so ``T_cam_obj`` and ``T_cam_obj @ S`` are indistinguishable.
BOP's ``models_info.json`` lists *discrete* symmetries as 4x4 matrices and *continuous*
ones as an axis plus an offset (a point on the axis). Translations here are in
**metres**; ``rigidpose.bop`` converts to and from BOP's millimetres.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rigidpose.geometry.rotations import axis_angle_to_matrix, is_rotation

F64 = NDArray[np.float64]

#: BOP's default discretisation step for continuous symmetries, in radians.
BOP_MAX_SYM_DISC_STEP = 0.01


@dataclass(frozen=True, eq=False)
class ContinuousSymmetry:
    """Rotation by any angle about ``axis`` (3,) through the point ``offset`` (3,) in metres."""

    axis: F64
    offset: F64 = field(default_factory=lambda: np.zeros(3))

    def __post_init__(self) -> None:
        a = np.asarray(self.axis, dtype=np.float64).reshape(3)
        n = np.linalg.norm(a)
        if not np.isfinite(n) or n < 1e-9:
            raise ValueError(f"continuous symmetry axis must be a non-zero vector, got {a}")
        o = np.asarray(self.offset, dtype=np.float64).reshape(3)
        if not np.all(np.isfinite(o)):
            raise ValueError("continuous symmetry offset must be finite")
        object.__setattr__(self, "axis", a / n)
        object.__setattr__(self, "offset", o)

    def transform(self, angle: float) -> F64:
        """(4, 4) rotation by ``angle`` radians about the axis through the offset point."""
        R = axis_angle_to_matrix(self.axis * angle)
        T = np.eye(4)
        T[:3, :3] = R
        T[:3, 3] = self.offset - R @ self.offset
        return T


@dataclass(frozen=True, eq=False)
class Symmetries:
    """The symmetry group of an object.

    Attributes:
        discrete: (M, 4, 4) transforms, metres, not including the identity.
        continuous: continuous symmetries (at most one in practice).
    """

    discrete: F64 = field(default_factory=lambda: np.zeros((0, 4, 4)))
    continuous: tuple[ContinuousSymmetry, ...] = ()

    def __post_init__(self) -> None:
        d = np.asarray(self.discrete, dtype=np.float64).reshape(-1, 4, 4)
        for i, T in enumerate(d):
            if not is_rotation(T[:3, :3], atol=1e-4) or not np.allclose(T[3], [0, 0, 0, 1]):
                raise ValueError(f"discrete symmetry {i} is not a rigid transform")
        object.__setattr__(self, "discrete", d)
        object.__setattr__(self, "continuous", tuple(self.continuous))

    @classmethod
    def none(cls) -> Symmetries:
        return cls()

    @property
    def is_symmetric(self) -> bool:
        return len(self.discrete) > 0 or len(self.continuous) > 0

    def transforms(self, max_step: float = BOP_MAX_SYM_DISC_STEP) -> F64:
        """All symmetry transforms (S, 4, 4), the identity first.

        Continuous symmetries are discretised as bop_toolkit's
        ``get_symmetry_transformations`` does (``ceil(π / max_step)`` steps over 2π,
        combined with every discrete symmetry), except that the identity step is kept.
        """
        disc = np.concatenate([np.eye(4)[None], self.discrete], axis=0)
        if not self.continuous:
            return disc
        sym = self.continuous[0]
        n = int(np.ceil(np.pi / max_step))
        cont = np.stack([sym.transform(2.0 * np.pi * i / n) for i in range(n)])
        return np.einsum("cij,djk->cdik", cont, disc).reshape(-1, 4, 4)

    def fixed_point(self) -> F64:
        """(3,) a point of the object frame (metres) that every symmetry leaves in place: the
        mean of the origin's images (on a continuous axis; the origin itself without symmetry).

        Where this point is in the camera frame does not depend on which symmetry-equivalent
        pose is chosen, so distances between poses of a symmetric object are measured there:
        the origins of two equivalent poses can lie far apart when the model's origin is off
        its axis (YCB's soup can: 0.8 of its diameter).
        """
        return self.transforms(max_step=np.pi / 4)[:, :3, 3].mean(axis=0)

    def closest(self, R_ref: ArrayLike, R: ArrayLike, max_step: float = BOP_MAX_SYM_DISC_STEP) -> F64:
        """The symmetry transform (4, 4) ``S`` minimising the angle between ``R @ S[:3,:3]`` and ``R_ref``."""
        Ts = self.transforms(max_step)
        Rs = np.asarray(R, dtype=np.float64) @ Ts[:, :3, :3]
        cos = (np.einsum("ij,sij->s", np.asarray(R_ref, dtype=np.float64), Rs) - 1.0) / 2.0
        return Ts[int(np.argmax(cos))]
