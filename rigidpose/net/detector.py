"""A CenterNet-style multi-object detector on the downscaled full image.

The encoder/decoder are the same as :class:`~rigidpose.net.posenet.PoseNet`'s; the
heads predict per-class centre heatmaps, box sizes ``(w, h)`` in heatmap cells and
sub-cell centre offsets at stride 4. :func:`decode_detections` turns the outputs into
boxes: 3x3 max-pool peak extraction, top-k, a score threshold and per-class NMS.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import ArrayLike, NDArray
from torch import nn

from rigidpose.geometry.boxes import box_iou
from rigidpose.net.backbone import MobileNetV2Backbone
from rigidpose.net.blocks import init_weights, make_divisible
from rigidpose.net.decoder import UpsampleDecoder
from rigidpose.net.heads import HEATMAP_PRIOR, conv_head

DETECTOR_STRIDE = 4


class CenterNetDetector(nn.Module):
    """``forward(image (B, 3, H, W), H and W multiples of 32)`` → dict of
    ``heatmap`` (B, C, H/4, W/4) logits, ``size`` (B, 2, H/4, W/4) in cells and
    ``offset`` (B, 2, H/4, W/4) in cells.

    ``input_size`` is the long image side, in pixels, the detector is trained and meant to
    run at (see :func:`rigidpose.net.detector_data.letterbox`); it only travels in the
    config (the model card), ``forward`` accepts any multiple of 32.
    """

    def __init__(
        self, num_classes: int, width: float = 0.5, decoder_channels: int | None = None, input_size: int = 256
    ) -> None:
        super().__init__()
        if num_classes < 1:
            raise ValueError("num_classes must be at least 1")
        if not 64 <= input_size <= 2048:
            raise ValueError(f"detector input size must be in 64-2048 pixels (long side), got {input_size}")
        self.num_classes, self.input_size = num_classes, int(input_size)
        c = decoder_channels or make_divisible(128 * width)
        self.backbone = MobileNetV2Backbone(width)
        self.decoder = UpsampleDecoder(self.backbone.channels, c)
        prior = float(-np.log((1 - HEATMAP_PRIOR) / HEATMAP_PRIOR))
        self.heatmap = conv_head(c, c, num_classes, prior)
        self.size = conv_head(c, c, 2)
        self.offset = conv_head(c, c, 2)
        init_weights(self)  # the output layers keep their priors

    def forward(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        x = self.decoder(self.backbone(image))
        return {"heatmap": self.heatmap(x), "size": self.size(x), "offset": self.offset(x)}


@dataclass(frozen=True, eq=False)
class Detection:
    """One detected instance: class index, score in [0, 1] and ``bbox`` (4,) x, y, w, h in image pixels."""

    class_index: int
    score: float
    bbox: NDArray[np.float64]


def nms(boxes: ArrayLike, scores: ArrayLike, iou_threshold: float) -> NDArray[np.int64]:
    """Greedy NMS on ``x, y, w, h`` boxes (N, 4); indices kept, by decreasing score."""
    boxes = np.asarray(boxes, float).reshape(-1, 4)
    order = np.argsort(-np.asarray(scores, float), kind="stable")
    keep: list[int] = []
    while order.size:
        i = order[0]
        keep.append(int(i))
        order = order[1:][box_iou(boxes[i], boxes[order[1:]])[0] <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def batched_nms(boxes: ArrayLike, scores: ArrayLike, classes: ArrayLike, iou_threshold: float) -> NDArray[np.int64]:
    """Per-class NMS: boxes of different classes never suppress each other. Indices by decreasing score."""
    classes = np.asarray(classes).reshape(-1)
    scores = np.asarray(scores, float).reshape(-1)
    keep = [np.flatnonzero(classes == c)[nms(np.asarray(boxes)[classes == c], scores[classes == c], iou_threshold)]
            for c in np.unique(classes)]
    out = np.concatenate(keep) if keep else np.zeros(0, np.int64)
    return out[np.argsort(-scores[out], kind="stable")]


def heatmap_peaks(heat: torch.Tensor, k: int) -> tuple[torch.Tensor, ...]:
    """Top-``k`` local maxima (3x3 max-pool NMS) of probabilities (B, C, h, w).

    Returns scores (B, k), classes (B, k), flat cell indices (B, k).
    """
    B, C, h, w = heat.shape
    peaks = heat * (F.max_pool2d(heat, 3, 1, 1) == heat)
    scores, idx = peaks.reshape(B, -1).topk(min(k, C * h * w))
    return scores, torch.div(idx, h * w, rounding_mode="floor"), idx % (h * w)


@torch.no_grad()
def decode_detections(
    outputs: dict[str, torch.Tensor],
    *,
    k: int = 50,
    score_threshold: float = 0.1,
    iou_threshold: float = 0.5,
    scale: float = 1.0,
    stride: int = DETECTOR_STRIDE,
    logits: bool = True,
) -> list[list[Detection]]:
    """Detector outputs → per image, detections sorted by score.

    ``scale`` is the factor the image was resized by before the network
    (``Camera.scaled(scale)`` convention): boxes come back in original image pixels.
    """
    heat = torch.sigmoid(outputs["heatmap"]) if logits else outputs["heatmap"]
    B, _, h, w = heat.shape
    scores, classes, cells = (t.cpu() for t in heatmap_peaks(heat.float(), k))
    size = outputs["size"].detach().float().cpu().reshape(B, 2, h * w)
    off = outputs["offset"].detach().float().cpu().reshape(B, 2, h * w)
    result: list[list[Detection]] = []
    for b in range(B):
        s, c, i = scores[b].numpy(), classes[b].numpy(), cells[b].numpy()
        m = s >= score_threshold
        s, c, i = s[m], c[m], i[m]
        cx = (i % w + off[b, 0, i].numpy() + 0.5) * stride - 0.5  # centre pixel in network input
        cy = (i // w + off[b, 1, i].numpy() + 0.5) * stride - 0.5
        bw, bh = np.maximum(size[b, 0, i].numpy(), 0) * stride, np.maximum(size[b, 1, i].numpy(), 0) * stride
        # network-input pixel p → image pixel (p + 0.5)/scale - 0.5; box x..x+w-1 has centre x + (w-1)/2
        cx, cy, bw, bh = (cx + 0.5) / scale - 0.5, (cy + 0.5) / scale - 0.5, bw / scale, bh / scale
        boxes = np.stack([cx - (bw - 1) / 2, cy - (bh - 1) / 2, bw, bh], axis=1).astype(np.float64)
        keep = batched_nms(boxes, s, c, iou_threshold)
        result.append([Detection(int(c[j]), float(s[j]), boxes[j]) for j in keep])
    return result
