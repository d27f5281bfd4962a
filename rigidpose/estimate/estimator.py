""":class:`Estimator`: from an RGB image (+ depth) and a camera to a list of ``PoseEstimate``.

Stages, one module each: detection (:mod:`.detect`), crops through PoseNet
(:mod:`.crop_predict`), PnP / direct-pose fusion (:mod:`.fuse`), render-and-compare on the
GrabCut-sharpened mask (:mod:`.mask_refine`, :mod:`.silhouette`), ICP when depth is given
(:mod:`.icp`), the score (:mod:`.scoring`), and a stable frame for symmetric objects
(:mod:`.symmetry`). Each frame's per-stage wall time in milliseconds is kept in
:attr:`Estimator.timings` (the depth-verified score's edge term counts as "icp"), and
running sums in :attr:`Estimator.timing_totals` for benchmarks.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from rigidpose.errors import RigidposeError
from rigidpose.estimate.crop_predict import CropOutput, CropRequest, CropStage
from rigidpose.estimate.fuse import FuseConfig
from rigidpose.estimate.dense import rgb_hypothesis
from rigidpose.estimate.depth_refine import CLUSTERS, DepthRefiner
from rigidpose.estimate.duplicates import suppress_duplicates
from rigidpose.estimate.icp import IcpConfig
from rigidpose.estimate.inputs import check_depth, check_rgb
from rigidpose.estimate.mask_refine import RECUT_MAX_SIDE, SHARPEN_MAX_SIDE, grabcut_mask
from rigidpose.estimate.recrop import box_iou, silhouette_box
from rigidpose.estimate.edges import ImageEdges
from rigidpose.estimate.scoring import BOX_SCORE_EXPONENT, depth_score, pose_edge_score, silhouette_score
from rigidpose.estimate.silhouette import SilhouettePose, SilhouetteSearch, edge_score, fit_quality, pose_iou
from rigidpose.estimate.symmetry import stable_pose, transport_covariance
from rigidpose.geometry import Camera, Pose, PoseEstimate
from rigidpose.net.card import CardObject

STAGES = ("detect", "crop", "pnp", "silhouette", "icp", "total")
#: When the silhouette stage runs: on frames without depth (the default), on every frame, or
#: never. With depth the depth search does most of its work: on the bracket benchmark the depth
#: row gave 75.8 % without the stage and 78.8 % with it, at 4.4× the time per frame.
SILHOUETTE_MODES = ("rgb", "always", "off")
#: The heads' pose is kept (the silhouette fit only checks it) when its silhouette overlaps the
#: mask within this IoU of the best fit's: a good network's pose should not be pulled towards
#: a coarse mask's outline.
SILHOUETTE_KEEP_MARGIN = 0.05
log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class Measurement:
    """One instance measured in one frame: the estimate plus what the tracker needs.

    Attributes:
        estimate: the output value.
        reprojection_px: weighted RMS reprojection error of the RGB pose over its
            correspondences (the keypoints, the dense inliers, or the silhouette's boundary
            pairs), pixels.
        source: "pnp", "direct", "fused" or "silhouette" (the RGB stage), plus "+icp" when ICP was accepted;
            "depth+icp" when the depth search found the pose; "track+icp" when ICP from the
            tracker's predicted pose did.
        depth_agreement: how well the depth image and mask agree with the pose, in [0, 1]
            (:func:`~rigidpose.estimate.global_reg.depth_agreement`), when ICP against the
            depth accepted it; None otherwise.
        box_score: the detector's score of the box it was measured in (1 for a user's box).
    """

    estimate: PoseEstimate
    reprojection_px: float
    source: str
    depth_agreement: float | None = None
    box_score: float = 1.0

    @property
    def depth_verified(self) -> bool:
        """ICP against the depth image accepted the pose (so the RGB reprojection error no longer judges it)."""
        return self.depth_agreement is not None


class Estimator:
    """The estimation pipeline (construct with :meth:`from_checkpoint`).

    Args:
        crop: the PoseNet stage. detect: the detector stage, or None (then boxes must be given).
        objects: obj_id → card object (keypoints, diameter, symmetries) of the estimated objects.
        meshes: obj_id → ObjectModel, needed for ICP and the visible fraction; None without.
        score_threshold: estimates scoring less are dropped. Score = box score × the RGB
            hypothesis' quality (:func:`~rigidpose.estimate.dense.rgb_hypothesis`: the dense
            inliers' weight share, or the mean keypoint confidence), or box score^0.25 ×
            IoU⁸ × edge⁴ where the silhouette stage ran (the overlap of the model's silhouette
            and the mask, and the share of its edges on the image's), or box score^0.25 ×
            depth agreement × edge² when ICP against depth accepted the pose (:mod:`.scoring`;
            the box score to the power 1 with ``tracking``).
        use_depth / icp: refine with ICP when a depth image is given.
        silhouette: when the silhouette stage runs (:data:`SILHOUETTE_MODES`): on frames without
            depth ("rgb", the default), on every frame ("always") or never ("off"). The stage
            fits the model's silhouette to the mask sharpened with GrabCut (:mod:`.silhouette`),
            the heads' pose competing as one more start. Needs ``meshes``. With ``tracking``, a
            tracked instance starts from its predicted pose and skips the template search.
        global_init: with depth, when ICP from the RGB pose fails or disagrees with the depth,
            also run ICP from a grid of rotations and keep the refined pose the depth agrees
            with best (:mod:`.depth_refine`).
        depth_clusters: with ``global_init``, how many things standing around a detection box
            the search tries last, each on its own (:mod:`.depth_refine`, step 4); 0 turns that off.
        tracking: ``estimate`` goes through a :class:`~rigidpose.estimate.tracker.Tracker`.
        duplicate_separation: per frame, an estimate whose pose lies within this fraction of
            the diameter (mean keypoint distance) of a better-scored estimate of the same object
            is dropped (:mod:`.duplicates`).
        recrop_iou: on frames without depth, an estimate whose silhouette box overlaps its
            detection box by less than this is cropped again at the silhouette's box, and the
            better-scored measurement is kept (:mod:`.recrop`); 0 turns it off.
    """

    def __init__(self, crop, detect, objects: Mapping[int, CardObject], meshes: Mapping[int, object] | None = None,
                 *, score_threshold: float = 0.3, use_depth: bool = True, icp: bool = True, tracking: bool = False,
                 fuse: FuseConfig = FuseConfig(), icp_config: IcpConfig = IcpConfig(),
                 global_init: bool = True, duplicate_separation: float = 0.1, silhouette: str = "rgb",
                 recrop_iou: float = 0.8, depth_clusters: int = CLUSTERS) -> None:
        if silhouette not in SILHOUETTE_MODES:
            raise RigidposeError(f"silhouette must be one of {SILHOUETTE_MODES}, got {silhouette!r}")
        if not 0.0 <= float(recrop_iou) <= 1.0:  # also refuses NaN
            raise RigidposeError(f"recrop_iou must be a box overlap in [0, 1] (0 turns the second crop off), got {recrop_iou}")
        self.crop, self.detector, self.objects = crop, detect, dict(objects)
        self.duplicate_separation, self.recrop_iou = float(duplicate_separation), float(recrop_iou)
        # the tracker keeps the plain product: a lifted score let false detections start tracks
        self.box_score_exponent = 1.0 if tracking else BOX_SCORE_EXPONENT
        self.meshes = dict(meshes) if meshes is not None else None
        self.score_threshold, self.use_depth, self.icp = float(score_threshold), bool(use_depth), bool(icp)
        self.fuse_config, self.icp_config = fuse, icp_config
        if int(depth_clusters) < 0:
            raise RigidposeError(f"depth_clusters must be 0 (off) or more, got {depth_clusters}")
        self.depth_refiner = DepthRefiner(icp_config, global_init, clusters=int(depth_clusters))
        self.silhouette_mode = silhouette if self.meshes is not None else "off"
        self.silhouette = SilhouetteSearch()
        if silhouette != "off" and self.meshes is None:
            log.warning("no object meshes: the silhouette stage is off (give models=DIR / --models DIR)")
        self._casters: dict[int, object] = {}
        self.timings: dict[str, float] = dict.fromkeys(STAGES, 0.0)
        self.timing_totals: dict[str, float] = dict.fromkeys(STAGES, 0.0)
        self.frames = 0
        self.tracker = None
        if tracking:
            from rigidpose.estimate.tracker import Tracker

            self.tracker = Tracker(self)

    # --- construction -------------------------------------------------------------------
    @classmethod
    def from_checkpoint(cls, path: str | Path, backend: str = "torch", objects: Sequence[int] | None = None,
                        score_threshold: float = 0.3, use_depth: bool = True, icp: bool = True,
                        tracking: bool = False, *, detector: str | Path | None = "auto",
                        models: str | Path | Mapping | None = "auto", fusion: str = "fused",
                        detector_input: int | Sequence[int] | None = None, device: str = "cpu", global_init: bool = True,
                        silhouette: str = "rgb", recrop_iou: float = 0.8, depth_clusters: int = CLUSTERS) -> Estimator:
        """Load a run folder (``RUN/best.*`` and ``RUN/detector/best.*``) or a checkpoint path.

        ``detector=None`` loads no detector: :meth:`estimate` then needs ``boxes``.
        ``models`` locates the meshes (see :func:`rigidpose.estimate.models.load_meshes`);
        they are required when ``icp`` and ``use_depth`` are on; without them the silhouette
        stage is off. ``detector_input``: the detector's input long side(s) in pixels (None: its
        training size and 1.5 times it, :func:`~rigidpose.estimate.detect.default_input_sizes`).
        """
        from rigidpose.estimate.detect import DetectStage
        from rigidpose.estimate.models import load_meshes, resolve_detector, resolve_posenet
        from rigidpose.net.checkpoint import load_checkpoint

        if backend != "torch":
            raise RigidposeError(f"backend {backend!r} is not available; only 'torch' is implemented")
        ids = [int(o) for o in objects] if objects else None
        pose_path = resolve_posenet(path)
        pose_net = load_checkpoint(pose_path, ids, device=device)
        if pose_net.card.arch != "posenet":
            raise RigidposeError(f"{pose_path} holds a {pose_net.card.arch!r} network, not the pose network")
        ids = ids or pose_net.card.obj_ids
        det = None
        det_path = resolve_detector(pose_path, detector)
        if det_path is not None:
            loaded = load_checkpoint(det_path, device=device)
            missing = [o for o in ids if o not in loaded.card.obj_ids]
            if missing:
                raise RigidposeError(f"detector {det_path} was trained for objects {loaded.card.obj_ids}, not for {missing}")
            det = DetectStage(loaded.model, loaded.card, ids, input_sizes=detector_input,
                              score_threshold=score_threshold)
        cards = {o.obj_id: o for o in pose_net.card.objects if o.obj_id in ids}
        meshes = load_meshes(pose_net.card, ids, models, required=icp and use_depth)
        try:
            fuse = FuseConfig(mode=fusion)
        except ValueError as exc:
            raise RigidposeError(str(exc)) from None
        return cls(CropStage(pose_net.model, pose_net.card), det, cards, meshes, score_threshold=score_threshold,
                   use_depth=use_depth, icp=icp, tracking=tracking, fuse=fuse, global_init=global_init,
                   silhouette=silhouette, recrop_iou=recrop_iou, depth_clusters=depth_clusters)

    def prepare(self, with_depth: bool = False) -> None:
        """Build now what the first frame would otherwise build: the silhouette template banks
        (about 4 s per object) where the stage will run on frames ``with_depth`` or not."""
        if self.silhouette_mode == "always" or (self.silhouette_mode == "rgb" and not with_depth):
            for o, obj in self.objects.items():
                centre = obj.info.min_xyz + 0.5 * obj.info.size_xyz
                self.silhouette.templates(o, self.raycaster(o), centre, obj.info.diameter)

    @property
    def object_boxes(self) -> dict[int, tuple[NDArray[np.float64], NDArray[np.float64]]]:
        """obj_id → (centre (3,), size (3,)) of the object-frame bounding box, metres."""
        return {o: (c.info.min_xyz + 0.5 * c.info.size_xyz, np.asarray(c.info.size_xyz, float)) for o, c in self.objects.items()}

    def raycaster(self, obj_id: int):
        """The mesh ray-caster of ``obj_id`` (None without meshes)."""
        if self.meshes is None:
            return None
        if obj_id not in self._casters:
            from rigidpose.objects.raycast import MeshRaycaster

            m = self.meshes[obj_id]
            self._casters[obj_id] = MeshRaycaster(m.vertices, m.faces)
        return self._casters[obj_id]

    # --- running ------------------------------------------------------------------------
    def estimate(self, rgb: NDArray[np.uint8], camera: Camera, depth: NDArray | None = None,
                 boxes: Sequence[tuple[int, Sequence[float]]] | None = None) -> list[PoseEstimate]:
        """Objects in ``rgb`` (H, W, 3 uint8) seen by ``camera``; ``depth`` (H, W) metres or None.

        ``boxes``: optional ``[(obj_id, (x, y, w, h)), ...]`` to estimate in instead of
        running the detector (required when the estimator has none). With ``tracking``
        the frame goes through the tracker. No detections give an empty list.
        """
        if self.tracker is not None:
            return [t.estimate for t in self.tracker.update(rgb, camera, depth, boxes)]
        return [m.estimate for m in self.measure(rgb, camera, depth, boxes)]

    def measure(self, rgb, camera, depth=None, boxes=None) -> list[Measurement]:
        """:meth:`estimate` without tracking, keeping the reprojection errors; without duplicates
        (:func:`~rigidpose.estimate.duplicates.suppress_duplicates`)."""
        t0 = self.start_frame()
        rgb = check_rgb(rgb, camera)
        depth = check_depth(depth, camera)
        requests = self.requests(rgb, camera, boxes)
        measured = self.measure_requests(rgb, camera, depth, requests)
        if depth is None and self.recrop_iou > 0:
            measured = [self._second_crop(rgb, camera, m) for m in measured]
        out = suppress_duplicates(measured, self.objects, self.duplicate_separation)
        self.finish_frame(t0)
        return out

    def requests(self, rgb, camera, boxes=None) -> list[CropRequest]:
        """Crop requests from user ``boxes`` or from the detector (timed as "detect")."""
        t = time.perf_counter()
        if boxes is not None:
            reqs = []
            for obj_id, bbox in boxes:
                if int(obj_id) not in self.objects:
                    raise RigidposeError(f"box for object {obj_id}, but this estimator has objects {sorted(self.objects)}")
                b = np.asarray(bbox, np.float64).reshape(4)
                if not (np.all(np.isfinite(b)) and b[2] > 0 and b[3] > 0):
                    raise RigidposeError(f"box {b.tolist()} for object {obj_id} must be finite x, y, w, h with w, h > 0")
                reqs.append(CropRequest(int(obj_id), b, 1.0))
        elif self.detector is None:
            raise RigidposeError("this estimator has no detector: pass boxes=[(obj_id, (x, y, w, h)), ...]")
        else:
            reqs = [CropRequest(b.obj_id, b.bbox, b.score) for b in self.detector(rgb)]
            self.timings["detect"] += 1000 * (time.perf_counter() - t)
        return reqs

    def measure_requests(self, rgb, camera: Camera, depth, requests: Sequence[CropRequest],
                         references: Sequence[Pose | None] | None = None) -> list[Measurement | None]:
        """Crop → fuse → ICP → stable frame for each request, aligned with ``requests``
        when ``references`` is given (None where nothing was found or the score is low);
        without ``references`` the list holds only the estimates that passed.

        ``references``: per request, the tracker's predicted pose or None. It is the symmetry
        reference of the output frame and, with depth, the first ICP start (:mod:`.depth_refine`).
        """
        t = time.perf_counter()
        crops = self.crop(rgb, camera, list(requests))
        self.timings["crop"] += 1000 * (time.perf_counter() - t)
        out = []
        t = time.perf_counter()  # the depth search checks many poses per box against the image's edges: once, as "icp"
        edges = (ImageEdges(rgb, (0, 0, camera.width, camera.height), self.silhouette.config.edges)
                 if crops and depth is not None and self.use_depth and self.icp and self.meshes else None)
        self.timings["icp"] += 0.0 if edges is None else 1000 * (time.perf_counter() - t)
        for k, c in enumerate(crops):
            ref = references[k] if references is not None else None
            out.append(self._measure_one(rgb, c, camera, depth, ref, edges))
        return out if references is not None else [m for m in out if m is not None]

    def _second_crop(self, rgb, camera: Camera, m: Measurement) -> Measurement:
        """``m``, or the measurement of a second crop at its silhouette's box where that box
        overlaps the detection box by less than ``recrop_iou`` and the second scores higher
        (:mod:`.recrop`; the detector's score carries over)."""
        e = m.estimate
        caster = self.raycaster(e.obj_id)
        box = None if caster is None else silhouette_box(caster, e.pose, camera)
        if box is None or box_iou(box, e.bbox) >= self.recrop_iou:
            return m
        again = self.measure_requests(rgb, camera, None, [CropRequest(e.obj_id, box, m.box_score)])
        return again[0] if again and again[0].estimate.score > e.score else m

    def _silhouette(self, rgb, c: CropOutput, camera: Camera, mask, heads: Pose | None, reference: Pose | None
                    ) -> tuple[NDArray[np.bool_], SilhouettePose | None, tuple[float, float | None] | None]:
        """The GrabCut-sharpened mask, the silhouette stage's pose (None where the heads' pose
        ``heads`` is about as good, :data:`SILHOUETTE_KEEP_MARGIN`) and the heads' pose's fit:
        its IoU with that mask and its edge score (None without it); timed as "silhouette".

        A tracked instance (``reference``, the predicted pose) skips the template search."""
        t = time.perf_counter()
        obj = self.objects[c.request.obj_id]
        sharp = grabcut_mask(rgb, mask, c.crop_box, max_side=SHARPEN_MAX_SIDE)
        starts, templates = [p for p in (reference, heads) if p is not None], reference is None
        centre = obj.info.min_xyz + 0.5 * obj.info.size_xyz
        caster, d = self.raycaster(obj.obj_id), obj.info.diameter
        cfg = self.silhouette.config
        edges = ImageEdges(rgb, c.crop_box, cfg.edges)
        edges = edges if edges.informative else None  # a flat crop: the mask alone decides
        found = self.silhouette(obj.obj_id, caster, centre, d, camera, sharp, starts=starts, templates=templates,
                                edges=edges)
        heads_fit = None
        if heads is not None:
            heads_fit = (pose_iou(caster, heads, camera, sharp),
                         None if edges is None else edge_score(caster, heads, camera, edges, cfg.edges))
        if (found is not None and heads_fit is not None
                and fit_quality(*heads_fit, cfg) >= found.quality - SILHOUETTE_KEEP_MARGIN):
            found = None  # the heads' pose explains the crop about as well: keep it
        self.timings["silhouette"] += 1000 * (time.perf_counter() - t)
        return sharp, found, heads_fit

    def _measure_one(self, rgb, c: CropOutput, camera, depth, reference: Pose | None,
                     image_edges: ImageEdges | None = None) -> Measurement | None:
        obj = self.objects[c.request.obj_id]
        t = time.perf_counter()
        fused, quality = rgb_hypothesis(c, obj.keypoints, camera, obj.info.diameter, self.fuse_config)
        self.timings["pnp"] += 1000 * (time.perf_counter() - t)
        caster = self.raycaster(obj.obj_id)
        refine = depth is not None and self.use_depth and self.icp and caster is not None
        mask = c.mask(camera) if depth is not None or self.meshes is not None else None
        found, fit = None, None
        if caster is not None and (self.silhouette_mode == "always" or (self.silhouette_mode == "rgb" and depth is None)):
            mask, found, fit = self._silhouette(rgb, c, camera, mask, fused.pose if fused is not None else None,
                                                reference)
        if found is not None:
            pose, cov, source, reprojection, fit = found.pose, found.covariance, "silhouette", found.rms_px, (found.iou, found.edge)
        elif fused is not None:
            pose, cov, source, reprojection = fused.pose.renamed("cam", "obj"), fused.covariance, fused.source, fused.reprojection_px
        else:
            return None
        if fit is not None:  # the silhouette stage checked the pose: its fit is the witness
            score = float(c.request.score ** self.box_score_exponent * silhouette_score(*fit))
        else:
            score = float(c.request.score * quality)
        if score < self.score_threshold and not refine:
            return None
        agreement = None
        if refine:
            t = time.perf_counter()
            mesh = self.meshes.get(obj.obj_id) if self.meshes else None
            d, cfg = obj.info.diameter, self.silhouette.config.edges
            r = self.depth_refiner(obj.obj_id, mesh, caster, d, pose, cov, source, camera, depth, mask, prior=reference,
                                   edges=lambda p: pose_edge_score(rgb, caster, p, camera, d, cfg, depth, image_edges),
                                   sharpen=lambda m: grabcut_mask(rgb, m, c.crop_box, max_side=RECUT_MAX_SIDE),
                                   box=c.request.bbox)
            pose, cov, source, agreement = r.pose, r.covariance, r.source, r.agreement
            if r.agreement is not None:  # depth verified the pose: its fit to depth and edges scores it, not the keypoints
                score = float(c.request.score ** self.box_score_exponent * depth_score(r.agreement, r.edge))
            self.timings["icp"] += 1000 * (time.perf_counter() - t)
            if score < self.score_threshold:
                return None
        stable = stable_pose(pose, obj.info.symmetries, reference)
        cov = transport_covariance(cov, pose, stable)
        visible = self._visible_fraction(caster, stable, camera, mask)
        est = PoseEstimate(obj.obj_id, stable, score, c.request.bbox, cov, obj.name, visible)
        return Measurement(est, reprojection, source, agreement, float(c.request.score))

    @staticmethod
    def _visible_fraction(caster, pose: Pose, camera: Camera, mask) -> float | None:
        """Predicted visible mask ∩ rendered silhouette over the silhouette, or None without a mesh."""
        if caster is None or mask is None:
            return None
        img = caster.render(pose, camera, caster.footprint(pose, camera))
        n = int(img.hit.sum())
        if n == 0:
            return 0.0
        x, y, w, h = img.roi
        return float(np.count_nonzero(mask[y : y + h, x : x + w] & img.hit) / n)

    def start_frame(self) -> float:
        """Reset :attr:`timings` for a new frame; returns the start time for :meth:`finish_frame`."""
        self.timings = dict.fromkeys(STAGES, 0.0)
        return time.perf_counter()

    def finish_frame(self, t0: float) -> None:
        """Record the frame's total time and add the stages to the running sums."""
        self.timings["total"] = 1000 * (time.perf_counter() - t0)
        for k in STAGES:
            self.timing_totals[k] += self.timings[k]
        self.frames += 1

    def mean_timings(self) -> dict[str, float]:
        """Mean milliseconds per frame of each stage over the frames so far."""
        return {k: v / max(self.frames, 1) for k, v in self.timing_totals.items()}
