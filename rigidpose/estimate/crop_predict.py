"""Crop stage: square crops around boxes → batched PoseNet → keypoints, direct pose, mask.

Every crop is cut with ``Camera.crop_affine`` and carries ``Camera.cropped`` (through
:func:`rigidpose.net.crops.warp_crop`), with the same zoom-in padding as training, so the
crop's pixels and intrinsics always agree. Keypoints come back in image pixels with their
heatmap confidences; the direct head's code is decoded with the crop camera; a network
with a coordinate head also gives dense 2D–3D correspondences (:mod:`rigidpose.net.coords`).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch
from numpy.typing import NDArray

from rigidpose.geometry import Camera, Pose
from rigidpose.net.card import ModelCard
from rigidpose.net.coords import CoordFrame, dense_correspondences
from rigidpose.net.crops import ZoomIn, warp_crop
from rigidpose.net.data import normalise
from rigidpose.net.decode import crop_to_image, decode_keypoints
from rigidpose.net.pose_coding import decode_pose
from rigidpose.net.posenet import OUTPUT_STRIDE


@dataclass(frozen=True, eq=False)
class CropRequest:
    """Estimate ``obj_id`` inside ``bbox`` (4,) x, y, w, h image pixels; ``score`` is the box's."""

    obj_id: int
    bbox: NDArray[np.float64]
    score: float = 1.0


@dataclass(frozen=True, eq=False)
class DenseCorrespondences:
    """The coordinate head's correspondences of one crop.

    Attributes:
        points_obj: (N, 3) model points, object frame, metres.
        pixels: (N, 2) where they are seen, (distorted) image pixels.
        weights: (N,) the visible-mask probabilities of their cells, in [0.5, 1].
    """

    points_obj: NDArray[np.float64]
    pixels: NDArray[np.float64]
    weights: NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class CropOutput:
    """The network's view of one instance.

    Attributes:
        request: the box it was asked about.
        keypoints_px: (K, 2) keypoints in (distorted) image pixels.
        confidences: (K,) heatmap peak probabilities in [0, 1].
        direct_pose: ``T_cam_obj`` from the direct head, or None when it cannot be decoded.
        mask_logits: (s, s) visible-mask logits over the crop (s = input / 4).
        crop_box: (4,) the square crop box in image pixels.
        dense: the coordinate head's correspondences, or None without that head.
    """

    request: CropRequest
    keypoints_px: NDArray[np.float64]
    confidences: NDArray[np.float64]
    direct_pose: Pose | None
    mask_logits: NDArray[np.float32]
    crop_box: NDArray[np.float64]
    dense: DenseCorrespondences | None = None

    def mask(self, camera: Camera) -> NDArray[np.bool_]:
        """The predicted visible mask as an (H, W) bool image of ``camera``."""
        s = self.mask_logits.shape[0]
        A = camera.crop_affine(self.crop_box, (s, s))
        prob = 1.0 / (1.0 + np.exp(-self.mask_logits.astype(np.float32)))
        full = cv2.warpAffine(prob, A, (camera.width, camera.height),
                              flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderValue=0.0)
        return full > 0.5


class CropStage:
    """Runs PoseNet on crops.

    Args:
        model: a :class:`~rigidpose.net.posenet.PoseNet` in eval mode.
        card: its card (objects, normalisation, input size).
        zoom: crop padding (the training default).
        batch_size: crops per forward pass.
    """

    def __init__(self, model: torch.nn.Module, card: ModelCard, zoom: ZoomIn = ZoomIn(), batch_size: int = 16) -> None:
        self.model, self.card, self.zoom, self.batch_size = model, card, zoom, batch_size
        self.size = int(card.config["input_size"])
        self.allocentric = bool(card.config.get("allocentric", True))
        self.objects = {o.obj_id: o for o in card.objects}
        self.frames = {o.obj_id: CoordFrame.of(o.info) for o in card.objects}

    @torch.no_grad()
    def __call__(self, rgb: NDArray[np.uint8], camera: Camera, requests: list[CropRequest]) -> list[CropOutput]:
        out: list[CropOutput] = []
        for i in range(0, len(requests), self.batch_size):
            out.extend(self._batch(rgb, camera, requests[i : i + self.batch_size]))
        return out

    def _batch(self, rgb, camera, requests) -> list[CropOutput]:
        if not requests:
            return []
        boxes, crops, cams, affines = [], [], [], []
        for r in requests:
            box = self.zoom.box(r.bbox)
            crop, cam, A = warp_crop(rgb, camera, box, self.size)
            boxes.append(box), crops.append(normalise(crop, self.card.normalisation)), cams.append(cam), affines.append(A)
        index = torch.tensor([self.card.object_index(r.obj_id) for r in requests])
        pred = self.model(torch.stack(crops), index)
        uv, conf = decode_keypoints(pred["heatmaps"].float(), pred["offsets"].float(), OUTPUT_STRIDE)
        rot6d, trans = pred["rot6d"].double().numpy(), pred["trans"].double().numpy()
        masks = pred["mask"][:, 0].float().numpy()
        coords = pred["coords"].float().numpy() if "coords" in pred else None
        mask_prob = torch.sigmoid(pred["mask"][:, 0].float()).numpy() if coords is not None else None
        result = []
        for b, r in enumerate(requests):
            obj = self.objects[r.obj_id]
            try:
                direct = decode_pose(rot6d[b], trans[b], cams[b], obj.info.diameter,
                                     allocentric=self.allocentric, centre_obj=obj.pose_centre)
            except ValueError:  # non-positive depth code: the head has no usable answer
                direct = None
            kp = crop_to_image(uv[b].double().numpy(), affines[b])
            dense = None
            if coords is not None:
                X, px, w = dense_correspondences(coords[b], mask_prob[b], self.frames[r.obj_id], OUTPUT_STRIDE)
                dense = DenseCorrespondences(X, crop_to_image(px, affines[b]), w)
            result.append(CropOutput(r, kp, conf[b].double().numpy(), direct, masks[b], boxes[b], dense))
        return result
