"""BOP images through OpenCV: RGB (BGR↔RGB converted here), uint16 depth PNGs, masks.

Depth on disk is ``uint16`` with ``value * depth_scale`` = **millimetres**; in memory it
is an HxW ``float32`` array in **metres**, 0 meaning invalid. Writers are atomic.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from rigidpose.bop.jsonio import PathLike, write_bytes_atomic
from rigidpose.bop.units import MM_PER_M
from rigidpose.errors import DataError
from rigidpose.geometry import Camera

_RGB_EXT = (".png", ".jpg", ".jpeg")


def _imread(path: PathLike, flags: int) -> NDArray:
    p = Path(path)
    if not p.is_file():
        raise DataError(f"image not found: {p}")
    img = cv2.imread(str(p), flags)
    if img is None:
        raise DataError(f"cannot decode image (corrupt or unsupported format): {p}")
    return img


def _check_size(img: NDArray, path: PathLike, camera: Camera | None) -> None:
    if camera is not None and img.shape[:2] != (camera.height, camera.width):
        raise DataError(
            f"{path}: image is {img.shape[1]}x{img.shape[0]} but the camera is "
            f"{camera.width}x{camera.height}"
        )


def _imwrite(path: PathLike, img: NDArray, params: list[int] | None = None) -> None:
    def _write(tmp: Path) -> None:
        if not cv2.imwrite(str(tmp), img, params or []):
            raise DataError(f"cannot write image {path}")

    write_bytes_atomic(path, _write)


def read_rgb(path: PathLike, camera: Camera | None = None) -> NDArray[np.uint8]:
    """Read a colour image → HxWx3 ``uint8`` RGB. Grey images are expanded to 3 channels.

    With ``camera``, an image whose size differs from the camera's raises :class:`DataError`.
    """
    img = _imread(path, cv2.IMREAD_UNCHANGED)
    if img.dtype != np.uint8:
        raise DataError(f"{path}: expected an 8-bit colour image, got {img.dtype}")
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    elif img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2RGB)
    else:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    _check_size(img, path, camera)
    return img


def write_rgb(path: PathLike, rgb: NDArray[np.uint8], quality: int = 95) -> None:
    """Write HxWx3 ``uint8`` RGB as ``.png`` or ``.jpg`` (JPEG ``quality`` 0–100), atomically."""
    ext = Path(path).suffix.lower()
    if ext not in _RGB_EXT:
        raise DataError(f"{path}: RGB images must be .png or .jpg, got {ext!r}")
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise DataError(f"{path}: expected an HxWx3 uint8 RGB array, got {rgb.dtype} {rgb.shape}")
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)] if ext in (".jpg", ".jpeg") else []
    _imwrite(path, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), params)


def read_depth(path: PathLike, depth_scale: float, camera: Camera | None = None) -> NDArray[np.float32]:
    """Read a BOP depth PNG → HxW ``float32`` **metres** (``value * depth_scale / 1000``), 0 = invalid."""
    img = _imread(path, cv2.IMREAD_UNCHANGED)
    if img.ndim != 2 or img.dtype not in (np.uint16, np.uint8):
        raise DataError(f"{path}: expected a single-channel 16-bit depth PNG, got {img.dtype} {img.shape}")
    if not (np.isfinite(depth_scale) and depth_scale > 0):
        raise DataError(f"{path}: depth_scale must be positive, got {depth_scale}")
    _check_size(img, path, camera)
    return (img.astype(np.float64) * (depth_scale / MM_PER_M)).astype(np.float32)


def write_depth(path: PathLike, depth_m: NDArray, depth_scale: float) -> None:
    """Write HxW depth in **metres** as a uint16 PNG of ``depth_mm / depth_scale``, atomically.

    Non-finite and zero values are written as 0 (invalid). Negative depths, and depths
    too large for uint16 at this ``depth_scale``, raise :class:`DataError`.
    """
    if Path(path).suffix.lower() != ".png":
        raise DataError(f"{path}: depth images must be .png")
    d = np.asarray(depth_m, dtype=np.float64)
    if d.ndim != 2:
        raise DataError(f"{path}: depth must be an HxW array, got shape {d.shape}")
    if not (np.isfinite(depth_scale) and depth_scale > 0):
        raise DataError(f"{path}: depth_scale must be positive, got {depth_scale}")
    d = np.where(np.isfinite(d), d, 0.0)
    if np.any(d < 0):
        raise DataError(f"{path}: depth has negative values (min {d.min():.4g} m)")
    units = np.round(d * MM_PER_M / depth_scale)
    if units.max(initial=0.0) > np.iinfo(np.uint16).max:
        raise DataError(
            f"{path}: depth {d.max():.3f} m does not fit a uint16 PNG at depth_scale {depth_scale}; "
            "use a larger depth_scale"
        )
    _imwrite(path, units.astype(np.uint16))


def read_mask(path: PathLike, camera: Camera | None = None) -> NDArray[np.bool_]:
    """Read a mask PNG → HxW ``bool`` (any non-zero pixel is True)."""
    img = _imread(path, cv2.IMREAD_GRAYSCALE)
    _check_size(img, path, camera)
    return img > 0


def write_mask(path: PathLike, mask: NDArray) -> None:
    """Write an HxW boolean mask as an 8-bit PNG (0 / 255), atomically."""
    if Path(path).suffix.lower() != ".png":
        raise DataError(f"{path}: masks must be .png")
    m = np.asarray(mask)
    if m.ndim != 2:
        raise DataError(f"{path}: mask must be an HxW array, got shape {m.shape}")
    _imwrite(path, (m.astype(bool) * 255).astype(np.uint8))
