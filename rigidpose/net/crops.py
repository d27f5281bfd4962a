"""Square object crops: "dynamic zoom-in" box jitter and warping that keeps the intrinsics right.

Every crop is made with ``cv2.warpAffine(image, camera.crop_affine(bbox, (S, S)))`` and
carries ``camera.cropped(bbox, (S, S))``, so pixels and intrinsics always agree.
Boxes are ``x, y, w, h`` in pixels, ``(x, y)`` the top-left pixel, as in BOP.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import ArrayLike, NDArray

from rigidpose.geometry import Camera

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class ZoomIn:
    """Crop-box parameters (GDR-Net's dynamic zoom-in).

    Attributes:
        pad: side of the square crop over the longer side of the object's box.
        scale_jitter: the side is multiplied by ``U(1 − s, 1 + s)`` when jittering.
        shift_jitter: the centre moves by ``U(−s, s)`` times the box width/height.
    """

    pad: float = 1.5
    scale_jitter: float = 0.25
    shift_jitter: float = 0.25

    def __post_init__(self) -> None:
        if not self.pad > 0 or not 0 <= self.scale_jitter < 1 or self.shift_jitter < 0:
            raise ValueError(f"invalid zoom-in parameters {self}")

    def box(self, bbox: ArrayLike, rng: np.random.Generator | None = None) -> F64:
        """The square crop box (4,) around ``bbox`` (4,); jittered when ``rng`` is given."""
        x, y, w, h = (float(v) for v in np.reshape(bbox, 4))
        if not (w > 0 and h > 0):
            raise ValueError(f"box must have positive size, got w={w}, h={h}")
        # continuous extent of the box is [x − 0.5, x + w − 0.5]: its centre is x + (w − 1)/2
        cx, cy = x + (w - 1) / 2, y + (h - 1) / 2
        side = self.pad * max(w, h)
        if rng is not None:
            cx += w * rng.uniform(-self.shift_jitter, self.shift_jitter)
            cy += h * rng.uniform(-self.shift_jitter, self.shift_jitter)
            side *= rng.uniform(1 - self.scale_jitter, 1 + self.scale_jitter)
        return np.array([cx - (side - 1) / 2, cy - (side - 1) / 2, side, side])


def warp_crop(
    image: NDArray, camera: Camera, box: ArrayLike, size: int, *, nearest: bool = False, border_value: float = 0
) -> tuple[NDArray, Camera, F64]:
    """Crop ``box`` (4,) of ``image`` (H, W[, C]) resized to ``size``².

    Returns the crop (size, size[, C]), its camera and the (2, 3) affine from image to crop pixels.
    ``nearest`` selects nearest-neighbour sampling (for masks and label images).
    """
    camera.check_image(image)
    A = camera.crop_affine(box, (size, size))
    flags = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
    crop = cv2.warpAffine(image, A, (size, size), flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=border_value)
    return crop, camera.cropped(box, (size, size)), A


def downsample_mask(mask: NDArray, factor: int) -> NDArray[np.float32]:
    """A (S, S) {0, 1} mask → (S/f, S/f) float32 coverage fractions in [0, 1] (area averaging)."""
    m = np.asarray(mask, dtype=np.float32)
    h, w = m.shape
    if h % factor or w % factor:
        raise ValueError(f"mask size {w}x{h} is not a multiple of {factor}")
    return m.reshape(h // factor, factor, w // factor, factor).mean(axis=(1, 3))
