"""From keypoint heatmaps and offsets to sub-pixel keypoints, in crop and image pixels."""

from __future__ import annotations

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray


def gather_cells(t: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Values of ``t`` (B, N, *C, h, w) at flat cells ``index`` (B, N) → (B, N, *C)."""
    B, N = index.shape
    flat = t.reshape(B, N, -1, t.shape[-2] * t.shape[-1])
    idx = index.reshape(B, N, 1, 1).expand(B, N, flat.shape[2], 1)
    return flat.gather(-1, idx).reshape(t.shape[:-2])


def gather_shared(t: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Values of a map shared by all N entries, ``t`` (B, C, h, w), at flat cells ``index`` (B, N) → (B, N, C)."""
    B, C = t.shape[:2]
    flat = t.reshape(B, C, -1)
    return flat.gather(-1, index.unsqueeze(1).expand(B, C, index.shape[1])).transpose(1, 2)


def decode_keypoints(
    heatmaps: torch.Tensor, offsets: torch.Tensor, stride: int = 4, logits: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """Heatmap argmax + offset → keypoints.

    Args:
        heatmaps: (B, K, h, w) logits (or probabilities with ``logits=False``).
        offsets: (B, K, 2, h, w) sub-cell ``(dx, dy)``.
        stride: input pixels per heatmap cell.

    Returns:
        uv: (B, K, 2) keypoints in crop (network-input) pixels, pixel-centre convention.
        confidence: (B, K) peak probability in [0, 1].
    """
    B, K, h, w = heatmaps.shape
    score, index = heatmaps.reshape(B, K, h * w).max(dim=-1)
    off = gather_cells(offsets, index)  # (B, K, 2)
    xy = torch.stack([index % w, torch.div(index, w, rounding_mode="floor")], dim=-1).to(off.dtype) + off
    uv = (xy + 0.5) * stride - 0.5
    return uv, torch.sigmoid(score) if logits else score


def crop_to_image(uv_crop: ArrayLike, crop_affine: ArrayLike) -> NDArray[np.float64]:
    """Crop pixels (..., 2) → image pixels (..., 2), inverting ``Camera.crop_affine`` (2, 3)."""
    A = np.vstack([np.asarray(crop_affine, dtype=np.float64).reshape(2, 3), [0.0, 0.0, 1.0]])
    uv = np.asarray(uv_crop, dtype=np.float64)
    A_inv = np.linalg.inv(A)
    return uv @ A_inv[:2, :2].T + A_inv[:2, 2]


def image_to_crop(uv_image: ArrayLike, crop_affine: ArrayLike) -> NDArray[np.float64]:
    """Image pixels (..., 2) → crop pixels (..., 2) with ``Camera.crop_affine`` (2, 3)."""
    A = np.asarray(crop_affine, dtype=np.float64).reshape(2, 3)
    return np.asarray(uv_image, dtype=np.float64) @ A[:, :2].T + A[:, 2]
