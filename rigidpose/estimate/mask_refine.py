"""Sharpen a network's coarse object mask with the image's colours (OpenCV's GrabCut).

The crop network's mask comes from a quarter-resolution map and, on backgrounds unlike
its training images, it leaks into the background or misses faces of the part. GrabCut
fits colour models (Gaussian mixtures) of the object and the background and cuts the
crop along the image's own edges. It is started from the network's mask: pixels well
inside it are certainly the object, the mask itself probably, a band around it probably
background, and the rest of the crop certainly background. On the bracket test set this
raised the mean IoU of the masks with the true visible masks from 0.65 to 0.83, and the
silhouette stage's RGB-only recall from 9 to 47 % (docs/benchmarks.md, session 8).
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

#: A crop whose pixel values vary less than this (standard deviation, 8-bit levels) is left alone.
MIN_CONTRAST = 2.0
#: ``max_side`` of the depth search's re-cut (:mod:`.depth_refine`, step 4). On the bracket test
#: set's 66 targets in their true boxes: mean IoU with the true visible masks 0.772 against
#: 0.791 at full size, 26 ms per cut against 57 (docs/benchmarks.md, session 13).
RECUT_MAX_SIDE = 128
#: ``max_side`` of the RGB-only silhouette stage's cut (:mod:`.estimator`). The detector's boxes
#: give crops 148–307 px wide (10th–90th percentile, bracket benchmark), and GrabCut took 172 ms
#: per crop at full size, 96 ms at 192 px, at the same mean IoU with the true visible masks
#: (0.767). End to end RGB-only: 45.5 → 47.0 % (bracket), 64.2 → 65.7 % (mustard bottle), 58.0
#: → 56.5 % (soup can), for 19, 7 and 13 % less silhouette time (docs/benchmarks.md, session 20).
SHARPEN_MAX_SIDE = 192


def grabcut_mask(rgb: NDArray[np.uint8], mask: NDArray, box, band: float = 0.15, iterations: int = 4,
                 max_side: int | None = None) -> NDArray[np.bool_]:
    """The (H, W) bool ``mask`` re-cut by GrabCut inside ``box``.

    Args:
        rgb: (H, W, 3) uint8 image.
        mask: (H, W) bool, the network's mask.
        box: (4,) x, y, w, h, the crop the network saw (image pixels); nothing outside it changes.
        band: width of the uncertain band around the mask, × the box's longer side (also the
            erosion that gives the certain-object core).
        iterations: GrabCut rounds.
        max_side: a crop whose longer side exceeds this many pixels is cut at that size and
            the result scaled back (GrabCut's time grows with the pixel count); None: full size.

    The input mask comes back unchanged when the box is tiny, the mask nearly empty, the crop
    nearly one colour (nothing for the colour models to separate: GrabCut would keep only
    the certain core), or GrabCut fails.
    """
    H, W = mask.shape
    x, y, w, h = (float(v) for v in np.reshape(box, 4))
    x0, y0 = max(int(np.floor(x)), 0), max(int(np.floor(y)), 0)
    x1, y1 = min(int(np.ceil(x + w)), W), min(int(np.ceil(y + h)), H)
    m = np.asarray(mask, bool)
    if x1 - x0 < 8 or y1 - y0 < 8 or np.count_nonzero(m[y0:y1, x0:x1]) < 20:
        return m
    crop = np.ascontiguousarray(rgb[y0:y1, x0:x1, ::-1])
    if float(crop.std()) < MIN_CONTRAST:
        return m
    inside = m[y0:y1, x0:x1].astype(np.uint8)
    full = inside.shape[::-1]
    scale = 1.0 if max_side is None else min(1.0, max_side / max(full))
    if scale < 1.0:
        small = (max(1, round(full[0] * scale)), max(1, round(full[1] * scale)))
        crop = cv2.resize(crop, small, interpolation=cv2.INTER_AREA)
        inside = cv2.resize(inside, small, interpolation=cv2.INTER_NEAREST)
    r = max(2, int(round(band * max(inside.shape))))
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    labels = np.full(inside.shape, cv2.GC_BGD, np.uint8)
    labels[cv2.dilate(inside, disk) > 0] = cv2.GC_PR_BGD
    labels[inside > 0] = cv2.GC_PR_FGD
    labels[cv2.erode(inside, disk) > 0] = cv2.GC_FGD
    bgd, fgd = np.zeros((1, 65)), np.zeros((1, 65))
    cv2.setRNGSeed(0)  # GrabCut seeds its colour mixtures with k-means on OpenCV's global RNG: same input, same cut
    try:
        cv2.grabCut(crop, labels, None, bgd, fgd, iterations, cv2.GC_INIT_WITH_MASK)
    except cv2.error:
        return m
    cut = ((labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)).astype(np.uint8)
    if scale < 1.0:
        cut = cv2.resize(cut, full, interpolation=cv2.INTER_NEAREST)
    out = m.copy()
    out[y0:y1, x0:x1] = cut > 0
    return out
