"""The detector's part of ``rigidpose train``: its :class:`~rigidpose.net.loop.Task` and its
validation, box recall and AP at IoU 0.5 on held-out images (the same images PoseNet
holds out).

Validation decodes every held-out image (score ≥ :data:`VAL_SCORE_THRESHOLD`, per-class
NMS), matches detections to the annotated ``bbox_visib`` boxes greedily by decreasing score
(a detection matches the unmatched box of its class with the highest IoU ≥ 0.5), and
reports ``val_ap50`` (area under the interpolated precision/recall curve, VOC "all
points"), ``val_recall50`` (the fraction of boxes found) and ``val_precision50`` (the
fraction of detections that are right), pooled over the classes.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from numpy.typing import NDArray

from rigidpose.bop.dataset import BopDataset
from rigidpose.errors import RigidposeError
from rigidpose.geometry.boxes import box_iou
from rigidpose.net.card import ModelCard
from rigidpose.net.detector import CenterNetDetector, Detection, decode_detections
from rigidpose.net.detector_data import DetectionDataset, DetectorDataConfig
from rigidpose.net.loop import Task
from rigidpose.net.losses import detection_loss

#: Detections below this score are ignored in validation.
VAL_SCORE_THRESHOLD = 0.05


def match_detections(
    dets: list[list[Detection]], gt_boxes: list[NDArray], gt_classes: list[NDArray], iou: float = 0.5
) -> tuple[NDArray[np.float64], NDArray[np.bool_], int]:
    """Greedy matching over images: scores (D,), true-positive flags (D,) sorted by
    decreasing score, and the number of GT boxes."""
    flat = [(d.score, b, d) for b, ds in enumerate(dets) for d in ds]
    flat.sort(key=lambda x: -x[0])
    used = [np.zeros(len(g), bool) for g in gt_boxes]
    tp = np.zeros(len(flat), bool)
    for j, (_, b, d) in enumerate(flat):
        cand = (gt_classes[b] == d.class_index) & ~used[b]
        if not cand.any():
            continue
        ious = np.where(cand, box_iou(d.bbox, gt_boxes[b])[0], -1.0)
        k = int(np.argmax(ious))
        if ious[k] >= iou:
            used[b][k], tp[j] = True, True
    return np.array([f[0] for f in flat], np.float64), tp, sum(len(g) for g in gt_boxes)


def average_precision(tp: NDArray[np.bool_], num_gt: int) -> float:
    """VOC all-point AP from true-positive flags sorted by decreasing score."""
    if num_gt == 0:
        return float("nan")
    ctp = np.cumsum(tp)
    recall = ctp / num_gt
    precision = ctp / np.arange(1, len(tp) + 1)
    r = np.concatenate([[0.0], recall, [recall[-1] if len(recall) else 0.0]])
    p = np.concatenate([[1.0], precision, [0.0]])
    p = np.maximum.accumulate(p[::-1])[::-1]
    return float(np.sum((r[1:] - r[:-1]) * p[1:]))


@torch.no_grad()
def validate_detector(model: CenterNetDetector, loader, device: torch.device) -> dict[str, float]:
    """``val_ap50``, ``val_recall50``, ``val_precision50`` and ``val_loss`` on held-out images."""
    model.eval()
    dets, gts, classes, losses = [], [], [], []
    for batch in loader:
        batch = {k: v.to(device) for k, v in batch.items()}
        out = model(batch["image"])
        losses.append(detection_loss(out, batch)["total"].item())
        for b in range(batch["image"].shape[0]):
            one = {k: v[b : b + 1] for k, v in out.items()}
            dets += decode_detections(one, score_threshold=VAL_SCORE_THRESHOLD, scale=float(batch["scale"][b]))
            valid = batch["gt_valid"][b].cpu().numpy()
            gts.append(batch["gt_boxes"][b].cpu().numpy()[valid])
            classes.append(batch["gt_classes"][b].cpu().numpy()[valid])
    model.train()
    if not losses:
        return {k: float("nan") for k in ("val_ap50", "val_recall50", "val_precision50", "val_loss")}
    _, tp, n_gt = match_detections(dets, gts, classes)
    return {
        "val_ap50": average_precision(tp, n_gt),
        "val_recall50": float(tp.sum() / n_gt) if n_gt else float("nan"),
        "val_precision50": float(tp.mean()) if len(tp) else float("nan"),
        "val_loss": float(np.mean(losses)),
    }


def init_from_posenet(detector: CenterNetDetector, run) -> Path:
    """Copy the encoder and decoder of PoseNet in the run folder ``run`` into ``detector``.

    The source is ``run/best`` (the checkpoint ``predict`` uses), or ``run/last`` when no
    epoch had a finite validation loss. Both networks share
    :class:`~rigidpose.net.backbone.MobileNetV2Backbone` and
    :class:`~rigidpose.net.decoder.UpsampleDecoder`; the heads keep their initialisation.
    Returns the checkpoint stem used. Raises ``RigidposeError`` when it cannot be loaded or
    its layers do not fit (another width).
    """
    from rigidpose.net.checkpoint import checkpoint_paths, load_checkpoint

    stem = Path(run) / "best"
    if not checkpoint_paths(stem)[0].exists():
        stem = Path(run) / "last"
    source = load_checkpoint(stem, kind="posenet").model
    for name in ("backbone", "decoder"):
        mine, theirs = getattr(detector, name).state_dict(), getattr(source, name).state_dict()
        wrong = [k for k in mine if k not in theirs or theirs[k].shape != mine[k].shape]
        if wrong or len(theirs) != len(mine):
            raise RigidposeError(f"the detector's {name} does not fit PoseNet's in {stem} (different width?): {wrong[:3]}")
        getattr(detector, name).load_state_dict(theirs)
    return stem


def detector_task(cfg, bop: BopDataset, obj_ids: list[int]) -> Task:
    """The detector of a :class:`~rigidpose.net.train.TrainConfig` run, its datasets and validation."""
    from rigidpose.net.train import make_card, split_image_keys

    data_cfg = DetectorDataConfig(input_size=cfg.detector_input)
    full = DetectionDataset(bop, cfg.splits, obj_ids, data_cfg, None, cfg.seed)
    held = split_image_keys([r.key for r in full.images if len(r.boxes)], cfg.val_fraction, cfg.seed)
    pose_card = make_card(cfg, bop, obj_ids, {o: bop.models[o].keypoints(cfg.num_fps_keypoints) for o in obj_ids})
    config = {"num_classes": len(obj_ids), "width": cfg.detector_width, "decoder_channels": None,
              "input_size": cfg.detector_input}
    card = ModelCard("centernet", config, pose_card.objects, training={"config": cfg.to_json()})
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        model = CenterNetDetector(**config)

    def loss(net, batch):
        return detection_loss(net(batch["image"]), batch)

    def describe(row: dict) -> str:
        return (f"loss {row['train_loss']:.4f}, val AP50 {row['val_ap50']:.3f}, recall {row['val_recall50']:.3f}, "
                f"precision {row['val_precision50']:.3f}")

    train_ds = full.subset(held, replace(cfg.augment, p_background=cfg.detector_background_swap), inside=False)
    val_ds = full.subset(held, None, limit=cfg.max_val_samples)
    return Task(model, card, train_ds, val_ds, loss, validate_detector, "val_ap50", True, describe)
