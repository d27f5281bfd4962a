"""The RGB pose of one crop: PnP-RANSAC over the coordinate head's dense correspondences (or
the keypoints, for networks without that head), fused with the direct head.

A coordinate head gives one 2D–3D correspondence per visible cell of the crop, a few
hundred per instance (:mod:`rigidpose.net.coords`). :func:`dense_inliers` finds the
RANSAC inliers with an inlier threshold of 1.5 cells in image pixels (at least 3 px), so
that it follows the crop's zoom; the fusion stage (:mod:`.fuse`) then treats the inliers
like keypoints, weighted by their mask probabilities. The weighted inlier fraction is the
hypothesis' quality: it replaces the mean keypoint confidence in the estimate's score.
:func:`rgb_hypothesis` picks the correspondences by the fusion mode.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rigidpose.estimate.crop_predict import CropOutput, DenseCorrespondences
from rigidpose.estimate.fuse import FuseConfig, FusedPose, fuse_hypotheses
from rigidpose.estimate.pnp import PnPResult, solve_pnp
from rigidpose.geometry import Camera

#: Fewest correspondences (and RANSAC inliers) a dense pose needs.
MIN_DENSE = 12
#: Inlier threshold in cells (times the crop's cell size in image pixels), and its floor in pixels.
THRESHOLD_CELLS = 1.5
MIN_THRESHOLD_PX = 3.0


@dataclass(frozen=True, eq=False)
class DenseInliers:
    """The consistent part of a crop's dense correspondences.

    Attributes:
        inliers: the correspondences within the threshold of the RANSAC pose.
        quality: their share of the mask-probability weight of all correspondences, in [0, 1].
        pnp: the RANSAC pose, refined on the inliers (the fusion reuses it).
    """

    inliers: DenseCorrespondences
    quality: float
    pnp: PnPResult


def dense_inliers(crop: CropOutput, camera: Camera) -> DenseInliers | None:
    """RANSAC inliers of ``crop.dense`` in ``camera``'s image, or None when too few agree on a pose."""
    d = crop.dense
    if d is None or len(d.points_obj) < MIN_DENSE:
        return None
    cell_px = crop.crop_box[2] / crop.mask_logits.shape[0]
    threshold = max(MIN_THRESHOLD_PX, THRESHOLD_CELLS * cell_px)
    res = solve_pnp(d.points_obj, d.pixels, camera, d.weights, min_confidence=0.0, ransac_threshold_px=threshold)
    if res is None or res.inliers.sum() < MIN_DENSE:
        return None
    inl = res.inliers
    kept = DenseCorrespondences(d.points_obj[inl], d.pixels[inl], d.weights[inl])
    return DenseInliers(kept, float(d.weights[inl].sum() / max(d.weights.sum(), 1e-12)), res)


def rgb_hypothesis(crop: CropOutput, keypoints: np.ndarray, camera: Camera, diameter: float,
                   cfg: FuseConfig) -> tuple[FusedPose | None, float]:
    """The crop's RGB pose and its quality in [0, 1] (the estimate's score is the box's times it).

    Modes "fused" and "dense" use the dense inliers when the network has a coordinate head
    and enough of them agree ("fused" falls back to the keypoints otherwise); "keypoints"
    and "direct" ignore the coordinate head. The quality is the dense inliers' weight
    share, or the mean keypoint confidence.

    Args:
        keypoints: (K, 3) the model keypoints of the crop's object, metres.
        diameter: the object's diameter, metres.
    """
    dense = dense_inliers(crop, camera) if cfg.mode in ("fused", "dense") else None
    if dense is not None:
        d = dense.inliers
        fused = fuse_hypotheses(d.points_obj, d.pixels, d.weights, crop.direct_pose, camera, diameter, cfg,
                                solved=dense.pnp)
        return fused, dense.quality
    if cfg.mode == "dense":
        return None, 0.0
    fused = fuse_hypotheses(keypoints, crop.keypoints_px, crop.confidences, crop.direct_pose, camera, diameter, cfg)
    return fused, float(np.mean(crop.confidences))
