"""Masks from the depth alone: the box's valid depth less the plane the part stands on
(ray-cast depth of the bracket, with and without a table under it)."""

from __future__ import annotations

import numpy as np
import pytest
from scenes import CAM, table_behind

from rigidpose.estimate.depth_masks import box_depth_clusters, box_depth_mask
from rigidpose.geometry import Pose
from rigidpose.objects.parts import bracket
from rigidpose.objects.raycast import MeshRaycaster

POSE = Pose.from_rvec_tvec([2.2, 0.4, -0.3], [0.01, -0.02, 0.40], "cam", "obj")


@pytest.fixture(scope="module")
def scene():
    """The bracket's ray-cast depth (0 off it), its silhouette, a box around it and its diameter."""
    mesh = bracket()
    img = MeshRaycaster(mesh.vertices, mesh.faces).render(POSE, CAM)
    rows, cols = np.nonzero(img.hit)
    box = (cols.min() - 30, rows.min() - 30, cols.max() - cols.min() + 60, rows.max() - rows.min() + 60)
    return np.where(img.hit, img.depth, 0.0).astype(np.float32), img.hit, box, float(np.linalg.norm(mesh.extents))


def _table(depth: np.ndarray, hit: np.ndarray, normal) -> np.ndarray:
    return table_behind(CAM, depth, hit, normal)


def _iou(a, b):
    return np.count_nonzero(a & b) / np.count_nonzero(a | b)


@pytest.mark.parametrize("normal", [(0, 0, 1), (-0.3, 0.4, 1)])
def test_the_part_comes_off_the_table_it_stands_on(scene, normal):
    depth, hit, box, d = scene
    with_table = _table(depth, hit, normal)
    inside = np.zeros_like(hit)
    inside[box[1] : box[1] + box[3], box[0] : box[0] + box[2]] = True
    assert np.count_nonzero(inside & ~hit) > 2 * np.count_nonzero(hit)  # the table fills most of the box
    mask = box_depth_mask(CAM, with_table, box, d)
    assert mask is not None and not (mask & ~inside).any()
    # what touches the table within 0.03 d stays with it; the rest of the part comes off, and no table
    assert _iou(mask, hit) > 0.7 and np.count_nonzero(mask & ~hit) < 0.02 * np.count_nonzero(mask)


def test_without_a_support_the_parts_own_faces_are_kept(scene):
    """The background has no depth: the dominant plane is a face of the part, narrower than
    its diameter, and not taken for a table."""
    depth, hit, box, d = scene
    mask = box_depth_mask(CAM, depth, box, d)
    assert mask is not None and np.array_equal(mask, hit)


def test_no_depth_in_the_box_gives_none_and_the_box_is_clipped(scene):
    depth, hit, box, d = scene
    assert box_depth_mask(CAM, np.zeros_like(depth), box, d) is None
    assert box_depth_mask(CAM, np.full_like(depth, np.nan), box, d) is None
    assert box_depth_mask(CAM, depth, (700, 500, 50, 50), d) is None  # off the image
    big = box_depth_mask(CAM, depth, (-100, -100, 2000, 2000), d)  # larger than the image
    assert big is not None and np.array_equal(big, hit)
    holes = depth.copy()
    holes[::3] = np.nan  # NaN rows are invalid, not points
    mask = box_depth_mask(CAM, holes, box, d)
    assert mask is not None and not mask[::3].any() and _iou(mask, hit) > 0.6


def test_the_things_around_a_shifted_box_come_apart(scene):
    """A post stands on the table left of the bracket, and the box holds the post and only a
    sliver of the bracket (as a detector's box shifted off the part). Grown by half its side,
    the box's depth less the table comes apart into the post and the bracket; the post,
    which overlaps the box most, comes first."""
    depth, hit, box, d = scene
    rows, cols = np.nonzero(hit)
    post = np.zeros_like(hit)
    post[rows.min() : rows.max(), cols.min() - 45 : cols.min() - 25] = True
    near = np.where(post, depth[hit].min() - 0.2 * d, depth).astype(np.float32)  # the post is closer
    with_table = _table(near, hit | post, (0, 0, 1))
    shifted = (cols.min() - 55, rows.min() - 5, 55 + 0.2 * (cols.max() - cols.min()), rows.max() - rows.min() + 10)
    clusters = box_depth_clusters(CAM, with_table, shifted, d)
    assert len(clusters) >= 2
    assert _iou(clusters[0], post) > 0.9 and _iou(clusters[1], hit) > 0.7
    assert not any((c & ~hit).any() for c in clusters[1:])  # the rest is the bracket (a step of it may come apart)
    # the box as it was (no margin) holds only a sliver of the bracket
    alone = box_depth_mask(CAM, with_table, shifted, d)
    assert np.count_nonzero(alone & hit) < 0.4 * np.count_nonzero(hit)
    small = box_depth_clusters(CAM, with_table, shifted, d, margin=0.0)
    assert small and not any((c & ~alone).any() for c in small)
    # nothing off the table, or no depth: no clusters
    table = _table(np.full_like(depth, 1.0), hit, (0, 0, 1))  # a flat table 1 m away, within 2 mm
    assert box_depth_clusters(CAM, table, shifted, d) == []
    assert box_depth_clusters(CAM, np.zeros_like(depth), shifted, d) == []
    assert box_depth_clusters(CAM, np.full_like(depth, np.nan), shifted, d) == []
    assert box_depth_clusters(CAM, with_table, (700, 500, 50, 50), d) == []  # off the image
