"""Detection stage: the CenterNet detector on the downscaled full image → boxes per object.

The image is letterboxed as in detector training (:func:`rigidpose.net.detector_data.letterbox`:
long side to ``input_long_side`` pixels, the card's ``input_size`` by default, padded to
multiples of 32) and normalised as the detector's card says. Peaks, per-class NMS and the mapping back to
image pixels are :func:`rigidpose.net.detector.decode_detections`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import NDArray

from rigidpose.errors import RigidposeError
from rigidpose.net.card import ModelCard
from rigidpose.net.data import normalise
from rigidpose.net.detector import decode_detections
from rigidpose.net.detector_data import letterbox


@dataclass(frozen=True, eq=False)
class Box:
    """One object instance to estimate: ``obj_id``, a score in [0, 1] and ``bbox`` (4,) x, y, w, h pixels."""

    obj_id: int
    score: float
    bbox: NDArray[np.float64]


class DetectStage:
    """Runs a detector network.

    Args:
        model: a :class:`~rigidpose.net.detector.CenterNetDetector` in eval mode.
        card: its model card; ``card.objects[i]`` is class ``i``.
        obj_ids: the objects to report (others are dropped); None keeps all.
        input_long_side: longer side of the network input in pixels (multiple of 32).
        score_threshold / iou_threshold: decoding thresholds (per-class NMS).
    """

    def __init__(self, model: torch.nn.Module, card: ModelCard, obj_ids: list[int] | None = None, *,
                 input_long_side: int | None = None, score_threshold: float = 0.3, iou_threshold: float = 0.5,
                 max_detections: int = 20) -> None:
        if card.arch != "centernet":
            raise RigidposeError(f"the detector checkpoint holds a {card.arch!r} network, not a 'centernet' detector")
        input_long_side = int(input_long_side or card.config.get("input_size", 256))
        if input_long_side % 32 or input_long_side < 64:
            raise RigidposeError(f"detector input size must be a multiple of 32 and at least 64, got {input_long_side}")
        self.model, self.card = model, card
        self.class_ids = card.obj_ids
        self.keep = set(obj_ids) if obj_ids else set(self.class_ids)
        self.input_long_side = input_long_side
        self.score_threshold, self.iou_threshold, self.max_detections = score_threshold, iou_threshold, max_detections

    def network_input(self, rgb: NDArray[np.uint8]) -> tuple[torch.Tensor, float]:
        """(1, 3, H', W') normalised, padded tensor and the resize factor."""
        canvas, scale = letterbox(rgb, self.input_long_side)  # exactly as in detector training
        return normalise(canvas, self.card.normalisation)[None], float(scale)

    @torch.no_grad()
    def __call__(self, rgb: NDArray[np.uint8]) -> list[Box]:
        """Boxes of the kept objects in image pixels, by decreasing score."""
        x, scale = self.network_input(rgb)
        out = self.model(x)
        dets = decode_detections(out, k=self.max_detections, score_threshold=self.score_threshold,
                                 iou_threshold=self.iou_threshold, scale=scale)[0]
        boxes = [Box(self.class_ids[d.class_index], d.score, d.bbox) for d in dets]
        return [b for b in boxes if b.obj_id in self.keep and b.bbox[2] > 1 and b.bbox[3] > 1]
