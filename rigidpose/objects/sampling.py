"""Deterministic sampling of a mesh surface, and farthest-point sampling of a point set."""

from __future__ import annotations

import numpy as np
import trimesh
from numpy.typing import ArrayLike, NDArray

F64 = NDArray[np.float64]

#: Seed of the surface samples, so the same mesh always gives the same points.
SURFACE_SEED = 20240611


def sample_surface(mesh: trimesh.Trimesh, n: int, seed: int = SURFACE_SEED) -> F64:
    """``n`` points (n, 3) uniformly distributed over the area of ``mesh``, deterministic for a seed.

    Faces are drawn in proportion to their area, then a uniform barycentric point in each.
    """
    if n < 1:
        raise ValueError(f"number of surface points must be positive, got {n}")
    rng = np.random.default_rng(seed)
    tri = np.asarray(mesh.vertices, dtype=np.float64)[np.asarray(mesh.faces)]
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    cdf = np.cumsum(area)
    face = np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right")
    face = np.minimum(face, len(tri) - 1)
    u, v = rng.random(n), rng.random(n)
    flip = u + v > 1.0
    u[flip], v[flip] = 1.0 - u[flip], 1.0 - v[flip]
    t = tri[face]
    return t[:, 0] + u[:, None] * (t[:, 1] - t[:, 0]) + v[:, None] * (t[:, 2] - t[:, 0])


def farthest_point_sampling(points: ArrayLike, k: int, start: ArrayLike | None = None) -> F64:
    """``k`` rows of ``points`` (N, 3) chosen greedily, each the farthest from those chosen so far.

    Args:
        points: (N, 3) candidates.
        k: how many to choose (1 ≤ k ≤ N).
        start: (3,) a reference point: the first choice is the candidate farthest from
            it (default: the mean of ``points``). Deterministic, no randomness.

    Returns:
        (k, 3) the chosen points, in the order chosen.
    """
    p = np.asarray(points, dtype=np.float64)
    if not 1 <= k <= len(p):
        raise ValueError(f"k must be between 1 and {len(p)}, got {k}")
    ref = p.mean(axis=0) if start is None else np.asarray(start, dtype=np.float64).reshape(3)
    dist = np.linalg.norm(p - ref, axis=1)
    chosen = np.empty(k, dtype=np.int64)
    chosen[0] = int(np.argmax(dist))
    dist = np.linalg.norm(p - p[chosen[0]], axis=1)
    for i in range(1, k):
        chosen[i] = int(np.argmax(dist))
        dist = np.minimum(dist, np.linalg.norm(p - p[chosen[i]], axis=1))
    return p[chosen].copy()
