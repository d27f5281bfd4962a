"""From an image index to a labelled image: sample, render, annotate, add sensor effects.

:class:`ModelSpec` carries a mesh as plain arrays so that it can be sent to worker
processes and Ray tasks. :class:`ImageGenerator` owns one renderer (one GL context):
build one per process. Image ``i`` of a run with seed ``s`` draws all its randomness
from ``SeedSequence(s, spawn_key=(i,))``, so results do not depend on the worker count.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import trimesh
from numpy.typing import NDArray

from rigidpose.bop.scene import GtInfo, GtInstance
from rigidpose.geometry import Camera, Pose
from synth.annotate import annotate_instance, ray_norms
from synth.config import SynthConfig
from synth.randomize import NoiseBank, apply_sensor, list_background_images, sample_background, sample_lights
from synth.render import make_renderer
from synth.render.glcam import projected_bbox
from synth.render.types import RenderOutput, RenderScene
from synth.scene import Target, mesh_distractor, procedural_distractors, sample_scene


@dataclass(frozen=True, eq=False)
class ModelSpec:
    """A mesh in metres as arrays: ``vertices`` (N, 3), ``faces`` (F, 3), ``colors`` (N, 3)
    uint8 or None; ``diameter`` metres; ``obj_id`` (0 for distractors)."""

    obj_id: int
    vertices: NDArray[np.float64]
    faces: NDArray[np.int64]
    colors: NDArray[np.uint8] | None
    diameter: float

    @classmethod
    def from_model(cls, model) -> ModelSpec:  # noqa: ANN001 - rigidpose.objects.ObjectModel
        m = model.mesh
        colors = None
        if m.visual is not None and m.visual.kind in ("vertex", "face"):
            colors = np.asarray(m.visual.vertex_colors)[:, :3].copy()
        return cls(int(model.obj_id or 0), np.asarray(m.vertices, float), np.asarray(m.faces), colors, float(model.diameter))

    def trimesh(self) -> trimesh.Trimesh:
        return trimesh.Trimesh(self.vertices, self.faces, vertex_colors=self.colors, process=False)


@dataclass(frozen=True, eq=False)
class ImageRecord:
    """One labelled image: rgb (H, W, 3) uint8, depth (H, W) float32 m, per-instance
    ``gt``/``info``/``masks``/``masks_visib`` (H, W) bool, and ``T_cam_world``."""

    rgb: NDArray[np.uint8]
    depth: NDArray[np.float32]
    gt: list[GtInstance]
    info: list[GtInfo]
    masks: list[NDArray[np.bool_]]
    masks_visib: list[NDArray[np.bool_]]
    T_cam_world: Pose


def make_targets(models: list[ModelSpec]) -> list[Target]:
    """The render meshes, stable poses and hulls of ``models`` (deterministic)."""
    return [Target.from_model(m.obj_id, m.trimesh(), m.diameter) for m in models]


def image_rng(seed: int, index: int) -> np.random.Generator:
    """The generator of image ``index`` in a run with ``seed``."""
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(int(index),)))


class ImageGenerator:
    """Renders labelled images for a fixed set of models, camera and config."""

    def __init__(self, models: list[ModelSpec], camera: Camera, cfg: SynthConfig, renderer: str = "auto",
                 distractor_models: list[ModelSpec] = (), targets: list[Target] | None = None) -> None:
        """``targets``: :func:`make_targets` of ``models`` when already made (saves each
        worker process computing the stable poses again)."""
        self.cfg = cfg
        self.camera = camera.without_distortion()
        self.targets = list(targets) if targets is not None else make_targets(models)
        ref = float(np.mean([t.diameter for t in self.targets]))
        dc = cfg.distractors
        self.distractors = procedural_distractors(dc.shapes, dc.size, ref) if dc.shapes else []
        self.distractors += [mesh_distractor(f"user_distractor_{i}", d.trimesh(), d.diameter)
                             for i, d in enumerate(distractor_models)]
        self.backgrounds: list[Path] = list_background_images(cfg.background.images_dir)
        self.renderer = make_renderer(renderer)
        self.norms = ray_norms(self.camera)
        self.noise = NoiseBank(self.camera.width, self.camera.height)

    def generate(self, seed: int, index: int) -> ImageRecord:
        cfg, cam = self.cfg, self.camera
        rng = image_rng(seed, index)
        s = sample_scene(rng, cfg, self.targets, self.distractors)
        lights, ambient = sample_lights(rng, cfg.lights)
        bg = sample_background(rng, cfg.background, cam.width, cam.height, self.backgrounds)
        scene = RenderScene(cam, s.objects, lights, ambient, bg)
        out = self.renderer.render(scene)
        rgb = apply_sensor(rng, out.rgb, cfg.sensor, self.noise)
        gt, info, masks, visib = [], [], [], []
        depths, boxes = self._object_depths(scene, out, s.n_targets)
        for i, depth_i in enumerate(depths):
            ann = annotate_instance(depth_i, out.depth, self.norms, box=boxes[i])
            gt.append(GtInstance(s.obj_ids[i], Pose.from_matrix(s.objects[i].T_cam_obj)))
            info.append(ann.info)
            masks.append(ann.mask)
            visib.append(ann.mask_visib)
        return ImageRecord(rgb, out.depth, gt, info, masks, visib, Pose.from_matrix(s.T_cam_world))

    def _object_depths(self, scene: RenderScene, out: RenderOutput, n: int) -> tuple[list, list]:
        """Depth of each of the first ``n`` objects rendered alone, and the pixel boxes
        ``(x0, y0, x1, y1)`` outside which each depth is 0.

        An object that nothing can hide (every other object whose projected box meets
        its box lies entirely behind it, by bounding-box corners) is exactly the scene
        render restricted to its own pixels (same triangles, same rasterisation), so the
        extra render pass is skipped for it.
        """
        cam, objs = scene.camera, scene.objects
        pts = [o.mesh.corners @ o.T_cam_obj[:3, :3].T + o.T_cam_obj[:3, 3] for o in objs]
        boxes = [projected_bbox(cam, p) for p in pts]
        zmin, zmax = [p[:, 2].min() for p in pts], [p[:, 2].max() for p in pts]

        def unhidden(i: int) -> bool:
            x0, y0, x1, y1 = boxes[i]
            return all(b[2] <= x0 or b[0] >= x1 or b[3] <= y0 or b[1] >= y1 or zmin[j] > zmax[i]
                       for j, b in enumerate(boxes) if j != i)

        free = [unhidden(i) for i in range(n)]
        need = [i for i in range(n) if not free[i]]
        rendered = dict(zip(need, self.renderer.render_object_depths(scene, need))) if need else {}
        depths = [np.where(out.inst == objs[i].instance_id, out.depth, np.float32(0.0)) if free[i] else rendered[i]
                  for i in range(n)]
        return depths, boxes[:n]

    def close(self) -> None:
        self.renderer.close()
