"""Depth and normal images of a mesh at a pose, by ray casting with open3d (no OpenGL).

Used where exact geometry matters more than speed: the visible model surface for ICP,
and VSD's rendered depth in evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rigidpose.geometry import Camera, Pose


@dataclass(frozen=True, eq=False)
class RaycastImage:
    """The result of :meth:`MeshRaycaster.render` over a region of interest.

    Attributes:
        depth: (h, w) float32 z-depth in metres along the optical axis, 0 where no hit.
        normals: (h, w, 3) float32 unit surface normals in the camera frame (0 where no hit);
            None when not asked for.
        roi: (x, y, w, h) integer pixel box of the image these arrays cover.
    """

    depth: NDArray[np.float32]
    normals: NDArray[np.float32] | None
    roi: tuple[int, int, int, int]

    @property
    def hit(self) -> NDArray[np.bool_]:
        return self.depth > 0


class MeshRaycaster:
    """Ray-casts one triangle mesh given in its object frame (metres)."""

    def __init__(self, vertices: ArrayLike, faces: ArrayLike) -> None:
        import open3d as o3d

        self._scene = o3d.t.geometry.RaycastingScene()
        self._scene.add_triangles(
            o3d.core.Tensor(np.ascontiguousarray(vertices, dtype=np.float32)),
            o3d.core.Tensor(np.ascontiguousarray(faces, dtype=np.uint32)),
        )
        self._o3d = o3d

    def render(
        self, T_cam_obj: Pose, camera: Camera, roi: tuple[int, int, int, int] | None = None, normals: bool = True
    ) -> RaycastImage:
        """Depth and normals of the mesh at ``T_cam_obj`` seen by ``camera``.

        Args:
            T_cam_obj: object pose in the OpenCV camera frame.
            camera: the camera; lens distortion is honoured through its rays.
            roi: optional (x, y, w, h) pixel box; the default is the whole image.
            normals: also compute the normals (skip them where the depth or silhouette is all that is needed).
        """
        x, y, w, h = roi if roi is not None else (0, 0, camera.width, camera.height)
        x0, y0 = max(int(x), 0), max(int(y), 0)
        x1, y1 = min(int(x + w), camera.width), min(int(y + h), camera.height)
        if x1 <= x0 or y1 <= y0:
            z = np.zeros((0, 0), np.float32)
            return RaycastImage(z, np.zeros((0, 0, 3), np.float32), (x0, y0, 0, 0))
        v, u = np.mgrid[y0:y1, x0:x1]
        rays_cam = camera.rays(np.stack([u.ravel(), v.ravel()], 1).astype(np.float64))  # z = 1
        R, t = T_cam_obj.R, T_cam_obj.t
        origin_obj = -R.T @ t
        dirs_obj = rays_cam @ R  # = (R^T @ d) for each row
        rays = np.concatenate([np.broadcast_to(origin_obj, dirs_obj.shape), dirs_obj], axis=1)
        ans = self._scene.cast_rays(self._o3d.core.Tensor(rays.astype(np.float32)))
        t_hit = ans["t_hit"].numpy()  # in units of the direction's length, i.e. z-depth
        hit = np.isfinite(t_hit)
        depth = np.where(hit, t_hit, 0.0).astype(np.float32).reshape(y1 - y0, x1 - x0)
        if not normals:
            return RaycastImage(depth, None, (x0, y0, x1 - x0, y1 - y0))
        n_obj = ans["primitive_normals"].numpy().astype(np.float64)
        n_cam = n_obj @ R.T
        # Normals face the camera: flip those pointing away (open meshes, inconsistent winding).
        flip = np.sum(n_cam * rays_cam, axis=1) > 0
        n_cam[flip] *= -1.0
        n_cam[~hit] = 0.0
        normals = n_cam.astype(np.float32).reshape(y1 - y0, x1 - x0, 3)
        return RaycastImage(depth, normals, (x0, y0, x1 - x0, y1 - y0))
