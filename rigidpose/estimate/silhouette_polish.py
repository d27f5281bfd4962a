"""A last local search of a silhouette fit on the score that ranks the fits, not on the mask.

Contour ICP (:mod:`.silhouette`) pulls a pose onto the mask's outline. A network's mask is
often damaged (a flange lost, background taken in), and then it pulls a nearly right pose
off the truth, while the image's edges (:mod:`.edges`) still show where the part is. The
fits are ranked by ``IoU × edge ** 4`` (:func:`~rigidpose.estimate.silhouette.fit_quality`),
so this step climbs that score directly around the winning fit: a pattern search that tries
a turn of ``rotation_deg`` about each camera axis through the object's centre and a shift
of ``translation`` × the diameter along each camera axis (twice that along the optical axis,
which the image constrains least), both ways; it takes the best move that raises the score,
and halves the steps when none does. The caller keeps the result only when it also scores
higher at full resolution.

Only fits that already score ``min_quality`` are polished: a poor fit is usually a wrong
view, which a local search does not mend, and most of the weak detector's boxes on other
things give such fits. On the bracket benchmark (docs/benchmarks.md, session 14) this took
RGB-only in ground-truth boxes from 32 to 35 of 66 targets and end to end from 26 to 27,
for 5 % more silhouette time per frame; on the textured YCB mustard bottle, whose outline
already fixes its pose, it gained nothing for 17 % more.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from rigidpose.geometry import Pose, axis_angle_to_matrix


@dataclass(frozen=True)
class PolishConfig:
    """Settings of :func:`polish_pose`.

    Attributes:
        min_quality: fits scoring less are not polished.
        rotation_deg: the first turn about each camera axis, degrees.
        translation: the first shift along the camera's x and y, × the object diameter
            (twice that along z).
        levels: how many step sizes are tried, each half the one before.
        sweeps: at most this many moves per step size.
    """

    min_quality: float = 0.4
    rotation_deg: float = 8.0
    translation: float = 0.06
    levels: int = 4
    sweeps: int = 6

    def __post_init__(self) -> None:
        if not (self.rotation_deg > 0 and self.translation > 0 and self.levels >= 1 and self.sweeps >= 1):
            raise ValueError(f"invalid polish settings {self}")


def moves(pose: Pose, centre: NDArray, diameter: float, step: float, config: PolishConfig) -> list[Pose]:
    """The 12 neighbours of ``pose`` (``T_cam_obj``) at ``step`` × the first step size: ± a turn
    about each camera axis through ``centre`` ((3,) object frame, metres), ± a shift along each."""
    c = pose.transform(np.asarray(centre, np.float64)[None])[0]
    T = pose.as_matrix()
    out = []
    for axis in range(3):
        for sign in (-1.0, 1.0):
            v = np.zeros(3)
            v[axis] = sign * step * np.radians(config.rotation_deg)
            R = axis_angle_to_matrix(v)
            M = np.eye(4)
            M[:3, :3], M[:3, 3] = R, c - R @ c
            out.append(Pose.from_matrix(M @ T, pose.parent, pose.child))
    for axis in range(3):
        for sign in (-1.0, 1.0):
            M = np.eye(4)
            M[axis, 3] = sign * step * config.translation * diameter * (2.0 if axis == 2 else 1.0)
            out.append(Pose.from_matrix(M @ T, pose.parent, pose.child))
    return out


def polish_pose(score: Callable[[Pose], float], pose: Pose, centre: NDArray, diameter: float,
                config: PolishConfig = PolishConfig()) -> tuple[Pose, float]:
    """Pattern search for a higher ``score(pose)`` near ``pose``; returns the best pose found and its score.

    ``centre``: (3,) the point turns are about, object frame, metres; ``diameter``: metres.
    At most ``levels × sweeps × 12 + 1`` calls of ``score``.
    """
    best = score(pose)
    step = 1.0
    for _ in range(config.levels):
        for _ in range(config.sweeps):
            scored = [(score(p), p) for p in moves(pose, centre, diameter, step, config)]
            top, candidate = max(scored, key=lambda s: s[0])
            if not top > best:
                break
            best, pose = top, candidate
        step *= 0.5
    return pose, best
