"""Dense object coordinates: targets from depth, correspondences back to the pose."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
import trimesh

from rigidpose.geometry import Camera, Pose, random_rotation
from rigidpose.net.coords import CoordFrame, cell_grid, coordinate_targets, dense_correspondences
from rigidpose.net.losses import coord_l1_loss
from rigidpose.objects import ModelInfo
from rigidpose.objects.raycast import MeshRaycaster

EXTENTS = np.array([0.08, 0.05, 0.03])
OFFSET = np.array([0.01, -0.02, 0.005])  # the box is not centred on its origin


def box_scene(rng, size=32):
    """A box mesh off its origin, a random pose, and the ray-cast depth on a size² grid camera."""
    mesh = trimesh.creation.box(extents=EXTENTS)
    mesh.apply_translation(OFFSET)
    info = ModelInfo(float(np.linalg.norm(EXTENTS)), OFFSET - EXTENTS / 2, EXTENTS)
    camera = Camera(np.array([[40.0, 0, (size - 1) / 2], [0, 40.0, (size - 1) / 2], [0, 0, 1]]), size, size)
    T = Pose(random_rotation(rng), [0.003, -0.004, 0.25], "cam", "obj")
    img = MeshRaycaster(mesh.vertices, mesh.faces).render(T, camera)
    return mesh, info, camera, T, img.depth, img.hit


def test_frame_round_trip_and_scale():
    info = ModelInfo(0.2, np.array([-0.1, 0.0, 0.02]), np.array([0.1, 0.1, 0.04]))
    frame = CoordFrame.of(info)
    np.testing.assert_allclose(frame.centre, [-0.05, 0.05, 0.04])
    assert frame.scale == 0.2
    p = np.array([[-0.1, 0.0, 0.02], [0.0, 0.1, 0.06]])
    np.testing.assert_allclose(frame.normalise(p), [[-0.25, -0.25, -0.1], [0.25, 0.25, 0.1]])
    np.testing.assert_allclose(frame.denormalise(frame.normalise(p)), p)


def test_targets_lie_on_the_surface_and_project_onto_their_cells(rng):
    _, info, camera, T, depth, hit = box_scene(rng)
    frame = CoordFrame.of(info)
    coords, valid = coordinate_targets(depth, hit, camera, T, frame)
    assert coords.shape == (3, 32, 32) and coords.dtype == np.float32
    np.testing.assert_array_equal(valid, hit)
    assert valid.sum() > 50
    assert np.all(coords[:, ~valid] == 0)
    assert np.abs(coords[:, valid]).max() <= 0.5 + 1e-6  # within half a diameter of the box centre
    X = frame.denormalise(coords[:, valid].T)
    signed = np.max(np.abs(X - OFFSET) - EXTENTS / 2, axis=1)  # the box's signed distance near its surface
    assert np.abs(signed).max() < 1e-5  # on the surface (float32 coordinates)
    uv = camera.project(T.transform(X))
    np.testing.assert_allclose(uv, cell_grid(32, 32)[valid.ravel()], atol=1e-3)


def test_targets_ignore_invalid_depth(rng):
    _, info, camera, T, depth, hit = box_scene(rng)
    depth = depth.copy()
    ys, xs = np.nonzero(hit)
    depth[ys[0], xs[0]] = np.nan
    depth[ys[1], xs[1]] = 0.0
    coords, valid = coordinate_targets(depth, hit, camera, T, CoordFrame.of(info))
    assert valid.sum() == hit.sum() - 2 and not valid[ys[0], xs[0]] and not valid[ys[1], xs[1]]
    assert np.all(np.isfinite(coords))


def test_correspondences_recover_the_pose(rng):
    _, info, camera, T, depth, hit = box_scene(rng, size=32)
    frame = CoordFrame.of(info)
    coords, valid = coordinate_targets(depth, hit, camera, T, frame)
    # the grid is the stride-4 output of a 128-px crop with 4x the focal length
    crop = Camera(np.array([[160.0, 0, 63.5], [0, 160.0, 63.5], [0, 0, 1]]), 128, 128)
    prob = np.where(valid, 0.9, 0.1)
    X, uv, w = dense_correspondences(coords, prob, frame, stride=4)
    assert len(X) == valid.sum() and np.all(w == 0.9)
    ok, rvec, tvec = cv2.solvePnP(X, uv, crop.K, None, flags=cv2.SOLVEPNP_SQPNP)
    est = Pose.from_rvec_tvec(rvec, tvec)
    assert np.degrees(est.angle_to(T)) < 0.01 and np.linalg.norm(est.t - T.t) < 1e-5
    X2, _, w2 = dense_correspondences(coords, prob, frame, stride=4, max_points=10)
    assert len(X2) == 10
    broken = coords.copy()
    v, u = np.argwhere(valid)[0]
    broken[1, v, u] = np.nan
    X3, uv3, _ = dense_correspondences(broken, prob, frame, stride=4)
    assert len(X3) == len(X) - 1 and np.all(np.isfinite(X3)) and np.all(np.isfinite(uv3))


def test_coordinate_loss_counts_only_valid_cells():
    pred = torch.zeros(2, 3, 4, 4)
    target = torch.ones(2, 3, 4, 4)
    valid = torch.zeros(2, 4, 4, dtype=torch.bool)
    assert coord_l1_loss(pred, target, valid).item() == 0.0
    valid[0, 1, 2] = True
    target[0, :, 1, 2] = torch.tensor([0.3, -0.6, 0.0])
    assert coord_l1_loss(pred, target, valid).item() == pytest.approx(0.3)
