"""A light U-Net/FPN-style decoder from the stride-32 features back to stride 4."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from rigidpose.net.blocks import ConvBNAct, DepthwiseSeparable


class UpsampleDecoder(nn.Module):
    """Upsample the deepest feature map ×2 three times, adding a 1x1 projection of the
    encoder's skip feature at each scale, then refine with a depthwise-separable conv.

    Args:
        in_channels: encoder channels at strides 4, 8, 16, 32 (``MobileNetV2Backbone.channels``).
        out_channels: channels of every decoder level (and of the output).

    ``forward(feats)`` takes the four encoder maps and returns (B, out_channels, H/4, W/4).
    """

    def __init__(self, in_channels: list[int], out_channels: int) -> None:
        super().__init__()
        if len(in_channels) != 4:
            raise ValueError(f"expected 4 encoder levels, got {len(in_channels)}")
        self.out_channels = out_channels
        self.top = ConvBNAct(in_channels[3], out_channels, 1)
        self.lateral = nn.ModuleList(ConvBNAct(c, out_channels, 1, act=False) for c in in_channels[:3])
        self.refine = nn.ModuleList(DepthwiseSeparable(out_channels, out_channels) for _ in range(3))

    def forward(self, feats: list[torch.Tensor]) -> torch.Tensor:
        x = self.top(feats[3])
        for level in (2, 1, 0):
            skip = self.lateral[level](feats[level])
            x = F.interpolate(x, size=skip.shape[-2:], mode="nearest") + skip
            x = self.refine[level](x)
        return x
