"""The edge score: a pose's model edges against the image's edges, on ray-cast images of the bracket."""

from __future__ import annotations

import numpy as np
import pytest

from fakes import BRACKET_CAM, BRACKET_POSES, render_rgb
from rigidpose.estimate.edges import EdgeConfig, ImageEdges, model_edges, rendered_edges
from rigidpose.geometry import Pose, axis_angle_to_matrix
from rigidpose.objects.parts import bracket
from rigidpose.objects.raycast import MeshRaycaster

CAM, POSES = BRACKET_CAM, BRACKET_POSES


@pytest.fixture(scope="module")
def part():
    mesh = bracket()
    return MeshRaycaster(mesh.vertices, mesh.faces), 0.5 * (mesh.bounds[0] + mesh.bounds[1]), float(np.linalg.norm(mesh.extents))


def _score(caster, diameter, edges: ImageEdges, pose: Pose) -> float:
    uv, bins, _ = model_edges(caster, pose, CAM, caster.footprint(pose, CAM))
    return edges.score(uv, bins)


def _turned(pose: Pose, centre, axis, angle: float) -> Pose:
    """``pose`` turned by ``angle`` about the object-frame ``axis`` through ``centre``: the same place, another face."""
    R = pose.R @ axis_angle_to_matrix(np.asarray(axis, float) * angle)
    return Pose(R, pose.t + pose.R @ centre - R @ centre, "cam", "obj")


@pytest.mark.parametrize("k", range(len(POSES)))
def test_the_true_pose_scores_high_and_turned_poses_lower(part, k):
    """At the true pose nearly every model edge lies on an image edge of its orientation; the part
    turned half a turn about any of its axes (its outline often alike) or by 8° scores clearly lower."""
    caster, centre, diameter = part
    pose = POSES[k]
    rgb = render_rgb({1: bracket()}, [(1, pose)], np.random.default_rng(k), CAM)
    edges = ImageEdges(rgb, caster.footprint(pose, CAM, 0.15 * diameter))
    true = _score(caster, diameter, edges, pose)
    assert true > 0.75
    for axis, angle in (([0, 0, 1], np.pi), ([1, 0, 0], np.pi), ([0, 1, 0], np.pi), ([0, 1, 0], np.radians(8))):
        assert _score(caster, diameter, edges, _turned(pose, centre, axis, angle)) < true - 0.1, (axis, angle)


def test_model_edges_follow_the_outline_and_the_creases(part):
    """Edge pixels lie on the silhouette's boundary and inside it (creases, hole rims), with
    every orientation bin represented for a part with round holes."""
    caster, _, diameter = part
    pose = POSES[0]
    uv, bins, _ = model_edges(caster, pose, CAM, caster.footprint(pose, CAM))
    hit = caster.render(pose, CAM, normals=False).hit
    q = np.rint(uv).astype(int)
    inner = hit[q[:, 1], q[:, 0]]
    assert 0.3 < inner.mean() < 0.95  # both outline pixels just outside and inner edges
    assert set(bins.tolist()) == set(range(8))


def test_no_image_edges_score_zero_and_outside_pixels_count_as_misses(part):
    caster, _, diameter = part
    pose = POSES[1]
    flat = np.full((CAM.height, CAM.width, 3), 120, np.uint8)
    assert _score(caster, diameter, ImageEdges(flat, (0, 0, 640, 480)), pose) == 0.0
    assert not ImageEdges(flat, (0, 0, 640, 480)).informative
    rgb = render_rgb({1: bracket()}, [(1, pose)], np.random.default_rng(5), CAM)
    edges = ImageEdges(rgb, caster.footprint(pose, CAM, 0.15 * diameter))
    assert edges.informative
    uv, bins, _ = model_edges(caster, pose, CAM, caster.footprint(pose, CAM))
    full = edges.score(uv, bins)
    half = edges.score(np.concatenate([uv, uv + 5000]), np.concatenate([bins, bins]))
    assert half == pytest.approx(full / 2)
    assert edges.score(np.zeros((0, 2)), np.zeros(0, int)) == 0.0
    assert ImageEdges(rgb, (700, 500, 50, 50)).score(uv, bins) == 0.0  # a region off the image


def test_model_edges_of_a_pose_out_of_view_are_empty(part):
    caster, _, diameter = part
    behind = Pose(np.eye(3), [5.0, 0.0, 0.4], "cam", "obj")
    uv, bins, _ = model_edges(caster, behind, CAM, (0, 0, 640, 480))
    assert uv.shape == (0, 2) and bins.shape == (0,)


@pytest.mark.parametrize("bad", [dict(spread_px=-1), dict(min_gradient=0.0), dict(crease_deg=0.0),
                                 dict(crease_deg=180.0), dict(max_points=0)])
def test_edge_config_rejects_bad_settings(bad):
    with pytest.raises(ValueError, match="invalid edge settings"):
        EdgeConfig(**bad)


@pytest.mark.parametrize("bad", [np.zeros((48, 64), np.uint8), np.zeros((48, 64, 4), np.uint8),
                                 np.zeros((48, 64, 3), np.float32)])
def test_image_edges_reject_an_image_that_is_not_rgb(bad):
    with pytest.raises(ValueError, match="HxWx3 uint8 RGB"):
        ImageEdges(bad, (0, 0, 64, 48))


@pytest.mark.parametrize("scale", [1.0, 0.5])
def test_the_edges_of_a_wider_ray_cast_are_the_same(part, scale):
    """The edges do not depend on how far the ray-cast reaches beyond the silhouette: the model's
    footprint, with its 2-pixel margin, gives those of a region grown by 0.15 diameters."""
    caster, _, diameter = part
    cam = CAM.scaled(scale)
    for pose in POSES:
        tight = model_edges(caster, pose, cam, caster.footprint(pose, cam), scale=scale)
        wide = rendered_edges(caster.render(pose, cam, caster.footprint(pose, cam, 0.15 * diameter)), scale=scale)
        assert len(tight.uv) > 100
        assert np.array_equal(tight.uv, wide.uv) and np.array_equal(tight.bins, wide.bins)
        assert np.array_equal(tight.depth, wide.depth)
