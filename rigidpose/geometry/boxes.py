"""Axis-aligned image boxes ``x, y, w, h`` in pixels."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray


def box_iou(a: ArrayLike, b: ArrayLike) -> NDArray[np.float64]:
    """IoU (N, M) of boxes ``a`` (N, 4) and ``b`` (M, 4) in ``x, y, w, h``; 0 where both are empty."""
    a, b = np.asarray(a, float).reshape(-1, 4), np.asarray(b, float).reshape(-1, 4)
    x0 = np.maximum(a[:, None, 0], b[None, :, 0])
    y0 = np.maximum(a[:, None, 1], b[None, :, 1])
    x1 = np.minimum(a[:, None, 0] + a[:, None, 2], b[None, :, 0] + b[None, :, 2])
    y1 = np.minimum(a[:, None, 1] + a[:, None, 3], b[None, :, 1] + b[None, :, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    union = a[:, None, 2] * a[:, None, 3] + b[None, :, 2] * b[None, :, 3] - inter
    return inter / np.maximum(union, 1e-12)
