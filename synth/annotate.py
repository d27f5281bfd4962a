"""BOP annotations of one rendered image: full and visible masks and ``GtInfo``.

Visibility follows BOP's ``bop19`` mode used for the PBR datasets: a pixel of an
object's silhouette is visible when the object's own distance (rendered alone) is at
most ``delta`` (5 mm) behind the scene's distance there. Distances are along the
viewing ray, as in ``bop_toolkit`` (``depth_im_to_dist_im``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from rigidpose.bop.scene import GtInfo
from rigidpose.geometry import Camera

#: BOP PBR visibility tolerance, metres.
VISIB_DELTA = 0.005


@dataclass(frozen=True, eq=False)
class InstanceAnnotation:
    """``mask`` (H, W) bool full silhouette, ``mask_visib`` (H, W) bool, and ``info``."""

    mask: NDArray[np.bool_]
    mask_visib: NDArray[np.bool_]
    info: GtInfo


def ray_norms(camera: Camera) -> NDArray[np.float32]:
    """(H, W) length of the ray with unit ``z`` through each pixel: distance = depth × this."""
    v, u = np.mgrid[0 : camera.height, 0 : camera.width]
    rays = camera.rays(np.stack([u.ravel(), v.ravel()], 1).astype(np.float64))
    return np.linalg.norm(rays, axis=1).reshape(camera.height, camera.width).astype(np.float32)


def bbox_xywh(mask: NDArray[np.bool_]) -> NDArray[np.float64]:
    """(4,) ``x, y, w, h`` of the True pixels (inclusive, as bop_toolkit); -1s when empty."""
    ys = np.flatnonzero(mask.any(axis=1))
    xs = np.flatnonzero(mask.any(axis=0))
    if len(xs) == 0:
        return np.full(4, -1.0)
    return np.array([xs[0], ys[0], xs[-1] - xs[0] + 1, ys[-1] - ys[0] + 1], dtype=np.float64)


def annotate_instance(
    obj_depth: NDArray[np.float32],
    scene_depth: NDArray[np.float32],
    norms: NDArray[np.float32],
    delta: float = VISIB_DELTA,
    box: tuple[int, int, int, int] | None = None,
) -> InstanceAnnotation:
    """Masks and BOP statistics of one instance.

    Args:
        obj_depth: (H, W) metres, the instance rendered alone (0 = not covered).
        scene_depth: (H, W) metres, the full scene as written to ``depth/`` (0 = invalid).
        norms: (H, W) from :func:`ray_norms`.
        delta: visibility tolerance in metres.
        box: optional ``(x0, y0, x1, y1)`` pixel box (exclusive ends) outside which
            ``obj_depth`` is known to be 0; the work is then done on that crop only.
    """
    h, w = obj_depth.shape
    x0, y0, x1, y1 = (0, 0, w, h) if box is None else box
    win = np.s_[y0:y1, x0:x1]
    od, sd = obj_depth[win], scene_depth[win]
    m = od > 0
    valid = sd > 0
    v = m & (((od - sd) * norms[win] <= delta) | ~valid)
    mask, visib = np.zeros((h, w), bool), np.zeros((h, w), bool)
    mask[win], visib[win] = m, v
    n_all, n_visib = int(m.sum()), int(v.sum())
    info = GtInfo(
        bbox_obj=_offset(bbox_xywh(m), x0, y0),
        bbox_visib=_offset(bbox_xywh(v), x0, y0),
        px_count_all=n_all,
        px_count_valid=int((m & valid).sum()),
        px_count_visib=n_visib,
        visib_fract=n_visib / n_all if n_all > 0 else 0.0,
    )
    return InstanceAnnotation(mask, visib, info)


def _offset(b: NDArray[np.float64], x0: int, y0: int) -> NDArray[np.float64]:
    return b if b[0] < 0 else b + np.array([x0, y0, 0.0, 0.0])
