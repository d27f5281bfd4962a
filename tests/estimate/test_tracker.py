"""Tracking over a synthetic video: two brackets that cross each other and a symmetric box
that turns. The crop stage answers from the GT poses with keypoint noise (the tiny test
network is far too weak to track), and for the box it answers a *random* symmetry
equivalent each frame: the tracker must still keep identities and never flip the frame."""

from __future__ import annotations

import numpy as np
import pytest

from fakes import CAM, GtCropStage, gt_box, make_objects
from rigidpose.estimate.estimator import Estimator
from rigidpose.estimate.tracker import LOST, SEARCHING, TRACKING
from rigidpose.geometry import Pose, axis_angle_to_matrix

N = 15


def scene(k: int, n: int = N) -> list[tuple[int, Pose]]:
    s = k / (n - 1)
    a = Pose(axis_angle_to_matrix([1.8, 0.2, 0.1 + s]), [-0.12 + 0.24 * s, -0.03, 0.55], "cam", "obj")
    b = Pose(axis_angle_to_matrix([0.4, -2.0, 0.3 - s]), [0.12 - 0.24 * s, 0.04, 0.6], "cam", "obj")
    c = Pose(axis_angle_to_matrix([0.2, 0.1, 0.3 + 1.2 * s]), [0.0, 0.12, 0.5], "cam", "obj")
    return [(1, a), (1, b), (2, c)]


@pytest.mark.parametrize("n", [N, pytest.param(300, marks=pytest.mark.slow, id="10s_at_30fps")])
def test_tracks_keep_identity_and_symmetric_frame_never_flips(rng, n):
    """``n`` frames; 300 is a 10-second video at 30 fps (the brackets cross around frame 150)."""
    cards, meshes = make_objects()
    crop = GtCropStage(cards, meshes, rng, noise_px=0.5)
    est = Estimator(crop, None, cards, meshes, score_threshold=0.1, tracking=True)
    tracker = est.tracker
    rgb = np.zeros((480, 640, 3), np.uint8)
    assert tracker.state == SEARCHING
    ids_to_gt: dict[int, int] = {}
    prev_box_pose = None
    for k in range(n):
        crop.gt = scene(k, n)
        boxes = [(o, gt_box(meshes, o, T)) for o, T in crop.gt] if k == 0 else None
        out = tracker.update(rgb, CAM, None, boxes)
        assert len(out) == 3 and tracker.state == TRACKING
        for t in out:
            nearest = min(range(3), key=lambda i: crop.gt[i][1].distance_to(t.pose))
            assert ids_to_gt.setdefault(t.track_id, nearest) == nearest, f"identity swap at frame {k}"
            assert t.pose.distance_to(crop.gt[nearest][1]) < 0.02  # 0.2 d of the bracket
        box = next(t for t in out if t.obj_id == 2)
        if prev_box_pose is not None:
            assert np.degrees(box.pose.angle_to(prev_box_pose)) < 8, f"symmetric frame flipped at frame {k}"
        prev_box_pose = box.pose
    assert sorted(ids_to_gt) == [1, 2, 3] and est.frames == n
    assert est.mean_timings()["crop"] >= 0 and crop.calls >= n


def test_lost_track_is_reacquired_with_its_id(rng):
    cards, meshes = make_objects()
    crop = GtCropStage(cards, meshes, rng, noise_px=0.3)
    est = Estimator(crop, None, cards, meshes, score_threshold=0.1, tracking=True)
    rgb = np.zeros((480, 640, 3), np.uint8)
    T = Pose(axis_angle_to_matrix([1.8, 0.2, 0.1]), [0.0, 0.0, 0.55], "cam", "obj")
    crop.gt = [(1, T)]
    first = est.tracker.update(rgb, CAM, None, [(1, gt_box(meshes, 1, T))])
    crop.gt = [(2, Pose(np.eye(3), [0.2, 0.2, 0.5]))]  # object 1 vanishes (only another object is in view)
    assert est.tracker.update(rgb, CAM, None, None) == []
    # the track of object 1 got no measurement (its crop has no object 1): lost, coasting
    assert [t.state for t in est.tracker.tracks] == [LOST]
    crop.gt = [(1, T)]
    again = est.tracker.update(rgb, CAM, None, [(1, gt_box(meshes, 1, T))])
    assert [t.track_id for t in again] == [t.track_id for t in first] == [1]


class _GtDetector:
    """Detector test double: the GT boxes of the crop stage's current frame, counting boxes."""

    def __init__(self, crop, meshes) -> None:
        self.crop, self.meshes, self.boxes = crop, meshes, 0

    def __call__(self, rgb):
        from types import SimpleNamespace

        out = [SimpleNamespace(obj_id=o, bbox=gt_box(self.meshes, o, T), score=0.9) for o, T in self.crop.gt]
        self.boxes += len(out)
        return out


def test_periodic_redetection_adds_a_new_object_without_duplicating_tracked_ones(rng):
    """Object 2 enters at frame 3: the re-detection at frame 10 gives it a track. The detector's
    box of the already tracked object 1 is recognised and not measured (or tracked) again."""
    cards, meshes = make_objects()
    crop = GtCropStage(cards, meshes, rng, noise_px=0.3)
    detector = _GtDetector(crop, meshes)
    est = Estimator(crop, detector, cards, meshes, score_threshold=0.1, tracking=True)
    assert est.tracker.config.redetect_every == 10
    a = Pose(axis_angle_to_matrix([1.8, 0.2, 0.1]), [-0.1, 0.0, 0.55], "cam", "obj")
    b = Pose(axis_angle_to_matrix([0.2, 0.1, 0.3]), [0.1, 0.05, 0.5], "cam", "obj")
    requests = []
    measure = est.measure_requests
    est.measure_requests = lambda rgb, cam, depth, reqs, refs=None: (requests.append(len(reqs)),
                                                                      measure(rgb, cam, depth, reqs, refs))[1]
    rgb = np.zeros((480, 640, 3), np.uint8)
    for k in range(12):
        crop.gt = [(1, a)] if k < 3 else [(1, a), (2, b)]
        out = est.tracker.update(rgb, CAM, None)
        ids = sorted((t.obj_id, t.track_id) for t in out)
        assert ids == ([(1, 1)] if k < 10 else [(1, 1), (2, 2)]), f"frame {k}: {ids}"
    # crops measured per call: frame 0 the one detection; frames 1-9 the track's crop; frame 10
    # the track's crop, then of the two detections only object 2's (object 1's box is its
    # track's: measuring it again would cost a depth search); frame 11 both tracks' crops
    assert requests == [1] * 12 + [2]
    assert detector.boxes == 1 + 2  # the detector ran at frame 0 (searching) and frame 10 (periodic)
    assert len(est.tracker.tracks) == 2


def test_box_overlap():
    from rigidpose.estimate.tracker import box_overlap

    assert box_overlap(np.array([0, 0, 10, 10.0]), np.array([0, 0, 20, 20.0])) == 1.0
    assert box_overlap(np.array([0, 0, 10, 10.0]), np.array([5, 0, 20, 20.0])) == 0.5
    assert box_overlap(np.array([0, 0, 10, 10.0]), np.array([30, 30, 5, 5.0])) == 0.0


def test_tracks_that_converge_on_one_object_are_merged(rng):
    from rigidpose.estimate.tracker import Track
    from rigidpose.geometry import PoseEstimate

    cards, meshes = make_objects()
    crop = GtCropStage(cards, meshes, rng, noise_px=0.3)
    est = Estimator(crop, None, cards, meshes, score_threshold=0.1, tracking=True)
    T = Pose(axis_angle_to_matrix([1.8, 0.2, 0.1]), [0.0, 0.0, 0.55], "cam", "obj")
    near = Pose(T.R, T.t + [0.01, 0.0, 0.0], "cam", "obj")
    est.tracker.tracks = [Track(1, 1, T, PoseEstimate(1, T)), Track(2, 1, near, PoseEstimate(1, near))]
    crop.gt = [(1, T)]
    out = est.tracker.update(np.zeros((480, 640, 3), np.uint8), CAM, None)
    assert [t.track_id for t in out] == [1]  # the older id survives


class _FlippedRgbCrop(GtCropStage):
    """A network that has not learnt the orientation: keypoints and direct pose of the pose
    turned 180° about the object's x axis; the mask is right."""

    FLIP = np.diag([1.0, -1.0, -1.0])

    def __call__(self, rgb, camera, requests):
        from dataclasses import replace

        out = []
        for c in super().__call__(rgb, camera, requests):
            if c.direct_pose is not None:
                T = Pose(c.direct_pose.R @ self.FLIP, c.direct_pose.t, "cam", "obj")
                uv = camera.project(T.transform(self.cards[c.request.obj_id].keypoints))
                c = replace(c, direct_pose=T, keypoints_px=uv)
            out.append(c)
        return out


@pytest.mark.slow
def test_with_depth_the_track_is_measured_from_its_prediction(rng):
    """RGB-D tracking with RGB poses that are always 180° wrong: after the first frame (found
    by the depth search) each frame is ICP from the tracker's prediction ("track+icp"), the
    bracket stays within 0.05 d with one id, and the rotation-grid search never runs again."""
    from fakes import render_depth

    cards, meshes = make_objects()
    crop = _FlippedRgbCrop(cards, meshes, rng, noise_px=0.3)
    est = Estimator(crop, None, cards, meshes, score_threshold=0.1, tracking=True)
    sources = []
    measure = est._measure_one
    est._measure_one = lambda *a: (lambda m: (sources.append(m and m.source), m)[1])(measure(*a))
    searches = []
    cloud = est.depth_refiner.cloud
    est.depth_refiner.cloud = lambda *a: (searches.append(len(sources)), cloud(*a))[1]
    d = meshes[1].diameter
    for k in range(12):
        T = Pose(axis_angle_to_matrix([1.8, 0.2, 0.1 + 0.04 * k]), [-0.05 + 0.008 * k, 0.0, 0.55], "cam", "obj")
        crop.gt = [(1, T)]
        boxes = [(1, gt_box(meshes, 1, T))] if k == 0 else None
        out = est.tracker.update(np.zeros((480, 640, 3), np.uint8), CAM, render_depth(meshes, crop.gt), boxes)
        assert [t.track_id for t in out] == [1], f"frame {k}"
        assert out[0].pose.distance_to(T) < 0.05 * d and np.degrees(out[0].pose.angle_to(T)) < 3, f"frame {k}"
    assert sources[0] == "depth+icp" and set(sources[1:]) == {"track+icp"}
    assert searches == [0]  # only the first frame's measurement searched the rotation grid


def test_a_depth_verified_measurement_counts_only_when_the_depth_agrees(rng):
    """ICP accepted against depth is not enough: the depth must explain at least
    ``min_agreement`` of the silhouette (a 180° turn of the bracket that ICP fitted scores
    0.4-0.5 on the tracking video, the right pose 0.7-1.0)."""
    from rigidpose.estimate.estimator import Measurement
    from rigidpose.geometry import PoseEstimate

    cards, meshes = make_objects()
    est = Estimator(GtCropStage(cards, meshes, rng), None, cards, meshes, tracking=True)
    tracker, e = est.tracker, PoseEstimate(1, Pose(np.eye(3), [0.0, 0.0, 0.5], "cam", "obj"))
    assert tracker.config.min_agreement == 0.5
    assert tracker._trusted(Measurement(e, 80.0, "depth+icp", 0.8))  # the keypoints do not matter then
    assert not tracker._trusted(Measurement(e, 1.0, "fused+icp", 0.4))
    assert tracker._trusted(Measurement(e, 4.0, "pnp")) and not tracker._trusted(Measurement(e, 40.0, "pnp"))


def _offset_box():
    """Card and mesh of a 6 x 4 x 2 cm box whose origin lies 5.4 cm off its centre, with its three
    180° turns about the centre: the origins of two equivalent poses lie up to 11 cm apart
    (YCB's soup can: its origin is 10 cm off its axis)."""
    import trimesh

    from rigidpose.net.card import CardObject
    from rigidpose.objects import ModelInfo, ObjectModel, Symmetries

    c = np.array([0.05, 0.02, 0.0])
    syms = []
    for R in (np.diag([1.0, -1, -1]), np.diag([-1.0, 1, -1]), np.diag([-1.0, -1, 1])):
        S = np.eye(4)
        S[:3, :3], S[:3, 3] = R, c - R @ c
        syms.append(S)
    m = ObjectModel(trimesh.creation.box((0.06, 0.04, 0.02)).apply_translation(c), obj_id=1, name="offset box",
                    symmetries=Symmetries(np.stack(syms)))
    assert np.allclose(m.symmetries.fixed_point(), c)
    return {1: CardObject(1, m.name, m.keypoints(8), ModelInfo(m.diameter, m.bbox_min, m.extents, m.symmetries))}, {1: m}


def test_a_symmetric_object_with_its_origin_off_centre_keeps_one_track(rng):
    """The detector runs every frame with loose boxes (so its detections are measured), and its
    measurements come out in the canonical frame, which changes as the box turns: the tracker
    must recognise them as the tracked box (distances at the symmetry-fixed point, not at
    the origin), keep one id, and never flip the published frame."""
    from dataclasses import replace
    from types import SimpleNamespace

    cards, meshes = _offset_box()
    crop = GtCropStage(cards, meshes, rng, noise_px=0.3)

    def loose(rgb):  # a box twice the object's size: most of it outside the tracked object's box
        x, y, w, h = gt_box(meshes, 1, crop.gt[0][1])
        return [SimpleNamespace(obj_id=1, bbox=np.array([x - w / 2, y - h / 2, 2 * w, 2 * h]), score=0.9)]

    est = Estimator(crop, loose, cards, meshes, score_threshold=0.1, tracking=True)
    est.tracker.config = replace(est.tracker.config, redetect_every=1)
    previous = None
    for k in range(16):
        T = Pose(axis_angle_to_matrix([0.3 + 0.2 * k, 1.2, 0.2]), [0.0, 0.01, 0.5], "cam", "obj")
        crop.gt = [(1, T)]
        out = est.tracker.update(np.zeros((480, 640, 3), np.uint8), CAM, None)
        assert [t.track_id for t in out] == [1] and len(est.tracker.tracks) == 1, f"frame {k}"
        if previous is not None:
            assert np.degrees(out[0].pose.angle_to(previous)) < 20, f"frame flipped at frame {k}"
        previous = out[0].pose
