"""RGB pose by render-and-compare on the predicted mask: template search, then contour ICP.

The crop network's mask head learns the object's outline much faster than its keypoint
and direct heads learn orientation (on the bracket benchmark, minutes of training give a
usable mask and random orientations; docs/benchmarks.md). This stage turns the mask into a
pose with the model alone:

1. :class:`~rigidpose.estimate.silhouette_templates.SilhouetteTemplates` proposes the
   ``candidates`` poses whose silhouettes best match the mask's shape and, given the
   image's edges (:mod:`.edges`), the ``edge_candidates`` whose edges match the image's
   best: a damaged mask (a flange lost, background taken in) matches wrong views' outlines
   better than the right one's, while the image's edges still show the right one.
2. Each, and each of the caller's starts (the RGB heads' pose, a tracked prediction), is
   refined by contour ICP: the model's silhouette boundary is ray-cast at the current pose,
   each boundary pixel's surface point is paired with the nearest pixel of the mask's
   boundary, and the distance of its projection from that pixel *along the mask boundary's
   normal* is minimised (point-to-line, :func:`~rigidpose.estimate.pnp.refine_lm` with
   ``normals``: a point may slide along the outline); the pairing gate shrinks each round.
   The rounds ray-cast at half resolution (``scale``); the best ``finalists`` (by
   :func:`fit_quality`: IoU with the mask × edge score ** ``edge_power``) get a few more at
   full resolution. Point-to-line against point-to-point on the bracket benchmark's
   66 targets in GT boxes: 77 against 71 % ADD-0.1d with the true masks, 44 against 38 %
   with a network's GrabCut masks (docs/benchmarks.md, session 9).
3. The finalist of the highest :func:`fit_quality` wins (IoU alone without edges). With
   the image's edges, a winner that already fits well is polished by a pattern search on
   that score itself (:mod:`.silhouette_polish`), which may leave a damaged mask where the
   edges disagree with it. The covariance is the Gauss–Newton one of the contour fit's
   last pairs, with the boundary noise σ taken from the area between the two outlines
   (:func:`boundary_sigma`), not from the pairs' residuals, which the nearest-pixel
   pairing shrinks to about half. It matches the spread of poses fitted to masks with
   independent noise at each boundary pixel (a test checks it within 2×). Two terms are
   added: a shift of the whole outline by ``outline_shift_px`` (the fits sit up to a pixel
   off as a whole, which no spread about their mean shows;
   :func:`~.covariance.outline_shift_covariance`) and, for a polished pose, its move from the contour fit
   (:func:`~.covariance.displacement_covariance`). With both, the whole search's
   predicted std is within 2× of its RMS error on such masks (a test). A network's mask
   errors run along the outline (a whole flange missing), so the contour fit's covariance
   is scaled by its residuals' correlation time along the outline (``correlated``). On the
   benchmarks' network masks it is then conservative in x and y and still optimistic in z
   and the rotation on the mustard bottle (``benchmarks/covariance.py``).

Accuracy follows the mask. On the bracket test set with ground-truth boxes (docs/benchmarks.md,
session 8): the true visible masks give 71 % ADD-0.1d RGB-only, a 30-minute network's masks
9 %, the same masks sharpened by GrabCut (:mod:`.mask_refine`) 47 %; with the image's
edges (session 11, other networks) the GrabCut masks gave 51.5 % against 45.5 %. Occluded
instances fail: a partial mask matches the wrong silhouette.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import cv2
import numpy as np
from numpy.typing import NDArray

from rigidpose.estimate.covariance import (correlation_time, displacement_covariance, gauss_newton_covariance,
                                           outline_shift_covariance)
from rigidpose.estimate.edges import EdgeConfig, ImageEdges, model_edges, rendered_edges
from rigidpose.estimate.outline import boundary, outline_order
from rigidpose.estimate.pnp import refine_lm
from rigidpose.estimate.silhouette_polish import PolishConfig, polish_pose
from rigidpose.estimate.silhouette_templates import SilhouetteTemplates, TemplateConfig
from rigidpose.geometry import Camera, Pose

F64 = NDArray[np.float64]

#: With the image's edges, finalists rank by ``IoU × edge ** EDGE_POWER`` (see :func:`fit_quality`).
EDGE_POWER = 4.0


@dataclass(frozen=True)
class SilhouetteConfig:
    """Settings of :class:`SilhouetteSearch`.

    Attributes:
        templates: the template bank's settings.
        candidates: best templates refined per mask. 5 and 4 ``iterations`` gave the same
            recall as 8 and 6 on the bracket benchmark at 0.6× the time (3: 3 points less).
        iterations: contour-ICP rounds per candidate, ray-cast at ``scale`` × the image's
            resolution.
        gate_px: first pairing gate, image pixels; it shrinks by ``gate_decay`` each round,
            down to ``min_gate_px``.
        finalists / fine_iterations: the best refined candidates (by IoU) get this many
            more rounds at full resolution (half resolution alone lost 6 points of
            ADD-0.1d with ground-truth masks on the bracket).
        min_pairs: fewer boundary pairs than this end a candidate's refinement.
        min_mask_px: smaller masks are not searched.
        point_to_line: minimise the pairs' distance along the mask boundary's normal (the
            default) instead of the full pixel distance (6 points more ADD-0.1d).
        edges: how the model's edges are scored against the image's (:mod:`.edges`),
            where the caller gives the image's edges.
        edge_candidates: with the image's edges, also this many templates whose edges match
            the image's best (:meth:`~.silhouette_templates.SilhouetteTemplates.search`,
            among the ``edge_shortlist`` whose shapes match the mask best).
        edge_power: with the image's edges, candidates rank by ``IoU × edge ** edge_power``
            (:func:`fit_quality`), else by IoU.
        polish: with the image's edges, the winner's last local search
            (:mod:`.silhouette_polish`); None turns it off.
        outline_shift_px: pixels (std) by which a fit's whole outline may sit off the mask's,
            added to the answer's covariance (:func:`~.covariance.outline_shift_covariance`):
            the ray-cast and the mask boundaries are both whole pixels, and the coarse
            rounds' twice as coarse. On masks with independent boundary noise the search's x and y came out
            0.75–1 pixel off on average, with a spread of 0.1 pixel about that
            (docs/benchmarks.md, session 15). 0: the contour fit's covariance alone.
        correlated: scale the contour fit's covariance by the correlation time of its
            residuals along the outline (:func:`~.covariance.correlation_time`): a network's
            mask errors run along the outline (a flange missing), and N residuals so
            correlated say as much as N / τ independent ones. Close to 1 for independent
            noise at each boundary pixel. With ``point_to_line`` only.
    """

    templates: TemplateConfig = TemplateConfig()
    candidates: int = 5
    iterations: int = 4
    gate_px: float = 20.0
    gate_decay: float = 0.7
    min_gate_px: float = 3.0
    scale: float = 0.5
    finalists: int = 2
    fine_iterations: int = 3
    min_pairs: int = 12
    min_mask_px: int = 50
    point_to_line: bool = True
    edges: EdgeConfig = EdgeConfig()
    edge_candidates: int = 3
    edge_shortlist: int = 400
    edge_power: float = EDGE_POWER
    polish: PolishConfig | None = PolishConfig()
    outline_shift_px: float = 1.0
    correlated: bool = True

    def __post_init__(self) -> None:
        if not 0.0 <= self.outline_shift_px < float("inf"):  # also refuses NaN
            raise ValueError(f"outline_shift_px must be a finite number of pixels, 0 or more, "
                             f"got {self.outline_shift_px}")


@dataclass(frozen=True, eq=False)
class SilhouettePose:
    """The stage's answer for one mask.

    Attributes:
        pose: ``T_cam_obj``.
        covariance: (6, 6) ROS order, metres and radians (see the module notes).
        iou: overlap of the rendered silhouette and the mask, in [0, 1].
        rms_px: RMS distance of the final boundary pairs (along the boundary normal with
            ``point_to_line``), image pixels.
        from_start: the winner was refined from one of the caller's ``starts``, not a template.
        edge: the share of the model's edges on the image's edges (:mod:`.edges`), in [0, 1];
            None where the caller gave no image edges.
        quality: :func:`fit_quality` of ``iou`` and ``edge``, what the finalists ranked by.
    """

    pose: Pose
    covariance: F64
    iou: float
    rms_px: float
    from_start: bool = False
    edge: float | None = None
    quality: float = 0.0


class MaskTarget:
    """An observed mask (H, W bool) prepared for contour ICP: the nearest boundary pixel of every
    pixel, and the mask resampled to the ``scale`` the silhouettes are ray-cast at (for the IoU)."""

    def __init__(self, mask: NDArray, scale: float = 1.0, nearest: NDArray | None = None,
                 gradient: NDArray | None = None) -> None:
        m = np.asarray(mask, bool)
        if nearest is None:
            edge = boundary(m)
            ys, xs = np.nonzero(edge)
            _, labels = cv2.distanceTransformWithLabels((~edge).astype(np.uint8), cv2.DIST_L2, 5,
                                                        labelType=cv2.DIST_LABEL_PIXEL)
            lut = np.zeros((labels.max() + 1, 2))
            lut[labels[ys, xs]] = np.stack([xs, ys], axis=1)
            nearest = lut[labels]
        if gradient is None:
            smooth = cv2.GaussianBlur(m.astype(np.float32), (0, 0), 1.0)
            gradient = np.stack([cv2.Sobel(smooth, cv2.CV_32F, 1, 0), cv2.Sobel(smooth, cv2.CV_32F, 0, 1)], axis=-1)
        self.mask, self.nearest = m, nearest  # nearest: (H, W, 2) the nearest boundary pixel (x, y)
        self.gradient = gradient  # (H, W, 2) of the slightly smoothed mask: normal to its boundary
        self.shape, self.scale = m.shape, float(scale)
        h, w = m.shape
        small = m if scale == 1.0 else cv2.resize(m.astype(np.float32), (max(1, round(w * scale)), max(1, round(h * scale))),
                                                  interpolation=cv2.INTER_AREA) > 0.5
        self.small = small
        self.small_area = int(small.sum())

    def normals(self, boundary_px: NDArray, from_px: NDArray) -> NDArray[np.float64]:
        """Unit normals (N, 2) of the mask boundary at its pixels ``boundary_px`` (N, 2) x, y;
        where the boundary has no direction (a one-pixel sliver), the direction from
        ``from_px`` (N, 2) to the boundary pixel."""
        q = np.rint(boundary_px).astype(int)
        g = self.gradient[q[:, 1], q[:, 0]].astype(np.float64)
        norm = np.linalg.norm(g, axis=1)
        d = boundary_px - from_px
        dn = np.linalg.norm(d, axis=1)
        flat = norm < 1e-3
        g[flat] = np.where(dn[flat, None] > 1e-9, d[flat] / np.maximum(dn[flat, None], 1e-12), [1.0, 0.0])
        norm[flat] = 1.0
        return g / norm[:, None]

    def at_scale(self, scale: float) -> MaskTarget:
        """The same target for silhouettes ray-cast at ``scale`` (the boundary map is shared)."""
        return MaskTarget(self.mask, scale, self.nearest, self.gradient)


def fit_quality(iou: float, edge: float | None, config: SilhouetteConfig) -> float:
    """How well a fitted pose explains the crop: ``iou × edge ** edge_power``, or ``iou`` without edges."""
    return iou if edge is None else iou * edge**config.edge_power


def edge_score(caster, pose: Pose, camera: Camera, edges: ImageEdges, config: EdgeConfig,
               scale: float = 1.0) -> float:
    """The share of the model's edges at ``pose`` that lie on the image's ``edges``, in [0, 1];
    ray-cast at ``scale`` × the image's resolution."""
    cam = camera.scaled(scale) if scale != 1.0 else camera
    found = model_edges(caster, pose, cam, caster.footprint(pose, cam), config, scale)
    return edges.score(found.uv, found.bins)


def _render(caster, pose: Pose, camera: Camera):
    img = caster.render(pose, camera, caster.footprint(pose, camera), normals=False)
    return img, img.hit


def silhouette_iou(hit: NDArray, roi: tuple[int, int, int, int], target: MaskTarget) -> float:
    """IoU of a rendered silhouette ``hit`` (h, w, at ``roi`` of the scaled image) and the mask."""
    return _iou(hit, roi, target.small, target.small_area)


def _iou(hit: NDArray, roi: tuple[int, int, int, int], mask: NDArray, area: int) -> float:
    x, y, w, h = roi
    inter = int(np.count_nonzero(hit & mask[y : y + h, x : x + w]))
    return inter / max(int(hit.sum()) + area - inter, 1)


def pose_iou(caster, pose: Pose, camera: Camera, mask: NDArray) -> float:
    """IoU of the model's silhouette at ``pose`` and ``mask`` (H, W bool), at full resolution."""
    img, hit = _render(caster, pose, camera)
    m = np.asarray(mask, bool)
    return _iou(hit, img.roi, m, int(np.count_nonzero(m)))


def refine_contour(caster, pose: Pose, camera: Camera, target: MaskTarget, config: SilhouetteConfig,
                   rounds: int, gate: float) -> tuple[Pose, float, F64 | None, float]:
    """``rounds`` of contour ICP of ``pose`` (``T_cam_obj``) against ``target``, ray-cast at
    ``target.scale``, starting with a pairing gate of ``gate`` pixels.

    Returns the refined pose, its silhouette IoU, its (6, 6) covariance (None when no round
    had enough pairs) and the final pairs' RMS distance in pixels.
    """
    small = camera.scaled(target.scale) if target.scale != 1.0 else camera
    last, rms = None, float("inf")
    H, W = target.shape
    for round_ in range(rounds + 1):
        img, hit = _render(caster, pose, small)
        iou = silhouette_iou(hit, img.roi, target)
        if round_ == rounds:
            break
        v, u = np.nonzero(boundary(hit))
        if len(u) < config.min_pairs:
            break
        x0, y0 = img.roi[:2]
        pts_cam = small.backproject_pixels(np.stack([u + x0, v + y0], 1).astype(np.float64), img.depth[v, u])
        X = pose.inv().transform(pts_cam)
        uv = camera.project(pts_cam)
        ok = np.all(np.isfinite(uv), axis=1) & (uv[:, 0] > -0.5) & (uv[:, 1] > -0.5) & (uv[:, 0] < W - 0.5) & (uv[:, 1] < H - 0.5)
        X, uv = X[ok], uv[ok]
        pix = np.rint(uv).astype(int)
        nearest = target.nearest[pix[:, 1], pix[:, 0]]
        keep = np.linalg.norm(nearest - uv, axis=1) < gate
        if keep.sum() < config.min_pairs:
            break
        normals = target.normals(nearest[keep], uv[keep]) if config.point_to_line else None
        pose, r, J = refine_lm(pose, X[keep], camera.undistort_points(nearest[keep]), camera.K, np.ones(int(keep.sum())),
                               iterations=5, normals=normals)
        last = (J, r, hit, v[ok][keep], u[ok][keep])
        rms = float(np.sqrt(np.mean(r**2) * (1.0 if config.point_to_line else 2.0)))
        gate = max(config.min_gate_px, gate * config.gate_decay)
    if last is None:
        return pose, iou, None, rms
    J, r, paired_hit, pv, pu = last
    if not config.point_to_line:
        return pose, iou, gauss_newton_covariance(J, r), rms
    cov = gauss_newton_covariance(J, r, sigma=boundary_sigma(hit, img.roi, target))
    if config.correlated:  # the last pairs' residuals in their order along the outline
        order = outline_order(paired_hit)[pv, pu]
        on = order >= 0
        cov = cov * correlation_time(r[on][np.argsort(order[on], kind="stable")])
    return pose, iou, cov, rms


def boundary_sigma(hit: NDArray, roi: tuple[int, int, int, int], target: MaskTarget) -> float:
    """The std (image pixels) of the mask boundary's offset from a rendered silhouette ``hit``.

    From the area between the two outlines over the silhouette's boundary length: a boundary
    displaced by Gaussian noise of std σ leaves ``σ·sqrt(2/π)`` pixels of area per pixel of
    length. Contour ICP's own residuals cannot give σ: pairing each point with the *nearest*
    mask pixel absorbs much of the noise (their RMS was about half the true offset's std).
    """
    x, y, w, h = roi
    inter = int(np.count_nonzero(hit & target.small[y : y + h, x : x + w]))
    between = int(hit.sum()) + target.small_area - 2 * inter
    length = max(int(np.count_nonzero(boundary(hit))), 1)
    return max(float(np.sqrt(np.pi / 2.0) * between / length / target.scale), 0.1)


class SilhouetteSearch:
    """Template search + contour ICP on a predicted mask, with one template bank per object
    (built on first use)."""

    def __init__(self, config: SilhouetteConfig = SilhouetteConfig()) -> None:
        self.config = config
        self._banks: dict[int, SilhouetteTemplates] = {}

    def templates(self, obj_id: int, caster, centre: F64, diameter: float) -> SilhouetteTemplates:
        if obj_id not in self._banks:
            self._banks[obj_id] = SilhouetteTemplates(caster, centre, diameter, self.config.templates,
                                                      self.config.edges)
        return self._banks[obj_id]

    def __call__(self, obj_id: int, caster, centre: F64, diameter: float, camera: Camera, mask: NDArray,
                 starts: Sequence[Pose] = (), templates: bool = True, edges: ImageEdges | None = None
                 ) -> SilhouettePose | None:
        """The best pose for ``mask`` (H, W bool) of ``camera``'s image, or None.

        Args:
            caster: the object's mesh ray-caster; centre: (3,) its bounding-box centre, metres.
            starts: more ``T_cam_obj`` to refine beside the templates (the RGB heads' pose,
                the tracker's prediction).
            templates: also search the template bank (off when tracking from a prediction;
                always on without ``starts``).
            edges: the image's edges around the mask (:class:`~rigidpose.estimate.edges.ImageEdges`):
                the finalists then rank by :func:`fit_quality`, not by IoU alone.
        """
        cfg = self.config
        if int(np.count_nonzero(mask)) < cfg.min_mask_px:
            return None
        tried = [(p, True) for p in starts if p.t[2] > 0]
        if templates or not tried:
            bank = self.templates(obj_id, caster, centre, diameter)
            found = bank.search(mask, camera, cfg.candidates, edges, cfg.edge_candidates, cfg.edge_shortlist)
            tried += [(p, False) for p, _ in found]
        fine = MaskTarget(mask)
        coarse = fine.at_scale(cfg.scale)
        refined = []
        for pose, from_start in tried:
            pose, iou, cov, _ = refine_contour(caster, pose, camera, coarse, cfg, cfg.iterations, cfg.gate_px)
            if cov is not None:
                edge = None if edges is None else edge_score(caster, pose, camera, edges, cfg.edges, cfg.scale)
                refined.append((fit_quality(iou, edge, cfg), pose, from_start))
        best, best_quality = None, -1.0
        for _, pose, from_start in sorted(refined, key=lambda r: -r[0])[: cfg.finalists]:
            gate = cfg.min_gate_px / cfg.gate_decay**2
            pose, iou, cov, rms = refine_contour(caster, pose, camera, fine, cfg, cfg.fine_iterations, gate)
            if cov is None:
                continue
            edge = None if edges is None else edge_score(caster, pose, camera, edges, cfg.edges)
            quality = fit_quality(iou, edge, cfg)
            if quality > best_quality:
                best, best_quality = SilhouettePose(pose, cov, iou, rms, from_start, edge, quality), quality
        if best is None:
            return None
        if edges is not None and cfg.polish is not None and best.quality >= cfg.polish.min_quality:
            best = self._polish(best, caster, centre, diameter, camera, fine, coarse, edges)
        shift = outline_shift_covariance(best.pose, camera, cfg.outline_shift_px)
        return replace(best, covariance=best.covariance + shift)

    def _polish(self, best: SilhouettePose, caster, centre: F64, diameter: float, camera: Camera,
                fine: MaskTarget, coarse: MaskTarget, edges: ImageEdges) -> SilhouettePose:
        """``best`` polished on :func:`fit_quality` at the coarse scale (:mod:`.silhouette_polish`),
        kept only when it also scores higher at full resolution. The RMS stays the contour fit's,
        and its covariance grows by the move (:func:`~.covariance.displacement_covariance`):
        the search's last steps, 1° and 0.0075 d, are coarser than a clean outline fixes a pose,
        and on masks with independent boundary noise the polished poses spread 2–4× wider than
        the contour fits (docs/benchmarks.md, session 15)."""
        cfg = self.config
        small = camera.scaled(cfg.scale)

        def score(pose: Pose) -> float:  # one ray-cast for both terms
            img = caster.render(pose, small, caster.footprint(pose, small), normals=True)
            found = rendered_edges(img, cfg.edges, cfg.scale)
            return fit_quality(silhouette_iou(img.hit, img.roi, coarse), edges.score(found.uv, found.bins), cfg)

        pose, _ = polish_pose(score, best.pose, centre, diameter, cfg.polish)
        iou = pose_iou(caster, pose, camera, fine.mask)
        edge = edge_score(caster, pose, camera, edges, cfg.edges)
        quality = fit_quality(iou, edge, cfg)
        if quality <= best.quality:
            return best
        cov = best.covariance + displacement_covariance(best.pose, pose)
        return SilhouettePose(pose, cov, iou, best.rms_px, best.from_start, edge, quality)
