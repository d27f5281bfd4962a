"""Overlay images: each estimate drawn as the model contour, its axes, its 3D box and its score.

Drawing is in image pixels on an HxWx3 uint8 RGB copy; the input is never modified.
Contours come from the model's silhouette ray-cast at the estimated pose, so they are
exact for any mesh (holes and concavities included).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import cv2
import numpy as np
from numpy.typing import NDArray

from rigidpose.geometry import Camera, PoseEstimate
from rigidpose.objects.raycast import MeshRaycaster

#: Distinct RGB colours for object instances.
PALETTE = [(230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48),
           (145, 30, 180), (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212)]

_BOX_EDGES = [(0, 1), (1, 3), (3, 2), (2, 0), (4, 5), (5, 7), (7, 6), (6, 4), (0, 4), (1, 5), (2, 6), (3, 7)]


def box_corners(bbox_min: NDArray[np.float64], extents: NDArray[np.float64]) -> NDArray[np.float64]:
    """(8, 3) corners of the axis-aligned box; corner i has bit k set for the max along axis k."""
    idx = np.array([[(i >> k) & 1 for k in range(3)] for i in range(8)], dtype=np.float64)
    return np.asarray(bbox_min) + idx * np.asarray(extents)


class OverlayDrawer:
    """Draws estimates of known objects. Keeps one ray-caster per object.

    Args:
        models: obj_id → an object model with ``mesh`` (metres), ``bbox_min``, ``extents``,
            ``diameter`` and ``name`` (:class:`~rigidpose.objects.ObjectModel`).
    """

    def __init__(self, models: Mapping[int, object]) -> None:
        self._models = dict(models)
        self._casters: dict[int, MeshRaycaster] = {}

    def _caster(self, obj_id: int) -> MeshRaycaster:
        if obj_id not in self._casters:
            mesh = self._models[obj_id].mesh
            self._casters[obj_id] = MeshRaycaster(mesh.vertices, mesh.faces)
        return self._casters[obj_id]

    def draw(self, rgb: NDArray[np.uint8], camera: Camera, estimates: Sequence[PoseEstimate]) -> NDArray[np.uint8]:
        """A copy of ``rgb`` (H, W, 3) with every estimate drawn on it."""
        out = np.ascontiguousarray(rgb, dtype=np.uint8).copy()
        thick = max(1, round(min(camera.width, camera.height) / 320))
        for k, est in enumerate(estimates):
            model = self._models.get(est.obj_id)
            colour = PALETTE[k % len(PALETTE)]
            if model is None:
                continue
            self._draw_contour(out, camera, est, colour, thick)
            self._draw_box(out, camera, est, model, colour, thick)
            self._draw_axes(out, camera, est, model, thick)
            self._draw_label(out, camera, est, model, colour)
        return out

    def _draw_contour(self, out, camera, est, colour, thick) -> None:
        img = self._caster(est.obj_id).render(est.pose, camera)
        if img.depth.size == 0:
            return
        x, y, _, _ = img.roi
        mask = img.hit.astype(np.uint8)
        contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE, offset=(x, y))
        cv2.drawContours(out, contours, -1, colour, thick, cv2.LINE_AA)

    @staticmethod
    def _lines(out, uv, edges, colour, thick) -> None:
        for a, b in edges:
            if np.all(np.isfinite(uv[[a, b]])):
                p, q = (tuple(int(round(c)) for c in uv[i]) for i in (a, b))
                cv2.line(out, p, q, colour, thick, cv2.LINE_AA)

    def _draw_box(self, out, camera, est, model, colour, thick) -> None:
        corners = box_corners(model.bbox_min, model.extents)
        self._lines(out, camera.project(est.pose.transform(corners)), _BOX_EDGES, colour, max(1, thick // 2))

    def _draw_axes(self, out, camera, est, model, thick) -> None:
        length = 0.3 * model.diameter
        pts = np.vstack([np.zeros(3), np.eye(3) * length])
        uv = camera.project(est.pose.transform(pts))
        for axis, colour in enumerate([(255, 0, 0), (0, 255, 0), (0, 0, 255)]):  # x red, y green, z blue
            self._lines(out, uv, [(0, axis + 1)], colour, thick + 1)

    @staticmethod
    def _draw_label(out, camera, est, model, colour) -> None:
        uv = camera.project(est.pose.t[None])[0]
        if est.bbox is not None:
            uv = est.bbox[:2]
        if not np.all(np.isfinite(uv)):
            return
        name = est.name or getattr(model, "name", "") or f"obj {est.obj_id}"
        text = f"{name} {est.score:.2f}"
        org = (int(np.clip(uv[0], 0, camera.width - 1)), int(np.clip(uv[1] - 4, 12, camera.height - 1)))
        cv2.putText(out, text, org, cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(out, text, org, cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, 1, cv2.LINE_AA)
