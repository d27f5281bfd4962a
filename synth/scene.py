"""Scene sampling: objects on a plane (stable poses) or floating, distractors, camera.

World frame: the support plane is ``z = 0`` with ``+z`` up. Cameras use the OpenCV frame.
Everything is in metres; every sampler takes a ``numpy.random.Generator``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh
from numpy.typing import NDArray

from rigidpose.geometry import random_rotation
from synth.config import CameraConfig, SynthConfig
from synth.randomize import int_in, uniform_in, sample_albedo
from synth.render.types import RenderMesh, SceneObject


@dataclass(frozen=True, eq=False)
class Target:
    """An annotated object prepared for rendering (one per model, shared by instances).

    ``stable_T`` (S, 4, 4) and ``stable_p`` (S,) are trimesh's stable resting poses on
    ``z = 0`` and their probabilities; ``hull`` (M, 3) are convex-hull vertices in metres.
    """

    obj_id: int
    mesh: RenderMesh
    diameter: float
    textured: bool
    stable_T: NDArray[np.float64]
    stable_p: NDArray[np.float64]
    hull: NDArray[np.float64]

    @classmethod
    def from_model(cls, obj_id: int, mesh: trimesh.Trimesh, diameter: float) -> Target:
        T, p = trimesh.poses.compute_stable_poses(mesh)
        if len(T) == 0:
            T, p = np.eye(4)[None], np.ones(1)
        rm = RenderMesh.from_trimesh(f"obj_{obj_id:06d}", mesh)
        return cls(obj_id, rm, float(diameter), rm.colors is not None, np.asarray(T), np.asarray(p) / np.sum(p),
                   np.asarray(mesh.convex_hull.vertices, dtype=np.float64))


@dataclass(frozen=True, eq=False)
class Distractor:
    """A mesh that is drawn but never annotated; ``hull`` (M, 3) metres."""

    mesh: RenderMesh
    hull: NDArray[np.float64]
    diameter: float


def procedural_distractors(shapes: tuple[str, ...], size: tuple[float, float], ref: float) -> list[Distractor]:
    """A small fixed library of boxes, cylinders and spheres, ``size`` × ``ref`` metres."""
    out = []
    for s in np.linspace(size[0], size[1], 3) * ref:
        for shape in shapes:
            if shape == "box":
                m = trimesh.creation.box(extents=(s, 0.6 * s, 0.4 * s))
            elif shape == "cylinder":
                m = trimesh.creation.cylinder(radius=0.3 * s, height=s, sections=24)
            else:
                m = trimesh.creation.icosphere(subdivisions=2, radius=0.5 * s)
            out.append(Distractor(RenderMesh.from_trimesh(f"distractor_{shape}_{s:.5f}", m),
                                  np.asarray(m.vertices, float), float(np.linalg.norm(m.extents))))
    return out


def mesh_distractor(key: str, mesh: trimesh.Trimesh, diameter: float) -> Distractor:
    return Distractor(RenderMesh.from_trimesh(key, mesh), np.asarray(mesh.convex_hull.vertices, float), diameter)


def _plane_mesh(half: float) -> RenderMesh:
    v = np.array([[-half, -half, 0], [half, -half, 0], [half, half, 0], [-half, half, 0]], np.float32)
    n = np.tile(np.array([0, 0, 1], np.float32), (4, 1))
    return RenderMesh(f"plane_{half:.4f}", v, n, np.array([[0, 1, 2], [0, 2, 3]], np.uint32))


def _rot_z(a: float) -> NDArray[np.float64]:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _T(R: NDArray, t: NDArray) -> NDArray[np.float64]:
    T = np.eye(4)
    T[:3, :3], T[:3, 3] = R, t
    return T


class _Placer:
    """Rejection sampling of non-overlapping footprints (circles in xy, or balls)."""

    def __init__(self, radius: float) -> None:
        self.radius = radius
        self.placed: list[tuple[NDArray, float]] = []

    def place(self, rng: np.random.Generator, r: float, z: float, tries: int = 30) -> NDArray | None:
        for _ in range(tries):
            a, rad = rng.uniform(0, 2 * np.pi), self.radius * np.sqrt(rng.random())
            p = np.array([rad * np.cos(a), rad * np.sin(a), z])
            if all(np.linalg.norm(p - q) >= r + rq for q, rq in self.placed):
                self.placed.append((p, r))
                return p
        return None


def _on_plane(rng: np.random.Generator, R0_T: NDArray, hull: NDArray, placer: _Placer) -> NDArray | None:
    """T_world_obj resting on z = 0: a resting pose ``R0_T`` (4, 4), random yaw, free xy."""
    T = _T(_rot_z(rng.uniform(0, 2 * np.pi)), np.zeros(3)) @ R0_T
    pts = hull @ T[:3, :3].T + T[:3, 3]
    centre = 0.5 * (pts.min(0) + pts.max(0))
    r = float(np.max(np.linalg.norm(pts[:, :2] - centre[:2], axis=1)))
    p = placer.place(rng, r, 0.0)
    if p is None:
        return None
    T[:2, 3] += p[:2] - centre[:2]
    T[2, 3] -= pts[:, 2].min()
    return T


def _floating(rng: np.random.Generator, diameter: float, placer: _Placer, z: float) -> NDArray | None:
    p = placer.place(rng, diameter / 2, z)
    if p is None:
        return None
    return _T(random_rotation(rng), p)


def _occluder(rng: np.random.Generator, eye: NDArray, poses: list, d: Distractor, size: float) -> NDArray | None:
    """A floating distractor on the way from the camera to a target, not touching any target."""
    lo_hi = [(t.hull.min(0), t.hull.max(0)) for t, _ in poses]
    balls = [(T[:3, :3] @ (0.5 * (lo + hi)) + T[:3, 3], 0.5 * np.linalg.norm(hi - lo)) for (_, T), (lo, hi) in zip(poses, lo_hi)]
    for _ in range(10):
        _, T_t = poses[int(rng.integers(len(poses)))]
        a = rng.uniform(0.3, 0.7)
        p = (1 - a) * eye + a * T_t[:3, 3] + 0.3 * size * rng.uniform(-1, 1, 3)
        if all(np.linalg.norm(p - c) > r + d.diameter / 2 for c, r in balls):
            return _T(random_rotation(rng), p)
    return None


def look_at_camera(eye: NDArray, target: NDArray, roll: float) -> NDArray[np.float64]:
    """(4, 4) ``T_world_cam`` of an OpenCV camera at ``eye`` looking at ``target``
    (world ``+z`` up in the image), rolled by ``roll`` radians about its optical axis."""
    f = target - eye
    f = f / np.linalg.norm(f)
    up = np.array([0.0, 0.0, 1.0]) if abs(f[2]) < 0.999 else np.array([0.0, 1.0, 0.0])
    x = np.cross(f, up)
    x /= np.linalg.norm(x)
    R = np.stack([x, np.cross(f, x), f], axis=1)
    c, s = np.cos(roll), np.sin(roll)
    R = R @ np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    return _T(R, eye)


def sample_camera(rng: np.random.Generator, cfg: CameraConfig, centre: NDArray, size: float) -> NDArray[np.float64]:
    """``T_world_cam`` on a shell around ``centre`` (distance, elevation, roll ranges)."""
    dist = uniform_in(rng, cfg.distance) if cfg.distance is not None else uniform_in(rng, cfg.distance_rel) * size
    el, az = np.deg2rad(uniform_in(rng, cfg.elevation_deg)), rng.uniform(0, 2 * np.pi)
    look = centre + cfg.look_jitter * size * rng.uniform(-1, 1, 3)
    eye = look + dist * np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])
    return look_at_camera(eye, look, np.deg2rad(uniform_in(rng, cfg.roll_deg)))


@dataclass(frozen=True, eq=False)
class SampledScene:
    """One sampled scene: ``objects`` lists the annotated instances first (instance ids
    0..n_targets-1, with ``obj_ids``), then distractors and the plane."""

    objects: tuple[SceneObject, ...]
    obj_ids: tuple[int, ...]
    T_cam_world: NDArray[np.float64]

    @property
    def n_targets(self) -> int:
        return len(self.obj_ids)


def sample_scene(rng: np.random.Generator, cfg: SynthConfig, targets: list[Target],
                 distractors: list[Distractor]) -> SampledScene:
    """Choose objects and instances, place them, add distractors, and place the camera."""
    sc = cfg.scene
    size = max(t.diameter for t in targets)
    n_obj = min(int_in(rng, sc.objects_per_scene), len(targets))
    chosen = rng.choice(len(targets), size=n_obj, replace=False)
    floating = sc.placement == "float" or (sc.placement == "mixed" and rng.random() < sc.float_prob)
    placer = _Placer(sc.spread * size)
    poses: list[tuple[Target, NDArray]] = []
    for ti in chosen:
        t = targets[int(ti)]
        for _ in range(int_in(rng, sc.instances_per_object)):
            if floating:
                T = _floating(rng, t.diameter, placer, size)
            else:
                T = _on_plane(rng, t.stable_T[rng.choice(len(t.stable_p), p=t.stable_p)], t.hull, placer)
            if T is not None:
                poses.append((t, T))
    centre = np.mean([T[:3, 3] for _, T in poses], axis=0) if poses else np.zeros(3)
    T_world_cam = sample_camera(rng, cfg.camera, centre, size)
    T_cam_world = np.linalg.inv(T_world_cam)
    objs = [SceneObject(t.mesh, T_cam_world @ T, sample_albedo(rng, cfg.material, t.textured), i)
            for i, (t, T) in enumerate(poses)]
    dc = cfg.distractors
    for _ in range(int_in(rng, dc.count) if distractors else 0):
        d = distractors[int(rng.integers(len(distractors)))]
        if poses and rng.random() < dc.occluder_prob:  # between the camera and a target
            T = _occluder(rng, T_world_cam[:3, 3], poses, d, size)
        elif floating:
            T = _floating(rng, d.diameter, placer, size)
        else:
            T = _on_plane(rng, np.eye(4), d.hull, placer)
        if T is not None:
            objs.append(SceneObject(d.mesh, T_cam_world @ T, sample_albedo(rng, cfg.material, False), len(objs)))
    if not floating and rng.random() < sc.plane_render_prob:
        plane = _plane_mesh(round(3.0 * sc.spread * size, 3))
        objs.append(SceneObject(plane, T_cam_world.copy(), sample_albedo(rng, cfg.material, False), len(objs)))
    return SampledScene(tuple(objs), tuple(t.obj_id for t, _ in poses), T_cam_world)
