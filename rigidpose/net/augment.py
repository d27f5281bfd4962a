"""Image augmentation for training crops (numpy + cv2), driven by a ``numpy.random.Generator``.

Operations, each applied with its own probability: background swap outside the visible
mask, colour jitter (brightness, contrast, saturation, hue), Gaussian blur, Gaussian
noise and random erasing (occluding rectangles). Inputs and outputs are HxWx3 uint8 RGB.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

U8 = NDArray[np.uint8]


@dataclass(frozen=True)
class AugmentConfig:
    """Probabilities and strengths of the augmentations (``p_*`` in [0, 1]).

    ``p_background`` (the background swap) is PoseNet's; the detector has its own
    (``TrainConfig.detector_background_swap``, 0 by default): on whole images the swap also
    removes distractors and occluders, and detectors trained without it boxed more of the
    bracket benchmark's test objects, while PoseNet's masks were worse without it
    (docs/benchmarks.md, session 9).
    """

    p_background: float = 0.5
    p_colour: float = 0.8
    brightness: float = 0.3
    contrast: float = 0.3
    saturation: float = 0.3
    hue_deg: float = 10.0
    p_blur: float = 0.3
    blur_sigma: tuple[float, float] = (0.3, 1.5)
    p_noise: float = 0.3
    noise_std: tuple[float, float] = (2.0, 10.0)
    p_erase: float = 0.5
    erase_area: tuple[float, float] = (0.02, 0.2)
    max_erase: int = 2

    @classmethod
    def none(cls) -> AugmentConfig:
        return cls(p_background=0.0, p_colour=0.0, p_blur=0.0, p_noise=0.0, p_erase=0.0)


def random_background(shape: tuple[int, int], rng: np.random.Generator) -> U8:
    """A procedural background (H, W, 3): a colour gradient plus blurred noise blobs."""
    h, w = shape
    c0, c1 = rng.uniform(0, 255, (2, 3))
    t = np.linspace(0.0, 1.0, w)[None, :, None] if rng.random() < 0.5 else np.linspace(0.0, 1.0, h)[:, None, None]
    img = c0 + (c1 - c0) * t + np.zeros((h, w, 3))
    blobs = cv2.GaussianBlur(rng.normal(0, 60, (h, w, 3)), (0, 0), rng.uniform(1.0, max(2.0, w / 10)))
    return np.clip(img + blobs * 3, 0, 255).astype(np.uint8)


def swap_background(image: U8, mask: NDArray, background: U8) -> U8:
    """Pixels outside ``mask`` (H, W) bool taken from ``background`` (H, W, 3)."""
    return np.where(np.asarray(mask, bool)[..., None], image, background).astype(np.uint8)


def colour_jitter(image: U8, cfg: AugmentConfig, rng: np.random.Generator) -> U8:
    img = image.astype(np.float32)
    img *= rng.uniform(1 - cfg.brightness, 1 + cfg.brightness)
    mean = img.mean()
    img = (img - mean) * rng.uniform(1 - cfg.contrast, 1 + cfg.contrast) + mean
    grey = img.mean(axis=2, keepdims=True)
    img = (img - grey) * rng.uniform(1 - cfg.saturation, 1 + cfg.saturation) + grey
    img = np.clip(img, 0, 255).astype(np.uint8)
    if cfg.hue_deg > 0:
        hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)  # OpenCV hue is in [0, 180)
        shift = int(round(rng.uniform(-cfg.hue_deg, cfg.hue_deg) / 2))
        hsv[..., 0] = ((hsv[..., 0].astype(np.int16) + shift) % 180).astype(np.uint8)
        img = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    return img


def random_erase(image: U8, cfg: AugmentConfig, rng: np.random.Generator) -> U8:
    """Fill 1..max_erase random rectangles with random noise (synthetic occluders)."""
    img = image.copy()
    h, w = img.shape[:2]
    for _ in range(int(rng.integers(1, cfg.max_erase + 1))):
        area = rng.uniform(*cfg.erase_area) * h * w
        aspect = np.exp(rng.uniform(np.log(0.3), np.log(3.3)))
        eh, ew = min(h, int(np.sqrt(area * aspect))), min(w, int(np.sqrt(area / aspect)))
        if eh < 1 or ew < 1:
            continue
        y, x = int(rng.integers(0, h - eh + 1)), int(rng.integers(0, w - ew + 1))
        img[y : y + eh, x : x + ew] = rng.integers(0, 256, (eh, ew, 3), dtype=np.uint8)
    return img


def augment(
    image: U8,
    mask: NDArray | None,
    cfg: AugmentConfig,
    rng: np.random.Generator,
    backgrounds: Sequence[U8] = (),
) -> U8:
    """Apply the configured augmentations to a crop ``image`` (H, W, 3) uint8 RGB.

    ``mask`` (H, W) is the object's visible mask, used for the background swap (skipped
    when ``None``). ``backgrounds`` are images to draw from (any size, resized); when
    empty, :func:`random_background` is used.
    """
    img = np.ascontiguousarray(image)
    h, w = img.shape[:2]
    if mask is not None and rng.random() < cfg.p_background:
        if backgrounds:
            bg = cv2.resize(backgrounds[int(rng.integers(len(backgrounds)))], (w, h), interpolation=cv2.INTER_AREA)
        else:
            bg = random_background((h, w), rng)
        img = swap_background(img, mask, bg)
    if rng.random() < cfg.p_colour:
        img = colour_jitter(img, cfg, rng)
    if rng.random() < cfg.p_blur:
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(*cfg.blur_sigma))
    if rng.random() < cfg.p_noise:
        img = np.clip(img + rng.normal(0, rng.uniform(*cfg.noise_std), img.shape), 0, 255).astype(np.uint8)
    if rng.random() < cfg.p_erase:
        img = random_erase(img, cfg, rng)
    return img
