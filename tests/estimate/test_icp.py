"""Point-to-plane ICP against a depth image, with divergence checks."""

from __future__ import annotations

import numpy as np
import pytest

from rigidpose.estimate.icp import refine_icp
from rigidpose.estimate.covariance import apply_perturbation
from rigidpose.geometry import Camera, Pose
from rigidpose.objects.parts import bracket
from rigidpose.objects.raycast import MeshRaycaster

CAM = Camera(np.array([[600.0, 0, 320], [0, 600.0, 240], [0, 0, 1]]), 640, 480)
T_TRUE = Pose.from_rvec_tvec([2.2, 0.4, -0.3], [0.01, -0.02, 0.45], "cam", "obj")


@pytest.fixture(scope="module")
def part():
    mesh = bracket()
    return mesh, MeshRaycaster(mesh.vertices, mesh.faces), float(np.linalg.norm(mesh.extents))


def _depth_image(raycaster, pose, rng=None, noise=0.0):
    img = raycaster.render(pose, CAM)
    depth = img.depth.copy()
    if noise:
        depth[depth > 0] += rng.normal(0, noise, int((depth > 0).sum())).astype(np.float32)
    return depth


def test_raycast_depth_is_z_along_the_optical_axis(part):
    mesh, rc, _ = part
    img = rc.render(Pose(np.eye(3), [0, 0, 0.5]), CAM)
    # The base plate's bottom face (z = 0 in the object frame) faces the camera at z = 0.5 m.
    v, u = np.nonzero(img.hit)
    assert img.depth.shape == (480, 640)
    assert np.isclose(np.min(img.depth[img.hit]), 0.5, atol=1e-6)
    pts = CAM.backproject_pixels(np.stack([u, v], 1).astype(float), img.depth[v, u])
    assert np.all(np.abs(pts[:, 2] - img.depth[v, u]) < 1e-6)


def test_icp_recovers_a_perturbed_pose(part, rng):
    _, rc, diameter = part
    depth = _depth_image(rc, T_TRUE, rng, noise=0.001)
    start = apply_perturbation(T_TRUE, np.r_[0.004, -0.003, 0.006, np.radians([2.0, -2.5, 1.5])])
    res = refine_icp(start, rc, diameter, CAM, depth)
    assert res.accepted, res.reason
    assert res.pose.distance_to(T_TRUE) < 0.001
    assert np.degrees(res.pose.angle_to(T_TRUE)) < 0.5
    assert res.covariance is not None and np.all(np.linalg.eigvalsh(res.covariance) > 0)


@pytest.mark.parametrize("distance", [0.45, 2.5])
def test_icp_recovers_a_perturbed_pose_near_and_far(part, rng, distance, monkeypatch):
    """The model's surface is cast at every second pixel, and at every pixel where that gives
    fewer than ``max_points`` points: near (8,800 silhouette pixels) and 2.5 m away (280
    pixels), ICP recovers the pose."""
    _, rc, diameter = part
    truth = Pose(T_TRUE.R, T_TRUE.t * distance / T_TRUE.t[2], "cam", "obj")
    strides = []
    render = rc.render
    monkeypatch.setattr(rc, "render", lambda *a, **k: strides.append(k.get("stride", 1)) or render(*a, **k))
    depth = _depth_image(rc, truth, rng, noise=0.0005)
    start = apply_perturbation(truth, np.r_[0.004, -0.003, 0.006, np.radians([2.0, -2.5, 1.5])])
    strides.clear()
    res = refine_icp(start, rc, diameter, CAM, depth)
    assert res.accepted, res.reason
    assert strides == ([2] if distance < 1 else [2, 1])
    assert res.pose.distance_to(truth) < 0.001 * distance / 0.45
    assert np.degrees(res.pose.angle_to(truth)) < 1.0


def test_icp_with_nan_and_zero_depth(part, rng):
    _, rc, diameter = part
    depth = _depth_image(rc, T_TRUE)
    holes = rng.random(depth.shape) < 0.3
    depth[holes & (rng.random(depth.shape) < 0.5)] = np.nan
    depth[holes] = np.where(np.isnan(depth[holes]), np.nan, 0.0)
    start = apply_perturbation(T_TRUE, np.r_[0.003, 0.0, -0.004, np.radians([1.0, 0.0, 2.0])])
    res = refine_icp(start, rc, diameter, CAM, depth)
    assert res.accepted and res.pose.distance_to(T_TRUE) < 0.001


def test_icp_rejects_depth_that_does_not_fit(part):
    _, rc, diameter = part
    wall = np.full((480, 640), 0.45, np.float32)  # a flat wall where the object should be
    start = apply_perturbation(T_TRUE, np.r_[0.003, 0.0, 0.0, 0.0, 0.0, 0.0])
    res = refine_icp(start, rc, diameter, CAM, wall)
    assert not res.accepted and res.pose is start and res.reason


def test_icp_without_depth_on_the_object(part):
    _, rc, diameter = part
    res = refine_icp(T_TRUE, rc, diameter, CAM, np.zeros((480, 640), np.float32))
    assert not res.accepted and "valid depth points" in res.reason
    behind = Pose(np.eye(3), [0, 0, -1.0])
    assert not refine_icp(behind, rc, diameter, CAM, np.zeros((480, 640), np.float32)).accepted


def test_icp_of_a_model_whose_origin_lies_far_from_its_middle(part, rng, monkeypatch):
    """A CAD origin 0.8 diameters from the part (the YCB soup can's middle lies that far from
    its origin): ICP casts a region that holds the model's whole silhouette and recovers the
    pose. A region about the origin cut the part off."""
    mesh, _, diameter = part
    shift = np.array([0.8 * diameter, 0.0, 0.0])
    rc = MeshRaycaster(mesh.vertices + shift, mesh.faces)
    truth = Pose(T_TRUE.R, T_TRUE.t - T_TRUE.R @ shift, "cam", "obj")  # the part where T_TRUE puts the bracket
    depth = _depth_image(rc, truth, rng, noise=0.0005)
    start = apply_perturbation(truth, np.r_[0.004, -0.003, 0.006, np.radians([2.0, -2.5, 1.5])])
    regions, render = [], rc.render
    monkeypatch.setattr(rc, "render", lambda pose, cam, roi=None, **k: regions.append(roi) or render(pose, cam, roi, **k))
    res = refine_icp(start, rc, diameter, CAM, depth)
    assert res.accepted, res.reason
    assert res.pose.distance_to(truth) < 0.001 and np.degrees(res.pose.angle_to(truth)) < 0.5
    whole = int(render(start, CAM, normals=False).hit.sum())
    assert regions and all(int(render(start, CAM, roi, normals=False).hit.sum()) == whole for roi in regions)
