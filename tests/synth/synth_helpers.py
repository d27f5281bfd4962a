"""Helpers for the synth tests: a small non-convex part, reference masks from projected
triangles, surface distances, rendering in a fresh process, and CLI inputs."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import trimesh

from rigidpose.geometry import Camera


def l_shape() -> trimesh.Trimesh:
    """A non-convex L-shaped part, about 8 cm, in metres (object frame at a corner)."""
    a = trimesh.creation.box(extents=(0.08, 0.03, 0.02))
    a.apply_translation((0.04, 0.015, 0.01))
    b = trimesh.creation.box(extents=(0.02, 0.03, 0.06))
    b.apply_translation((0.01, 0.015, 0.03))
    return trimesh.util.concatenate([a, b])


def projected_mask(mesh: trimesh.Trimesh, T_cam_obj: np.ndarray, camera: Camera, ss: int = 4) -> np.ndarray:
    """(H, W) bool silhouette: the projected triangles rasterised with OpenCV at ``ss``×
    resolution (``fillConvexPoly`` per triangle: one ``fillPoly`` call applies an even-odd
    rule to overlapping triangles), then a pixel is in when half its sub-pixels are.
    Supersampling removes the one-pixel ring that cv2 adds along every edge."""
    v = mesh.vertices @ T_cam_obj[:3, :3].T + T_cam_obj[:3, 3]
    uv = (camera.project(v) + 0.5) * ss - 0.5  # pixel centres at ss*u + (ss-1)/2
    tri = np.round(uv[mesh.faces] * 16).astype(np.int32)  # 4 fractional bits
    img = np.zeros((camera.height * ss, camera.width * ss), np.uint8)
    for t in tri:
        cv2.fillConvexPoly(img, t, 1, lineType=cv2.LINE_8, shift=4)
    blocks = img.reshape(camera.height, ss, camera.width, ss).mean(axis=(1, 3))
    return blocks >= 0.5


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def surface_distance(mesh: trimesh.Trimesh, points_obj: np.ndarray) -> np.ndarray:
    """(N,) unsigned distance of points (N, 3) to the mesh surface, metres (open3d)."""
    import open3d as o3d

    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(o3d.core.Tensor(mesh.vertices.astype(np.float32)), o3d.core.Tensor(mesh.faces.astype(np.uint32)))
    return scene.compute_distance(o3d.core.Tensor(points_obj.astype(np.float32))).numpy()


def depth_to_object(depth: np.ndarray, sel: np.ndarray, camera: Camera, T_cam_obj: np.ndarray) -> np.ndarray:
    """Back-project the selected pixels of ``depth`` and map them into the object frame."""
    v, u = np.nonzero(sel)
    p_cam = camera.backproject_pixels(np.stack([u, v], 1).astype(float), depth[v, u])
    return (p_cam - T_cam_obj[:3, 3]) @ T_cam_obj[:3, :3]


def _render_all(backend: str, scenes: list) -> list:
    from synth.render import make_renderer

    r = make_renderer(backend)
    out = [(r.render(s), [r.render_object_depth(s, i) for i in range(len(s.objects))]) for s in scenes]
    r.close()
    return out


def render_in_subprocess(backend: str, scenes: list) -> list:
    """Render ``scenes`` with ``backend`` in a fresh spawned process (PyOpenGL can use one
    platform per process). Returns ``[(RenderOutput, [depth of each object alone])]``."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as ex:
        return ex.submit(_render_all, backend, scenes).result(timeout=120)


def write_inputs(d: Path, chunk_size: int = 4) -> dict[str, Path]:
    d.mkdir(parents=True, exist_ok=True)
    l_shape().export(d / "part.ply")
    trimesh.creation.cylinder(radius=0.025, height=0.07, sections=32).export(d / "can.stl")
    Camera.from_fov(200, 150, 55).to_ros_yaml(d / "camera.yaml")
    (d / "scene.yaml").write_text(
        f"output:\n  chunk_size: {chunk_size}\n  preview_images: 4\n  rgb_format: png\n"
        "distractors:\n  count: [0, 2]\ncamera:\n  distance_rel: [1.5, 3.0]\n"
        # no rendered floor: BOP's 5 mm rule counts floor pixels at the contact line as
        # visible, and their depth is the floor's, which would blur the surface check
        "scene:\n  plane_render_prob: 0.0\n"
    )
    return {"part": d / "part.ply", "can": d / "can.stl", "camera": d / "camera.yaml", "config": d / "scene.yaml"}


def synth_args(inp: dict[str, Path], out: Path, images: int, *extra: str) -> list[str]:
    return ["synth", "--model", str(inp["part"]), "--model", str(inp["can"]), "--out", str(out),
            "--images", str(images), "--seed", "11", "--camera", str(inp["camera"]),
            "--config", str(inp["config"]), "--no-progress", *extra]


def annotations(out: Path) -> dict[str, str]:
    """Text of every chunk's scene_*.json, keyed by path relative to ``out``."""
    return {str(p.relative_to(out)): p.read_text() for p in sorted((out / "train_synth").glob("*/scene_*.json"))}

