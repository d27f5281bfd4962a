"""Depth refinement of one estimate: ICP from a prior, from the RGB pose and from shape-only hypotheses.

0. When tracking, ICP from the tracker's predicted pose (the ``prior``) comes first: the
   last frame's verified pose moved at constant velocity is a far better start than the RGB
   heads' pose, whose orientation a network trained for minutes often gets wrong.
1. ICP (:func:`~rigidpose.estimate.icp.refine_icp`) from the RGB pose. When a start's ICP
   is accepted and the depth and mask agree with it (``good_agreement``), that is the
   answer: a good RGB pose, and every tracked frame that goes well, costs one ICP.
2. Otherwise, with ``global_init``, ICP of the observed points inside the mask from a grid of
   rotations (:func:`~rigidpose.estimate.global_reg.grid_hypotheses`, 240 rotations); of the
   30 best-overlapping distinct starts, the ``refine_starts`` that the depth and the mask
   agree with best (:func:`~rigidpose.estimate.global_reg.best_agreeing`), less those they
   agree with less than ``start_within`` × the best one, are refined by the same ICP as 1.
   A mostly hidden part leaves a small patch that overlaps the model fully at many wrong
   poses, so its right start is rarely among the few best overlaps: on the bracket
   benchmark's 18 occluded targets in ground-truth boxes this found 14 against 11
   with the old search (60 rotations, the 3 best overlaps; docs/benchmarks.md, session 16).
   Steps 3-4, fallbacks, keep the old search (:data:`FALLBACK_GRID`): the dense one there
   too gained one more target end to end (62 against 61 of 66) for 2.5× this stage's time
   (12.5 against 5.1 s per frame; 3.2 s before session 16, at 60 of 66).
3. When nothing so far agrees well, the mask may cover more than the object: a crop net
   trained for minutes often paints the occluder in front of a partly hidden object into
   its mask, and ICP then fits the model to both. The mask is split where the depth jumps
   (:func:`depth_segments`) and steps 1–2 run again on each sizeable piece, until one
   agrees well.
4. When still nothing agrees well, the mask itself is likely wrong: it took in a neighbour
   that the depth does not cut off, or painted a busy background instead of the part.
   Steps 2-3 run again on other masks, until one gives a result that agrees well: the mask
   re-cut by the image's colours (the caller's ``sharpen``, GrabCut, :mod:`.mask_refine`),
   then the detection ``box``'s own depth less the plane the part stands on
   (:func:`~rigidpose.estimate.depth_masks.box_depth_mask`). On the bracket benchmark
   this took the depth row from 55 to 60 of 66 targets: 58 with the re-cut alone, 59 with
   the box's depth alone (docs/benchmarks.md, session 13). Last, the things standing on the
   support around the box, each on its own (:func:`~rigidpose.estimate.depth_masks.box_depth_clusters`:
   the box grown by half its side, cut where the depth jumps; at most ``clusters``). These
   are searched with the whole mask's grid, and their results are judged against the
   cluster itself, not the network's mask: a box shifted off the part, or a mask painted on
   the occluder, leaves the part's depth outside both, and the right pose scores low
   against them. On the benchmark this took the bracket's depth row from 61 to 65 of 66
   targets (docs/benchmarks.md, session 17).
5. The accepted result that the depth image and its judging mask (the network's *whole*
   mask, or the cluster it was found on) agree with best
   (:func:`~rigidpose.estimate.global_reg.depth_agreement`) wins; the RGB pose stays when
   no ICP run is accepted.

With an image, each result is also checked against its edges (``edges``, a pose → share of
its unhidden model edges on the image's edges, or None; :func:`~rigidpose.estimate.scoring.pose_edge_score`).
A result then ends the search only when its edges agree too (``good_edge``), and the best is
chosen by agreement × edge² (:func:`~rigidpose.estimate.scoring.depth_score`): the depth
alone agrees with the part fitted to a wrong face, or to another thing's surface, about as
well as with the right pose.

On the bracket benchmark's 66 targets in ground-truth boxes, step 3 took the depth row from
57 to 59 right poses (the occluded ones from 9 to 11 of 18; docs/benchmarks.md, session 10).

Nothing is searched twice in a frame (:mod:`.depth_memo`): a grid search of a mask nearly
the same as one searched before takes that search's results, and a mask whose depth a
result that ended an earlier search already explains takes that result. On the benchmark
this cut the ICP time per frame by 12-28 % at the same recall and AR (docs/benchmarks.md,
session 18).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from rigidpose.estimate.depth_masks import box_depth_clusters, box_depth_mask, depth_segments
from rigidpose.estimate.depth_memo import Explained, FrameMemo, Refined, Search
from rigidpose.estimate.global_reg import (GlobalRegConfig, ModelCloud, best_agreeing, depth_agreement,
                                          explained_pixels, grid_hypotheses)
from rigidpose.estimate.icp import IcpConfig, refine_icp
from rigidpose.estimate.scoring import depth_score
from rigidpose.geometry import Camera, Pose


#: The grid search of the pieces and re-cut masks (steps 3-4): the 60 rotations of the
#: icosahedral group, the 3 best distinct overlaps refined (the whole mask's search before
#: session 16, less its repeated starts).
FALLBACK_GRID = GlobalRegConfig(grid=60, survivors=10, keep=3)

#: How many of the whole mask's grid starts are refined: those the depth agrees with best.
REFINE_STARTS = 10

#: Of those (and of the fallbacks' starts, steps 3-4), a start the depth agrees with less than
#: this × the best start is not refined. In the bracket benchmark's first 20 images the first
#: right start was the best-agreeing one in 44 of the 56 searches that found a right pose; this
#: cut a third of the refinements there and ICP's time per frame by 13-26 % on three objects at
#: the same recall (docs/benchmarks.md, session 19).
START_WITHIN = 0.7

#: Step 4 searches at most this many of the things standing around the detection box
#: (:func:`~rigidpose.estimate.depth_masks.box_depth_clusters`), the most overlapping first.
CLUSTERS = 3

def observed_points(camera: Camera, depth: NDArray, mask: NDArray, diameter: float,
                    max_points: int = 4000) -> NDArray[np.float64]:
    """(N, 3) camera-frame points of the valid depth pixels inside ``mask`` (H, W bool), metres.

    Points further than one diameter from the median depth are dropped (mask edges bleeding
    onto the background).
    """
    v, u = np.nonzero(np.asarray(mask, bool) & np.isfinite(depth) & (depth > 0))
    if len(v) == 0:
        return np.zeros((0, 3))
    z = np.asarray(depth, np.float64)[v, u]
    keep = np.abs(z - np.median(z)) < diameter
    u, v, z = u[keep], v[keep], z[keep]
    if len(z) > max_points:
        idx = np.linspace(0, len(z) - 1, max_points).astype(int)
        u, v, z = u[idx], v[idx], z[idx]
    return camera.backproject_pixels(np.stack([u, v], 1).astype(np.float64), z)


#: Step 4 searches a mask only when it differs from the network's in more than this share of
#: the network mask's pixel count (a near-identical mask would find the same poses).
RECUT_CHANGE = 0.1


class DepthRefiner:
    """ICP from the RGB pose, plus (``global_init``) ICP from the best rotation-grid hypotheses.

    ``good_agreement`` and ``good_edge`` end the search early (see the module's notes). Step 4
    runs only while no result scores ``recut_below`` (agreement × edge²; 0 turns it off):
    on the bracket benchmark no result that good was ever beaten by the re-cut mask's by
    more than 0.02, and skipping it there saved 42 of 185 re-cuts.

    ``global_config`` sets the grid search of the whole mask (step 2), of whose starts the
    ``refine_starts`` the depth agrees with best are refined, less those it agrees with less
    than ``start_within`` × the best one (in the fallbacks' searches too; 0 refines them all);
    ``fallback_config`` that of the
    pieces and re-cut masks (steps 3-4). ``clusters`` (0 turns them off) is how many things
    around the box step 4 searches. Model point clouds are sampled once per object on first
    use. ``memo`` holds what the current frame's searches found (:class:`~rigidpose.estimate.depth_memo.FrameMemo`).
    """

    def __init__(self, icp: IcpConfig = IcpConfig(), global_init: bool = True,
                 global_config: GlobalRegConfig = GlobalRegConfig(), good_agreement: float = 0.85,
                 good_edge: float = 0.8, recut_below: float = 0.5, refine_starts: int = REFINE_STARTS,
                 fallback_config: GlobalRegConfig = FALLBACK_GRID, clusters: int = CLUSTERS,
                 start_within: float = START_WITHIN) -> None:
        self.icp, self.global_init, self.global_config = icp, bool(global_init), global_config
        self.fallback_config = fallback_config
        self.good_agreement, self.good_edge = float(good_agreement), float(good_edge)
        self.refine_starts = int(refine_starts)
        if self.refine_starts < 1:
            raise ValueError(f"refine_starts must be at least 1, got {refine_starts}")
        self.start_within = float(start_within)
        if not 0.0 <= self.start_within <= 1.0:
            raise ValueError(f"start_within must be in [0, 1], got {start_within}")
        self.recut_below = float(recut_below)
        self.clusters = int(clusters)
        if self.clusters < 0:
            raise ValueError(f"clusters must be 0 or more, got {clusters}")
        self._clouds: dict[int, ModelCloud] = {}
        self.memo = FrameMemo()

    def cloud(self, obj_id: int, mesh, diameter: float) -> ModelCloud:
        if obj_id not in self._clouds:
            self._clouds[obj_id] = ModelCloud(mesh.vertices, mesh.faces, diameter, self.global_config)
        return self._clouds[obj_id]

    def __call__(self, obj_id: int, mesh, caster, diameter: float, pose: Pose, covariance: NDArray, source: str,
                 camera: Camera, depth: NDArray, mask: NDArray | None, prior: Pose | None = None,
                 edges: Callable[[Pose], float | None] | None = None,
                 sharpen: Callable[[NDArray], NDArray] | None = None, box: NDArray | None = None) -> Refined:
        """Refine ``pose`` (RGB stage, with its ``covariance`` and ``source``) against ``depth`` (H, W, m).

        ``prior``: the tracker's predicted pose, tried first (source "track+icp"). ``edges``:
        the image's check of a pose (see the module's notes), or None. ``sharpen``: mask →
        the mask re-cut by the image's colours (step 4), or None. ``box``: (4,) x, y, w, h,
        the detection box (pixels); step 4 then also searches its depth less its support plane."""
        candidates: list[Refined] = []
        scores: list[float] = []
        self.memo.start(depth)

        def attempt(start: Pose, name: str, fit_mask: NDArray | None = mask, judge: NDArray | None = mask) -> bool:
            """ICP from ``start`` on the depth inside ``fit_mask``; True when it is accepted and
            agrees (with the ``judge`` mask, and the image's edges) well enough to end the search."""
            res = refine_icp(start, caster, diameter, camera, depth, fit_mask, self.icp)
            if not res.accepted:
                return False
            agreement = depth_agreement(res.pose, caster, camera, depth, judge, diameter)
            edge = edges(res.pose) if edges is not None else None
            candidates.append(Refined(res.pose, res.covariance if res.covariance is not None else covariance, name,
                                      agreement, edge))
            scores.append(depth_score(agreement, edge))
            good = agreement >= self.good_agreement and (edge is None or edge >= self.good_edge)
            if good:
                self.memo.explained.append(Explained(obj_id, candidates[-1], scores[-1],
                                                     explained_pixels(res.pose, caster, camera, depth, diameter)))
            return good

        for start in (prior, pose):
            if start is not None and attempt(start, "track+icp" if start is prior else source + "+icp"):
                return candidates[-1]
        if self.global_init and mask is not None and mesh is not None:
            def search(piece: NDArray, config: GlobalRegConfig, judge: NDArray) -> bool:
                """The grid search on the depth inside ``piece``; True when a result agrees well.
                What the frame's earlier searches found stands in for it where it can (:mod:`.depth_memo`)."""
                known = self.memo.explaining(obj_id, piece & np.isfinite(depth) & (depth > 0))
                if known is not None:
                    candidates.append(known.result)
                    scores.append(known.score)
                    return True
                done = self.memo.search(obj_id, piece, config.grid)
                if done is not None:
                    candidates.extend(done.found)
                    scores.extend(done.scores)
                    return done.good
                n = len(candidates)
                observed = observed_points(camera, depth, piece, diameter)
                hypotheses = grid_hypotheses(self.cloud(obj_id, mesh, diameter), observed, config)
                hypotheses = best_agreeing(hypotheses, caster, camera, depth, piece, diameter, self.refine_starts,
                                           self.start_within)
                # a list, not a generator: every start is refined and the best agreement wins
                good = any([attempt(start, "depth+icp", piece, judge) for start in hypotheses])
                self.memo.searches.append(Search(obj_id, piece, config.grid, candidates[n:], scores[n:], good))
                return good

            def search_mask(fit: NDArray, config: GlobalRegConfig, judge: NDArray = mask) -> bool:
                """Steps 2-3 on ``fit``, the whole of it searched with ``config`` and its results
                judged against ``judge``: True when a result agrees well."""
                if search(fit, config, judge):
                    return True
                # good enough, as in steps 1-2: the other pieces are not searched
                return any(attempt(pose, source + "+icp", piece, judge) or search(piece, self.fallback_config, judge)
                           for piece in depth_segments(fit, depth, diameter))

            def recuts():
                """Step 4's masks, each computed only when the one before found nothing good, with
                the search that takes it."""
                if sharpen is not None:
                    yield np.asarray(sharpen(mask), bool), lambda m: search_mask(m, self.fallback_config)
                if box is not None:
                    yield box_depth_mask(camera, depth, box, diameter), lambda m: search_mask(m, self.fallback_config)
                    if self.clusters:
                        for cluster in box_depth_clusters(camera, depth, box, diameter)[: self.clusters]:
                            yield cluster, lambda m: search_mask(m, self.global_config, m)

            if not search_mask(mask, self.global_config) and max(scores, default=0.0) < self.recut_below:  # step 4
                least = RECUT_CHANGE * max(np.count_nonzero(mask), 1)
                for recut, searcher in recuts():
                    changed = recut is not None and np.count_nonzero(recut ^ mask) > least
                    if changed and searcher(recut):
                        break
        if not candidates:
            return Refined(pose, covariance, source)
        return candidates[int(np.argmax(scores))]
