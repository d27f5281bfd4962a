"""Depth and normal images of a mesh at a pose, by ray casting with open3d (no OpenGL).

Used where exact geometry matters more than speed: the visible model surface for ICP,
and VSD's rendered depth in evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

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
        stride: every ``stride``-th pixel of the box was cast: element (i, j) of the arrays is
            pixel (x + j·stride, y + i·stride), and the arrays are (⌈h/stride⌉, ⌈w/stride⌉).
    """

    depth: NDArray[np.float32]
    normals: NDArray[np.float32] | None
    roi: tuple[int, int, int, int]
    stride: int = 1

    @property
    def hit(self) -> NDArray[np.bool_]:
        return self.depth > 0

    def sample(self, image: ArrayLike) -> NDArray:
        """The pixels of a full-size ``image`` (H, W, ...) that these arrays cover, the same shape as :attr:`depth`."""
        x, y, w, h = self.roi
        s = self.stride
        return np.asarray(image)[y : y + h : s, x : x + w : s]

    def pixels(self, rows: NDArray, cols: NDArray) -> NDArray[np.float64]:
        """(N, 2) x, y image pixels of array elements (``rows``, ``cols``) (N,)."""
        x, y, _, _ = self.roi
        return np.stack([x + self.stride * np.asarray(cols), y + self.stride * np.asarray(rows)], 1).astype(np.float64)


#: Cameras whose whole-image rays are kept (shared by every ray-caster).
RAY_CACHE = 4
#: Larger images get their rays per region instead (a cached 4-megapixel grid is 50 MB).
MAX_CACHED_PIXELS = 1 << 22


@lru_cache(maxsize=RAY_CACHE)
def _ray_grid(K: bytes, dist: bytes, model: str, width: int, height: int) -> NDArray[np.float32]:
    camera = Camera(np.frombuffer(K).reshape(3, 3), width, height, model, np.frombuffer(dist))
    v, u = np.mgrid[0:height, 0:width]
    grid = camera.rays(np.stack([u.ravel(), v.ravel()], 1).astype(np.float64)).astype(np.float32)
    grid.flags.writeable = False
    return grid.reshape(height, width, 3)


def pixel_rays(camera: Camera, x0: int, y0: int, x1: int, y1: int, stride: int = 1) -> NDArray[np.float32]:
    """(N, 3) float32 viewing rays (``z = 1``, distortion removed) of every ``stride``-th pixel
    of the box [x0, x1) × [y0, y1) in both directions, row by row.

    The rays of a whole image are computed once per camera and kept for the last
    :data:`RAY_CACHE` cameras: undistorting a whole image's pixels once costs less than
    undistorting a region's on every call (a region's rays took longer than casting them).
    """
    if camera.width * camera.height <= MAX_CACHED_PIXELS:
        dist = np.asarray(camera.dist, np.float64)
        grid = _ray_grid(np.asarray(camera.K, np.float64).tobytes(), dist.tobytes(), camera.distortion_model,
                         int(camera.width), int(camera.height))
        return grid[y0:y1:stride, x0:x1:stride].reshape(-1, 3)
    v, u = np.mgrid[y0:y1:stride, x0:x1:stride]
    return camera.rays(np.stack([u.ravel(), v.ravel()], 1).astype(np.float64)).astype(np.float32)


def clip_roi(roi: tuple[int, int, int, int], camera: Camera) -> tuple[int, int, int, int]:
    """``roi`` (x, y, w, h, pixels) cut to ``camera``'s image; w or h is 0 where nothing is left."""
    x, y, w, h = (int(v) for v in roi)
    x0, y0 = min(max(x, 0), camera.width), min(max(y, 0), camera.height)
    return x0, y0, max(min(x + w, camera.width) - x0, 0), max(min(y + h, camera.height) - y0, 0)


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
        v = np.asarray(vertices, np.float64).reshape(-1, 3)
        #: (2, 3) the mesh's axis-aligned bounding box in its own frame, metres: min and max corner.
        self.bounds = np.stack([v.min(axis=0), v.max(axis=0)]) if len(v) else np.zeros((2, 3))
        self._signs = np.array([[sx, sy, sz] for sx in (-1.0, 1.0) for sy in (-1.0, 1.0) for sz in (-1.0, 1.0)])
        self._corners = 0.5 * (self.bounds[0] + self.bounds[1]) + 0.5 * (self.bounds[1] - self.bounds[0]) * self._signs

    def footprint(self, T_cam_obj: Pose, camera: Camera, grow: float = 0.0, margin: int = 2
                  ) -> tuple[int, int, int, int]:
        """(x, y, w, h) pixel box that holds the whole mesh's image at ``T_cam_obj``: the image of
        its bounding box grown by ``grow`` metres on every side, and ``margin`` pixels more (an
        outline pixel needs its neighbours). Not clipped to the image; the whole image when
        the box reaches behind the camera's near plane (1 mm).

        Cast this region, not a sphere about the object's origin: a CAD model's origin may lie
        far from its middle (the YCB soup can's is 0.8 diameters from it).
        """
        p = T_cam_obj.transform(self._corners + grow * self._signs if grow else self._corners)
        if p[:, 2].min() < 1e-3:
            return 0, 0, int(camera.width), int(camera.height)
        if camera.has_distortion:  # the box's image lies inside the distorted outline of its undistorted bounds
            (a, b), (c, d) = (p[:, :2] / p[:, 2:]).min(axis=0), (p[:, :2] / p[:, 2:]).max(axis=0)
            s = np.linspace(0.0, 1.0, 17)
            xs, ys = a + (c - a) * s, b + (d - b) * s
            ring = np.concatenate([np.stack([xs, np.full_like(xs, b)], 1), np.stack([xs, np.full_like(xs, d)], 1),
                                   np.stack([np.full_like(ys, a), ys], 1), np.stack([np.full_like(ys, c), ys], 1)])
            p = np.concatenate([ring, np.ones((len(ring), 1))], axis=1)
        uv = camera.project(p)
        if not np.all(np.isfinite(uv)):
            return 0, 0, int(camera.width), int(camera.height)
        x0, y0 = np.floor(uv.min(axis=0)).astype(int) - margin
        x1, y1 = np.ceil(uv.max(axis=0)).astype(int) + margin + 1
        return int(x0), int(y0), int(x1 - x0), int(y1 - y0)

    def render(
        self, T_cam_obj: Pose, camera: Camera, roi: tuple[int, int, int, int] | None = None, normals: bool = True,
        stride: int = 1,
    ) -> RaycastImage:
        """Depth and normals of the mesh at ``T_cam_obj`` seen by ``camera``.

        Args:
            T_cam_obj: object pose in the OpenCV camera frame.
            camera: the camera; lens distortion is honoured through its rays.
            roi: optional (x, y, w, h) pixel box; the default is the whole image.
            normals: also compute the normals (skip them where the depth or silhouette is all that is needed).
            stride: cast every ``stride``-th pixel of the box in both directions
                (:attr:`RaycastImage.stride`): a fraction of the silhouette, or a few thousand
                surface points, do not need every pixel, and the cost is per ray.
        """
        if int(stride) < 1:
            raise ValueError(f"stride must be at least 1, got {stride}")
        stride = int(stride)
        x0, y0, w, h = clip_roi(roi if roi is not None else (0, 0, camera.width, camera.height), camera)
        if w == 0 or h == 0:
            z = np.zeros((0, 0), np.float32)
            return RaycastImage(z, np.zeros((0, 0, 3), np.float32), (x0, y0, 0, 0), stride)
        x1, y1 = x0 + w, y0 + h
        rays_cam = pixel_rays(camera, x0, y0, x1, y1, stride)  # z = 1
        shape = (len(range(y0, y1, stride)), len(range(x0, x1, stride)))
        box = (x0, y0, x1 - x0, y1 - y0)
        R = np.asarray(T_cam_obj.R, np.float32)
        rays = np.empty((len(rays_cam), 6), np.float32)
        rays[:, :3] = -T_cam_obj.R.T @ T_cam_obj.t  # the camera centre in the object frame
        np.matmul(rays_cam, R, out=rays[:, 3:])  # each row R^T d
        ans = self._scene.cast_rays(self._o3d.core.Tensor(rays))
        t_hit = ans["t_hit"].numpy()  # in units of the direction's length, i.e. z-depth
        hit = np.isfinite(t_hit)
        depth = np.where(hit, t_hit, np.float32(0.0)).reshape(shape)
        if not normals:
            return RaycastImage(depth, None, box, stride)
        n_cam = ans["primitive_normals"].numpy() @ R.T
        # Normals face the camera: flip those pointing away (open meshes, inconsistent winding).
        n_cam[np.einsum("ij,ij->i", n_cam, rays_cam) > 0] *= -1.0
        n_cam[~hit] = 0.0
        return RaycastImage(depth, n_cam.reshape(*shape, 3), box, stride)
