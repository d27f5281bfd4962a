"""The depth refiner's fallbacks when the network's mask or box is wrong: the search of a mask's
depth pieces, the colour re-cut, the box's own depth, and the things standing around the box."""

from __future__ import annotations

import numpy as np
import pytest
from scenes import CAM, POSES, noisy_depth, plate_in_front, post_beside

import rigidpose.estimate.depth_refine as depth_refine
from rigidpose.estimate.depth_refine import DepthRefiner
from rigidpose.estimate.global_reg import depth_agreement
from rigidpose.geometry import Pose, axis_angle_to_matrix


def test_the_pieces_search_stops_at_the_first_piece_the_depth_agrees_with(part, rng, monkeypatch):
    mesh, caster, diameter = part
    truth = POSES[0]
    depth, mask, plate, visible = plate_in_front(caster, truth, diameter, rng)
    wrong = Pose(truth.R @ axis_angle_to_matrix([0.0, 0.0, np.radians(120)]), truth.t, "cam", "obj")
    searched = []
    grid = depth_refine.grid_hypotheses
    monkeypatch.setattr(depth_refine, "grid_hypotheses", lambda cloud, pts, cfg=None: searched.append(len(pts)) or grid(cloud, pts, cfg))
    for pieces, searches in (([visible, plate], 2), ([plate, visible], 3)):  # the whole mask, then pieces
        searched.clear()
        monkeypatch.setattr(depth_refine, "depth_segments", lambda *a, p=pieces, **k: p)
        # the hidden third of the right pose's silhouette counts half: agreement about 0.83
        out = DepthRefiner(good_agreement=0.8)(1, mesh, caster, diameter, wrong, np.eye(6), "fused", CAM, depth, mask)
        assert len(searched) == searches and out.agreement >= 0.8
        assert np.degrees(out.pose.angle_to(truth)) < 1.0


def test_refiner_searches_the_colour_cut_mask_when_the_depth_cannot_cut_the_mask(part, rng, monkeypatch):
    """The mask covers the bracket and a plate that the depth does not separate from it (no pieces),
    and the RGB pose is 120° off. Only the mask re-cut by the image's colours (``sharpen``) finds the
    pose; a mask that the search already explains is never re-cut, and a re-cut that changes
    (almost) nothing is not searched again."""
    mesh, caster, diameter = part
    truth = POSES[0]
    depth, mask, _, visible = plate_in_front(caster, truth, diameter, rng)
    wrong = Pose(truth.R @ axis_angle_to_matrix([0.0, 0.0, np.radians(120)]), truth.t, "cam", "obj")
    monkeypatch.setattr(depth_refine, "depth_segments", lambda *a, **k: [])
    cuts = []

    def sharpen(m):
        cuts.append(m)
        return visible

    out = DepthRefiner()(1, mesh, caster, diameter, wrong, np.eye(6), "fused", CAM, depth, mask, sharpen=sharpen)
    assert len(cuts) == 1 and cuts[0] is mask
    assert out.source == "depth+icp"
    assert np.degrees(out.pose.angle_to(truth)) < 1.0 and out.pose.distance_to(truth) < 0.002
    # scored against the network's mask, as every other result: the plate's pixels count as misses
    assert out.agreement == pytest.approx(depth_agreement(out.pose, caster, CAM, depth, mask, diameter))
    cuts.clear()  # a result scoring recut_below or more is not re-cut for
    DepthRefiner(recut_below=0.0)(1, mesh, caster, diameter, wrong, np.eye(6), "fused", CAM, depth, mask, sharpen=sharpen)
    assert not cuts

    searched = []
    grid = depth_refine.grid_hypotheses
    monkeypatch.setattr(depth_refine, "grid_hypotheses", lambda cloud, pts, cfg=None: searched.append(len(pts)) or grid(cloud, pts, cfg))
    DepthRefiner()(1, mesh, caster, diameter, wrong, np.eye(6), "fused", CAM, depth, mask, sharpen=lambda m: m.copy())
    assert len(searched) == 1  # the same mask again: one search only
    cuts.clear()
    clean, hit = noisy_depth(caster, truth, rng)
    good = DepthRefiner()(1, mesh, caster, diameter, wrong, np.eye(6), "fused", CAM, clean, hit, sharpen=sharpen)
    assert not cuts and np.degrees(good.pose.angle_to(truth)) < 1.0


def test_refiner_searches_the_boxs_depth_when_the_mask_missed_the_part(part, rng):
    """The network's mask lies beside the part (it painted the background) and the RGB pose is
    120° off: with the crop's ``box``, step 4 searches the valid depth inside it and finds the pose."""
    mesh, caster, diameter = part
    truth = POSES[0]
    depth, hit = noisy_depth(caster, truth, rng)
    rows, cols = np.nonzero(hit)
    box = np.array([cols.min() - 20, rows.min() - 20, cols.max() - cols.min() + 40, rows.max() - rows.min() + 40], float)
    beside = np.zeros_like(hit)
    beside[rows.min() : rows.max(), max(cols.min() - 60, 0) : cols.min() - 5] = True  # no depth there
    wrong = Pose(truth.R @ axis_angle_to_matrix([0.0, 0.0, np.radians(120)]), truth.t, "cam", "obj")
    out = DepthRefiner()(1, mesh, caster, diameter, wrong, np.eye(6), "fused", CAM, depth, beside, box=box)
    assert out.source == "depth+icp"
    assert np.degrees(out.pose.angle_to(truth)) < 1.0 and out.pose.distance_to(truth) < 0.002
    lost = DepthRefiner()(1, mesh, caster, diameter, wrong, np.eye(6), "fused", CAM, depth, beside)
    assert lost.agreement is None and lost.pose is wrong  # nothing to fit: the RGB pose stays


def test_refiner_searches_the_things_around_a_box_shifted_off_the_part(part, rng):
    """The detector's box is shifted onto a post beside the bracket and holds a sliver of the
    bracket; the network's mask painted the post, and the RGB pose is 120° off. Neither the mask,
    nor the box's own depth, holds enough of the bracket: the things standing around the box
    (:func:`~rigidpose.estimate.depth_masks.box_depth_clusters`) do, and the bracket's pose is
    found there and judged against the bracket's own depth cluster, not the post."""
    mesh, caster, diameter = part
    truth = POSES[0]
    depth, post, box = post_beside(caster, truth, diameter, rng)
    wrong = Pose(truth.R @ axis_angle_to_matrix([0.0, 0.0, np.radians(120)]), truth.t, "cam", "obj")
    out = DepthRefiner()(1, mesh, caster, diameter, wrong, np.eye(6), "fused", CAM, depth, post, box=box)
    assert out.source == "depth+icp"
    assert np.degrees(out.pose.angle_to(truth)) < 1.0 and out.pose.distance_to(truth) < 0.002
    assert out.agreement > 0.75  # judged against the bracket's cluster (less what touches the table)
    assert depth_agreement(out.pose, caster, CAM, depth, post, diameter) < 0.6
    off = DepthRefiner(clusters=0)(1, mesh, caster, diameter, wrong, np.eye(6), "fused", CAM, depth, post, box=box)
    assert np.degrees(off.pose.angle_to(truth)) > 10 or off.pose.distance_to(truth) > 0.1 * diameter
    with pytest.raises(ValueError, match="clusters"):
        DepthRefiner(clusters=-1)


def test_the_things_around_a_box_are_searched_once_per_frame(part, rng, monkeypatch):
    """A second detection in the same frame whose clusters are the same takes the first one's
    results instead of searching them again; a new frame, even in the same buffer, searches anew."""
    mesh, caster, diameter = part
    truth = POSES[0]
    depth, post, box = post_beside(caster, truth, diameter, rng)
    wrong = Pose(truth.R @ axis_angle_to_matrix([0.0, 0.0, np.radians(120)]), truth.t, "cam", "obj")
    searched = []
    grid = depth_refine.grid_hypotheses
    monkeypatch.setattr(depth_refine, "grid_hypotheses", lambda cloud, pts, cfg=None: searched.append(len(pts)) or grid(cloud, pts, cfg))
    refiner = DepthRefiner()

    def run(frame_box):
        searched.clear()
        return refiner(1, mesh, caster, diameter, wrong, np.eye(6), "fused", CAM, depth, post, box=frame_box), len(searched)

    first, n1 = run(box)
    second, n2 = run(box + [2, 1, 0, 0])  # the same frame, another box around the same things
    depth[0, 0] += 0.001  # a new frame in the same buffer
    third, n3 = run(box)
    assert n2 < n1 and n3 == n1
    assert all(np.degrees(r.pose.angle_to(truth)) < 1.0 for r in (first, second, third))


def test_a_part_found_in_a_frame_is_not_searched_again_from_another_box(part, rng, monkeypatch):
    """Two detections of one part in a frame, the RGB pose 120° off in both: the first box's grid
    search finds the part, and the second's mask (another crop's: smaller) lies inside the depth
    that pose explains, so it takes that pose without searching. The post beside the part is not
    explained and is searched; a new frame, even in the same buffer, searches anew."""
    from scipy.ndimage import binary_erosion

    mesh, caster, diameter = part
    truth = POSES[0]
    depth, post, _ = post_beside(caster, truth, diameter, rng)
    hit = caster.render(truth, CAM).hit
    wrong = Pose(truth.R @ axis_angle_to_matrix([0.0, 0.0, np.radians(120)]), truth.t, "cam", "obj")
    searched = []
    grid = depth_refine.grid_hypotheses
    monkeypatch.setattr(depth_refine, "grid_hypotheses", lambda cloud, pts, cfg=None: searched.append(len(pts)) or grid(cloud, pts, cfg))
    refiner = DepthRefiner(clusters=0)

    def run(mask):
        searched.clear()
        return refiner(1, mesh, caster, diameter, wrong, np.eye(6), "fused", CAM, depth, mask), len(searched)

    first, n1 = run(hit)
    second, n2 = run(binary_erosion(hit, iterations=2))
    assert n1 >= 1 and n2 == 0 and any(second is e.result for e in refiner.memo.explained)
    assert first.source == "depth+icp" and np.degrees(first.pose.angle_to(truth)) < 1.0
    _, n3 = run(post)
    assert n3 >= 1
    explained = list(refiner.memo.explained)
    depth[0, 0] += 0.001  # a new frame in the same buffer
    third, n4 = run(binary_erosion(hit, iterations=2))
    assert n4 >= 1 and all(third is not e.result for e in explained) and np.degrees(third.pose.angle_to(truth)) < 1.0


def test_predicts_cluster_default_is_the_refiners():
    """``rigidpose predict --depth-clusters`` spells its default out (the CLI does not import the
    estimator to build its --help): it must be the refiner's."""
    from rigidpose.cli import build_parser

    args = build_parser().parse_args(["predict", "--checkpoint", "RUN", "--dataset", "D", "--out", "r.csv"])
    assert args.depth_clusters == depth_refine.CLUSTERS
