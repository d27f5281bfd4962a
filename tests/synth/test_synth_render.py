"""Real rendering: masks against projected triangles, depth on the surface, backends agree."""

from __future__ import annotations

import numpy as np
import pytest

from rigidpose.geometry import random_rotation
from synth.render import RenderMesh, RenderScene, SceneObject, make_renderer, resolve_renderer
from synth_helpers import depth_to_object, iou, l_shape, projected_mask, render_in_subprocess, surface_distance

BACKENDS = ["moderngl", "pyrender-osmesa", "pyrender-egl"]


def _poses(n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    out = []
    for _ in range(n):
        T = np.eye(4)
        T[:3, :3] = random_rotation(rng)
        T[:3, 3] = [rng.uniform(-0.03, 0.03), rng.uniform(-0.02, 0.02), rng.uniform(0.13, 0.18)]
        out.append(T)
    return out


def _render(name: str, camera, mesh, poses):  # noqa: ANN001, ANN202
    rm = RenderMesh.from_trimesh("part", mesh)
    scenes = [RenderScene(camera, (SceneObject(rm, T, instance_id=0),)) for T in poses]
    return [(out, alone[0]) for out, alone in render_in_subprocess(name, scenes)]


@pytest.fixture(scope="module")
def renders():  # noqa: ANN201
    from rigidpose.geometry import Camera

    K = np.array([[210.0, 0.0, 161.3], [0.0, 205.0, 118.7], [0.0, 0.0, 1.0]])
    cam = Camera(K, 320, 240)
    mesh, poses = l_shape(), _poses(3)
    return cam, mesh, poses, {b: _render(b, cam, mesh, poses) for b in BACKENDS}


@pytest.mark.parametrize("backend", BACKENDS)
def test_mask_matches_projected_mesh(renders, backend: str) -> None:
    cam, mesh, poses, outs = renders
    for T, (out, alone) in zip(poses, outs[backend]):
        ref = projected_mask(mesh, T, cam)
        assert ref.sum() > 800
        assert iou(out.inst == 0, ref) >= 0.95
        assert iou(alone > 0, ref) >= 0.95
        assert np.array_equal(out.inst == 0, out.depth > 0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_depth_lies_on_surface(renders, backend: str) -> None:
    cam, mesh, poses, outs = renders
    for T, (out, _) in zip(poses, outs[backend]):
        sel = out.inst == 0
        d = surface_distance(mesh, depth_to_object(out.depth, sel, cam, T))
        assert np.quantile(d, 0.99) < 1e-3, backend
        assert np.median(d) < 2e-4


def test_backends_agree(renders) -> None:
    _, _, poses, outs = renders
    for k in range(len(poses)):
        a, b = outs["moderngl"][k][0], outs["pyrender-osmesa"][k][0]
        both = (a.depth > 0) & (b.depth > 0)
        close = np.abs(a.depth - b.depth) < 1e-3
        assert (close | ~(a.depth > 0) & ~(b.depth > 0)).mean() >= 0.99
        assert close[both].mean() >= 0.99
        assert iou(a.inst == 0, b.inst == 0) >= 0.99


def test_instance_ids_and_occlusion(small_camera) -> None:  # noqa: ANN001
    rm = RenderMesh.from_trimesh("part", l_shape())
    T0, T1 = np.eye(4), np.eye(4)
    T0[:3, 3] = [-0.04, -0.02, 0.30]
    T1[:3, 3] = [-0.03, -0.02, 0.25]  # in front, overlapping
    scene = RenderScene(small_camera, (SceneObject(rm, T0, instance_id=0), SceneObject(rm, T1, instance_id=7)))
    for name in ("moderngl", "pyrender-osmesa"):
        [(out, alone)] = render_in_subprocess(name, [scene])
        alone0 = alone[0] > 0
        assert set(np.unique(out.inst)) == {-1, 0, 7}
        assert (alone0 & (out.inst == 7)).sum() > 100  # object 7 hides part of object 0
        front = out.depth[out.inst == 7]
        assert front.min() > 0.25 - 1e-6 and front.max() < 0.25 + 0.06 + 1e-6


def test_depth_is_z_not_ray_length(small_camera) -> None:  # noqa: ANN001
    import trimesh

    wall = trimesh.creation.box(extents=(2.0, 2.0, 0.01))
    T = np.eye(4)
    T[2, 3] = 0.505  # front face at z = 0.5 m
    r = make_renderer("moderngl")
    out = r.render(RenderScene(small_camera, (SceneObject(RenderMesh.from_trimesh("wall", wall), T),)))
    r.close()
    assert np.allclose(out.depth, 0.5, atol=1e-5)


def test_opengl_projection_pixel_centres(small_camera) -> None:  # noqa: ANN001
    from rigidpose.geometry.frames import R_CV_GL, opengl_projection_from_K

    P = opengl_projection_from_K(small_camera.K, 320, 240, 0.1, 10.0)
    X = np.array([[0.03, -0.02, 0.7], [-0.1, 0.05, 1.3]])
    uv = small_camera.project(X)
    clip = (P @ np.c_[X @ R_CV_GL.T, np.ones(2)].T).T
    ndc = clip[:, :2] / clip[:, 3:4]
    win_x = (ndc[:, 0] + 1) / 2 * 320 - 0.5  # GL window: pixel i has centre i + 0.5
    win_y_from_top = 240 - (ndc[:, 1] + 1) / 2 * 240 - 0.5
    assert np.allclose(np.c_[win_x, win_y_from_top], uv, atol=1e-9)


def test_resolve_renderer(monkeypatch) -> None:  # noqa: ANN001
    from rigidpose.errors import RigidposeError

    from synth.render import egl_is_gpu

    assert resolve_renderer("auto") == "moderngl"
    monkeypatch.delenv("PYOPENGL_PLATFORM", raising=False)
    assert resolve_renderer("pyrender") == ("pyrender-egl" if egl_is_gpu() else "pyrender-osmesa")
    monkeypatch.setenv("PYOPENGL_PLATFORM", "egl")
    assert resolve_renderer("pyrender") == "pyrender-egl"
    monkeypatch.setenv("PYOPENGL_PLATFORM", "osmesa")
    assert resolve_renderer("pyrender") == "pyrender-osmesa"
    with pytest.raises(RigidposeError, match="unknown renderer"):
        resolve_renderer("vulkan")
