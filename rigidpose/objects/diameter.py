"""The diameter of a model: the largest distance between two of its vertices, exactly.

The two farthest points of a set are both vertices of its convex hull, so the
maximum is taken over the hull vertices only (a few hundred for a scanned mesh
instead of thousands), pairwise, in chunks that bound the memory.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial import ConvexHull, QhullError

#: Rows per chunk of the pairwise distance matrix (chunk x N float64).
_CHUNK = 1024


def max_pairwise_distance(points: ArrayLike, chunk: int = _CHUNK) -> float:
    """Largest Euclidean distance between two rows of ``points`` (N, D), by brute force in chunks.

    O(N²) time and O(chunk·N) memory; the reference for :func:`diameter`.
    """
    p = np.asarray(points, dtype=np.float64)
    if len(p) < 2:
        return 0.0
    sq = np.einsum("ij,ij->i", p, p)
    best = 0.0
    for start in range(0, len(p), chunk):
        block = p[start : start + chunk]
        d2 = sq[start : start + chunk, None] + sq[None, :] - 2.0 * block @ p.T
        best = max(best, float(d2.max()))
    return float(np.sqrt(max(best, 0.0)))


def hull_vertices(points: ArrayLike) -> NDArray[np.float64]:
    """The rows of ``points`` (N, 3) that are vertices of their convex hull (falls back to all rows).

    Flat or collinear point sets, where Qhull fails, return every point.
    """
    p = np.unique(np.asarray(points, dtype=np.float64), axis=0)
    if len(p) < 5:
        return p
    try:
        return p[ConvexHull(p).vertices]
    except (QhullError, ValueError):
        return p


def diameter(vertices: ArrayLike) -> float:
    """Largest distance between two vertices (N, 3), in the vertices' units. Exact.

    Computed over the convex hull's vertices, which contain the farthest pair.
    """
    return max_pairwise_distance(hull_vertices(vertices))
