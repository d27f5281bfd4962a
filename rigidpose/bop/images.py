"""BOP images through OpenCV: RGB (BGR↔RGB converted here), uint16 depth PNGs, masks.

Depth on disk is ``uint16`` with ``value * depth_scale`` = **millimetres**; in memory it
is an HxW ``float32`` array in **metres**, 0 meaning invalid. Writers are atomic (temp
file + rename) unless called with ``atomic=False``, for callers that already write into a
temporary folder renamed into place as a whole (the synth chunk writer).
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

#: PNG settings for 0/255 masks: no row filter and run-length coding. Lossless like the
#: default (the pixels are the same); about 1.5x faster to encode and smaller for masks.
MASK_PNG_PARAMS = [cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_NONE, cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE]


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


def _encode(path: PathLike, img: NDArray, params: list[int] | None = None, ext: str | None = None) -> bytes:
    """The file bytes of ``img`` in the format ``ext`` (default: ``path``'s suffix)."""
    ok, buf = cv2.imencode(ext or Path(path).suffix.lower(), img, params or [])
    if not ok:
        raise DataError(f"cannot encode image {path}")
    return buf.tobytes()


def write_file_bytes(path: PathLike, data: bytes, atomic: bool = True) -> None:
    """Write encoded file bytes to ``path``: through a temporary file and ``os.replace``, or,
    with ``atomic=False``, straight to ``path`` (its folder must exist)."""
    if not atomic:
        with open(path, "wb") as f:
            f.write(data)
        return

    def _write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            f.write(data)

    write_bytes_atomic(path, _write)


def _imwrite(path: PathLike, img: NDArray, params: list[int] | None = None, atomic: bool = True) -> None:
    write_file_bytes(path, _encode(path, img, params), atomic)


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


def write_rgb(path: PathLike, rgb: NDArray[np.uint8], quality: int = 95, *, atomic: bool = True) -> None:
    """Write HxWx3 ``uint8`` RGB as ``.png`` or ``.jpg`` (JPEG ``quality`` 0–100), atomically
    unless ``atomic=False``."""
    ext = Path(path).suffix.lower()
    if ext not in _RGB_EXT:
        raise DataError(f"{path}: RGB images must be .png or .jpg, got {ext!r}")
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise DataError(f"{path}: expected an HxWx3 uint8 RGB array, got {rgb.dtype} {rgb.shape}")
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)] if ext in (".jpg", ".jpeg") else []
    _imwrite(path, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), params, atomic)


def read_depth(path: PathLike, depth_scale: float, camera: Camera | None = None) -> NDArray[np.float32]:
    """Read a BOP depth PNG → HxW ``float32`` **metres** (``value * depth_scale / 1000``), 0 = invalid."""
    img = read_depth_units(path, camera)
    return units_to_metres(img, depth_scale, path)


def read_depth_units(path: PathLike, camera: Camera | None = None) -> NDArray:
    """Read a BOP depth PNG as stored: HxW uint16 (or uint8) in units of ``depth_scale`` mm.

    For callers that sample a few pixels (nearest) before converting with :func:`units_to_metres`.
    """
    img = _imread(path, cv2.IMREAD_UNCHANGED)
    if img.ndim != 2 or img.dtype not in (np.uint16, np.uint8):
        raise DataError(f"{path}: expected a single-channel 16-bit depth PNG, got {img.dtype} {img.shape}")
    _check_size(img, path, camera)
    return img


def units_to_metres(depth_units: NDArray, depth_scale: float, path: PathLike = "depth") -> NDArray[np.float32]:
    """Depth in BOP units (any shape) → ``float32`` metres (``value * depth_scale / 1000``)."""
    if not (np.isfinite(depth_scale) and depth_scale > 0):
        raise DataError(f"{path}: depth_scale must be positive, got {depth_scale}")
    return (np.asarray(depth_units).astype(np.float64) * (depth_scale / MM_PER_M)).astype(np.float32)


def write_depth(path: PathLike, depth_m: NDArray, depth_scale: float, *, atomic: bool = True) -> None:
    """Write HxW depth in **metres** as a uint16 PNG of ``depth_mm / depth_scale``, atomically
    unless ``atomic=False``.

    Non-finite and zero values are written as 0 (invalid). Negative depths, and depths
    too large for uint16 at this ``depth_scale``, raise :class:`DataError`.
    """
    if Path(path).suffix.lower() != ".png":
        raise DataError(f"{path}: depth images must be .png")
    _imwrite(path, depth_to_units(depth_m, depth_scale, path), atomic=atomic)


def depth_to_units(depth_m: NDArray, depth_scale: float, path: PathLike = "depth") -> NDArray[np.uint16]:
    """HxW depth in **metres** → HxW ``uint16`` of ``round(depth_mm / depth_scale)`` (BOP units).

    Computed in float64 (one copy, worked on in place), as ``round(d * 1000 / depth_scale)``.
    """
    d = np.array(depth_m, dtype=np.float64)
    if d.ndim != 2:
        raise DataError(f"{path}: depth must be an HxW array, got shape {d.shape}")
    if not (np.isfinite(depth_scale) and depth_scale > 0):
        raise DataError(f"{path}: depth_scale must be positive, got {depth_scale}")
    bad = ~np.isfinite(d)
    if bad.any():
        d[bad] = 0.0
    if d.min(initial=0.0) < 0:
        raise DataError(f"{path}: depth has negative values (min {d.min():.4g} m)")
    d_max = d.max(initial=0.0)
    np.multiply(d, MM_PER_M, out=d)
    np.divide(d, depth_scale, out=d)
    np.round(d, out=d)
    if d.max(initial=0.0) > np.iinfo(np.uint16).max:
        raise DataError(
            f"{path}: depth {d_max:.3f} m does not fit a uint16 PNG at depth_scale {depth_scale}; "
            "use a larger depth_scale"
        )
    return d.astype(np.uint16)


def read_mask(path: PathLike, camera: Camera | None = None) -> NDArray[np.bool_]:
    """Read a mask PNG → HxW ``bool`` (any non-zero pixel is True)."""
    img = _imread(path, cv2.IMREAD_GRAYSCALE)
    _check_size(img, path, camera)
    return img > 0


def write_mask(path: PathLike, mask: NDArray, *, atomic: bool = True) -> None:
    """Write an HxW boolean mask as an 8-bit PNG (0 / 255), atomically unless ``atomic=False``."""
    if Path(path).suffix.lower() != ".png":
        raise DataError(f"{path}: masks must be .png")
    write_file_bytes(path, encode_mask(mask, path), atomic)


def encode_mask(mask: NDArray, path: PathLike = "mask") -> bytes:
    """The PNG file bytes of an HxW boolean mask (8-bit, 0 / 255), as :func:`write_mask` writes."""
    m = np.asarray(mask)
    if m.ndim != 2:
        raise DataError(f"{path}: mask must be an HxW array, got shape {m.shape}")
    m8 = m.view(np.uint8) if m.dtype == np.bool_ else (m != 0).view(np.uint8)
    return _encode(path, m8 * np.uint8(255), MASK_PNG_PARAMS, ext=".png")
