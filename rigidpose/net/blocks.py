"""MobileNetV2 building blocks, written in plain torch (torchvision is not available).

All convolutions keep the spatial layout ``(B, C, H, W)``; stride 2 halves ``H`` and ``W``
(rounding up, "same" padding).
"""

from __future__ import annotations

import torch
from torch import nn


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round a channel count to the nearest multiple of ``divisor`` (MobileNet rule).

    Never goes below ``min_value`` (default ``divisor``) and never drops more than 10 %
    below ``value``.
    """
    min_value = divisor if min_value is None else min_value
    out = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if out < 0.9 * value:
        out += divisor
    return out


class ConvBNAct(nn.Sequential):
    """Conv2d (no bias) → BatchNorm → ReLU6 (or no activation)."""

    def __init__(
        self, c_in: int, c_out: int, kernel: int = 3, stride: int = 1, groups: int = 1, act: bool = True
    ) -> None:
        layers: list[nn.Module] = [
            nn.Conv2d(c_in, c_out, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
            nn.BatchNorm2d(c_out),
        ]
        if act:
            layers.append(nn.ReLU6(inplace=True))
        super().__init__(*layers)


class DepthwiseSeparable(nn.Sequential):
    """Depthwise 3x3 conv → pointwise 1x1 conv, each with BN + ReLU6."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__(ConvBNAct(c_in, c_in, 3, stride, groups=c_in), ConvBNAct(c_in, c_out, 1))


class InvertedResidual(nn.Module):
    """MobileNetV2 inverted residual: 1x1 expand → 3x3 depthwise → 1x1 linear projection.

    A residual connection is used when ``stride == 1`` and ``c_in == c_out``.
    """

    def __init__(self, c_in: int, c_out: int, stride: int, expand: int) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride}")
        hidden = int(round(c_in * expand))
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(ConvBNAct(c_in, hidden, 1))
        layers += [ConvBNAct(hidden, hidden, 3, stride, groups=hidden), ConvBNAct(hidden, c_out, 1, act=False)]
        self.block = nn.Sequential(*layers)
        self.use_residual = stride == 1 and c_in == c_out
        self.c_out = c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.block(x)
        return x + y if self.use_residual else y


def init_weights(module: nn.Module) -> None:
    """Kaiming-normal convolutions, unit BatchNorm, small linear layers (MobileNetV2 recipe).

    Layers with an attribute ``keep_init = True`` (head outputs with priors) are skipped.
    """
    for m in module.modules():
        if getattr(m, "keep_init", False):
            continue
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.01)
            nn.init.zeros_(m.bias)
