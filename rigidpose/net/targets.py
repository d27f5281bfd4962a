"""Training targets for the heatmap heads (pure numpy).

Pixel convention (as :class:`~rigidpose.geometry.Camera`): integer coordinates are pixel
centres. Heatmap cell ``j`` at stride ``s`` covers input pixels ``[s·j − 0.5, s·(j+1) − 0.5]``,
so input pixel ``u`` sits at cell coordinate ``x = (u + 0.5)/s − 0.5``. The target cell is
``round(x)`` and the offset target ``x − round(x)`` ∈ [−0.5, 0.5].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

F32 = NDArray[np.float32]


def pixel_to_cell(uv: ArrayLike, stride: int) -> NDArray[np.float64]:
    """Input pixels (..., 2) → continuous heatmap-cell coordinates (..., 2)."""
    return (np.asarray(uv, dtype=np.float64) + 0.5) / stride - 0.5


def cell_to_pixel(xy: ArrayLike, stride: int) -> NDArray[np.float64]:
    """Continuous heatmap-cell coordinates (..., 2) → input pixels (..., 2)."""
    return (np.asarray(xy, dtype=np.float64) + 0.5) * stride - 0.5


def draw_gaussian(heatmap: F32, centre_xy: ArrayLike, sigma: float) -> None:
    """Max-combine ``exp(-d²/2σ²)`` (σ in cells) around the integer cell ``centre_xy`` into ``heatmap`` (h, w).

    The peak (value 1) is exactly at the centre cell; the Gaussian is truncated at 3σ.
    """
    h, w = heatmap.shape
    cx, cy = (int(v) for v in centre_xy)
    r = max(1, int(np.ceil(3 * sigma)))
    x0, x1, y0, y1 = max(0, cx - r), min(w, cx + r + 1), max(0, cy - r), min(h, cy + r + 1)
    if x0 >= x1 or y0 >= y1:
        return
    ys, xs = np.mgrid[y0:y1, x0:x1]
    g = np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2.0 * sigma**2)).astype(np.float32)
    np.maximum(heatmap[y0:y1, x0:x1], g, out=heatmap[y0:y1, x0:x1])


@dataclass(frozen=True, eq=False)
class KeypointTargets:
    """Targets for K keypoints on an (h, w) heatmap grid.

    Attributes:
        heatmap: (K, h, w) float32 Gaussians peaking at 1 on the target cells.
        offset: (K, 2) float32 sub-cell ``(dx, dy)`` at the target cells.
        index: (K,) int64 flat index ``y·w + x`` of the target cells.
        valid: (K,) bool, False for keypoints outside the heatmap (or marked invisible).
    """

    heatmap: F32
    offset: F32
    index: NDArray[np.int64]
    valid: NDArray[np.bool_]


def keypoint_targets(
    uv: ArrayLike, out_hw: tuple[int, int], stride: int = 4, sigma: float = 1.0, visible: ArrayLike | None = None
) -> KeypointTargets:
    """Heatmap and offset targets for keypoints ``uv`` (K, 2) in input (crop) pixels."""
    uv = np.asarray(uv, dtype=np.float64).reshape(-1, 2)
    K = uv.shape[0]
    h, w = out_hw
    xy = pixel_to_cell(uv, stride)
    finite = np.all(np.isfinite(xy), axis=1)
    cell = np.round(np.where(finite[:, None], xy, -1.0)).astype(np.int64)
    valid = finite & (cell[:, 0] >= 0) & (cell[:, 0] < w) & (cell[:, 1] >= 0) & (cell[:, 1] < h)
    if visible is not None:
        valid &= np.asarray(visible, dtype=bool).reshape(K)
    heatmap = np.zeros((K, h, w), np.float32)
    for k in np.flatnonzero(valid):
        draw_gaussian(heatmap[k], cell[k], sigma)
    offset = np.where(valid[:, None], xy - cell, 0.0).astype(np.float32)
    index = np.where(valid, cell[:, 1] * w + cell[:, 0], 0).astype(np.int64)
    return KeypointTargets(heatmap, offset, index, valid)


def gaussian_radius(height: float, width: float, min_overlap: float = 0.7) -> float:
    """CenterNet's Gaussian radius (cells) for a box of ``height`` × ``width`` cells.

    The largest corner shift that keeps IoU ≥ ``min_overlap`` (the three cases of
    CornerNet, with the corrected quadratic solutions).
    """
    h, w = height, width
    b1 = h + w
    c1 = w * h * (1 - min_overlap) / (1 + min_overlap)
    r1 = (b1 - np.sqrt(b1**2 - 4 * c1)) / 2
    b2 = 2 * (h + w)
    c2 = (1 - min_overlap) * w * h
    r2 = (b2 - np.sqrt(b2**2 - 16 * c2)) / 8
    a3 = 4 * min_overlap
    b3 = -2 * min_overlap * (h + w)
    c3 = (min_overlap - 1) * w * h
    r3 = (b3 + np.sqrt(b3**2 - 4 * a3 * c3)) / (2 * a3)
    return float(min(r1, r2, r3))


@dataclass(frozen=True, eq=False)
class DetectionTargets:
    """CenterNet targets for up to M boxes on an (h, w) grid with C classes.

    Attributes:
        heatmap: (C, h, w) float32 centre Gaussians.
        size: (M, 2) float32 box ``(w, h)`` in cells.
        offset: (M, 2) float32 sub-cell offset of the box centre.
        index: (M,) int64 flat index of the centre cells.
        valid: (M,) bool, which of the M slots hold a box.
    """

    heatmap: F32
    size: F32
    offset: F32
    index: NDArray[np.int64]
    valid: NDArray[np.bool_]


def detection_targets(
    boxes_xywh: ArrayLike,
    classes: ArrayLike,
    num_classes: int,
    out_hw: tuple[int, int],
    stride: int = 4,
    max_objects: int = 32,
) -> DetectionTargets:
    """Targets for boxes (N, 4) ``x, y, w, h`` in network-input pixels with class indices (N,)."""
    boxes = np.asarray(boxes_xywh, dtype=np.float64).reshape(-1, 4)
    cls = np.asarray(classes, dtype=np.int64).reshape(-1)
    if cls.shape[0] != boxes.shape[0]:
        raise ValueError(f"{boxes.shape[0]} boxes but {cls.shape[0]} classes")
    if np.any((cls < 0) | (cls >= num_classes)):
        raise ValueError(f"class indices must be in [0, {num_classes})")
    h, w = out_hw
    heatmap = np.zeros((num_classes, h, w), np.float32)
    size = np.zeros((max_objects, 2), np.float32)
    offset = np.zeros((max_objects, 2), np.float32)
    index = np.zeros(max_objects, np.int64)
    valid = np.zeros(max_objects, bool)
    m = 0
    for (x, y, bw, bh), c in zip(boxes, cls):
        if m == max_objects:
            break
        # the box covers pixels x .. x + bw - 1, so its centre pixel is x + (bw - 1)/2
        centre = pixel_to_cell([x + (bw - 1) / 2, y + (bh - 1) / 2], stride)
        cell = np.round(centre).astype(np.int64)
        if bw <= 0 or bh <= 0 or not (0 <= cell[0] < w and 0 <= cell[1] < h):
            continue
        sw, sh = bw / stride, bh / stride
        sigma = (2 * max(0.0, gaussian_radius(sh, sw)) + 1) / 6
        draw_gaussian(heatmap[c], cell, max(sigma, 1.0 / 3.0))
        size[m] = (sw, sh)
        offset[m] = centre - cell
        index[m] = cell[1] * w + cell[0]
        valid[m] = True
        m += 1
    return DetectionTargets(heatmap, size, offset, index, valid)
