"""pyrender (``pyrender2``) renderer on OSMesa or EGL.

One persistent ``pyrender.Scene`` per renderer: mesh nodes are created once per
(mesh, slot) and hidden when unused, so vertex buffers are uploaded only once.
Passes per image: colour+depth, then one SEG pass for instance ids; per-object depth
for full silhouettes is one DEPTH_ONLY pass with only that object visible.
"""

from __future__ import annotations

import os

import cv2
import numpy as np
from numpy.typing import NDArray

from rigidpose.errors import RigidposeError
from synth.render.glcam import gl_camera_pose_in_cv_world, gl_projection
from synth.render.types import RenderOutput, RenderScene, SceneObject

PLATFORMS = ("egl", "osmesa")


def select_platform(platform: str) -> None:
    """Set ``PYOPENGL_PLATFORM`` before PyOpenGL is imported; error if it is too late."""
    import sys

    current = os.environ.get("PYOPENGL_PLATFORM")
    if "OpenGL" in sys.modules and current and current != platform:
        raise RigidposeError(
            f"PyOpenGL already uses {current!r} in this process; cannot switch to {platform!r}"
        )
    os.environ["PYOPENGL_PLATFORM"] = platform


def _light_pose(direction_cam: tuple[float, float, float]) -> NDArray[np.float64]:
    """(4, 4) node pose (world = OpenCV camera) whose −z axis points along ``direction_cam``."""
    z = -np.asarray(direction_cam, dtype=np.float64)
    z /= max(np.linalg.norm(z), 1e-12)
    a = np.array([1.0, 0.0, 0.0]) if abs(z[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    x = np.cross(a, z)
    x /= np.linalg.norm(x)
    T = np.eye(4)
    T[:3, :3] = np.stack([x, np.cross(z, x), z], axis=1)
    return T


class PyrenderRenderer:
    """pyrender on ``platform`` ('egl' or 'osmesa'). One per process."""

    def __init__(self, platform: str = "osmesa") -> None:
        if platform not in PLATFORMS:
            raise RigidposeError(f"unknown pyrender platform {platform!r}; use one of {PLATFORMS}")
        select_platform(platform)
        import pyrender

        self._pr = pyrender
        self.name = f"pyrender-{platform}"
        self.scene = pyrender.Scene(bg_color=[0.0, 0.0, 0.0, 0.0], ambient_light=[0.3] * 3)
        self._nodes: dict[tuple[str, int], object] = {}
        self._lights: list = []
        self._cam_node = None
        self._r = None
        self._size: tuple[int, int] | None = None

    def _camera(self, scene: RenderScene) -> None:
        pr = self._pr
        near, far = scene.clip_range
        P = gl_projection(scene.camera, near, far)

        class _KCamera(pr.Camera):
            def get_projection_matrix(self, width=None, height=None):  # noqa: ANN001, ANN202
                return P

        if self._cam_node is not None:
            self.scene.remove_node(self._cam_node)
        self._cam_node = self.scene.add(_KCamera(znear=near, zfar=far), pose=gl_camera_pose_in_cv_world())
        size = (scene.camera.width, scene.camera.height)
        if self._size != size:
            if self._r is not None:
                self._r.delete()
            self._r = pr.OffscreenRenderer(*size)
            self._size = size

    def _node(self, obj: SceneObject, slot: int):  # noqa: ANN202 - pyrender.Node
        key = (obj.mesh.key, slot)
        node = self._nodes.get(key)
        if node is None:
            pr, m = self._pr, obj.mesh
            mat = pr.MetallicRoughnessMaterial(baseColorFactor=[0.7, 0.7, 0.7, 1.0], metallicFactor=0.0, roughnessFactor=0.9)
            colors = None if m.colors is None else np.concatenate([m.colors, np.ones((len(m.colors), 1), np.float32)], 1)
            prim = pr.Primitive(positions=m.vertices, normals=m.normals, indices=m.faces, color_0=colors, material=mat)
            node = self.scene.add(pr.Mesh([prim]))
            self._nodes[key] = node
        return node

    def _pose_scene(self, scene: RenderScene) -> list:
        """Place one node per scene object (in order) and hide the rest."""
        for node in self._nodes.values():
            node.mesh.is_visible = False
        used: dict[str, int] = {}
        nodes = []
        for obj in scene.objects:
            slot = used.get(obj.mesh.key, 0)
            used[obj.mesh.key] = slot + 1
            node = self._node(obj, slot)
            self.scene.set_pose(node, obj.T_cam_obj)
            node.mesh.primitives[0].material.baseColorFactor = [*map(float, obj.albedo), 1.0]
            node.mesh.is_visible = True
            nodes.append(node)
        self._camera(scene)
        return nodes

    def render(self, scene: RenderScene) -> RenderOutput:
        pr = self._pr
        nodes = self._pose_scene(scene)
        for light in self._lights:
            self.scene.remove_node(light)
        self._lights = [
            self.scene.add(pr.DirectionalLight(color=list(li.color), intensity=3.0 * li.intensity), pose=_light_pose(li.direction_cam))
            for li in scene.lights
        ]
        self.scene.ambient_light = np.full(3, float(scene.ambient))
        rgb, depth = self._r.render(self.scene, flags=pr.RenderFlags.SKIP_CULL_FACES)
        rgb = np.array(rgb[..., :3], dtype=np.uint8)
        codes = {n: self._code(o.instance_id) for n, o in zip(nodes, scene.objects)}
        seg, _ = self._r.render(self.scene, flags=pr.RenderFlags.SEG | pr.RenderFlags.SKIP_CULL_FACES, seg_node_map=codes)
        seg = seg.astype(np.int32)
        inst = seg[..., 0] + 256 * seg[..., 1] + 65536 * seg[..., 2] - 1
        depth = np.asarray(depth, np.float32)
        # The colour/depth pass is multisampled and the SEG pass is not: where they
        # disagree on an edge pixel, call it background in both.
        edge = (inst < 0) != (depth <= 0)
        inst[edge], depth[edge] = -1, 0.0
        if scene.background is not None:
            cv2.copyTo(scene.background, (inst < 0).view(np.uint8), rgb)
        return RenderOutput(rgb, depth, inst.astype(np.int32))

    @staticmethod
    def _code(instance_id: int) -> tuple[int, int, int]:
        v = int(instance_id) + 1
        return v & 255, (v >> 8) & 255, (v >> 16) & 255

    def render_object_depth(self, scene: RenderScene, index: int) -> NDArray[np.float32]:
        nodes = self._pose_scene(scene)
        for i, node in enumerate(nodes):
            node.mesh.is_visible = i == index
        depth = self._r.render(self.scene, flags=self._pr.RenderFlags.DEPTH_ONLY | self._pr.RenderFlags.SKIP_CULL_FACES)
        return np.asarray(depth, np.float32)

    def render_object_depths(self, scene: RenderScene, indices: list[int]) -> list[NDArray[np.float32]]:
        return [self.render_object_depth(scene, i) for i in indices]

    def close(self) -> None:
        if self._r is not None:
            self._r.delete()
            self._r = None
