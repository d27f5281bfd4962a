"""Domain randomisation: lights, albedo, backgrounds and sensor effects.

Every function takes a ``numpy.random.Generator``; nothing seeds globally.
Images are HxWx3 uint8 RGB.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from rigidpose.errors import RigidposeError
from synth.config import BackgroundConfig, LightConfig, MaterialConfig, SensorConfig
from synth.render.types import Light

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp")


def uniform_in(rng: np.random.Generator, r: tuple[float, float]) -> float:
    return float(rng.uniform(r[0], r[1]))


def int_in(rng: np.random.Generator, r: tuple[float, float]) -> int:
    return int(rng.integers(int(r[0]), int(r[1]) + 1))


def sample_lights(rng: np.random.Generator, cfg: LightConfig) -> tuple[tuple[Light, ...], float]:
    """1–4 directional lights from the camera's hemisphere, and an ambient level."""
    lights = []
    for _ in range(int_in(rng, cfg.count)):
        d = rng.normal(size=3)
        d[2] = abs(d[2]) + 0.3  # light travels away from the camera, into the scene
        color = np.clip(1.0 - cfg.color_jitter * rng.random(3), 0.0, 1.0)
        lights.append(Light(tuple(d / np.linalg.norm(d)), tuple(color), uniform_in(rng, cfg.intensity)))
    return tuple(lights), uniform_in(rng, cfg.ambient)


def sample_albedo(rng: np.random.Generator, cfg: MaterialConfig, textured: bool) -> NDArray[np.float64]:
    """(3,) albedo: random colour for untextured meshes, a colour jitter around 1 otherwise."""
    if textured:
        return np.clip(1.0 + cfg.textured_jitter * rng.uniform(-1, 1, 3), 0.0, 1.5)
    return rng.uniform(cfg.albedo[0], cfg.albedo[1], 3)


# --- backgrounds ---------------------------------------------------------------------------
def _noise(rng: np.random.Generator, w: int, h: int) -> NDArray[np.float32]:
    out = np.zeros((h, w, 3), np.float32)
    amp = 1.0
    for cells in (4, 16, 64):
        grid = rng.random((max(2, cells * h // w), cells, 3), dtype=np.float32)
        out += amp * cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
        amp *= 0.5
    out /= 1.75
    c0, c1 = rng.random(3, dtype=np.float32), rng.random(3, dtype=np.float32)
    return c0 + (c1 - c0) * out


def _gradient(rng: np.random.Generator, w: int, h: int) -> NDArray[np.float32]:
    a = rng.uniform(0, 2 * np.pi)
    x = np.linspace(-0.5, 0.5, w, dtype=np.float32)[None]
    y = np.linspace(-0.5, 0.5, h, dtype=np.float32)[:, None]
    s = (np.cos(a) * x + np.sin(a) * y) + 0.5
    c0, c1 = rng.random(3, dtype=np.float32), rng.random(3, dtype=np.float32)
    return c0 + (c1 - c0) * np.clip(s, 0, 1)[..., None]


def _tiles(rng: np.random.Generator, w: int, h: int) -> NDArray[np.float32]:
    n = int(rng.integers(4, 24))
    small = rng.random((n * h // w + 1, n, 3), dtype=np.float32)
    small = 0.5 * small + 0.5 * rng.random(3, dtype=np.float32)
    img = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
    ang, scale = rng.uniform(-30, 30), rng.uniform(1.0, 1.6)
    M = cv2.getRotationMatrix2D((w / 2, h / 2), ang, scale)
    return cv2.warpAffine(img, M, (w, h), borderMode=cv2.BORDER_REFLECT)


def _dead_leaves(rng: np.random.Generator, w: int, h: int) -> NDArray[np.uint8]:
    """(h, w, 3) uint8 "dead leaves": 150–300 opaque shapes of random colour drawn over each other.

    Ellipses, rotated rectangles, polygons and thin bars with sizes drawn from a power law
    (density ∝ r⁻², 2–35 % of the long side), the largest first, so the image is covered with
    sharp occluding edges at every scale, as natural and man-made scenes are and the smooth
    kinds are not (the dead-leaves model: Lee, Mumford and Huang 2001; Baradad et al. 2021).
    Colours are mostly muted (a grey level plus a little chroma), a fifth of them saturated.
    """
    side = float(max(w, h))
    n = int(rng.integers(150, 301))
    lo, hi = 1.0 / (0.02 * side), 1.0 / (0.35 * side)
    radii = np.sort(1.0 / (lo - rng.random(n) * (lo - hi)))[::-1]  # inverse CDF of p(r) ∝ r^-2
    grey = rng.uniform(0, 255, (n + 1, 1))
    chroma = rng.normal(0.0, 25.0, (n + 1, 3)) * np.where(rng.random((n + 1, 1)) < 0.2, 4.0, 1.0)
    colours = np.clip(grey + chroma, 0, 255).astype(int)
    img = np.empty((h, w, 3), np.uint8)
    img[:] = colours[n]
    for r, colour in zip(radii, colours[:n].tolist()):
        cx, cy, angle = rng.uniform(-r, w + r), rng.uniform(-r, h + r), rng.uniform(0.0, 180.0)
        kind = rng.integers(4)
        if kind == 0:
            axes = (max(1, int(r)), max(1, int(r * rng.uniform(0.3, 1.0))))
            cv2.ellipse(img, (int(cx), int(cy)), axes, angle, 0, 360, colour, -1, cv2.LINE_AA)
            continue
        if kind == 1:  # rectangle
            pts = cv2.boxPoints(((cx, cy), (2 * r, 2 * r * rng.uniform(0.3, 1.0)), angle))
        elif kind == 2:  # thin bar
            pts = cv2.boxPoints(((cx, cy), (3 * r, max(2.0, r * rng.uniform(0.05, 0.2))), angle))
        else:  # convex polygon
            a = np.sort(rng.uniform(0, 2 * np.pi, int(rng.integers(3, 7))))
            pts = np.stack([cx + r * np.cos(a), cy + r * np.sin(a)], 1)
        cv2.fillPoly(img, [np.round(pts).astype(np.int32)], colour, cv2.LINE_AA)
    return img


#: Smooth or blocky kinds, made at a quarter of the resolution and scaled up.
_PROCEDURAL = {"noise": _noise, "gradient": _gradient, "tiles": _tiles}
#: Kinds drawn at full resolution (their edges are the point).
_FULL_RES = {"leaves": _dead_leaves}


def list_background_images(folder: str | None) -> list[Path]:
    """Sorted image files of ``folder``; an error if it is given and holds none."""
    if folder is None:
        return []
    d = Path(folder)
    if not d.is_dir():
        raise RigidposeError(f"background folder not found: {d}")
    files = sorted(p for p in d.rglob("*") if p.suffix.lower() in IMAGE_EXTS)
    if not files:
        raise RigidposeError(f"background folder {d} holds no {'/'.join(IMAGE_EXTS)} images")
    return files


def _image_background(rng: np.random.Generator, path: Path, w: int, h: int) -> NDArray[np.uint8] | None:
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        return None
    ih, iw = img.shape[:2]
    s = max(w / iw, h / ih) * rng.uniform(1.0, 1.5)
    img = cv2.resize(img, (max(w, round(iw * s)), max(h, round(ih * s))), interpolation=cv2.INTER_AREA)
    y = int(rng.integers(0, img.shape[0] - h + 1))
    x = int(rng.integers(0, img.shape[1] - w + 1))
    return cv2.cvtColor(np.ascontiguousarray(img[y : y + h, x : x + w]), cv2.COLOR_BGR2RGB)


def sample_background(
    rng: np.random.Generator, cfg: BackgroundConfig, w: int, h: int, images: list[Path] = ()
) -> NDArray[np.uint8]:
    """(h, w, 3) uint8: a user image (probability ``image_prob``) or a procedural one, grey
    with probability ``grey_prob``.

    The smooth and blocky procedural kinds are made at a quarter of the resolution and
    scaled up, which keeps them well under a millisecond; "leaves" is drawn at full
    resolution (:func:`_dead_leaves`).
    """
    if images and rng.random() < cfg.image_prob:
        img = _image_background(rng, images[int(rng.integers(len(images)))], w, h)
        if img is not None:
            return img
    kind = cfg.kinds[int(rng.integers(len(cfg.kinds)))]
    if kind in _FULL_RES:
        img = _FULL_RES[kind](rng, w, h)
    else:
        sw, sh = max(8, w // 4), max(8, h // 4)
        small = (np.clip(_PROCEDURAL[kind](rng, sw, sh), 0, 1) * 255).astype(np.uint8)
        interp = cv2.INTER_NEAREST if kind == "tiles" else cv2.INTER_LINEAR
        img = cv2.resize(small, (w, h), interpolation=interp)
    # drawn only when asked for, so that grey_prob 0 renders what earlier versions rendered
    if cfg.grey_prob > 0 and rng.random() < cfg.grey_prob:
        img = cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    return img


# --- sensor -----------------------------------------------------------------------------------
#: The noise bank's fixed seed: the bank is the same in every process, so images do not
#: depend on the worker count; each image picks its own window and flips of it.
NOISE_BANK_SEED = 20240611
_NOISE_SCALE = 32.0  # bank = 128 + 32 * N(0, 1), clipped to uint8


class NoiseBank:
    """A (2H, 2W, 3) uint8 field of Gaussian noise; a random window of it is added to an
    image with one saturating ``cv2.addWeighted`` (0.2 ms instead of 12 ms for fresh noise)."""

    def __init__(self, w: int, h: int) -> None:
        g = np.random.default_rng(NOISE_BANK_SEED).standard_normal((2 * h, 2 * w, 3), dtype=np.float32)
        self.bank = np.clip(128.0 + _NOISE_SCALE * g, 0, 255).astype(np.uint8)
        self.w, self.h = w, h

    def window(self, rng: np.random.Generator) -> NDArray[np.uint8]:
        y, x = int(rng.integers(0, self.h + 1)), int(rng.integers(0, self.w + 1))
        win = self.bank[y : y + self.h, x : x + self.w]
        return win[::-1] if rng.random() < 0.5 else win


def apply_sensor(rng: np.random.Generator, rgb: NDArray[np.uint8], cfg: SensorConfig,
                 bank: NoiseBank | None = None) -> NDArray[np.uint8]:
    """Exposure gain, optional Gaussian blur and Gaussian noise (std in grey levels), on RGB only."""
    gain = uniform_in(rng, cfg.exposure)
    blur = rng.random() < cfg.blur_prob
    sigma = uniform_in(rng, cfg.blur_sigma)
    std = uniform_in(rng, cfg.noise_std)
    out = cv2.convertScaleAbs(rgb, alpha=gain) if gain != 1.0 else rgb
    if blur and sigma > 0:
        out = cv2.GaussianBlur(out, (0, 0), sigma)
    if std > 0:
        h, w = out.shape[:2]
        if bank is None or (bank.w, bank.h) != (w, h):
            bank = NoiseBank(w, h)
        a = std / _NOISE_SCALE
        out = cv2.addWeighted(out, 1.0, np.ascontiguousarray(bank.window(rng)), a, -128.0 * a)
    return out
