"""An estimate's score: the formulas, and the edge term of a depth-verified pose, which does
not score the model edges that the depth shows hidden (ray-cast images of the bracket)."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from fakes import BRACKET_CAM, BRACKET_POSES, CAM, GtCropStage, gt_box, make_objects, render_depth, render_rgb
from rigidpose.estimate.edges import model_edges, visible_edges
from rigidpose.estimate.estimator import Estimator
from rigidpose.estimate.scoring import (DEPTH_EDGE_POWER, MIN_VISIBLE_EDGES, OCCLUSION_TOLERANCE, depth_score,
                                        pose_edge_score, silhouette_score)
from rigidpose.geometry import Pose, axis_angle_to_matrix
from rigidpose.objects.parts import bracket
from rigidpose.objects.raycast import MeshRaycaster

POSE = BRACKET_POSES[2]


@pytest.fixture(scope="module")
def part():
    mesh = bracket()
    return mesh, MeshRaycaster(mesh.vertices, mesh.faces), float(np.linalg.norm(mesh.extents))


def _occluder(pose: Pose, side: float) -> tuple[trimesh.Trimesh, Pose]:
    """A 5 × 20 × 1 cm plate 5 cm in front of the part, ``side`` metres off its centre in x: it hides a strip of it."""
    plate = trimesh.creation.box((0.05, 0.2, 0.01))
    return plate, Pose(np.eye(3), pose.t + [side, 0.0, -0.05], "cam", "obj")


def test_the_score_formulas():
    assert depth_score(0.9, None) == 0.9
    assert depth_score(0.9, 0.5) == pytest.approx(0.9 * 0.5**DEPTH_EDGE_POWER)
    assert silhouette_score(0.95, None) == pytest.approx(0.95**8)
    assert silhouette_score(0.95, 0.9) == pytest.approx(0.95**8 * 0.9**4)


def test_a_right_pose_scores_high_a_turned_one_lower_and_a_flat_image_says_nothing(part):
    mesh, caster, d = part
    rgb = render_rgb({1: mesh}, [(1, POSE)], np.random.default_rng(0), BRACKET_CAM)
    right = pose_edge_score(rgb, caster, POSE, BRACKET_CAM, d)
    turned = Pose(POSE.R @ axis_angle_to_matrix([0.0, 0.0, np.pi]), POSE.t, "cam", "obj")
    assert right > 0.8 and pose_edge_score(rgb, caster, turned, BRACKET_CAM, d) < right - 0.1
    assert pose_edge_score(np.zeros_like(rgb), caster, POSE, BRACKET_CAM, d) is None


def test_edges_the_depth_shows_hidden_are_not_scored(part):
    """A plate in front of the part hides a strip of its edges: scored over all its edges the
    right pose loses the hidden ones; with the depth it scores about as if nothing hid it, and
    the depth names the hidden edges (those under the plate)."""
    mesh, caster, d = part
    cam = BRACKET_CAM
    clear = render_rgb({1: mesh}, [(1, POSE)], np.random.default_rng(1), cam)
    unhidden = pose_edge_score(clear, caster, POSE, cam, d)
    plate, at = _occluder(POSE, 0.0)
    scene = [(1, POSE), (2, at)]
    rgb = render_rgb({1: mesh, 2: plate}, scene, np.random.default_rng(1), cam)
    depth = render_depth({1: mesh, 2: plate}, scene, cam)
    blind, seeing = pose_edge_score(rgb, caster, POSE, cam, d), pose_edge_score(rgb, caster, POSE, cam, d, depth=depth)
    assert blind < unhidden - 0.3, (blind, unhidden)
    assert seeing > unhidden - 0.05, (seeing, unhidden)

    edges = model_edges(caster, POSE, cam, caster.footprint(POSE, cam, 0.15 * d))
    seen = visible_edges(edges, depth, OCCLUSION_TOLERANCE * d)
    plate_hit = MeshRaycaster(plate.vertices, plate.faces).render(at, cam).hit
    q = np.rint(edges.uv).astype(int)
    under = plate_hit[q[:, 1], q[:, 0]]
    assert 0.1 < under.mean() < 0.9  # the plate hides part of the edges
    assert not seen[under].any() and seen[~under].mean() > 0.95
    assert np.all(visible_edges(edges, np.zeros_like(depth), OCCLUSION_TOLERANCE * d))  # invalid depth hides nothing


def test_a_part_half_out_of_the_image_scores_as_in_full_view(part):
    """The part half out of the image: its right pose still scores as high as in full view.
    The ray-cast stops at the image's border, so no model edge lies beyond it, and the border
    itself is no edge."""
    mesh, caster, d = part
    full = pose_edge_score(render_rgb({1: mesh}, [(1, POSE)], np.random.default_rng(3), BRACKET_CAM),
                           caster, POSE, BRACKET_CAM, d)
    u = BRACKET_CAM.project(POSE.t[None])[0][0]
    shifted = Pose(POSE.R, POSE.t + [(BRACKET_CAM.width - 1 - u) * POSE.t[2] / BRACKET_CAM.K[0, 0], 0, 0], "cam", "obj")
    rgb = render_rgb({1: mesh}, [(1, shifted)], np.random.default_rng(3), BRACKET_CAM)
    edges = model_edges(caster, shifted, BRACKET_CAM, caster.footprint(shifted, BRACKET_CAM, 0.15 * d))
    assert len(edges.uv) and edges.uv[:, 0].max() <= BRACKET_CAM.width - 1
    assert pose_edge_score(rgb, caster, shifted, BRACKET_CAM, d) > full - 0.05 > 0.75


def test_a_pose_the_depth_shows_almost_all_hidden_is_scored_on_all_its_edges(part):
    """A pose behind a wall: its few edges the depth shows would say too little, so every edge
    is scored, hidden ones too. A fit that the depth puts behind another thing's surface has no
    outline in the image, and it must not rank as if its image check had passed."""
    mesh, caster, d = part
    wall = trimesh.creation.box((0.5, 0.5, 0.01))

    def behind(offset: float):
        """The image, depth and seen share of edges with the wall 5 cm in front, ``offset`` m aside."""
        scene = [(1, POSE), (2, Pose(np.eye(3), POSE.t + [offset, 0.0, -0.05], "cam", "obj"))]
        rgb = render_rgb({1: mesh, 2: wall}, scene, np.random.default_rng(2), BRACKET_CAM)
        depth = render_depth({1: mesh, 2: wall}, scene, BRACKET_CAM)
        edges = model_edges(caster, POSE, BRACKET_CAM, caster.footprint(POSE, BRACKET_CAM, 0.15 * d))
        return rgb, depth, visible_edges(edges, depth, OCCLUSION_TOLERANCE * d).mean()

    rgb, depth, seen = behind(0.22)  # the wall's border crosses the region; a strip of the part shows
    assert 0 < seen < MIN_VISIBLE_EDGES
    hidden = pose_edge_score(rgb, caster, POSE, BRACKET_CAM, d, depth=depth)
    assert hidden is not None and hidden < 0.3  # the wall's face has no edges where the part's are
    assert depth_score(0.9, hidden) < 0.1 * depth_score(0.9, None)
    rgb, depth, seen = behind(0.0)  # the wall fills the region: no image edges at all, no edge term
    assert seen == 0 and pose_edge_score(rgb, caster, POSE, BRACKET_CAM, d, depth=depth) is None


def test_a_depth_verified_estimate_scores_box_times_agreement_times_its_edges(rng):
    """In an image with edges the depth-verified score is box score × agreement × edge²,
    the edge term taken at the refined pose; a right pose's edge term is near 1."""
    cards, meshes = make_objects()
    T = Pose.from_rvec_tvec([2.0, 0.3, -0.4], [0.02, -0.01, 0.45], "cam", "obj")
    crop = GtCropStage(cards, meshes, rng)
    crop.gt = [(1, T)]
    est = Estimator(crop, None, cards, meshes, score_threshold=0.0)
    rgb, depth = render_rgb(meshes, crop.gt, rng), render_depth(meshes, crop.gt)
    (m,) = est.measure(rgb, CAM, depth, [(1, gt_box(meshes, 1, T))])
    assert m.depth_verified and m.estimate.pose.distance_to(T) < 2e-3
    edge = pose_edge_score(rgb, est.raycaster(1), m.estimate.pose, CAM, cards[1].info.diameter, depth=depth)
    assert edge > 0.8
    assert m.estimate.score == pytest.approx(m.depth_agreement * edge**DEPTH_EDGE_POWER, rel=1e-6)


def test_the_whole_images_edges_prepared_once_score_as_each_poses_own_region(part):
    """``image_edges``, the whole image's edges prepared once per frame, give each pose the score
    of its own region's (up to the blur at that region's border), and say nothing where the
    pose's region is flat even when the image has edges elsewhere."""
    from rigidpose.estimate.edges import ImageEdges

    mesh, caster, d = part
    rgb = render_rgb({1: mesh}, [(1, POSE)], np.random.default_rng(0), BRACKET_CAM)
    whole = ImageEdges(rgb, (0, 0, BRACKET_CAM.width, BRACKET_CAM.height))
    for pose in (POSE, Pose(POSE.R @ axis_angle_to_matrix([0.0, 0.0, np.pi]), POSE.t, "cam", "obj"),
                 Pose(POSE.R, POSE.t + [0.02, 0.0, 0.0], "cam", "obj")):
        own = pose_edge_score(rgb, caster, pose, BRACKET_CAM, d)
        assert own is not None
        assert pose_edge_score(rgb, caster, pose, BRACKET_CAM, d, image_edges=whole) == pytest.approx(own, abs=0.01)
    x, y, w, h = caster.footprint(POSE, BRACKET_CAM, 0.15 * d)
    flat = rgb.copy()
    flat[y - 5 : y + h + 5, x - 5 : x + w + 5] = 128  # the pose's region flat (and its step outside it), the rest as it was
    edgy_elsewhere = ImageEdges(flat, (0, 0, BRACKET_CAM.width, BRACKET_CAM.height))
    assert edgy_elsewhere.informative and not edgy_elsewhere.informative_in((x, y, w, h))
    assert pose_edge_score(flat, caster, POSE, BRACKET_CAM, d, image_edges=edgy_elsewhere) is None
