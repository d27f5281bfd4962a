"""Each estimation stage with exact inputs: input checks, fusion, the pipeline with a GT
crop stage (ICP on rendered depth, symmetric frames, covariance), and the detector stage."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fakes import CAM, GtCropStage, gt_box, make_objects, render_depth, render_rgb
from rigidpose.errors import RigidposeError
from rigidpose.estimate.covariance import apply_perturbation
from rigidpose.estimate.estimator import Estimator
from rigidpose.estimate.covariance import pose_difference
from rigidpose.estimate.fuse import FuseConfig, fuse_hypotheses
from rigidpose.estimate.inputs import check_depth, check_rgb
from rigidpose.geometry import Pose

T1 = Pose.from_rvec_tvec([2.0, 0.3, -0.4], [0.02, -0.01, 0.45], "cam", "obj")


@pytest.fixture(scope="module")
def objects():
    return make_objects()


def test_input_checks():
    rgb = np.zeros((480, 640, 3), np.uint8)
    with pytest.raises(RigidposeError, match="image is 320x240 but the camera is 640x480"):
        check_rgb(np.zeros((240, 320, 3), np.uint8), CAM)
    with pytest.raises(RigidposeError, match="uint8"):
        check_rgb(rgb.astype(np.float32), CAM)
    with pytest.raises(RigidposeError, match="depth is 320x240 but the camera is 640x480"):
        check_depth(np.ones((240, 320), np.float32), CAM)
    with pytest.raises(RigidposeError, match="depth looks like millimetres"):
        check_depth(np.full((480, 640), 800, np.uint16), CAM)
    d = np.full((480, 640), 0.5, np.float32)
    d[0, :3] = [np.nan, 0.0, -1.0]
    out = check_depth(d, CAM)
    assert out.dtype == np.float32 and np.all(out[0, :3] == 0) and out[1, 1] == 0.5
    assert check_depth(np.full((480, 640), np.nan, np.float32), CAM).max() == 0  # all invalid: fine


def test_fusion_gt_keypoints_give_gt_pose(objects):
    cards, _ = objects
    X = cards[1].keypoints
    uv = CAM.project(T1.transform(X))
    for mode in ("keypoints", "fused"):
        r = fuse_hypotheses(X, uv, np.ones(len(X)), T1, CAM, cards[1].info.diameter, FuseConfig(mode=mode))
        assert r.pose.distance_to(T1) < 1e-6 and r.pose.angle_to(T1) < 1e-6 and r.reprojection_px < 1e-4
    assert r.source == "fused" and np.all(np.linalg.eigvalsh(r.covariance) > 0)


def test_fusion_chooses_by_reprojection(objects, rng):
    cards, _ = objects
    X, d = cards[1].keypoints, cards[1].info.diameter
    uv = CAM.project(T1.transform(X)) + rng.normal(0, 1.0, (len(X), 2))
    wrong = apply_perturbation(T1, [0.0, 0.0, 0.0, 0.5, 0.0, 0.0])  # 29 degrees off
    r = fuse_hypotheses(X, uv, np.ones(len(X)), wrong, CAM, d)
    assert r.source == "pnp" and np.degrees(r.pose.angle_to(T1)) < 2
    # keypoints unusable (confidence 0): the direct head is the answer, with its prior covariance
    r = fuse_hypotheses(X, uv, np.zeros(len(X)), wrong, CAM, d)
    assert r.source == "direct" and r.pose.allclose(wrong)
    assert np.isclose(r.covariance[3, 3], np.radians(10) ** 2)
    # a slightly-off direct pose is fused: the result lies between, nearer the sharper PnP
    near = apply_perturbation(T1, [0.002, 0, 0, 0, 0, 0])
    r = fuse_hypotheses(X, CAM.project(T1.transform(X)), np.ones(len(X)), near, CAM, d)
    assert r.source == "fused" and r.pose.distance_to(T1) < 1e-4
    delta = pose_difference(T1, near)
    assert np.allclose(apply_perturbation(T1, delta).as_matrix(), near.as_matrix())
    assert fuse_hypotheses(X, uv, np.zeros(len(X)), None, CAM, d) is None


def _estimator(objects, rng, **kw):
    cards, meshes = objects
    crop = GtCropStage(cards, meshes, rng)
    return Estimator(crop, None, cards, meshes, score_threshold=0.1, **kw), crop


def test_pipeline_with_gt_crops_icp_and_visible_fraction(objects, rng):
    est, crop = _estimator(objects, rng)
    _, meshes = objects
    T2 = Pose.from_rvec_tvec([0.3, -0.2, 0.1], [-0.08, 0.03, 0.5], "cam", "obj")
    crop.gt = [(1, T1), (2, T2)]
    depth = render_depth(meshes, crop.gt)
    depth[::7, ::5] = np.nan  # invalid pixels are skipped, not an error
    boxes = [(1, gt_box(meshes, 1, T1)), (2, gt_box(meshes, 2, T2))]
    ms = est.measure(np.zeros((480, 640, 3), np.uint8), CAM, depth, boxes)
    assert [m.estimate.obj_id for m in ms] == [1, 2]
    m1 = ms[0]
    assert m1.source.endswith("+icp") and m1.estimate.pose.distance_to(T1) < 1e-3
    assert np.degrees(m1.estimate.pose.angle_to(T1)) < 0.5
    assert 0.9 < m1.estimate.visible_fraction <= 1.0 and m1.estimate.name == "bracket"
    assert m1.estimate.covariance.shape == (6, 6) and np.all(np.linalg.eigvalsh(m1.estimate.covariance) > 0)
    assert set(est.timings) >= {"detect", "crop", "pnp", "icp", "total"} and est.timings["icp"] > 0
    # without depth there is no ICP
    from rigidpose.estimate.symmetry import stable_pose

    canon = stable_pose(T2, meshes[2].symmetries)
    for _ in range(3):  # the GT crop stage answers a random equivalent of the symmetric box each time
        ms = est.measure(np.zeros((480, 640, 3), np.uint8), CAM, None, boxes)
        assert not ms[0].source.endswith("+icp") and est.timings["icp"] == 0
        assert not ms[0].depth_verified and ms[0].depth_agreement is None
        # symmetric box: always the canonical equivalent of T2
        assert ms[1].estimate.pose.distance_to(canon) < 0.01 and np.degrees(ms[1].estimate.pose.angle_to(canon)) < 3


def test_depth_verified_pose_is_scored_by_the_depth(objects, rng):
    """Keypoint confidences of 0.05 (an unsure network) and a wrong PnP pose: scored by the
    keypoints alone (no depth, no silhouette stage) nothing passes the 0.3 threshold; with
    depth, the depth search finds the pose and the score becomes box score × depth agreement.
    RGB-only with the silhouette stage, the direct head's pose (right here) explains the mask
    and is scored by that overlap instead."""
    cards, meshes = objects

    class Unsure(GtCropStage):
        def __call__(self, rgb, camera, requests):
            out = super().__call__(rgb, camera, requests)
            for o in out:
                o.confidences[:] = 0.05
                o.keypoints_px[:] = o.keypoints_px[::-1].copy()  # keypoints swapped: PnP gets a wrong pose
            return out

    crop = Unsure(cards, meshes, rng)
    est = Estimator(crop, None, cards, meshes, score_threshold=0.3)
    crop.gt = [(1, T1)]
    boxes = [(1, gt_box(meshes, 1, T1))]
    rgb = np.zeros((480, 640, 3), np.uint8)
    keypoints_only = Estimator(crop, None, cards, meshes, score_threshold=0.3, silhouette="off")
    assert keypoints_only.measure(rgb, CAM, None, boxes) == []
    [m] = est.measure(rgb, CAM, None, boxes)
    assert m.source == "direct" and m.estimate.score > 0.9**8  # IoU⁸ of the direct pose's silhouette
    [m] = est.measure(rgb, CAM, render_depth(meshes, crop.gt), boxes)
    assert m.source.endswith("icp") and m.depth_verified
    assert m.estimate.score == pytest.approx(m.depth_agreement) and m.depth_agreement > 0.9  # box score 1 × agreement

    assert m.estimate.pose.distance_to(T1) < 2e-3 and np.degrees(m.estimate.pose.angle_to(T1)) < 1


def test_estimator_errors(objects, rng):
    est, _ = _estimator(objects, rng)
    rgb = np.zeros((480, 640, 3), np.uint8)
    with pytest.raises(RigidposeError, match="no detector"):
        est.estimate(rgb, CAM)
    with pytest.raises(RigidposeError, match="objects \\[1, 2\\]"):
        est.estimate(rgb, CAM, boxes=[(7, (1, 1, 10, 10))])
    with pytest.raises(RigidposeError, match="depth looks like millimetres"):
        est.estimate(rgb, CAM, np.full((480, 640), 450, np.uint16), boxes=[(1, (1, 1, 10, 10))])
    assert est.estimate(rgb, CAM, boxes=[]) == []


def test_detect_stage_maps_classes_and_thresholds(objects):
    from rigidpose.estimate.detect import DetectStage
    from rigidpose.net.card import ModelCard
    from rigidpose.net.detector import CenterNetDetector

    cards, _ = objects
    torch.manual_seed(0)
    net = CenterNetDetector(2, width=0.25).eval()
    with torch.no_grad():
        net.size[-1].bias.fill_(4.0)  # boxes of 16 px at the network input (the untrained size head says ~0)
    card = ModelCard("centernet", {"num_classes": 2, "width": 0.25}, (cards[2], cards[1]))
    stage = DetectStage(net, card, [1], input_sizes=128, score_threshold=0.0)
    x, scale = stage.network_input(np.zeros((480, 640, 3), np.uint8), 128)
    assert tuple(x.shape) == (1, 3, 96, 128) and np.isclose(scale, 0.2)
    boxes = stage(np.zeros((480, 640, 3), np.uint8))
    assert boxes and all(b.obj_id == 1 for b in boxes)  # class 1 of this card is object 1; object 2 dropped
    assert all(np.allclose(b.bbox[2:], 16 / scale) for b in boxes)  # sizes mapped back to image pixels
    # an untrained detector's heatmap prior (0.01) is below any real threshold: no detections
    quiet = DetectStage(net, card, None, input_sizes=128, score_threshold=0.3)
    assert quiet(np.zeros((480, 640, 3), np.uint8)) == []
    est = Estimator(lambda *a: [], quiet, cards, None)
    assert est.estimate(np.zeros((480, 640, 3), np.uint8), CAM) == []


def test_detect_stage_merges_the_boxes_of_its_input_sizes(objects):
    """Two input sizes: the boxes of both, merged by per-class NMS (the better-scored of two
    boxes on one thing is kept, other objects' boxes are not suppressed), by decreasing score,
    at most ``max_per_object`` of each object."""
    from rigidpose.estimate.detect import DetectStage, check_input_sizes, default_input_sizes
    from rigidpose.net.card import ModelCard

    assert default_input_sizes(256) == (256, 384) and default_input_sizes(128) == (128, 192)
    assert default_input_sizes(96) == (96, 160)  # 1.5 × 96 = 144, rounded up to a multiple of 32
    assert check_input_sizes([320, 320, 256]) == (320, 256)
    for bad in (100, [256, 0], [], [256.5], ["256"]):
        with pytest.raises(RigidposeError, match="multiples of 32 and at least 64"):
            check_input_sizes(bad)

    def detector(x):
        """Peaks (class, row, column, x offset, logit) per input width; 80-px boxes in a 640 × 480 image."""
        h, w = x.shape[2] // 4, x.shape[3] // 4
        heat, off = torch.full((1, 2, h, w), -10.0), torch.zeros((1, 2, h, w))
        peaks = {128: [(0, 10, 10, 0.0, 1.0), (0, 20, 28, 0.0, 3.0)],  # scale 0.2: cell (10, 10) → pixel 209.5
                 192: [(0, 15, 15, 0.25, 2.0), (1, 15, 15, 0.25, 0.5)]}[x.shape[3]]  # scale 0.3: cell 15.25 → 209.5
        for c, i, j, dx, logit in peaks:
            heat[0, c, i, j], off[0, 0, i, j], off[0, 1, i, j] = logit, dx, dx
        return {"heatmap": heat, "size": torch.full((1, 2, h, w), 20.0 * x.shape[3] / 640), "offset": off}

    cards, _ = objects
    card = ModelCard("centernet", {"num_classes": 2, "width": 0.25, "input_size": 128}, (cards[2], cards[1]))
    stage = DetectStage(detector, card, None, score_threshold=0.01)
    assert stage.input_sizes == (128, 192)
    boxes = stage(np.zeros((480, 640, 3), np.uint8))
    got = [(b.obj_id, round(b.score, 3), *np.round(b.bbox, 1)) for b in boxes]
    sig = lambda z: round(float(1 / (1 + np.exp(-z))), 3)  # noqa: E731
    assert got == [(2, sig(3.0), 530.0, 370.0, 80.0, 80.0),  # at 128 only
                   (2, sig(2.0), 170.0, 170.0, 80.0, 80.0),  # found at both sizes: 192's better score kept
                   (1, sig(0.5), 170.0, 170.0, 80.0, 80.0)]  # the same place, another object: kept
    capped = DetectStage(detector, card, None, score_threshold=0.01, max_per_object=1)(np.zeros((480, 640, 3), np.uint8))
    assert [(b.obj_id, round(b.score, 3)) for b in capped] == [(2, sig(3.0)), (1, sig(0.5))]  # the best of each object
    with pytest.raises(RigidposeError, match="max_per_object must be at least 1, got 0"):
        DetectStage(detector, card, None, max_per_object=0)
    only = DetectStage(detector, card, [1], input_sizes=[128], score_threshold=0.01)
    assert only(np.zeros((480, 640, 3), np.uint8)) == []  # object 1 is seen only at 192


def test_silhouette_fit_replaces_a_wrong_orientation_and_keeps_a_right_one(objects, rng, monkeypatch):
    """A crop stage with the right mask and a 90°-wrong orientation: RGB-only, the silhouette
    fit (on the GrabCut-sharpened mask, cut at most SHARPEN_MAX_SIDE wide) finds the pose.
    With the right orientation the heads' pose explains the mask as well and is kept."""
    import rigidpose.estimate.estimator as estimator_module
    from rigidpose.estimate.mask_refine import SHARPEN_MAX_SIDE
    from rigidpose.eval.pose_error import add

    cut, sides = estimator_module.grabcut_mask, []
    monkeypatch.setattr(estimator_module, "grabcut_mask", lambda *a, **k: sides.append(k.get("max_side")) or cut(*a, **k))

    cards, meshes = objects
    gt = [(1, T1)]
    rgb = render_rgb(meshes, gt, rng)
    boxes = [(1, gt_box(meshes, 1, T1))]
    d = cards[1].info.diameter
    for turn, expect in ((np.array([0.0, np.pi / 2, 0.0]), "silhouette"), (None, "fused")):
        crop = GtCropStage(cards, meshes, rng, turn=turn)
        crop.gt = gt
        est = Estimator(crop, None, cards, meshes, score_threshold=0.0)
        seen, stage = [], est._silhouette
        est._silhouette = lambda *a, **k: seen.append(stage(*a, **k)) or seen[-1]  # record what the stage saw
        (m,) = est.measure(rgb, CAM, None, boxes=boxes)
        err = add(m.estimate.pose.R, m.estimate.pose.t, T1.R, T1.t, meshes[1].vertices) / d
        assert m.source == expect and err < 0.1, (turn, m.source, err)
        assert est.timings["silhouette"] > 0
        # both score by their silhouette's overlap with the mask and their edges' with the image's
        # (the user box scores 1): IoU⁸ × edge⁴, not the heads' keypoint confidence
        _, found, heads_fit = seen[-1]
        iou, edge = (found.iou, found.edge) if found is not None else heads_fit
        assert iou > 0.9 and edge > 0.8, (turn, iou, edge)
        assert m.estimate.score == pytest.approx(iou**8 * edge**4), (turn, iou, edge, m.estimate.score)
    assert sides == [SHARPEN_MAX_SIDE, SHARPEN_MAX_SIDE]  # one capped cut per crop


def test_prepare_builds_the_silhouette_templates_where_they_will_be_used(objects, rng):
    from rigidpose.estimate.silhouette import SilhouetteConfig, SilhouetteSearch
    from rigidpose.estimate.silhouette_templates import TemplateConfig

    cards, meshes = objects
    small = SilhouetteConfig(templates=TemplateConfig(views=20, in_plane=4))
    for mode, with_depth, built in (("rgb", True, set()), ("rgb", False, {1, 2}), ("always", True, {1, 2}),
                                    ("off", False, set())):
        est = Estimator(GtCropStage(cards, meshes, rng), None, cards, meshes, silhouette=mode)
        est.silhouette = SilhouetteSearch(small)
        est.prepare(with_depth=with_depth)
        assert set(est.silhouette._banks) == built, (mode, with_depth)
