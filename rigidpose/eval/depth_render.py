"""Full-image depth of a mesh at a pose for VSD, ray-cast with open3d (no OpenGL).

A thin layer over :class:`rigidpose.objects.raycast.MeshRaycaster` (one open3d
``RaycastingScene`` per mesh, built once in the object frame): it casts only the pixels
inside the projected mesh's bounding box and returns the whole HxW image.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rigidpose.geometry import Camera, Pose
from rigidpose.objects.raycast import MeshRaycaster, clip_roi


class DepthRenderer:
    """Renders the depth (m, along the optical axis) of one mesh given in metres, object frame.

    Args:
        vertices: (V, 3) metres, object frame.
        faces: (F, 3) vertex indices.
    """

    def __init__(self, vertices: ArrayLike, faces: ArrayLike) -> None:
        self.vertices = np.asarray(vertices, dtype=np.float64).reshape(-1, 3)
        self._caster = MeshRaycaster(self.vertices, faces)

    def window(self, T_cam_obj: Pose, camera: Camera) -> tuple[int, int, int, int]:
        """Pixel box (x, y, w, h) holding the projected mesh, cut to the image
        (:meth:`~rigidpose.objects.raycast.MeshRaycaster.footprint`)."""
        return clip_roi(self._caster.footprint(T_cam_obj, camera), camera)

    def render(self, T_cam_obj: Pose, camera: Camera) -> NDArray[np.float32]:
        """Depth (height, width) float32 in metres at ``T_cam_obj``; 0 where no ray hits."""
        depth = np.zeros((camera.height, camera.width), dtype=np.float32)
        x, y, w, h = self.window(T_cam_obj, camera)
        if w <= 0 or h <= 0:
            return depth
        img = self._caster.render(T_cam_obj, camera, (x, y, w, h))
        x0, y0, w0, h0 = img.roi
        depth[y0 : y0 + h0, x0 : x0 + w0] = img.depth
        return depth


def render_depth(vertices: ArrayLike, faces: ArrayLike, T_cam_obj: Pose, camera: Camera) -> NDArray[np.float32]:
    """One-shot :class:`DepthRenderer` render: (H, W) float32 depth in metres, 0 = background."""
    return DepthRenderer(vertices, faces).render(T_cam_obj, camera)
