"""Batched rotation helpers in torch (the numpy versions live in ``rigidpose.geometry``)."""

from __future__ import annotations

import torch


def sixd_to_matrix(d6: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """6D representation (..., 6) → rotation matrices (..., 3, 3) by Gram–Schmidt.

    The same convention as ``rigidpose.geometry.sixd_to_matrix``: the 6 numbers are the
    first two columns of ``R``.
    """
    a1, a2 = d6[..., :3], d6[..., 3:]
    b1 = a1 / a1.norm(dim=-1, keepdim=True).clamp_min(eps)
    a2p = a2 - (b1 * a2).sum(-1, keepdim=True) * b1
    b2 = a2p / a2p.norm(dim=-1, keepdim=True).clamp_min(eps)
    b3 = torch.cross(b1, b2, dim=-1)
    return torch.stack([b1, b2, b3], dim=-1)


def matrix_to_6d(R: torch.Tensor) -> torch.Tensor:
    """Rotation matrices (..., 3, 3) → 6D (..., 6): columns 0 and 1 of ``R``."""
    return torch.cat([R[..., :, 0], R[..., :, 1]], dim=-1)


def angle_between(R_a: torch.Tensor, R_b: torch.Tensor) -> torch.Tensor:
    """Angles in radians (...) of ``R_a^T R_b`` for matrices (..., 3, 3)."""
    tr = (R_a * R_b).sum(dim=(-2, -1))
    return torch.acos(((tr - 1.0) / 2.0).clamp(-1.0, 1.0))
