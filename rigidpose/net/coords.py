"""Dense object coordinates: per-cell 3D model points as a training target and a PnP input (numpy).

Besides the sparse keypoints, PoseNet can predict for every stride-4 cell of its crop
the point of the object's surface seen there, in the object frame (CDPN, GDR-Net). Every
visible cell supervises the network, not only the K keypoint peaks, and PnP-RANSAC gets
hundreds of correspondences instead of K.

Coordinates are normalised isotropically: ``X_n = (X − c) / d`` with ``c`` the centre of
the model's bounding box and ``d`` its diameter (metres), so every component lies in
about [−0.5, 0.5] and an L1 error of 0.01 is 1 % of the diameter.

Targets come from the rendered depth: the depth at each cell centre, back-projected
through the crop camera and moved into the object frame with the (symmetry-canonical)
GT pose. The synthetic depth is exact, so no mesh ray casting is needed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from rigidpose.geometry import Camera, Pose
from rigidpose.objects import ModelInfo

F64 = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class CoordFrame:
    """The normalisation of one object's coordinates: ``X_n = (X − centre) / scale``.

    Attributes:
        centre: (3,) object frame, metres (the bounding-box centre).
        scale: metres per unit (the diameter).
    """

    centre: F64
    scale: float

    @classmethod
    def of(cls, info: ModelInfo) -> CoordFrame:
        c = np.asarray(info.min_xyz, np.float64) + np.asarray(info.size_xyz, np.float64) / 2
        return cls(c, float(info.diameter))

    def normalise(self, points_obj: NDArray) -> F64:
        """Object points (..., 3) in metres → normalised coordinates (..., 3)."""
        return (np.asarray(points_obj, np.float64) - self.centre) / self.scale

    def denormalise(self, coords: NDArray) -> F64:
        """Normalised coordinates (..., 3) → object points (..., 3) in metres."""
        return np.asarray(coords, np.float64) * self.scale + self.centre


def cell_grid(h: int, w: int) -> F64:
    """(h·w, 2) pixel centres ``(u, v)`` of an h × w grid, row-major (flat index ``v·w + u``)."""
    v, u = np.mgrid[0:h, 0:w]
    return np.stack([u.ravel(), v.ravel()], axis=1).astype(np.float64)


def coordinate_targets(
    depth: NDArray, mask: NDArray, camera: Camera, T_cam_obj: Pose, frame: CoordFrame
) -> tuple[NDArray[np.float32], NDArray[np.bool_]]:
    """Normalised object coordinates of the cells of a crop.

    Args:
        depth: (h, w) metres at the cell centres (0 or non-finite = none), e.g. the image
            depth warped to the output grid with nearest sampling.
        mask: (h, w) bool, the object's visible mask sampled the same way.
        camera: the camera of that (h, w) grid (``Camera.cropped(box, (w, h))``).
        T_cam_obj: the pose the coordinates are expressed in (symmetry-canonical for
            symmetric objects, like the keypoint targets).
        frame: the object's normalisation.

    Returns:
        coords (3, h, w) float32 (0 where invalid) and valid (h, w) bool: visible cells
        with a finite, positive depth.
    """
    h, w = depth.shape
    z = np.asarray(depth, np.float64).ravel()
    valid = np.asarray(mask, bool).ravel() & np.isfinite(z) & (z > 0)
    coords = np.zeros((h * w, 3))
    if valid.any():
        p_cam = camera.backproject_pixels(cell_grid(h, w)[valid], z[valid])
        coords[valid] = frame.normalise(T_cam_obj.inv().transform(p_cam))
    return coords.T.reshape(3, h, w).astype(np.float32), valid.reshape(h, w)


def dense_correspondences(
    coords: NDArray, prob: NDArray, frame: CoordFrame, stride: int, min_prob: float = 0.5, max_points: int = 400
) -> tuple[F64, F64, F64]:
    """2D–3D correspondences from predicted coordinates, for PnP.

    Args:
        coords: (3, h, w) predicted normalised coordinates.
        prob: (h, w) visible-mask probabilities; cells below ``min_prob``, and cells with
            non-finite coordinates, are dropped.
        frame: the object's normalisation.
        stride: input (crop) pixels per cell.
        max_points: keep at most this many cells (the most probable).

    Returns:
        points_obj (N, 3) metres, pixels (N, 2) in crop (network-input) pixels and
        weights (N,) = the mask probabilities.
    """
    h, w = prob.shape
    p = np.asarray(prob, np.float64).ravel()
    c = np.asarray(coords, np.float64).reshape(3, -1)
    keep = np.flatnonzero((p >= min_prob) & np.isfinite(c).all(axis=0))  # a diverged network's NaNs are dropped
    if keep.size > max_points:
        keep = keep[np.argsort(-p[keep], kind="stable")[:max_points]]
    X = frame.denormalise(c.T[keep])
    uv = (cell_grid(h, w)[keep] + 0.5) * stride - 0.5
    return X, uv, p[keep]
