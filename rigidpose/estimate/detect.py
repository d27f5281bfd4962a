"""Detection stage: the CenterNet detector on the downscaled full image → boxes per object.

The image is letterboxed as in detector training (:func:`rigidpose.net.detector_data.letterbox`:
long side to an input size in pixels, padded to multiples of 32) and normalised as the
detector's card says. Peaks, per-class NMS and the mapping back to image pixels are
:func:`rigidpose.net.detector.decode_detections`.

**Several input sizes** (a small image pyramid): the detector runs once per size, and the
boxes of all sizes are merged by per-class NMS and cut to the ``max_per_object`` best of
each object. A detector finds objects at about the apparent size it was trained on, and a
small object on an image downscaled to the training size covers few cells of its stride-4
heatmap. The default, :func:`default_input_sizes`, adds a pass at 1.5× the training size:
on the bracket benchmark's far test scenes it boxes more of the objects with fewer boxes
than a lower threshold would need, and on training-like scenes it loses nothing
(``docs/benchmarks.md``, session 24).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import NDArray

from rigidpose.errors import RigidposeError
from rigidpose.net.card import ModelCard
from rigidpose.net.data import normalise
from rigidpose.net.detector import batched_nms, decode_detections
from rigidpose.net.detector_data import INPUT_MULTIPLE, letterbox

#: The default input sizes, as multiples of the size the detector was trained at.
PYRAMID = (1.0, 1.5)
#: At most this many boxes of each object per image, by default.
MAX_PER_OBJECT = 12
#: Heatmap peaks decoded per object and input size, before NMS (which merges some of them).
PEAKS_PER_OBJECT = 20


@dataclass(frozen=True, eq=False)
class Box:
    """One object instance to estimate: ``obj_id``, a score in [0, 1] and ``bbox`` (4,) x, y, w, h pixels."""

    obj_id: int
    score: float
    bbox: NDArray[np.float64]


def default_input_sizes(trained_at: int) -> tuple[int, ...]:
    """Input long sides (pixels) for a detector trained at ``trained_at``: :data:`PYRAMID`
    times it, rounded to multiples of 32."""
    return tuple(dict.fromkeys(int(math.ceil(f * trained_at / INPUT_MULTIPLE)) * INPUT_MULTIPLE for f in PYRAMID))


def check_input_sizes(sizes: int | Sequence[int]) -> tuple[int, ...]:
    """``sizes`` as a tuple of distinct input long sides; ``RigidposeError`` unless each is a
    multiple of 32 and at least 64."""
    given = [sizes] if np.isscalar(sizes) else list(sizes)
    ok = [isinstance(s, (int, np.integer)) or (isinstance(s, (float, np.floating)) and float(s).is_integer())
          for s in given]
    out = tuple(dict.fromkeys(int(s) for s, k in zip(given, ok) if k))
    if not given or not all(ok) or any(s % INPUT_MULTIPLE or s < 64 for s in out):
        raise RigidposeError(f"detector input sizes must be multiples of 32 and at least 64, got {given or 'none'}")
    return out


class DetectStage:
    """Runs a detector network.

    Args:
        model: a :class:`~rigidpose.net.detector.CenterNetDetector` in eval mode.
        card: its model card; ``card.objects[i]`` is class ``i``.
        obj_ids: the objects to report (others are dropped); None keeps all.
        input_sizes: longer side(s) of the network input in pixels (multiples of 32); None
            gives :func:`default_input_sizes` of the card's ``input_size``.
        score_threshold / iou_threshold: decoding thresholds (per-class NMS, within and
            across the input sizes).
        max_per_object: at most this many boxes of each object per image, the best-scored.
            Every box is cropped and fitted, so this bounds the time of a frame at a low
            ``score_threshold``: 12 (the default) instead of 20 took the bracket benchmark's
            silhouette stage from 3.4 to 2.4 s per frame for 1.4 points less recall
            (``docs/benchmarks.md``, session 24).
    """

    def __init__(self, model: torch.nn.Module, card: ModelCard, obj_ids: list[int] | None = None, *,
                 input_sizes: int | Sequence[int] | None = None, score_threshold: float = 0.3,
                 iou_threshold: float = 0.5, max_per_object: int = MAX_PER_OBJECT) -> None:
        if card.arch != "centernet":
            raise RigidposeError(f"the detector checkpoint holds a {card.arch!r} network, not a 'centernet' detector")
        if int(max_per_object) < 1:
            raise RigidposeError(f"max_per_object must be at least 1, got {max_per_object}")
        trained_at = int(card.config.get("input_size", 256))
        self.input_sizes = check_input_sizes(default_input_sizes(trained_at) if input_sizes is None else input_sizes)
        self.model, self.card = model, card
        self.class_ids = card.obj_ids
        self.keep = set(obj_ids) if obj_ids else set(self.class_ids)
        self.score_threshold, self.iou_threshold, self.max_per_object = score_threshold, iou_threshold, int(max_per_object)

    def network_input(self, rgb: NDArray[np.uint8], size: int) -> tuple[torch.Tensor, float]:
        """(1, 3, H', W') normalised, padded tensor of ``rgb`` at long side ``size``, and the resize factor."""
        canvas, scale = letterbox(rgb, size)  # exactly as in detector training
        return normalise(canvas, self.card.normalisation)[None], float(scale)

    @torch.no_grad()
    def __call__(self, rgb: NDArray[np.uint8]) -> list[Box]:
        """Boxes of the kept objects in image pixels, by decreasing score."""
        boxes: list[Box] = []
        peaks = max(PEAKS_PER_OBJECT, self.max_per_object) * len(self.class_ids)
        for size in self.input_sizes:
            x, scale = self.network_input(rgb, size)
            dets = decode_detections(self.model(x), k=peaks,
                                     score_threshold=self.score_threshold, iou_threshold=self.iou_threshold, scale=scale)[0]
            boxes += [Box(self.class_ids[d.class_index], d.score, d.bbox) for d in dets]
        boxes = [b for b in boxes if b.obj_id in self.keep and b.bbox[2] > 1 and b.bbox[3] > 1]
        if not boxes:
            return []
        keep = batched_nms(np.array([b.bbox for b in boxes]), np.array([b.score for b in boxes]),
                           np.array([b.obj_id for b in boxes]), self.iou_threshold)  # across sizes; sorts by score
        per_object: dict[int, int] = {}
        out = []
        for b in (boxes[i] for i in keep):
            per_object[b.obj_id] = per_object.get(b.obj_id, 0) + 1
            if per_object[b.obj_id] <= self.max_per_object:
                out.append(b)
        return out
