"""The mesh ray-caster: depth and normals of a mesh at a pose, with cached per-camera rays."""

from __future__ import annotations

import numpy as np

from rigidpose.geometry import Camera, Pose
from rigidpose.objects.parts import bracket
from rigidpose.objects import raycast
from rigidpose.objects.raycast import MeshRaycaster

K = np.array([[600.0, 0, 320], [0, 600.0, 240], [0, 0, 1]])
PINHOLE = Camera(K, 640, 480)
DISTORTED = Camera(K, 640, 480, "plumb_bob", np.array([-0.2, 0.05, 0.001, 0.001, 0.0]))
POSE = Pose.from_rvec_tvec([2.2, 0.4, -0.3], [0.01, -0.02, 0.5], "cam", "obj")


def test_hits_lie_on_the_surface_and_project_back_to_their_pixels():
    """With and without distortion: each hit pixel's point (its ray × depth) lies on the mesh
    surface and projects back to that pixel; normals are unit and face the camera."""
    import open3d as o3d

    mesh = bracket()
    caster = MeshRaycaster(mesh.vertices, mesh.faces)
    surface = o3d.t.geometry.RaycastingScene()
    surface.add_triangles(o3d.core.Tensor(np.asarray(mesh.vertices, np.float32)), o3d.core.Tensor(np.asarray(mesh.faces, np.uint32)))
    for camera in (PINHOLE, DISTORTED, PINHOLE):  # the third reuses the first camera's cached rays
        img = caster.render(POSE, camera, (200, 120, 240, 240))
        x, y, _, _ = img.roi
        v, u = np.nonzero(img.hit)
        assert len(u) > 1000
        uv = np.stack([u + x, v + y], 1).astype(np.float64)
        pts = camera.backproject_pixels(uv, img.depth[v, u])
        np.testing.assert_allclose(camera.project(pts), uv, atol=0.01)
        dist = surface.compute_distance(o3d.core.Tensor(POSE.inv().transform(pts).astype(np.float32))).numpy()
        assert dist.max() < 1e-4 and np.median(dist) < 1e-6  # metres (float32 rays)
        n = img.normals[v, u]
        np.testing.assert_allclose(np.linalg.norm(n, axis=1), 1.0, atol=1e-5)
        assert np.all(np.einsum("ij,ij->i", n, pts) <= 1e-9)
        assert np.all(img.normals[~img.hit] == 0)


def test_the_ray_cache_is_bounded_and_keyed_by_the_camera(monkeypatch):
    """Rays are cached per camera (by value, across ray-casters) for the last RAY_CACHE cameras;
    evicted or bypassed (a large image), they are recomputed to the same image."""
    mesh = bracket()
    caster = MeshRaycaster(mesh.vertices, mesh.faces)
    raycast._ray_grid.cache_clear()
    full = caster.render(POSE, PINHOLE)
    cams = [PINHOLE.scaled(s) for s in (0.5, 0.25, 0.75, 0.6, 0.3)]
    for cam in cams:
        caster.render(POSE, cam, normals=False)
    assert raycast._ray_grid.cache_info().currsize == raycast.RAY_CACHE
    again = caster.render(POSE, PINHOLE)  # evicted, recomputed: the same image
    np.testing.assert_array_equal(again.depth, full.depth)
    np.testing.assert_array_equal(again.normals, full.normals)
    hits = raycast._ray_grid.cache_info().hits
    other = MeshRaycaster(mesh.vertices, mesh.faces).render(POSE, PINHOLE.scaled(0.3), normals=False)
    assert raycast._ray_grid.cache_info().hits == hits + 1  # an equal camera, another caster: cached
    np.testing.assert_array_equal(caster.render(POSE, PINHOLE.scaled(0.3), normals=False).depth, other.depth)
    monkeypatch.setattr(raycast, "MAX_CACHED_PIXELS", 100)  # every image "large": rays per region
    for roi in (None, (200, 120, 240, 240)):
        direct = caster.render(POSE, DISTORTED, roi)
        monkeypatch.setattr(raycast, "MAX_CACHED_PIXELS", 1 << 22)
        cached = caster.render(POSE, DISTORTED, roi)
        monkeypatch.setattr(raycast, "MAX_CACHED_PIXELS", 100)
        np.testing.assert_allclose(direct.depth, cached.depth, atol=1e-6)
        np.testing.assert_allclose(direct.normals, cached.normals, atol=1e-5)


def test_a_strided_cast_is_every_stride_th_pixel_of_the_full_one(monkeypatch):
    """``stride`` casts every stride-th pixel of the box in both directions: the arrays are the
    full cast's [::stride, ::stride], cached rays or not; ``pixels`` and ``sample`` name the
    same image pixels; a stride below 1 is refused."""
    import pytest

    mesh = bracket()
    caster = MeshRaycaster(mesh.vertices, mesh.faces)
    roi = (201, 119, 239, 241)  # odd sizes: the last row and column of the box are cast at stride 2
    full = caster.render(POSE, DISTORTED, roi)
    for stride in (2, 3):
        for cached in (True, False):
            monkeypatch.setattr(raycast, "MAX_CACHED_PIXELS", 1 << 22 if cached else 100)
            img = caster.render(POSE, DISTORTED, roi, stride=stride)
            assert img.roi == full.roi and img.stride == stride
            np.testing.assert_allclose(img.depth, full.depth[::stride, ::stride], atol=1e-6)
            np.testing.assert_allclose(img.normals, full.normals[::stride, ::stride], atol=1e-5)
            assert caster.render(POSE, DISTORTED, roi, normals=False, stride=stride).normals is None
        v, u = np.nonzero(img.hit)
        uv = img.pixels(v, u)
        np.testing.assert_array_equal(uv, np.stack([roi[0] + stride * u, roi[1] + stride * v], 1))
        image = np.zeros((480, 640), np.float32)
        image[uv[:, 1].astype(int), uv[:, 0].astype(int)] = img.depth[v, u]
        np.testing.assert_array_equal(img.sample(image), img.depth)  # the same pixels, back
    with pytest.raises(ValueError, match="stride"):
        caster.render(POSE, PINHOLE, roi, stride=0)


def test_the_footprint_holds_the_whole_silhouette_of_a_model_far_from_its_origin():
    """The bracket moved 0.8 diameters from its origin (as the YCB soup can's middle lies from
    its origin): the footprint's cast sees every pixel the whole image's cast sees, with and
    without distortion, near the image's edges too, and is a small part of the image. A
    sphere about the origin padded by 30 % (the region cast before) cut the silhouette off.
    Grown, it holds the grown box; reaching behind the camera, it is the whole image."""
    mesh = bracket()
    d = float(np.linalg.norm(mesh.extents))
    caster = MeshRaycaster(mesh.vertices + [0.8 * d, 0.0, 0.0], mesh.faces)
    rng = np.random.default_rng(3)
    cut_before = 0
    for camera in (PINHOLE, DISTORTED):
        for _ in range(25):
            R = Pose.from_rvec_tvec(rng.normal(size=3), [0.0, 0.0, 0.0]).R
            pose = Pose(R, [rng.uniform(-0.15, 0.15), rng.uniform(-0.1, 0.1), rng.uniform(3.0, 5.5) * d])
            whole = int(caster.render(pose, camera, normals=False).hit.sum())
            box = caster.footprint(pose, camera)
            assert whole > 0 and int(caster.render(pose, camera, box, normals=False).hit.sum()) == whole
            assert box[2] * box[3] < 0.3 * camera.width * camera.height
            grown = caster.footprint(pose, camera, grow=0.1 * d)
            assert grown[0] < box[0] and grown[1] < box[1] and grown[0] + grown[2] > box[0] + box[2]
            c, r = pose.t, 0.65 * d  # the old region: the sphere's square, at its near side
            uv = camera.project(c + r * np.array([[-1.0, -1.0, -1.0], [1.0, 1.0, -1.0]]))
            x0, y0 = np.floor(uv[0]).astype(int)
            x1, y1 = np.ceil(uv[1]).astype(int)
            sphere = caster.render(pose, camera, (x0, y0, x1 - x0 + 1, y1 - y0 + 1), normals=False)
            cut_before += int(sphere.hit.sum()) < whole
    assert cut_before > 10
    behind = Pose(np.eye(3), [0.0, 0.0, -0.2 * d])  # the box reaches behind the camera
    assert caster.footprint(behind, PINHOLE) == (0, 0, PINHOLE.width, PINHOLE.height)


def test_the_footprint_holds_parts_at_the_edge_of_strongly_distorted_views():
    """Strong barrel distortion and a fisheye, parts anywhere in view and partly out of it: the
    footprint's cast sees every pixel the whole image's cast sees."""
    mesh = bracket()
    d = float(np.linalg.norm(mesh.extents))
    caster = MeshRaycaster(mesh.vertices, mesh.faces)
    wide = np.array([[400.0, 0, 320], [0, 400.0, 240], [0, 0, 1]])
    rng = np.random.default_rng(4)
    for camera in (Camera(wide, 640, 480, "plumb_bob", [-0.35, 0.12, 0.0, 0.0, -0.02]),
                   Camera(wide, 640, 480, "equidistant", [0.1, -0.05, 0.01, 0.0])):
        seen = 0
        for _ in range(40):
            z = rng.uniform(1.5, 4.0) * d
            R = Pose.from_rvec_tvec(rng.normal(size=3), [0.0, 0.0, 0.0]).R
            pose = Pose(R, [rng.uniform(-1.2, 1.2) * z, rng.uniform(-1.0, 1.0) * z, z])
            whole = int(caster.render(pose, camera, normals=False).hit.sum())
            box = caster.render(pose, camera, caster.footprint(pose, camera), normals=False)
            assert int(box.hit.sum()) == whole
            seen += whole > 0
        assert seen > 25
