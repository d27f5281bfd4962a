"""Evaluate a results CSV against a BOP dataset: errors → matching → recall counts.

Everything is metres inside; thresholds are relative to the diameter from
``models_info.json``. Targets are the GT instances with ``visib_fract >= 0.1``; for each
image and object the best-scoring ``n_targets`` estimates are evaluated (BOP19).
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache, cached_property

import numpy as np
from numpy.typing import NDArray

from rigidpose.bop import BopDataset, ResultRow
from rigidpose.errors import DataError
from rigidpose.eval import pose_error as pe
from rigidpose.eval.depth_render import DepthRenderer
from rigidpose.eval.matching import count_matches, match_poses, top_estimates
from rigidpose.eval.recall import (ADD_CURVE_THRESHOLDS, ADD_THRESHOLD, MIN_VISIB_FRACT, VSD_TAUS, RecallCounts,
                                   VisibilityRecall, thresholds)
from rigidpose.eval.reliability import ScoreReliability
from rigidpose.geometry import Camera

#: Metrics ``evaluate`` knows, in report order.
METRICS = ("add", "mssd", "mspd", "vsd")


@dataclass
class EvalObject:
    """What the metrics need of one object (metres).

    Attributes:
        pts: (N, 3) uniformly sampled surface points (ADD, ADD-S).
        pts_max: (M, 3) the surface points plus the convex-hull vertices, where the
            maxima of MSSD/MSPD are attained.
        syms: (S, 4, 4) symmetry transforms, identity first.
    """

    obj_id: int
    diameter: float
    pts: NDArray[np.float64]
    pts_max: NDArray[np.float64]
    syms: NDArray[np.float64]
    vertices: NDArray[np.float64]
    faces: NDArray[np.int64]

    @property
    def symmetric(self) -> bool:
        return len(self.syms) > 1

    @cached_property
    def renderer(self) -> DepthRenderer:
        return DepthRenderer(self.vertices, self.faces)

    @classmethod
    def from_model(cls, model, diameter: float, syms: NDArray[np.float64], n_points: int = 1000) -> EvalObject:
        pts = np.asarray(model.surface_points(n_points), dtype=np.float64)
        hull = np.asarray(model.mesh.convex_hull.vertices, dtype=np.float64)
        return cls(int(model.obj_id), float(diameter), pts, np.vstack([pts, hull]), syms,
                   np.asarray(model.vertices, dtype=np.float64), np.asarray(model.faces))


@dataclass
class EvalResult:
    """Recall counts per metric plus bookkeeping and timing.

    ``add_curve`` counts ADD(-S) matches at every ``ADD_CURVE_THRESHOLDS`` level (for the
    recall-vs-threshold plot) when "add" is evaluated; the reported ADD(-S) stays at 0.1·d.
    ``add_by_visibility`` counts the ADD(-S) targets and correct matches at 0.1·d by how
    much of each target is in view. ``add_by_score`` judges every estimate, not only the best
    ``n``, for the precision and recall of those above a score threshold (:mod:`.reliability`).
    """

    metrics: tuple[str, ...]
    counts: dict[str, RecallCounts]
    add_curve: RecallCounts = field(default_factory=lambda: RecallCounts.empty(len(ADD_CURVE_THRESHOLDS)))
    add_by_visibility: VisibilityRecall = field(default_factory=VisibilityRecall)
    add_by_score: ScoreReliability = field(default_factory=ScoreReliability)
    n_images: int = 0
    n_estimates: int = 0
    n_estimates_evaluated: int = 0
    vsd_seconds: float = 0.0
    vsd_estimates: int = 0
    symmetric: dict[int, bool] = field(default_factory=dict)

    @property
    def obj_ids(self) -> list[int]:
        return sorted(next(iter(self.counts.values())).targets) if self.counts else []

    @property
    def vsd_seconds_per_estimate(self) -> float | None:
        return self.vsd_seconds / self.vsd_estimates if self.vsd_estimates else None


def _n_levels(metric: str) -> int:
    return len(thresholds(metric, 1.0, 640)) * (len(VSD_TAUS) if metric == "vsd" else 1)


def _errors(metric: str, obj: EvalObject, ests: list[ResultRow], gts: list, camera: Camera) -> NDArray:
    """(E, G) errors of one metric (for VSD: (T, E, G) over the taus)."""
    def one(e, g):
        a = (e.estimate.pose.R, e.estimate.pose.t, g.pose.R, g.pose.t)
        if metric == "add":
            return (pe.adi if obj.symmetric else pe.add)(*a, obj.pts)
        if metric == "mssd":
            return pe.mssd(*a, obj.pts_max, obj.syms)
        return pe.mspd(*a, camera, obj.pts_max, obj.syms)

    return np.array([[one(e, g) for g in gts] for e in ests], dtype=np.float64).reshape(len(ests), len(gts))


def evaluate(dataset: BopDataset, split: str, rows: list[ResultRow], metrics: tuple[str, ...] = METRICS,
             n_points: int = 1000, progress: bool = False) -> EvalResult:
    """Score ``rows`` against the GT of ``dataset``/``split`` with the BOP protocol.

    Every GT image of the split counts; estimates for images or objects without targets
    are ignored by the recall. ``add_by_score`` judges them too: an estimate of an object that
    is not in an annotated image is wrong there. Raises :class:`DataError` for missing or
    malformed dataset files.
    """
    from tqdm import tqdm

    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise DataError(f"unknown metric(s) {', '.join(unknown)}; choose from {', '.join(METRICS)}")
    by_image: dict[tuple[int, int, int], list[ResultRow]] = defaultdict(list)
    for r in rows:
        by_image[(r.scene_id, r.im_id, r.estimate.obj_id)].append(r)
    res = EvalResult(tuple(metrics), {m: RecallCounts.empty(_n_levels(m)) for m in metrics}, n_estimates=len(rows))
    images = [(s, i) for s in dataset.scenes(split) for i in sorted(dataset.gt(split, s))]
    objs: dict[int, EvalObject] = {}
    annotated: set[tuple[int, int, int]] = set()
    for scene_id, im_id in tqdm(images, desc="eval", unit="img", disable=not progress):
        res.n_images += 1
        present = _evaluate_image(dataset, split, scene_id, im_id, by_image, objs, res, n_points)
        annotated |= {(scene_id, im_id, k) for k in present}
    if "add" in res.metrics:  # poses of an object that is not in an annotated image are all wrong
        images_set = set(images)
        for key, cands in by_image.items():
            if key[:2] in images_set and key not in annotated:
                res.add_by_score.add([c.estimate.score for c in cands], np.zeros((len(cands), 0)), 0.0, [])
    res.symmetric = {k: o.symmetric for k, o in objs.items()}
    return res


def eval_object(dataset: BopDataset, objs: dict[int, EvalObject], obj_id: int, n_points: int) -> EvalObject:
    """The :class:`EvalObject` of ``obj_id``, made once into the cache ``objs``; ``DataError``
    when the dataset's models info lacks it."""
    if obj_id not in objs:
        infos = dataset.models_info
        if obj_id not in infos:
            raise DataError(f"object {obj_id} is annotated but missing from {dataset.models_dir / 'models_info.json'}")
        info = infos[obj_id]
        objs[obj_id] = EvalObject.from_model(dataset.models[obj_id], info.diameter,
                                             info.symmetries.transforms(), n_points)
    return objs[obj_id]


def image_gt(dataset: BopDataset, split: str, scene_id: int, im_id: int) -> tuple[list, list]:
    """The GT instances of one image and their ``scene_gt_info`` entries, aligned;
    ``DataError`` when the two files disagree on the image."""
    gts = dataset.gt(split, scene_id)[im_id]
    infos = dataset.gt_info(split, scene_id).get(im_id)
    if infos is None or len(infos) != len(gts):
        raise DataError(
            f"{dataset.scene_dir(split, scene_id) / 'scene_gt_info.json'}: image {im_id} needs "
            f"{len(gts)} entries to match scene_gt.json, found {0 if infos is None else len(infos)}"
        )
    return gts, infos


def _evaluate_image(dataset, split, scene_id, im_id, by_image, objs, res: EvalResult, n_points) -> set[int]:
    """Score one image's estimates into ``res``; returns the ids of the objects annotated in it."""
    gts, infos = image_gt(dataset, split, scene_id, im_id)
    camera = dataset.image_camera(split, scene_id, im_id).camera
    depth = cache(lambda: dataset.read_depth(split, scene_id, im_id))  # read once, when VSD first needs it
    for obj_id in sorted({g.obj_id for g in gts}):
        idx = [k for k, g in enumerate(gts) if g.obj_id == obj_id]
        visib = np.array([infos[k].visib_fract for k in idx])
        valid = visib >= MIN_VISIB_FRACT
        n_targets = int(valid.sum())
        for m in res.metrics:
            res.counts[m].add_targets(obj_id, n_targets)
        if "add" in res.metrics:
            res.add_curve.add_targets(obj_id, n_targets)
        cands = by_image.get((scene_id, im_id, obj_id), [])
        scores = [c.estimate.score for c in cands]
        obj_gts = [gts[k] for k in idx]
        add_all = None  # (E, G) ADD(-S) of every estimate: all are judged by score (.reliability)
        if "add" in res.metrics:
            if cands:
                obj = eval_object(dataset, objs, obj_id, n_points)
                add_all = _errors("add", obj, cands, obj_gts, camera)
                res.add_by_score.add(scores, add_all, ADD_THRESHOLD * obj.diameter, valid)
            else:  # its targets count; no object points are needed
                res.add_by_score.add([], np.zeros((0, len(idx))), 0.0, valid)
        matched = []
        if n_targets and cands:
            top = top_estimates(scores, n_targets)
            res.n_estimates_evaluated += len(top)
            obj = eval_object(dataset, objs, obj_id, n_points)
            matched = _score_object(obj, [cands[k] for k in top], obj_gts, valid, camera, depth, res,
                                    None if add_all is None else add_all[top])
        if "add" in res.metrics:
            res.add_by_visibility.add(visib, valid, matched)
    return {g.obj_id for g in gts}


def _score_object(obj: EvalObject, ests, gts, valid, camera: Camera, depth, res: EvalResult,
                  add_errors: NDArray | None = None) -> list[int]:
    """Count one image-object's correct matches for every metric; ``depth()`` gives the image's
    depth (VSD), ``add_errors`` (E, G) the ADD(-S) errors of ``ests`` where already computed.
    Returns the indices of the GT instances that ADD(-S) matched correctly."""
    scores = [e.estimate.score for e in ests]
    matched: list[int] = []
    for m in res.metrics:
        ths = thresholds(m, obj.diameter, camera.width)
        if m == "vsd":
            errs = _vsd_errors(obj, ests, gts, depth(), camera, res)
            counts = np.concatenate([count_matches(scores, E, ths, valid) for E in errs])
        else:
            errs = add_errors if m == "add" and add_errors is not None else _errors(m, obj, ests, gts, camera)
            if m == "add":  # one threshold: its matches are the count, and say which targets were found
                matched = [g for _, g in match_poses(scores, errs, ths[0], valid)]
                counts = np.array([len(matched)])
                curve = count_matches(scores, errs, ADD_CURVE_THRESHOLDS * obj.diameter, valid)
                res.add_curve.add_matches(obj.obj_id, curve)
            else:
                counts = count_matches(scores, errs, ths, valid)
        res.counts[m].add_matches(obj.obj_id, counts)
    return matched


def _vsd_errors(obj: EvalObject, ests, gts, depth, camera: Camera, res: EvalResult) -> NDArray:
    """(T, E, G) VSD errors; each GT depth is rendered once, each estimate's once."""
    renderer = obj.renderer  # built (and open3d imported) outside the timed part
    t0 = time.perf_counter()
    d_gts = [renderer.render(g.pose, camera) for g in gts]
    out = np.empty((len(VSD_TAUS), len(ests), len(gts)))
    for i, e in enumerate(ests):
        d_est = renderer.render(e.estimate.pose, camera)
        for j, g in enumerate(gts):
            p, q = e.estimate.pose, g.pose
            out[:, i, j] = pe.vsd(p.R, p.t, q.R, q.t, depth, camera, renderer, obj.diameter,
                                  depth_gt=d_gts[j], depth_est=d_est)
    res.vsd_seconds += time.perf_counter() - t0
    res.vsd_estimates += len(ests)
    return out
