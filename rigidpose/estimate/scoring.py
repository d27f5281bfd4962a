"""An estimate's score: how the evidence for a pose becomes one number in [0, 1].

The score ranks the estimates of a frame. BOP evaluation keeps the best ``n`` estimates of
an object for its ``n`` instances, and a robot grasps the best-scored part first, so a wrong
estimate scored above a right one costs a target. The detector's box score is a weak witness
after minutes of training (docs/estimate.md, "Scores rank the estimates"), so the pose's fit
to the image leads and the box score enters with a small exponent.

- With depth (ICP accepted): box^:data:`BOX_SCORE_EXPONENT` × depth agreement ×
  edge^:data:`DEPTH_EDGE_POWER` (:func:`depth_score`).
- Without depth, where the silhouette stage ran: box^:data:`BOX_SCORE_EXPONENT` ×
  IoU^:data:`SILHOUETTE_IOU_POWER` × edge^:data:`SILHOUETTE_EDGE_POWER` (:func:`silhouette_score`).

``edge`` is the share of the model's edges at the pose (outline, creases, hole rims) that lie
on the image's edges (:mod:`.edges`), or None where the image region has no edges to compare.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from rigidpose.estimate.edges import EdgeConfig, ImageEdges, model_edges, visible_edges
from rigidpose.geometry import Camera, Pose

#: A depth-verified estimate scores ``box_score ** BOX_SCORE_EXPONENT × depth agreement (×
#: the edge term)``: the agreement of the model with the depth image and mask is a far better
#: witness than the box score of a detector trained for minutes (on the bracket benchmark the
#: right estimates' median box score was 0.10, the wrong ones' 0.02, while their agreement was
#: 0.88 against 0.0), so it leads; the box score still orders equally verified estimates and
#: carries the class. With the plain product, wrong estimates outranked right ones
#: (docs/estimate.md). A tracking estimator keeps the plain product (exponent 1): with 0.25,
#: boxes on other things passed the score threshold and started false tracks (0.40 per frame
#: against 0.19 with 1, on the tracking video; docs/benchmarks.md).
BOX_SCORE_EXPONENT = 0.25

#: A right silhouette fit overlaps the GrabCut-sharpened mask by 0.95–0.99, a wrong one by
#: 0.7–0.9 (medians 0.97 and 0.71 on the bracket benchmark): the plain IoU spread them too
#: little against the box score, and wrong fits in better-scored boxes ranked first. IoU⁸ ≈
#: exp(−8 (1 − IoU)): each 12 % of silhouette unexplained costs a factor e. On the bracket
#: benchmark's estimates this ranked the right pose first for 25 of 66 targets against 21
#: (docs/benchmarks.md, session 9), and at the CLI's score threshold of 0.3 it keeps 25 where
#: the plain product kept 13.
SILHOUETTE_IOU_POWER = 8

#: The edge term of a silhouette fit: about 0.9–0.99 for a right fit, 0.5–0.75 for wrong ones.
#: On the bracket benchmark the 4th power gave 39.4 % ADD-0.1d RGB-only, the 2nd 34.8 % (wrong
#: fits in other boxes ranked first), the 8th 39.4 % with fewer estimates over the threshold
#: (docs/benchmarks.md, session 11).
SILHOUETTE_EDGE_POWER = 4

#: The edge term of a depth-verified estimate. The depth agrees with the bracket fitted onto
#: a distractor's surface about as well as with a right pose (0.86–0.92), so such estimates
#: ranked above right ones; their edges do not lie on the image's (median 0.46 against 0.97).
#: On the bracket benchmark's depth row, ranking by score × edge^p with the edges the depth
#: does not hide put a right estimate in the top n for 49 of 66 targets with p = 0, 55 with
#: p = 1–2 and 54 with p = 3–4 (with every edge counted: 54 for p = 1–6, 51 for p = 8), and
#: kept the mustard bottle's 59 of 67 for every p (docs/benchmarks.md, session 12). The cube,
#: tried again in session 18, fixed one of the mustard bottle's rankings and lost another
#: bottle to a wrong result with better edges.
DEPTH_EDGE_POWER = 2

#: A model edge with observed depth more than this × the diameter in front of the model's is
#: hidden (the tolerance of :func:`~rigidpose.estimate.global_reg.depth_agreement`).
OCCLUSION_TOLERANCE = 0.03

#: With less than this share of its edges seen, the seen ones say too little, and every edge
#: is scored, hidden ones too: the depth puts such a pose mostly behind other things' surfaces.
#: Before, such a pose had no edge term and ranked as if its edges had all been found; the
#: soup can fitted behind other things outranked right estimates, and scoring all edges took
#: its depth row from 89.9 to 94.2 % (docs/benchmarks.md, session 13).
MIN_VISIBLE_EDGES = 0.2

#: :func:`pose_edge_score` reads the image's edges in the image of the model's bounding box
#: grown by this × the diameter on every side.
EDGE_REGION_GROW = 0.15


def silhouette_score(iou: float, edge: float | None) -> float:
    """The witness of a silhouette fit, in [0, 1]: ``IoU ** SILHOUETTE_IOU_POWER × edge ** SILHOUETTE_EDGE_POWER``
    (no edge term where ``edge`` is None)."""
    return iou**SILHOUETTE_IOU_POWER * (1.0 if edge is None else edge**SILHOUETTE_EDGE_POWER)


def depth_score(agreement: float, edge: float | None) -> float:
    """The witness of a depth-verified pose, in [0, 1]: ``agreement × edge ** DEPTH_EDGE_POWER``
    (no edge term where ``edge`` is None)."""
    return agreement * (1.0 if edge is None else edge**DEPTH_EDGE_POWER)


def pose_edge_score(rgb: NDArray, caster, pose: Pose, camera: Camera, diameter: float,
                    config: EdgeConfig = EdgeConfig(), depth: NDArray | None = None,
                    image_edges: ImageEdges | None = None) -> float | None:
    """The share of the model's edges at ``pose`` (``T_cam_obj``) on the edges of ``rgb``
    (H, W, 3 uint8), in [0, 1]; None where it cannot say.

    ``diameter`` (metres) sizes the image region read: the image of the model's bounding box
    grown by :data:`EDGE_REGION_GROW` × ``diameter`` on every side. With ``depth`` (H, W,
    metres, 0 = invalid), model edges that the depth shows hidden behind something nearer (by
    more than :data:`OCCLUSION_TOLERANCE` × ``diameter``) are not scored: an occluder's outline
    does not run along them, unless fewer than :data:`MIN_VISIBLE_EDGES` of the model's edges
    are seen. None where the region has too few image edges
    (:attr:`~rigidpose.estimate.edges.ImageEdges.informative`) or the pose has no model edges
    in the image. ``image_edges``: the whole image's edges (``ImageEdges(rgb,
    (0, 0, W, H), config)``) where many poses of one image are scored; they are prepared from
    ``rgb`` here otherwise, for the pose's region alone.
    """
    roi = caster.footprint(pose, camera, EDGE_REGION_GROW * diameter)
    edges = ImageEdges(rgb, roi, config) if image_edges is None else image_edges
    if not edges.informative_in(roi):
        return None
    found = model_edges(caster, pose, camera, caster.footprint(pose, camera), config)
    seen = np.ones(len(found.uv), bool) if depth is None else visible_edges(found, depth, OCCLUSION_TOLERANCE * diameter)
    if not len(seen):
        return None
    if seen.mean() < MIN_VISIBLE_EDGES:
        return edges.score(found.uv, found.bins)
    return edges.score(found.uv[seen], found.bins[seen])
