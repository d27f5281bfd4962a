"""Value types shared by the renderers: meshes, scenes, lights and outputs.

All geometry is in metres and in the **OpenCV** camera frame (x right, y down,
z forward). Renderers convert to OpenGL internally (see :mod:`synth.render.glcam`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import trimesh
from numpy.typing import NDArray

from rigidpose.geometry import Camera


@dataclass(frozen=True, eq=False)
class RenderMesh:
    """A triangle mesh ready for upload, in its own object frame (metres).

    Attributes:
        key: unique name; renderers cache GPU buffers by it.
        vertices: (N, 3) float32 m (flat-shaded corners are fine: normals are per vertex).
        normals: (N, 3) float32 unit vertex normals.
        faces: (F, 3) uint32 vertex indices.
        colors: (N, 3) float32 in [0, 1] vertex colours, or None for a uniform albedo.
    """

    key: str
    vertices: NDArray[np.float32]
    normals: NDArray[np.float32]
    faces: NDArray[np.uint32]
    colors: NDArray[np.float32] | None = None

    @classmethod
    def from_trimesh(cls, key: str, mesh: trimesh.Trimesh, crease_deg: float = 30.0) -> RenderMesh:
        """From a trimesh in metres; textures/face colours become vertex colours.

        An untextured mesh is split along its creases first (edges whose faces meet at more
        than ``crease_deg``), so a CAD part renders with sharp edges and flat faces. Averaged
        vertex normals across a 90° edge shade every face as a curved blob, which hides the
        shape the network has to learn. Textured meshes (scans) are smooth and kept as they are.
        """
        colors = None
        visual = mesh.visual
        try:
            if visual is not None and visual.kind == "texture" and getattr(visual.material, "image", None) is not None:
                colors = visual.to_color().vertex_colors[:, :3] / 255.0
            elif visual is not None and visual.kind in ("vertex", "face"):
                colors = np.asarray(visual.vertex_colors)[:, :3] / 255.0
        except Exception:  # noqa: BLE001 - a broken texture falls back to a plain albedo
            colors = None
        if colors is None and len(mesh.faces):
            mesh = trimesh.graph.smooth_shade(mesh, angle=np.radians(crease_deg), facet_minarea=None)
        return cls(
            key,
            np.ascontiguousarray(mesh.vertices, dtype=np.float32),
            np.ascontiguousarray(mesh.vertex_normals, dtype=np.float32),
            np.ascontiguousarray(mesh.faces, dtype=np.uint32),
            None if colors is None else np.ascontiguousarray(colors, dtype=np.float32),
        )

    @functools.cached_property
    def corners(self) -> NDArray[np.float64]:
        """(8, 3) corners of the axis-aligned bounding box, metres (computed once)."""
        lo, hi = self.vertices.min(0).astype(np.float64), self.vertices.max(0).astype(np.float64)
        return np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])


@dataclass(frozen=True, eq=False)
class SceneObject:
    """One instance in a scene.

    Attributes:
        mesh: the mesh.
        T_cam_obj: (4, 4) float64, object frame → OpenCV camera frame, metres.
        albedo: (3,) float in [0, 1]; multiplies vertex colours when the mesh has them.
        instance_id: written to ``RenderOutput.inst`` (>= 0).
    """

    mesh: RenderMesh
    T_cam_obj: NDArray[np.float64]
    albedo: NDArray[np.float64] = field(default_factory=lambda: np.full(3, 0.7))
    instance_id: int = 0


@dataclass(frozen=True)
class Light:
    """A directional light. ``direction_cam`` (3,) points from the light into the scene,
    in the OpenCV camera frame; ``color`` (3,) in [0, 1]; ``intensity`` scales it."""

    direction_cam: tuple[float, float, float]
    color: tuple[float, float, float] = (1.0, 1.0, 1.0)
    intensity: float = 1.0


@dataclass(frozen=True, eq=False)
class RenderScene:
    """Everything one image needs.

    ``background`` is an (H, W, 3) uint8 image shown where no object is drawn
    (None → black). ``ambient`` is a grey ambient light level in [0, 1].
    """

    camera: Camera
    objects: tuple[SceneObject, ...]
    lights: tuple[Light, ...] = (Light((0.0, 0.3, 1.0)),)
    ambient: float = 0.3
    background: NDArray[np.uint8] | None = None

    @functools.cached_property
    def clip_range(self) -> tuple[float, float]:
        """(near, far) in metres that contain every object (for the GL depth buffer)."""
        zs = [
            (obj.T_cam_obj[:3, :3] @ obj.mesh.corners.T + obj.T_cam_obj[:3, 3:4])[2]
            for obj in self.objects
        ]
        if not zs:
            return 0.01, 10.0
        z = np.concatenate(zs)
        far = max(float(z.max()) * 1.5, 0.1)
        near = float(np.clip(z.min() * 0.5, 1e-3, far / 10.0))
        return near, far


@dataclass(frozen=True, eq=False)
class RenderOutput:
    """rgb (H, W, 3) uint8; depth (H, W) float32 metres along the optical axis, 0 =
    nothing; inst (H, W) int32 ``instance_id`` of the visible object, -1 = none."""

    rgb: NDArray[np.uint8]
    depth: NDArray[np.float32]
    inst: NDArray[np.int32]


class Renderer(Protocol):
    """A renderer backend. One instance owns one GL context: make one per process."""

    name: str

    def render(self, scene: RenderScene) -> RenderOutput:
        """RGB, metric depth and instance ids of the whole scene."""
        ...

    def render_object_depth(self, scene: RenderScene, index: int) -> NDArray[np.float32]:
        """(H, W) float32 depth of ``scene.objects[index]`` rendered alone (0 = nothing)."""
        ...

    def render_object_depths(self, scene: RenderScene, indices: list[int]) -> list[NDArray[np.float32]]:
        """:meth:`render_object_depth` for several objects (backends may batch them)."""
        ...

    def close(self) -> None:
        ...
