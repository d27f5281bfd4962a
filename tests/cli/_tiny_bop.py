"""A small BOP dataset written with rigidpose.bop's writers, depth ray-cast with open3d."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import trimesh

from rigidpose.bop import (
    GtInfo, GtInstance, SceneCamera, model_filename, write_camera_json, write_depth, write_mask,
    write_model_ply, write_models_info, write_rgb, write_scene_camera, write_scene_gt,
    write_scene_gt_info,
)
from rigidpose.eval import DepthRenderer
from rigidpose.geometry import Camera, Pose, axis_angle_to_matrix
from rigidpose.objects import ObjectModel, Symmetries

EXTENTS = (0.1, 0.06, 0.04)
CAMERA = Camera(np.array([[300.0, 0.0, 159.5], [0.0, 300.0, 119.5], [0.0, 0.0, 1.0]]), 320, 240)


@dataclass
class TinyBop:
    """Scene 1 of split ``test``: images 0, 1, 2 of object 1 (a box without symmetries).

    im 0: one GT at ``poses[0]``; im 1: one GT at ``poses[1]`` (identity rotation, z = 0.3 m);
    im 2: a target GT at ``poses[2]`` and a second instance at ``poses[3]`` whose
    ``visib_fract`` is written as 0.05, so it is not a target.
    """

    root: Path
    model: ObjectModel
    poses: list[Pose]
    depth: dict[int, np.ndarray]


def build_tiny_bop(root: Path) -> TinyBop:
    model = ObjectModel(trimesh.creation.box(extents=EXTENTS), obj_id=1, name="box", symmetries=Symmetries())
    write_model_ply(root / "models" / model_filename(1), model)
    write_models_info(root / "models" / "models_info.json", {1: model.info})
    write_camera_json(root / "camera.json", CAMERA, 0.1)
    poses = [
        Pose(axis_angle_to_matrix([0.4, -0.3, 0.2]), [0.01, -0.01, 0.5]),
        Pose(np.eye(3), [0.0, 0.0, 0.3]),
        Pose(axis_angle_to_matrix([0.0, 0.5, 0.0]), [-0.06, 0.0, 0.45]),
        Pose(axis_angle_to_matrix([0.3, 0.0, 0.0]), [0.09, 0.02, 0.55]),
    ]
    per_image = {0: [poses[0]], 1: [poses[1]], 2: [poses[2], poses[3]]}
    renderer = DepthRenderer(model.vertices, model.faces)
    scene = root / "test" / "000001"
    gt, gt_info, cams, depths = {}, {}, {}, {}
    for im_id, ps in per_image.items():
        singles = [renderer.render(p, CAMERA) for p in ps]
        depth = np.min([np.where(d > 0, d, np.inf) for d in singles], axis=0)
        depth = np.where(np.isfinite(depth), depth, 0.0).astype(np.float32)
        rgb = np.full((CAMERA.height, CAMERA.width, 3), 40, np.uint8)
        rgb[depth > 0] = (200, 120, 30)
        write_rgb(scene / "rgb" / f"{im_id:06d}.png", rgb)
        write_depth(scene / "depth" / f"{im_id:06d}.png", depth, 0.1)
        infos = []
        for k, d in enumerate(singles):
            mask, visib = d > 0, (d > 0) & (np.abs(d - depth) < 1e-6)
            write_mask(scene / "mask" / f"{im_id:06d}_{k:06d}.png", mask)
            write_mask(scene / "mask_visib" / f"{im_id:06d}_{k:06d}.png", visib)
            vf = 0.05 if (im_id, k) == (2, 1) else visib.sum() / mask.sum()
            ys, xs = np.nonzero(mask)
            box = np.array([xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1], float)
            infos.append(GtInfo(box, box, int(mask.sum()), int(mask.sum()), int(visib.sum()), float(vf)))
        gt[im_id] = [GtInstance(1, p) for p in ps]
        gt_info[im_id] = infos
        cams[im_id] = SceneCamera(CAMERA, 0.1)
        depths[im_id] = depth
    write_scene_gt(scene / "scene_gt.json", gt)
    write_scene_gt_info(scene / "scene_gt_info.json", gt_info)
    write_scene_camera(scene / "scene_camera.json", cams)
    return TinyBop(root, model, poses, depths)
