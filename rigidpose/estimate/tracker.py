""":class:`Tracker`: poses over a video stream, with stable identities and frames.

Each frame, every track's pose is predicted at constant velocity, its object box is
projected at the predicted pose and cropped directly (the detector is skipped), and
the measurement is smoothed with an alpha-beta filter on the ROS-order pose tangent
space. Symmetric objects are measured with the *predicted* pose as the symmetry
reference, so the reported frame never flips.

States (per track, and :attr:`Tracker.state` for the stream):

- ``searching``: no tracks; the detector runs on every frame.
- ``tracking``: a track whose last measurement passed the gates (score; a keypoint
  reprojection error under ``max_reprojection_px``, or ICP accepted against depth with a
  depth agreement of at least ``min_agreement``; and a jump no larger than ``max_jump`` ×
  diameter from the prediction). New tracks pass the same gates.
- ``lost``: a track that missed; it coasts on its prediction and the detector runs to
  re-detect it. A detection of the same object within ``reacquire_distance`` ×
  diameter of the prediction takes back the track's id; after ``max_lost_frames``
  misses the track is dropped.

While every track is fine the detector still runs every ``redetect_every`` frames, so that
objects entering the view get tracks. Detections that a tracked object already explains
(their box lies mostly inside its projected box) are not measured again, and tracks that
converge onto one object are merged into the older id.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from rigidpose.estimate.covariance import apply_perturbation, pose_difference
from rigidpose.estimate.crop_predict import CropRequest
from rigidpose.estimate.inputs import check_depth, check_rgb
from rigidpose.estimate.overlay import box_corners
from rigidpose.estimate.symmetry import stable_pose, transport_covariance
from rigidpose.geometry import Camera, Pose, PoseEstimate

TRACKING, LOST, SEARCHING = "tracking", "lost", "searching"


def box_overlap(a: NDArray, b: NDArray) -> float:
    """The fraction of box ``a``'s area (4,) ``x, y, w, h`` that lies inside box ``b`` (4,)."""
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    return float(max(w, 0.0) * max(h, 0.0) / max(a[2] * a[3], 1e-12))


@dataclass(frozen=True)
class TrackerConfig:
    """Gates and gains of the :class:`Tracker` (distances are fractions of the object diameter,
    between the poses' images of the point the object's symmetries fix: see
    :meth:`~rigidpose.objects.Symmetries.fixed_point`)."""

    max_reprojection_px: float = 10.0
    #: a depth-verified measurement counts when the depth and mask agree with at least this
    #: much of the model's silhouette (``Measurement.depth_agreement``); below it, ICP fitted
    #: something (a wrong turn of the object, a neighbour) that the depth does not support
    min_agreement: float = 0.5
    max_jump: float = 0.5
    alpha: float = 0.7
    beta: float = 0.3
    max_lost_frames: int = 10
    reacquire_distance: float = 2.0
    duplicate_distance: float = 0.5
    #: a detection whose box lies mostly (this fraction of its area) inside a tracked object's
    #: projected box is that object: it is not measured again (which would cost a depth search)
    duplicate_overlap: float = 0.6
    #: also run the detector every this many frames while all tracks are fine, so that
    #: objects that enter (or were missed) get tracks; 0 = only while searching or lost
    redetect_every: int = 10


@dataclass(eq=False)
class Track:
    """One tracked object instance. ``velocity`` (6,) is the per-frame ROS-order pose change."""

    track_id: int
    obj_id: int
    pose: Pose
    estimate: PoseEstimate
    state: str = TRACKING
    velocity: NDArray[np.float64] = field(default_factory=lambda: np.zeros(6))
    misses: int = 0
    age: int = 1

    def predicted(self) -> Pose:
        return apply_perturbation(self.pose, self.velocity)


class Tracker:
    """Tracks the objects of an :class:`~rigidpose.estimate.estimator.Estimator` over frames."""

    def __init__(self, estimator, config: TrackerConfig = TrackerConfig()) -> None:
        self.estimator, self.config = estimator, config
        self.tracks: list[Track] = []
        self.frame = 0
        self._next_id = 1
        self._centres: dict[int, NDArray[np.float64]] = {}

    @property
    def state(self) -> str:
        if not self.tracks:
            return SEARCHING
        return TRACKING if all(t.state == TRACKING for t in self.tracks) else LOST

    def reset(self) -> None:
        self.tracks, self.frame, self._next_id = [], 0, 1

    def update(self, rgb, camera: Camera, depth=None, boxes=None) -> list[Track]:
        """Process one frame; returns the tracks in the ``tracking`` state (with their estimates)."""
        est = self.estimator
        t0 = est.start_frame()
        rgb, depth = check_rgb(rgb, camera), check_depth(depth, camera)
        self._follow(rgb, camera, depth)
        self._merge_duplicates()
        cfg = self.config
        periodic = cfg.redetect_every > 0 and self.frame % cfg.redetect_every == 0
        if boxes is not None or (est.detector is not None and (self.state != TRACKING or periodic)):
            self._detect(rgb, camera, depth, boxes)
        self.tracks = [t for t in self.tracks if t.misses <= cfg.max_lost_frames]
        self.frame += 1
        est.finish_frame(t0)
        return [t for t in self.tracks if t.state == TRACKING]

    def _gap(self, obj_id: int, a: Pose, b: Pose) -> float:
        """Distance (m) between two poses of ``obj_id`` at the point its symmetries fix (the
        origin for an asymmetric object): the same for every symmetry-equivalent of either."""
        if obj_id not in self._centres:
            self._centres[obj_id] = self.estimator.objects[obj_id].info.symmetries.fixed_point()[None]
        c = self._centres[obj_id]
        return float(np.linalg.norm(a.transform(c) - b.transform(c)))

    # --- stages -------------------------------------------------------------------------
    def _box(self, obj_id: int, pose: Pose, camera: Camera) -> NDArray[np.float64] | None:
        """The projected object box (4,) clipped to the image, or None when out of view."""
        info = self.estimator.objects[obj_id].info
        pts = pose.transform(box_corners(info.min_xyz, info.size_xyz))
        if np.any(pts[:, 2] <= 1e-3):
            return None
        uv = camera.project(pts)
        lo = np.clip(uv.min(0), 0, [camera.width - 1, camera.height - 1])
        hi = np.clip(uv.max(0), 0, [camera.width - 1, camera.height - 1])
        if np.any(hi - lo < 2):
            return None
        return np.array([lo[0], lo[1], hi[0] - lo[0] + 1, hi[1] - lo[1] + 1])

    def _follow(self, rgb, camera, depth) -> None:
        """Measure every track in the box of its predicted pose; update or mark lost."""
        preds, reqs, live = [], [], []
        for t in self.tracks:
            pred = t.predicted()
            box = self._box(t.obj_id, pred, camera)
            if box is None:
                self._miss(t, pred)
                continue
            preds.append(pred), reqs.append(CropRequest(t.obj_id, box, 1.0)), live.append(t)
        meas = self.estimator.measure_requests(rgb, camera, depth, reqs, preds) if reqs else []
        for t, pred, m in zip(live, preds, meas):
            if self._acceptable(m, pred, t.obj_id):
                self._correct(t, pred, m.estimate)
            else:
                self._miss(t, pred)

    def _trusted(self, m) -> bool:
        """A measurement counts when ICP against depth verified it and the depth agrees with it,
        or (without depth verification) when its keypoints reproject well."""
        if m.depth_verified:
            return m.depth_agreement >= self.config.min_agreement
        return m.reprojection_px <= self.config.max_reprojection_px

    def _acceptable(self, m, pred: Pose, obj_id: int) -> bool:
        if m is None or not self._trusted(m):
            return False
        d = self.estimator.objects[obj_id].info.diameter
        return self._gap(obj_id, pred, m.estimate.pose) <= self.config.max_jump * d

    def _correct(self, t: Track, pred: Pose, e: PoseEstimate) -> None:
        delta = pose_difference(pred, e.pose)
        t.pose = apply_perturbation(pred, self.config.alpha * delta).renamed("cam", "obj")
        t.velocity = t.velocity + self.config.beta * delta
        cov = transport_covariance(e.covariance, e.pose, t.pose) if e.covariance is not None else None
        t.estimate = PoseEstimate(e.obj_id, t.pose, e.score, e.bbox, cov, e.name, e.visible_fraction)
        t.state, t.misses, t.age = TRACKING, 0, t.age + 1

    @staticmethod
    def _miss(t: Track, pred: Pose) -> None:
        t.pose, t.state, t.misses = pred, LOST, t.misses + 1

    def _unexplained(self, reqs: list[CropRequest], camera: Camera) -> list[CropRequest]:
        """The detector's requests that no tracked object explains (at most ``duplicate_overlap`` of
        the box's area inside a tracked object's projected box): only these are measured."""
        tracked = [(t.obj_id, self._box(t.obj_id, t.pose, camera)) for t in self.tracks if t.state == TRACKING]
        tracked = [(o, b) for o, b in tracked if b is not None]
        keep = []
        for r in reqs:
            mine = [b for o, b in tracked if o == r.obj_id]
            if any(box_overlap(r.bbox, b) > self.config.duplicate_overlap for b in mine):
                continue
            keep.append(r)
        return keep

    def _merge_duplicates(self) -> None:
        """Drop a track that has converged onto an older tracked one (poses within ``duplicate_distance``)."""
        keep: list[Track] = []
        for t in sorted(self.tracks, key=lambda t: t.track_id):
            d = self.estimator.objects[t.obj_id].info.diameter
            if t.state == TRACKING and any(
                k.obj_id == t.obj_id and k.state == TRACKING
                and self._gap(t.obj_id, k.pose, t.pose) < self.config.duplicate_distance * d for k in keep
            ):
                continue
            keep.append(t)
        self.tracks = keep

    def _detect(self, rgb, camera, depth, boxes) -> None:
        """Run the detector (or use ``boxes``); re-acquire lost tracks, start new ones."""
        est, cfg = self.estimator, self.config
        reqs = est.requests(rgb, camera, boxes)
        if boxes is None:
            reqs = self._unexplained(reqs, camera)
        meas = [m for m in est.measure_requests(rgb, camera, depth, reqs, [None] * len(reqs)) if m is not None]
        for m in sorted(meas, key=lambda m: -m.estimate.score):
            e = m.estimate
            if not self._trusted(m):
                continue
            d = est.objects[e.obj_id].info.diameter
            same = [t for t in self.tracks if t.obj_id == e.obj_id]

            def gap(t: Track, e: PoseEstimate = e) -> float:
                return self._gap(e.obj_id, t.pose, e.pose)

            if any(gap(t) < cfg.duplicate_distance * d for t in same if t.state == TRACKING):
                continue  # already tracked (or just re-acquired) this frame
            lost = [t for t in same if t.state == LOST and gap(t) < cfg.reacquire_distance * d]
            if lost:
                t = min(lost, key=gap)
                sym = est.objects[e.obj_id].info.symmetries
                pose = stable_pose(e.pose, sym, t.pose).renamed("cam", "obj")
                cov = transport_covariance(e.covariance, e.pose, pose) if e.covariance is not None else None
                t.pose, t.velocity = pose, np.zeros(6)
                t.estimate = PoseEstimate(e.obj_id, pose, e.score, e.bbox, cov, e.name, e.visible_fraction)
                t.state, t.misses, t.age = TRACKING, 0, t.age + 1
                continue
            self.tracks.append(Track(self._next_id, e.obj_id, e.pose, e))
            self._next_id += 1
