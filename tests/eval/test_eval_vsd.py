"""Ray-cast depth and VSD: known depths, perfect poses, poses off the object, a hand-computed case."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from rigidpose.eval import DepthRenderer, vsd
from rigidpose.eval.recall import VSD_TAUS
from rigidpose.geometry import Camera, Pose, axis_angle_to_matrix

CAM = Camera(np.array([[200.0, 0, 79.5], [0, 200.0, 59.5], [0, 0, 1]]), 160, 120)
BOX = trimesh.creation.box(extents=[0.1, 0.08, 0.06])
DIAM = float(np.linalg.norm([0.1, 0.08, 0.06]))


@pytest.fixture(scope="module")
def box_renderer():
    return DepthRenderer(BOX.vertices, BOX.faces)


def test_depth_of_a_box_face_and_its_silhouette(box_renderer):
    T = Pose(np.eye(3), [0.0, 0.0, 0.5])
    d = box_renderer.render(T, CAM)
    assert d.shape == (120, 160) and d.dtype == np.float32
    assert d[59, 79] == pytest.approx(0.47, abs=1e-6)  # front face at z = 0.5 - 0.03
    # Silhouette of the front face: |x| <= 0.05, |y| <= 0.04 at z = 0.47 → ±21.3 px, ±17.0 px.
    u = np.arange(160)
    v = np.arange(120)
    half_u, half_v = 200 * 0.05 / 0.47, 200 * 0.04 / 0.47
    inside = (np.abs(v - 59.5)[:, None] < half_v - 0.5) & (np.abs(u - 79.5)[None] < half_u - 0.5)
    outside = (np.abs(v - 59.5)[:, None] > half_v + 0.5) | (np.abs(u - 79.5)[None] > half_u + 0.5)
    assert np.all(d[inside] > 0) and np.all(d[outside] == 0)
    np.testing.assert_allclose(d[inside], 0.47, atol=1e-6)


def test_rotated_pose_depth_matches_plane_equation(box_renderer):
    # Rotated 30° about y: the front face is the plane n·x = 0.5·cos30 - 0.03 with n = R e_z.
    R = axis_angle_to_matrix([0.0, np.deg2rad(30), 0.0])
    T = Pose(R, [0.0, 0.0, 0.5])
    d = box_renderer.render(T, CAM)
    n = R @ [0, 0, -1.0]
    c = n @ T.transform([0, 0, -0.03])
    ray = CAM.rays([[79.0, 59.0]])[0]
    assert d[59, 79] == pytest.approx(c / (n @ ray), rel=1e-5)


def test_depth_of_a_box_far_from_its_origin_through_a_distorted_lens():
    """The box moved 0.1 m from its origin, seen through barrel distortion: the renderer casts
    only the box's footprint, and its depth is that of a cast of the whole image."""
    from rigidpose.objects.raycast import MeshRaycaster

    verts = BOX.vertices + [0.1, 0.0, 0.0]
    lens = Camera(CAM.K, 160, 120, "plumb_bob", [-0.25, 0.05, 0.0, 0.0, 0.0])
    renderer, caster = DepthRenderer(verts, BOX.faces), MeshRaycaster(verts, BOX.faces)
    for rvec, t in (([0.3, -0.4, 0.2], [-0.1, 0.0, 0.5]), ([2.0, 0.5, -1.0], [-0.05, 0.03, 0.35])):
        T = Pose.from_rvec_tvec(rvec, t)
        for camera in (CAM, lens):
            whole = caster.render(T, camera, normals=False).depth
            x, y, w, h = renderer.window(T, camera)
            assert np.count_nonzero(whole) > 100 and w * h < 0.6 * camera.width * camera.height
            np.testing.assert_array_equal(renderer.render(T, camera), whole)


def test_vsd_zero_for_perfect_pose_and_one_off_object(box_renderer):
    T = Pose(axis_angle_to_matrix([0.3, -0.2, 0.1]), [0.01, 0.0, 0.5])
    depth = box_renderer.render(T, CAM)
    e = vsd(T.R, T.t, T.R, T.t, depth, CAM, box_renderer, DIAM)
    assert e.shape == (10,) and np.all(e == 0.0)
    off = T.t + [0.5, 0.0, 0.0]  # projects entirely outside the image
    assert np.all(vsd(T.R, off, T.R, T.t, depth, CAM, box_renderer, DIAM) == 1.0)
    side = T.t + [0.15, 0.0, 0.0]  # in the image, no overlap with the GT silhouette
    assert np.all(box_renderer.render(Pose(T.R, side), CAM)[depth > 0] == 0)
    assert np.all(vsd(T.R, side, T.R, T.t, depth, CAM, box_renderer, DIAM) == 1.0)


def test_vsd_hand_computed_for_a_plane_shifted_in_depth():
    # A plane filling the image; the estimate is dz = 10 mm farther (< δ = 15 mm, so all
    # pixels stay visible). Each pixel's distance error is dz·|ray|; the error at τ is the
    # fraction of pixels with dz·|ray| / d >= τ.
    plane = trimesh.Trimesh([[-5, -5, 0], [5, -5, 0], [5, 5, 0], [-5, 5, 0]], [[0, 1, 2], [0, 2, 3]])
    r = DepthRenderer(plane.vertices, plane.faces)
    d, dz = 0.1, 0.01
    T_g = Pose(np.eye(3), [0, 0, 1.0])
    depth = r.render(T_g, CAM)
    assert np.all(depth == pytest.approx(1.0))
    taus = np.array([0.05, 0.1, 0.1005, 0.2])
    e = vsd(np.eye(3), [0, 0, 1.0 + dz], np.eye(3), T_g.t, depth, CAM, r, d, taus=taus)
    v, u = np.mgrid[0:120, 0:160]
    ray_len = np.linalg.norm(CAM.rays(np.stack([u.ravel(), v.ravel()], 1).astype(float)), axis=1)
    want = [(dz * ray_len / d >= tau).mean() for tau in taus]
    np.testing.assert_allclose(e, want, rtol=1e-6)
    assert e[0] == 1.0 and e[-1] == 0.0 and 0.0 < e[2] < 1.0
    # With δ below dz the estimate is occluded by the test depth except where it overlaps
    # the GT (which is every pixel), so the result is unchanged; with unnormalised taus (m)
    # the same fractions come out for τ·d.
    e2 = vsd(np.eye(3), [0, 0, 1.0 + dz], np.eye(3), T_g.t, depth, CAM, r, d, taus=taus * d,
             normalized_by_diameter=False)
    np.testing.assert_allclose(e2, want, rtol=1e-6)


def test_vsd_default_taus():
    assert np.allclose(VSD_TAUS, np.arange(1, 11) * 0.05)
