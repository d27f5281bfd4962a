"""Pixel outlines of bool masks: which pixels form them, and their order along each outline."""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

#: Index gap between two outlines in :func:`outline_order`: no lag of a correlation along
#: the outline runs from one outline into the next.
OUTLINE_GAP = 1000


def boundary(mask: NDArray) -> NDArray[np.bool_]:
    """The pixels of a bool mask (h, w) that touch its outside (8-neighbourhood; outside the image counts)."""
    m = np.asarray(mask, bool)
    if m.size == 0:  # cv2.erode rejects an empty image (a silhouette outside the image has an empty ROI)
        return m
    return m & ~cv2.erode(m.astype(np.uint8), np.ones((3, 3), np.uint8), borderType=cv2.BORDER_CONSTANT, borderValue=0).astype(bool)


def outline_order(hit: NDArray) -> NDArray[np.int64]:
    """(h, w) each outline pixel's index along the outlines of ``hit`` (h, w bool), -1 elsewhere.

    Outlines are followed by ``cv2.findContours``; each starts :data:`OUTLINE_GAP` indices after
    the one before, so no lag runs from one outline into the next."""
    order = np.full(hit.shape, -1, np.int64)
    if not hit.any():
        return order
    contours, _ = cv2.findContours(hit.astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    start = 0
    for c in contours:
        xy = c.reshape(-1, 2)
        order[xy[:, 1], xy[:, 0]] = start + np.arange(len(xy))
        start += len(xy) + OUTLINE_GAP
    return order
