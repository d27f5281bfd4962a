"""Output heads of :class:`~rigidpose.net.posenet.PoseNet`.

Every head is class-aware: it predicts one set of outputs per object and
:func:`select_object` picks the rows of each sample's object.

Keypoint offsets are **per keypoint** (2 channels for each of the K keypoints, not one
shared 2-channel map), because two keypoints often fall into the same stride-4 cell
(a thin object seen end-on), and a shared offset could only serve one of them.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from rigidpose.net.blocks import ConvBNAct, DepthwiseSeparable

#: Prior probability of a heatmap peak at initialisation (CenterNet's focal-loss trick).
HEATMAP_PRIOR = 0.01

#: Initial scale-invariant depth (see :mod:`rigidpose.net.pose_coding`): an object
#: whose diameter spans roughly 2/3 of the crop.
DEPTH_PRIOR = 1.5


def conv_head(c_in: int, c_hidden: int, c_out: int, bias: float = 0.0) -> nn.Sequential:
    """Depthwise-separable conv → 1x1 output conv with small weights and a constant ``bias``.

    The output layer is marked ``keep_init`` so that :func:`init_weights` leaves it alone.
    """
    out = nn.Conv2d(c_hidden, c_out, 1)
    nn.init.normal_(out.weight, 0.0, 0.001)
    nn.init.constant_(out.bias, bias)
    out.keep_init = True
    return nn.Sequential(DepthwiseSeparable(c_in, c_hidden), out)


class KeypointHead(nn.Module):
    """Heatmap logits (B, O, K, h, w) and sub-pixel offsets (B, O, K, 2, h, w).

    Offsets are in heatmap cells, ``(dx, dy)``, meant to lie in [-0.5, 0.5] at the peak cell.
    """

    def __init__(self, c_in: int, num_objects: int, num_keypoints: int, c_hidden: int | None = None) -> None:
        super().__init__()
        h = c_hidden or c_in
        self.O, self.K = num_objects, num_keypoints
        prior = -math.log((1 - HEATMAP_PRIOR) / HEATMAP_PRIOR)
        self.heatmap = conv_head(c_in, h, num_objects * num_keypoints, prior)
        self.offset = conv_head(c_in, h, num_objects * num_keypoints * 2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        B, _, H, W = x.shape
        hm = self.heatmap(x).view(B, self.O, self.K, H, W)
        off = self.offset(x).view(B, self.O, self.K, 2, H, W)
        return hm, off


class MaskHead(nn.Module):
    """Visible-mask logits (B, O, h, w)."""

    def __init__(self, c_in: int, num_objects: int, c_hidden: int | None = None) -> None:
        super().__init__()
        self.mask = conv_head(c_in, c_hidden or c_in, num_objects)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mask(x)


class CoordHead(nn.Module):
    """Dense normalised object coordinates (B, O, 3, h, w) (see :mod:`rigidpose.net.coords`)."""

    def __init__(self, c_in: int, num_objects: int, c_hidden: int | None = None) -> None:
        super().__init__()
        self.O = num_objects
        self.coords = conv_head(c_in, c_hidden or c_in, num_objects * 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, _, H, W = x.shape
        return self.coords(x).view(B, self.O, 3, H, W)


def coord_channels(x: torch.Tensor) -> torch.Tensor:
    """(B, 2, h, w) normalised pixel coordinates in [-0.5, 0.5] (x then y), like ``x``'s dtype."""
    B, _, H, W = x.shape
    ys = torch.linspace(-0.5, 0.5, H, device=x.device, dtype=x.dtype)
    xs = torch.linspace(-0.5, 0.5, W, device=x.device, dtype=x.dtype)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([gx, gy]).unsqueeze(0).expand(B, 2, H, W)


class PoseHead(nn.Module):
    """Direct pose: 6D rotation (B, O, 6) and translation code (B, O, 3).

    The stride-4 decoder features, with two coordinate channels appended (so that a
    global pool still knows *where* the object is), go through three stride-2
    depthwise-separable convs and a global average pool into an MLP. The translation
    code is ``(dx, dy, z_n)`` of :mod:`rigidpose.net.pose_coding`. The rotation is
    allocentric by default (see there). Biases start at the identity rotation, a centred
    object and :data:`DEPTH_PRIOR`.
    """

    def __init__(self, c_in: int, num_objects: int, c_hidden: int = 128) -> None:
        super().__init__()
        self.O = num_objects
        c = c_in + 2
        self.convs = nn.Sequential(
            DepthwiseSeparable(c, c_hidden, 2),
            DepthwiseSeparable(c_hidden, c_hidden, 2),
            DepthwiseSeparable(c_hidden, c_hidden, 2),
            ConvBNAct(c_hidden, c_hidden, 1),
        )
        self.mlp = nn.Sequential(nn.Linear(c_hidden, c_hidden), nn.ReLU(inplace=True))
        self.out = nn.Linear(c_hidden, num_objects * 9)
        nn.init.normal_(self.out.weight, 0.0, 0.001)
        self.out.keep_init = True
        bias = torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, DEPTH_PRIOR]).repeat(num_objects)
        with torch.no_grad():
            self.out.bias.copy_(bias)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.cat([x, coord_channels(x)], dim=1)
        f = self.convs(x).mean(dim=(2, 3))
        y = self.out(self.mlp(f)).view(-1, self.O, 9)
        return y[..., :6], y[..., 6:]


def select_object(t: torch.Tensor, obj_index: torch.Tensor | None) -> torch.Tensor:
    """Pick each sample's object along dim 1: (B, O, ...) → (B, ...).

    ``obj_index`` (B,) long indexes the model's object list; ``None`` is allowed only
    when O == 1.
    """
    if obj_index is None:
        if t.shape[1] != 1:
            raise ValueError(f"the model has {t.shape[1]} objects: pass obj_index")
        return t[:, 0]
    idx = obj_index.to(device=t.device, dtype=torch.long)
    if idx.shape != (t.shape[0],):
        raise ValueError(f"obj_index must have shape ({t.shape[0]},), got {tuple(idx.shape)}")
    return t[torch.arange(t.shape[0], device=t.device), idx]
