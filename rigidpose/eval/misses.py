"""Where an estimator loses its targets: no box on it, a wrong pose in its box, or a right pose
that the ranking leaves out.

The recall says how many targets were found; this says why the others were not, which is the
first question of any change to the chain. Each ADD(-S) target (``visib_fract`` ≥ 0.1) gets one
outcome, checked in this order:

1. ``found``: the BOP protocol matches it at ADD(-S) < 0.1 d (the best-scoring ``n`` estimates
   of the object in the image, ``n`` its targets there; :mod:`.matching`), as the recall counts.
2. ``ranked out``: some estimate of the object in the image is within 0.1 d of it, but not
   one the protocol matched to it: the scores put it below others, or another target took it.
3. ``wrong pose``: no estimate is right, but one was made in a box that overlaps the
   target's visible box (``bbox_visib``) by IoU ≥ :data:`BOX_IOU`: the box was found and the
   pose stages failed in it.
4. ``no box``: no estimate's box overlaps it so. Estimates whose score fell under the
   estimator's threshold are not in the results, so their boxes count as not made.

It needs each estimate's box (``PoseEstimate.bbox``: the box the estimator cut its crop from,
the detector's or, RGB-only, a second crop's where it cut one), which the estimator gives in
process but a BOP results CSV does not hold; an estimate without one counts as in no box.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from rigidpose.bop import BopDataset, ResultRow
from rigidpose.eval import pose_error as pe
from rigidpose.eval.evaluate import EvalObject, eval_object, image_gt
from rigidpose.eval.matching import match_poses
from rigidpose.eval.recall import MIN_VISIB_FRACT, VisibilityRecall
from rigidpose.geometry.boxes import box_iou

#: The outcomes, in the order they are checked and reported.
OUTCOMES = ("found", "ranked out", "wrong pose", "no box")
#: An estimate was made in a target's box when its box overlaps the target's visible box by this much.
BOX_IOU = 0.5
#: ADD(-S) threshold, × the object's diameter.
ADD_THRESHOLD = 0.1


def classify(scores: Sequence[float], errors: NDArray, boxes: Sequence, gt_boxes: Sequence, valid: NDArray,
             threshold: float) -> list[int | None]:
    """The outcome (an index into :data:`OUTCOMES`) of each GT instance of one object in one image.

    Args:
        scores: (E,) the estimates' scores.
        errors: (E, G) ADD(-S) of every estimate against every GT instance, metres.
        boxes: E estimate boxes ``x, y, w, h`` (None where unknown).
        gt_boxes: G visible boxes of the GT instances.
        valid: (G,) bool, which instances are targets.
        threshold: ADD(-S) threshold, metres.

    Returns:
        G entries: None for an instance that is not a target.
    """
    valid = np.asarray(valid, bool)
    errors = np.asarray(errors, np.float64).reshape(len(scores), len(valid))
    matched = ({g for _, g in match_poses(scores, errors, threshold, valid, max_ests=int(valid.sum()))}
               if len(scores) else set())
    made = np.array([b for b in boxes if b is not None], np.float64).reshape(-1, 4)
    in_box = box_iou(made, np.asarray(gt_boxes, np.float64).reshape(-1, 4)).max(axis=0, initial=0.0) >= BOX_IOU
    out: list[int | None] = []
    for g, is_target in enumerate(valid):
        if not is_target:
            out.append(None)
        elif g in matched:
            out.append(0)
        elif np.any(errors[:, g] < threshold):
            out.append(1)
        elif in_box[g]:
            out.append(2)
        else:
            out.append(3)
    return out


@dataclass
class MissBreakdown:
    """Targets per visibility bin and outcome: ``counts`` (N bins, len(OUTCOMES)), bins as
    :class:`~rigidpose.eval.recall.VisibilityRecall`'s."""

    bins: VisibilityRecall = field(default_factory=VisibilityRecall)
    counts: NDArray[np.int64] | None = None

    def __post_init__(self) -> None:
        if self.counts is None:
            self.counts = np.zeros((len(self.bins.edges) - 1, len(OUTCOMES)), np.int64)

    def add(self, visib_fract: float, outcome: int) -> None:
        b = int(self.bins.bins([visib_fract])[0])
        if b >= 0:
            self.counts[b, outcome] += 1

    def shares(self, min_visib: float = 0.0) -> tuple[NDArray[np.float64], int]:
        """The share of each outcome (len(OUTCOMES),) among the targets of the bins that start
        at ``min_visib`` or above, and their number."""
        keep = np.asarray(self.bins.edges[:-1]) >= min_visib - 1e-9
        c = self.counts[keep].sum(axis=0)
        n = int(c.sum())
        return c / max(n, 1), n

    def to_json(self) -> dict:
        return {"outcomes": list(OUTCOMES), "edges": list(self.bins.edges), "counts": self.counts.tolist()}


def where_lost(dataset: BopDataset, split: str, rows: Sequence[ResultRow], n_points: int = 1000) -> MissBreakdown:
    """The :class:`MissBreakdown` of ``rows`` against ``dataset``/``split`` (module doc).

    The objects' points and symmetries are the evaluation's (:func:`~.evaluate.eval_object`).
    Raises :class:`~rigidpose.errors.DataError` where :func:`~.evaluate.evaluate` would: an
    annotated object without models info, or ``scene_gt_info`` that disagrees with ``scene_gt``.
    """
    by_image: dict[tuple[int, int, int], list[ResultRow]] = defaultdict(list)
    for r in rows:
        by_image[(r.scene_id, r.im_id, r.estimate.obj_id)].append(r)
    out = MissBreakdown()
    objs: dict[int, EvalObject] = {}
    for scene in dataset.scenes(split):
        for im in sorted(dataset.gt(split, scene)):
            insts, infos = image_gt(dataset, split, scene, im)
            for obj_id in sorted({g.obj_id for g in insts}):
                obj = eval_object(dataset, objs, obj_id, n_points)
                idx = [k for k, g in enumerate(insts) if g.obj_id == obj_id]
                visib = [infos[k].visib_fract for k in idx]
                ests = [r.estimate for r in by_image.get((scene, im, obj_id), [])]
                err_fn = pe.adi if obj.symmetric else pe.add
                errors = np.array([[err_fn(e.pose.R, e.pose.t, insts[k].pose.R, insts[k].pose.t, obj.pts)
                                    for k in idx] for e in ests], np.float64).reshape(len(ests), len(idx))
                outcome = classify([e.score for e in ests], errors, [e.bbox for e in ests],
                                   [infos[k].bbox_visib for k in idx], np.array(visib) >= MIN_VISIB_FRACT,
                                   ADD_THRESHOLD * obj.diameter)
                for v, o in zip(visib, outcome):
                    if o is not None:
                        out.add(v, o)
    return out
