"""Shape-only depth hypotheses (ICP from a rotation grid) and the depth refiner that picks between
ICP from the RGB pose and ICP from the shape-only start (its fallbacks for a wrong mask or box
are in test_depth_refine_fallbacks.py)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scenes import CAM, POSES, noisy_depth, plate_in_front

import rigidpose.estimate.depth_refine as depth_refine
from rigidpose.estimate.depth_refine import DepthRefiner, depth_segments, observed_points
from rigidpose.estimate.global_reg import (GlobalRegConfig, ModelCloud, best_agreeing, depth_agreement,
                                           distinct_poses, explained_pixels, grid_hypotheses, rotation_grid)
from rigidpose.geometry import Pose, axis_angle_to_matrix


@pytest.mark.parametrize("count, within", [(60, 45.0), (240, 36.0), (1000, 24.0)])
def test_rotation_grid_covers_so3(count, within):
    """The icosahedral group (60) and super-Fibonacci spirals of other sizes: proper rotations,
    and every random rotation lies within ``within`` degrees of one of them (ICP's basin is
    about 45°; measured worst cases 43°, 34° and 21°)."""
    from rigidpose.geometry import random_rotation

    grid = rotation_grid(count)
    assert grid.shape == (count, 3, 3)
    assert np.allclose(np.einsum("gji,gjk->gik", grid, grid), np.eye(3), atol=1e-9)
    assert np.allclose(np.linalg.det(grid), 1.0)
    rng = np.random.default_rng(3)
    worst = 0.0
    for _ in range(500):
        R = random_rotation(rng)
        cos = (np.einsum("ij,gij->g", R, grid) - 1) / 2
        worst = max(worst, np.degrees(np.arccos(np.clip(cos.max(), -1, 1))))
    assert worst < within
    with pytest.raises(ValueError, match="at least one"):
        rotation_grid(0)


def test_distinct_poses_drop_the_repeats_of_a_better_start():
    centre = np.array([0.0, 0.0, 0.02])
    a = POSES[0]
    near = Pose(a.R @ axis_angle_to_matrix(np.radians([2.0, 0.0, 0.0])), a.t + [0.001, 0, 0], "cam", "obj")
    turned = Pose(a.R @ axis_angle_to_matrix(np.radians([0.0, 30.0, 0.0])), a.t, "cam", "obj")
    shifted = Pose(a.R, a.t + [0.02, 0, 0], "cam", "obj")
    kept = distinct_poses([a, near, turned, shifted, a], centre, 5.0, 0.01)
    assert kept == [a, turned, shifted]  # in their order, the first of each kind
    assert distinct_poses([], centre, 5.0, 0.01) == []


@pytest.mark.parametrize("k", range(len(POSES)))
def test_grid_hypotheses_find_the_pose_from_depth_alone(part, rng, k):
    mesh, caster, diameter = part
    depth, mask = noisy_depth(caster, POSES[k], rng)
    pts = observed_points(CAM, depth, mask, diameter)
    assert len(pts) > 500
    starts = grid_hypotheses(ModelCloud(mesh.vertices, mesh.faces, diameter), pts)
    assert 1 <= len(starts) <= GlobalRegConfig().keep
    best = min(starts, key=lambda p: p.angle_to(POSES[k]))
    # one is close enough for ICP: well inside its 30° / 0.25 d acceptance
    assert np.degrees(best.angle_to(POSES[k])) < 20 and best.distance_to(POSES[k]) < 0.1 * diameter


@pytest.mark.parametrize("k", range(len(POSES)))
def test_refiner_recovers_from_a_wrong_rgb_rotation(part, rng, k):
    """The RGB pose is 120° off (out of ICP's reach): the shape-only start wins."""
    mesh, caster, diameter = part
    truth = POSES[k]
    depth, mask = noisy_depth(caster, truth, rng)
    wrong = Pose(truth.R @ axis_angle_to_matrix([0.0, 0.0, np.radians(120)]), truth.t, "cam", "obj")
    cov = np.eye(6) * 1e-2
    out = DepthRefiner()(1, mesh, caster, diameter, wrong, cov, "fused", CAM, depth, mask)
    assert out.source == "depth+icp" and out.agreement > 0.95
    assert np.degrees(out.pose.angle_to(truth)) < 1.0 and out.pose.distance_to(truth) < 0.002
    assert out.covariance.shape == (6, 6) and not np.array_equal(out.covariance, cov)
    # and the choice follows the agreement with the depth image
    assert depth_agreement(out.pose, caster, CAM, depth, mask, diameter) > 0.95
    assert depth_agreement(wrong, caster, CAM, depth, mask, diameter) < 0.8


def test_refiner_keeps_a_good_rgb_pose_refined_and_is_off_when_asked(part, rng):
    mesh, caster, diameter = part
    truth = POSES[1]
    depth, mask = noisy_depth(caster, truth, rng)
    near = Pose(truth.R @ axis_angle_to_matrix(np.radians([2.0, -1.0, 1.5])), truth.t + [0.003, 0, -0.004], "cam", "obj")
    out = DepthRefiner()(1, mesh, caster, diameter, near, np.eye(6), "pnp", CAM, depth, mask)
    assert out.source == "pnp+icp"  # agreed with: no search
    assert np.degrees(out.pose.angle_to(truth)) < 1.0 and out.pose.distance_to(truth) < 0.002
    off = DepthRefiner(global_init=False)(1, mesh, caster, diameter, near, np.eye(6), "pnp", CAM, depth, mask)
    assert off.source == "pnp+icp"


def test_refiner_searches_on_when_the_image_edges_disagree(part, rng):
    """A near RGB pose that ICP refines and the depth agrees with ends the search, unless the
    image's edges disagree with it: then the grid search runs too, every result carries its
    edge check, and the winner is the best agreement × edge²."""
    mesh, caster, diameter = part
    truth = POSES[1]
    depth, mask = noisy_depth(caster, truth, rng)
    near = Pose(truth.R @ axis_angle_to_matrix(np.radians([2.0, -1.0, 1.5])), truth.t + [0.003, 0, -0.004], "cam", "obj")
    for edge, searches in ((None, False), (0.95, False), (0.5, True)):
        refiner = DepthRefiner()
        searched, cloud = [], refiner.cloud
        refiner.cloud = lambda *a: (searched.append(a), cloud(*a))[1]
        seen = []
        out = refiner(1, mesh, caster, diameter, near, np.eye(6), "pnp", CAM, depth, mask,
                      edges=lambda p: seen.append(p) or edge)
        assert bool(searched) == searches and (len(seen) > 1) == searches and out.edge == edge, (edge, len(seen))
        assert out.agreement > 0.95 and np.degrees(out.pose.angle_to(truth)) < 1.0
    # no result's edges agree well enough to stop (all under good_edge): the search runs to the
    # end and the winner is the best agreement × edge², here the second result checked
    refiner = DepthRefiner()
    poses = []
    out = refiner(1, mesh, caster, diameter, near, np.eye(6), "pnp", CAM, depth, mask,
                  edges=lambda p: poses.append(p) or (0.7 if len(poses) == 2 else 0.3))
    assert len(poses) > 2 and out.edge == 0.7 and out.pose.allclose(poses[1])


def test_no_points_no_hypothesis(part):
    mesh, caster, diameter = part
    depth = np.zeros((480, 640), np.float32)
    mask = np.zeros((480, 640), bool)
    assert len(observed_points(CAM, depth, mask, diameter)) == 0
    out = DepthRefiner()(1, mesh, caster, diameter, POSES[0], np.eye(6), "fused", CAM, depth, mask)
    assert out.source == "fused" and out.pose is POSES[0] and out.agreement is None
    depth[:] = np.nan  # NaN depth everywhere: still no crash, still the RGB pose
    assert DepthRefiner()(1, mesh, caster, diameter, POSES[0], np.eye(6), "fused", CAM, depth, ~mask).source == "fused"


def test_refiner_starts_from_the_trackers_prior(part, rng):
    """Tracking: the RGB pose is 180° off, the tracker's prediction a few degrees and mm off.
    ICP from the prediction is tried first and ends the search (one ICP; no grid search)."""
    mesh, caster, diameter = part
    truth = POSES[2]
    depth, mask = noisy_depth(caster, truth, rng)
    flipped = Pose(truth.R @ axis_angle_to_matrix([np.pi, 0.0, 0.0]), truth.t, "cam", "obj")
    predicted = Pose(truth.R @ axis_angle_to_matrix(np.radians([3.0, -2.0, 2.0])), truth.t + [0.004, -0.002, 0.003],
                     "cam", "obj")
    refiner = DepthRefiner()
    searched = []
    refiner.cloud = lambda *a: searched.append(a)  # the grid search would need the model cloud
    out = refiner(1, mesh, caster, diameter, flipped, np.eye(6), "fused", CAM, depth, mask, prior=predicted)
    assert out.source == "track+icp" and out.agreement >= refiner.good_agreement and searched == []
    assert np.degrees(out.pose.angle_to(truth)) < 1.0 and out.pose.distance_to(truth) < 0.002
    # without the prior the same frame needs the search, which finds the pose from the depth
    alone = DepthRefiner()(1, mesh, caster, diameter, flipped, np.eye(6), "fused", CAM, depth, mask)
    assert alone.source == "depth+icp"


def test_agreement_counts_occluded_pixels_half_and_see_through_pixels_not_at_all(part, rng):
    """Depth of the bracket with a plate in front of its left half (and the visible mask):
    the true pose's hidden pixels count half instead of against it; a pose pushed back by
    0.3 d, whose silhouette the depth then lies in front of everywhere, scores at most half;
    a pose pulled forward, which the depth shows the background behind, scores nothing."""
    mesh, caster, diameter = part
    truth = POSES[0]
    depth, hit = noisy_depth(caster, truth, rng, noise=0.0)
    cols = np.nonzero(hit.any(0))[0]
    left = np.zeros_like(hit)
    left[:, : (cols.min() + cols.max()) // 2] = True
    occluded = depth.copy()
    occluded[left & hit] -= 0.3 * diameter  # a plate in front of the left half
    visible = hit & ~left
    f = np.count_nonzero(left & hit) / np.count_nonzero(hit)  # the hidden fraction of the silhouette
    assert 0.2 < f < 0.8
    old = depth_agreement(truth, caster, CAM, occluded, visible, diameter, occluded_weight=0.0)
    new = depth_agreement(truth, caster, CAM, occluded, visible, diameter)
    assert old == pytest.approx(1 - f, abs=0.01) and new == pytest.approx(1 - f / 2, abs=0.01)
    assert depth_agreement(truth, caster, CAM, depth, hit, diameter) == pytest.approx(1.0, abs=0.01)
    back = Pose(truth.R, truth.t * (1 + 0.3 * diameter / truth.t[2]), "cam", "obj")
    assert depth_agreement(back, caster, CAM, depth, hit, diameter) <= 0.5 + 0.01
    front = Pose(truth.R, truth.t * (1 - 0.3 * diameter / truth.t[2]), "cam", "obj")
    wall = np.where(hit, depth, truth.t[2] + diameter)  # a wall behind the bracket
    # without a mask that half is 1; the depth half gives nothing
    assert depth_agreement(front, caster, CAM, wall, None, diameter) == pytest.approx(0.5, abs=0.01)


def test_explained_pixels_are_the_silhouette_where_the_depth_agrees(part, rng):
    """At the true pose the explained pixels are the visible part's: not those of its left half,
    which a plate 0.3 d in front hides, and nothing outside the silhouette; a pose pushed back
    by 0.3 d explains none."""
    mesh, caster, diameter = part
    truth = POSES[0]
    depth, hit = noisy_depth(caster, truth, rng)
    left = np.zeros_like(hit)
    left[:, : int(np.nonzero(hit.any(0))[0].mean())] = True
    depth[left & hit] -= 0.3 * diameter
    explained = explained_pixels(truth, caster, CAM, depth, diameter)
    assert explained.shape == depth.shape
    visible = hit & ~left
    assert np.count_nonzero(explained & ~visible) == 0
    assert np.count_nonzero(explained) >= 0.99 * np.count_nonzero(visible) > 0
    back = Pose(truth.R, truth.t * (1 + 0.3 * diameter / truth.t[2]), "cam", "obj")
    assert not explained_pixels(back, caster, CAM, depth, diameter).any()
    holes = visible & (np.arange(depth.shape[1]) % 2 == 0)  # NaN and zero depth explain nothing
    depth[holes] = np.where(np.arange(np.count_nonzero(holes)) % 2 == 0, np.nan, 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        explained = explained_pixels(truth, caster, CAM, depth, diameter)
    assert not (explained & holes).any() and (explained & visible & ~holes).any()


def test_depth_segments_cut_the_mask_where_the_depth_jumps(part, rng):
    mesh, caster, diameter = part
    depth, mask, plate, visible = plate_in_front(caster, POSES[0], diameter, rng)
    pieces = depth_segments(mask, depth, diameter)
    assert len(pieces) == 2

    def iou(a, b):
        return np.count_nonzero(a & b) / np.count_nonzero(a | b)

    assert max(iou(p, plate) for p in pieces) > 0.97 and max(iou(p, visible) for p in pieces) > 0.9
    assert all(not (p & ~mask).any() for p in pieces)
    # one surface: nothing to cut; invalid depth cuts but does not crash
    assert depth_segments(visible, np.where(visible, 0.4, 0.0).astype(np.float32), diameter) == []
    holes = depth.copy()
    holes[::7] = np.nan  # NaN rows cut the mask into bands, each under 15 % of it
    assert depth_segments(mask, holes, diameter) == []
    holes = depth.copy()
    holes[::40] = 0.0  # fewer cuts: the plate and the bracket still come apart, and stay in the mask
    cut = depth_segments(mask, holes, diameter)
    assert cut and all(not (p & ~mask).any() for p in cut)
    assert depth_segments(np.zeros_like(mask), depth, diameter) == []


def test_refiner_fits_the_piece_of_a_mask_that_also_covers_an_occluder(part, rng, monkeypatch):
    """The mask covers the bracket and a plate in front of a third of it, and the RGB pose is 120°
    off. The search over the whole mask's depth, mostly plate, finds nothing the depth agrees
    with; on the piece the depth jump cuts out, it finds the pose."""
    mesh, caster, diameter = part
    truth = POSES[0]
    depth, mask, _, _ = plate_in_front(caster, truth, diameter, rng)
    wrong = Pose(truth.R @ axis_angle_to_matrix([0.0, 0.0, np.radians(120)]), truth.t, "cam", "obj")
    out = DepthRefiner()(1, mesh, caster, diameter, wrong, np.eye(6), "fused", CAM, depth, mask)
    assert out.source == "depth+icp"
    assert np.degrees(out.pose.angle_to(truth)) < 1.0 and out.pose.distance_to(truth) < 0.002
    monkeypatch.setattr(depth_refine, "depth_segments", lambda *a, **k: [])
    whole = DepthRefiner()(1, mesh, caster, diameter, wrong, np.eye(6), "fused", CAM, depth, mask)
    assert np.degrees(whole.pose.angle_to(truth)) > 10


@pytest.mark.parametrize("k", range(len(POSES)))
def test_refiner_finds_a_mostly_hidden_part_from_its_visible_depth(part, k):
    """A plate in front hides the left half of the bracket's box (about a quarter of the
    bracket stays in view), the mask is the visible part and the RGB pose is 120° off. A
    patch that small overlaps the model fully at many wrong poses, so the grid's best overlaps
    are mostly wrong: the denser grid (240 starts) and the choice of the starts the depth and
    the mask agree with find it, where the old search (60 starts, the 3 best overlaps refined)
    does not for two of the three poses."""
    mesh, caster, diameter = part
    truth = POSES[k]
    depth, _, _, visible = plate_in_front(caster, truth, diameter, np.random.default_rng(k), share=0.5)
    wrong = Pose(truth.R @ axis_angle_to_matrix([0.0, 0.0, np.radians(120)]), truth.t, "cam", "obj")
    out = DepthRefiner()(1, mesh, caster, diameter, wrong, np.eye(6), "fused", CAM, depth, visible)
    assert out.source == "depth+icp"
    assert np.degrees(out.pose.angle_to(truth)) < 1.0 and out.pose.distance_to(truth) < 0.002


def test_best_agreeing_keeps_the_starts_the_depth_agrees_with(part, rng):
    mesh, caster, diameter = part
    truth = POSES[1]
    depth, mask = noisy_depth(caster, truth, rng)
    turned = [Pose(truth.R @ axis_angle_to_matrix([0.0, 0.0, np.radians(a)]), truth.t, "cam", "obj") for a in (90, 150)]
    shifted = Pose(truth.R, truth.t + [0.3 * diameter, 0, 0], "cam", "obj")
    starts = [turned[0], shifted, truth, turned[1]]
    assert best_agreeing(starts, caster, CAM, depth, mask, diameter, 1) == [truth]
    assert best_agreeing(starts, caster, CAM, depth, mask, diameter, 2)[0] is truth
    assert best_agreeing(starts, caster, CAM, depth, mask, diameter, 4) == starts  # no more than asked: as they came
    agree = {id(p): depth_agreement(p, caster, CAM, depth, mask, diameter) for p in starts}
    within = 0.5 * (agree[id(truth)] + max(agree[id(p)] for p in starts if p is not truth)) / agree[id(truth)]
    assert best_agreeing(starts, caster, CAM, depth, mask, diameter, 4, within) == [truth]  # the others agree far less
    ranked = best_agreeing(starts, caster, CAM, depth, mask, diameter, 4, 1e-9)  # all of them, by agreement
    assert ranked[0] is truth and len(ranked) == 4
    assert [agree[id(p)] for p in ranked] == sorted(agree.values(), reverse=True)
    with pytest.raises(ValueError, match="refine_starts"):
        DepthRefiner(refine_starts=0)
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="start_within"):
            DepthRefiner(start_within=bad)


@pytest.mark.parametrize("bad", [{"grid": 0}, {"keep": 0}, {"survivors": -1}, {"corr_dists": ()},
                                 {"corr_dists": (0.15, 0.0)}, {"distinct_deg": -1.0}, {"distinct": float("nan")}])
def test_grid_search_settings_are_checked(bad):
    with pytest.raises(ValueError, match="invalid grid search settings"):
        GlobalRegConfig(**bad)


def test_agreement_at_every_second_pixel_is_that_of_every_pixel(part, rng):
    """:func:`depth_agreement` counts every second pixel (``AGREEMENT_STRIDE``): on the true
    pose with a plate in front, a pose pushed back and turned ones, it is within 0.02 of the
    count over every pixel. A far part, whose every second pixel samples too few, is counted
    at every pixel."""
    from rigidpose.estimate.global_reg import AGREEMENT_STRIDE, MIN_AGREEMENT_SAMPLES

    mesh, caster, diameter = part
    truth = POSES[0]
    depth, mask, *_ = plate_in_front(caster, truth, diameter, rng)
    poses = [truth, Pose(truth.R, truth.t * (1 + 0.1 * diameter / truth.t[2]), "cam", "obj")]
    poses += [Pose(truth.R @ axis_angle_to_matrix(np.radians(a) * np.array([1.0, 0.5, 0.0])), truth.t, "cam", "obj")
              for a in (10, 30, 90)]
    assert AGREEMENT_STRIDE == 2
    values = [(depth_agreement(p, caster, CAM, depth, mask, diameter),
               depth_agreement(p, caster, CAM, depth, mask, diameter, stride=1)) for p in poses]
    assert max(abs(a - b) for a, b in values) < 0.02
    assert values[0][0] > 0.8 > values[-1][0]  # and they still tell the right pose from a wrong one
    far = Pose(truth.R, truth.t * 2.5 / truth.t[2], "cam", "obj")  # about 280 silhouette pixels: every one counts
    far_depth, far_hit = noisy_depth(caster, far, rng)
    assert np.count_nonzero(far_hit[::2, ::2]) < MIN_AGREEMENT_SAMPLES <= np.count_nonzero(far_hit)
    shifted = Pose(far.R, far.t + [0.2 * diameter, 0.0, 0.0], "cam", "obj")
    for p in (far, shifted):
        assert depth_agreement(p, caster, CAM, far_depth, far_hit, diameter) == \
            depth_agreement(p, caster, CAM, far_depth, far_hit, diameter, stride=1)
    holes = depth.copy()  # NaN and zero depth: counted as neither agreeing nor occluding, without warnings
    holes[::3, ::2], holes[1::3, ::2] = np.nan, 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with_holes = depth_agreement(truth, caster, CAM, holes, mask, diameter)
    assert 0.0 < with_holes < values[0][0]
