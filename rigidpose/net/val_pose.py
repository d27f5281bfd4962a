"""ADD(-S) recall of PoseNet's crops during validation: the keypoint head through PnP, the
direct head, and the dense coordinates through PnP-RANSAC.

Each validation crop carries its GT ``T_cam_obj`` and crop intrinsics. The keypoints go
through ``cv2.solvePnP`` (SQPnP, all K points, no RANSAC: the estimator's full PnP stage
with its confidence weighting lives in :mod:`rigidpose.estimate`, which ``net`` may not
import); the direct head's code is decoded with :func:`~rigidpose.net.pose_coding.decode_pose`.
A pose counts when its ADD (ADD-S for symmetric objects) is below 0.1 × the diameter, with
the BOP definitions that :mod:`rigidpose.eval.pose_error` implements (``net`` may not import
``eval``: DESIGN.md), checked against it in the tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from rigidpose.geometry import Camera
from rigidpose.net.coords import CoordFrame, dense_correspondences
from rigidpose.net.pose_coding import decode_pose


@dataclass(frozen=True, eq=False)
class ValObject:
    """What validation needs of one object (by its index in the network).

    Attributes:
        keypoints: (K, 3) model keypoints, metres. points: (N, 3) surface points, metres.
        diameter: metres. symmetric: score with ADD-S. centre: (3,) the pose code's centre.
        frame: the normalisation of its dense coordinates.
    """

    keypoints: NDArray[np.float64]
    points: NDArray[np.float64]
    diameter: float
    symmetric: bool
    centre: NDArray[np.float64]
    frame: CoordFrame | None = None


def add_error(R_e: NDArray, t_e: NDArray, R_g: NDArray, t_g: NDArray, points: NDArray, symmetric: bool) -> float:
    """ADD (m): mean distance between the ``points`` (N, 3) under the estimated and the GT pose;
    with ``symmetric``, ADD-S: from each GT-posed point to the nearest estimate-posed one."""
    e = points @ np.asarray(R_e).T + np.asarray(t_e).reshape(3)
    g = points @ np.asarray(R_g).T + np.asarray(t_g).reshape(3)
    if symmetric:
        return float(cKDTree(e).query(g, k=1)[0].mean())
    return float(np.linalg.norm(e - g, axis=1).mean())


def keypoint_pose(keypoints: NDArray, uv: NDArray, K: NDArray) -> tuple[NDArray, NDArray] | None:
    """``(R, t)`` from keypoints (K, 3) seen at crop pixels ``uv`` (K, 2) with intrinsics ``K``; None on failure."""
    try:
        ok, rvec, tvec = cv2.solvePnP(np.asarray(keypoints, np.float64), np.asarray(uv, np.float64),
                                      np.asarray(K, np.float64), None, flags=cv2.SOLVEPNP_SQPNP)
    except cv2.error:  # degenerate keypoints (all on one pixel, as an untrained head gives)
        return None
    if not ok or not np.all(np.isfinite(tvec)):
        return None
    return cv2.Rodrigues(rvec)[0], tvec.reshape(3)


def pose_recall_hits(batch: Mapping[str, NDArray], size: int, uv: NDArray, rot6d: NDArray, trans: NDArray,
                     objects: Mapping[int, ValObject], allocentric: bool) -> tuple[list[bool], list[bool]]:
    """Per sample of a validation batch: (keypoint pose within 0.1 d, direct pose within 0.1 d).

    Args:
        batch: numpy arrays ``pose`` (B, 4, 4) GT ``T_cam_obj``, ``K`` (B, 3, 3) crop
            intrinsics and ``obj_index`` (B,). size: the crop side, pixels.
        uv: (B, K, 2) decoded keypoints in crop pixels. rot6d: (B, 6). trans: (B, 3) codes.
        objects: network object index → :class:`ValObject`.
    """
    kp_hits, direct_hits = [], []
    for b in range(len(uv)):
        obj = objects[int(batch["obj_index"][b])]
        T = np.asarray(batch["pose"][b], np.float64)
        limit = 0.1 * obj.diameter
        K = np.asarray(batch["K"][b], np.float64)
        kp = keypoint_pose(obj.keypoints, uv[b], K)
        kp_hits.append(kp is not None and add_error(*kp, T[:3, :3], T[:3, 3], obj.points, obj.symmetric) < limit)
        try:
            P = decode_pose(rot6d[b], trans[b], Camera(K, size, size), obj.diameter, centre_obj=obj.centre,
                            allocentric=allocentric)
        except ValueError:  # a non-positive depth code: no direct pose
            direct_hits.append(False)
            continue
        direct_hits.append(add_error(P.R, P.t, T[:3, :3], T[:3, 3], obj.points, obj.symmetric) < limit)
    return kp_hits, direct_hits


def dense_pose(points_obj: NDArray, uv: NDArray, K: NDArray,
               threshold_px: float = 3.0) -> tuple[NDArray, NDArray] | None:
    """``(R, t)`` by PnP-RANSAC (EPnP, then LM on the inliers) on dense correspondences; None on failure."""
    if len(points_obj) < 6:
        return None
    try:
        ok, rvec, tvec, inl = cv2.solvePnPRansac(np.asarray(points_obj, np.float64), np.asarray(uv, np.float64),
                                                 np.asarray(K, np.float64), None, iterationsCount=100,
                                                 reprojectionError=threshold_px, flags=cv2.SOLVEPNP_EPNP)
    except cv2.error:
        return None
    if not ok or inl is None or len(inl) < 6 or not np.all(np.isfinite(tvec)) or tvec[2, 0] <= 0:
        return None
    return cv2.Rodrigues(rvec)[0], tvec.reshape(3)


def dense_recall_hits(batch: Mapping[str, NDArray], coords: NDArray, mask_prob: NDArray, stride: int,
                      objects: Mapping[int, ValObject]) -> list[bool]:
    """Per sample: is the PnP-RANSAC pose from the dense coordinates within ADD(-S) 0.1 d of the GT?

    Args:
        batch: as :func:`pose_recall_hits`. coords: (B, 3, h, w) predicted normalised
            coordinates. mask_prob: (B, h, w) visible-mask probabilities. stride: crop
            pixels per cell.
    """
    hits = []
    for b in range(len(coords)):
        obj = objects[int(batch["obj_index"][b])]
        T = np.asarray(batch["pose"][b], np.float64)
        X, uv, _ = dense_correspondences(coords[b], mask_prob[b], obj.frame, stride)
        est = dense_pose(X, uv, batch["K"][b])
        hits.append(est is not None and add_error(*est, T[:3, :3], T[:3, 3], obj.points, obj.symmetric)
                    < 0.1 * obj.diameter)
    return hits
