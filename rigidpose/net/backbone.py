"""A MobileNetV2 encoder with a width multiplier, returning multi-scale features."""

from __future__ import annotations

import torch
from torch import nn

from rigidpose.net.blocks import ConvBNAct, InvertedResidual, make_divisible

#: MobileNetV2 stages: (expansion t, channels c, repeats n, first stride s).
MBV2_STAGES: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)

#: Allowed width multipliers and input sizes.
WIDTH_RANGE = (0.25, 1.0)
INPUT_RANGE = (96, 256)


def check_width(width: float) -> float:
    if not WIDTH_RANGE[0] <= width <= WIDTH_RANGE[1]:
        raise ValueError(f"width multiplier must be in [{WIDTH_RANGE[0]}, {WIDTH_RANGE[1]}], got {width}")
    return float(width)


def check_input_size(size: int) -> int:
    if not (INPUT_RANGE[0] <= size <= INPUT_RANGE[1]) or size % 32:
        raise ValueError(
            f"input size must be a multiple of 32 in [{INPUT_RANGE[0]}, {INPUT_RANGE[1]}], got {size}"
        )
    return int(size)


class MobileNetV2Backbone(nn.Module):
    """MobileNetV2 encoder without the classifier and the final 1x1 conv.

    ``forward`` maps an image batch (B, 3, H, W) (H, W multiples of 32) to four feature
    maps at strides 4, 8, 16 and 32, with channel counts in :attr:`channels`.
    Channel counts are ``width`` times MobileNetV2's, rounded to multiples of 8.
    """

    def __init__(self, width: float = 1.0, in_channels: int = 3) -> None:
        super().__init__()
        self.width = check_width(width)
        c = make_divisible(32 * width)
        self.stem = ConvBNAct(in_channels, c, 3, 2)
        stages: list[nn.Module] = []
        self._taps: list[int] = []  # index of the stage whose output is returned
        self.channels: list[int] = []
        stride = 2
        for i, (t, ch, n, s) in enumerate(MBV2_STAGES):
            c_out = make_divisible(ch * width)
            blocks = []
            for j in range(n):
                blocks.append(InvertedResidual(c, c_out, s if j == 0 else 1, t))
                c = c_out
            stages.append(nn.Sequential(*blocks))
            stride *= s
            nxt_s = MBV2_STAGES[i + 1][3] if i + 1 < len(MBV2_STAGES) else 2
            if nxt_s == 2 and stride >= 4:  # last stage at this stride
                self._taps.append(i)
                self.channels.append(c)
        self.stages = nn.ModuleList(stages)
        self.strides = [4, 8, 16, 32]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.stem(x)
        feats = []
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i in self._taps:
                feats.append(x)
        return feats
