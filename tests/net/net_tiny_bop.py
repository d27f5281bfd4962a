"""A tiny BOP dataset written with the rigidpose.bop writers (no renderer needed).

Objects are boxes drawn as the filled convex hull of their projected corners; each
keypoint is marked by a 5x5 square of its own colour, so tests can check where keypoints
land in a crop. Object 1 has a 180° symmetry about z, object 2 none.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from rigidpose.bop.camera import write_camera_json
from rigidpose.bop.images import write_mask, write_rgb
from rigidpose.bop.models_info import write_models_info
from rigidpose.bop.scene import GtInfo, GtInstance, SceneCamera, write_scene_camera, write_scene_gt, write_scene_gt_info
from rigidpose.geometry import Camera, Pose, random_rotation
from rigidpose.objects import ModelInfo, Symmetries

CAMERA = Camera(np.array([[300.0, 0, 159.5], [0, 300.0, 119.5], [0, 0, 1]]), 320, 240)
HALF = np.array([0.04, 0.03, 0.02])
CORNERS = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)]) * HALF
KEYPOINTS = np.array([[0.03, 0.02, 0.02], [-0.03, 0.0, 0.02], [0.0, -0.025, -0.02], [0.0, 0.0, 0.0]])
KP_COLOURS = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0]], np.uint8)


def z_flip() -> Symmetries:
    T = np.eye(4)
    T[:2, :2] = -np.eye(2)
    return Symmetries(T[None])


def box_info(sym: Symmetries) -> ModelInfo:
    return ModelInfo(2 * float(np.linalg.norm(HALF)), -HALF, 2 * HALF, sym)


def write_tiny_bop(root: Path, n_images: int = 4, seed: int = 0, split: str = "train", models: bool = False) -> Path:
    """Write the dataset; ``models=True`` also writes the box meshes as BOP PLYs (mm)."""
    rng = np.random.default_rng(seed)
    write_camera_json(root / "camera.json", CAMERA, 1.0)
    write_models_info(root / "models" / "models_info.json", {1: box_info(z_flip()), 2: box_info(Symmetries())})
    if models:
        import trimesh

        from rigidpose.bop.models import model_filename, write_model_ply
        from rigidpose.objects.model import ObjectModel

        for obj_id in (1, 2):
            mesh = trimesh.creation.box(extents=2 * HALF)
            write_model_ply(root / "models" / model_filename(obj_id), ObjectModel(mesh, obj_id=obj_id, name=f"box{obj_id}"))
    scene = root / split / "000000"
    gts, infos, cams = {}, {}, {}
    for im in range(n_images):
        rgb = np.full((240, 320, 3), 40, np.uint8)
        gts[im], infos[im] = [], []
        for k, (obj_id, x) in enumerate(((1, -0.06), (2, 0.06))):
            T = Pose(random_rotation(rng), [x + rng.uniform(-0.01, 0.01), rng.uniform(-0.02, 0.02), rng.uniform(0.45, 0.6)])
            hull = cv2.convexHull(np.round(CAMERA.project(T.transform(CORNERS))).astype(np.int32))
            mask = np.zeros((240, 320), np.uint8)
            cv2.fillConvexPoly(mask, hull, 1)
            rgb[mask > 0] = 128 + 40 * k
            for uv, c in zip(CAMERA.project(T.transform(KEYPOINTS)), KP_COLOURS):
                u, v = np.round(uv).astype(int)
                rgb[v - 2 : v + 3, u - 2 : u + 3] = c
            write_mask(scene / "mask_visib" / f"{im:06d}_{k:06d}.png", mask > 0)
            write_mask(scene / "mask" / f"{im:06d}_{k:06d}.png", mask > 0)
            ys, xs = np.nonzero(mask)
            bbox = np.array([xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1], float)
            n = int(mask.sum())
            gts[im].append(GtInstance(obj_id, T))
            infos[im].append(GtInfo(bbox, bbox, n, n, n, 1.0))
        write_rgb(scene / "rgb" / f"{im:06d}.png", rgb)
        cams[im] = SceneCamera(CAMERA, 1.0)
    write_scene_gt(scene / "scene_gt.json", gts)
    write_scene_gt_info(scene / "scene_gt_info.json", infos)
    write_scene_camera(scene / "scene_camera.json", cams)
    return root
