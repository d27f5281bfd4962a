"""One estimate per object instance in a frame: duplicate suppression after pose estimation.

A detector run at a low threshold often boxes one object twice (at two sizes, or shifted);
both crops lead to the same pose once ICP has pulled them onto the depth. BOP-style
evaluation, and a robot that grasps the best-scored parts, keep the best ``n`` estimates of
an object for its ``n`` instances, so a duplicate takes the place of another instance. An
estimate is a duplicate when the object's keypoints at its pose lie on average within
``separation`` × diameter of where a better-scored estimate of the same object puts them
(the ADD distance between the two poses over the keypoints, the minimum over the object's
symmetries): with the default 0.1 the two could not both be right by ADD-0.1d.

On the bracket benchmark (``benchmarks/accuracy.py``, with depth) this and the depth-led
score of the estimator took ADD-0.1d recall from 56.1 % to 69.7 % (docs/estimate.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from rigidpose.geometry import Pose
from rigidpose.net.card import CardObject

M = TypeVar("M")


def pose_gap(a: Pose, b: Pose, points: NDArray[np.float64], symmetries: NDArray[np.float64]) -> float:
    """Mean distance (m) between ``points`` (N, 3, object frame) at pose ``a`` and at pose ``b``,
    minimised over ``symmetries`` (S, 4, 4) of the object (identity included)."""
    pa = points @ a.R.T + a.t
    best = np.inf
    for S in symmetries:
        q = points @ S[:3, :3].T + S[:3, 3]
        best = min(best, float(np.mean(np.linalg.norm(pa - (q @ b.R.T + b.t), axis=1))))
    return best


def suppress_duplicates(measurements: Sequence[M], objects: Mapping[int, CardObject], separation: float = 0.1) -> list[M]:
    """The items of ``measurements`` (anything with an ``estimate``: a ``PoseEstimate``) that are
    not duplicates of a better-scored one, in their original order."""
    kept: list[M] = []
    for m in sorted(measurements, key=lambda m: -m.estimate.score):
        e = m.estimate
        obj = objects[e.obj_id]
        syms = obj.info.symmetries.transforms()
        limit = separation * obj.info.diameter
        if any(k.estimate.obj_id == e.obj_id and pose_gap(e.pose, k.estimate.pose, obj.keypoints, syms) < limit
               for k in kept):
            continue
        kept.append(m)
    chosen = {id(m) for m in kept}
    return [m for m in measurements if id(m) in chosen]
