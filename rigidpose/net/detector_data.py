"""Training samples for :class:`~rigidpose.net.detector.CenterNetDetector`: whole images.

Each image is downscaled (``cv2.INTER_AREA``) so that its long side is ``input_size``
pixels and placed in the top-left corner of a canvas whose sides are rounded up to
multiples of 32 (zero padding): :func:`letterbox` does this for inference, with the same
pixel-centre convention as ``Camera.scaled`` (image pixel ``p`` → ``(p + 0.5)·s − 0.5``),
so ``decode_detections(..., scale=s)`` maps boxes back to image pixels.

Targets are CenterNet's (:func:`rigidpose.net.targets.detection_targets`) for the
``bbox_visib`` of every instance of the requested objects with ``visib_fract ≥
min_visib_fract``; class ``c`` is the object's index in ``obj_ids``. Less visible
instances are not annotated (the detector may or may not find them).

Training augmentation: a random zoom (scale × ``U(1 − j, 1 + j)``) and integer placement
of the image on the canvas, boxes moved with it and dropped when less than
``min_kept_fraction`` of them stays inside; then :func:`rigidpose.net.augment.augment`
(background swap outside the union of the visible masks, colour, blur, noise, erasing).

A sample also carries the image's annotated boxes in original image pixels for
validation: ``gt_boxes`` (M, 4), ``gt_classes`` (M,), ``gt_valid`` (M,) and ``scale`` ().
Sample ``i`` of epoch ``e`` draws from ``default_rng([seed, e, i])``.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray

from rigidpose.bop.dataset import BopDataset
from rigidpose.bop.images import read_mask
from rigidpose.net.augment import AugmentConfig, augment
from rigidpose.net.card import IMAGENET_NORMALISATION
from rigidpose.net.data import SeededSamples, index_instances, normalise
from rigidpose.net.detector import DETECTOR_STRIDE
from rigidpose.net.targets import detection_targets

#: Network inputs are multiples of this (the backbone's stride).
INPUT_MULTIPLE = 32


def letterbox_geometry(width: int, height: int, input_size: int) -> tuple[float, tuple[int, int]]:
    """Scale ``s`` taking the long side of a ``width`` × ``height`` image to ``input_size``, and
    the canvas ``(H_in, W_in)``: the scaled size rounded up to multiples of 32."""
    s = input_size / max(width, height)
    up = lambda n: int(math.ceil(round(n * s) / INPUT_MULTIPLE)) * INPUT_MULTIPLE  # noqa: E731
    return s, (up(height), up(width))


def scale_affine(a: float | tuple[float, float], shift: ArrayLike = (0.0, 0.0)) -> NDArray[np.float64]:
    """(2, 3) affine scaling by ``a`` (or per axis ``(ax, ay)``) in the pixel-centre
    convention, then shifting by ``shift`` pixels."""
    ax, ay = (a, a) if np.isscalar(a) else a
    sx, sy = np.asarray(shift, dtype=np.float64).reshape(2)
    return np.array([[ax, 0.0, 0.5 * ax - 0.5 + sx], [0.0, ay, 0.5 * ay - 0.5 + sy]])


def place(image: NDArray, a: float, offset: tuple[int, int], canvas_hw: tuple[int, int],
          nearest: bool = False) -> tuple[NDArray, NDArray[np.float64]]:
    """Resize ``image`` (H, W[, C]) by ``a`` and paste it at integer ``offset`` (x, y; may be
    negative) on a zero canvas ``(H_in, W_in)``. Returns the canvas and the (2, 3) affine from
    image to canvas pixels (the per-axis scales are those of the rounded resized size).

    Downscaling uses ``cv2.INTER_AREA`` (``INTER_NEAREST`` for masks with ``nearest``).
    """
    H, W = image.shape[:2]
    rw, rh = max(1, int(round(W * a))), max(1, int(round(H * a)))
    interp = cv2.INTER_NEAREST if nearest else (cv2.INTER_AREA if a < 1 else cv2.INTER_LINEAR)
    small = cv2.resize(image, (rw, rh), interpolation=interp)
    canvas = np.zeros((*canvas_hw, *image.shape[2:]), image.dtype)
    ox, oy = offset
    x0, y0 = max(0, ox), max(0, oy)
    x1, y1 = min(canvas_hw[1], ox + rw), min(canvas_hw[0], oy + rh)
    if x1 > x0 and y1 > y0:
        canvas[y0:y1, x0:x1] = small[y0 - oy : y1 - oy, x0 - ox : x1 - ox]
    return canvas, scale_affine((rw / W, rh / H), (ox, oy))


def letterbox(rgb: NDArray[np.uint8], input_size: int) -> tuple[NDArray[np.uint8], float]:
    """HxWx3 image → the detector's input canvas (H_in, W_in, 3) and the scale ``s`` to pass
    to :func:`~rigidpose.net.detector.decode_detections` (the mean of the two axes' scales,
    which differ by the rounding of the resized size only)."""
    h, w = rgb.shape[:2]
    s, hw = letterbox_geometry(w, h, input_size)
    canvas, A = place(rgb, s, (0, 0), hw)
    return canvas, float((A[0, 0] + A[1, 1]) / 2)


def transform_boxes(boxes: ArrayLike, A: ArrayLike) -> NDArray[np.float64]:
    """Boxes (N, 4) ``x, y, w, h`` through a scale-and-shift affine ``A`` (2, 3).

    A box covers the continuous extent ``[x − 0.5, x + w − 0.5]``; the extent is mapped.
    """
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    A = np.asarray(A, dtype=np.float64)
    x0 = A[0, 0] * (b[:, 0] - 0.5) + A[0, 2]
    y0 = A[1, 1] * (b[:, 1] - 0.5) + A[1, 2]
    return np.stack([x0 + 0.5, y0 + 0.5, A[0, 0] * b[:, 2], A[1, 1] * b[:, 3]], axis=1)


def clip_boxes(boxes: ArrayLike, width: int, height: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Boxes (N, 4) clipped to a ``width`` × ``height`` image, and the fraction (N,) of each area kept."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    x0 = np.clip(b[:, 0] - 0.5, -0.5, width - 0.5)
    y0 = np.clip(b[:, 1] - 0.5, -0.5, height - 0.5)
    x1 = np.clip(b[:, 0] + b[:, 2] - 0.5, -0.5, width - 0.5)
    y1 = np.clip(b[:, 1] + b[:, 3] - 0.5, -0.5, height - 0.5)
    out = np.stack([x0 + 0.5, y0 + 0.5, x1 - x0, y1 - y0], axis=1)
    kept = out[:, 2] * out[:, 3] / np.maximum(b[:, 2] * b[:, 3], 1e-12)
    return out, kept


@dataclass(frozen=True)
class DetectorDataConfig:
    """How detector samples are made.

    Attributes:
        input_size: long image side at the network input, pixels.
        zoom_jitter: training zoom factor range ``[1 − j, 1 + j]`` (with a random placement).
        min_visib_fract: less visible instances are not annotated.
        min_kept_fraction: an augmented box is dropped when less of it stays inside.
        max_objects: annotated boxes per image (M).
        normalisation: ``mean``/``std`` of RGB scaled to [0, 1].
    """

    input_size: int = 256
    zoom_jitter: float = 0.25
    min_visib_fract: float = 0.1
    min_kept_fraction: float = 0.3
    max_objects: int = 32
    normalisation: Mapping = field(default_factory=lambda: dict(IMAGENET_NORMALISATION))


@dataclass(frozen=True, eq=False)
class ImageRef:
    """One image: where it is, its annotated boxes (N, 4) image px, their classes (N,), and the
    number of GT instances in it (for the masks of the background swap)."""

    split: str
    scene_id: int
    im_id: int
    boxes: NDArray[np.float64]
    classes: NDArray[np.int64]
    num_instances: int

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.split, self.scene_id, self.im_id)


def index_images(bop: BopDataset, splits: Sequence[str], obj_ids: Sequence[int], min_visib_fract: float) -> list[ImageRef]:
    """Every annotated image of ``splits`` (with or without instances of ``obj_ids``).

    Raises ``DataError`` as :func:`rigidpose.net.data.index_instances` does.
    """
    by_image: dict[tuple, list] = {}
    for r in index_instances(bop, splits, obj_ids, min_visib_fract):
        by_image.setdefault((r.split, r.scene_id, r.im_id), []).append(r)
    images = []
    for split in splits:
        for scene in bop.scenes(split):
            gts, infos = bop.gt(split, scene), bop.gt_info(split, scene)
            for im_id, insts in sorted(gts.items()):
                refs = by_image.get((split, scene, im_id), [])
                boxes = np.array([infos[im_id][r.inst].bbox_visib for r in refs], np.float64).reshape(-1, 4)
                classes = np.array([list(obj_ids).index(r.obj_id) for r in refs], np.int64)
                images.append(ImageRef(split, scene, im_id, boxes, classes, len(insts)))
    return images


class DetectionDataset(SeededSamples):
    """Downscaled whole images of a BOP dataset with CenterNet targets (see the module doc).

    Arguments as :class:`~rigidpose.net.data.PoseCropDataset`'s; ``config`` is a
    :class:`DetectorDataConfig`, and without augmentation there is no zoom either.
    """

    def __init__(self, bop: BopDataset, splits: Sequence[str], obj_ids: Sequence[int],
                 config: DetectorDataConfig | None = None, augment_config: AugmentConfig | None = None,
                 seed: int = 0, backgrounds: Sequence[NDArray[np.uint8]] = ()) -> None:
        super().__init__(bop, obj_ids, augment_config, seed, backgrounds)
        self.config = config or DetectorDataConfig()
        self.images = index_images(bop, splits, self.obj_ids, self.config.min_visib_fract)

    def subset(self, keys: set[tuple], augment_config: AugmentConfig | None, *, inside: bool = True,
               limit: int | None = None) -> DetectionDataset:
        """The images whose ``(split, scene, im)`` is (``inside``) or is not in ``keys``, at most ``limit``."""
        out = copy.copy(self)
        out.images = [r for r in self.images if (r.key in keys) == inside][:limit]
        out.augment_config = augment_config
        return out

    def __len__(self) -> int:
        return len(self.images)

    def _visible_union(self, ref: ImageRef, a: float, offset: tuple[int, int],
                       canvas_hw: tuple[int, int]) -> NDArray[np.bool_] | None:
        """Union of all instances' visible masks, placed like the image (None when not needed)."""
        if self.augment_config is None or self.augment_config.p_background <= 0 or ref.num_instances == 0:
            return None
        masks = [read_mask(self.bop.mask_visib_path(ref.split, ref.scene_id, ref.im_id, k))
                 for k in range(ref.num_instances)]
        return place(np.any(masks, axis=0).astype(np.uint8), a, offset, canvas_hw, nearest=True)[0] > 0

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        ref, cfg = self.images[i], self.config
        train = self.augment_config is not None
        rng = self.sample_rng(i)
        rgb = self.bop.read_rgb(ref.split, ref.scene_id, ref.im_id)
        H, W = rgb.shape[:2]
        s, (H_in, W_in) = letterbox_geometry(W, H, cfg.input_size)
        a, offset = s, (0, 0)
        if train:
            a = s * rng.uniform(1 - cfg.zoom_jitter, 1 + cfg.zoom_jitter)
            free = (W_in - max(1, int(round(W * a))), H_in - max(1, int(round(H * a))))  # < 0: it overhangs
            offset = tuple(int(rng.integers(min(0, f), max(0, f) + 1)) for f in free)
        img, A = place(rgb, a, offset, (H_in, W_in))
        if train:
            mask = self._visible_union(ref, a, offset, (H_in, W_in))
            img = augment(img, mask, self.augment_config, rng, self.backgrounds)
        boxes, kept = clip_boxes(transform_boxes(ref.boxes, A), W_in, H_in)
        ok = (kept >= cfg.min_kept_fraction) & (boxes[:, 2] >= 1) & (boxes[:, 3] >= 1)
        M = cfg.max_objects
        t = detection_targets(boxes[ok], ref.classes[ok], len(self.obj_ids), (H_in // DETECTOR_STRIDE, W_in // DETECTOR_STRIDE),
                              DETECTOR_STRIDE, M)
        n = min(M, len(ref.boxes))
        gt_boxes, gt_classes, gt_valid = np.zeros((M, 4), np.float32), np.zeros(M, np.int64), np.zeros(M, bool)
        gt_boxes[:n], gt_classes[:n], gt_valid[:n] = ref.boxes[:n], ref.classes[:n], True
        return {
            "image": normalise(img, cfg.normalisation),
            "heatmap": torch.from_numpy(t.heatmap),
            "size": torch.from_numpy(t.size),
            "offset": torch.from_numpy(t.offset),
            "index": torch.from_numpy(t.index),
            "valid": torch.from_numpy(t.valid),
            "gt_boxes": torch.from_numpy(gt_boxes),
            "gt_classes": torch.from_numpy(gt_classes),
            "gt_valid": torch.from_numpy(gt_valid),
            "scale": torch.tensor(s, dtype=torch.float32),
        }
