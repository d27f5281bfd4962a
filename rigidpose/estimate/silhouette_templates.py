"""Silhouette templates of one object: a pose from the shape of its mask alone.

The model is ray-cast once per viewpoint (a Fibonacci sphere of ``views`` directions) and
each silhouette is turned about the optical axis in ``in_plane`` steps. Every silhouette is
cut at its bounding box and resampled to a ``grid`` × ``grid`` square (aspect kept), so a
mask of any size compares to every template by one matrix product (IoU of the normalised
shapes). The templates are rendered with the object's bounding-box centre on the optical
axis, where a turn of the image is exactly a turn of the object about the axis.

A query mask is first warped into a virtual camera that looks along the ray through the
mask's centroid (a pure rotation of the real camera, so the homography is exact for a
pinhole camera), which removes most of the perspective an off-centre object shows. The
best templates then give poses: rotation from the template, distance from the ratio of the
template's and the mask's sizes, and the centre's direction from the template's offset of
the centre from its box. These poses are coarse (the grid is about 10° apart); the caller
refines them (:mod:`.silhouette`).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from rigidpose.estimate.edges import EdgeConfig, ImageEdges, edge_pixels, orientation_bins
from rigidpose.geometry import Camera, Pose

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class TemplateConfig:
    """Settings of :class:`SilhouetteTemplates`.

    Attributes:
        views: viewing directions (Fibonacci sphere; 600 ≈ 8° apart).
        in_plane: turns about the optical axis per view (36 = 10° apart).
        grid: side of the normalised silhouettes, cells.
        render_px: side of the template renders, pixels.
        distance: render distance, × the object diameter (the perspective of a typical view).
        edge_points: model edge pixels kept per template, for the edge candidates of
            :meth:`SilhouetteTemplates.search`.
    """

    views: int = 600
    in_plane: int = 36
    grid: int = 32
    render_px: int = 128
    distance: float = 4.0
    edge_points: int = 48


def fibonacci_sphere(n: int) -> F64:
    """(n, 3) unit vectors spread evenly over the sphere."""
    i = np.arange(n) + 0.5
    polar = np.arccos(1.0 - 2.0 * i / n)
    azimuth = np.pi * (1.0 + 5.0**0.5) * i
    return np.stack([np.cos(azimuth) * np.sin(polar), np.sin(azimuth) * np.sin(polar), np.cos(polar)], axis=1)


def look_at(direction: F64) -> F64:
    """``R_cam_obj`` of a camera placed along ``direction`` (unit, object frame) looking at the origin."""
    z = -np.asarray(direction, np.float64)
    up = np.array([0.0, 0.0, 1.0]) if abs(z[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    x = np.cross(up, z)
    x /= np.linalg.norm(x)
    return np.stack([x, np.cross(z, x), z], axis=0)


def _rot_z(angle: float) -> F64:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def normalise(mask: NDArray, grid: int) -> tuple[NDArray[np.float32], F64, float] | None:
    """A mask (h, w) resampled into a ``grid``² square at its bounding box (aspect kept).

    Returns the flattened (grid², ) coverage in [0, 1], the box centre (2,) in pixels and the
    box's longer side in pixels; None for a mask of fewer than 5 pixels.
    """
    ys, xs = np.nonzero(mask)
    if len(xs) < 5:
        return None
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    centre = np.array([0.5 * (x0 + x1), 0.5 * (y0 + y1)])
    side = float(max(x1 - x0, y1 - y0))
    a = grid / side
    A = np.array([[a, 0.0, 0.5 * grid - a * centre[0]], [0.0, a, 0.5 * grid - a * centre[1]]])
    out = cv2.warpAffine(np.asarray(mask, np.float32), A, (grid, grid),
                         flags=cv2.INTER_AREA if a < 1 else cv2.INTER_LINEAR)
    return out.ravel(), centre, side


class SilhouetteTemplates:
    """The normalised silhouettes of one object (built once; a few seconds on 2 cores).

    Args:
        caster: the object's :class:`~rigidpose.objects.raycast.MeshRaycaster`.
        centre: (3,) the object-frame point put on the optical axis (the bounding-box centre), metres.
        diameter: the object's diameter, metres.
        edges: how the model's edge pixels are found (its ``crease_deg``), as for the edge score.
    """

    def __init__(self, caster, centre: F64, diameter: float, config: TemplateConfig = TemplateConfig(),
                 edges: EdgeConfig = EdgeConfig()) -> None:
        self.config, self.centre = config, np.asarray(centre, np.float64).reshape(3)
        n = config.render_px
        self.focal = 0.6 * n * config.distance  # the diameter spans 60 % of the render: every part stays inside
        self.z0 = config.distance * float(diameter)
        cam = Camera(np.array([[self.focal, 0.0, 0.5 * n - 0.5], [0.0, self.focal, 0.5 * n - 0.5], [0.0, 0.0, 1.0]]), n, n)
        shapes, rotations, offsets, sides, edge_xy, edge_bins = [], [], [], [], [], []
        rng = np.random.default_rng(0)
        for direction in fibonacci_sphere(config.views):
            R_view = look_at(direction)
            img = caster.render(Pose(R_view, [0.0, 0.0, self.z0] - R_view @ self.centre), cam)
            hit = img.hit.astype(np.float32)
            v, u, theta = edge_pixels(img.hit, img.normals, edges)
            pick = rng.choice(len(u), config.edge_points, replace=len(u) < config.edge_points) if len(u) else None
            for k in range(config.in_plane):
                angle = 2.0 * np.pi * k / config.in_plane
                M = cv2.getRotationMatrix2D((0.5 * n - 0.5, 0.5 * n - 0.5), -np.degrees(angle), 1.0)
                norm = normalise(cv2.warpAffine(hit, M, (n, n), flags=cv2.INTER_LINEAR) > 0.5, config.grid)
                if norm is None or pick is None:
                    continue
                shape, box_centre, side = norm
                shapes.append(np.round(255.0 * shape).astype(np.uint8))
                rotations.append(_rot_z(angle) @ R_view)
                offsets.append((np.array([0.5 * n - 0.5, 0.5 * n - 0.5]) - box_centre) / side)
                sides.append(side)
                # the edge pixels and their orientations turned with the silhouette, in box units
                xy = np.stack([u[pick], v[pick]], 1) @ M[:, :2].T + M[:, 2]
                d = np.stack([np.cos(theta[pick]), np.sin(theta[pick])], 1) @ M[:, :2].T
                edge_xy.append((xy - box_centre) / side)
                edge_bins.append(orientation_bins(d[:, 0], d[:, 1]))
        if not shapes:
            raise ValueError("the mesh is not visible from any template view")
        self.shapes = np.stack(shapes)  # (M, grid²) uint8 coverage × 255
        self.areas = self.shapes.sum(axis=1, dtype=np.float64) / 255.0
        self.rotations, self.offsets, self.sides = np.stack(rotations), np.stack(offsets), np.asarray(sides)
        self.edge_xy = np.stack(edge_xy).astype(np.float32)  # (M, P, 2) from the box centre, × the box side
        self.edge_bins = np.stack(edge_bins).astype(np.uint8)  # (M, P)

    def __len__(self) -> int:
        return len(self.shapes)

    def _query(self, mask: NDArray, camera: Camera):
        """The mask seen from a virtual camera looking along the ray through its centroid:
        (normalised shape, box centre, box side, R_cam_virt, K_virt), or None when too small."""
        ys, xs = np.nonzero(mask)
        if len(xs) < 20:
            return None
        K = camera.K
        ray = np.linalg.solve(K, [xs.mean(), ys.mean(), 1.0])
        ray /= np.linalg.norm(ray)
        x_axis = np.cross([0.0, 1.0, 0.0], ray)
        x_axis /= np.linalg.norm(x_axis)
        R_cam_virt = np.stack([x_axis, np.cross(ray, x_axis), ray], axis=1)
        size = int(3 * max(xs.max() - xs.min(), ys.max() - ys.min()) + 16)
        K_virt = np.array([[K[0, 0], 0.0, 0.5 * size], [0.0, K[1, 1], 0.5 * size], [0.0, 0.0, 1.0]])
        H = K_virt @ R_cam_virt.T @ np.linalg.inv(K)
        warped = cv2.warpPerspective(np.asarray(mask, np.float32), H, (size, size), flags=cv2.INTER_LINEAR) > 0.5
        norm = normalise(warped, self.config.grid)
        if norm is None:
            return None
        shape, centre, side = norm
        return shape, centre, side, R_cam_virt, K_virt

    def _shape_iou(self, shape: NDArray) -> F64:
        inter = np.empty(len(self.shapes))
        for i in range(0, len(self.shapes), 4096):  # float32 in chunks: the bank stays uint8
            inter[i : i + 4096] = self.shapes[i : i + 4096].astype(np.float32) @ shape / 255.0
        return inter / np.maximum(self.areas + shape.sum() - inter, 1e-9)

    def _pose(self, i: int, centre: F64, side: float, R_cam_virt: F64, K_virt: F64, camera: Camera) -> Pose:
        """Template ``i`` placed with its box at ``centre`` (2,), ``side`` pixels of the virtual camera."""
        focal = 0.5 * (camera.K[0, 0] + camera.K[1, 1])
        z = self.z0 * (focal / self.focal) * (self.sides[i] / side)
        pixel = centre + self.offsets[i] * side
        t_virt = z * np.linalg.solve(K_virt, [pixel[0], pixel[1], 1.0])
        R = R_cam_virt @ self.rotations[i]
        return Pose(R, R_cam_virt @ t_virt - R @ self.centre, "cam", "obj")

    def search(self, mask: NDArray, camera: Camera, k: int, edges: ImageEdges | None = None, edge_k: int = 0,
               shortlist: int = 400) -> list[tuple[Pose, float]]:
        """Coarse ``T_cam_obj`` for an (H, W) bool mask of ``camera``'s image: the ``k`` whose
        silhouettes match the mask's shape best (with their normalised-shape IoU, best first),
        then, given the image's ``edges``, the ``edge_k`` of the ``shortlist`` best shapes
        whose edges match the image's best (:meth:`_edge_search`, with their edge score).
        Empty when the mask is too small."""
        q = self._query(mask, camera)
        if q is None:
            return []
        shape, centre, side, R_cam_virt, K_virt = q
        iou = self._shape_iou(shape)
        order = np.argsort(-iou)
        out = [(self._pose(i, centre, side, R_cam_virt, K_virt, camera), float(iou[i])) for i in order[:k]]
        if edges is not None and edge_k > 0:
            out += self._edge_search(order[:shortlist], q, camera, edges, edge_k)
        return out

    def _edge_search(self, idx: NDArray, query, camera: Camera, edges: ImageEdges, k: int,
                     shifts: tuple[float, ...] = (-0.08, 0.0, 0.08), scales: tuple[float, ...] = (0.9, 1.0, 1.1)
                     ) -> list[tuple[Pose, float]]:
        """The ``k`` templates of ``idx`` whose edges best match the image's ``edges``, best first.

        The mask only places the templates (its box's centre and size, each varied by
        ``shifts`` × the side and ``scales``) and shortlists them by shape. A mask that lost a
        flange or took in some background still shortlists the right view, which its outline
        alone ranks below wrong ones; the image's edges (the part's outline, creases and
        hole rims) then pick it.
        """
        _, centre, side, R_cam_virt, K_virt = query
        H_inv = np.linalg.inv(K_virt @ R_cam_virt.T @ np.linalg.inv(camera.K))
        xy, bins = self.edge_xy[idx].astype(np.float64), self.edge_bins[idx]
        best = np.full(len(idx), -1.0)
        place = np.zeros((len(idx), 3))
        for s in scales:
            for dx in shifts:
                for dy in shifts:
                    c = centre + side * np.array([dx, dy])
                    p = c + xy * (side * s)  # (N, P, 2) pixels of the virtual camera
                    ph = p @ H_inv[:, :2].T + H_inv[:, 2]
                    score = edges.at(ph[..., :2] / ph[..., 2:3], bins).mean(axis=1)
                    better = score > best
                    best[better] = score[better]
                    place[better] = [c[0], c[1], side * s]
        return [(self._pose(idx[j], place[j, :2], place[j, 2], R_cam_virt, K_virt, camera), float(best[j]))
                for j in np.argsort(-best)[:k]]
