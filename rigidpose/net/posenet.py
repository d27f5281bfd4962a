""":class:`PoseNet`: crop → keypoint heatmaps + offsets, visible mask, direct pose, dense coordinates."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from rigidpose.net.backbone import MobileNetV2Backbone, check_input_size, check_width
from rigidpose.net.blocks import init_weights, make_divisible
from rigidpose.net.decoder import UpsampleDecoder
from rigidpose.net.heads import CoordHead, KeypointHead, MaskHead, PoseHead, select_object

#: Output stride of the heatmaps, masks and offsets.
OUTPUT_STRIDE = 4


@dataclass(frozen=True)
class PoseNetConfig:
    """Architecture of a :class:`PoseNet` (stored in the model card).

    Attributes:
        num_keypoints: K, keypoints per object (the FPS keypoints plus the centre).
        num_objects: O, objects the heads predict for.
        width: MobileNetV2 width multiplier in [0.25, 1.0].
        input_size: square crop side in pixels, a multiple of 32 in [96, 256].
        decoder_channels: decoder width; ``None`` → ``make_divisible(128 * width)``.
        pose_hidden: hidden width of the direct pose head; ``None`` → ``make_divisible(256 * width)``.
        allocentric: the rotation head predicts allocentric rotations.
        coords: a dense-coordinate head (:mod:`rigidpose.net.coords`); off in cards
            written before it existed.
    """

    num_keypoints: int = 9
    num_objects: int = 1
    width: float = 0.5
    input_size: int = 128
    decoder_channels: int | None = None
    pose_hidden: int | None = None
    allocentric: bool = True
    coords: bool = False

    def __post_init__(self) -> None:
        check_width(self.width)
        check_input_size(self.input_size)
        if self.num_keypoints < 1 or self.num_objects < 1:
            raise ValueError("num_keypoints and num_objects must be at least 1")

    @property
    def dec_ch(self) -> int:
        return self.decoder_channels or make_divisible(128 * self.width)

    @property
    def pose_ch(self) -> int:
        return self.pose_hidden or make_divisible(256 * self.width)

    @property
    def output_size(self) -> int:
        return self.input_size // OUTPUT_STRIDE

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> PoseNetConfig:
        known = set(cls.__dataclass_fields__)
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown PoseNet config keys {sorted(unknown)}")
        return cls(**d)


class PoseNet(nn.Module):
    """MobileNetV2 encoder → upsampling decoder (stride 4) → keypoint, mask, pose (and coordinate) heads.

    ``forward(image (B, 3, S, S) normalised float, obj_index (B,) long | None)`` returns a dict:

    - ``heatmaps`` (B, K, S/4, S/4): logits;
    - ``offsets`` (B, K, 2, S/4, S/4): sub-pixel ``(dx, dy)`` in heatmap cells;
    - ``mask`` (B, 1, S/4, S/4): visible-mask logits;
    - ``rot6d`` (B, 6): 6D rotation (allocentric when ``config.allocentric``);
    - ``trans`` (B, 3): translation code ``(dx, dy, z_n)``;
    - ``coords`` (B, 3, S/4, S/4): normalised object coordinates, only with ``config.coords``.
    """

    def __init__(self, config: PoseNetConfig) -> None:
        super().__init__()
        self.config = config
        self.backbone = MobileNetV2Backbone(config.width)
        self.decoder = UpsampleDecoder(self.backbone.channels, config.dec_ch)
        self.keypoints = KeypointHead(config.dec_ch, config.num_objects, config.num_keypoints)
        self.mask = MaskHead(config.dec_ch, config.num_objects)
        self.pose = PoseHead(config.dec_ch, config.num_objects, config.pose_ch)
        self.coords = CoordHead(config.dec_ch, config.num_objects) if config.coords else None
        init_weights(self)  # the heads' output layers keep their priors

    def forward(self, image: torch.Tensor, obj_index: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        feats = self.backbone(image)
        x = self.decoder(feats)
        hm, off = self.keypoints(x)
        mask = self.mask(x)
        rot6d, trans = self.pose(x)
        out = {
            "heatmaps": select_object(hm, obj_index),
            "offsets": select_object(off, obj_index),
            "mask": select_object(mask, obj_index).unsqueeze(1),
            "rot6d": select_object(rot6d, obj_index),
            "trans": select_object(trans, obj_index),
        }
        if self.coords is not None:
            out["coords"] = select_object(self.coords(x), obj_index)
        return out


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
